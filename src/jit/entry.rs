//! The glue between Rust and native code: entering native code from the host (through the
//! engine's array trampoline for the function's signature), the `extern "C"` helpers native
//! code calls the runtime through, and the layout of the structures native code reads.
//!
//! A helper reaches the store through the thread's current [`Activation`], which [`invoke`]
//! sets up around every entry into native code. Errors and panics in a helper do not unwind
//! through native frames: the helper keeps them in the activation and returns
//! [`status::ERROR`], which every native caller passes on, and [`invoke`] turns back into the
//! error (or resumes the panic) once native code has returned.

use std::any::Any;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use cranelift_codegen::ir::LibCall;

use crate::error::{Error, Result, TrapCode, WasmBacktrace};
use crate::runtime::store::{FuncKind, Store, StoreInner};
use crate::runtime::vmctx::VmContext;

use super::bulk::{self, BulkOp};
use super::{NativeCode, array_trampoline, native_code, published_code, status, wants_native};

/// Offsets and sizes of what native code reads, as Rust lays it out.
pub(super) mod layout {
    use std::mem::{offset_of, size_of};

    use crate::jit::NativeSlot;
    use crate::module::CodeSlot;
    use crate::runtime::vmctx::{VmContext, VmFuncRef, VmFuncRefs, VmMemory, VmTable};

    pub const VMCTX_MEMORY: usize = offset_of!(VmContext, memory);
    pub const VMCTX_GLOBALS: usize = offset_of!(VmContext, globals);
    pub const VMCTX_TABLES: usize = offset_of!(VmContext, tables);
    pub const VMCTX_FUNCS: usize = offset_of!(VmContext, funcs);
    pub const VMCTX_CODE: usize = offset_of!(VmContext, code);
    pub const VMCTX_STACK_LIMIT: usize = offset_of!(VmContext, stack_limit);
    pub const VMCTX_FUNC_REFS: usize = offset_of!(VmContext, func_refs);
    pub const FUNC_REFS_BASE: usize = offset_of!(VmFuncRefs, base);
    pub const FUNC_REF_SIZE: usize = size_of::<VmFuncRef>();
    pub const FUNC_REF_SIGNATURE: usize = offset_of!(VmFuncRef, signature);
    pub const FUNC_REF_VMCTX: usize = offset_of!(VmFuncRef, vmctx);
    pub const FUNC_REF_CODE: usize = offset_of!(VmFuncRef, code);
    pub const VMMEMORY_BASE: usize = offset_of!(VmMemory, base);
    pub const VMMEMORY_LEN: usize = offset_of!(VmMemory, len);
    pub const VMTABLE_BASE: usize = offset_of!(VmTable, base);
    pub const VMTABLE_LEN: usize = offset_of!(VmTable, len);
    pub const CODE_SLOT_SIZE: usize = size_of::<CodeSlot>();
    /// Where a code slot's native entry pointer is.
    pub const CODE_SLOT_NATIVE_ENTRY: usize =
        offset_of!(CodeSlot, native) + offset_of!(NativeSlot, entry);
}

/// An array trampoline, one per signature: calls the body (of that signature) at the second
/// argument with the VM context and the arguments in the slot array, writes the results over
/// them, returns the status.
type ArrayEntry = unsafe extern "C" fn(*mut VmContext, *const u8, *mut u64) -> u32;

/// Host stack kept free below native code: room for a helper and for the interpreter's own
/// reserve (`HOST_STACK_RESERVE` in the executor) when a helper calls into it.
const NATIVE_STACK_RESERVE: usize = 384 * 1024;

/// The stack native code may use when the thread's stack size is unknown.
const UNKNOWN_STACK_BUDGET: usize = 1024 * 1024;

/// The addresses of the helpers, for the translator to call.
pub(super) struct Helpers {
    /// [`call_store_func`].
    pub call_store_func: usize,
    /// [`memory_grow`].
    pub memory_grow: usize,
    /// [`bulk()`].
    pub bulk: usize,
    /// [`table_grow`].
    pub table_grow: usize,
    /// [`record_frame`].
    pub record_frame: usize,
}

impl Helpers {
    pub fn get() -> Helpers {
        Helpers {
            call_store_func: call_store_func as *const () as usize,
            memory_grow: memory_grow as *const () as usize,
            bulk: bulk as *const () as usize,
            table_grow: table_grow as *const () as usize,
            record_frame: record_frame as *const () as usize,
        }
    }
}

/// What the helpers need of a store; a trait object, so helpers are not generic over the
/// store's host data.
trait Runtime {
    /// Calls store function `func` for store instance `caller`, with arguments and results in
    /// `slots`.
    fn call(&mut self, func: u32, caller: u32, slots: &mut [u64]) -> Result<()>;
    /// Grows memory 0 of store instance `instance`: the old size in pages, or `u32::MAX`.
    fn memory_grow(&mut self, instance: u32, delta: u32) -> u32;
    /// Runs a bulk memory or table operator for store instance `instance`.
    fn bulk(&mut self, instance: u32, op: BulkOp, operands: &[u64]) -> Result<()>;
    /// Grows table `table` of store instance `instance`: the old size, or `u32::MAX`.
    fn table_grow(&mut self, instance: u32, table: u32, init: u64, delta: u32) -> u32;
}

impl<T> Runtime for Store<T> {
    fn call(&mut self, func: u32, caller: u32, slots: &mut [u64]) -> Result<()> {
        crate::runtime::func::call_slots_from(self, func, caller, slots)
    }

    fn memory_grow(&mut self, instance: u32, delta: u32) -> u32 {
        let inner = &mut self.inner;
        let memory = inner.instances[instance as usize].memories[0];
        let max_pages = inner.engine.config().max_memory_pages;
        inner.memories[memory as usize]
            .grow(delta, max_pages)
            .unwrap_or(u32::MAX)
    }

    fn bulk(&mut self, instance: u32, op: BulkOp, operands: &[u64]) -> Result<()> {
        bulk::run(&mut self.inner, instance, op, operands)
    }

    fn table_grow(&mut self, instance: u32, table: u32, init: u64, delta: u32) -> u32 {
        bulk::table_grow(&mut self.inner, instance, table, init, delta)
    }
}

/// One entry from Rust into native code, as the helpers see it.
struct Activation {
    /// The store that entered; borrowed mutably by [`invoke`] for the whole activation.
    runtime: *mut dyn Runtime,
    /// The error a helper failed with.
    error: Option<Error>,
    /// The panic a helper caught.
    panic: Option<Box<dyn Any + Send>>,
    /// The native frames a trap or error left so far, innermost first: (store instance,
    /// function in the module's index space).
    frames: Vec<(u32, u32)>,
}

thread_local! {
    /// The innermost activation of native code on this thread, or null.
    static ACTIVATION: Cell<*mut Activation> = const { Cell::new(std::ptr::null_mut()) };
}

/// A function with native code, ready to be entered.
#[derive(Clone, Copy)]
pub(crate) struct NativeEntry {
    /// The VM context of the function's instance.
    vmctx: *mut VmContext,
    /// The function's native body.
    body: *const u8,
    /// The engine's array trampoline for the function's signature, or an OSR entry (which
    /// has the same signature and ignores `body`).
    array_entry: *const u8,
    /// The slots its arguments and results need: the larger of the two counts (for an OSR
    /// entry, the interpreter frame's size).
    slots: usize,
}

impl NativeEntry {
    /// The OSR entry `code` (see [`super::osr_entry`]) of a function of store instance
    /// `instance`, to run on an interpreter frame of `frame_size` slots.
    pub(crate) fn osr(
        inner: &StoreInner,
        instance: u32,
        code: *const u8,
        frame_size: usize,
    ) -> NativeEntry {
        NativeEntry {
            vmctx: inner.instances[instance as usize].vmctx.get(),
            body: std::ptr::null(),
            array_entry: code,
            slots: frame_size,
        }
    }

    /// The slots the function's arguments and results need.
    pub(crate) fn slots(&self) -> usize {
        self.slots
    }
}

/// The native code to run store function `func` with, if it is a Wasm function that has
/// native code or (when the strategy wants it native) gets some now.
pub(crate) fn native_entry<T>(store: &Store<T>, func: u32) -> Option<NativeEntry> {
    let inner = &store.inner;
    let FuncKind::Wasm {
        instance, index, ..
    } = inner.funcs[func as usize].kind
    else {
        return None;
    };
    native_entry_of(inner, instance, index)
}

/// As [`native_entry`], for defined function `func` (module index space) of store instance
/// `instance`.
pub(crate) fn native_entry_of(inner: &StoreInner, instance: u32, func: u32) -> Option<NativeEntry> {
    let instance = &inner.instances[instance as usize];
    let module = &instance.module;
    if module.engine.config().strategy == crate::Strategy::Interpreter {
        return None;
    }
    let code: &NativeCode = match published_code(module, func) {
        Some(code) => code,
        None if wants_native(module, func) => native_code(module, func)?,
        None => return None,
    };
    let array_entry = array_trampoline(module, func)?;
    let ty = module.func_type(func);
    Some(NativeEntry {
        vmctx: instance.vmctx.get(),
        body: code.body(),
        array_entry,
        slots: ty.params().len().max(ty.results().len()),
    })
}

/// How native code run by [`invoke`] finished, when it did not trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Completion {
    /// It returned, leaving the results in the slots.
    Returned,
    /// An OSR entry gave its frame back to the interpreter, which goes on at this instruction
    /// with the Wasm state in the frame's slots (see [`super::translate`]).
    ExitedAt(u32),
}

/// Runs native code with the arguments in `slots` (at least as many as the function's
/// parameters and results), leaving the results there; or an OSR entry on an interpreter
/// frame's slots.
pub(crate) fn invoke<T>(
    store: &mut Store<T>,
    entry: NativeEntry,
    slots: &mut [u64],
) -> Result<Completion> {
    let marker = 0u8;
    let sp = std::ptr::addr_of!(marker) as usize;
    let remaining = stacker::remaining_stack().unwrap_or(UNKNOWN_STACK_BUDGET);
    if remaining < 2 * NATIVE_STACK_RESERVE {
        return Err(Error::trap(TrapCode::StackOverflow));
    }
    let limit = sp - remaining + NATIVE_STACK_RESERVE;
    let runtime: *mut (dyn Runtime + '_) = store;
    // SAFETY: only the lifetime bound changes. The pointer is used by helpers while native
    // code runs, inside this call, during which `store` is borrowed and `T` is alive.
    let runtime: *mut (dyn Runtime + 'static) = unsafe { std::mem::transmute(runtime) };
    let mut activation = Activation {
        runtime,
        error: None,
        panic: None,
        frames: Vec::new(),
    };
    // SAFETY: `entry.vmctx` is the VM context of an instance of `store` (see `native_entry`),
    // a live cell that nothing borrows while this thread holds the store.
    let saved_limit = unsafe { std::mem::replace(&mut (*entry.vmctx).stack_limit, limit) };
    let previous = ACTIVATION.replace(&raw mut activation);
    // SAFETY: `array_entry` is the engine's trampoline for the function's signature (see
    // `native_entry`), of type `ArrayEntry` in the host calling convention, and `body` the
    // function's native body, of that signature; or it is an OSR entry of that type, which
    // ignores `body` and reads and writes the interpreter frame's slots, all of which
    // `slots` is (`NativeEntry::osr`). They stay mapped while the function's module lives
    // (the trampoline in the module's engine, which the module keeps, an OSR entry in its
    // code slot), and the store's instance keeps the module. `slots` has room for every
    // parameter and result, and the VM context's pointers are valid for the store's
    // lifetime.
    let status = unsafe {
        let array_entry: ArrayEntry = std::mem::transmute(entry.array_entry);
        array_entry(entry.vmctx, entry.body, slots.as_mut_ptr())
    };
    ACTIVATION.set(previous);
    // SAFETY: as above; the activation is over, so no native code reads the limit.
    unsafe { (*entry.vmctx).stack_limit = saved_limit };
    if let Some(panic) = activation.panic {
        resume_unwind(panic);
    }
    if status == status::OK {
        return Ok(Completion::Returned);
    }
    if let Some(label) = status::exit_label(status) {
        return Ok(Completion::ExitedAt(label));
    }
    let inner = &store.inner;
    let backtrace = || {
        let frames = activation.frames.iter();
        WasmBacktrace::new(
            frames
                .map(|&(instance, func)| inner.frame_info(instance, func))
                .collect(),
        )
    };
    Err(match status::trap(status) {
        Some(code) => Error::trap_with_backtrace(code, backtrace()),
        None => match activation.error.take() {
            Some(error) => error.with_outer_frames(backtrace),
            None => Error::host("native code failed without an error"),
        },
    })
}

/// Runs `f` on the current activation's store; returns `f`'s value, or `failed` after
/// keeping its error or panic in the activation.
fn with_runtime<R>(failed: R, f: impl FnOnce(&mut dyn Runtime) -> Result<R>) -> R {
    let activation = ACTIVATION.get();
    if activation.is_null() {
        debug_assert!(false, "a helper ran outside an activation of native code");
        return failed;
    }
    // SAFETY: helpers are only called by native code, which only runs inside `invoke`, so the
    // pointer is the innermost live activation on this thread. `invoke` does not touch it or
    // the store until native code returns, and a nested `invoke` installs its own.
    let activation = unsafe { &mut *activation };
    // SAFETY: as above; the store is borrowed by `invoke` for the whole activation.
    let runtime = unsafe { &mut *activation.runtime };
    match catch_unwind(AssertUnwindSafe(|| f(runtime))) {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => {
            activation.error = Some(error);
            failed
        }
        Err(panic) => {
            activation.panic = Some(panic);
            failed
        }
    }
}

/// Helper: calls store function `func` for `vmctx`'s instance through the runtime, with
/// arguments and results in `len` slots at `slots`: imports, functions without native code,
/// and `call_indirect` callees that native code cannot call directly.
extern "C" fn call_store_func(vmctx: *mut VmContext, func: u32, slots: *mut u64, len: u32) -> u32 {
    with_runtime(status::ERROR, |runtime| {
        // SAFETY: native code passes its own VM context, and a slot array of `len` slots.
        let (instance, slots) = unsafe {
            (
                (*vmctx).instance,
                std::slice::from_raw_parts_mut(slots, len as usize),
            )
        };
        runtime.call(func, instance, slots)?;
        Ok(status::OK)
    })
}

/// Helper: `memory.grow` of memory 0 of `vmctx`'s instance.
extern "C" fn memory_grow(vmctx: *mut VmContext, delta: u32) -> u32 {
    with_runtime(u32::MAX, |runtime| {
        // SAFETY: native code passes its own VM context.
        let instance = unsafe { (*vmctx).instance };
        Ok(runtime.memory_grow(instance, delta))
    })
}

/// Helper: the bulk operator with code `op` (a [`BulkOp`]) for `vmctx`'s instance, with its
/// operands in the slots at `operands`.
extern "C" fn bulk(vmctx: *mut VmContext, op: u32, operands: *const u64) -> u32 {
    with_runtime(status::ERROR, |runtime| {
        let op = BulkOp::from_code(op).ok_or_else(|| Error::host("unknown bulk operator"))?;
        // SAFETY: native code passes its own VM context, and a slot array of the operator's
        // arity (see `FuncTranslator::bulk`).
        let (instance, operands) = unsafe {
            (
                (*vmctx).instance,
                std::slice::from_raw_parts(operands, op.arity()),
            )
        };
        runtime.bulk(instance, op, operands)?;
        Ok(status::OK)
    })
}

/// Helper: `table.grow` of table `table` of `vmctx`'s instance.
extern "C" fn table_grow(vmctx: *mut VmContext, table: u32, init: u64, delta: u32) -> u32 {
    with_runtime(u32::MAX, |runtime| {
        // SAFETY: native code passes its own VM context.
        let instance = unsafe { (*vmctx).instance };
        Ok(runtime.table_grow(instance, table, init, delta))
    })
}

/// Helper: records defined function `func` (module index space) of `vmctx`'s instance as
/// the next frame of the backtrace of the trap or error that native code is returning.
extern "C" fn record_frame(vmctx: *mut VmContext, func: u32) -> u32 {
    let activation = ACTIVATION.get();
    if activation.is_null() {
        debug_assert!(false, "a helper ran outside an activation of native code");
        return status::OK;
    }
    // SAFETY: as in `with_runtime`: native code only runs inside `invoke`, whose activation
    // this is; nothing else touches it until native code returns. Native code passes its own
    // VM context.
    unsafe { (*activation).frames.push(((*vmctx).instance, func)) };
    status::OK
}

/// The address of a Rust implementation of a Cranelift libcall, for relocations.
pub(super) fn libcall_address(libcall: LibCall) -> Option<usize> {
    extern "C" fn ceil_f32(x: f32) -> f32 {
        x.ceil()
    }
    extern "C" fn ceil_f64(x: f64) -> f64 {
        x.ceil()
    }
    extern "C" fn floor_f32(x: f32) -> f32 {
        x.floor()
    }
    extern "C" fn floor_f64(x: f64) -> f64 {
        x.floor()
    }
    extern "C" fn trunc_f32(x: f32) -> f32 {
        x.trunc()
    }
    extern "C" fn trunc_f64(x: f64) -> f64 {
        x.trunc()
    }
    extern "C" fn nearest_f32(x: f32) -> f32 {
        x.round_ties_even()
    }
    extern "C" fn nearest_f64(x: f64) -> f64 {
        x.round_ties_even()
    }
    let address = match libcall {
        LibCall::CeilF32 => ceil_f32 as *const (),
        LibCall::CeilF64 => ceil_f64 as *const (),
        LibCall::FloorF32 => floor_f32 as *const (),
        LibCall::FloorF64 => floor_f64 as *const (),
        LibCall::TruncF32 => trunc_f32 as *const (),
        LibCall::TruncF64 => trunc_f64 as *const (),
        LibCall::NearestF32 => nearest_f32 as *const (),
        LibCall::NearestF64 => nearest_f64 as *const (),
        _ => return None,
    };
    Some(address as usize)
}
