//! The tier timeline: what happened to each function when — translated for the interpreter,
//! queued for the compiler, compiled, swapped in, and for loop OSR the same for an OSR entry
//! and each time a running frame entered one — recorded by the engine when
//! [`Config::record_tier_events`](crate::Config::record_tier_events) is on.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What happened to a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TierEventKind {
    /// Translated for the interpreter (on its first call); the event's duration is the
    /// translation's.
    Translated,
    /// Hot enough to tier up: queued for a compile thread (or, with synchronous tier-up,
    /// about to be compiled on the calling thread).
    Queued,
    /// A thread started compiling it.
    CompileStarted,
    /// Compiled; the event's duration is the compilation's.
    CompileFinished,
    /// The compiler refused it: it stays interpreted.
    CompileFailed,
    /// Its native code was published: calls from then on run it.
    SwappedIn,
    /// A running interpreter frame continued in an OSR entry's native code at the loop the
    /// event names ([`TierEvent::loop_index`]).
    OsrEntered,
    /// A frame that continued in an OSR entry left the entry's loop nest, and the interpreter
    /// took it back, at the loop the event names.
    OsrExited,
    /// A queued OSR entry was not compiled: when a compile thread took it, hot frames had
    /// looked at loop OSR elsewhere for about a millisecond of interpretation and never at
    /// its loop (the frame that asked had left the loop). A frame back at the loop asks
    /// again.
    OsrDropped,
}

impl TierEventKind {
    /// Every kind, in the order of a function's life.
    pub const ALL: [TierEventKind; 9] = [
        TierEventKind::Translated,
        TierEventKind::Queued,
        TierEventKind::CompileStarted,
        TierEventKind::CompileFinished,
        TierEventKind::CompileFailed,
        TierEventKind::SwappedIn,
        TierEventKind::OsrEntered,
        TierEventKind::OsrExited,
        TierEventKind::OsrDropped,
    ];

    /// The kind whose [`name`](TierEventKind::name) is `name`, if any.
    pub fn from_name(name: &str) -> Option<TierEventKind> {
        TierEventKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
    }

    /// The event's name in a tier log (`tierwasm run --tier-log`): `translated`, `queued`,
    /// `compile_start`, `compile_end`, `compile_failed`, `swapped_in`, `osr_entered`,
    /// `osr_exited`, `osr_dropped`.
    pub fn name(self) -> &'static str {
        match self {
            TierEventKind::Translated => "translated",
            TierEventKind::Queued => "queued",
            TierEventKind::CompileStarted => "compile_start",
            TierEventKind::CompileFinished => "compile_end",
            TierEventKind::CompileFailed => "compile_failed",
            TierEventKind::SwappedIn => "swapped_in",
            TierEventKind::OsrEntered => "osr_entered",
            TierEventKind::OsrExited => "osr_exited",
            TierEventKind::OsrDropped => "osr_dropped",
        }
    }
}

/// One event of the tier timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierEvent {
    /// When it happened, from the engine's creation.
    pub time: Duration,
    /// What happened.
    pub kind: TierEventKind,
    /// The function's index in its module's function index space.
    pub func_index: u32,
    /// The function's name from the module's name section, if it has one.
    pub func_name: Option<String>,
    /// The module's name from the name section, if it has one.
    pub module_name: Option<String>,
    /// For the events of an OSR entry (queued, compiled, entered): its loop, counted in
    /// `loop` operators from the start of the body. `None` for the function's own code.
    pub loop_index: Option<u32>,
    /// The thread it happened on (its name, or its id when it has none).
    pub thread: String,
    /// How long the translation or compilation took, for the events that end one.
    pub duration: Option<Duration>,
}

/// The engine's record of tier events.
pub(crate) struct TierLog {
    /// Whether events are recorded at all.
    enabled: bool,
    start: Instant,
    events: Mutex<Vec<TierEvent>>,
}

/// Which function an event is about.
pub(crate) struct EventFunc<'a> {
    pub index: u32,
    pub name: Option<&'a str>,
    pub module_name: Option<&'a str>,
    /// The loop of an OSR entry, for its events.
    pub loop_index: Option<u32>,
}

impl TierLog {
    pub fn new(enabled: bool) -> TierLog {
        TierLog {
            enabled,
            start: Instant::now(),
            events: Mutex::new(Vec::new()),
        }
    }

    /// Records that `kind` happened to `func` now, on this thread.
    pub fn record(&self, kind: TierEventKind, func: EventFunc<'_>, duration: Option<Duration>) {
        if !self.enabled {
            return;
        }
        let current = std::thread::current();
        let thread = match current.name() {
            Some(name) => name.to_string(),
            None => format!("{:?}", current.id()),
        };
        let event = TierEvent {
            time: self.start.elapsed(),
            kind,
            func_index: func.index,
            func_name: func.name.map(str::to_string),
            module_name: func.module_name.map(str::to_string),
            loop_index: func.loop_index,
            thread,
            duration,
        };
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event);
    }

    /// Every event so far, in the order they were recorded.
    pub fn events(&self) -> Vec<TierEvent> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
