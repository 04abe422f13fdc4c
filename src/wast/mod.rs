//! Runs `.wast` scripts, the format of the WebAssembly spec test suite, against tierwasm
//! (feature `wast`). Used by the spec-suite runner and by `tierwasm wast`.
//!
//! Every `assert_*` directive counts as one passed or failed assertion. Other directives
//! (`module`, `register`, `invoke`, …) count only when they fail, since a failure there
//! usually invalidates the assertions that follow. A panic inside a directive is caught and
//! counted as that directive's failure, so one bug does not hide the rest. Modules import the
//! `spectest` host module of the reference interpreter.

mod context;
mod spectest;
mod values;

use std::fmt;
use std::panic::{self, AssertUnwindSafe};

use wast::WastDirective;
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};

use crate::Engine;
use context::WastContext;

/// How many failures [`WastReport`]'s `Display` lists; the rest are only counted.
const MAX_LISTED_FAILURES: usize = 10;

/// One failed directive of a script.
#[derive(Debug, Clone)]
pub struct WastFailure {
    /// 1-based line of the directive (0 when the script could not be read at all).
    pub line: usize,
    /// The directive's keyword, e.g. `assert_return`.
    pub directive: &'static str,
    /// What was expected and what happened instead.
    pub message: String,
}

/// The outcome of one script.
#[derive(Debug, Clone, Default)]
pub struct WastReport {
    /// Assertions that held.
    pub passed: usize,
    /// Directives that failed.
    pub failures: Vec<WastFailure>,
}

impl WastReport {
    /// How many directives failed.
    pub fn failed(&self) -> usize {
        self.failures.len()
    }

    fn fail(&mut self, line: usize, directive: &'static str, message: String) {
        self.failures.push(WastFailure {
            line,
            directive,
            message,
        });
    }
}

/// `N passed, N failed`, then the first failures, one per line.
impl fmt::Display for WastReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed())?;
        for failure in self.failures.iter().take(MAX_LISTED_FAILURES) {
            write!(
                f,
                "\n    line {}: {}: {}",
                failure.line, failure.directive, failure.message
            )?;
        }
        if self.failed() > MAX_LISTED_FAILURES {
            write!(
                f,
                "\n    ... and {} more failures",
                self.failed() - MAX_LISTED_FAILURES
            )?;
        }
        Ok(())
    }
}

/// Runs the script `source` in a fresh store of `engine`.
pub fn run_script(engine: &Engine, source: &str) -> WastReport {
    let mut report = WastReport::default();
    let mut lexer = Lexer::new(source);
    lexer.allow_confusing_unicode(true);
    let buffer = match ParseBuffer::new_with_lexer(lexer) {
        Ok(buffer) => buffer,
        Err(error) => {
            report.fail(
                0,
                "lex",
                format!("cannot lex the script: {}", error.message()),
            );
            return report;
        }
    };
    let directives = match parser::parse::<wast::Wast<'_>>(&buffer) {
        Ok(script) => script.directives,
        Err(error) => {
            let line = error.span().linecol_in(source).0 + 1;
            report.fail(
                line,
                "parse",
                format!("cannot parse the script: {}", error.message()),
            );
            return report;
        }
    };
    let mut context = match WastContext::new(engine) {
        Ok(context) => context,
        Err(error) => {
            report.fail(0, "spectest", format!("{error:#}"));
            return report;
        }
    };
    for directive in directives {
        let line = directive.span().linecol_in(source).0 + 1;
        let name = directive_name(&directive);
        match catch_panic(|| context.run(directive)) {
            Ok(Ok(())) if name.starts_with("assert_") => report.passed += 1,
            Ok(Ok(())) => {}
            Ok(Err(error)) => report.fail(line, name, format!("{error:#}")),
            Err(panic) => report.fail(line, name, format!("panicked: {panic}")),
        }
    }
    report
}

/// Runs `f`, turning a panic into its message.
fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with no message".to_string())
    })
}

/// The directive's keyword as written in the script.
fn directive_name(directive: &WastDirective<'_>) -> &'static str {
    match directive {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
    }
}
