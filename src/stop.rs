//! Ctrl-C and SIGTERM as a flag every stage polls, so an interrupted crawl still ends on whole lines.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};

/// Shared by every thread of one crawl; cloning shares the same flag.
#[derive(Clone, Default)]
pub struct Stop {
    requested: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

/// Exit code after a signal that killed the crawl before it could wind down.
const SECOND_SIGNAL_EXIT: i32 = 130;

impl Stop {
    /// Routes SIGINT and SIGTERM here. A second signal exits at once: the user means it.
    pub fn install(&self) -> std::io::Result<()> {
        for sig in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as it was before this signal set it.
            signal_hook::flag::register_conditional_shutdown(
                sig,
                SECOND_SIGNAL_EXIT,
                self.requested.clone(),
            )?;
            signal_hook::flag::register_usize(sig, self.signal.clone(), sig as usize)?;
            signal_hook::flag::register(sig, self.requested.clone())?;
        }
        Ok(())
    }

    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// The signal that asked to stop, if any (0 when stopped for another reason).
    pub fn signal(&self) -> Option<i32> {
        self.is_requested()
            .then(|| self.signal.load(Ordering::SeqCst) as i32)
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
}
