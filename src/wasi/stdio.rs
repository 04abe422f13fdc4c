//! The guest's standard streams (fds 0, 1 and 2): the host's own stdio, or any reader and
//! writer an embedder supplies, such as a [`MemoryOutputPipe`].

use std::io::{self, IsTerminal, Read, Write};
use std::sync::{Arc, Mutex, PoisonError};

/// A stream the guest reads: its stdin.
pub(crate) struct InputStream {
    reader: Box<dyn Read + Send>,
    terminal: bool,
    /// Whether this is the host process's stdin, whose readiness `poll_oneoff` can wait for.
    host: bool,
}

impl InputStream {
    /// A stream over any reader.
    pub fn new(reader: impl Read + Send + 'static) -> Self {
        InputStream {
            reader: Box::new(reader),
            terminal: false,
            host: false,
        }
    }

    /// The host process's stdin.
    pub fn host() -> Self {
        let stdin = io::stdin();
        InputStream {
            terminal: stdin.is_terminal(),
            reader: Box::new(stdin),
            host: true,
        }
    }

    /// Whether this is the host process's stdin (else a reader that never blocks for long).
    pub fn is_host_stdin(&self) -> bool {
        self.host
    }

    /// Whether the stream is a terminal, which the guest sees as a character device.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// Reads what is available, blocking until something is.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

/// A stream the guest writes: its stdout or stderr.
pub(crate) struct OutputStream {
    writer: Box<dyn Write + Send>,
    terminal: bool,
}

impl OutputStream {
    /// A stream over any writer.
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        OutputStream {
            writer: Box::new(writer),
            terminal: false,
        }
    }

    /// The host process's stdout.
    pub fn host_stdout() -> Self {
        let stdout = io::stdout();
        OutputStream {
            terminal: stdout.is_terminal(),
            writer: Box::new(stdout),
        }
    }

    /// The host process's stderr.
    pub fn host_stderr() -> Self {
        let stderr = io::stderr();
        OutputStream {
            terminal: stderr.is_terminal(),
            writer: Box::new(stderr),
        }
    }

    /// Whether the stream is a terminal, which the guest sees as a character device.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// Writes and flushes: the guest's libc does its own buffering, so what it writes is
    /// passed on at once, and stdout and stderr interleave as they would natively.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.writer.write(buf)?;
        self.writer.flush()?;
        Ok(written)
    }
}

/// An in-memory sink for the guest's stdout or stderr. Clones share one buffer: give one
/// to [`WasiCtxBuilder::stdout`](crate::wasi::WasiCtxBuilder::stdout), keep another, and
/// read what the guest wrote with [`contents`](MemoryOutputPipe::contents).
#[derive(Debug, Clone, Default)]
pub struct MemoryOutputPipe {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl MemoryOutputPipe {
    /// An empty pipe.
    pub fn new() -> Self {
        MemoryOutputPipe::default()
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Write for MemoryOutputPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
