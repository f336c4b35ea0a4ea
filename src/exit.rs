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
    /// The code for a run a signal stopped: SIGTERM's own, else Ctrl-C's.
    pub fn for_signal(signal: i32) -> ExitCode {
        match signal {
            signal_hook::consts::SIGTERM => ExitCode::Terminated,
            _ => ExitCode::Interrupted,
        }
    }

    /// Every code, in the order `--help` and the man page list them.
    pub const ALL: [ExitCode; 5] = [
        ExitCode::Success,
        ExitCode::Failure,
        ExitCode::Usage,
        ExitCode::Interrupted,
        ExitCode::Terminated,
    ];

    /// What the code tells the user, in one line for `--help` and the man page.
    pub fn meaning(self) -> &'static str {
        match self {
            ExitCode::Success => {
                "the crawl completed, even if some pages failed (they are records); or stdout closed early"
            }
            ExitCode::Failure => {
                "an output, archive or end report could not be written, or a shared crawl lost its Redis"
            }
            ExitCode::Usage => {
                "usage error: a bad option value, selector or file; nothing was fetched, no file changed"
            }
            ExitCode::Interrupted => "stopped by Ctrl-C (SIGINT)",
            ExitCode::Terminated => "stopped by SIGTERM",
        }
    }

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

/// A run a signal cut short, where the stop has to travel up as an error (compare, demo) to
/// end the process with the signal's exit code.
#[derive(Debug)]
pub struct Stopped(pub ExitCode);

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped by a signal")
    }
}

impl std::error::Error for Stopped {}

/// A line on stderr. A closed stderr (`crawl ... 2>&1 >/dev/null | true`) loses it rather than
/// turning a finished crawl into a panic.
pub fn note(text: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}
