//! The live progress bar on stderr: pages done, rate, errors and pages in flight, drawn only for a terminal.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::tally::Entries;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What the bar runs to, when it can be known: only without --depth, when the URL lines and
/// the sitemaps they turn out to be are all there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    /// URL lines left to crawl, counted before the crawl starts.
    pub lines: u64,
    pub max_pages: Option<u64>,
}

impl Total {
    /// The records the crawl will write, as far as it knows now: every line left and every
    /// entry listed so far, up to --max-pages (which refuses lines and entries alike once
    /// reached), less the entries that will get no record.
    fn now(&self, entries: &Entries) -> u64 {
        let offered = self.lines + entries.listed.load(Ordering::Relaxed);
        let admitted = self.max_pages.map_or(offered, |max| offered.min(max));
        admitted.saturating_sub(entries.disallowed.load(Ordering::Relaxed))
    }
}

/// Whether to draw a progress bar, and what it runs to when that can be known.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgressConfig {
    pub show: bool,
    pub total: Option<Total>,
}

pub struct Progress {
    bar: Option<ProgressBar>,
    total: Option<Total>,
    /// Fetches begun so far, counted by the crawlers; minus records written, that is what is in flight.
    pub begun: Arc<AtomicU64>,
    pub entries: Arc<Entries>,
    written: u64,
    failed: u64,
}

impl Progress {
    /// `show` is false for -q or when stderr is not a terminal: then nothing is ever drawn.
    pub fn new(show: bool, total: Option<Total>) -> Progress {
        let entries = Arc::new(Entries::default());
        let bar = show.then(|| {
            let (bar, template) = match total {
                Some(total) => (
                    ProgressBar::with_draw_target(
                        Some(total.now(&entries)),
                        ProgressDrawTarget::stderr(),
                    ),
                    "{bar:30} {pos}/{len} pages  {msg}  {elapsed}",
                ),
                None => (
                    ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                    "{spinner} {pos} pages  {msg}  {elapsed}",
                ),
            };
            bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            total,
            begun: Arc::new(AtomicU64::new(0)),
            entries,
            written: 0,
            failed: 0,
        }
    }

    pub fn record(&mut self, failed: bool) {
        self.written += 1;
        self.failed += u64::from(failed);
        if let Some(bar) = &self.bar {
            let in_flight = self
                .begun
                .load(Ordering::Relaxed)
                .saturating_sub(self.written);
            // A sitemap's entries are listed before its record comes here, so the total has
            // grown by them before the bar could reach it.
            self.refresh();
            bar.set_position(self.written);
            let rate = self.written as f64 / bar.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!(
                "{rate:.1}/s  {} errors  {in_flight} in flight",
                self.failed
            ));
        }
    }

    /// Brings the total up to date between records too, so that entries robots.txt turns
    /// away at the end do not leave the bar short of its total.
    pub fn refresh(&self) {
        if let (Some(bar), Some(total)) = (&self.bar, &self.total) {
            bar.set_length(total.now(&self.entries));
        }
    }

    /// Clears the bar so the summary lines that follow stand alone.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(progress: &Progress) -> (u64, Option<u64>) {
        let bar = progress.bar.as_ref().unwrap();
        (bar.position(), bar.length())
    }

    #[test]
    fn the_total_grows_as_sitemap_entries_are_listed() {
        let total = Total {
            lines: 2,
            max_pages: None,
        };
        let mut progress = Progress::new(true, Some(total));
        assert_eq!(bar(&progress), (0, Some(2)));
        // The first line is a sitemap: its three entries are listed before its record is written.
        progress.entries.listed.fetch_add(3, Ordering::Relaxed);
        progress.record(false);
        assert_eq!(bar(&progress), (1, Some(5)));
        for _ in 0..3 {
            progress.record(false);
        }
        assert_eq!(bar(&progress), (4, Some(5)));
        // robots.txt then turns the last entry away, which will have no record.
        progress.entries.disallowed.fetch_add(1, Ordering::Relaxed);
        progress.refresh();
        assert_eq!(bar(&progress), (4, Some(4)));
        progress.finish();
    }

    #[test]
    fn max_pages_caps_lines_and_entries_together() {
        let total = Total {
            lines: 3,
            max_pages: Some(5),
        };
        let mut progress = Progress::new(true, Some(total));
        assert_eq!(bar(&progress), (0, Some(3)));
        // Ten entries, of which --max-pages lets two in with the three lines; one of those two
        // robots.txt then disallows.
        progress.entries.listed.fetch_add(10, Ordering::Relaxed);
        progress.entries.disallowed.fetch_add(1, Ordering::Relaxed);
        progress.record(false);
        assert_eq!(bar(&progress), (1, Some(4)));
        progress.finish();
    }

    #[test]
    fn without_a_total_the_bar_has_no_length() {
        let mut progress = Progress::new(true, None);
        progress.entries.listed.fetch_add(3, Ordering::Relaxed);
        progress.record(false);
        assert_eq!(bar(&progress), (1, None));
        progress.finish();
    }
}
