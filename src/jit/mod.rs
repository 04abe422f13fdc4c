//! The optimizing tier: Wasm function bodies compiled to native code with Cranelift
//! (feature `jit`).
//!
//! - [`translate`]: Wasm operators to Cranelift IR;
//! - [`code_memory`]: the engine's executable memory (W^X, relocated, page-granular
//!   allocations in large reserved regions);
//! - [`bulk`]: the bulk memory and table operators, which native code runs in Rust;
//! - [`pool`]: the engine's compile threads;
//! - [`entry`]: the glue between Rust and native code — the host entry through an array
//!   trampoline (one per signature, cached by the engine), the `extern "C"` helpers native
//!   code calls into the runtime with, and the VM context layout native code reads.
//!
//! Native code runs on the same instance state as the interpreter (the `VmContext`). A
//! defined function calls another through the module's code slots, whose native entry is an
//! atomic pointer: a callee compiled later is used from its next call. A callee without native
//! code (not compiled yet, or not compilable) and every import are called through the runtime
//! (`entry::Runtime`), which compiles the callee first under `Strategy::Compiled` or else
//! interprets it.

mod bulk;
mod code_memory;
mod entry;
mod placement;
mod pool;
mod translate;

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, UserFuncName, types};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, FinalizedRelocTarget};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

use crate::Strategy;
use crate::engine::{Engine, SignatureId};
use crate::interp::{OsrAt, OsrPoint};
use crate::module::ModuleInner;
use crate::module::types::FuncType;
use crate::tier_log::TierEventKind;
use code_memory::{CodeArena, CodeMemory, Relocation};
pub(crate) use entry::{Completion, NativeEntry, invoke, native_entry, native_entry_of};
pub(crate) use pool::CompilePool;
use translate::{
    FuncTranslator, array_signature, clif_type, decode_slot, encode_slot, native_signature,
};

pub(crate) use translate::CompileError;

/// The status a native function returns: 0 when it returned, else why it stopped.
pub(crate) mod status {
    use crate::error::TrapCode;

    /// Returned normally.
    pub const OK: u32 = 0;
    /// A helper failed with an error that the activation holds (see `entry`).
    pub const ERROR: u32 = 0xff;

    const TRAPS: [TrapCode; 10] = [
        TrapCode::Unreachable,
        TrapCode::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds,
        TrapCode::UndefinedElement,
        TrapCode::UninitializedElement,
        TrapCode::BadSignature,
        TrapCode::IntegerOverflow,
        TrapCode::IntegerDivisionByZero,
        TrapCode::BadConversionToInteger,
        TrapCode::StackOverflow,
    ];

    /// The status of a trap.
    pub fn of_trap(code: TrapCode) -> u32 {
        let index = TRAPS.iter().position(|known| *known == code);
        index.map_or(ERROR, |index| index as u32 + 1)
    }

    /// The trap a status stands for, if it stands for one.
    pub fn trap(status: u32) -> Option<TrapCode> {
        TRAPS.get((status as usize).checked_sub(1)?).copied()
    }

    /// The first status of an OSR entry that gave its frame back to the interpreter (see
    /// [`super::translate`]): the rest say at which instruction the frame goes on.
    const EXITED: u32 = 0x100;

    /// The status of an OSR entry that gave its frame back to the interpreter at instruction
    /// `label` (a function body has far fewer than `u32::MAX - 0x100` instructions).
    pub fn exited_at(label: u32) -> u32 {
        EXITED + label
    }

    /// The instruction an OSR entry's frame goes on at, if `status` says it exited.
    pub fn exit_label(status: u32) -> Option<u32> {
        status.checked_sub(EXITED)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_trap_has_a_status_of_its_own() {
            for code in TRAPS {
                let status = of_trap(code);
                assert!(status != OK && status != ERROR);
                assert_eq!(trap(status), Some(code));
            }
            assert_eq!(trap(OK), None);
            assert_eq!(trap(ERROR), None);
        }

        #[test]
        fn an_exit_status_is_no_trap_and_names_its_instruction() {
            for label in [0, 1, 4096, 7_654_321] {
                let status = exited_at(label);
                assert!(status != OK && status != ERROR);
                assert_eq!(trap(status), None);
                assert_eq!(exit_label(status), Some(label));
            }
            for status in [OK, ERROR, of_trap(TrapCode::StackOverflow)] {
                assert_eq!(exit_label(status), None);
            }
        }
    }
}

/// A defined function's native code, in its module's code slot.
#[derive(Default)]
pub(crate) struct NativeSlot {
    /// The function's native entry (its signature is the native one, see [`translate`]), or
    /// null while it has none. Native callers load it on every call.
    entry: AtomicPtr<u8>,
    /// The compiled code, or `None` when compiling failed and the function stays interpreted.
    /// Dropped with the module, once no instance of it (and so no code in it) can run.
    code: OnceLock<Option<NativeCode>>,
    /// The address of the engine's array trampoline for the function's signature, looked up
    /// on the function's first entry from the host; `None` when it cannot be compiled (the
    /// host then calls the function in the interpreter).
    array_entry: OnceLock<Option<usize>>,
    /// One per OSR point of the interpreter's code (`CompiledFunc::osr_points`), made when
    /// a frame first asks for one.
    osr: OnceLock<Box<[OsrSlot]>>,
}

/// The OSR entry at one loop of a function (see [`osr_entry`]).
#[derive(Default)]
struct OsrSlot {
    /// Whether it has been asked for (so it is compiled once, unless a compile thread drops
    /// the request, see [`queued_osr_entry`]).
    requested: AtomicBool,
    /// The engine's count of looks at loop OSR (`Engine::record_osr_look`) when a hot frame
    /// last looked at this loop.
    seen_at: AtomicU64,
    /// How many times a compile thread has dropped the request (see [`queued_osr_entry`]).
    drops: AtomicU32,
    /// Whether a frame at this loop has been told to look for an outer loop's ready entry
    /// first ([`OsrLook::OuterLoopReady`]), which is done once.
    waited_for_outer_loop: AtomicBool,
    /// The compiled entry, or `None` when compiling it failed.
    code: OnceLock<Option<NativeCode>>,
}

impl NativeSlot {
    /// The function's native entry, or null while it has none.
    #[inline(always)]
    pub(crate) fn entry(&self) -> *const u8 {
        self.entry.load(Ordering::Acquire)
    }

    /// Whether the function has native code, ordered with every other sequentially
    /// consistent access (see `interp::compiled`).
    pub(crate) fn is_published(&self) -> bool {
        !self.entry.load(Ordering::SeqCst).is_null()
    }
}

/// Whether the engine's strategy runs defined function `func` (module index space) of
/// `module` as native code.
pub(crate) fn wants_native(module: &ModuleInner, func: u32) -> bool {
    match module.engine.config().strategy {
        Strategy::Interpreter => false,
        Strategy::Compiled => true,
        Strategy::Mixed => (func as usize - module.num_imported_funcs).is_multiple_of(2),
        Strategy::Tiered => {
            let config = module.engine.config();
            config.synchronous_tier_up && config.tier_up_threshold == Some(0)
        }
    }
}

/// Loop iterations, weighted as the interpreter counts them, between two looks at whether a
/// running frame's loop should continue in native code (loop OSR): about 30 µs of
/// interpretation, so that a look costs nothing measurable and a loop waits that long at most
/// once its code is ready.
const OSR_CHECK_INTERVAL: i64 = 1 << 15;

/// How many loop iterations the interpreter lets pass between looks at loop OSR under
/// `config`: never but under `Strategy::Tiered`, and more often with a threshold below the
/// interval (a test's), so that loops that short are taken over too. (`i64::MAX / 4`, more
/// than an activation can run, stands for never.)
pub(crate) fn osr_check_interval(config: &crate::Config) -> i64 {
    if config.strategy != Strategy::Tiered {
        return i64::MAX / 4;
    }
    match config.tier_up_threshold {
        Some(threshold) => i64::from(threshold).clamp(1, OSR_CHECK_INTERVAL),
        None => OSR_CHECK_INTERVAL,
    }
}

/// Tiers up defined function `func` (module index space) of `module`, which has become hot:
/// once per function, compiles it on a compile thread (on this one with synchronous tier-up
/// or no compile threads), which then publishes its native entry.
pub(crate) fn tier_up(module: &Arc<ModuleInner>, func: u32) {
    let slot = module.code_slot(func);
    if slot.tier_up_at.swap(u32::MAX, Ordering::Relaxed) == u32::MAX {
        return;
    }
    module.record_tier_event(func, TierEventKind::Queued, None);
    let synchronous = module.engine.config().synchronous_tier_up;
    if synchronous || !module.engine.compile_pool().queue(module, func) {
        native_code(module, func);
    }
}

/// What a hot frame's look at loop OSR found (see [`osr_entry`]).
pub(crate) enum OsrLook {
    /// The loop's OSR entry is compiled: its address (of type `ArrayEntry`, see [`entry`],
    /// taking the frame's slots).
    Ready(*const u8),
    /// Not yet: it has been asked for (now or before), or it cannot be compiled.
    NotReady,
    /// This loop has no entry yet but a loop around it has one: the frame is to look at every
    /// back-edge for the next [`OSR_QUICK_LOOKS`] (with [`ready_osr_entry`]) and enter there
    /// when it gets to that loop's header, before this loop's entry is asked for.
    OuterLoopReady,
}

/// How many back-edges a frame told [`OsrLook::OuterLoopReady`] looks at before it goes back
/// to looking every [`OSR_CHECK_INTERVAL`] and asks for its own loop's entry: a look takes
/// tens of nanoseconds, and an outer loop's header comes around within a few thousand inner
/// iterations. A frame interpreting a hot loop nest mostly looks from its innermost loop, so
/// without this it would rarely look at the outer loop whose entry is ready, and would have
/// one more entry compiled for the inner loop.
pub(crate) const OSR_QUICK_LOOKS: u32 = 4096;

/// The OSR entry of defined function `func` (module index space) of `module` at its
/// interpreter code's OSR point `point`, for a running frame that is hot at that loop.
/// The first request compiles it, on a compile thread (on this one with synchronous tier-up
/// or no compile threads, and then it is ready at once), unless an entry at another loop of
/// the same loop nest is being compiled (the frame that asked for it is likely to reach that
/// loop again: the nest's loops are around this one or run after it, and an entry runs the
/// whole nest) or, the first time, an entry at a loop around this one is ready
/// ([`OsrLook::OuterLoopReady`]). An entry in another nest does not run this one: the frame
/// that is here has left that nest, or is yet to get to it.
pub(crate) fn osr_entry(module: &Arc<ModuleInner>, func: u32, point: usize) -> OsrLook {
    let Some(slot) = osr_slot(module, func, point) else {
        return OsrLook::NotReady;
    };
    if let Some(code) = slot.code.get() {
        return code
            .as_ref()
            .map_or(OsrLook::NotReady, |code| OsrLook::Ready(code.body()));
    }
    slot.seen_at
        .store(module.engine.record_osr_look(), Ordering::Relaxed);
    let Some(siblings) = module.code_slot(func).native.osr.get() else {
        return OsrLook::NotReady;
    };
    let Some(points) = module
        .code_slot(func)
        .translated
        .get()
        .map(|code| &code.osr_points)
    else {
        return OsrLook::NotReady;
    };
    // `osr_slot` found a slot for `point`: there is one per point.
    let nest = points[point].nest;
    let pending_in_nest = |(other, slot): (&OsrPoint, &OsrSlot)| {
        other.nest == nest && slot.requested.load(Ordering::Relaxed) && slot.code.get().is_none()
    };
    if points.iter().zip(siblings.iter()).any(pending_in_nest)
        || slot.requested.load(Ordering::Relaxed)
    {
        return OsrLook::NotReady;
    }
    if outer_loop_ready(module, func, point)
        && !slot.waited_for_outer_loop.swap(true, Ordering::Relaxed)
    {
        return OsrLook::OuterLoopReady;
    }
    if slot.requested.swap(true, Ordering::Relaxed) {
        return OsrLook::NotReady;
    }
    module.record_osr_event(func, points[point].loop_index, TierEventKind::Queued, None);
    let synchronous = module.engine.config().synchronous_tier_up;
    if synchronous || !module.engine.compile_pool().queue_osr(module, func, point) {
        return osr_code(module, func, point)
            .map_or(OsrLook::NotReady, |code| OsrLook::Ready(code.body()));
    }
    OsrLook::NotReady
}

/// Whether an OSR point at the header of a loop around OSR point `point` of defined function
/// `func` of `module` has a compiled entry.
fn outer_loop_ready(module: &ModuleInner, func: u32, point: usize) -> bool {
    let Some(code) = module.code_slot(func).translated.get() else {
        return false;
    };
    let Some(slots) = module.code_slot(func).native.osr.get() else {
        return false;
    };
    let outer_loops = &code.osr_points[point].outer_loops;
    code.osr_points
        .iter()
        .zip(slots.iter())
        .any(|(other, slot)| {
            matches!(other.at, OsrAt::LoopHeader(_))
                && outer_loops.contains(&other.loop_index)
                && matches!(slot.code.get(), Some(Some(_)))
        })
}

/// The OSR entry of defined function `func` of `module` at OSR point `point` if it is
/// compiled, for a frame's quick look ([`OsrLook::OuterLoopReady`]): asks for nothing and
/// counts no look.
pub(crate) fn ready_osr_entry(module: &ModuleInner, func: u32, point: usize) -> Option<*const u8> {
    osr_slot(module, func, point)?
        .code
        .get()?
        .as_ref()
        .map(NativeCode::body)
}

/// How many looks at loop OSR hot frames may make elsewhere, and none in a loop nest, before
/// a compile thread drops a queued request for an OSR entry there the first time: about
/// 60 µs of interpretation at the default interval ([`OSR_CHECK_INTERVAL`]). It doubles with
/// each drop of the same request, up to [`OSR_STALE_LOOKS_MAX`].
const OSR_STALE_LOOKS: u64 = 2;

/// The most looks elsewhere a request for an OSR entry waits through (about 1 ms): enough
/// for a frame whose loop shares the engine's looks with other threads' loops.
const OSR_STALE_LOOKS_MAX: u64 = 32;

/// A compile thread's OSR job: compiles the OSR entry of defined function `func` of `module`
/// at OSR point `point`, unless the frame that asked for it has likely left its loop nest:
/// - the engine's hot frames have made a few looks at loop OSR ([`OSR_STALE_LOOKS`], more
///   after earlier drops) since one last looked at a loop of that nest; or
/// - a first request, and a hot frame has looked at a loop of a later nest of the function
///   since (a frame leaves a nest for the ones after it and does not come back).
///
/// The frame left an initialisation loop for the kernel, or a loop before a call that does
/// the work, and an entry there would keep the compile thread from code that is needed now.
/// The request is then dropped, so that a frame back at the loop asks again, and other loops
/// of the function can ask meanwhile. (Counted in looks rather than in time, so that a frame
/// whose machine stopped running it for a while has not left its loop.)
pub(crate) fn queued_osr_entry(module: &ModuleInner, func: u32, point: usize) {
    let Some(slot) = osr_slot(module, func, point) else {
        return;
    };
    let drops = slot.drops.load(Ordering::Relaxed);
    // Capped before the shift, which would wrap to zero after 63 drops.
    let stale_after = (OSR_STALE_LOOKS << drops.min(u64::BITS / 2)).min(OSR_STALE_LOOKS_MAX);
    // The count before the nest's looks: a thread that stopped between the two reads sees
    // a later look in the nest, not looks the frame never made.
    let looks = module.engine.osr_looks();
    let (in_nest, in_later_nest) = last_looks(module, func, point);
    let looks_since = looks.saturating_sub(in_nest);
    let left_nest = drops == 0 && in_later_nest > in_nest;
    if looks_since < stale_after && !left_nest {
        osr_code(module, func, point);
        return;
    }
    slot.drops.fetch_add(1, Ordering::Relaxed);
    slot.requested.store(false, Ordering::Relaxed);
    module.engine.record_osr_drop();
    if let Some(point) = osr_point(module, func, point) {
        module.record_osr_event(func, point.loop_index, TierEventKind::OsrDropped, None);
    }
}

/// When hot frames last looked at a loop of OSR point `point`'s loop nest, and at a loop of a
/// later nest, of defined function `func` of `module`: the engine's counts of looks at loop
/// OSR then (0 for never).
fn last_looks(module: &ModuleInner, func: u32, point: usize) -> (u64, u64) {
    let slot = module.code_slot(func);
    let (Some(code), Some(slots)) = (slot.translated.get(), slot.native.osr.get()) else {
        return (0, 0);
    };
    let nest = code.osr_points[point].nest;
    let (mut in_nest, mut in_later_nest) = (0, 0);
    for (other, slot) in code.osr_points.iter().zip(slots.iter()) {
        let seen_at = slot.seen_at.load(Ordering::Relaxed);
        if other.nest == nest {
            in_nest = in_nest.max(seen_at);
        } else if other.nest > nest {
            in_later_nest = in_later_nest.max(seen_at);
        }
    }
    (in_nest, in_later_nest)
}

/// The OSR slot of `point` of defined function `func`, made with its siblings on first use.
fn osr_slot(module: &ModuleInner, func: u32, point: usize) -> Option<&OsrSlot> {
    let slot = module.code_slot(func);
    let points = slot.translated.get()?.osr_points.len();
    let slots = slot
        .native
        .osr
        .get_or_init(|| (0..points).map(|_| OsrSlot::default()).collect());
    slots.get(point)
}

/// OSR point `point` of defined function `func`'s interpreter code.
fn osr_point(module: &ModuleInner, func: u32, point: usize) -> Option<&OsrPoint> {
    module
        .code_slot(func)
        .translated
        .get()?
        .osr_points
        .get(point)
}

/// The OSR entry at `point` of defined function `func` of `module`, compiled now on this
/// thread if no thread has compiled it yet; `None` when it cannot be compiled.
fn osr_code(module: &ModuleInner, func: u32, point: usize) -> Option<&NativeCode> {
    let slot = osr_slot(module, func, point)?;
    let osr = osr_point(module, func, point)?;
    slot.code
        .get_or_init(|| compile_recorded(module, func, Some(osr)))
        .as_ref()
}

/// Compiles defined function `func` of `module` (with `osr`, its OSR entry at that point) on
/// this thread, recording the compile events of the tier timeline and the engine's
/// statistics; `None` when the compiler refuses it.
fn compile_recorded(module: &ModuleInner, func: u32, osr: Option<&OsrPoint>) -> Option<NativeCode> {
    let loop_index = osr.map(|point| point.loop_index);
    module.record_event(func, loop_index, TierEventKind::CompileStarted, None);
    let start = Instant::now();
    let arena = &module.engine.code().arena;
    let result = with_compiler(|compiler| compiler.compile(module, func, osr, arena));
    let elapsed = start.elapsed();
    let bytes = result.as_ref().map_or(0, |(_, bytes)| *bytes);
    let engine = &module.engine;
    match osr {
        Some(_) => engine.record_osr_compilation(elapsed, result.is_ok(), bytes),
        None => engine.record_compilation(elapsed, result.is_ok(), bytes),
    }
    let kind = if result.is_ok() {
        TierEventKind::CompileFinished
    } else {
        TierEventKind::CompileFailed
    };
    module.record_event(func, loop_index, kind, Some(elapsed));
    result.ok().map(|(memory, _)| NativeCode { memory })
}

/// The native code of defined function `func` (module index space) of `module` if it has
/// been compiled and published already; never compiles.
pub(crate) fn published_code(module: &ModuleInner, func: u32) -> Option<&NativeCode> {
    let slot = &module.code_slot(func).native;
    if slot.is_published() {
        slot.code.get()?.as_ref()
    } else {
        None
    }
}

/// One function's machine code: its body, in pages of the engine's code arena.
pub(crate) struct NativeCode {
    memory: CodeMemory,
}

impl NativeCode {
    /// The address of the body, the function's native entry.
    fn body(&self) -> *const u8 {
        self.memory.address(0)
    }
}

/// An engine's native code: the arena every function's code is allocated in, and the array
/// trampolines, one per signature, which live as long as the engine.
#[derive(Default)]
pub(crate) struct EngineCode {
    arena: Arc<CodeArena>,
    /// The array trampoline of each signature entered from the host so far, compiled by the
    /// first thread that needs it (others wait for it); `None` when it cannot be compiled.
    trampolines: Mutex<HashMap<SignatureId, Arc<OnceLock<Option<CodeMemory>>>>>,
}

/// The native code of defined function `func` of `module`, compiled now on this thread if
/// this is the first request; `None` when it cannot be compiled (it stays interpreted).
pub(crate) fn native_code(module: &ModuleInner, func: u32) -> Option<&NativeCode> {
    let slot = &module.code_slot(func).native;
    let mut compiled_here = false;
    let code = slot.code.get_or_init(|| {
        compiled_here = true;
        compile_recorded(module, func, None)
    });
    let code = code.as_ref()?;
    if compiled_here {
        publish(module, func, code);
    }
    Some(code)
}

/// Makes `code` the native entry of defined function `func` of `module`: native callers
/// load it at their next call, and interpreted callers leave their quick call path for it.
fn publish(module: &ModuleInner, func: u32, code: &NativeCode) {
    let slot = module.code_slot(func);
    slot.native
        .entry
        .store(code.body().cast_mut(), Ordering::SeqCst);
    if module.engine.config().strategy != Strategy::Interpreter {
        // Interpreted callers of code translated before now must notice (see
        // `interp::compiled` for the other side).
        std::sync::atomic::fence(Ordering::SeqCst);
        if let Some(interpreted) = slot.translated.get() {
            interpreted.forbid_quick_calls();
        }
    }
    module.record_tier_event(func, TierEventKind::SwappedIn, None);
}

/// The array trampoline (see `ArrayEntry` in [`entry`]) to enter defined function `func` of
/// `module` from the host with: the engine's for the function's signature, compiled now on
/// this thread if no thread has compiled it yet. `None` when it cannot be compiled.
pub(crate) fn array_trampoline(module: &ModuleInner, func: u32) -> Option<*const u8> {
    let slot = &module.code_slot(func).native;
    let address = slot.array_entry.get_or_init(|| {
        let signature = module.signatures[module.funcs[func as usize] as usize];
        signature_trampoline(&module.engine, signature, module.func_type(func))
    });
    address.map(|address| address as *const u8)
}

/// The address of `engine`'s array trampoline for signature `signature`, of type `ty`.
fn signature_trampoline(engine: &Engine, signature: SignatureId, ty: &FuncType) -> Option<usize> {
    let code = engine.code();
    let cell = Arc::clone(
        code.trampolines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(signature)
            .or_default(),
    );
    // The map keeps the trampoline, and so its address, for the engine's lifetime.
    let memory = cell.get_or_init(|| {
        let start = Instant::now();
        let result = with_compiler(|compiler| compiler.compile_trampoline(ty, &code.arena));
        let bytes = result.as_ref().map_or(0, |(_, bytes)| *bytes);
        engine.record_trampoline(start.elapsed(), result.is_ok(), bytes);
        result.ok().map(|(memory, _)| memory)
    });
    memory.as_ref().map(|memory| memory.address(0) as usize)
}

/// Runs `compile` with this thread's compiler, made now if it has none. Compiling may run
/// deep in the host stack (a native caller near its stack limit), so the stack is grown
/// first when short; a panic inside Cranelift is a refusal, never the embedder's crash, and
/// the compiler it left behind is not reused.
fn with_compiler<R>(
    compile: impl FnOnce(&mut Compiler) -> Result<R, CompileError>,
) -> Result<R, CompileError> {
    stacker::maybe_grow(256 * 1024, 4 * 1024 * 1024, || {
        COMPILER.with(|compiler| {
            let compiled = catch_unwind(AssertUnwindSafe(|| {
                let mut compiler = compiler.borrow_mut();
                let compiler = compiler
                    .get_or_insert_with(Compiler::new)
                    .as_mut()
                    .map_err(|error| CompileError::Failed(error.clone()))?;
                compile(compiler)
            }));
            compiled.unwrap_or_else(|_| {
                *compiler.borrow_mut() = None;
                Err(CompileError::Failed("the compiler panicked".into()))
            })
        })
    })
}

/// Makes this thread's compiler now, if it has none (a compile thread does so when it starts:
/// setting up the host ISA takes about a millisecond).
pub(crate) fn make_compiler() {
    let _ = with_compiler(|_| Ok(()));
}

thread_local! {
    /// Each thread's compiler, made on its first compilation; an error when the host ISA
    /// cannot be set up.
    static COMPILER: RefCell<Option<Result<Compiler, String>>> = const { RefCell::new(None) };
}

/// The host ISA and the reusable Cranelift contexts.
struct Compiler {
    isa: OwnedTargetIsa,
    context: Context,
    builder_context: FunctionBuilderContext,
}

impl Compiler {
    fn new() -> Result<Compiler, String> {
        if !cfg!(target_arch = "x86_64") {
            return Err("native code is only generated for x86-64 so far".into());
        }
        let mut flags = settings::builder();
        // The IR verifier checks the translator's output: in debug builds (and so in
        // `cargo test`), not in release builds, where it took a tenth of compile time.
        let verify = if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        };
        for (name, value) in [
            ("opt_level", "speed"),
            ("enable_multi_ret_implicit_sret", "true"),
            ("enable_probestack", "false"),
            ("enable_verifier", verify),
        ] {
            flags
                .set(name, value)
                .map_err(|error| format!("Cranelift flag {name}: {error}"))?;
        }
        let isa = cranelift_native::builder()
            .map_err(|error| format!("host ISA: {error}"))?
            .finish(settings::Flags::new(flags))
            .map_err(|error| format!("host ISA: {error}"))?;
        Ok(Compiler {
            isa,
            context: Context::new(),
            builder_context: FunctionBuilderContext::new(),
        })
    }

    fn call_conv(&self) -> CallConv {
        self.isa.default_call_conv()
    }

    /// Compiles `func`'s body into pages of `arena`, or with `osr` its OSR entry at that
    /// point; also returns the machine code's size.
    fn compile(
        &mut self,
        module: &ModuleInner,
        func: u32,
        osr: Option<&OsrPoint>,
        arena: &Arc<CodeArena>,
    ) -> Result<(CodeMemory, usize), CompileError> {
        let ty = module.func_type(func);
        let call_conv = self.call_conv();
        let helpers = entry::Helpers::get();

        self.context.clear();
        self.context.func.signature = match osr {
            Some(_) => array_signature(call_conv),
            None => native_signature(ty, call_conv),
        };
        self.context.func.name = UserFuncName::user(0, func);
        let osr = match osr {
            Some(point) => {
                let code = module.code_slot(func).translated.get().ok_or_else(|| {
                    CompileError::Failed("an OSR entry of an untranslated function".into())
                })?;
                Some((point, &*code.osr_exits))
            }
            None => None,
        };
        let builder = FunctionBuilder::new(&mut self.context.func, &mut self.builder_context);
        let translated =
            FuncTranslator::translate(module, func, builder, &*self.isa, &helpers, osr);
        if let Err(error) = translated {
            // A translation that stopped early did not reach `finalize`, which is what clears
            // the builder context for the next function.
            self.builder_context = FunctionBuilderContext::new();
            return Err(error);
        }
        self.emit(arena)
    }

    /// Compiles the array trampoline of functions of type `ty` into pages of `arena`; also
    /// returns the machine code's size.
    fn compile_trampoline(
        &mut self,
        ty: &FuncType,
        arena: &Arc<CodeArena>,
    ) -> Result<(CodeMemory, usize), CompileError> {
        self.context.clear();
        self.build_array_trampoline(ty);
        self.emit(arena)
    }

    /// Compiles the function in `self.context`, relocated, into pages of `arena`; also
    /// returns the machine code's size.
    fn emit(&mut self, arena: &Arc<CodeArena>) -> Result<(CodeMemory, usize), CompileError> {
        let compiled = self
            .context
            .compile(&*self.isa, &mut ControlPlane::default())
            .map_err(|error| CompileError::Failed(format!("Cranelift: {:?}", error.inner)))?;
        let mut relocations = Vec::new();
        for relocation in compiled.buffer.relocs() {
            let target = match &relocation.target {
                FinalizedRelocTarget::ExternalName(ir::ExternalName::LibCall(libcall)) => {
                    entry::libcall_address(*libcall).ok_or_else(|| {
                        CompileError::Failed(format!("unsupported libcall {libcall:?}"))
                    })?
                }
                FinalizedRelocTarget::Func(_) | FinalizedRelocTarget::ExternalName(_) => {
                    return Err(CompileError::Failed(format!(
                        "unsupported relocation target {:?}",
                        relocation.target
                    )));
                }
            };
            relocations.push(Relocation {
                offset: relocation.offset as usize,
                kind: relocation.kind,
                target,
                addend: relocation.addend,
            });
        }
        let code = compiled.code_buffer();
        let memory = arena
            .allocate(code, &relocations)
            .map_err(CompileError::Failed)?;
        Ok((memory, code.len()))
    }

    /// `(vmctx, body, slots) -> status`: calls `body` with the arguments in `slots` and
    /// stores its results there (see `ArrayEntry` in [`entry`]).
    fn build_array_trampoline(&mut self, ty: &FuncType) {
        let call_conv = self.call_conv();
        let func = &mut self.context.func;
        func.signature = array_signature(call_conv);
        let mut builder = FunctionBuilder::new(func, &mut self.builder_context);
        let block = builder.create_block();
        builder.append_block_params_for_function_params(block);
        builder.switch_to_block(block);
        builder.seal_block(block);
        let [vmctx, body, slots] = builder.block_params(block) else {
            unreachable!("the trampoline has three parameters");
        };
        let (vmctx, body, slots) = (*vmctx, *body, *slots);
        let flags = MemFlagsData::trusted();
        let mut args = vec![vmctx];
        for (i, param) in ty.params().iter().enumerate() {
            let slot = builder.ins().load(types::I64, flags, slots, (i * 8) as i32);
            let value = decode_slot(&mut builder, slot, clif_type(*param));
            args.push(value);
        }
        let signature = builder.import_signature(native_signature(ty, call_conv));
        let call = builder.ins().call_indirect(signature, body, &args);
        let results = builder.inst_results(call).to_vec();
        for (i, (value, result)) in results[1..].iter().zip(ty.results()).enumerate() {
            let slot = encode_slot(&mut builder, *value, clif_type(*result));
            builder.ins().store(flags, slot, slots, (i * 8) as i32);
        }
        builder.ins().return_(&results[..1]);
        builder.finalize(self.isa.frontend_config());
    }
}
