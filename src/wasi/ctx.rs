//! The WASI state of one instance, and the builder that grants it its capabilities.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use crate::wasi::abi::rights;
use crate::wasi::clocks::Clocks;
use crate::wasi::stdio::{InputStream, OutputStream};
use crate::wasi::table::{Descriptor, FdTable};

/// The WASI state of one instance: its arguments, environment and descriptor table (stdio
/// on fds 0, 1 and 2, then the preopened directories from fd 3). Made by
/// [`WasiCtxBuilder`]; kept in the store's data and reached through the `get_ctx` closure
/// given to [`add_to_linker`](crate::wasi::add_to_linker).
pub struct WasiCtx {
    pub(crate) args: Vec<String>,
    /// `NAME=VALUE` strings.
    pub(crate) environ: Vec<String>,
    pub(crate) fds: FdTable,
    pub(crate) clocks: Clocks,
}

impl fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasiCtx")
            .field("args", &self.args)
            .field("environ", &self.environ)
            .finish_non_exhaustive()
    }
}

/// Builds a [`WasiCtx`]. A guest gets nothing it is not given: no arguments, an empty
/// environment, an empty stdin, stdout and stderr that discard what is written, and no
/// directories.
#[derive(Default)]
pub struct WasiCtxBuilder {
    args: Vec<String>,
    environ: Vec<String>,
    stdin: Option<InputStream>,
    stdout: Option<OutputStream>,
    stderr: Option<OutputStream>,
    preopens: Vec<(Dir, String)>,
}

impl WasiCtxBuilder {
    /// A builder granting nothing.
    pub fn new() -> Self {
        WasiCtxBuilder::default()
    }

    /// Appends to the guest's `argv`; the first argument is the program name, `argv[0]`.
    pub fn args<S: AsRef<str>>(&mut self, args: impl IntoIterator<Item = S>) -> &mut Self {
        self.args
            .extend(args.into_iter().map(|arg| arg.as_ref().to_string()));
        self
    }

    /// Adds `name=value` to the guest's environment.
    pub fn env(&mut self, name: &str, value: &str) -> &mut Self {
        self.environ.push(format!("{name}={value}"));
        self
    }

    /// Gives the guest the host process's stdin, stdout and stderr as fds 0, 1 and 2. A
    /// stream that is a terminal shows as a character device, so the guest's `isatty`
    /// answers as the host's would.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.stdin = Some(InputStream::host());
        self.stdout = Some(OutputStream::host_stdout());
        self.stderr = Some(OutputStream::host_stderr());
        self
    }

    /// The guest's stdin (fd 0), e.g. a `std::io::Cursor` over test input.
    pub fn stdin(&mut self, input: impl Read + Send + 'static) -> &mut Self {
        self.stdin = Some(InputStream::new(input));
        self
    }

    /// The guest's stdout (fd 1), e.g. a [`MemoryOutputPipe`](crate::wasi::MemoryOutputPipe).
    /// Each `fd_write` is written and flushed at once.
    pub fn stdout(&mut self, output: impl Write + Send + 'static) -> &mut Self {
        self.stdout = Some(OutputStream::new(output));
        self
    }

    /// The guest's stderr (fd 2); see [`stdout`](Self::stdout).
    pub fn stderr(&mut self, output: impl Write + Send + 'static) -> &mut Self {
        self.stderr = Some(OutputStream::new(output));
        self
    }

    /// Opens the host directory `host_path` and gives it to the guest as the preopened
    /// directory named `guest_path` (the name wasi-libc resolves the guest's paths against,
    /// e.g. `"."` or `"/data"`). Preopens take fds 3, 4, … in the order they are added. The
    /// guest reaches only what lies beneath the directory: `..`, absolute paths and symlinks
    /// leading out are refused.
    pub fn preopened_dir(
        &mut self,
        host_path: impl AsRef<Path>,
        guest_path: &str,
    ) -> io::Result<&mut Self> {
        let dir = Dir::open_ambient_dir(host_path, ambient_authority())?;
        self.preopens.push((dir, guest_path.to_string()));
        Ok(self)
    }

    /// The context. The builder's contents move into it, leaving the builder as new.
    pub fn build(&mut self) -> WasiCtx {
        let WasiCtxBuilder {
            args,
            environ,
            stdin,
            stdout,
            stderr,
            preopens,
        } = std::mem::take(self);
        let mut fds = FdTable::default();
        let stdio = [
            Descriptor::input(stdin.unwrap_or_else(|| InputStream::new(io::empty()))),
            Descriptor::output(stdout.unwrap_or_else(|| OutputStream::new(io::sink()))),
            Descriptor::output(stderr.unwrap_or_else(|| OutputStream::new(io::sink()))),
        ];
        let preopens = preopens.into_iter().map(|(dir, name)| {
            Descriptor::dir(
                dir,
                Some(name),
                rights::DIRECTORY,
                rights::DIRECTORY | rights::FILE,
            )
        });
        for descriptor in stdio.into_iter().chain(preopens) {
            fds.insert(descriptor)
                .expect("an empty table has room for the standard streams and the preopens");
        }
        WasiCtx {
            args,
            environ,
            fds,
            clocks: Clocks::new(),
        }
    }
}

impl fmt::Debug for WasiCtxBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let preopens: Vec<&str> = self
            .preopens
            .iter()
            .map(|(_, name)| name.as_str())
            .collect();
        f.debug_struct("WasiCtxBuilder")
            .field("args", &self.args)
            .field("environ", &self.environ)
            .field("preopens", &preopens)
            .finish_non_exhaustive()
    }
}
