//! Values crossing the host boundary, and their encoding in the 64-bit slots the tiers use.
//!
//! In a slot, `i32` and `f32` occupy the low 32 bits (the high bits are ignored on read),
//! `i64` and `f64` all 64, and a reference is 0 for null or its store index plus one.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::module::types::ValType;
use crate::runtime::func::Func;

/// A WebAssembly value.
#[derive(Debug, Clone)]
pub enum Val {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as its bit pattern (so NaN payloads survive).
    F32(u32),
    /// An `f64`, as its bit pattern.
    F64(u64),
    /// A `funcref`, `None` for null.
    FuncRef(Option<Func>),
    /// An `externref`, `None` for null.
    ExternRef(Option<ExternRef>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
        }
    }

    /// A null `funcref`.
    pub fn null_func_ref() -> Val {
        Val::FuncRef(None)
    }

    /// A null `externref`.
    pub fn null_extern_ref() -> Val {
        Val::ExternRef(None)
    }

    /// The default (zero or null) value of a type.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::FuncRef => Val::FuncRef(None),
            ValType::ExternRef => Val::ExternRef(None),
        }
    }

    /// The `i32`, if this is one.
    pub fn i32(&self) -> Option<i32> {
        match self {
            Val::I32(v) => Some(*v),
            _ => None,
        }
    }

    /// The `i64`, if this is one.
    pub fn i64(&self) -> Option<i64> {
        match self {
            Val::I64(v) => Some(*v),
            _ => None,
        }
    }

    /// The `f32`, if this is one.
    pub fn f32(&self) -> Option<f32> {
        match self {
            Val::F32(bits) => Some(f32::from_bits(*bits)),
            _ => None,
        }
    }

    /// The `f64`, if this is one.
    pub fn f64(&self) -> Option<f64> {
        match self {
            Val::F64(bits) => Some(f64::from_bits(*bits)),
            _ => None,
        }
    }

    /// The function reference, if this is a `funcref` (the inner `None` is null).
    pub fn func_ref(&self) -> Option<Option<&Func>> {
        match self {
            Val::FuncRef(func) => Some(func.as_ref()),
            _ => None,
        }
    }

    /// The host reference, if this is an `externref` (the inner `None` is null).
    pub fn extern_ref(&self) -> Option<Option<&ExternRef>> {
        match self {
            Val::ExternRef(r) => Some(r.as_ref()),
            _ => None,
        }
    }

    /// The `i32`; panics if this is not one.
    pub fn unwrap_i32(&self) -> i32 {
        self.i32().expect("expected an i32 value")
    }

    /// The `i64`; panics if this is not one.
    pub fn unwrap_i64(&self) -> i64 {
        self.i64().expect("expected an i64 value")
    }

    /// The `f32`; panics if this is not one.
    pub fn unwrap_f32(&self) -> f32 {
        self.f32().expect("expected an f32 value")
    }

    /// The `f64`; panics if this is not one.
    pub fn unwrap_f64(&self) -> f64 {
        self.f64().expect("expected an f64 value")
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}

impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}

impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}

impl From<Func> for Val {
    fn from(f: Func) -> Val {
        Val::FuncRef(Some(f))
    }
}

impl From<ExternRef> for Val {
    fn from(r: ExternRef) -> Val {
        Val::ExternRef(Some(r))
    }
}

/// A reference to a host object, passed through Wasm as an `externref`. Cheap to clone.
#[derive(Clone)]
pub struct ExternRef {
    data: Arc<dyn Any + Send + Sync>,
}

impl ExternRef {
    /// Wraps a host value.
    pub fn new(data: impl Any + Send + Sync) -> Self {
        ExternRef {
            data: Arc::new(data),
        }
    }

    /// The wrapped host value; use `downcast_ref` to get it back.
    pub fn data(&self) -> &(dyn Any + Send + Sync) {
        &*self.data
    }

    /// The host object's address: equal for clones of one `ExternRef`, distinct otherwise.
    pub(crate) fn address(&self) -> usize {
        Arc::as_ptr(&self.data) as *const () as usize
    }

    /// Whether both name the same host object.
    pub fn ptr_eq(a: &ExternRef, b: &ExternRef) -> bool {
        Arc::ptr_eq(&a.data, &b.data)
    }
}

impl fmt::Debug for ExternRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExternRef({:p})", Arc::as_ptr(&self.data))
    }
}
