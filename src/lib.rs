//! tierwasm: a WebAssembly runtime that instantiates a module at once and runs it on a
//! register-based interpreter.
//!
//! The instantiation lifecycle has one phase per step, each separately callable and failing
//! with its own [`ErrorKind`]: [`Module::new`] decodes and validates (`Compile`);
//! [`Instance::new`] / [`Linker::instantiate`] link the imports (`Link`), allocate memories,
//! tables and globals (`Limit`), initialise element and data segments and run the start
//! function (`Trap`); exports are then reached through [`Instance`].
//!
//! With the default features, the README below is part of these docs and its examples are
//! tested.
#![cfg_attr(all(feature = "wat", feature = "wasi"), doc = "")]
#![cfg_attr(all(feature = "wat", feature = "wasi"), doc = include_str!("../README.md"))]

mod engine;
mod error;
mod interp;
#[cfg(feature = "jit")]
mod jit;
mod module;
mod runtime;
mod tier_log;
#[cfg(feature = "wasi")]
pub mod wasi;
#[cfg(feature = "wast")]
pub mod wast;

pub use engine::{Config, Engine, EngineStats, Strategy};
pub use error::{Error, ErrorKind, FrameInfo, Result, TrapCode, WasmBacktrace};
pub use module::types::{
    ExternType, FuncType, GlobalType, Limits, MemoryType, Mutability, TableType, ValType,
};
pub use module::{ExportType, ImportType, Module};
pub use runtime::func::{
    Caller, Func, HostResult, IntoFunc, TypedFunc, WasmTy, WasmTyList, WithCaller,
};
pub use runtime::global::Global;
pub use runtime::instance::{
    AllocatedInstance, Extern, InitializedInstance, Instance, InstancePre,
};
pub use runtime::linker::Linker;
pub use runtime::memory::Memory;
pub use runtime::store::{AsContext, AsContextMut, Store};
pub use runtime::table::Table;
pub use runtime::values::{ExternRef, Val};
pub use tier_log::{TierEvent, TierEventKind};
