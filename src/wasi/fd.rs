//! Operations on open descriptors: reading and writing, seeking, syncing, closing and
//! renumbering, their flags and rights (`fdstat`), and the names of the preopened
//! directories (`prestat`).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use cap_fs_ext::OpenOptionsMaybeDirExt;
use cap_std::fs::OpenOptions;

use crate::wasi::abi::{ADVICE_MAX, Fdstat, encode_prestat_dir, fdflags, rights, whence};
use crate::wasi::ctx::WasiCtx;
use crate::wasi::errno::Errno;
use crate::wasi::fs::descriptor_filetype;
use crate::wasi::memory::GuestMemory;
use crate::wasi::sys;
use crate::wasi::table::{DirHandle, Kind};

/// `fd_read`: reads from a stream, or from a file at its position.
pub(crate) fn fd_read(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> Result<(), Errno> {
    let descriptor = ctx.fds.get_mut(fd)?;
    descriptor.require(rights::FD_READ)?;
    let iovs = mem.iovecs(iovs, iovs_len)?;
    mem.check(nread, 4)?;
    let total = match &mut descriptor.kind {
        Kind::Input(stream) => read_vectored(&mut mem, &iovs, true, |buf| stream.read(buf))?,
        Kind::File(file) => read_vectored(&mut mem, &iovs, false, |buf| file.read(buf))?,
        Kind::Output(_) | Kind::Dir(_) => return Err(Errno::Badf),
    };
    mem.write_u32(nread, total)
}

/// `fd_pread`: reads from a file at `offset`, leaving its position alone.
pub(crate) fn fd_pread(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    mut offset: u64,
    nread: u32,
) -> Result<(), Errno> {
    let descriptor = ctx.fds.get(fd)?;
    descriptor.require(rights::FD_READ)?;
    let file = descriptor.regular_file()?;
    descriptor.require(rights::FD_SEEK)?;
    let iovs = mem.iovecs(iovs, iovs_len)?;
    mem.check(nread, 4)?;
    let total = read_vectored(&mut mem, &iovs, false, |buf| {
        let read = sys::read_at(file, buf, offset)?;
        offset = offset.saturating_add(read as u64);
        Ok(read)
    })?;
    mem.write_u32(nread, total)
}

/// `fd_write`: writes to a stream, or to a file at its position (or its end, in append
/// mode).
pub(crate) fn fd_write(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> Result<(), Errno> {
    let descriptor = ctx.fds.get_mut(fd)?;
    descriptor.require(rights::FD_WRITE)?;
    let iovs = mem.iovecs(iovs, iovs_len)?;
    mem.check(nwritten, 4)?;
    let append = descriptor.flags & fdflags::APPEND != 0;
    let total = match &mut descriptor.kind {
        Kind::Output(stream) => write_vectored(&mem, &iovs, |buf| stream.write(buf))?,
        Kind::File(file) => {
            // Append mode is kept here rather than in the host file's flags, so that
            // `fd_fdstat_set_flags` can turn it on and off.
            if append {
                file.seek(SeekFrom::End(0))?;
            }
            write_vectored(&mem, &iovs, |buf| file.write(buf))?
        }
        Kind::Input(_) | Kind::Dir(_) => return Err(Errno::Badf),
    };
    mem.write_u32(nwritten, total)
}

/// Writes at `offset` whatever the append mode, like `pwrite` on most systems.
pub(crate) fn fd_pwrite(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    mut offset: u64,
    nwritten: u32,
) -> Result<(), Errno> {
    let descriptor = ctx.fds.get(fd)?;
    descriptor.require(rights::FD_WRITE)?;
    let file = descriptor.regular_file()?;
    descriptor.require(rights::FD_SEEK)?;
    let iovs = mem.iovecs(iovs, iovs_len)?;
    mem.check(nwritten, 4)?;
    let total = write_vectored(&mem, &iovs, |buf| {
        let written = sys::write_at(file, buf, offset)?;
        offset = offset.saturating_add(written as u64);
        Ok(written)
    })?;
    mem.write_u32(nwritten, total)
}

/// Reads into the buffers in turn until one is not filled, and returns the bytes read. With
/// `first_only`, only the first non-empty buffer is read into: a stream's read returns what
/// is available, and going on to the next buffer could block for input the guest never
/// waited for. An error after some bytes were read ends the read short; it recurs on the
/// next call.
fn read_vectored(
    mem: &mut GuestMemory<'_>,
    iovs: &[(u32, u32)],
    first_only: bool,
    mut read: impl FnMut(&mut [u8]) -> io::Result<usize>,
) -> Result<u32, Errno> {
    let mut total = 0;
    for &(ptr, len) in iovs.iter().filter(|(_, len)| *len > 0) {
        let count = match read(mem.slice_mut(ptr, len)?) {
            Ok(count) => count as u32,
            Err(error) if total == 0 => return Err(error.into()),
            Err(_) => break,
        };
        total += count;
        if first_only || count < len {
            break;
        }
    }
    Ok(total)
}

/// Writes the buffers in turn until a write is short, and returns the bytes written; errors
/// are as for [`read_vectored`].
fn write_vectored(
    mem: &GuestMemory<'_>,
    iovs: &[(u32, u32)],
    mut write: impl FnMut(&[u8]) -> io::Result<usize>,
) -> Result<u32, Errno> {
    let mut total = 0;
    for &(ptr, len) in iovs.iter().filter(|(_, len)| *len > 0) {
        let count = match write(mem.slice(ptr, len)?) {
            Ok(count) => count as u32,
            Err(error) if total == 0 => return Err(error.into()),
            Err(_) => break,
        };
        total += count;
        if count < len {
            break;
        }
    }
    Ok(total)
}

/// Moving the position needs `FD_SEEK`; asking where it is (offset 0 from the current
/// position) needs only `FD_TELL`.
pub(crate) fn fd_seek(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    offset: i64,
    from: u32,
    new_offset: u32,
) -> Result<(), Errno> {
    let descriptor = ctx.fds.get(fd)?;
    let mut file = descriptor.regular_file()?;
    let target = match u8::try_from(from) {
        Ok(whence::SET) => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
        Ok(whence::CUR) => SeekFrom::Current(offset),
        Ok(whence::END) => SeekFrom::End(offset),
        _ => return Err(Errno::Inval),
    };
    descriptor.require(if target == SeekFrom::Current(0) {
        rights::FD_TELL
    } else {
        rights::FD_SEEK
    })?;
    mem.check(new_offset, 8)?;
    let position = file.seek(target)?;
    mem.write_u64(new_offset, position)
}

/// `fd_tell`: a file's position.
pub(crate) fn fd_tell(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    offset: u32,
) -> Result<(), Errno> {
    let descriptor = ctx.fds.get(fd)?;
    let mut file = descriptor.regular_file()?;
    descriptor.require(rights::FD_TELL)?;
    mem.check(offset, 8)?;
    let position = file.stream_position()?;
    mem.write_u64(offset, position)
}

/// `fd_sync`: flushes a file's data and metadata to storage.
pub(crate) fn fd_sync(ctx: &mut WasiCtx, fd: u32) -> Result<(), Errno> {
    sync(ctx, fd, rights::FD_SYNC, false)
}

/// `fd_datasync`: flushes a file's data to storage.
pub(crate) fn fd_datasync(ctx: &mut WasiCtx, fd: u32) -> Result<(), Errno> {
    sync(ctx, fd, rights::FD_DATASYNC, true)
}

/// Flushes a file or directory to storage: its data alone, or its metadata too.
fn sync(ctx: &WasiCtx, fd: u32, right: u64, data_only: bool) -> Result<(), Errno> {
    let descriptor = ctx.fds.get(fd)?;
    descriptor.require(right)?;
    let sync = |file: &File| {
        if data_only {
            file.sync_data()
        } else {
            file.sync_all()
        }
    };
    match &descriptor.kind {
        Kind::File(file) => sync(file)?,
        // cap-std may hold a directory by an `O_PATH` handle, which cannot be synced: sync
        // the directory through a handle opened for reading.
        Kind::Dir(DirHandle { dir, .. }) => {
            let mut options = OpenOptions::new();
            options.read(true).maybe_dir(true);
            sync(&dir.open_with(".", &options)?.into_std())?;
        }
        Kind::Input(_) | Kind::Output(_) => return Err(Errno::Inval),
    }
    Ok(())
}

/// Advice is a hint, which this implementation takes none of; it is checked, though.
pub(crate) fn fd_advise(
    ctx: &mut WasiCtx,
    fd: u32,
    _offset: u64,
    _len: u64,
    advice: u32,
) -> Result<(), Errno> {
    let descriptor = ctx.fds.get(fd)?;
    descriptor.require(rights::FD_ADVISE)?;
    descriptor.regular_file()?;
    if advice > u32::from(ADVICE_MAX) {
        return Err(Errno::Inval);
    }
    Ok(())
}

/// Makes sure the file is at least `offset + len` bytes long, like `posix_fallocate`.
pub(crate) fn fd_allocate(ctx: &mut WasiCtx, fd: u32, offset: u64, len: u64) -> Result<(), Errno> {
    let descriptor = ctx.fds.get(fd)?;
    descriptor.require(rights::FD_ALLOCATE)?;
    let file = descriptor.regular_file()?;
    if len == 0 {
        return Err(Errno::Inval);
    }
    let end = offset
        .checked_add(len)
        .filter(|end| i64::try_from(*end).is_ok())
        .ok_or(Errno::Fbig)?;
    if file.metadata()?.len() < end {
        file.set_len(end)?;
    }
    Ok(())
}

/// `fd_close`: closes any descriptor, preopens and stdio included.
pub(crate) fn fd_close(ctx: &mut WasiCtx, fd: u32) -> Result<(), Errno> {
    ctx.fds.remove(fd).map(drop)
}

/// `fd_renumber`: moves descriptor `from` to `to`, closing what `to` was.
pub(crate) fn fd_renumber(ctx: &mut WasiCtx, from: u32, to: u32) -> Result<(), Errno> {
    ctx.fds.renumber(from, to)
}

/// `fd_fdstat_get`: a descriptor's file type, flags and rights.
pub(crate) fn fd_fdstat_get(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    stat: u32,
) -> Result<(), Errno> {
    let descriptor = ctx.fds.get(fd)?;
    let fdstat = Fdstat {
        filetype: descriptor_filetype(descriptor)?,
        flags: descriptor.flags,
        rights_base: descriptor.rights_base,
        rights_inheriting: descriptor.rights_inheriting,
    };
    mem.write(stat, &fdstat.encode())
}

/// `APPEND` and `NONBLOCK` can be changed; the synchronized-I/O flags only at `path_open`
/// (`ENOTSUP`). `NONBLOCK` is recorded, but reads and writes still block.
pub(crate) fn fd_fdstat_set_flags(ctx: &mut WasiCtx, fd: u32, flags: u32) -> Result<(), Errno> {
    let descriptor = ctx.fds.get_mut(fd)?;
    descriptor.require(rights::FD_FDSTAT_SET_FLAGS)?;
    let flags = u16::try_from(flags)
        .ok()
        .filter(|flags| flags & !fdflags::ALL == 0)
        .ok_or(Errno::Inval)?;
    if (flags ^ descriptor.flags) & fdflags::SYNC_ANY != 0 {
        return Err(Errno::Notsup);
    }
    descriptor.flags = flags;
    Ok(())
}

/// Rights can only be dropped: asking for one the descriptor lacks is `ENOTCAPABLE`.
pub(crate) fn fd_fdstat_set_rights(
    ctx: &mut WasiCtx,
    fd: u32,
    rights_base: u64,
    rights_inheriting: u64,
) -> Result<(), Errno> {
    let descriptor = ctx.fds.get_mut(fd)?;
    if rights_base & !descriptor.rights_base != 0
        || rights_inheriting & !descriptor.rights_inheriting != 0
    {
        return Err(Errno::Notcapable);
    }
    descriptor.rights_base = rights_base;
    descriptor.rights_inheriting = rights_inheriting;
    Ok(())
}

/// The guest name of preopened directory `fd`: `EBADF` for any other descriptor, which is
/// how wasi-libc finds where the preopens end.
fn preopen_name(ctx: &WasiCtx, fd: u32) -> Result<&str, Errno> {
    match &ctx.fds.get(fd)?.kind {
        Kind::Dir(DirHandle {
            preopen: Some(name),
            ..
        }) => Ok(name),
        _ => Err(Errno::Badf),
    }
}

/// `fd_prestat_get`: the length of a preopened directory's name.
pub(crate) fn fd_prestat_get(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    prestat: u32,
) -> Result<(), Errno> {
    let name_len = u32::try_from(preopen_name(ctx, fd)?.len()).map_err(|_| Errno::Nametoolong)?;
    mem.write(prestat, &encode_prestat_dir(name_len))
}

/// Writes the name without a terminating NUL; a buffer shorter than the name is
/// `ENAMETOOLONG`.
pub(crate) fn fd_prestat_dir_name(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let name = preopen_name(ctx, fd)?;
    if (path_len as usize) < name.len() {
        return Err(Errno::Nametoolong);
    }
    mem.write(path, name.as_bytes())
}
