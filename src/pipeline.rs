//! Moves URLs through fetch, parse and write: on one thread (single) or through crawler and parser pools (multi).

use std::collections::HashSet;
use std::io::{self, BufRead};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TryRecvError};
use scraper::Selector;

use crate::cli::Mode;
use crate::config::{Config, Input};
use crate::fetch::{self, Fetched, Fetcher};
use crate::output::{Output, WriteError};
use crate::parse::{self, Parsed};
use crate::record::{millis, ErrorKind, PageError, Record};
use crate::report::{Ending, Summary};
use crate::stop::Stop;

/// After a stop is asked for, pages already in flight get this long to reach the output.
const GRACE: Duration = Duration::from_millis(1500);

/// How often an idle writer looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// Longer URL lines are refused rather than held in memory whole.
const MAX_LINE: usize = 64 * 1024;

/// A URL line on its way to a crawler.
struct Job {
    line: String,
    target: Result<url::Url, PageError>,
}

/// A fetched page on its way to a parser.
struct Page {
    line: String,
    fetched: Fetched,
}

/// A finished record on its way to the writer.
struct Line {
    ok: bool,
    json: Vec<u8>,
}

/// What the crawl threads share; lives on the engine thread.
struct Work {
    mode: Mode,
    crawlers: usize,
    parsers: usize,
    queue: usize,
    select: Selector,
    fetcher: Fetcher,
    input: Input,
    done: HashSet<String>,
    stop: Stop,
}

/// Counts what the writer has written; only the writer touches it, so no atomics.
#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
}

/// The writer runs on the calling thread; all crawling runs on an engine thread, so that an
/// interrupted crawl can end after the grace period even while requests are still blocked.
pub fn run(config: Config) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let Config {
        mode,
        crawlers,
        parsers,
        queue,
        select,
        fetcher,
        quiet: _,
        input,
        mut output,
        done,
        stop,
    } = config;
    let (crawlers, parsers) = match mode {
        Mode::Single => (1, 1),
        Mode::Multi => (crawlers, parsers),
    };
    let (line_tx, line_rx) = bounded::<Line>(queue * 2);
    let work = Work {
        mode,
        crawlers,
        parsers,
        queue,
        select,
        fetcher,
        input,
        done,
        stop: stop.clone(),
    };
    let engine = thread::Builder::new()
        .name("engine".into())
        .spawn(move || work.run(line_tx))?;

    let mut tally = Tally::default();
    let written = write_all(&mut output, &mut tally, &line_rx, &stop);
    // Whatever happened, the engine must not block on a writer that is gone.
    drop(line_rx);
    let ending = match written {
        Ok(None) => match engine.join() {
            Ok(Ok(())) => Ending::Complete,
            Ok(Err(e)) => return Err(anyhow::Error::new(e).context("cannot read URL lines")),
            Err(panic) => std::panic::resume_unwind(panic),
        },
        // Not joined: the engine may be waiting on a slow request, and nobody needs its result.
        Ok(Some(signal)) => Ending::Interrupted(signal),
        Err(WriteError::Closed) => {
            stop.request();
            Ending::OutputClosed
        }
        Err(WriteError::Failed(e)) => {
            stop.request();
            return Err(anyhow::Error::new(e).context("cannot write records"));
        }
    };
    Ok(Summary {
        mode,
        crawlers,
        parsers,
        ok: tally.ok,
        failed: tally.failed,
        elapsed: started.elapsed(),
        ending,
    })
}

impl Work {
    fn run(self, lines: Sender<Line>) -> io::Result<()> {
        match self.mode {
            Mode::Single => self.single(lines),
            Mode::Multi => self.multi(lines),
        }
    }

    /// One thread, in order: fetch, parse, hand over, next.
    fn single(self, lines: Sender<Line>) -> io::Result<()> {
        for job in jobs(self.input, &self.done) {
            if self.stop.is_requested() {
                break;
            }
            let page = crawl(job?, &self.fetcher, &self.stop);
            if lines.send(finish(page, &self.select)).is_err() {
                break;
            }
        }
        Ok(())
    }

    /// A feeder streams URL lines to crawler threads, which send bodies through the bounded page
    /// channel to parser threads, which send finished lines to the writer. Every stage ends when
    /// the stage before it drops its sender; a writer that stops early unwinds the stages the
    /// same way, through failed sends.
    fn multi(self, lines: Sender<Line>) -> io::Result<()> {
        let Work {
            crawlers,
            parsers,
            queue,
            select,
            fetcher,
            input,
            done,
            stop,
            ..
        } = self;
        let (job_tx, job_rx) = bounded::<Job>(crawlers * 2);
        let (page_tx, page_rx) = bounded::<Page>(queue);
        let (fetcher, select, stop, done) = (&fetcher, &select, &stop, &done);

        thread::scope(|s| {
            let feeder = spawn(s, "feeder".into(), move || {
                for job in jobs(input, done) {
                    if stop.is_requested() || job_tx.send(job?).is_err() {
                        break;
                    }
                }
                Ok::<_, io::Error>(())
            });
            for i in 1..=crawlers {
                let (jobs, pages) = (job_rx.clone(), page_tx.clone());
                spawn(s, format!("crawler-{i}"), move || {
                    for job in jobs {
                        if stop.is_requested() || pages.send(crawl(job, fetcher, stop)).is_err() {
                            break;
                        }
                    }
                });
            }
            for i in 1..=parsers {
                let (pages, lines) = (page_rx.clone(), lines.clone());
                spawn(s, format!("parser-{i}"), move || {
                    for page in pages {
                        if lines.send(finish(page, select)).is_err() {
                            break;
                        }
                    }
                });
            }
            // Only the threads hold channel ends now, so each stage sees its input close.
            drop((job_rx, page_tx, page_rx, lines));
            feeder
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

fn spawn<'scope, T: Send + 'scope>(
    s: &'scope thread::Scope<'scope, '_>,
    name: String,
    f: impl FnOnce() -> T + Send + 'scope,
) -> thread::ScopedJoinHandle<'scope, T> {
    thread::Builder::new()
        .name(name)
        .spawn_scoped(s, f)
        .expect("cannot spawn thread")
}

/// Writes lines as they come, flushing only when none is waiting, so bursts share one syscall.
/// Returns the signal if a stop cut the crawl short; the output is flushed and synced either way.
fn write_all(
    output: &mut Output,
    tally: &mut Tally,
    lines: &Receiver<Line>,
    stop: &Stop,
) -> Result<Option<i32>, WriteError> {
    let mut deadline = None;
    loop {
        if let Some(signal) = stop.signal() {
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + GRACE);
            if Instant::now() >= deadline {
                output.finish()?;
                return Ok(Some(signal));
            }
        }
        let line = match lines.try_recv() {
            Ok(line) => line,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                output.flush()?;
                match lines.recv_timeout(POLL) {
                    Ok(line) => line,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        };
        output.write_line(&line.json)?;
        if line.ok {
            tally.ok += 1;
        } else {
            tally.failed += 1;
        }
    }
    output.finish()?;
    Ok(stop.signal())
}

/// Streams the URL lines: trimmed, blank lines, `#` comments and already-recorded URLs skipped,
/// any bytes accepted.
fn jobs<'a>(
    mut input: Input,
    done: &'a HashSet<String>,
) -> impl Iterator<Item = io::Result<Job>> + 'a {
    let mut buf = Vec::new();
    std::iter::from_fn(move || loop {
        buf.clear();
        let too_long = match read_line(&mut input, &mut buf) {
            Ok(None) => return None,
            Ok(Some(too_long)) => too_long,
            Err(e) => return Some(Err(e)),
        };
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || done.contains(line) {
            continue;
        }
        let target = if too_long {
            let message = format!("line longer than {MAX_LINE} bytes");
            Err(PageError::new(ErrorKind::InvalidUrl, message))
        } else {
            fetch::target(line)
        };
        return Some(Ok(Job {
            line: line.to_owned(),
            target,
        }));
    })
}

/// Reads one line into `buf`, keeping at most MAX_LINE bytes of it; None at the end of input,
/// else whether the line was longer than that.
fn read_line(input: &mut Input, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(too_long));
        }
        any = true;
        let (piece, ended) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..=i], true),
            None => (chunk, false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        too_long |= piece.len() > room;
        buf.extend_from_slice(&piece[..piece.len().min(room)]);
        let used = piece.len();
        input.consume(used);
        if ended {
            return Ok(Some(too_long));
        }
    }
}

/// The crawler's half of the work: network only.
fn crawl(job: Job, fetcher: &Fetcher, stop: &Stop) -> Page {
    let fetched = match &job.target {
        Ok(url) => fetcher.fetch(url, stop),
        Err(e) => Fetched::failed(e.clone()),
    };
    Page {
        line: job.line,
        fetched,
    }
}

/// The parser's half of the work: CPU only, ending in the serialized line.
fn finish(page: Page, select: &Selector) -> Line {
    let Fetched {
        final_url,
        status,
        content_type,
        body,
        bytes,
        attempts,
        fetch_ms,
        error,
    } = page.fetched;
    let (parsed, parse_ms) = match &final_url {
        Some(base) if error.is_none() => {
            let started = Instant::now();
            let parsed = parse::parse(&body, content_type.as_deref(), base, select);
            (parsed, Some(millis(started.elapsed())))
        }
        _ => (Parsed::default(), None),
    };
    let record = Record {
        url: page.line,
        final_url: final_url.map(String::from),
        status,
        title: parsed.title,
        links: parsed.links,
        bytes,
        encoding: parsed.encoding,
        attempts,
        fetch_ms,
        parse_ms,
        truncated: parsed.truncated,
        error,
    };
    let mut json = Vec::with_capacity(256 + 128 * record.links.len());
    record.write_line(&mut json);
    Line {
        ok: record.is_ok(),
        json,
    }
}
