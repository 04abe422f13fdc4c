//! The compile pool's threads: none until an engine compiles a module that can use them (or,
//! tiered, makes its first module), then `Config::compile_threads` of them, all joined when the engine is dropped, also with
//! jobs still queued. Alone in its test binary, so that no other test's engine has threads,
//! and Linux only: it counts the process's threads by name in `/proc/self/task`.
#![cfg(all(feature = "jit", target_os = "linux"))]

mod common;

use common::wasm;
use tierwasm::{Config, Engine, Module, Strategy};

/// How many threads of this process are compile workers (`tierwasm-compile-N`, which Linux
/// truncates to 15 bytes).
fn compile_workers() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task lists the process's threads")
        .filter(|task| {
            let comm = task.as_ref().expect("a task").path().join("comm");
            std::fs::read_to_string(comm).is_ok_and(|name| name.trim_end() == "tierwasm-compil")
        })
        .count()
}

/// [`compile_workers`] once it is `expected`, or after 10 s. A thread names itself once it
/// runs, and a joined thread's entry leaves `/proc` a moment after the join returns.
fn compile_workers_settling_at(expected: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let count = compile_workers();
        if count == expected || std::time::Instant::now() >= deadline {
            return count;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// A module of `count` small functions.
fn functions(count: usize) -> Vec<u8> {
    let funcs = (0..count)
        .map(|i| format!("(func (export \"f{i}\") (result i32) (i32.const {i}))"))
        .collect::<String>();
    wasm(&format!("(module {funcs})"))
}

#[test]
fn compile_threads_start_on_demand_and_are_joined_when_the_engine_drops() {
    let engine = Engine::new(
        Config::new()
            .strategy(Strategy::Compiled)
            .compile_threads(3),
    );
    assert_eq!(compile_workers(), 0, "an engine starts no thread by itself");
    // One function is compiled on the calling thread: no help needed.
    Module::new(&engine, functions(1)).unwrap();
    assert_eq!(compile_workers(), 0);
    assert_eq!(engine.stats().functions_compiled, 1);

    let modules: Vec<Module> = (0..5)
        .map(|_| Module::new(&engine, functions(40)).unwrap())
        .collect();
    assert_eq!(compile_workers(), 3);
    assert_eq!(engine.stats().functions_compiled, 201);
    // The modules keep the engine alive; the last of them drops it here, on this thread,
    // whatever the workers still have in their queue.
    drop(engine);
    assert_eq!(compile_workers(), 3);
    drop(modules);
    assert_eq!(compile_workers_settling_at(0), 0, "every worker is joined");

    let interpreter = Engine::new(
        Config::new()
            .strategy(Strategy::Interpreter)
            .compile_threads(2),
    );
    Module::new(&interpreter, functions(40)).unwrap();
    assert_eq!(
        compile_workers(),
        0,
        "the interpreter's engine compiles nothing"
    );

    // A tiered engine starts its threads with its first module, ready for the first tier-up.
    let tiered = Engine::new(Config::new().strategy(Strategy::Tiered).compile_threads(2));
    assert_eq!(compile_workers(), 0);
    let module = Module::new(&tiered, functions(1)).unwrap();
    assert_eq!(compile_workers_settling_at(2), 2);
    assert_eq!(tiered.stats().functions_compiled, 0, "nothing is hot yet");
    drop((module, tiered));
    assert_eq!(compile_workers_settling_at(0), 0, "every worker is joined");
}
