//! Active segments that don't fit trap at instantiation with the partial
//! effects of WebAssembly 2.0: segments are checked and copied one by one, in
//! order; segments before the failing one stay written, the failing one
//! writes nothing and the later ones don't run. Element segments all come
//! before data segments.

mod common;

use common::{expect_err, wasm};
use tierwasm::{
    Engine, ErrorKind, Global, GlobalType, Instance, Memory, MemoryType, Module, Mutability, Store,
    Table, TableType, TrapCode, Val, ValType,
};

const PAGE: usize = 65536;

fn setup() -> (Store<()>, Memory, Table) {
    let mut store = Store::new(&Engine::default(), ());
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let table = Table::new(
        &mut store,
        TableType::new(ValType::FuncRef, 3, None),
        Val::null_func_ref(),
    )
    .unwrap();
    (store, memory, table)
}

fn module(store: &Store<()>, wat: &str) -> Module {
    Module::new(store.engine(), wasm(wat)).unwrap()
}

fn is_null(table: Table, store: &Store<()>, index: u32) -> bool {
    match table.get(store, index) {
        Some(Val::FuncRef(func)) => func.is_none(),
        other => panic!("table[{index}] is not a funcref: {other:?}"),
    }
}

#[test]
fn out_of_bounds_data_segment_keeps_earlier_segments_only() {
    let (mut store, memory, _) = setup();
    let module = module(
        &store,
        r#"(module
             (import "env" "memory" (memory 1))
             (data (i32.const 0) "aa")
             (data (i32.const 65535) "bb")
             (data (i32.const 10) "cc"))"#,
    );
    let err = expect_err(
        Instance::new(&mut store, &module, &[memory.into()]),
        ErrorKind::Trap,
    );
    assert_eq!(err.trap_code(), Some(TrapCode::MemoryOutOfBounds));
    assert_eq!(err.to_string(), "wasm trap: out of bounds memory access");

    let data = memory.data(&store);
    assert_eq!(&data[0..2], b"aa", "the earlier segment was written");
    assert_eq!(data[PAGE - 1], 0, "the failing segment wrote nothing");
    assert_eq!(&data[10..12], [0, 0], "the later segment did not run");
}

#[test]
fn data_segment_ending_exactly_at_the_end_of_memory_fits() {
    let (mut store, memory, _) = setup();
    let module = module(
        &store,
        r#"(module
             (import "env" "memory" (memory 1))
             (data (i32.const 65534) "zz")
             (data (i32.const 65536) ""))"#,
    );
    Instance::new(&mut store, &module, &[memory.into()]).unwrap();
    assert_eq!(&memory.data(&store)[PAGE - 2..], b"zz");
}

#[test]
fn empty_data_segment_past_the_end_of_memory_traps() {
    let (mut store, memory, _) = setup();
    let module = module(
        &store,
        r#"(module
             (import "env" "memory" (memory 1))
             (data (i32.const 1) "x")
             (data (i32.const 65537) ""))"#,
    );
    let err = expect_err(
        Instance::new(&mut store, &module, &[memory.into()]),
        ErrorKind::Trap,
    );
    assert_eq!(err.trap_code(), Some(TrapCode::MemoryOutOfBounds));
    assert_eq!(memory.data(&store)[1], b'x');
}

#[test]
fn out_of_bounds_element_segment_keeps_earlier_segments_only() {
    let (mut store, _, table) = setup();
    let module = module(
        &store,
        r#"(module
             (import "env" "table" (table 3 funcref))
             (func $one (result i32) i32.const 1)
             (func $two (result i32) i32.const 2)
             (elem (i32.const 0) $one)
             (elem (i32.const 2) $one $two)
             (elem (i32.const 1) $two))"#,
    );
    let err = expect_err(
        Instance::new(&mut store, &module, &[table.into()]),
        ErrorKind::Trap,
    );
    assert_eq!(err.trap_code(), Some(TrapCode::TableOutOfBounds));
    assert_eq!(err.to_string(), "wasm trap: out of bounds table access");

    assert!(is_null(table, &store, 1), "the later segment did not run");
    assert!(
        is_null(table, &store, 2),
        "the failing segment wrote nothing"
    );

    // The earlier segment's function outlives the failed instantiation.
    let Some(Val::FuncRef(Some(one))) = table.get(&store, 0) else {
        panic!("table[0] was not written");
    };
    let one = one.typed::<(), i32>(&store).unwrap();
    assert_eq!(one.call(&mut store, ()).unwrap(), 1);
}

#[test]
fn failing_element_segment_prevents_all_data_segments() {
    let (mut store, memory, table) = setup();
    let module = module(
        &store,
        r#"(module
             (import "env" "memory" (memory 1))
             (import "env" "table" (table 3 funcref))
             (func $f)
             (data (i32.const 0) "data")
             (elem (i32.const 1) $f)
             (elem (i32.const 3) $f))"#,
    );
    let err = expect_err(
        Instance::new(&mut store, &module, &[memory.into(), table.into()]),
        ErrorKind::Trap,
    );
    assert_eq!(err.trap_code(), Some(TrapCode::TableOutOfBounds));
    assert!(!is_null(table, &store, 1), "the first element segment ran");
    assert_eq!(&memory.data(&store)[0..4], [0; 4], "no data segment ran");
}

#[test]
fn failing_data_segment_keeps_all_element_segments() {
    let (mut store, memory, table) = setup();
    let module = module(
        &store,
        r#"(module
             (import "env" "memory" (memory 1))
             (import "env" "table" (table 3 funcref))
             (func $f)
             (data (i32.const 70000) "x")
             (elem (i32.const 0) $f $f $f))"#,
    );
    let err = expect_err(
        Instance::new(&mut store, &module, &[memory.into(), table.into()]),
        ErrorKind::Trap,
    );
    assert_eq!(err.trap_code(), Some(TrapCode::MemoryOutOfBounds));
    for index in 0..3 {
        assert!(!is_null(table, &store, index), "table[{index}] is null");
    }
}

#[test]
fn failing_segment_prevents_the_start_function() {
    let (mut store, memory, _) = setup();
    let module = module(
        &store,
        r#"(module
             (import "env" "memory" (memory 1))
             (data (i32.const 65536) "x")
             (func $start (i32.store8 (i32.const 0) (i32.const 1)))
             (start $start))"#,
    );
    expect_err(
        Instance::new(&mut store, &module, &[memory.into()]),
        ErrorKind::Trap,
    );
    assert_eq!(memory.data(&store)[0], 0, "the start function did not run");
}

#[test]
fn segment_offset_from_an_imported_global() {
    let (mut store, memory, _) = setup();
    let base = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Const),
        Val::I32(65530),
    )
    .unwrap();
    let module = module(
        &store,
        r#"(module
             (import "env" "memory" (memory 1))
             (import "env" "base" (global $base i32))
             (data (global.get $base) "abcdef")
             (data (global.get $base) "1234567"))"#,
    );
    let err = expect_err(
        Instance::new(&mut store, &module, &[memory.into(), base.into()]),
        ErrorKind::Trap,
    );
    assert_eq!(err.trap_code(), Some(TrapCode::MemoryOutOfBounds));
    assert_eq!(&memory.data(&store)[PAGE - 6..], b"abcdef");
}
