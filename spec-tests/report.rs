//! Tallies of passed and failed assertions, per file and in total.

use std::fmt;

/// How many failures of one file are printed; the rest are only counted.
const MAX_PRINTED_FAILURES: usize = 10;

/// One failed directive.
struct Failure {
    /// 1-based line of the directive in its `.wast` file (0 when not tied to a directive).
    line: usize,
    /// The directive's keyword, e.g. `assert_return`.
    directive: &'static str,
    /// What was expected and what happened instead.
    message: String,
}

/// The outcome of one `.wast` file.
#[derive(Default)]
pub struct FileReport {
    /// Assertions that held.
    pub passed: usize,
    failures: Vec<Failure>,
}

impl FileReport {
    /// Records a failed directive.
    pub fn fail(&mut self, line: usize, directive: &'static str, message: String) {
        self.failures.push(Failure {
            line,
            directive,
            message,
        });
    }

    /// Prints `<file>: N passed, N failed`, then the first failures.
    pub fn print(&self, file: &str) {
        println!(
            "{file}: {} passed, {} failed",
            self.passed,
            self.failures.len()
        );
        for failure in self.failures.iter().take(MAX_PRINTED_FAILURES) {
            println!(
                "    {file}:{}: {}: {}",
                failure.line, failure.directive, failure.message
            );
        }
        if let Some(hidden) = self.failures.len().checked_sub(MAX_PRINTED_FAILURES)
            && hidden > 0
        {
            println!("    ... and {hidden} more failures");
        }
    }
}

/// Counts over all files; `Display` is the final summary line.
#[derive(Default)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
}

impl Totals {
    /// Adds one file's counts.
    pub fn add(&mut self, report: &FileReport) {
        self.passed += report.passed;
        self.failed += report.failures.len();
    }
}

impl fmt::Display for Totals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)
    }
}
