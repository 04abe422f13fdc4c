//! The engine's compile pool: `Module::compile_all`, and `Module::new` under
//! `Strategy::Compiled`, compile every defined function in parallel on the calling thread and
//! the engine's compile threads, with the interpreter's results, on any number of threads,
//! from several host threads at once, and engines with work still queued drop cleanly.
#![cfg(feature = "jit")]

mod common;

use common::wasm;
use tierwasm::{Config, Engine, EngineStats, Linker, Module, Store, Strategy, Val};

/// How many functions [`many_functions`] defines.
const COUNT: u64 = 120;

/// The arguments every function is called with.
const ARGS: [i64; 4] = [0, 9, -1, 123_456_789];

/// A module of `count` exported functions `f0`…: each a loop of its own length and constants
/// that stores to memory, calls the one before it, and (every tenth) traps on 9, so that
/// every function is needed and compiles to code of its own. `salt` varies the constants.
fn many_functions(count: u64, salt: u64) -> Vec<u8> {
    let mut text = String::from("(module (memory 1)\n");
    for i in 0..count {
        let seed = i * 7919 + salt;
        let rounds = i % 13 + 1;
        let rotate = (i + salt) % 64;
        let callee = match i {
            0 => "(local.get $x)".to_string(),
            _ => format!("(call $f{} (local.get $x))", i - 1),
        };
        let trap = match i % 10 {
            9 => "(if (i64.eq (local.get $x) (i64.const 9)) (then unreachable))",
            _ => "",
        };
        text += &format!(
            r#"(func $f{i} (export "f{i}") (param $x i64) (result i64) (local $acc i64) (local $n i32)
                 {trap}
                 (local.set $acc (i64.const {seed}))
                 (loop $next
                   (local.set $acc
                     (i64.add (i64.mul (local.get $acc) (i64.const 6364136223846793005))
                              (i64.xor (local.get $x) (i64.extend_i32_u (local.get $n)))))
                   (i64.store (i32.shl (local.get $n) (i32.const 3)) (local.get $acc))
                   (local.set $n (i32.add (local.get $n) (i32.const 1)))
                   (br_if $next (i32.lt_u (local.get $n) (i32.const {rounds}))))
                 (i64.add (i64.rotl (local.get $acc) (i64.const {rotate}))
                          (i64.xor {callee} (i64.load (i32.const 8)))))
"#
        );
    }
    text.push(')');
    wasm(&text)
}

fn engine(strategy: Strategy, threads: Option<usize>) -> Engine {
    let mut config = Config::new();
    config.strategy(strategy);
    if let Some(threads) = threads {
        config.compile_threads(threads);
    }
    Engine::new(&config)
}

/// Calls every export of `module` on `engine` with every one of [`ARGS`]: the results, or
/// the trap codes.
fn outcomes(engine: &Engine, module: &Module) -> Vec<String> {
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate(&mut store, module)
        .expect("instantiates");
    let mut outcomes = Vec::new();
    for export in module.exports() {
        let func = instance
            .get_func(&store, export.name())
            .expect("a function");
        for arg in ARGS {
            let mut results = [Val::I64(0)];
            let outcome = func
                .call(&mut store, &[Val::I64(arg)], &mut results)
                .map(|()| results[0].i64())
                .map_err(|error| error.trap_code());
            outcomes.push(format!("{}({arg}) = {outcome:?}", export.name()));
        }
    }
    outcomes
}

/// What the interpreter computes for `many_functions(count, salt)`.
fn interpreted(count: u64, salt: u64) -> Vec<String> {
    let engine = engine(Strategy::Interpreter, None);
    let module = Module::new(&engine, many_functions(count, salt)).expect("valid");
    outcomes(&engine, &module)
}

/// `count` functions compiled, none refused, and none translated for the interpreter.
#[track_caller]
fn assert_all_native(stats: EngineStats, count: u64) {
    assert_eq!(stats.functions_compiled, count, "{stats:?}");
    assert_eq!(stats.compile_failures, 0, "{stats:?}");
    assert_eq!(stats.functions_translated, 0, "{stats:?}");
    assert!(stats.native_code_bytes > 0, "{stats:?}");
}

#[test]
fn every_thread_count_compiles_every_function_once_with_the_interpreters_results() {
    let expected = interpreted(COUNT, 1);
    assert!(
        expected
            .iter()
            .any(|outcome| outcome.contains("Unreachable"))
    );
    for threads in [0, 1, 2, 3, 8] {
        let engine = engine(Strategy::Compiled, Some(threads));
        let module = Module::new(&engine, many_functions(COUNT, 1)).unwrap();
        assert_all_native(engine.stats(), COUNT);
        // Everything is compiled already: compiling again changes nothing.
        assert_eq!(module.compile_all(), 0);
        let compiled = engine.stats();
        assert_all_native(compiled, COUNT);
        assert_eq!(outcomes(&engine, &module), expected, "{threads} threads");
        // Calls compile no function (only the host's trampoline for their signature).
        let after_calls = engine.stats();
        assert_eq!(
            (after_calls.functions_compiled, after_calls.compile_failures),
            (compiled.functions_compiled, compiled.compile_failures),
            "{threads} threads"
        );
        assert_eq!(after_calls.trampolines_compiled, 1, "{threads} threads");
    }
}

#[test]
fn compile_all_compiles_every_function_on_any_number_of_threads() {
    for threads in [0, 1, 4] {
        // The interpreter's engine compiles nothing by itself.
        let engine = engine(Strategy::Interpreter, Some(threads));
        let module = Module::new(&engine, many_functions(COUNT, 2)).unwrap();
        assert_eq!(engine.stats(), EngineStats::default());
        assert_eq!(module.compile_all(), 0);
        let stats = engine.stats();
        assert_eq!(stats.functions_compiled, COUNT, "{threads} threads");
        assert_eq!(module.compile_all(), 0);
        assert_eq!(
            engine.stats(),
            stats,
            "{threads} threads: nothing compiled twice"
        );
    }
}

#[test]
fn every_function_is_compiled_before_the_first_call() {
    let engine = engine(Strategy::Compiled, None);
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
              (import "host" "seven" (func $seven (result i32)))
              (global $g (mut i32) (i32.const 0))
              (func $start (global.set $g (call $seven)))
              (start $start)
              (func $double (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
              (func (export "run") (result i32) (call $double (global.get $g)))
              (func $never (export "never") (result i64) (i64.const 1)))"#,
        ),
    )
    .unwrap();
    // Before any instance exists, let alone a call, every defined function (not the import)
    // has native code.
    assert_all_native(engine.stats(), 4);
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "seven", || 7).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<(), i32>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 14);
    assert_all_native(engine.stats(), 4);
}

#[test]
fn host_threads_compile_many_modules_at_once_on_one_engine() {
    const THREADS: u64 = 4;
    const MODULES: u64 = 3;
    const FUNCS: u64 = 40;
    let engine = engine(Strategy::Compiled, Some(2));
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let engine = &engine;
            scope.spawn(move || {
                for module in 0..MODULES {
                    let salt = thread * MODULES + module;
                    let compiled = Module::new(engine, many_functions(FUNCS, salt)).unwrap();
                    assert_eq!(
                        outcomes(engine, &compiled),
                        interpreted(FUNCS, salt),
                        "module {salt}"
                    );
                }
            });
        }
    });
    assert_all_native(engine.stats(), THREADS * MODULES * FUNCS);
}

#[test]
fn an_engine_dropped_with_compile_jobs_queued_shuts_down() {
    // More workers than cores: some of each module's jobs are likely still queued when its
    // functions are all compiled, and when the engine is dropped.
    let engine = engine(Strategy::Compiled, Some(8));
    for salt in 0..10 {
        let module = Module::new(&engine, many_functions(30, salt)).unwrap();
        drop(module);
    }
    assert_all_native(engine.stats(), 300);
    drop(engine);
}
