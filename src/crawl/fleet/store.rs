//! The frontier's state in Redis: the same questions the memory store answers, each one script
//! call. Jobs found go to their level's stream rather than to this worker's takers, and levels
//! open on the counts in Redis, which only the pump reads: here every level a job is handed out
//! for is open already.

use std::sync::Arc;

use super::Fleet;
use crate::crawl::frontier::{Claim, Job, Print, Standing, Step, Store};

pub struct RedisStore {
    fleet: Arc<Fleet>,
}

impl RedisStore {
    pub fn new(fleet: Arc<Fleet>) -> RedisStore {
        RedisStore { fleet }
    }
}

/// A failed call has set the fleet's fault, which ends the worker; until then each question
/// gets the answer that sends nothing more.
impl Store for RedisStore {
    fn see(&self, print: Print) {
        let _ = self.fleet.claim(print, 0, "line");
    }

    fn claim(&self, print: Print, depth: u32) -> Claim {
        match self.fleet.claim(print, depth, "entry") {
            Ok(1 | 3) => Claim::New,
            Ok(2) => Claim::Taken,
            _ => Claim::Seen,
        }
    }

    fn land(&self, print: Print, depth: u32) {
        let _ = self.fleet.land(print, depth);
    }

    fn found(&self, depth: u32, links: Vec<(Print, Job)>) -> Vec<Job> {
        let _ = self.fleet.queue(depth, "link", &links);
        Vec::new()
    }

    fn list(&self, depth: u32, entries: Vec<(Print, Job)>) -> (Vec<Job>, usize) {
        let codes = self.fleet.queue(depth, "entry", &entries);
        let listed = codes.map_or(0, |codes| codes.iter().filter(|&&c| c != 0).count());
        (Vec::new(), listed)
    }

    /// A job is handed out only once every level above it is complete, and checked then
    /// against the claims made since it was queued (TAKE): it stands as it came.
    fn standing(&self, _print: Print, _depth: u32) -> Standing {
        Standing::Live { unguarded: false }
    }

    /// The level above is complete before a job is handed out, so no landing is to come.
    fn expect(&self, _print: Print, _depth: u32) {}

    fn may_finish(&self, _depth: u32, _park: &mut dyn FnMut()) -> bool {
        true
    }

    /// Jobs in flight are the streams' pending entries.
    fn begin(&self, _depth: u32, _n: usize) {}

    /// A job is done when its entry is acked, after its record is flushed.
    fn finish(&self, _depth: u32) -> Step {
        Step::default()
    }

    /// The URL lines are read by the feeder, which says so in Redis itself.
    fn fed(&self) -> (Vec<Job>, Step) {
        (Vec::new(), Step::default())
    }

    fn admit(&self) -> bool {
        self.fleet.admit().unwrap_or(false)
    }

    fn refund(&self) {
        let _ = self.fleet.refund();
    }
}
