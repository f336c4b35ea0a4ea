//! Moves URLs through fetch, parse and write: on one thread (single) or through crawler and parser pools (multi).

use std::io::{self, BufRead};
use std::thread;
use std::time::Instant;

use anyhow::Context;
use crossbeam_channel::{bounded, Receiver, TryRecvError};
use scraper::Selector;

use crate::cli::Mode;
use crate::config::{Config, Input};
use crate::fetch::{self, Fetched};
use crate::output::{Output, WriteError};
use crate::parse::{self, Parsed};
use crate::record::{millis, PageError, Record};
use crate::report::Summary;

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

/// Counts what the writer has written; only the writer touches it, so no atomics.
#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
}

/// Why the writer stopped before every record was written.
enum Stop {
    Closed,
    Failed(anyhow::Error),
}

impl From<WriteError> for Stop {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Closed => Stop::Closed,
            WriteError::Failed(e) => {
                Stop::Failed(anyhow::Error::new(e).context("cannot write records"))
            }
        }
    }
}

pub fn run(config: Config) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let mode = config.mode;
    let (crawlers, parsers) = match mode {
        Mode::Single => (1, 1),
        Mode::Multi => (config.crawlers, config.parsers),
    };
    let mut tally = Tally::default();
    let outcome = match mode {
        Mode::Single => single(config, &mut tally),
        Mode::Multi => multi(config, &mut tally),
    };
    let output_closed = match outcome {
        Ok(()) => false,
        Err(Stop::Closed) => true,
        Err(Stop::Failed(e)) => return Err(e),
    };
    Ok(Summary {
        mode,
        crawlers,
        parsers,
        ok: tally.ok,
        failed: tally.failed,
        elapsed: started.elapsed(),
        output_closed,
    })
}

/// One thread, in order: fetch, parse, write, next.
fn single(config: Config, tally: &mut Tally) -> Result<(), Stop> {
    let Config {
        input,
        mut output,
        client,
        select,
        timeout,
        ..
    } = config;
    for job in jobs(input) {
        let job = job.context("cannot read URL lines").map_err(Stop::Failed)?;
        let page = crawl(job, &client, timeout);
        write(&mut output, tally, finish(page, &select))?;
        // A page costs a network round trip, so flushing each one is free and keeps `tail -f` live.
        output.flush()?;
    }
    output.flush()?;
    Ok(())
}

/// A feeder streams URL lines to crawler threads, which send bodies through the bounded page
/// channel to parser threads, which send finished lines to this thread, the only writer.
/// Every stage ends when the stage before it drops its sender; the writer stopping early
/// (closed pipe) unwinds the stages the same way, through failed sends.
fn multi(config: Config, tally: &mut Tally) -> Result<(), Stop> {
    let Config {
        crawlers,
        parsers,
        queue,
        input,
        mut output,
        client,
        select,
        timeout,
        ..
    } = config;
    let (job_tx, job_rx) = bounded::<Job>(crawlers * 2);
    let (page_tx, page_rx) = bounded::<Page>(queue);
    let (line_tx, line_rx) = bounded::<Line>(queue * 2);

    thread::scope(|s| {
        let feeder = spawn(s, "feeder".into(), move || {
            for job in jobs(input) {
                if job_tx.send(job?).is_err() {
                    break;
                }
            }
            Ok::<_, io::Error>(())
        });
        for i in 1..=crawlers {
            let (jobs, pages, client) = (job_rx.clone(), page_tx.clone(), &client);
            spawn(s, format!("crawler-{i}"), move || {
                for job in jobs {
                    if pages.send(crawl(job, client, timeout)).is_err() {
                        break;
                    }
                }
            });
        }
        for i in 1..=parsers {
            let (pages, lines, select) = (page_rx.clone(), line_tx.clone(), &select);
            spawn(s, format!("parser-{i}"), move || {
                for page in pages {
                    if lines.send(finish(page, select)).is_err() {
                        break;
                    }
                }
            });
        }
        // Only the threads hold channel ends now, so each stage sees its input close.
        drop((job_rx, page_tx, page_rx, line_tx));

        let written = write_all(&mut output, tally, line_rx);
        match feeder.join() {
            Ok(Ok(())) => written,
            Ok(Err(e)) => Err(Stop::Failed(
                anyhow::Error::new(e).context("cannot read URL lines"),
            )),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
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

/// Writes lines as they come; flushes only when none is waiting, so bursts share one syscall.
fn write_all(output: &mut Output, tally: &mut Tally, lines: Receiver<Line>) -> Result<(), Stop> {
    loop {
        let line = match lines.try_recv() {
            Ok(line) => line,
            Err(TryRecvError::Empty) => {
                output.flush()?;
                match lines.recv() {
                    Ok(line) => line,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        write(output, tally, line)?;
    }
    output.flush()?;
    Ok(())
}

fn write(output: &mut Output, tally: &mut Tally, line: Line) -> Result<(), WriteError> {
    output.write_line(&line.json)?;
    if line.ok {
        tally.ok += 1;
    } else {
        tally.failed += 1;
    }
    Ok(())
}

/// Streams the URL lines: trimmed, blank lines and `#` comments skipped, any bytes accepted.
fn jobs(mut input: Input) -> impl Iterator<Item = io::Result<Job>> {
    let mut buf = Vec::new();
    std::iter::from_fn(move || loop {
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(e)),
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let target = fetch::target(line);
        return Some(Ok(Job {
            line: line.to_owned(),
            target,
        }));
    })
}

/// The crawler's half of the work: network only.
fn crawl(job: Job, client: &reqwest::blocking::Client, timeout: std::time::Duration) -> Page {
    let fetched = match &job.target {
        Ok(url) => fetch::fetch(client, url, timeout),
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
        body,
        fetch_ms,
        error,
    } = page.fetched;
    let (parsed, parse_ms) = match &final_url {
        Some(base) if error.is_none() => {
            let started = Instant::now();
            let parsed = parse::parse(&body, base, select);
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
        bytes: body.len() as u64,
        fetch_ms,
        parse_ms,
        error,
    };
    let mut json = Vec::with_capacity(256 + 128 * record.links.len());
    record.write_line(&mut json);
    Line {
        ok: record.is_ok(),
        json,
    }
}
