//! Where a crawl's state lives, behind one seam: the seen set, the links claimed for each open
//! level, the count of jobs in flight per level and the --max-pages budget. The frontier decides
//! what to ask; a store answers each question atomically, here in memory, elsewhere in a shared
//! one.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::job::{Job, Print};
use crate::crawl::lock;
use seen::Seen;

mod seen;

/// What claiming a URL for a level found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    New,
    /// It was a link claimed for a deeper level, which is now gone: its admission passes to the
    /// claimer, and its job, fetched or not, makes no record.
    Taken,
    Seen,
}

/// Whether a job still stands for its URL at its depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Still the URL's shortest claim; `unguarded` once some page of its level found it on a
    /// private address, so that the guard no longer applies to it.
    Live { unguarded: bool },
    /// A shallower claim took the URL: the job is dropped without a record.
    Gone,
    /// A page of the level above was redirected to the URL and will claim it when it finishes:
    /// the job waits rather than fetch a page that will make no record.
    Awaited,
}

/// What finishing a job changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// Every level above this one is now complete, so pages of this depth may finish.
    pub opened: Option<u32>,
    /// Nothing is in flight or to come: the crawl is complete.
    pub over: bool,
}

/// The questions a frontier asks of its state. Every method is one atomic step.
pub trait Store: Send + Sync {
    /// Marks a URL as seen without claiming it for a level (a page an earlier run recorded).
    fn see(&self, print: Print);
    /// Claims a URL for a page at `depth` (a URL line or a sitemap entry): taking it from a link
    /// claimed for a deeper level if one has it, or from where a redirect of its own level
    /// landed.
    fn claim(&self, print: Print, depth: u32) -> Claim;
    /// A page at `depth` was redirected to `print`: the URL is seen, and a link to it claimed for
    /// a deeper level is taken. A sitemap entry of the same level may still claim it, so that
    /// which of the two pages finished first does not decide whether the entry has a record.
    fn land(&self, print: Print, depth: u32);
    /// Links found for level `depth`: each one claimed, those new or taken (a new one only while
    /// the budget lasts) counted in flight and returned to be sent; links of level 1 found while
    /// URL lines are still being read are held until they are all read, since a later line is
    /// the same URL at depth 0. A link claimed already for that level and found again
    /// unguarded (on a page from a private address) stands unguarded: which page of a level is
    /// parsed first must not decide it.
    fn found(&self, depth: u32, links: Vec<(Print, Job)>) -> Vec<Job>;
    /// Sitemap entries listed for level `depth`: each claimed, and those new there or taken
    /// (a new one only while the budget lasts) counted in flight and returned to be sent, with
    /// how many were claimed, budget aside.
    fn list(&self, depth: u32, entries: Vec<(Print, Job)>) -> (Vec<Job>, usize) {
        let mut send = Vec::new();
        let mut listed = 0;
        for (print, job) in entries {
            // A link waiting for the next level is deeper than this entry: the entry takes it,
            // with the admission it already had.
            let admitted = match self.claim(print, depth) {
                Claim::Seen => continue,
                Claim::Taken => true,
                Claim::New => false,
            };
            listed += 1;
            if admitted || self.admit() {
                self.begin(depth, 1);
                send.push(job);
            }
        }
        (send, listed)
    }

    /// Whether the job for `print` at `depth` still stands.
    fn standing(&self, print: Print, depth: u32) -> Standing;
    /// A page at `depth` that will finish was redirected to `print`: a link to it claimed for a
    /// deeper level is Awaited until the page finishes and claims it, or its level completes.
    fn expect(&self, print: Print, depth: u32);
    /// Whether a page at `depth` may finish now: every shallower level is complete. If not,
    /// `park` runs before any level can complete, so that whatever it keeps is let go by the
    /// Step that opens `depth`.
    fn may_finish(&self, depth: u32, park: &mut dyn FnMut()) -> bool;
    /// `n` jobs of level `depth` are on their way.
    fn begin(&self, depth: u32, n: usize);
    /// One job of level `depth` is finished.
    fn finish(&self, depth: u32) -> Step;
    /// Every URL line is read: the held links of level 1, to be sent, and what that changed.
    fn fed(&self) -> (Vec<Job>, Step);
    /// Takes one page from the --max-pages budget; false once it is spent.
    fn admit(&self) -> bool;
    /// Gives back an admission whose page turned out to be one admitted already.
    fn refund(&self);
}

/// The store of a crawl that runs in this process.
pub struct MemoryStore {
    max_pages: Option<u64>,
    levels: Mutex<Levels>,
    admitted: AtomicU64,
}

/// The URLs seen, the levels still open, and the links claimed for them: one lock, since a claim
/// asks both.
struct Levels {
    seen: Seen,
    /// URL lines are still being read: level 0 is not complete, and may still take links.
    feeding: bool,
    /// Jobs sent and not yet done, by depth; no entry for a depth with none.
    in_flight: BTreeMap<u32, usize>,
    /// Every level up to this one is complete.
    complete: Option<u32>,
    /// Links of level 1 found while feeding.
    held: Vec<(Print, Job)>,
    /// The links claimed for each level not yet complete. A link's claim can be taken by a
    /// shallower one until the level above it is complete, so its job is checked against it
    /// before it is fetched and before it finishes.
    links: BTreeMap<u32, HashMap<Print, Link>>,
    /// Where redirects of each level not yet complete landed, first claimed so, and whether
    /// that took the admission of a deeper link.
    landed: BTreeMap<u32, HashMap<Print, bool>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Link {
    taken: bool,
    unguarded: bool,
    /// A redirect of the level above landed here; its page will take this link.
    awaited: bool,
}

impl MemoryStore {
    /// URL lines are being read from the start, until `fed`.
    pub fn new(max_pages: Option<u64>) -> MemoryStore {
        MemoryStore {
            max_pages,
            levels: Mutex::new(Levels {
                seen: Seen::default(),
                feeding: true,
                in_flight: BTreeMap::new(),
                complete: None,
                held: Vec::new(),
                links: BTreeMap::new(),
                landed: BTreeMap::new(),
            }),
            admitted: AtomicU64::new(0),
        }
    }

    fn claim_in(&self, levels: &mut Levels, print: Print, depth: u32) -> Claim {
        if levels.seen.insert(print) {
            return Claim::New;
        }
        if let Some(admitted) = levels.landed.get_mut(&depth).and_then(|l| l.remove(&print)) {
            return if admitted { Claim::Taken } else { Claim::New };
        }
        match levels.deeper_link(print, depth) {
            Some(link) => {
                link.taken = true;
                Claim::Taken
            }
            None => Claim::Seen,
        }
    }
}

impl Levels {
    fn begin(&mut self, depth: u32, n: usize) {
        if n > 0 {
            *self.in_flight.entry(depth).or_default() += n;
        }
    }

    /// Completes every level that can be, and says which depth that opened.
    fn step(&mut self) -> Step {
        let before = self.complete;
        loop {
            let next = self.complete.map_or(0, |c| c + 1);
            let blocked = (next == 0 && self.feeding) || self.in_flight.contains_key(&next);
            // With nothing at or below it in flight, no job of that level can still come.
            if blocked || self.in_flight.range(next..).next().is_none() {
                break;
            }
            self.complete = Some(next);
            // No claim can take a link of a complete level any more, and its jobs are done.
            self.links = self.links.split_off(&(next + 1));
            self.landed = self.landed.split_off(&(next + 1));
            // Every page of that level has finished: a landing it expected has happened.
            for link in self
                .links
                .get_mut(&(next + 1))
                .into_iter()
                .flat_map(|l| l.values_mut())
            {
                link.awaited = false;
            }
        }
        Step {
            opened: (self.complete != before).then(|| self.complete.map_or(0, |c| c + 1)),
            over: !self.feeding && self.in_flight.is_empty() && self.held.is_empty(),
        }
    }

    fn link(&mut self, print: Print, depth: u32) -> Option<&mut Link> {
        self.links.get_mut(&depth)?.get_mut(&print)
    }

    /// The link to `print` claimed for a level deeper than `depth` and not taken: a claim at
    /// `depth` is shorter. A URL has one such link at most.
    fn deeper_link(&mut self, print: Print, depth: u32) -> Option<&mut Link> {
        self.links
            .range_mut(depth + 1..)
            .find_map(|(_, links)| links.get_mut(&print).filter(|link| !link.taken))
    }
}

impl Store for MemoryStore {
    fn see(&self, print: Print) {
        lock(&self.levels).seen.insert(print);
    }

    fn claim(&self, print: Print, depth: u32) -> Claim {
        self.claim_in(&mut lock(&self.levels), print, depth)
    }

    fn land(&self, print: Print, depth: u32) {
        let mut levels = lock(&self.levels);
        // Claimed at this depth or above already (a line, a link, an entry): nothing to add.
        let first = match self.claim_in(&mut levels, print, depth) {
            Claim::New => Some(false),
            Claim::Taken => Some(true),
            Claim::Seen => None,
        };
        if let Some(admitted) = first {
            levels
                .landed
                .entry(depth)
                .or_default()
                .insert(print, admitted);
        }
    }

    fn found(&self, depth: u32, links: Vec<(Print, Job)>) -> Vec<Job> {
        // Held throughout, so that a link claimed here is in its level before a claim can look.
        let mut levels = lock(&self.levels);
        let mut send = Vec::new();
        for (print, job) in links {
            // A taken link was admitted already, as a link to this URL.
            let admitted = match self.claim_in(&mut levels, print, depth) {
                Claim::Seen => {
                    if let Some(link) = levels.link(print, depth).filter(|l| !l.taken) {
                        link.unguarded |= !job.guarded;
                    }
                    continue;
                }
                Claim::Taken => true,
                Claim::New => self.admit(),
            };
            if !admitted {
                continue;
            }
            let link = Link {
                unguarded: !job.guarded,
                ..Link::default()
            };
            levels.links.entry(depth).or_default().insert(print, link);
            if depth == 1 && levels.feeding {
                levels.held.push((print, job));
            } else {
                send.push(job);
            }
        }
        levels.begin(depth, send.len());
        send
    }

    fn standing(&self, print: Print, depth: u32) -> Standing {
        match lock(&self.levels).link(print, depth) {
            Some(link) if link.taken => Standing::Gone,
            Some(link) if link.awaited => Standing::Awaited,
            link => Standing::Live {
                unguarded: link.is_some_and(|l| l.unguarded),
            },
        }
    }

    fn expect(&self, print: Print, depth: u32) {
        if let Some(link) = lock(&self.levels).deeper_link(print, depth) {
            link.awaited = true;
        }
    }

    fn may_finish(&self, depth: u32, park: &mut dyn FnMut()) -> bool {
        // URL lines and their sitemaps' entries never wait: no lock for a list crawl's pages.
        if depth == 0 {
            return true;
        }
        let levels = lock(&self.levels);
        let open = levels.complete.is_some_and(|c| c + 1 >= depth);
        if !open {
            park();
        }
        open
    }

    fn begin(&self, depth: u32, n: usize) {
        lock(&self.levels).begin(depth, n);
    }

    fn finish(&self, depth: u32) -> Step {
        let mut levels = lock(&self.levels);
        if let Some(n) = levels.in_flight.get_mut(&depth) {
            *n -= 1;
            if *n == 0 {
                levels.in_flight.remove(&depth);
            }
        }
        levels.step()
    }

    fn fed(&self) -> (Vec<Job>, Step) {
        let mut levels = lock(&self.levels);
        levels.feeding = false;
        let held = std::mem::take(&mut levels.held);
        let live: Vec<Job> = held
            .into_iter()
            .filter(|(print, _)| !levels.link(*print, 1).is_some_and(|l| l.taken))
            .map(|(_, job)| job)
            .collect();
        levels.begin(1, live.len());
        (live, levels.step())
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
        job.guarded = true;
        (Print::of(url), job)
    }

    fn urls(jobs: &[Job]) -> Vec<&str> {
        jobs.iter().map(|j| j.line.as_str()).collect()
    }

    /// A store whose URL lines are read and whose level 0 is done.
    fn fed() -> MemoryStore {
        let store = MemoryStore::new(None);
        store.begin(0, 1);
        assert_eq!(store.fed().1, Step::default());
        store
    }

    #[test]
    fn a_level_completes_when_its_last_job_is_done_and_the_level_above_is_complete() {
        let store = fed();
        let sent = store.found(1, vec![job("http://a/1", 1), job("http://a/2", 1)]);
        assert_eq!(urls(&sent), ["http://a/1", "http://a/2"]);
        let step = store.finish(0);
        assert_eq!(step.opened, Some(1));
        assert!(!store.may_finish(2, &mut || {}));
        store.found(2, vec![job("http://a/1/x", 2)]);
        assert_eq!(store.finish(1), Step::default());
        store.found(2, vec![job("http://a/2/x", 2)]);
        // A job of level 2 is done before level 1 is: nothing opens until level 1 is done.
        assert_eq!(store.finish(2), Step::default());
        assert_eq!(store.finish(1).opened, Some(2));
        let last = store.finish(2);
        assert_eq!((last.opened, last.over), (None, true));
    }

    #[test]
    fn a_url_is_claimed_at_its_shortest_depth_once() {
        let store = fed();
        store.found(2, vec![job("http://a/x", 2)]);
        // Found again at depth 1: it takes the link of depth 2, whose job is gone.
        assert_eq!(store.claim(Print::of("http://a/x"), 1), Claim::Taken);
        assert_eq!(store.standing(Print::of("http://a/x"), 2), Standing::Gone);
        assert_eq!(store.claim(Print::of("http://a/x"), 1), Claim::Seen);
        store.see(Print::of("http://a/old"));
        assert!(
            store.found(1, vec![job("http://a/old", 1)]).is_empty(),
            "recorded before"
        );
    }

    #[test]
    fn a_sitemap_entry_claims_where_a_redirect_of_its_own_level_landed_in_either_order() {
        let store = fed();
        let x = Print::of("http://a/x");
        store.found(2, vec![job("http://a/x", 2)]);
        store.land(x, 1);
        assert_eq!(
            store.standing(x, 2),
            Standing::Gone,
            "the link of level 2 is taken"
        );
        assert_eq!(store.claim(x, 1), Claim::Taken, "with the link's admission");
        assert_eq!(store.claim(x, 1), Claim::Seen, "once");
        // The other order: the entry first, then the landing, which changes nothing.
        let y = Print::of("http://a/y");
        assert_eq!(store.claim(y, 1), Claim::New);
        store.land(y, 1);
        assert_eq!(store.claim(y, 1), Claim::Seen);
        // A landing of level 1 does not let an entry of level 2 in.
        let z = Print::of("http://a/z");
        store.land(z, 1);
        assert_eq!(store.claim(z, 2), Claim::Seen);
    }

    #[test]
    fn a_link_found_unguarded_anywhere_in_its_level_stands_unguarded() {
        let store = fed();
        let (print, guarded) = job("http://x/", 1);
        let (_, mut unguarded) = job("http://x/", 1);
        unguarded.guarded = false;
        assert_eq!(store.found(1, vec![(print, guarded)]).len(), 1);
        assert!(store.found(1, vec![(print, unguarded)]).is_empty());
        assert_eq!(store.standing(print, 1), Standing::Live { unguarded: true });
    }

    #[test]
    fn links_of_level_1_are_held_while_lines_are_read_and_a_line_takes_one() {
        let store = MemoryStore::new(None);
        store.begin(0, 1);
        assert!(store
            .found(1, vec![job("http://a/1", 1), job("http://a/2", 1)])
            .is_empty());
        assert_eq!(store.claim(Print::of("http://a/2"), 0), Claim::Taken);
        assert_eq!(store.finish(0), Step::default(), "still reading lines");
        let (held, step) = store.fed();
        assert_eq!(urls(&held), ["http://a/1"]);
        assert_eq!(step.opened, Some(1));
    }

    #[test]
    fn the_budget_admits_new_links_only_and_takes_refunds() {
        let store = MemoryStore::new(Some(3));
        assert!(store.admit(), "a URL line");
        store.refund();
        store.fed();
        let links = ["http://a/1", "http://a/2", "http://a/3", "http://a/4"];
        let sent = store.found(1, links.iter().map(|u| job(u, 1)).collect());
        assert_eq!(sent.len(), 3);
        assert!(!store.admit());
    }

    #[test]
    fn the_crawl_is_over_when_nothing_is_in_flight_and_no_line_is_left() {
        let store = MemoryStore::new(None);
        store.begin(0, 2);
        assert!(!store.finish(0).over);
        assert!(!store.finish(0).over, "lines are still read");
        assert!(store.fed().1.over);
    }
}
