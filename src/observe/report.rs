//! What a finished crawl tells the user: the summary on stderr, the --stats document and the --timeline picture.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::mode::Mode;
use crate::observe::stats::{self, Busy, Measured, Skipped, Stats};
use crate::observe::timeline::{self, Lane};
use crate::output::record::ErrorKind;

#[derive(Debug, Clone)]
pub struct Summary {
    pub mode: Mode,
    pub crawlers: usize,
    pub parsers: usize,
    pub measured: Measured,
    pub elapsed: Duration,
    pub ending: Ending,
    pub tallies: Tallies,
}

/// How the crawl ended; only `Complete` means every URL line got its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Complete,
    /// Stopped by this signal; URLs not finished within the grace period have no record.
    Interrupted(i32),
    /// The reader closed the output (`| head`).
    OutputClosed,
    /// Records could not be written (a full disk); see `OutputFailed`.
    OutputFailed,
    /// A shared crawl's Redis was gone for longer than the lease; see `LeftShared`.
    LeftShared,
}

/// A shared crawl this worker had to leave, Redis being gone: the records it flushed are in its
/// output, and the job, kept in Redis, goes on when the workers are started again.
#[derive(Debug)]
pub struct LeftShared {
    pub summary: Summary,
    pub why: String,
}

impl fmt::Display for LeftShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.why)
    }
}

impl std::error::Error for LeftShared {}

/// A crawl the output broke off: the crawl could not go on, yet its figures and what to do
/// next are still owed to the user.
#[derive(Debug)]
pub struct OutputFailed {
    pub summary: Summary,
    /// The file records went to; None for stdout.
    pub path: Option<PathBuf>,
    /// Records that reached the output whole.
    pub written: u64,
    pub error: io::Error,
    /// The shared crawl this worker was one of, whose other workers take up what it left.
    pub job: Option<String>,
}

impl fmt::Display for OutputFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "cannot write records to '{}'", path.display())?,
            None => f.write_str("cannot write records to stdout")?,
        }
        write!(f, ": {}", self.error)
    }
}

impl std::error::Error for OutputFailed {}

impl OutputFailed {
    /// How much of the crawl is on record, and, for a file, the command that finishes it.
    pub fn advice(&self) -> String {
        let n = self.written;
        let records = match n {
            1 => "1 record was written".to_string(),
            n => format!("{n} records were written"),
        };
        if let Some(job) = &self.job {
            return format!(
                "crawl: {records}; the pages this worker did not finish go to the other workers of \
                 job '{job}' after --lease, or run it again (add --resume) to take them up itself"
            );
        }
        match &self.path {
            // The same URLs and options: a --depth crawl resumed without --depth would stop
            // at the lines, and the URL file may have been a pipe (`<(...)`) with no name to give.
            Some(path) => format!(
                "crawl: {records}; crawl --resume -o {}, with the same URLs and options, will \
                 finish the crawl",
                shell_word(path)
            ),
            None => format!("crawl: {records}"),
        }
    }
}

/// A path as a shell word, quoted only when it has to be, so the command can be pasted.
fn shell_word(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// What the engine reports besides the records.
#[derive(Debug, Clone, Default)]
pub struct Tallies {
    /// Every thread's fetch, parse and blocked spans.
    pub lanes: Vec<Lane>,
    /// Links not followed, by the rule that turned them away.
    pub skipped: Skipped,
    /// --field names whose selector matched nothing on any page parsed: all of them, or after a
    /// stop, those parsed before it.
    pub unmatched_fields: Vec<String>,
}

impl Summary {
    pub fn pages(&self) -> u64 {
        self.measured.ok + self.measured.failed
    }

    pub fn pages_per_s(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.pages() as f64 / secs
        } else {
            0.0
        }
    }

    fn elapsed_ms(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1000.0
    }

    pub fn busy(&self) -> Busy {
        Busy::from_lanes(
            &self.tallies.lanes,
            self.crawlers,
            self.parsers,
            self.elapsed_ms(),
        )
    }

    pub fn stats(&self) -> Stats {
        let busy = self.busy();
        Stats {
            mode: self.mode.name(),
            crawlers: self.crawlers,
            parsers: self.parsers,
            pages: self.pages(),
            ok: self.measured.ok,
            unchanged: self.measured.unchanged,
            failed: self.measured.failed,
            bytes: self.measured.bytes,
            elapsed_s: (self.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            pages_per_s: (self.pages_per_s() * 10.0).round() / 10.0,
            fetch_ms: self.measured.fetch_ms.percentiles(),
            parse_ms: self.measured.parse_ms.percentiles(),
            busy,
            errors: self.measured.errors.clone(),
            skipped: self.tallies.skipped,
            bottleneck: self.failures().is_none().then(|| busy.bottleneck()),
        }
    }

    /// Where the time went, in words, with a concrete suggestion; or, when no page succeeded,
    /// what went wrong instead, since the pools' shares of a crawl that fetched nothing point
    /// nowhere useful.
    pub fn advice(&self) -> String {
        if let Some(failures) = self.failures() {
            return format!("crawl: {failures}");
        }
        let busy = self.busy();
        if self.mode == Mode::Single {
            return format!(
                "crawl: the one thread waited on the network {:.0}% of the time and parsed {:.0}%; \
                 --mode multi overlaps the waits.",
                busy.crawler_busy_pct, busy.parser_busy_pct
            );
        }
        format!(
            "crawl: crawlers busy {:.0}%, parsers busy {:.0}%, page channel full {:.0}% of the time; {}",
            busy.crawler_busy_pct,
            busy.parser_busy_pct,
            busy.queue_full_pct,
            busy.advice(self.parsers, stats::cores())
        )
    }

    /// "all 5 pages failed: connect (3), http_status (2)", or "no pages were crawled", when no
    /// page succeeded; the kinds go from the most pages to the fewest, then by name.
    fn failures(&self) -> Option<String> {
        if self.measured.ok > 0 {
            return None;
        }
        let pages = self.pages();
        if pages == 0 {
            return Some("no pages were crawled".into());
        }
        let mut kinds: Vec<_> = self.measured.errors.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let kinds: Vec<_> = kinds.iter().map(|(k, n)| format!("{k} ({n})")).collect();
        let all = match pages {
            1 => "the one page".to_string(),
            n => format!("all {n} pages"),
        };
        Some(format!("{all} failed: {}", kinds.join(", ")))
    }

    /// "multi mode, 8 crawlers, 2 parsers": how the run was set up.
    fn setup(&self) -> String {
        format!(
            "{} mode, {} crawler{}, {} parser{}",
            self.mode.name(),
            self.crawlers,
            plural(self.crawlers),
            self.parsers,
            plural(self.parsers)
        )
    }

    pub fn timeline(&self) -> String {
        let title = format!(
            "{}, {} page{} in {:.2} s",
            self.setup(),
            self.pages(),
            plural(self.pages() as usize),
            self.elapsed.as_secs_f64()
        );
        timeline::render(&title, &self.tallies.lanes, self.elapsed_ms())
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "crawl: {}: {} page{}, {} ok{}, {} failed in {:.2} s ({:.1} pages/s)",
            self.setup(),
            self.pages(),
            plural(self.pages() as usize),
            self.measured.ok,
            match self.measured.unchanged {
                0 => String::new(),
                n => format!(" ({n} unchanged)"),
            },
            self.measured.failed,
            self.elapsed.as_secs_f64(),
            self.pages_per_s()
        )?;
        let skipped = self.tallies.skipped;
        for (n, what) in [
            (skipped.robots - skipped.robots_redirects, "link"),
            (skipped.robots_redirects, "redirect"),
        ] {
            if n > 0 {
                let s = plural(n as usize);
                write!(f, "; {n} {what}{s} disallowed by robots.txt")?;
            }
        }
        if self.tallies.skipped.private > 0 {
            write!(
                f,
                "; {} link{} to private addresses not followed",
                self.tallies.skipped.private,
                plural(self.tallies.skipped.private as usize)
            )?;
        }
        if let Some(&n) = self.measured.errors.get(ErrorKind::Parse.name()) {
            write!(
                f,
                "; {n} page{} could not be parsed (kind {})",
                plural(n as usize),
                ErrorKind::Parse.name()
            )?;
        }
        match self.ending {
            Ending::Interrupted(signal) => write!(f, "; interrupted by {}", signal_name(signal))?,
            Ending::OutputFailed => f.write_str("; stopped: records could not be written")?,
            Ending::LeftShared => f.write_str("; stopped: Redis was lost")?,
            Ending::Complete | Ending::OutputClosed => {}
        }
        // After a stop, the pages never reached might have matched: the warning says which pages
        // it speaks for, and with no page parsed there is nothing to speak for.
        let (unmatched, pages) = match self.ending {
            Ending::Interrupted(_) | Ending::OutputFailed | Ending::LeftShared
                if self.measured.parse_ms.is_empty() =>
            {
                (&[][..], "")
            }
            Ending::Interrupted(_) | Ending::OutputFailed | Ending::LeftShared => (
                &self.tallies.unmatched_fields[..],
                " parsed before the stop",
            ),
            Ending::Complete | Ending::OutputClosed => (&self.tallies.unmatched_fields[..], ""),
        };
        for name in unmatched {
            write!(
                f,
                "\ncrawl: warning: --field {name} matched nothing on any page{pages}"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resume_command_can_be_pasted_into_a_shell() {
        assert_eq!(shell_word(Path::new("out/a-1.jsonl")), "out/a-1.jsonl");
        assert_eq!(shell_word(Path::new("my notes's")), r"'my notes'\''s'");
        assert_eq!(shell_word(Path::new("")), "''");
    }
}
