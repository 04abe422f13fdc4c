//! tierwasm: a WebAssembly runtime that instantiates a module at once and runs it on a
//! register-based interpreter.
//!
//! The instantiation lifecycle has one phase per step, each separately callable and failing
//! with its own [`ErrorKind`]: [`Module::new`] decodes and validates (`Compile`);
//! [`Instance::new`] / [`Linker::instantiate`] link the imports (`Link`), allocate memories,
//! tables and globals (`Limit`), initialise element and data segments and run the start
//! function (`Trap`); exports are then reached through [`Instance`].
//!
//! ```
//! use tierwasm::{Engine, Linker, Module, Store};
//!
//! let engine = Engine::default();
//! let module = Module::new(
//!     &engine,
//!     r#"(module
//!          (import "host" "double" (func $double (param i32) (result i32)))
//!          (func (export "quadruple") (param i32) (result i32)
//!            (call $double (call $double (local.get 0)))))"#,
//! )?;
//! let mut linker = Linker::new(&engine);
//! linker.func_wrap("host", "double", |x: i32| x * 2)?;
//! let mut store = Store::new(&engine, ());
//! let instance = linker.instantiate(&mut store, &module)?;
//! let quadruple = instance.get_typed_func::<i32, i32>(&store, "quadruple")?;
//! assert_eq!(quadruple.call(&mut store, 5)?, 20);
//! # Ok::<(), tierwasm::Error>(())
//! ```

mod engine;
mod error;
mod interp;
mod module;
mod runtime;

pub use engine::{Config, Engine, Strategy};
pub use error::{Error, ErrorKind, FrameInfo, Result, TrapCode, WasmBacktrace};
pub use module::types::{
    ExternType, FuncType, GlobalType, Limits, MemoryType, Mutability, TableType, ValType,
};
pub use module::{ExportType, ImportType, Module};
pub use runtime::func::{
    Caller, Func, HostResult, IntoFunc, TypedFunc, WasmTy, WasmTyList, WithCaller,
};
pub use runtime::global::Global;
pub use runtime::instance::{Extern, Instance};
pub use runtime::linker::Linker;
pub use runtime::memory::Memory;
pub use runtime::store::{AsContext, AsContextMut, Store};
pub use runtime::table::Table;
pub use runtime::values::{ExternRef, Val};
