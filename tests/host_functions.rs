//! Host functions: typed (`Func::wrap`) and dynamic (`Func::new`), access to
//! the caller's exports and to the store's data, results of the wrong type,
//! and errors raised by the host. Calls back into wasm are in `reentrancy.rs`.

mod common;

use common::{expect_err, wasm};
use tierwasm::{
    Caller, Engine, Error, ErrorKind, Extern, Func, FuncType, Instance, Linker, Module, Store, Val,
    ValType,
};

#[test]
fn host_function_reads_guest_memory_and_updates_host_data() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, Vec::<String>::new());
    let log = Func::wrap(
        &mut store,
        |mut caller: Caller<'_, Vec<String>>, ptr: i32, len: i32| -> tierwasm::Result<()> {
            let memory = caller
                .get_export("memory")
                .and_then(Extern::into_memory)
                .ok_or_else(|| Error::host("caller exports no memory"))?;
            let mut bytes = vec![0; len as usize];
            memory.read(&caller, ptr as usize, &mut bytes)?;
            let text = String::from_utf8(bytes).map_err(Error::host)?;
            caller.data_mut().push(text);
            Ok(())
        },
    );
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
             (import "env" "log" (func $log (param i32 i32)))
             (memory (export "memory") 1)
             (data (i32.const 0) "hello")
             (data (i32.const 16) "wasm world")
             (func (export "run")
               (call $log (i32.const 0) (i32.const 5))
               (call $log (i32.const 16) (i32.const 10))))"#,
        ),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[log.into()]).unwrap();
    let run = instance
        .get_typed_func::<(), ()>(&mut store, "run")
        .unwrap();
    run.call(&mut store, ()).unwrap();
    run.call(&mut store, ()).unwrap();
    assert_eq!(
        store.data(),
        &["hello", "wasm world", "hello", "wasm world"]
    );
}

#[test]
fn host_function_without_caller_passes_values_both_ways() {
    let mut store = common::store();
    let mix = Func::wrap(&mut store, |a: i32, b: i64, c: f32, d: f64| -> (i64, f64) {
        (i64::from(a) + b, f64::from(c) * d)
    });
    assert_eq!(
        mix.ty(&store),
        FuncType::new(
            [ValType::I32, ValType::I64, ValType::F32, ValType::F64],
            [ValType::I64, ValType::F64]
        )
    );
    let module = Module::new(
        store.engine(),
        wasm(
            r#"(module
             (import "env" "mix" (func $mix (param i32 i64 f32 f64) (result i64 f64)))
             (func (export "run") (result i64 f64)
               (call $mix (i32.const -3) (i64.const 10000000000)
                          (f32.const 2.5) (f64.const 4))))"#,
        ),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[mix.into()]).unwrap();
    let run = instance
        .get_typed_func::<(), (i64, f64)>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), (9_999_999_997, 10.0));
}

#[test]
fn dynamic_host_function_with_func_new() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, 0u32);
    let ty = FuncType::new([ValType::I32, ValType::I64], [ValType::I64, ValType::I32]);
    let sum = Func::new(
        &mut store,
        ty.clone(),
        |mut caller: Caller<'_, u32>, params: &[Val], results: &mut [Val]| {
            *caller.data_mut() += 1;
            let a = params[0].unwrap_i32();
            let b = params[1].unwrap_i64();
            results[0] = Val::I64(i64::from(a) + b);
            results[1] = Val::I32(a.wrapping_neg());
            Ok(())
        },
    );
    assert_eq!(sum.ty(&store), ty);

    // Called from the host...
    let mut results = [Val::I64(0), Val::I32(0)];
    sum.call(&mut store, &[Val::I32(5), Val::I64(-20)], &mut results)
        .unwrap();
    assert_eq!(results[0].i64(), Some(-15));
    assert_eq!(results[1].i32(), Some(-5));

    // ...and from wasm.
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
             (import "env" "sum" (func $sum (param i32 i64) (result i64 i32)))
             (func (export "run") (param i32 i64) (result i64)
               (call $sum (local.get 0) (local.get 1))
               i64.extend_i32_s
               i64.add))"#,
        ),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[sum.into()]).unwrap();
    let run = instance
        .get_typed_func::<(i32, i64), i64>(&mut store, "run")
        .unwrap();
    // (7 + 100) + (-7)
    assert_eq!(run.call(&mut store, (7, 100)).unwrap(), 100);
    assert_eq!(*store.data(), 2);
}

/// A dynamic host function of type `() -> (result)` that returns `returned`.
fn returning(store: &mut Store<()>, result: ValType, returned: Val) -> Func {
    Func::new(
        store,
        FuncType::new([], [result]),
        move |_: Caller<'_, ()>, _: &[Val], results: &mut [Val]| {
            results[0] = returned.clone();
            Ok(())
        },
    )
}

#[test]
fn dynamic_host_function_returning_the_wrong_type_fails_a_host_call() {
    let mut store = common::store();
    let bad = returning(&mut store, ValType::I32, Val::I64(1));
    let mut results = [Val::I32(0)];
    assert!(bad.call(&mut store, &[], &mut results).is_err());
    let typed = bad.typed::<(), i32>(&store).unwrap();
    assert!(typed.call(&mut store, ()).is_err());
}

#[test]
fn dynamic_host_function_returning_the_wrong_type_fails_a_wasm_call() {
    let mut store = common::store();
    let module = Module::new(
        store.engine(),
        wasm(
            r#"(module
             (import "env" "get" (func $get (result funcref)))
             (func (export "run") (result funcref) call $get))"#,
        ),
    )
    .unwrap();
    let bad = returning(&mut store, ValType::FuncRef, Val::I32(12345));
    let instance = Instance::new(&mut store, &module, &[bad.into()]).unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();
    let mut results = [Val::null_func_ref()];
    assert!(run.call(&mut store, &[], &mut results).is_err());
}

#[test]
fn host_function_error_fails_the_call_with_kind_host() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("env", "check", |x: i32| -> tierwasm::Result<i32> {
            if x < 0 {
                Err(Error::host(format!("negative input {x}")))
            } else {
                Ok(x * 2)
            }
        })
        .unwrap();
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
             (import "env" "check" (func $check (param i32) (result i32)))
             (global $after (export "after") (mut i32) (i32.const 0))
             (func (export "run") (param i32) (result i32)
               (call $check (local.get 0))
               (global.set $after (i32.const 1))))"#,
        ),
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 21).unwrap(), 42);
    let after = instance.get_global(&mut store, "after").unwrap();
    after.set(&mut store, Val::I32(0)).unwrap();

    let err = expect_err(run.call(&mut store, -1), ErrorKind::Host);
    assert!(err.to_string().contains("negative input -1"), "{err}");
    assert_eq!(err.trap_code(), None);
    // The wasm code after the failing call did not run.
    assert_eq!(after.get(&mut store).i32(), Some(0));
}

#[test]
fn dynamic_host_function_error_has_kind_host() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_new(
            "env",
            "fail",
            FuncType::new([], []),
            |_: Caller<'_, ()>, _: &[Val], _: &mut [Val]| Err(Error::host("refused")),
        )
        .unwrap();
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
             (import "env" "fail" (func $fail))
             (func (export "run") call $fail))"#,
        ),
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), ()>(&mut store, "run")
        .unwrap();
    let err = expect_err(run.call(&mut store, ()), ErrorKind::Host);
    assert!(err.to_string().contains("refused"), "{err}");
}

#[test]
fn host_function_is_called_through_a_table() {
    let mut store = common::store();
    let triple = Func::wrap(&mut store, |x: i32| x * 3);
    let module = Module::new(
        store.engine(),
        wasm(
            r#"(module
             (type $unary (func (param i32) (result i32)))
             (import "env" "triple" (func $triple (type $unary)))
             (table 1 funcref)
             (elem (i32.const 0) $triple)
             (export "triple_again" (func $triple))
             (func (export "run") (param i32) (result i32)
               (call_indirect (type $unary) (local.get 0) (i32.const 0))))"#,
        ),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[triple.into()]).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 14).unwrap(), 42);
    assert_eq!(instance.get_func(&mut store, "triple_again"), Some(triple));
}

#[test]
fn caller_of_a_host_call_has_no_exports() {
    let mut store = common::store();
    let probe = Func::wrap(&mut store, |caller: Caller<'_, ()>| -> i32 {
        caller.get_export("memory").is_some().into()
    });
    let module = Module::new(
        store.engine(),
        wasm(
            r#"(module
             (import "env" "probe" (func $probe (result i32)))
             (memory (export "memory") 1)
             (func (export "run") (result i32) call $probe))"#,
        ),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[probe.into()]).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 1, "called from wasm");
    let probe = probe.typed::<(), i32>(&store).unwrap();
    assert_eq!(
        probe.call(&mut store, ()).unwrap(),
        0,
        "called from the host"
    );
}

#[test]
fn growth_by_a_host_function_is_seen_by_the_calling_wasm() {
    let mut store = common::store();
    let grow = Func::wrap(
        &mut store,
        |mut caller: Caller<'_, ()>| -> tierwasm::Result<()> {
            let memory = caller
                .get_export("memory")
                .and_then(Extern::into_memory)
                .ok_or_else(|| Error::host("no memory export"))?;
            let table = caller
                .get_export("table")
                .and_then(Extern::into_table)
                .ok_or_else(|| Error::host("no table export"))?;
            let answer = caller
                .get_export("answer")
                .ok_or_else(|| Error::host("no answer export"))?;
            memory.grow(&mut caller, 1)?;
            table.grow(&mut caller, 1, Val::FuncRef(answer.into_func()))?;
            Ok(())
        },
    );
    let module = Module::new(
        store.engine(),
        wasm(
            r#"(module
             (type $get (func (result i32)))
             (import "env" "grow" (func $grow))
             (memory (export "memory") 1)
             (table (export "table") 1 funcref)
             (func $answer (export "answer") (result i32) i32.const 42)
             (func (export "run") (result i32)
               call $grow
               ;; Both the new page and the new table slot are usable at once.
               (i32.store (i32.const 65536) (call_indirect (type $get) (i32.const 1)))
               (i32.add (i32.load (i32.const 65536))
                        (i32.add (memory.size) (table.size)))))"#,
        ),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[grow.into()]).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 42 + 2 + 2);
}
