//! The few host-platform specifics: positioned I/O, inode numbers of directory entries,
//! status-change times, and CPU-time clocks. Unix is the full implementation; elsewhere
//! the nearest portable equivalent, or `ENOTSUP`.

use std::fs::File;
use std::io;

use cap_std::fs::{DirEntry, Metadata};

use crate::wasi::errno::Errno;

/// Reads at `offset` without moving the file position.
#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

/// Writes at `offset` without moving the file position.
#[cfg(unix)]
pub(crate) fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::write_at(file, buf, offset)
}

/// Reads at `offset` (on Windows, this moves the file position).
#[cfg(windows)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// Writes at `offset` (on Windows, this moves the file position).
#[cfg(windows)]
pub(crate) fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_write(file, buf, offset)
}

/// The inode number of a directory entry, from the directory listing itself.
#[cfg(unix)]
pub(crate) fn entry_ino(entry: &DirEntry) -> io::Result<u64> {
    Ok(rustix::fs::DirEntryExt::ino(entry))
}

/// The inode number (file index) of a directory entry.
#[cfg(not(unix))]
pub(crate) fn entry_ino(entry: &DirEntry) -> io::Result<u64> {
    use cap_fs_ext::{DirEntryExt, MetadataExt};
    Ok(entry.full_metadata()?.ino())
}

/// The last status change (`ctim`), in nanoseconds since the epoch.
#[cfg(unix)]
pub(crate) fn status_change_time(metadata: &Metadata) -> u64 {
    use cap_std::fs::MetadataExt;
    let seconds = u64::try_from(metadata.ctime()).unwrap_or(0);
    let nanos = u64::try_from(metadata.ctime_nsec()).unwrap_or(0);
    seconds.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// The last status change (`ctim`): the nearest portable time is the last modification.
#[cfg(not(unix))]
pub(crate) fn status_change_time(metadata: &Metadata) -> u64 {
    crate::wasi::fs::timestamp(metadata.modified())
}

/// Waits until the host's stdin can be read without blocking (data or end of file), for at
/// most `timeout` (`None`: as long as it takes). Returns whether it can.
#[cfg(unix)]
pub(crate) fn wait_for_stdin(timeout: Option<std::time::Duration>) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let stdin = io::stdin();
    let timeout = timeout.map(|timeout| Timespec {
        tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(timeout.subsec_nanos()),
    });
    loop {
        let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
        match poll(&mut fds, timeout.as_ref()) {
            Ok(ready) => return ready > 0,
            Err(rustix::io::Errno::INTR) => continue,
            // A stdin that cannot be polled is reported ready; reading it gives the error.
            Err(_) => return true,
        }
    }
}

/// Without `poll`, stdin is reported ready; a read may then block.
#[cfg(not(unix))]
pub(crate) fn wait_for_stdin(_timeout: Option<std::time::Duration>) -> bool {
    true
}

/// The CPU time of the process, or of the calling thread, in nanoseconds.
#[cfg(unix)]
pub(crate) fn cpu_time(thread: bool) -> Result<u64, Errno> {
    Ok(nanos(rustix::time::clock_gettime(cpu_clock(thread))))
}

/// The resolution of [`cpu_time`], in nanoseconds.
#[cfg(unix)]
pub(crate) fn cpu_time_resolution(thread: bool) -> Result<u64, Errno> {
    Ok(nanos(rustix::time::clock_getres(cpu_clock(thread))))
}

#[cfg(unix)]
fn cpu_clock(thread: bool) -> rustix::time::ClockId {
    if thread {
        rustix::time::ClockId::ThreadCPUTime
    } else {
        rustix::time::ClockId::ProcessCPUTime
    }
}

#[cfg(unix)]
fn nanos(spec: rustix::time::Timespec) -> u64 {
    let seconds = u64::try_from(spec.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(spec.tv_nsec).unwrap_or(0);
    seconds.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// The CPU-time clocks are Unix-only.
#[cfg(not(unix))]
pub(crate) fn cpu_time(_thread: bool) -> Result<u64, Errno> {
    Err(Errno::Notsup)
}

/// The CPU-time clocks are Unix-only.
#[cfg(not(unix))]
pub(crate) fn cpu_time_resolution(_thread: bool) -> Result<u64, Errno> {
    Err(Errno::Notsup)
}
