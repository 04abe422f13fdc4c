//! Bounds-checked access to the calling instance's linear memory. Every guest pointer goes
//! through here; one out of bounds is `EFAULT`, never a panic.

use std::ops::Range;

use crate::wasi::abi::IOVEC_SIZE;
use crate::wasi::errno::Errno;

/// The most buffers one vectored read or write takes.
const IOV_MAX: u32 = 1024;

/// The guest's memory during one WASI call; empty when the caller exports no `"memory"`.
pub(crate) struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    /// Guest memory over the caller's bytes.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes }
    }

    /// The byte range `[ptr, ptr + len)`, if it lies in memory.
    fn range(&self, ptr: u32, len: u32) -> Result<Range<usize>, Errno> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end <= self.bytes.len() {
            Ok(start..end)
        } else {
            Err(Errno::Fault)
        }
    }

    /// Fails with `EFAULT` unless `len` bytes at `ptr` are in memory: for checking where a
    /// result goes before doing what cannot be undone.
    pub fn check(&self, ptr: u32, len: u32) -> Result<(), Errno> {
        self.range(ptr, len).map(drop)
    }

    /// The `len` bytes at `ptr`.
    pub fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&self.bytes[range])
    }

    /// The `len` bytes at `ptr`, mutably.
    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&mut self.bytes[range])
    }

    /// Copies `data` to `ptr`.
    pub fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Errno> {
        let len = u32::try_from(data.len()).map_err(|_| Errno::Fault)?;
        self.slice_mut(ptr, len)?.copy_from_slice(data);
        Ok(())
    }

    /// Stores a little-endian `u32` at `ptr`.
    pub fn write_u32(&mut self, ptr: u32, value: u32) -> Result<(), Errno> {
        self.write(ptr, &value.to_le_bytes())
    }

    /// Stores a little-endian `u64` at `ptr`.
    pub fn write_u64(&mut self, ptr: u32, value: u64) -> Result<(), Errno> {
        self.write(ptr, &value.to_le_bytes())
    }

    /// `N` bytes at `ptr`.
    pub fn read<const N: usize>(&self, ptr: u32) -> Result<[u8; N], Errno> {
        let mut bytes = [0; N];
        bytes.copy_from_slice(self.slice(ptr, N as u32)?);
        Ok(bytes)
    }

    /// A string argument: `EILSEQ` unless it is UTF-8, as WASI paths must be.
    pub fn str(&self, ptr: u32, len: u32) -> Result<&str, Errno> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno::Ilseq)
    }

    /// The buffers of an `iovec`/`ciovec` array of `count` entries at `ptr`, as
    /// `(pointer, length)` pairs, each checked to lie in memory. As for POSIX
    /// `readv`/`writev`, more than `IOV_MAX` (1024) entries, or lengths whose sum does not
    /// fit the `size` result, are `EINVAL`.
    pub fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<(u32, u32)>, Errno> {
        if count > IOV_MAX {
            return Err(Errno::Inval);
        }
        let mut total: u32 = 0;
        self.slice(ptr, count * IOVEC_SIZE)?
            .chunks_exact(IOVEC_SIZE as usize)
            .map(|iovec| {
                let buf = u32::from_le_bytes([iovec[0], iovec[1], iovec[2], iovec[3]]);
                let len = u32::from_le_bytes([iovec[4], iovec[5], iovec[6], iovec[7]]);
                self.check(buf, len)?;
                total = total.checked_add(len).ok_or(Errno::Inval)?;
                Ok((buf, len))
            })
            .collect()
    }
}
