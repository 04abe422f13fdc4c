//! File metadata (`filestat`), timestamps and directory listing, for descriptors; and the
//! conversions from host metadata that the `path_*` operations share.

use std::fs::FileTimes;
use std::io;
use std::time::{Duration, UNIX_EPOCH};

use cap_fs_ext::{DirExt, FileTypeExt, MetadataExt, SystemTimeSpec};
use cap_std::fs::{Dir, FileType, Metadata};
use cap_std::time::{SystemClock, SystemTime};

use crate::wasi::abi::{Filestat, encode_dirent, filetype, fstflags, rights};
use crate::wasi::clocks::nanos;
use crate::wasi::ctx::WasiCtx;
use crate::wasi::errno::Errno;
use crate::wasi::memory::GuestMemory;
use crate::wasi::sys;
use crate::wasi::table::{Descriptor, DirHandle, Kind, ListedEntry};

/// The WASI `filetype` of a host file type. FIFOs have none and are `unknown`.
pub(crate) fn filetype(file_type: FileType) -> u8 {
    if file_type.is_dir() {
        filetype::DIRECTORY
    } else if file_type.is_file() {
        filetype::REGULAR_FILE
    } else if file_type.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else if file_type.is_char_device() {
        filetype::CHARACTER_DEVICE
    } else if file_type.is_block_device() {
        filetype::BLOCK_DEVICE
    } else if file_type.is_socket() {
        filetype::SOCKET_STREAM
    } else {
        filetype::UNKNOWN
    }
}

/// The `filetype` of what a descriptor refers to. A stream is a character device when it is
/// a terminal and `unknown` otherwise (a pipe, a file, or memory).
pub(crate) fn descriptor_filetype(descriptor: &Descriptor) -> Result<u8, Errno> {
    let stream = |terminal: bool| {
        if terminal {
            filetype::CHARACTER_DEVICE
        } else {
            filetype::UNKNOWN
        }
    };
    Ok(match &descriptor.kind {
        Kind::Input(input) => stream(input.is_terminal()),
        Kind::Output(output) => stream(output.is_terminal()),
        Kind::File(file) => filetype(Metadata::from_file(file)?.file_type()),
        Kind::Dir(_) => filetype::DIRECTORY,
    })
}

/// A host time in nanoseconds since the epoch; 0 when unknown or before the epoch.
pub(crate) fn timestamp(time: io::Result<SystemTime>) -> u64 {
    time.ok()
        .and_then(|time| time.duration_since(SystemClock::UNIX_EPOCH).ok())
        .map_or(0, nanos)
}

/// The `filestat` of host metadata.
pub(crate) fn filestat(metadata: &Metadata) -> Filestat {
    Filestat {
        dev: metadata.dev(),
        ino: metadata.ino(),
        filetype: filetype(metadata.file_type()),
        nlink: metadata.nlink(),
        size: metadata.len(),
        atim: timestamp(metadata.accessed()),
        mtim: timestamp(metadata.modified()),
        ctim: sys::status_change_time(metadata),
    }
}

/// The access and modification times `fst_flags` asks to set, `None` for one to leave
/// alone. Asking for a time both given and "now", or an unknown flag, is `EINVAL`.
pub(crate) fn requested_times(
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> Result<(Option<SystemTimeSpec>, Option<SystemTimeSpec>), Errno> {
    let flags = u16::try_from(fst_flags)
        .ok()
        .filter(|flags| flags & !0b1111 == 0)
        .ok_or(Errno::Inval)?;
    let requested = |time: u64, given: u16, now: u16| match (flags & given != 0, flags & now != 0) {
        (true, true) => Err(Errno::Inval),
        (true, false) => UNIX_EPOCH
            .checked_add(Duration::from_nanos(time))
            .map(|time| Some(SystemTimeSpec::Absolute(SystemTime::from_std(time))))
            .ok_or(Errno::Overflow),
        (false, true) => Ok(Some(SystemTimeSpec::SymbolicNow)),
        (false, false) => Ok(None),
    };
    Ok((
        requested(atim, fstflags::ATIM, fstflags::ATIM_NOW)?,
        requested(mtim, fstflags::MTIM, fstflags::MTIM_NOW)?,
    ))
}

/// `fd_filestat_get`: a descriptor's metadata; a stream's is its file type alone.
pub(crate) fn fd_filestat_get(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    buf: u32,
) -> Result<(), Errno> {
    let descriptor = ctx.fds.get(fd)?;
    descriptor.require(rights::FD_FILESTAT_GET)?;
    let stat = match &descriptor.kind {
        Kind::File(file) => filestat(&Metadata::from_file(file)?),
        Kind::Dir(DirHandle { dir, .. }) => filestat(&dir.dir_metadata()?),
        Kind::Input(_) | Kind::Output(_) => Filestat {
            filetype: descriptor_filetype(descriptor)?,
            ..Filestat::default()
        },
    };
    mem.write(buf, &stat.encode())
}

/// `fd_filestat_set_size`: truncates or extends a file.
pub(crate) fn fd_filestat_set_size(ctx: &mut WasiCtx, fd: u32, size: u64) -> Result<(), Errno> {
    let descriptor = ctx.fds.get(fd)?;
    descriptor.require(rights::FD_FILESTAT_SET_SIZE)?;
    descriptor.regular_file()?.set_len(size)?;
    Ok(())
}

/// `fd_filestat_set_times`: sets a file's or directory's access and modification times.
pub(crate) fn fd_filestat_set_times(
    ctx: &mut WasiCtx,
    fd: u32,
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> Result<(), Errno> {
    let descriptor = ctx.fds.get(fd)?;
    descriptor.require(rights::FD_FILESTAT_SET_TIMES)?;
    let (atime, mtime) = requested_times(atim, mtim, fst_flags)?;
    match &descriptor.kind {
        Kind::File(file) => {
            let at = |spec: SystemTimeSpec| match spec {
                SystemTimeSpec::SymbolicNow => std::time::SystemTime::now(),
                SystemTimeSpec::Absolute(time) => time.into_std(),
            };
            let mut times = FileTimes::new();
            if let Some(atime) = atime {
                times = times.set_accessed(at(atime));
            }
            if let Some(mtime) = mtime {
                times = times.set_modified(at(mtime));
            }
            file.set_times(times)?;
        }
        Kind::Dir(DirHandle { dir, .. }) => dir.set_times(".", atime, mtime)?,
        Kind::Input(_) | Kind::Output(_) => return Err(Errno::Badf),
    }
    Ok(())
}

/// Lists a directory into `buf`: a `dirent` and the name for each entry from `cookie` on,
/// as many as fit, the last possibly cut short (a full buffer tells the guest to call
/// again). Entry `i` has cookie `i` and reports `i + 1` as its `d_next`; `.` and `..` come
/// first. Cookie 0 lists the directory afresh; later cookies continue from that listing.
pub(crate) fn fd_readdir(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> Result<(), Errno> {
    let handle = ctx.fds.dir_mut(fd, rights::FD_READDIR)?;
    mem.check(buf, buf_len)?;
    mem.check(bufused, 4)?;
    if cookie == 0 || handle.listing.is_none() {
        handle.listing = Some(list(&handle.dir)?);
    }
    let entries = handle.listing.as_deref().unwrap_or_default();
    let start = usize::try_from(cookie).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for (index, entry) in entries.iter().enumerate().skip(start) {
        if out.len() >= buf_len as usize {
            break;
        }
        encode_dirent(
            &mut out,
            index as u64 + 1,
            entry.ino,
            entry.filetype,
            &entry.name,
        );
    }
    out.truncate(buf_len as usize);
    mem.write(buf, &out)?;
    mem.write_u32(bufused, out.len() as u32)
}

/// The entries of a directory, `.` and `..` first. A directory descriptor is the root of
/// what it reaches, so `..` reports the directory's own inode, as in wasmtime.
fn list(dir: &Dir) -> io::Result<Vec<ListedEntry>> {
    let ino = dir.dir_metadata()?.ino();
    let dot = |name: &[u8]| ListedEntry {
        name: name.to_vec(),
        ino,
        filetype: filetype::DIRECTORY,
    };
    let mut entries = vec![dot(b"."), dot(b"..")];
    for entry in dir.entries()? {
        let entry = entry?;
        entries.push(ListedEntry {
            filetype: filetype(entry.file_type()?),
            ino: sys::entry_ino(&entry)?,
            name: entry.file_name().into_encoded_bytes(),
        });
    }
    Ok(entries)
}
