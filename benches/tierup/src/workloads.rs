//! The workloads of `benches/workloads` and the ladder of work sizes each is measured at.

use anyhow::{Context, Result};

/// Where the workloads live.
const WORKLOADS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../workloads");

/// How many sizes a full run measures: six, from about 1 ms to about 3 s of interpreter time.
pub const FULL_STEPS: usize = 6;

/// How many sizes `--quick` measures: the three smallest (about 1, 5 and 25 ms).
pub const QUICK_STEPS: usize = 3;

/// The factor of work between neighbouring sizes of the ladder.
pub const STEP: f64 = 5.0;

/// How a workload's work grows with its size parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scaling {
    /// Work is proportional to the size (for the sorts, to `n log n`: close enough here).
    Linear,
    /// Work grows by the golden ratio per unit of size (naive Fibonacci).
    Fibonacci,
}

/// One workload: its module, export and the sizes it is measured at.
#[derive(Debug, PartialEq)]
pub struct Workload {
    /// Its name, as in `benches/compare` and `benches/workloads/README.md`.
    pub name: &'static str,
    /// Its file in `benches/workloads`.
    pub file: &'static str,
    /// The exported function taking the size and returning the checksum.
    pub export: &'static str,
    /// `benches/compare`'s default size, about 0.05–0.2 s of interpreter time.
    pub default_size: i32,
    /// How work grows with the size.
    pub scaling: Scaling,
    /// The smallest size of the ladder is the default size divided by this: about 1 ms of
    /// interpreter time (the default size's interpreted call time in ms, measured once;
    /// heapsort's is larger, as its work grows faster than its size).
    pub divisor: f64,
}

/// Every workload of `benches/workloads`, in `benches/compare`'s order and with its default
/// sizes.
pub const WORKLOADS: &[Workload] = &[
    workload("fib", "fib.wat", "fib", 30, Scaling::Fibonacci, 50.0),
    run("recursion", 200, 80.0),
    run("collatz", 100_000, 75.0),
    run("vm", 200_000, 75.0),
    run("quicksort", 300_000, 100.0),
    // 59 ms at the default size, but n log n and cache misses: 1/60 would end at 10 s.
    run("heapsort", 150_000, 100.0),
    run("hash32", 800, 110.0),
    run("hash64", 8_000, 160.0),
    run("sieve", 4_000_000, 80.0),
    run("matmul", 50, 90.0),
    run("nbody", 100_000, 100.0),
    run("memops", 500_000, 80.0),
    run("parse", 60_000, 65.0),
    run("indirect", 1_500_000, 65.0),
];

/// A workload of the table.
const fn workload(
    name: &'static str,
    file: &'static str,
    export: &'static str,
    default_size: i32,
    scaling: Scaling,
    divisor: f64,
) -> Workload {
    Workload {
        name,
        file,
        export,
        default_size,
        scaling,
        divisor,
    }
}

/// A compiled C workload: `NAME.wasm`, exporting `run(size)`, with linear work.
const fn run(name: &'static str, default_size: i32, divisor: f64) -> Workload {
    Workload {
        name,
        file: "",
        export: "run",
        default_size,
        scaling: Scaling::Linear,
        divisor,
    }
}

impl Workload {
    /// The workload named `name`, or an error listing the known ones.
    pub fn find(name: &str) -> Result<&'static Workload> {
        WORKLOADS
            .iter()
            .find(|workload| workload.name == name)
            .with_context(|| {
                let known: Vec<&str> = WORKLOADS.iter().map(|w| w.name).collect();
                format!("unknown workload {name:?}; known: {}", known.join(", "))
            })
    }

    /// The path of its module file.
    pub fn path(&self) -> String {
        if self.file.is_empty() {
            format!("{WORKLOADS_DIR}/{}.wasm", self.name)
        } else {
            format!("{WORKLOADS_DIR}/{}", self.file)
        }
    }

    /// The module in the binary format (text is converted here, so that no engine's timing
    /// includes parsing WAT).
    pub fn binary(&self) -> Result<Vec<u8>> {
        let path = self.path();
        let bytes = std::fs::read(&path)
            .with_context(|| format!("reading {path} (run benches/workloads/build.sh?)"))?;
        let binary = wat::parse_bytes(&bytes).with_context(|| format!("parsing {path}"))?;
        Ok(binary.into_owned())
    }

    /// The first `steps` sizes of its ladder: the default size divided by
    /// [`divisor`](Self::divisor), then [`STEP`] times more work at each step. Sizes are
    /// at least 1 and strictly increasing (a step that rounds to the previous size is left
    /// out, so a ladder can be shorter than `steps`).
    pub fn sizes(&self, steps: usize) -> Vec<i32> {
        let mut sizes: Vec<i32> = Vec::with_capacity(steps);
        for step in 0..steps {
            let work = STEP.powi(step as i32) / self.divisor;
            let size = match self.scaling {
                Scaling::Linear => (f64::from(self.default_size) * work).round().max(1.0) as i32,
                Scaling::Fibonacci => {
                    let golden = (1.0 + 5f64.sqrt()) / 2.0;
                    let delta = (work.ln() / golden.ln()).round() as i32;
                    (self.default_size + delta).max(1)
                }
            };
            if sizes.last().is_none_or(|&last| size > last) {
                sizes.push(size);
            }
        }
        sizes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ladder_is_geometric_from_the_divided_default() {
        let sieve = Workload::find("sieve").unwrap();
        assert_eq!(
            sieve.sizes(FULL_STEPS),
            [
                50_000,
                250_000,
                1_250_000,
                6_250_000,
                31_250_000,
                156_250_000
            ]
        );
        assert_eq!(sieve.sizes(QUICK_STEPS), [50_000, 250_000, 1_250_000]);
    }

    #[test]
    fn small_sizes_are_clamped_and_never_repeat() {
        // matmul's default 50 / 90 rounds to 1 at the first step.
        let matmul = Workload::find("matmul").unwrap();
        assert_eq!(matmul.sizes(FULL_STEPS), [1, 3, 14, 69, 347, 1736]);
        // 0.1 and 0.5 both round to 1: the ladder has five sizes, not six.
        let tiny = run("tiny", 10, 100.0);
        assert_eq!(tiny.sizes(FULL_STEPS), [1, 3, 13, 63, 313]);
    }

    #[test]
    fn fibonacci_ladder_steps_by_the_log_of_the_work() {
        // 1/50 of fib(30)'s work is about fib(22); each step of 5x adds about 3.3 to n.
        let fib = Workload::find("fib").unwrap();
        assert_eq!(fib.sizes(FULL_STEPS), [22, 25, 29, 32, 35, 39]);
    }

    #[test]
    fn every_workload_has_a_full_ladder_and_a_module() {
        for workload in WORKLOADS {
            let sizes = workload.sizes(FULL_STEPS);
            assert_eq!(sizes.len(), FULL_STEPS, "{}", workload.name);
            assert!(
                std::path::Path::new(&workload.path()).is_file(),
                "{}",
                workload.name
            );
        }
        assert!(Workload::find("nope").is_err());
    }
}
