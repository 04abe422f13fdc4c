//! `Strategy::Tiered`: functions start in the interpreter, tier up when hot, and their
//! native code is used from their next call on — by the host, by interpreted and native
//! callers, in every instance of the module — with the same results throughout.
#![cfg(feature = "jit")]

mod common;

use std::time::{Duration, Instant};

use common::wasm;
use tierwasm::{
    Config, Engine, Instance, Module, Store, Strategy, TierEvent, TierEventKind, TypedFunc,
};

const PROGRAM: &str = r#"(module $program
  (func $square (export "square") (param i32) (result i32)
    (i32.mul (local.get 0) (local.get 0)))
  (func $sum_squares (export "sum_squares") (param i32) (result i64) (local $sum i64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get 0)))
        (local.set $sum
          (i64.add (local.get $sum) (i64.extend_i32_u (call $square (local.get 0)))))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $next)))
    (local.get $sum))
  (func $count (export "count") (param i32) (result i32) (local $n i32)
    (loop $again
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $n) (local.get 0))))
    (local.get $n)))"#;

fn tiered(threshold: u32, synchronous: bool) -> Engine {
    let mut config = Config::new();
    config
        .strategy(Strategy::Tiered)
        .tier_up_threshold(threshold)
        .synchronous_tier_up(synchronous)
        .record_tier_events(true);
    Engine::new(&config)
}

fn instantiate(engine: &Engine, module: &Module) -> (Store<()>, Instance) {
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, module, &[]).unwrap();
    (store, instance)
}

fn func<P: tierwasm::WasmTyList, R: tierwasm::WasmTyList>(
    store: &Store<()>,
    instance: &Instance,
    name: &str,
) -> TypedFunc<P, R> {
    instance.get_typed_func::<P, R>(store, name).unwrap()
}

/// The kinds of the events about function `name`, in order.
fn kinds(events: &[TierEvent], name: &str) -> Vec<TierEventKind> {
    events
        .iter()
        .filter(|event| event.func_name.as_deref() == Some(name))
        .map(|event| event.kind)
        .collect()
}

fn sum_squares(n: u32) -> i64 {
    (1..=n as i64).map(|k| (k * k) as u32 as i64).sum()
}

#[test]
fn a_hot_function_tiers_up_and_keeps_its_results() {
    let engine = tiered(3, true);
    let module = Module::new(&engine, wasm(PROGRAM)).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    let square = func::<i32, i32>(&store, &instance, "square");
    // Entries 1 and 2 stay below the threshold; the third finds it reached and compiles.
    for n in 1..=2 {
        assert_eq!(square.call(&mut store, n).unwrap(), n * n);
        assert_eq!(engine.stats().functions_compiled, 0);
    }
    assert_eq!(square.call(&mut store, 3).unwrap(), 9);
    assert_eq!(engine.stats().functions_compiled, 1);
    for n in [4, -7, 46341] {
        assert_eq!(square.call(&mut store, n).unwrap(), n.wrapping_mul(n));
    }
    assert_eq!(engine.stats().functions_compiled, 1, "compiled once");
    let events = engine.tier_events();
    assert_eq!(
        kinds(&events, "square"),
        [
            TierEventKind::Translated,
            TierEventKind::Queued,
            TierEventKind::CompileStarted,
            TierEventKind::CompileFinished,
            TierEventKind::SwappedIn,
        ]
    );
    let times: Vec<Duration> = events.iter().map(|event| event.time).collect();
    assert!(
        times.windows(2).all(|pair| pair[0] <= pair[1]),
        "{events:?}"
    );
    let finished = events
        .iter()
        .find(|event| event.kind == TierEventKind::CompileFinished)
        .unwrap();
    assert!(finished.duration.is_some());
    assert_eq!(finished.module_name.as_deref(), Some("program"));
    assert_eq!(finished.func_index, 0);
}

#[test]
fn loop_iterations_count_towards_tier_up() {
    // The first call of `count`, with 1000 iterations, passes a threshold of 500 inside its
    // loop: the loop continues in native code (loop OSR). The function's own code is compiled
    // at its next call, which is interpreted up to its loop's first look at OSR; the third
    // runs native code from the start. All synchronously.
    let engine = tiered(500, true);
    let module = Module::new(&engine, wasm(PROGRAM)).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    let count = func::<i32, i32>(&store, &instance, "count");
    let compiled = |engine: &Engine| {
        let stats = engine.stats();
        (
            stats.functions_compiled,
            stats.osr_entries_compiled,
            stats.osr_transfers,
        )
    };
    assert_eq!(count.call(&mut store, 1000).unwrap(), 1000);
    assert_eq!(compiled(&engine), (0, 1, 1));
    assert_eq!(count.call(&mut store, 2000).unwrap(), 2000);
    assert_eq!(compiled(&engine), (1, 1, 2));
    assert_eq!(count.call(&mut store, 123_456).unwrap(), 123_456);
    assert_eq!(
        compiled(&engine),
        (1, 1, 2),
        "the third call ran native code"
    );
    use TierEventKind::*;
    assert_eq!(
        kinds(&engine.tier_events(), "count"),
        [
            Translated,
            // The loop's OSR entry, in the first call.
            Queued,
            CompileStarted,
            CompileFinished,
            OsrEntered,
            // The function's own code, at the second.
            Queued,
            CompileStarted,
            CompileFinished,
            SwappedIn,
            OsrEntered,
        ]
    );
}

#[test]
fn interpreted_callers_switch_to_the_callee_s_native_code() {
    // Default thresholds, which grow with the body: `square` tiers up after some 2 400
    // calls, while `sum_squares`, padded to over a kilobyte, needs a hundred times more and
    // stays interpreted through its 3 000 iterations. The loop's remaining calls run
    // `square`'s native code, and the sum is right.
    let padded = PROGRAM.replace(
        "(local $sum i64)",
        &format!("(local $sum i64) {}", "(nop) ".repeat(1200)),
    );
    let mut config = Config::new();
    config
        .strategy(Strategy::Tiered)
        .synchronous_tier_up(true)
        .record_tier_events(true);
    let engine = Engine::new(&config);
    let module = Module::new(&engine, wasm(&padded)).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    let sum = func::<i32, i64>(&store, &instance, "sum_squares");
    assert_eq!(sum.call(&mut store, 3000).unwrap(), sum_squares(3000));
    let events = engine.tier_events();
    assert!(kinds(&events, "square").contains(&TierEventKind::SwappedIn));
    assert_eq!(kinds(&events, "sum_squares"), [TierEventKind::Translated]);
    assert_eq!(sum.call(&mut store, 77).unwrap(), sum_squares(77));
}

#[test]
fn compiled_code_is_shared_by_every_instance_of_the_module() {
    let engine = tiered(2, true);
    let module = Module::new(&engine, wasm(PROGRAM)).unwrap();
    let (mut first, first_instance) = instantiate(&engine, &module);
    let square = func::<i32, i32>(&first, &first_instance, "square");
    for n in 0..5 {
        assert_eq!(square.call(&mut first, n).unwrap(), n * n);
    }
    assert_eq!(engine.stats().functions_compiled, 1);
    let (mut second, second_instance) = instantiate(&engine, &module);
    let square = func::<i32, i32>(&second, &second_instance, "square");
    assert_eq!(square.call(&mut second, 12).unwrap(), 144);
    let stats = engine.stats();
    assert_eq!(stats.functions_compiled, 1, "nothing compiled again");
    assert_eq!(
        stats.functions_translated, 1,
        "the new instance ran native code at once"
    );
}

#[test]
fn asynchronous_tier_up_swaps_native_code_in_while_calls_go_on() {
    let engine = tiered(10, false);
    let module = Module::new(&engine, wasm(PROGRAM)).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    let sum = func::<i32, i64>(&store, &instance, "sum_squares");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut calls = 0;
    while !kinds(&engine.tier_events(), "square").contains(&TierEventKind::SwappedIn) {
        assert!(Instant::now() < deadline, "square was never swapped in");
        assert_eq!(sum.call(&mut store, 50).unwrap(), sum_squares(50));
        calls += 1;
    }
    assert!(calls >= 1);
    let compiled_on = engine
        .tier_events()
        .into_iter()
        .find(|event| event.kind == TierEventKind::CompileStarted)
        .unwrap()
        .thread;
    assert!(
        compiled_on.starts_with("tierwasm-compile-"),
        "{compiled_on}"
    );
    assert_eq!(sum.call(&mut store, 3000).unwrap(), sum_squares(3000));
}

#[test]
fn threads_calling_instances_of_one_module_while_it_tiers_up_get_the_interpreter_s_results() {
    let interpreter = Engine::default();
    let expected_module = Module::new(&interpreter, wasm(PROGRAM)).unwrap();
    let (mut store, instance) = instantiate(&interpreter, &expected_module);
    let sum = func::<i32, i64>(&store, &instance, "sum_squares");
    let expected: Vec<i64> = (0..200).map(|n| sum.call(&mut store, n).unwrap()).collect();

    let engine = tiered(50, false);
    let module = Module::new(&engine, wasm(PROGRAM)).unwrap();
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let (engine, module, expected) = (&engine, &module, &expected);
            scope.spawn(move || {
                let (mut store, instance) = instantiate(engine, module);
                let sum = func::<i32, i64>(&store, &instance, "sum_squares");
                let count = func::<i32, i32>(&store, &instance, "count");
                for round in 0..20 {
                    for (n, want) in expected.iter().enumerate() {
                        let got = sum.call(&mut store, n as i32).unwrap();
                        assert_eq!(got, *want, "thread {thread} round {round} n {n}");
                    }
                    assert_eq!(count.call(&mut store, round + 1).unwrap(), round + 1);
                }
            });
        }
    });
    assert!(engine.stats().functions_compiled >= 1);
}

#[test]
fn dropping_an_engine_with_tier_ups_queued_terminates() {
    let mut config = Config::new();
    config
        .strategy(Strategy::Tiered)
        .tier_up_threshold(0)
        .compile_threads(1);
    let engine = Engine::new(&config);
    let module = Module::new(&engine, wasm(PROGRAM)).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    let sum = func::<i32, i64>(&store, &instance, "sum_squares");
    assert_eq!(sum.call(&mut store, 10).unwrap(), sum_squares(10));
    drop((sum, instance, store, module, engine));
}

#[test]
fn other_strategies_record_no_tier_ups_and_events_only_when_asked() {
    let engine = Engine::new(Config::new().record_tier_events(true));
    let module = Module::new(&engine, wasm(PROGRAM)).unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    let square = func::<i32, i32>(&store, &instance, "square");
    for n in 0..100 {
        assert_eq!(square.call(&mut store, n).unwrap(), n * n);
    }
    assert_eq!(
        kinds(&engine.tier_events(), "square"),
        [TierEventKind::Translated]
    );
    assert_eq!(engine.stats().functions_compiled, 0);

    let silent = tiered_without_events();
    let module = Module::new(&silent, wasm(PROGRAM)).unwrap();
    let (mut store, instance) = instantiate(&silent, &module);
    let square = func::<i32, i32>(&store, &instance, "square");
    for n in 0..10 {
        assert_eq!(square.call(&mut store, n).unwrap(), n * n);
    }
    assert_eq!(silent.stats().functions_compiled, 1);
    assert!(silent.tier_events().is_empty());
}

fn tiered_without_events() -> Engine {
    let mut config = Config::new();
    config
        .strategy(Strategy::Tiered)
        .tier_up_threshold(1)
        .synchronous_tier_up(true);
    Engine::new(&config)
}
