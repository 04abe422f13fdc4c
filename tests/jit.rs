//! The Cranelift tier (`Strategy::Compiled`): every numeric operator against the interpreter
//! on edge-case operands, traps, the stack limit, memory growth, and calls between native
//! code, the interpreter and the host.
#![cfg(feature = "jit")]

mod common;

use common::{expect_err, wasm};
use tierwasm::{
    Config, Engine, ErrorKind, Func, Instance, Linker, Module, Store, Strategy, TrapCode, Val,
};

fn engine(strategy: Strategy) -> Engine {
    Engine::new(Config::new().strategy(strategy))
}

/// The operators checked against the interpreter: (name, parameter types, result type).
const OPERATORS: &[(&str, &str, &str)] = &[
    ("i32.add", "i32 i32", "i32"),
    ("i32.sub", "i32 i32", "i32"),
    ("i32.mul", "i32 i32", "i32"),
    ("i32.div_s", "i32 i32", "i32"),
    ("i32.div_u", "i32 i32", "i32"),
    ("i32.rem_s", "i32 i32", "i32"),
    ("i32.rem_u", "i32 i32", "i32"),
    ("i32.and", "i32 i32", "i32"),
    ("i32.or", "i32 i32", "i32"),
    ("i32.xor", "i32 i32", "i32"),
    ("i32.shl", "i32 i32", "i32"),
    ("i32.shr_s", "i32 i32", "i32"),
    ("i32.shr_u", "i32 i32", "i32"),
    ("i32.rotl", "i32 i32", "i32"),
    ("i32.rotr", "i32 i32", "i32"),
    ("i32.eq", "i32 i32", "i32"),
    ("i32.ne", "i32 i32", "i32"),
    ("i32.lt_s", "i32 i32", "i32"),
    ("i32.lt_u", "i32 i32", "i32"),
    ("i32.gt_s", "i32 i32", "i32"),
    ("i32.gt_u", "i32 i32", "i32"),
    ("i32.le_s", "i32 i32", "i32"),
    ("i32.le_u", "i32 i32", "i32"),
    ("i32.ge_s", "i32 i32", "i32"),
    ("i32.ge_u", "i32 i32", "i32"),
    ("i32.clz", "i32", "i32"),
    ("i32.ctz", "i32", "i32"),
    ("i32.popcnt", "i32", "i32"),
    ("i32.eqz", "i32", "i32"),
    ("i32.extend8_s", "i32", "i32"),
    ("i32.extend16_s", "i32", "i32"),
    ("i64.add", "i64 i64", "i64"),
    ("i64.sub", "i64 i64", "i64"),
    ("i64.mul", "i64 i64", "i64"),
    ("i64.div_s", "i64 i64", "i64"),
    ("i64.div_u", "i64 i64", "i64"),
    ("i64.rem_s", "i64 i64", "i64"),
    ("i64.rem_u", "i64 i64", "i64"),
    ("i64.and", "i64 i64", "i64"),
    ("i64.or", "i64 i64", "i64"),
    ("i64.xor", "i64 i64", "i64"),
    ("i64.shl", "i64 i64", "i64"),
    ("i64.shr_s", "i64 i64", "i64"),
    ("i64.shr_u", "i64 i64", "i64"),
    ("i64.rotl", "i64 i64", "i64"),
    ("i64.rotr", "i64 i64", "i64"),
    ("i64.eq", "i64 i64", "i32"),
    ("i64.lt_s", "i64 i64", "i32"),
    ("i64.lt_u", "i64 i64", "i32"),
    ("i64.ge_u", "i64 i64", "i32"),
    ("i64.clz", "i64", "i64"),
    ("i64.ctz", "i64", "i64"),
    ("i64.popcnt", "i64", "i64"),
    ("i64.eqz", "i64", "i32"),
    ("i64.extend8_s", "i64", "i64"),
    ("i64.extend16_s", "i64", "i64"),
    ("i64.extend32_s", "i64", "i64"),
    ("i64.extend_i32_s", "i32", "i64"),
    ("i64.extend_i32_u", "i32", "i64"),
    ("i32.wrap_i64", "i64", "i32"),
    ("f32.add", "f32 f32", "f32"),
    ("f32.sub", "f32 f32", "f32"),
    ("f32.mul", "f32 f32", "f32"),
    ("f32.div", "f32 f32", "f32"),
    ("f32.min", "f32 f32", "f32"),
    ("f32.max", "f32 f32", "f32"),
    ("f32.copysign", "f32 f32", "f32"),
    ("f32.eq", "f32 f32", "i32"),
    ("f32.ne", "f32 f32", "i32"),
    ("f32.lt", "f32 f32", "i32"),
    ("f32.gt", "f32 f32", "i32"),
    ("f32.le", "f32 f32", "i32"),
    ("f32.ge", "f32 f32", "i32"),
    ("f32.abs", "f32", "f32"),
    ("f32.neg", "f32", "f32"),
    ("f32.ceil", "f32", "f32"),
    ("f32.floor", "f32", "f32"),
    ("f32.trunc", "f32", "f32"),
    ("f32.nearest", "f32", "f32"),
    ("f32.sqrt", "f32", "f32"),
    ("f64.add", "f64 f64", "f64"),
    ("f64.sub", "f64 f64", "f64"),
    ("f64.mul", "f64 f64", "f64"),
    ("f64.div", "f64 f64", "f64"),
    ("f64.min", "f64 f64", "f64"),
    ("f64.max", "f64 f64", "f64"),
    ("f64.copysign", "f64 f64", "f64"),
    ("f64.eq", "f64 f64", "i32"),
    ("f64.lt", "f64 f64", "i32"),
    ("f64.ge", "f64 f64", "i32"),
    ("f64.abs", "f64", "f64"),
    ("f64.neg", "f64", "f64"),
    ("f64.ceil", "f64", "f64"),
    ("f64.floor", "f64", "f64"),
    ("f64.trunc", "f64", "f64"),
    ("f64.nearest", "f64", "f64"),
    ("f64.sqrt", "f64", "f64"),
    ("i32.trunc_f32_s", "f32", "i32"),
    ("i32.trunc_f32_u", "f32", "i32"),
    ("i32.trunc_f64_s", "f64", "i32"),
    ("i32.trunc_f64_u", "f64", "i32"),
    ("i64.trunc_f32_s", "f32", "i64"),
    ("i64.trunc_f32_u", "f32", "i64"),
    ("i64.trunc_f64_s", "f64", "i64"),
    ("i64.trunc_f64_u", "f64", "i64"),
    ("i32.trunc_sat_f32_s", "f32", "i32"),
    ("i32.trunc_sat_f32_u", "f32", "i32"),
    ("i32.trunc_sat_f64_s", "f64", "i32"),
    ("i32.trunc_sat_f64_u", "f64", "i32"),
    ("i64.trunc_sat_f32_s", "f32", "i64"),
    ("i64.trunc_sat_f32_u", "f32", "i64"),
    ("i64.trunc_sat_f64_s", "f64", "i64"),
    ("i64.trunc_sat_f64_u", "f64", "i64"),
    ("f32.convert_i32_s", "i32", "f32"),
    ("f32.convert_i32_u", "i32", "f32"),
    ("f32.convert_i64_s", "i64", "f32"),
    ("f32.convert_i64_u", "i64", "f32"),
    ("f64.convert_i32_s", "i32", "f64"),
    ("f64.convert_i32_u", "i32", "f64"),
    ("f64.convert_i64_s", "i64", "f64"),
    ("f64.convert_i64_u", "i64", "f64"),
    ("f32.demote_f64", "f64", "f32"),
    ("f64.promote_f32", "f32", "f64"),
    ("i32.reinterpret_f32", "f32", "i32"),
    ("i64.reinterpret_f64", "f64", "i64"),
    ("f32.reinterpret_i32", "i32", "f32"),
    ("f64.reinterpret_i64", "i64", "f64"),
];

/// Edge-case operands of each type.
fn operands(ty: &str) -> Vec<Val> {
    match ty {
        "i32" => [
            0,
            1,
            -1,
            2,
            7,
            -7,
            31,
            32,
            33,
            0x5555_5555,
            i32::MIN,
            i32::MAX,
        ]
        .map(Val::I32)
        .to_vec(),
        "i64" => [
            0,
            1,
            -1,
            7,
            -7,
            63,
            64,
            65,
            1 << 32,
            (1 << 53) + 1,
            i64::MIN,
            i64::MAX,
        ]
        .map(Val::I64)
        .to_vec(),
        "f32" => {
            let mut values: Vec<Val> = [
                0.0,
                -0.0,
                0.5,
                -0.5,
                1.5,
                2.5,
                -2.5,
                -0.99,
                -1.0,
                3.7,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::MIN_POSITIVE,
                f32::MAX,
                2147483648.0,
                -2147483904.0,
                2147483520.0,
                4294967296.0,
                4294967040.0,
                9.223372e18,
                -9.223372e18,
                1.8446743e19,
            ]
            .map(Val::from)
            .to_vec();
            values.extend([Val::F32(0x7fc0_0000), Val::F32(0xffa0_0001)]);
            values
        }
        "f64" => {
            let mut values: Vec<Val> = [
                0.0,
                -0.0,
                0.5,
                -0.5,
                1.5,
                2.5,
                -2.5,
                -0.99,
                -1.0,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MAX,
                5e-324,
                2147483647.9,
                2147483648.0,
                -2147483648.9,
                -2147483649.0,
                4294967295.9,
                4294967296.0,
                9223372036854775807.0,
                -9223372036854775808.0,
                -9223372036854777856.0,
                18446744073709549568.0,
                18446744073709551616.0,
                1e300,
            ]
            .map(Val::from)
            .to_vec();
            values.extend([
                Val::F64(0x7ff8_0000_0000_0000),
                Val::F64(0xfff4_0000_0000_0001),
            ]);
            values
        }
        other => panic!("no operands for {other}"),
    }
}

/// A module exporting one function per operator, named after it.
fn operator_module() -> String {
    let mut text = String::from("(module\n");
    for (name, params, result) in OPERATORS {
        let params: Vec<&str> = params.split(' ').collect();
        let gets: String = (0..params.len())
            .map(|i| format!(" (local.get {i})"))
            .collect();
        text.push_str(&format!(
            "  (func (export \"{name}\") (param {}) (result {result}) ({name}{gets}))\n",
            params.join(" ")
        ));
    }
    text.push(')');
    text
}

/// Every combination of operands for parameter types `params`.
fn argument_lists(params: &str) -> Vec<Vec<Val>> {
    let mut lists = vec![Vec::new()];
    for ty in params.split(' ') {
        let operands = operands(ty);
        lists = lists
            .into_iter()
            .flat_map(|list| {
                operands.iter().map(move |operand| {
                    let mut list = list.clone();
                    list.push(operand.clone());
                    list
                })
            })
            .collect();
    }
    lists
}

/// A result as text, NaNs reduced to their sign-less kind (an arithmetic NaN's payload and
/// sign are nondeterministic in Wasm), traps to their code.
fn outcome(result: tierwasm::Result<Vec<Val>>) -> String {
    match result {
        Ok(values) => values
            .iter()
            .map(|value| match value {
                Val::F32(bits) if f32::from_bits(*bits).is_nan() => {
                    format!("f32 nan quiet={}", bits & 0x0040_0000 != 0)
                }
                Val::F64(bits) if f64::from_bits(*bits).is_nan() => {
                    format!("f64 nan quiet={}", bits & 0x0008_0000_0000_0000 != 0)
                }
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Err(error) => format!("trap {:?}", error.trap_code()),
    }
}

struct Runner {
    store: Store<()>,
    instance: Instance,
}

impl Runner {
    fn new(strategy: Strategy, text: &str) -> Runner {
        let engine = engine(strategy);
        let module = Module::new(&engine, wasm(text)).expect("test module compiles");
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("test module instantiates");
        Runner { store, instance }
    }

    fn call(&mut self, name: &str, args: &[Val]) -> tierwasm::Result<Vec<Val>> {
        let func = self
            .instance
            .get_func(&self.store, name)
            .unwrap_or_else(|| panic!("export {name}"));
        let ty = func.ty(&self.store);
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
        func.call(&mut self.store, args, &mut results)?;
        Ok(results)
    }

    fn stats(&self) -> tierwasm::EngineStats {
        self.store.engine().stats()
    }
}

#[test]
fn every_numeric_operator_agrees_with_the_interpreter() {
    let text = operator_module();
    let mut interpreted = Runner::new(Strategy::Interpreter, &text);
    let mut compiled = Runner::new(Strategy::Compiled, &text);
    let mut checked = 0;
    for (name, params, _) in OPERATORS {
        for args in argument_lists(params) {
            let expected = outcome(interpreted.call(name, &args));
            let actual = outcome(compiled.call(name, &args));
            assert_eq!(actual, expected, "{name} {args:?}");
            checked += 1;
        }
    }
    assert!(checked > 5_000);
    let stats = compiled.stats();
    assert_eq!(stats.functions_compiled, OPERATORS.len() as u64);
    assert_eq!(stats.compile_failures, 0);
    assert!(stats.native_code_bytes > 0);
    assert_eq!(interpreted.stats().functions_compiled, 0);
}

const PROGRAM: &str = r#"(module
  (import "host" "add" (func $host_add (param i32 i32) (result i32)))
  (import "host" "fail" (func $host_fail))
  (memory 1 3)
  (table $table 3 funcref)
  (elem (i32.const 0) $square $swap)
  (global $counter (mut i64) (i64.const 0))
  (global $scale f64 (f64.const 0.5))
  (type $i2i (func (param i32) (result i32)))

  (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func $swap (param i32 i32) (result i32 i32) (local.get 1) (local.get 0))

  (func $factorial (export "factorial") (param i64) (result i64)
    (if (result i64) (i64.le_u (local.get 0) (i64.const 1))
      (then (i64.const 1))
      (else (i64.mul (local.get 0) (call $factorial (i64.sub (local.get 0) (i64.const 1)))))))

  (func (export "sum_to") (param i32) (result i64) (local $sum i64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get 0)))
        (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (local.get 0))))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $next)))
    (local.get $sum))

  (func (export "classify") (param i32) (result i32)
    (block $c (block $b (block $a
      (br_table $a $b $c (local.get 0)))
      (return (i32.const 100)))
      (return (i32.const 200)))
    (i32.const 300))

  (func (export "multi") (param i32 i32) (result i32 i32 i64)
    (call $swap (local.get 0) (local.get 1))
    (block (param i32 i32) (result i32 i32 i64)
      (i64.const 7)))

  (func (export "count") (result i64)
    (global.set $counter (i64.add (global.get $counter) (i64.const 1)))
    (global.get $counter))
  (func (export "scaled") (param f64) (result f64)
    (f64.mul (local.get 0) (global.get $scale)))

  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load_offset_max") (param i32) (result i32)
    (i32.load offset=0xffffffff (local.get 0)))
  (func (export "store") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow_then_store") (result i64)
    (drop (memory.grow (i32.const 1)))
    (i64.store (i32.const 131064) (i64.const 0x1122334455667788))
    (i64.load (i32.const 131064)))

  (func $recurse (export "recurse") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $recurse (i32.sub (local.get 0) (i32.const 1)))))))
  (func $runaway (export "runaway") (call $runaway))

  (func (export "call_host") (param i32) (result i32)
    (i32.add (call $host_add (local.get 0) (i32.const 10)) (i32.const 1)))
  (func (export "call_fail") (result i32) (call $host_fail) (i32.const 1))
  (func (export "via_runtime") (param i32) (result i32)
    (i32.add (call $fills (local.get 0)) (i32.load8_u (i32.const 5))))
  (func $fills (param i32) (result i32)
    (memory.fill (i32.const 0) (local.get 0) (i32.const 8))
    (i32.const 1000))

  (data $bytes "\01\02\03\04\05")
  (func (export "fill") (param i32 i32 i32)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (result i64)
    (memory.copy (local.get 0) (local.get 1) (local.get 2))
    (i64.load (i32.const 0)))
  (func (export "init") (param i32 i32 i32) (result i64)
    (memory.init $bytes (local.get 0) (local.get 1) (local.get 2))
    (i64.load (i32.const 0)))
  (func (export "dropped_init")
    (data.drop $bytes)
    (memory.init $bytes (i32.const 0) (i32.const 0) (i32.const 1)))
  (func (export "table_copy") (param i32 i32 i32) (result i32)
    (table.copy (local.get 0) (local.get 1) (local.get 2))
    (call_indirect (type $i2i) (i32.const 6) (local.get 0)))
  (func (export "table_grow") (param i32) (result i32 i32)
    (table.grow $table (ref.func $square) (local.get 0))
    (table.size $table))
  (elem declare func $square)

  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect (type $i2i) (local.get 0) (local.get 1)))
  (func (export "unreachable") (result i32) (unreachable))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
)"#;

fn program(strategy: Strategy) -> Runner {
    let engine = engine(strategy);
    let module = Module::new(&engine, wasm(PROGRAM)).expect("program compiles");
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "add", |a: i32, b: i32| a.wrapping_add(b))
        .unwrap();
    linker
        .func_wrap("host", "fail", || -> tierwasm::Result<()> {
            Err(tierwasm::Error::host("the host refuses"))
        })
        .unwrap();
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    Runner { store, instance }
}

/// Calls `name` under both strategies and checks that they agree; returns the outcome.
fn both(name: &str, args: &[Val]) -> String {
    let expected = outcome(program(Strategy::Interpreter).call(name, args));
    let actual = outcome(program(Strategy::Compiled).call(name, args));
    assert_eq!(actual, expected, "{name} {args:?}");
    actual
}

#[test]
fn control_flow_calls_and_globals_agree() {
    assert_eq!(
        both("factorial", &[Val::I64(20)]),
        "I64(2432902008176640000)"
    );
    assert_eq!(both("sum_to", &[Val::I32(100_000)]), "I64(5000050000)");
    for (index, expected) in [
        (0, "I32(100)"),
        (1, "I32(200)"),
        (2, "I32(300)"),
        (9, "I32(300)"),
    ] {
        assert_eq!(both("classify", &[Val::I32(index)]), expected);
    }
    assert_eq!(
        both("multi", &[Val::I32(1), Val::I32(2)]),
        "I32(2), I32(1), I64(7)"
    );
    assert_eq!(
        both("scaled", &[Val::from(3.0f64)]),
        format!("{:?}", Val::from(1.5f64))
    );
    let mut compiled = program(Strategy::Compiled);
    for expected in 1..=3 {
        assert_eq!(
            outcome(compiled.call("count", &[])),
            format!("I64({expected})")
        );
    }
}

#[test]
fn memory_accesses_grow_and_trap_out_of_bounds() {
    for address in [0, 65532, 65533, 65535, 65536, -1, -4] {
        both("load", &[Val::I32(address)]);
    }
    for address in [0, 1, -1] {
        assert_eq!(
            both("load_offset_max", &[Val::I32(address)]),
            "trap Some(MemoryOutOfBounds)"
        );
    }
    assert_eq!(both("grow_then_store", &[]), "I64(1234605616436508552)");
    let mut compiled = program(Strategy::Compiled);
    compiled
        .call("store", &[Val::I32(65528), Val::I64(-2)])
        .unwrap();
    assert_eq!(
        outcome(compiled.call("load64", &[Val::I32(65528)])),
        "I64(-2)"
    );
    assert_eq!(
        outcome(compiled.call("load64", &[Val::I32(65529)])),
        "trap Some(MemoryOutOfBounds)"
    );
    assert_eq!(outcome(compiled.call("grow", &[Val::I32(1)])), "I32(1)");
    assert_eq!(outcome(compiled.call("size", &[])), "I32(2)");
    // The bytes of the new page are reachable at once, and zero.
    assert_eq!(
        outcome(compiled.call("load64", &[Val::I32(65529)])),
        "I64(72057594037927935)"
    );
    assert_eq!(
        outcome(compiled.call("load64", &[Val::I32(131064)])),
        "I64(0)"
    );
    assert_eq!(outcome(compiled.call("grow", &[Val::I32(2)])), "I32(-1)");
    assert_eq!(outcome(compiled.call("grow", &[Val::I32(1)])), "I32(2)");
}

#[test]
fn traps_are_reported_with_their_codes() {
    assert_eq!(both("unreachable", &[]), "trap Some(Unreachable)");
    assert_eq!(
        both("div", &[Val::I32(1), Val::I32(0)]),
        "trap Some(IntegerDivisionByZero)"
    );
    assert_eq!(
        both("div", &[Val::I32(i32::MIN), Val::I32(-1)]),
        "trap Some(IntegerOverflow)"
    );
    assert_eq!(
        both("div", &[Val::I32(i32::MIN), Val::I32(1)]),
        "I32(-2147483648)"
    );
    assert_eq!(both("indirect", &[Val::I32(7), Val::I32(0)]), "I32(49)");
    assert_eq!(
        both("indirect", &[Val::I32(7), Val::I32(1)]),
        "trap Some(BadSignature)"
    );
    assert_eq!(
        both("indirect", &[Val::I32(7), Val::I32(2)]),
        "trap Some(UninitializedElement)"
    );
    assert_eq!(
        both("indirect", &[Val::I32(7), Val::I32(3)]),
        "trap Some(UndefinedElement)"
    );
}

#[test]
fn unbounded_recursion_traps_instead_of_crashing() {
    let mut compiled = program(Strategy::Compiled);
    let error = expect_err(compiled.call("runaway", &[]), ErrorKind::Trap);
    assert_eq!(error.trap_code(), Some(TrapCode::StackOverflow));
    // Deep recursion that fits on the stack completes, and the instance still works after
    // the overflow.
    assert_eq!(
        outcome(compiled.call("recurse", &[Val::I32(20_000)])),
        "I32(20000)"
    );
    let error = expect_err(compiled.call("runaway", &[]), ErrorKind::Trap);
    assert_eq!(error.trap_code(), Some(TrapCode::StackOverflow));
}

#[test]
fn native_code_calls_the_host_and_its_callees() {
    assert_eq!(both("call_host", &[Val::I32(5)]), "I32(16)");
    assert_eq!(both("via_runtime", &[Val::I32(3)]), "I32(1003)");
    let mut compiled = program(Strategy::Compiled);
    // Every function was compiled when the module was made: calls find the callee's native
    // code in its code slot and compile nothing.
    let before = compiled.stats();
    assert_eq!(before.compile_failures, 0);
    for _ in 0..2 {
        assert_eq!(
            outcome(compiled.call("via_runtime", &[Val::I32(3)])),
            "I32(1003)"
        );
    }
    let after = compiled.stats();
    assert_eq!(after.functions_compiled, before.functions_compiled);
    assert_eq!(after.compile_failures, 0);

    let error = expect_err(compiled.call("call_fail", &[]), ErrorKind::Host);
    assert!(error.to_string().contains("the host refuses"), "{error}");
}

#[test]
fn bulk_memory_and_table_operators_agree() {
    for args in [
        [0, 1, 8],
        [65530, 7, 6],
        [65530, 7, 7],
        [65536, 0, 0],
        [65537, 0, 0],
    ] {
        both("fill", &args.map(Val::I32));
        both("copy", &args.map(Val::I32));
    }
    for args in [
        [0, 0, 4],
        [65532, 1, 3],
        [65533, 1, 4],
        [0, 5, 0],
        [0, 6, 0],
    ] {
        both("init", &args.map(Val::I32));
    }
    assert_eq!(both("dropped_init", &[]), "trap Some(MemoryOutOfBounds)");
    for args in [[0, 1, 1], [1, 0, 2], [2, 0, 1], [3, 0, 0], [4, 0, 0]] {
        both("table_copy", &args.map(Val::I32));
    }
    assert_eq!(both("table_grow", &[Val::I32(2)]), "I32(3), I32(5)");
    assert_eq!(both("table_grow", &[Val::I32(-1)]), "I32(-1), I32(3)");
}

#[test]
fn host_functions_can_reenter_native_code() {
    let engine = engine(Strategy::Compiled);
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
              (import "host" "again" (func $again (param i32) (result i32)))
              (func (export "down") (param i32) (result i32)
                (if (result i32) (i32.eqz (local.get 0))
                  (then (i32.const 0))
                  (else (i32.add (i32.const 1)
                    (call $again (i32.sub (local.get 0) (i32.const 1))))))))"#,
        ),
    )
    .unwrap();
    let mut store = Store::new(&engine, None::<Func>);
    let again = Func::wrap(
        &mut store,
        |mut caller: tierwasm::Caller<'_, Option<Func>>, n: i32| -> tierwasm::Result<i32> {
            let down = caller.data().expect("set before the first call");
            let mut results = [Val::I32(0)];
            down.call(&mut caller, &[Val::I32(n)], &mut results)?;
            Ok(results[0].i32().expect("an i32"))
        },
    );
    let instance = Instance::new(&mut store, &module, &[again.into()]).unwrap();
    let down = instance.get_func(&store, "down").unwrap();
    *store.data_mut() = Some(down);
    let mut results = [Val::I32(0)];
    down.call(&mut store, &[Val::I32(50)], &mut results)
        .unwrap();
    assert_eq!(results[0].i32(), Some(50));
    assert_eq!(engine.stats().functions_compiled, 1);
}

#[test]
fn host_functions_called_from_native_code_see_their_caller() {
    let engine = engine(Strategy::Compiled);
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
              (import "host" "peek" (func $peek (param i32) (result i32)))
              (memory (export "memory") 1)
              (data (i32.const 16) "\2a")
              (table 1 funcref)
              (elem (i32.const 0) $peek)
              (type $peek (func (param i32) (result i32)))
              (func (export "direct") (result i32) (call $peek (i32.const 16)))
              (func (export "indirect") (result i32)
                (call_indirect (type $peek) (i32.const 16) (i32.const 0))))"#,
        ),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let peek = Func::wrap(
        &mut store,
        |caller: tierwasm::Caller<'_, ()>, address: i32| -> tierwasm::Result<i32> {
            let Some(tierwasm::Extern::Memory(memory)) = caller.get_export("memory") else {
                return Err(tierwasm::Error::host("the caller exports no memory"));
            };
            Ok(memory.data(&caller)[address as usize] as i32)
        },
    );
    let instance = Instance::new(&mut store, &module, &[peek.into()]).unwrap();
    for name in ["direct", "indirect"] {
        let func = instance.get_func(&store, name).unwrap();
        let mut results = [Val::I32(0)];
        func.call(&mut store, &[], &mut results).unwrap();
        assert_eq!(results[0].i32(), Some(42), "{name}");
    }
}

#[test]
fn a_host_panic_unwinds_past_native_code_to_the_embedder() {
    let engine = engine(Strategy::Compiled);
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
              (import "host" "boom" (func $boom))
              (func (export "run") (result i32) (call $boom) (i32.const 1)))"#,
        ),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let boom = Func::wrap(&mut store, || -> () { panic!("boom from the host") });
    let instance = Instance::new(&mut store, &module, &[boom.into()]).unwrap();
    let run = instance.get_func(&store, "run").unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut results = [Val::I32(0)];
        run.call(&mut store, &[], &mut results)
    }))
    .expect_err("the host function panics");
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"boom from the host"));
    // The store is usable afterwards: the activation was torn down.
    let mut results = [Val::I32(0)];
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run.call(&mut store, &[], &mut results)
    }));
    assert!(caught.is_err());
}

#[test]
fn the_start_function_runs_native() {
    let engine = engine(Strategy::Compiled);
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
              (global (export "g") (mut i32) (i32.const 1))
              (func $start (global.set 0 (i32.mul (global.get 0) (i32.const 42))))
              (start $start))"#,
        ),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let global = instance.get_global(&store, "g").unwrap();
    assert_eq!(global.get(&store).i32(), Some(42));
    assert_eq!(engine.stats().functions_compiled, 1);
}

#[test]
fn compile_all_compiles_every_defined_function_once() {
    let engine = engine(Strategy::Compiled);
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
              (import "host" "f" (func))
              (func $double (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
              (func (export "quadruple") (param i32) (result i32)
                (call $double (call $double (local.get 0))))
              (func $unused (result i64) (i64.const 7)))"#,
        ),
    )
    .unwrap();
    assert_eq!(module.compile_all(), 0);
    let stats = engine.stats();
    assert_eq!(stats.functions_compiled, 3, "the import is not compiled");
    assert!(stats.native_code_bytes > 0);
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "f", || {}).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let quadruple = instance
        .get_typed_func::<i32, i32>(&store, "quadruple")
        .unwrap();
    assert_eq!(quadruple.call(&mut store, 5).unwrap(), 20);
    assert_eq!(
        engine.stats().functions_compiled,
        3,
        "nothing compiled twice"
    );
    assert_eq!(
        engine.stats().functions_translated,
        0,
        "nothing interpreted"
    );
}

/// Functions 0, 2 and 4 run native under `Strategy::Mixed`, 1 and 3 in the interpreter.
const CROSSING: &str = r#"(module
  (type $i2i (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $deep $count)
  (global $calls (mut i32) (i32.const 0))
  (func $deep (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "from_interpreter") (param i32) (result i32) (call $deep (local.get 0)))
  (func $count (param i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (local.get 0))
  (func (export "indirect_loop") (param i32) (result i32) (local $sum i32)
    (loop $again
      (local.set $sum
        (i32.add (local.get $sum) (call_indirect (type $i2i) (local.get 0) (i32.const 1))))
      (br_if $again (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get $sum))
  (func (export "calls") (result i32) (global.get $calls)))"#;

fn crossing(strategy: Strategy) -> (Store<()>, Instance) {
    let mut config = Config::new();
    config.strategy(strategy).max_call_depth(50);
    let engine = Engine::new(&config);
    let module = Module::new(&engine, wasm(CROSSING)).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

#[test]
fn interpreted_code_calls_native_code() {
    // A recursion 1000 deep traps in the interpreter with a call depth of 50, but not in
    // native code, which the host stack bounds: under `Mixed` the interpreted export's
    // callee runs native.
    let (mut store, instance) = crossing(Strategy::Interpreter);
    let from_interpreter = instance
        .get_typed_func::<i32, i32>(&store, "from_interpreter")
        .unwrap();
    let error = expect_err(from_interpreter.call(&mut store, 1000), ErrorKind::Trap);
    assert_eq!(error.trap_code(), Some(TrapCode::StackOverflow));

    let (mut store, instance) = crossing(Strategy::Mixed);
    let from_interpreter = instance
        .get_typed_func::<i32, i32>(&store, "from_interpreter")
        .unwrap();
    assert_eq!(from_interpreter.call(&mut store, 1000).unwrap(), 1000);
    assert_eq!(from_interpreter.call(&mut store, 7).unwrap(), 7);
}

#[test]
fn interpreted_call_indirect_to_native_code_returns_to_its_caller() {
    // Every call of the loop runs the native callee again and continues after the call.
    for strategy in [Strategy::Interpreter, Strategy::Compiled, Strategy::Mixed] {
        let (mut store, instance) = crossing(strategy);
        let indirect_loop = instance
            .get_typed_func::<i32, i32>(&store, "indirect_loop")
            .unwrap();
        let calls = instance.get_typed_func::<(), i32>(&store, "calls").unwrap();
        assert_eq!(
            indirect_loop.call(&mut store, 100).unwrap(),
            5050,
            "{strategy:?}"
        );
        assert_eq!(
            indirect_loop.call(&mut store, 10).unwrap(),
            55,
            "{strategy:?}"
        );
        assert_eq!(calls.call(&mut store, ()).unwrap(), 110, "{strategy:?}");
    }
}

/// The names of a trap's backtrace frames, innermost first.
fn frame_names(error: &tierwasm::Error) -> Vec<String> {
    let frames = error.backtrace().expect("a trap has a backtrace").frames();
    frames
        .iter()
        .map(|frame| frame.func_name.clone().unwrap_or_default())
        .collect()
}

#[test]
fn a_trap_passed_on_by_a_host_function_keeps_its_own_backtrace() {
    for strategy in [Strategy::Interpreter, Strategy::Compiled, Strategy::Mixed] {
        let engine = engine(strategy);
        let module = Module::new(
            &engine,
            wasm(
                r#"(module
                  (import "host" "relay" (func $relay))
                  (func $outer (export "outer") (call $middle))
                  (func $middle (call $relay))
                  (func $inner (export "inner") (call $fail))
                  (func $fail unreachable))"#,
            ),
        )
        .unwrap();
        let mut store = Store::new(&engine, None::<Func>);
        let relay = Func::wrap(
            &mut store,
            |mut caller: tierwasm::Caller<'_, Option<Func>>| -> tierwasm::Result<()> {
                let inner = caller.data().expect("set before the first call");
                inner.call(&mut caller, &[], &mut [])
            },
        );
        let instance = Instance::new(&mut store, &module, &[relay.into()]).unwrap();
        let inner = instance.get_func(&store, "inner").unwrap();
        *store.data_mut() = Some(inner);
        let outer = instance.get_func(&store, "outer").unwrap();
        let error = expect_err(outer.call(&mut store, &[], &mut []), ErrorKind::Trap);
        assert_eq!(frame_names(&error), ["fail", "inner"], "{strategy:?}");
    }
}

#[test]
fn traps_deep_in_mixed_recursion_list_every_frame() {
    // $a (native under `Mixed`) and $b (interpreted) call each other: the trap's backtrace
    // lists the frames of both tiers in order.
    let text = r#"(module
      (func $a (export "a") (param i32)
        (if (i32.eqz (local.get 0)) (then unreachable))
        (call $b (i32.sub (local.get 0) (i32.const 1))))
      (func $b (param i32) (call $a (local.get 0))))"#;
    let mut expected = None;
    for strategy in [Strategy::Interpreter, Strategy::Compiled, Strategy::Mixed] {
        let mut runner = Runner::new(strategy, text);
        let error = runner.call("a", &[Val::I32(3)]).unwrap_err();
        assert_eq!(error.trap_code(), Some(TrapCode::Unreachable));
        assert_eq!(
            frame_names(&error),
            ["a", "b", "a", "b", "a", "b", "a"],
            "{strategy:?}"
        );
        let expected = expected.get_or_insert_with(|| format!("{error:#}"));
        assert_eq!(&format!("{error:#}"), expected, "{strategy:?}");
    }
}

#[test]
fn call_indirect_reaches_functions_a_host_function_created_mid_call() {
    // Native code calls the host, which creates functions (moving the store's function
    // records) and puts the last into the table; the `call_indirect` that follows finds it.
    for strategy in [Strategy::Compiled, Strategy::Mixed] {
        let engine = engine(strategy);
        let module = Module::new(
            &engine,
            wasm(
                r#"(module
                  (import "host" "install" (func $install))
                  (type $i2i (func (param i32) (result i32)))
                  (table (export "table") 2 funcref)
                  (elem (i32.const 0) $double)
                  (func $double (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
                  (func (export "run") (param i32) (result i32)
                    (call $install)
                    (i32.add
                      (call_indirect (type $i2i) (local.get 0) (i32.const 0))
                      (call_indirect (type $i2i) (local.get 0) (i32.const 1)))))"#,
            ),
        )
        .unwrap();
        let mut store = Store::new(&engine, None::<tierwasm::Table>);
        let install = Func::wrap(
            &mut store,
            |mut caller: tierwasm::Caller<'_, Option<tierwasm::Table>>| -> tierwasm::Result<()> {
                let table = caller.data().expect("set before the first call");
                let mut newest = None;
                for k in 0..1000 {
                    newest = Some(Func::wrap(&mut caller, move |x: i32| x + k));
                }
                table.set(&mut caller, 1, Val::FuncRef(newest))
            },
        );
        let instance = Instance::new(&mut store, &module, &[install.into()]).unwrap();
        *store.data_mut() = instance.get_table(&store, "table");
        let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
        assert_eq!(
            run.call(&mut store, 5).unwrap(),
            10 + 5 + 999,
            "{strategy:?}"
        );
    }
}

#[test]
fn the_host_enters_through_one_trampoline_per_signature() {
    let engine = engine(Strategy::Compiled);
    let module = Module::new(
        &engine,
        wasm(
            r#"(module
              (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
              (func (export "sub") (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))
              (func (export "triple") (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3))))"#,
        ),
    )
    .unwrap();
    // Threads entering functions of one signature at once share one trampoline, compiled by
    // whichever comes first.
    std::thread::scope(|scope| {
        for (name, expected) in [("add", 5), ("sub", -1), ("add", 5), ("sub", -1)] {
            let (engine, module) = (&engine, &module);
            scope.spawn(move || {
                let mut store = Store::new(engine, ());
                let instance = Instance::new(&mut store, module, &[]).unwrap();
                let func = instance
                    .get_typed_func::<(i32, i32), i32>(&store, name)
                    .unwrap();
                assert_eq!(func.call(&mut store, (2, 3)).unwrap(), expected);
            });
        }
    });
    assert_eq!(engine.stats().trampolines_compiled, 1);
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let triple = instance
        .get_typed_func::<i64, i64>(&store, "triple")
        .unwrap();
    assert_eq!(triple.call(&mut store, 7).unwrap(), 21);
    assert_eq!(engine.stats().trampolines_compiled, 2);
    drop((instance, store, module));

    // The engine's trampolines outlive the module that needed them first.
    let other = Module::new(
        &engine,
        wasm(
            r#"(module
              (func (export "mul") (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1))))"#,
        ),
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &other, &[]).unwrap();
    let mul = instance
        .get_typed_func::<(i32, i32), i32>(&store, "mul")
        .unwrap();
    assert_eq!(mul.call(&mut store, (6, 7)).unwrap(), 42);
    let stats = engine.stats();
    assert_eq!(stats.trampolines_compiled, 2);
    assert_eq!(stats.functions_compiled, 4);
}

/// The number of mappings of this process.
#[cfg(target_os = "linux")]
fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}

#[cfg(target_os = "linux")]
#[test]
fn thousands_of_compiled_functions_take_few_mappings() {
    const FUNCTIONS: usize = 2_000;
    let mut text = String::from("(module\n");
    for i in 0..FUNCTIONS {
        text +=
            &format!("(func (param i32) (result i32) (i32.add (local.get 0) (i32.const {i})))\n");
    }
    text += &format!(
        "(func (export \"last\") (param i32) (result i32) (call {} (local.get 0))))",
        FUNCTIONS - 1
    );
    let engine = engine(Strategy::Compiled);
    let module = Module::new(&engine, wasm(&text)).unwrap();
    let before = mappings();
    assert_eq!(module.compile_all(), 0);
    let added = mappings().saturating_sub(before);
    assert!(
        added < 100,
        "{FUNCTIONS} functions took {added} new mappings"
    );
    assert_eq!(engine.stats().functions_compiled, FUNCTIONS as u64 + 1);
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let last = instance.get_typed_func::<i32, i32>(&store, "last").unwrap();
    assert_eq!(last.call(&mut store, 1).unwrap(), FUNCTIONS as i32);
}
