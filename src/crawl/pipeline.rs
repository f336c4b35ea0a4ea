//! Moves URLs through fetch, parse and write: on one thread (single) or through crawler and parser pools (multi).

use std::collections::HashSet;
use std::io::{self, BufRead};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Sender};

use crate::crawl::fleet::{Entry, Fleet, RedisStore};
use crate::crawl::frontier::{Frontier, Job, MemoryStore, Msg, Scope, Store, Transport};
use crate::fetch::Fetched;
use crate::fetch::Fetcher;
use crate::host::polite::{Politeness, Turns};
use crate::host::robots::Shelf;
use crate::mode::Mode;
use crate::observe::progress::{Progress, ProgressConfig};
use crate::observe::report::{Ending, LeftShared, OutputFailed, Summary, Tallies};
use crate::observe::stats::Measured;
use crate::observe::tally::Entries;
use crate::output::record::ErrorKind;
use crate::output::{Output, WriteError};
use crate::parse::css::Select;
use crate::parse::extract::Field;
use crate::stop::Stop;
use crate::urls::redact::Passwords;
use counts::Counts;
use gate::Gate;
use hold::{Held, Lot};
use lanes::Lanes;
use writer::write_all;

mod async_pool;
mod counts;
mod crawler;
mod finish;
mod gate;
mod hold;
mod lanes;
pub mod lines;
mod pools;
pub mod resume;
mod writer;

/// Where the URL lines come from; read lazily, one line at a time.
pub type Input = Box<dyn BufRead + Send>;

/// A crawl, ready to run: the plan the engine's threads share, how they fetch, where records go
/// and what is drawn meanwhile.
pub struct Crawl {
    pub plan: Plan,
    pub fetching: Fetching,
    pub output: Output,
    pub progress: ProgressConfig,
    /// Keep every span, for --timeline; otherwise only their totals.
    pub keep_spans: bool,
}

/// What the engine's threads share for the whole crawl.
pub struct Plan {
    pub mode: Mode,
    pub crawlers: usize,
    pub parsers: usize,
    pub queue: usize,
    pub select: Select,
    pub input: Mutex<Input>,
    /// URL lines that already have a record (--resume); they are not crawled again.
    pub done: HashSet<String>,
    /// With --resume: the output file, whose sitemaps' entries (and with --depth, whose pages'
    /// links) are followed again.
    pub resumed: Option<resume::Refollow>,
    pub stop: Stop,
    pub scope: Scope,
    pub fields: Vec<Field>,
    /// Write the mode into each record: compare -o appends three runs to one file.
    pub tag_mode: bool,
    /// The URL lines' passwords, for the masked ones --resume reads back.
    pub passwords: Passwords,
    /// The shared crawl this worker is one of (--redis); None for a crawl of its own.
    pub fleet: Option<Arc<Fleet>>,
}

/// The client and the rules every request keeps to.
pub struct Fetching {
    pub fetcher: Fetcher,
    /// Obey robots.txt, matching groups against this product token; None with --no-robots.
    pub robots: Option<String>,
    pub delay: Duration,
    pub per_host: Option<usize>,
}

/// A fetched page on its way to a parser.
struct Page {
    job: Job,
    fetched: Fetched,
}

/// A finished record on its way to the writer, with the figures the stats need from it.
struct Line {
    json: Vec<u8>,
    bytes: u64,
    fetch_ms: Option<f64>,
    parse_ms: Option<f64>,
    error: Option<ErrorKind>,
    unchanged: bool,
    /// In a shared crawl, the job's entry, acked once the line is flushed.
    entry: Option<Box<Entry>>,
}

/// What a crawler made of a job.
// Returned once per job and moved straight on, never kept in bulk: boxing the page would cost
// an allocation per page to save a few bytes of stack.
#[allow(clippy::large_enum_variant)]
enum Crawled {
    Page(Page),
    /// Not fetched and no record: a link robots.txt disallows, or a stop.
    Skipped,
    /// Its host must wait this long; other jobs may go first.
    Later(Job, Duration),
}

/// What the crawl threads share; lives on the engine thread.
struct Work {
    plan: Plan,
    /// The fetcher, and what each request must pass first.
    gate: Arc<Gate>,
    /// Every thread's spans, as they are recorded.
    lanes: Lanes,
    /// Links skipped and --field matches, as they are counted.
    counts: Counts,
    /// Keep each span, for --timeline; otherwise only their totals.
    keep_spans: bool,
    started: Instant,
    /// Pages taken up by crawlers, for the progress bar's count of pages in flight.
    begun: Arc<AtomicU64>,
    /// Sitemap entries as the frontier finds them, for the progress bar's total.
    entries: Arc<Entries>,
}

/// The writer runs on the calling thread; all crawling runs on an engine thread, so that an
/// interrupted crawl can end after the grace period even while requests are still blocked.
/// Records that cannot be written end it with an `OutputFailed` error, which carries the summary.
pub fn run(crawl: Crawl) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let Crawl {
        mut plan,
        fetching,
        mut output,
        progress,
        keep_spans,
    } = crawl;
    let mut progress = Progress::new(progress.show, progress.total);
    if plan.mode == Mode::Single {
        (plan.crawlers, plan.parsers) = (1, 1);
    }
    let (mode, crawlers, parsers) = (plan.mode, plan.crawlers, plan.parsers);
    let stop = plan.stop.clone();
    let (line_tx, line_rx) = bounded::<Line>(plan.queue * 2);
    let lanes = Lanes::default();
    let counts = Counts::new(&plan.fields);
    let Fetching {
        fetcher,
        robots,
        delay,
        per_host,
    } = fetching;
    let fleet = plan.fleet.clone();
    let turns = fleet.clone().map(|f| f as Arc<dyn Turns>);
    let gate = Gate::new(
        fetcher,
        robots,
        fleet.clone().map(|f| f as Arc<dyn Shelf>),
        Politeness::shared(delay, per_host, turns),
        stop.clone(),
        counts.skipped.clone(),
    );
    let work = Work {
        plan,
        gate: Arc::new(gate),
        lanes: lanes.clone(),
        counts: counts.clone(),
        keep_spans,
        started,
        begun: progress.begun.clone(),
        entries: progress.entries.clone(),
    };
    let engine = thread::Builder::new()
        .name("engine".into())
        .spawn(move || {
            let read = work.run(line_tx);
            // Dropping the HTTP client joins its I/O thread and closes each idle connection, a
            // few milliseconds; the crawl is over, so that happens off the path to the exit.
            thread::spawn(move || drop(work));
            read
        })?;

    let mut measured = Measured::default();
    let written = write_all(&mut output, &mut measured, &mut progress, &line_rx, &stop);
    progress.finish();
    // Whatever happened, the engine must not block on a writer that is gone.
    drop(line_rx);
    let mut failed = None;
    let lost = fleet.as_ref().and_then(|fleet| settle_up(fleet));
    let ending = match written {
        Ok(None) => match engine.join() {
            Ok(Ok(())) => Ending::Complete,
            Ok(Err(e)) => return Err(anyhow::Error::new(e).context("cannot read URL lines")),
            Err(panic) => std::panic::resume_unwind(panic),
        },
        // Not joined: the engine may be waiting on a slow request; the figures below are read
        // from the registries it writes to, as they stand.
        Ok(Some(signal)) => Ending::Interrupted(signal),
        Err(WriteError::Closed) => {
            stop.request();
            Ending::OutputClosed
        }
        // Not joined either: the summary and --stats are still owed, and the engine, whose
        // sends now fail, unwinds on its own.
        Err(WriteError::Failed(e)) => {
            stop.request();
            failed = Some(e);
            Ending::OutputFailed
        }
    };
    let tallies = Tallies {
        lanes: lanes.snapshot(),
        skipped: counts.skipped(),
        unmatched_fields: counts.unmatched_fields(),
    };
    let summary = Summary {
        mode,
        crawlers,
        parsers,
        measured,
        elapsed: started.elapsed(),
        ending,
        tallies,
    };
    if let Some(why) = lost {
        let summary = Summary {
            ending: Ending::LeftShared,
            ..summary
        };
        return Err(LeftShared { summary, why }.into());
    }
    match failed {
        None => Ok(summary),
        Some(error) => Err(OutputFailed {
            summary,
            path: output.path().map(Into::into),
            written: output.abandon(),
            error,
            job: fleet.as_ref().map(|f| f.job.clone()),
        }
        .into()),
    }
}

/// A worker's last acks, for the records flushed since the pump's last round; and if it lost
/// Redis, what to tell the user.
fn settle_up(fleet: &Fleet) -> Option<String> {
    let _ = fleet.ack();
    let fault = fleet.fault()?;
    let next = if fault.kept {
        "the job is kept in Redis: run the workers again (add --resume to append to each -o) \
         to continue it"
    } else {
        "starting the workers again crawls the job anew"
    };
    Some(format!(
        "{}; the records written are in the output; {next}",
        fault.why
    ))
}

impl Work {
    fn run(&self, lines: Sender<Line>) -> io::Result<()> {
        let (link_tx, link_rx) = unbounded::<Msg>();
        let (seed_tx, seed_rx) = bounded::<Job>(self.plan.crawlers * 2);
        // Each thread that takes jobs needs its own Quit.
        let takers = match self.plan.mode {
            Mode::Single => 1,
            Mode::Async => async_pool::dispatchers(self.plan.crawlers),
            Mode::Multi => self.plan.crawlers,
        };
        let transport = Transport {
            jobs: link_tx,
            seeds: seed_tx,
            takers,
        };
        let (lot, ready) = Lot::new();
        let store: Box<dyn Store> = match &self.plan.fleet {
            Some(fleet) => Box::new(RedisStore::new(fleet.clone())),
            None => Box::new(MemoryStore::new(self.plan.scope.max_pages)),
        };
        let frontier = Frontier::new(
            self.plan.scope.clone(),
            store,
            transport,
            self.counts.skipped.clone(),
            self.entries.clone(),
            Lot::opener(&lot),
        );
        if let Some(refollow) = &self.plan.resumed {
            self.follow_recorded(&frontier, refollow)?;
        }
        let shared = Shared {
            work: self,
            frontier: &frontier,
            lot: &lot,
            ready: &ready,
        };
        match self.plan.mode {
            Mode::Single => shared.single(lines, &link_rx, &seed_rx),
            Mode::Multi | Mode::Async => shared.multi(lines, &link_rx, &seed_rx),
        }
    }
}

/// What every crawl thread borrows.
#[derive(Clone, Copy)]
struct Shared<'a> {
    work: &'a Work,
    frontier: &'a Frontier,
    /// Pages fetched ahead of their level wait here, and come back on `ready`.
    lot: &'a Lot,
    ready: &'a crossbeam_channel::Receiver<Held>,
}
