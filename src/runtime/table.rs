//! Tables of references, as host handles.

use crate::error::{Error, Result, TrapCode};
use crate::module::types::TableType;
use crate::runtime::store::{AsContext, AsContextMut, StoreId, StoreInner, TableEntity};
use crate::runtime::values::Val;

/// A table of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    store: StoreId,
    index: u32,
}

impl Table {
    /// Creates a table whose elements start as `init`, which must match the element type.
    /// Fails with kind `Usage` for an invalid type and `Limit` past
    /// `Config::max_table_elements`.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table> {
        if !ty.element().is_ref() || ty.maximum().is_some_and(|max| ty.minimum() > max) {
            return Err(Error::usage(format!("invalid table type: {ty}")));
        }
        let inner = &mut store.as_context_mut().inner;
        inner.check_val(&init, ty.element(), "table initial value")?;
        let init = inner.val_to_slot(&init)?;
        let max_elements = inner.engine.config().max_table_elements;
        Ok(inner.add_table(TableEntity::new(ty, init, max_elements)?))
    }

    pub(crate) fn from_raw(store: StoreId, index: u32) -> Self {
        Table { store, index }
    }

    pub(crate) fn store_id(&self) -> StoreId {
        self.store
    }

    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    fn entity<'s>(&self, inner: &'s StoreInner) -> Result<&'s TableEntity> {
        inner.check_owner(self.store, "this table")?;
        Ok(&inner.tables[self.index as usize])
    }

    /// The table's type, with its current size as the minimum. Panics when the table belongs
    /// to another store.
    pub fn ty(&self, store: impl AsContext) -> TableType {
        let entity = self
            .entity(&store.as_context().inner)
            .expect("table used with a store that does not own it");
        TableType::new(
            entity.ty.element(),
            entity.elements.len() as u32,
            entity.ty.maximum(),
        )
    }

    /// The current number of elements. Panics when the table belongs to another store.
    pub fn size(&self, store: impl AsContext) -> u32 {
        self.ty(store).minimum()
    }

    /// The element at `index`, or `None` past the end.
    pub fn get(&self, store: impl AsContext, index: u32) -> Option<Val> {
        let inner = &store.as_context().inner;
        let entity = self.entity(inner).ok()?;
        let slot = *entity.elements.get(index as usize)?;
        Some(inner.slot_to_val(slot, entity.ty.element()))
    }

    /// Stores `value` at `index`.
    pub fn set(&self, mut store: impl AsContextMut, index: u32, value: Val) -> Result<()> {
        let inner = &mut store.as_context_mut().inner;
        let element = self.entity(inner)?.ty.element();
        inner.check_val(&value, element, "table element")?;
        let slot = inner.val_to_slot(&value)?;
        match inner.tables[self.index as usize]
            .elements
            .get_mut(index as usize)
        {
            Some(entry) => {
                *entry = slot;
                Ok(())
            }
            None => Err(Error::trap(TrapCode::TableOutOfBounds)),
        }
    }

    /// Grows by `delta` elements set to `init` and returns the old size; fails with kind
    /// `Limit` when the table's maximum refuses.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u32, init: Val) -> Result<u32> {
        let inner = &mut store.as_context_mut().inner;
        let element = self.entity(inner)?.ty.element();
        inner.check_val(&init, element, "table initial value")?;
        let init = inner.val_to_slot(&init)?;
        let max_elements = inner.engine.config().max_table_elements;
        let entity = &mut inner.tables[self.index as usize];
        let old = entity.elements.len();
        entity.grow(delta, init, max_elements).ok_or_else(|| {
            Error::limit(format!(
                "cannot grow table of {old} elements by {delta} elements"
            ))
        })
    }
}

impl StoreInner {
    pub(crate) fn add_table(&mut self, entity: TableEntity) -> Table {
        self.tables.push(entity);
        Table::from_raw(self.id, self.tables.len() as u32 - 1)
    }
}
