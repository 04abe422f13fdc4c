//! The interpreter's threaded dispatch: in optimised builds every handler hands over to the
//! next with a sibling call (a jump), so running code must not grow the host stack. These
//! tests run long loops and deep recursion on a thread with a small stack; a single handler
//! that really called its successor would overflow it (with `cargo test --release`; debug
//! builds use the loop driver and run fewer iterations).

mod common;

use common::wasm;
use tierwasm::{Config, Engine, Instance, Module, Store, Strategy};

/// The interpreter refuses to start a new activation with less host stack left than this
/// (its guard against host/Wasm re-entrancy overflowing the stack).
const REENTRY_RESERVE: usize = 256 * 1024;

/// Host stack the executor itself may use in these tests.
const EXECUTOR_STACK: usize = 256 * 1024;

/// Runs `f` on a thread whose stack leaves the executor only `EXECUTOR_STACK` bytes.
fn on_small_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(REENTRY_RESERVE + EXECUTOR_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .expect("the test thread does not overflow its stack")
}

/// Iterations of the loops: 10^8 where sibling calls are at stake, fewer in debug builds.
const ITERATIONS: i64 = if cfg!(debug_assertions) {
    100_000
} else {
    100_000_000
};

#[test]
fn a_long_loop_runs_in_constant_host_stack() {
    let count = on_small_stack(|| {
        let engine = Engine::new(Config::new().strategy(Strategy::Interpreter));
        let mut store = Store::new(&engine, ());
        let module = Module::new(
            &engine,
            wasm(
                r#"(module
                 (func (export "count") (param $n i64) (result i64)
                   (local $i i64)
                   (loop $again
                     (local.set $i (i64.add (local.get $i) (i64.const 1)))
                     (br_if $again (i64.lt_u (local.get $i) (local.get $n))))
                   (local.get $i)))"#,
            ),
        )
        .unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let count = instance
            .get_typed_func::<i64, i64>(&mut store, "count")
            .unwrap();
        count.call(&mut store, ITERATIONS).unwrap()
    });
    assert_eq!(count, ITERATIONS);
}

#[test]
fn a_loop_over_many_instruction_kinds_runs_in_constant_host_stack() {
    let iterations: i32 = if cfg!(debug_assertions) {
        10_000
    } else {
        2_000_000
    };
    let sum = on_small_stack(move || {
        let engine = Engine::new(Config::new().strategy(Strategy::Interpreter));
        let mut store = Store::new(&engine, ());
        let module = Module::new(
            &engine,
            wasm(
                r#"(module
                 (memory 1)
                 (table 2 funcref)
                 (elem (i32.const 0) $double $negate)
                 (type $unary (func (param i32) (result i32)))
                 (global $g (mut i32) (i32.const 0))
                 (func $double (param i32) (result i32) (i32.shl (local.get 0) (i32.const 1)))
                 (func $negate (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
                 (func (export "run") (param $n i32) (result i64)
                   (local $i i32) (local $acc i64) (local $x i32)
                   (block $done
                     (loop $again
                       (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                       ;; memory: store, load, size
                       (i32.store offset=8 (i32.and (local.get $i) (i32.const 255)) (local.get $i))
                       (local.set $x (i32.load offset=8 (i32.and (local.get $i) (i32.const 255))))
                       (local.set $x (i32.add (local.get $x) (memory.size)))
                       ;; calls, direct and indirect
                       (local.set $x (call $double (local.get $x)))
                       (local.set $x
                         (call_indirect (type $unary) (local.get $x)
                           (i32.and (local.get $i) (i32.const 1))))
                       ;; globals, select, conversions, floats
                       (global.set $g (i32.add (global.get $g) (i32.const 1)))
                       (local.set $x
                         (select (local.get $x) (global.get $g) (i32.lt_s (local.get $x) (i32.const 0))))
                       (local.set $acc
                         (i64.add (local.get $acc)
                           (i64.trunc_f64_s
                             (f64.sqrt (f64.convert_i32_u (i32.and (local.get $x) (i32.const 1023)))))))
                       ;; br_table
                       (block $b2 (block $b1 (block $b0
                         (br_table $b0 $b1 $b2 (i32.rem_u (local.get $i) (i32.const 3))))
                         (local.set $acc (i64.add (local.get $acc) (i64.const 1))))
                         (local.set $acc (i64.add (local.get $acc) (i64.const 2))))
                       (local.set $i (i32.add (local.get $i) (i32.const 1)))
                       (br $again)))
                   (local.get $acc)))"#,
            ),
        )
        .unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let run = instance
            .get_typed_func::<i32, i64>(&mut store, "run")
            .unwrap();
        run.call(&mut store, iterations).unwrap()
    });
    assert!(sum > 0);
}

#[test]
fn deep_recursion_runs_in_constant_host_stack() {
    const DEPTH: i32 = 90_000;
    let sum = on_small_stack(|| {
        let mut config = Config::new();
        config
            .max_call_depth(100_000)
            .strategy(Strategy::Interpreter);
        let engine = Engine::new(&config);
        let mut store = Store::new(&engine, ());
        let module = Module::new(
            &engine,
            wasm(
                r#"(module
                 (func $sum (export "sum") (param i32) (result i64)
                   (if (result i64) (i32.eqz (local.get 0))
                     (then (i64.const 0))
                     (else (i64.add (i64.extend_i32_u (local.get 0))
                                    (call $sum (i32.sub (local.get 0) (i32.const 1))))))))"#,
            ),
        )
        .unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let sum = instance
            .get_typed_func::<i32, i64>(&mut store, "sum")
            .unwrap();
        // Twice: the second run reuses the grown value stack.
        sum.call(&mut store, DEPTH).unwrap();
        sum.call(&mut store, DEPTH).unwrap()
    });
    assert_eq!(sum, DEPTH as i64 * (DEPTH as i64 + 1) / 2);
}

/// Calls from interpreted code into native code return to the interpreter's handlers without
/// leaving a host frame behind: a loop making 10^6 such calls (which would leave megabytes)
/// runs on a 2 MiB stack. (Entering native code needs 768 KiB of stack left, more than the
/// other tests' small stack has.)
#[cfg(feature = "jit")]
#[test]
fn calls_into_native_code_run_in_constant_host_stack() {
    let calls: i32 = if cfg!(debug_assertions) {
        10_000
    } else {
        1_000_000
    };
    let thread = std::thread::Builder::new().stack_size(2 * 1024 * 1024);
    let sum = thread.spawn(move || {
        // Under `Mixed`, function 0 runs native and function 1 (the loop) is interpreted.
        let engine = Engine::new(Config::new().strategy(Strategy::Mixed));
        let mut store = Store::new(&engine, ());
        let module = Module::new(
            &engine,
            wasm(
                r#"(module
                 (func $double (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
                 (func (export "run") (param i32) (result i64) (local $sum i64)
                   (loop $again
                     (local.set $sum
                       (i64.add (local.get $sum) (i64.extend_i32_u (call $double (i32.const 1)))))
                     (br_if $again (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
                   (local.get $sum)))"#,
            ),
        )
        .unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let run = instance
            .get_typed_func::<i32, i64>(&mut store, "run")
            .unwrap();
        run.call(&mut store, calls).unwrap()
    });
    let sum = sum
        .unwrap()
        .join()
        .expect("the test thread does not overflow its stack");
    assert_eq!(sum, 2 * calls as i64);
}
