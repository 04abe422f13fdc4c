//! `--timings`: how long each lifecycle phase of a run took, printed as a table on stderr.

use std::fmt;
use std::time::{Duration, Instant};

use std::collections::HashMap;

use tierwasm::{EngineStats, Module, Strategy, TierEvent, TierEventKind};

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

/// The phases measured so far, and what the engine did.
pub struct Timings {
    strategy: Strategy,
    phases: Vec<(Phase, Duration)>,
    engine: EngineStats,
    events: Vec<TierEvent>,
    /// `(function index, hotness)` of the module's hottest functions, hottest first.
    hottest: Vec<(u32, u32)>,
}

/// How many of the hottest functions the summary lists.
const HOTTEST_LISTED: usize = 5;

impl Timings {
    /// Timings of a run under `strategy`.
    pub fn new(strategy: Strategy) -> Timings {
        Timings {
            strategy,
            phases: Vec::new(),
            engine: EngineStats::default(),
            events: Vec::new(),
            hottest: Vec::new(),
        }
    }

    /// Runs `f` as phase `phase`, recording its duration whether or not it fails.
    pub fn time<R>(&mut self, phase: Phase, f: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let result = f();
        self.phases.push((phase, start.elapsed()));
        result
    }

    /// Records the engine's translation and compilation counters and its tier timeline, at
    /// the end of the run.
    pub fn set_engine_stats(&mut self, stats: EngineStats, events: &[TierEvent]) {
        self.engine = stats;
        self.events = events.to_vec();
    }

    /// Records the module's hottest functions, at the end of the run.
    pub fn set_hotness(&mut self, module: &Module) {
        let mut hottest: Vec<(u32, u32)> = module
            .hotness()
            .into_iter()
            .filter(|&(_, hotness)| hotness > 0)
            .collect();
        hottest.sort_by_key(|&(func, hotness)| (std::cmp::Reverse(hotness), func));
        hottest.truncate(HOTTEST_LISTED);
        self.hottest = hottest;
    }

    /// The tier-up summary of a tiered run.
    fn tier_summary(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Events of the functions' own code, or (`osr`) of OSR entries.
        let count = |kind, osr: bool| {
            self.events
                .iter()
                .filter(|event| event.kind == kind && event.loop_index.is_some() == osr)
                .count()
        };
        writeln!(
            f,
            "\ntiers: {} functions ran in the interpreter, {} tiered up to native code, {} refused",
            count(TierEventKind::Translated, false),
            count(TierEventKind::SwappedIn, false),
            count(TierEventKind::CompileFailed, false)
        )?;
        let first_osr = self
            .events
            .iter()
            .find(|event| event.kind == TierEventKind::OsrEntered);
        writeln!(
            f,
            "loop OSR: {} entries compiled, {} refused, {} dropped; {} frames continued in native \
             code ({} came back when their loop nest ended){}",
            count(TierEventKind::CompileFinished, true),
            count(TierEventKind::CompileFailed, true),
            count(TierEventKind::OsrDropped, true),
            count(TierEventKind::OsrEntered, true),
            count(TierEventKind::OsrExited, true),
            first_osr.map_or(String::new(), |event| format!(
                ", the first {} after the engine started",
                Human(event.time)
            ))
        )?;
        let mut threads: Vec<(String, Duration, usize)> = Vec::new();
        for event in &self.events {
            if !matches!(
                event.kind,
                TierEventKind::CompileFinished | TierEventKind::CompileFailed
            ) {
                continue;
            }
            let spent = event.duration.unwrap_or_default();
            match threads.iter_mut().find(|(name, ..)| *name == event.thread) {
                Some((_, total, functions)) => {
                    *total += spent;
                    *functions += 1;
                }
                None => threads.push((event.thread.clone(), spent, 1)),
            }
        }
        let total: Duration = threads.iter().map(|(_, spent, _)| *spent).sum();
        write!(f, "compile time: {}", Human(total))?;
        for (thread, spent, functions) in &threads {
            write!(
                f,
                "; {thread}: {} ({functions} compilations)",
                Human(*spent)
            )?;
        }
        writeln!(f)?;
        match self
            .events
            .iter()
            .find(|event| event.kind == TierEventKind::SwappedIn)
        {
            Some(first) => writeln!(
                f,
                "first native code swapped in {} after the engine started",
                Human(first.time)
            )?,
            None => writeln!(f, "no native code was swapped in")?,
        }
        let native: Vec<u32> = self
            .events
            .iter()
            .filter(|event| event.kind == TierEventKind::SwappedIn)
            .map(|event| event.func_index)
            .collect();
        let names: HashMap<u32, &str> = self
            .events
            .iter()
            .filter_map(|event| Some((event.func_index, event.func_name.as_deref()?)))
            .collect();
        let hottest: Vec<String> = self
            .hottest
            .iter()
            .map(|(func, hotness)| {
                let tier = if native.contains(func) {
                    "tiered up"
                } else {
                    "interpreted"
                };
                match names.get(func) {
                    Some(name) => format!("{name} (func {func}) {hotness}, {tier}"),
                    None => format!("func {func} {hotness}, {tier}"),
                }
            })
            .collect();
        write!(f, "hottest in the interpreter: {}", hottest.join("; "))?;
        Ok(())
    }
}

impl fmt::Display for Timings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = &self.engine;
        let compiled = stats.functions_compiled + stats.compile_failures > 0;
        // Under `--strategy compiled`, `Module::new` compiles every function too.
        let compiles_up_front = compiled && self.strategy_compiles_up_front();
        writeln!(f, "{:<28} {:>12}", "phase", "time")?;
        for (phase, duration) in &self.phases {
            let label = match phase {
                Phase::Compile if compiles_up_front => "decode + validate + compile",
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
        if self.tiered() {
            self.tier_summary(f)?;
        }
        Ok(())
    }
}

impl Timings {
    fn strategy_compiles_up_front(&self) -> bool {
        #[cfg(feature = "jit")]
        return self.strategy == Strategy::Compiled;
        #[cfg(not(feature = "jit"))]
        false
    }

    fn tiered(&self) -> bool {
        #[cfg(feature = "jit")]
        return self.strategy == Strategy::Tiered;
        #[cfg(not(feature = "jit"))]
        false
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
