//! Linear memories, as host handles.

use crate::engine::MAX_WASM32_PAGES;
use crate::error::{Error, Result};
use crate::module::types::MemoryType;
use crate::runtime::store::{AsContext, AsContextMut, MemoryEntity, StoreId, StoreInner};

/// A linear memory of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    store: StoreId,
    index: u32,
}

impl Memory {
    /// Creates a memory in the store. Fails with kind `Usage` for an invalid type (minimum
    /// above maximum, or more than 65 536 pages) and `Limit` past `Config::max_memory_pages`.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let max = ty.maximum().unwrap_or(MAX_WASM32_PAGES);
        if ty.minimum() > max || max > MAX_WASM32_PAGES {
            return Err(Error::usage(format!(
                "invalid memory type: {ty} (a memory has at most {MAX_WASM32_PAGES} pages)"
            )));
        }
        let inner = &mut store.as_context_mut().inner;
        let max_pages = inner.engine.config().max_memory_pages;
        let entity = MemoryEntity::new(ty, max_pages)?;
        Ok(inner.add_memory(entity))
    }

    pub(crate) fn from_raw(store: StoreId, index: u32) -> Self {
        Memory { store, index }
    }

    pub(crate) fn store_id(&self) -> StoreId {
        self.store
    }

    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    fn entity<'s>(&self, inner: &'s StoreInner) -> &'s MemoryEntity {
        assert_eq!(
            self.store, inner.id,
            "memory used with a store that does not own it"
        );
        &inner.memories[self.index as usize]
    }

    fn entity_mut<'s>(&self, inner: &'s mut StoreInner) -> Result<&'s mut MemoryEntity> {
        inner.check_owner(self.store, "this memory")?;
        Ok(&mut inner.memories[self.index as usize])
    }

    fn checked<'s>(&self, inner: &'s StoreInner) -> Result<&'s MemoryEntity> {
        inner.check_owner(self.store, "this memory")?;
        Ok(&inner.memories[self.index as usize])
    }

    /// The memory's type, with its current size as the minimum. Like the other accessors that
    /// cannot fail otherwise, it panics when the memory belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        let entity = self.entity(&store.as_context().inner);
        MemoryType::new(entity.pages(), entity.ty.maximum())
    }

    /// The current size in 64 KiB pages.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.entity(&store.as_context().inner).pages() as u64
    }

    /// The memory's bytes. Panics if the memory belongs to another store.
    pub fn data<'a, C: AsContext + ?Sized>(&self, store: &'a C) -> &'a [u8] {
        &self.entity(&store.as_context().inner).bytes
    }

    /// The memory's bytes, mutably. Panics if the memory belongs to another store.
    pub fn data_mut<'a, C: AsContextMut + ?Sized>(&self, store: &'a mut C) -> &'a mut [u8] {
        self.entity_mut(&mut store.as_context_mut().inner)
            .expect("memory used with a store that does not own it")
            .bytes
            .as_mut_slice()
    }

    /// The memory's bytes and the store's host data at once, for host functions that move
    /// data between the two. Panics if the memory belongs to another store.
    pub fn data_and_store_mut<'a, C: AsContextMut + ?Sized>(
        &self,
        store: &'a mut C,
    ) -> (&'a mut [u8], &'a mut C::Data) {
        let store = store.as_context_mut();
        let (inner, data) = store.inner_and_data_mut();
        let bytes = self
            .entity_mut(inner)
            .expect("memory used with a store that does not own it")
            .bytes
            .as_mut_slice();
        (bytes, data)
    }

    /// Copies `buffer.len()` bytes from `offset` into `buffer`.
    pub fn read(&self, store: impl AsContext, offset: usize, buffer: &mut [u8]) -> Result<()> {
        let bytes = &self.checked(&store.as_context().inner)?.bytes;
        let range = byte_range(bytes.len(), offset, buffer.len())?;
        buffer.copy_from_slice(&bytes[range]);
        Ok(())
    }

    /// Copies `buffer` into the memory at `offset`.
    pub fn write(&self, mut store: impl AsContextMut, offset: usize, buffer: &[u8]) -> Result<()> {
        let bytes = &mut self.entity_mut(&mut store.as_context_mut().inner)?.bytes;
        let range = byte_range(bytes.len(), offset, buffer.len())?;
        bytes[range].copy_from_slice(buffer);
        Ok(())
    }

    /// Grows by `delta` pages and returns the old size in pages; fails with kind `Limit` when
    /// the memory's maximum or `Config::max_memory_pages` refuses.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        let inner = &mut store.as_context_mut().inner;
        let max_pages = inner.engine.config().max_memory_pages;
        let entity = self.entity_mut(inner)?;
        let old = entity.pages();
        u32::try_from(delta)
            .ok()
            .and_then(|delta| entity.grow(delta, max_pages))
            .map(u64::from)
            .ok_or_else(|| {
                Error::limit(format!(
                    "cannot grow memory of {old} pages by {delta} pages"
                ))
            })
    }
}

fn byte_range(len: usize, offset: usize, count: usize) -> Result<std::ops::Range<usize>> {
    match offset.checked_add(count) {
        Some(end) if end <= len => Ok(offset..end),
        _ => Err(Error::usage(format!(
            "memory access of {count} bytes at offset {offset} is out of bounds (memory size {len})"
        ))),
    }
}

impl StoreInner {
    pub(crate) fn add_memory(&mut self, entity: MemoryEntity) -> Memory {
        self.memories.push(entity);
        Memory::from_raw(self.id, self.memories.len() as u32 - 1)
    }
}
