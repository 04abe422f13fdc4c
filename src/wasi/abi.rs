//! The `wasi_snapshot_preview1` ABI: constants and the byte layouts of the structures that
//! cross guest memory, per `typenames.witx` (all little-endian, naturally aligned).

/// Rights (`rights` bit set): what a descriptor may be used for.
pub(crate) mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;

    /// Every right that applies to a regular file.
    pub const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;

    /// Every right that applies to a directory.
    pub const DIRECTORY: u64 = FD_DATASYNC
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;

    /// The rights of the guest's stdin. Without `FD_SEEK` and `FD_TELL`, so that wasi-libc's
    /// `isatty` recognises a terminal.
    pub const INPUT_STREAM: u64 =
        FD_READ | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;

    /// The rights of the guest's stdout and stderr.
    pub const OUTPUT_STREAM: u64 =
        FD_WRITE | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;

    /// The rights that let a file be written, even without `FD_WRITE` itself; a file opened
    /// with any of them is opened for writing on the host.
    pub const WRITE_ACCESS: u64 = FD_DATASYNC | FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE;
}

/// `filetype`.
pub(crate) mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `fdflags`.
pub(crate) mod fdflags {
    pub const APPEND: u16 = 1 << 0;
    pub const DSYNC: u16 = 1 << 1;
    pub const NONBLOCK: u16 = 1 << 2;
    pub const RSYNC: u16 = 1 << 3;
    pub const SYNC: u16 = 1 << 4;
    /// The flags that ask for synchronized I/O.
    pub const SYNC_ANY: u16 = DSYNC | RSYNC | SYNC;
    pub const ALL: u16 = APPEND | SYNC_ANY | NONBLOCK;
}

/// `oflags`.
pub(crate) mod oflags {
    pub const CREAT: u16 = 1 << 0;
    pub const DIRECTORY: u16 = 1 << 1;
    pub const EXCL: u16 = 1 << 2;
    pub const TRUNC: u16 = 1 << 3;
    pub const ALL: u16 = CREAT | DIRECTORY | EXCL | TRUNC;
}

/// `lookupflags::symlink_follow`.
pub(crate) const LOOKUP_SYMLINK_FOLLOW: u32 = 1;

/// `fstflags`.
pub(crate) mod fstflags {
    pub const ATIM: u16 = 1 << 0;
    pub const ATIM_NOW: u16 = 1 << 1;
    pub const MTIM: u16 = 1 << 2;
    pub const MTIM_NOW: u16 = 1 << 3;
}

/// `whence`.
pub(crate) mod whence {
    pub const SET: u8 = 0;
    pub const CUR: u8 = 1;
    pub const END: u8 = 2;
}

/// `clockid`.
pub(crate) mod clockid {
    pub const REALTIME: u32 = 0;
    pub const MONOTONIC: u32 = 1;
    pub const PROCESS_CPUTIME: u32 = 2;
    pub const THREAD_CPUTIME: u32 = 3;
}

/// `eventtype`.
pub(crate) mod eventtype {
    pub const CLOCK: u8 = 0;
    pub const FD_READ: u8 = 1;
    pub const FD_WRITE: u8 = 2;
}

/// `subclockflags::subscription_clock_abstime`.
pub(crate) const SUBSCRIPTION_CLOCK_ABSTIME: u16 = 1;

/// The largest `advice` value (`noreuse`).
pub(crate) const ADVICE_MAX: u8 = 5;

/// The largest `signal` value (`sys`).
pub(crate) const SIGNAL_MAX: u8 = 30;

/// `iovec` / `ciovec`: a buffer pointer and a length.
pub(crate) const IOVEC_SIZE: u32 = 8;

/// `prestat`: tag `preopentype::dir` (0) at 0, then `pr_name_len: u32` at 4.
pub(crate) fn encode_prestat_dir(name_len: u32) -> [u8; 8] {
    let mut bytes = [0; 8];
    bytes[4..8].copy_from_slice(&name_len.to_le_bytes());
    bytes
}

/// `fdstat`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fdstat {
    pub filetype: u8,
    pub flags: u16,
    pub rights_base: u64,
    pub rights_inheriting: u64,
}

impl Fdstat {
    /// The 24-byte layout: filetype at 0, flags at 2, rights at 8 and 16.
    pub fn encode(&self) -> [u8; 24] {
        let mut bytes = [0; 24];
        bytes[0] = self.filetype;
        bytes[2..4].copy_from_slice(&self.flags.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.rights_base.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.rights_inheriting.to_le_bytes());
        bytes
    }
}

/// `filestat`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: u8,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

impl Filestat {
    /// The 64-byte layout: dev 0, ino 8, filetype 16, nlink 24, size 32, atim 40, mtim 48,
    /// ctim 56.
    pub fn encode(&self) -> [u8; 64] {
        let mut bytes = [0; 64];
        bytes[0..8].copy_from_slice(&self.dev.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.ino.to_le_bytes());
        bytes[16] = self.filetype;
        bytes[24..32].copy_from_slice(&self.nlink.to_le_bytes());
        bytes[32..40].copy_from_slice(&self.size.to_le_bytes());
        bytes[40..48].copy_from_slice(&self.atim.to_le_bytes());
        bytes[48..56].copy_from_slice(&self.mtim.to_le_bytes());
        bytes[56..64].copy_from_slice(&self.ctim.to_le_bytes());
        bytes
    }
}

/// Appends a `dirent` (24 bytes: d_next 0, d_ino 8, d_namlen 16, d_type 20) and its name.
pub(crate) fn encode_dirent(out: &mut Vec<u8>, next: u64, ino: u64, filetype: u8, name: &[u8]) {
    let name_len = u32::try_from(name.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&next.to_le_bytes());
    out.extend_from_slice(&ino.to_le_bytes());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(&[filetype, 0, 0, 0]);
    out.extend_from_slice(name);
}

/// The size of a `subscription`.
pub(crate) const SUBSCRIPTION_SIZE: u32 = 48;

/// The size of an `event`.
pub(crate) const EVENT_SIZE: u32 = 32;

/// A decoded `subscription`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subscription {
    pub userdata: u64,
    pub kind: SubscriptionKind,
}

/// What a subscription waits for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SubscriptionKind {
    /// `subscription_clock`: a clock reaching `timeout`, relative or absolute.
    Clock {
        id: u32,
        timeout: u64,
        absolute: bool,
    },
    /// `subscription_fd_readwrite` under tag `fd_read` or `fd_write`.
    Fd { fd: u32, write: bool },
    /// A tag that is not an `eventtype`.
    Invalid,
}

impl Subscription {
    /// Decodes the 48-byte layout: userdata at 0, the union's tag at 8 and its contents at
    /// 16 (clock: id 16, timeout 24, precision 32, flags 40; fd_readwrite: fd 16).
    pub fn decode(bytes: &[u8; 48]) -> Self {
        let kind = match bytes[8] {
            eventtype::CLOCK => SubscriptionKind::Clock {
                id: u32::from_le_bytes(field(bytes, 16)),
                timeout: u64::from_le_bytes(field(bytes, 24)),
                absolute: u16::from_le_bytes(field(bytes, 40)) & SUBSCRIPTION_CLOCK_ABSTIME != 0,
            },
            tag @ (eventtype::FD_READ | eventtype::FD_WRITE) => SubscriptionKind::Fd {
                fd: u32::from_le_bytes(field(bytes, 16)),
                write: tag == eventtype::FD_WRITE,
            },
            _ => SubscriptionKind::Invalid,
        };
        Subscription {
            userdata: u64::from_le_bytes(field(bytes, 0)),
            kind,
        }
    }
}

/// The `N` bytes of a subscription from offset `at`.
fn field<const N: usize>(bytes: &[u8; 48], at: usize) -> [u8; N] {
    std::array::from_fn(|i| bytes[at + i])
}

/// An `event` to report.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    pub userdata: u64,
    pub error: u16,
    pub eventtype: u8,
    pub nbytes: u64,
}

impl Event {
    /// The 32-byte layout: userdata 0, error 8, type 10, fd_readwrite.nbytes 16,
    /// fd_readwrite.flags 24 (always 0: no hang-up is ever reported).
    pub fn encode(&self) -> [u8; 32] {
        let mut bytes = [0; 32];
        bytes[0..8].copy_from_slice(&self.userdata.to_le_bytes());
        bytes[8..10].copy_from_slice(&self.error.to_le_bytes());
        bytes[10] = self.eventtype;
        bytes[16..24].copy_from_slice(&self.nbytes.to_le_bytes());
        bytes
    }
}
