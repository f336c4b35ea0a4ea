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
    pub tallies: Tallies,
}

/// What the crawl left out, counted so the summary can say so.
#[derive(Debug, Clone, Default)]
pub struct Tallies {
    /// Links not followed because robots.txt disallows them.
    pub robots: u64,
    /// Links from public pages to private addresses, not followed.
    pub blocked: u64,
    /// --field names whose selector matched nothing on any page.
    pub unmatched_fields: Vec<String>,
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
        if self.tallies.robots > 0 {
            write!(
                f,
                "; {} links disallowed by robots.txt",
                self.tallies.robots
            )?;
        }
        if self.tallies.blocked > 0 {
            write!(
                f,
                "; {} links to private addresses not followed",
                self.tallies.blocked
            )?;
        }
        if let Ending::Interrupted(signal) = self.ending {
            write!(f, "; interrupted by {}", signal_name(signal))?;
        }
        for name in &self.tallies.unmatched_fields {
            write!(
                f,
                "\ncrawl: warning: --field {name} matched nothing on any page"
            )?;
        }
        Ok(())
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
