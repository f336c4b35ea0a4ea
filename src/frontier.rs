//! Which URLs a crawl visits, each once, level by level, and how it knows it is done: an in-flight count, never a timeout.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crossbeam_channel::Sender;
use regex::Regex;
use url::Url;

use crate::hooks;
use crate::normalize::normalize;
use crate::private;
use crate::progress::Entries;
use crate::record::{Link, PageError};

/// The frontier's state, even after a panic while it was held: a bug one page trips (its links
/// are caught per page, see pipeline's finish) may lose that page's links, never the crawl.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A URL on its way to a crawler.
pub struct Job {
    /// The URL as the record will show it: the line the user wrote, or the link as resolved.
    pub line: String,
    pub target: Result<Url, PageError>,
    pub depth: u32,
    pub parent: Option<Arc<str>>,
    /// The host links from this page must stay on; None until the seed's final host is known.
    pub scope: Option<Arc<str>>,
    /// How many sitemaps in a row listed this URL: 0 for lines and links.
    pub sitemaps: u8,
    /// Refuse private DNS answers for it: a public page led here. A URL line the user wrote
    /// may point anywhere.
    pub guarded: bool,
}

/// A sitemap listed by this many sitemaps in a row is recorded but not expanded: an index and
/// the sitemaps it lists are the protocol's two levels, and a chain of sitemaps listing
/// sitemaps would otherwise never end, even at --depth 0.
pub const MAX_SITEMAP_NESTING: u8 = 2;

impl Job {
    pub fn seed(line: String, target: Result<Url, PageError>) -> Job {
        Job {
            line,
            target,
            depth: 0,
            parent: None,
            scope: None,
            sitemaps: 0,
            guarded: false,
        }
    }
}

/// Jobs put back to wait for their host, beyond which fresh URL lines no longer go first: a
/// host that makes every job wait must not pull a whole URL file into memory.
pub const WAITING_ROOM: usize = 256;

/// What claiming a URL for the current level found.
#[derive(Debug, PartialEq, Eq)]
enum Claim {
    New,
    /// It was a link waiting for a deeper level, which will now be dropped.
    Taken,
    Seen,
}

pub enum Msg {
    Job(Job),
    /// Sent once per crawler when nothing is left: the crawl is complete.
    Quit,
}

/// The rules for following links, as the command line gave them.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub depth: u32,
    pub all_hosts: bool,
    pub include: Vec<Regex>,
    pub exclude: Vec<Regex>,
    pub max_pages: Option<u64>,
    pub allow_private: bool,
}

/// Why links were not followed, for the summary.
#[derive(Debug, Default)]
pub struct Skipped {
    pub robots: AtomicU64,
    pub blocked: AtomicU64,
    /// Redirects not followed because robots.txt disallows where they lead.
    pub robots_redirects: AtomicU64,
}

/// Links waiting for a later level. Usually all of them are of the next level; a resumed crawl
/// may hold several levels at once, which are then released shallowest first.
#[derive(Default)]
struct Next {
    jobs: Vec<Job>,
    /// The fingerprint and depth of each job still to be fetched: a URL seen only as one of
    /// them may still be claimed at a smaller depth, its shortest. A job whose entry is gone,
    /// or names another depth, was taken so, and is dropped when released.
    waiting: HashMap<u128, u32>,
}

/// Pages are visited breadth first, one level at a time: links found at depth d wait in `next`
/// until every page of depth d is done, so each page gets its shortest depth whatever the
/// thread timing, and a run with --depth N visits the same set every time.
pub struct Frontier {
    scope: Scope,
    /// Fingerprints of the normalized URLs seen: 16 bytes each however long the URL.
    seen: Mutex<HashSet<u128>>,
    keys: (RandomState, RandomState),
    next: Mutex<Next>,
    /// Jobs sent and not yet done, plus one for the feeder while it still has lines.
    in_flight: AtomicUsize,
    admitted: AtomicU64,
    jobs: Sender<Msg>,
    /// URL lines go through their own bounded channel, so a long file is never read ahead far.
    seeds: Sender<Job>,
    crawlers: usize,
    /// Shared, so that the counts can be read while the frontier is still in use.
    pub skipped: Arc<Skipped>,
    /// Sitemap entries listed and turned away, for the progress bar's total.
    entries: Arc<Entries>,
}

impl Frontier {
    pub fn new(
        scope: Scope,
        jobs: Sender<Msg>,
        seeds: Sender<Job>,
        crawlers: usize,
        skipped: Arc<Skipped>,
        entries: Arc<Entries>,
    ) -> Frontier {
        Frontier {
            scope,
            seen: Mutex::new(HashSet::new()),
            keys: (RandomState::new(), RandomState::new()),
            next: Mutex::new(Next::default()),
            in_flight: AtomicUsize::new(1),
            admitted: AtomicU64::new(0),
            jobs,
            seeds,
            crawlers,
            skipped,
            entries,
        }
    }

    /// Queues a URL line. Every line counts, even a repeat: each gets its record.
    /// Returns false once --max-pages is reached, so the feeder can stop reading.
    pub fn seed(&self, job: Job) -> bool {
        if !self.admit() {
            return false;
        }
        if let Ok(url) = &job.target {
            if self.claim(self.print(normalize(url).as_str()), 0) == Claim::Taken {
                // The link it takes from the next level was admitted already.
                self.refund();
            }
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let _ = self.seeds.send(job);
        true
    }

    /// Whether other jobs are queued, so one whose host must wait can let them go first.
    pub fn others_waiting(&self) -> bool {
        !self.jobs.is_empty() || !self.seeds.is_empty()
    }

    /// Whether a fresh URL line is there to take before the jobs put back to wait (the rule
    /// pipeline's fresh_line follows on the receiving side).
    pub fn fresh_first(&self) -> bool {
        !self.seeds.is_empty() && self.jobs.len() < WAITING_ROOM
    }

    /// The feeder has no more lines.
    pub fn seeds_done(&self) {
        self.done();
    }

    /// A page an earlier run recorded (--resume): seen, so it is not fetched again.
    pub fn recorded(&self, url: &str) {
        if let Ok(url) = Url::parse(url) {
            self.see(self.print(normalize(&url).as_str()));
        }
    }

    /// Marks where a redirect landed as seen, so links to it are not fetched again, including
    /// one found before the redirect and waiting for the next level.
    /// `depth` is that of the page redirected.
    pub fn landed(&self, url: &Url, depth: u32) {
        self.claim(self.print(normalize(url).as_str()), depth);
    }

    /// Claims a URL, by its fingerprint, for a page at `depth`, taking it from the links
    /// waiting for a deeper level if one of them has it.
    fn claim(&self, print: u128, depth: u32) -> Claim {
        let mut next = lock(&self.next);
        self.claim_in(&mut next, print, depth)
    }

    fn claim_in(&self, next: &mut Next, print: u128, depth: u32) -> Claim {
        if self.see(print) {
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

    /// Records a URL's fingerprint; false if it was seen before.
    fn see(&self, print: u128) -> bool {
        lock(&self.seen).insert(print)
    }

    /// A normalized URL's fingerprint, computed once per URL found. Two independent 64-bit
    /// hashes make a collision (a page wrongly skipped) about as likely as 1 in 2^100 for a
    /// million URLs.
    fn print(&self, key: &str) -> u128 {
        let (a, b) = &self.keys;
        u128::from(a.hash_one(key)) << 64 | u128::from(b.hash_one(key))
    }

    /// Links found on `page` (at `depth`, staying on `scope`) that pass every rule wait for the
    /// next level. `from_public`: the page came from a public address, so its links must not
    /// lead to private ones.
    pub fn discovered(
        &self,
        page: &Url,
        from_public: bool,
        depth: u32,
        scope: &Arc<str>,
        links: &[Link],
    ) {
        if depth >= self.scope.depth {
            return;
        }
        let parent: Arc<str> = page.as_str().into();
        let guarded = from_public && !self.scope.allow_private;
        // Held throughout, so that a URL seen here is in `waiting` before claim can look.
        let mut next = lock(&self.next);
        for link in links {
            hooks::panic_on("links", link.href.as_bytes());
            let Ok(url) = Url::parse(&link.href) else {
                continue;
            };
            if !self.in_scope(&url, scope) {
                continue;
            }
            if guarded && private::is_private(&url) {
                self.skipped.blocked.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let key = String::from(normalize(&url));
            let print = self.print(&key);
            // A taken link was admitted already, as a link to this URL.
            let admitted = match self.claim_in(&mut next, print, depth + 1) {
                Claim::Seen => continue,
                Claim::Taken => true,
                Claim::New => self.admit(),
            };
            if admitted {
                next.waiting.insert(print, depth + 1);
                next.jobs
                    .push(self.job(key, url, depth + 1, &parent, scope, guarded));
            }
        }
    }

    /// URLs a sitemap lists join the sitemap's own level, so they are sent at once. `nesting`
    /// is how many sitemaps in a row listed this one; `from_public` as for `discovered`.
    pub fn listed(
        &self,
        sitemap: &Url,
        from_public: bool,
        depth: u32,
        nesting: u8,
        scope: &Arc<str>,
        locs: &[Link],
    ) {
        if nesting >= MAX_SITEMAP_NESTING {
            return;
        }
        let parent: Arc<str> = sitemap.as_str().into();
        let guarded = from_public && !self.scope.allow_private;
        for loc in locs {
            let Ok(url) = Url::parse(&loc.href) else {
                continue;
            };
            if !self.in_scope(&url, scope) {
                continue;
            }
            if guarded && private::is_private(&url) {
                self.skipped.blocked.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let key = String::from(normalize(&url));
            // A link waiting for the next level is deeper than this entry: the entry takes it,
            // with the admission it already had.
            let admitted = match self.claim(self.print(&key), depth) {
                Claim::Seen => continue,
                Claim::Taken => true,
                Claim::New => false,
            };
            // Counted before --max-pages has its say: the bar's total applies the cap to the
            // lines and the entries together.
            self.entries.listed.fetch_add(1, Ordering::Relaxed);
            if admitted || self.admit() {
                let mut job = self.job(key, url, depth, &parent, scope, guarded);
                job.sitemaps = nesting + 1;
                self.send(job);
            }
        }
    }

    /// A link or sitemap entry robots.txt disallows gets no record: the summary counts it, and
    /// an entry no longer counts towards the progress bar's total.
    pub fn disallowed(&self, job: &Job) {
        self.skipped.robots.fetch_add(1, Ordering::Relaxed);
        if job.sitemaps > 0 {
            self.entries.disallowed.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn job(
        &self,
        key: String,
        url: Url,
        depth: u32,
        parent: &Arc<str>,
        scope: &Arc<str>,
        guarded: bool,
    ) -> Job {
        Job {
            line: key,
            target: Ok(url),
            depth,
            parent: Some(parent.clone()),
            scope: Some(scope.clone()),
            sitemaps: 0,
            guarded,
        }
    }

    /// Puts a job back at the end of the queue, e.g. while its host must wait.
    pub fn requeue(&self, job: Job) {
        let _ = self.jobs.send(Msg::Job(job));
    }

    /// One job is finished (its record written, or it was skipped). The last one of a level
    /// releases the next level; when there is none, the crawl is over.
    pub fn done(&self) {
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        let next = {
            let mut guard = lock(&self.next);
            let Next { jobs, waiting } = &mut *guard;
            // A link's line is its normalized URL, the key it was seen by.
            let live: Vec<(u128, Job)> = jobs
                .drain(..)
                .map(|job| (self.print(&job.line), job))
                .filter(|(print, job)| waiting.get(print) == Some(&job.depth))
                .collect();
            let level = live.iter().map(|(_, job)| job.depth).min();
            let mut now = Vec::new();
            for (print, job) in live {
                if Some(job.depth) == level {
                    waiting.remove(&print);
                    now.push(job);
                } else {
                    jobs.push(job);
                }
            }
            now
        };
        if next.is_empty() {
            for _ in 0..self.crawlers {
                let _ = self.jobs.send(Msg::Quit);
            }
        } else {
            // Counted before any is sent, so a fast crawler cannot take the count to zero early.
            self.in_flight.fetch_add(next.len(), Ordering::SeqCst);
            for job in next {
                let _ = self.jobs.send(Msg::Job(job));
            }
        }
    }

    fn send(&self, job: Job) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let _ = self.jobs.send(Msg::Job(job));
    }

    /// Gives back an admission whose page turned out to be one already admitted.
    fn refund(&self) {
        if self.scope.max_pages.is_some() {
            self.admitted.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn admit(&self) -> bool {
        match self.scope.max_pages {
            Some(max) => self.admitted.fetch_add(1, Ordering::SeqCst) < max,
            None => true,
        }
    }

    fn in_scope(&self, url: &Url, scope: &str) -> bool {
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        if !self.scope.all_hosts && url.host_str() != Some(scope) {
            return false;
        }
        let text = url.as_str();
        if !self.scope.include.is_empty() && !self.scope.include.iter().any(|r| r.is_match(text)) {
            return false;
        }
        !self.scope.exclude.iter().any(|r| r.is_match(text))
    }
}
