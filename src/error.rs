//! The one error type of the runtime, with a kind per lifecycle phase.

use std::fmt;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, by lifecycle phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Decoding or validation failed (`Module::new`, `Module::validate`).
    Compile,
    /// An import is missing or has an incompatible type.
    Link,
    /// Execution trapped (also a trap during segment initialisation or in the start function).
    Trap,
    /// A configured limit refused an allocation or a growth.
    Limit,
    /// A host function returned an error.
    Host,
    /// The embedder misused the API: a handle from another store, or arguments of the wrong
    /// number or type.
    Usage,
}

/// Why execution trapped. `Display` gives the texts the WebAssembly spec test suite uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapCode {
    /// `unreachable` was executed.
    Unreachable,
    /// A load, store or bulk memory operation was out of bounds.
    MemoryOutOfBounds,
    /// A table access or bulk table operation was out of bounds.
    TableOutOfBounds,
    /// `call_indirect` with an index past the end of the table.
    UndefinedElement,
    /// `call_indirect` through a null table entry.
    UninitializedElement,
    /// `call_indirect` to a function of another signature.
    BadSignature,
    /// Signed division overflow, or a float-to-int conversion out of range.
    IntegerOverflow,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// A float-to-int conversion of NaN.
    BadConversionToInteger,
    /// The call-depth limit was reached.
    StackOverflow,
}

impl TrapCode {
    /// The message the spec test suite expects for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::UninitializedElement => "uninitialized element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::StackOverflow => "call stack exhausted",
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// One frame of a [`WasmBacktrace`]: a function of a module, innermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// The function's index in its module's function index space.
    pub func_index: u32,
    /// The function's name from the module's name section, if it has one.
    pub func_name: Option<String>,
    /// The module's name from the name section, if it has one.
    pub module_name: Option<String>,
}

impl fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(module) = &self.module_name {
            write!(f, "{module}!")?;
        }
        match &self.func_name {
            Some(name) => write!(f, "{name} (func {})", self.func_index),
            None => write!(f, "func {}", self.func_index),
        }
    }
}

/// The Wasm call stack at the point of a trap, innermost frame first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WasmBacktrace {
    frames: Vec<FrameInfo>,
}

impl WasmBacktrace {
    pub(crate) fn new(frames: Vec<FrameInfo>) -> Self {
        WasmBacktrace { frames }
    }

    /// The frames, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }
}

impl fmt::Display for WasmBacktrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, frame) in self.frames.iter().enumerate() {
            writeln!(f, "  {i}: {frame}")?;
        }
        Ok(())
    }
}

#[derive(Debug)]
enum Repr {
    Compile {
        message: String,
        offset: Option<usize>,
    },
    Link(String),
    Trap {
        code: TrapCode,
        backtrace: WasmBacktrace,
        /// Whether the backtrace is final: a trap a host function passed on keeps the frames
        /// of the activation it came from, and gets none of its callers'.
        complete: bool,
    },
    Limit(String),
    Host(Box<dyn std::error::Error + Send + Sync>),
    Usage(String),
}

/// The runtime's error: see [`Error::kind`] for which phase failed.
#[derive(Debug)]
pub struct Error {
    repr: Box<Repr>,
}

impl Error {
    fn new(repr: Repr) -> Self {
        Error {
            repr: Box::new(repr),
        }
    }

    pub(crate) fn compile(message: impl Into<String>, offset: Option<usize>) -> Self {
        Error::new(Repr::Compile {
            message: message.into(),
            offset,
        })
    }

    pub(crate) fn link(message: impl Into<String>) -> Self {
        Error::new(Repr::Link(message.into()))
    }

    pub(crate) fn trap(code: TrapCode) -> Self {
        Error::trap_with_backtrace(code, WasmBacktrace::default())
    }

    pub(crate) fn trap_with_backtrace(code: TrapCode, backtrace: WasmBacktrace) -> Self {
        Error::new(Repr::Trap {
            code,
            backtrace,
            complete: false,
        })
    }

    pub(crate) fn limit(message: impl Into<String>) -> Self {
        Error::new(Repr::Limit(message.into()))
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Error::new(Repr::Usage(message.into()))
    }

    /// An error for a host function to return: the call fails with kind [`ErrorKind::Host`].
    pub fn host(message: impl fmt::Display) -> Self {
        Error::new(Repr::Host(message.to_string().into()))
    }

    /// Wraps any error as a host-function failure ([`ErrorKind::Host`]); the original is
    /// reachable through [`std::error::Error::source`] and [`Error::downcast_ref`].
    pub fn from_host_error(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::new(Repr::Host(Box::new(error)))
    }

    /// Which phase failed.
    pub fn kind(&self) -> ErrorKind {
        match &*self.repr {
            Repr::Compile { .. } => ErrorKind::Compile,
            Repr::Link(_) => ErrorKind::Link,
            Repr::Trap { .. } => ErrorKind::Trap,
            Repr::Limit(_) => ErrorKind::Limit,
            Repr::Host(_) => ErrorKind::Host,
            Repr::Usage(_) => ErrorKind::Usage,
        }
    }

    /// The trap code, for errors of kind [`ErrorKind::Trap`].
    pub fn trap_code(&self) -> Option<TrapCode> {
        match &*self.repr {
            Repr::Trap { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The Wasm call stack of a trap, innermost frame first.
    pub fn backtrace(&self) -> Option<&WasmBacktrace> {
        match &*self.repr {
            Repr::Trap { backtrace, .. } => Some(backtrace),
            _ => None,
        }
    }

    /// The byte offset in the module of a compile error, where known.
    pub fn offset(&self) -> Option<usize> {
        match &*self.repr {
            Repr::Compile { offset, .. } => *offset,
            _ => None,
        }
    }

    /// The host error inside an error of kind [`ErrorKind::Host`], if it is an `E`.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match &*self.repr {
            Repr::Host(error) => error.downcast_ref(),
            _ => None,
        }
    }

    /// Appends the frames of the activation a trap passed through on its way out (its
    /// callers' frames), unless its backtrace is complete.
    pub(crate) fn with_outer_frames(mut self, make: impl FnOnce() -> WasmBacktrace) -> Self {
        if let Repr::Trap {
            backtrace,
            complete: false,
            ..
        } = &mut *self.repr
        {
            backtrace.frames.extend(make().frames);
        }
        self
    }

    /// Marks the backtrace of a trap that a host function returned as final, when it has
    /// one (the trap of a call the host function made, which it passed on).
    pub(crate) fn returned_by_host(mut self) -> Self {
        if let Repr::Trap {
            backtrace,
            complete,
            ..
        } = &mut *self.repr
        {
            *complete = !backtrace.frames.is_empty();
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.repr {
            Repr::Compile {
                message,
                offset: Some(offset),
            } => write!(f, "{message} (at offset {offset:#x})"),
            Repr::Compile {
                message,
                offset: None,
            } => f.write_str(message),
            Repr::Link(message) | Repr::Limit(message) | Repr::Usage(message) => {
                f.write_str(message)
            }
            Repr::Trap {
                code, backtrace, ..
            } => {
                write!(f, "wasm trap: {code}")?;
                if f.alternate() && !backtrace.frames.is_empty() {
                    write!(f, "\nwasm backtrace:\n{backtrace}")?;
                }
                Ok(())
            }
            Repr::Host(error) => write!(f, "host function failed: {error}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.repr {
            Repr::Host(error) => Some(&**error),
            _ => None,
        }
    }
}

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(error: wasmparser::BinaryReaderError) -> Self {
        Error::compile(error.message(), Some(error.offset() as usize))
    }
}
