//! The interpreter's executor: threaded dispatch over register-machine code, with frames on
//! an explicit stack (no host recursion for Wasm calls).
//!
//! Every instruction has a handler function; the op code (`Instr`'s `repr(u16)` discriminant)
//! indexes [`HANDLERS`]. In optimised builds (cfg `tierwasm_use_tail_calls`, set by `build.rs`
//! from the optimisation level) each handler ends by calling the next instruction's handler
//! in tail position, which LLVM compiles to an indirect jump (sibling-call optimisation), so
//! the host stack does not grow. Unoptimised builds, where sibling calls are not guaranteed,
//! have a driver loop instead: each handler returns the next state.
//!
//! The hot state is passed from handler to handler in arguments, so it stays in machine
//! registers: the instruction pointer, the frame pointer, memory 0's base and length, the
//! accumulator (the last result written, see `ir`), and a pointer to the cold state ([`Ctx`]:
//! the store, the saved frames, which instance and function is running, and the loop
//! iterations not yet added to the hotness counter).
//! Handlers are not generic over the store's host data: they reach the store through a raw
//! `StoreInner` pointer and a [`HostStore`] trait object for host calls, so one handler table
//! serves every store.
//!
//! Two invariants make the unchecked accesses sound, both established by the translator
//! (`translate.rs`) and by [`enter`]:
//! - every slot operand of a function's code is below its `frame_size`, and `enter` makes the
//!   frame's `frame_size` slots exist before the function runs; `values` is only reallocated
//!   by `enter` and host calls, after which the frame pointer is recomputed;
//! - every path through a function's code ends in `Return`, `Unreachable` or a branch, and
//!   every branch target (an offset from the branch instruction) is inside the code, so the
//!   instruction pointer never leaves it.

// Handlers take the hot state as arguments, eight of them, so that it stays in registers.
#![allow(clippy::too_many_arguments)]

use std::sync::atomic::Ordering;

use crate::error::{Error, Result, TrapCode, WasmBacktrace};
#[cfg(feature = "jit")]
use crate::jit::{Completion, NativeEntry};
use crate::module::CodeSlot;
use crate::runtime::instance::checked_range;
use crate::runtime::store::{FuncKind, PAGE_SIZE, Store, StoreInner};
use crate::runtime::values::Val;
use crate::runtime::vmctx::VmContext;
#[cfg(feature = "jit")]
use crate::tier_log::TierEventKind;

use super::compiled;
use super::ir::{CompiledFunc, FRAME_INIT_CHUNK, Instr, Slot, Target, for_each_numeric};

/// The value slots and saved frames of one activation (one call from the host).
#[derive(Default)]
pub(crate) struct Stack {
    values: Vec<u64>,
    frames: Vec<Frame>,
}

// SAFETY: the raw pointers in saved frames point into modules that the store's instances keep
// alive (see `Current::code`); a `Stack` belongs to one store and moves with it.
unsafe impl Send for Stack {}

/// A caller's frame, saved while its callee runs.
struct Frame {
    instance: u32,
    slot: *const CodeSlot,
    /// Where the caller continues.
    ip: Ip,
    base: usize,
}

/// The function running now, apart from the hot state kept in the handlers' arguments.
struct Current {
    instance: u32,
    /// The running function's code slot.
    slot: *const CodeSlot,
    /// Index in `values` of the frame's first slot.
    base: usize,
    vm: *const VmContext,
    /// The code slots of the running instance's module, indexed by defined-function number.
    module_code: *const CodeSlot,
}

impl Current {
    /// The state for running a function of `instance` of the store.
    fn new(inner: &StoreInner, instance: u32, slot: &CodeSlot, base: usize) -> Self {
        let entity = &inner.instances[instance as usize];
        Current {
            instance,
            slot,
            base,
            vm: entity.vmctx.get(),
            module_code: entity.module.code.as_ptr(),
        }
    }

    fn slot(&self) -> &CodeSlot {
        // SAFETY: `slot` points into the boxed slice of code slots of a module that an
        // instance of the store keeps alive; instances are never removed from a store.
        unsafe { &*self.slot }
    }

    /// Saves the running function as a caller frame that continues at `ip`.
    fn save(&self, ip: Ip) -> Frame {
        Frame {
            instance: self.instance,
            slot: self.slot,
            ip,
            base: self.base,
        }
    }

    /// Switches to running a function of `instance`.
    fn switch_instance(&mut self, inner: &StoreInner, instance: u32) {
        if instance != self.instance {
            let entity = &inner.instances[instance as usize];
            self.instance = instance;
            self.vm = entity.vmctx.get();
            self.module_code = entity.module.code.as_ptr();
        }
    }

    fn vm(&self) -> &VmContext {
        // SAFETY: `vm` is the `VmCell` of an instance of the store, valid while it lives.
        unsafe { &*self.vm }
    }

    /// Memory 0 as it is now; read again after anything that may have grown it.
    fn memory(&self) -> LinearMemory {
        let memory = self.vm().memory;
        if memory.is_null() {
            LinearMemory {
                base: std::ptr::null_mut(),
                len: 0,
            }
        } else {
            // SAFETY: a non-null `memory` points to the `VmMemory` cell of a live memory.
            let memory = unsafe { &*memory };
            LinearMemory {
                base: memory.base,
                len: memory.len,
            }
        }
    }

    fn global(&self, index: u32) -> *mut u64 {
        // SAFETY: the validator checked `index` against the module's globals, and `globals`
        // has one pointer per global, each to a live cell of the store.
        unsafe { *self.vm().globals.add(index as usize) }
    }
}

/// Memory 0's bytes, as the running code sees them.
#[derive(Clone, Copy)]
struct LinearMemory {
    base: *mut u8,
    len: u64,
}

impl LinearMemory {
    /// The address of `len` bytes at `addr + offset`, or a trap when out of bounds.
    #[inline(always)]
    fn address(self, addr: u64, offset: u32, len: u64) -> Result<*mut u8, TrapCode> {
        let start = (addr as u32) as u64 + offset as u64;
        if start + len > self.len {
            return Err(TrapCode::MemoryOutOfBounds);
        }
        // SAFETY: `start + len <= self.len`, the length of the buffer at `base`.
        Ok(unsafe { self.base.add(start as usize) })
    }

    #[inline(always)]
    fn load<const N: usize>(self, addr: u64, offset: u32) -> Result<[u8; N], TrapCode> {
        let ptr = self.address(addr, offset, N as u64)?;
        // SAFETY: `address` checked that `N` bytes at `ptr` are inside the memory.
        Ok(unsafe { std::ptr::read_unaligned(ptr as *const [u8; N]) })
    }

    #[inline(always)]
    fn store<const N: usize>(self, addr: u64, offset: u32, bytes: [u8; N]) -> Result<(), TrapCode> {
        let ptr = self.address(addr, offset, N as u64)?;
        // SAFETY: as in `load`; the memory is not otherwise borrowed while Wasm runs.
        unsafe { std::ptr::write_unaligned(ptr as *mut [u8; N], bytes) };
        Ok(())
    }
}

/// The frame pointer of the frame starting at `values[base]`. (Computed without a bounds
/// check, which would put a panic path, and with it a stack frame, into the handlers that
/// call and return: frames are inside `values`, see the module documentation.)
#[inline(always)]
fn frame_pointer(values: &mut [u64], base: usize) -> *mut u64 {
    debug_assert!(base <= values.len());
    values.as_mut_ptr().wrapping_add(base)
}

/// Copies `count` slots from `src` to `dst` of the frame at `fp`, in ascending order.
///
/// # Safety
/// Both ranges must lie inside the frame (see the module documentation).
#[inline(always)]
unsafe fn copy_slots(fp: *mut u64, dst: Slot, src: Slot, count: u32) {
    // SAFETY: the caller guarantees both ranges are inside the frame; `copy` allows overlap.
    unsafe { std::ptr::copy(fp.add(src as usize), fp.add(dst as usize), count as usize) }
}

/// Host stack kept free below any new Wasm activation: enough for the interpreter's own
/// frames of one activation and a host function's.
const HOST_STACK_RESERVE: usize = 256 * 1024;

/// Calls store function `func` with `slots` holding the arguments; on return they hold the
/// results. `slots` has room for both.
pub(crate) fn invoke<T>(store: &mut Store<T>, func: u32, slots: &mut [u64]) -> Result<()> {
    // Host functions may call back into Wasm: each such activation uses host stack, so the
    // call-depth limit alone cannot keep the host stack from overflowing.
    if stacker::remaining_stack().is_some_and(|left| left < HOST_STACK_RESERVE) {
        return Err(Error::trap(TrapCode::StackOverflow));
    }
    let (instance, index) = match store.inner.funcs[func as usize].kind {
        FuncKind::Wasm {
            instance, index, ..
        } => (instance, index),
        FuncKind::Host { .. } => {
            return call_host(store, func, None, slots);
        }
    };
    let mut stack = store.inner.spare_stacks.pop().unwrap_or_default();
    // The values keep their length from earlier activations, so that the frame need not
    // grow (and zero) them again: a frame initialises its locals when it is entered and
    // writes its temporaries before it reads them, so it never reads a stale slot.
    if stack.values.len() < slots.len() {
        stack.values.resize(slots.len(), 0);
    }
    stack.values[..slots.len()].copy_from_slice(slots);
    stack.frames.clear();
    let depth_at_entry = store.inner.call_depth;
    let result = execute(store, &mut stack, instance, index);
    store.inner.call_depth = depth_at_entry;
    let count = slots.len();
    slots.copy_from_slice(&stack.values[..count]);
    store.inner.spare_stacks.push(stack);
    result
}

/// How much a call from native code into the interpreter adds to the callee's hotness,
/// against 1 for a call from interpreted code: it costs about four of those (measured:
/// 33 ns against 8 ns for a loop calling a small function), so that the callee of native
/// code tiers up that much sooner.
#[cfg(feature = "jit")]
const NATIVE_CALLER_HOTNESS: u32 = 4;

/// As [`invoke`], for a call from native code: counts [`NATIVE_CALLER_HOTNESS`] toward the
/// callee's tier-up.
#[cfg(feature = "jit")]
pub(crate) fn invoke_from_native<T>(
    store: &mut Store<T>,
    func: u32,
    slots: &mut [u64],
) -> Result<()> {
    if let FuncKind::Wasm {
        instance, index, ..
    } = store.inner.funcs[func as usize].kind
    {
        let module = &store.inner.instances[instance as usize].module;
        // The entry itself counts the last one.
        module
            .code_slot(index)
            .add_hotness(NATIVE_CALLER_HOTNESS - 1);
    }
    invoke(store, func, slots)
}

/// Calls a host function with arguments and results in `slots`.
pub(crate) fn call_host<T>(
    store: &mut Store<T>,
    func: u32,
    caller: Option<u32>,
    slots: &mut [u64],
) -> Result<()> {
    let entity = &store.inner.funcs[func as usize];
    let FuncKind::Host { index } = entity.kind else {
        unreachable!("call_host is only called for host functions");
    };
    let ty = entity.ty.clone();
    let host = store.host_funcs[index as usize].clone();
    let params: Vec<Val> = ty
        .params()
        .iter()
        .zip(slots.iter())
        .map(|(ty, slot)| store.inner.slot_to_val(*slot, *ty))
        .collect();
    let mut results: Vec<Val> = ty
        .results()
        .iter()
        .map(|ty| Val::default_for(*ty))
        .collect();
    host(crate::Caller::new(store, caller), &params, &mut results)
        .map_err(Error::returned_by_host)?;
    for ((slot, result), ty) in slots.iter_mut().zip(&results).zip(ty.results()) {
        store.inner.check_val(result, *ty, "host function result")?;
        *slot = store.inner.val_to_slot(result)?;
    }
    Ok(())
}

/// Makes room for the frame of the function in code slot `slot` (of `instance`'s module)
/// at `values[base]`, and initialises its locals and constants; translates the function on
/// its first call. Returns its code. (The caller checks the call depth.)
#[inline(always)]
fn enter<'m>(
    inner: &StoreInner,
    values: &mut Vec<u64>,
    instance: u32,
    slot: &'m CodeSlot,
    base: usize,
) -> &'m CompiledFunc {
    let code = match slot.translated.get() {
        Some(code) => code,
        None => translate_on_first_call(inner, instance, slot),
    };
    slot.add_hotness(1);
    let end = base + code.frame_size as usize;
    if values.len() < end {
        grow_values(values, end);
    }
    let init = base + code.num_params as usize;
    let init = &mut values[init..init + code.frame_init.len()];
    if init.len() <= 4 {
        // Most frames are small: a few moves beat a call to `memcpy`.
        for (slot, value) in init.iter_mut().zip(&code.frame_init) {
            *slot = *value;
        }
    } else {
        init.copy_from_slice(&code.frame_init);
    }
    code
}

#[cold]
#[inline(never)]
fn grow_values(values: &mut Vec<u64>, len: usize) {
    values.resize(len.max(2 * values.len()), 0);
}

#[cold]
#[inline(never)]
fn translate_on_first_call<'m>(
    inner: &StoreInner,
    instance: u32,
    slot: &'m CodeSlot,
) -> &'m CompiledFunc {
    let module = &inner.instances[instance as usize].module;
    compiled(module, module.func_index(slot));
    slot.translated.get().expect("just translated")
}

/// Runs defined function `func` of `instance`, whose arguments are at the start of
/// `stack.values`, until it returns.
fn execute<T>(store: &mut Store<T>, stack: &mut Stack, instance: u32, func: u32) -> Result<()> {
    let slot: *const CodeSlot = store.inner.instances[instance as usize]
        .module
        .code_slot(func);
    // SAFETY: the slot belongs to the module of an instance of the store, which keeps it
    // alive; instances are never removed from a store.
    let slot = unsafe { &*slot };
    // The store's call depth counts this activation's outermost function; its callees are
    // counted by the saved frames (see `Ctx::frame_limit`).
    if store.inner.call_depth >= store.inner.max_call_depth {
        return Err(Error::trap(TrapCode::StackOverflow));
    }
    store.inner.call_depth += 1;
    let frame_limit = store.inner.max_call_depth - store.inner.call_depth;
    let code = enter(&store.inner, &mut stack.values, instance, slot, 0);
    #[cfg(feature = "jit")]
    tier_up_if_due(&store.inner, instance, slot);
    let ip = code.code.as_ptr();
    let current = Current::new(&store.inner, instance, slot, 0);
    let (outcome, current) = {
        let host: *mut (dyn HostStore + '_) = store as &mut dyn HostStore;
        // SAFETY: `host` was just made from a unique reference to the store.
        let inner = unsafe { (*host).inner_ptr() };
        let mut ctx = Ctx {
            inner,
            host,
            values: std::mem::take(&mut stack.values),
            frames: std::mem::take(&mut stack.frames),
            current,
            frame_limit,
            loop_budget: LOOP_BUDGET,
            loop_budget_flushed: LOOP_BUDGET,
            #[cfg(feature = "jit")]
            osr_check_interval: crate::jit::osr_check_interval(store.inner.engine.config()),
            #[cfg(feature = "jit")]
            osr_quick_looks: 0,
            trap: None,
        };
        #[cfg(feature = "jit")]
        {
            // Counting from the interval rather than from the largest budget: the first look
            // comes after one interval.
            let shift = LOOP_BUDGET - ctx.osr_check_interval;
            ctx.loop_budget -= shift;
            ctx.loop_budget_flushed -= shift;
        }
        run(&mut ctx, ip);
        stack.values = ctx.values;
        stack.frames = ctx.frames;
        (ctx.trap, ctx.current)
    };
    match outcome {
        None => Ok(()),
        Some(Trap::Code(code)) => Err(Error::trap_with_backtrace(
            code,
            backtrace(&store.inner, stack, Some(&current)),
        )),
        Some(Trap::Error(error)) => {
            Err(error.with_outer_frames(|| backtrace(&store.inner, stack, Some(&current))))
        }
        #[cfg(feature = "jit")]
        Some(Trap::Osr(error)) => {
            Err(error.with_outer_frames(|| backtrace(&store.inner, stack, None)))
        }
    }
}

/// The backtrace of the running function `current` (when it still counts: not when native
/// code took its frame over) and of its callers.
fn backtrace(inner: &StoreInner, stack: &Stack, current: Option<&Current>) -> WasmBacktrace {
    let frame = |instance: u32, slot: *const CodeSlot| {
        let module = &inner.instances[instance as usize].module;
        // SAFETY: frames hold code slots of live modules (see `Current::slot`).
        inner.frame_info(instance, module.func_index(unsafe { &*slot }))
    };
    let current = current.map(|current| frame(current.instance, current.slot));
    let callers = stack.frames.iter().rev().map(|f| frame(f.instance, f.slot));
    WasmBacktrace::new(current.into_iter().chain(callers).collect())
}

/// Why execution stopped early.
enum Trap {
    Code(TrapCode),
    /// An error from a host function (or a trap it passed on, with its own backtrace), or a
    /// trap in native code (with the native frames).
    Error(Error),
    /// A trap or error in the native code that took the running frame over (loop OSR):
    /// its frames already include the running function.
    #[cfg(feature = "jit")]
    Osr(Error),
}

impl From<TrapCode> for Trap {
    fn from(code: TrapCode) -> Self {
        Trap::Code(code)
    }
}

/// What the handlers need of a `Store<T>` beyond its [`StoreInner`]. It is a trait object, so
/// the handlers are not generic over `T`: one handler table serves every store.
trait HostStore {
    /// The store's non-generic part.
    fn inner_ptr(&mut self) -> *mut StoreInner;
    /// Calls host function `func` (a store index) with arguments and results in `slots`.
    fn call_host(&mut self, func: u32, caller: Option<u32>, slots: &mut [u64]) -> Result<()>;
    /// Runs a function's native code with arguments and results in `slots`, or an OSR entry
    /// on a frame's slots.
    #[cfg(feature = "jit")]
    fn call_native(&mut self, entry: NativeEntry, slots: &mut [u64]) -> Result<Completion>;
}

impl<T> HostStore for Store<T> {
    fn inner_ptr(&mut self) -> *mut StoreInner {
        &raw mut self.inner
    }

    fn call_host(&mut self, func: u32, caller: Option<u32>, slots: &mut [u64]) -> Result<()> {
        call_host(self, func, caller, slots)
    }

    #[cfg(feature = "jit")]
    fn call_native(&mut self, entry: NativeEntry, slots: &mut [u64]) -> Result<Completion> {
        crate::jit::invoke(self, entry, slots)
    }
}

/// The cold state of an activation, reached by the handlers through one pointer argument.
struct Ctx<'a> {
    /// The store's `StoreInner`. Derived from `host`, and derived again after every use of
    /// `host` (a host function gets the whole store), so the two are never used interleaved.
    inner: *mut StoreInner,
    /// The whole store, for host calls.
    host: *mut (dyn HostStore + 'a),
    /// The activation's value slots and saved frames (its [`Stack`]'s, held here while it
    /// runs, so that the handlers reach them with one load fewer).
    values: Vec<u64>,
    frames: Vec<Frame>,
    current: Current,
    /// How many frames `frames` may hold: the call-depth limit less the depth at which the
    /// activation started.
    frame_limit: usize,
    /// Counts loop iterations (backward jumps, each weighted by the loop's length in
    /// instructions) down: a backward jump that takes it below zero looks at whether the
    /// running function's loop should continue in native code (loop OSR), and adds
    /// `osr_check_interval`. A countdown, so that the look costs the jump one conditional
    /// branch on the subtraction's sign.
    loop_budget: i64,
    /// `loop_budget` when the running function's hotness counter was last brought up to date:
    /// the iterations since belong to it, and are added when it calls or returns.
    loop_budget_flushed: i64,
    /// The loop iterations between two looks at loop OSR (so large that none comes when the
    /// strategy does not tier up).
    #[cfg(feature = "jit")]
    osr_check_interval: i64,
    /// While above zero, every backward jump looks at loop OSR, for an entry that is ready
    /// at a loop around the one that asked (`jit::OsrLook::OuterLoopReady`); counts those
    /// looks down.
    #[cfg(feature = "jit")]
    osr_quick_looks: u32,
    /// Why execution stopped, when it stopped early.
    trap: Option<Trap>,
}

impl Ctx<'_> {
    /// The frame pointer of the running function.
    #[inline(always)]
    fn fp(&mut self) -> *mut u64 {
        frame_pointer(&mut self.values, self.current.base)
    }
}

/// The instruction pointer: the instruction being executed.
type Ip = *const Op;

/// An instruction as the executor runs it: with its handler, so that dispatch is one load
/// and an indirect jump (direct threading). Aligned to its size, 32 bytes, so that no
/// instruction straddles two cache lines.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
pub(crate) struct Op {
    handler: Handler,
    instr: Instr,
}

impl Op {
    /// The executable form of `instr`.
    pub fn new(instr: Instr) -> Self {
        Op {
            handler: HANDLERS[op_code(&instr)],
            instr,
        }
    }

    /// The instruction. (There is no mutable access that could change its variant and so
    /// leave the handler behind: the changes below keep the variant.)
    pub fn instr(&self) -> &Instr {
        &self.instr
    }

    /// Points a branch instruction at `target`.
    pub fn set_target(&mut self, target: Target) {
        self.instr.set_target(target);
    }

    /// Makes an instruction that writes a result slot and leaves the value in the
    /// accumulator ([`Instr::acc_result`]) leave it in the accumulator only: for when the
    /// next instruction reads it from there and nothing reads the slot before it is written
    /// again.
    pub fn keep_result_in_acc(&mut self) {
        debug_assert!(self.instr.acc_result().is_some());
        self.handler = ACC_ONLY_HANDLERS[op_code(&self.instr)];
    }

    /// Undoes [`Op::keep_result_in_acc`]: the instruction writes its result slot.
    pub fn store_result(&mut self) {
        self.handler = HANDLERS[op_code(&self.instr)];
    }

    /// Makes an instruction that leaves its result in the accumulator write it to `slot`.
    pub fn redirect_result(&mut self, slot: Slot) {
        *self
            .instr
            .acc_result_mut()
            .expect("the instruction writes a result") = slot;
    }
}

const _: () = assert!(std::mem::size_of::<Op>() == 32);

/// Where `Ctx::loop_budget` starts: far more iterations than an activation can run.
const LOOP_BUDGET: i64 = i64::MAX / 2;

/// The op code of `instr`: its discriminant, which indexes the handler tables.
fn op_code(instr: &Instr) -> usize {
    // SAFETY: `Instr` is `repr(u16)`: its first two bytes are the discriminant.
    unsafe { *std::ptr::from_ref(instr).cast::<u16>() as usize }
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.instr.fmt(f)
    }
}

/// An instruction handler. The hot state is in its arguments, which stay in registers
/// (six integer and two float arguments, all passed in registers on x86-64 SysV and
/// AArch64): the instruction, the frame pointer, memory 0's base and length, the cold state,
/// the accumulator, and the float accumulators.
type Handler = fn(
    ip: Ip,
    fp: *mut u64,
    mem_base: *mut u8,
    mem_len: u64,
    ctx: &mut Ctx<'_>,
    acc: u64,
    f32acc: f32,
    f64acc: f64,
) -> Done;

/// The handler of the instruction at `ip`.
#[inline(always)]
fn handler(ip: Ip) -> Handler {
    // SAFETY: `ip` points to an instruction of the running function (module documentation).
    unsafe { (*ip).handler }
}

/// Threaded dispatch: every handler ends by calling the next instruction's handler in tail
/// position, which optimised builds compile to a jump (sibling-call optimisation).
#[cfg(tierwasm_use_tail_calls)]
mod dispatch {
    use super::{Ctx, Ip, LinearMemory, handler};

    /// What a handler returns: nothing but the fact that execution has stopped.
    pub struct Done(());

    /// Continues with the instruction at `ip`.
    #[inline(always)]
    pub fn dispatch(
        ip: Ip,
        fp: *mut u64,
        memory: LinearMemory,
        ctx: &mut Ctx<'_>,
        acc: u64,
        f32acc: f32,
        f64acc: f64,
    ) -> Done {
        handler(ip)(ip, fp, memory.base, memory.len, ctx, acc, f32acc, f64acc)
    }

    /// Stops execution (the outermost function returned, or `ctx.trap` says why).
    #[inline(always)]
    pub fn exit() -> Done {
        Done(())
    }

    /// Runs from `ip` until the outermost function returns or a trap.
    pub fn run(ctx: &mut Ctx<'_>, ip: Ip, fp: *mut u64, memory: LinearMemory) {
        dispatch(ip, fp, memory, ctx, 0, 0.0, 0.0);
    }
}

/// Loop dispatch, for unoptimised builds (which do not guarantee sibling calls): every
/// handler returns the next state to a driver loop.
#[cfg(not(tierwasm_use_tail_calls))]
mod dispatch {
    use std::ops::ControlFlow;

    use super::{Ctx, Ip, LinearMemory, handler};

    /// The hot state handed from one handler to the next.
    pub struct State {
        ip: Ip,
        fp: *mut u64,
        memory: LinearMemory,
        acc: u64,
        f32acc: f32,
        f64acc: f64,
    }

    /// What a handler returns: the next state, or that execution has stopped.
    pub type Done = ControlFlow<(), State>;

    /// Continues with the instruction at `ip`.
    #[inline(always)]
    pub fn dispatch(
        ip: Ip,
        fp: *mut u64,
        memory: LinearMemory,
        _ctx: &mut Ctx<'_>,
        acc: u64,
        f32acc: f32,
        f64acc: f64,
    ) -> Done {
        ControlFlow::Continue(State {
            ip,
            fp,
            memory,
            acc,
            f32acc,
            f64acc,
        })
    }

    /// Stops execution (the outermost function returned, or `ctx.trap` says why).
    #[inline(always)]
    pub fn exit() -> Done {
        ControlFlow::Break(())
    }

    /// Runs from `ip` until the outermost function returns or a trap.
    pub fn run(ctx: &mut Ctx<'_>, ip: Ip, fp: *mut u64, memory: LinearMemory) {
        let mut state = State {
            ip,
            fp,
            memory,
            acc: 0,
            f32acc: 0.0,
            f64acc: 0.0,
        };
        while let ControlFlow::Continue(next) = handler(state.ip)(
            state.ip,
            state.fp,
            state.memory.base,
            state.memory.len,
            ctx,
            state.acc,
            state.f32acc,
            state.f64acc,
        ) {
            state = next;
        }
    }
}

use dispatch::{Done, dispatch, exit};

/// Runs the function `ctx.current` describes from `ip`, until it returns or traps (then
/// `ctx.trap` says why).
fn run(ctx: &mut Ctx<'_>, ip: Ip) {
    let fp = ctx.fp();
    let memory = ctx.current.memory();
    dispatch::run(ctx, ip, fp, memory);
}

/// Records the trap that stops execution and stops it. (The code is passed by value, in a
/// register, so that the handlers' trap paths need no stack frame.)
#[cold]
#[inline(never)]
fn trap_code(ctx: &mut Ctx<'_>, code: TrapCode) -> Done {
    ctx.trap = Some(Trap::Code(code));
    exit()
}

/// Builds the handler table from the instruction lists: entry `n` is the handler of the
/// variant with discriminant `n`, the handler functions being named after the variants.
macro_rules! define_handler_table {
    (
        binary: [$($binary:ident($binary_a:ident, $binary_b:ident))*],
        unary: [$($unary:ident($unary_a:ident))*],
        binary_imm: [$($binary_imm:ident($binary_imm_a:ident))*],
        branch_cmp: [$($branch_cmp:ident($branch_cmp_a:ident, $branch_cmp_b:ident))*],
        branch_cmp_imm: [$($branch_cmp_imm:ident($branch_cmp_imm_a:ident))*],
        other: {
            $( $(#[$meta:meta])* $other:ident $({ $($field:ident : $fty:ty),* $(,)? })? ),* $(,)?
        }
    ) => {
        define_handler_table! {
            /// The handler of each op code.
            HANDLERS = stored;
            $($binary $binary_a $binary_b)* $($unary $unary_a)* $($binary_imm $binary_imm_a)*
            $($branch_cmp $branch_cmp_a $branch_cmp_b)* $($branch_cmp_imm $branch_cmp_imm_a)*
            $($other)*
        }
        define_handler_table! {
            /// The handler of each op code that leaves the result in the accumulator only.
            ACC_ONLY_HANDLERS = acc_only;
            $($binary $binary_a $binary_b)* $($unary $unary_a)* $($binary_imm $binary_imm_a)*
            $($branch_cmp $branch_cmp_a $branch_cmp_b)* $($branch_cmp_imm $branch_cmp_imm_a)*
            $($other)*
        }
    };
    ($(#[$doc:meta])* $table:ident = $module:ident; $($name:ident)*) => {
        $(#[$doc])*
        static $table: [Handler; Instr::COUNT] = [$(handlers::$module::$name,)*];
    };
}

for_each_numeric!(define_handler_table);

/// Defines one handler function per instruction. Each reads its operands from the
/// instruction at `ip`, runs its body with the hot state in mutable locals (`next` is where
/// execution continues, initially the following instruction), and dispatches to `next`.
///
/// A `wrapped` body may use `?` and `return Err(..)` with a [`TrapCode`]; a `raw` body stops
/// execution itself (`return trap_code(..)` or `return exit()`) and may dispatch itself
/// (`jump!`). The state's names are passed in
/// so that the bodies and the `prelude` (macros for them) can refer to them.
macro_rules! handlers {
    (@unbrace { $($tokens:tt)* }) => { $($tokens)* };
    // `reg!(operand)`: an operand's value. It is read from the frame slot the operand names,
    // except for `$acc_operand` (if any), which the accumulator holds. `f32_reg!` and
    // `f64_reg!` read a float operand, `$acc_operand` from the float accumulator.
    (@reg $d:tt $fp:ident $acc:ident $f32acc:ident $f64acc:ident [$($acc_operand:ident)?]) => {
        macro_rules! reg {
            $(
                ($acc_operand) => {
                    $acc
                };
            )?
            // SAFETY: slot operands are inside the frame at `fp`, see the module documentation.
            ($d slot:tt) => {
                unsafe { *$fp.add($d slot as usize) }
            };
        }
        macro_rules! f32_reg {
            $(
                ($acc_operand) => {
                    $f32acc
                };
            )?
            ($d slot:tt) => {
                f32::from_bits(reg!($d slot) as u32)
            };
        }
        macro_rules! f64_reg {
            $(
                ($acc_operand) => {
                    $f64acc
                };
            )?
            ($d slot:tt) => {
                f64::from_bits(reg!($d slot))
            };
        }
    };
    // A wrapped body may use `?` with a `TrapCode` (the closure is called once, and inlined).
    (@body wrapped $ctx:ident $inner:ident $body:expr) => {
        // SAFETY: `ctx.inner` is valid (see `Ctx`); a wrapped body never calls the host.
        let $inner: &mut StoreInner = unsafe { &mut *$ctx.inner };
        #[allow(clippy::redundant_closure_call)]
        let result: Result<(), TrapCode> = (|| {
            $body;
            Ok(())
        })();
        if let Err(code) = result {
            return trap_code($ctx, code);
        }
    };
    (@body raw $ctx:ident $inner:ident $body:expr) => {
        $body;
    };
    // `write_result!(slot, value)`: how `set!` writes the result slot. An `acc_only` handler
    // leaves the result in the accumulator alone (see `Op::keep_result_in_acc`).
    (@write_result stored $d:tt $fp:ident) => {
        macro_rules! write_result {
            // SAFETY: slot operands are inside the frame at `fp`, see the module documentation.
            ($d slot:tt, $d value:expr) => {
                unsafe { *$fp.add($d slot as usize) = $d value }
            };
        }
    };
    (@write_result acc_only $d:tt $fp:ident) => {
        macro_rules! write_result {
            ($d slot:tt, $d value:expr) => {
                ()
            };
        }
    };
    (
        @handler $store:ident $kind:ident $d:tt
        ($ip:ident, $fp:ident, $memory:ident, $ctx:ident, $acc:ident, $f32acc:ident, $f64acc:ident, $next:ident, $inner:ident)
        $prelude:tt $name:ident $fields:tt $acc_operand:tt $body:expr
    ) => {
        #[allow(
            non_snake_case,
            unused_mut,
            unused_variables,
            unused_macros,
            unused_assignments,
            unreachable_code
        )]
        pub(in crate::interp::exec) fn $name(
            $ip: Ip,
            $fp: *mut u64,
            mem_base: *mut u8,
            mem_len: u64,
            $ctx: &mut Ctx<'_>,
            $acc: u64,
            $f32acc: f32,
            $f64acc: f64,
        ) -> Done {
            // SAFETY: `ip` points to an instruction of the running function (module
            // documentation), and this handler is only reached through the table entry of
            // its own variant's op code, so the instruction is this variant.
            let &Instr::$name $fields = (unsafe { &(*$ip).instr }) else {
                // SAFETY: as just said, the instruction is this variant.
                unsafe { std::hint::unreachable_unchecked() }
            };
            let mut $fp = $fp;
            let mut $acc = $acc;
            let mut $f32acc = $f32acc;
            let mut $f64acc = $f64acc;
            let mut $memory = LinearMemory { base: mem_base, len: mem_len };
            // SAFETY: the code ends in a terminator, so either another instruction follows
            // or this one never continues at `next`, which is then one past the end.
            let mut $next = unsafe { $ip.add(1) };
            handlers!(@reg $d $fp $acc $f32acc $f64acc $acc_operand);
            handlers!(@write_result $store $d $fp);
            handlers!(@unbrace $prelude);
            handlers!(@body $kind $ctx $inner $body);
            dispatch($next, $fp, $memory, $ctx, $acc, $f32acc, $f64acc)
        }
    };
    (
        $d:tt;
        state $state:tt;
        prelude $prelude:tt
        wrapped $wrapped:tt
        raw $raw:tt
    ) => {
        /// The handlers that write their result slot.
        pub(super) mod stored {
            use super::*;
            handlers!(@handlers stored $d; state $state; prelude $prelude wrapped $wrapped raw $raw);
        }
        /// The handlers that leave their result in the accumulator only.
        pub(super) mod acc_only {
            use super::*;
            handlers!(
                @handlers acc_only $d; state $state; prelude $prelude wrapped $wrapped raw $raw
            );
        }
    };
    (
        @handlers $store:ident $d:tt; state $state:tt; prelude $prelude:tt
        wrapped {
            $(
                $name:ident $fields:tt $(acc($($acc_operand:ident => $acc_name:ident),* $(,)?))?
                    => $body:expr
            ),* $(,)?
        }
        raw {
            $(
                $raw_name:ident $raw_fields:tt
                    $(acc($($raw_acc_operand:ident => $raw_acc_name:ident),* $(,)?))?
                    => $raw_body:expr
            ),* $(,)?
        }
    ) => {
        $(
            handlers!(@handler $store wrapped $d $state $prelude $name $fields [] $body);
            $($(
                handlers!(
                    @handler $store wrapped $d $state $prelude $acc_name $fields [$acc_operand]
                    $body
                );
            )*)?
        )*
        $(
            handlers!(@handler $store raw $d $state $prelude $raw_name $raw_fields [] $raw_body);
            $($(
                handlers!(
                    @handler $store raw $d $state $prelude $raw_acc_name $raw_fields
                    [$raw_acc_operand] $raw_body
                );
            )*)?
        )*
    };
}

/// The instruction handlers, one per `Instr` variant and named after it.
mod handlers {
    use super::*;

    handlers! {
        $;
        state(ip, fp, memory, ctx, acc, f32acc, f64acc, next, inner);
        prelude {
            /// Leaves a result in the accumulator and writes it to its slot (unless the
            /// handler is `acc_only`).
            macro_rules! set {
                ($slot:tt, $value:expr) => {{
                    let value: u64 = $value;
                    acc = value;
                    write_result!($slot, value)
                }};
            }
            /// `set!` for a float result, which also goes to the float accumulator.
            macro_rules! set_f32 {
                ($slot:tt, $value:expr) => {{
                    let value: f32 = $value;
                    f32acc = value;
                    set!($slot, value.to_bits() as u64)
                }};
            }
            macro_rules! set_f64 {
                ($slot:tt, $value:expr) => {{
                    let value: f64 = $value;
                    f64acc = value;
                    set!($slot, value.to_bits())
                }};
            }
            /// The address `a + (b << shift)` of the fused accesses: only its low 32 bits
            /// count, so it wraps as `i32.shl` and `i32.add` do.
            macro_rules! indexed {
                ($a:tt, $b:tt, $shift:expr) => {
                    reg!($a).wrapping_add(reg!($b) << $shift)
                };
            }
            /// A load of a `$ty` from memory 0, sign- or zero-extended through `$wide`.
            macro_rules! load {
                ($dst:tt, $addr:expr, $offset:expr, $ty:ident as $wide:ident) => {{
                    let value = <$ty>::from_le_bytes(memory.load($addr, $offset)?);
                    set!($dst, value as $wide as u64);
                }};
            }
            /// Continues at the instruction `$offset` instructions from this one, counting a
            /// jump that is not forward as a loop iteration. (Only in `raw` handlers: it
            /// dispatches itself, so that a taken branch has its own indirect jump.)
            macro_rules! jump {
                ($offset:expr) => {{
                    let offset: i32 = $offset;
                    // SAFETY: branch targets are inside the running function's code.
                    let target = unsafe { ip.offset(offset as isize) };
                    if offset <= 0 {
                        // Weighted by the loop's length: the work of one iteration.
                        ctx.loop_budget = ctx.loop_budget.wrapping_sub((1 - offset) as i64);
                        #[cfg(feature = "jit")]
                        if ctx.loop_budget < 0 {
                            return hot_loop(target, fp, memory.base, memory.len, ctx, acc, f32acc, f64acc);
                        }
                    }
                    return dispatch(target, fp, memory, ctx, acc, f32acc, f64acc);
                }};
            }
            /// A fused compare-and-branch on two slots, read as `$ty` (`i32`/`u32` from the
            /// low half, `i64`/`u64` from all of it).
            macro_rules! br_if {
                ($a:tt, $b:tt, $target:tt, $op:tt, u32) => {
                    if (reg!($a) as u32) $op (reg!($b) as u32) {
                        jump!($target);
                    }
                };
                ($a:tt, $b:tt, $target:tt, $op:tt, i32) => {
                    if (reg!($a) as u32 as i32) $op (reg!($b) as u32 as i32) {
                        jump!($target);
                    }
                };
                ($a:tt, $b:tt, $target:tt, $op:tt, $ty:ty) => {
                    if (reg!($a) as $ty) $op (reg!($b) as $ty) {
                        jump!($target);
                    }
                };
            }
            /// `dst = a + addend` (`i32`), then a jump when `dst <op> b` holds, both read as
            /// `$ty`.
            macro_rules! add_br_if {
                ($dst:tt, $a:tt, $addend:expr, $b:tt, $target:tt, $op:tt, $ty:ident) => {{
                    let sum = (reg!($a) as u32).wrapping_add($addend);
                    set!($dst, sum as u64);
                    if (sum as $ty) $op (reg!($b) as u32 as $ty) {
                        jump!($target);
                    }
                }};
            }
            /// A fused `i32` compare-and-branch on a slot and a constant.
            macro_rules! br_if_imm {
                ($a:tt, $imm:expr, $target:tt, $op:tt, $ty:ty) => {
                    if (reg!($a) as u32 as $ty) $op ($imm as u32 as $ty) {
                        jump!($target);
                    }
                };
            }
            macro_rules! i32_bin {
                ($dst:tt, $a:tt, $b:tt, |$x:ident, $y:ident| $body:expr) => {{
                    let $x = reg!($a) as u32 as i32;
                    let $y = reg!($b) as u32 as i32;
                    set!($dst, ($body) as u32 as u64);
                }};
            }
            macro_rules! i64_bin {
                ($dst:tt, $a:tt, $b:tt, |$x:ident, $y:ident| $body:expr) => {{
                    let $x = reg!($a) as i64;
                    let $y = reg!($b) as i64;
                    set!($dst, ($body) as u64);
                }};
            }
            macro_rules! f32_bin {
                ($dst:tt, $a:tt, $b:tt, |$x:ident, $y:ident| $body:expr) => {{
                    let $x = f32_reg!($a);
                    let $y = f32_reg!($b);
                    set_f32!($dst, $body);
                }};
            }
            macro_rules! f64_bin {
                ($dst:tt, $a:tt, $b:tt, |$x:ident, $y:ident| $body:expr) => {{
                    let $x = f64_reg!($a);
                    let $y = f64_reg!($b);
                    set_f64!($dst, $body);
                }};
            }
            macro_rules! f32_cmp {
                ($dst:tt, $a:tt, $b:tt, $op:tt) => {{
                    let x = f32_reg!($a);
                    let y = f32_reg!($b);
                    set!($dst, (x $op y) as u64);
                }};
            }
            macro_rules! f64_cmp {
                ($dst:tt, $a:tt, $b:tt, $op:tt) => {{
                    let x = f64_reg!($a);
                    let y = f64_reg!($b);
                    set!($dst, (x $op y) as u64);
                }};
            }
            /// A conversion or a unary operator from `$from` to `$to`, floats read from and
            /// left in the float accumulators.
            macro_rules! unary {
                ($dst:tt, $a:tt, |$x:ident: $from:ident| -> $to:ident $body:expr) => {{
                    let $x = operand!($from, $a);
                    let value: $to = $body;
                    result!($to, $dst, value);
                }};
            }
            macro_rules! operand {
                (i32, $a:tt) => {
                    reg!($a) as u32 as i32
                };
                (u32, $a:tt) => {
                    reg!($a) as u32
                };
                (i64, $a:tt) => {
                    reg!($a) as i64
                };
                (u64, $a:tt) => {
                    reg!($a)
                };
                (f32, $a:tt) => {
                    f32_reg!($a)
                };
                (f64, $a:tt) => {
                    f64_reg!($a)
                };
            }
            macro_rules! result {
                (i32, $dst:tt, $v:expr) => {
                    set!($dst, $v as u32 as u64)
                };
                (u32, $dst:tt, $v:expr) => {
                    set!($dst, $v as u64)
                };
                (i64, $dst:tt, $v:expr) => {
                    set!($dst, $v as u64)
                };
                (u64, $dst:tt, $v:expr) => {
                    set!($dst, $v)
                };
                (f32, $dst:tt, $v:expr) => {
                    set_f32!($dst, $v)
                };
                (f64, $dst:tt, $v:expr) => {
                    set_f64!($dst, $v)
                };
            }
            /// After a call or return: continue at `$ip` in the function `ctx.current`
            /// describes, with its frame and memory (a callee may have grown the memory and
            /// moved the value stack).
            macro_rules! resume {
                ($ip:expr) => {{
                    next = $ip;
                    fp = ctx.fp();
                    memory = ctx.current.memory();
                }};
            }
        }
        wrapped {
            I32Add { dst, a, b } acc(a => I32AddA, b => I32AddB) => {
                i32_bin!(dst, a, b, |x, y| x.wrapping_add(y))
            },
            I32Sub { dst, a, b } acc(a => I32SubA, b => I32SubB) => {
                i32_bin!(dst, a, b, |x, y| x.wrapping_sub(y))
            },
            I32Mul { dst, a, b } acc(a => I32MulA, b => I32MulB) => {
                i32_bin!(dst, a, b, |x, y| x.wrapping_mul(y))
            },
            I32DivS { dst, a, b } acc(a => I32DivSA, b => I32DivSB) => {
                let (x, y) = (reg!(a) as u32 as i32, reg!(b) as u32 as i32);
                if y == 0 {
                    return Err(TrapCode::IntegerDivisionByZero);
                }
                if x == i32::MIN && y == -1 {
                    return Err(TrapCode::IntegerOverflow);
                }
                set!(dst, (x / y) as u32 as u64);
            },
            I32DivU { dst, a, b } acc(a => I32DivUA, b => I32DivUB) => {
                let (x, y) = (reg!(a) as u32, reg!(b) as u32);
                set!(
                    dst,
                    x.checked_div(y).ok_or(TrapCode::IntegerDivisionByZero)? as u64
                );
            },
            I32RemS { dst, a, b } acc(a => I32RemSA, b => I32RemSB) => {
                let (x, y) = (reg!(a) as u32 as i32, reg!(b) as u32 as i32);
                if y == 0 {
                    return Err(TrapCode::IntegerDivisionByZero);
                }
                set!(dst, x.wrapping_rem(y) as u32 as u64);
            },
            I32RemU { dst, a, b } acc(a => I32RemUA, b => I32RemUB) => {
                let (x, y) = (reg!(a) as u32, reg!(b) as u32);
                set!(
                    dst,
                    x.checked_rem(y).ok_or(TrapCode::IntegerDivisionByZero)? as u64
                );
            },
            I32And { dst, a, b } acc(a => I32AndA, b => I32AndB) => {
                i32_bin!(dst, a, b, |x, y| x & y)
            },
            I32Or { dst, a, b } acc(a => I32OrA, b => I32OrB) => i32_bin!(dst, a, b, |x, y| x | y),
            I32Xor { dst, a, b } acc(a => I32XorA, b => I32XorB) => {
                i32_bin!(dst, a, b, |x, y| x ^ y)
            },
            I32Shl { dst, a, b } acc(a => I32ShlA, b => I32ShlB) => {
                i32_bin!(dst, a, b, |x, y| x.wrapping_shl(y as u32))
            },
            I32ShrS { dst, a, b } acc(a => I32ShrSA, b => I32ShrSB) => {
                i32_bin!(dst, a, b, |x, y| x.wrapping_shr(y as u32))
            },
            I32ShrU { dst, a, b } acc(a => I32ShrUA, b => I32ShrUB) => {
                i32_bin!(dst, a, b, |x, y| (x as u32).wrapping_shr(y as u32))
            },
            I32Rotl { dst, a, b } acc(a => I32RotlA, b => I32RotlB) => {
                i32_bin!(dst, a, b, |x, y| (x as u32).rotate_left(y as u32 % 32))
            },
            I32Rotr { dst, a, b } acc(a => I32RotrA, b => I32RotrB) => {
                i32_bin!(dst, a, b, |x, y| (x as u32).rotate_right(y as u32 % 32))
            },
            I32Eq { dst, a, b } acc(a => I32EqA, b => I32EqB) => i32_bin!(dst, a, b, |x, y| x == y),
            I32Ne { dst, a, b } acc(a => I32NeA, b => I32NeB) => i32_bin!(dst, a, b, |x, y| x != y),
            I32LtS { dst, a, b } acc(a => I32LtSA, b => I32LtSB) => {
                i32_bin!(dst, a, b, |x, y| x < y)
            },
            I32LtU { dst, a, b } acc(a => I32LtUA, b => I32LtUB) => {
                i32_bin!(dst, a, b, |x, y| (x as u32) < (y as u32))
            },
            I32GtS { dst, a, b } acc(a => I32GtSA, b => I32GtSB) => {
                i32_bin!(dst, a, b, |x, y| x > y)
            },
            I32GtU { dst, a, b } acc(a => I32GtUA, b => I32GtUB) => {
                i32_bin!(dst, a, b, |x, y| (x as u32) > (y as u32))
            },
            I32LeS { dst, a, b } acc(a => I32LeSA, b => I32LeSB) => {
                i32_bin!(dst, a, b, |x, y| x <= y)
            },
            I32LeU { dst, a, b } acc(a => I32LeUA, b => I32LeUB) => {
                i32_bin!(dst, a, b, |x, y| (x as u32) <= (y as u32))
            },
            I32GeS { dst, a, b } acc(a => I32GeSA, b => I32GeSB) => {
                i32_bin!(dst, a, b, |x, y| x >= y)
            },
            I32GeU { dst, a, b } acc(a => I32GeUA, b => I32GeUB) => {
                i32_bin!(dst, a, b, |x, y| (x as u32) >= (y as u32))
            },
            I64Add { dst, a, b } acc(a => I64AddA, b => I64AddB) => {
                i64_bin!(dst, a, b, |x, y| x.wrapping_add(y))
            },
            I64Sub { dst, a, b } acc(a => I64SubA, b => I64SubB) => {
                i64_bin!(dst, a, b, |x, y| x.wrapping_sub(y))
            },
            I64Mul { dst, a, b } acc(a => I64MulA, b => I64MulB) => {
                i64_bin!(dst, a, b, |x, y| x.wrapping_mul(y))
            },
            I64DivS { dst, a, b } acc(a => I64DivSA, b => I64DivSB) => {
                let (x, y) = (reg!(a) as i64, reg!(b) as i64);
                if y == 0 {
                    return Err(TrapCode::IntegerDivisionByZero);
                }
                if x == i64::MIN && y == -1 {
                    return Err(TrapCode::IntegerOverflow);
                }
                set!(dst, (x / y) as u64);
            },
            I64DivU { dst, a, b } acc(a => I64DivUA, b => I64DivUB) => {
                set!(
                    dst,
                    reg!(a)
                        .checked_div(reg!(b))
                        .ok_or(TrapCode::IntegerDivisionByZero)?
                );
            },
            I64RemS { dst, a, b } acc(a => I64RemSA, b => I64RemSB) => {
                let (x, y) = (reg!(a) as i64, reg!(b) as i64);
                if y == 0 {
                    return Err(TrapCode::IntegerDivisionByZero);
                }
                set!(dst, x.wrapping_rem(y) as u64);
            },
            I64RemU { dst, a, b } acc(a => I64RemUA, b => I64RemUB) => {
                set!(
                    dst,
                    reg!(a)
                        .checked_rem(reg!(b))
                        .ok_or(TrapCode::IntegerDivisionByZero)?
                );
            },
            I64And { dst, a, b } acc(a => I64AndA, b => I64AndB) => {
                i64_bin!(dst, a, b, |x, y| x & y)
            },
            I64Or { dst, a, b } acc(a => I64OrA, b => I64OrB) => i64_bin!(dst, a, b, |x, y| x | y),
            I64Xor { dst, a, b } acc(a => I64XorA, b => I64XorB) => {
                i64_bin!(dst, a, b, |x, y| x ^ y)
            },
            I64Shl { dst, a, b } acc(a => I64ShlA, b => I64ShlB) => {
                i64_bin!(dst, a, b, |x, y| x.wrapping_shl(y as u32))
            },
            I64ShrS { dst, a, b } acc(a => I64ShrSA, b => I64ShrSB) => {
                i64_bin!(dst, a, b, |x, y| x.wrapping_shr(y as u32))
            },
            I64ShrU { dst, a, b } acc(a => I64ShrUA, b => I64ShrUB) => {
                i64_bin!(dst, a, b, |x, y| (x as u64).wrapping_shr(y as u32))
            },
            I64Rotl { dst, a, b } acc(a => I64RotlA, b => I64RotlB) => {
                i64_bin!(dst, a, b, |x, y| (x as u64)
                    .rotate_left((y as u64 % 64) as u32))
            },
            I64Rotr { dst, a, b } acc(a => I64RotrA, b => I64RotrB) => {
                i64_bin!(dst, a, b, |x, y| (x as u64)
                    .rotate_right((y as u64 % 64) as u32))
            },
            I64Eq { dst, a, b } acc(a => I64EqA, b => I64EqB) => i64_bin!(dst, a, b, |x, y| x == y),
            I64Ne { dst, a, b } acc(a => I64NeA, b => I64NeB) => i64_bin!(dst, a, b, |x, y| x != y),
            I64LtS { dst, a, b } acc(a => I64LtSA, b => I64LtSB) => {
                i64_bin!(dst, a, b, |x, y| x < y)
            },
            I64LtU { dst, a, b } acc(a => I64LtUA, b => I64LtUB) => {
                i64_bin!(dst, a, b, |x, y| (x as u64) < (y as u64))
            },
            I64GtS { dst, a, b } acc(a => I64GtSA, b => I64GtSB) => {
                i64_bin!(dst, a, b, |x, y| x > y)
            },
            I64GtU { dst, a, b } acc(a => I64GtUA, b => I64GtUB) => {
                i64_bin!(dst, a, b, |x, y| (x as u64) > (y as u64))
            },
            I64LeS { dst, a, b } acc(a => I64LeSA, b => I64LeSB) => {
                i64_bin!(dst, a, b, |x, y| x <= y)
            },
            I64LeU { dst, a, b } acc(a => I64LeUA, b => I64LeUB) => {
                i64_bin!(dst, a, b, |x, y| (x as u64) <= (y as u64))
            },
            I64GeS { dst, a, b } acc(a => I64GeSA, b => I64GeSB) => {
                i64_bin!(dst, a, b, |x, y| x >= y)
            },
            I64GeU { dst, a, b } acc(a => I64GeUA, b => I64GeUB) => {
                i64_bin!(dst, a, b, |x, y| (x as u64) >= (y as u64))
            },
            F32Add { dst, a, b } acc(a => F32AddA, b => F32AddB) => {
                f32_bin!(dst, a, b, |x, y| x + y)
            },
            F32Sub { dst, a, b } acc(a => F32SubA, b => F32SubB) => {
                f32_bin!(dst, a, b, |x, y| x - y)
            },
            F32Mul { dst, a, b } acc(a => F32MulA, b => F32MulB) => {
                f32_bin!(dst, a, b, |x, y| x * y)
            },
            F32Div { dst, a, b } acc(a => F32DivA, b => F32DivB) => {
                f32_bin!(dst, a, b, |x, y| x / y)
            },
            F32Min { dst, a, b } acc(a => F32MinA, b => F32MinB) => {
                f32_bin!(dst, a, b, |x, y| float::min32(x, y))
            },
            F32Max { dst, a, b } acc(a => F32MaxA, b => F32MaxB) => {
                f32_bin!(dst, a, b, |x, y| float::max32(x, y))
            },
            F32Copysign { dst, a, b } acc(a => F32CopysignA, b => F32CopysignB) => {
                f32_bin!(dst, a, b, |x, y| x.copysign(y))
            },
            F32Eq { dst, a, b } acc(a => F32EqA, b => F32EqB) => f32_cmp!(dst, a, b, ==),
            F32Ne { dst, a, b } acc(a => F32NeA, b => F32NeB) => f32_cmp!(dst, a, b, !=),
            F32Lt { dst, a, b } acc(a => F32LtA, b => F32LtB) => f32_cmp!(dst, a, b, <),
            F32Gt { dst, a, b } acc(a => F32GtA, b => F32GtB) => f32_cmp!(dst, a, b, >),
            F32Le { dst, a, b } acc(a => F32LeA, b => F32LeB) => f32_cmp!(dst, a, b, <=),
            F32Ge { dst, a, b } acc(a => F32GeA, b => F32GeB) => f32_cmp!(dst, a, b, >=),
            F64Add { dst, a, b } acc(a => F64AddA, b => F64AddB) => {
                f64_bin!(dst, a, b, |x, y| x + y)
            },
            F64Sub { dst, a, b } acc(a => F64SubA, b => F64SubB) => {
                f64_bin!(dst, a, b, |x, y| x - y)
            },
            F64Mul { dst, a, b } acc(a => F64MulA, b => F64MulB) => {
                f64_bin!(dst, a, b, |x, y| x * y)
            },
            F64Div { dst, a, b } acc(a => F64DivA, b => F64DivB) => {
                f64_bin!(dst, a, b, |x, y| x / y)
            },
            F64Min { dst, a, b } acc(a => F64MinA, b => F64MinB) => {
                f64_bin!(dst, a, b, |x, y| float::min64(x, y))
            },
            F64Max { dst, a, b } acc(a => F64MaxA, b => F64MaxB) => {
                f64_bin!(dst, a, b, |x, y| float::max64(x, y))
            },
            F64Copysign { dst, a, b } acc(a => F64CopysignA, b => F64CopysignB) => {
                f64_bin!(dst, a, b, |x, y| x.copysign(y))
            },
            F64Eq { dst, a, b } acc(a => F64EqA, b => F64EqB) => f64_cmp!(dst, a, b, ==),
            F64Ne { dst, a, b } acc(a => F64NeA, b => F64NeB) => f64_cmp!(dst, a, b, !=),
            F64Lt { dst, a, b } acc(a => F64LtA, b => F64LtB) => f64_cmp!(dst, a, b, <),
            F64Gt { dst, a, b } acc(a => F64GtA, b => F64GtB) => f64_cmp!(dst, a, b, >),
            F64Le { dst, a, b } acc(a => F64LeA, b => F64LeB) => f64_cmp!(dst, a, b, <=),
            F64Ge { dst, a, b } acc(a => F64GeA, b => F64GeB) => f64_cmp!(dst, a, b, >=),

            I32Clz { dst, a } acc(a => I32ClzA) => {
                unary!(dst, a, |x: u32| -> u32 x.leading_zeros())
            },
            I32Ctz { dst, a } acc(a => I32CtzA) => {
                unary!(dst, a, |x: u32| -> u32 x.trailing_zeros())
            },
            I32Popcnt { dst, a } acc(a => I32PopcntA) => {
                unary!(dst, a, |x: u32| -> u32 x.count_ones())
            },
            I32Eqz { dst, a } acc(a => I32EqzA) => unary!(dst, a, |x: u32| -> u32 (x == 0) as u32),
            I32Extend8S { dst, a } acc(a => I32Extend8SA) => {
                unary!(dst, a, |x: i32| -> i32 x as i8 as i32)
            },
            I32Extend16S { dst, a } acc(a => I32Extend16SA) => {
                unary!(dst, a, |x: i32| -> i32 x as i16 as i32)
            },
            I64Clz { dst, a } acc(a => I64ClzA) => {
                unary!(dst, a, |x: u64| -> u64 x.leading_zeros() as u64)
            },
            I64Ctz { dst, a } acc(a => I64CtzA) => {
                unary!(dst, a, |x: u64| -> u64 x.trailing_zeros() as u64)
            },
            I64Popcnt { dst, a } acc(a => I64PopcntA) => {
                unary!(dst, a, |x: u64| -> u64 x.count_ones() as u64)
            },
            I64Eqz { dst, a } acc(a => I64EqzA) => unary!(dst, a, |x: u64| -> u64 (x == 0) as u64),
            I64Extend8S { dst, a } acc(a => I64Extend8SA) => {
                unary!(dst, a, |x: i64| -> i64 x as i8 as i64)
            },
            I64Extend16S { dst, a } acc(a => I64Extend16SA) => {
                unary!(dst, a, |x: i64| -> i64 x as i16 as i64)
            },
            I64Extend32S { dst, a } acc(a => I64Extend32SA) => {
                unary!(dst, a, |x: i64| -> i64 x as i32 as i64)
            },
            // Rust's `abs`, `neg` and `copysign` change the sign bit only (NaN payloads
            // included), as Wasm's do.
            F32Abs { dst, a } acc(a => F32AbsA) => unary!(dst, a, |x: f32| -> f32 x.abs()),
            F32Neg { dst, a } acc(a => F32NegA) => unary!(dst, a, |x: f32| -> f32 -x),
            F32Ceil { dst, a } acc(a => F32CeilA) => {
                unary!(dst, a, |x: f32| -> f32 float::quiet32(x.ceil()))
            },
            F32Floor { dst, a } acc(a => F32FloorA) => {
                unary!(dst, a, |x: f32| -> f32 float::quiet32(x.floor()))
            },
            F32Trunc { dst, a } acc(a => F32TruncA) => {
                unary!(dst, a, |x: f32| -> f32 float::quiet32(x.trunc()))
            },
            F32Nearest { dst, a } acc(a => F32NearestA) => {
                unary!(dst, a, |x: f32| -> f32 float::quiet32(x.round_ties_even()))
            },
            F32Sqrt { dst, a } acc(a => F32SqrtA) => unary!(dst, a, |x: f32| -> f32 x.sqrt()),
            F64Abs { dst, a } acc(a => F64AbsA) => unary!(dst, a, |x: f64| -> f64 x.abs()),
            F64Neg { dst, a } acc(a => F64NegA) => unary!(dst, a, |x: f64| -> f64 -x),
            F64Ceil { dst, a } acc(a => F64CeilA) => {
                unary!(dst, a, |x: f64| -> f64 float::quiet64(x.ceil()))
            },
            F64Floor { dst, a } acc(a => F64FloorA) => {
                unary!(dst, a, |x: f64| -> f64 float::quiet64(x.floor()))
            },
            F64Trunc { dst, a } acc(a => F64TruncA) => {
                unary!(dst, a, |x: f64| -> f64 float::quiet64(x.trunc()))
            },
            F64Nearest { dst, a } acc(a => F64NearestA) => {
                unary!(dst, a, |x: f64| -> f64 float::quiet64(x.round_ties_even()))
            },
            F64Sqrt { dst, a } acc(a => F64SqrtA) => unary!(dst, a, |x: f64| -> f64 x.sqrt()),
            I32TruncF32S { dst, a } acc(a => I32TruncF32SA) => {
                let x = f32_reg!(a) as f64;
                set!(
                    dst,
                    float::trunc(x, -2147483649.0, 2147483648.0)? as i32 as u32 as u64
                );
            },
            I32TruncF32U { dst, a } acc(a => I32TruncF32UA) => {
                let x = f32_reg!(a) as f64;
                set!(dst, float::trunc(x, -1.0, 4294967296.0)? as u32 as u64);
            },
            I32TruncF64S { dst, a } acc(a => I32TruncF64SA) => {
                let x = f64_reg!(a);
                set!(
                    dst,
                    float::trunc(x, -2147483649.0, 2147483648.0)? as i32 as u32 as u64
                );
            },
            I32TruncF64U { dst, a } acc(a => I32TruncF64UA) => {
                let x = f64_reg!(a);
                set!(dst, float::trunc(x, -1.0, 4294967296.0)? as u32 as u64);
            },
            I64TruncF32S { dst, a } acc(a => I64TruncF32SA) => {
                let x = f32_reg!(a) as f64;
                let truncated = float::trunc(x, -9223373136366403584.0, 9223372036854775808.0)?;
                set!(dst, truncated as i64 as u64);
            },
            I64TruncF32U { dst, a } acc(a => I64TruncF32UA) => {
                let x = f32_reg!(a) as f64;
                set!(dst, float::trunc(x, -1.0, 18446744073709551616.0)? as u64);
            },
            I64TruncF64S { dst, a } acc(a => I64TruncF64SA) => {
                let x = f64_reg!(a);
                let truncated = float::trunc(x, -9223372036854777856.0, 9223372036854775808.0)?;
                set!(dst, truncated as i64 as u64);
            },
            I64TruncF64U { dst, a } acc(a => I64TruncF64UA) => {
                let x = f64_reg!(a);
                set!(dst, float::trunc(x, -1.0, 18446744073709551616.0)? as u64);
            },
            // Rust's float-to-int `as` saturates and maps NaN to 0: exactly `trunc_sat`.
            I32TruncSatF32S { dst, a } acc(a => I32TruncSatF32SA) => {
                unary!(dst, a, |x: f32| -> i32 x as i32)
            },
            I32TruncSatF32U { dst, a } acc(a => I32TruncSatF32UA) => {
                unary!(dst, a, |x: f32| -> u32 x as u32)
            },
            I32TruncSatF64S { dst, a } acc(a => I32TruncSatF64SA) => {
                unary!(dst, a, |x: f64| -> i32 x as i32)
            },
            I32TruncSatF64U { dst, a } acc(a => I32TruncSatF64UA) => {
                unary!(dst, a, |x: f64| -> u32 x as u32)
            },
            I64TruncSatF32S { dst, a } acc(a => I64TruncSatF32SA) => {
                unary!(dst, a, |x: f32| -> i64 x as i64)
            },
            I64TruncSatF32U { dst, a } acc(a => I64TruncSatF32UA) => {
                unary!(dst, a, |x: f32| -> u64 x as u64)
            },
            I64TruncSatF64S { dst, a } acc(a => I64TruncSatF64SA) => {
                unary!(dst, a, |x: f64| -> i64 x as i64)
            },
            I64TruncSatF64U { dst, a } acc(a => I64TruncSatF64UA) => {
                unary!(dst, a, |x: f64| -> u64 x as u64)
            },
            I64ExtendI32S { dst, a } acc(a => I64ExtendI32SA) => {
                unary!(dst, a, |x: i32| -> i64 x as i64)
            },
            I64ExtendI32U { dst, a } acc(a => I64ExtendI32UA) => {
                unary!(dst, a, |x: u32| -> u64 x as u64)
            },
            F32ConvertI32S { dst, a } acc(a => F32ConvertI32SA) => {
                unary!(dst, a, |x: i32| -> f32 x as f32)
            },
            F32ConvertI32U { dst, a } acc(a => F32ConvertI32UA) => {
                unary!(dst, a, |x: u32| -> f32 x as f32)
            },
            F32ConvertI64S { dst, a } acc(a => F32ConvertI64SA) => {
                unary!(dst, a, |x: i64| -> f32 x as f32)
            },
            F32ConvertI64U { dst, a } acc(a => F32ConvertI64UA) => {
                unary!(dst, a, |x: u64| -> f32 x as f32)
            },
            F32DemoteF64 { dst, a } acc(a => F32DemoteF64A) => {
                unary!(dst, a, |x: f64| -> f32 x as f32)
            },
            F64ConvertI32S { dst, a } acc(a => F64ConvertI32SA) => {
                unary!(dst, a, |x: i32| -> f64 x as f64)
            },
            F64ConvertI32U { dst, a } acc(a => F64ConvertI32UA) => {
                unary!(dst, a, |x: u32| -> f64 x as f64)
            },
            F64ConvertI64S { dst, a } acc(a => F64ConvertI64SA) => {
                unary!(dst, a, |x: i64| -> f64 x as f64)
            },
            F64ConvertI64U { dst, a } acc(a => F64ConvertI64UA) => {
                unary!(dst, a, |x: u64| -> f64 x as f64)
            },
            F64PromoteF32 { dst, a } acc(a => F64PromoteF32A) => {
                unary!(dst, a, |x: f32| -> f64 x as f64)
            },

            I32AddImm { dst, a, imm } acc(a => I32AddImmA) => {
                i32_bin!(dst, a, a, |x, _y| x.wrapping_add(imm))
            },
            I32MulImm { dst, a, imm } acc(a => I32MulImmA) => {
                i32_bin!(dst, a, a, |x, _y| x.wrapping_mul(imm))
            },
            I32AndImm { dst, a, imm } acc(a => I32AndImmA) => i32_bin!(dst, a, a, |x, _y| x & imm),
            I32OrImm { dst, a, imm } acc(a => I32OrImmA) => i32_bin!(dst, a, a, |x, _y| x | imm),
            I32XorImm { dst, a, imm } acc(a => I32XorImmA) => i32_bin!(dst, a, a, |x, _y| x ^ imm),
            I32ShlImm { dst, a, imm } acc(a => I32ShlImmA) => {
                i32_bin!(dst, a, a, |x, _y| x.wrapping_shl(imm as u32))
            },
            I32ShrSImm { dst, a, imm } acc(a => I32ShrSImmA) => {
                i32_bin!(dst, a, a, |x, _y| x.wrapping_shr(imm as u32))
            },
            I32ShrUImm { dst, a, imm } acc(a => I32ShrUImmA) => {
                i32_bin!(dst, a, a, |x, _y| (x as u32).wrapping_shr(imm as u32))
            },
            I64AddImm { dst, a, imm } acc(a => I64AddImmA) => {
                i64_bin!(dst, a, a, |x, _y| x.wrapping_add(imm as i64))
            },
            I64MulImm { dst, a, imm } acc(a => I64MulImmA) => {
                i64_bin!(dst, a, a, |x, _y| x.wrapping_mul(imm as i64))
            },
            I64AndImm { dst, a, imm } acc(a => I64AndImmA) => {
                i64_bin!(dst, a, a, |x, _y| x & imm as i64)
            },
            I64OrImm { dst, a, imm } acc(a => I64OrImmA) => {
                i64_bin!(dst, a, a, |x, _y| x | imm as i64)
            },
            I64XorImm { dst, a, imm } acc(a => I64XorImmA) => {
                i64_bin!(dst, a, a, |x, _y| x ^ imm as i64)
            },
            I64ShrSImm { dst, a, imm } acc(a => I64ShrSImmA) => {
                i64_bin!(dst, a, a, |x, _y| x.wrapping_shr(imm as u32))
            },
            I64ShlImm { dst, a, imm } acc(a => I64ShlImmA) => {
                i64_bin!(dst, a, a, |x, _y| x.wrapping_shl(imm as u32))
            },
            I64ShrUImm { dst, a, imm } acc(a => I64ShrUImmA) => {
                i64_bin!(dst, a, a, |x, _y| (x as u64).wrapping_shr(imm as u32))
            },

            Copy { dst, src } => set!(dst, reg!(src)),
            I32AddShl { dst, a, b, shift } => {
                i32_bin!(dst, a, b, |x, y| x.wrapping_add(y.wrapping_shl(shift as u32)))
            },
            Select { dst, cond, a, b } acc(cond => SelectA) => {
                // Both operands are read before the condition is known (a conditional move):
                // a condition that depends on the data would mispredict a branch, and picking
                // the slot first would put a second load on the path from the condition.
                let (x, y) = (reg!(a), reg!(b));
                set!(
                    dst,
                    std::hint::select_unpredictable(reg!(cond) as u32 != 0, x, y)
                );
            },
            Select64 { dst, cond, a, b } acc(cond => Select64A) => {
                // As `Select`.
                let (x, y) = (reg!(a), reg!(b));
                set!(dst, std::hint::select_unpredictable(reg!(cond) != 0, x, y));
            },
            GlobalGet { dst, global } => {
                // SAFETY: `Current::global` returns a pointer to a live global cell.
                set!(dst, unsafe { *ctx.current.global(global) });
            },
            GlobalSet { src, global } => {
                let value = reg!(src);
                // SAFETY: as for `GlobalGet`; no reference to the cell is alive.
                unsafe { *ctx.current.global(global) = value };
            },
            RefFunc { dst, func } => {
                let instance = &inner.instances[ctx.current.instance as usize];
                set!(dst, instance.func_refs[func as usize]);
            },
            Load8S { dst, addr, offset } acc(addr => Load8SA) => {
                load!(dst, reg!(addr), offset, i8 as i64)
            },
            Load8U { dst, addr, offset } acc(addr => Load8UA) => {
                load!(dst, reg!(addr), offset, u8 as u64)
            },
            Load16S { dst, addr, offset } acc(addr => Load16SA) => {
                load!(dst, reg!(addr), offset, i16 as i64)
            },
            Load16U { dst, addr, offset } acc(addr => Load16UA) => {
                load!(dst, reg!(addr), offset, u16 as u64)
            },
            Load32S { dst, addr, offset } acc(addr => Load32SA) => {
                load!(dst, reg!(addr), offset, i32 as i64)
            },
            Load32U { dst, addr, offset } acc(addr => Load32UA) => {
                load!(dst, reg!(addr), offset, u32 as u64)
            },
            Load64 { dst, addr, offset } acc(addr => Load64A) => {
                load!(dst, reg!(addr), offset, u64 as u64)
            },
            LoadF32 { dst, addr, offset } acc(addr => LoadF32A) => {
                let bits = u32::from_le_bytes(memory.load(reg!(addr), offset)?);
                set_f32!(dst, f32::from_bits(bits));
            },
            LoadF64 { dst, addr, offset } acc(addr => LoadF64A) => {
                let bits = u64::from_le_bytes(memory.load(reg!(addr), offset)?);
                set_f64!(dst, f64::from_bits(bits));
            },
            Store8 { addr, src, offset } acc(addr => Store8A, src => Store8B) => {
                memory.store(reg!(addr), offset, (reg!(src) as u8).to_le_bytes())?;
            },
            Store16 { addr, src, offset } acc(addr => Store16A, src => Store16B) => {
                memory.store(reg!(addr), offset, (reg!(src) as u16).to_le_bytes())?;
            },
            Store32 { addr, src, offset } acc(addr => Store32A, src => Store32B) => {
                memory.store(reg!(addr), offset, (reg!(src) as u32).to_le_bytes())?;
            },
            Store64 { addr, src, offset } acc(addr => Store64A, src => Store64B) => {
                memory.store(reg!(addr), offset, reg!(src).to_le_bytes())?;
            },
            Load8SAdd { dst, a, b, shift, offset } => {
                let addr = indexed!(a, b, shift);
                load!(dst, addr, offset, i8 as i64);
            },
            Load8UAdd { dst, a, b, shift, offset } => {
                let addr = indexed!(a, b, shift);
                load!(dst, addr, offset, u8 as u64);
            },
            Load16SAdd { dst, a, b, shift, offset } => {
                let addr = indexed!(a, b, shift);
                load!(dst, addr, offset, i16 as i64);
            },
            Load16UAdd { dst, a, b, shift, offset } => {
                let addr = indexed!(a, b, shift);
                load!(dst, addr, offset, u16 as u64);
            },
            Load32SAdd { dst, a, b, shift, offset } => {
                let addr = indexed!(a, b, shift);
                load!(dst, addr, offset, i32 as i64);
            },
            Load32UAdd { dst, a, b, shift, offset } => {
                let addr = indexed!(a, b, shift);
                load!(dst, addr, offset, u32 as u64);
            },
            StepLoad32U { dst, local, a, imm, offset } => {
                let addr = (reg!(a) as u32).wrapping_add(imm as u32);
                // SAFETY: slot operands are inside the frame at `fp` (module documentation).
                unsafe { *fp.add(local as usize) = addr as u64 };
                load!(dst, addr as u64, offset, u32 as u64);
            },
            Load64Add { dst, a, b, shift, offset } => {
                let addr = indexed!(a, b, shift);
                load!(dst, addr, offset, u64 as u64);
            },
            LoadF32Add { dst, a, b, shift, offset } => {
                let bits = u32::from_le_bytes(memory.load(indexed!(a, b, shift), offset)?);
                set_f32!(dst, f32::from_bits(bits));
            },
            LoadF64Add { dst, a, b, shift, offset } => {
                let bits = u64::from_le_bytes(memory.load(indexed!(a, b, shift), offset)?);
                set_f64!(dst, f64::from_bits(bits));
            },
            Store8Add { a, b, shift, src, offset } => {
                let addr = indexed!(a, b, shift);
                memory.store(addr, offset, (reg!(src) as u8).to_le_bytes())?;
            },
            Store16Add { a, b, shift, src, offset } => {
                let addr = indexed!(a, b, shift);
                memory.store(addr, offset, (reg!(src) as u16).to_le_bytes())?;
            },
            Store32Add { a, b, shift, src, offset } => {
                let addr = indexed!(a, b, shift);
                memory.store(addr, offset, (reg!(src) as u32).to_le_bytes())?;
            },
            Store64Add { a, b, shift, src, offset } => {
                let addr = indexed!(a, b, shift);
                memory.store(addr, offset, reg!(src).to_le_bytes())?;
            },
            MemorySize { dst } => set!(dst, memory.len / PAGE_SIZE as u64),
            MemoryGrow { dst, delta } => {
                let index = inner.instances[ctx.current.instance as usize].memories[0];
                let max_pages = inner.engine.config().max_memory_pages;
                let grown =
                    inner.memories[index as usize].grow(reg!(delta) as u32, max_pages);
                set!(dst, grown.unwrap_or(u32::MAX) as u64);
                memory = ctx.current.memory();
            },
            MemoryFill { dst, value, len } => {
                let len = reg!(len) as u32 as u64;
                let ptr = memory.address(reg!(dst), 0, len)?;
                let byte = reg!(value) as u8;
                // SAFETY: `address` checked that `len` bytes at `ptr` are in the memory.
                unsafe { std::ptr::write_bytes(ptr, byte, len as usize) };
            },
            MemoryCopy { dst, src, len } => {
                let len = reg!(len) as u32 as u64;
                let to = memory.address(reg!(dst), 0, len)?;
                let from = memory.address(reg!(src), 0, len)?;
                // SAFETY: both ranges were checked to lie in the memory; `copy` allows overlap.
                unsafe { std::ptr::copy(from, to, len as usize) };
            },
            MemoryInit {
                segment,
                dst,
                src,
                len,
            } => {
                let instance = &inner.instances[ctx.current.instance as usize];
                let data = if instance.dropped_data[segment as usize] {
                    &[][..]
                } else {
                    &instance.module.bytes[instance.module.data[segment as usize].bytes.clone()]
                };
                let len = reg!(len) as u32;
                let from = checked_range(reg!(src) as u32, len as usize, data.len())
                    .ok_or(TrapCode::MemoryOutOfBounds)?;
                let to = memory.address(reg!(dst), 0, len as u64)?;
                // SAFETY: `to` has `len` bytes in the memory; `from` is a checked range of the
                // module's bytes, which never alias a linear memory.
                unsafe { std::ptr::copy_nonoverlapping(data[from].as_ptr(), to, len as usize) };
            },
            DataDrop { segment } => {
                let instance = &mut inner.instances[ctx.current.instance as usize];
                instance.dropped_data[segment as usize] = true;
            },
            TableGet { dst, table, index } => {
                let table = table_index(inner, &ctx.current, table);
                let element = inner.tables[table]
                    .elements
                    .get(reg!(index) as u32 as usize)
                    .ok_or(TrapCode::TableOutOfBounds)?;
                set!(dst, *element);
            },
            TableSet {
                table,
                index,
                value,
            } => {
                let table = table_index(inner, &ctx.current, table);
                *inner.tables[table]
                    .elements
                    .get_mut(reg!(index) as u32 as usize)
                    .ok_or(TrapCode::TableOutOfBounds)? = reg!(value);
            },
            TableSize { dst, table } => {
                let table = table_index(inner, &ctx.current, table);
                set!(dst, inner.tables[table].elements.len() as u64);
            },
            TableGrow {
                dst,
                table,
                init,
                delta,
            } => {
                let table = table_index(inner, &ctx.current, table);
                let max_elements = inner.engine.config().max_table_elements;
                let grown =
                    inner.tables[table].grow(reg!(delta) as u32, reg!(init), max_elements);
                set!(dst, grown.unwrap_or(u32::MAX) as u64);
            },
            TableFill {
                table,
                dst,
                value,
                len,
            } => {
                let table = table_index(inner, &ctx.current, table);
                let elements = &mut inner.tables[table].elements;
                let range =
                    checked_range(reg!(dst) as u32, reg!(len) as u32 as usize, elements.len())
                        .ok_or(TrapCode::TableOutOfBounds)?;
                elements[range].fill(reg!(value));
            },
            TableCopy {
                dst_table,
                src_table,
                dst,
                src,
                len,
            } => {
                let to_table = table_index(inner, &ctx.current, dst_table);
                let from_table = table_index(inner, &ctx.current, src_table);
                let len = reg!(len) as u32 as usize;
                let tables = &mut inner.tables;
                let from = checked_range(reg!(src) as u32, len, tables[from_table].elements.len())
                    .ok_or(TrapCode::TableOutOfBounds)?;
                let to = checked_range(reg!(dst) as u32, len, tables[to_table].elements.len())
                    .ok_or(TrapCode::TableOutOfBounds)?;
                if to_table == from_table {
                    tables[to_table].elements.copy_within(from, to.start);
                } else {
                    let items = tables[from_table].elements[from].to_vec();
                    tables[to_table].elements[to].copy_from_slice(&items);
                }
            },
            TableInit {
                table,
                segment,
                dst,
                src,
                len,
            } => {
                let table = table_index(inner, &ctx.current, table);
                let instance = &inner.instances[ctx.current.instance as usize];
                let items = &instance.element_segments[segment as usize];
                let len = reg!(len) as u32 as usize;
                let from = checked_range(reg!(src) as u32, len, items.len())
                    .ok_or(TrapCode::TableOutOfBounds)?;
                let elements = &inner.tables[table].elements;
                let to = checked_range(reg!(dst) as u32, len, elements.len())
                    .ok_or(TrapCode::TableOutOfBounds)?;
                let items = items[from].to_vec();
                inner.tables[table].elements[to].copy_from_slice(&items);
            },
            ElemDrop { segment } => {
                let instance = &mut inner.instances[ctx.current.instance as usize];
                instance.element_segments[segment as usize] = Box::default();
            },
        }
        raw {
            AddImmBrIfEq { dst, a, imm, b, target } => {
                add_br_if!(dst, a, imm as u32, b, target, ==, u32)
            },
            AddImmBrIfNe { dst, a, imm, b, target } => {
                add_br_if!(dst, a, imm as u32, b, target, !=, u32)
            },
            AddImmBrIfLtS { dst, a, imm, b, target } => {
                add_br_if!(dst, a, imm as u32, b, target, <, i32)
            },
            AddImmBrIfLtU { dst, a, imm, b, target } => {
                add_br_if!(dst, a, imm as u32, b, target, <, u32)
            },
            AddImmBrIfGtS { dst, a, imm, b, target } => {
                add_br_if!(dst, a, imm as u32, b, target, >, i32)
            },
            AddImmBrIfGtU { dst, a, imm, b, target } => {
                add_br_if!(dst, a, imm as u32, b, target, >, u32)
            },
            AddImmBrIfLeS { dst, a, imm, b, target } => {
                add_br_if!(dst, a, imm as u32, b, target, <=, i32)
            },
            AddImmBrIfLeU { dst, a, imm, b, target } => {
                add_br_if!(dst, a, imm as u32, b, target, <=, u32)
            },
            AddImmBrIfGeS { dst, a, imm, b, target } => {
                add_br_if!(dst, a, imm as u32, b, target, >=, i32)
            },
            AddImmBrIfGeU { dst, a, imm, b, target } => {
                add_br_if!(dst, a, imm as u32, b, target, >=, u32)
            },
            AddBrIfEq { dst, a, add, b, target } => {
                add_br_if!(dst, a, reg!(add) as u32, b, target, ==, u32)
            },
            AddBrIfNe { dst, a, add, b, target } => {
                add_br_if!(dst, a, reg!(add) as u32, b, target, !=, u32)
            },
            AddBrIfLtS { dst, a, add, b, target } => {
                add_br_if!(dst, a, reg!(add) as u32, b, target, <, i32)
            },
            AddBrIfLtU { dst, a, add, b, target } => {
                add_br_if!(dst, a, reg!(add) as u32, b, target, <, u32)
            },
            AddBrIfGtS { dst, a, add, b, target } => {
                add_br_if!(dst, a, reg!(add) as u32, b, target, >, i32)
            },
            AddBrIfGtU { dst, a, add, b, target } => {
                add_br_if!(dst, a, reg!(add) as u32, b, target, >, u32)
            },
            AddBrIfLeS { dst, a, add, b, target } => {
                add_br_if!(dst, a, reg!(add) as u32, b, target, <=, i32)
            },
            AddBrIfLeU { dst, a, add, b, target } => {
                add_br_if!(dst, a, reg!(add) as u32, b, target, <=, u32)
            },
            AddBrIfGeS { dst, a, add, b, target } => {
                add_br_if!(dst, a, reg!(add) as u32, b, target, >=, i32)
            },
            AddBrIfGeU { dst, a, add, b, target } => {
                add_br_if!(dst, a, reg!(add) as u32, b, target, >=, u32)
            },
            BrTable { index, len } acc(index => BrTableA) => {
                let arm = 1 + (reg!(index) as u32).min(len) as i32;
                // SAFETY: `len + 1` branch instructions follow `BrTable`.
                match unsafe { (*ip.add(arm as usize)).instr } {
                    // A plain jump is taken here, saving a dispatch.
                    Instr::Br { target } => jump!(arm + target),
                    // SAFETY: as above.
                    _ => next = unsafe { ip.add(arm as usize) },
                }
            },
            Br { target } => jump!(target),
            BrIfNez { cond, target } acc(cond => BrIfNezA) => {
                if reg!(cond) as u32 != 0 {
                    jump!(target);
                }
            },
            BrIfEqz { cond, target } acc(cond => BrIfEqzA) => {
                if reg!(cond) as u32 == 0 {
                    jump!(target);
                }
            },
            BrIfEq { a, b, target } acc(a => BrIfEqA, b => BrIfEqB) => {
                br_if!(a, b, target, ==, u32)
            },
            BrIfNe { a, b, target } acc(a => BrIfNeA, b => BrIfNeB) => {
                br_if!(a, b, target, !=, u32)
            },
            BrIfLtS { a, b, target } acc(a => BrIfLtSA, b => BrIfLtSB) => {
                br_if!(a, b, target, <, i32)
            },
            BrIfLtU { a, b, target } acc(a => BrIfLtUA, b => BrIfLtUB) => {
                br_if!(a, b, target, <, u32)
            },
            BrIfGtS { a, b, target } acc(a => BrIfGtSA, b => BrIfGtSB) => {
                br_if!(a, b, target, >, i32)
            },
            BrIfGtU { a, b, target } acc(a => BrIfGtUA, b => BrIfGtUB) => {
                br_if!(a, b, target, >, u32)
            },
            BrIfLeS { a, b, target } acc(a => BrIfLeSA, b => BrIfLeSB) => {
                br_if!(a, b, target, <=, i32)
            },
            BrIfLeU { a, b, target } acc(a => BrIfLeUA, b => BrIfLeUB) => {
                br_if!(a, b, target, <=, u32)
            },
            BrIfGeS { a, b, target } acc(a => BrIfGeSA, b => BrIfGeSB) => {
                br_if!(a, b, target, >=, i32)
            },
            BrIfGeU { a, b, target } acc(a => BrIfGeUA, b => BrIfGeUB) => {
                br_if!(a, b, target, >=, u32)
            },
            BrIfEq64 { a, b, target } acc(a => BrIfEq64A, b => BrIfEq64B) => {
                br_if!(a, b, target, ==, u64)
            },
            BrIfNe64 { a, b, target } acc(a => BrIfNe64A, b => BrIfNe64B) => {
                br_if!(a, b, target, !=, u64)
            },
            BrIfLtS64 { a, b, target } acc(a => BrIfLtS64A, b => BrIfLtS64B) => {
                br_if!(a, b, target, <, i64)
            },
            BrIfLtU64 { a, b, target } acc(a => BrIfLtU64A, b => BrIfLtU64B) => {
                br_if!(a, b, target, <, u64)
            },
            BrIfGtS64 { a, b, target } acc(a => BrIfGtS64A, b => BrIfGtS64B) => {
                br_if!(a, b, target, >, i64)
            },
            BrIfGtU64 { a, b, target } acc(a => BrIfGtU64A, b => BrIfGtU64B) => {
                br_if!(a, b, target, >, u64)
            },
            BrIfLeS64 { a, b, target } acc(a => BrIfLeS64A, b => BrIfLeS64B) => {
                br_if!(a, b, target, <=, i64)
            },
            BrIfLeU64 { a, b, target } acc(a => BrIfLeU64A, b => BrIfLeU64B) => {
                br_if!(a, b, target, <=, u64)
            },
            BrIfGeS64 { a, b, target } acc(a => BrIfGeS64A, b => BrIfGeS64B) => {
                br_if!(a, b, target, >=, i64)
            },
            BrIfGeU64 { a, b, target } acc(a => BrIfGeU64A, b => BrIfGeU64B) => {
                br_if!(a, b, target, >=, u64)
            },
            BrIfNez64 { cond, target } acc(cond => BrIfNez64A) => {
                if reg!(cond) != 0 {
                    jump!(target);
                }
            },
            BrIfEqz64 { cond, target } acc(cond => BrIfEqz64A) => {
                if reg!(cond) == 0 {
                    jump!(target);
                }
            },
            BrIfEqImm { a, imm, target } acc(a => BrIfEqImmA) => {
                br_if_imm!(a, imm, target, ==, u32)
            },
            BrIfNeImm { a, imm, target } acc(a => BrIfNeImmA) => {
                br_if_imm!(a, imm, target, !=, u32)
            },
            BrIfLtSImm { a, imm, target } acc(a => BrIfLtSImmA) => {
                br_if_imm!(a, imm, target, <, i32)
            },
            BrIfLtUImm { a, imm, target } acc(a => BrIfLtUImmA) => {
                br_if_imm!(a, imm, target, <, u32)
            },
            BrIfGtSImm { a, imm, target } acc(a => BrIfGtSImmA) => {
                br_if_imm!(a, imm, target, >, i32)
            },
            BrIfGtUImm { a, imm, target } acc(a => BrIfGtUImmA) => {
                br_if_imm!(a, imm, target, >, u32)
            },
            BrIfLeSImm { a, imm, target } acc(a => BrIfLeSImmA) => {
                br_if_imm!(a, imm, target, <=, i32)
            },
            BrIfLeUImm { a, imm, target } acc(a => BrIfLeUImmA) => {
                br_if_imm!(a, imm, target, <=, u32)
            },
            BrIfGeSImm { a, imm, target } acc(a => BrIfGeSImmA) => {
                br_if_imm!(a, imm, target, >=, i32)
            },
            BrIfGeUImm { a, imm, target } acc(a => BrIfGeUImmA) => {
                br_if_imm!(a, imm, target, >=, u32)
            },
            BrCopy {
                dst,
                src,
                count,
                target,
            } => {
                // SAFETY: the translator emits frame slots only (module documentation).
                unsafe { copy_slots(fp, dst, src, count) };
                jump!(target);
            },
            Unreachable {} => return trap_code(ctx, TrapCode::Unreachable),
            Return { src, count } => {
                match count {
                    0 => {}
                    1 => set!(0, reg!(src)),
                    _ => return return_values(ip, fp, memory.base, memory.len, ctx, acc, f32acc, f64acc),
                }
                return return_to_caller(ctx, memory, acc, f32acc, f64acc);
            },
            Call { index, base } => {
                // SAFETY: the translator emits `Call` with the number of a defined function
                // of the running module, whose code slots `module_code` points to.
                let slot = unsafe { &*ctx.current.module_code.add(index as usize) };
                match quick_call(ctx, next, slot, base) {
                    Some(entry) => {
                        // Same instance, same memory.
                        next = entry;
                        fp = ctx.fp();
                    }
                    None => return call_in_general(ip, fp, memory.base, memory.len, ctx, acc, f32acc, f64acc),
                }
            },
            CallImported { func, base } => {
                flush_back_edges(ctx);
                let entry = call_imported(ctx, next, func, base);
                if entry.is_null() {
                    return exit();
                }
                resume!(entry);
            },
            CallIndirect {
                table,
                type_index,
                index,
                base,
            } => {
                let callee = match indirect_callee(ctx, table, type_index, reg!(index)) {
                    Ok(callee) => callee,
                    Err(code) => return trap_code(ctx, code),
                };
                // SAFETY: `ctx.inner` is valid (see `Ctx`) and no other reference to the
                // store is live.
                let inner = unsafe { &*ctx.inner };
                let quick = match inner.funcs[callee as usize].kind {
                    // SAFETY: the module of an instance of the store keeps its code slots
                    // alive.
                    FuncKind::Wasm {
                        instance,
                        code,
                        entry,
                        ..
                    } if instance == ctx.current.instance && !entry.is_null() => {
                        // The entry cached in the store function is the code's first
                        // instruction: jumping there rather than where the code slot says
                        // spares the jump a dependent load.
                        quick_call(ctx, next, unsafe { &*code }, base).map(|_| entry)
                    }
                    _ => None,
                };
                match quick {
                    Some(entry) => {
                        // Same instance, same memory.
                        next = entry;
                        fp = ctx.fp();
                    }
                    None => {
                        return call_indirect_in_general(ip, fp, memory.base, memory.len, ctx, acc, f32acc, f64acc);
                    }
                }
            },
        }
    }
}

/// Adds the loop iterations counted since the last flush to the running function's hotness.
#[inline(always)]
fn flush_back_edges(ctx: &mut Ctx<'_>) {
    let count = ctx.loop_budget_flushed.wrapping_sub(ctx.loop_budget) as u64;
    if count != 0 {
        ctx.loop_budget_flushed = ctx.loop_budget;
        ctx.current
            .slot()
            .add_hotness(u32::try_from(count).unwrap_or(u32::MAX));
    }
}

/// The store index of the current instance's table `table`.
fn table_index(inner: &StoreInner, current: &Current, table: u32) -> usize {
    inner.instances[current.instance as usize].tables[table as usize] as usize
}

/// After `Return` has put the results in place: continues in the caller (popping its frame
/// into `ctx.current`), or stops when the returning function was the activation's outermost.
#[inline(always)]
fn return_to_caller(
    ctx: &mut Ctx<'_>,
    memory: LinearMemory,
    acc: u64,
    f32acc: f32,
    f64acc: f64,
) -> Done {
    flush_back_edges(ctx);
    let Some(frame) = ctx.frames.pop() else {
        return exit();
    };
    let current = &mut ctx.current;
    // Within an instance, `memory` is current: a callee that grew the memory passed the new
    // one on.
    let memory = if frame.instance == current.instance {
        memory
    } else {
        // SAFETY: `ctx.inner` is valid (see `Ctx`) and no other reference to the store is
        // live.
        current.switch_instance(unsafe { &*ctx.inner }, frame.instance);
        current.memory()
    };
    current.slot = frame.slot;
    current.base = frame.base;
    let fp = ctx.fp();
    dispatch(frame.ip, fp, memory, ctx, acc, f32acc, f64acc)
}

/// `Return` with several results, as a handler of its own (the copy may call `memmove`,
/// which the common handler is better off without).
#[inline(never)]
fn return_values(
    ip: Ip,
    fp: *mut u64,
    mem_base: *mut u8,
    mem_len: u64,
    ctx: &mut Ctx<'_>,
    acc: u64,
    f32acc: f32,
    f64acc: f64,
) -> Done {
    // SAFETY: only the `Return` handler calls this, with its own instruction.
    let &Instr::Return { src, count } = (unsafe { &(*ip).instr }) else {
        // SAFETY: as just said.
        unsafe { std::hint::unreachable_unchecked() }
    };
    // SAFETY: the results and slot 0 onwards are inside the frame.
    unsafe { copy_slots(fp, 0, src, count) };
    let memory = LinearMemory {
        base: mem_base,
        len: mem_len,
    };
    return_to_caller(ctx, memory, acc, f32acc, f64acc)
}

/// Turns the outcome of a call into where execution continues, or null after a trap (which
/// is then in `ctx.trap`).
#[inline(always)]
fn continue_at(ctx: &mut Ctx<'_>, outcome: Result<Ip, Trap>) -> Ip {
    match outcome {
        Ok(ip) => ip,
        Err(error) => {
            ctx.trap = Some(error);
            std::ptr::null()
        }
    }
}

/// `Call` in the common case, without calling anything (so that the handler needs no stack
/// frame of its own): the callee is translated (and has no native code: see
/// `CompiledFunc::quick_frame_size`), its frame template is at most two chunks, and the value
/// stack and the frame stack have room. Returns the callee's first
/// instruction, or `None` when the call needs [`call_in_general`].
#[inline(always)]
fn quick_call(ctx: &mut Ctx<'_>, ip: Ip, slot: &CodeSlot, base: Slot) -> Option<Ip> {
    const CHUNK: usize = FRAME_INIT_CHUNK;
    let code = slot.translated.get()?;
    let template = &code.frame_init;
    let depth = ctx.frames.len();
    let new_base = ctx.current.base + base as usize;
    if depth >= ctx.frame_limit
        || depth == ctx.frames.capacity()
        || slot.tier_up_due()
        || template.len() > 2 * CHUNK
        || ctx.values.len() < new_base + code.quick_frame_size.load(Ordering::Relaxed) as usize
    {
        return None;
    }
    // SAFETY: the template is a whole number of chunks (at most two), and the frame, which
    // `values` holds (checked above), covers the parameters and the template.
    unsafe {
        let from = template.as_ptr().cast::<[u64; CHUNK]>();
        let to = ctx
            .values
            .as_mut_ptr()
            .add(new_base + code.num_params as usize)
            .cast::<[u64; CHUNK]>();
        if !template.is_empty() {
            to.write_unaligned(from.read_unaligned());
        }
        if template.len() > CHUNK {
            to.add(1).write_unaligned(from.add(1).read_unaligned());
        }
    }
    flush_back_edges(ctx);
    slot.add_hotness(1);
    // SAFETY: `depth` is below the capacity (checked above), so the frame fits.
    unsafe {
        ctx.frames
            .as_mut_ptr()
            .add(depth)
            .write(ctx.current.save(ip));
        ctx.frames.set_len(depth + 1);
    }
    ctx.current.slot = slot;
    ctx.current.base = new_base;
    Some(code.code.as_ptr())
}

/// `Call` in every case (see [`quick_call`]), as a handler of its own.
#[inline(never)]
fn call_in_general(
    ip: Ip,
    _fp: *mut u64,
    mem_base: *mut u8,
    mem_len: u64,
    ctx: &mut Ctx<'_>,
    acc: u64,
    f32acc: f32,
    f64acc: f64,
) -> Done {
    // SAFETY: only the `Call` handler calls this, with its own instruction.
    let &Instr::Call { index, base } = (unsafe { &(*ip).instr }) else {
        // SAFETY: as just said.
        unsafe { std::hint::unreachable_unchecked() }
    };
    flush_back_edges(ctx);
    // SAFETY: as in the `Call` handler.
    let slot = unsafe { &*ctx.current.module_code.add(index as usize) };
    // SAFETY: `Call` is not a terminator, so an instruction follows.
    let next = unsafe { ip.add(1) };
    #[cfg(feature = "jit")]
    match call_native_if_any(ctx, ctx.current.instance, slot, base) {
        NativeCall::NotNative => {}
        NativeCall::Returned => {
            let fp = ctx.fp();
            let memory = ctx.current.memory();
            return dispatch(next, fp, memory, ctx, acc, f32acc, f64acc);
        }
        NativeCall::Trapped => return exit(),
    }
    match call_wasm(ctx, next, ctx.current.instance, slot, base) {
        Ok(entry) => {
            let memory = LinearMemory {
                base: mem_base,
                len: mem_len,
            };
            let fp = ctx.fp();
            dispatch(entry, fp, memory, ctx, acc, f32acc, f64acc)
        }
        Err(code) => trap_code(ctx, code),
    }
}

/// Calls the function in code slot `slot` of `instance` with its frame at slot `base` of the
/// running frame, the caller continuing at `ip`. Returns the callee's first instruction.
#[inline(always)]
fn call_wasm(
    ctx: &mut Ctx<'_>,
    ip: Ip,
    instance: u32,
    slot: &CodeSlot,
    base: Slot,
) -> Result<Ip, TrapCode> {
    if ctx.frames.len() >= ctx.frame_limit {
        return Err(TrapCode::StackOverflow);
    }
    let new_base = ctx.current.base + base as usize;
    // SAFETY: `ctx.inner` is valid (see `Ctx`) and no other reference to the store is live.
    let inner = unsafe { &*ctx.inner };
    let code = enter(inner, &mut ctx.values, instance, slot, new_base);
    #[cfg(feature = "jit")]
    tier_up_if_due(inner, instance, slot);
    ctx.frames.push(ctx.current.save(ip));
    let current = &mut ctx.current;
    current.switch_instance(inner, instance);
    current.slot = slot;
    current.base = new_base;
    Ok(code.code.as_ptr())
}

/// `CallImported`: calls imported function `func` of the running instance with its frame at
/// slot `base`. Returns where execution continues, or null after a trap.
#[inline(never)]
fn call_imported(ctx: &mut Ctx<'_>, ip: Ip, func: u32, base: Slot) -> Ip {
    // SAFETY: `ctx.inner` is valid (see `Ctx`) and no other reference to the store is live.
    let inner = unsafe { &*ctx.inner };
    let callee = inner.instances[ctx.current.instance as usize].funcs[func as usize];
    let outcome = call(ctx, ip, callee, base);
    continue_at(ctx, outcome)
}

/// The callee of `CallIndirect`: the store function at `index` of table `table`, checked to
/// have the module's type `type_index`.
#[inline(always)]
fn indirect_callee(
    ctx: &Ctx<'_>,
    table: u32,
    type_index: u32,
    index: u64,
) -> Result<u32, TrapCode> {
    let vm = ctx.current.vm();
    // SAFETY: the validator checked `table` and `type_index` against the module, and the VM
    // context has a table pointer per table and a signature per type.
    let (table, expected) = unsafe {
        (
            &**vm.tables.add(table as usize),
            *vm.signatures.add(type_index as usize),
        )
    };
    let index = index as u32 as u64;
    if index >= table.len {
        return Err(TrapCode::UndefinedElement);
    }
    // SAFETY: `index` is below the table's length, the number of elements at `base`.
    let element = unsafe { *table.base.add(index as usize) };
    let callee = element
        .checked_sub(1)
        .ok_or(TrapCode::UninitializedElement)? as u32;
    // SAFETY: `ctx.inner` is valid (see `Ctx`) and no other reference to the store is live.
    let inner = unsafe { &*ctx.inner };
    if inner.funcs[callee as usize].signature != expected {
        return Err(TrapCode::BadSignature);
    }
    Ok(callee)
}

/// `CallIndirect` in every case (the handler takes calls within the instance that
/// [`quick_call`] can make), as a handler of its own. It resolves the callee again, since a
/// handler's arguments have no room for it; this is the slow path. (Memory 0 is read again:
/// the callee may be in another instance, or a host function that grows it.)
#[inline(never)]
fn call_indirect_in_general(
    ip: Ip,
    fp: *mut u64,
    _mem_base: *mut u8,
    _mem_len: u64,
    ctx: &mut Ctx<'_>,
    acc: u64,
    f32acc: f32,
    f64acc: f64,
) -> Done {
    // SAFETY: only the `CallIndirect` handler calls this, with its own instruction.
    let &Instr::CallIndirect {
        table,
        type_index,
        index,
        base,
    } = (unsafe { &(*ip).instr })
    else {
        // SAFETY: as just said.
        unsafe { std::hint::unreachable_unchecked() }
    };
    // SAFETY: `index` is a slot of the running frame (module documentation).
    let index = unsafe { *fp.add(index as usize) };
    let callee = match indirect_callee(ctx, table, type_index, index) {
        Ok(callee) => callee,
        Err(code) => return trap_code(ctx, code),
    };
    flush_back_edges(ctx);
    // SAFETY: `CallIndirect` is not a terminator, so an instruction follows.
    let next = unsafe { ip.add(1) };
    match call(ctx, next, callee, base) {
        Ok(entry) => {
            // SAFETY: `ctx.inner` is valid (see `Ctx`) and no other reference to the store
            // is live.
            let inner = unsafe { &mut *ctx.inner };
            if let FuncKind::Wasm { entry: cached, .. } = &mut inner.funcs[callee as usize].kind
                && entry != next
            {
                // A Wasm callee was entered in the interpreter (one that ran as native code
                // returned to `next`): `entry` is its first instruction.
                *cached = entry;
            }
            let fp = ctx.fp();
            let memory = ctx.current.memory();
            dispatch(entry, fp, memory, ctx, acc, f32acc, f64acc)
        }
        Err(error) => {
            ctx.trap = Some(error);
            exit()
        }
    }
}

/// Calls store function `callee` with its frame at slot `base` of the running frame, the
/// caller continuing at `ip` afterwards. An interpreted Wasm callee gets a new frame
/// (switching instance if need be) and the returned pointer is its first instruction; native
/// code and host functions run in place and the returned pointer is `ip`.
fn call(ctx: &mut Ctx<'_>, ip: Ip, callee: u32, base: Slot) -> Result<Ip, Trap> {
    // SAFETY: `ctx.inner` is valid (see `Ctx`) and no other reference to the store is live;
    // `inner` is not used after the host call below.
    let inner = unsafe { &mut *ctx.inner };
    match inner.funcs[callee as usize].kind {
        FuncKind::Wasm { instance, code, .. } => {
            // SAFETY: the module of an instance of the store keeps its code slots alive.
            let slot = unsafe { &*code };
            #[cfg(feature = "jit")]
            if let Some(entry) = native_callee(ctx, instance, slot) {
                call_native(ctx, entry, base)?;
                return Ok(ip);
            }
            Ok(call_wasm(ctx, ip, instance, slot, base)?)
        }
        FuncKind::Host { .. } => {
            let new_base = ctx.current.base + base as usize;
            let ty = &inner.funcs[callee as usize].ty;
            let width = ty.params().len().max(ty.results().len());
            let values = &mut ctx.values;
            if values.len() < new_base + width {
                values.resize(new_base + width, 0);
            }
            let mut slots = values[new_base..new_base + width].to_vec();
            let caller = ctx.current.instance;
            // A host function that calls back into Wasm starts counting from the depth here.
            let activation_depth = inner.call_depth;
            inner.call_depth += ctx.frames.len();
            // SAFETY: `host` is the store of this activation, valid while it runs; no
            // reference made from `ctx.inner` is used from here on (the host function gets the
            // whole store, and may grow memories or re-enter).
            let result = unsafe { (*ctx.host).call_host(callee, Some(caller), &mut slots) };
            // SAFETY: as above; `inner` is derived again now that the host is done.
            ctx.inner = unsafe { (*ctx.host).inner_ptr() };
            // SAFETY: `ctx.inner` is valid and no other reference to the store is live.
            unsafe { (*ctx.inner).call_depth = activation_depth };
            result.map_err(Trap::Error)?;
            ctx.values[new_base..new_base + width].copy_from_slice(&slots);
            Ok(ip)
        }
    }
}

/// The native code to run the function in code slot `slot` of store instance `instance`
/// with: its native entry when it has one; on its first call, when the engine's strategy
/// wants it native, its code compiled now. `None` runs it in the interpreter.
#[cfg(feature = "jit")]
#[inline(always)]
fn native_callee(ctx: &Ctx<'_>, instance: u32, slot: &CodeSlot) -> Option<NativeEntry> {
    if slot.native.entry().is_null() && slot.translated.get().is_some() {
        return None;
    }
    // SAFETY: `ctx.inner` is valid (see `Ctx`) and no other reference to the store is live.
    let inner = unsafe { &*ctx.inner };
    let module = &inner.instances[instance as usize].module;
    crate::jit::native_entry_of(inner, instance, module.func_index(slot))
}

/// Under `Strategy::Tiered`, asks for native code for the function in code slot `slot` of
/// store instance `instance` once it is hot enough. (The quick call path declines such a
/// callee, so that its first hot call comes here.)
#[cfg(feature = "jit")]
#[inline(always)]
fn tier_up_if_due(inner: &StoreInner, instance: u32, slot: &CodeSlot) {
    if slot.tier_up_due() {
        tier_up(inner, instance, slot);
    }
}

#[cfg(feature = "jit")]
#[cold]
#[inline(never)]
fn tier_up(inner: &StoreInner, instance: u32, slot: &CodeSlot) {
    let module = &inner.instances[instance as usize].module;
    crate::jit::tier_up(module, module.func_index(slot));
}

/// What [`call_native_if_any`] did.
#[cfg(feature = "jit")]
enum NativeCall {
    /// The callee has no native code to run: interpret it.
    NotNative,
    /// It ran natively and returned; its results are in place.
    Returned,
    /// It ran natively and trapped; the trap is in `ctx.trap`.
    Trapped,
}

/// Runs the function in code slot `slot` of store instance `instance` natively if it has
/// native code (see [`native_callee`]), with its frame at slot `base`. Its own function, so
/// that the handler calling it keeps no stack object alive (a `NativeEntry` is returned in
/// memory) and its dispatch to the next handler stays a sibling call.
#[cfg(feature = "jit")]
#[inline(never)]
fn call_native_if_any(ctx: &mut Ctx<'_>, instance: u32, slot: &CodeSlot, base: Slot) -> NativeCall {
    let Some(entry) = native_callee(ctx, instance, slot) else {
        return NativeCall::NotNative;
    };
    match call_native(ctx, entry, base) {
        Ok(()) => NativeCall::Returned,
        Err(trap) => {
            ctx.trap = Some(trap);
            NativeCall::Trapped
        }
    }
}

/// Calls native code with its arguments (and then its results) in the running frame's slots
/// from `base`, like a host function.
#[cfg(feature = "jit")]
#[inline(never)]
fn call_native(ctx: &mut Ctx<'_>, entry: NativeEntry, base: Slot) -> Result<(), Trap> {
    if ctx.frames.len() >= ctx.frame_limit {
        return Err(TrapCode::StackOverflow.into());
    }
    let new_base = ctx.current.base + base as usize;
    let end = new_base + entry.slots();
    if ctx.values.len() < end {
        grow_values(&mut ctx.values, end);
    }
    // A function's own native code returns: only OSR entries exit to the interpreter.
    run_native(ctx, entry, new_base, ctx.frames.len() + 1)
        .map(drop)
        .map_err(Trap::Error)
}

/// Runs native code on the slots of `ctx.values` from `start` (which holds
/// `entry.slots()` of them), with `depth` interpreted frames of this activation below it.
#[cfg(feature = "jit")]
fn run_native(
    ctx: &mut Ctx<'_>,
    entry: NativeEntry,
    start: usize,
    depth: usize,
) -> Result<Completion> {
    // SAFETY: `ctx.inner` is valid (see `Ctx`) and no other reference to the store is live.
    let inner = unsafe { &mut *ctx.inner };
    // Interpreted code that native code calls counts its depth from here.
    let activation_depth = inner.call_depth;
    inner.call_depth += depth;
    let host = ctx.host;
    let end = start + entry.slots();
    // SAFETY: `host` is the store of this activation, valid while it runs; no reference made
    // from `ctx.inner` is used from here on. Native code reaches the store only through it;
    // `ctx.values` belongs to this activation, not to the store.
    let result = unsafe { (*host).call_native(entry, &mut ctx.values[start..end]) };
    // SAFETY: as above; `inner` is derived again now that native code has returned.
    ctx.inner = unsafe { (*host).inner_ptr() };
    // SAFETY: `ctx.inner` is valid and no other reference to the store is live.
    unsafe { (*ctx.inner).call_depth = activation_depth };
    result
}

/// A backward branch to `ip` took the activation's loop count to its next look at loop OSR
/// (see `Ctx::loop_budget`): continues at `ip` in the interpreter or, when the running
/// function is hot and native code for the loop is ready, lets that code run the loop nest,
/// and then returns from the frame or goes on after the nest. A handler of its own, reached
/// by a tail call.
#[cfg(feature = "jit")]
#[cold]
#[inline(never)]
fn hot_loop(
    ip: Ip,
    fp: *mut u64,
    mem_base: *mut u8,
    mem_len: u64,
    ctx: &mut Ctx<'_>,
    acc: u64,
    f32acc: f32,
    f64acc: f64,
) -> Done {
    match enter_osr(ctx, ip) {
        Osr::NotEntered => {
            let memory = LinearMemory {
                base: mem_base,
                len: mem_len,
            };
            dispatch(ip, fp, memory, ctx, acc, f32acc, f64acc)
        }
        Osr::Returned => {
            // Native code may have grown the memory.
            let memory = ctx.current.memory();
            return_to_caller(ctx, memory, acc, f32acc, f64acc)
        }
        Osr::Exited(ip) => {
            // As above; the accumulators are dead at a label.
            let memory = ctx.current.memory();
            dispatch(ip, ctx.fp(), memory, ctx, acc, f32acc, f64acc)
        }
        Osr::Trapped => exit(),
    }
}

/// What [`enter_osr`] did.
#[cfg(feature = "jit")]
enum Osr {
    /// The frame goes on in the interpreter.
    NotEntered,
    /// Native code ran the frame to its return; the results are in its first slots.
    Returned,
    /// Native code ran the frame's loop nest and gave the frame back at this instruction,
    /// with the Wasm state in its slots.
    Exited(Ip),
    /// Native code ran the frame and trapped; the trap is in `ctx.trap`.
    Trapped,
}

/// Loop OSR: at the loop header `target` of the running function, asks for the loop's OSR
/// entry once the function is hot, and enters it with the frame's slots once it is compiled
/// (with synchronous tier-up it is compiled on the spot). While `Ctx::osr_quick_looks`
/// lasts, it only enters an entry that is ready.
#[cfg(feature = "jit")]
#[inline(never)]
fn enter_osr(ctx: &mut Ctx<'_>, target: Ip) -> Osr {
    use crate::jit::OsrLook;
    flush_back_edges(ctx);
    let quick = ctx.osr_quick_looks > 0;
    if quick {
        ctx.osr_quick_looks -= 1;
        look_at_next_back_edge(ctx);
    } else {
        ctx.loop_budget += ctx.osr_check_interval;
        ctx.loop_budget_flushed += ctx.osr_check_interval;
    }
    let slot = ctx.current.slot();
    let queued = slot.tier_up_at.load(Ordering::Relaxed) == u32::MAX;
    if !(queued || slot.tier_up_due()) {
        return Osr::NotEntered;
    }
    let Some(code) = slot.translated.get() else {
        return Osr::NotEntered;
    };
    // SAFETY: `target` is an instruction of the running function's code.
    let header = unsafe { target.offset_from(code.code.as_ptr()) } as u32;
    let Some(point) = code.osr_point_at(header) else {
        return Osr::NotEntered;
    };
    // SAFETY: `ctx.inner` is valid (see `Ctx`) and no other reference to the store is live.
    let inner = unsafe { &*ctx.inner };
    let instance = ctx.current.instance;
    let module = &inner.instances[instance as usize].module;
    let func = module.func_index(slot);
    // The function's own code waits for its next call (which queues it): the frame needs
    // the loop's entry, and a compile thread has hotter functions to compile than one that
    // may never be called again.
    let look = if quick {
        crate::jit::ready_osr_entry(module, func, point).map_or(OsrLook::NotReady, OsrLook::Ready)
    } else {
        crate::jit::osr_entry(module, func, point)
    };
    let entry = match look {
        OsrLook::Ready(entry) => entry,
        OsrLook::NotReady => return Osr::NotEntered,
        OsrLook::OuterLoopReady => {
            ctx.osr_quick_looks = crate::jit::OSR_QUICK_LOOKS;
            look_at_next_back_edge(ctx);
            return Osr::NotEntered;
        }
    };
    let loop_index = code.osr_points[point].loop_index;
    module.record_osr_event(func, loop_index, TierEventKind::OsrEntered, None);
    module.engine.record_osr_transfer();
    let entry = NativeEntry::osr(inner, instance, entry, code.frame_size as usize);
    // The native code takes this frame's place: only its callers are below it.
    match run_native(ctx, entry, ctx.current.base, ctx.frames.len()) {
        Ok(Completion::Returned) => Osr::Returned,
        Ok(Completion::ExitedAt(label)) => match osr_exit_target(ctx, label) {
            Some(ip) => {
                // SAFETY: `ctx.inner` is valid and no other reference to the store is live
                // (it is derived again: native code may have added instances to the store).
                let inner = unsafe { &*ctx.inner };
                let module = &inner.instances[instance as usize].module;
                module.record_osr_event(func, loop_index, TierEventKind::OsrExited, None);
                module.engine.record_osr_exit();
                Osr::Exited(ip)
            }
            None => {
                let error = Error::host("an OSR entry exited to no instruction");
                ctx.trap = Some(Trap::Osr(error));
                Osr::Trapped
            }
        },
        Err(error) => {
            ctx.trap = Some(Trap::Osr(error));
            Osr::Trapped
        }
    }
}

/// Instruction `label` of the running function, where an OSR entry gave its frame back.
#[cfg(feature = "jit")]
fn osr_exit_target(ctx: &Ctx<'_>, label: u32) -> Option<Ip> {
    let code = ctx.current.slot().translated.get()?;
    code.code.get(label as usize).map(std::ptr::from_ref)
}

/// Makes the next backward jump look at loop OSR again: a budget of zero, which any jump
/// takes below zero. Only right after [`flush_back_edges`], so that no iteration goes
/// uncounted.
#[cfg(feature = "jit")]
fn look_at_next_back_edge(ctx: &mut Ctx<'_>) {
    ctx.loop_budget = 0;
    ctx.loop_budget_flushed = 0;
}

/// WebAssembly's float semantics where Rust's differ.
mod float {
    use crate::error::TrapCode;

    /// Sets the quiet bit of a NaN: rounding operators must return an arithmetic NaN, and the
    /// library versions pass a signalling NaN through unchanged.
    pub fn quiet32(x: f32) -> f32 {
        if x.is_nan() {
            f32::from_bits(x.to_bits() | 0x0040_0000)
        } else {
            x
        }
    }

    /// As [`quiet32`].
    pub fn quiet64(x: f64) -> f64 {
        if x.is_nan() {
            f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000)
        } else {
            x
        }
    }

    /// Defines Wasm's `fmin` and `fmax` for one float type: NaN if either operand is NaN,
    /// and -0 below +0 (Rust's `min`/`max` return the other operand for NaN and may return
    /// either zero).
    macro_rules! min_max {
        ($min:ident, $max:ident, $float:ty) => {
            pub fn $min(x: $float, y: $float) -> $float {
                if x.is_nan() || y.is_nan() {
                    x + y
                } else if x == y {
                    <$float>::from_bits(x.to_bits() | y.to_bits())
                } else {
                    x.min(y)
                }
            }

            pub fn $max(x: $float, y: $float) -> $float {
                if x.is_nan() || y.is_nan() {
                    x + y
                } else if x == y {
                    <$float>::from_bits(x.to_bits() & y.to_bits())
                } else {
                    x.max(y)
                }
            }
        };
    }

    min_max!(min32, max32, f32);
    min_max!(min64, max64, f64);

    /// The trapping float-to-int conversion: `x` truncated, when it lies strictly between
    /// `below` and `above` (the first values out of the target's range on either side).
    #[inline(always)]
    pub fn trunc(x: f64, below: f64, above: f64) -> Result<f64, TrapCode> {
        if x.is_nan() {
            return Err(TrapCode::BadConversionToInteger);
        }
        if x <= below || x >= above {
            return Err(TrapCode::IntegerOverflow);
        }
        Ok(x.trunc())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use crate::{Engine, Instance, Module, Store};

    /// The hotness counter counts every entry and every loop iteration (taken backward
    /// branch), flushed when the function calls or returns.
    #[test]
    fn hotness_counts_entries_and_loop_iterations() {
        let engine = Engine::default();
        let mut store = Store::new(&engine, ());
        let wasm = wat::parse_str(
            r#"(module
             (func $leaf)
             (func (export "count") (param $n i32) (result i32)
               (local $i i32)
               (loop $again
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $again (i32.lt_u (local.get $i) (local.get $n))))
               (call $leaf)
               (local.get $i)))"#,
        )
        .unwrap();
        let module = Module::new(&engine, wasm).unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let count = instance
            .get_typed_func::<i32, i32>(&mut store, "count")
            .unwrap();
        assert_eq!(count.call(&mut store, 1000).unwrap(), 1000);
        assert_eq!(count.call(&mut store, 10).unwrap(), 10);
        let hotness = |func| {
            module
                .inner()
                .code_slot(func)
                .hotness
                .load(Ordering::Relaxed)
        };
        // Two entries, 999 + 9 backward branches.
        assert_eq!(hotness(1), 2 + 999 + 9);
        assert_eq!(hotness(0), 2);
    }

    /// A call from native code counts [`NATIVE_CALLER_HOTNESS`] toward the callee's tier-up,
    /// a call from interpreted code one.
    #[cfg(all(feature = "jit", target_arch = "x86_64"))]
    #[test]
    fn a_call_from_native_code_counts_more_hotness_than_an_interpreted_one() {
        let wasm = wat::parse_str(
            r#"(module
             (func $calls_three (export "calls_three") (result i32)
               (i32.add (call $leaf) (i32.add (call $leaf) (call $leaf))))
             (func $leaf (result i32) (i32.const 1)))"#,
        )
        .unwrap();
        let hotness_of_leaf = |strategy| {
            let mut config = crate::Config::new();
            config.strategy(strategy);
            let engine = Engine::new(&config);
            let module = Module::new(&engine, &wasm).unwrap();
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let calls_three = instance
                .get_typed_func::<(), i32>(&mut store, "calls_three")
                .unwrap();
            assert_eq!(calls_three.call(&mut store, ()).unwrap(), 3);
            module.inner().code_slot(1).hotness.load(Ordering::Relaxed)
        };
        assert_eq!(hotness_of_leaf(crate::Strategy::Interpreter), 3);
        // `Mixed` compiles the first defined function and interprets the second.
        assert_eq!(
            hotness_of_leaf(crate::Strategy::Mixed),
            3 * super::NATIVE_CALLER_HOTNESS
        );
    }
}
