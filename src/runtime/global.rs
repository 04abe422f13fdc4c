//! Globals, as host handles.

use crate::error::{Error, Result};
use crate::module::types::{GlobalType, Mutability};
use crate::runtime::store::{AsContext, AsContextMut, GlobalEntity, StoreId, StoreInner};
use crate::runtime::values::Val;
use crate::runtime::vmctx::VmCell;

/// A global of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Global {
    store: StoreId,
    index: u32,
}

impl Global {
    /// Creates a global holding `value`, which must match the content type.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, value: Val) -> Result<Global> {
        let inner = &mut store.as_context_mut().inner;
        inner.check_val(&value, ty.content(), "global value")?;
        let value = inner.val_to_slot(&value)?;
        Ok(inner.add_global(GlobalEntity {
            ty,
            cell: VmCell::new(value),
        }))
    }

    pub(crate) fn from_raw(store: StoreId, index: u32) -> Self {
        Global { store, index }
    }

    pub(crate) fn store_id(&self) -> StoreId {
        self.store
    }

    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    fn entity<'s>(&self, inner: &'s StoreInner) -> Result<&'s GlobalEntity> {
        inner.check_owner(self.store, "this global")?;
        Ok(&inner.globals[self.index as usize])
    }

    /// The global's type. Panics when the global belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        self.entity(&store.as_context().inner)
            .expect("global used with a store that does not own it")
            .ty
    }

    /// The current value. Panics when the global belongs to another store.
    pub fn get(&self, store: impl AsContext) -> Val {
        let inner = &store.as_context().inner;
        let entity = self
            .entity(inner)
            .expect("global used with a store that does not own it");
        inner.slot_to_val(entity.get(), entity.ty.content())
    }

    /// Sets a mutable global; setting an immutable one is an error of kind `Usage`.
    pub fn set(&self, mut store: impl AsContextMut, value: Val) -> Result<()> {
        let inner = &mut store.as_context_mut().inner;
        let ty = self.entity(inner)?.ty;
        if ty.mutability() == Mutability::Const {
            return Err(Error::usage("cannot set an immutable global"));
        }
        inner.check_val(&value, ty.content(), "global value")?;
        let slot = inner.val_to_slot(&value)?;
        inner.globals[self.index as usize].set(slot);
        Ok(())
    }
}

impl StoreInner {
    pub(crate) fn add_global(&mut self, entity: GlobalEntity) -> Global {
        self.globals.push(entity);
        Global::from_raw(self.id, self.globals.len() as u32 - 1)
    }
}
