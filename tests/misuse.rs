//! Misuse of the embedding API is reported as an error of kind `Usage`, never
//! as a panic: handles used with a store they don't belong to, and calls with
//! the wrong number or types of values.

mod common;

use common::{expect_err, instantiate, wasm};
use tierwasm::{
    Engine, ErrorKind, Func, FuncType, Global, GlobalType, Instance, Linker, Memory, MemoryType,
    Module, Mutability, Store, Table, TableType, Val, ValType,
};

/// Two stores on one engine.
fn two_stores() -> (Store<()>, Store<()>) {
    let engine = Engine::default();
    (Store::new(&engine, ()), Store::new(&engine, ()))
}

#[test]
fn foreign_func_cannot_be_called() {
    let (mut a, mut b) = two_stores();
    let double = Func::wrap(&mut a, |x: i32| x * 2);
    let mut results = [Val::I32(0)];
    expect_err(
        double.call(&mut b, &[Val::I32(1)], &mut results),
        ErrorKind::Usage,
    );
    let typed = double.typed::<i32, i32>(&a).unwrap();
    expect_err(typed.call(&mut b, 1), ErrorKind::Usage);

    // Wasm functions too, and the owning store is unaffected.
    let instance = instantiate(
        &mut a,
        r#"(module (func (export "seven") (result i32) i32.const 7))"#,
    );
    let seven = instance.get_func(&mut a, "seven").unwrap();
    expect_err(seven.call(&mut b, &[], &mut results), ErrorKind::Usage);
    seven.call(&mut a, &[], &mut results).unwrap();
    assert_eq!(results[0].i32(), Some(7));
}

#[test]
fn foreign_memory_cannot_be_accessed() {
    let (mut a, mut b) = two_stores();
    let memory = Memory::new(&mut a, MemoryType::new(1, None)).unwrap();
    expect_err(memory.write(&mut b, 0, &[1]), ErrorKind::Usage);
    expect_err(memory.read(&b, 0, &mut [0]), ErrorKind::Usage);
    expect_err(memory.grow(&mut b, 1), ErrorKind::Usage);
    assert_eq!(memory.size(&a), 1);
    assert_eq!(memory.data(&a)[0], 0);
}

#[test]
fn foreign_global_cannot_be_set() {
    let (mut a, mut b) = two_stores();
    let global = Global::new(
        &mut a,
        GlobalType::new(ValType::I32, Mutability::Var),
        Val::I32(1),
    )
    .unwrap();
    expect_err(global.set(&mut b, Val::I32(2)), ErrorKind::Usage);
    assert_eq!(global.get(&mut a).i32(), Some(1));
}

#[test]
fn foreign_table_cannot_be_modified() {
    let (mut a, mut b) = two_stores();
    let table = Table::new(
        &mut a,
        TableType::new(ValType::FuncRef, 1, None),
        Val::null_func_ref(),
    )
    .unwrap();
    expect_err(table.set(&mut b, 0, Val::null_func_ref()), ErrorKind::Usage);
    expect_err(
        table.grow(&mut b, 1, Val::null_func_ref()),
        ErrorKind::Usage,
    );
    assert_eq!(table.size(&a), 1);
}

#[test]
fn foreign_function_reference_cannot_be_stored() {
    let (mut a, mut b) = two_stores();
    let foreign = Val::FuncRef(Some(Func::wrap(&mut a, || {})));

    let table = Table::new(
        &mut b,
        TableType::new(ValType::FuncRef, 1, None),
        Val::null_func_ref(),
    )
    .unwrap();
    expect_err(table.set(&mut b, 0, foreign.clone()), ErrorKind::Usage);
    expect_err(table.grow(&mut b, 1, foreign.clone()), ErrorKind::Usage);
    expect_err(
        Table::new(
            &mut b,
            TableType::new(ValType::FuncRef, 1, None),
            foreign.clone(),
        ),
        ErrorKind::Usage,
    );
    let funcref_global = GlobalType::new(ValType::FuncRef, Mutability::Var);
    expect_err(
        Global::new(&mut b, funcref_global, foreign.clone()),
        ErrorKind::Usage,
    );
    let global = Global::new(&mut b, funcref_global, Val::null_func_ref()).unwrap();
    expect_err(global.set(&mut b, foreign), ErrorKind::Usage);
}

#[test]
fn foreign_function_reference_cannot_be_passed_to_wasm() {
    let (mut a, mut b) = two_stores();
    let foreign = Func::wrap(&mut a, || {});
    let instance = instantiate(
        &mut b,
        r#"(module
             (func (export "is_null") (param funcref) (result i32)
               local.get 0 ref.is_null))"#,
    );
    let is_null = instance.get_func(&mut b, "is_null").unwrap();
    let mut results = [Val::I32(-1)];
    expect_err(
        is_null.call(&mut b, &[Val::FuncRef(Some(foreign))], &mut results),
        ErrorKind::Usage,
    );
    is_null
        .call(&mut b, &[Val::null_func_ref()], &mut results)
        .unwrap();
    assert_eq!(results[0].i32(), Some(1));
}

#[test]
fn foreign_imports_are_refused() {
    let (mut a, mut b) = two_stores();
    let module = Module::new(
        b.engine(),
        wasm(
            r#"(module
             (import "env" "f" (func))
             (import "env" "memory" (memory 1)))"#,
        ),
    )
    .unwrap();
    let func_a = Func::wrap(&mut a, || {});
    let memory_a = Memory::new(&mut a, MemoryType::new(1, None)).unwrap();
    let func_b = Func::wrap(&mut b, || {});
    let memory_b = Memory::new(&mut b, MemoryType::new(1, None)).unwrap();

    expect_err(
        Instance::new(&mut b, &module, &[func_a.into(), memory_b.into()]),
        ErrorKind::Usage,
    );
    expect_err(
        Instance::new(&mut b, &module, &[func_b.into(), memory_a.into()]),
        ErrorKind::Usage,
    );
    Instance::new(&mut b, &module, &[func_b.into(), memory_b.into()]).unwrap();

    // Through a linker, too.
    let mut linker = Linker::new(b.engine());
    linker.define(&a, "env", "f", func_a).unwrap();
    linker.define(&a, "env", "memory", memory_a).unwrap();
    expect_err(linker.instantiate(&mut b, &module), ErrorKind::Usage);
}

#[test]
fn call_with_wrong_arguments_or_result_slots_is_a_usage_error() {
    let mut store = common::store();
    let func = Func::new(
        &mut store,
        FuncType::new([ValType::I32, ValType::F64], [ValType::I64]),
        |_, _, results| {
            results[0] = Val::I64(1);
            Ok(())
        },
    );
    let mut one = [Val::I64(0)];
    expect_err(
        func.call(&mut store, &[Val::I32(1)], &mut one),
        ErrorKind::Usage,
    );
    expect_err(
        func.call(
            &mut store,
            &[Val::I32(1), Val::F64(0), Val::I32(2)],
            &mut one,
        ),
        ErrorKind::Usage,
    );
    expect_err(
        func.call(&mut store, &[Val::I32(1), Val::F32(0)], &mut one),
        ErrorKind::Usage,
    );
    expect_err(
        func.call(&mut store, &[Val::I32(1), Val::F64(0)], &mut []),
        ErrorKind::Usage,
    );
    let mut two = [Val::I64(0), Val::I64(0)];
    expect_err(
        func.call(&mut store, &[Val::I32(1), Val::F64(0)], &mut two),
        ErrorKind::Usage,
    );
    func.call(&mut store, &[Val::I32(1), Val::F64(0)], &mut one)
        .unwrap();
    assert_eq!(one[0].i64(), Some(1));
}

#[test]
fn wrong_number_of_positional_imports_is_an_error() {
    let mut store = common::store();
    let module = Module::new(
        store.engine(),
        wasm(r#"(module (import "env" "f" (func)) (import "env" "g" (func)))"#),
    )
    .unwrap();
    let f = Func::wrap(&mut store, || {});
    assert!(Instance::new(&mut store, &module, &[f.into()]).is_err());
    assert!(Instance::new(&mut store, &module, &[f.into(), f.into(), f.into()]).is_err());
    Instance::new(&mut store, &module, &[f.into(), f.into()]).unwrap();
}

#[test]
fn host_function_returning_a_foreign_function_reference_fails_the_call() {
    let (mut a, mut b) = two_stores();
    let foreign = Func::wrap(&mut a, || {});
    let leak = Func::new(
        &mut b,
        FuncType::new([], [ValType::FuncRef]),
        move |_, _, results| {
            results[0] = Val::FuncRef(Some(foreign));
            Ok(())
        },
    );
    let module = Module::new(
        b.engine(),
        wasm(
            r#"(module
             (import "env" "leak" (func $leak (result funcref)))
             (table 1 funcref)
             (func (export "run") (table.set (i32.const 0) (call $leak))))"#,
        ),
    )
    .unwrap();
    let instance = Instance::new(&mut b, &module, &[leak.into()]).unwrap();
    let run = instance.get_func(&mut b, "run").unwrap();
    expect_err(run.call(&mut b, &[], &mut []), ErrorKind::Usage);
    let mut results = [Val::null_func_ref()];
    expect_err(leak.call(&mut b, &[], &mut results), ErrorKind::Usage);
}

#[test]
fn module_of_another_engine_is_refused() {
    let module = Module::new(&Engine::default(), wasm("(module)")).unwrap();
    let mut store = Store::new(&Engine::default(), ());
    expect_err(Instance::new(&mut store, &module, &[]), ErrorKind::Usage);
    let linker = Linker::new(store.engine());
    expect_err(linker.instantiate(&mut store, &module), ErrorKind::Usage);
}
