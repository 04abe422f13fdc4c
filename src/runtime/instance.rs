//! Instantiation, phase by phase: link → allocate → initialise segments → start → exports.

use std::sync::Arc;

use crate::error::{Error, Result, TrapCode};
use crate::module::types::{ExternType, describe_given};
use crate::module::{ConstExpr, EntityIndex, Module, ModuleInner, SegmentMode};
use crate::runtime::func::{Func, TypedFunc, WasmTyList};
use crate::runtime::global::Global;
use crate::runtime::memory::Memory;
use crate::runtime::store::{
    AsContext, FuncEntity, FuncKind, GlobalEntity, InstanceEntity, MemoryEntity, Store, StoreId,
    StoreInner, TableEntity,
};
use crate::runtime::table::Table;
use crate::runtime::vmctx::{VmCell, VmContext, VmPointers};

/// Anything an instance imports or exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A linear memory.
    Memory(Memory),
    /// A table.
    Table(Table),
    /// A global.
    Global(Global),
}

impl Extern {
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        match self {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        match self {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }

    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        match self {
            Extern::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        match self {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }

    pub(crate) fn store_id(&self) -> StoreId {
        match self {
            Extern::Func(f) => f.store_id(),
            Extern::Memory(m) => m.store_id(),
            Extern::Table(t) => t.store_id(),
            Extern::Global(g) => g.store_id(),
        }
    }

    /// The type the item has now (memories and tables with their current size).
    /// Panics when the item belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> ExternType {
        let inner = &store.as_context().inner;
        inner
            .check_owner(self.store_id(), "this item")
            .expect("item used with a store that does not own it");
        self.ty_in(inner)
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Self {
        Extern::Func(f)
    }
}

impl From<Memory> for Extern {
    fn from(m: Memory) -> Self {
        Extern::Memory(m)
    }
}

impl From<Table> for Extern {
    fn from(t: Table) -> Self {
        Extern::Table(t)
    }
}

impl From<Global> for Extern {
    fn from(g: Global) -> Self {
        Extern::Global(g)
    }
}

/// An instantiated module in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance {
    store: StoreId,
    index: u32,
}

impl Instance {
    /// Instantiates `module` with `imports` given in the order of `module.imports()`: all the
    /// phases of [`Instance::link`], [`InstancePre::allocate`],
    /// [`AllocatedInstance::initialize`] and [`InitializedInstance::start`] in one call.
    pub fn new<T>(store: &mut Store<T>, module: &Module, imports: &[Extern]) -> Result<Instance> {
        Instance::link(store, module, imports)?
            .allocate(store)?
            .initialize(store)?
            .start(store)
    }

    /// Phase *link*: checks that `imports` (in the order of `module.imports()`) belong to
    /// `store` and that each may stand for its declaration (exact function types, limits
    /// subtyping for memories and tables, global type and mutability). Fails with kind `Link`.
    pub fn link<T>(store: &Store<T>, module: &Module, imports: &[Extern]) -> Result<InstancePre> {
        let inner = &store.inner;
        if !crate::Engine::same(&inner.engine, module.engine()) {
            return Err(Error::usage(
                "module was compiled with another engine than the store's",
            ));
        }
        for import in imports {
            inner.check_owner(import.store_id(), "an import")?;
        }
        link(inner, module.inner(), imports)?;
        Ok(InstancePre {
            store: inner.id,
            module: module.clone(),
            imports: imports.to_vec(),
        })
    }

    pub(crate) fn from_raw(store: StoreId, index: u32) -> Self {
        Instance { store, index }
    }

    fn entity<'s>(&self, inner: &'s StoreInner) -> Option<&'s InstanceEntity> {
        inner.check_owner(self.store, "this instance").ok()?;
        Some(&inner.instances[self.index as usize])
    }

    /// The export named `name`; `None` when there is none (or the instance belongs to another
    /// store).
    pub fn get_export(&self, store: impl AsContext, name: &str) -> Option<Extern> {
        let inner = &store.as_context().inner;
        let entity = self.entity(inner)?;
        let export = entity.module.exports.iter().find(|e| e.name == name)?;
        Some(entity.resolve(inner.id, export.index))
    }

    /// The exported function `name`.
    pub fn get_func(&self, store: impl AsContext, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported function `name` as a [`TypedFunc`]; an error when it is missing or of
    /// another type.
    pub fn get_typed_func<Params: WasmTyList, Results: WasmTyList>(
        &self,
        store: impl AsContext,
        name: &str,
    ) -> Result<TypedFunc<Params, Results>> {
        let store = store.as_context();
        let func = self
            .get_func(store, name)
            .ok_or_else(|| Error::usage(format!("no exported function named `{name}`")))?;
        func.typed(store)
    }

    /// The exported memory `name`.
    pub fn get_memory(&self, store: impl AsContext, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported table `name`.
    pub fn get_table(&self, store: impl AsContext, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// The exported global `name`.
    pub fn get_global(&self, store: impl AsContext, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    /// All exports, in declaration order.
    pub fn exports(&self, store: impl AsContext) -> Vec<(String, Extern)> {
        let inner = &store.as_context().inner;
        let Some(entity) = self.entity(inner) else {
            return Vec::new();
        };
        entity
            .module
            .exports
            .iter()
            .map(|export| (export.name.clone(), entity.resolve(inner.id, export.index)))
            .collect()
    }
}

impl InstanceEntity {
    fn resolve(&self, store: StoreId, index: EntityIndex) -> Extern {
        match index {
            EntityIndex::Func(i) => Extern::Func(Func::from_raw(store, self.funcs[i as usize])),
            EntityIndex::Memory(i) => {
                Extern::Memory(Memory::from_raw(store, self.memories[i as usize]))
            }
            EntityIndex::Table(i) => Extern::Table(Table::from_raw(store, self.tables[i as usize])),
            EntityIndex::Global(i) => {
                Extern::Global(Global::from_raw(store, self.globals[i as usize]))
            }
        }
    }
}

/// A module whose imports passed the link phase; [`InstancePre::allocate`] continues.
#[derive(Debug)]
#[must_use = "the instantiation continues with `allocate`"]
pub struct InstancePre {
    store: StoreId,
    module: Module,
    imports: Vec<Extern>,
}

impl InstancePre {
    /// The module being instantiated.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Phase *allocate*: creates the instance's functions, memories, tables and globals
    /// (evaluating the globals' initialisers). Fails with kind `Limit` when a configured limit
    /// refuses a memory or table.
    pub fn allocate<T>(self, store: &mut Store<T>) -> Result<AllocatedInstance> {
        store.inner.check_owner(self.store, "this instantiation")?;
        let index = allocate(&mut store.inner, self.module.inner().clone(), &self.imports)?;
        Ok(AllocatedInstance {
            store: self.store,
            index,
        })
    }
}

/// An instance whose memories, tables and globals exist; its segments are not copied yet.
#[derive(Debug)]
#[must_use = "the instantiation continues with `initialize`"]
pub struct AllocatedInstance {
    store: StoreId,
    index: u32,
}

impl AllocatedInstance {
    /// Phase *initialise*: copies the active element segments, then the active data
    /// segments, in order. Each segment is bounds-checked before it is copied, so the one that
    /// fails (kind `Trap`) writes nothing while the earlier ones stay written, on imported
    /// tables and memories too (WebAssembly 2.0). Active and declared segments are then
    /// dropped.
    pub fn initialize<T>(self, store: &mut Store<T>) -> Result<InitializedInstance> {
        store.inner.check_owner(self.store, "this instantiation")?;
        initialize_segments(&mut store.inner, self.index)?;
        Ok(InitializedInstance {
            store: self.store,
            index: self.index,
        })
    }
}

/// An instance whose segments are initialised; [`InitializedInstance::start`] finishes.
#[derive(Debug)]
#[must_use = "the instantiation finishes with `start`"]
pub struct InitializedInstance {
    store: StoreId,
    index: u32,
}

impl InitializedInstance {
    /// Phase *start*: runs the module's start function, if it has one; a trap fails the
    /// instantiation. Returns the instance, whose exports are then reachable.
    pub fn start<T>(self, store: &mut Store<T>) -> Result<Instance> {
        store.inner.check_owner(self.store, "this instantiation")?;
        let entity = &store.inner.instances[self.index as usize];
        if let Some(start) = entity.module.start {
            let func = entity.funcs[start as usize];
            crate::runtime::func::call_slots(store, func, &mut [])?;
        }
        Ok(Instance::from_raw(self.store, self.index))
    }
}

/// Phase: link. Every import must be given, with a type that may stand for the declared one.
fn link(inner: &StoreInner, module: &ModuleInner, imports: &[Extern]) -> Result<()> {
    if imports.len() < module.imports.len() {
        let missing = &module.imports[imports.len()];
        return Err(Error::link(format!(
            "unknown import: {}::{} has not been defined",
            missing.module, missing.name
        )));
    }
    if imports.len() > module.imports.len() {
        return Err(Error::link(format!(
            "the module has {} imports but {} were given",
            module.imports.len(),
            imports.len()
        )));
    }
    for (import, given) in module.imports.iter().zip(imports) {
        let given = given.ty_in(inner);
        if !given.matches(&import.ty) {
            return Err(Error::link(format!(
                "incompatible import type for {}::{}: expected {}, found {}",
                import.module,
                import.name,
                import.ty,
                describe_given(&given, &import.ty)
            )));
        }
    }
    Ok(())
}

impl Extern {
    fn ty_in(&self, inner: &StoreInner) -> ExternType {
        use crate::module::types::{MemoryType, TableType};
        match self {
            Extern::Func(f) => ExternType::Func(inner.funcs[f.index() as usize].ty.clone()),
            Extern::Memory(m) => {
                let entity = &inner.memories[m.index() as usize];
                ExternType::Memory(MemoryType::new(entity.pages(), entity.ty.maximum()))
            }
            Extern::Table(t) => {
                let entity = &inner.tables[t.index() as usize];
                ExternType::Table(TableType::new(
                    entity.ty.element(),
                    entity.elements.len() as u32,
                    entity.ty.maximum(),
                ))
            }
            Extern::Global(g) => ExternType::Global(inner.globals[g.index() as usize].ty),
        }
    }
}

/// Phase: allocate functions, tables, memories and globals, and build the VM context.
fn allocate(inner: &mut StoreInner, module: Arc<ModuleInner>, imports: &[Extern]) -> Result<u32> {
    let instance = inner.instances.len() as u32;
    let max_pages = inner.engine.config().max_memory_pages;
    let max_elements = inner.engine.config().max_table_elements;
    let (mut funcs, mut tables, mut memories, mut globals) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for import in imports {
        match import {
            Extern::Func(f) => funcs.push(f.index()),
            Extern::Table(t) => tables.push(t.index()),
            Extern::Memory(m) => memories.push(m.index()),
            Extern::Global(g) => globals.push(g.index()),
        }
    }
    for ty in &module.memories[module.num_imported_memories..] {
        memories.push(inner.add_memory(MemoryEntity::new(*ty, max_pages)?).index());
    }
    for index in module.num_imported_funcs..module.funcs.len() {
        let ty = module.func_type(index as u32).clone();
        let signature = module.signatures[module.funcs[index] as usize];
        let func = inner.add_func(FuncEntity {
            ty,
            signature,
            kind: FuncKind::Wasm {
                instance,
                index: index as u32,
                code: module.code_slot(index as u32),
                entry: std::ptr::null(),
            },
        });
        funcs.push(func.index());
    }
    let func_refs: Box<[u64]> = funcs.iter().map(|&f| f as u64 + 1).collect();
    for ty in &module.tables[module.num_imported_tables..] {
        tables.push(
            inner
                .add_table(TableEntity::new(*ty, 0, max_elements)?)
                .index(),
        );
    }
    for (ty, init) in module.globals[module.num_imported_globals..]
        .iter()
        .zip(&module.global_inits)
    {
        let value = eval_const(inner, &globals, &func_refs, *init);
        let global = inner.add_global(GlobalEntity {
            ty: *ty,
            cell: VmCell::new(value),
        });
        globals.push(global.index());
    }

    let global_pointers = VmPointers::new(
        globals
            .iter()
            .map(|&g| inner.globals[g as usize].cell.get())
            .collect(),
    );
    let table_pointers = VmPointers::new(
        tables
            .iter()
            .map(|&t| inner.tables[t as usize].vm.get())
            .collect(),
    );
    let memory = memories.first().map_or(std::ptr::null_mut(), |&m| {
        inner.memories[m as usize].vm.get()
    });
    let vmctx = VmCell::new(VmContext {
        memory,
        globals: global_pointers.as_ptr(),
        tables: table_pointers.as_ptr(),
        funcs: func_refs.as_ptr(),
        signatures: module.signatures.as_ptr(),
        trap_code: 0,
        #[cfg(feature = "jit")]
        instance,
        #[cfg(feature = "jit")]
        code: module.code.as_ptr(),
        #[cfg(feature = "jit")]
        stack_limit: usize::MAX,
        #[cfg(feature = "jit")]
        func_refs: inner.vm_func_refs.get(),
    });
    #[cfg(feature = "jit")]
    for &func in &funcs[module.num_imported_funcs..] {
        inner.func_refs[func as usize].vmctx = vmctx.get();
    }
    let element_segments = module
        .elements
        .iter()
        .map(|segment| {
            segment
                .items
                .iter()
                .map(|item| eval_const(inner, &globals, &func_refs, *item))
                .collect()
        })
        .collect();
    inner.instances.push(InstanceEntity {
        dropped_data: vec![false; module.data.len()],
        module,
        funcs: funcs.into(),
        memories: memories.into(),
        tables: tables.into(),
        globals: globals.into(),
        vmctx,
        global_pointers,
        table_pointers,
        func_refs,
        element_segments,
    });
    Ok(instance)
}

/// Evaluates a constant expression to a slot value.
fn eval_const(inner: &StoreInner, globals: &[u32], func_refs: &[u64], expr: ConstExpr) -> u64 {
    match expr {
        ConstExpr::I32(v) => v as u32 as u64,
        ConstExpr::I64(v) => v as u64,
        ConstExpr::F32(bits) => bits as u64,
        ConstExpr::F64(bits) => bits,
        ConstExpr::RefNull => 0,
        ConstExpr::RefFunc(f) => func_refs[f as usize],
        ConstExpr::GlobalGet(g) => inner.globals[globals[g as usize] as usize].get(),
    }
}

/// Phase: initialise. Active element segments, then active data segments, in order; each is
/// bounds-checked before it is copied, so a failing segment writes nothing while the earlier
/// ones stay written (WebAssembly 2.0). Active and declared segments are dropped afterwards.
fn initialize_segments(inner: &mut StoreInner, instance: u32) -> Result<()> {
    let module = inner.instances[instance as usize].module.clone();
    for (index, segment) in module.elements.iter().enumerate() {
        match segment.mode {
            SegmentMode::Passive => {}
            SegmentMode::Declared => {
                inner.instances[instance as usize].element_segments[index] = Box::default();
            }
            SegmentMode::Active {
                index: table,
                offset,
            } => {
                let entity = &inner.instances[instance as usize];
                let offset = const_offset(inner, entity, offset);
                let items =
                    std::mem::take(&mut inner.instances[instance as usize].element_segments[index]);
                let table = inner.instances[instance as usize].tables[table as usize];
                let elements = &mut inner.tables[table as usize].elements;
                let range = checked_range(offset, items.len(), elements.len())
                    .ok_or_else(|| Error::trap(TrapCode::TableOutOfBounds))?;
                elements[range].copy_from_slice(&items);
            }
        }
    }
    for (index, segment) in module.data.iter().enumerate() {
        if let SegmentMode::Active {
            index: memory,
            offset,
        } = segment.mode
        {
            let entity = &inner.instances[instance as usize];
            let offset = const_offset(inner, entity, offset);
            let memory = entity.memories[memory as usize];
            inner.instances[instance as usize].dropped_data[index] = true;
            let bytes = &mut inner.memories[memory as usize].bytes;
            let range = checked_range(offset, segment.bytes.len(), bytes.len())
                .ok_or_else(|| Error::trap(TrapCode::MemoryOutOfBounds))?;
            bytes[range].copy_from_slice(&module.bytes[segment.bytes.clone()]);
        }
    }
    Ok(())
}

fn const_offset(inner: &StoreInner, instance: &InstanceEntity, offset: ConstExpr) -> u32 {
    eval_const(inner, &instance.globals, &instance.func_refs, offset) as u32
}

/// `offset..offset + len` when it fits in `size`.
pub(crate) fn checked_range(
    offset: u32,
    len: usize,
    size: usize,
) -> Option<std::ops::Range<usize>> {
    let start = offset as usize;
    let end = start.checked_add(len)?;
    (end <= size).then_some(start..end)
}
