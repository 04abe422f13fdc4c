//! Instantiation phase by phase: `Instance::link` (kind `Link`),
//! `InstancePre::allocate` (kind `Limit`), `AllocatedInstance::initialize`
//! (kind `Trap` for segments that don't fit) and `InitializedInstance::start`,
//! plus `Linker::resolve` and `Linker::link`. Each phase does its own job and
//! nothing of the next one; a phase handle only works with its own store.
//! Also the engine's translation counters: functions are translated on their
//! first call, once per module, never at instantiation.

mod common;

use std::time::Duration;

use common::{expect_err, wasm};
use tierwasm::{
    Caller, Config, Engine, EngineStats, ErrorKind, Extern, Func, Global, GlobalType, Instance,
    Linker, Memory, MemoryType, Module, Mutability, Store, Table, TableType, TrapCode, Val,
    ValType,
};

/// Imports a memory, a table, a mutable global and a counting host function
/// and re-exports them; one data segment, one element segment and a start
/// function that sets the global and calls the host function.
const PHASED: &str = r#"(module
  (import "env" "tick" (func $tick))
  (import "env" "memory" (memory 1))
  (import "env" "table" (table 2 funcref))
  (import "env" "started" (global $started (mut i32)))
  (export "memory" (memory 0))
  (export "table" (table 0))
  (export "started" (global $started))
  (data (i32.const 8) "hello")
  (elem (i32.const 1) $seven)
  (func $seven (export "seven") (result i32) i32.const 7)
  (func $start
    (global.set $started (i32.add (global.get $started) (i32.const 1)))
    call $tick)
  (start $start))"#;

/// The imports of [`PHASED`], in `Store<u32>` whose data counts the calls of
/// the host function.
struct Imports {
    memory: Memory,
    table: Table,
    started: Global,
    list: Vec<Extern>,
}

fn imports(store: &mut Store<u32>) -> Imports {
    let tick = Func::wrap(&mut *store, |mut caller: Caller<'_, u32>| {
        *caller.data_mut() += 1;
    });
    let memory = Memory::new(&mut *store, MemoryType::new(1, None)).unwrap();
    let table = Table::new(
        &mut *store,
        TableType::new(ValType::FuncRef, 2, None),
        Val::null_func_ref(),
    )
    .unwrap();
    let started = Global::new(
        &mut *store,
        GlobalType::new(ValType::I32, Mutability::Var),
        Val::I32(0),
    )
    .unwrap();
    Imports {
        memory,
        table,
        started,
        list: vec![tick.into(), memory.into(), table.into(), started.into()],
    }
}

fn is_null(table: Table, store: &Store<u32>, index: u32) -> bool {
    match table.get(store, index) {
        Some(Val::FuncRef(func)) => func.is_none(),
        other => panic!("table[{index}] is not a funcref: {other:?}"),
    }
}

// ------------------------------------------------------------ phase by phase

#[test]
fn each_phase_does_its_own_job_and_nothing_of_the_next() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm(PHASED)).unwrap();
    let mut store = Store::new(&engine, 0u32);
    let imports = imports(&mut store);
    let started = |store: &Store<u32>| imports.started.get(store).i32();

    // Link: checks only.
    let pre = Instance::link(&store, &module, &imports.list).unwrap();
    assert_eq!(pre.module().imports().len(), 4);
    assert!(imports.memory.data(&store).iter().all(|&b| b == 0));
    assert!(is_null(imports.table, &store, 1));
    assert_eq!((*store.data(), started(&store)), (0, Some(0)));

    // Allocate: the segments are not copied yet, the start function has not run.
    let allocated = pre.allocate(&mut store).unwrap();
    assert!(
        imports.memory.data(&store).iter().all(|&b| b == 0),
        "allocate copied a data segment"
    );
    assert!(
        is_null(imports.table, &store, 1),
        "allocate copied an element"
    );
    assert_eq!((*store.data(), started(&store)), (0, Some(0)));

    // Initialize: the segments are copied, the start function has not run.
    let initialized = allocated.initialize(&mut store).unwrap();
    assert_eq!(&imports.memory.data(&store)[8..13], b"hello");
    assert_eq!(imports.memory.data(&store)[7], 0);
    assert_eq!(imports.memory.data(&store)[13], 0);
    assert!(is_null(imports.table, &store, 0));
    let Some(Val::FuncRef(Some(seven))) = imports.table.get(&store, 1) else {
        panic!("initialize did not copy the element segment");
    };
    let seven = seven.typed::<(), i32>(&store).unwrap();
    assert_eq!(seven.call(&mut store, ()).unwrap(), 7);
    assert_eq!(
        (*store.data(), started(&store)),
        (0, Some(0)),
        "the start function ran before the start phase"
    );

    // Start: runs the start function once and hands out the instance.
    let instance = initialized.start(&mut store).unwrap();
    assert_eq!((*store.data(), started(&store)), (1, Some(1)));
    assert_eq!(
        instance.get_memory(&mut store, "memory"),
        Some(imports.memory)
    );
    assert_eq!(instance.get_table(&mut store, "table"), Some(imports.table));
    assert_eq!(
        instance.get_global(&mut store, "started"),
        Some(imports.started)
    );
    let seven = instance
        .get_typed_func::<(), i32>(&mut store, "seven")
        .unwrap();
    assert_eq!(seven.call(&mut store, ()).unwrap(), 7);
    assert_eq!((*store.data(), started(&store)), (1, Some(1)));
}

#[test]
fn the_phases_together_equal_instance_new() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm(PHASED)).unwrap();

    let mut phased = Store::new(&engine, 0u32);
    let a = imports(&mut phased);
    Instance::link(&phased, &module, &a.list)
        .unwrap()
        .allocate(&mut phased)
        .unwrap()
        .initialize(&mut phased)
        .unwrap()
        .start(&mut phased)
        .unwrap();

    let mut direct = Store::new(&engine, 0u32);
    let b = imports(&mut direct);
    Instance::new(&mut direct, &module, &b.list).unwrap();

    assert_eq!(a.memory.data(&phased), b.memory.data(&direct));
    assert_eq!(*phased.data(), *direct.data());
    assert_eq!(a.started.get(&phased).i32(), b.started.get(&direct).i32());
    assert!(!is_null(a.table, &phased, 1));
    assert!(!is_null(b.table, &direct, 1));
}

#[test]
fn module_without_start_function_starts_without_running_anything() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wasm(r#"(module (func (export "one") (result i32) i32.const 1))"#),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::link(&store, &module, &[])
        .unwrap()
        .allocate(&mut store)
        .unwrap()
        .initialize(&mut store)
        .unwrap()
        .start(&mut store)
        .unwrap();
    assert_eq!(engine.stats().functions_translated, 0);
    let one = instance
        .get_typed_func::<(), i32>(&mut store, "one")
        .unwrap();
    assert_eq!(one.call(&mut store, ()).unwrap(), 1);
}

#[test]
fn instantiations_of_one_store_may_interleave_their_phases() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm(PHASED)).unwrap();
    let mut store = Store::new(&engine, 0u32);
    let first = imports(&mut store);
    let second = imports(&mut store);

    let first_pre = Instance::link(&store, &module, &first.list).unwrap();
    let second_pre = Instance::link(&store, &module, &second.list).unwrap();
    let second_allocated = second_pre.allocate(&mut store).unwrap();
    let first_allocated = first_pre.allocate(&mut store).unwrap();
    let first_initialized = first_allocated.initialize(&mut store).unwrap();
    assert_eq!(&first.memory.data(&store)[8..13], b"hello");
    assert!(second.memory.data(&store).iter().all(|&b| b == 0));
    let second_initialized = second_allocated.initialize(&mut store).unwrap();
    let second_instance = second_initialized.start(&mut store).unwrap();
    assert_eq!(second.started.get(&store).i32(), Some(1));
    assert_eq!(first.started.get(&store).i32(), Some(0));
    let first_instance = first_initialized.start(&mut store).unwrap();
    assert_eq!(first.started.get(&store).i32(), Some(1));
    assert_eq!(*store.data(), 2);

    assert_ne!(first_instance, second_instance);
    assert_eq!(
        first_instance.get_memory(&mut store, "memory"),
        Some(first.memory)
    );
    assert_eq!(
        second_instance.get_memory(&mut store, "memory"),
        Some(second.memory)
    );
}

// ----------------------------------------------------------------- link

#[test]
fn link_fails_with_kind_link_and_checks_nothing_of_later_phases() {
    let mut config = Config::new();
    config.max_memory_pages(4);
    let engine = Engine::new(&config);
    let mut store = Store::new(&engine, 0u32);
    let imports = imports(&mut store);
    let module = Module::new(&engine, wasm(PHASED)).unwrap();

    // Too few, too many and mistyped imports.
    let err = expect_err(
        Instance::link(&store, &module, &imports.list[..3]),
        ErrorKind::Link,
    );
    assert_eq!(
        err.to_string(),
        "unknown import: env::started has not been defined"
    );
    let mut too_many = imports.list.clone();
    too_many.push(imports.memory.into());
    expect_err(Instance::link(&store, &module, &too_many), ErrorKind::Link);
    let mut swapped = imports.list.clone();
    swapped.swap(1, 2);
    let err = expect_err(Instance::link(&store, &module, &swapped), ErrorKind::Link);
    assert!(
        err.to_string()
            .starts_with("incompatible import type for env::memory"),
        "{err}"
    );

    // A memory beyond the configured limit is the business of `allocate`.
    let big = Module::new(&engine, wasm("(module (memory 5))")).unwrap();
    let pre = Instance::link(&store, &big, &[]).unwrap();
    expect_err(pre.allocate(&mut store), ErrorKind::Limit);

    // Nothing ran and nothing was written by the failed links.
    assert_eq!(*store.data(), 0);
    assert!(imports.memory.data(&store).iter().all(|&b| b == 0));
    assert_eq!(imports.started.get(&store).i32(), Some(0));
}

#[test]
fn link_refuses_foreign_imports_and_modules_of_another_engine() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm(PHASED)).unwrap();
    let mut store = Store::new(&engine, 0u32);
    let mut other = Store::new(&engine, 0u32);
    let ours = imports(&mut store);
    let theirs = imports(&mut other);

    let mut mixed = ours.list.clone();
    mixed[1] = theirs.list[1];
    expect_err(Instance::link(&store, &module, &mixed), ErrorKind::Usage);
    expect_err(
        Instance::link(&store, &module, &theirs.list),
        ErrorKind::Usage,
    );

    let other_engine = Engine::default();
    let foreign = Module::new(&other_engine, wasm(PHASED)).unwrap();
    expect_err(
        Instance::link(&store, &foreign, &ours.list),
        ErrorKind::Usage,
    );

    let pre = Instance::link(&store, &module, &ours.list).unwrap();
    assert_eq!(pre.module().imports().len(), 4);
}

// ------------------------------------------------------------- allocate

#[test]
fn allocate_fails_with_kind_limit() {
    let mut config = Config::new();
    config.max_memory_pages(4).max_table_elements(100);
    let engine = Engine::new(&config);
    let mut store = Store::new(&engine, ());

    for text in [
        "(module (memory 5))",
        "(module (memory 4) (table 101 funcref))",
    ] {
        let module = Module::new(&engine, wasm(text)).unwrap();
        let pre = Instance::link(&store, &module, &[]).unwrap();
        expect_err(pre.allocate(&mut store), ErrorKind::Limit);
    }

    // At the limits, allocation succeeds.
    let module = Module::new(&engine, wasm("(module (memory 4) (table 100 funcref))")).unwrap();
    Instance::link(&store, &module, &[])
        .unwrap()
        .allocate(&mut store)
        .unwrap()
        .initialize(&mut store)
        .unwrap()
        .start(&mut store)
        .unwrap();
}

#[test]
fn allocate_evaluates_global_initialisers_without_running_code() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let base = Global::new(
        &mut store,
        GlobalType::new(ValType::I64, Mutability::Const),
        Val::I64(40),
    )
    .unwrap();
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
                 (import "env" "base" (global $base i64))
                 (global (export "copy") i64 (global.get $base))
                 (global (export "fref") funcref (ref.func $f))
                 (func $f (result i64) global.get $base))"#,
        ),
    )
    .unwrap();
    let allocated = Instance::link(&store, &module, &[base.into()])
        .unwrap()
        .allocate(&mut store)
        .unwrap();
    assert_eq!(engine.stats().functions_translated, 0);
    let instance = allocated
        .initialize(&mut store)
        .unwrap()
        .start(&mut store)
        .unwrap();
    assert_eq!(engine.stats().functions_translated, 0);
    let copy = instance.get_global(&mut store, "copy").unwrap();
    assert_eq!(copy.get(&store).i64(), Some(40));
    let Val::FuncRef(Some(f)) = instance.get_global(&mut store, "fref").unwrap().get(&store) else {
        panic!("fref is not a non-null funcref");
    };
    let f = f.typed::<(), i64>(&store).unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 40);
    assert_eq!(engine.stats().functions_translated, 1);
}

// ----------------------------------------------------------- initialize

#[test]
fn initialize_fails_with_kind_trap_for_segments_that_do_not_fit() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, 0u32);
    let tick = Func::wrap(&mut store, |mut caller: Caller<'_, u32>| {
        *caller.data_mut() += 1;
    });
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let table = Table::new(
        &mut store,
        TableType::new(ValType::FuncRef, 2, None),
        Val::null_func_ref(),
    )
    .unwrap();

    let cases = [
        (
            r#"(data (i32.const 0) "ok") (data (i32.const 65535) "no")"#,
            TrapCode::MemoryOutOfBounds,
        ),
        (
            r#"(elem (i32.const 0) $f $f $f)"#,
            TrapCode::TableOutOfBounds,
        ),
    ];
    for (segments, code) in cases {
        let text = format!(
            r#"(module
                 (import "env" "tick" (func $tick))
                 (import "env" "memory" (memory 1))
                 (import "env" "table" (table 2 funcref))
                 {segments}
                 (func $f)
                 (start $tick))"#
        );
        let module = Module::new(&engine, wasm(&text)).unwrap();
        let allocated =
            Instance::link(&store, &module, &[tick.into(), memory.into(), table.into()])
                .unwrap()
                .allocate(&mut store)
                .unwrap();
        let err = expect_err(allocated.initialize(&mut store), ErrorKind::Trap);
        assert_eq!(err.trap_code(), Some(code), "{segments}");
    }
    // The segment before the failing one was written; nothing started.
    assert_eq!(&memory.data(&store)[0..2], b"ok");
    assert_eq!(memory.data(&store)[65535], 0);
    assert!(is_null(table, &store, 0) && is_null(table, &store, 1));
    assert_eq!(*store.data(), 0);
}

#[test]
fn initialize_checks_segments_against_the_memory_and_table_as_they_are_then() {
    // Imports that grow between `allocate` and `initialize` take the
    // segments that did not fit at link time.
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let table = Table::new(
        &mut store,
        TableType::new(ValType::FuncRef, 1, None),
        Val::null_func_ref(),
    )
    .unwrap();
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
                 (import "env" "memory" (memory 1))
                 (import "env" "table" (table 1 funcref))
                 (elem (i32.const 1) $f)
                 (data (i32.const 65536) "x")
                 (func $f))"#,
        ),
    )
    .unwrap();
    let imports = [memory.into(), table.into()];
    let allocated = Instance::link(&store, &module, &imports)
        .unwrap()
        .allocate(&mut store)
        .unwrap();
    assert_eq!(memory.grow(&mut store, 1).unwrap(), 1);
    assert_eq!(table.grow(&mut store, 1, Val::null_func_ref()).unwrap(), 1);
    let initialized = allocated.initialize(&mut store).unwrap();
    assert_eq!(memory.data(&store)[65536], b'x');
    let Some(Val::FuncRef(Some(_))) = table.get(&store, 1) else {
        panic!("the element segment was not copied");
    };
    initialized.start(&mut store).unwrap();
}

// ---------------------------------------------------------------- start

#[test]
fn start_fails_with_the_trap_of_the_start_function_after_initialize_succeeded() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
                 (import "env" "memory" (memory 1))
                 (data (i32.const 0) "seg")
                 (func $start
                   (i32.store8 (i32.const 3) (i32.const 0x21))
                   unreachable)
                 (start $start))"#,
        ),
    )
    .unwrap();
    let initialized = Instance::link(&store, &module, &[memory.into()])
        .unwrap()
        .allocate(&mut store)
        .unwrap()
        .initialize(&mut store)
        .unwrap();
    assert_eq!(&memory.data(&store)[0..4], b"seg\0");
    let err = expect_err(initialized.start(&mut store), ErrorKind::Trap);
    assert_eq!(err.trap_code(), Some(TrapCode::Unreachable));
    assert_eq!(&memory.data(&store)[0..4], b"seg!");
}

// ------------------------------------------------------- foreign stores

#[test]
fn phase_handles_are_refused_by_other_stores() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm(PHASED)).unwrap();
    let mut store = Store::new(&engine, 0u32);
    let mut other = Store::new(&engine, 0u32);
    let ours = imports(&mut store);
    let theirs = imports(&mut other);

    let pre = Instance::link(&store, &module, &ours.list).unwrap();
    let err = expect_err(pre.allocate(&mut other), ErrorKind::Usage);
    assert!(err.to_string().contains("another store"), "{err}");

    let allocated = Instance::link(&store, &module, &ours.list)
        .unwrap()
        .allocate(&mut store)
        .unwrap();
    expect_err(allocated.initialize(&mut other), ErrorKind::Usage);
    assert!(ours.memory.data(&store).iter().all(|&b| b == 0));

    let initialized = Instance::link(&store, &module, &ours.list)
        .unwrap()
        .allocate(&mut store)
        .unwrap()
        .initialize(&mut store)
        .unwrap();
    expect_err(initialized.start(&mut other), ErrorKind::Usage);

    // Nothing ran in either store, and the other store's items are untouched.
    assert_eq!((*store.data(), *other.data()), (0, 0));
    assert_eq!(ours.started.get(&store).i32(), Some(0));
    assert_eq!(theirs.started.get(&other).i32(), Some(0));
    assert!(theirs.memory.data(&other).iter().all(|&b| b == 0));
    assert!(is_null(theirs.table, &other, 1));

    // Handles of a store of another engine are refused too.
    let other_engine = Engine::default();
    let mut distant = Store::new(&other_engine, 0u32);
    let pre = Instance::link(&store, &module, &ours.list).unwrap();
    expect_err(pre.allocate(&mut distant), ErrorKind::Usage);

    // The phases still work in their own store.
    Instance::link(&store, &module, &ours.list)
        .unwrap()
        .allocate(&mut store)
        .unwrap()
        .initialize(&mut store)
        .unwrap()
        .start(&mut store)
        .unwrap();
    assert_eq!(*store.data(), 1);
}

// --------------------------------------------------------------- linker

#[test]
fn linker_resolve_gives_the_imports_in_declaration_order() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm(PHASED)).unwrap();
    let mut store = Store::new(&engine, 0u32);
    let imports = imports(&mut store);

    let mut linker = Linker::new(&engine);
    // Defined in another order than the module declares them.
    linker
        .define(&store, "env", "started", imports.started)
        .unwrap();
    linker
        .define(&store, "env", "table", imports.table)
        .unwrap();
    linker
        .define(&store, "env", "memory", imports.memory)
        .unwrap();
    linker
        .func_wrap("env", "tick", |mut caller: Caller<'_, u32>| {
            *caller.data_mut() += 10;
        })
        .unwrap();

    let resolved = linker.resolve(&mut store, &module).unwrap();
    assert_eq!(resolved.len(), 4);
    assert!(matches!(resolved[0], Extern::Func(_)));
    assert_eq!(resolved[1], Extern::Memory(imports.memory));
    assert_eq!(resolved[2], Extern::Table(imports.table));
    assert_eq!(resolved[3], Extern::Global(imports.started));
    // Resolving runs nothing.
    assert_eq!(*store.data(), 0);

    let instance = Instance::new(&mut store, &module, &resolved).unwrap();
    assert_eq!(*store.data(), 10);
    assert_eq!(
        instance.get_memory(&mut store, "memory"),
        Some(imports.memory)
    );
}

#[test]
fn linker_link_is_the_link_phase_by_name() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm(PHASED)).unwrap();
    let mut store = Store::new(&engine, 0u32);
    let imports = imports(&mut store);

    let mut linker = Linker::new(&engine);
    linker
        .define(&store, "env", "memory", imports.memory)
        .unwrap();
    linker
        .define(&store, "env", "table", imports.table)
        .unwrap();
    linker
        .func_wrap("env", "tick", |mut caller: Caller<'_, u32>| {
            *caller.data_mut() += 1;
        })
        .unwrap();

    // A missing name fails both resolve and link, with kind Link.
    let err = expect_err(linker.resolve(&mut store, &module), ErrorKind::Link);
    assert_eq!(
        err.to_string(),
        "unknown import: env::started has not been defined"
    );
    let err = expect_err(linker.link(&mut store, &module), ErrorKind::Link);
    assert_eq!(
        err.to_string(),
        "unknown import: env::started has not been defined"
    );

    // A definition of the wrong type fails link (resolve only finds names).
    let immutable = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Const),
        Val::I32(0),
    )
    .unwrap();
    linker.define(&store, "env", "started", immutable).unwrap();
    assert_eq!(linker.resolve(&mut store, &module).unwrap().len(), 4);
    let err = expect_err(linker.link(&mut store, &module), ErrorKind::Link);
    assert!(
        err.to_string()
            .starts_with("incompatible import type for env::started"),
        "{err}"
    );

    // With everything defined, link hands back the first phase only.
    linker
        .define(&store, "env", "started", imports.started)
        .unwrap();
    let pre = linker.link(&mut store, &module).unwrap();
    assert!(imports.memory.data(&store).iter().all(|&b| b == 0));
    let initialized = pre
        .allocate(&mut store)
        .unwrap()
        .initialize(&mut store)
        .unwrap();
    assert_eq!(&imports.memory.data(&store)[8..13], b"hello");
    assert_eq!(*store.data(), 0);
    initialized.start(&mut store).unwrap();
    assert_eq!(*store.data(), 1);
    assert_eq!(imports.started.get(&store).i32(), Some(1));
}

#[test]
fn linker_link_refuses_a_store_of_another_engine() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm("(module)")).unwrap();
    let linker = Linker::<()>::new(&engine);
    let mut store = Store::new(&Engine::default(), ());
    expect_err(linker.link(&mut store, &module), ErrorKind::Usage);
}

// ---------------------------------------------------------- engine stats

const COUNTED: &str = r#"(module
  (func $leaf (export "leaf") (result i32) i32.const 1)
  (func $caller (export "caller") (result i32) (i32.add (call $leaf) (call $leaf)))
  (func $recursive (export "recursive") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (call $recursive (i32.sub (local.get 0) (i32.const 1))))))
  (func $never (export "never"))
  (func $also_never)
  (type $get (func (result i32)))
  (table funcref (elem $target))
  (func $target (result i32) i32.const 3)
  (func (export "indirect") (result i32) (call_indirect (type $get) (i32.const 0)))
  (func (export "hot") (result i32) (local $i i32)
    (loop $again
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 100000))))
    (call $leaf)))"#;

fn call(store: &mut Store<()>, instance: Instance, name: &str) -> i32 {
    instance
        .get_typed_func::<(), i32>(&mut *store, name)
        .unwrap()
        .call(&mut *store, ())
        .unwrap()
}

#[test]
fn a_new_engine_has_translated_nothing() {
    let engine = Engine::default();
    assert_eq!(engine.stats(), EngineStats::default());
    assert_eq!(engine.stats().functions_translated, 0);
    assert_eq!(engine.stats().translation_time, Duration::ZERO);
}

#[test]
fn functions_are_translated_on_their_first_call_only() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm(COUNTED)).unwrap();
    assert_eq!(
        engine.stats(),
        EngineStats::default(),
        "compiling translated functions"
    );

    // Instantiation does no per-function work.
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(
        engine.stats(),
        EngineStats::default(),
        "instantiating translated functions"
    );

    assert_eq!(call(&mut store, instance, "leaf"), 1);
    let after_leaf = engine.stats();
    assert_eq!(after_leaf.functions_translated, 1);
    assert!(after_leaf.translation_time > Duration::ZERO);

    // A second call translates nothing, and takes no translation time.
    assert_eq!(call(&mut store, instance, "leaf"), 1);
    assert_eq!(engine.stats(), after_leaf);

    // A call translates the callees it reaches for the first time only.
    assert_eq!(call(&mut store, instance, "caller"), 2);
    assert_eq!(engine.stats().functions_translated, 2);
    assert!(engine.stats().translation_time >= after_leaf.translation_time);

    // A recursive function is translated once, however deep it goes.
    let recursive = instance
        .get_typed_func::<i32, i32>(&mut store, "recursive")
        .unwrap();
    assert_eq!(recursive.call(&mut store, 50).unwrap(), 0);
    assert_eq!(engine.stats().functions_translated, 3);

    // A call through a table translates its target on its first call.
    assert_eq!(call(&mut store, instance, "indirect"), 3);
    assert_eq!(engine.stats().functions_translated, 5);
    assert_eq!(call(&mut store, instance, "indirect"), 3);
    assert_eq!(engine.stats().functions_translated, 5);

    // However hot a function gets, it is translated for the interpreter once.
    for _ in 0..20 {
        assert_eq!(call(&mut store, instance, "hot"), 1);
        assert_eq!(recursive.call(&mut store, 50).unwrap(), 0);
    }
    assert_eq!(engine.stats().functions_translated, 6);

    // A second instance in the same store, and one in another store, share
    // the module's translations.
    let again = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(call(&mut store, again, "caller"), 2);
    assert_eq!(call(&mut store, again, "indirect"), 3);
    let mut other = Store::new(&engine, ());
    let elsewhere = Instance::new(&mut other, &module, &[]).unwrap();
    assert_eq!(call(&mut other, elsewhere, "caller"), 2);
    assert_eq!(call(&mut other, elsewhere, "leaf"), 1);
    assert_eq!(call(&mut other, elsewhere, "hot"), 1);
    assert_eq!(engine.stats().functions_translated, 6);

    // Functions never called are never translated; a call through the
    // untyped API counts like any other, a refused call not at all.
    let never = elsewhere.get_func(&mut other, "never").unwrap();
    expect_err(never.call(&mut store, &[], &mut []), ErrorKind::Usage);
    assert_eq!(engine.stats().functions_translated, 6);
    never.call(&mut other, &[], &mut []).unwrap();
    assert_eq!(engine.stats().functions_translated, 7);

    // Another module compiled from the same bytes has its own translations.
    let copy = Module::new(&engine, wasm(COUNTED)).unwrap();
    let copy_instance = Instance::new(&mut store, &copy, &[]).unwrap();
    assert_eq!(engine.stats().functions_translated, 7);
    assert_eq!(call(&mut store, copy_instance, "leaf"), 1);
    assert_eq!(engine.stats().functions_translated, 8);
}

#[test]
fn the_start_function_is_translated_in_the_start_phase() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
                 (global $g (export "g") (mut i32) (i32.const 0))
                 (func $helper (global.set $g (i32.const 5)))
                 (func $start call $helper)
                 (func $unused)
                 (start $start))"#,
        ),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let initialized = Instance::link(&store, &module, &[])
        .unwrap()
        .allocate(&mut store)
        .unwrap()
        .initialize(&mut store)
        .unwrap();
    assert_eq!(engine.stats().functions_translated, 0);
    let instance = initialized.start(&mut store).unwrap();
    assert_eq!(engine.stats().functions_translated, 2);
    assert_eq!(
        instance
            .get_global(&mut store, "g")
            .unwrap()
            .get(&store)
            .i32(),
        Some(5)
    );

    // Starting another instance translates nothing more.
    Instance::new(&mut store, &module, &[]).unwrap();
    let mut other = Store::new(&engine, ());
    Instance::new(&mut other, &module, &[]).unwrap();
    assert_eq!(engine.stats().functions_translated, 2);
}

#[test]
fn engines_count_their_own_translations() {
    let first = Engine::default();
    let second = Engine::default();
    let module = Module::new(&first, wasm(COUNTED)).unwrap();
    let mut store = Store::new(&first, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(call(&mut store, instance, "caller"), 2);
    assert_eq!(first.stats().functions_translated, 2);
    assert_eq!(second.stats(), EngineStats::default());
    // A clone of an engine is the same engine, with the same counters.
    assert_eq!(first.clone().stats(), first.stats());
}

#[test]
fn first_calls_from_many_threads_translate_each_function_once() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm(COUNTED)).unwrap();
    let barrier = std::sync::Barrier::new(8);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[]).unwrap();
                barrier.wait();
                for _ in 0..10 {
                    assert_eq!(call(&mut store, instance, "caller"), 2);
                    assert_eq!(call(&mut store, instance, "leaf"), 1);
                }
            });
        }
    });
    assert_eq!(engine.stats().functions_translated, 2);
}

#[test]
fn translate_all_translates_every_defined_function_once_and_counts_their_bytes() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm(COUNTED)).unwrap();
    let defined = module
        .exports()
        .filter(|export| matches!(export.ty(), tierwasm::ExternType::Func(_)))
        .count();
    module.translate_all();
    let stats = engine.stats();
    // Every function of COUNTED is defined; two of them ($also_never, $target) are not exported.
    assert_eq!(stats.functions_translated, defined as u64 + 2);
    assert!(stats.wasm_bytes_translated > 0);
    assert!(stats.code_bytes > 0);
    // Calls after `translate_all` use the code it made.
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(call(&mut store, instance, "caller"), 2);
    assert_eq!(call(&mut store, instance, "indirect"), 3);
    assert_eq!(engine.stats(), stats);
}
