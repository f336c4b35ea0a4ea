//! Each thread's spans, kept where the summary, --stats and --timeline can read them even when
//! a stop leaves threads behind.

use std::sync::{Arc, Mutex};

use super::Work;
use crate::observe::timeline::{Lane, Span, SpanKind};

/// Every thread's lane, registered as the thread starts, so that the figures can be read even
/// when a stop leaves some threads behind.
#[derive(Clone, Default)]
pub(super) struct Lanes(Arc<Mutex<Vec<Arc<Mutex<Lane>>>>>);

impl Lanes {
    pub(super) fn add(&self, thread: String) -> Arc<Mutex<Lane>> {
        let lane = Arc::new(Mutex::new(Lane::new(thread)));
        self.0.lock().unwrap().push(lane.clone());
        lane
    }

    /// The lanes as they are now, crawlers first, then parsers, each by number.
    pub(super) fn snapshot(&self) -> Vec<Lane> {
        let mut lanes: Vec<Lane> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|lane| lane.lock().unwrap().clone())
            .collect();
        lanes.sort_by_key(|lane| lane_order(&lane.thread));
        lanes
    }
}

/// One thread's spans, in its lane.
pub(super) struct Track<'a> {
    lane: Arc<Mutex<Lane>>,
    work: &'a Work,
}

impl<'a> Track<'a> {
    pub(super) fn new(thread: String, work: &'a Work) -> Self {
        Track {
            lane: work.lanes.add(thread),
            work,
        }
    }

    pub(super) fn time<T>(&mut self, kind: SpanKind, f: impl FnOnce() -> T) -> T {
        let start = self.work.started.elapsed();
        let out = f();
        let end = self.work.started.elapsed();
        let span = Span {
            start_ms: start.as_secs_f64() * 1000.0,
            end_ms: end.as_secs_f64() * 1000.0,
            kind,
        };
        self.lane.lock().unwrap().record(span, self.work.keep_spans);
        out
    }
}

/// Crawlers first, then parsers, each by number, as the timeline draws them.
fn lane_order(thread: &str) -> (u8, usize) {
    let (pool, n) = thread.rsplit_once('-').unwrap_or((thread, "0"));
    let rank = match pool {
        "crawler" => 0,
        "parser" => 1,
        _ => 2,
    };
    (rank, n.parse().unwrap_or(0))
}
