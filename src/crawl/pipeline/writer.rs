//! The one owner of the output: whole lines as they come, flushed when none is waiting, and the
//! figures each record brings.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};

use super::Line;
use crate::crawl::fleet::Entry;
use crate::observe::progress::Progress;
use crate::observe::stats::Measured;
use crate::output::{Output, WriteError};
use crate::stop::Stop;

/// After a stop is asked for, pages already in flight get this long to reach the output.
const GRACE: Duration = Duration::from_millis(1500);

/// How often an idle writer looks at the stop flag.
pub(super) const POLL: Duration = Duration::from_millis(50);

/// Writes lines as they come, flushing only when none is waiting, so bursts share one syscall.
/// Returns the signal if a stop cut the crawl short; the output is flushed and synced either way.
pub(super) fn write_all(
    output: &mut Output,
    measured: &mut Measured,
    progress: &mut Progress,
    lines: &Receiver<Line>,
    stop: &Stop,
) -> Result<Option<i32>, WriteError> {
    let mut deadline = None;
    let mut unflushed = Unflushed::default();
    loop {
        if let Some(signal) = stop.signal() {
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + GRACE);
            if Instant::now() >= deadline {
                output.finish()?;
                unflushed.flushed();
                return Ok(Some(signal));
            }
        }
        let line = match lines.try_recv() {
            Ok(line) => line,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                output.flush()?;
                unflushed.flushed();
                match lines.recv_timeout(POLL) {
                    Ok(line) => line,
                    Err(RecvTimeoutError::Timeout) => {
                        progress.refresh();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        };
        output.write_line(&line.json)?;
        measured.add(
            line.bytes,
            line.fetch_ms,
            line.parse_ms,
            line.error,
            line.unchanged,
        );
        progress.record(line.error.is_some());
        if let Some(entry) = line.entry {
            unflushed.0.push((entry, line.error.is_some()));
        }
    }
    output.finish()?;
    unflushed.flushed();
    Ok(stop.signal())
}

/// The entries of a shared crawl's lines written since the last flush, with whether each
/// record has an error: acked only once the flush succeeds, so that a worker killed before it
/// leaves them to another.
#[derive(Default)]
struct Unflushed(Vec<(Box<Entry>, bool)>);

impl Unflushed {
    fn flushed(&mut self) {
        for (entry, failed) in self.0.drain(..) {
            entry.flushed(failed);
        }
    }
}
