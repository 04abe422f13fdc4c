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
use std::sync::atomic::Ordering;

use cranelift_codegen::ir::LibCall;

use crate::engine::SignatureId;
use crate::error::{Error, Result, TrapCode};
use crate::runtime::store::{FuncKind, Store};
use crate::runtime::vmctx::VmContext;

use super::bulk::{self, BulkOp};
use super::{NativeCode, array_trampoline, native_code, status};

/// Offsets and sizes of what native code reads, as Rust lays it out.
pub(super) mod layout {
    use std::mem::{offset_of, size_of};

    use crate::jit::NativeSlot;
    use crate::module::CodeSlot;
    use crate::runtime::vmctx::{VmContext, VmMemory, VmTable};

    pub const VMCTX_MEMORY: usize = offset_of!(VmContext, memory);
    pub const VMCTX_GLOBALS: usize = offset_of!(VmContext, globals);
    pub const VMCTX_TABLES: usize = offset_of!(VmContext, tables);
    pub const VMCTX_FUNCS: usize = offset_of!(VmContext, funcs);
    pub const VMCTX_CODE: usize = offset_of!(VmContext, code);
    pub const VMCTX_STACK_LIMIT: usize = offset_of!(VmContext, stack_limit);
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
    /// [`call`].
    pub call: usize,
    /// [`call_indirect`].
    pub call_indirect: usize,
    /// [`resolve_indirect`].
    pub resolve_indirect: usize,
    /// [`memory_grow`].
    pub memory_grow: usize,
    /// [`bulk()`].
    pub bulk: usize,
    /// [`table_grow`].
    pub table_grow: usize,
}

impl Helpers {
    pub fn get() -> Helpers {
        Helpers {
            call: call as *const () as usize,
            call_indirect: call_indirect as *const () as usize,
            resolve_indirect: resolve_indirect as *const () as usize,
            memory_grow: memory_grow as *const () as usize,
            bulk: bulk as *const () as usize,
            table_grow: table_grow as *const () as usize,
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
    /// The signature of store function `func`.
    fn signature(&self, func: u32) -> SignatureId;
    /// The native body of store function `func` if it is a function of store instance
    /// `instance` that has native code, else null.
    fn native_body(&self, func: u32, instance: u32) -> *const u8;
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

    fn signature(&self, func: u32) -> SignatureId {
        self.inner.funcs[func as usize].signature
    }

    fn native_body(&self, func: u32, instance: u32) -> *const u8 {
        match self.inner.funcs[func as usize].kind {
            FuncKind::Wasm {
                instance: owner,
                index,
                ..
            } if owner == instance => {
                let module = &self.inner.instances[instance as usize].module;
                module.code_slot(index).native.entry.load(Ordering::Acquire)
            }
            _ => std::ptr::null(),
        }
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
    /// The engine's array trampoline for the function's signature.
    array_entry: *const u8,
}

/// The native code to run store function `func` with, if it is a Wasm function that has or
/// (under `Strategy::Compiled`) gets native code now.
pub(crate) fn native_entry<T>(store: &Store<T>, func: u32) -> Option<NativeEntry> {
    let inner = &store.inner;
    if inner.engine.config().strategy != crate::Strategy::Compiled {
        return None;
    }
    let FuncKind::Wasm {
        instance, index, ..
    } = inner.funcs[func as usize].kind
    else {
        return None;
    };
    let instance = &inner.instances[instance as usize];
    let code: &NativeCode = native_code(&instance.module, index)?;
    let array_entry = array_trampoline(&instance.module, index)?;
    Some(NativeEntry {
        vmctx: instance.vmctx.get(),
        body: code.body(),
        array_entry,
    })
}

/// Runs native code with the arguments in `slots` (at least as many as the function's
/// parameters and results), leaving the results there.
pub(crate) fn invoke<T>(store: &mut Store<T>, entry: NativeEntry, slots: &mut [u64]) -> Result<()> {
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
    };
    // SAFETY: `entry.vmctx` is the VM context of an instance of `store` (see `native_entry`),
    // a live cell that nothing borrows while this thread holds the store.
    let saved_limit = unsafe { std::mem::replace(&mut (*entry.vmctx).stack_limit, limit) };
    let previous = ACTIVATION.replace(&raw mut activation);
    // SAFETY: `array_entry` is the engine's trampoline for the function's signature (see
    // `native_entry`), of type `ArrayEntry` in the host calling convention, and `body` the
    // function's native body, of that signature. Both stay mapped while the function's
    // module lives (the trampoline in the module's engine, which the module keeps), and the
    // store's instance keeps the module. `slots` has room for every parameter and result,
    // and the VM context's pointers are valid for the store's lifetime.
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
    match status {
        status::OK => Ok(()),
        status::ERROR => Err(activation
            .error
            .unwrap_or_else(|| Error::host("native code failed without an error"))),
        status => Err(Error::trap(
            status::trap(status).unwrap_or(TrapCode::Unreachable),
        )),
    }
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

/// Helper: calls function `func` (module index space) of `vmctx`'s instance through the
/// runtime, with arguments and results in `len` slots at `slots`.
extern "C" fn call(vmctx: *mut VmContext, func: u32, slots: *mut u64, len: u32) -> u32 {
    with_runtime(status::ERROR, |runtime| {
        // SAFETY: native code passes its own VM context; the translator took `func` from a
        // validated `call`, so it indexes the module's functions, which `funcs` covers.
        let (func_ref, instance) =
            unsafe { (*(*vmctx).funcs.add(func as usize), (*vmctx).instance) };
        // SAFETY: the caller's stack slot array has `len` slots.
        let slots = unsafe { std::slice::from_raw_parts_mut(slots, len as usize) };
        runtime.call((func_ref - 1) as u32, instance, slots)?;
        Ok(status::OK)
    })
}

/// The store function that `call_indirect` through element `element` of table `table` of
/// `vmctx`'s instance, expecting type `type_index` of its module, calls; or its trap.
fn indirect_callee(
    runtime: &dyn Runtime,
    vmctx: *mut VmContext,
    table: u32,
    type_index: u32,
    element: u32,
) -> Result<u32, TrapCode> {
    // SAFETY: native code passes its own VM context; the validator checked `table` and
    // `type_index` against the module, whose tables and types these arrays cover.
    let (vm_table, expected) = unsafe {
        let vm = &*vmctx;
        (
            &**vm.tables.add(table as usize),
            *vm.signatures.add(type_index as usize),
        )
    };
    if u64::from(element) >= vm_table.len {
        return Err(TrapCode::UndefinedElement);
    }
    // SAFETY: `element < len`, the table's length.
    let func_ref = unsafe { *vm_table.base.add(element as usize) };
    let func = func_ref
        .checked_sub(1)
        .ok_or(TrapCode::UninitializedElement)? as u32;
    if runtime.signature(func) != expected {
        return Err(TrapCode::BadSignature);
    }
    Ok(func)
}

/// Helper: the checks of a `call_indirect` (operands as for [`indirect_callee`]), and the
/// callee's native body when it is a function of the same instance with native code, which
/// the caller then calls directly. Otherwise 0, and the caller calls [`call_indirect`]; or,
/// when a check fails, the trap's status (below 256, unlike any code address).
extern "C" fn resolve_indirect(
    vmctx: *mut VmContext,
    table: u32,
    type_index: u32,
    element: u32,
) -> usize {
    with_runtime(0, |runtime| {
        let func = match indirect_callee(runtime, vmctx, table, type_index, element) {
            Ok(func) => func,
            Err(code) => return Ok(status::of_trap(code) as usize),
        };
        // SAFETY: native code passes its own VM context.
        let instance = unsafe { (*vmctx).instance };
        Ok(runtime.native_body(func, instance) as usize)
    })
}

/// Helper: `call_indirect` (operands as for [`indirect_callee`]) through the runtime, with
/// arguments and results as for [`call`].
extern "C" fn call_indirect(
    vmctx: *mut VmContext,
    table: u32,
    type_index: u32,
    element: u32,
    slots: *mut u64,
    len: u32,
) -> u32 {
    with_runtime(status::ERROR, |runtime| {
        let func =
            indirect_callee(runtime, vmctx, table, type_index, element).map_err(Error::trap)?;
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
