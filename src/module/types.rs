//! The WebAssembly types a module's imports and exports are described with.

use std::fmt;
use std::sync::Arc;

/// A value type. SIMD's `v128` is not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// A nullable reference to a function.
    FuncRef,
    /// A nullable reference to a host object.
    ExternRef,
}

impl ValType {
    pub(crate) fn from_wasmparser(ty: wasmparser::ValType) -> Self {
        match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::Ref(r) => ValType::from_ref_type(r),
            wasmparser::ValType::V128 => unreachable!("the validator rejects v128 (SIMD is off)"),
        }
    }

    pub(crate) fn from_ref_type(ty: wasmparser::RefType) -> Self {
        if ty.is_func_ref() {
            ValType::FuncRef
        } else {
            ValType::ExternRef
        }
    }

    /// Whether this is `funcref` or `externref`.
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::FuncRef | ValType::ExternRef)
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
        })
    }
}

/// A function signature. Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    /// Parameters followed by results, in one allocation.
    types: Arc<[ValType]>,
    params: usize,
}

impl FuncType {
    /// A signature with these parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        let mut types: Vec<ValType> = params.into_iter().collect();
        let params = types.len();
        types.extend(results);
        FuncType {
            types: types.into(),
            params,
        }
    }

    /// The parameter types.
    pub fn params(&self) -> &[ValType] {
        &self.types[..self.params]
    }

    /// The result types.
    pub fn results(&self) -> &[ValType] {
        &self.types[self.params..]
    }

    pub(crate) fn from_wasmparser(ty: &wasmparser::FuncType) -> Self {
        FuncType::new(
            ty.params().iter().copied().map(ValType::from_wasmparser),
            ty.results().iter().copied().map(ValType::from_wasmparser),
        )
    }
}

fn write_type_list(f: &mut fmt::Formatter<'_>, types: &[ValType]) -> fmt::Result {
    f.write_str("(")?;
    for (i, ty) in types.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{ty}")?;
    }
    f.write_str(")")
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_type_list(f, self.params())?;
        f.write_str(" -> ")?;
        write_type_list(f, self.results())
    }
}

impl fmt::Debug for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FuncType {self}")
    }
}

/// Size limits of a memory (in 64 KiB pages) or a table (in elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// The initial size.
    pub min: u32,
    /// The maximum size, if any.
    pub max: Option<u32>,
}

impl Limits {
    /// Import subtyping: `self` (what is given) may stand where `required` is declared.
    pub(crate) fn satisfies(&self, required: &Limits) -> bool {
        self.min >= required.min
            && match (required.max, self.max) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(required_max), Some(max)) => max <= required_max,
            }
    }

    fn describe(&self, unit: &str) -> String {
        match self.max {
            Some(max) => format!(
                "of at least {} and at most {}",
                count(self.min, unit),
                count(max, unit)
            ),
            None => format!("of at least {}", count(self.min, unit)),
        }
    }
}

/// `1 page`, `2 pages`.
fn count(n: u32, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// The type of a linear memory: its limits in 64 KiB pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryType {
    limits: Limits,
}

impl MemoryType {
    /// A memory of `min` pages, growable up to `max` pages (or 65536).
    pub fn new(min: u32, max: Option<u32>) -> Self {
        MemoryType {
            limits: Limits { min, max },
        }
    }

    /// The initial size in pages.
    pub fn minimum(&self) -> u32 {
        self.limits.min
    }

    /// The maximum size in pages, if declared.
    pub fn maximum(&self) -> Option<u32> {
        self.limits.max
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "memory {}", self.limits.describe("page"))
    }
}

/// The type of a table: element type and limits in elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableType {
    element: ValType,
    limits: Limits,
}

impl TableType {
    /// A table of `element` references (`FuncRef` or `ExternRef`).
    pub fn new(element: ValType, min: u32, max: Option<u32>) -> Self {
        TableType {
            element,
            limits: Limits { min, max },
        }
    }

    /// The element type.
    pub fn element(&self) -> ValType {
        self.element
    }

    /// The initial size in elements.
    pub fn minimum(&self) -> u32 {
        self.limits.min
    }

    /// The maximum size in elements, if declared.
    pub fn maximum(&self) -> Option<u32> {
        self.limits.max
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "table of {} {}",
            self.element,
            self.limits.describe("element")
        )
    }
}

/// Whether a global can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Immutable.
    Const,
    /// Mutable.
    Var,
}

/// The type of a global: content type and mutability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalType {
    content: ValType,
    mutability: Mutability,
}

impl GlobalType {
    /// A global holding `content`.
    pub fn new(content: ValType, mutability: Mutability) -> Self {
        GlobalType {
            content,
            mutability,
        }
    }

    /// The value type.
    pub fn content(&self) -> ValType {
        self.content
    }

    /// Whether it is mutable.
    pub fn mutability(&self) -> Mutability {
        self.mutability
    }
}

impl fmt::Display for GlobalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mutability {
            Mutability::Const => write!(f, "global {}", self.content),
            Mutability::Var => write!(f, "global (mut {})", self.content),
        }
    }
}

/// The type of anything a module imports or exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A linear memory.
    Memory(MemoryType),
    /// A table.
    Table(TableType),
    /// A global.
    Global(GlobalType),
}

impl ExternType {
    /// `true` when a value of type `self` may be imported where `required` is declared.
    pub(crate) fn matches(&self, required: &ExternType) -> bool {
        match (self, required) {
            (ExternType::Func(given), ExternType::Func(required)) => given == required,
            (ExternType::Memory(given), ExternType::Memory(required)) => {
                given.limits.satisfies(&required.limits)
            }
            (ExternType::Table(given), ExternType::Table(required)) => {
                given.element == required.element && given.limits.satisfies(&required.limits)
            }
            (ExternType::Global(given), ExternType::Global(required)) => given == required,
            _ => false,
        }
    }
}

/// How a given import is described next to the declared one in a link error: for a memory or
/// table of the right kind only its sizes, e.g. `found 1 page`.
pub(crate) fn describe_given(given: &ExternType, required: &ExternType) -> String {
    let sizes = |limits: &Limits, unit: &str| {
        let min = count(limits.min, unit);
        match (limits.max, required_max(required)) {
            (_, None) => min,
            (Some(max), Some(_)) => format!("{min} and at most {}", count(max, unit)),
            (None, Some(_)) => format!("{min} and no maximum"),
        }
    };
    match (given, required) {
        (ExternType::Memory(given), ExternType::Memory(_)) => sizes(&given.limits, "page"),
        (ExternType::Table(given), ExternType::Table(req)) if given.element == req.element => {
            sizes(&given.limits, "element")
        }
        _ => given.to_string(),
    }
}

fn required_max(required: &ExternType) -> Option<u32> {
    match required {
        ExternType::Memory(ty) => ty.limits.max,
        ExternType::Table(ty) => ty.limits.max,
        _ => None,
    }
}

impl fmt::Display for ExternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternType::Func(ty) => write!(f, "func of type {ty}"),
            ExternType::Memory(ty) => write!(f, "{ty}"),
            ExternType::Table(ty) => write!(f, "{ty}"),
            ExternType::Global(ty) => write!(f, "{ty}"),
        }
    }
}
