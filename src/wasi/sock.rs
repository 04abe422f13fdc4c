//! Sockets. A guest gets no sockets (there is no way to preopen one), so every socket
//! operation on an open descriptor is `ENOTSUP`; on a closed one it is `EBADF`.

use crate::wasi::ctx::WasiCtx;
use crate::wasi::errno::Errno;

/// The answer to every socket operation on `fd`.
pub(crate) fn unsupported(ctx: &WasiCtx, fd: u32) -> Result<(), Errno> {
    ctx.fds.get(fd)?;
    Err(Errno::Notsup)
}
