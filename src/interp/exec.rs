//! The interpreter's executor: a `loop { match }` over register-machine code, with frames on
//! an explicit stack (no host recursion for Wasm calls).
//!
//! The hot state lives in local variables of [`run`] so that it stays in machine registers:
//! the instruction pointer, the frame pointer, and memory 0's base and length. Everything
//! else (which instance and function is running, saved frames) is touched only by calls,
//! returns and the rarer instructions.
//!
//! Two invariants make the unchecked accesses sound, both established by the translator
//! (`translate.rs`) and by [`enter`]:
//! - every slot operand of a function's code is below its `frame_size`, and `enter` makes the
//!   frame's `frame_size` slots exist before the function runs; `values` is only reallocated
//!   by `enter`, after which the frame pointer is recomputed;
//! - every path through a function's code ends in `Return`, `Unreachable` or a branch, and
//!   every branch target is inside the code, so the instruction pointer never leaves it.

use crate::error::{Error, FrameInfo, Result, TrapCode, WasmBacktrace};
use crate::module::CodeSlot;
use crate::runtime::instance::checked_range;
use crate::runtime::store::{FuncKind, PAGE_SIZE, Store, StoreInner};
use crate::runtime::values::Val;
use crate::runtime::vmctx::VmContext;

use super::compiled;
use super::ir::{CompiledFunc, Instr, Slot};

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
    func: u32,
    slot: *const CodeSlot,
    /// The caller's first instruction, and where it continues.
    code: *const Instr,
    ip: *const Instr,
    base: usize,
}

/// The function running now, apart from the hot state kept in [`run`]'s locals.
struct Current {
    instance: u32,
    func: u32,
    slot: *const CodeSlot,
    /// The first instruction of the running function (branch targets are relative to it).
    code: *const Instr,
    /// Index in `values` of the frame's first slot.
    base: usize,
    vm: *const VmContext,
}

impl Current {
    fn slot(&self) -> &CodeSlot {
        // SAFETY: `slot` points into the boxed slice of code slots of a module that an
        // instance of the store keeps alive; instances are never removed from a store.
        unsafe { &*self.slot }
    }

    /// Saves the running function as a caller frame that continues at `ip`.
    fn save(&self, ip: *const Instr) -> Frame {
        Frame {
            instance: self.instance,
            func: self.func,
            slot: self.slot,
            code: self.code,
            ip,
            base: self.base,
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

/// The frame pointer of the frame starting at `values[base]`.
fn frame_pointer(values: &mut [u64], base: usize) -> *mut u64 {
    values[base..].as_mut_ptr()
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
        FuncKind::Wasm { instance, index } => (instance, index),
        FuncKind::Host { .. } => {
            return call_host(store, func, None, slots);
        }
    };
    let mut stack = store.inner.spare_stacks.pop().unwrap_or_default();
    stack.values.clear();
    stack.values.extend_from_slice(slots);
    stack.frames.clear();
    let depth_at_entry = store.inner.call_depth;
    let result = execute(store, &mut stack, instance, index);
    store.inner.call_depth = depth_at_entry;
    let count = slots.len();
    slots.copy_from_slice(&stack.values[..count]);
    store.inner.spare_stacks.push(stack);
    result
}

/// Calls a host function with arguments and results in `slots`.
fn call_host<T>(
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
    host(crate::Caller::new(store, caller), &params, &mut results)?;
    for ((slot, result), ty) in slots.iter_mut().zip(&results).zip(ty.results()) {
        store.inner.check_val(result, *ty, "host function result")?;
        *slot = store.inner.val_to_slot(result)?;
    }
    Ok(())
}

/// Makes room for the frame of `func` at `base`, zeroes its locals and copies its constants;
/// translates the function on its first call. Returns its code slot and code.
fn enter<'m>(
    inner: &'m mut StoreInner,
    values: &mut Vec<u64>,
    instance: u32,
    func: u32,
    base: usize,
) -> Result<(&'m CodeSlot, &'m CompiledFunc), TrapCode> {
    if inner.call_depth >= inner.max_call_depth {
        return Err(TrapCode::StackOverflow);
    }
    inner.call_depth += 1;
    let module = &inner.instances[instance as usize].module;
    let slot = module.code_slot(func);
    let code = compiled(module, func);
    slot.add_hotness(1);
    let end = base + code.frame_size as usize;
    if values.len() < end {
        values.resize(end, 0);
    }
    let locals = base + code.num_params as usize..base + code.num_locals as usize;
    values[locals].fill(0);
    let consts = base + code.num_locals as usize;
    values[consts..consts + code.consts.len()].copy_from_slice(&code.consts);
    Ok((slot, code))
}

/// Runs defined function `func` of `instance`, whose arguments are at the start of
/// `stack.values`, until it returns.
fn execute<T>(store: &mut Store<T>, stack: &mut Stack, instance: u32, func: u32) -> Result<()> {
    let (slot, code) =
        enter(&mut store.inner, &mut stack.values, instance, func, 0).map_err(Error::trap)?;
    let ip = code.code.as_ptr();
    let mut current = Current {
        instance,
        func,
        slot,
        code: ip,
        base: 0,
        vm: store.inner.instances[instance as usize].vmctx.get(),
    };
    match run(store, stack, &mut current, ip) {
        Ok(()) => Ok(()),
        Err(Trap::Code(code)) => Err(Error::trap_with_backtrace(
            code,
            backtrace(&store.inner, stack, &current),
        )),
        Err(Trap::Error(error)) => {
            Err(error.with_backtrace_if_missing(|| backtrace(&store.inner, stack, &current)))
        }
    }
}

fn backtrace(inner: &StoreInner, stack: &Stack, current: &Current) -> WasmBacktrace {
    let frame = |instance: u32, func: u32| {
        let module = &inner.instances[instance as usize].module;
        FrameInfo {
            func_index: func,
            func_name: module.func_names.get(&func).cloned(),
            module_name: module.name.clone(),
        }
    };
    let mut frames = vec![frame(current.instance, current.func)];
    frames.extend(stack.frames.iter().rev().map(|f| frame(f.instance, f.func)));
    WasmBacktrace::new(frames)
}

/// Why [`run`] stopped early.
enum Trap {
    Code(TrapCode),
    /// An error from a host function (or a trap it passed on, with its own backtrace).
    Error(Error),
}

impl From<TrapCode> for Trap {
    fn from(code: TrapCode) -> Self {
        Trap::Code(code)
    }
}

/// The interpreter loop, starting at `ip` in the function `current` describes.
fn run<T>(
    store: &mut Store<T>,
    stack: &mut Stack,
    current: &mut Current,
    mut ip: *const Instr,
) -> Result<(), Trap> {
    let Stack { values, frames } = stack;
    let mut code = current.code;
    let mut fp = frame_pointer(values, current.base);
    let mut memory = current.memory();
    // Loop iterations (backward jumps) of the running function not yet added to its hotness
    // counter: counted in a register, added when the function calls or returns.
    let mut back_edges: u32 = 0;

    // SAFETY (for `reg!` and `set!`): slot operands are inside the frame at `fp`, see the
    // module documentation.
    macro_rules! reg {
        ($slot:expr) => {
            unsafe { *fp.add($slot as usize) }
        };
    }
    macro_rules! set {
        ($slot:expr, $value:expr) => {{
            let value = $value;
            unsafe { *fp.add($slot as usize) = value }
        }};
    }
    /// Continues at instruction `target` of the running function, counting a backward
    /// jump as a loop iteration.
    macro_rules! jump {
        ($target:expr) => {{
            // SAFETY: branch targets are inside the running function's code.
            let target = unsafe { code.add($target as usize) };
            back_edges = back_edges.wrapping_add(u32::from(target < ip));
            ip = target;
        }};
    }
    /// A fused compare-and-branch on two slots, read as `$ty` (`i32`/`u32` from the low
    /// half, `i64`/`u64` from all of it).
    macro_rules! br_if {
        ($a:expr, $b:expr, $target:expr, $op:tt, u32) => {
            if (reg!($a) as u32) $op (reg!($b) as u32) {
                jump!($target);
            }
        };
        ($a:expr, $b:expr, $target:expr, $op:tt, i32) => {
            if (reg!($a) as u32 as i32) $op (reg!($b) as u32 as i32) {
                jump!($target);
            }
        };
        ($a:expr, $b:expr, $target:expr, $op:tt, $ty:ty) => {
            if (reg!($a) as $ty) $op (reg!($b) as $ty) {
                jump!($target);
            }
        };
    }
    /// A fused `i32` compare-and-branch on a slot and a constant.
    macro_rules! br_if_imm {
        ($a:expr, $imm:expr, $target:expr, $op:tt, $ty:ty) => {
            if (reg!($a) as u32 as $ty) $op ($imm as u32 as $ty) {
                jump!($target);
            }
        };
    }
    macro_rules! i32_bin {
        ($dst:expr, $a:expr, $b:expr, |$x:ident, $y:ident| $body:expr) => {{
            let $x = reg!($a) as u32 as i32;
            let $y = reg!($b) as u32 as i32;
            set!($dst, ($body) as u32 as u64);
        }};
    }
    macro_rules! i64_bin {
        ($dst:expr, $a:expr, $b:expr, |$x:ident, $y:ident| $body:expr) => {{
            let $x = reg!($a) as i64;
            let $y = reg!($b) as i64;
            set!($dst, ($body) as u64);
        }};
    }
    macro_rules! f32_bin {
        ($dst:expr, $a:expr, $b:expr, |$x:ident, $y:ident| $body:expr) => {{
            let $x = f32::from_bits(reg!($a) as u32);
            let $y = f32::from_bits(reg!($b) as u32);
            set!($dst, ($body).to_bits() as u64);
        }};
    }
    macro_rules! f64_bin {
        ($dst:expr, $a:expr, $b:expr, |$x:ident, $y:ident| $body:expr) => {{
            let $x = f64::from_bits(reg!($a));
            let $y = f64::from_bits(reg!($b));
            set!($dst, ($body).to_bits());
        }};
    }
    macro_rules! f32_cmp {
        ($dst:expr, $a:expr, $b:expr, $op:tt) => {{
            let x = f32::from_bits(reg!($a) as u32);
            let y = f32::from_bits(reg!($b) as u32);
            set!($dst, (x $op y) as u64);
        }};
    }
    macro_rules! f64_cmp {
        ($dst:expr, $a:expr, $b:expr, $op:tt) => {{
            let x = f64::from_bits(reg!($a));
            let y = f64::from_bits(reg!($b));
            set!($dst, (x $op y) as u64);
        }};
    }
    macro_rules! unary {
        ($dst:expr, $a:expr, |$x:ident: $from:ident| -> $to:ident $body:expr) => {{
            let $x = from_slot!($from, reg!($a));
            let value: $to = $body;
            set!($dst, to_slot!($to, value));
        }};
    }
    macro_rules! from_slot {
        (i32, $v:expr) => {
            $v as u32 as i32
        };
        (u32, $v:expr) => {
            $v as u32
        };
        (i64, $v:expr) => {
            $v as i64
        };
        (u64, $v:expr) => {
            $v
        };
        (f32, $v:expr) => {
            f32::from_bits($v as u32)
        };
        (f64, $v:expr) => {
            f64::from_bits($v)
        };
    }
    macro_rules! to_slot {
        (i32, $v:expr) => {
            $v as u32 as u64
        };
        (u32, $v:expr) => {
            $v as u64
        };
        (i64, $v:expr) => {
            $v as u64
        };
        (u64, $v:expr) => {
            $v
        };
        (f32, $v:expr) => {
            $v.to_bits() as u64
        };
        (f64, $v:expr) => {
            $v.to_bits()
        };
    }
    /// After a call or return: where to continue (`current` describes the function), and
    /// the state a callee may have changed.
    macro_rules! resume {
        ($ip:expr) => {{
            ip = $ip;
            code = current.code;
            fp = frame_pointer(values, current.base);
            memory = current.memory();
        }};
    }

    loop {
        // SAFETY: `ip` is inside the running function's code (module documentation).
        // Matching on the place, not a copy, loads only the operands the arm uses.
        let instr = unsafe { &*ip };
        ip = unsafe { ip.add(1) };
        match *instr {
            Instr::I32Add { dst, a, b } => i32_bin!(dst, a, b, |x, y| x.wrapping_add(y)),
            Instr::I32Sub { dst, a, b } => i32_bin!(dst, a, b, |x, y| x.wrapping_sub(y)),
            Instr::I32Mul { dst, a, b } => i32_bin!(dst, a, b, |x, y| x.wrapping_mul(y)),
            Instr::I32DivS { dst, a, b } => {
                let (x, y) = (reg!(a) as u32 as i32, reg!(b) as u32 as i32);
                if y == 0 {
                    return Err(TrapCode::IntegerDivisionByZero.into());
                }
                if x == i32::MIN && y == -1 {
                    return Err(TrapCode::IntegerOverflow.into());
                }
                set!(dst, (x / y) as u32 as u64);
            }
            Instr::I32DivU { dst, a, b } => {
                let (x, y) = (reg!(a) as u32, reg!(b) as u32);
                set!(
                    dst,
                    x.checked_div(y).ok_or(TrapCode::IntegerDivisionByZero)? as u64
                );
            }
            Instr::I32RemS { dst, a, b } => {
                let (x, y) = (reg!(a) as u32 as i32, reg!(b) as u32 as i32);
                if y == 0 {
                    return Err(TrapCode::IntegerDivisionByZero.into());
                }
                set!(dst, x.wrapping_rem(y) as u32 as u64);
            }
            Instr::I32RemU { dst, a, b } => {
                let (x, y) = (reg!(a) as u32, reg!(b) as u32);
                set!(
                    dst,
                    x.checked_rem(y).ok_or(TrapCode::IntegerDivisionByZero)? as u64
                );
            }
            Instr::I32And { dst, a, b } => i32_bin!(dst, a, b, |x, y| x & y),
            Instr::I32Or { dst, a, b } => i32_bin!(dst, a, b, |x, y| x | y),
            Instr::I32Xor { dst, a, b } => i32_bin!(dst, a, b, |x, y| x ^ y),
            Instr::I32Shl { dst, a, b } => i32_bin!(dst, a, b, |x, y| x.wrapping_shl(y as u32)),
            Instr::I32ShrS { dst, a, b } => i32_bin!(dst, a, b, |x, y| x.wrapping_shr(y as u32)),
            Instr::I32ShrU { dst, a, b } => {
                i32_bin!(dst, a, b, |x, y| (x as u32).wrapping_shr(y as u32))
            }
            Instr::I32Rotl { dst, a, b } => {
                i32_bin!(dst, a, b, |x, y| (x as u32).rotate_left(y as u32 % 32))
            }
            Instr::I32Rotr { dst, a, b } => {
                i32_bin!(dst, a, b, |x, y| (x as u32).rotate_right(y as u32 % 32))
            }
            Instr::I32Eq { dst, a, b } => i32_bin!(dst, a, b, |x, y| x == y),
            Instr::I32Ne { dst, a, b } => i32_bin!(dst, a, b, |x, y| x != y),
            Instr::I32LtS { dst, a, b } => i32_bin!(dst, a, b, |x, y| x < y),
            Instr::I32LtU { dst, a, b } => i32_bin!(dst, a, b, |x, y| (x as u32) < (y as u32)),
            Instr::I32GtS { dst, a, b } => i32_bin!(dst, a, b, |x, y| x > y),
            Instr::I32GtU { dst, a, b } => i32_bin!(dst, a, b, |x, y| (x as u32) > (y as u32)),
            Instr::I32LeS { dst, a, b } => i32_bin!(dst, a, b, |x, y| x <= y),
            Instr::I32LeU { dst, a, b } => i32_bin!(dst, a, b, |x, y| (x as u32) <= (y as u32)),
            Instr::I32GeS { dst, a, b } => i32_bin!(dst, a, b, |x, y| x >= y),
            Instr::I32GeU { dst, a, b } => i32_bin!(dst, a, b, |x, y| (x as u32) >= (y as u32)),
            Instr::I64Add { dst, a, b } => i64_bin!(dst, a, b, |x, y| x.wrapping_add(y)),
            Instr::I64Sub { dst, a, b } => i64_bin!(dst, a, b, |x, y| x.wrapping_sub(y)),
            Instr::I64Mul { dst, a, b } => i64_bin!(dst, a, b, |x, y| x.wrapping_mul(y)),
            Instr::I64DivS { dst, a, b } => {
                let (x, y) = (reg!(a) as i64, reg!(b) as i64);
                if y == 0 {
                    return Err(TrapCode::IntegerDivisionByZero.into());
                }
                if x == i64::MIN && y == -1 {
                    return Err(TrapCode::IntegerOverflow.into());
                }
                set!(dst, (x / y) as u64);
            }
            Instr::I64DivU { dst, a, b } => {
                set!(
                    dst,
                    reg!(a)
                        .checked_div(reg!(b))
                        .ok_or(TrapCode::IntegerDivisionByZero)?
                );
            }
            Instr::I64RemS { dst, a, b } => {
                let (x, y) = (reg!(a) as i64, reg!(b) as i64);
                if y == 0 {
                    return Err(TrapCode::IntegerDivisionByZero.into());
                }
                set!(dst, x.wrapping_rem(y) as u64);
            }
            Instr::I64RemU { dst, a, b } => {
                set!(
                    dst,
                    reg!(a)
                        .checked_rem(reg!(b))
                        .ok_or(TrapCode::IntegerDivisionByZero)?
                );
            }
            Instr::I64And { dst, a, b } => i64_bin!(dst, a, b, |x, y| x & y),
            Instr::I64Or { dst, a, b } => i64_bin!(dst, a, b, |x, y| x | y),
            Instr::I64Xor { dst, a, b } => i64_bin!(dst, a, b, |x, y| x ^ y),
            Instr::I64Shl { dst, a, b } => i64_bin!(dst, a, b, |x, y| x.wrapping_shl(y as u32)),
            Instr::I64ShrS { dst, a, b } => i64_bin!(dst, a, b, |x, y| x.wrapping_shr(y as u32)),
            Instr::I64ShrU { dst, a, b } => {
                i64_bin!(dst, a, b, |x, y| (x as u64).wrapping_shr(y as u32))
            }
            Instr::I64Rotl { dst, a, b } => {
                i64_bin!(dst, a, b, |x, y| (x as u64)
                    .rotate_left((y as u64 % 64) as u32))
            }
            Instr::I64Rotr { dst, a, b } => {
                i64_bin!(dst, a, b, |x, y| (x as u64)
                    .rotate_right((y as u64 % 64) as u32))
            }
            Instr::I64Eq { dst, a, b } => i64_bin!(dst, a, b, |x, y| x == y),
            Instr::I64Ne { dst, a, b } => i64_bin!(dst, a, b, |x, y| x != y),
            Instr::I64LtS { dst, a, b } => i64_bin!(dst, a, b, |x, y| x < y),
            Instr::I64LtU { dst, a, b } => i64_bin!(dst, a, b, |x, y| (x as u64) < (y as u64)),
            Instr::I64GtS { dst, a, b } => i64_bin!(dst, a, b, |x, y| x > y),
            Instr::I64GtU { dst, a, b } => i64_bin!(dst, a, b, |x, y| (x as u64) > (y as u64)),
            Instr::I64LeS { dst, a, b } => i64_bin!(dst, a, b, |x, y| x <= y),
            Instr::I64LeU { dst, a, b } => i64_bin!(dst, a, b, |x, y| (x as u64) <= (y as u64)),
            Instr::I64GeS { dst, a, b } => i64_bin!(dst, a, b, |x, y| x >= y),
            Instr::I64GeU { dst, a, b } => i64_bin!(dst, a, b, |x, y| (x as u64) >= (y as u64)),
            Instr::F32Add { dst, a, b } => f32_bin!(dst, a, b, |x, y| x + y),
            Instr::F32Sub { dst, a, b } => f32_bin!(dst, a, b, |x, y| x - y),
            Instr::F32Mul { dst, a, b } => f32_bin!(dst, a, b, |x, y| x * y),
            Instr::F32Div { dst, a, b } => f32_bin!(dst, a, b, |x, y| x / y),
            Instr::F32Min { dst, a, b } => f32_bin!(dst, a, b, |x, y| float::min32(x, y)),
            Instr::F32Max { dst, a, b } => f32_bin!(dst, a, b, |x, y| float::max32(x, y)),
            Instr::F32Copysign { dst, a, b } => {
                let sign = 1u32 << 31;
                set!(
                    dst,
                    ((reg!(a) as u32 & !sign) | (reg!(b) as u32 & sign)) as u64
                );
            }
            Instr::F32Eq { dst, a, b } => f32_cmp!(dst, a, b, ==),
            Instr::F32Ne { dst, a, b } => f32_cmp!(dst, a, b, !=),
            Instr::F32Lt { dst, a, b } => f32_cmp!(dst, a, b, <),
            Instr::F32Gt { dst, a, b } => f32_cmp!(dst, a, b, >),
            Instr::F32Le { dst, a, b } => f32_cmp!(dst, a, b, <=),
            Instr::F32Ge { dst, a, b } => f32_cmp!(dst, a, b, >=),
            Instr::F64Add { dst, a, b } => f64_bin!(dst, a, b, |x, y| x + y),
            Instr::F64Sub { dst, a, b } => f64_bin!(dst, a, b, |x, y| x - y),
            Instr::F64Mul { dst, a, b } => f64_bin!(dst, a, b, |x, y| x * y),
            Instr::F64Div { dst, a, b } => f64_bin!(dst, a, b, |x, y| x / y),
            Instr::F64Min { dst, a, b } => f64_bin!(dst, a, b, |x, y| float::min64(x, y)),
            Instr::F64Max { dst, a, b } => f64_bin!(dst, a, b, |x, y| float::max64(x, y)),
            Instr::F64Copysign { dst, a, b } => {
                let sign = 1u64 << 63;
                set!(dst, (reg!(a) & !sign) | (reg!(b) & sign));
            }
            Instr::F64Eq { dst, a, b } => f64_cmp!(dst, a, b, ==),
            Instr::F64Ne { dst, a, b } => f64_cmp!(dst, a, b, !=),
            Instr::F64Lt { dst, a, b } => f64_cmp!(dst, a, b, <),
            Instr::F64Gt { dst, a, b } => f64_cmp!(dst, a, b, >),
            Instr::F64Le { dst, a, b } => f64_cmp!(dst, a, b, <=),
            Instr::F64Ge { dst, a, b } => f64_cmp!(dst, a, b, >=),

            Instr::I32Clz { dst, a } => unary!(dst, a, |x: u32| -> u32 x.leading_zeros()),
            Instr::I32Ctz { dst, a } => unary!(dst, a, |x: u32| -> u32 x.trailing_zeros()),
            Instr::I32Popcnt { dst, a } => unary!(dst, a, |x: u32| -> u32 x.count_ones()),
            Instr::I32Eqz { dst, a } => unary!(dst, a, |x: u32| -> u32 (x == 0) as u32),
            Instr::I32Extend8S { dst, a } => unary!(dst, a, |x: i32| -> i32 x as i8 as i32),
            Instr::I32Extend16S { dst, a } => unary!(dst, a, |x: i32| -> i32 x as i16 as i32),
            Instr::I64Clz { dst, a } => unary!(dst, a, |x: u64| -> u64 x.leading_zeros() as u64),
            Instr::I64Ctz { dst, a } => unary!(dst, a, |x: u64| -> u64 x.trailing_zeros() as u64),
            Instr::I64Popcnt { dst, a } => unary!(dst, a, |x: u64| -> u64 x.count_ones() as u64),
            Instr::I64Eqz { dst, a } => unary!(dst, a, |x: u64| -> u64 (x == 0) as u64),
            Instr::I64Extend8S { dst, a } => unary!(dst, a, |x: i64| -> i64 x as i8 as i64),
            Instr::I64Extend16S { dst, a } => unary!(dst, a, |x: i64| -> i64 x as i16 as i64),
            Instr::I64Extend32S { dst, a } => unary!(dst, a, |x: i64| -> i64 x as i32 as i64),
            Instr::F32Abs { dst, a } => set!(dst, (reg!(a) as u32 & !(1 << 31)) as u64),
            Instr::F32Neg { dst, a } => set!(dst, (reg!(a) as u32 ^ (1 << 31)) as u64),
            Instr::F32Ceil { dst, a } => unary!(dst, a, |x: f32| -> f32 float::quiet32(x.ceil())),
            Instr::F32Floor { dst, a } => unary!(dst, a, |x: f32| -> f32 float::quiet32(x.floor())),
            Instr::F32Trunc { dst, a } => unary!(dst, a, |x: f32| -> f32 float::quiet32(x.trunc())),
            Instr::F32Nearest { dst, a } => {
                unary!(dst, a, |x: f32| -> f32 float::quiet32(x.round_ties_even()))
            }
            Instr::F32Sqrt { dst, a } => unary!(dst, a, |x: f32| -> f32 x.sqrt()),
            Instr::F64Abs { dst, a } => set!(dst, reg!(a) & !(1 << 63)),
            Instr::F64Neg { dst, a } => set!(dst, reg!(a) ^ (1 << 63)),
            Instr::F64Ceil { dst, a } => unary!(dst, a, |x: f64| -> f64 float::quiet64(x.ceil())),
            Instr::F64Floor { dst, a } => unary!(dst, a, |x: f64| -> f64 float::quiet64(x.floor())),
            Instr::F64Trunc { dst, a } => unary!(dst, a, |x: f64| -> f64 float::quiet64(x.trunc())),
            Instr::F64Nearest { dst, a } => {
                unary!(dst, a, |x: f64| -> f64 float::quiet64(x.round_ties_even()))
            }
            Instr::F64Sqrt { dst, a } => unary!(dst, a, |x: f64| -> f64 x.sqrt()),
            Instr::I32TruncF32S { dst, a } => {
                let x = from_slot!(f32, reg!(a)) as f64;
                set!(
                    dst,
                    float::trunc(x, -2147483649.0, 2147483648.0)? as i32 as u32 as u64
                );
            }
            Instr::I32TruncF32U { dst, a } => {
                let x = from_slot!(f32, reg!(a)) as f64;
                set!(dst, float::trunc(x, -1.0, 4294967296.0)? as u32 as u64);
            }
            Instr::I32TruncF64S { dst, a } => {
                let x = from_slot!(f64, reg!(a));
                set!(
                    dst,
                    float::trunc(x, -2147483649.0, 2147483648.0)? as i32 as u32 as u64
                );
            }
            Instr::I32TruncF64U { dst, a } => {
                let x = from_slot!(f64, reg!(a));
                set!(dst, float::trunc(x, -1.0, 4294967296.0)? as u32 as u64);
            }
            Instr::I64TruncF32S { dst, a } => {
                let x = from_slot!(f32, reg!(a)) as f64;
                let truncated = float::trunc(x, -9223373136366403584.0, 9223372036854775808.0)?;
                set!(dst, truncated as i64 as u64);
            }
            Instr::I64TruncF32U { dst, a } => {
                let x = from_slot!(f32, reg!(a)) as f64;
                set!(dst, float::trunc(x, -1.0, 18446744073709551616.0)? as u64);
            }
            Instr::I64TruncF64S { dst, a } => {
                let x = from_slot!(f64, reg!(a));
                let truncated = float::trunc(x, -9223372036854777856.0, 9223372036854775808.0)?;
                set!(dst, truncated as i64 as u64);
            }
            Instr::I64TruncF64U { dst, a } => {
                let x = from_slot!(f64, reg!(a));
                set!(dst, float::trunc(x, -1.0, 18446744073709551616.0)? as u64);
            }
            // Rust's float-to-int `as` saturates and maps NaN to 0: exactly `trunc_sat`.
            Instr::I32TruncSatF32S { dst, a } => unary!(dst, a, |x: f32| -> i32 x as i32),
            Instr::I32TruncSatF32U { dst, a } => unary!(dst, a, |x: f32| -> u32 x as u32),
            Instr::I32TruncSatF64S { dst, a } => unary!(dst, a, |x: f64| -> i32 x as i32),
            Instr::I32TruncSatF64U { dst, a } => unary!(dst, a, |x: f64| -> u32 x as u32),
            Instr::I64TruncSatF32S { dst, a } => unary!(dst, a, |x: f32| -> i64 x as i64),
            Instr::I64TruncSatF32U { dst, a } => unary!(dst, a, |x: f32| -> u64 x as u64),
            Instr::I64TruncSatF64S { dst, a } => unary!(dst, a, |x: f64| -> i64 x as i64),
            Instr::I64TruncSatF64U { dst, a } => unary!(dst, a, |x: f64| -> u64 x as u64),
            Instr::I64ExtendI32S { dst, a } => unary!(dst, a, |x: i32| -> i64 x as i64),
            Instr::I64ExtendI32U { dst, a } => unary!(dst, a, |x: u32| -> u64 x as u64),
            Instr::F32ConvertI32S { dst, a } => unary!(dst, a, |x: i32| -> f32 x as f32),
            Instr::F32ConvertI32U { dst, a } => unary!(dst, a, |x: u32| -> f32 x as f32),
            Instr::F32ConvertI64S { dst, a } => unary!(dst, a, |x: i64| -> f32 x as f32),
            Instr::F32ConvertI64U { dst, a } => unary!(dst, a, |x: u64| -> f32 x as f32),
            Instr::F32DemoteF64 { dst, a } => unary!(dst, a, |x: f64| -> f32 x as f32),
            Instr::F64ConvertI32S { dst, a } => unary!(dst, a, |x: i32| -> f64 x as f64),
            Instr::F64ConvertI32U { dst, a } => unary!(dst, a, |x: u32| -> f64 x as f64),
            Instr::F64ConvertI64S { dst, a } => unary!(dst, a, |x: i64| -> f64 x as f64),
            Instr::F64ConvertI64U { dst, a } => unary!(dst, a, |x: u64| -> f64 x as f64),
            Instr::F64PromoteF32 { dst, a } => unary!(dst, a, |x: f32| -> f64 x as f64),

            Instr::I32AddImm { dst, a, imm } => i32_bin!(dst, a, a, |x, _y| x.wrapping_add(imm)),
            Instr::I32MulImm { dst, a, imm } => i32_bin!(dst, a, a, |x, _y| x.wrapping_mul(imm)),
            Instr::I32AndImm { dst, a, imm } => i32_bin!(dst, a, a, |x, _y| x & imm),
            Instr::I32OrImm { dst, a, imm } => i32_bin!(dst, a, a, |x, _y| x | imm),
            Instr::I32XorImm { dst, a, imm } => i32_bin!(dst, a, a, |x, _y| x ^ imm),
            Instr::I32ShlImm { dst, a, imm } => {
                i32_bin!(dst, a, a, |x, _y| x.wrapping_shl(imm as u32))
            }
            Instr::I32ShrSImm { dst, a, imm } => {
                i32_bin!(dst, a, a, |x, _y| x.wrapping_shr(imm as u32))
            }
            Instr::I32ShrUImm { dst, a, imm } => {
                i32_bin!(dst, a, a, |x, _y| (x as u32).wrapping_shr(imm as u32))
            }
            Instr::I64AddImm { dst, a, imm } => {
                i64_bin!(dst, a, a, |x, _y| x.wrapping_add(imm as i64))
            }
            Instr::I64AndImm { dst, a, imm } => i64_bin!(dst, a, a, |x, _y| x & imm as i64),
            Instr::I64ShlImm { dst, a, imm } => {
                i64_bin!(dst, a, a, |x, _y| x.wrapping_shl(imm as u32))
            }
            Instr::I64ShrUImm { dst, a, imm } => {
                i64_bin!(dst, a, a, |x, _y| (x as u64).wrapping_shr(imm as u32))
            }

            Instr::Unreachable => return Err(TrapCode::Unreachable.into()),
            Instr::Br { target } => jump!(target),
            Instr::BrIfNez { cond, target } => {
                if reg!(cond) as u32 != 0 {
                    jump!(target);
                }
            }
            Instr::BrIfEqz { cond, target } => {
                if reg!(cond) as u32 == 0 {
                    jump!(target);
                }
            }
            Instr::BrIfEq { a, b, target } => br_if!(a, b, target, ==, u32),
            Instr::BrIfNe { a, b, target } => br_if!(a, b, target, !=, u32),
            Instr::BrIfLtS { a, b, target } => br_if!(a, b, target, <, i32),
            Instr::BrIfLtU { a, b, target } => br_if!(a, b, target, <, u32),
            Instr::BrIfGtS { a, b, target } => br_if!(a, b, target, >, i32),
            Instr::BrIfGtU { a, b, target } => br_if!(a, b, target, >, u32),
            Instr::BrIfLeS { a, b, target } => br_if!(a, b, target, <=, i32),
            Instr::BrIfLeU { a, b, target } => br_if!(a, b, target, <=, u32),
            Instr::BrIfGeS { a, b, target } => br_if!(a, b, target, >=, i32),
            Instr::BrIfGeU { a, b, target } => br_if!(a, b, target, >=, u32),
            Instr::BrIfEq64 { a, b, target } => br_if!(a, b, target, ==, u64),
            Instr::BrIfNe64 { a, b, target } => br_if!(a, b, target, !=, u64),
            Instr::BrIfLtS64 { a, b, target } => br_if!(a, b, target, <, i64),
            Instr::BrIfLtU64 { a, b, target } => br_if!(a, b, target, <, u64),
            Instr::BrIfGtS64 { a, b, target } => br_if!(a, b, target, >, i64),
            Instr::BrIfGtU64 { a, b, target } => br_if!(a, b, target, >, u64),
            Instr::BrIfLeS64 { a, b, target } => br_if!(a, b, target, <=, i64),
            Instr::BrIfLeU64 { a, b, target } => br_if!(a, b, target, <=, u64),
            Instr::BrIfGeS64 { a, b, target } => br_if!(a, b, target, >=, i64),
            Instr::BrIfGeU64 { a, b, target } => br_if!(a, b, target, >=, u64),
            Instr::BrIfNez64 { cond, target } => {
                if reg!(cond) != 0 {
                    jump!(target);
                }
            }
            Instr::BrIfEqz64 { cond, target } => {
                if reg!(cond) == 0 {
                    jump!(target);
                }
            }
            Instr::BrIfEqImm { a, imm, target } => br_if_imm!(a, imm, target, ==, u32),
            Instr::BrIfNeImm { a, imm, target } => br_if_imm!(a, imm, target, !=, u32),
            Instr::BrIfLtSImm { a, imm, target } => br_if_imm!(a, imm, target, <, i32),
            Instr::BrIfLtUImm { a, imm, target } => br_if_imm!(a, imm, target, <, u32),
            Instr::BrIfGtSImm { a, imm, target } => br_if_imm!(a, imm, target, >, i32),
            Instr::BrIfGtUImm { a, imm, target } => br_if_imm!(a, imm, target, >, u32),
            Instr::BrIfLeSImm { a, imm, target } => br_if_imm!(a, imm, target, <=, i32),
            Instr::BrIfLeUImm { a, imm, target } => br_if_imm!(a, imm, target, <=, u32),
            Instr::BrIfGeSImm { a, imm, target } => br_if_imm!(a, imm, target, >=, i32),
            Instr::BrIfGeUImm { a, imm, target } => br_if_imm!(a, imm, target, >=, u32),
            Instr::BrCopy {
                dst,
                src,
                count,
                target,
            } => {
                // SAFETY: the translator emits frame slots only (module documentation).
                unsafe { copy_slots(fp, dst, src, count) };
                jump!(target);
            }
            Instr::BrTable { index, len } => {
                let arm = (reg!(index) as u32).min(len) as usize;
                // SAFETY: `len + 1` branch instructions follow `BrTable`.
                ip = unsafe { ip.add(arm) };
            }
            Instr::Return { src, count } => {
                if count == 1 {
                    set!(0, reg!(src));
                } else {
                    // SAFETY: the results and slot 0 onwards are inside the frame.
                    unsafe { copy_slots(fp, 0, src, count) };
                }
                flush_back_edges(current, &mut back_edges);
                store.inner.call_depth -= 1;
                let Some(frame) = frames.pop() else {
                    return Ok(());
                };
                if frame.instance != current.instance {
                    current.vm = store.inner.instances[frame.instance as usize].vmctx.get();
                }
                current.instance = frame.instance;
                current.func = frame.func;
                current.slot = frame.slot;
                current.code = frame.code;
                current.base = frame.base;
                resume!(frame.ip);
            }
            Instr::Call { func, base } => {
                flush_back_edges(current, &mut back_edges);
                let instance = &store.inner.instances[current.instance as usize];
                let new_ip = if (func as usize) < instance.module.num_imported_funcs {
                    let callee = instance.funcs[func as usize];
                    call(store, values, frames, current, ip, callee, base)?
                } else {
                    let new_base = current.base + base as usize;
                    let instance = current.instance;
                    let (slot, code) = enter(&mut store.inner, values, instance, func, new_base)?;
                    let entry = code.code.as_ptr();
                    frames.push(current.save(ip));
                    current.func = func;
                    current.slot = slot;
                    current.code = entry;
                    current.base = new_base;
                    entry
                };
                resume!(new_ip);
            }
            Instr::CallIndirect {
                table,
                type_index,
                index,
                base,
            } => {
                let entity = &store.inner.instances[current.instance as usize];
                let expected = entity.module.signatures[type_index as usize];
                let table = &store.inner.tables[entity.tables[table as usize] as usize];
                let element = *table
                    .elements
                    .get(reg!(index) as u32 as usize)
                    .ok_or(TrapCode::UndefinedElement)?;
                let callee = element
                    .checked_sub(1)
                    .ok_or(TrapCode::UninitializedElement)? as u32;
                if store.inner.funcs[callee as usize].signature != expected {
                    return Err(TrapCode::BadSignature.into());
                }
                flush_back_edges(current, &mut back_edges);
                let new_ip = call(store, values, frames, current, ip, callee, base)?;
                resume!(new_ip);
            }
            Instr::Copy { dst, src } => set!(dst, reg!(src)),
            Instr::Select { dst, cond, a, b } => {
                set!(
                    dst,
                    if reg!(cond) as u32 != 0 {
                        reg!(a)
                    } else {
                        reg!(b)
                    }
                );
            }
            Instr::GlobalGet { dst, global } => {
                // SAFETY: `Current::global` returns a pointer to a live global cell.
                set!(dst, unsafe { *current.global(global) });
            }
            Instr::GlobalSet { src, global } => {
                let value = reg!(src);
                // SAFETY: as for `GlobalGet`; no reference to the cell is alive.
                unsafe { *current.global(global) = value };
            }
            Instr::RefFunc { dst, func } => {
                let instance = &store.inner.instances[current.instance as usize];
                set!(dst, instance.func_refs[func as usize]);
            }
            Instr::Load8S { dst, addr, offset } => {
                set!(
                    dst,
                    i8::from_le_bytes(memory.load(reg!(addr), offset)?) as i64 as u64
                );
            }
            Instr::Load8U { dst, addr, offset } => {
                set!(
                    dst,
                    u8::from_le_bytes(memory.load(reg!(addr), offset)?) as u64
                );
            }
            Instr::Load16S { dst, addr, offset } => {
                set!(
                    dst,
                    i16::from_le_bytes(memory.load(reg!(addr), offset)?) as i64 as u64
                );
            }
            Instr::Load16U { dst, addr, offset } => {
                set!(
                    dst,
                    u16::from_le_bytes(memory.load(reg!(addr), offset)?) as u64
                );
            }
            Instr::Load32S { dst, addr, offset } => {
                set!(
                    dst,
                    i32::from_le_bytes(memory.load(reg!(addr), offset)?) as i64 as u64
                );
            }
            Instr::Load32U { dst, addr, offset } => {
                set!(
                    dst,
                    u32::from_le_bytes(memory.load(reg!(addr), offset)?) as u64
                );
            }
            Instr::Load64 { dst, addr, offset } => {
                set!(dst, u64::from_le_bytes(memory.load(reg!(addr), offset)?));
            }
            Instr::Store8 { addr, src, offset } => {
                memory.store(reg!(addr), offset, (reg!(src) as u8).to_le_bytes())?;
            }
            Instr::Store16 { addr, src, offset } => {
                memory.store(reg!(addr), offset, (reg!(src) as u16).to_le_bytes())?;
            }
            Instr::Store32 { addr, src, offset } => {
                memory.store(reg!(addr), offset, (reg!(src) as u32).to_le_bytes())?;
            }
            Instr::Store64 { addr, src, offset } => {
                memory.store(reg!(addr), offset, reg!(src).to_le_bytes())?;
            }
            Instr::MemorySize { dst } => set!(dst, memory.len / PAGE_SIZE as u64),
            Instr::MemoryGrow { dst, delta } => {
                let index = store.inner.instances[current.instance as usize].memories[0];
                let max_pages = store.inner.engine.config().max_memory_pages;
                let grown =
                    store.inner.memories[index as usize].grow(reg!(delta) as u32, max_pages);
                set!(dst, grown.unwrap_or(u32::MAX) as u64);
                memory = current.memory();
            }
            Instr::MemoryFill { dst, value, len } => {
                let len = reg!(len) as u32 as u64;
                let ptr = memory.address(reg!(dst), 0, len)?;
                let byte = reg!(value) as u8;
                // SAFETY: `address` checked that `len` bytes at `ptr` are in the memory.
                unsafe { std::ptr::write_bytes(ptr, byte, len as usize) };
            }
            Instr::MemoryCopy { dst, src, len } => {
                let len = reg!(len) as u32 as u64;
                let to = memory.address(reg!(dst), 0, len)?;
                let from = memory.address(reg!(src), 0, len)?;
                // SAFETY: both ranges were checked to lie in the memory; `copy` allows overlap.
                unsafe { std::ptr::copy(from, to, len as usize) };
            }
            Instr::MemoryInit {
                segment,
                dst,
                src,
                len,
            } => {
                let instance = &store.inner.instances[current.instance as usize];
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
            }
            Instr::DataDrop { segment } => {
                let instance = &mut store.inner.instances[current.instance as usize];
                instance.dropped_data[segment as usize] = true;
            }
            Instr::TableGet { dst, table, index } => {
                let table = table_index(&store.inner, current, table);
                let element = store.inner.tables[table]
                    .elements
                    .get(reg!(index) as u32 as usize)
                    .ok_or(TrapCode::TableOutOfBounds)?;
                set!(dst, *element);
            }
            Instr::TableSet {
                table,
                index,
                value,
            } => {
                let table = table_index(&store.inner, current, table);
                *store.inner.tables[table]
                    .elements
                    .get_mut(reg!(index) as u32 as usize)
                    .ok_or(TrapCode::TableOutOfBounds)? = reg!(value);
            }
            Instr::TableSize { dst, table } => {
                let table = table_index(&store.inner, current, table);
                set!(dst, store.inner.tables[table].elements.len() as u64);
            }
            Instr::TableGrow {
                dst,
                table,
                init,
                delta,
            } => {
                let table = table_index(&store.inner, current, table);
                let max_elements = store.inner.engine.config().max_table_elements;
                let grown =
                    store.inner.tables[table].grow(reg!(delta) as u32, reg!(init), max_elements);
                set!(dst, grown.unwrap_or(u32::MAX) as u64);
            }
            Instr::TableFill {
                table,
                dst,
                value,
                len,
            } => {
                let table = table_index(&store.inner, current, table);
                let elements = &mut store.inner.tables[table].elements;
                let range =
                    checked_range(reg!(dst) as u32, reg!(len) as u32 as usize, elements.len())
                        .ok_or(TrapCode::TableOutOfBounds)?;
                elements[range].fill(reg!(value));
            }
            Instr::TableCopy {
                dst_table,
                src_table,
                dst,
                src,
                len,
            } => {
                let to_table = table_index(&store.inner, current, dst_table);
                let from_table = table_index(&store.inner, current, src_table);
                let len = reg!(len) as u32 as usize;
                let tables = &mut store.inner.tables;
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
            }
            Instr::TableInit {
                table,
                segment,
                dst,
                src,
                len,
            } => {
                let table = table_index(&store.inner, current, table);
                let instance = &store.inner.instances[current.instance as usize];
                let items = &instance.element_segments[segment as usize];
                let len = reg!(len) as u32 as usize;
                let from = checked_range(reg!(src) as u32, len, items.len())
                    .ok_or(TrapCode::TableOutOfBounds)?;
                let elements = &store.inner.tables[table].elements;
                let to = checked_range(reg!(dst) as u32, len, elements.len())
                    .ok_or(TrapCode::TableOutOfBounds)?;
                let items = items[from].to_vec();
                store.inner.tables[table].elements[to].copy_from_slice(&items);
            }
            Instr::ElemDrop { segment } => {
                let instance = &mut store.inner.instances[current.instance as usize];
                instance.element_segments[segment as usize] = Box::default();
            }
        }
    }
}

/// Adds the loop iterations counted since the last flush to the running function's hotness.
#[inline(always)]
fn flush_back_edges(current: &Current, back_edges: &mut u32) {
    if *back_edges != 0 {
        current.slot().add_hotness(std::mem::take(back_edges));
    }
}

/// The store index of the current instance's table `table`.
fn table_index(inner: &StoreInner, current: &Current, table: u32) -> usize {
    inner.instances[current.instance as usize].tables[table as usize] as usize
}

/// Calls store function `callee` with its frame at slot `base` of the running frame, the
/// caller continuing at `ip` afterwards. A Wasm callee gets a new frame (switching instance if
/// need be) and the returned pointer is its first instruction; a host function runs in place
/// and the returned pointer is `ip`.
fn call<T>(
    store: &mut Store<T>,
    values: &mut Vec<u64>,
    frames: &mut Vec<Frame>,
    current: &mut Current,
    ip: *const Instr,
    callee: u32,
    base: Slot,
) -> Result<*const Instr, Trap> {
    let new_base = current.base + base as usize;
    match store.inner.funcs[callee as usize].kind {
        FuncKind::Wasm { instance, index } => {
            let (slot, code) = enter(&mut store.inner, values, instance, index, new_base)?;
            let (slot, entry): (*const CodeSlot, _) = (slot, code.code.as_ptr());
            frames.push(current.save(ip));
            if instance != current.instance {
                current.vm = store.inner.instances[instance as usize].vmctx.get();
                current.instance = instance;
            }
            current.func = index;
            current.slot = slot;
            current.code = entry;
            current.base = new_base;
            Ok(entry)
        }
        FuncKind::Host { .. } => {
            let ty = &store.inner.funcs[callee as usize].ty;
            let width = ty.params().len().max(ty.results().len());
            if values.len() < new_base + width {
                values.resize(new_base + width, 0);
            }
            let mut slots = values[new_base..new_base + width].to_vec();
            call_host(store, callee, Some(current.instance), &mut slots).map_err(Trap::Error)?;
            values[new_base..new_base + width].copy_from_slice(&slots);
            Ok(ip)
        }
    }
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
