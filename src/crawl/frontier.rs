//! Which URLs a crawl visits, each once, level by level, and how it knows it is done: an
//! in-flight count, never a timeout. The rules live here; the state behind them lives in a
//! `Store`, and the jobs travel on channels.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;
use regex::Regex;
use url::Url;

use crate::fetch::private;
use crate::hooks;
use crate::observe::tally::Entries;
use crate::output::record::Link;
use crate::urls::normalize::normalize;
pub use job::{Job, Print, Ticket};
pub use store::{Claim, MemoryStore, Store};

mod job;
mod store;

/// A sitemap listed by this many sitemaps in a row is recorded but not expanded: an index and
/// the sitemaps it lists are the protocol's two levels, and a chain of sitemaps listing
/// sitemaps would otherwise never end, even at --depth 0.
pub const MAX_SITEMAP_NESTING: u8 = 2;

/// Jobs put back to wait for their host, beyond which fresh URL lines no longer go first: a
/// host that makes every job wait must not pull a whole URL file into memory.
pub const WAITING_ROOM: usize = 256;

pub enum Msg {
    Job(Job),
    /// Sent once per taker when nothing is left: the crawl is complete.
    Quit,
}

/// Where jobs go: found links and jobs put back on the unbounded `jobs` channel, URL lines on
/// the bounded `seeds` one, so a long file is never read ahead far. `takers` threads take
/// them, each of which needs its own Quit.
pub struct Transport {
    pub jobs: Sender<Msg>,
    pub seeds: Sender<Job>,
    pub takers: usize,
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

/// Pages are visited breadth first, one level at a time: links found at depth d wait in the
/// store until every page of depth d is done, so each page gets its shortest depth whatever the
/// thread timing, and a run with --depth N visits the same set every time.
pub struct Frontier {
    inner: Arc<Inner>,
}

/// What the frontier and the tickets of its jobs share.
pub struct Inner {
    scope: Scope,
    store: Box<dyn Store>,
    transport: Transport,
    /// Shared, so that the counts can be read while the frontier is still in use.
    skipped: Arc<Skipped>,
    /// Sitemap entries listed and turned away, for the progress bar's total.
    entries: Arc<Entries>,
}

impl Frontier {
    pub fn new(
        scope: Scope,
        store: Box<dyn Store>,
        transport: Transport,
        skipped: Arc<Skipped>,
        entries: Arc<Entries>,
    ) -> Frontier {
        Frontier {
            inner: Arc::new(Inner {
                scope,
                store,
                transport,
                skipped,
                entries,
            }),
        }
    }

    /// The feeder's share of the in-flight count, which every store starts with: dropped when
    /// it has no more lines.
    pub fn feeder(&self) -> Ticket {
        Ticket::attached(&self.inner)
    }

    /// Queues a URL line. Every line counts, even a repeat: each gets its record.
    /// Returns false once --max-pages is reached, so the feeder can stop reading.
    pub fn seed(&self, mut job: Job) -> bool {
        let Inner {
            store, transport, ..
        } = &*self.inner;
        if !store.admit() {
            return false;
        }
        if let Ok(url) = &job.target {
            if store.claim(print(url), 0) == Claim::Taken {
                // The link it takes from the next level was admitted already.
                store.refund();
            }
        }
        store.begin(1);
        job.ticket = Ticket::attached(&self.inner);
        let _ = transport.seeds.send(job);
        true
    }

    /// Whether other jobs are queued, so one whose host must wait can let them go first.
    pub fn others_waiting(&self) -> bool {
        let transport = &self.inner.transport;
        !transport.jobs.is_empty() || !transport.seeds.is_empty()
    }

    /// Whether a fresh URL line is there to take before the jobs put back to wait (the rule
    /// pipeline's fresh_line follows on the receiving side).
    pub fn fresh_first(&self) -> bool {
        let transport = &self.inner.transport;
        !transport.seeds.is_empty() && transport.jobs.len() < WAITING_ROOM
    }

    /// A page an earlier run recorded (--resume): seen, so it is not fetched again.
    pub fn recorded(&self, url: &str) {
        if let Ok(url) = Url::parse(url) {
            self.inner.store.see(print(&url));
        }
    }

    /// Marks where a redirect landed as seen, so links to it are not fetched again, including
    /// one found before the redirect and waiting for the next level.
    /// `depth` is that of the page redirected.
    pub fn landed(&self, url: &Url, depth: u32) {
        self.inner.store.claim(print(url), depth);
    }

    /// Links found on `page` (at `depth`, staying on `scope`) that pass every rule wait for the
    /// next level. `from_public`: the page came from a public address, so its links must not
    /// lead to private ones. The links are judged before the store is asked, so that no lock
    /// is held while URLs are parsed, normalized and matched.
    pub fn discovered(
        &self,
        page: &Url,
        from_public: bool,
        depth: u32,
        scope: &Arc<str>,
        links: &[Link],
    ) {
        if depth >= self.inner.scope.depth {
            return;
        }
        let parent: Arc<str> = page.as_str().into();
        let guarded = from_public && !self.inner.scope.allow_private;
        let found = links
            .iter()
            .filter_map(|link| {
                hooks::panic_on("links", link.href.as_bytes());
                let (key, url) = self.inner.follows(&link.href, scope, guarded)?;
                let print = Print::of(&key);
                Some((print, job(key, url, depth + 1, &parent, scope, guarded)))
            })
            .collect();
        self.inner.store.wait(depth + 1, found);
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
        let Inner {
            scope: rules,
            store,
            entries,
            ..
        } = &*self.inner;
        let guarded = from_public && !rules.allow_private;
        for loc in locs {
            let Some((key, url)) = self.inner.follows(&loc.href, scope, guarded) else {
                continue;
            };
            // A link waiting for the next level is deeper than this entry: the entry takes it,
            // with the admission it already had.
            let admitted = match store.claim(Print::of(&key), depth) {
                Claim::Seen => continue,
                Claim::Taken => true,
                Claim::New => false,
            };
            // Counted before --max-pages has its say: the bar's total applies the cap to the
            // lines and the entries together.
            entries.listed.fetch_add(1, Ordering::Relaxed);
            if admitted || store.admit() {
                let mut job = job(key, url, depth, &parent, scope, guarded);
                job.sitemaps = nesting + 1;
                self.inner.send(vec![job]);
            }
        }
    }

    /// A link or sitemap entry robots.txt disallows gets no record: the summary counts it, and
    /// an entry no longer counts towards the progress bar's total.
    pub fn disallowed(&self, job: &Job) {
        self.inner.skipped.robots.fetch_add(1, Ordering::Relaxed);
        if job.sitemaps > 0 {
            self.inner
                .entries
                .disallowed
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Puts a job back at the end of the queue, e.g. while its host must wait; its ticket goes
    /// with it.
    pub fn requeue(&self, job: Job) {
        let _ = self.inner.transport.jobs.send(Msg::Job(job));
    }
}

impl Inner {
    /// One job is finished. The last one of a level releases the next level; when there is
    /// none, the crawl is over.
    fn done(self: &Arc<Self>) {
        if !self.store.finish() {
            return;
        }
        let next = self.store.release();
        if next.is_empty() {
            for _ in 0..self.transport.takers {
                let _ = self.transport.jobs.send(Msg::Quit);
            }
        } else {
            self.send(next);
        }
    }

    fn send(self: &Arc<Self>, jobs: Vec<Job>) {
        // Counted before any is sent, so a fast crawler cannot take the count to zero early.
        self.store.begin(jobs.len());
        for mut job in jobs {
            job.ticket = Ticket::attached(self);
            let _ = self.transport.jobs.send(Msg::Job(job));
        }
    }

    /// A link's URL and normalized form, if it may be followed from a page on `scope`;
    /// `guarded` turns away private addresses, counting them.
    fn follows(&self, href: &str, scope: &str, guarded: bool) -> Option<(String, Url)> {
        let url = Url::parse(href).ok()?;
        if !self.scope.admits(&url, scope) {
            return None;
        }
        if guarded && private::is_private(&url) {
            self.skipped.blocked.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some((String::from(normalize(&url)), url))
    }
}

impl Scope {
    /// Whether a link to `url` from a page on the host `scope` is to be followed.
    fn admits(&self, url: &Url, scope: &str) -> bool {
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        if !self.all_hosts && url.host_str() != Some(scope) {
            return false;
        }
        let text = url.as_str();
        if !self.include.is_empty() && !self.include.iter().any(|r| r.is_match(text)) {
            return false;
        }
        !self.exclude.iter().any(|r| r.is_match(text))
    }
}

/// A URL's fingerprint, by its normalized form.
fn print(url: &Url) -> Print {
    Print::of(normalize(url).as_str())
}

fn job(
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
        ticket: Ticket::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::{bounded, unbounded, Receiver};

    /// A frontier with one taker, and the ends its jobs come out of.
    fn frontier(scope: Scope) -> (Frontier, Receiver<Msg>, Receiver<Job>) {
        let (jobs, links) = unbounded();
        let (seeds, lines) = bounded(16);
        let store = Box::new(MemoryStore::new(scope.max_pages));
        let transport = Transport {
            jobs,
            seeds,
            takers: 1,
        };
        let frontier = Frontier::new(scope, store, transport, Arc::default(), Arc::default());
        (frontier, links, lines)
    }

    fn found(hrefs: &[&str]) -> Vec<Link> {
        hrefs
            .iter()
            .map(|href| Link {
                href: href.to_string(),
                text: String::new(),
            })
            .collect()
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn seed(frontier: &Frontier, line: &str) -> bool {
        frontier.seed(Job::seed(line.into(), Ok(url(line))))
    }

    /// The URLs of the jobs sent so far, or "quit".
    fn sent(links: &Receiver<Msg>) -> Vec<String> {
        links
            .try_iter()
            .map(|msg| match msg {
                Msg::Job(job) => job.line,
                Msg::Quit => "quit".into(),
            })
            .collect()
    }

    #[test]
    fn a_level_is_released_when_its_last_job_is_done_and_the_crawl_ends_with_quit() {
        let scope = Scope {
            depth: 2,
            ..Scope::default()
        };
        let (frontier, links, lines) = frontier(scope);
        let feeding = frontier.feeder();
        assert!(seed(&frontier, "http://a.test/"));
        drop(feeding);
        let home = lines.try_recv().unwrap();
        let scope: Arc<str> = "a.test".into();
        frontier.discovered(
            &url("http://a.test/"),
            true,
            0,
            &scope,
            &found(&[
                "http://a.test/1",
                "http://a.test/2#x",
                "http://b.test/",
                "mailto:x@y",
                "http://a.test/1",
            ]),
        );
        assert!(
            sent(&links).is_empty(),
            "level 1 waits for level 0 to be done"
        );
        drop(home);
        // Taking level 1's jobs and dropping them finishes it, and with it the crawl.
        assert_eq!(sent(&links), ["http://a.test/1", "http://a.test/2", "quit"]);
    }

    #[test]
    fn tickets_finish_jobs_however_they_end() {
        let (frontier, links, lines) = frontier(Scope {
            depth: 1,
            ..Scope::default()
        });
        let feeding = frontier.feeder();
        seed(&frontier, "http://a.test/");
        seed(&frontier, "http://a.test/b");
        drop(feeding);
        let (a, b) = (lines.try_recv().unwrap(), lines.try_recv().unwrap());
        // A job put back keeps its ticket: the crawl is not over while it waits.
        frontier.requeue(a);
        drop(b);
        assert_eq!(links.len(), 1, "the job put back, and no quit");
        assert_eq!(sent(&links), ["http://a.test/", "quit"]);
    }

    #[test]
    fn links_to_private_addresses_from_public_pages_are_counted_not_followed() {
        let (frontier, links, lines) = frontier(Scope {
            depth: 1,
            all_hosts: true,
            ..Scope::default()
        });
        let feeding = frontier.feeder();
        seed(&frontier, "http://a.test/");
        drop(feeding);
        let page = lines.try_recv().unwrap();
        let hrefs = found(&["http://127.0.0.1/", "http://[::1]/x", "http://b.test/"]);
        frontier.discovered(&url("http://a.test/"), true, 0, &"a.test".into(), &hrefs);
        drop(page);
        assert_eq!(sent(&links), ["http://b.test/", "quit"]);
        assert_eq!(frontier.inner.skipped.blocked.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn the_budget_stops_the_feeder_and_counts_links_too() {
        let (frontier, links, lines) = frontier(Scope {
            depth: 1,
            max_pages: Some(2),
            ..Scope::default()
        });
        let feeding = frontier.feeder();
        assert!(seed(&frontier, "http://a.test/"));
        frontier.discovered(
            &url("http://a.test/"),
            false,
            0,
            &"a.test".into(),
            &found(&["http://a.test/1", "http://a.test/2"]),
        );
        assert!(!seed(&frontier, "http://a.test/3"), "the budget is spent");
        drop(feeding);
        drop(lines.try_recv().unwrap());
        assert_eq!(sent(&links), ["http://a.test/1", "quit"]);
    }
}
