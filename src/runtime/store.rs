//! The store: owner of instances, functions, memories, tables, globals and host data.
//! Handles (`Func`, `Memory`, …) are indices into one store, tagged with its id.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::{Engine, SignatureId};
use crate::error::{Error, FrameInfo, Result};
use crate::interp::{Op, Stack};
use crate::module::types::{FuncType, GlobalType, MemoryType, TableType, ValType};
use crate::module::{CodeSlot, ModuleInner};
use crate::runtime::func::{Caller, Func};
use crate::runtime::values::{ExternRef, Val};
use crate::runtime::vmctx::{VmCell, VmContext, VmMemory, VmPointers, VmTable};
#[cfg(feature = "jit")]
use crate::runtime::vmctx::{VmFuncRef, VmFuncRefs};

/// Identifies a store, so a handle used with another store is caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(u64);

impl StoreId {
    fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        StoreId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A host function as the store keeps it: parameters and results as [`Val`]s.
pub(crate) type HostFunc<T> =
    Arc<dyn Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync>;

pub(crate) enum FuncKind {
    /// Function `index` (module index space) of instance `instance`, whose code slot is
    /// `code` (kept here so that a call does not go through the instance and its module).
    Wasm {
        instance: u32,
        index: u32,
        code: *const CodeSlot,
        /// The first instruction of the slot's interpreter code once it is known to this
        /// store (null before): `call_indirect` jumps there with one load fewer than
        /// through the slot.
        entry: *const Op,
    },
    /// Entry `index` of [`Store::host_funcs`].
    Host { index: u32 },
}

// SAFETY: `code` and `entry` point into the code slots of the module of an instance of the
// same store, which keeps the module alive and moves with the store; code slots are `Sync`.
unsafe impl Send for FuncKind {}

pub(crate) struct FuncEntity {
    pub ty: FuncType,
    pub signature: SignatureId,
    pub kind: FuncKind,
}

pub(crate) struct MemoryEntity {
    pub ty: MemoryType,
    pub bytes: Vec<u8>,
    /// What the VM contexts point at; kept in step with `bytes`.
    pub vm: VmCell<VmMemory>,
}

/// The size of a WebAssembly page.
pub(crate) const PAGE_SIZE: usize = 65_536;

impl MemoryEntity {
    pub fn new(ty: MemoryType, max_pages: u32) -> Result<Self> {
        if ty.minimum() > max_pages {
            return Err(Error::limit(format!(
                "memory of {} pages exceeds the limit of {max_pages} pages",
                ty.minimum()
            )));
        }
        let mut bytes = vec![0; ty.minimum() as usize * PAGE_SIZE];
        let vm = VmCell::new(VmMemory {
            base: bytes.as_mut_ptr(),
            len: bytes.len() as u64,
        });
        Ok(MemoryEntity { ty, bytes, vm })
    }

    pub fn pages(&self) -> u32 {
        (self.bytes.len() / PAGE_SIZE) as u32
    }

    /// Grows by `delta` pages; returns the old size, or `None` when a limit refuses.
    pub fn grow(&mut self, delta: u32, max_pages: u32) -> Option<u32> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        let max = self.ty.maximum().unwrap_or(u32::MAX).min(max_pages);
        if new > max {
            return None;
        }
        self.bytes.resize(new as usize * PAGE_SIZE, 0);
        // SAFETY: `vm` is this memory's own cell; no reference to it is alive here.
        unsafe {
            *self.vm.get() = VmMemory {
                base: self.bytes.as_mut_ptr(),
                len: self.bytes.len() as u64,
            };
        }
        Some(old)
    }
}

pub(crate) struct TableEntity {
    pub ty: TableType,
    pub elements: Vec<u64>,
    /// What the VM contexts point at; kept in step with `elements`.
    pub vm: VmCell<VmTable>,
}

impl TableEntity {
    pub fn new(ty: TableType, init: u64, max_elements: u32) -> Result<Self> {
        if ty.minimum() > max_elements {
            return Err(Error::limit(format!(
                "table of {} elements exceeds the limit of {max_elements} elements",
                ty.minimum()
            )));
        }
        let mut elements = vec![init; ty.minimum() as usize];
        let vm = VmCell::new(VmTable {
            base: elements.as_mut_ptr(),
            len: elements.len() as u64,
        });
        Ok(TableEntity { ty, elements, vm })
    }

    /// Grows by `delta` elements set to `init`; returns the old size, or `None` when the
    /// table's maximum or the engine's limit refuses.
    pub fn grow(&mut self, delta: u32, init: u64, max_elements: u32) -> Option<u32> {
        let old = self.elements.len() as u32;
        let new = old.checked_add(delta)?;
        if new > self.ty.maximum().unwrap_or(u32::MAX).min(max_elements) {
            return None;
        }
        self.elements.resize(new as usize, init);
        self.sync_vm();
        Some(old)
    }

    fn sync_vm(&mut self) {
        // SAFETY: `vm` is this table's own cell; no reference to it is alive here.
        unsafe {
            *self.vm.get() = VmTable {
                base: self.elements.as_mut_ptr(),
                len: self.elements.len() as u64,
            };
        }
    }
}

pub(crate) struct GlobalEntity {
    pub ty: GlobalType,
    /// The value, encoded as a slot; the VM contexts point here.
    pub cell: VmCell<u64>,
}

impl GlobalEntity {
    pub fn get(&self) -> u64 {
        // SAFETY: the cell is owned by this global and always initialised.
        unsafe { *self.cell.get() }
    }

    pub fn set(&mut self, value: u64) {
        // SAFETY: as in `get`; `&mut self` excludes other Rust accesses.
        unsafe { *self.cell.get() = value }
    }
}

pub(crate) struct InstanceEntity {
    pub module: Arc<ModuleInner>,
    /// Store indices of the instance's functions, memories, tables and globals, in the
    /// module's index spaces.
    pub funcs: Box<[u32]>,
    pub memories: Box<[u32]>,
    pub tables: Box<[u32]>,
    pub globals: Box<[u32]>,
    /// Exported names resolve through the module's export list.
    pub vmctx: VmCell<VmContext>,
    /// Targets of `vmctx.globals`, `vmctx.tables` and `vmctx.funcs`: owned here, read only
    /// through the VM context.
    #[expect(dead_code, reason = "read through the raw pointers in `vmctx`")]
    pub global_pointers: VmPointers<u64>,
    #[expect(dead_code, reason = "read through the raw pointers in `vmctx`")]
    pub table_pointers: VmPointers<VmTable>,
    pub func_refs: Box<[u64]>,
    /// The element segments' references; a dropped segment is empty.
    pub element_segments: Vec<Box<[u64]>>,
    /// Whether each data segment has been dropped.
    pub dropped_data: Vec<bool>,
}

/// State of a store that does not depend on the host data type.
pub(crate) struct StoreInner {
    pub id: StoreId,
    pub engine: Engine,
    pub funcs: Vec<FuncEntity>,
    pub memories: Vec<MemoryEntity>,
    pub tables: Vec<TableEntity>,
    pub globals: Vec<GlobalEntity>,
    pub instances: Vec<InstanceEntity>,
    /// Every `externref` that entered the store, once each; a slot holds its index plus one.
    pub extern_refs: Vec<ExternRef>,
    /// The index in `extern_refs` of each host object, by address.
    pub extern_ref_slots: HashMap<usize, u64>,
    /// Wasm frames live in all activations of this store, for the call-depth limit.
    pub call_depth: usize,
    /// The engine's `Config::max_call_depth`, at hand for every call.
    pub max_call_depth: usize,
    /// Interpreter stacks kept for reuse between calls.
    pub spare_stacks: Vec<Stack>,
    /// One record per function, for native `call_indirect` (see [`VmFuncRef`]).
    #[cfg(feature = "jit")]
    pub func_refs: Vec<VmFuncRef>,
    /// Where `func_refs` is, for the VM contexts.
    #[cfg(feature = "jit")]
    pub vm_func_refs: VmCell<VmFuncRefs>,
}

/// Owns everything instances create, plus the host's data `T`.
pub struct Store<T> {
    pub(crate) inner: StoreInner,
    pub(crate) host_funcs: Vec<HostFunc<T>>,
    data: T,
}

impl<T> Store<T> {
    /// A new, empty store for modules of `engine`, holding `data` for host functions.
    pub fn new(engine: &Engine, data: T) -> Self {
        Store {
            inner: StoreInner {
                id: StoreId::next(),
                engine: engine.clone(),
                funcs: Vec::new(),
                memories: Vec::new(),
                tables: Vec::new(),
                globals: Vec::new(),
                instances: Vec::new(),
                extern_refs: Vec::new(),
                extern_ref_slots: HashMap::new(),
                call_depth: 0,
                max_call_depth: engine.config().max_call_depth,
                spare_stacks: Vec::new(),
                #[cfg(feature = "jit")]
                func_refs: Vec::new(),
                #[cfg(feature = "jit")]
                vm_func_refs: VmCell::new(VmFuncRefs {
                    base: std::ptr::null(),
                    len: 0,
                }),
            },
            host_funcs: Vec::new(),
            data,
        }
    }

    /// The host data.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.data
    }

    pub(crate) fn inner_and_data_mut(&mut self) -> (&mut StoreInner, &mut T) {
        (&mut self.inner, &mut self.data)
    }

    /// Consumes the store, returning the host data.
    pub fn into_data(self) -> T {
        self.data
    }

    /// The engine the store belongs to.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn add_host_func(&mut self, ty: FuncType, func: HostFunc<T>) -> Func {
        let index = self.host_funcs.len() as u32;
        self.host_funcs.push(func);
        let signature = self.inner.engine.signature_id(&ty);
        self.inner.add_func(FuncEntity {
            ty,
            signature,
            kind: FuncKind::Host { index },
        })
    }
}

impl StoreInner {
    /// The backtrace frame of function `func` (module index space) of instance `instance`.
    pub fn frame_info(&self, instance: u32, func: u32) -> FrameInfo {
        let module = &self.instances[instance as usize].module;
        FrameInfo {
            func_index: func,
            func_name: module.func_names.get(&func).cloned(),
            module_name: module.name.clone(),
        }
    }

    pub fn add_func(&mut self, entity: FuncEntity) -> Func {
        let index = self.funcs.len() as u32;
        #[cfg(feature = "jit")]
        {
            let code = match entity.kind {
                FuncKind::Wasm { code, .. } => code,
                FuncKind::Host { .. } => std::ptr::null(),
            };
            // The VM context of a Wasm function's instance is filled in once it exists.
            self.func_refs.push(VmFuncRef {
                signature: entity.signature,
                vmctx: std::ptr::null_mut(),
                code,
            });
            let cell = self.vm_func_refs.get();
            // SAFETY: the cell is owned by this store, which is borrowed mutably here. Native
            // code reads it at each `call_indirect` and holds nothing derived from it across
            // a call, so a host function adding a function under suspended native frames
            // leaves them nothing stale.
            unsafe {
                (*cell).base = self.func_refs.as_ptr();
                (*cell).len = self.func_refs.len() as u64;
            }
        }
        self.funcs.push(entity);
        Func::from_raw(self.id, index)
    }

    /// Fails with [`ErrorKind::Usage`](crate::ErrorKind::Usage) when a handle is not this
    /// store's.
    pub fn check_owner(&self, owner: StoreId, what: &str) -> Result<()> {
        if owner == self.id {
            Ok(())
        } else {
            Err(Error::usage(format!(
                "{what} belongs to another store than the one it was used with"
            )))
        }
    }

    /// Encodes a value into a slot; `Err` when it references another store.
    pub fn val_to_slot(&mut self, val: &Val) -> Result<u64> {
        Ok(match val {
            Val::I32(v) => *v as u32 as u64,
            Val::I64(v) => *v as u64,
            Val::F32(bits) => *bits as u64,
            Val::F64(bits) => *bits,
            Val::FuncRef(None) | Val::ExternRef(None) => 0,
            Val::FuncRef(Some(func)) => {
                self.check_owner(func.store_id(), "a funcref argument")?;
                func.index() as u64 + 1
            }
            Val::ExternRef(Some(r)) => {
                *self.extern_ref_slots.entry(r.address()).or_insert_with(|| {
                    self.extern_refs.push(r.clone());
                    self.extern_refs.len() as u64
                })
            }
        })
    }

    /// Decodes a slot holding a value of type `ty`.
    pub fn slot_to_val(&self, slot: u64, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(slot as u32 as i32),
            ValType::I64 => Val::I64(slot as i64),
            ValType::F32 => Val::F32(slot as u32),
            ValType::F64 => Val::F64(slot),
            ValType::FuncRef => Val::FuncRef(
                slot.checked_sub(1)
                    .map(|index| Func::from_raw(self.id, index as u32)),
            ),
            ValType::ExternRef => Val::ExternRef(
                slot.checked_sub(1)
                    .map(|index| self.extern_refs[index as usize].clone()),
            ),
        }
    }

    /// Checks that a value the host passes in has type `ty` and, if it is a function
    /// reference, belongs to this store.
    pub fn check_val(&self, val: &Val, ty: ValType, what: &str) -> Result<()> {
        if val.ty() != ty {
            return Err(Error::usage(format!(
                "{what}: expected a value of type {ty}, found {}",
                val.ty()
            )));
        }
        match val {
            Val::FuncRef(Some(func)) => self.check_owner(func.store_id(), what),
            _ => Ok(()),
        }
    }
}

/// Read access to a store: implemented by [`Store`], [`Caller`] and references to them.
pub trait AsContext {
    /// The host data type of the store.
    type Data;
    /// The store.
    fn as_context(&self) -> &Store<Self::Data>;
}

/// Write access to a store: implemented by [`Store`], [`Caller`] and mutable references.
pub trait AsContextMut: AsContext {
    /// The store, mutably.
    fn as_context_mut(&mut self) -> &mut Store<Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> &Store<T> {
        self
    }
}

impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> &mut Store<T> {
        self
    }
}

impl<C: AsContext + ?Sized> AsContext for &C {
    type Data = C::Data;
    fn as_context(&self) -> &Store<C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContext + ?Sized> AsContext for &mut C {
    type Data = C::Data;
    fn as_context(&self) -> &Store<C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContextMut + ?Sized> AsContextMut for &mut C {
    fn as_context_mut(&mut self) -> &mut Store<C::Data> {
        (**self).as_context_mut()
    }
}

impl<T> std::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("id", &self.inner.id)
            .field("instances", &self.inner.instances.len())
            .finish_non_exhaustive()
    }
}
