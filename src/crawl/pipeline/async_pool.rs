//! --mode async: one tokio runtime fetches, --crawlers requests at a time, for the same parser
//! threads; robots.txt, politeness, limits and records are the thread pools' own.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;

use super::crawler::{cut_short, Admitted};
use super::pools::next_job;
use super::{Crawled, Page, Shared, Work};
use crate::crawl::frontier::{Job, Msg};
use crate::fetch::{AsyncFetcher, Place, Request};
use crate::observe::timeline::{Lane, Span, SpanKind};

/// Threads that take jobs and admit them (robots.txt, politeness) before handing them to the
/// runtime. Admission can block, on a host's first robots.txt or on its --delay, so one thread
/// would make every other host wait behind it; a few let other hosts go on meanwhile.
pub(super) fn dispatchers(crawlers: usize) -> usize {
    crawlers.clamp(1, 8)
}

/// The runtime and what its requests share, for all the dispatcher threads.
pub(super) struct Pool {
    runtime: Runtime,
    fetcher: Arc<AsyncFetcher>,
    permits: Arc<Semaphore>,
    crawlers: usize,
    /// A request in flight holds a lane number, so the timeline has one lane per permit.
    free: Arc<Mutex<Vec<usize>>>,
    lanes: Arc<Vec<Arc<Mutex<Lane>>>>,
}

impl Pool {
    pub(super) fn new(work: &Work) -> Pool {
        let crawlers = work.plan.crawlers;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("async-io")
            .enable_all()
            .build()
            .expect("cannot start the tokio runtime");
        let fetcher = work
            .gate
            .fetcher
            .to_async()
            .expect("the blocking client's settings build");
        Pool {
            runtime,
            fetcher: Arc::new(fetcher),
            permits: Arc::new(Semaphore::new(crawlers)),
            crawlers,
            free: Arc::new(Mutex::new((0..crawlers).rev().collect())),
            lanes: Arc::new(
                (1..=crawlers)
                    .map(|i| work.lanes.add(format!("crawler-{i}")))
                    .collect(),
            ),
        }
    }

    /// Takes jobs on this thread, as a crawler would, and hands each admitted one to the runtime.
    pub(super) fn dispatch(
        &self,
        shared: Shared<'_>,
        links: &Receiver<Msg>,
        seeds: &Receiver<Job>,
        pages: Sender<Page>,
    ) {
        let work = shared.work;
        let (keep, started) = (work.keep_spans, work.started);
        while let Some(job) = next_job(links, seeds, &work.plan.stop) {
            work.begun.fetch_add(1, Ordering::Relaxed);
            // Not fetched now, and so not in flight: put back if it is to wait.
            let set_aside = |crawled: Crawled| {
                work.begun.fetch_sub(1, Ordering::Relaxed);
                if let Crawled::Later(job, wait) = crawled {
                    shared.later(job, wait);
                }
            };
            let Admitted {
                job,
                url,
                slot,
                seed,
            } = match shared.admit(job, None) {
                Ok(admitted) => admitted,
                Err(Crawled::Page(page)) => {
                    if pages.send(page).is_err() {
                        break;
                    }
                    continue;
                }
                Err(other) => {
                    set_aside(other);
                    continue;
                }
            };
            let Ok(permit) = self.runtime.block_on(self.permits.clone().acquire_owned()) else {
                break;
            };
            // A stop that came while this job waited for a permit: it was not started, so it
            // gets no record and --resume takes it up, as in the other modes.
            if work.plan.stop.is_requested() {
                work.begun.fetch_sub(1, Ordering::Relaxed);
                break;
            }
            // A shallower claim may have taken its URL while it waited: a redirect that landed
            // there, say.
            let job = match shared.stands(job) {
                Ok(job) => job,
                Err(crawled) => {
                    set_aside(crawled);
                    continue;
                }
            };
            let (fetcher, pages, stop) =
                (self.fetcher.clone(), pages.clone(), work.plan.stop.clone());
            let (gate, frontier) = (work.gate.clone(), shared.frontier.clone());
            let (free, lanes) = (self.free.clone(), self.lanes.clone());
            self.runtime.spawn(async move {
                // Nor does a task the runtime got to only after a stop.
                if stop.is_requested() {
                    return;
                }
                let lane = free.lock().unwrap().pop().unwrap_or(0);
                let since = |t: Instant| t.duration_since(started).as_secs_f64() * 1000.0;
                let t0 = Instant::now();
                let request = Request {
                    url: &url,
                    guarded: job.guarded,
                    stop: &stop,
                    pace: &|t| slot.pace(t),
                    hops: &*gate,
                    place: Place {
                        depth: job.depth,
                        parent: job.parent.as_deref(),
                    },
                    seed: seed.as_deref(),
                };
                let fetched = fetcher.fetch(&request).await;
                let t1 = Instant::now();
                drop(slot);
                frontier.arrived(&job, fetched.final_url.as_ref());
                let record = |start: Instant, end: Instant, kind| {
                    let span = Span {
                        start_ms: since(start),
                        end_ms: since(end),
                        kind,
                    };
                    lanes[lane].lock().unwrap().record(span, keep);
                };
                record(t0, t1, SpanKind::Fetch);
                // A fetch the stop cut short is not the URL's outcome: no record, so --resume
                // tries it again.
                if !cut_short(&fetched, &stop) {
                    match pages.try_send(Page { job, fetched }) {
                        Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                        // The time spent here is what says parsers are the limit.
                        Err(TrySendError::Full(page)) => {
                            let _ = tokio::task::block_in_place(|| pages.send(page).map_err(drop));
                            record(t1, Instant::now(), SpanKind::Blocked);
                        }
                    }
                }
                free.lock().unwrap().push(lane);
                drop(permit);
            });
        }
    }

    /// After the dispatchers: waits for every request in flight, so none is cut off when the
    /// runtime goes.
    pub(super) fn finish(self) {
        let _ = self
            .runtime
            .block_on(self.permits.acquire_many(self.crawlers as u32));
    }
}
