//! The `path_*` operations. Each resolves its path beneath a directory descriptor through
//! cap-std, which refuses absolute paths and any `..` or symlink step leading outside that
//! directory (reported as `EPERM`, see [`Errno`]).

#![expect(
    clippy::too_many_arguments,
    reason = "each function takes the arguments of its WASI signature"
)]

use cap_fs_ext::{
    DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, OpenOptionsSyncExt,
};
use cap_std::fs::{Dir, OpenOptions};

use crate::wasi::abi::{LOOKUP_SYMLINK_FOLLOW, fdflags, oflags, rights};
use crate::wasi::ctx::WasiCtx;
use crate::wasi::errno::Errno;
use crate::wasi::fs::{filestat, requested_times};
use crate::wasi::memory::GuestMemory;
use crate::wasi::table::Descriptor;

/// Whether `lookupflags` ask to follow a symlink in the last component of the path.
fn follows_symlinks(lookupflags: u32) -> Result<bool, Errno> {
    match lookupflags {
        0 => Ok(false),
        LOOKUP_SYMLINK_FOLLOW => Ok(true),
        _ => Err(Errno::Inval),
    }
}

/// Opens a file or directory. The new descriptor has the rights asked for, less those the
/// directory does not pass on (`rights_inheriting`) and those that do not apply to what was
/// opened. The host file is opened for reading when `FD_READ` or `FD_READDIR` is asked
/// for, and for writing when a right to change it is (or to create or truncate it).
pub(crate) fn path_open(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    lookupflags: u32,
    path: u32,
    path_len: u32,
    open_flags: u32,
    rights_base: u64,
    rights_inheriting: u64,
    fd_flags: u32,
    opened: u32,
) -> Result<(), Errno> {
    let open_flags = u16::try_from(open_flags)
        .ok()
        .filter(|flags| flags & !oflags::ALL == 0)
        .ok_or(Errno::Inval)?;
    let fd_flags = u16::try_from(fd_flags)
        .ok()
        .filter(|flags| flags & !fdflags::ALL == 0)
        .ok_or(Errno::Inval)?;
    let follow = follows_symlinks(lookupflags)?;
    let create = open_flags & oflags::CREAT != 0;
    let exclusive = open_flags & oflags::EXCL != 0;
    let truncate = open_flags & oflags::TRUNC != 0;
    let mut needed = rights::PATH_OPEN;
    if create {
        needed |= rights::PATH_CREATE_FILE;
    }
    if truncate {
        needed |= rights::PATH_FILESTAT_SET_SIZE;
    }
    let inheritable = ctx.fds.get(fd)?.rights_inheriting;
    let parent = &ctx.fds.dir(fd, needed)?.dir;
    let path = mem.str(path, path_len)?;
    mem.check(opened, 4)?;
    let rights_base = rights_base & inheritable;
    let rights_inheriting = rights_inheriting & inheritable;

    let descriptor = if open_flags & oflags::DIRECTORY != 0 {
        if create || truncate {
            return Err(Errno::Inval);
        }
        let dir = if follow {
            parent.open_dir(path)?
        } else {
            parent.open_dir_nofollow(path)?
        };
        Descriptor::dir(dir, None, rights_base, rights_inheriting)
    } else {
        let write = rights_base & rights::WRITE_ACCESS != 0;
        let read = rights_base & (rights::FD_READ | rights::FD_READDIR) != 0;
        let mut options = OpenOptions::new();
        options
            .read(read || !write)
            .write(write || create || truncate)
            .create(create && !exclusive)
            .create_new(create && exclusive)
            .truncate(truncate)
            .follow(if follow {
                FollowSymlinks::Yes
            } else {
                FollowSymlinks::No
            })
            .maybe_dir(true)
            .dsync(fd_flags & fdflags::DSYNC != 0)
            .rsync(fd_flags & fdflags::RSYNC != 0)
            .sync(fd_flags & fdflags::SYNC != 0)
            .nonblock(fd_flags & fdflags::NONBLOCK != 0);
        let file = parent.open_with(path, &options)?;
        if file.metadata()?.is_dir() {
            let dir = Dir::from_std_file(file.into_std());
            Descriptor::dir(dir, None, rights_base, rights_inheriting)
        } else {
            Descriptor::file(file.into_std(), rights_base, fd_flags)
        }
    };
    let new_fd = ctx.fds.insert(descriptor)?;
    mem.write_u32(opened, new_fd)
}

/// Resolves `path` beneath directory `fd`, which must have `right`, and applies `operation`.
fn on_path(
    ctx: &mut WasiCtx,
    mem: &GuestMemory<'_>,
    fd: u32,
    right: u64,
    (path, path_len): (u32, u32),
    operation: impl FnOnce(&cap_std::fs::Dir, &str) -> std::io::Result<()>,
) -> Result<(), Errno> {
    let dir = &ctx.fds.dir(fd, right)?.dir;
    operation(dir, mem.str(path, path_len)?)?;
    Ok(())
}

/// `path_create_directory`.
pub(crate) fn path_create_directory(
    ctx: &mut WasiCtx,
    mem: GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    on_path(
        ctx,
        &mem,
        fd,
        rights::PATH_CREATE_DIRECTORY,
        (path, path_len),
        |dir, path| dir.create_dir(path),
    )
}

/// `path_remove_directory`: removes an empty directory.
pub(crate) fn path_remove_directory(
    ctx: &mut WasiCtx,
    mem: GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    on_path(
        ctx,
        &mem,
        fd,
        rights::PATH_REMOVE_DIRECTORY,
        (path, path_len),
        |dir, path| dir.remove_dir(path),
    )
}

/// `path_unlink_file`: removes a file or symlink (a directory is `EISDIR`, or `EPERM` on
/// some hosts).
pub(crate) fn path_unlink_file(
    ctx: &mut WasiCtx,
    mem: GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    on_path(
        ctx,
        &mem,
        fd,
        rights::PATH_UNLINK_FILE,
        (path, path_len),
        |dir, path| cap_fs_ext::DirExt::remove_file_or_symlink(dir, path),
    )
}

/// `path_rename`: renames beneath one directory descriptor to beneath another.
pub(crate) fn path_rename(
    ctx: &mut WasiCtx,
    mem: GuestMemory<'_>,
    fd: u32,
    old_path: u32,
    old_path_len: u32,
    new_fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> Result<(), Errno> {
    let old_dir = &ctx.fds.dir(fd, rights::PATH_RENAME_SOURCE)?.dir;
    let new_dir = &ctx.fds.dir(new_fd, rights::PATH_RENAME_TARGET)?.dir;
    let old_path = mem.str(old_path, old_path_len)?;
    let new_path = mem.str(new_path, new_path_len)?;
    old_dir.rename(old_path, new_dir, new_path)?;
    Ok(())
}

/// Creates symlink `new_path` (beneath `fd`) holding `old_path`. A target that is absolute
/// is refused (`EPERM`): it could only ever lead outside the sandbox.
pub(crate) fn path_symlink(
    ctx: &mut WasiCtx,
    mem: GuestMemory<'_>,
    old_path: u32,
    old_path_len: u32,
    fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> Result<(), Errno> {
    let dir = &ctx.fds.dir(fd, rights::PATH_SYMLINK)?.dir;
    let old_path = mem.str(old_path, old_path_len)?;
    let new_path = mem.str(new_path, new_path_len)?;
    DirExt::symlink(dir, old_path, new_path)?;
    Ok(())
}

/// Writes the symlink's contents, cut to the buffer's length as `readlink` does. A symlink
/// holding an absolute path is refused (`EPERM`), so the host's layout stays hidden.
pub(crate) fn path_readlink(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
    buf: u32,
    buf_len: u32,
    bufused: u32,
) -> Result<(), Errno> {
    let dir = &ctx.fds.dir(fd, rights::PATH_READLINK)?.dir;
    let contents = dir.read_link(mem.str(path, path_len)?)?;
    let contents = contents.into_os_string().into_encoded_bytes();
    let len = contents.len().min(buf_len as usize);
    mem.check(buf, buf_len)?;
    mem.check(bufused, 4)?;
    mem.write(buf, &contents[..len])?;
    mem.write_u32(bufused, len as u32)
}

/// Makes `new_path` a hard link to `old_path`. With `SYMLINK_FOLLOW`, a symlink at
/// `old_path` is resolved (within the sandbox) and its target is linked.
pub(crate) fn path_link(
    ctx: &mut WasiCtx,
    mem: GuestMemory<'_>,
    old_fd: u32,
    old_flags: u32,
    old_path: u32,
    old_path_len: u32,
    new_fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> Result<(), Errno> {
    let follow = follows_symlinks(old_flags)?;
    let old_dir = &ctx.fds.dir(old_fd, rights::PATH_LINK_SOURCE)?.dir;
    let new_dir = &ctx.fds.dir(new_fd, rights::PATH_LINK_TARGET)?.dir;
    let old_path = mem.str(old_path, old_path_len)?;
    let new_path = mem.str(new_path, new_path_len)?;
    if follow {
        let resolved = old_dir.canonicalize(old_path)?;
        old_dir.hard_link(resolved, new_dir, new_path)?;
    } else {
        old_dir.hard_link(old_path, new_dir, new_path)?;
    }
    Ok(())
}

/// `path_filestat_get`: the metadata of a path, or of the symlink itself without
/// `SYMLINK_FOLLOW`.
pub(crate) fn path_filestat_get(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    fd: u32,
    lookupflags: u32,
    path: u32,
    path_len: u32,
    buf: u32,
) -> Result<(), Errno> {
    let follow = follows_symlinks(lookupflags)?;
    let dir = &ctx.fds.dir(fd, rights::PATH_FILESTAT_GET)?.dir;
    let path = mem.str(path, path_len)?;
    let metadata = if follow {
        dir.metadata(path)?
    } else {
        dir.symlink_metadata(path)?
    };
    mem.write(buf, &filestat(&metadata).encode())
}

/// `path_filestat_set_times`: sets the access and modification times of a path, or of the
/// symlink itself without `SYMLINK_FOLLOW`.
pub(crate) fn path_filestat_set_times(
    ctx: &mut WasiCtx,
    mem: GuestMemory<'_>,
    fd: u32,
    lookupflags: u32,
    path: u32,
    path_len: u32,
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> Result<(), Errno> {
    let follow = follows_symlinks(lookupflags)?;
    let dir = &ctx.fds.dir(fd, rights::PATH_FILESTAT_SET_TIMES)?.dir;
    let path = mem.str(path, path_len)?;
    let (atime, mtime) = requested_times(atim, mtim, fst_flags)?;
    if follow {
        dir.set_times(path, atime, mtime)?;
    } else {
        dir.set_symlink_times(path, atime, mtime)?;
    }
    Ok(())
}
