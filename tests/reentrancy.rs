//! Wasm calling the host calling wasm again: results, traps, and the call-depth
//! limit across such re-entrant activations.

mod common;

use common::{expect_err, wasm};
use tierwasm::{
    Caller, Config, Engine, Error, ErrorKind, Extern, Func, Instance, Module, Store, TrapCode,
};

#[test]
fn host_function_calls_back_into_wasm() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let twice = Func::wrap(
        &mut store,
        |mut caller: Caller<'_, ()>, x: i32| -> tierwasm::Result<i32> {
            let inc = caller
                .get_export("inc")
                .and_then(Extern::into_func)
                .ok_or_else(|| Error::host("no inc export"))?
                .typed::<i32, i32>(&caller)?;
            let once = inc.call(&mut caller, x)?;
            inc.call(&mut caller, once)
        },
    );
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
             (import "env" "twice" (func $twice (param i32) (result i32)))
             (func (export "inc") (param i32) (result i32)
               local.get 0 i32.const 1 i32.add)
             (func (export "run") (param i32) (result i32)
               (call $twice (call $twice (local.get 0)))))"#,
        ),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[twice.into()]).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 10).unwrap(), 14);
}

#[test]
fn trap_inside_a_reentrant_call_propagates_as_a_trap() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let callback = Func::wrap(
        &mut store,
        |mut caller: Caller<'_, ()>| -> tierwasm::Result<()> {
            let boom = caller
                .get_export("boom")
                .and_then(Extern::into_func)
                .ok_or_else(|| Error::host("no boom export"))?;
            boom.call(&mut caller, &[], &mut [])
        },
    );
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
             (import "env" "callback" (func $callback))
             (func (export "boom") unreachable)
             (func (export "run") call $callback))"#,
        ),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[callback.into()]).unwrap();
    let run = instance
        .get_typed_func::<(), ()>(&mut store, "run")
        .unwrap();
    let err = expect_err(run.call(&mut store, ()), ErrorKind::Trap);
    assert_eq!(err.trap_code(), Some(TrapCode::Unreachable));

    // The store is still usable afterwards.
    let inc = Func::wrap(&mut store, |x: i32| x + 1);
    let inc = inc.typed::<i32, i32>(&store).unwrap();
    assert_eq!(inc.call(&mut store, 1).unwrap(), 2);
}

/// Runs wasm and a host function calling each other without end; returns the
/// error and how often the host function ran.
fn recurse_through_the_host(config: &Config) -> (Error, u32) {
    let engine = Engine::new(config);
    let mut store = Store::new(&engine, 0u32);
    let reenter = Func::wrap(
        &mut store,
        |mut caller: Caller<'_, u32>| -> tierwasm::Result<()> {
            *caller.data_mut() += 1;
            let again = caller
                .get_export("again")
                .and_then(Extern::into_func)
                .ok_or_else(|| Error::host("no again export"))?;
            again.call(&mut caller, &[], &mut [])
        },
    );
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
             (import "env" "reenter" (func $reenter))
             (func (export "again") call $reenter))"#,
        ),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[reenter.into()]).unwrap();
    let again = instance
        .get_typed_func::<(), ()>(&mut store, "again")
        .unwrap();
    let err = expect_err(again.call(&mut store, ()), ErrorKind::Trap);
    assert_eq!(err.trap_code(), Some(TrapCode::StackOverflow));
    (err, *store.data())
}

#[test]
fn recursion_through_the_host_stops_at_the_configured_call_depth() {
    let mut config = Config::new();
    config.max_call_depth(50);
    let (_, reentries) = recurse_through_the_host(&config);
    // One frame of `again` per re-entry: the 51st call of `again` traps.
    assert_eq!(reentries, 50);
}

#[test]
fn recursion_through_the_host_traps_with_the_default_config() {
    // Every re-entry also uses the native stack: the runtime must trap before
    // exhausting it, on a test thread's stack of 2 MiB (in a debug build too).
    let (_, reentries) = recurse_through_the_host(&Config::new());
    assert!(reentries > 50, "only {reentries} re-entries");
}
