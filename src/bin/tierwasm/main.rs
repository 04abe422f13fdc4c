//! The `tierwasm` command-line tool.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tierwasm::{Engine, FuncType, Instance, Module, Store, Val, ValType};

/// Runs WebAssembly modules on the tierwasm runtime.
#[derive(Parser)]
#[command(name = "tierwasm", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Instantiates a module (`.wasm` or `.wat`) and calls an export.
    Run {
        /// The export to call, with ARGS parsed by its parameter types.
        #[arg(long, value_name = "NAME")]
        invoke: String,
        /// The module file.
        file: PathBuf,
        /// Arguments of the invoked function.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { invoke, file, args } => run(&file, &invoke, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(file: &PathBuf, name: &str, args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::default();
    let module = Module::from_file(&engine, file)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let func = instance
        .get_func(&store, name)
        .ok_or_else(|| format!("{} exports no function named `{name}`", file.display()))?;
    let ty = func.ty(&store);
    let params = parse_args(&ty, args)?;
    let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
    func.call(&mut store, &params, &mut results)?;
    for result in &results {
        println!("{}", format_val(result));
    }
    Ok(())
}

fn parse_args(ty: &FuncType, args: &[String]) -> Result<Vec<Val>, String> {
    if args.len() != ty.params().len() {
        return Err(format!(
            "the function has type {ty}: it takes {} arguments, {} given",
            ty.params().len(),
            args.len()
        ));
    }
    ty.params()
        .iter()
        .zip(args)
        .map(|(ty, arg)| {
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
        })
        .collect()
}

fn format_val(val: &Val) -> String {
    match val {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::FuncRef(None) | Val::ExternRef(None) => "null".to_string(),
        Val::FuncRef(Some(_)) => "<funcref>".to_string(),
        Val::ExternRef(Some(_)) => "<externref>".to_string(),
    }
}
