//! `--timings`: how long each lifecycle phase of a run took, printed as a table on stderr.

use std::fmt;
use std::time::{Duration, Instant};

use tierwasm::EngineStats;

/// The phases of `tierwasm run`, in order.
#[derive(Clone, Copy)]
pub enum Phase {
    Read,
    Compile,
    Link,
    Allocate,
    Initialize,
    Start,
    Run,
}

impl Phase {
    fn label(self) -> &'static str {
        match self {
            Phase::Read => "read file",
            Phase::Compile => "decode + validate",
            Phase::Link => "link",
            Phase::Allocate => "instantiate: allocate",
            Phase::Initialize => "instantiate: segment init",
            Phase::Start => "instantiate: start",
            Phase::Run => "run",
        }
    }
}

/// The phases measured so far.
#[derive(Default)]
pub struct Timings {
    phases: Vec<(Phase, Duration)>,
    engine: EngineStats,
}

impl Timings {
    /// Runs `f` as phase `phase`, recording its duration whether or not it fails.
    pub fn time<R>(&mut self, phase: Phase, f: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let result = f();
        self.phases.push((phase, start.elapsed()));
        result
    }

    /// Records the engine's translation and compilation counters, at the end of the run.
    pub fn set_engine_stats(&mut self, stats: EngineStats) {
        self.engine = stats;
    }
}

impl fmt::Display for Timings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = &self.engine;
        // Under `--strategy compiled`, `Module::new` compiles every function too.
        let compiled = stats.functions_compiled + stats.compile_failures > 0;
        writeln!(f, "{:<28} {:>12}", "phase", "time")?;
        for (phase, duration) in &self.phases {
            let label = match phase {
                Phase::Compile if compiled => "decode + validate + compile",
                _ => phase.label(),
            };
            writeln!(f, "{:<28} {:>12}", label, Human(*duration))?;
        }
        let total: Duration = self.phases.iter().map(|(_, d)| *d).sum();
        writeln!(f, "{:<28} {:>12}", "total", Human(total))?;
        write!(
            f,
            "lazily translated functions: {} ({} bytes of Wasm to {} bytes of interpreter code) in {}",
            stats.functions_translated,
            stats.wasm_bytes_translated,
            stats.code_bytes,
            Human(stats.translation_time)
        )?;
        if compiled {
            write!(
                f,
                "\ncompiled functions: {} ({} bytes of native code), {} left to the interpreter, \
                 in {} (summed over the compile threads)",
                stats.functions_compiled,
                stats.native_code_bytes,
                stats.compile_failures,
                Human(stats.compile_time)
            )?;
        }
        Ok(())
    }
}

/// A duration in µs below 10 ms, else in ms.
struct Human(Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.as_secs_f64() * 1e6;
        let text = if micros < 10_000.0 {
            format!("{micros:.1} µs")
        } else {
            format!("{:.2} ms", micros / 1e3)
        };
        f.pad(&text)
    }
}
