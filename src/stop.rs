//! Ctrl-C and SIGTERM as a flag every stage polls, so an interrupted crawl still ends on whole lines.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::exit::ExitCode;

/// Shared by every thread of one crawl; cloning shares the same flags.
#[derive(Clone, Default)]
pub struct Stop {
    /// Set by SIGINT or SIGTERM: it stops every crawl the process runs.
    signalled: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
    /// Set by `request`: it stops this crawl alone.
    requested: Arc<AtomicBool>,
}

impl Stop {
    /// Routes SIGINT and SIGTERM here. A second signal exits at once, with its own code: the
    /// user means it. main does this before anything else, so that no signal finds the
    /// default action, which would kill the process without its exit code.
    pub fn install(&self) -> std::io::Result<()> {
        for sig in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as it was before this signal set it.
            signal_hook::flag::register_conditional_shutdown(
                sig,
                ExitCode::for_signal(sig).code(),
                self.signalled.clone(),
            )?;
            signal_hook::flag::register_usize(sig, self.signal.clone(), sig as usize)?;
            signal_hook::flag::register(sig, self.signalled.clone())?;
        }
        // A file-size limit (ulimit -f) then fails the write with EFBIG, which crawl reports as
        // it reports a full disk, instead of killing it without a word.
        // SAFETY: setting a signal's disposition to ignored runs no code of ours.
        unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
        Ok(())
    }

    /// A Stop for one crawl: signals reach it, but its `request` does not reach the others
    /// (compare runs three crawls, and one whose output closed must not stop the next).
    pub fn for_crawl(&self) -> Stop {
        Stop {
            signalled: self.signalled.clone(),
            signal: self.signal.clone(),
            requested: Arc::default(),
        }
    }

    pub fn is_requested(&self) -> bool {
        self.signalled.load(Ordering::SeqCst) || self.requested.load(Ordering::SeqCst)
    }

    /// The signal that asked to stop, if any (0 when stopped for another reason).
    pub fn signal(&self) -> Option<i32> {
        if self.signalled.load(Ordering::SeqCst) {
            Some(self.signal.load(Ordering::SeqCst) as i32)
        } else {
            self.requested.load(Ordering::SeqCst).then_some(0)
        }
    }

    /// Stops without a signal, e.g. when the reader of the output went away.
    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
    }

    /// Sleeps for `d` unless asked to stop first; says whether the whole sleep happened.
    pub fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            if self.is_requested() {
                return false;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            thread::sleep(left.min(Duration::from_millis(50)));
        }
    }

    /// Blocks until a signal comes, and gives the exit code it calls for.
    pub fn wait(&self) -> ExitCode {
        loop {
            if let Some(signal) = self.signal().filter(|&s| s != 0) {
                return ExitCode::for_signal(signal);
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crawls_own_request_stops_it_alone() {
        let process = Stop::default();
        let (first, second) = (process.for_crawl(), process.for_crawl());
        first.request();
        assert_eq!(first.signal(), Some(0));
        assert!(!second.is_requested() && !process.is_requested());
    }
}
