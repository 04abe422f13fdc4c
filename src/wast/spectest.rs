//! The `spectest` host module the spec suite imports from, as the reference interpreter
//! defines it.

use crate::{
    Global, GlobalType, Linker, Memory, MemoryType, Mutability, Store, Table, TableType, Val,
    ValType,
};
use anyhow::Result;

/// The import module name.
const MODULE: &str = "spectest";

/// Defines every `spectest` export in `linker`, creating its table, memory and globals in
/// `store`.
pub(crate) fn define(linker: &mut Linker<()>, store: &mut Store<()>) -> Result<()> {
    define_print_functions(linker)?;
    define_globals(linker, store)?;
    let table = Table::new(
        &mut *store,
        TableType::new(ValType::FuncRef, 10, Some(20)),
        Val::FuncRef(None),
    )?;
    linker.define(&*store, MODULE, "table", table)?;
    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(&*store, MODULE, "memory", memory)?;
    Ok(())
}

/// The `print*` functions; they print nothing.
fn define_print_functions(linker: &mut Linker<()>) -> Result<()> {
    linker
        .func_wrap(MODULE, "print", || {})?
        .func_wrap(MODULE, "print_i32", |_: i32| {})?
        .func_wrap(MODULE, "print_i64", |_: i64| {})?
        .func_wrap(MODULE, "print_f32", |_: f32| {})?
        .func_wrap(MODULE, "print_f64", |_: f64| {})?
        .func_wrap(MODULE, "print_i32_f32", |_: i32, _: f32| {})?
        .func_wrap(MODULE, "print_f64_f64", |_: f64, _: f64| {})?;
    Ok(())
}

/// The immutable globals `global_i32`, `global_i64`, `global_f32` and `global_f64`.
fn define_globals(linker: &mut Linker<()>, store: &mut Store<()>) -> Result<()> {
    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::F32(666.6_f32.to_bits())),
        ("global_f64", Val::F64(666.6_f64.to_bits())),
    ];
    for (name, value) in globals {
        let ty = GlobalType::new(value.ty(), Mutability::Const);
        let global = Global::new(&mut *store, ty, value)?;
        linker.define(&*store, MODULE, name, global)?;
    }
    Ok(())
}
