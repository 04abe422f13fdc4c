//! The engine: configuration and state shared by every module and store made with it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::module::types::FuncType;
use crate::tier_log::{EventFunc, TierEvent, TierEventKind, TierLog};
use std::sync::Mutex;

/// How functions are executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// The register-based interpreter only (the default without feature `jit`).
    #[cfg_attr(not(feature = "jit"), default)]
    Interpreter,
    /// Native code from Cranelift (feature `jit`): [`Module::new`](crate::Module::new)
    /// compiles every defined function before it returns, in parallel on the calling thread
    /// and the engine's compile threads ([`Config::compile_threads`]). A function the
    /// compiler does not support yet runs in the interpreter (calling and called by native
    /// code). Native frames are bounded by the host stack (a stack-limit check
    /// at every function entry traps with `call stack exhausted`), not by
    /// [`Config::max_call_depth`].
    #[cfg(feature = "jit")]
    Compiled,
    /// For testing calls across the tiers (feature `jit`): the defined functions of even
    /// index (counting from the first defined one) are compiled at their first call and run
    /// native, the others run in the interpreter, so that every call between
    /// neighbours crosses from one tier to the other.
    #[cfg(feature = "jit")]
    Mixed,
    /// The interpreter first, native code for hot functions (feature `jit`): every function
    /// starts in the interpreter at once; one that has been entered and looped often enough
    /// ([`Config::tier_up_threshold`]) is queued for the engine's compile threads, and its
    /// native code is used from its next call on, by interpreted and native callers alike,
    /// in every instance of the module. The default with feature `jit`.
    #[cfg(feature = "jit")]
    #[default]
    Tiered,
}

/// Engine configuration, built like wasmtime's: `Config::new().max_call_depth(1000)`.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) strategy: Strategy,
    pub(crate) max_call_depth: usize,
    pub(crate) max_memory_pages: u32,
    pub(crate) max_table_elements: u32,
    #[cfg(feature = "jit")]
    pub(crate) compile_threads: usize,
    #[cfg(feature = "jit")]
    pub(crate) tier_up_threshold: Option<u32>,
    #[cfg(feature = "jit")]
    pub(crate) synchronous_tier_up: bool,
    #[cfg(feature = "jit")]
    pub(crate) osr_exit_after_loop_nest: bool,
    pub(crate) record_tier_events: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            strategy: Strategy::default(),
            max_call_depth: 10_000,
            max_memory_pages: MAX_WASM32_PAGES,
            max_table_elements: 10_000_000,
            #[cfg(feature = "jit")]
            compile_threads: std::thread::available_parallelism()
                .map_or(1, |cores| cores.get().saturating_sub(1).max(1)),
            #[cfg(feature = "jit")]
            tier_up_threshold: None,
            #[cfg(feature = "jit")]
            synchronous_tier_up: false,
            #[cfg(feature = "jit")]
            osr_exit_after_loop_nest: false,
            record_tier_events: false,
        }
    }
}

/// The most 64 KiB pages a 32-bit memory can have.
pub(crate) const MAX_WASM32_PAGES: u32 = 65_536;

impl Config {
    /// The default configuration.
    pub fn new() -> Self {
        Config::default()
    }

    /// How functions are executed.
    pub fn strategy(&mut self, strategy: Strategy) -> &mut Self {
        self.strategy = strategy;
        self
    }

    /// How many Wasm frames may be live at once before a call traps with
    /// [`TrapCode::StackOverflow`](crate::TrapCode::StackOverflow). Default 10 000.
    pub fn max_call_depth(&mut self, depth: usize) -> &mut Self {
        self.max_call_depth = depth.max(1);
        self
    }

    /// The most 64 KiB pages any memory may have; allocating or growing past it fails
    /// (kind [`ErrorKind::Limit`](crate::ErrorKind::Limit) at instantiation, `-1` from
    /// `memory.grow`). Default and ceiling: 65 536 (4 GiB).
    pub fn max_memory_pages(&mut self, pages: u32) -> &mut Self {
        self.max_memory_pages = pages.min(MAX_WASM32_PAGES);
        self
    }

    /// The most elements any table may have; creating or growing past it fails (kind
    /// [`ErrorKind::Limit`](crate::ErrorKind::Limit) at instantiation, `-1` from
    /// `table.grow`). Default 10 000 000.
    pub fn max_table_elements(&mut self, elements: u32) -> &mut Self {
        self.max_table_elements = elements;
        self
    }

    /// How many worker threads the engine compiles to native code on (feature `jit`),
    /// besides the thread that asks for the compilation: [`Module::new`](crate::Module::new)
    /// under [`Strategy::Compiled`] and [`Module::compile_all`](crate::Module::compile_all)
    /// share the module's functions between that thread and the workers. The workers start
    /// on the engine's first compilation that can use them and are joined when the engine is
    /// dropped. 0: every function is compiled on the thread that asks. Default: the number of
    /// cores less one, at least 1.
    #[cfg(feature = "jit")]
    pub fn compile_threads(&mut self, threads: usize) -> &mut Self {
        self.compile_threads = threads;
        self
    }

    /// Under [`Strategy::Tiered`]: how hot a function gets before it is compiled, in entries
    /// plus loop iterations weighted by the loop's length (in interpreter instructions). By
    /// default each function's threshold grows with the size of its body, as its compile
    /// time does, so small functions tier up sooner. 0 compiles a function before its first
    /// call when tier-up is synchronous, and at its first call otherwise.
    #[cfg(feature = "jit")]
    pub fn tier_up_threshold(&mut self, threshold: u32) -> &mut Self {
        self.tier_up_threshold = Some(threshold);
        self
    }

    /// Under [`Strategy::Tiered`]: compile a hot function on the thread that found it hot,
    /// before going on, rather than on a compile thread (for deterministic tests). Default
    /// off.
    #[cfg(feature = "jit")]
    pub fn synchronous_tier_up(&mut self, synchronous: bool) -> &mut Self {
        self.synchronous_tier_up = synchronous;
        self
    }

    /// Under [`Strategy::Tiered`]: every loop OSR entry runs only the loop nest it was
    /// compiled for, and gives the frame back to the interpreter when the frame leaves it
    /// ([`TierEventKind::OsrExited`](crate::TierEventKind::OsrExited)). By default only an
    /// entry in a function's first loop nest does, and only when the code after the nest is
    /// larger than the nest (an initialisation loop before the kernel); the others have the
    /// rest of the function compiled in. For testing the exits, and for measuring that
    /// choice. Default off.
    #[cfg(feature = "jit")]
    pub fn osr_exit_after_loop_nest(&mut self, always: bool) -> &mut Self {
        self.osr_exit_after_loop_nest = always;
        self
    }

    /// Record the tier timeline, [`Engine::tier_events`]: when each function was translated,
    /// queued, compiled and swapped in. Default off (the record grows with every function
    /// the engine translates).
    pub fn record_tier_events(&mut self, record: bool) -> &mut Self {
        self.record_tier_events = record;
        self
    }
}

/// Shared by all modules and stores made with one engine. Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    config: Config,
    id: u64,
    signatures: SignatureRegistry,
    functions_translated: AtomicU64,
    translation_nanos: AtomicU64,
    wasm_bytes_translated: AtomicU64,
    code_bytes: AtomicU64,
    functions_compiled: AtomicU64,
    compile_failures: AtomicU64,
    compile_nanos: AtomicU64,
    native_code_bytes: AtomicU64,
    trampolines_compiled: AtomicU64,
    osr_entries_compiled: AtomicU64,
    osr_compile_failures: AtomicU64,
    osr_transfers: AtomicU64,
    osr_exits: AtomicU64,
    osr_entries_dropped: AtomicU64,
    /// Looks at loop OSR by hot frames of the engine's modules (see `jit::osr_entry`), the
    /// clock of a queued OSR entry's staleness.
    #[cfg(feature = "jit")]
    osr_looks: AtomicU64,
    tier_log: TierLog,
    /// The executable memory of every module's native code and the per-signature
    /// trampolines.
    #[cfg(feature = "jit")]
    code: crate::jit::EngineCode,
    #[cfg(feature = "jit")]
    compile_pool: crate::jit::CompilePool,
}

/// What the engine's modules have done so far: a snapshot from [`Engine::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Functions translated for the interpreter (each once per module, on its first call).
    pub functions_translated: u64,
    /// Total time spent translating them.
    pub translation_time: Duration,
    /// Bytes of Wasm function bodies translated.
    pub wasm_bytes_translated: u64,
    /// Bytes of interpreter code (instructions and constant pools) produced.
    pub code_bytes: u64,
    /// Functions compiled to native code (each once per module: under `Strategy::Compiled`
    /// when the module is made, or by `Module::compile_all`).
    pub functions_compiled: u64,
    /// Functions the native compiler refused (they run in the interpreter).
    pub compile_failures: u64,
    /// Total time spent compiling to native code, refused functions and trampolines included:
    /// the sum over the threads that compiled, so more than the wall time when they compiled
    /// in parallel.
    pub compile_time: Duration,
    /// Bytes of native code produced: function bodies and trampolines.
    pub native_code_bytes: u64,
    /// Array trampolines compiled, through which the host enters native code: one per
    /// distinct function type entered from the host, shared by every module of the engine.
    pub trampolines_compiled: u64,
    /// OSR entries compiled: native code for one loop of a function, which a frame that is
    /// interpreting the loop continues in (loop OSR under `Strategy::Tiered`). Their time and
    /// bytes are in `compile_time` and `native_code_bytes`.
    pub osr_entries_compiled: u64,
    /// OSR entries the native compiler refused (their frames stay interpreted).
    pub osr_compile_failures: u64,
    /// Interpreter frames that continued in an OSR entry.
    pub osr_transfers: u64,
    /// Frames an OSR entry gave back to the interpreter when they left its loop nest (see
    /// [`TierEventKind::OsrExited`]); the others returned from native code, or trapped there.
    pub osr_exits: u64,
    /// Queued OSR entries a compile thread left uncompiled, as no frame had been at their
    /// loop for a while (see [`TierEventKind::OsrDropped`]).
    pub osr_entries_dropped: u64,
}

impl Engine {
    /// An engine with this configuration.
    pub fn new(config: &Config) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Engine {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                signatures: SignatureRegistry::default(),
                functions_translated: AtomicU64::new(0),
                translation_nanos: AtomicU64::new(0),
                wasm_bytes_translated: AtomicU64::new(0),
                code_bytes: AtomicU64::new(0),
                functions_compiled: AtomicU64::new(0),
                compile_failures: AtomicU64::new(0),
                compile_nanos: AtomicU64::new(0),
                native_code_bytes: AtomicU64::new(0),
                trampolines_compiled: AtomicU64::new(0),
                osr_entries_compiled: AtomicU64::new(0),
                osr_compile_failures: AtomicU64::new(0),
                osr_transfers: AtomicU64::new(0),
                osr_exits: AtomicU64::new(0),
                osr_entries_dropped: AtomicU64::new(0),
                #[cfg(feature = "jit")]
                osr_looks: AtomicU64::new(0),
                tier_log: TierLog::new(config.record_tier_events),
                #[cfg(feature = "jit")]
                code: crate::jit::EngineCode::default(),
                #[cfg(feature = "jit")]
                compile_pool: crate::jit::CompilePool::new(config.compile_threads),
            }),
        }
    }

    /// The configuration the engine was made with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Whether two handles name the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        a.inner.id == b.inner.id
    }

    /// Counters of the work done so far by the engine's modules.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            functions_translated: self.inner.functions_translated.load(Ordering::Relaxed),
            translation_time: Duration::from_nanos(
                self.inner.translation_nanos.load(Ordering::Relaxed),
            ),
            wasm_bytes_translated: self.inner.wasm_bytes_translated.load(Ordering::Relaxed),
            code_bytes: self.inner.code_bytes.load(Ordering::Relaxed),
            functions_compiled: self.inner.functions_compiled.load(Ordering::Relaxed),
            compile_failures: self.inner.compile_failures.load(Ordering::Relaxed),
            compile_time: Duration::from_nanos(self.inner.compile_nanos.load(Ordering::Relaxed)),
            native_code_bytes: self.inner.native_code_bytes.load(Ordering::Relaxed),
            trampolines_compiled: self.inner.trampolines_compiled.load(Ordering::Relaxed),
            osr_entries_compiled: self.inner.osr_entries_compiled.load(Ordering::Relaxed),
            osr_compile_failures: self.inner.osr_compile_failures.load(Ordering::Relaxed),
            osr_transfers: self.inner.osr_transfers.load(Ordering::Relaxed),
            osr_exits: self.inner.osr_exits.load(Ordering::Relaxed),
            osr_entries_dropped: self.inner.osr_entries_dropped.load(Ordering::Relaxed),
        }
    }

    /// The tier timeline so far (empty unless [`Config::record_tier_events`] is on), in the
    /// order the events were recorded.
    pub fn tier_events(&self) -> Vec<TierEvent> {
        self.inner.tier_log.events()
    }

    /// Records that `kind` happened to `func` now, on this thread.
    pub(crate) fn record_tier_event(
        &self,
        kind: TierEventKind,
        func: EventFunc<'_>,
        duration: Option<Duration>,
    ) {
        self.inner.tier_log.record(kind, func, duration);
    }

    /// The engine's compile threads.
    #[cfg(feature = "jit")]
    pub(crate) fn compile_pool(&self) -> &crate::jit::CompilePool {
        &self.inner.compile_pool
    }

    /// Records one attempt to compile a function to native code, which took `elapsed` and
    /// produced `code_bytes` (0 when it failed).
    #[cfg(feature = "jit")]
    pub(crate) fn record_compilation(&self, elapsed: Duration, compiled: bool, code_bytes: usize) {
        let inner = &self.inner;
        let counter = if compiled {
            &inner.functions_compiled
        } else {
            &inner.compile_failures
        };
        self.record_native(Some(counter), elapsed, code_bytes);
    }

    /// Counts one compilation in `counter`, and its time and bytes.
    #[cfg(feature = "jit")]
    fn record_native(&self, counter: Option<&AtomicU64>, elapsed: Duration, code_bytes: usize) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let inner = &self.inner;
        if let Some(counter) = counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        inner.compile_nanos.fetch_add(nanos, Ordering::Relaxed);
        inner
            .native_code_bytes
            .fetch_add(code_bytes as u64, Ordering::Relaxed);
    }

    /// Records one attempt to compile an array trampoline, which took `elapsed` and produced
    /// `code_bytes` (0 when it failed).
    #[cfg(feature = "jit")]
    pub(crate) fn record_trampoline(&self, elapsed: Duration, compiled: bool, code_bytes: usize) {
        let counter = compiled.then_some(&self.inner.trampolines_compiled);
        self.record_native(counter, elapsed, code_bytes);
    }

    /// Records one attempt to compile an OSR entry, as [`Engine::record_compilation`].
    #[cfg(feature = "jit")]
    pub(crate) fn record_osr_compilation(
        &self,
        elapsed: Duration,
        compiled: bool,
        code_bytes: usize,
    ) {
        let inner = &self.inner;
        let counter = if compiled {
            &inner.osr_entries_compiled
        } else {
            &inner.osr_compile_failures
        };
        self.record_native(Some(counter), elapsed, code_bytes);
    }

    /// Records that an interpreter frame continued in an OSR entry.
    #[cfg(feature = "jit")]
    pub(crate) fn record_osr_transfer(&self) {
        self.inner.osr_transfers.fetch_add(1, Ordering::Relaxed);
    }

    /// Records that an OSR entry gave its frame back to the interpreter.
    #[cfg(feature = "jit")]
    pub(crate) fn record_osr_exit(&self) {
        self.inner.osr_exits.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a hot frame's look at loop OSR; returns the count with it.
    #[cfg(feature = "jit")]
    pub(crate) fn record_osr_look(&self) -> u64 {
        self.inner.osr_looks.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// How many looks at loop OSR hot frames have made so far.
    #[cfg(feature = "jit")]
    pub(crate) fn osr_looks(&self) -> u64 {
        self.inner.osr_looks.load(Ordering::Relaxed)
    }

    /// Records that a compile thread dropped a queued OSR entry.
    #[cfg(feature = "jit")]
    pub(crate) fn record_osr_drop(&self) {
        self.inner
            .osr_entries_dropped
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The engine's native code: its code arena and its trampolines.
    #[cfg(feature = "jit")]
    pub(crate) fn code(&self) -> &crate::jit::EngineCode {
        &self.inner.code
    }

    /// Records that one function of `wasm_bytes` was translated to `code_bytes` of
    /// interpreter code in `elapsed`.
    pub(crate) fn record_translation(
        &self,
        elapsed: Duration,
        wasm_bytes: usize,
        code_bytes: usize,
    ) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let inner = &self.inner;
        inner.functions_translated.fetch_add(1, Ordering::Relaxed);
        inner.translation_nanos.fetch_add(nanos, Ordering::Relaxed);
        inner
            .wasm_bytes_translated
            .fetch_add(wasm_bytes as u64, Ordering::Relaxed);
        inner
            .code_bytes
            .fetch_add(code_bytes as u64, Ordering::Relaxed);
    }

    /// The engine-wide id of a signature: equal types get equal ids, so a `call_indirect`
    /// signature check is one integer comparison.
    pub(crate) fn signature_id(&self, ty: &FuncType) -> SignatureId {
        self.inner.signatures.intern(ty)
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default())
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("id", &self.inner.id)
            .field("config", &self.inner.config)
            .finish()
    }
}

/// An engine-wide interned function signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub(crate) struct SignatureId(pub(crate) u32);

#[derive(Default)]
struct SignatureRegistry {
    ids: Mutex<HashMap<FuncType, SignatureId>>,
}

impl SignatureRegistry {
    fn intern(&self, ty: &FuncType) -> SignatureId {
        let mut ids = self
            .ids
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let next = SignatureId(ids.len() as u32);
        *ids.entry(ty.clone()).or_insert(next)
    }
}
