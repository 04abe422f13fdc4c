//! The interpreter fuses common operator sequences into single instructions and reads the
//! previous result from a register (the accumulator). These tests pin down the edge cases
//! where a fused instruction could differ from the operators one by one: 32-bit wrap-around
//! in fused address arithmetic, 64-bit conditions, comparisons with the operands swapped,
//! and values that reach an instruction along a branch rather than from the one before.

mod common;

use common::{instantiate, store};
use tierwasm::{ErrorKind, TrapCode};

/// `i32.add` fused into loads and stores: the sum wraps at 32 bits before the offset is
/// added, exactly as the unfused `i32.add` + access.
#[test]
fn fused_address_arithmetic_wraps_at_32_bits() {
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
          (memory 1)
          (data (i32.const 16) "\2a\00\00\00")
          (func (export "load_sum") (param $a i32) (param $b i32) (result i32)
            (i32.load (i32.add (local.get $a) (local.get $b))))
          (func (export "load_scaled") (param $base i32) (param $i i32) (result i32)
            (i32.load (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 2)))))
          (func (export "load_const") (param $a i32) (result i32)
            (i32.load (i32.add (local.get $a) (i32.const -16))))
          (func (export "store_sum") (param $a i32) (param $b i32) (param $v i32)
            (i32.store8 (i32.add (local.get $a) (local.get $b)) (local.get $v)))
          (func (export "load8") (param $at i32) (result i32)
            (i32.load8_u (local.get $at))))"#,
    );
    let load_sum = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "load_sum")
        .unwrap();
    // 0xFFFF_FFF0 + 0x20 wraps to 0x10.
    assert_eq!(load_sum.call(&mut store, (-16, 32)).unwrap(), 42);
    assert_eq!(load_sum.call(&mut store, (8, 8)).unwrap(), 42);
    // 65533 + 0 is in bounds, but its four bytes are not.
    let err = load_sum.call(&mut store, (65533, 0)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Trap);
    assert_eq!(err.trap_code(), Some(TrapCode::MemoryOutOfBounds));

    let load_scaled = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "load_scaled")
        .unwrap();
    assert_eq!(load_scaled.call(&mut store, (0, 4)).unwrap(), 42);
    // 0x4000_0004 << 2 wraps to 0x10.
    assert_eq!(load_scaled.call(&mut store, (0, 0x4000_0004)).unwrap(), 42);
    assert_eq!(load_scaled.call(&mut store, (-16, 8)).unwrap(), 42);

    let load_const = instance
        .get_typed_func::<i32, i32>(&mut store, "load_const")
        .unwrap();
    assert_eq!(load_const.call(&mut store, 32).unwrap(), 42);
    // 8 - 16 wraps to 0xFFFF_FFF8: out of bounds, not address -8 + 16.
    let err = load_const.call(&mut store, 8).unwrap_err();
    assert_eq!(err.trap_code(), Some(TrapCode::MemoryOutOfBounds));

    let store_sum = instance
        .get_typed_func::<(i32, i32, i32), ()>(&mut store, "store_sum")
        .unwrap();
    let load8 = instance
        .get_typed_func::<i32, i32>(&mut store, "load8")
        .unwrap();
    store_sum.call(&mut store, (-1, 101, 7)).unwrap();
    assert_eq!(load8.call(&mut store, 100).unwrap(), 7);
}

/// An `i32.add` fused into the `br_if` on its result, with the sum as either operand of the
/// comparison (the fused instruction swaps the comparison for the second), and with
/// wrap-around.
#[test]
fn fused_add_and_branch_counts_like_the_operators() {
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
          (func (export "count_up") (param $from i32) (param $to i32) (result i32)
            (local $n i32)
            (loop $next
              (local.set $n (i32.add (local.get $n) (i32.const 1)))
              (br_if $next
                (i32.lt_s (local.tee $from (i32.add (local.get $from) (i32.const 1)))
                          (local.get $to))))
            (local.get $n))
          (func (export "count_down") (param $from i32) (param $limit i32) (result i32)
            (local $n i32)
            (loop $next
              (local.set $n (i32.add (local.get $n) (i32.const 1)))
              (br_if $next
                (i32.gt_u (local.get $limit)
                          (local.tee $from (i32.add (local.get $from) (i32.const -1))))))
            (local.get $n))
          (func (export "until_zero") (param $x i32) (param $step i32) (result i32)
            (local $n i32)
            (loop $next
              (local.set $n (i32.add (local.get $n) (i32.const 1)))
              (br_if $next (local.tee $x (i32.add (local.get $x) (local.get $step)))))
            (local.get $n)))"#,
    );
    let count_up = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "count_up")
        .unwrap();
    assert_eq!(count_up.call(&mut store, (0, 10)).unwrap(), 10);
    assert_eq!(count_up.call(&mut store, (5, 0)).unwrap(), 1);
    // Signed: i32::MAX + 1 wraps to i32::MIN, which is below the bound.
    assert_eq!(
        count_up.call(&mut store, (i32::MAX - 1, i32::MAX)).unwrap(),
        1
    );

    let count_down = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "count_down")
        .unwrap();
    // `limit > from - 1`, unsigned: from 9 down to 0, then u32::MAX ends it.
    assert_eq!(count_down.call(&mut store, (10, 10)).unwrap(), 11);
    // From 0, the first decrement wraps to u32::MAX, not below the limit.
    assert_eq!(count_down.call(&mut store, (0, 5)).unwrap(), 1);

    let until_zero = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "until_zero")
        .unwrap();
    assert_eq!(until_zero.call(&mut store, (12, -3)).unwrap(), 4);
    assert_eq!(until_zero.call(&mut store, (-8, 4)).unwrap(), 2);
}

/// `i32.eqz` / `i64.eqz` fused into `select` (the operands swapped); the `i64` condition
/// is tested on all 64 bits.
#[test]
fn eqz_fused_into_select_keeps_the_condition_width() {
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
          (func (export "select32") (param $c i32) (result i32)
            (select (i32.const 10) (i32.const 20) (i32.eqz (local.get $c))))
          (func (export "select64") (param $c i64) (result i32)
            (select (i32.const 10) (i32.const 20) (i64.eqz (local.get $c))))
          (func (export "select64_masked") (param $c i64) (result i64)
            (select (i64.const 1) (i64.const 2)
                    (i64.eqz (i64.and (local.get $c) (i64.const 0xff00000000))))))"#,
    );
    let select32 = instance
        .get_typed_func::<i32, i32>(&mut store, "select32")
        .unwrap();
    assert_eq!(select32.call(&mut store, 0).unwrap(), 10);
    assert_eq!(select32.call(&mut store, 7).unwrap(), 20);
    let select64 = instance
        .get_typed_func::<i64, i32>(&mut store, "select64")
        .unwrap();
    assert_eq!(select64.call(&mut store, 0).unwrap(), 10);
    // Non-zero only in the upper half: not zero.
    assert_eq!(select64.call(&mut store, 1 << 40).unwrap(), 20);
    let masked = instance
        .get_typed_func::<i64, i64>(&mut store, "select64_masked")
        .unwrap();
    assert_eq!(masked.call(&mut store, 0x00ff_ffff_ffff).unwrap(), 2);
    assert_eq!(masked.call(&mut store, 0x0100_0000_0000).unwrap(), 1);
}

/// Subtracting a constant becomes adding its negation, also at the extremes.
#[test]
fn subtracting_a_constant_wraps_like_i32_sub_and_i64_sub() {
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
          (func (export "sub32") (param $x i32) (result i32)
            (i32.sub (local.get $x) (i32.const -2147483648)))
          (func (export "sub64") (param $x i64) (result i64)
            (i64.sub (local.get $x) (i64.const -2147483648)))
          (func (export "sub64_min") (param $x i64) (result i64)
            (i64.sub (local.get $x) (i64.const -9223372036854775808))))"#,
    );
    let sub32 = instance
        .get_typed_func::<i32, i32>(&mut store, "sub32")
        .unwrap();
    assert_eq!(
        sub32.call(&mut store, 1).unwrap(),
        1i32.wrapping_sub(i32::MIN)
    );
    let sub64 = instance
        .get_typed_func::<i64, i64>(&mut store, "sub64")
        .unwrap();
    assert_eq!(sub64.call(&mut store, 1).unwrap(), 1 + (1i64 << 31));
    let sub64_min = instance
        .get_typed_func::<i64, i64>(&mut store, "sub64_min")
        .unwrap();
    assert_eq!(
        sub64_min.call(&mut store, 1).unwrap(),
        1i64.wrapping_sub(i64::MIN)
    );
}

/// A value that reaches an instruction along a branch is not taken from the accumulator,
/// which holds whatever the instruction before the join computed.
#[test]
fn values_joining_from_branches_are_read_from_their_slots() {
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
          (func (export "join") (param $c i32) (param $x i32) (result i32)
            (i32.mul
              (if (result i32) (local.get $c)
                (then (i32.add (local.get $x) (i32.const 1)))
                (else (i32.add (local.get $x) (i32.const 100))))
              (i32.const 3)))
          (func (export "loop_carried") (param $n i32) (result i32)
            (local $acc i32)
            (loop $next
              (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 3))
                                       (local.get $n)))
              (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (local.get $acc)))"#,
    );
    let join = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "join")
        .unwrap();
    assert_eq!(join.call(&mut store, (1, 5)).unwrap(), 18);
    assert_eq!(join.call(&mut store, (0, 5)).unwrap(), 315);
    let loop_carried = instance
        .get_typed_func::<i32, i32>(&mut store, "loop_carried")
        .unwrap();
    // acc = ((0*3 + 3)*3 + 2)*3 + 1 = 34
    assert_eq!(loop_carried.call(&mut store, 3).unwrap(), 34);
}

/// A result computed right before `return` goes straight to the result slot; a jump to a
/// `return` is a `return`; neither may clobber a parameter the result is computed from.
#[test]
fn early_and_final_returns_give_the_right_result() {
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
          (func $f (export "f") (param $a i32) (param $b i32) (result i32)
            (if (i32.eqz (local.get $a)) (then (return (i32.sub (local.get $b) (local.get $a)))))
            (i32.sub (local.get $b) (local.get $a)))
          (func (export "g") (param $n i32) (result i32)
            (block $done (result i32)
              (drop (br_if $done (local.get $n) (i32.gt_u (local.get $n) (i32.const 10))))
              (i32.add (call $f (local.get $n) (i32.const 100)) (local.get $n)))))"#,
    );
    let f = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "f")
        .unwrap();
    assert_eq!(f.call(&mut store, (0, 5)).unwrap(), 5);
    assert_eq!(f.call(&mut store, (3, 5)).unwrap(), 2);
    let g = instance
        .get_typed_func::<i32, i32>(&mut store, "g")
        .unwrap();
    assert_eq!(g.call(&mut store, 20).unwrap(), 20);
    assert_eq!(g.call(&mut store, 4).unwrap(), 100);
}

/// The jumps back to an interpreter loop's `br_table` each get a copy of it: every arm keeps
/// its meaning in every copy — forward to a case, straight back to the loop, and out of the
/// function — whether its target was known when the copy was made or not.
#[test]
fn copied_dispatch_loop_keeps_every_arm() {
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
          (memory 1)
          ;; 0 dec, 1 inc, 2 double, 3 halt (acc + 1000), 4 nothing, other: return acc * 3
          (data (i32.const 0) "\01\01\02\04\00\02\03")
          (data (i32.const 16) "\01\02\04\02\09")
          (func (export "run") (param $pc i32) (result i32)
            (local $acc i32) (local $op i32)
            (block $exit (result i32)
              (loop $next
                (local.set $op (i32.load8_u (local.get $pc)))
                (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
                (block $triple
                  (block $halt
                    (block $double
                      (block $inc
                        (block $dec
                          (br_table $dec $inc $double $halt $next $triple (local.get $op)))
                        (local.set $acc (i32.sub (local.get $acc) (i32.const 1)))
                        (br $next))
                      (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
                      (br $next))
                    (local.set $acc (i32.shl (local.get $acc) (i32.const 1)))
                    (br $next))
                  (br $exit (i32.add (local.get $acc) (i32.const 1000))))
                (return (i32.mul (local.get $acc) (i32.const 3))))
              (unreachable))))"#,
    );
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    // 0 → 1 → 2 → 4 → 4 → 3 → 6, halt.
    assert_eq!(run.call(&mut store, 0).unwrap(), 1006);
    // 0 → 1 → 2 → 2 → 4, then op 9: 4 * 3.
    assert_eq!(run.call(&mut store, 16).unwrap(), 12);
    // Starting mid-program: 0 → -1 → -2, halt.
    assert_eq!(run.call(&mut store, 4).unwrap(), 998);
}

/// Float results pass to the next instruction in float registers. Only float instructions
/// and float loads put them there: a float that comes from an integer instruction, a copy,
/// a `select` or a reinterpretation must be read from its slot, and the sign operations must
/// keep NaN payloads bit for bit.
#[test]
fn float_accumulator_only_follows_float_producers() {
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
          (memory 1)
          (data (i32.const 0) "\00\00\00\00\00\00\f8\3f" "\00\00\20\40")
          (func (export "reinterpreted") (param $x i64) (result f64)
            (f64.add (f64.reinterpret_i64 (i64.add (local.get $x) (i64.const 1)))
                     (f64.const 1)))
          (func (export "selected") (param $c i32) (result f64)
            (f64.mul (select (f64.const 3) (f64.const 5) (local.get $c)) (f64.const 2)))
          (func (export "teed") (param $x f64) (result f64) (local $t f64)
            (f64.sqrt (local.tee $t (local.get $x))))
          (func (export "chain") (param $x f64) (result i64)
            (i64.trunc_f64_s
              (f64.neg (f64.promote_f32 (f32.demote_f64 (f64.mul (local.get $x)
                (f64.load (i32.const 0))))))))
          (func (export "mixed") (result f32)
            (f32.mul (f32.load (i32.const 8)) (f32.convert_i32_s (i32.const 3))))
          (func (export "sign_ops") (param $x i64) (result i64)
            (i64.reinterpret_f64
              (f64.copysign (f64.abs (f64.neg (f64.reinterpret_i64 (local.get $x))))
                            (f64.const -1))))
          (func (export "sign_ops32") (param $x i32) (result i32)
            (i32.reinterpret_f32 (f32.neg (f32.abs (f32.reinterpret_i32 (local.get $x)))))))"#,
    );
    let reinterpreted = instance
        .get_typed_func::<i64, f64>(&mut store, "reinterpreted")
        .unwrap();
    // The bits of 2.0 minus one, plus one, are 2.0.
    let two = 2.0f64.to_bits() as i64;
    assert_eq!(reinterpreted.call(&mut store, two - 1).unwrap(), 3.0);

    let selected = instance
        .get_typed_func::<i32, f64>(&mut store, "selected")
        .unwrap();
    assert_eq!(selected.call(&mut store, 1).unwrap(), 6.0);
    assert_eq!(selected.call(&mut store, 0).unwrap(), 10.0);

    let teed = instance
        .get_typed_func::<f64, f64>(&mut store, "teed")
        .unwrap();
    assert_eq!(teed.call(&mut store, 16.0).unwrap(), 4.0);

    let chain = instance
        .get_typed_func::<f64, i64>(&mut store, "chain")
        .unwrap();
    // -(10 * 1.5) = -15.
    assert_eq!(chain.call(&mut store, 10.0).unwrap(), -15);

    let mixed = instance
        .get_typed_func::<(), f32>(&mut store, "mixed")
        .unwrap();
    assert_eq!(mixed.call(&mut store, ()).unwrap(), 7.5);

    // A signalling NaN with a payload: the sign operations change only the sign bit.
    let snan = 0x7ff0_0000_0000_0001_i64;
    let sign_ops = instance
        .get_typed_func::<i64, i64>(&mut store, "sign_ops")
        .unwrap();
    assert_eq!(
        sign_ops.call(&mut store, snan).unwrap() as u64,
        0xfff0_0000_0000_0001
    );
    let sign_ops32 = instance
        .get_typed_func::<i32, i32>(&mut store, "sign_ops32")
        .unwrap();
    assert_eq!(
        sign_ops32.call(&mut store, 0x7f80_0001).unwrap() as u32,
        0xff80_0001
    );
}

/// A call's result used by the very next instruction, which must not read it from the
/// accumulator unless the callee's `Return` put it there: from a defined function, a host
/// function, `call_indirect`, an early return, and a float result.
#[test]
fn call_results_reach_the_next_instruction() {
    let engine = tierwasm::Engine::default();
    let mut store = tierwasm::Store::new(&engine, ());
    let mut linker = tierwasm::Linker::new(&engine);
    linker.func_wrap("env", "triple", |x: i32| x * 3).unwrap();
    let module = tierwasm::Module::new(
        &engine,
        common::wasm(
            r#"(module
             (import "env" "triple" (func $triple (param i32) (result i32)))
             (table funcref (elem $double))
             (type $unary (func (param i32) (result i32)))
             (func $double (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
             (func $half (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
             (func $early (param i32) (result i32)
               (if (local.get 0) (then (return (i32.const 7))))
               (i32.const 9))
             (func (export "run") (param i32) (result i32) (local $sum i32)
               (local.set $sum (i32.add (local.get 0) (call $double (local.get 0))))
               (local.set $sum (i32.add (local.get $sum) (call $triple (local.get 0))))
               (local.set $sum (i32.add (local.get $sum)
                 (call_indirect (type $unary) (local.get 0) (i32.const 0))))
               (local.set $sum (i32.add (local.get $sum) (call $early (local.get 0))))
               (i32.add (local.get $sum) (call $early (i32.const 0))))
             (func (export "float") (param f64) (result f64)
               (f64.add (call $half (local.get 0)) (f64.const 1))))"#,
        ),
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    // x + 2x + 3x + 2x + 7 + 9.
    assert_eq!(run.call(&mut store, 5).unwrap(), 5 + 10 + 15 + 10 + 7 + 9);
    assert_eq!(run.call(&mut store, 0).unwrap(), 9 + 9);
    let float = instance
        .get_typed_func::<f64, f64>(&mut store, "float")
        .unwrap();
    assert_eq!(float.call(&mut store, 5.0).unwrap(), 3.5);
}

/// A pointer stepped in its local and loaded through (`local.tee` of an `i32.add` of a
/// constant, then `i32.load`) is one instruction: the step wraps at 32 bits, the local keeps
/// the stepped value, and an access out of bounds traps.
#[test]
fn stepped_pointer_loads_like_the_operators() {
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
          (memory 1)
          (data (i32.const 0) "\01\00\00\00\02\00\00\00\03\00\00\00\04\00\00\00")
          (func (export "sum") (param $p i32) (param $n i32) (result i32) (local $sum i32)
            (loop $next
              (local.set $sum (i32.add (local.get $sum)
                (i32.load (local.tee $p (i32.add (local.get $p) (i32.const 4))))))
              (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (i32.add (local.get $sum) (i32.mul (local.get $p) (i32.const 1000)))))"#,
    );
    let sum = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "sum")
        .unwrap();
    // From -4: the first step wraps to 0. Loads 1 + 2 + 3, and the pointer ends at 8.
    assert_eq!(sum.call(&mut store, (-4, 3)).unwrap(), 6 + 8000);
    assert_eq!(sum.call(&mut store, (0, 3)).unwrap(), 2 + 3 + 4 + 12_000);
    // The last step lands on the last four bytes of the page, then one past them.
    assert_eq!(sum.call(&mut store, (65528, 1)).unwrap(), 65532 * 1000);
    let err = sum.call(&mut store, (65529, 1)).unwrap_err();
    assert_eq!(err.trap_code(), Some(TrapCode::MemoryOutOfBounds));
}
