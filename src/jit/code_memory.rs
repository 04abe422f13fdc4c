//! Executable memory for compiled code: mapped read-write, filled and relocated, then made
//! read+execute. A mapping is never writable and executable at once, and is unmapped when its
//! [`CodeMemory`] is dropped.

use std::ffi::c_void;
use std::ptr::NonNull;

use cranelift_codegen::binemit::Reloc;
use rustix::mm::{MapFlags, MprotectFlags, ProtFlags};

/// A relocation to apply to code before it becomes executable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Relocation {
    /// Where the relocated field starts, in bytes from the start of the code.
    pub offset: usize,
    pub kind: Reloc,
    /// The absolute address of the target.
    pub target: usize,
    pub addend: i64,
}

/// A read+execute mapping holding finished machine code.
pub(crate) struct CodeMemory {
    ptr: NonNull<u8>,
    /// The length of the mapping (whole pages).
    len: usize,
}

// SAFETY: the mapping is immutable once made executable and owned by this value alone; any
// thread may execute or unmap it.
unsafe impl Send for CodeMemory {}
// SAFETY: as above: shared access only ever reads or executes the bytes.
unsafe impl Sync for CodeMemory {}

impl CodeMemory {
    /// Maps `code`, applies `relocations` to it and makes it executable.
    pub fn new(code: &[u8], relocations: &[Relocation]) -> Result<CodeMemory, String> {
        let page = rustix::param::page_size();
        let len = code.len().max(1).div_ceil(page) * page;
        // SAFETY: a fresh anonymous private mapping at an address of the kernel's choice
        // aliases no Rust object.
        let raw = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        }
        .map_err(|error| format!("cannot map code memory: {error}"))?;
        let ptr = NonNull::new(raw.cast::<u8>()).ok_or("mmap returned null")?;
        // From here on `memory` owns the mapping and unmaps it on every error path.
        let memory = CodeMemory { ptr, len };
        // SAFETY: the mapping is `len >= code.len()` bytes, writable, and nothing else refers
        // to it; `code` is a separate allocation.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), ptr.as_ptr(), code.len()) };
        for relocation in relocations {
            memory.apply(relocation, code.len())?;
        }
        // SAFETY: the range is exactly the mapping made above; no reference into it exists.
        unsafe {
            rustix::mm::mprotect(
                ptr.as_ptr().cast::<c_void>(),
                len,
                MprotectFlags::READ | MprotectFlags::EXEC,
            )
        }
        .map_err(|error| format!("cannot make code memory executable: {error}"))?;
        Ok(memory)
    }

    /// The address of the byte at `offset`.
    pub fn address(&self, offset: usize) -> *const u8 {
        debug_assert!(offset < self.len);
        self.ptr.as_ptr().wrapping_add(offset)
    }

    /// Writes one relocated field while the mapping is still writable.
    fn apply(&self, relocation: &Relocation, code_len: usize) -> Result<(), String> {
        let site = self.ptr.as_ptr() as usize + relocation.offset;
        let (bytes, width): ([u8; 8], usize) = match relocation.kind {
            Reloc::Abs8 => {
                let value = (relocation.target as i64).wrapping_add(relocation.addend);
                (value.to_le_bytes(), 8)
            }
            Reloc::X86PCRel4 | Reloc::X86CallPCRel4 | Reloc::X86CallPLTRel4 => {
                let value = (relocation.target as i64)
                    .wrapping_add(relocation.addend)
                    .wrapping_sub(site as i64);
                let value = i32::try_from(value)
                    .map_err(|_| "a PC-relative relocation target is out of range".to_string())?;
                let mut bytes = [0; 8];
                bytes[..4].copy_from_slice(&value.to_le_bytes());
                (bytes, 4)
            }
            kind => return Err(format!("unsupported relocation {kind:?}")),
        };
        if relocation.offset + width > code_len {
            return Err("a relocation lies outside the code".into());
        }
        // SAFETY: `offset + width <= code_len <= len`, so the field lies inside the mapping,
        // which is still read-write and not referenced elsewhere.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), site as *mut u8, width);
        }
        Ok(())
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` describe the mapping made in `new`, unmapped only here. Its
        // owner drops it only once no code in it can run (see `NativeCode`).
        let result = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast::<c_void>(), self.len) };
        debug_assert!(result.is_ok(), "munmap failed: {result:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_executable_after_relocation() {
        // x86-64: `movabs rax, imm64; ret`, the immediate written by an `Abs8` relocation.
        if !cfg!(target_arch = "x86_64") {
            return;
        }
        let mut code = vec![0x48, 0xb8];
        code.extend_from_slice(&[0; 8]);
        code.push(0xc3);
        let relocation = Relocation {
            offset: 2,
            kind: Reloc::Abs8,
            target: 0x1234_5678_9abc,
            addend: 4,
        };
        let memory = CodeMemory::new(&code, &[relocation]).unwrap();
        // SAFETY: the mapping holds a complete function of this signature.
        let function: extern "C" fn() -> u64 = unsafe { std::mem::transmute(memory.address(0)) };
        assert_eq!(function(), 0x1234_5678_9ac0);
    }

    #[test]
    fn relocations_outside_the_code_are_refused() {
        let relocation = Relocation {
            offset: 2,
            kind: Reloc::Abs8,
            target: 0,
            addend: 0,
        };
        assert!(CodeMemory::new(&[0xc3; 4], &[relocation]).is_err());
    }
}
