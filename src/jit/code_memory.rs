//! Executable memory for compiled code, owned by the engine.
//!
//! A [`CodeArena`] reserves large regions of address space, inaccessible, and hands out runs
//! of whole pages from them, first fit. An allocation is made read-write, filled and
//! relocated, then made read+execute: no page is ever writable and executable at once, and
//! since an allocation never shares a page with another, no page is written while code on it
//! may run. Dropping the allocation's [`CodeMemory`] makes its pages inaccessible again,
//! releases their memory and returns them to the arena, merged with free neighbours.
//!
//! The kernel keeps adjacent pages of one region that have the same protection as one
//! mapping, so thousands of functions take a handful of mappings (Linux allows a process
//! about 65 530) instead of one each.

use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cranelift_codegen::binemit::Reloc;
use rustix::mm::{Advice, MapFlags, MprotectFlags, ProtFlags};

/// The address space reserved for one region; an allocation larger than this gets a region
/// of its own length.
const REGION_SIZE: usize = 64 << 20;

/// The advice that releases the memory of pages no longer in use: Linux's `MADV_DONTNEED`.
#[cfg(any(target_os = "linux", target_os = "android"))]
const RELEASE: Advice = Advice::LinuxDontNeed;
/// The advice that releases the memory of pages no longer in use: POSIX's `DONTNEED`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const RELEASE: Advice = Advice::DontNeed;

/// A relocation to apply to code before it becomes executable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Relocation {
    /// Where the relocated field starts, in bytes from the start of the code.
    pub offset: usize,
    /// How the field is computed and how wide it is.
    pub kind: Reloc,
    /// The absolute address of the target.
    pub target: usize,
    /// Added to the target.
    pub addend: i64,
}

/// An engine's executable memory: reserved regions of address space and their free pages.
/// The lock is taken only to allocate and to free, never to run code.
#[derive(Default)]
pub(crate) struct CodeArena {
    /// Every region reserved so far; regions are only added, so an index names one for the
    /// arena's lifetime.
    regions: Mutex<Vec<Region>>,
}

/// One reserved range of address space, unmapped when dropped (with its arena).
struct Region {
    /// The address of its first byte (page-aligned).
    base: usize,
    /// Its length in bytes (whole pages).
    len: usize,
    /// The free runs of pages as (offset, length) in bytes: sorted by offset, disjoint, and
    /// never adjacent (a freed run is merged with its free neighbours).
    free: Vec<(usize, usize)>,
}

/// Pages of a [`CodeArena`] holding one piece of machine code. It keeps the arena alive, and
/// returns its pages to it when dropped, which its owner does only once no code in it can
/// run.
pub(crate) struct CodeMemory {
    arena: Arc<CodeArena>,
    /// The index of the arena region the pages are in.
    region: usize,
    ptr: NonNull<u8>,
    /// The length of the allocation (whole pages).
    len: usize,
}

// SAFETY: the pages are owned by this value alone and immutable once made executable; any
// thread may execute them or return them to the arena, whose state is behind a mutex.
unsafe impl Send for CodeMemory {}
// SAFETY: as above: shared access only ever reads or executes the bytes.
unsafe impl Sync for CodeMemory {}

impl CodeArena {
    /// Copies `code` into pages of the arena that hold nothing else, applies `relocations`
    /// to it and makes it executable.
    pub fn allocate(
        self: &Arc<Self>,
        code: &[u8],
        relocations: &[Relocation],
    ) -> Result<CodeMemory, String> {
        let page = rustix::param::page_size();
        let len = code
            .len()
            .max(1)
            .checked_next_multiple_of(page)
            .ok_or("the code is too large")?;
        // From here on `memory` owns the pages and returns them on every error path.
        let memory = self.take_pages(len)?;
        memory.protect(
            MprotectFlags::READ | MprotectFlags::WRITE,
            "cannot make code memory writable",
        )?;
        // SAFETY: the pages are `len >= code.len()` bytes, now writable, and nothing else
        // refers to them; `code` is a separate allocation.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), memory.ptr.as_ptr(), code.len()) };
        for relocation in relocations {
            memory.apply(relocation, code.len())?;
        }
        memory.protect(
            MprotectFlags::READ | MprotectFlags::EXEC,
            "cannot make code memory executable",
        )?;
        Ok(memory)
    }

    /// `len` bytes (whole pages) of inaccessible pages: the start of the first free run long
    /// enough, or else of a newly reserved region.
    fn take_pages(self: &Arc<Self>, len: usize) -> Result<CodeMemory, String> {
        let mut regions = self.lock();
        let found = regions
            .iter_mut()
            .enumerate()
            .find_map(|(index, region)| Some((index, region.take(len)?)));
        let (region, offset) = match found {
            Some(found) => found,
            None => {
                let mut region = Region::reserve(len.max(REGION_SIZE))?;
                let offset = region
                    .take(len)
                    .ok_or("a new code region is shorter than its allocation")?;
                regions.push(region);
                (regions.len() - 1, offset)
            }
        };
        let address = regions[region].base + offset;
        drop(regions);
        let ptr = NonNull::new(address as *mut u8).ok_or("a code region starts at null")?;
        Ok(CodeMemory {
            arena: Arc::clone(self),
            region,
            ptr,
            len,
        })
    }

    /// The regions, locked. A panic while they were locked cannot have left them half
    /// updated (the only one possible is an allocation failure in `Vec`), so a poisoned lock
    /// is used as it is.
    fn lock(&self) -> MutexGuard<'_, Vec<Region>> {
        self.regions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Region {
    /// Reserves `len` bytes of inaccessible address space.
    fn reserve(len: usize) -> Result<Region, String> {
        // SAFETY: a fresh anonymous private mapping at an address of the kernel's choice
        // aliases no Rust object.
        let raw = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::empty(),
                MapFlags::PRIVATE,
            )
        }
        .map_err(|error| format!("cannot reserve {len} bytes of code memory: {error}"))?;
        Ok(Region {
            base: raw as usize,
            len,
            free: vec![(0, len)],
        })
    }

    /// Takes `len` bytes from the first free run that has them; their offset.
    fn take(&mut self, len: usize) -> Option<usize> {
        let index = self.free.iter().position(|&(_, free)| free >= len)?;
        let (offset, free) = self.free[index];
        if free == len {
            self.free.remove(index);
        } else {
            self.free[index] = (offset + len, free - len);
        }
        Some(offset)
    }

    /// Returns the `len` bytes at `offset`, taken before, to the free runs.
    fn give_back(&mut self, offset: usize, len: usize) {
        let index = self.free.partition_point(|&(start, _)| start < offset);
        let joins_previous = index > 0 && {
            let (start, free) = self.free[index - 1];
            start + free == offset
        };
        let joins_next = self
            .free
            .get(index)
            .is_some_and(|&(start, _)| start == offset + len);
        match (joins_previous, joins_next) {
            (true, true) => {
                let (_, next) = self.free.remove(index);
                self.free[index - 1].1 += len + next;
            }
            (true, false) => self.free[index - 1].1 += len,
            (false, true) => self.free[index] = (offset, len + self.free[index].1),
            (false, false) => self.free.insert(index, (offset, len)),
        }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: `base` and `len` describe the reservation made in `reserve`, unmapped only
        // here. A region is dropped only with its arena, which every `CodeMemory` keeps
        // alive, so no code in it can run any more.
        let result = unsafe { rustix::mm::munmap(self.base as *mut c_void, self.len) };
        debug_assert!(result.is_ok(), "munmap failed: {result:?}");
    }
}

impl CodeMemory {
    /// The address of the byte at `offset`.
    pub fn address(&self, offset: usize) -> *const u8 {
        debug_assert!(offset < self.len);
        self.ptr.as_ptr().wrapping_add(offset)
    }

    /// Sets the protection of the pages; `what` describes a failure.
    fn protect(&self, flags: MprotectFlags, what: &str) -> Result<(), String> {
        // SAFETY: the range is exactly this allocation's pages, which nothing else uses. It is
        // called while the pages are being filled, when no reference into them exists and no
        // code on them runs.
        unsafe { rustix::mm::mprotect(self.ptr.as_ptr().cast::<c_void>(), self.len, flags) }
            .map_err(|error| format!("{what}: {error}"))
    }

    /// Writes one relocated field while the pages are still writable.
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
        if relocation.offset.saturating_add(width) > code_len {
            return Err("a relocation lies outside the code".into());
        }
        // SAFETY: `offset + width <= code_len <= len`, so the field lies inside the pages,
        // which are still read-write and not referenced elsewhere.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), site as *mut u8, width);
        }
        Ok(())
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        let ptr = self.ptr.as_ptr().cast::<c_void>();
        // SAFETY: the range is exactly this allocation's pages, and its owner drops it only
        // once no code on them can run (see `NativeSlot` and `EngineCode`); making them
        // inaccessible affects nothing else.
        let inaccessible = unsafe { rustix::mm::mprotect(ptr, self.len, MprotectFlags::empty()) };
        // SAFETY: as above; the pages are inaccessible, so discarding their contents (they
        // read as zeros when next made accessible) is seen by no one.
        let released =
            inaccessible.and_then(|()| unsafe { rustix::mm::madvise(ptr, self.len, RELEASE) });
        // Pages that could not be made inaccessible and released stay out of use.
        if released.is_ok() {
            let mut regions = self.arena.lock();
            let region = &mut regions[self.region];
            let offset = self.ptr.as_ptr() as usize - region.base;
            region.give_back(offset, self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x86-64: `movabs rax, imm64; ret`, the immediate written by an `Abs8` relocation to
    /// `value`.
    fn returning(value: usize) -> (Vec<u8>, Relocation) {
        let mut code = vec![0x48, 0xb8];
        code.extend_from_slice(&[0; 8]);
        code.push(0xc3);
        let relocation = Relocation {
            offset: 2,
            kind: Reloc::Abs8,
            target: value,
            addend: 0,
        };
        (code, relocation)
    }

    /// Calls the code `returning` produced.
    fn call(memory: &CodeMemory) -> u64 {
        // SAFETY: the pages hold a complete function of this signature (see `returning`).
        let function: extern "C" fn() -> u64 = unsafe { std::mem::transmute(memory.address(0)) };
        function()
    }

    /// The permissions (`r-xp`, `---p`…) of the mapping of this process holding `address`.
    #[cfg(target_os = "linux")]
    fn permissions(address: *const u8) -> String {
        let address = address as usize;
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .find_map(|line| {
                let (range, rest) = line.split_once(' ')?;
                let (start, end) = range.split_once('-')?;
                let start = usize::from_str_radix(start, 16).ok()?;
                let end = usize::from_str_radix(end, 16).ok()?;
                (start..end)
                    .contains(&address)
                    .then(|| rest[..4].to_string())
            })
            .unwrap_or_else(|| panic!("no mapping holds {address:#x}"))
    }

    /// The number of mappings of this process.
    #[cfg(target_os = "linux")]
    fn mappings() -> usize {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .count()
    }

    /// The free runs of every region of `arena`.
    fn free_runs(arena: &CodeArena) -> Vec<Vec<(usize, usize)>> {
        arena
            .lock()
            .iter()
            .map(|region| region.free.clone())
            .collect()
    }

    #[test]
    fn code_is_executable_after_relocation() {
        if !cfg!(target_arch = "x86_64") {
            return;
        }
        let arena = Arc::new(CodeArena::default());
        let (code, mut relocation) = returning(0x1234_5678_9abc);
        relocation.addend = 4;
        let memory = arena.allocate(&code, &[relocation]).unwrap();
        assert_eq!(call(&memory), 0x1234_5678_9ac0);
        #[cfg(target_os = "linux")]
        assert_eq!(permissions(memory.address(0)), "r-xp");
    }

    #[test]
    fn freed_pages_are_inaccessible_then_reused() {
        if !cfg!(target_arch = "x86_64") {
            return;
        }
        let arena = Arc::new(CodeArena::default());
        let (code, relocation) = returning(1);
        let first = arena.allocate(&code, &[relocation]).unwrap();
        let second = arena.allocate(&code, &[relocation]).unwrap();
        let page = rustix::param::page_size();
        assert_eq!(second.address(0) as usize, first.address(0) as usize + page);
        let address = first.address(0);
        drop(first);
        #[cfg(target_os = "linux")]
        assert_eq!(permissions(address), "---p");
        let (code, relocation) = returning(2);
        let third = arena.allocate(&code, &[relocation]).unwrap();
        assert_eq!(third.address(0), address, "the freed page is reused");
        assert_eq!(call(&third), 2);
        assert_eq!(call(&second), 1);
    }

    #[test]
    fn freed_runs_are_merged_with_their_neighbours() {
        let arena = Arc::new(CodeArena::default());
        let page = rustix::param::page_size();
        let pages: Vec<CodeMemory> = (0..4)
            .map(|_| arena.allocate(&[0xc3], &[]).unwrap())
            .collect();
        let start = pages[0].address(0);
        let mut pages = pages.into_iter();
        let (a, b, c, d) = (
            pages.next().unwrap(),
            pages.next().unwrap(),
            pages.next().unwrap(),
            pages.next().unwrap(),
        );
        drop(a);
        drop(c);
        assert_eq!(
            free_runs(&arena),
            [vec![
                (0, page),
                (2 * page, page),
                (4 * page, REGION_SIZE - 4 * page)
            ]]
        );
        drop(b);
        assert_eq!(
            free_runs(&arena),
            [vec![(0, 3 * page), (4 * page, REGION_SIZE - 4 * page)]]
        );
        let long = arena.allocate(&vec![0xc3; 3 * page], &[]).unwrap();
        assert_eq!(
            long.address(0),
            start,
            "three merged pages hold three pages of code"
        );
        drop(long);
        drop(d);
        assert_eq!(free_runs(&arena), [vec![(0, REGION_SIZE)]]);
    }

    #[test]
    fn seventy_thousand_allocations_take_few_mappings() {
        if !cfg!(target_arch = "x86_64") {
            return;
        }
        const COUNT: usize = 70_000;
        let arena = Arc::new(CodeArena::default());
        #[cfg(target_os = "linux")]
        let before = mappings();
        let functions: Vec<CodeMemory> = (0..COUNT)
            .map(|i| {
                let (code, relocation) = returning(i);
                arena.allocate(&code, &[relocation]).unwrap()
            })
            .collect();
        #[cfg(target_os = "linux")]
        {
            let added = mappings().saturating_sub(before);
            assert!(added < 100, "{COUNT} functions took {added} new mappings");
        }
        for i in [0, 1, COUNT / 2, COUNT - 1] {
            assert_eq!(call(&functions[i]), i as u64);
        }
        let regions = arena.lock().len();
        let page = rustix::param::page_size();
        assert_eq!(regions, (COUNT * page).div_ceil(REGION_SIZE));
        drop(functions);
        assert!(
            free_runs(&arena)
                .iter()
                .all(|runs| runs == &[(0, REGION_SIZE)]),
            "every page is free again"
        );
    }

    /// Linux merges adjacent anonymous mappings of the same protection, so one mapping per
    /// function can also end up as few; but not when other mappings come between them, as
    /// the store's memories and other threads' do. In a reserved region they never do.
    #[cfg(target_os = "linux")]
    #[test]
    fn mappings_made_between_allocations_do_not_split_the_code() {
        const COUNT: usize = 1_000;
        let arena = Arc::new(CodeArena::default());
        let page = rustix::param::page_size();
        let before = mappings();
        let _kept: Vec<(CodeMemory, Region)> = (0..COUNT)
            .map(|_| {
                let code = arena.allocate(&[0xc3], &[]).unwrap();
                (code, Region::reserve(page).unwrap())
            })
            .collect();
        let added = mappings().saturating_sub(before);
        assert!(
            added < 100,
            "{COUNT} functions and {COUNT} other mappings took {added} new mappings"
        );
    }

    #[test]
    fn an_allocation_longer_than_a_region_gets_a_region_of_its_own() {
        let arena = Arc::new(CodeArena::default());
        let page = rustix::param::page_size();
        let small = arena.take_pages(page).unwrap();
        let large = arena.take_pages(REGION_SIZE + page).unwrap();
        assert_eq!(large.region, 1);
        assert_eq!(
            free_runs(&arena),
            [vec![(page, REGION_SIZE - page)], vec![]]
        );
        drop((small, large));
        assert_eq!(
            free_runs(&arena),
            [vec![(0, REGION_SIZE)], vec![(0, REGION_SIZE + page)]]
        );
    }

    #[test]
    fn address_space_that_cannot_be_reserved_is_an_error() {
        let arena = Arc::new(CodeArena::default());
        assert!(arena.take_pages(1 << 62).is_err());
        assert!(free_runs(&arena).is_empty(), "no region was added");
        let page = rustix::param::page_size();
        assert!(arena.take_pages(page).is_ok(), "the arena still works");
    }

    #[test]
    fn bad_relocations_are_refused_and_their_pages_returned() {
        let arena = Arc::new(CodeArena::default());
        let outside = Relocation {
            offset: 2,
            kind: Reloc::Abs8,
            target: 0,
            addend: 0,
        };
        let too_far = Relocation {
            offset: 0,
            kind: Reloc::X86PCRel4,
            target: usize::MAX / 2,
            addend: 0,
        };
        let unsupported = Relocation {
            offset: 0,
            kind: Reloc::Abs4,
            target: 0,
            addend: 0,
        };
        for relocation in [outside, too_far, unsupported] {
            let result = arena.allocate(&[0xc3; 4], &[relocation]);
            assert!(result.is_err(), "{relocation:?} is refused");
            assert_eq!(free_runs(&arena), [vec![(0, REGION_SIZE)]]);
        }
    }
}
