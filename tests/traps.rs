//! Traps raised by wasm code: every trap code, its message, and the wasm
//! backtrace with the function names of the name section.

mod common;

use common::{expect_err, wasm};
use tierwasm::{Config, Engine, Error, ErrorKind, Instance, Module, Store, Strategy, TrapCode};

/// Every execution strategy of this build: traps and their backtraces are the same in all.
fn strategies() -> Vec<Strategy> {
    vec![
        Strategy::Interpreter,
        #[cfg(feature = "jit")]
        Strategy::Compiled,
        #[cfg(feature = "jit")]
        Strategy::Mixed,
    ]
}

fn config(strategy: Strategy) -> Config {
    let mut config = Config::new();
    config.strategy(strategy);
    config
}

const TRAPS: &str = r#"(module $traps
  (type $i2i (func (param i32) (result i32)))
  (memory 1)
  (table $table 4 funcref)
  (elem (i32.const 0) $identity $nothing)
  (global $depth (mut i32) (i32.const 0))

  (func $identity (param i32) (result i32) local.get 0)
  (func $nothing)

  (func $unreachable (export "unreachable") call $inner)
  (func $inner unreachable)

  (func $div_by_zero (export "div_by_zero") (result i32)
    (i32.div_s (i32.const 1) (i32.const 0)))
  (func $rem_by_zero (export "rem_by_zero") (result i64)
    (i64.rem_u (i64.const 1) (i64.const 0)))
  (func $div_overflow (export "div_overflow") (result i32)
    (i32.div_s (i32.const 0x80000000) (i32.const -1)))
  (func $trunc_overflow (export "trunc_overflow") (result i32)
    (i32.trunc_f64_s (f64.const 3e9)))
  (func $trunc_negative (export "trunc_negative") (result i64)
    (i64.trunc_f32_u (f32.const -1)))
  (func $trunc_nan (export "trunc_nan") (result i32)
    (i32.trunc_f32_s (f32.const nan)))

  (func $load_oob (export "load_oob") (result i32)
    (i32.load (i32.const 65533)))
  (func $store_oob (export "store_oob")
    (i64.store8 (i32.const -1) (i64.const 0)))
  (func $offset_oob (export "offset_oob") (result i32)
    (i32.load offset=65536 (i32.const 0)))
  (func $fill_oob (export "fill_oob")
    (memory.fill (i32.const 65530) (i32.const 0) (i32.const 7)))

  (func $table_get_oob (export "table_get_oob")
    (drop (table.get $table (i32.const 4))))
  (func $call_past_table (export "call_past_table") (result i32)
    (call_indirect (type $i2i) (i32.const 0) (i32.const 4)))
  (func $call_null (export "call_null") (result i32)
    (call_indirect (type $i2i) (i32.const 0) (i32.const 2)))
  (func $call_bad_signature (export "call_bad_signature") (result i32)
    (call_indirect (type $i2i) (i32.const 0) (i32.const 1)))
  (func $call_ok (export "call_ok") (result i32)
    (call_indirect (type $i2i) (i32.const 5) (i32.const 0)))

  (func $recurse (export "recurse")
    (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
    call $recurse)
  (func (export "depth") (result i32) global.get $depth))"#;

fn traps_instance(config: &Config) -> (Store<()>, Instance) {
    let engine = Engine::new(config);
    let module = Module::new(&engine, wasm(TRAPS)).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

/// Calls the export `name`, which must trap, and returns its error.
fn trap(store: &mut Store<()>, instance: Instance, name: &str) -> Error {
    let func = instance
        .get_func(&mut *store, name)
        .unwrap_or_else(|| panic!("no export {name}"));
    let mut results = vec![tierwasm::Val::I64(0); func.ty(&*store).results().len()];
    let err = expect_err(func.call(&mut *store, &[], &mut results), ErrorKind::Trap);
    assert!(err.trap_code().is_some(), "{name}: trap without a code");
    err
}

/// The names of the backtrace's frames, innermost first.
fn frame_names(err: &Error) -> Vec<String> {
    let backtrace = err.backtrace().expect("traps carry a wasm backtrace");
    backtrace
        .frames()
        .iter()
        .map(|frame| frame.func_name.clone().unwrap_or_default())
        .collect()
}

#[test]
fn every_trap_code_with_its_message_and_backtrace() {
    for strategy in strategies() {
        every_trap_code_under(strategy);
    }
}

fn every_trap_code_under(strategy: Strategy) {
    let (mut store, instance) = traps_instance(&config(strategy));
    let cases = [
        ("unreachable", TrapCode::Unreachable, "unreachable", "inner"),
        (
            "div_by_zero",
            TrapCode::IntegerDivisionByZero,
            "integer divide by zero",
            "div_by_zero",
        ),
        (
            "rem_by_zero",
            TrapCode::IntegerDivisionByZero,
            "integer divide by zero",
            "rem_by_zero",
        ),
        (
            "div_overflow",
            TrapCode::IntegerOverflow,
            "integer overflow",
            "div_overflow",
        ),
        (
            "trunc_overflow",
            TrapCode::IntegerOverflow,
            "integer overflow",
            "trunc_overflow",
        ),
        (
            "trunc_negative",
            TrapCode::IntegerOverflow,
            "integer overflow",
            "trunc_negative",
        ),
        (
            "trunc_nan",
            TrapCode::BadConversionToInteger,
            "invalid conversion to integer",
            "trunc_nan",
        ),
        (
            "load_oob",
            TrapCode::MemoryOutOfBounds,
            "out of bounds memory access",
            "load_oob",
        ),
        (
            "store_oob",
            TrapCode::MemoryOutOfBounds,
            "out of bounds memory access",
            "store_oob",
        ),
        (
            "offset_oob",
            TrapCode::MemoryOutOfBounds,
            "out of bounds memory access",
            "offset_oob",
        ),
        (
            "fill_oob",
            TrapCode::MemoryOutOfBounds,
            "out of bounds memory access",
            "fill_oob",
        ),
        (
            "table_get_oob",
            TrapCode::TableOutOfBounds,
            "out of bounds table access",
            "table_get_oob",
        ),
        (
            "call_past_table",
            TrapCode::UndefinedElement,
            "undefined element",
            "call_past_table",
        ),
        (
            "call_null",
            TrapCode::UninitializedElement,
            "uninitialized element",
            "call_null",
        ),
        (
            "call_bad_signature",
            TrapCode::BadSignature,
            "indirect call type mismatch",
            "call_bad_signature",
        ),
        (
            "recurse",
            TrapCode::StackOverflow,
            "call stack exhausted",
            "recurse",
        ),
    ];
    for (export, code, text, innermost) in cases {
        let err = trap(&mut store, instance, export);
        assert_eq!(err.trap_code(), Some(code), "{strategy:?} {export}");
        assert_eq!(code.to_string(), text);
        assert_eq!(err.to_string(), format!("wasm trap: {text}"), "{export}");
        let names = frame_names(&err);
        assert_eq!(
            names.first().map(String::as_str),
            Some(innermost),
            "{strategy:?} {export}: {names:?}"
        );
        if export != "recurse" {
            let expected: &[&str] = match export {
                "unreachable" => &["inner", "unreachable"],
                _ => &[innermost],
            };
            assert_eq!(names, expected, "{strategy:?} {export}");
        }
        assert!(format!("{err:#}").contains(innermost), "{export}: {err:#}");
    }

    // After all these traps the instance still works.
    let call_ok = instance
        .get_typed_func::<(), i32>(&mut store, "call_ok")
        .unwrap();
    assert_eq!(call_ok.call(&mut store, ()).unwrap(), 5);
}

#[test]
fn backtrace_lists_every_wasm_frame_innermost_first() {
    for strategy in strategies() {
        let (mut store, instance) = traps_instance(&config(strategy));
        let err = trap(&mut store, instance, "unreachable");
        assert_eq!(frame_names(&err), ["inner", "unreachable"], "{strategy:?}");

        let backtrace = err.backtrace().unwrap();
        let indices: Vec<u32> = backtrace
            .frames()
            .iter()
            .map(|frame| frame.func_index)
            .collect();
        // Functions 0 to 3 are $identity, $nothing, $unreachable and $inner.
        assert_eq!(indices, [3, 2], "{strategy:?}");
        assert!(
            backtrace
                .frames()
                .iter()
                .all(|frame| frame.module_name.as_deref() == Some("traps"))
        );
    }
}

#[test]
fn backtrace_of_unnamed_functions_has_indices() {
    for strategy in strategies() {
        let engine = Engine::new(&config(strategy));
        let mut store = Store::new(&engine, ());
        let module = Module::new(
            &engine,
            wasm(
                r#"(module
                 (func (export "outer") call 1)
                 (func call 2)
                 (func unreachable))"#,
            ),
        )
        .unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let err = trap(&mut store, instance, "outer");
        let frames = err.backtrace().unwrap().frames();
        let indices: Vec<u32> = frames.iter().map(|frame| frame.func_index).collect();
        assert_eq!(indices, [2, 1, 0], "{strategy:?}");
        assert!(frames.iter().all(|frame| frame.func_name.is_none()));
    }
}

#[test]
fn unbounded_recursion_stops_at_the_configured_call_depth() {
    let depth_reached = |config: &Config| {
        let (mut store, instance) = traps_instance(config);
        let err = trap(&mut store, instance, "recurse");
        assert_eq!(err.trap_code(), Some(TrapCode::StackOverflow));
        assert!(frame_names(&err).iter().all(|name| name == "recurse"));
        let depth = instance
            .get_typed_func::<(), i32>(&mut store, "depth")
            .unwrap();
        depth.call(&mut store, ()).unwrap()
    };

    let mut small = Config::new();
    small.max_call_depth(50);
    let small_depth = depth_reached(&small);
    assert_eq!(
        small_depth, 50,
        "50 frames of `recurse` are live when the 51st call traps"
    );

    let default_depth = depth_reached(&Config::new());
    assert!(default_depth > 1000, "default depth {default_depth}");
}

#[test]
fn deep_but_bounded_recursion_succeeds() {
    let mut config = Config::new();
    config.max_call_depth(1000);
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
    assert_eq!(sum.call(&mut store, 900).unwrap(), 900 * 901 / 2);
    let err = expect_err(sum.call(&mut store, 5000), ErrorKind::Trap);
    assert_eq!(err.trap_code(), Some(TrapCode::StackOverflow));
    assert_eq!(sum.call(&mut store, 10).unwrap(), 55);
}
