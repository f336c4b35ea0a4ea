//! The thread that moves jobs between the shared crawl and this worker: it acks what is done,
//! renews what is held, takes jobs of the open level while there is room, and tells the takers
//! to quit once the crawl is over, the worker stops, or Redis is lost.

use std::time::{Duration, Instant};

use super::Fleet;
use crate::crawl::frontier::Frontier;
use crate::stop::Stop;

/// How long an idle pump waits before it asks again: a level another worker is finishing, or
/// a full backlog.
const IDLE: Duration = Duration::from_millis(20);

/// Keeps up to `room` jobs waiting for this worker's takers until the crawl is over.
pub fn pump(fleet: &Fleet, frontier: &Frontier, room: usize, stop: &Stop) {
    let mut beat = Beat::new(fleet.beat());
    while !stop.is_requested() && fleet.fault().is_none() {
        // Acks first: a level completes on them, here or for another worker.
        let _ = fleet.ack();
        let due = beat.due();
        if due {
            let _ = fleet.renew();
        }
        let free = room.saturating_sub(frontier.backlog());
        if free == 0 && !due {
            stop.sleep(IDLE);
            continue;
        }
        let Ok(batch) = fleet.take(free, due) else {
            break;
        };
        if batch.over || fleet.still_there(&batch).is_err() {
            break;
        }
        let taken = batch.jobs.len();
        for job in batch.jobs {
            let level = batch.level.unwrap_or_default();
            if let Some(job) = fleet.job(level, job) {
                frontier.requeue(job);
            }
        }
        if taken == 0 {
            stop.sleep(IDLE);
        }
    }
    frontier.close();
}

/// When a worker last renewed its jobs and reclaimed others'.
struct Beat {
    last: Instant,
    every: Duration,
}

impl Beat {
    fn new(every: Duration) -> Beat {
        Beat {
            last: Instant::now() - every,
            every,
        }
    }

    /// Whether it is time, and if so, the time is now.
    fn due(&mut self) -> bool {
        let due = self.last.elapsed() >= self.every;
        if due {
            self.last = Instant::now();
        }
        due
    }
}
