//! The `tierwasm` command-line tool: run, validate, inspect and test WebAssembly modules.

/// `println!` that returns an error instead of panicking when stdout is closed.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
            .map_err(|error| anyhow::anyhow!("cannot write to stdout: {error}"))
    }};
}

/// `eprintln!` that ignores a closed stderr: there is nowhere left to report that.
macro_rules! tell {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod inspect;
mod run;
mod tier_log;
mod timings;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use tierwasm::{Engine, ErrorKind, Module, Strategy};

/// Exit status for errors of tierwasm itself (unreadable file, compile or link error).
const EXIT_ERROR: u8 = 1;
/// Exit status for usage errors, as clap reports them.
const EXIT_USAGE: u8 = 2;
/// Exit status when Wasm traps, as a process killed by `abort()` would report it.
const EXIT_TRAP: u8 = 134;

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0    success (for `run` of a WASI command: the program's own exit code)
  1    an error: unreadable file, invalid module, failed link or instantiation,
       a failed `wast` assertion
  2    a usage error: unknown flag, missing or unparsable argument
  134  the WebAssembly code trapped";

/// Runs WebAssembly modules on tierwasm: a register-based interpreter.
#[derive(Parser)]
#[command(name = "tierwasm", version, about, after_help = EXIT_STATUS_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a WASI command (`_start`), or calls one export with `--invoke`.
    #[command(after_help = EXIT_STATUS_HELP)]
    Run(RunArgs),
    /// Checks that a module is valid; prints the compile error and its offset if not.
    Validate {
        /// The module (`.wasm` or `.wat`).
        file: PathBuf,
    },
    /// Lists a module's imports and exports with their types, its sections and code size.
    Inspect {
        /// The module (`.wasm` or `.wat`).
        file: PathBuf,
    },
    /// Runs `.wast` scripts (the spec test format) and reports `N passed, N failed`.
    Wast {
        /// The scripts.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Options of `tierwasm run`.
#[derive(Args)]
struct RunArgs {
    /// Call this export instead of `_start`, with ARGS parsed by its parameter types, and print
    /// each result on its own line. A reactor's `_initialize` runs first.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Give the guest access to a host directory, seen at GUEST (default: the same path).
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Set an environment variable for the guest.
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
    envs: Vec<(String, String)>,
    /// How to execute the code (default: tiered when built with the Cranelift tier).
    #[arg(long, value_enum, default_value_t = StrategyArg::default())]
    strategy: StrategyArg,
    /// Print the time each lifecycle phase took, on stderr (and, with a native tier, a
    /// summary of what ran in which tier).
    #[arg(long)]
    timings: bool,
    /// Write the tier timeline to FILE: one JSON object per line and event (a function
    /// translated, queued, compiled, swapped in), with its time in µs since the engine
    /// started.
    #[arg(long, value_name = "FILE")]
    tier_log: Option<std::path::PathBuf>,
    /// The module (`.wasm` or `.wat`), then the program's arguments: everything after FILE
    /// belongs to the program, also words that start with `-`.
    #[arg(
        value_name = "FILE [ARGS]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<String>,
}

/// Parses `--env NAME=VALUE`; the name must not be empty.
fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err("expected NAME=VALUE with a non-empty NAME".to_string()),
    }
}

/// The execution strategies this build has.
#[derive(Clone, Copy, Default, ValueEnum)]
enum StrategyArg {
    /// The register-based interpreter.
    #[cfg_attr(not(feature = "jit"), default)]
    Interp,
    /// Native code from Cranelift: every function compiled, in parallel, before the first call.
    #[cfg(feature = "jit")]
    Compiled,
    /// The interpreter at once, hot functions compiled in the background and swapped in.
    #[cfg(feature = "jit")]
    #[default]
    Tiered,
}

impl From<StrategyArg> for Strategy {
    fn from(strategy: StrategyArg) -> Strategy {
        match strategy {
            StrategyArg::Interp => Strategy::Interpreter,
            #[cfg(feature = "jit")]
            StrategyArg::Compiled => Strategy::Compiled,
            #[cfg(feature = "jit")]
            StrategyArg::Tiered => Strategy::Tiered,
        }
    }
}

/// Why a command failed, and the exit status that says so.
enum Failure {
    /// An error from the runtime or the file system, printed with its detail.
    Error(anyhow::Error),
    /// The command line was well-formed for clap but not for the module, e.g. an argument
    /// that does not parse as the invoked function's parameter type.
    Usage(String),
    /// The program asked to exit with this status (WASI `proc_exit`).
    Exit(i32),
    /// Nothing more to print: the command already reported (e.g. failed `wast` assertions).
    Reported,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::Error(error.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Run(args) = &cli.command
        && args.command[0].starts_with('-')
    {
        // FILE takes hyphenated words only so that the program's arguments can; an option
        // where FILE should be is an unknown option.
        let message = format!("unexpected argument '{}' found", args.command[0]);
        Cli::command()
            .error(clap::error::ErrorKind::UnknownArgument, message)
            .exit();
    }
    let outcome = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Validate { file } => validate(&file),
        Command::Inspect { file } => inspect::inspect(&file),
        Command::Wast { files } => wast(&files),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Exit(code)) => ExitCode::from(code as u8),
        Err(Failure::Reported) => ExitCode::from(EXIT_ERROR),
        Err(Failure::Usage(message)) => {
            tell!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Error(error)) => {
            tell!("error: {error:#}");
            let trap = error
                .downcast_ref::<tierwasm::Error>()
                .filter(|error| error.kind() == ErrorKind::Trap);
            match trap.and_then(tierwasm::Error::backtrace) {
                Some(backtrace) if !backtrace.frames().is_empty() => {
                    tell!("wasm backtrace:\n{}", backtrace.to_string().trim_end());
                }
                _ => {}
            }
            ExitCode::from(if trap.is_some() {
                EXIT_TRAP
            } else {
                EXIT_ERROR
            })
        }
    }
}

/// Reads a module file, naming the file in the error.
fn read(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).map_err(|error| anyhow::anyhow!("cannot read {}: {error}", file.display()))
}

/// The module's binary form. Text format (recognised by content, as `Module::new` does) is
/// converted here, so that its errors name the file.
fn to_binary(file: &Path, bytes: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    if matches!(wat::Detect::from_bytes(&bytes), wat::Detect::WasmText) {
        Ok(wat::Parser::new()
            .parse_bytes(Some(file), &bytes)?
            .into_owned())
    } else {
        Ok(bytes)
    }
}

fn validate(file: &Path) -> Result<(), Failure> {
    let bytes = to_binary(file, read(file)?)?;
    Module::validate(&Engine::default(), &bytes)
        .map_err(|error| anyhow::anyhow!("{} is not a valid module: {error}", file.display()))?;
    say!("{}: valid", file.display())?;
    Ok(())
}

fn wast(files: &[PathBuf]) -> Result<(), Failure> {
    let engine = Engine::default();
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        let source = std::fs::read_to_string(file)
            .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", file.display()))?;
        let report = tierwasm::wast::run_script(&engine, &source);
        say!("{}: {report}", file.display())?;
        passed += report.passed;
        failed += report.failed();
    }
    say!("{passed} passed, {failed} failed")?;
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure::Reported)
    }
}
