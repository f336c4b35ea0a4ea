//! Where a crawl's state lives, behind one seam: the seen set, the links waiting for their
//! level, the in-flight count and the --max-pages budget. The frontier decides what to ask; a
//! store answers each question atomically, here in memory, elsewhere in a shared one.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::job::{Job, Print};

/// What claiming a URL for a level found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    New,
    /// It was a link waiting for a deeper level, which is now dropped: its admission passes to
    /// the claimer.
    Taken,
    Seen,
}

/// The questions a frontier asks of its state. Every method is one atomic step.
pub trait Store: Send + Sync {
    /// Marks a URL as seen without claiming it for a level (a page an earlier run recorded).
    fn see(&self, print: Print);
    /// Claims a URL for a page at `depth`: taking it from the links waiting for a deeper level
    /// if one of them has it.
    fn claim(&self, print: Print, depth: u32) -> Claim;
    /// Links found for level `depth`: each one claimed, and those new or taken wait for that
    /// level, a new one only while the budget lasts. A link already waiting for that level and
    /// found again unguarded (from a page on a private address) waits unguarded: which page of
    /// a level is parsed first must not decide it.
    fn wait(&self, depth: u32, links: Vec<(Print, Job)>);
    /// The live jobs of the shallowest level waiting, taken out of the store; none when no
    /// level waits.
    fn release(&self) -> Vec<Job>;
    /// `n` jobs are on their way.
    fn begin(&self, n: usize);
    /// One job is finished; true when it was the last in flight.
    fn finish(&self) -> bool;
    /// Takes one page from the --max-pages budget; false once it is spent.
    fn admit(&self) -> bool;
    /// Gives back an admission whose page turned out to be one admitted already.
    fn refund(&self);
}

/// The store of a crawl that runs in this process.
pub struct MemoryStore {
    max_pages: Option<u64>,
    /// Fingerprints of the normalized URLs seen.
    seen: Mutex<HashSet<Print>>,
    next: Mutex<Next>,
    /// Jobs sent and not yet done, plus one for the feeder while it still has lines.
    in_flight: AtomicUsize,
    admitted: AtomicU64,
}

/// Links waiting for a later level. Usually all of them are of the next level; a resumed crawl
/// may hold several levels at once, which are then released shallowest first.
#[derive(Default)]
struct Next {
    jobs: Vec<(Print, Job)>,
    /// The depth of each job still to be fetched: a URL seen only as one of them may still be
    /// claimed at a smaller depth, its shortest. A job whose entry is gone, or names another
    /// depth, was taken so, and is dropped when released.
    waiting: HashMap<Print, u32>,
    /// Waiting links that some page found unguarded.
    unguarded: HashSet<Print>,
}

/// The state, even after a panic while it was held: a bug that one page trips (its links are
/// followed under a catch, see pipeline's finish) may lose that page's links, never the crawl.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    /// The feeder is in flight from the start, until it has read every line.
    pub fn new(max_pages: Option<u64>) -> MemoryStore {
        MemoryStore {
            max_pages,
            seen: Mutex::default(),
            next: Mutex::default(),
            in_flight: AtomicUsize::new(1),
            admitted: AtomicU64::new(0),
        }
    }

    fn claim_in(&self, next: &mut Next, print: Print, depth: u32) -> Claim {
        if lock(&self.seen).insert(print) {
            return Claim::New;
        }
        match next.waiting.get(&print) {
            Some(&waits) if waits > depth => {
                next.waiting.remove(&print);
                Claim::Taken
            }
            _ => Claim::Seen,
        }
    }
}

impl Store for MemoryStore {
    fn see(&self, print: Print) {
        lock(&self.seen).insert(print);
    }

    fn claim(&self, print: Print, depth: u32) -> Claim {
        self.claim_in(&mut lock(&self.next), print, depth)
    }

    fn wait(&self, depth: u32, links: Vec<(Print, Job)>) {
        // Held throughout, so that a URL seen here is waiting before a claim can look.
        let mut next = lock(&self.next);
        for (print, job) in links {
            // A taken link was admitted already, as a link to this URL.
            let admitted = match self.claim_in(&mut next, print, depth) {
                Claim::Seen => {
                    if !job.guarded && next.waiting.get(&print) == Some(&depth) {
                        next.unguarded.insert(print);
                    }
                    continue;
                }
                Claim::Taken => true,
                Claim::New => self.admit(),
            };
            if admitted {
                next.waiting.insert(print, depth);
                next.jobs.push((print, job));
            }
        }
    }

    fn release(&self) -> Vec<Job> {
        let mut guard = lock(&self.next);
        let Next {
            jobs,
            waiting,
            unguarded,
        } = &mut *guard;
        jobs.retain(|(print, job)| waiting.get(print) == Some(&job.depth));
        let Some(level) = jobs.iter().map(|(_, job)| job.depth).min() else {
            return Vec::new();
        };
        let (now, later): (Vec<_>, Vec<_>) =
            jobs.drain(..).partition(|(_, job)| job.depth == level);
        *jobs = later;
        now.into_iter()
            .map(|(print, mut job)| {
                waiting.remove(&print);
                job.guarded &= !unguarded.remove(&print);
                job
            })
            .collect()
    }

    fn begin(&self, n: usize) {
        self.in_flight.fetch_add(n, Ordering::SeqCst);
    }

    fn finish(&self) -> bool {
        self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1
    }

    fn admit(&self) -> bool {
        match self.max_pages {
            Some(max) => self.admitted.fetch_add(1, Ordering::SeqCst) < max,
            None => true,
        }
    }

    fn refund(&self) {
        if self.max_pages.is_some() {
            self.admitted.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn job(url: &str, depth: u32) -> (Print, Job) {
        let mut job = Job::seed(url.into(), Ok(Url::parse(url).unwrap()));
        job.depth = depth;
        (Print::of(url), job)
    }

    fn urls(jobs: &[Job]) -> Vec<&str> {
        jobs.iter().map(|j| j.line.as_str()).collect()
    }

    #[test]
    fn links_wait_for_their_level_and_are_released_shallowest_first() {
        let store = MemoryStore::new(None);
        store.wait(2, vec![job("http://a/deep", 2)]);
        store.wait(1, vec![job("http://a/1", 1), job("http://a/2", 1)]);
        assert_eq!(urls(&store.release()), ["http://a/1", "http://a/2"]);
        assert_eq!(urls(&store.release()), ["http://a/deep"]);
        assert!(store.release().is_empty());
    }

    #[test]
    fn a_url_is_claimed_at_its_shortest_depth_once() {
        let store = MemoryStore::new(None);
        store.wait(2, vec![job("http://a/x", 2)]);
        // Found again at depth 1: it takes the waiting one, which is dropped on release.
        assert_eq!(store.claim(Print::of("http://a/x"), 1), Claim::Taken);
        assert_eq!(store.claim(Print::of("http://a/x"), 1), Claim::Seen);
        assert!(store.release().is_empty());
        store.see(Print::of("http://a/old"));
        store.wait(1, vec![job("http://a/old", 1)]);
        assert!(store.release().is_empty(), "recorded before: not again");
    }

    #[test]
    fn a_link_found_unguarded_anywhere_in_its_level_waits_unguarded() {
        for order in [[true, false], [false, true]] {
            let store = MemoryStore::new(None);
            for guarded in order {
                let (print, mut found) = job("http://x/", 1);
                found.guarded = guarded;
                store.wait(1, vec![(print, found)]);
            }
            let released = store.release();
            assert_eq!(released.len(), 1);
            assert!(!released[0].guarded, "{order:?}");
        }
    }

    #[test]
    fn the_budget_admits_new_links_only_and_takes_refunds() {
        let store = MemoryStore::new(Some(3));
        assert!(store.admit(), "a URL line");
        store.refund();
        store.wait(
            1,
            vec![
                job("http://a/1", 1),
                job("http://a/2", 1),
                job("http://a/3", 1),
                job("http://a/4", 1),
            ],
        );
        assert_eq!(store.release().len(), 3);
        assert!(!store.admit());
    }

    #[test]
    fn the_last_job_in_flight_says_so() {
        let store = MemoryStore::new(None);
        store.begin(2);
        assert!(!store.finish());
        assert!(!store.finish());
        assert!(store.finish(), "the feeder's share was the last");
    }
}
