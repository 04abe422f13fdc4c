//! Timing one fresh start of a workload: in this process on tierwasm with each strategy, and
//! in node on V8.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tierwasm::{Config, Engine, Instance, Module, Store, Val};

/// The JS runner that times V8, run by `node`.
const V8_RUNNER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/v8_runner.js");

/// The name of the strategy run by node's V8 rather than by tierwasm.
pub const V8: &str = "v8";

/// One of tierwasm's execution strategies, as the harness measures it.
pub struct Strategy {
    /// Its name on the command line and in the table.
    pub name: &'static str,
    /// The configuration of the engine its runs share.
    pub config: fn() -> Config,
    /// Whether it is one of the fixed strategies (interpreter only, everything compiled)
    /// whose fastest the table's ratios divide by.
    pub baseline: bool,
}

impl Strategy {
    /// An engine of this strategy, for all of a workload's runs.
    pub fn engine(&self) -> Engine {
        Engine::new(&(self.config)())
    }
}

/// tierwasm's strategies; adding one is one line.
pub const STRATEGIES: &[Strategy] = &[
    Strategy {
        name: "interp",
        config: interp,
        baseline: true,
    },
    Strategy {
        name: "compiled",
        config: compiled,
        baseline: true,
    },
    Strategy {
        name: "tiered",
        config: tiered,
        baseline: false,
    },
];

/// The interpreter only.
fn interp() -> Config {
    let mut config = Config::new();
    config.strategy(tierwasm::Strategy::Interpreter);
    config
}

/// Cranelift's native code for every function, compiled in parallel by `Module::new`.
fn compiled() -> Config {
    let mut config = Config::new();
    config.strategy(tierwasm::Strategy::Compiled);
    config
}

/// The interpreter at once, hot functions compiled on the compile threads (the default).
fn tiered() -> Config {
    let mut config = Config::new();
    config.strategy(tierwasm::Strategy::Tiered);
    config
}

/// The names every `--strategies` entry may take, in the default order.
pub fn known_strategies() -> Vec<&'static str> {
    STRATEGIES
        .iter()
        .map(|strategy| strategy.name)
        .chain([V8])
        .collect()
}

/// The strategy named `name` of [`STRATEGIES`] (not [`V8`]).
pub fn strategy(name: &str) -> Option<&'static Strategy> {
    STRATEGIES.iter().find(|strategy| strategy.name == name)
}

/// One timed fresh start: its wall time and the checksum it returned.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// `Module::new` + instantiation + the call, wall clock.
    pub time: Duration,
    /// The call's result, an `i32` sign-extended.
    pub checksum: i64,
}

/// Runs `export(size)` of module `bytes` once on `engine`, with a fresh module, store and
/// instance, timing `Module::new` (decode and validate, and under `compiled` compiling every
/// function), instantiation and the call. Dropping everything afterwards is not timed.
/// Nothing compiled is shared between runs (code belongs to its module), but the engine and
/// its compile threads are, as an embedder keeps one engine for the modules it loads.
pub fn run_tierwasm(engine: &Engine, bytes: &[u8], export: &str, size: i32) -> Result<Sample> {
    let mut results = [Val::I32(0)];
    let start = Instant::now();
    let module = Module::new(engine, bytes)?;
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let func = instance
        .get_func(&store, export)
        .with_context(|| format!("no exported function {export:?}"))?;
    func.call(&mut store, &[Val::I32(size)], &mut results)?;
    let time = start.elapsed();
    let refused = engine.stats().compile_failures;
    if refused > 0 {
        eprintln!(
            "warning: the compiler refused {refused} functions (they ran in the interpreter)"
        );
    }
    let checksum = match results[0] {
        Val::I32(value) => i64::from(value),
        Val::I64(value) => value,
        ref other => bail!("{export} returned {other:?}, not an i32 or i64"),
    };
    Ok(Sample { time, checksum })
}

/// Runs module `bytes` in one `node` process: for each of `sizes`, `runs` fresh starts of
/// `export(size)` (see `v8_runner.js`); returns the samples of each size in order.
pub fn run_v8(bytes: &[u8], export: &str, sizes: &[i32], runs: usize) -> Result<Vec<Vec<Sample>>> {
    let size_list: Vec<String> = sizes.iter().map(i32::to_string).collect();
    let mut child = Command::new("node")
        .arg("--expose-gc")
        .arg(V8_RUNNER)
        .arg(export)
        .arg(runs.to_string())
        .arg(size_list.join(","))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting node (Node.js is needed for --strategies v8)")?;
    // Written from another thread, so that node's output never waits for us.
    let mut stdin = child.stdin.take().context("node's stdin")?;
    let module = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&module));
    let output = child.wait_with_output().context("waiting for node")?;
    let written = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the thread sending the module to node panicked"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "node {V8_RUNNER} failed ({}): {}",
            output.status,
            stderr.trim()
        );
    }
    written.context("sending the module to node")?;
    if !stderr.trim().is_empty() {
        eprintln!("node: {}", stderr.trim());
    }
    parse_v8_output(&output.stdout, sizes, runs)
}

/// The samples in the runner's output: one JSON object per line,
/// `{"size": N, "ns": "NANOS", "checksum": "DECIMAL"}`, `runs` lines per size in the order
/// of `sizes`.
fn parse_v8_output(output: &[u8], sizes: &[i32], runs: usize) -> Result<Vec<Vec<Sample>>> {
    let mut samples: Vec<Vec<Sample>> = vec![Vec::with_capacity(runs); sizes.len()];
    for (index, line) in BufReader::new(output).lines().enumerate() {
        let line = line.context("reading node's output")?;
        let parse = || -> Result<(i32, Sample)> {
            let value: serde_json::Value = serde_json::from_str(&line)?;
            let size = value["size"]
                .as_i64()
                .and_then(|size| i32::try_from(size).ok())
                .context("no integer \"size\"")?;
            let nanos: u64 = value["ns"]
                .as_str()
                .context("no string \"ns\"")?
                .parse()
                .context("\"ns\" is not a whole number")?;
            let checksum: i64 = value["checksum"]
                .as_str()
                .context("no string \"checksum\"")?
                .parse()
                .context("\"checksum\" is not an i64")?;
            Ok((
                size,
                Sample {
                    time: Duration::from_nanos(nanos),
                    checksum,
                },
            ))
        };
        let (size, sample) =
            parse().with_context(|| format!("line {} of node's output: {line:?}", index + 1))?;
        let slot = sizes
            .iter()
            .position(|&s| s == size)
            .with_context(|| format!("node reported size {size}, which was not asked for"))?;
        samples[slot].push(sample);
    }
    for (size, got) in sizes.iter().zip(&samples) {
        if got.len() != runs {
            bail!(
                "node reported {} runs of size {size}, not {runs}",
                got.len()
            );
        }
    }
    Ok(samples)
}

/// Checks that every sample of one workload at one size returned the same checksum as the
/// first: `results` are `(strategy, checksum)` in the order measured.
pub fn check_agreement(workload: &str, size: i32, results: &[(&str, i64)]) -> Result<()> {
    let Some(&(first, expected)) = results.first() else {
        return Ok(());
    };
    for &(strategy, checksum) in results {
        if checksum != expected {
            bail!(
                "CHECKSUM MISMATCH in {workload} at size {size}: {strategy} returned {checksum} \
                 ({checksum:#x}), {first} returned {expected} ({expected:#x})"
            );
        }
    }
    Ok(())
}

/// The median of `durations` (the mean of the middle two for an even count).
pub fn median(durations: &[Duration]) -> Duration {
    let mut sorted = durations.to_vec();
    sorted.sort();
    let n = sorted.len();
    match n {
        0 => Duration::ZERO,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_fails_on_the_first_differing_checksum() {
        let same = [("interp", -5), ("compiled", -5), ("v8", -5)];
        assert!(check_agreement("fib", 22, &same).is_ok());
        let differ = [("interp", 7), ("interp", 7), ("compiled", 8), ("v8", 9)];
        let error = check_agreement("fib", 22, &differ).unwrap_err().to_string();
        assert!(
            error.contains("CHECKSUM MISMATCH in fib at size 22"),
            "{error}"
        );
        assert!(error.contains("compiled returned 8"), "{error}");
        assert!(error.contains("interp returned 7"), "{error}");
    }

    #[test]
    fn every_strategy_returns_the_same_checksum() {
        let bytes = crate::workloads::Workload::find("fib")
            .unwrap()
            .binary()
            .unwrap();
        let results: Vec<(&str, i64)> = STRATEGIES
            .iter()
            .map(|s| {
                (
                    s.name,
                    run_tierwasm(&s.engine(), &bytes, "fib", 12)
                        .unwrap()
                        .checksum,
                )
            })
            .collect();
        assert_eq!(results[0].1, 144);
        check_agreement("fib", 12, &results).unwrap();
    }

    #[test]
    fn v8_output_is_grouped_by_size() {
        let output = br#"{"size":3,"ns":"1500000","checksum":"-1"}
{"size":3,"ns":"2500000","checksum":"-1"}
{"size":9,"ns":"7","checksum":"9223372036854775807"}
{"size":9,"ns":"8","checksum":"9223372036854775807"}
"#;
        let samples = parse_v8_output(output, &[3, 9], 2).unwrap();
        assert_eq!(
            samples[0][1].time,
            Duration::from_millis(2) + Duration::from_micros(500)
        );
        assert_eq!(samples[1][0].checksum, i64::MAX);
        let first_two: Vec<&[u8]> = output.split(|&b| b == b'\n').take(2).collect();
        let short = parse_v8_output(&first_two.join(&b'\n'), &[3, 9], 2).unwrap_err();
        assert!(short.to_string().contains("0 runs of size 9"), "{short}");
        let bad = parse_v8_output(b"{\"size\":3}\n", &[3], 1).unwrap_err();
        assert!(format!("{bad:#}").contains("line 1"), "{bad:#}");
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[ms(5), ms(1), ms(3)]), ms(3));
        assert_eq!(median(&[ms(4), ms(1), ms(2), ms(100)]), ms(3));
    }
}
