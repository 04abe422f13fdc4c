//! The descriptor table: what each guest file descriptor refers to, with its rights and
//! flags.

use std::fs::File;

use cap_std::fs::Dir;

use crate::wasi::abi::rights;
use crate::wasi::errno::Errno;
use crate::wasi::stdio::{InputStream, OutputStream};

/// An open descriptor.
pub(crate) struct Descriptor {
    pub kind: Kind,
    /// The rights of operations on the descriptor itself.
    pub rights_base: u64,
    /// The most rights a descriptor opened through this one (by `path_open`) may have.
    pub rights_inheriting: u64,
    /// The `fdflags`: `APPEND` is honoured by `fd_write`; the others are as opened or set.
    pub flags: u16,
}

/// What a descriptor refers to.
pub(crate) enum Kind {
    Input(InputStream),
    Output(OutputStream),
    File(File),
    Dir(DirHandle),
}

/// An open directory: every path operation resolves beneath it, through cap-std.
pub(crate) struct DirHandle {
    pub dir: Dir,
    /// The name the guest knows a preopened directory by (`fd_prestat_dir_name`).
    pub preopen: Option<String>,
    /// The entries `fd_readdir` listed from cookie 0; later cookies index into this
    /// snapshot, so one pass over a directory lists it once.
    pub listing: Option<Vec<ListedEntry>>,
}

/// A directory entry as `fd_readdir` reports it.
pub(crate) struct ListedEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    pub filetype: u8,
}

impl Descriptor {
    /// Stdin: readable, not seekable.
    pub fn input(stream: InputStream) -> Self {
        Descriptor {
            kind: Kind::Input(stream),
            rights_base: rights::INPUT_STREAM,
            rights_inheriting: 0,
            flags: 0,
        }
    }

    /// Stdout or stderr: writable, not seekable.
    pub fn output(stream: OutputStream) -> Self {
        Descriptor {
            kind: Kind::Output(stream),
            rights_base: rights::OUTPUT_STREAM,
            rights_inheriting: 0,
            flags: 0,
        }
    }

    /// A regular file (or another non-directory), with the file rights of `rights_base`.
    pub fn file(file: File, rights_base: u64, flags: u16) -> Self {
        Descriptor {
            kind: Kind::File(file),
            rights_base: rights_base & rights::FILE,
            rights_inheriting: 0,
            flags,
        }
    }

    /// A directory, with the directory rights of `rights_base`.
    pub fn dir(
        dir: Dir,
        preopen: Option<String>,
        rights_base: u64,
        rights_inheriting: u64,
    ) -> Self {
        Descriptor {
            kind: Kind::Dir(DirHandle {
                dir,
                preopen,
                listing: None,
            }),
            rights_base: rights_base & rights::DIRECTORY,
            rights_inheriting,
            flags: 0,
        }
    }

    /// Fails unless the descriptor has all of `needed` (see [`check_rights`]).
    pub fn require(&self, needed: u64) -> Result<(), Errno> {
        check_rights(self.rights_base, needed)
    }

    /// The regular file behind the descriptor, for operations at an offset or on the file's
    /// length: a stream cannot seek (`ESPIPE`); a directory is `EBADF`.
    pub fn regular_file(&self) -> Result<&File, Errno> {
        match &self.kind {
            Kind::File(file) => Ok(file),
            Kind::Input(_) | Kind::Output(_) => Err(Errno::Spipe),
            Kind::Dir(_) => Err(Errno::Badf),
        }
    }
}

/// Fails unless `rights` include all of `needed`. A missing `FD_READ` or `FD_WRITE` is
/// `EBADF`, as POSIX programs expect for a file not open for reading or writing; any other
/// missing right is `ENOTCAPABLE`.
fn check_rights(rights: u64, needed: u64) -> Result<(), Errno> {
    let missing = needed & !rights;
    if missing == 0 {
        Ok(())
    } else if missing & (rights::FD_READ | rights::FD_WRITE) != 0 {
        Err(Errno::Badf)
    } else {
        Err(Errno::Notcapable)
    }
}

/// The descriptors of one WASI context, by number.
#[derive(Default)]
pub(crate) struct FdTable {
    slots: Vec<Option<Descriptor>>,
}

impl FdTable {
    /// Adds a descriptor under the lowest free number, as POSIX `open` does.
    pub fn insert(&mut self, descriptor: Descriptor) -> Result<u32, Errno> {
        let index = match self.slots.iter().position(Option::is_none) {
            Some(index) => {
                self.slots[index] = Some(descriptor);
                index
            }
            None => {
                self.slots.push(Some(descriptor));
                self.slots.len() - 1
            }
        };
        u32::try_from(index).map_err(|_| Errno::Mfile)
    }

    /// The open descriptor `fd`: `EBADF` when there is none.
    pub fn get(&self, fd: u32) -> Result<&Descriptor, Errno> {
        self.slots
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::Badf)
    }

    /// [`get`](Self::get), mutably.
    pub fn get_mut(&mut self, fd: u32) -> Result<&mut Descriptor, Errno> {
        self.slots
            .get_mut(fd as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::Badf)
    }

    /// Takes descriptor `fd` out of the table, closing it when dropped.
    pub fn remove(&mut self, fd: u32) -> Result<Descriptor, Errno> {
        let descriptor = self
            .slots
            .get_mut(fd as usize)
            .and_then(Option::take)
            .ok_or(Errno::Badf)?;
        self.trim();
        Ok(descriptor)
    }

    /// Moves descriptor `from` to number `to`, closing what `to` referred to. Both must be
    /// open.
    pub fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        self.get(from)?;
        self.get(to)?;
        if from != to {
            self.slots[to as usize] = self.slots[from as usize].take();
            self.trim();
        }
        Ok(())
    }

    /// Drops the free slots at the end.
    fn trim(&mut self) {
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
    }

    /// The directory behind `fd`, which must have all of `needed`: `ENOTDIR` for any other
    /// kind of descriptor.
    pub fn dir(&self, fd: u32, needed: u64) -> Result<&DirHandle, Errno> {
        let descriptor = self.get(fd)?;
        let Kind::Dir(handle) = &descriptor.kind else {
            return Err(Errno::Notdir);
        };
        descriptor.require(needed)?;
        Ok(handle)
    }

    /// [`dir`](Self::dir), mutably.
    pub fn dir_mut(&mut self, fd: u32, needed: u64) -> Result<&mut DirHandle, Errno> {
        let Descriptor {
            kind, rights_base, ..
        } = self.get_mut(fd)?;
        let Kind::Dir(handle) = kind else {
            return Err(Errno::Notdir);
        };
        check_rights(*rights_base, needed)?;
        Ok(handle)
    }
}
