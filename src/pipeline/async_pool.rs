//! --mode async: one tokio runtime fetches, --crawlers requests at a time, for the same parser
//! threads; robots.txt, politeness, limits and records are the thread pools' own.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::Semaphore;

use super::{next_job, Crawled, Page, Shared};
use crate::frontier::{Job, Msg};
use crate::timeline::{Lane, Span, SpanKind};

/// Takes jobs on this thread, as a crawler would, and hands each admitted one to the runtime.
pub(super) fn dispatch(
    shared: Shared<'_>,
    links: &Receiver<Msg>,
    seeds: &Receiver<Job>,
    pages: Sender<Page>,
) {
    let work = shared.work;
    let crawlers = work.crawlers;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("async-io")
        .enable_all()
        .build()
        .expect("cannot start the tokio runtime");
    let fetcher = Arc::new(
        work.fetcher
            .to_async()
            .expect("the blocking client's settings build"),
    );
    let permits = Arc::new(Semaphore::new(crawlers));
    // A request in flight holds a lane number, so the timeline has one lane per permit.
    let free: Arc<Mutex<Vec<usize>>> = Arc::new(Mutex::new((0..crawlers).rev().collect()));
    let lanes: Vec<Lane> = (1..=crawlers)
        .map(|i| Lane::new(format!("crawler-{i}")))
        .collect();
    let spans = Arc::new(Mutex::new(lanes));
    let keep = work.keep_spans;
    let started = work.started;

    while let Some(job) = next_job(links, seeds, &work.stop) {
        work.begun.fetch_add(1, Ordering::Relaxed);
        let (job, url, slot) = match shared.admit(job) {
            Ok(admitted) => admitted,
            Err(Crawled::Page(page)) => {
                if pages.send(page).is_err() {
                    break;
                }
                continue;
            }
            Err(other) => {
                work.begun.fetch_sub(1, Ordering::Relaxed);
                match other {
                    Crawled::Later(job, wait) => shared.later(job, wait),
                    _ => shared.frontier.done(),
                }
                continue;
            }
        };
        let Ok(permit) = runtime.block_on(permits.clone().acquire_owned()) else {
            break;
        };
        let (fetcher, pages, stop) = (fetcher.clone(), pages.clone(), work.stop.clone());
        let (free, spans) = (free.clone(), spans.clone());
        runtime.spawn(async move {
            let lane = free.lock().unwrap().pop().unwrap_or(0);
            let since = |t: Instant| t.duration_since(started).as_secs_f64() * 1000.0;
            let t0 = Instant::now();
            let fetched = fetcher.fetch(&url, &stop).await;
            let t1 = Instant::now();
            drop(slot);
            let mut lane_spans = vec![Span {
                start_ms: since(t0),
                end_ms: since(t1),
                kind: SpanKind::Fetch,
            }];
            match pages.try_send(Page { job, fetched }) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                // The time spent here is what says parsers are the limit.
                Err(TrySendError::Full(page)) => {
                    let _ = tokio::task::block_in_place(|| pages.send(page).map_err(drop));
                    lane_spans.push(Span {
                        start_ms: since(t1),
                        end_ms: since(Instant::now()),
                        kind: SpanKind::Blocked,
                    });
                }
            }
            let mut lanes = spans.lock().unwrap();
            for span in lane_spans {
                lanes[lane].record(span, keep);
            }
            drop(lanes);
            free.lock().unwrap().push(lane);
            drop(permit);
        });
    }
    // Every request in flight must hand over its page before the page channel closes.
    let _ = runtime.block_on(permits.acquire_many(crawlers as u32));
    let spans = std::mem::take(&mut *spans.lock().unwrap());
    work.lanes.lock().unwrap().extend(spans);
}
