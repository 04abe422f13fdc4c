//! Each phase of a module's life: compilation, linking, allocation,
//! initialisation (globals, element and data segments, start function) and
//! export lookup, with the error each phase reports.

mod common;

use common::{expect_err, instantiate, store, wasm};
use tierwasm::{
    Config, Engine, ErrorKind, Extern, Func, Global, GlobalType, Instance, Linker, Memory,
    MemoryType, Module, Mutability, Store, Table, TableType, TrapCode, Val, ValType,
};

// ---------------------------------------------------------------- compilation

#[test]
fn invalid_function_body_is_a_compile_error_with_offset() {
    let engine = Engine::default();
    let err = expect_err(
        Module::new(&engine, wasm("(module (func (result i32) i64.const 1))")),
        ErrorKind::Compile,
    );
    let offset = err.offset().expect("compile errors carry an offset");
    let message = err.to_string();
    assert!(message.contains("type mismatch"), "{message}");
    assert!(
        message.ends_with(&format!("(at offset {offset:#x})")),
        "{message}"
    );
}

#[test]
fn validate_agrees_with_new() {
    let engine = Engine::default();
    let invalid = wat::parse_str("(module (func (result i32) i64.const 1))").unwrap();
    let err = expect_err(Module::validate(&engine, &invalid), ErrorKind::Compile);
    assert!(err.offset().is_some());

    let valid = wat::parse_str("(module (func (result i32) i32.const 1))").unwrap();
    Module::validate(&engine, &valid).unwrap();
}

#[test]
fn malformed_binaries_are_compile_errors() {
    let engine = Engine::default();
    let cases: [(&str, &[u8]); 4] = [
        ("bad version", b"\0asm\x02\0\0\0"),
        ("truncated header", b"\0asm\x01\0"),
        ("truncated section", b"\0asm\x01\0\0\0\x01\x05\x01"),
        ("unknown section id", b"\0asm\x01\0\0\0\x7f\x00"),
    ];
    for (what, bytes) in cases {
        let err = expect_err(Module::new(&engine, bytes), ErrorKind::Compile);
        assert!(err.offset().is_some(), "{what}: no offset in {err}");
    }
}

#[test]
fn malformed_text_is_a_compile_error() {
    let engine = Engine::default();
    expect_err(Module::new(&engine, "(module (func"), ErrorKind::Compile);
    expect_err(
        Module::new(&engine, "(module (func i32.bogus))"),
        ErrorKind::Compile,
    );
}

/// With the `wat` feature, `Module::new` takes text as well as binary.
#[cfg(feature = "wat")]
#[test]
fn module_new_accepts_text_directly() {
    let mut store = store();
    let module = Module::new(
        store.engine(),
        r#"(module (func (export "seven") (result i32) i32.const 7))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let seven = instance
        .get_typed_func::<(), i32>(&mut store, "seven")
        .unwrap();
    assert_eq!(seven.call(&mut store, ()).unwrap(), 7);
}

/// Without the `wat` feature, text is not a module (its binary form is).
#[cfg(not(feature = "wat"))]
#[test]
fn module_new_rejects_text_without_the_wat_feature() {
    let engine = Engine::default();
    let text = r#"(module (func (export "seven") (result i32) i32.const 7))"#;
    expect_err(Module::new(&engine, text), ErrorKind::Compile);
    Module::new(&engine, wasm(text)).unwrap();
}

// -------------------------------------------------------------------- linking

#[test]
fn missing_import_is_a_link_error() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wasm(r#"(module (import "env" "log" (func (param i32))))"#),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let err = expect_err(linker.instantiate(&mut store, &module), ErrorKind::Link);
    assert_eq!(
        err.to_string(),
        "unknown import: env::log has not been defined"
    );
}

#[test]
fn too_small_memory_is_a_link_error() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wasm(r#"(module (import "env" "memory" (memory 2)))"#),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();

    let mut linker = Linker::new(&engine);
    linker.define(&store, "env", "memory", memory).unwrap();
    let err = expect_err(linker.instantiate(&mut store, &module), ErrorKind::Link);
    assert_eq!(
        err.to_string(),
        "incompatible import type for env::memory: \
         expected memory of at least 2 pages, found 1 page"
    );

    // Positional imports are checked the same way.
    let err = expect_err(
        Instance::new(&mut store, &module, &[memory.into()]),
        ErrorKind::Link,
    );
    assert!(
        err.to_string()
            .starts_with("incompatible import type for env::memory"),
        "{err}"
    );
}

#[test]
fn memory_maximum_must_fit_the_import() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wasm(r#"(module (import "env" "memory" (memory 1 2)))"#),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());

    let unbounded = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    expect_err(
        Instance::new(&mut store, &module, &[unbounded.into()]),
        ErrorKind::Link,
    );
    let too_large = Memory::new(&mut store, MemoryType::new(1, Some(3))).unwrap();
    expect_err(
        Instance::new(&mut store, &module, &[too_large.into()]),
        ErrorKind::Link,
    );
    let fitting = Memory::new(&mut store, MemoryType::new(2, Some(2))).unwrap();
    Instance::new(&mut store, &module, &[fitting.into()]).unwrap();
}

#[test]
fn wrong_function_type_is_a_link_error() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wasm(r#"(module (import "env" "f" (func (param i32) (result i32))))"#),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let func = Func::wrap(&mut store, |_: i64| {});
    let err = expect_err(
        Instance::new(&mut store, &module, &[func.into()]),
        ErrorKind::Link,
    );
    assert_eq!(
        err.to_string(),
        "incompatible import type for env::f: \
         expected func of type (i32) -> (i32), found func of type (i64) -> ()"
    );
}

#[test]
fn wrong_global_mutability_or_type_is_a_link_error() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wasm(r#"(module (import "env" "g" (global (mut i32))))"#),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());

    let immutable = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Const),
        Val::I32(0),
    )
    .unwrap();
    let err = expect_err(
        Instance::new(&mut store, &module, &[immutable.into()]),
        ErrorKind::Link,
    );
    assert_eq!(
        err.to_string(),
        "incompatible import type for env::g: expected global (mut i32), found global i32"
    );

    let wrong_type = Global::new(
        &mut store,
        GlobalType::new(ValType::I64, Mutability::Var),
        Val::I64(0),
    )
    .unwrap();
    let err = expect_err(
        Instance::new(&mut store, &module, &[wrong_type.into()]),
        ErrorKind::Link,
    );
    assert_eq!(
        err.to_string(),
        "incompatible import type for env::g: expected global (mut i32), found global (mut i64)"
    );

    let matching = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Var),
        Val::I32(0),
    )
    .unwrap();
    Instance::new(&mut store, &module, &[matching.into()]).unwrap();
}

#[test]
fn table_limits_and_element_type_are_checked_at_link_time() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wasm(r#"(module (import "env" "table" (table 2 10 funcref)))"#),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut table = |element: ValType, min: u32, max: Option<u32>| {
        let init = match element {
            ValType::FuncRef => Val::null_func_ref(),
            _ => Val::null_extern_ref(),
        };
        Table::new(&mut store, TableType::new(element, min, max), init).unwrap()
    };
    let too_small = table(ValType::FuncRef, 1, Some(10));
    let unbounded = table(ValType::FuncRef, 2, None);
    let too_large = table(ValType::FuncRef, 2, Some(11));
    let wrong_element = table(ValType::ExternRef, 2, Some(10));
    let fitting = table(ValType::FuncRef, 3, Some(5));

    for bad in [too_small, unbounded, too_large, wrong_element] {
        let err = expect_err(
            Instance::new(&mut store, &module, &[bad.into()]),
            ErrorKind::Link,
        );
        assert!(
            err.to_string()
                .starts_with("incompatible import type for env::table: expected table"),
            "{err}"
        );
    }
    Instance::new(&mut store, &module, &[fitting.into()]).unwrap();
}

#[test]
fn import_of_the_wrong_kind_is_a_link_error() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wasm(r#"(module (import "env" "memory" (memory 1)))"#),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let func = Func::wrap(&mut store, || {});
    let err = expect_err(
        Instance::new(&mut store, &module, &[func.into()]),
        ErrorKind::Link,
    );
    assert!(
        err.to_string()
            .starts_with("incompatible import type for env::memory"),
        "{err}"
    );
}

#[test]
fn linker_links_one_instance_to_another() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let provider = Module::new(
        &engine,
        wasm(
            r#"(module
             (memory (export "memory") 1)
             (global (export "base") i32 (i32.const 100))
             (func (export "double") (param i32) (result i32)
               local.get 0 i32.const 2 i32.mul))"#,
        ),
    )
    .unwrap();
    let consumer = Module::new(
        &engine,
        wasm(
            r#"(module
             (import "provider" "double" (func $double (param i32) (result i32)))
             (import "provider" "memory" (memory 1))
             (import "provider" "base" (global $base i32))
             (func (export "run") (result i32)
               global.get $base
               i32.const 21 call $double
               i32.store
               global.get $base
               i32.load))"#,
        ),
    )
    .unwrap();

    let mut linker = Linker::new(&engine);
    let provider_instance = linker.instantiate(&mut store, &provider).unwrap();
    linker
        .instance(&mut store, "provider", provider_instance)
        .unwrap();
    assert!(linker.get(&mut store, "provider", "double").is_some());
    assert!(linker.get(&mut store, "provider", "missing").is_none());

    let instance = linker.instantiate(&mut store, &consumer).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 42);

    let memory = provider_instance.get_memory(&mut store, "memory").unwrap();
    assert_eq!(memory.data(&store)[100..104], 42i32.to_le_bytes());
}

// ----------------------------------------------------------------- allocation

#[test]
fn memory_beyond_the_configured_limit_is_refused() {
    let mut config = Config::new();
    config.max_memory_pages(4);
    let engine = Engine::new(&config);
    let mut store = Store::new(&engine, ());

    let module = Module::new(&engine, wasm("(module (memory 5))")).unwrap();
    expect_err(Instance::new(&mut store, &module, &[]), ErrorKind::Limit);
    expect_err(
        Memory::new(&mut store, MemoryType::new(5, None)),
        ErrorKind::Limit,
    );

    // At the limit is fine, and growing past it fails like any refused growth.
    let instance = instantiate(
        &mut store,
        r#"(module
             (memory 4)
             (func (export "grow") (param i32) (result i32)
               local.get 0 memory.grow))"#,
    );
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    assert_eq!(grow.call(&mut store, 0).unwrap(), 4);
}

#[test]
fn table_beyond_the_configured_limit_is_refused() {
    let mut config = Config::new();
    config.max_table_elements(100);
    let engine = Engine::new(&config);
    let mut store = Store::new(&engine, ());

    let module = Module::new(&engine, wasm("(module (table 101 funcref))")).unwrap();
    expect_err(Instance::new(&mut store, &module, &[]), ErrorKind::Limit);
    expect_err(
        Table::new(
            &mut store,
            TableType::new(ValType::FuncRef, 101, None),
            Val::null_func_ref(),
        ),
        ErrorKind::Limit,
    );

    let instance = instantiate(
        &mut store,
        r#"(module
             (table 100 funcref)
             (func (export "grow") (param i32) (result i32)
               (table.grow (ref.null func) (local.get 0))))"#,
    );
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    assert_eq!(grow.call(&mut store, 0).unwrap(), 100);
}

// ------------------------------------------------------------- initialisation

#[test]
fn globals_are_initialised_including_from_imported_globals() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
             (import "env" "base" (global $base i64))
             (global (export "copy") i64 (global.get $base))
             (global (export "counter") (mut i32) (i32.const -7))
             (global (export "f32") f32 (f32.const 1.5))
             (global (export "f64") f64 (f64.const -2.25))
             (global (export "fref") funcref (ref.func $answer))
             (global (export "eref") externref (ref.null extern))
             (func $answer (result i32) i32.const 42))"#,
        ),
    )
    .unwrap();
    let base = Global::new(
        &mut store,
        GlobalType::new(ValType::I64, Mutability::Const),
        Val::I64(1 << 40),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[base.into()]).unwrap();
    let mut get = |name: &str| {
        instance
            .get_global(&mut store, name)
            .unwrap_or_else(|| panic!("no global {name}"))
            .get(&mut store)
    };

    assert_eq!(get("copy").i64(), Some(1 << 40));
    assert_eq!(get("counter").i32(), Some(-7));
    assert_eq!(get("f32").f32(), Some(1.5));
    assert_eq!(get("f64").f64(), Some(-2.25));
    assert!(matches!(get("eref"), Val::ExternRef(None)));
    let Val::FuncRef(Some(answer)) = get("fref") else {
        panic!("fref is not a non-null funcref");
    };
    let answer = answer.typed::<(), i32>(&store).unwrap();
    assert_eq!(answer.call(&mut store, ()).unwrap(), 42);
}

#[test]
fn start_function_runs_after_element_and_data_segments() {
    // The start function reads the data segment and calls through the table
    // that the element segment filled: both must already be initialised.
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
             (type $get (func (result i32)))
             (memory 1)
             (table 1 funcref)
             (global $seen (export "seen") (mut i32) (i32.const 0))
             (elem (i32.const 0) $seven)
             (data (i32.const 8) "\05\00\00\00")
             (func $seven (result i32) i32.const 7)
             (func $start
               (global.set $seen
                 (i32.add
                   (i32.load (i32.const 8))
                   (call_indirect (type $get) (i32.const 0)))))
             (start $start))"#,
    );
    let seen = instance.get_global(&mut store, "seen").unwrap();
    assert_eq!(seen.get(&mut store).i32(), Some(12));
}

#[test]
fn trapping_start_function_fails_instantiation_after_its_side_effects() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
             (import "env" "memory" (memory 1))
             (func $start
               (i32.store8 (i32.const 3) (i32.const 0x2a))
               unreachable)
             (start $start))"#,
        ),
    )
    .unwrap();
    let err = expect_err(
        Instance::new(&mut store, &module, &[memory.into()]),
        ErrorKind::Trap,
    );
    assert_eq!(err.trap_code(), Some(TrapCode::Unreachable));
    assert_eq!(err.to_string(), "wasm trap: unreachable");
    assert_eq!(memory.data(&store)[3], 0x2a);
}

// -------------------------------------------------------------------- exports

const EXPORTS: &str = r#"(module $exports
  (memory (export "mem") 1 2)
  (table (export "tab") 3 funcref)
  (global (export "glob") (mut i64) (i64.const 9))
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add))"#;

#[test]
fn exports_are_found_by_name_and_kind() {
    let mut store = store();
    let instance = instantiate(&mut store, EXPORTS);

    let add = instance.get_func(&mut store, "add").unwrap();
    let mut results = [Val::I32(0)];
    add.call(&mut store, &[Val::I32(2), Val::I32(3)], &mut results)
        .unwrap();
    assert_eq!(results[0].i32(), Some(5));

    let memory = instance.get_memory(&mut store, "mem").unwrap();
    assert_eq!(memory.size(&store), 1);
    let table = instance.get_table(&mut store, "tab").unwrap();
    assert_eq!(table.size(&store), 3);
    let global = instance.get_global(&mut store, "glob").unwrap();
    assert_eq!(global.get(&mut store).i64(), Some(9));

    // Looking an export up as the wrong kind, or a missing one, finds nothing.
    assert!(instance.get_func(&mut store, "mem").is_none());
    assert!(instance.get_memory(&mut store, "add").is_none());
    assert!(instance.get_table(&mut store, "glob").is_none());
    assert!(instance.get_global(&mut store, "tab").is_none());
    assert!(instance.get_export(&mut store, "missing").is_none());
}

#[test]
fn typed_func_with_the_wrong_signature_is_an_error() {
    let mut store = store();
    let instance = instantiate(&mut store, EXPORTS);
    assert!(
        instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "add")
            .is_ok()
    );
    assert!(
        instance
            .get_typed_func::<(i32, i64), i32>(&mut store, "add")
            .is_err()
    );
    assert!(
        instance
            .get_typed_func::<i32, i32>(&mut store, "add")
            .is_err()
    );
    assert!(
        instance
            .get_typed_func::<(i32, i32), ()>(&mut store, "add")
            .is_err()
    );
    assert!(
        instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "mem")
            .is_err()
    );
    assert!(
        instance
            .get_typed_func::<(), ()>(&mut store, "missing")
            .is_err()
    );
}

#[test]
fn exports_are_listed_in_order() {
    let mut store = store();
    let instance = instantiate(&mut store, EXPORTS);
    let exports = instance.exports(&mut store);
    let names: Vec<&str> = exports.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["mem", "tab", "glob", "add"]);
    assert!(matches!(exports[0].1, Extern::Memory(_)));
    assert!(matches!(exports[1].1, Extern::Table(_)));
    assert!(matches!(exports[2].1, Extern::Global(_)));
    assert!(matches!(exports[3].1, Extern::Func(_)));
}
