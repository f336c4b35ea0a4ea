//! What a finished crawl tells the user on stderr: how many pages, how fast, with how many threads.

use std::fmt;
use std::time::Duration;

use crate::cli::Mode;

#[derive(Debug, Clone)]
pub struct Summary {
    pub mode: Mode,
    pub crawlers: usize,
    pub parsers: usize,
    pub ok: u64,
    pub failed: u64,
    pub elapsed: Duration,
    pub ending: Ending,
}

/// How the crawl ended; only `Complete` means every URL line got its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Complete,
    /// Stopped by this signal; URLs not finished within the grace period have no record.
    Interrupted(i32),
    /// The reader closed the output (`| head`).
    OutputClosed,
}

impl Summary {
    pub fn pages(&self) -> u64 {
        self.ok + self.failed
    }

    pub fn pages_per_s(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.pages() as f64 / secs
        } else {
            0.0
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "crawl: {} mode, {} crawler{}, {} parser{}: {} pages, {} ok, {} failed in {:.2} s ({:.1} pages/s)",
            self.mode.name(),
            self.crawlers,
            plural(self.crawlers),
            self.parsers,
            plural(self.parsers),
            self.pages(),
            self.ok,
            self.failed,
            self.elapsed.as_secs_f64(),
            self.pages_per_s()
        )?;
        match self.ending {
            Ending::Interrupted(signal) => write!(f, "; interrupted by {}", signal_name(signal)),
            _ => Ok(()),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn signal_name(signal: i32) -> String {
    match signal {
        2 => "SIGINT".into(),
        15 => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}
