//! `tierwasm run`: instantiate a module phase by phase with WASI, then run `_start` or call
//! an export.

use std::path::Path;

use anyhow::{Context as _, anyhow};
use tierwasm::wasi::{self, I32Exit, WasiCtx, WasiCtxBuilder};
use tierwasm::{Config, Engine, Func, Instance, Linker, Module, Store, Strategy, Val, ValType};

use crate::tier_log;
use crate::timings::{Phase, Timings};
use crate::{Failure, RunArgs, read, to_binary};

pub fn run(args: RunArgs) -> Result<(), Failure> {
    let (file, program_args) = args.command.split_first().expect("clap requires FILE");
    let strategy: Strategy = args.strategy.into();
    let mut timings = Timings::new(strategy);
    let mut config = Config::new();
    config
        .strategy(strategy)
        .record_tier_events(args.timings || args.tier_log.is_some());
    let engine = Engine::new(&config);
    let result = run_phases(&engine, &args, file, program_args, &mut timings);
    let events = engine.tier_events();
    if args.timings {
        timings.set_engine_stats(engine.stats(), &events);
        tell!("{timings}");
    }
    if let Some(path) = &args.tier_log {
        let log = tier_log::to_json_lines(&events);
        std::fs::write(path, log)
            .with_context(|| format!("cannot write the tier log {}", path.display()))?;
    }
    result
}

/// The lifecycle, one timed phase at a time.
fn run_phases(
    engine: &Engine,
    args: &RunArgs,
    file: &str,
    program_args: &[String],
    timings: &mut Timings,
) -> Result<(), Failure> {
    let path = Path::new(file);
    let bytes = timings.time(Phase::Read, || read(path))?;
    let module = timings
        .time(Phase::Compile, || {
            let binary = to_binary(path, bytes)?;
            Module::new(engine, &binary).map_err(anyhow::Error::from)
        })
        .with_context(|| format!("cannot compile {file}"))?;

    let wasi = wasi_context(args, file, program_args)?;
    let mut store = Store::new(engine, wasi);
    let mut linker = Linker::new(engine);
    wasi::add_to_linker(&mut linker, |wasi: &mut WasiCtx| wasi)?;

    let linked = timings.time(Phase::Link, || linker.link(&mut store, &module))?;
    let allocated = timings.time(Phase::Allocate, || linked.allocate(&mut store))?;
    let initialized = timings.time(Phase::Initialize, || allocated.initialize(&mut store))?;
    let instance = timings.time(Phase::Start, || initialized.start(&mut store));
    let instance = instance.map_err(exit_or_error)?;

    let ran = timings.time(Phase::Run, || match &args.invoke {
        Some(name) => invoke(&mut store, instance, name, program_args),
        None => run_command(&mut store, instance, file),
    });
    timings.set_hotness(&module);
    ran
}

/// The guest's WASI view: argv, environment, preopened directories, the host's stdio.
fn wasi_context(args: &RunArgs, file: &str, program_args: &[String]) -> anyhow::Result<WasiCtx> {
    let mut builder = WasiCtxBuilder::new();
    builder
        .args(std::iter::once(file).chain(program_args.iter().map(String::as_str)))
        .inherit_stdio();
    for (name, value) in &args.envs {
        builder.env(name, value);
    }
    for dir in &args.dirs {
        let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
        builder
            .preopened_dir(host, guest)
            .with_context(|| format!("cannot open directory {host} for --dir"))?;
    }
    Ok(builder.build())
}

/// Runs a WASI command's `_start`; `proc_exit` becomes the process's exit status.
fn run_command(store: &mut Store<WasiCtx>, instance: Instance, file: &str) -> Result<(), Failure> {
    let start = instance.get_func(&*store, "_start").ok_or_else(|| {
        anyhow!("{file} exports no `_start` function: call an export with --invoke NAME")
    })?;
    start.call(&mut *store, &[], &mut []).map_err(exit_or_error)
}

/// Calls export `name` with `args` parsed by its parameter types and prints the results.
fn invoke(
    store: &mut Store<WasiCtx>,
    instance: Instance,
    name: &str,
    args: &[String],
) -> Result<(), Failure> {
    if let Some(initialize) = instance.get_func(&*store, "_initialize") {
        initialize
            .call(&mut *store, &[], &mut [])
            .map_err(exit_or_error)?;
    }
    let func: Func = instance
        .get_func(&*store, name)
        .ok_or_else(|| anyhow!("the module exports no function named `{name}`"))?;
    let ty = func.ty(&*store);
    if args.len() != ty.params().len() {
        return Err(Failure::Usage(format!(
            "`{name}` has type {ty}: it takes {} arguments, {} given",
            ty.params().len(),
            args.len()
        )));
    }
    let params = ty
        .params()
        .iter()
        .zip(args)
        .map(|(ty, arg)| parse_arg(*ty, arg))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Usage)?;
    let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
    func.call(&mut *store, &params, &mut results)
        .map_err(exit_or_error)?;
    for result in &results {
        say!("{}", format_val(result))?;
    }
    Ok(())
}

/// A WASI `proc_exit` is a request to exit, not an error.
fn exit_or_error(error: tierwasm::Error) -> Failure {
    match error.downcast_ref::<I32Exit>() {
        Some(I32Exit(code)) => Failure::Exit(*code),
        None => Failure::Error(error.into()),
    }
}

fn parse_arg(ty: ValType, arg: &str) -> Result<Val, String> {
    let invalid = || format!("cannot parse `{arg}` as {ty}");
    Ok(match ty {
        ValType::I32 => Val::I32(arg.parse().map_err(|_| invalid())?),
        ValType::I64 => Val::I64(arg.parse().map_err(|_| invalid())?),
        ValType::F32 => Val::from(arg.parse::<f32>().map_err(|_| invalid())?),
        ValType::F64 => Val::from(arg.parse::<f64>().map_err(|_| invalid())?),
        ValType::FuncRef | ValType::ExternRef => {
            return Err(format!("cannot pass a {ty} from the command line"));
        }
    })
}

/// Integers in signed decimal, floats in Rust's shortest round-trip form, as wasmtime does.
fn format_val(val: &Val) -> String {
    match val {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::FuncRef(None) | Val::ExternRef(None) => "null".to_string(),
        Val::FuncRef(Some(_)) => "funcref".to_string(),
        Val::ExternRef(Some(_)) => "externref".to_string(),
    }
}
