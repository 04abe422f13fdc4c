//! Differential testing of tierwasm's interpreter against wasmi: random valid modules
//! (`wasm-smith`, WebAssembly 2.0 features, loops and calls bounded by fuel) run on both
//! engines. For every exported function, both engines instantiate the module afresh and call
//! the function three times with the same arguments. After each call the outcome (results,
//! or whether it trapped), every exported global and a hash of every exported memory must
//! agree, or the program prints the seed, writes the module out and fails.
//!
//! ```sh
//! cargo run --release -p differential                   # seeds 0..2000
//! cargo run --release -p differential -- --seeds 100000 --start 5000
//! cargo run --release -p differential -- --file differential-42.wasm --start 42
//! ```
//!
//! `--file` checks a module from a file (one that failed, say, while reducing it), with the
//! arguments of seed `--start`. Built with the feature `jit`, `--strategy compiled` runs
//! tierwasm's Cranelift tier instead of its interpreter, `--strategy mixed` half of the
//! functions on each, so that calls cross the tiers, and `--strategy tiered` tiers functions
//! up (synchronously) from their second call:
//!
//! ```sh
//! cargo run --release -p differential --features jit -- --strategy compiled
//! ```

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use arbitrary::Unstructured;

/// Fuel per instance: every loop iteration and function entry costs one (see
/// `wasm_smith::Module::ensure_termination`), so calls are short and recursion stays far
/// below both engines' depth limits.
const FUEL: u32 = 3_000;

/// Above any depth the fuel allows, so neither engine runs out of call depth (tierwasm's
/// default limit is 10 000).
const WASMI_MAX_RECURSION_DEPTH: usize = 10_000;

/// Random bytes from which `wasm-smith` builds one module.
const BYTES_PER_MODULE: usize = 16 * 1024;

/// What a call, and the state it leaves, looks like from outside: the same on both engines.
#[derive(Debug, PartialEq)]
enum Outcome {
    Returned(Vec<Value>),
    Trapped,
}

/// A value in a form both engines' values convert to. Floats are compared by their bits
/// except that any NaN equals any NaN (the spec lets NaN payloads differ).
#[derive(Debug)]
enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    Ref { null: bool },
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::I32(a), Value::I32(b)) => a == b,
            (Value::I64(a), Value::I64(b)) => a == b,
            (Value::F32(a), Value::F32(b)) => {
                a == b || f32::from_bits(*a).is_nan() && f32::from_bits(*b).is_nan()
            }
            (Value::F64(a), Value::F64(b)) => {
                a == b || f64::from_bits(*a).is_nan() && f64::from_bits(*b).is_nan()
            }
            (Value::Ref { null: a }, Value::Ref { null: b }) => a == b,
            _ => false,
        }
    }
}

/// The exported state after a call: globals, then memories as (length, FNV-1a hash).
#[derive(Debug, PartialEq)]
struct State {
    globals: Vec<Value>,
    memories: Vec<(usize, u64)>,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The `wasm-smith` configuration: WebAssembly 2.0 without SIMD, no imports, everything
/// exported, small memories and tables. Memories and tables declare a maximum, so that a
/// `memory.grow` or `table.grow` beyond it fails on both engines (below it, an engine may
/// refuse to grow for want of resources, and the two need not agree).
fn config() -> wasm_smith::Config {
    wasm_smith::Config {
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        tail_call_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        memory64_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: false,
        custom_page_sizes_enabled: false,
        compact_imports_enabled: false,
        max_memories: 1,
        max_memory32_bytes: 1 << 20,
        memory_max_size_required: true,
        max_table_elements: 1_000,
        table_max_size_required: true,
        max_imports: 0,
        min_funcs: 1,
        max_funcs: 12,
        max_instructions: 400,
        export_everything: true,
        // When both operands of an `add` or `mul` are NaNs, either one's payload is a valid
        // result, and the engines pick differently: canonical NaNs keep that from showing.
        canonicalize_nans: true,
        ..wasm_smith::Config::default()
    }
}

/// A deterministic byte stream for seed `seed` (SplitMix64).
fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xd1b5_4a32_d192_ed03;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Arguments for a function: from a small set of interesting values, chosen by the seed.
fn argument(ty: tierwasm::ValType, seed: u64) -> tierwasm::Val {
    const INTS: [i64; 8] = [0, 1, -1, 7, 255, 65_536, i64::MAX, i64::MIN];
    const FLOATS: [f64; 6] = [0.0, -0.0, 1.5, -2.25, 1e300, f64::INFINITY];
    let pick = seed as usize;
    match ty {
        tierwasm::ValType::I32 => tierwasm::Val::I32(INTS[pick % INTS.len()] as i32),
        tierwasm::ValType::I64 => tierwasm::Val::I64(INTS[pick % INTS.len()]),
        tierwasm::ValType::F32 => {
            tierwasm::Val::F32((FLOATS[pick % FLOATS.len()] as f32).to_bits())
        }
        tierwasm::ValType::F64 => tierwasm::Val::F64(FLOATS[pick % FLOATS.len()].to_bits()),
        tierwasm::ValType::FuncRef => tierwasm::Val::FuncRef(None),
        tierwasm::ValType::ExternRef => tierwasm::Val::ExternRef(None),
    }
}

fn to_wasmi(value: &tierwasm::Val) -> wasmi::Val {
    match value {
        tierwasm::Val::I32(v) => wasmi::Val::I32(*v),
        tierwasm::Val::I64(v) => wasmi::Val::I64(*v),
        tierwasm::Val::F32(bits) => wasmi::Val::F32(f32::from_bits(*bits).into()),
        tierwasm::Val::F64(bits) => wasmi::Val::F64(f64::from_bits(*bits).into()),
        tierwasm::Val::FuncRef(_) => wasmi::Val::FuncRef(wasmi::Nullable::Null),
        tierwasm::Val::ExternRef(_) => wasmi::Val::ExternRef(wasmi::Nullable::Null),
    }
}

fn from_tierwasm(value: &tierwasm::Val) -> Value {
    match value {
        tierwasm::Val::I32(v) => Value::I32(*v),
        tierwasm::Val::I64(v) => Value::I64(*v),
        tierwasm::Val::F32(bits) => Value::F32(*bits),
        tierwasm::Val::F64(bits) => Value::F64(*bits),
        tierwasm::Val::FuncRef(r) => Value::Ref { null: r.is_none() },
        tierwasm::Val::ExternRef(r) => Value::Ref { null: r.is_none() },
    }
}

fn from_wasmi(value: &wasmi::Val) -> Value {
    match value {
        wasmi::Val::I32(v) => Value::I32(*v),
        wasmi::Val::I64(v) => Value::I64(*v),
        wasmi::Val::F32(v) => Value::F32(v.to_bits()),
        wasmi::Val::F64(v) => Value::F64(v.to_bits()),
        wasmi::Val::FuncRef(r) => Value::Ref { null: r.is_null() },
        wasmi::Val::ExternRef(r) => Value::Ref { null: r.is_null() },
        wasmi::Val::V128(_) => unreachable!("SIMD is disabled"),
    }
}

/// The module's exports by kind, in order.
#[derive(Default)]
struct Exports {
    funcs: Vec<String>,
    globals: Vec<String>,
    memories: Vec<String>,
}

fn exports(bytes: &[u8]) -> Result<Exports> {
    let mut exports = Exports::default();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::ExportSection(reader) = payload? {
            for export in reader {
                let export = export?;
                let name = export.name.to_owned();
                match export.kind {
                    wasmparser::ExternalKind::Func => exports.funcs.push(name),
                    wasmparser::ExternalKind::Global => exports.globals.push(name),
                    wasmparser::ExternalKind::Memory => exports.memories.push(name),
                    _ => {}
                }
            }
        }
    }
    Ok(exports)
}

/// One engine's instance and how to drive it.
trait Engine {
    fn call(&mut self, func: &str, args: &[tierwasm::Val]) -> Result<Outcome>;
    /// The value of the exported global `name`.
    fn global(&self, name: &str) -> Result<Value>;
    /// The contents of the exported memory `name`.
    fn memory(&self, name: &str) -> Result<&[u8]>;

    fn state(&self, exports: &Exports) -> Result<State> {
        let globals = exports
            .globals
            .iter()
            .map(|name| self.global(name))
            .collect::<Result<_>>()?;
        let memories = exports
            .memories
            .iter()
            .map(|name| {
                let data = self.memory(name)?;
                Ok((data.len(), fnv1a(data)))
            })
            .collect::<Result<_>>()?;
        Ok(State { globals, memories })
    }
}

struct Tierwasm {
    store: tierwasm::Store<()>,
    instance: tierwasm::Instance,
}

impl Engine for Tierwasm {
    fn call(&mut self, func: &str, args: &[tierwasm::Val]) -> Result<Outcome> {
        let func = self
            .instance
            .get_func(&self.store, func)
            .context("tierwasm: no such function")?;
        let ty = func.ty(&self.store);
        let mut results: Vec<tierwasm::Val> =
            ty.results().iter().map(|&ty| argument(ty, 0)).collect();
        match func.call(&mut self.store, args, &mut results) {
            Ok(()) => Ok(Outcome::Returned(
                results.iter().map(from_tierwasm).collect(),
            )),
            Err(error) if error.kind() == tierwasm::ErrorKind::Trap => Ok(Outcome::Trapped),
            Err(error) => Err(error.into()),
        }
    }

    fn global(&self, name: &str) -> Result<Value> {
        let global = self
            .instance
            .get_global(&self.store, name)
            .context("tierwasm: no such global")?;
        Ok(from_tierwasm(&global.get(&self.store)))
    }

    fn memory(&self, name: &str) -> Result<&[u8]> {
        let memory = self
            .instance
            .get_memory(&self.store, name)
            .context("tierwasm: no such memory")?;
        Ok(memory.data(&self.store))
    }
}

struct Wasmi {
    store: wasmi::Store<()>,
    instance: wasmi::Instance,
}

impl Engine for Wasmi {
    fn call(&mut self, func: &str, args: &[tierwasm::Val]) -> Result<Outcome> {
        let func = self
            .instance
            .get_func(&self.store, func)
            .context("wasmi: no such function")?;
        let ty = func.ty(&self.store);
        let args: Vec<wasmi::Val> = args.iter().map(to_wasmi).collect();
        let mut results: Vec<wasmi::Val> = ty
            .results()
            .iter()
            .map(|&ty| wasmi::Val::default_for_ty(ty))
            .collect();
        Ok(match func.call(&mut self.store, &args, &mut results) {
            Ok(()) => Outcome::Returned(results.iter().map(from_wasmi).collect()),
            Err(_) => Outcome::Trapped,
        })
    }

    fn global(&self, name: &str) -> Result<Value> {
        let global = self
            .instance
            .get_global(&self.store, name)
            .context("wasmi: no such global")?;
        Ok(from_wasmi(&global.get(&self.store)))
    }

    fn memory(&self, name: &str) -> Result<&[u8]> {
        let memory = self
            .instance
            .get_memory(&self.store, name)
            .context("wasmi: no such memory")?;
        Ok(memory.data(&self.store))
    }
}

/// What checking one seed found.
enum Checked {
    /// Both engines agreed on everything, after this many calls, during which this many
    /// tierwasm frames continued in native code at a loop (loop OSR) and this many of them
    /// came back to the interpreter after the loop.
    Agreed(usize, u64, u64),
    /// `wasm-smith` could not build a module from these bytes.
    Skipped,
}

/// Instantiates `wasm` on both engines: both instances, or `None` when both failed.
fn instantiate(wasm: &[u8], strategy: tierwasm::Strategy) -> Result<Option<(Tierwasm, Wasmi)>> {
    let mut config = tierwasm::Config::new();
    config.strategy(strategy);
    #[cfg(feature = "jit")]
    if strategy == tierwasm::Strategy::Tiered {
        // Deterministic: a function that has run once (or looped) is compiled at its next
        // call, so each module's later calls run native code next to interpreted code.
        config.tier_up_threshold(1).synchronous_tier_up(true);
    }
    let engine = tierwasm::Engine::new(&config);
    let module = tierwasm::Module::new(&engine, wasm).context("tierwasm: compile")?;
    let mut store = tierwasm::Store::new(&engine, ());
    let instance = tierwasm::Instance::new(&mut store, &module, &[]);

    // wasmi's default call-depth limit (1 000) is below what the fuel allows.
    let mut wasmi_config = wasmi::Config::default();
    wasmi_config.set_max_recursion_depth(WASMI_MAX_RECURSION_DEPTH);
    let wasmi_engine = wasmi::Engine::new(&wasmi_config);
    let wasmi_module = wasmi::Module::new(&wasmi_engine, wasm).context("wasmi: compile")?;
    let mut wasmi_store = wasmi::Store::new(&wasmi_engine, ());
    let wasmi_instance = wasmi::Linker::<()>::new(&wasmi_engine)
        .instantiate_and_start(&mut wasmi_store, &wasmi_module);

    match (instance, wasmi_instance) {
        (Ok(instance), Ok(wasmi_instance)) => Ok(Some((
            Tierwasm { store, instance },
            Wasmi {
                store: wasmi_store,
                instance: wasmi_instance,
            },
        ))),
        (Err(_), Err(_)) => Ok(None),
        (a, b) => bail!(
            "instantiation differs: tierwasm {:?}, wasmi {:?}",
            a.err().map(|e| e.to_string()),
            b.err().map(|e| e.to_string())
        ),
    }
}

/// The module for `seed`, or `None` when `wasm-smith` cannot build one from its bytes.
fn module(seed: u64) -> Result<Option<Vec<u8>>> {
    let bytes = random_bytes(seed, BYTES_PER_MODULE);
    let Ok(mut module) = wasm_smith::Module::new(config(), &mut Unstructured::new(&bytes)) else {
        return Ok(None);
    };
    module.ensure_termination(FUEL)?;
    Ok(Some(module.to_bytes()))
}

/// Runs the module for `seed` on both engines; an error describes the first difference.
fn check(seed: u64, strategy: tierwasm::Strategy) -> Result<Checked> {
    match module(seed)? {
        Some(wasm) => check_module(&wasm, seed, strategy),
        None => Ok(Checked::Skipped),
    }
}

/// Runs `wasm` on both engines, with the arguments of `seed`.
fn check_module(wasm: &[u8], seed: u64, strategy: tierwasm::Strategy) -> Result<Checked> {
    let exports = exports(wasm)?;
    let (mut calls, mut osr_transfers, mut osr_exits) = (0, 0, 0);
    for (index, func) in exports.funcs.iter().enumerate() {
        let Some((mut tierwasm, mut wasmi)) = instantiate(wasm, strategy)? else {
            return Ok(Checked::Agreed(calls, osr_transfers, osr_exits));
        };
        let ty = tierwasm
            .instance
            .get_func(&tierwasm.store, func)
            .context("exported function")?
            .ty(&tierwasm.store);
        for round in 0..3u64 {
            let args: Vec<tierwasm::Val> = ty
                .params()
                .iter()
                .enumerate()
                .map(|(i, &ty)| argument(ty, seed ^ (round * 31 + i as u64 * 7 + index as u64)))
                .collect();
            let a = tierwasm.call(func, &args)?;
            let b = wasmi.call(func, &args)?;
            if a != b {
                bail!("call {func}{args:?} differs: tierwasm {a:?}, wasmi {b:?}");
            }
            let (state_a, state_b) = (tierwasm.state(&exports)?, wasmi.state(&exports)?);
            if state_a != state_b {
                bail!(
                    "state after {func}{args:?} differs: tierwasm {state_a:?}, wasmi {state_b:?}"
                );
            }
            calls += 1;
        }
        let stats = tierwasm.store.engine().stats();
        osr_transfers += stats.osr_transfers;
        osr_exits += stats.osr_exits;
    }
    Ok(Checked::Agreed(calls, osr_transfers, osr_exits))
}

fn main() -> ExitCode {
    let mut seeds = 2_000u64;
    let mut start = 0u64;
    let mut file = None;
    let mut strategy = tierwasm::Strategy::Interpreter;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        let number = value.as_deref().and_then(|v| v.parse().ok());
        match (arg.as_str(), number) {
            ("--seeds", Some(v)) => seeds = v,
            ("--start", Some(v)) => start = v,
            ("--file", _) if value.is_some() => file = value,
            ("--strategy", _) if value.as_deref() == Some("interp") => {
                strategy = tierwasm::Strategy::Interpreter;
            }
            #[cfg(feature = "jit")]
            ("--strategy", _) if value.as_deref() == Some("compiled") => {
                strategy = tierwasm::Strategy::Compiled;
            }
            #[cfg(feature = "jit")]
            ("--strategy", _) if value.as_deref() == Some("mixed") => {
                strategy = tierwasm::Strategy::Mixed;
            }
            #[cfg(feature = "jit")]
            ("--strategy", _) if value.as_deref() == Some("tiered") => {
                strategy = tierwasm::Strategy::Tiered;
            }
            _ => {
                eprintln!(
                    "usage: differential [--seeds N] [--start S] [--file MODULE.wasm] \
                     [--strategy interp|compiled|mixed|tiered]"
                );
                return ExitCode::from(2);
            }
        }
    }
    if let Some(file) = file {
        let result = std::fs::read(&file)
            .with_context(|| format!("reading {file}"))
            .and_then(|wasm| check_module(&wasm, start, strategy));
        return match result {
            Ok(_) => {
                println!("{file}: every outcome, global and memory equal");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("{file}: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    let (mut modules, mut skipped, mut calls) = (0, 0, 0);
    let (mut osr_transfers, mut osr_exits) = (0, 0);
    for seed in start..start + seeds {
        match check(seed, strategy) {
            Ok(Checked::Agreed(n, transfers, exits)) => {
                modules += 1;
                calls += n;
                osr_transfers += transfers;
                osr_exits += exits;
            }
            Ok(Checked::Skipped) => skipped += 1,
            Err(error) => {
                eprintln!("seed {seed}: {error:#}");
                let path = format!("differential-{seed}.wasm");
                if let Ok(Some(wasm)) = module(seed)
                    && std::fs::write(&path, wasm).is_ok()
                {
                    eprintln!("module written to {path}");
                }
                return ExitCode::FAILURE;
            }
        }
    }
    let osr = if osr_transfers > 0 {
        format!(
            "; {osr_transfers} frames continued in native code at a loop, {osr_exits} of them \
             came back after it"
        )
    } else {
        String::new()
    };
    println!(
        "differential: seeds {start}..{}: {modules} modules, {calls} calls, every outcome, \
         global and memory equal on tierwasm and wasmi ({skipped} seeds gave no module{osr})",
        start + seeds
    );
    ExitCode::SUCCESS
}
