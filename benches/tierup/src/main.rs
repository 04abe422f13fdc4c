//! Measures the total time of a fresh start of each workload in `benches/workloads` against
//! its work size, on each of tierwasm's execution strategies and on node's V8, and draws
//! timelines of the runtime's tier events.
//!
//! ```sh
//! cargo run --release -p tierup                                # everything, 3 runs each
//! cargo run --release -p tierup -- --quick                     # 3 smallest sizes, 1 run
//! cargo run --release -p tierup -- --workloads fib,sieve --strategies interp,compiled
//! cargo run --release -p tierup -- timeline LOG.jsonl --out timeline.svg
//! ```
//!
//! Total time: `Module::new` (decode + validate; for `compiled` also compiling every function),
//! instantiation and the one call of the export, by the wall clock, with a fresh `Module`,
//! `Store` and `Instance` per run, so that no code is shared between runs, on one `Engine` per
//! strategy and workload, as an embedder keeps one engine (its compile threads are started
//! and warm); on V8 the same steps in one `node` process per workload, compiling a fresh
//! `WebAssembly.Module` per run (`v8_runner.js`). Each workload
//! runs at six sizes from about 1 ms to about 3 s of interpreter time, five times the work at
//! each step. The median of `--runs` runs is reported in a table (stdout and `tierup.txt`), a
//! CSV (`tierup.csv`) and an SVG plot with a log-log panel per workload (`tierup.svg`).

mod measure;
mod report;
mod timeline;
mod workloads;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use measure::{
    Sample, Strategy, V8, check_agreement, known_strategies, run_tierwasm, run_v8, strategy,
};
use report::{Report, Row};
use tierwasm::Engine;
use workloads::{FULL_STEPS, QUICK_STEPS, WORKLOADS, Workload};

/// Where the results go by default: the workspace's `target/tierup`.
/// The untimed pause after each run.
const PAUSE_BETWEEN_RUNS: Duration = Duration::from_millis(10);

const DEFAULT_OUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/tierup");

/// The usage text, printed by `--help` and after an argument error.
const USAGE: &str = "\
usage: cargo run --release -p tierup -- [OPTIONS]
       cargo run --release -p tierup -- timeline LOG.jsonl [--out FILE.svg]

Measures the total time of a fresh start (Module::new + instantiate + one call) of every
workload at six sizes from about 1 ms to about 3 s of interpreter time.

  --runs N              runs per workload, size and strategy; the median is reported
                        (default 3, with --quick 1)
  --workloads A,B       only these workloads (default: all 14)
  --strategies A,B      interp, compiled, v8 (node's V8, its default tiering); default all,
                        in that order (checksums are compared against the first)
  --out DIR             where tierup.txt, tierup.csv and tierup.svg go (default target/tierup)
  --quick               only the three smallest sizes (up to about 25 ms)
  --help                this text

timeline: draws a tier log (one JSON object per line) as an SVG, one row per function;
  --out FILE.svg        default target/tierup/timeline.svg";

/// What the command line asked for.
#[derive(Debug, PartialEq)]
enum Command {
    /// Measure the workloads.
    Measure(Options),
    /// Draw the tier log `log` into `out`.
    Timeline { log: PathBuf, out: PathBuf },
    /// Print the usage.
    Help,
}

/// The options of a measurement.
#[derive(Debug, PartialEq)]
struct Options {
    /// Runs per workload, size and strategy.
    runs: usize,
    /// The workloads, in the order measured.
    workloads: Vec<&'static Workload>,
    /// The strategies, in the table's order; checksums are compared against the first.
    strategies: Vec<&'static str>,
    /// The directory the table, CSV and plot are written to.
    out: PathBuf,
    /// Only the smallest sizes.
    quick: bool,
}

/// Parses the arguments after the program name.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command> {
    let mut args = args.into_iter().peekable();
    if args.peek().map(String::as_str) == Some("timeline") {
        args.next();
        let mut log = None;
        let mut out = None;
        while let Some(arg) = args.next() {
            let (flag, inline) = split_flag(&arg);
            match flag {
                "--out" => out = Some(PathBuf::from(flag_value(flag, inline, &mut args)?)),
                "--help" | "-h" => return Ok(Command::Help),
                other if other.starts_with('-') => bail!("unknown argument {other:?}"),
                _ if log.is_none() => log = Some(PathBuf::from(&arg)),
                _ => bail!("timeline takes one log file, got a second: {arg:?}"),
            }
        }
        let log = log.context("timeline needs a log file: timeline LOG.jsonl [--out FILE.svg]")?;
        let out = out.unwrap_or_else(|| Path::new(DEFAULT_OUT).join("timeline.svg"));
        return Ok(Command::Timeline { log, out });
    }
    let mut runs = None;
    let mut workloads: Vec<&'static Workload> = WORKLOADS.iter().collect();
    let mut strategies = known_strategies();
    let mut out = PathBuf::from(DEFAULT_OUT);
    let mut quick = false;
    while let Some(arg) = args.next() {
        let (flag, inline) = split_flag(&arg);
        match flag {
            "--runs" => {
                let text = flag_value(flag, inline, &mut args)?;
                let n: usize = text
                    .parse()
                    .with_context(|| format!("--runs takes a whole number, not {text:?}"))?;
                if n == 0 {
                    bail!("--runs must be at least 1");
                }
                runs = Some(n);
            }
            "--workloads" => {
                workloads = list(&flag_value(flag, inline, &mut args)?, flag)?
                    .into_iter()
                    .map(Workload::find)
                    .collect::<Result<_>>()?;
            }
            "--strategies" => {
                let known = known_strategies();
                strategies = list(&flag_value(flag, inline, &mut args)?, flag)?
                    .into_iter()
                    .map(|name| {
                        known.iter().copied().find(|k| *k == name).with_context(|| {
                            format!("unknown strategy {name:?}; known: {}", known.join(", "))
                        })
                    })
                    .collect::<Result<_>>()?;
            }
            "--out" => out = PathBuf::from(flag_value(flag, inline, &mut args)?),
            "--quick" => {
                no_value(flag, &inline)?;
                quick = true;
            }
            "--help" | "-h" => return Ok(Command::Help),
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(Command::Measure(Options {
        runs: runs.unwrap_or(if quick { 1 } else { 3 }),
        workloads,
        strategies,
        out,
        quick,
    }))
}

/// `--flag=value` as the flag and its value; anything else as itself and no value.
fn split_flag(arg: &str) -> (&str, Option<String>) {
    match arg.split_once('=') {
        Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
        _ => (arg, None),
    }
}

/// The value of `flag`: its inline `=value`, else the next argument.
fn flag_value(
    flag: &str,
    inline: Option<String>,
    rest: &mut impl Iterator<Item = String>,
) -> Result<String> {
    match inline {
        Some(value) => Ok(value),
        None => rest.next().with_context(|| format!("{flag} needs a value")),
    }
}

/// An error for `--flag=value` given to a flag that takes no value.
fn no_value(flag: &str, inline: &Option<String>) -> Result<()> {
    match inline {
        Some(_) => bail!("{flag} takes no value"),
        None => Ok(()),
    }
}

/// A comma-separated list without empty or repeated entries.
fn list<'a>(text: &'a str, flag: &str) -> Result<Vec<&'a str>> {
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.iter().any(|item| item.is_empty()) {
        bail!("{flag} takes a comma-separated list, not {text:?}");
    }
    for (index, item) in items.iter().enumerate() {
        if items[..index].contains(item) {
            bail!("{flag} names {item:?} twice");
        }
    }
    Ok(items)
}

/// Measures every chosen workload, printing the table as it goes, then writes the files.
fn measure(options: &Options) -> Result<()> {
    let started = Instant::now();
    let steps = if options.quick {
        QUICK_STEPS
    } else {
        FULL_STEPS
    };
    let mut report = Report {
        strategies: options.strategies.clone(),
        runs: options.runs,
        rows: Vec::new(),
    };
    let mut text = String::from(
        "Total time of a fresh start, wall clock: Module::new (decode + validate; compiled: + \
         compile every function) + instantiate + one call.\ntierwasm in this process, a fresh \
         module, store and instance per run on one engine per strategy and workload",
    );
    if options.strategies.contains(&V8) {
        let _ = write!(
            text,
            "; v8 in one node {} process per workload, a fresh WebAssembly.Module per run \
             (node's startup not included)",
            node_version()?
        );
    }
    text.push_str(".\n\n");
    text.push_str(&report.header());
    print!("{text}");
    for workload in &options.workloads {
        let rows = measure_workload(workload, &workload.sizes(steps), options)
            .with_context(|| format!("workload {}", workload.name))?;
        for row in rows {
            let line = report.line(&row);
            print!("{line}");
            text.push_str(&line);
            report.rows.push(row);
        }
    }
    let wall = format!("\nwall time {:.1} s\n", started.elapsed().as_secs_f64());
    print!("{wall}");
    text.push_str(&wall);

    let out = &options.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let write = |name: &str, contents: &str| -> Result<()> {
        let path = out.join(name);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))
    };
    write("tierup.txt", &text)?;
    write("tierup.csv", &report.csv())?;
    report.plot(&out.join("tierup.svg"))?;
    let shown = out.canonicalize().unwrap_or_else(|_| out.clone());
    println!(
        "wrote tierup.txt, tierup.csv and tierup.svg in {}",
        shown.display()
    );
    Ok(())
}

/// `node --version`; an error when node cannot be run.
fn node_version() -> Result<String> {
    let output = std::process::Command::new("node")
        .arg("--version")
        .output()
        .context("running node --version (Node.js is needed for --strategies v8)")?;
    if !output.status.success() {
        bail!("node --version failed ({})", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Measures `workload` at each of `sizes` on every chosen strategy: tierwasm's in turn for
/// each run, then V8's in one node process. Fails on any checksum that differs from the first
/// strategy's.
fn measure_workload(
    workload: &'static Workload,
    sizes: &[i32],
    options: &Options,
) -> Result<Vec<Row>> {
    let bytes = workload.binary()?;
    let mut samples: Vec<Vec<Vec<Sample>>> =
        vec![vec![Vec::with_capacity(options.runs); options.strategies.len()]; sizes.len()];
    let engines: Vec<Option<Engine>> = options
        .strategies
        .iter()
        .map(|name| strategy(name).map(Strategy::engine))
        .collect();
    for (size_index, &size) in sizes.iter().enumerate() {
        for _ in 0..options.runs {
            for (column, engine) in engines.iter().enumerate() {
                let Some(engine) = engine else {
                    continue;
                };
                let name = options.strategies[column];
                let sample = run_tierwasm(engine, &bytes, workload.export, size)
                    .with_context(|| format!("{name} at size {size}"))?;
                samples[size_index][column].push(sample);
                // Untimed: a compilation the run left going (its module is gone, so it is
                // the last) finishes before the next run starts.
                std::thread::sleep(PAUSE_BETWEEN_RUNS);
            }
        }
    }
    if let Some(column) = options.strategies.iter().position(|name| *name == V8) {
        let v8 = run_v8(&bytes, workload.export, sizes, options.runs).context("v8")?;
        for (size_samples, v8_samples) in samples.iter_mut().zip(v8) {
            size_samples[column] = v8_samples;
        }
    }
    let mut rows = Vec::with_capacity(sizes.len());
    for (&size, size_samples) in sizes.iter().zip(samples) {
        let checksums: Vec<(&str, i64)> = options
            .strategies
            .iter()
            .zip(&size_samples)
            .flat_map(|(name, runs)| runs.iter().map(move |sample| (*name, sample.checksum)))
            .collect();
        check_agreement(workload.name, size, &checksums)?;
        rows.push(Row {
            workload: workload.name,
            size,
            checksum: checksums.first().map_or(0, |&(_, checksum)| checksum),
            times: size_samples
                .iter()
                .map(|runs| runs.iter().map(|sample| sample.time).collect())
                .collect(),
        });
    }
    Ok(rows)
}

/// Runs the command line's command; exit status 2 for a bad command line, 1 for a failure.
fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("error: {error:#}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            println!("{USAGE}");
            Ok(())
        }
        Command::Timeline { log, out } => timeline::run(&log, &out),
        Command::Measure(options) => measure(&options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command `args` ask for.
    fn parse(args: &[&str]) -> Result<Command> {
        parse_args(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn measure_options() {
        let Command::Measure(options) = parse(&[
            "--quick",
            "--workloads=fib,sieve",
            "--strategies",
            "v8,interp",
        ])
        .unwrap() else {
            panic!("not a measurement");
        };
        assert_eq!(options.runs, 1);
        let names: Vec<&str> = options.workloads.iter().map(|w| w.name).collect();
        assert_eq!(names, ["fib", "sieve"]);
        assert_eq!(options.strategies, ["v8", "interp"]);
        let Command::Measure(options) = parse(&[]).unwrap() else {
            panic!("not a measurement");
        };
        assert_eq!((options.runs, options.workloads.len()), (3, 14));
        assert_eq!(options.strategies, ["interp", "compiled", "tiered", "v8"]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        for (args, why) in [
            (&["--runs", "0"][..], "at least 1"),
            (&["--runs", "x"], "whole number"),
            (&["--runs"], "needs a value"),
            (&["--workloads", "fib,nope"], "unknown workload \"nope\""),
            (&["--workloads", "fib,,sieve"], "comma-separated"),
            (&["--strategies", "interp,interp"], "twice"),
            (&["--strategies", "wasmi"], "unknown strategy"),
            (&["--frobnicate"], "unknown argument"),
            (&["--quick=yes"], "takes no value"),
            (&["timeline"], "needs a log file"),
            (&["timeline", "a.jsonl", "b.jsonl"], "second"),
        ] {
            let error = format!("{:#}", parse(args).unwrap_err());
            assert!(error.contains(why), "{args:?}: {error}");
        }
    }

    #[test]
    fn timeline_arguments() {
        assert_eq!(
            parse(&["timeline", "log.jsonl", "--out", "t.svg"]).unwrap(),
            Command::Timeline {
                log: "log.jsonl".into(),
                out: "t.svg".into()
            }
        );
        let error =
            timeline::run(Path::new("/nonexistent/log.jsonl"), Path::new("t.svg")).unwrap_err();
        assert!(
            format!("{error:#}").contains("reading /nonexistent/log.jsonl"),
            "{error:#}"
        );
    }
}
