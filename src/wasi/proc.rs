//! The process: arguments, environment, exit, signals and scheduling.

use std::fmt;

use crate::error::Error;
use crate::wasi::abi::SIGNAL_MAX;
use crate::wasi::ctx::WasiCtx;
use crate::wasi::errno::Errno;
use crate::wasi::memory::GuestMemory;

/// The guest called `proc_exit` with this status. It ends the call into Wasm as an
/// [`Error`] of kind [`Host`](crate::ErrorKind::Host); get the status back with
/// `error.downcast_ref::<I32Exit>()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I32Exit(pub i32);

impl fmt::Display for I32Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the guest exited with status {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

/// `args_sizes_get`: the number of arguments and the bytes they take.
pub(crate) fn args_sizes_get(
    ctx: &mut WasiCtx,
    mem: GuestMemory<'_>,
    count: u32,
    buf_size: u32,
) -> Result<(), Errno> {
    write_sizes(mem, &ctx.args, count, buf_size)
}

/// `args_get`: the arguments, NUL-terminated, and pointers to them.
pub(crate) fn args_get(
    ctx: &mut WasiCtx,
    mem: GuestMemory<'_>,
    argv: u32,
    argv_buf: u32,
) -> Result<(), Errno> {
    write_strings(mem, &ctx.args, argv, argv_buf)
}

/// `environ_sizes_get`: the number of `NAME=VALUE` strings and the bytes they take.
pub(crate) fn environ_sizes_get(
    ctx: &mut WasiCtx,
    mem: GuestMemory<'_>,
    count: u32,
    buf_size: u32,
) -> Result<(), Errno> {
    write_sizes(mem, &ctx.environ, count, buf_size)
}

/// `environ_get`: the environment's strings, NUL-terminated, and pointers to them.
pub(crate) fn environ_get(
    ctx: &mut WasiCtx,
    mem: GuestMemory<'_>,
    environ: u32,
    environ_buf: u32,
) -> Result<(), Errno> {
    write_strings(mem, &ctx.environ, environ, environ_buf)
}

/// The number of strings, and the bytes they take NUL-terminated.
fn write_sizes(
    mut mem: GuestMemory<'_>,
    strings: &[String],
    count: u32,
    buf_size: u32,
) -> Result<(), Errno> {
    let total: usize = strings.iter().map(|s| s.len() + 1).sum();
    let count_value = u32::try_from(strings.len()).map_err(|_| Errno::Overflow)?;
    let total = u32::try_from(total).map_err(|_| Errno::Overflow)?;
    mem.write_u32(count, count_value)?;
    mem.write_u32(buf_size, total)
}

/// Writes the strings NUL-terminated one after another at `buf`, and a pointer to each into
/// the array at `pointers`.
fn write_strings(
    mut mem: GuestMemory<'_>,
    strings: &[String],
    pointers: u32,
    buf: u32,
) -> Result<(), Errno> {
    let mut pointer = pointers;
    let mut at = buf;
    for string in strings {
        mem.write_u32(pointer, at)?;
        mem.write(at, string.as_bytes())?;
        let len = u32::try_from(string.len()).map_err(|_| Errno::Fault)?;
        let end = at.checked_add(len).ok_or(Errno::Fault)?;
        mem.write(end, &[0])?;
        at = end.checked_add(1).ok_or(Errno::Fault)?;
        pointer = pointer.checked_add(4).ok_or(Errno::Fault)?;
    }
    Ok(())
}

/// Ends the guest: the call into Wasm fails with [`I32Exit`].
pub(crate) fn proc_exit(status: i32) -> Error {
    Error::from_host_error(I32Exit(status))
}

/// Signal 0 (`signal::none`) checks nothing and succeeds; a number above `signal::sys` is
/// `EINVAL`; raising a real signal is not supported (`ENOSYS`): a sandboxed guest has no
/// process to signal, and wasi-libc's `abort` traps instead.
pub(crate) fn proc_raise(signal: u32) -> Result<(), Errno> {
    match signal {
        0 => Ok(()),
        signal if signal > u32::from(SIGNAL_MAX) => Err(Errno::Inval),
        _ => Err(Errno::Nosys),
    }
}

/// `sched_yield`: yields the host thread.
pub(crate) fn sched_yield() -> Result<(), Errno> {
    std::thread::yield_now();
    Ok(())
}
