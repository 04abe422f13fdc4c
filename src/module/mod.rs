//! Phase 1 of the lifecycle: decode and validate a module, keeping what instantiation and the
//! tiers need. Function bodies stay ranges of the module's bytes until their first call.

pub mod types;

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use wasmparser::{
    CompositeInnerType, DataKind, ElementItems, ElementKind, ExternalKind,
    FuncValidatorAllocations, KnownCustom, Name, Operator, Parser, Payload, TableInit, TypeRef,
    ValidPayload, Validator, WasmFeatures,
};

use crate::engine::{Engine, SignatureId};
use crate::error::{Error, Result};
use crate::interp::CompiledFunc;
use crate::tier_log::{EventFunc, TierEventKind};
use std::time::Duration;
use types::{ExternType, FuncType, GlobalType, Mutability, TableType, ValType};

/// The Wasm features the runtime implements: WebAssembly 2.0 without SIMD.
fn supported_features() -> WasmFeatures {
    WasmFeatures::WASM2.difference(WasmFeatures::SIMD)
}

/// A validated module. Cheap to clone, `Send + Sync`; instantiable from many threads at once.
/// Every instance shares its translated code.
#[derive(Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

/// The kind of an export or import, with its index in the module's index space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntityIndex {
    Func(u32),
    Table(u32),
    Memory(u32),
    Global(u32),
}

/// A constant expression (global initialisers, segment offsets, element items).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ConstExpr {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    RefNull,
    RefFunc(u32),
    GlobalGet(u32),
}

pub(crate) struct Import {
    pub module: String,
    pub name: String,
    pub ty: ExternType,
}

pub(crate) struct Export {
    pub name: String,
    pub index: EntityIndex,
}

pub(crate) enum SegmentMode {
    /// Kept for `table.init` / `memory.init`.
    Passive,
    /// Copied at instantiation.
    Active { index: u32, offset: ConstExpr },
    /// Only declares `ref.func` targets; dropped at instantiation.
    Declared,
}

pub(crate) struct ElementSegment {
    pub mode: SegmentMode,
    pub items: Box<[ConstExpr]>,
}

pub(crate) struct DataSegment {
    pub mode: SegmentMode,
    /// The segment's bytes, as a range of [`ModuleInner::bytes`].
    pub bytes: Range<usize>,
}

/// A defined function's code, shared by every instance of the module in every store.
pub(crate) struct CodeSlot {
    /// The body (locals and operators) as a range of [`ModuleInner::bytes`].
    pub body: Range<usize>,
    /// The interpreter's code, translated on the first call.
    pub translated: OnceLock<CompiledFunc>,
    /// Entries plus loop back-edges, for tiering decisions.
    pub hotness: AtomicU32,
    /// The hotness at which the function tiers up; `u32::MAX` when it never does (the
    /// strategy is not [`Strategy::Tiered`](crate::Strategy::Tiered), or it has been queued
    /// already).
    pub tier_up_at: AtomicU32,
    /// The native code, once compiled.
    #[cfg(feature = "jit")]
    pub native: crate::jit::NativeSlot,
}

impl CodeSlot {
    /// Adds `count` function entries or loop back-edges. A plain load and store rather than
    /// a read-modify-write: a count lost to a race between threads does not matter, a locked
    /// instruction on every call would.
    #[inline]
    pub fn add_hotness(&self, count: u32) {
        let total = self.hotness.load(Ordering::Relaxed);
        self.hotness
            .store(total.saturating_add(count), Ordering::Relaxed);
    }

    /// Whether the function is hot enough to tier up and not queued yet.
    #[inline(always)]
    pub fn tier_up_due(&self) -> bool {
        self.hotness.load(Ordering::Relaxed) >= self.tier_up_at.load(Ordering::Relaxed)
    }
}

/// The hotness a function's tier-up costs by default: a base plus this much per byte of its
/// body, as compile time grows with the body (a few microseconds per byte).
#[cfg(feature = "jit")]
const TIER_UP_BASE: u32 = 1_000;
/// See [`TIER_UP_BASE`].
#[cfg(feature = "jit")]
const TIER_UP_PER_BODY_BYTE: u32 = 200;

/// The hotness at which a function with a body of `body_len` bytes tiers up under `engine`'s
/// configuration (`u32::MAX`: never).
#[cfg(feature = "jit")]
fn tier_up_threshold(engine: &Engine, body_len: usize) -> u32 {
    let config = engine.config();
    if config.strategy != crate::Strategy::Tiered {
        return u32::MAX;
    }
    config
        .tier_up_threshold
        .unwrap_or_else(|| {
            let scaled = u32::try_from(body_len)
                .unwrap_or(u32::MAX)
                .saturating_mul(TIER_UP_PER_BODY_BYTE);
            TIER_UP_BASE.saturating_add(scaled)
        })
        .min(u32::MAX - 1)
}

/// Without the Cranelift tier nothing tiers up.
#[cfg(not(feature = "jit"))]
fn tier_up_threshold(_engine: &Engine, _body_len: usize) -> u32 {
    u32::MAX
}

pub(crate) struct ModuleInner {
    pub engine: Engine,
    pub bytes: Box<[u8]>,
    pub name: Option<String>,
    pub types: Vec<FuncType>,
    /// The engine-wide signature id of each entry of `types`.
    pub signatures: Vec<SignatureId>,
    pub imports: Vec<Import>,
    /// The type index of every function, imported ones first.
    pub funcs: Vec<u32>,
    pub num_imported_funcs: usize,
    pub tables: Vec<TableType>,
    pub num_imported_tables: usize,
    pub memories: Vec<types::MemoryType>,
    pub num_imported_memories: usize,
    pub globals: Vec<GlobalType>,
    pub num_imported_globals: usize,
    /// The initialiser of every defined global.
    pub global_inits: Vec<ConstExpr>,
    pub exports: Vec<Export>,
    pub start: Option<u32>,
    pub elements: Vec<ElementSegment>,
    pub data: Vec<DataSegment>,
    /// One per defined function.
    pub code: Box<[CodeSlot]>,
    pub func_names: HashMap<u32, String>,
}

impl ModuleInner {
    /// The signature of function `func` (module index space).
    pub fn func_type(&self, func: u32) -> &FuncType {
        &self.types[self.funcs[func as usize] as usize]
    }

    /// The code slot of a defined function, by module function index.
    pub fn code_slot(&self, func: u32) -> &CodeSlot {
        &self.code[func as usize - self.num_imported_funcs]
    }

    /// The function index (module index space) of one of this module's code slots.
    pub fn func_index(&self, slot: &CodeSlot) -> u32 {
        let bytes = (slot as *const CodeSlot as usize).wrapping_sub(self.code.as_ptr() as usize);
        let index = bytes / std::mem::size_of::<CodeSlot>();
        assert!(
            index < self.code.len() && std::ptr::eq(&self.code[index], slot),
            "the code slot belongs to this module"
        );
        (self.num_imported_funcs + index) as u32
    }
}

/// An import of a module: where from, and of what type.
pub struct ImportType<'module> {
    import: &'module Import,
}

impl<'module> ImportType<'module> {
    /// The module name it is imported from.
    pub fn module(&self) -> &'module str {
        &self.import.module
    }

    /// The field name.
    pub fn name(&self) -> &'module str {
        &self.import.name
    }

    /// The declared type.
    pub fn ty(&self) -> ExternType {
        self.import.ty.clone()
    }
}

/// An export of a module, with its type.
pub struct ExportType<'module> {
    name: &'module str,
    ty: ExternType,
}

impl<'module> ExportType<'module> {
    /// The export name.
    pub fn name(&self) -> &'module str {
        self.name
    }

    /// The exported item's type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

impl Module {
    /// Decodes and validates a module. With the `wat` feature, text format is accepted too.
    /// Under [`Strategy::Compiled`](crate::Strategy::Compiled) it then compiles every defined
    /// function, in parallel (see [`Module::compile_all`]), so that none waits for the
    /// compiler at its first call; under [`Strategy::Tiered`](crate::Strategy::Tiered) it
    /// starts the engine's compile threads, if they have not started yet, so that they are
    /// ready for the first hot function.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let bytes = to_binary(bytes.as_ref())?;
        let inner = parse(engine, bytes.into_owned().into_boxed_slice())?;
        let module = Module {
            inner: Arc::new(inner),
        };
        #[cfg(feature = "jit")]
        match engine.config().strategy {
            crate::Strategy::Compiled => {
                module.compile_all();
            }
            crate::Strategy::Tiered => engine.compile_pool().start(),
            _ => {}
        }
        Ok(module)
    }

    /// Reads a `.wasm` (or, with the `wat` feature, `.wat`) file and compiles it.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|error| {
            Error::compile(format!("failed to read {}: {error}", path.display()), None)
        })?;
        Module::new(engine, bytes)
    }

    /// Checks that `bytes` are a valid module, without keeping anything.
    pub fn validate(engine: &Engine, bytes: &[u8]) -> Result<()> {
        let _ = engine;
        let bytes = to_binary(bytes)?;
        check_magic(&bytes)?;
        Validator::new_with_features(supported_features()).validate_all(&bytes)?;
        Ok(())
    }

    /// The module's name from its name section.
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// The engine the module was compiled with.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The imports, in declaration order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType<'_>> {
        self.inner
            .imports
            .iter()
            .map(|import| ImportType { import })
    }

    /// The exports, in declaration order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> {
        self.inner.exports.iter().map(|export| ExportType {
            name: &export.name,
            ty: self.inner.entity_type(export.index),
        })
    }

    /// How hot each defined function has been in the interpreter so far, in every instance
    /// of the module: `(function index, hotness)`, the hotness being entries plus loop
    /// iterations weighted by the loop's length (what tier-up is decided on). Native code
    /// does not count.
    pub fn hotness(&self) -> Vec<(u32, u32)> {
        let first = self.inner.num_imported_funcs as u32;
        (first..)
            .zip(&self.inner.code)
            .map(|(func, slot)| (func, slot.hotness.load(Ordering::Relaxed)))
            .collect()
    }

    /// Translates every defined function for the interpreter now, on this thread, instead of
    /// on each function's first call. For embedders who prefer to pay translation up front,
    /// and for measuring it; instantiation never needs it.
    pub fn translate_all(&self) {
        let defined = self.inner.num_imported_funcs..self.inner.funcs.len();
        for func in defined {
            crate::interp::compiled(&self.inner, func as u32);
        }
    }

    /// Compiles every defined function to native code now, in parallel: this thread and the
    /// engine's compile threads ([`Config::compile_threads`](crate::Config::compile_threads))
    /// take the functions one at a time until none is left; returns once all are compiled,
    /// with how many the compiler refused (they run in the interpreter). A function compiled
    /// before is not compiled again. [`Module::new`] does this under
    /// [`Strategy::Compiled`](crate::Strategy::Compiled); under
    /// [`Strategy::Interpreter`](crate::Strategy::Interpreter) the code is not run (this is
    /// for measuring compilation), under the other strategies it is, from each function's
    /// next call.
    #[cfg(feature = "jit")]
    pub fn compile_all(&self) -> usize {
        self.inner.engine.compile_pool().compile_all(&self.inner)
    }

    pub(crate) fn inner(&self) -> &Arc<ModuleInner> {
        &self.inner
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.inner.name)
            .field("functions", &self.inner.funcs.len())
            .finish()
    }
}

impl ModuleInner {
    /// Records that `kind` happened to function `func` (module index space) now.
    pub fn record_tier_event(&self, func: u32, kind: TierEventKind, duration: Option<Duration>) {
        self.record_event(func, None, kind, duration);
    }

    /// Records `kind` for the OSR entry of defined function `func` at loop `loop_index`.
    #[cfg(feature = "jit")]
    pub fn record_osr_event(
        &self,
        func: u32,
        loop_index: u32,
        kind: TierEventKind,
        duration: Option<Duration>,
    ) {
        self.record_event(func, Some(loop_index), kind, duration);
    }

    /// Records `kind` for function `func`, or with `loop_index` for its OSR entry there.
    pub fn record_event(
        &self,
        func: u32,
        loop_index: Option<u32>,
        kind: TierEventKind,
        duration: Option<Duration>,
    ) {
        let func = EventFunc {
            index: func,
            name: self.func_names.get(&func).map(String::as_str),
            module_name: self.name.as_deref(),
            loop_index,
        };
        self.engine.record_tier_event(kind, func, duration);
    }

    pub fn entity_type(&self, index: EntityIndex) -> ExternType {
        match index {
            EntityIndex::Func(i) => ExternType::Func(self.func_type(i).clone()),
            EntityIndex::Table(i) => ExternType::Table(self.tables[i as usize]),
            EntityIndex::Memory(i) => ExternType::Memory(self.memories[i as usize]),
            EntityIndex::Global(i) => ExternType::Global(self.globals[i as usize]),
        }
    }
}

/// Turns text format into binary when the `wat` feature is on: input that looks like text
/// (an opening parenthesis after any white space and comments) is parsed as text, anything
/// else is taken for binary, so garbage gets the decoder's error, not the text parser's.
fn to_binary(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>> {
    #[cfg(feature = "wat")]
    if matches!(wat::Detect::from_bytes(bytes), wat::Detect::WasmText) {
        return wat::parse_bytes(bytes).map_err(|error| Error::compile(error.to_string(), None));
    }
    Ok(std::borrow::Cow::Borrowed(bytes))
}

/// Rejects input that is not a binary module at all with one clear line (the decoder's own
/// message for a bad magic number spells out both byte arrays).
fn check_magic(bytes: &[u8]) -> Result<()> {
    if bytes.starts_with(b"\0asm") {
        Ok(())
    } else {
        Err(Error::compile(
            "not a WebAssembly module: the binary does not start with `\\0asm`",
            Some(0),
        ))
    }
}

fn parse(engine: &Engine, bytes: Box<[u8]>) -> Result<ModuleInner> {
    check_magic(&bytes)?;
    let mut module = ModuleInner {
        engine: engine.clone(),
        bytes: Box::default(),
        name: None,
        types: Vec::new(),
        signatures: Vec::new(),
        imports: Vec::new(),
        funcs: Vec::new(),
        num_imported_funcs: 0,
        tables: Vec::new(),
        num_imported_tables: 0,
        memories: Vec::new(),
        num_imported_memories: 0,
        globals: Vec::new(),
        num_imported_globals: 0,
        global_inits: Vec::new(),
        exports: Vec::new(),
        start: None,
        elements: Vec::new(),
        data: Vec::new(),
        code: Box::default(),
        func_names: HashMap::new(),
    };
    let mut code = Vec::new();
    let mut validator = Validator::new_with_features(supported_features());
    let mut allocations = FuncValidatorAllocations::default();
    let offset_in = |slice: &[u8]| slice.as_ptr() as usize - bytes.as_ptr() as usize;

    let mut parser = Parser::new(0);
    parser.set_features(supported_features());
    for payload in parser.parse_all(&bytes) {
        let payload = payload?;
        if let ValidPayload::Func(func, body) = validator.payload(&payload)? {
            let mut func_validator = func.into_validator(std::mem::take(&mut allocations));
            func_validator.validate(&body)?;
            allocations = func_validator.into_allocations();
        }
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub_type in group?.into_types() {
                        let CompositeInnerType::Func(ty) = &sub_type.composite_type.inner else {
                            unreachable!("the validator rejects GC types");
                        };
                        let ty = FuncType::from_wasmparser(ty);
                        module.signatures.push(engine.signature_id(&ty));
                        module.types.push(ty);
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let ty = match import.ty {
                        TypeRef::Func(index) | TypeRef::FuncExact(index) => {
                            module.funcs.push(index);
                            module.num_imported_funcs += 1;
                            ExternType::Func(module.types[index as usize].clone())
                        }
                        TypeRef::Table(ty) => {
                            let ty = table_type(&ty);
                            module.tables.push(ty);
                            module.num_imported_tables += 1;
                            ExternType::Table(ty)
                        }
                        TypeRef::Memory(ty) => {
                            let ty = memory_type(&ty);
                            module.memories.push(ty);
                            module.num_imported_memories += 1;
                            ExternType::Memory(ty)
                        }
                        TypeRef::Global(ty) => {
                            let ty = global_type(&ty);
                            module.globals.push(ty);
                            module.num_imported_globals += 1;
                            ExternType::Global(ty)
                        }
                        TypeRef::Tag(_) => unreachable!("the validator rejects exceptions"),
                    };
                    module.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        ty,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for type_index in reader {
                    module.funcs.push(type_index?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table?;
                    debug_assert!(matches!(table.init, TableInit::RefNull));
                    module.tables.push(table_type(&table.ty));
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    module.memories.push(memory_type(&memory?));
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global?;
                    module.globals.push(global_type(&global.ty));
                    module.global_inits.push(const_expr(&global.init_expr)?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let index = match export.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => {
                            EntityIndex::Func(export.index)
                        }
                        ExternalKind::Table => EntityIndex::Table(export.index),
                        ExternalKind::Memory => EntityIndex::Memory(export.index),
                        ExternalKind::Global => EntityIndex::Global(export.index),
                        ExternalKind::Tag => unreachable!("the validator rejects exceptions"),
                    };
                    module.exports.push(Export {
                        name: export.name.to_string(),
                        index,
                    });
                }
            }
            Payload::StartSection { func, .. } => module.start = Some(func),
            Payload::ElementSection(reader) => {
                for element in reader {
                    module.elements.push(element_segment(element?)?);
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let mode = match data.kind {
                        DataKind::Passive => SegmentMode::Passive,
                        DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => SegmentMode::Active {
                            index: memory_index,
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    let start = offset_in(data.data);
                    module.data.push(DataSegment {
                        mode,
                        bytes: start..start + data.data.len(),
                    });
                }
            }
            Payload::CodeSectionEntry(body) => {
                let start = offset_in(body.as_bytes());
                code.push(CodeSlot {
                    body: start..start + body.as_bytes().len(),
                    translated: OnceLock::new(),
                    hotness: AtomicU32::new(0),
                    tier_up_at: AtomicU32::new(tier_up_threshold(engine, body.as_bytes().len())),
                    #[cfg(feature = "jit")]
                    native: crate::jit::NativeSlot::default(),
                });
            }
            Payload::CustomSection(reader) => {
                if let KnownCustom::Name(names) = reader.as_known() {
                    // The name section is informative: a malformed one is ignored, as the spec says.
                    let _ = read_names(&mut module, names);
                }
            }
            _ => {}
        }
    }
    module.code = code.into_boxed_slice();
    module.bytes = bytes;
    Ok(module)
}

fn read_names(module: &mut ModuleInner, names: wasmparser::NameSectionReader<'_>) -> Result<()> {
    for name in names {
        match name? {
            Name::Module { name, .. } => module.name = Some(name.to_string()),
            Name::Function(map) => {
                for naming in map {
                    let naming = naming?;
                    module
                        .func_names
                        .insert(naming.index, naming.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn table_type(ty: &wasmparser::TableType) -> TableType {
    // The validator guarantees 32-bit tables (no memory64), so the casts are exact.
    TableType::new(
        ValType::from_ref_type(ty.element_type),
        ty.initial as u32,
        ty.maximum.map(|max| max as u32),
    )
}

fn memory_type(ty: &wasmparser::MemoryType) -> types::MemoryType {
    // 32-bit memories have at most 65 536 pages, which the validator checks.
    types::MemoryType::new(ty.initial as u32, ty.maximum.map(|max| max as u32))
}

fn global_type(ty: &wasmparser::GlobalType) -> GlobalType {
    let mutability = if ty.mutable {
        Mutability::Var
    } else {
        Mutability::Const
    };
    GlobalType::new(ValType::from_wasmparser(ty.content_type), mutability)
}

fn element_segment(element: wasmparser::Element<'_>) -> Result<ElementSegment> {
    let mode = match element.kind {
        ElementKind::Passive => SegmentMode::Passive,
        ElementKind::Declared => SegmentMode::Declared,
        ElementKind::Active {
            table_index,
            offset_expr,
        } => SegmentMode::Active {
            index: table_index.unwrap_or(0),
            offset: const_expr(&offset_expr)?,
        },
    };
    let items = match element.items {
        ElementItems::Functions(reader) => reader
            .into_iter()
            .map(|func| func.map(ConstExpr::RefFunc))
            .collect::<Result<_, _>>()?,
        ElementItems::Expressions(_, reader) => reader
            .into_iter()
            .map(|expr| const_expr(&expr?))
            .collect::<Result<_>>()?,
    };
    Ok(ElementSegment { mode, items })
}

/// Reads a validated constant expression: one value-producing operator, then `end`.
fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
    let mut reader = expr.get_operators_reader();
    let value = match reader.read()? {
        Operator::I32Const { value } => ConstExpr::I32(value),
        Operator::I64Const { value } => ConstExpr::I64(value),
        Operator::F32Const { value } => ConstExpr::F32(value.bits()),
        Operator::F64Const { value } => ConstExpr::F64(value.bits()),
        Operator::RefNull { .. } => ConstExpr::RefNull,
        Operator::RefFunc { function_index } => ConstExpr::RefFunc(function_index),
        Operator::GlobalGet { global_index } => ConstExpr::GlobalGet(global_index),
        other => {
            return Err(Error::compile(
                format!("unsupported constant expression operator {other:?}"),
                Some(reader.original_position() as usize),
            ));
        }
    };
    Ok(value)
}
