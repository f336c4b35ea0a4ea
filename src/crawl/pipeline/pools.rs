//! The threads of a crawl: one that does everything in turn (single), or a feeder, crawler
//! threads (or async dispatchers) and parser threads joined by channels (multi and async).

use std::io;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{bounded, select_biased, Receiver, Sender, TryRecvError, TrySendError};

use super::finish::Finished;
use super::lanes::Track;
use super::lines::jobs;
use super::writer::POLL;
use super::{async_pool, Crawled, Line, Page, Shared};
use crate::crawl::fleet::{print_of, pump, Fleet};
use crate::crawl::frontier::{Job, Msg, WAITING_ROOM};
use crate::mode::Mode;
use crate::observe::timeline::SpanKind;
use crate::stop::Stop;

/// Tells the shared crawl this worker's feeder has ended, however it ends, a panic included:
/// until then the pump does not take the job for over.
struct Fed<'a>(&'a Fleet);

impl Drop for Fed<'_> {
    fn drop(&mut self) {
        self.0.fed();
    }
}

/// URL lines queued in a shared crawl per call: few calls, and no call long for Redis.
const SEED_BATCH: usize = 256;

impl Shared<'_> {
    /// One thread, in order: take a job (found links first, then the next URL line), fetch,
    /// parse, hand over.
    pub(super) fn single(
        self,
        lines: Sender<Line>,
        links: &Receiver<Msg>,
        seeds: &Receiver<Job>,
    ) -> io::Result<()> {
        let mut input = jobs(&self.work.plan.done);
        let mut feeder = Some(self.frontier.feeder());
        let mut track = Track::new("single".into(), self.work);
        loop {
            if self.work.plan.stop.is_requested() {
                return Ok(());
            }
            // Pages kept for their level go first: the level that let them go is complete.
            while let Ok(held) = self.ready.try_recv() {
                if !self.send(track.time(SpanKind::Parse, || self.settle(held)), &lines) {
                    return Ok(());
                }
            }
            // The next lines are read ahead, so that a job whose host must wait can let them go
            // first, as in next_job.
            while feeder.is_some() && seeds.len() < 2 {
                let more = match input.next(&mut *self.work.plan.input.lock().unwrap()) {
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
    pub(super) fn later(self, job: Job, wait: Duration) {
        self.frontier.requeue(job);
        if !self.frontier.fresh_first() {
            self.work
                .plan
                .stop
                .sleep(wait.min(Duration::from_millis(20)));
        }
    }

    /// A feeder streams URL lines to crawler threads, which send bodies through the bounded page
    /// channel to parser threads, which send finished lines to the writer and links back to the
    /// frontier. Only the page channel is bounded, so the cycle cannot deadlock. The frontier's
    /// in-flight count tells the crawlers to quit; each stage then ends when the stage before it
    /// drops its senders, and a writer that stops early unwinds them through failed sends. In
    /// async mode, dispatchers hand the fetches to one runtime instead of crawler threads.
    pub(super) fn multi(
        self,
        lines: Sender<Line>,
        links: &Receiver<Msg>,
        seeds: &Receiver<Job>,
    ) -> io::Result<()> {
        let plan = &self.work.plan;
        let (page_tx, page_rx) = bounded::<Page>(plan.queue);
        let pool = (plan.mode == Mode::Async).then(|| async_pool::Pool::new(self.work));
        let read = thread::scope(|s| {
            let feeder = spawn(s, "feeder".into(), move || self.feed());
            if let Some(fleet) = &plan.fleet {
                // Enough for every crawler's next job, and few enough that the jobs this worker
                // holds are never many for another to wait on.
                let room = 2 * plan.crawlers;
                spawn(s, "pump".into(), move || {
                    pump::pump(fleet, self.frontier, room, &plan.stop)
                });
            }
            match &pool {
                Some(pool) => {
                    for i in 1..=async_pool::dispatchers(plan.crawlers) {
                        let pages = page_tx.clone();
                        spawn(s, format!("dispatcher-{i}"), move || {
                            pool.dispatch(self, links, seeds, pages)
                        });
                    }
                }
                None => {
                    for i in 1..=plan.crawlers {
                        let pages = page_tx.clone();
                        spawn(s, format!("crawler-{i}"), move || {
                            self.crawler(i, links, seeds, &pages)
                        });
                    }
                }
            }
            for i in 1..=plan.parsers {
                let (pages, lines) = (page_rx.clone(), lines.clone());
                spawn(s, format!("parser-{i}"), move || {
                    self.parser(i, &pages, &lines)
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

    /// Reads the URL lines into the frontier, until there are no more, the budget is spent or
    /// a stop comes.
    fn feed(self) -> io::Result<()> {
        // Dropped however feeding ends, a read error included.
        let _feeding = self.frontier.feeder();
        let plan = &self.work.plan;
        if let Some(fleet) = &plan.fleet {
            let _fed = Fed(fleet);
            return self.seed_shared(fleet);
        }
        let mut input = jobs(&plan.done);
        let mut reader = plan.input.lock().unwrap();
        while let Some(job) = input.next(&mut *reader) {
            if plan.stop.is_requested() || !self.frontier.seed(job?) {
                break;
            }
        }
        Ok(())
    }

    /// Queues the URL lines in the shared crawl, a batch per call; every worker may read the
    /// same file, since a line seen already is not queued again, and one whose file some worker
    /// has queued whole reads nothing. Then says the lines are all in, unless a stop cut the
    /// reading short: a worker started again reads them again.
    fn seed_shared(self, fleet: &Fleet) -> io::Result<()> {
        let plan = &self.work.plan;
        match fleet.lines_in() {
            Ok(false) => {}
            Ok(true) => {
                let _ = fleet.seeded();
                return Ok(());
            }
            Err(_) => return Ok(()),
        }
        let mut input = jobs(&plan.done);
        let mut reader = plan.input.lock().unwrap();
        let mut batch = Vec::with_capacity(SEED_BATCH);
        loop {
            let next = input.next(&mut *reader).transpose()?;
            let end = next.is_none();
            batch.extend(next.map(|job| (print_of(&job), job)));
            if batch.len() >= SEED_BATCH || end {
                let Ok(codes) = fleet.queue(0, "line", &batch) else {
                    return Ok(());
                };
                batch.clear();
                // Over the budget: no later line can be taken in either.
                if codes.contains(&3) {
                    break;
                }
            }
            if plan.stop.is_requested() {
                return Ok(());
            }
            if end {
                break;
            }
        }
        let _ = fleet.seeded();
        Ok(())
    }

    /// Crawler thread `i`: takes jobs, fetches, hands pages on until the crawl is over.
    fn crawler(self, i: usize, links: &Receiver<Msg>, seeds: &Receiver<Job>, pages: &Sender<Page>) {
        let mut track = Track::new(format!("crawler-{i}"), self.work);
        while let Some(job) = next_job(links, seeds, &self.work.plan.stop) {
            match self.crawl(job, &mut track) {
                Crawled::Page(page) => {
                    let sent = match pages.try_send(page) {
                        Ok(()) => Ok(()),
                        // The time spent here is what says parsers are the limit.
                        Err(TrySendError::Full(page)) => {
                            track.time(SpanKind::Blocked, || pages.send(page).map_err(drop))
                        }
                        Err(TrySendError::Disconnected(_)) => Err(()),
                    };
                    if sent.is_err() {
                        return;
                    }
                }
                Crawled::Skipped => {}
                Crawled::Later(job, wait) => self.later(job, wait),
            }
        }
    }

    /// Parser thread `i`: parses pages, and finishes those kept for their level once it opens,
    /// until the crawlers are gone or the writer is.
    fn parser(self, i: usize, pages: &Receiver<Page>, lines: &Sender<Line>) {
        let mut track = Track::new(format!("parser-{i}"), self.work);
        while let Some(finished) = self.parse_next(pages, &mut track) {
            if !self.send(finished, lines) {
                return;
            }
        }
    }

    /// A parser's next piece of work, done: a page kept for its level that may finish now
    /// first, then a fetched page; None once the crawlers are gone. Waiting on both channels
    /// costs more than taking from one, so only an idle parser does.
    fn parse_next(self, pages: &Receiver<Page>, track: &mut Track) -> Option<Finished> {
        if let Ok(held) = self.ready.try_recv() {
            return Some(track.time(SpanKind::Parse, || self.settle(held)));
        }
        match pages.try_recv() {
            Ok(page) => Some(track.time(SpanKind::Parse, || self.take_up(page))),
            Err(TryRecvError::Disconnected) => None,
            Err(TryRecvError::Empty) => select_biased! {
                recv(self.ready) -> held => {
                    let held = held.ok()?;
                    Some(track.time(SpanKind::Parse, || self.settle(held)))
                }
                recv(pages) -> page => {
                    let page = page.ok()?;
                    Some(track.time(SpanKind::Parse, || self.take_up(page)))
                }
            },
        }
    }

    /// Parses a page and, unless it is kept for its level, sends its record to the writer;
    /// false once the writer is gone.
    fn parse_and_send(self, page: Page, track: &mut Track, lines: &Sender<Line>) -> bool {
        self.send(track.time(SpanKind::Parse, || self.take_up(page)), lines)
    }

    /// Sends a finished page's record to the writer; false once the writer is gone. The job is
    /// done once its record is on its way (its ticket is given back then).
    fn send(self, finished: Finished, lines: &Sender<Line>) -> bool {
        let Some((line, ticket)) = finished else {
            return true;
        };
        let sent = lines.send(line).is_ok();
        drop(ticket);
        sent
    }
}

/// The next job for a crawler: found links first, then URL lines; None when the crawl is over
/// or stopping.
pub(super) fn next_job(links: &Receiver<Msg>, seeds: &Receiver<Job>, stop: &Stop) -> Option<Job> {
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
