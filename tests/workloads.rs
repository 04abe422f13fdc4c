//! Differential test: every benchmark workload (`benches/workloads`) at a small size gives
//! the checksum that V8 computes (`node benches/workloads/v8_checksums.js` prints them), in
//! the interpreter, in native code and tiered.
//! The workloads exercise the interpreter's fused instructions on real compiled code.

mod common;

use std::path::Path;

use tierwasm::{Instance, Module, Val};

/// `(workload, size, checksum)`; the checksum's width is the export's result type.
const EXPECTED: &[(&str, i32, u64)] = &[
    ("recursion", 3, 0x68a5da),
    ("collatz", 2000, 0x1f3901c505),
    ("vm", 500, 0x14ab61cc),
    ("quicksort", 3000, 0xb6c87336),
    ("heapsort", 3000, 0x96cba45b0348bf42),
    ("hash32", 3, 0xdcdaa390),
    ("hash64", 30, 0x4aad32a245230bac),
    ("sieve", 20000, 0xf0153b99),
    ("matmul", 12, 0xf5d23650),
    ("nbody", 300, 0xbfc5a23aac9a5b5f),
    ("memops", 2000, 0x7ebfc491),
    ("parse", 300, 0x44f4d7aa46565d52),
    ("indirect", 5000, 0x48410a58),
];

fn checksum(value: &Val) -> u64 {
    match value {
        Val::I32(v) => *v as u32 as u64,
        Val::I64(v) => *v as u64,
        other => panic!("workloads return an integer checksum, not {other:?}"),
    }
}

#[test]
fn every_workload_matches_v8() {
    check_every_workload(common::store());
}

#[cfg(feature = "jit")]
#[test]
fn every_workload_matches_v8_in_native_code() {
    let engine =
        tierwasm::Engine::new(tierwasm::Config::new().strategy(tierwasm::Strategy::Compiled));
    check_every_workload(tierwasm::Store::new(&engine, ()));
    let stats = engine.stats();
    assert!(stats.functions_compiled > 0);
    assert_eq!(stats.compile_failures, 0);
}

/// Tiered, deterministically: every function is compiled at its second call, and every
/// loop of a frame still interpreted continues in native code from its second iteration.
#[cfg(feature = "jit")]
#[test]
fn every_workload_matches_v8_when_tiered_at_every_loop() {
    let mut config = tierwasm::Config::new();
    config
        .strategy(tierwasm::Strategy::Tiered)
        .synchronous_tier_up(true)
        .tier_up_threshold(1);
    let engine = tierwasm::Engine::new(&config);
    check_every_workload(tierwasm::Store::new(&engine, ()));
    let stats = engine.stats();
    assert!(stats.osr_transfers > 0);
    assert_eq!(stats.compile_failures + stats.osr_compile_failures, 0);
}

/// Tiered as by default: compiled on the compile threads while the workloads run.
#[cfg(feature = "jit")]
#[test]
fn every_workload_matches_v8_when_tiered_in_the_background() {
    let engine =
        tierwasm::Engine::new(tierwasm::Config::new().strategy(tierwasm::Strategy::Tiered));
    check_every_workload(tierwasm::Store::new(&engine, ()));
}

fn check_every_workload(mut store: tierwasm::Store<()>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/workloads");
    for &(name, size, expected) in EXPECTED {
        let bytes = std::fs::read(dir.join(format!("{name}.wasm"))).unwrap();
        let module = Module::new(store.engine(), bytes).unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let run = instance.get_func(&mut store, "run").unwrap();
        // Twice: the workloads rebuild their state on every call.
        for _ in 0..2 {
            let mut results = [Val::I32(0)];
            run.call(&mut store, &[Val::I32(size)], &mut results)
                .unwrap();
            assert_eq!(checksum(&results[0]), expected, "{name}({size})");
        }
    }
}

#[test]
fn recursive_fib_from_text() {
    let mut store = common::store();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/workloads/fib.wat"),
    )
    .unwrap();
    let instance = common::instantiate(&mut store, &text);
    let fib = instance
        .get_typed_func::<i32, i32>(&mut store, "fib")
        .unwrap();
    assert_eq!(fib.call(&mut store, 20).unwrap(), 6765);
}
