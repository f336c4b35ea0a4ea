//! The thread that moves jobs between the shared crawl and this worker: it acks what is done,
//! renews what is held, takes jobs of the open level while there is room, and tells the takers
//! to quit once the crawl is over, the worker stops, or Redis is lost.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::Fleet;
use crate::crawl::frontier::Frontier;
use crate::crawl::frontier::Job;
use crate::stop::Stop;

/// How long an idle pump waits before it asks again: a level another worker is finishing, or
/// a full backlog.
const IDLE: Duration = Duration::from_millis(20);

/// Acks wait for this long, or for as many as the backlog holds, so that each call carries
/// many: a call's fixed cost on the server is several pages' worth of acks.
const ACK_EVERY: Duration = Duration::from_millis(100);

/// Keeps up to `room` jobs waiting for this worker's takers until the crawl is over. Suspects
/// (jobs taken over after two crashes) wait apart, and go one at a time once this worker holds
/// nothing else: a page that crashes workers then takes no other page down with it.
pub fn pump(fleet: &Fleet, frontier: &Frontier, room: usize, stop: &Stop) {
    let mut beat = Beat::new(fleet.beat());
    let mut suspects: VecDeque<Job> = VecDeque::new();
    // A suspect is in flight: nothing else is taken until it is done.
    let mut alone = false;
    let mut acked = Instant::now();
    while !stop.is_requested() && fleet.fault().is_none() {
        // Acks first: a level completes on them, here or for another worker.
        if acked.elapsed() >= ACK_EVERY || fleet.ledger.ready() >= room {
            let _ = fleet.ack();
            acked = Instant::now();
        }
        let due = beat.due();
        if due {
            let _ = fleet.renew();
        }
        // Held beyond the suspects waiting: jobs in flight, one of them perhaps a suspect.
        let busy = fleet.ledger.holding() > suspects.len();
        alone &= busy;
        if alone || !suspects.is_empty() {
            if !busy {
                if let Some(job) = suspects.pop_front() {
                    let entry = job.entry.as_deref().expect("a taken job has its entry");
                    match fleet.deliver(entry) {
                        Ok(true) => {
                            frontier.requeue(job);
                            alone = true;
                        }
                        Ok(false) => {}
                        Err(_) => break,
                    }
                }
            }
            stop.sleep(IDLE);
            continue;
        }
        // Taken in batches of at least half the room, so that each call carries many.
        let backlog = frontier.backlog();
        let free = room.saturating_sub(backlog);
        if backlog > room / 2 && !due {
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
        let level = batch.level.unwrap_or_default();
        for taken in batch.jobs {
            let suspect = taken.suspect;
            match fleet.job(level, taken) {
                Some(job) if suspect => suspects.push_back(job),
                Some(job) => frontier.requeue(job),
                None => {}
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
