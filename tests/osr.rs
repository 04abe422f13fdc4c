//! Loop OSR under `Strategy::Tiered`: an interpreter frame that stays in a hot loop continues
//! in native code compiled for that loop, with its locals and operand stack, and the function
//! returns (or traps) as it would have in the interpreter.
#![cfg(feature = "jit")]

mod common;

use common::wasm;
use tierwasm::{
    Config, Engine, Instance, Module, Store, Strategy, TierEvent, TierEventKind, TrapCode,
};

/// A module whose one function takes the compile thread a while: 1 000 additions of
/// constants in a row, about 50 ms (Cranelift's e-graph is slow on such chains).
fn slow_to_compile() -> String {
    let additions: String = (0..1_000)
        .map(|i| format!("(i32.add (i32.const {i}))\n"))
        .collect();
    format!("(module (func (export \"big\") (param i32) (result i32) (local.get 0)\n{additions}))")
}

/// A short loop, whose one backward branch (at threshold 1, a look at loop OSR) asks for its
/// OSR entry, then a long loop.
const LOOP_THEN_LONG_LOOP: &str = r#"(module $two_loops
  (func $two_loops (export "two_loops") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $short
      (local.set $sum (i32.add (local.get $sum) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $short (i32.lt_u (local.get $i) (i32.const 2))))
    (local.set $i (i32.const 0))
    (loop $long
      (local.set $sum (i32.add (local.get $sum) (i32.xor (local.get $i) (i32.const 0x55))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $long (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum)))"#;

/// An outer loop whose first iteration skips the inner loop, so that the outer loop asks
/// for its OSR entry first, and whose later iterations run ten iterations of an inner loop.
const OUTER_THEN_INNER: &str = r#"(module $nest
  (func $outer_then_inner (export "outer_then_inner") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $sum i32)
    (loop $outer
      (if (i32.gt_u (local.get $i) (i32.const 0))
        (then
          (local.set $j (i32.const 0))
          (loop $inner
            (local.set $sum (i32.add (local.get $sum) (i32.xor (local.get $i) (local.get $j))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $inner (i32.lt_u (local.get $j) (i32.const 10))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $outer (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum)))"#;

const PROGRAM: &str = r#"(module $osr
  (memory 1)
  ;; One long loop: a function called once.
  (func $sum_squares (export "sum_squares") (param $n i32) (result i64)
    (local $i i32) (local $sum i64)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $sum
          (i64.add (local.get $sum)
            (i64.mul (i64.extend_i32_u (local.get $i)) (i64.extend_i32_u (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $sum))

  ;; Values below the loop: a constant, a local, a temporary, a value pushed inside an
  ;; `if`, and the loop's own parameter, which every iteration carries.
  (func $stacked (export "stacked") (param $n i32) (result i64)
    (local $i i32) (local $r i64)
    (i64.const 1000)
    (local.get $n)
    (i32.mul (local.get $n) (i32.const 3))
    (block $outer (result i64)
      (if (result i64) (i32.gt_s (local.get $n) (i32.const 0))
        (then
          (i64.const 7)
          (i64.const 0)
          (loop $l (param i64) (result i64)
            (i64.add (i64.extend_i32_u (i32.xor (local.get $i) (i32.const 0x5a5a))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
          (i64.add))
        (else (i64.const -1))))
    ;; 1000 + n + 3n + (7 + the loop's sum)
    (local.set $r)
    (i64.extend_i32_u (i32.add))
    (i64.add)
    (i64.add (local.get $r)))

  ;; A loop nest left three ways, each giving the interpreter values to go on with: a branch
  ;; out of two blocks with an f64, a branch to the block just around the loop, and the end
  ;; of the loop with the i32 its iterations carry; below the blocks, an i64 and an f64.
  (func $leaves (export "leaves") (param $n i32) (result f64)
    (local $i i32) (local $f f64) (local $way i32)
    (local.set $way (i32.rem_u (local.get $n) (i32.const 3)))
    (i64.const 1000)
    (block $far (result f64)
      (f64.const 0.5)
      (block $near
        (local.get $n)
        (loop $l (param i32) (result i32)
          (local.set $f (f64.add (local.get $f) (f64.convert_i32_u (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $far
            (f64.mul (local.get $f) (f64.const 2))
            (i32.and (i32.ge_u (local.get $i) (local.get $n)) (i32.eq (local.get $way) (i32.const 1))))
          (drop)
          (br_if $near
            (i32.and (i32.ge_u (local.get $i) (local.get $n)) (i32.eq (local.get $way) (i32.const 2))))
          (i32.add (local.get $i))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (f64.convert_i32_u)
        (f64.add (local.get $f))
        (br $far))
      (f64.neg (local.get $f))
      (f64.add))
    (local.set $f)
    (f64.convert_i64_s)
    (f64.add (local.get $f))
    ;; Adds zero ten times: code after the nest that is larger than the nest, which the OSR
    ;; entry therefore leaves to the interpreter.
    (f64.add (f64.mul (local.get $f) (f64.const 0)))
    (f64.add (f64.mul (local.get $f) (f64.const 0)))
    (f64.add (f64.mul (local.get $f) (f64.const 0)))
    (f64.add (f64.mul (local.get $f) (f64.const 0)))
    (f64.add (f64.mul (local.get $f) (f64.const 0)))
    (f64.add (f64.mul (local.get $f) (f64.const 0)))
    (f64.add (f64.mul (local.get $f) (f64.const 0)))
    (f64.add (f64.mul (local.get $f) (f64.const 0)))
    (f64.add (f64.mul (local.get $f) (f64.const 0)))
    (f64.add (f64.mul (local.get $f) (f64.const 0))))

  ;; A loop that runs once, then a long loop, and after it code larger than the long loop:
  ;; the long loop's nest is not the function's first, so its OSR entry runs the frame to its
  ;; return.
  (func $later_nest (export "later_nest") (param $n i32) (result f64)
    (local $i i32) (local $f f64)
    (loop $once
      (local.set $f (f64.const 1))
      (br_if $once (i32.const 0)))
    (loop $long
      (local.set $f (f64.add (local.get $f) (f64.convert_i32_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $long (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $f)
    (f64.mul (f64.const 1)) (f64.mul (f64.const 1)) (f64.mul (f64.const 1))
    (f64.mul (f64.const 1)) (f64.mul (f64.const 1)) (f64.mul (f64.const 1))
    (f64.mul (f64.const 1)) (f64.mul (f64.const 1)) (f64.mul (f64.const 1))
    (f64.mul (f64.const 1)) (f64.mul (f64.const 1)) (f64.mul (f64.const 1)))

  ;; Nested loops, entered at the inner one: the outer loop's later iterations run native
  ;; code too, and the value below both loops survives.
  (func $nested (export "nested") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $sum i32)
    (i32.const 5)
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $sum
          (i32.add (local.get $sum)
            (i32.xor (i32.mul (local.get $i) (local.get $j)) (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $inner (i32.lt_u (local.get $j) (local.get $n))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $outer (i32.lt_u (local.get $i) (local.get $n))))
    (i32.add (local.get $sum)))

  ;; An interpreter's dispatch loop: `br_table` at the loop's header, every case jumping back.
  ;; (The interpreter replaces such jumps with copies of the dispatch, whose arms jump back to
  ;; the ends of the case blocks: the frame continues in native code at one of those.)
  (func $dispatch (export "dispatch") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $exit
      (loop $next
        (block $c3
          (block $c2
            (block $c1
              (block $c0
                (br_table $c0 $c1 $c2 $c3 (i32.and (local.get $i) (i32.const 3))))
              (local.set $acc (i32.add (local.get $acc) (i32.const 3)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
              (br $next))
            (local.set $acc (i32.xor (local.get $acc) (local.get $i)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
            (br $next))
          (local.set $acc (i32.mul (local.get $acc) (i32.const 7)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
          (br $next))
        (local.set $acc (i32.sub (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
        (br $next)))
    (local.get $acc))

  ;; Divides by zero at iteration `n`, inside its loop.
  (func $fails_at (param $n i32) (result i32) (local $i i32) (local $x i32)
    (loop $next
      (local.set $x
        (i32.add (local.get $x) (i32.div_u (i32.const 1000) (i32.sub (local.get $n) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))
    (unreachable))
  (func $calls_failing (export "calls_failing") (param $n i32) (result i32)
    (i32.add (call $fails_at (local.get $n)) (i32.const 1)))

  ;; After its loop, grows memory and writes to the new page; its interpreted caller reads
  ;; the result through memory afterwards.
  (func $grows (param $n i32) (local $i i32) (local $sum i32)
    (loop $next
      (local.set $sum (i32.add (local.get $sum) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (drop (memory.grow (i32.const 1)))
    (i32.store (i32.const 65536) (local.get $sum)))
  (func $grows_then_reads (export "grows_then_reads") (param $n i32) (result i32)
    (call $grows (local.get $n))
    (i32.add (i32.load (i32.const 65536)) (memory.size))))"#;

fn engine(strategy: Strategy, synchronous: bool) -> Engine {
    let mut config = Config::new();
    config
        .strategy(strategy)
        .synchronous_tier_up(synchronous)
        .record_tier_events(true);
    if synchronous {
        config.tier_up_threshold(1);
    }
    Engine::new(&config)
}

fn instantiate(engine: &Engine) -> (Store<()>, Instance) {
    let module = Module::new(engine, wasm(PROGRAM)).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

/// Calls export `name` with `arg` on a fresh instance of `engine`.
fn call<R: tierwasm::WasmTyList>(engine: &Engine, name: &str, arg: i32) -> tierwasm::Result<R> {
    let (mut store, instance) = instantiate(engine);
    let func = instance.get_typed_func::<i32, R>(&store, name).unwrap();
    func.call(&mut store, arg)
}

/// Calls export `name` with each of `args` on fresh modules, interpreted and tiered
/// (synchronously, threshold 1, so each call's loops continue in native code from their
/// second iteration): both give `expected(arg)`. Returns the tiered engine.
fn same_as_interpreter<R>(name: &str, args: &[i32], expected: impl Fn(i32) -> R) -> Engine
where
    R: tierwasm::WasmTyList + PartialEq + std::fmt::Debug,
{
    let interp = engine(Strategy::Interpreter, false);
    let tiered = engine(Strategy::Tiered, true);
    for &n in args {
        let result: R = call(&interp, name, n).unwrap();
        assert_eq!(result, expected(n), "{name}({n}) interpreted");
        assert_eq!(
            call::<R>(&tiered, name, n).unwrap(),
            result,
            "{name}({n}) tiered"
        );
    }
    tiered
}

/// A tiered engine at threshold 1 with one compile thread, which is busy for a while with
/// a function that is slow to compile, queued by its first call in the returned store.
fn busy_compile_thread() -> (Engine, Store<()>) {
    let mut config = Config::new();
    config
        .strategy(Strategy::Tiered)
        .tier_up_threshold(1)
        .compile_threads(1)
        .record_tier_events(true);
    let engine = Engine::new(&config);
    let big = Module::new(&engine, wasm(&slow_to_compile())).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &big, &[]).unwrap();
    let big = instance.get_typed_func::<i32, i32>(&store, "big").unwrap();
    let expected = (0..1_000).fold(1i32, |sum, i: i32| sum.wrapping_add(i));
    assert_eq!(big.call(&mut store, 1).unwrap(), expected);
    (engine, store)
}

/// The events about function `name` that concern an OSR entry, in order.
fn osr_events(events: &[TierEvent], name: &str) -> Vec<(TierEventKind, Option<u32>)> {
    events
        .iter()
        .filter(|event| event.func_name.as_deref() == Some(name) && event.loop_index.is_some())
        .map(|event| (event.kind, event.loop_index))
        .collect()
}

#[test]
fn a_long_loop_in_a_function_called_once_continues_in_native_code() {
    // The default configuration: compiled on a compile thread while the loop runs on.
    let engine = engine(Strategy::Tiered, false);
    let n = 30_000_000;
    let sum: i64 = call(&engine, "sum_squares", n).unwrap();
    let expected = (0..n as i64).fold(0i64, |sum, i| sum.wrapping_add(i * i));
    assert_eq!(sum, expected);
    let events = engine.tier_events();
    let loop_0 = Some(0);
    assert_eq!(
        osr_events(&events, "sum_squares"),
        [
            (TierEventKind::Queued, loop_0),
            (TierEventKind::CompileStarted, loop_0),
            (TierEventKind::CompileFinished, loop_0),
            (TierEventKind::OsrEntered, loop_0),
        ]
    );
    let thread = |kind| {
        let event = events.iter().find(|event| event.kind == kind).unwrap();
        event.thread.clone()
    };
    assert!(thread(TierEventKind::CompileFinished).starts_with("tierwasm-compile-"));
    let this_thread = std::thread::current().name().unwrap().to_string();
    assert_eq!(
        thread(TierEventKind::OsrEntered),
        this_thread,
        "the frame's own thread"
    );
    let stats = engine.stats();
    assert_eq!(stats.osr_entries_compiled, 1);
    assert_eq!(stats.osr_transfers, 1);
    assert_eq!(stats.osr_compile_failures, 0);
}

#[test]
fn a_queued_entry_for_a_loop_the_frame_has_left_is_dropped_for_the_loop_it_is_in() {
    // When the compile thread gets to the short loop's entry, the frame has been in the long
    // loop for a while.
    let (engine, mut store) = busy_compile_thread();

    let module = Module::new(&engine, wasm(LOOP_THEN_LONG_LOOP)).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let two_loops = instance
        .get_typed_func::<i32, i32>(&store, "two_loops")
        .unwrap();
    let n = 100_000_000;
    let short_loop: i32 = 1;
    let expected = (0..n).fold(short_loop, |sum, i: i32| sum.wrapping_add(i ^ 0x55));
    assert_eq!(two_loops.call(&mut store, n).unwrap(), expected);

    let events = engine.tier_events();
    let (short, long) = (Some(0), Some(1));
    assert_eq!(
        osr_events(&events, "two_loops"),
        [
            (TierEventKind::Queued, short),
            // The loops are two nests: the short loop's pending entry does not hold the long
            // loop's back.
            (TierEventKind::Queued, long),
            (TierEventKind::OsrDropped, short),
            (TierEventKind::CompileStarted, long),
            (TierEventKind::CompileFinished, long),
            (TierEventKind::OsrEntered, long),
        ],
        "{events:?}"
    );
    let stats = engine.stats();
    assert_eq!(stats.osr_entries_dropped, 1);
    assert_eq!(stats.osr_entries_compiled, 1);
    assert_eq!(stats.osr_transfers, 1);
}

#[test]
fn a_frame_in_an_inner_loop_enters_the_ready_entry_of_its_outer_loop_without_asking_for_its_own() {
    // The outer loop's entry is compiled while the frame spends ten looks of eleven in the
    // inner loop, so its first look after that is most likely from the inner loop.
    let (engine, mut store) = busy_compile_thread();

    let module = Module::new(&engine, wasm(OUTER_THEN_INNER)).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let nested = instance
        .get_typed_func::<i32, i32>(&store, "outer_then_inner")
        .unwrap();
    let n = 30_000_000;
    let expected = (1..n).fold(0i32, |sum, i: i32| {
        (0..10).fold(sum, |sum, j| sum.wrapping_add(i ^ j))
    });
    assert_eq!(nested.call(&mut store, n).unwrap(), expected);

    let events = engine.tier_events();
    let outer = Some(0);
    assert_eq!(
        osr_events(&events, "outer_then_inner"),
        [
            (TierEventKind::Queued, outer),
            (TierEventKind::CompileStarted, outer),
            (TierEventKind::CompileFinished, outer),
            (TierEventKind::OsrEntered, outer),
        ],
        "{events:?}"
    );
    assert_eq!(engine.stats().osr_entries_compiled, 1);
}

#[test]
fn operand_stack_values_and_nested_blocks_survive_the_transfer() {
    let tiered = same_as_interpreter("stacked", &[0, 1, 2, 3, 100, 5000], |n| {
        let loop_sum: i64 = (0..n).map(|i| i64::from(i ^ 0x5a5a)).sum();
        let inner = if n > 0 { 7 + loop_sum } else { -1 };
        1000 + i64::from(4 * n) + inner
    });
    // Each call is the first of a fresh module, so it runs interpreted, and at threshold 1 its
    // loop continues in native code from its second iteration: n = 2, 3, 100 and 5000.
    assert_eq!(tiered.stats().osr_transfers, 4);
    assert_eq!(tiered.stats().osr_entries_compiled, 4);
}

#[test]
fn a_frame_leaving_its_loop_nest_goes_on_in_the_interpreter_with_the_values_it_carries() {
    let tiered = same_as_interpreter("leaves", &[0, 1, 2, 3, 4, 5, 99, 100, 101], |n| {
        let iterations = i64::from(n.max(1));
        let f = (iterations * (iterations - 1) / 2) as f64;
        match n % 3 {
            1 => 1000.0 + 2.0 * f,
            2 => 1000.0 + 0.5 - f,
            _ => {
                let carried = i64::from(n) + iterations * (iterations + 1) / 2;
                1000.0 + carried as f64 + f
            }
        }
    });
    // The loop of each call from n = 2 on continues in native code from its second
    // iteration, and every one of those frames comes back after it.
    let stats = tiered.stats();
    assert_eq!(stats.osr_transfers, 7);
    assert_eq!(stats.osr_exits, 7);
}

#[test]
fn an_entry_in_a_later_loop_nest_runs_the_frame_to_its_return() {
    let tiered = same_as_interpreter("later_nest", &[1, 2, 100, 1000], |n| {
        let iterations = f64::from(n.max(1));
        1.0 + iterations * (iterations - 1.0) / 2.0
    });
    let stats = tiered.stats();
    assert_eq!(stats.osr_transfers, 3, "n = 2, 100 and 1000");
    assert_eq!(stats.osr_exits, 0);
}

#[test]
fn nested_loops_entered_at_the_inner_loop_finish_in_native_code() {
    let tiered = same_as_interpreter("nested", &[1, 2, 50, 700], |n| {
        let mut sum = 5i32;
        for i in 0..n {
            for j in 0..n {
                sum = sum.wrapping_add((i.wrapping_mul(j)) ^ j);
            }
        }
        sum
    });
    let events = tiered.tier_events();
    let entered = osr_events(&events, "nested")
        .into_iter()
        .filter(|(kind, _)| *kind == TierEventKind::OsrEntered);
    assert!(
        entered.eq([(TierEventKind::OsrEntered, Some(1)); 3]),
        "n = 2, 50, 700 entered at the inner loop (the body's second `loop`): {events:?}"
    );
}

#[test]
fn a_dispatch_loop_continues_in_native_code_at_a_case() {
    let tiered = same_as_interpreter("dispatch", &[1, 2, 3, 5, 1000, 100_000], |n| {
        (0..n).fold(0i32, |acc, i| match i & 3 {
            0 => acc.wrapping_add(3),
            1 => acc ^ i,
            2 => acc.wrapping_mul(7),
            _ => acc.wrapping_sub(i),
        })
    });
    // A case's jump to a later case is forward: the first backward one comes from case 3 to
    // case 0, so from n = 5 on each fresh module's first call continued in native code.
    assert_eq!(tiered.stats().osr_transfers, 3);
    assert_eq!(tiered.stats().osr_compile_failures, 0);
}

#[test]
fn a_trap_in_native_code_after_the_transfer_has_the_interpreter_s_backtrace() {
    for (strategy, synchronous) in [(Strategy::Interpreter, false), (Strategy::Tiered, true)] {
        let engine = engine(strategy, synchronous);
        let error = call::<i32>(&engine, "calls_failing", 40).unwrap_err();
        assert_eq!(error.trap_code(), Some(TrapCode::IntegerDivisionByZero));
        let frames = error.backtrace().unwrap().frames();
        let names: Vec<_> = frames.iter().map(|f| f.func_name.as_deref()).collect();
        assert_eq!(
            names,
            [Some("fails_at"), Some("calls_failing")],
            "{strategy:?}"
        );
        let transfers = engine.stats().osr_transfers;
        assert_eq!(
            transfers,
            u64::from(strategy == Strategy::Tiered),
            "{strategy:?}"
        );
    }
}

#[test]
fn an_interpreted_caller_sees_memory_grown_by_native_code_after_the_transfer() {
    let n = 1000;
    let expected = (0..n).sum::<i32>() + 2;
    for (strategy, synchronous) in [(Strategy::Interpreter, false), (Strategy::Tiered, true)] {
        let engine = engine(strategy, synchronous);
        let result: i32 = call(&engine, "grows_then_reads", n).unwrap();
        assert_eq!(result, expected, "{strategy:?}");
    }
}

#[test]
fn no_other_strategy_transfers_frames() {
    for strategy in [Strategy::Interpreter, Strategy::Mixed] {
        let engine = engine(strategy, false);
        let sum: i64 = call(&engine, "sum_squares", 2_000_000).unwrap();
        assert_eq!(sum, (0..2_000_000i64).fold(0, |sum, i| sum + i * i));
        let stats = engine.stats();
        assert_eq!(
            stats.osr_entries_compiled + stats.osr_transfers,
            0,
            "{strategy:?}"
        );
    }
}
