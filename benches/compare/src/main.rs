//! Benchmarks tierwasm against wasmi and wasmtime on the workloads in `benches/workloads`:
//! by default its interpreter against wasmi 2, with `--engines compiled,wasmtime` its
//! Cranelift tier against wasmtime.
//!
//! ```sh
//! cargo run --release -p compare                      # every workload, then translation cost
//! cargo run --release -p compare -- --filter sort     # workloads whose name contains "sort"
//! cargo run --release -p compare -- --runs 9 --size-scale 0.25
//! cargo run --release -p compare -- --engines compiled,wasmtime
//! ```
//!
//! Execution: each workload is instantiated once per engine; each engine then gets one
//! warm-up call (which also triggers lazy translation or compilation), and after that the
//! engines alternate (A, B, A, B, ...) for `--runs` timed calls each. A table gives the median
//! call time per engine, the ratio and the geometric mean of the ratios. Every call's checksum
//! must be the same on both engines, or the program fails. Times are the thread's CPU time,
//! which time the machine spends on other work (it is shared) does not inflate.
//!
//! Translation: `big.wasm` (generated C, a few thousand functions) is compiled and every
//! function translated: with `Module::new` + `Module::translate_all` on tierwasm, with
//! `CompilationMode::Eager` on wasmi; tierwasm's `Engine::stats` gives the size of the
//! interpreter code it produced.

use std::process::ExitCode;
use std::time::Duration;

use cpu_time::ThreadTime;

use anyhow::{Context, Result, bail};

const WORKLOADS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../workloads");

/// How a workload's work grows with its size parameter, for `--size-scale`.
#[derive(Clone, Copy)]
enum Scaling {
    /// Work is proportional to the size.
    Linear,
    /// Work grows by the golden ratio per unit of size (naive Fibonacci).
    Fibonacci,
}

struct Workload {
    name: &'static str,
    file: &'static str,
    export: &'static str,
    /// Chosen so that a call takes roughly 50-500 ms on a fast interpreter.
    size: i32,
    scaling: Scaling,
    what: &'static str,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "fib",
        file: "fib.wat",
        export: "fib",
        size: 30,
        scaling: Scaling::Fibonacci,
        what: "recursive calls, hand-written WAT (size = n of fib(n))",
    },
    Workload {
        name: "recursion",
        file: "recursion.wasm",
        export: "run",
        size: 200,
        scaling: Scaling::Linear,
        what: "recursive calls: naive fib(20..23), C",
    },
    Workload {
        name: "collatz",
        file: "collatz.wasm",
        export: "run",
        size: 100_000,
        scaling: Scaling::Linear,
        what: "tight 64-bit integer loop with data-dependent branches",
    },
    Workload {
        name: "vm",
        file: "vm.wasm",
        export: "run",
        size: 200_000,
        scaling: Scaling::Linear,
        what: "switch-dispatch bytecode interpreter (br_table)",
    },
    Workload {
        name: "quicksort",
        file: "quicksort.wasm",
        export: "run",
        size: 300_000,
        scaling: Scaling::Linear,
        what: "recursive quicksort of pseudo-random i32s",
    },
    Workload {
        name: "heapsort",
        file: "heapsort.wasm",
        export: "run",
        size: 150_000,
        scaling: Scaling::Linear,
        what: "heapsort of pseudo-random u64s",
    },
    Workload {
        name: "hash32",
        file: "hash32.wasm",
        export: "run",
        size: 800,
        scaling: Scaling::Linear,
        what: "FNV-1a and MurmurHash3 (i32 ops) over 16 KiB",
    },
    Workload {
        name: "hash64",
        file: "hash64.wasm",
        export: "run",
        size: 8_000,
        scaling: Scaling::Linear,
        what: "XXH64 (i64 bit ops) over 16 KiB",
    },
    Workload {
        name: "sieve",
        file: "sieve.wasm",
        export: "run",
        size: 4_000_000,
        scaling: Scaling::Linear,
        what: "sieve of Eratosthenes over a byte array",
    },
    Workload {
        name: "matmul",
        file: "matmul.wasm",
        export: "run",
        size: 50,
        scaling: Scaling::Linear,
        what: "f32 64x64 matrix multiply",
    },
    Workload {
        name: "nbody",
        file: "nbody.wasm",
        export: "run",
        size: 100_000,
        scaling: Scaling::Linear,
        what: "f64 n-body simulation with sqrt",
    },
    Workload {
        name: "memops",
        file: "memops.wasm",
        export: "run",
        size: 500_000,
        scaling: Scaling::Linear,
        what: "memory.copy / memory.fill of mixed lengths",
    },
    Workload {
        name: "parse",
        file: "parse.wasm",
        export: "run",
        size: 60_000,
        scaling: Scaling::Linear,
        what: "format and parse decimal CSV text",
    },
    Workload {
        name: "indirect",
        file: "indirect.wasm",
        export: "run",
        size: 1_500_000,
        scaling: Scaling::Linear,
        what: "call_indirect through a 16-entry table",
    },
];

/// The module for the translation-cost measurement.
const BIG_MODULE: &str = "big.wasm";

/// An engine the harness can time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EngineKind {
    /// tierwasm's interpreter.
    Interp,
    /// tierwasm's Cranelift tier (`Strategy::Compiled`).
    Compiled,
    /// wasmi 2, default configuration.
    Wasmi,
    /// wasmtime with its default configuration (Cranelift).
    Wasmtime,
}

impl EngineKind {
    const ALL: [(&'static str, EngineKind); 4] = [
        ("interp", EngineKind::Interp),
        ("compiled", EngineKind::Compiled),
        ("wasmi", EngineKind::Wasmi),
        ("wasmtime", EngineKind::Wasmtime),
    ];

    fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map(|&(_, kind)| kind)
            .with_context(|| {
                format!("unknown engine {name:?}: one of interp, compiled, wasmi, wasmtime")
            })
    }

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, kind)| *kind == self)
            .map(|(name, _)| *name)
            .expect("every kind is listed")
    }

    /// What the table's header says about the engine.
    fn description(self) -> &'static str {
        match self {
            EngineKind::Interp => "tierwasm (interpreter)",
            EngineKind::Compiled => "tierwasm (Cranelift tier, Strategy::Compiled)",
            EngineKind::Wasmi => "wasmi 2 (default config)",
            EngineKind::Wasmtime => "wasmtime 48 (default config, Cranelift)",
        }
    }

    /// An instance of workload `bytes` on this engine, calling `export`.
    fn runner(self, bytes: &[u8], export: &str) -> Result<Runner> {
        match self {
            EngineKind::Interp => tierwasm_runner(bytes, export, tierwasm::Strategy::Interpreter),
            EngineKind::Compiled => tierwasm_runner(bytes, export, tierwasm::Strategy::Compiled),
            EngineKind::Wasmi => wasmi_runner(bytes, export),
            EngineKind::Wasmtime => wasmtime_runner(bytes, export),
        }
    }
}

struct Options {
    /// The engine timed and the one it is compared with.
    engines: (EngineKind, EngineKind),
    filter: Option<String>,
    runs: usize,
    size_scale: f64,
    translation: bool,
    list: bool,
}

const USAGE: &str = "\
usage: cargo run --release -p compare -- [OPTIONS]

  --engines A,B      time engine A against engine B (default interp,wasmi); engines:
                     interp, compiled (tierwasm's Cranelift tier), wasmi, wasmtime
  --filter NAME      only workloads whose name contains NAME (comma-separated: any of them);
                     the translation measurement runs only if NAME matches \"translation\"
  --runs N           timed calls per engine and workload (default 7)
  --size-scale F     multiply every workload's work by F (default 1.0)
  --no-translation   skip the measurement of translation cost (with --engines interp,wasmi)
                     or of compile throughput (with --engines compiled,wasmtime)
  --list             list the workloads and exit
  --help             this text";

fn parse_options() -> Result<Options> {
    let mut options = Options {
        engines: (EngineKind::Interp, EngineKind::Wasmi),
        filter: None,
        runs: 7,
        size_scale: 1.0,
        translation: true,
        list: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String> {
            match inline.clone() {
                Some(value) => Ok(value),
                None => args.next().with_context(|| format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "--engines" => {
                let engines = value("--engines")?;
                let Some((subject, reference)) = engines.split_once(',') else {
                    bail!("--engines takes two engines, as in interp,wasmi");
                };
                options.engines = (
                    EngineKind::parse(subject.trim())?,
                    EngineKind::parse(reference.trim())?,
                );
            }
            "--filter" => options.filter = Some(value("--filter")?),
            "--runs" => {
                options.runs = value("--runs")?
                    .parse()
                    .context("--runs takes a whole number")?;
                if options.runs == 0 {
                    bail!("--runs must be at least 1");
                }
            }
            "--size-scale" => {
                options.size_scale = value("--size-scale")?
                    .parse()
                    .context("--size-scale takes a number")?;
                if !(options.size_scale > 0.0 && options.size_scale.is_finite()) {
                    bail!("--size-scale must be positive");
                }
            }
            "--no-translation" => options.translation = false,
            "--list" => options.list = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            // `cargo bench` passes `--bench`; ignore it.
            "--bench" => {}
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    Ok(options)
}

fn matches(filter: &Option<String>, name: &str) -> bool {
    match filter {
        None => true,
        Some(filter) => filter
            .split(',')
            .map(str::trim)
            .any(|part| !part.is_empty() && name.contains(part)),
    }
}

fn scaled_size(workload: &Workload, scale: f64) -> i32 {
    match workload.scaling {
        Scaling::Linear => ((workload.size as f64 * scale).round() as i32).max(1),
        Scaling::Fibonacci => {
            let golden = (1.0 + 5f64.sqrt()) / 2.0;
            let delta = (scale.ln() / golden.ln()).round() as i32;
            (workload.size + delta).clamp(1, 45)
        }
    }
}

fn read_workload(file: &str) -> Result<Vec<u8>> {
    let path = format!("{WORKLOADS_DIR}/{file}");
    std::fs::read(&path)
        .with_context(|| format!("reading {path} (run benches/workloads/build.sh?)"))
}

/// One engine's instance of a workload: calls the export with a size, returns the checksum
/// (an i32 result sign-extended).
type Runner = Box<dyn FnMut(i32) -> Result<i64>>;

/// The runner calling `func`, an exported function of `store` taking the size, through the
/// engine's typed-function API; `results` are its result types (`ValType` of the engine, in
/// scope where this is used).
macro_rules! typed_runner {
    ($func:ident, $store:ident, $results:expr, $export:expr) => {
        Ok(match $results {
            [ValType::I32] => {
                let typed = $func.typed::<i32, i32>(&$store)?;
                Box::new(move |size| Ok(i64::from(typed.call(&mut $store, size)?)))
            }
            [ValType::I64] => {
                let typed = $func.typed::<i32, i64>(&$store)?;
                Box::new(move |size| Ok(typed.call(&mut $store, size)?))
            }
            _ => bail!(
                "{} must have type [i32] -> [i32] or [i32] -> [i64]",
                $export
            ),
        })
    };
}

fn tierwasm_runner(bytes: &[u8], export: &str, strategy: tierwasm::Strategy) -> Result<Runner> {
    use tierwasm::{Config, Engine, Instance, Module, Store, ValType};
    let mut config = Config::new();
    config.strategy(strategy);
    let engine = Engine::new(&config);
    let module = Module::new(&engine, bytes)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let func = instance
        .get_func(&store, export)
        .with_context(|| format!("tierwasm: no exported function {export:?}"))?;
    let results = func.ty(&store).results().to_vec();
    typed_runner!(func, store, results.as_slice(), export)
}

fn wasmi_runner(bytes: &[u8], export: &str) -> Result<Runner> {
    use wasmi::{Engine, Linker, Module, Store, ValType};
    let engine = Engine::default();
    let module = Module::new(&engine, bytes)?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module)?;
    let func = instance
        .get_func(&store, export)
        .with_context(|| format!("wasmi: no exported function {export:?}"))?;
    let results: Vec<ValType> = func.ty(&store).results().to_vec();
    typed_runner!(func, store, results.as_slice(), export)
}

fn wasmtime_runner(bytes: &[u8], export: &str) -> Result<Runner> {
    use wasmtime::{Engine, Instance, Module, Store, ValType};
    let engine = Engine::default();
    let module = Module::new(&engine, bytes)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let func = instance
        .get_func(&mut store, export)
        .with_context(|| format!("wasmtime: no exported function {export:?}"))?;
    let results: Vec<ValType> = func.ty(&store).results().collect();
    typed_runner!(func, store, results.as_slice(), export)
}

/// Whether the workload's export returns `i64` (else `i32`), for printing its checksum.
fn returns_i64(bytes: &[u8], export: &str) -> Result<bool> {
    let engine = tierwasm::Engine::default();
    let module = tierwasm::Module::new(&engine, bytes)?;
    match module
        .exports()
        .find(|e| e.name() == export)
        .map(|e| e.ty())
    {
        Some(tierwasm::ExternType::Func(ty)) => Ok(ty.results() == [tierwasm::ValType::I64]),
        _ => bail!("no exported function {export:?}"),
    }
}

fn median(durations: &mut [Duration]) -> Duration {
    durations.sort();
    let n = durations.len();
    if n % 2 == 1 {
        durations[n / 2]
    } else {
        (durations[n / 2 - 1] + durations[n / 2]) / 2
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

struct Row {
    name: &'static str,
    size: i32,
    subject: Duration,
    reference: Duration,
    checksum: i64,
    /// Whether the export returns i64 (else i32).
    wide: bool,
}

fn run_workload(
    workload: &Workload,
    size: i32,
    runs: usize,
    (subject_kind, reference_kind): (EngineKind, EngineKind),
) -> Result<Row> {
    let bytes = read_workload(workload.file)?;
    let (subject_name, reference_name) = (subject_kind.name(), reference_kind.name());
    let wide = returns_i64(&bytes, workload.export)?;
    let mut subject = subject_kind
        .runner(&bytes, workload.export)
        .with_context(|| format!("{subject_name} setup"))?;
    let mut reference = reference_kind
        .runner(&bytes, workload.export)
        .with_context(|| format!("{reference_name} setup"))?;

    let check = |phase: &str, a: i64, b: i64| -> Result<()> {
        if a != b {
            bail!(
                "CHECKSUM MISMATCH in {} (size {size}, {phase}): {subject_name} returned {a} \
                 ({a:#x}), {reference_name} returned {b} ({b:#x})",
                workload.name
            );
        }
        Ok(())
    };

    // Warm-up: translates or compiles lazily on both engines and touches the memory.
    let expected = subject(size).with_context(|| format!("{subject_name} warm-up call"))?;
    let other = reference(size).with_context(|| format!("{reference_name} warm-up call"))?;
    check("warm-up call", expected, other)?;

    let mut times_subject = Vec::with_capacity(runs);
    let mut times_reference = Vec::with_capacity(runs);
    for run in 0..runs {
        let start = ThreadTime::now();
        let a = subject(size).with_context(|| format!("{subject_name} call"))?;
        times_subject.push(start.elapsed());
        let start = ThreadTime::now();
        let b = reference(size).with_context(|| format!("{reference_name} call"))?;
        times_reference.push(start.elapsed());
        check(&format!("timed run {}", run + 1), a, b)?;
        check(
            &format!("timed run {} against the warm-up", run + 1),
            a,
            expected,
        )?;
    }
    Ok(Row {
        name: workload.name,
        size,
        subject: median(&mut times_subject),
        reference: median(&mut times_reference),
        checksum: expected,
        wide,
    })
}

fn run_workloads(options: &Options) -> Result<()> {
    let selected: Vec<&Workload> = WORKLOADS
        .iter()
        .filter(|w| matches(&options.filter, w.name))
        .collect();
    if selected.is_empty() {
        return Ok(());
    }
    let (subject, reference) = options.engines;
    println!(
        "Execution: {} vs {}; median thread CPU time of {} timed calls per engine.",
        subject.description(),
        reference.description(),
        options.runs
    );
    println!(
        "Measured: the call only, after one warm-up call per engine (which also triggers lazy \
         translation or compilation); instantiation is not timed."
    );
    println!(
        "Order: one process, the engines alternating {0}, {1}, {0}, {1}, ...; size scale {2}.",
        subject.name(),
        reference.name(),
        options.size_scale
    );
    println!();
    println!(
        "{:<11} {:>9} {:>13} {:>13} {:>7}  checksum",
        "workload",
        "size",
        format!("{} ms", subject.name()),
        format!("{} ms", reference.name()),
        "ratio"
    );
    let mut rows = Vec::new();
    for workload in selected {
        let size = scaled_size(workload, options.size_scale);
        let row = run_workload(workload, size, options.runs, options.engines)
            .with_context(|| format!("workload {}", workload.name))?;
        let ratio = row.subject.as_secs_f64() / row.reference.as_secs_f64();
        println!(
            "{:<11} {:>9} {:>13.2} {:>13.2} {:>7.3}  {}",
            row.name,
            row.size,
            ms(row.subject),
            ms(row.reference),
            ratio,
            if row.wide {
                format!("i64 {:#018x}", row.checksum)
            } else {
                format!("i32 {:#010x}", row.checksum as i32)
            }
        );
        rows.push(row);
    }
    let log_sum: f64 = rows
        .iter()
        .map(|row| (row.subject.as_secs_f64() / row.reference.as_secs_f64()).ln())
        .sum();
    let geomean = (log_sum / rows.len() as f64).exp();
    println!(
        "{:<11} {:>9} {:>13} {:>13} {:>7.3}",
        "geomean", "", "", "", geomean
    );
    println!(
        "(ratio = {0} / {1}: below 1 means {0} is faster; {2} workloads, every checksum equal \
         on both engines)",
        subject.name(),
        reference.name(),
        rows.len()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Translation cost
// ---------------------------------------------------------------------------------------

/// The size of the code section and the number of function bodies.
fn code_section_size(bytes: &[u8]) -> Result<(usize, usize)> {
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::CodeSectionStart { count, size, .. } = payload? {
            return Ok((size as usize, count as usize));
        }
    }
    bail!("no code section")
}

/// What translating every function of a module cost tierwasm.
struct TierwasmTranslation {
    module_new: Duration,
    translate_all: Duration,
    stats: tierwasm::EngineStats,
}

fn tierwasm_translate_all(bytes: &[u8]) -> Result<TierwasmTranslation> {
    let engine = tierwasm::Engine::default();
    let start = ThreadTime::now();
    let module = tierwasm::Module::new(&engine, bytes)?;
    let module_new = start.elapsed();
    let start = ThreadTime::now();
    module.translate_all();
    let translate_all = start.elapsed();
    Ok(TierwasmTranslation {
        module_new,
        translate_all,
        stats: engine.stats(),
    })
}

fn wasmi_compile(bytes: &[u8], mode: wasmi::CompilationMode) -> Result<Duration> {
    let mut config = wasmi::Config::default();
    config.compilation_mode(mode);
    let engine = wasmi::Engine::new(&config);
    let start = ThreadTime::now();
    let module = wasmi::Module::new(&engine, bytes)?;
    let elapsed = start.elapsed();
    drop(module);
    Ok(elapsed)
}

fn ns_per_byte(duration: Duration, bytes: usize) -> f64 {
    duration.as_secs_f64() * 1e9 / bytes as f64
}

fn run_translation(runs: usize) -> Result<()> {
    let bytes = read_workload(BIG_MODULE)?;
    let (code_bytes, bodies) = code_section_size(&bytes)?;
    println!();
    println!(
        "Translation cost: {BIG_MODULE}: {} bytes, code section {code_bytes} bytes, {bodies} \
         function bodies.",
        bytes.len()
    );
    println!(
        "Median thread CPU time of {runs} fresh engines each, after an untimed round; the \
         engines alternate. ns/B = nanoseconds per byte of code section."
    );

    let mut t_new = Vec::new();
    let mut t_translate = Vec::new();
    let mut t_stats = None;
    let mut w_eager = Vec::new();
    let mut w_lazy_translation = Vec::new();
    // One untimed round first: the allocator's first growth and page faults are not
    // translation.
    tierwasm_translate_all(&bytes).context("tierwasm translation")?;
    wasmi_compile(&bytes, wasmi::CompilationMode::Eager)?;
    wasmi_compile(&bytes, wasmi::CompilationMode::LazyTranslation)?;
    for _ in 0..runs {
        let t = tierwasm_translate_all(&bytes).context("tierwasm translation")?;
        if t.stats.functions_translated as usize != bodies {
            bail!(
                "tierwasm translated {} functions, the module has {bodies}",
                t.stats.functions_translated
            );
        }
        t_new.push(t.module_new);
        t_translate.push(t.translate_all);
        t_stats = Some(t.stats);
        w_eager.push(wasmi_compile(&bytes, wasmi::CompilationMode::Eager)?);
        w_lazy_translation.push(wasmi_compile(
            &bytes,
            wasmi::CompilationMode::LazyTranslation,
        )?);
    }
    let stats = t_stats.context("at least one run")?;
    let t_new = median(&mut t_new);
    let t_translate = median(&mut t_translate);
    let w_eager = median(&mut w_eager);
    let w_lazy_translation = median(&mut w_lazy_translation);

    let line = |label: &str, duration: Duration| {
        println!(
            "  {label:<60} {:>8.2} ms {:>6.1} ns/B",
            ms(duration),
            ns_per_byte(duration, code_bytes)
        );
    };
    println!("tierwasm:");
    line("Module::new (decode + validate every body)", t_new);
    line("Module::translate_all (every function)", t_translate);
    line("both: validate + translate everything", t_new + t_translate);
    println!("wasmi:");
    line(
        "Module::new, CompilationMode::LazyTranslation (validate)",
        w_lazy_translation,
    );
    line(
        "Module::new, CompilationMode::Eager (validate + translate)",
        w_eager,
    );
    println!(
        "ratio tierwasm/wasmi, validate + translate everything: {:.3}",
        (t_new + t_translate).as_secs_f64() / w_eager.as_secs_f64()
    );
    println!(
        "tierwasm interpreter code: {} bytes for {} bytes of function bodies, {:.2} bytes per \
         byte of Wasm (wasmi does not expose its code size)",
        stats.code_bytes,
        stats.wasm_bytes_translated,
        stats.code_bytes as f64 / stats.wasm_bytes_translated as f64
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Compile throughput
// ---------------------------------------------------------------------------------------

/// `tierwasm::Module::new` under `Strategy::Compiled`, which decodes, validates and compiles
/// every function of `bytes`: with `parallel`, on the engine's default compile threads too
/// (timed by the wall clock), else on this thread alone (`compile_threads(0)`, timed as its
/// CPU time).
fn tierwasm_compile(bytes: &[u8], parallel: bool) -> Result<Duration> {
    let mut config = tierwasm::Config::new();
    config.strategy(tierwasm::Strategy::Compiled);
    if !parallel {
        config.compile_threads(0);
    }
    let engine = tierwasm::Engine::new(&config);
    let (wall, cpu) = (std::time::Instant::now(), ThreadTime::now());
    let module = tierwasm::Module::new(&engine, bytes)?;
    let elapsed = if parallel {
        wall.elapsed()
    } else {
        cpu.elapsed()
    };
    let refused = engine.stats().compile_failures;
    if refused > 0 {
        bail!("tierwasm's compiler refused {refused} functions");
    }
    drop(module);
    Ok(elapsed)
}

/// `wasmtime::Module::new`: with `parallel` its default, compiling on a thread pool (timed
/// by the wall clock), else on this thread (timed as its CPU time).
fn wasmtime_compile(bytes: &[u8], parallel: bool) -> Result<Duration> {
    let mut config = wasmtime::Config::new();
    config.parallel_compilation(parallel);
    let engine = wasmtime::Engine::new(&config)?;
    let (wall, cpu) = (std::time::Instant::now(), ThreadTime::now());
    let module = wasmtime::Module::new(&engine, bytes)?;
    let elapsed = if parallel {
        wall.elapsed()
    } else {
        cpu.elapsed()
    };
    drop(module);
    Ok(elapsed)
}

fn run_compilation(runs: usize) -> Result<()> {
    let bytes = read_workload(BIG_MODULE)?;
    let (code_bytes, bodies) = code_section_size(&bytes)?;
    println!();
    println!(
        "Compile throughput: {BIG_MODULE}: code section {code_bytes} bytes, {bodies} function \
         bodies; decode, validate and compile every function."
    );
    println!(
        "Median of {runs} fresh engines each, after an untimed round; the engines alternate. \
         One thread: thread CPU time; default (parallel): wall time on {} cores.",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    tierwasm_compile(&bytes, false)?;
    tierwasm_compile(&bytes, true)?;
    wasmtime_compile(&bytes, false)?;
    wasmtime_compile(&bytes, true)?;
    let mut times = [(); 4].map(|()| Vec::new());
    for _ in 0..runs {
        times[0].push(tierwasm_compile(&bytes, false)?);
        times[1].push(tierwasm_compile(&bytes, true)?);
        times[2].push(wasmtime_compile(&bytes, false)?);
        times[3].push(wasmtime_compile(&bytes, true)?);
    }
    let [tierwasm_serial, tierwasm_parallel, serial, parallel] =
        times.map(|mut times| median(&mut times));
    let line = |label: &str, duration: Duration| {
        println!(
            "  {label:<60} {:>8.2} ms {:>6.2} MB/s",
            ms(duration),
            code_bytes as f64 / 1e6 / duration.as_secs_f64()
        );
    };
    line(
        "tierwasm: Module::new, compile_threads(0) (one thread)",
        tierwasm_serial,
    );
    line(
        "tierwasm: Module::new, default (parallel compilation)",
        tierwasm_parallel,
    );
    line("wasmtime: Module::new, parallel_compilation(false)", serial);
    line(
        "wasmtime: Module::new, default (parallel compilation)",
        parallel,
    );
    println!(
        "throughput ratio tierwasm/wasmtime (above 1: tierwasm compiles faster): one thread \
         each {:.3}, default configurations {:.3}",
        serial.as_secs_f64() / tierwasm_serial.as_secs_f64(),
        parallel.as_secs_f64() / tierwasm_parallel.as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    if options.list {
        for workload in WORKLOADS {
            println!(
                "{:<11} {:<15} default size {:>9}  {}",
                workload.name, workload.file, workload.size, workload.what
            );
        }
        return ExitCode::SUCCESS;
    }
    let result = run_workloads(&options).and_then(|()| {
        let code_cost = options.translation && matches(&options.filter, "translation");
        match options.engines {
            (EngineKind::Interp, EngineKind::Wasmi) if code_cost => run_translation(options.runs),
            (EngineKind::Compiled, EngineKind::Wasmtime) if code_cost => {
                run_compilation(options.runs)
            }
            _ => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!();
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
