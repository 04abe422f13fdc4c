//! What instances share and what they don't: private state of two instances
//! of one module, a host memory shared by two instances, one module used by
//! several stores and by several threads at once.

mod common;

use common::wasm;
use tierwasm::{
    Engine, Extern, Global, GlobalType, Instance, Memory, MemoryType, Module, Mutability, Store,
    TrapCode, Val, ValType,
};

const COUNTER: &str = r#"(module
  (memory 1)
  (global $count (mut i32) (i32.const 0))
  (func (export "bump") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    global.get $count)
  (func (export "store") (param i32 i32)
    (i32.store (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32)
    (i32.load (local.get 0))))"#;

#[test]
fn two_instances_of_one_module_are_isolated() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm(COUNTER)).unwrap();
    let mut store = Store::new(&engine, ());
    let a = Instance::new(&mut store, &module, &[]).unwrap();
    let b = Instance::new(&mut store, &module, &[]).unwrap();

    let bump_a = a.get_typed_func::<(), i32>(&mut store, "bump").unwrap();
    let bump_b = b.get_typed_func::<(), i32>(&mut store, "bump").unwrap();
    assert_eq!(bump_a.call(&mut store, ()).unwrap(), 1);
    assert_eq!(bump_a.call(&mut store, ()).unwrap(), 2);
    assert_eq!(bump_b.call(&mut store, ()).unwrap(), 1);

    let store_a = a
        .get_typed_func::<(i32, i32), ()>(&mut store, "store")
        .unwrap();
    let load_b = b.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
    store_a.call(&mut store, (64, 12345)).unwrap();
    assert_eq!(load_b.call(&mut store, 64).unwrap(), 0);

    let memory_a = a.get_memory(&mut store, "memory");
    assert!(memory_a.is_none(), "the memory is not exported");
}

const SHARED_MEMORY_USER: &str = r#"(module
  (import "env" "memory" (memory 1))
  (func (export "store") (param i32 i32)
    (i32.store (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32)
    (i32.load (local.get 0)))
  (func (export "grow") (param i32) (result i32)
    (memory.grow (local.get 0)))
  (func (export "size") (result i32)
    memory.size))"#;

#[test]
fn host_memory_is_shared_by_the_host_and_two_instances() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm(SHARED_MEMORY_USER)).unwrap();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(1, Some(3))).unwrap();
    let a = Instance::new(&mut store, &module, &[memory.into()]).unwrap();
    let b = Instance::new(&mut store, &module, &[memory.into()]).unwrap();

    let store_a = a
        .get_typed_func::<(i32, i32), ()>(&mut store, "store")
        .unwrap();
    let load_a = a.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
    let grow_a = a.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    let load_b = b.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
    let size_b = b.get_typed_func::<(), i32>(&mut store, "size").unwrap();
    let store_b = b
        .get_typed_func::<(i32, i32), ()>(&mut store, "store")
        .unwrap();

    // Instance A writes; B and the host see it.
    store_a.call(&mut store, (100, 0x1234_5678)).unwrap();
    assert_eq!(load_b.call(&mut store, 100).unwrap(), 0x1234_5678);
    assert_eq!(memory.data(&store)[100..104], 0x1234_5678u32.to_le_bytes());

    // The host writes; both instances see it.
    memory.write(&mut store, 200, &7i32.to_le_bytes()).unwrap();
    assert_eq!(load_a.call(&mut store, 200).unwrap(), 7);
    assert_eq!(load_b.call(&mut store, 200).unwrap(), 7);

    // A grows the memory; B and the host see the new size and can use it.
    assert_eq!(grow_a.call(&mut store, 1).unwrap(), 1);
    assert_eq!(size_b.call(&mut store, ()).unwrap(), 2);
    assert_eq!(memory.size(&store), 2);
    assert_eq!(memory.data(&store).len(), 2 * 65536);
    store_b.call(&mut store, (65536 + 8, -1)).unwrap();
    assert_eq!(load_a.call(&mut store, 65536 + 8).unwrap(), -1);

    // The host grows it; the instances see that too.
    assert_eq!(memory.grow(&mut store, 1).unwrap(), 2);
    assert_eq!(size_b.call(&mut store, ()).unwrap(), 3);
    store_a.call(&mut store, (2 * 65536, 99)).unwrap();
    assert_eq!(load_b.call(&mut store, 2 * 65536).unwrap(), 99);

    // The maximum of 3 pages holds for everyone.
    assert_eq!(grow_a.call(&mut store, 1).unwrap(), -1);
    assert!(memory.grow(&mut store, 1).is_err());
    assert_eq!(memory.size(&store), 3);
}

#[test]
fn exported_memory_is_the_same_memory_as_the_instance_uses() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let exporter = Module::new(
        &engine,
        wasm(
            r#"(module
             (memory (export "memory") 1)
             (func (export "load") (param i32) (result i32)
               (i32.load (local.get 0))))"#,
        ),
    )
    .unwrap();
    let user = Module::new(&engine, wasm(SHARED_MEMORY_USER)).unwrap();
    let a = Instance::new(&mut store, &exporter, &[]).unwrap();
    let memory = a.get_export(&mut store, "memory").unwrap();
    let b = Instance::new(&mut store, &user, &[memory]).unwrap();

    let store_b = b
        .get_typed_func::<(i32, i32), ()>(&mut store, "store")
        .unwrap();
    let load_a = a.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
    store_b.call(&mut store, (4, 77)).unwrap();
    assert_eq!(load_a.call(&mut store, 4).unwrap(), 77);
    let Extern::Memory(memory) = memory else {
        panic!("export is not a memory")
    };
    assert_eq!(memory.data(&store)[4], 77);
}

#[test]
fn one_module_is_used_in_several_stores() {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm(COUNTER)).unwrap();
    let mut stores: Vec<Store<()>> = (0..3).map(|_| Store::new(&engine, ())).collect();
    let instances: Vec<Instance> = stores
        .iter_mut()
        .map(|store| Instance::new(store, &module, &[]).unwrap())
        .collect();

    for (i, (store, instance)) in stores.iter_mut().zip(&instances).enumerate() {
        let bump = instance
            .get_typed_func::<(), i32>(&mut *store, "bump")
            .unwrap();
        for _ in 0..=i {
            bump.call(&mut *store, ()).unwrap();
        }
    }
    for (i, (store, instance)) in stores.iter_mut().zip(&instances).enumerate() {
        let bump = instance
            .get_typed_func::<(), i32>(&mut *store, "bump")
            .unwrap();
        assert_eq!(bump.call(&mut *store, ()).unwrap(), i as i32 + 2);
    }
}

#[test]
fn module_is_instantiated_concurrently_from_eight_threads() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
             (memory 1)
             (global $calls (mut i32) (i32.const 0))
             (func $fib (export "fib") (param i32) (result i64)
               (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
               (if (result i64) (i32.lt_u (local.get 0) (i32.const 2))
                 (then (i64.extend_i32_u (local.get 0)))
                 (else
                   (i64.add
                     (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
             (func (export "calls") (result i32) global.get $calls)
             (func (export "fill") (param $seed i32) (result i32)
               (local $i i32) (local $sum i32)
               (loop $l
                 (i32.store (i32.shl (local.get $i) (i32.const 2))
                            (i32.mul (local.get $i) (local.get $seed)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
               (local.set $i (i32.const 0))
               (loop $l
                 (local.set $sum (i32.add (local.get $sum)
                   (i32.load (i32.shl (local.get $i) (i32.const 2)))))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
               local.get $sum))"#,
        ),
    )
    .unwrap();

    fn fib(n: u32) -> (i64, i32) {
        // (value, number of calls made by the naive recursion)
        if n < 2 {
            (i64::from(n), 1)
        } else {
            let (a, ca) = fib(n - 1);
            let (b, cb) = fib(n - 2);
            (a + b, ca + cb + 1)
        }
    }

    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8u32)
            .map(|thread| {
                let module = module.clone();
                let engine = engine.clone();
                scope.spawn(move || {
                    let mut store = Store::new(&engine, thread);
                    let instance = Instance::new(&mut store, &module, &[]).unwrap();
                    let fib = instance
                        .get_typed_func::<i32, i64>(&mut store, "fib")
                        .unwrap();
                    let calls = instance
                        .get_typed_func::<(), i32>(&mut store, "calls")
                        .unwrap();
                    let fill = instance
                        .get_typed_func::<i32, i32>(&mut store, "fill")
                        .unwrap();
                    let n = 15 + thread;
                    let fib_n = fib.call(&mut store, n as i32).unwrap();
                    let calls = calls.call(&mut store, ()).unwrap();
                    let sum = fill.call(&mut store, thread as i32 + 1).unwrap();
                    (n, fib_n, calls, thread, sum)
                })
            })
            .collect();
        for handle in handles {
            let (n, fib_n, calls, thread, sum) = handle.join().expect("thread panicked");
            assert_eq!((fib_n, calls), fib(n), "fib({n})");
            let expected_sum = (0..1000i32).sum::<i32>().wrapping_mul(thread as i32 + 1);
            assert_eq!(sum, expected_sum, "thread {thread}");
        }
    });
}

#[test]
fn call_indirect_across_modules_compares_signatures_structurally() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    // The provider's function type is its type 1, the user's type 0.
    let provider = Module::new(
        &engine,
        wasm(
            r#"(module
             (type $unused (func (param f64)))
             (type $binary (func (param i32 i32) (result i32)))
             (table (export "table") 2 funcref)
             (elem (i32.const 0) $sub $unused)
             (func $sub (type $binary) (i32.sub (local.get 0) (local.get 1)))
             (func $unused (type $unused)))"#,
        ),
    )
    .unwrap();
    let user = Module::new(
        &engine,
        wasm(
            r#"(module
             (type $binary (func (param i32 i32) (result i32)))
             (import "provider" "table" (table 2 funcref))
             (func (export "call") (param i32) (result i32)
               (call_indirect (type $binary)
                 (i32.const 50) (i32.const 8) (local.get 0))))"#,
        ),
    )
    .unwrap();
    let provider = Instance::new(&mut store, &provider, &[]).unwrap();
    let table = provider.get_export(&mut store, "table").unwrap();
    let user = Instance::new(&mut store, &user, &[table]).unwrap();
    let call = user.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
    assert_eq!(call.call(&mut store, 0).unwrap(), 42);
    let err = call.call(&mut store, 1).unwrap_err();
    assert_eq!(err.trap_code(), Some(TrapCode::BadSignature));
}

#[test]
fn imported_mutable_global_is_shared() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
             (import "env" "counter" (global $counter (mut i64)))
             (func (export "bump")
               (global.set $counter (i64.add (global.get $counter) (i64.const 1)))))"#,
        ),
    )
    .unwrap();
    let counter = Global::new(
        &mut store,
        GlobalType::new(ValType::I64, Mutability::Var),
        Val::I64(10),
    )
    .unwrap();
    let a = Instance::new(&mut store, &module, &[counter.into()]).unwrap();
    let b = Instance::new(&mut store, &module, &[counter.into()]).unwrap();
    let bump_a = a.get_typed_func::<(), ()>(&mut store, "bump").unwrap();
    let bump_b = b.get_typed_func::<(), ()>(&mut store, "bump").unwrap();
    bump_a.call(&mut store, ()).unwrap();
    bump_b.call(&mut store, ()).unwrap();
    assert_eq!(counter.get(&mut store).i64(), Some(12));
    counter.set(&mut store, Val::I64(100)).unwrap();
    bump_a.call(&mut store, ()).unwrap();
    assert_eq!(counter.get(&mut store).i64(), Some(101));
}

#[test]
fn store_with_instances_moves_to_another_thread() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Engine>();
    send_and_sync::<Module>();

    let engine = Engine::default();
    let module = Module::new(&engine, wasm(COUNTER)).unwrap();
    let mut store = Store::new(&engine, String::from("moved"));
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let bump = instance
        .get_typed_func::<(), i32>(&mut store, "bump")
        .unwrap();
    assert_eq!(bump.call(&mut store, ()).unwrap(), 1);

    let (store, count) = std::thread::spawn(move || {
        let count = bump.call(&mut store, ()).unwrap();
        (store, count)
    })
    .join()
    .unwrap();
    assert_eq!(count, 2);
    assert_eq!(store.data(), "moved");
}
