//! The process exit codes, named in one place so the README, main and the tests agree.

/// How a `crawl` run ends. Failed pages do not change the code: they are records, not errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The crawl completed (some pages may have failed; see their records), or stdout closed early.
    Success,
    /// Crawling could not go on: the output could not be written, a thread died.
    Failure,
    /// Bad arguments, a bad selector or an unreadable URL file; nothing was fetched.
    Usage,
    /// Stopped by Ctrl-C (SIGINT), or by a second one at once.
    Interrupted,
    /// Stopped by SIGTERM.
    Terminated,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Failure => 1,
            ExitCode::Usage => 2,
            ExitCode::Interrupted => 130,
            ExitCode::Terminated => 143,
        }
    }
}

/// An error that is the user's to fix before a crawl can start.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
