//! A job's entry in its level's stream, held by this worker until the job ends: acked once its
//! record is flushed, or at once when it makes none, and left pending when the worker stops or
//! loses Redis, so that another worker takes it up after the lease.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::crawl::lock;

/// Deliveries after which a job that never got its record back is given up as `lost`: a page
/// that crashes every worker that takes it must not go round for ever.
pub const MAX_DELIVERIES: u64 = 3;

/// How a job ended, as the ack script spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Record,
    Failed,
    Skipped,
    /// A shallower claim took its URL while it was queued.
    Gone,
    Lost,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Record => "r",
            Outcome::Failed => "f",
            Outcome::Skipped => "s",
            Outcome::Gone => "g",
            Outcome::Lost => "x",
        }
    }
}

/// A stream entry: its level and id.
pub type Id = (u32, String);

/// The entries this worker holds, and those ready to be acked.
#[derive(Default)]
pub struct Ledger {
    held: Mutex<BTreeSet<Id>>,
    ready: Mutex<Vec<(Id, Outcome)>>,
}

impl Ledger {
    /// What is ready to ack, taken.
    pub fn take_ready(&self) -> Vec<(Id, Outcome)> {
        std::mem::take(&mut *lock(&self.ready))
    }

    /// A job this worker was handed and drops at once, with no entry: ready to ack.
    pub fn drop_taken(&self, id: Id, outcome: Outcome) {
        lock(&self.ready).push((id, outcome));
    }

    /// Acks that could not be sent, for the next try.
    pub fn put_back(&self, acks: Vec<(Id, Outcome)>) {
        lock(&self.ready).extend(acks);
    }

    /// The entries held now, for renewing their lease.
    pub fn held(&self) -> Vec<Id> {
        lock(&self.held).iter().cloned().collect()
    }

    /// How many acks are ready.
    pub fn ready(&self) -> usize {
        lock(&self.ready).len()
    }

    /// How many entries are held now: taken and not yet acked or let go.
    pub fn holding(&self) -> usize {
        lock(&self.held).len()
    }
}

pub struct Entry {
    id: Id,
    /// Delivered more than MAX_DELIVERIES times: its record says `lost`, and it is not fetched.
    lost: bool,
    /// It ends with no record, for a reason that will hold for any worker (robots.txt): ack it
    /// when it is dropped.
    skipped: AtomicBool,
    ledger: Arc<Ledger>,
}

impl Entry {
    pub fn new(id: Id, deliveries: u64, ledger: &Arc<Ledger>) -> Entry {
        lock(&ledger.held).insert(id.clone());
        Entry {
            id,
            lost: deliveries > MAX_DELIVERIES,
            skipped: AtomicBool::new(false),
            ledger: ledger.clone(),
        }
    }

    pub fn lost(&self) -> bool {
        self.lost
    }

    pub fn id(&self) -> &Id {
        &self.id
    }

    /// The job ends here with no record, and would anywhere.
    pub fn skip(&self) {
        self.skipped.store(true, Ordering::Relaxed);
    }

    /// Its record is written and flushed: ack it.
    pub fn flushed(self, failed: bool) {
        let outcome = match (self.lost, failed) {
            (true, _) => Outcome::Lost,
            (false, true) => Outcome::Failed,
            (false, false) => Outcome::Record,
        };
        self.end(Some(outcome));
    }

    fn end(&self, outcome: Option<Outcome>) {
        if lock(&self.ledger.held).remove(&self.id) {
            if let Some(outcome) = outcome {
                lock(&self.ledger.ready).push((self.id.clone(), outcome));
            }
        }
    }
}

impl Drop for Entry {
    /// A job dropped without a flushed record stays pending, unless it was skipped: a stop, a
    /// writer gone or a lost Redis leaves it for another worker.
    fn drop(&mut self) {
        let skipped = self.skipped.load(Ordering::Relaxed);
        self.end(skipped.then_some(Outcome::Skipped));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_flushed_and_skipped_entries_are_acked_and_each_once() {
        let ledger = Arc::new(Ledger::default());
        let entry = |n: &str, deliveries| Entry::new((1, n.into()), deliveries, &ledger);
        let (a, b, c, d) = (entry("a", 1), entry("b", 1), entry("c", 1), entry("d", 4));
        assert_eq!(ledger.held().len(), 4);
        a.flushed(false);
        b.skip();
        drop(b);
        drop(c);
        assert!(d.lost());
        d.flushed(false);
        let ready = ledger.take_ready();
        let got: Vec<_> = ready.iter().map(|((_, id), o)| (id.as_str(), *o)).collect();
        assert_eq!(
            got,
            [
                ("a", Outcome::Record),
                ("b", Outcome::Skipped),
                ("d", Outcome::Lost)
            ],
            "c was dropped without a record: it stays pending"
        );
        assert!(ledger.held().is_empty());
    }
}
