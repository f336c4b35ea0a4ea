//! Moves URLs through fetch, parse and write: on one thread (single) or through crawler and parser pools (multi).

use std::collections::HashSet;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::css::Select;
use crossbeam_channel::{
    bounded, select_biased, unbounded, Receiver, RecvTimeoutError, Sender, TryRecvError,
    TrySendError,
};
use url::Url;

use crate::cli::Mode;
use crate::config::{Config, Input};
use crate::extract::Field;
use crate::fetch::{Fetched, Request};
use crate::frontier::{Frontier, Job, MemoryStore, Msg, Scope, Transport, WAITING_ROOM};
use crate::output::{self, Output, Recorded, WriteError};
use crate::parse::{self, Parsed};
use crate::polite::{Politeness, Slot};
use crate::private;
use crate::progress::{Entries, Progress};
use crate::record::{millis, ErrorKind, PageError, Record};
use crate::redact;
use crate::report::{Ending, OutputFailed, Summary, Tallies};
use crate::robots::Rules;
use crate::stats::Measured;
use crate::stop::Stop;
use crate::timeline::SpanKind;
use counts::Counts;
use gate::Gate;
use lanes::{Lanes, Track};
use lines::jobs;

mod async_pool;
mod counts;
mod gate;
mod lanes;
pub mod lines;

/// After a stop is asked for, pages already in flight get this long to reach the output.
const GRACE: Duration = Duration::from_millis(1500);

/// How often an idle writer looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);

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
}

/// What a crawler made of a job.
enum Crawled {
    Page(Page),
    /// Not fetched and no record: a link robots.txt disallows, or a stop.
    Skipped,
    /// Its host must wait this long; other jobs may go first.
    Later(Job, Duration),
}

/// What the crawl threads share; lives on the engine thread.
struct Work {
    mode: Mode,
    crawlers: usize,
    parsers: usize,
    queue: usize,
    select: Select,
    /// The fetcher, and what each request must pass first.
    gate: Arc<Gate>,
    input: Mutex<Input>,
    done: HashSet<String>,
    /// --resume: the output file, whose sitemaps' entries (and with --depth, whose pages'
    /// links) are followed again.
    resumed: Option<output::Refollow>,
    stop: Stop,
    scope: Scope,
    fields: Vec<Field>,
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
    tag_mode: bool,
}

/// The writer runs on the calling thread; all crawling runs on an engine thread, so that an
/// interrupted crawl can end after the grace period even while requests are still blocked.
/// Records that cannot be written end it with an `OutputFailed` error, which carries the summary.
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
        resumed,
        stop,
        scope,
        robots,
        delay,
        per_host,
        fields,
        stats: _,
        timeline,
        progress,
        tag_mode,
    } = config;
    let mut progress = Progress::new(progress.show, progress.total);
    let (crawlers, parsers) = match mode {
        Mode::Single => (1, 1),
        Mode::Multi | Mode::Async => (crawlers, parsers),
    };
    let (line_tx, line_rx) = bounded::<Line>(queue * 2);
    let lanes = Lanes::default();
    let counts = Counts::new(&fields);
    let work = Work {
        mode,
        crawlers,
        parsers,
        queue,
        select,
        gate: Arc::new(Gate::new(
            fetcher,
            robots,
            Politeness::new(delay, per_host),
            stop.clone(),
            counts.skipped.clone(),
        )),
        input: Mutex::new(input),
        done,
        resumed,
        stop: stop.clone(),
        scope,
        fields,
        lanes: lanes.clone(),
        counts: counts.clone(),
        keep_spans: timeline.is_some(),
        started,
        begun: progress.begun.clone(),
        entries: progress.entries.clone(),
        tag_mode,
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
    match failed {
        None => Ok(summary),
        Some(error) => Err(OutputFailed {
            summary,
            path: output.path().map(Into::into),
            written: output.abandon(),
            error,
        }
        .into()),
    }
}

impl Work {
    fn run(&self, lines: Sender<Line>) -> io::Result<()> {
        let (link_tx, link_rx) = unbounded::<Msg>();
        let (seed_tx, seed_rx) = bounded::<Job>(self.crawlers * 2);
        // Each thread that takes jobs needs its own Quit.
        let takers = match self.mode {
            Mode::Single => 1,
            Mode::Async => async_pool::dispatchers(self.crawlers),
            Mode::Multi => self.crawlers,
        };
        let transport = Transport {
            jobs: link_tx,
            seeds: seed_tx,
            takers,
        };
        let frontier = Frontier::new(
            self.scope.clone(),
            Box::new(MemoryStore::new(self.scope.max_pages)),
            transport,
            self.counts.skipped.clone(),
            self.entries.clone(),
        );
        if let Some(refollow) = &self.resumed {
            self.follow_recorded(&frontier, refollow)?;
        }
        let shared = Shared {
            work: self,
            frontier: &frontier,
        };
        match self.mode {
            Mode::Single => shared.single(lines, &link_rx, &seed_rx),
            Mode::Multi | Mode::Async => shared.multi(lines, &link_rx, &seed_rx),
        }
    }

    /// --resume: the pages recorded before are seen, and with --depth their links wait for
    /// the first level after the new URL lines, as if those pages had just been parsed; the
    /// entries of the sitemaps recorded before join the first level, as they did then.
    fn follow_recorded(&self, frontier: &Frontier, refollow: &output::Refollow) -> io::Result<()> {
        // Every recorded page is seen first, so that links to any of them are not queued again.
        for url in &self.done {
            frontier.recorded(url);
        }
        // The records are taken level by level, as the crawl took them, whatever order earlier
        // runs wrote them in: where a redirect landed holds back the links of deeper levels
        // only, and a link gets the depth of the shallowest page that has it.
        for &depth in &refollow.depths {
            output::recorded(&refollow.path, |page| {
                if page.depth == depth {
                    self.follow_again(frontier, refollow, page);
                }
            })?;
        }
        Ok(())
    }

    fn follow_again(&self, frontier: &Frontier, refollow: &output::Refollow, page: Recorded) {
        let landed = page.final_url.as_deref().filter(|u| *u != page.url);
        if let Some(landed) = landed.and_then(|u| Url::parse(u).ok()) {
            frontier.landed(&landed, page.depth);
        }
        let base = page.final_url.as_deref().and_then(|u| Url::parse(u).ok());
        let Some(base) = base.filter(|_| page.error.is_none()) else {
            return;
        };
        // A URL line's links stay on the host it landed on; a followed page is on it already.
        let host = match &page.parent {
            None => base.host_str().map(str::to_owned),
            Some(_) => Url::parse(&page.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned)),
        };
        let scope: Arc<str> = host.unwrap_or_default().into();
        // The address the page came from is not recorded: its host's spelling decides, which
        // treats a name as public, the safe side.
        let from_public = !private::is_private(&base);
        // As in finish: a sitemap's entries join its own level, a page's links the next.
        if page.is_sitemap() {
            let nesting = refollow.nesting(page.parent.as_deref());
            frontier.listed(&base, from_public, page.depth, nesting, &scope, &page.links);
        } else {
            frontier.discovered(&base, from_public, page.depth, &scope, &page.links);
        }
    }
}

/// What every crawl thread borrows.
#[derive(Clone, Copy)]
struct Shared<'a> {
    work: &'a Work,
    frontier: &'a Frontier,
}

impl Shared<'_> {
    /// One thread, in order: take a job (found links first, then the next URL line), fetch,
    /// parse, hand over.
    fn single(
        self,
        lines: Sender<Line>,
        links: &Receiver<Msg>,
        seeds: &Receiver<Job>,
    ) -> io::Result<()> {
        let mut input = jobs(&self.work.done);
        let mut feeder = Some(self.frontier.feeder());
        let mut track = Track::new("single".into(), self.work);
        loop {
            if self.work.stop.is_requested() {
                return Ok(());
            }
            // The next lines are read ahead, so that a job whose host must wait can let them go
            // first, as in next_job.
            while feeder.is_some() && seeds.len() < 2 {
                let more = match input.next(&mut *self.work.input.lock().unwrap()) {
                    Some(job) => self.frontier.seed(job?),
                    None => false,
                };
                if !more {
                    feeder = None;
                }
            }
            let job = match fresh_line(links, seeds) {
                Some(job) => job,
                None => match links.try_recv() {
                    Ok(Msg::Job(job)) => job,
                    Ok(Msg::Quit) => return Ok(()),
                    Err(_) => match seeds.try_recv() {
                        Ok(job) => job,
                        // Nothing queued and no more lines: the level switch has sent jobs or Quit.
                        Err(_) => continue,
                    },
                },
            };
            match self.crawl(job, &mut track) {
                Crawled::Page(page) => {
                    if !self.parse_and_send(page, &mut track, &lines) {
                        return Ok(());
                    }
                }
                Crawled::Skipped => {}
                Crawled::Later(job, wait) => self.later(job, wait),
            }
        }
    }

    /// Sends a job whose host must wait to the back of the queue. Unless a fresh URL line can go
    /// next, a short nap keeps crawlers from spinning when every queued job must wait.
    fn later(self, job: Job, wait: Duration) {
        self.frontier.requeue(job);
        if !self.frontier.fresh_first() {
            self.work.stop.sleep(wait.min(Duration::from_millis(20)));
        }
    }

    /// A feeder streams URL lines to crawler threads, which send bodies through the bounded page
    /// channel to parser threads, which send finished lines to the writer and links back to the
    /// frontier. Only the page channel is bounded, so the cycle cannot deadlock. The frontier's
    /// in-flight count tells the crawlers to quit; each stage then ends when the stage before it
    /// drops its senders, and a writer that stops early unwinds them through failed sends.
    fn multi(
        self,
        lines: Sender<Line>,
        links: &Receiver<Msg>,
        seeds: &Receiver<Job>,
    ) -> io::Result<()> {
        let Work {
            crawlers,
            parsers,
            queue,
            stop,
            ..
        } = self.work;
        let (page_tx, page_rx) = bounded::<Page>(*queue);
        let pool = (self.work.mode == Mode::Async).then(|| async_pool::Pool::new(self.work));

        let read = thread::scope(|s| {
            let feeder = spawn(s, "feeder".into(), move || {
                // Dropped however feeding ends, a read error included.
                let _feeding = self.frontier.feeder();
                let mut input = jobs(&self.work.done);
                let mut reader = self.work.input.lock().unwrap();
                while let Some(job) = input.next(&mut *reader) {
                    if stop.is_requested() || !self.frontier.seed(job?) {
                        break;
                    }
                }
                Ok::<_, io::Error>(())
            });
            if let Some(pool) = &pool {
                for i in 1..=async_pool::dispatchers(*crawlers) {
                    let pages = page_tx.clone();
                    spawn(s, format!("dispatcher-{i}"), move || {
                        pool.dispatch(self, links, seeds, pages)
                    });
                }
            }
            let threads = if self.work.mode == Mode::Async {
                0
            } else {
                *crawlers
            };
            for i in 1..=threads {
                let pages = page_tx.clone();
                spawn(s, format!("crawler-{i}"), move || {
                    let mut track = Track::new(format!("crawler-{i}"), self.work);
                    while let Some(job) = next_job(links, seeds, stop) {
                        match self.crawl(job, &mut track) {
                            Crawled::Page(page) => {
                                let sent = match pages.try_send(page) {
                                    Ok(()) => Ok(()),
                                    // The time spent here is what says parsers are the limit.
                                    Err(TrySendError::Full(page)) => track
                                        .time(SpanKind::Blocked, || pages.send(page).map_err(drop)),
                                    Err(TrySendError::Disconnected(_)) => Err(()),
                                };
                                if sent.is_err() {
                                    break;
                                }
                            }
                            Crawled::Skipped => {}
                            Crawled::Later(job, wait) => self.later(job, wait),
                        }
                    }
                });
            }
            for i in 1..=*parsers {
                let (pages, lines) = (page_rx.clone(), lines.clone());
                spawn(s, format!("parser-{i}"), move || {
                    let mut track = Track::new(format!("parser-{i}"), self.work);
                    for page in pages {
                        if !self.parse_and_send(page, &mut track, &lines) {
                            break;
                        }
                    }
                });
            }
            // Only the threads hold channel ends now, so each stage sees its input close.
            drop((page_tx, page_rx, lines));
            feeder
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        if let Some(pool) = pool {
            pool.finish();
        }
        read
    }

    /// Parses a page and sends its record to the writer; false once the writer is gone. The
    /// job is done once its record is on its way (its ticket is given back then).
    fn parse_and_send(self, mut page: Page, track: &mut Track, lines: &Sender<Line>) -> bool {
        let ticket = std::mem::take(&mut page.job.ticket);
        let line = track.time(SpanKind::Parse, || self.finish(page));
        let sent = lines.send(line).is_ok();
        drop(ticket);
        sent
    }

    /// The crawler's half of the work: robots.txt, politeness and the network.
    fn crawl(self, job: Job, track: &mut Track) -> Crawled {
        self.work.begun.fetch_add(1, Ordering::Relaxed);
        let crawled = self.crawl_job(job, track);
        if !matches!(crawled, Crawled::Page(_)) {
            self.work.begun.fetch_sub(1, Ordering::Relaxed);
        }
        crawled
    }

    fn crawl_job(self, job: Job, track: &mut Track) -> Crawled {
        let (job, url, slot) = match self.admit(job, Some(&mut *track)) {
            Ok(admitted) => admitted,
            Err(crawled) => return crawled,
        };
        // A stop that came while robots.txt or the host's turn was awaited: not started, so it
        // gets no record and --resume takes it up.
        if self.work.stop.is_requested() {
            return Crawled::Skipped;
        }
        let gate = &*self.work.gate;
        let request = Request {
            url: &url,
            guarded: job.guarded,
            stop: &self.work.stop,
            pace: &|t| slot.pace(t),
            hops: gate,
        };
        let fetched = track.time(SpanKind::Fetch, || gate.fetcher.fetch(&request));
        drop(slot);
        if cut_short(&fetched, &self.work.stop) {
            return Crawled::Skipped;
        }
        Crawled::Page(Page { job, fetched })
    }

    /// Everything before the request: the URL, robots.txt, and a slot on its host. Err is
    /// what becomes of a job that will not be fetched now. `track`, when the caller keeps one,
    /// times the robots.txt fetch as waiting on the network.
    // Err carries the page on, by value, like the channel it goes to next.
    #[allow(clippy::result_large_err)]
    fn admit(self, job: Job, track: Option<&mut Track>) -> Result<(Job, Url, Slot), Crawled> {
        let url = match &job.target {
            Ok(url) => url.clone(),
            Err(e) => {
                let fetched = Fetched::failed(e.clone());
                return Err(Crawled::Page(Page { job, fetched }));
            }
        };
        let Work { gate, stop, .. } = self.work;
        let host = url.host_str().unwrap_or_default().to_string();
        let rules = gate.rules(&url, job.guarded, track);
        if let Some(rules) = rules.as_deref().filter(|r| !r.allowed(&url)) {
            // Rules fetched while stopping may be a cut-off retry's; let --resume judge again.
            if stop.is_requested() {
                return Err(Crawled::Skipped);
            }
            let error = match rules {
                // The page itself would fail the same way; say how, not "robots".
                Rules::Unreachable(error) => error.clone(),
                _ if job.parent.is_some() => {
                    self.frontier.disallowed(&job);
                    return Err(Crawled::Skipped);
                }
                _ => PageError::new(ErrorKind::Robots, "disallowed by robots.txt"),
            };
            let fetched = Fetched::failed(error);
            return Err(Crawled::Page(Page { job, fetched }));
        }
        let crawl_delay = rules.as_deref().and_then(Rules::crawl_delay);
        loop {
            match gate.politeness.try_start(&host, crawl_delay) {
                Ok(slot) => return Ok((job, url, slot)),
                // Other hosts' jobs, or later ones, can go first while this host waits.
                Err(wait) if self.frontier.others_waiting() => {
                    return Err(Crawled::Later(job, wait))
                }
                Err(wait) => {
                    if !stop.sleep(wait) {
                        return Err(Crawled::Skipped);
                    }
                }
            }
        }
    }

    /// The parser's half of the work: CPU only, ending in the serialized line; links found go
    /// to the frontier.
    fn finish(self, page: Page) -> Line {
        let Page { job, fetched } = page;
        let Fetched {
            final_url,
            status,
            content_type,
            body,
            bytes,
            attempts,
            fetch_ms,
            mut error,
            interrupted: _,
            from_public,
            redirects: _,
        } = fetched;
        let (parsed, parse_ms) = match &final_url {
            Some(base) if error.is_none() => {
                let started = Instant::now();
                let parsed = parse::parse(
                    &body,
                    content_type.as_deref(),
                    base,
                    &self.work.select,
                    &self.work.fields,
                );
                let parse_ms = Some(millis(started.elapsed()));
                match parsed {
                    Ok(parsed) => (parsed, parse_ms),
                    Err(panicked) => {
                        error = Some(panicked);
                        (Parsed::default(), parse_ms)
                    }
                }
            }
            _ => (Parsed::default(), None),
        };
        // Following runs code of ours on remote input too (URLs parsed and normalized): a bug
        // that one page trips costs that page, not the parser thread, whose loss would hang the
        // crawl.
        let follow = || self.follow(&job, final_url.as_ref(), from_public, &parsed);
        if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(follow)) {
            let why = parse::panic_message(&*panic);
            let message = format!("following the page's links panicked: {why}");
            error = Some(PageError::new(ErrorKind::Parse, message));
        }
        let mut fields = serde_json::Map::new();
        // A page that failed or was not parsed has no values: each NAME is still there, as null.
        let mut values = parsed.fields.into_iter();
        for (i, field) in self.work.fields.iter().enumerate() {
            let value = values.next().flatten();
            if value.is_some() {
                self.work.counts.matched(i);
            }
            fields.insert(field.name.clone(), value.into());
        }
        let mut record = Record {
            url: job.line,
            final_url: final_url.map(String::from),
            status,
            title: parsed.title,
            links: parsed.links,
            meta: parsed.meta,
            fields,
            depth: job.depth,
            parent: job.parent.map(|p| p.to_string()),
            bytes,
            encoding: parsed.encoding,
            attempts,
            fetch_ms,
            parse_ms,
            truncated: parsed.truncated,
            error,
            mode: self.work.tag_mode.then(|| self.work.mode.name()),
        };
        redact::record(&mut record);
        let mut json = Vec::with_capacity(256 + 128 * record.links.len());
        record.write_line(&mut json);
        Line {
            json,
            bytes: record.bytes,
            fetch_ms: record.fetch_ms,
            parse_ms: record.parse_ms,
            error: record.error.as_ref().map(|e| e.kind),
        }
    }
}

impl Shared<'_> {
    /// Where the page leads: where it landed counts as seen; a sitemap's entries join its own
    /// level, a page's links the next.
    fn follow(self, job: &Job, final_url: Option<&Url>, from_public: bool, parsed: &Parsed) {
        let Some(base) = final_url else {
            return;
        };
        if job.target.as_ref().is_ok_and(|asked| asked != base) {
            self.frontier.landed(base, job.depth);
        }
        let scope = job
            .scope
            .clone()
            .unwrap_or_else(|| base.host_str().unwrap_or_default().into());
        if parsed.sitemap {
            let (depth, nesting) = (job.depth, job.sitemaps);
            self.frontier
                .listed(base, from_public, depth, nesting, &scope, &parsed.links);
        } else {
            self.frontier
                .discovered(base, from_public, job.depth, &scope, &parsed.links);
        }
    }
}

/// Whether a fetch ended for the stop rather than on its own: a wait before a retry was cut, or
/// a redirect was judged on a robots.txt whose fetch the stop cut. Such a URL gets no record,
/// so that --resume tries it again.
fn cut_short(fetched: &Fetched, stop: &Stop) -> bool {
    fetched.interrupted
        || (stop.is_requested()
            && fetched.redirects > 0
            && fetched
                .error
                .as_ref()
                .is_some_and(|e| e.kind == ErrorKind::Robots))
}

/// The next job for a crawler: found links first, then URL lines; None when the crawl is over
/// or stopping.
fn next_job(links: &Receiver<Msg>, seeds: &Receiver<Job>, stop: &Stop) -> Option<Job> {
    if let Some(job) = fresh_line(links, seeds) {
        return (!stop.is_requested()).then_some(job);
    }
    loop {
        let job = select_biased! {
            recv(links) -> msg => match msg {
                Ok(Msg::Job(job)) => job,
                Ok(Msg::Quit) | Err(_) => return None,
            },
            recv(seeds) -> job => job.ok()?,
            default(POLL) => {
                if stop.is_requested() {
                    return None;
                }
                continue;
            }
        };
        return (!stop.is_requested()).then_some(job);
    }
}

/// A URL line, taken before the jobs put back to wait for their host so that other hosts go on
/// meanwhile (while the line level lasts, links holds only those and sitemap entries); but not
/// once WAITING_ROOM of them wait, so that one slow host cannot pull a whole file into memory.
fn fresh_line(links: &Receiver<Msg>, seeds: &Receiver<Job>) -> Option<Job> {
    (links.len() < WAITING_ROOM)
        .then(|| seeds.try_recv().ok())
        .flatten()
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
    measured: &mut Measured,
    progress: &mut Progress,
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
                    Err(RecvTimeoutError::Timeout) => {
                        progress.refresh();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        };
        output.write_line(&line.json)?;
        measured.add(line.bytes, line.fetch_ms, line.parse_ms, line.error);
        progress.record(line.error.is_some());
    }
    output.finish()?;
    Ok(stop.signal())
}
