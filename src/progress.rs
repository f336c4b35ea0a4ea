//! The live progress bar on stderr: pages done, rate, errors and pages in flight, drawn only for a terminal.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    /// Fetches begun so far, counted by the crawlers; minus records written, that is what is in flight.
    pub begun: Arc<AtomicU64>,
    written: u64,
    failed: u64,
}

impl Progress {
    /// `show` is false for -q or when stderr is not a terminal: then nothing is ever drawn.
    pub fn new(show: bool, total: Option<u64>) -> Progress {
        let bar = show.then(|| {
            let (bar, template) = match total {
                Some(n) => (
                    ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
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
            begun: Arc::new(AtomicU64::new(0)),
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
            bar.set_position(self.written);
            let rate = self.written as f64 / bar.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!(
                "{rate:.1}/s  {} errors  {in_flight} in flight",
                self.failed
            ));
        }
    }

    /// Clears the bar so the summary lines that follow stand alone.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
