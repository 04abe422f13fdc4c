//! Malformed modules never panic: valid modules are mutated thousands of
//! times from a fixed seed (byte flips, insertions, deletions, duplications,
//! truncations); compiling the result must return Ok or a compile error, and
//! instantiating an accepted module must succeed or fail with an error.

use std::panic::{AssertUnwindSafe, catch_unwind};
use tierwasm::{Config, Engine, ErrorKind, ExternType, Instance, Module, Store};

const SEEDS: [&str; 3] = [
    r#"(module $rich
      (type $bin (func (param i32 i32) (result i32)))
      (memory (export "memory") 1 2)
      (table $t 4 funcref)
      (global $g (mut i32) (i32.const 7))
      (global $h i64 (i64.const -1))
      (global $f funcref (ref.func $add))
      (elem (i32.const 0) $add $sub)
      (elem $passive funcref (ref.func $add) (ref.null func))
      (elem declare func $sub)
      (data (i32.const 16) "hello, world")
      (data $bytes "\00\01\02\03")
      (func $add (export "add") (type $bin)
        (i32.add (local.get 0) (local.get 1)))
      (func $sub (type $bin)
        (i32.sub (local.get 0) (local.get 1)))
      (func (export "dispatch") (param i32 i32 i32) (result i32)
        (call_indirect (type $bin) (local.get 1) (local.get 2) (local.get 0)))
      (func (export "branches") (param i32) (result i32)
        (block $a (block $b (block $c
          (br_table $a $b $c (local.get 0)))
          (return (i32.const 3)))
          (return (i32.const 2)))
        (if (result i32) (i32.eqz (local.get 0))
          (then (global.get $g))
          (else (i32.wrap_i64 (global.get $h)))))
      (func (export "bulk")
        (memory.init $bytes (i32.const 0) (i32.const 0) (i32.const 4))
        (memory.copy (i32.const 100) (i32.const 0) (i32.const 4))
        (memory.fill (i32.const 200) (i32.const 9) (i32.const 8))
        (table.init $passive (i32.const 2) (i32.const 0) (i32.const 2))
        (data.drop $bytes)
        (drop (table.grow $t (ref.func $sub) (i32.const 1)))
        (drop (memory.grow (i32.const 1))))
      (func (export "floats") (param f32 f64) (result f64)
        (f64.add (f64.promote_f32 (f32.sqrt (local.get 0)))
                 (f64.nearest (local.get 1)))))"#,
    r#"(module
      (import "env" "log" (func $log (param i32)))
      (import "env" "memory" (memory 1))
      (import "env" "table" (table 1 externref))
      (import "env" "base" (global $base i32))
      (data (global.get $base) "imported")
      (func (export "run") (param externref) (result i32 i64)
        (call $log (global.get $base))
        (table.set (i32.const 0) (local.get 0))
        (i32.load8_u offset=3 (i32.const 0))
        (i64.load32_s align=2 (i32.const 8))))"#,
    r#"(module
      (type (func (param i32) (result i32 i32)))
      (memory 1)
      (global $counter (mut i64) (i64.const 0))
      (data (i32.const 65530) "edge")
      (func $pair (type 0)
        (local $x i64) (local f32 f64)
        (global.set $counter (i64.add (global.get $counter) (i64.const 1)))
        (block (result i32 i32)
          (local.get 0)
          (i32.popcnt (local.get 0))))
      (func (export "select") (param i32) (result i32)
        (select (call $pair (local.get 0)) (local.get 0)))
      (export "counter" (global $counter)))"#,
];

const MUTATED_MODULES: usize = 10_000;

/// xorshift64: a small deterministic generator, enough for mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        const INTERESTING: [u8; 8] = [0x00, 0x01, 0x40, 0x7f, 0x80, 0xff, 0x0b, 0x41];
        if self.below(2) == 0 {
            INTERESTING[self.below(INTERESTING.len())]
        } else {
            self.next() as u8
        }
    }
}

fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    if bytes.is_empty() {
        bytes.push(rng.byte());
        return;
    }
    let at = rng.below(bytes.len());
    match rng.below(6) {
        0 => bytes[at] ^= 1 << rng.below(8),
        1 => bytes[at] = rng.byte(),
        2 => bytes.insert(at, rng.byte()),
        3 => {
            bytes.remove(at);
        }
        4 => bytes.truncate(at),
        _ => {
            let len = rng.below(16).min(bytes.len() - at);
            let chunk = bytes[at..at + len].to_vec();
            let to = rng.below(bytes.len());
            bytes.splice(to..to, chunk);
        }
    }
}

/// What happened to one mutated module.
#[derive(Default)]
struct Tally {
    rejected: usize,
    instantiated: usize,
    failed_to_instantiate: usize,
}

/// Compiles and instantiates `bytes`, checking every result; returns a
/// description of the first problem found.
fn check(engine: &Engine, bytes: &[u8], tally: &mut Tally) -> Result<(), String> {
    let compiled = catch_unwind(AssertUnwindSafe(|| Module::new(engine, bytes)))
        .map_err(|_| "Module::new panicked".to_string())?;
    let validated = catch_unwind(AssertUnwindSafe(|| Module::validate(engine, bytes)))
        .map_err(|_| "Module::validate panicked".to_string())?;
    if validated.is_ok() != compiled.is_ok() {
        return Err(format!(
            "Module::validate gave {validated:?} but Module::new gave {:?}",
            compiled.as_ref().err()
        ));
    }
    let module = match compiled {
        Ok(module) => module,
        Err(err) if err.kind() == ErrorKind::Compile => {
            tally.rejected += 1;
            return Ok(());
        }
        Err(err) => return Err(format!("Module::new gave a {:?} error: {err}", err.kind())),
    };
    let instantiated = catch_unwind(AssertUnwindSafe(|| {
        let mut store = Store::new(engine, ());
        Instance::new(&mut store, &module, &[])
            .map(|instance| check_exports(&store, instance, &module))
    }))
    .map_err(|_| "Instance::new or an export lookup panicked".to_string())?;
    match instantiated {
        Ok(exports) => {
            exports?;
            tally.instantiated += 1
        }
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::Link | ErrorKind::Trap | ErrorKind::Limit
            ) =>
        {
            tally.failed_to_instantiate += 1
        }
        Err(err) => {
            return Err(format!(
                "Instance::new gave a {:?} error: {err}",
                err.kind()
            ));
        }
    }
    Ok(())
}

/// Checks that the instance's exports are those the module declares.
fn check_exports(store: &Store<()>, instance: Instance, module: &Module) -> Result<(), String> {
    let declared: Vec<(&str, ExternType)> = module
        .exports()
        .map(|export| (export.name(), export.ty()))
        .collect();
    let exports = instance.exports(store);
    if exports.len() != declared.len() {
        return Err(format!(
            "{} exports, {} declared",
            exports.len(),
            declared.len()
        ));
    }
    for ((name, item), (declared_name, declared_ty)) in exports.iter().zip(&declared) {
        let matches = match (item.ty(store), declared_ty) {
            (ExternType::Memory(_), ExternType::Memory(_))
            | (ExternType::Table(_), ExternType::Table(_)) => true,
            (actual, declared) => actual == *declared,
        };
        if name != declared_name || !matches {
            return Err(format!(
                "export {name} does not match its declaration {declared_name}"
            ));
        }
    }
    Ok(())
}

#[test]
fn mutated_modules_never_panic() {
    let mut config = Config::new();
    config.max_memory_pages(16).max_call_depth(200);
    let engine = Engine::new(&config);
    let seeds: Vec<Vec<u8>> = SEEDS
        .iter()
        .map(|wat| wat::parse_str(wat).expect("seed module parses"))
        .collect();
    for seed in &seeds {
        Module::new(&engine, seed).expect("seed module compiles");
    }

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut tally = Tally::default();
    for case in 0..MUTATED_MODULES {
        let mut bytes = seeds[case % seeds.len()].clone();
        for _ in 0..=rng.below(2) {
            mutate(&mut rng, &mut bytes);
        }
        if let Err(problem) = check(&engine, &bytes, &mut tally) {
            panic!("case {case}: {problem}\nmodule bytes: {bytes:02x?}");
        }
    }

    eprintln!(
        "TALLY {} {} {}",
        tally.rejected, tally.instantiated, tally.failed_to_instantiate
    );
    // The mutations exercised both the decoder's error paths and instantiation.
    assert!(
        tally.rejected > MUTATED_MODULES / 2,
        "{} rejected",
        tally.rejected
    );
    assert!(
        tally.instantiated > 50,
        "{} instantiated",
        tally.instantiated
    );
    assert!(
        tally.failed_to_instantiate > 50,
        "{} failed to instantiate",
        tally.failed_to_instantiate
    );
}
