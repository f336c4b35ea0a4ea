//! Which URLs a crawl visits, each once and at its shortest depth, with the levels pipelined, and
//! how it knows it is done: in-flight counts, never a timeout. The rules live here; the state
//! behind them lives in a `Store`, and the jobs travel on channels.

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
pub use store::{Claim, MemoryStore, Standing, Step, Store};

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

/// Whose links a page's are: the host they must stay on, and the host of the URL line they
/// descend from, where -H's headers go (None: not known, so they go nowhere).
#[derive(Clone, Copy)]
pub struct Lineage<'a> {
    pub scope: &'a Arc<str>,
    pub seed: Option<&'a Arc<str>>,
}

impl<'a> Lineage<'a> {
    /// Links of a line that stayed on its host, or of a page below one.
    pub fn on(scope: &'a Arc<str>) -> Lineage<'a> {
        Lineage {
            scope,
            seed: Some(scope),
        }
    }
}

/// Why links were not followed, for the summary.
#[derive(Debug, Default)]
pub struct Skipped {
    pub robots: AtomicU64,
    pub blocked: AtomicU64,
    /// Redirects not followed because robots.txt disallows where they lead.
    pub robots_redirects: AtomicU64,
}

/// Pages are fetched as soon as they are found, but finish level by level: a page of depth d
/// (its record written, its links followed) waits until every page above it has finished. So
/// the links of depth d+1 that a page of depth d finds can be fetched while other pages of depth
/// d are still in flight, yet every URL is claimed at its shortest depth, in the same order as if
/// each level had waited for the last: a run with --depth N visits the same set, with the same
/// records, every time. A link fetched ahead whose URL a page of the level above then claims
/// after all (a sitemap entry, or where a redirect landed) makes no record.
#[derive(Clone)]
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
    /// Called when pages of a depth may finish: those kept waiting for it can go on.
    opened: Opened,
}

/// What lets go of the pages kept waiting for their level, up to the depth it is given.
pub type Opened = Box<dyn Fn(u32) + Send + Sync>;

impl Frontier {
    pub fn new(
        scope: Scope,
        store: Box<dyn Store>,
        transport: Transport,
        skipped: Arc<Skipped>,
        entries: Arc<Entries>,
        opened: Opened,
    ) -> Frontier {
        Frontier {
            inner: Arc::new(Inner {
                scope,
                store,
                transport,
                skipped,
                entries,
                opened,
            }),
        }
    }

    /// The feeder's share: level 0 is not complete while URL lines are still read. Dropped
    /// when it has no more lines, or will read no more.
    pub fn feeder(&self) -> Ticket {
        Ticket::feeder(&self.inner)
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
        // Without links to follow, nothing asks whether a URL line was seen, but a sitemap's
        // entries: a million lines cost no memory per line.
        if let Some(url) = job
            .target
            .as_ref()
            .ok()
            .filter(|_| self.inner.scope.depth > 0)
        {
            if store.claim(Print::url(url), 0) == Claim::Taken {
                // The link it takes from the next level was admitted already.
                store.refund();
            }
        }
        store.begin(0, 1);
        job.ticket = Ticket::attached(&self.inner, 0);
        let _ = transport.seeds.send(job);
        true
    }

    /// Jobs queued for the takers: found links, and jobs put back or handed over.
    pub fn backlog(&self) -> usize {
        self.inner.transport.jobs.len()
    }

    /// Tells every taker the crawl is over, whatever the counts say: a shared crawl's counts
    /// live elsewhere.
    pub fn close(&self) {
        self.inner.quit();
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
            self.inner.store.see(Print::url(&url));
        }
    }

    /// Marks where a redirect landed as seen, so links to it are not fetched again, including
    /// one claimed for the next level, whose job then makes no record.
    /// `depth` is that of the page redirected.
    pub fn landed(&self, url: &Url, depth: u32) {
        self.inner.store.land(Print::url(url), depth);
    }

    /// A page's response is in. If it was redirected and will finish as it is, a link to where
    /// it landed claimed for a deeper level waits, rather than be fetched for no record: the
    /// page claims that URL when it finishes. The claim itself waits for then, so that it keeps
    /// its place among the other claims of its level.
    pub fn arrived(&self, job: &Job, landed: Option<&Url>) {
        let redirected = |url: &&Url| job.target.as_ref().is_ok_and(|asked| asked != *url);
        if let Some(url) = landed.filter(redirected) {
            // Once the page may finish, no claim can take its own URL any more: asked in this
            // order, its standing is the one it will finish with.
            if self.inner.store.may_finish(job.depth, &mut || {})
                && self.standing(job) != Standing::Gone
            {
                self.inner.store.expect(Print::url(url), job.depth);
            }
        }
    }

    /// Links found on `page` (at `depth`, of `lineage`) that pass every rule are claimed
    /// for the next level and sent. `from_public`: the page came from a public address, so its links must not
    /// lead to private ones. The links are judged before the store is asked, so that no lock
    /// is held while URLs are parsed, normalized and matched.
    pub fn discovered(
        &self,
        page: &Url,
        from_public: bool,
        depth: u32,
        lineage: Lineage,
        links: &[Link],
    ) {
        let Lineage { scope, seed } = lineage;
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
                let mut job = job(key, url, depth + 1, &parent, scope, guarded);
                job.seed = seed.cloned();
                Some((print, job))
            })
            .collect();
        let send = self.inner.store.found(depth + 1, found);
        self.inner.dispatch(depth + 1, send);
    }

    /// URLs a sitemap lists join the sitemap's own level, so they are sent at once. `nesting`
    /// is how many sitemaps in a row listed this one; `from_public` and `lineage` as for
    /// `discovered`.
    pub fn listed(
        &self,
        sitemap: &Url,
        from_public: bool,
        depth: u32,
        nesting: u8,
        lineage: Lineage,
        locs: &[Link],
    ) {
        let Lineage { scope, seed } = lineage;
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
        // The sitemap itself, where a redirect may have just landed it: an entry listing it is
        // no page of its own.
        let itself = Print::url(sitemap);
        let found = locs
            .iter()
            .filter_map(|loc| self.inner.follows(&loc.href, scope, guarded))
            .map(|(key, url)| (Print::of(&key), key, url))
            .filter(|(print, ..)| *print != itself)
            .map(|(print, key, url)| {
                let mut job = job(key, url, depth, &parent, scope, guarded);
                job.sitemaps = nesting + 1;
                job.seed = seed.cloned();
                (print, job)
            })
            .collect();
        let (send, listed) = store.list(depth, found);
        // Counted before --max-pages has its say: the bar's total applies the cap to the
        // lines and the entries together.
        entries.listed.fetch_add(listed as u64, Ordering::Relaxed);
        self.inner.dispatch(depth, send);
    }

    /// A link or sitemap entry robots.txt disallows gets no record: the summary counts it, and
    /// an entry no longer counts towards the progress bar's total.
    pub fn disallowed(&self, job: &Job) {
        if let Some(entry) = &job.entry {
            entry.skip();
        }
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

    /// Whether a followed link or sitemap entry still stands for its URL at its depth; a URL
    /// line always does.
    pub fn standing(&self, job: &Job) -> Standing {
        match job.parent {
            None => Standing::Live { unguarded: false },
            Some(_) => self.inner.store.standing(Print::of(&job.line), job.depth),
        }
    }

    /// Whether a page at `depth` may finish now (every level above it is complete); if not,
    /// `park` keeps it until `Opened` is called with its depth.
    pub fn may_finish(&self, depth: u32, park: &mut dyn FnMut()) -> bool {
        self.inner.store.may_finish(depth, park)
    }

    /// Sends a link again without the guard: it was fetched guarded and refused, and then a
    /// page of its level on a private address found it too. The caller's ticket for the first
    /// try is still held, so the level cannot complete in between.
    pub fn again(&self, mut job: Job) {
        job.guarded = false;
        job.ticket = Ticket::default();
        self.inner.store.begin(job.depth, 1);
        self.inner.dispatch(job.depth, vec![job]);
    }
}

impl Inner {
    /// One job of level `depth` is finished.
    fn done(self: &Arc<Self>, depth: u32) {
        let step = self.store.finish(depth);
        self.stepped(step);
    }

    /// The URL lines are all read: links held for level 1 go.
    fn fed(self: &Arc<Self>) {
        let (held, step) = self.store.fed();
        self.dispatch(1, held);
        self.stepped(step);
    }

    /// Lets go of the pages waiting for a level now complete; when nothing is left, the crawl
    /// is over.
    fn stepped(&self, step: Step) {
        if let Some(depth) = step.opened {
            (self.opened)(depth);
        }
        if step.over {
            self.quit();
        }
    }

    fn quit(&self) {
        for _ in 0..self.transport.takers {
            let _ = self.transport.jobs.send(Msg::Quit);
        }
    }

    /// Sends jobs the store has counted in flight already, so that a fast crawler cannot take
    /// the count to zero early.
    fn dispatch(self: &Arc<Self>, depth: u32, jobs: Vec<Job>) {
        for mut job in jobs {
            job.ticket = Ticket::attached(self, depth);
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
        seed: None,
        sitemaps: 0,
        guarded,
        ticket: Ticket::default(),
        entry: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::{bounded, unbounded, Receiver};
    use std::sync::Mutex;

    /// The depths a frontier opened, in order.
    type Log = Arc<Mutex<Vec<u32>>>;

    /// A frontier with one taker, the ends its jobs come out of, and the depths it opened.
    fn frontier(scope: Scope) -> (Frontier, Receiver<Msg>, Receiver<Job>, Log) {
        let (jobs, links) = unbounded();
        let (seeds, lines) = bounded(16);
        let store = Box::new(MemoryStore::new(scope.max_pages));
        let transport = Transport {
            jobs,
            seeds,
            takers: 1,
        };
        let opened = Arc::new(Mutex::new(Vec::new()));
        let log = opened.clone();
        let on_open: Opened = Box::new(move |depth| log.lock().unwrap().push(depth));
        let frontier = Frontier::new(
            scope,
            store,
            transport,
            Arc::default(),
            Arc::default(),
            on_open,
        );
        (frontier, links, lines, opened)
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

    fn discover(frontier: &Frontier, page: &str, depth: u32, hrefs: &[&str]) {
        let host: Arc<str> = url(page).host_str().unwrap().into();
        frontier.discovered(&url(page), true, depth, Lineage::on(&host), &found(hrefs));
    }

    /// The jobs sent so far.
    fn jobs(links: &Receiver<Msg>) -> Vec<Job> {
        links
            .try_iter()
            .filter_map(|msg| match msg {
                Msg::Job(job) => Some(job),
                Msg::Quit => None,
            })
            .collect()
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

    fn may_finish(frontier: &Frontier, depth: u32) -> bool {
        frontier.may_finish(depth, &mut || {})
    }

    /// A crawl of http://a.test/ whose one line is done, having linked to `level1`: the
    /// frontier, where its jobs come out, and the jobs of level 1, in flight.
    fn at_level_1(scope: Scope, level1: &[&str]) -> (Frontier, Receiver<Msg>, Vec<Job>) {
        let (frontier, links, lines, _) = frontier(scope);
        let feeding = frontier.feeder();
        seed(&frontier, "http://a.test/");
        drop(feeding);
        let home = lines.try_recv().unwrap();
        discover(&frontier, "http://a.test/", 0, level1);
        drop(home);
        let jobs = jobs(&links);
        (frontier, links, jobs)
    }

    fn depth(depth: u32) -> Scope {
        Scope {
            depth,
            ..Scope::default()
        }
    }

    #[test]
    fn links_of_the_lines_wait_until_every_line_is_read_and_the_crawl_ends_with_quit() {
        let (frontier, links, lines, _) = frontier(Scope {
            depth: 2,
            ..Scope::default()
        });
        let feeding = frontier.feeder();
        assert!(seed(&frontier, "http://a.test/"));
        let home = lines.try_recv().unwrap();
        discover(
            &frontier,
            "http://a.test/",
            0,
            &[
                "http://a.test/1",
                "http://a.test/2#x",
                "http://b.test/",
                "mailto:x@y",
                "http://a.test/1",
                "http://a.test/late",
            ],
        );
        drop(home);
        assert!(sent(&links).is_empty(), "a later line may be one of them");
        // A later line has one of them at depth 0: the line takes it.
        assert!(seed(&frontier, "http://a.test/late"));
        drop(lines.try_recv().unwrap());
        drop(feeding);
        let level1 = jobs(&links);
        let urls: Vec<_> = level1.iter().map(|j| j.line.as_str()).collect();
        assert_eq!(urls, ["http://a.test/1", "http://a.test/2"]);
        drop(level1);
        assert_eq!(sent(&links), ["quit"]);
    }

    #[test]
    fn the_next_level_is_fetched_while_this_one_is_in_flight_but_finishes_after_it() {
        let (frontier, links, lines, opened) = frontier(Scope {
            depth: 3,
            ..Scope::default()
        });
        let feeding = frontier.feeder();
        seed(&frontier, "http://a.test/");
        drop(feeding);
        let home = lines.try_recv().unwrap();
        discover(
            &frontier,
            "http://a.test/",
            0,
            &["http://a.test/1", "http://a.test/2"],
        );
        assert!(may_finish(&frontier, 0));
        drop(home);
        assert_eq!(*opened.lock().unwrap(), [1], "level 0 is complete");
        let mut level1 = jobs(&links);
        let slow = level1.pop().unwrap();
        let fast = level1.pop().unwrap();
        assert!(may_finish(&frontier, 1));
        discover(&frontier, "http://a.test/1", 1, &["http://a.test/1/a"]);
        drop(fast);
        // Level 2 is sent while /2 is still in flight...
        let level2 = jobs(&links);
        assert_eq!(level2.len(), 1);
        assert_eq!(level2[0].line, "http://a.test/1/a");
        // ...but its pages wait for level 1 to finish: /2 may still link to the same URLs.
        let mut parked = false;
        assert!(!frontier.may_finish(2, &mut || parked = true));
        assert!(parked);
        discover(
            &frontier,
            "http://a.test/2",
            1,
            &["http://a.test/1/a", "http://a.test/2/a"],
        );
        drop(slow);
        assert_eq!(*opened.lock().unwrap(), [1, 2]);
        assert!(may_finish(&frontier, 2));
        assert_eq!(
            sent(&links),
            ["http://a.test/2/a"],
            "found once, at depth 2"
        );
        drop(level2);
        assert_eq!(sent(&links), ["quit"]);
    }

    #[test]
    fn a_link_fetched_ahead_is_gone_once_a_sitemap_or_a_redirect_of_the_level_above_claims_it() {
        let level1 = ["http://a.test/1", "http://a.test/map.xml"];
        let (frontier, links, level1) = at_level_1(depth(3), &level1);
        discover(
            &frontier,
            "http://a.test/1",
            1,
            &["http://a.test/x", "http://a.test/y"],
        );
        let ahead = jobs(&links);
        assert!(ahead
            .iter()
            .all(|job| frontier.standing(job) == Standing::Live { unguarded: false }));
        // The sitemap at depth 1 lists /x: the entry is at depth 1, the link's job is gone.
        let host: Arc<str> = "a.test".into();
        let map = url("http://a.test/map.xml");
        frontier.listed(
            &map,
            true,
            1,
            0,
            Lineage::on(&host),
            &found(&["http://a.test/x"]),
        );
        frontier.landed(&url("http://a.test/y"), 1);
        assert!(ahead
            .iter()
            .all(|job| frontier.standing(job) == Standing::Gone));
        let entry = jobs(&links);
        assert_eq!(entry[0].line, "http://a.test/x");
        assert_eq!(entry[0].depth, 1);
        assert_eq!(
            frontier.standing(&entry[0]),
            Standing::Live { unguarded: false }
        );
        drop((level1, ahead, entry));
        assert_eq!(sent(&links), ["quit"]);
    }

    #[test]
    fn a_link_to_where_a_page_of_the_level_above_landed_waits_for_that_page_to_claim_it() {
        let level1 = [
            "http://a.test/1",
            "http://a.test/2",
            "http://a.test/3",
            "http://a.test/4",
        ];
        let (frontier, links, mut level1) = at_level_1(depth(3), &level1);
        let hrefs = ["http://a.test/x", "http://a.test/y", "http://a.test/z"];
        discover(&frontier, "http://a.test/1", 1, &hrefs);
        let ahead = jobs(&links);
        let [x, y, z] = [&ahead[0], &ahead[1], &ahead[2]];
        // /2 was redirected to /x: /x's job waits, and is gone once /2 finishes and claims it.
        frontier.arrived(&level1[1], Some(&url("http://a.test/x")));
        assert_eq!(frontier.standing(x), Standing::Awaited);
        frontier.landed(&url("http://a.test/x"), 1);
        assert_eq!(frontier.standing(x), Standing::Gone);
        // /3 is itself gone (a sitemap of the level above listed it): its landing waits for
        // nothing.
        let host: Arc<str> = "a.test".into();
        let map = url("http://a.test/map.xml");
        frontier.listed(
            &map,
            true,
            0,
            0,
            Lineage::on(&host),
            &found(&["http://a.test/3"]),
        );
        let _entry = jobs(&links);
        frontier.arrived(&level1[2], Some(&url("http://a.test/y")));
        assert_eq!(frontier.standing(y), Standing::Live { unguarded: false });
        // /4 was redirected to /z but never claimed it (its links panicked, say): /z stands
        // again once level 1 is complete.
        frontier.arrived(&level1[3], Some(&url("http://a.test/z")));
        assert_eq!(frontier.standing(z), Standing::Awaited);
        level1.clear();
        assert_eq!(frontier.standing(z), Standing::Live { unguarded: false });
    }

    #[test]
    fn a_link_found_again_on_a_private_page_of_its_level_stands_unguarded() {
        let scope = Scope {
            all_hosts: true,
            ..depth(2)
        };
        let level1 = ["http://a.test/1", "http://a.test/2"];
        let (frontier, links, _level1) = at_level_1(scope, &level1);
        discover(&frontier, "http://a.test/1", 1, &["http://c.test/"]);
        let ahead = jobs(&links);
        assert!(ahead[0].guarded);
        let host: Arc<str> = "a.test".into();
        let private = found(&["http://c.test/"]);
        frontier.discovered(
            &url("http://a.test/2"),
            false,
            1,
            Lineage::on(&host),
            &private,
        );
        assert_eq!(
            frontier.standing(&ahead[0]),
            Standing::Live { unguarded: true }
        );
        assert!(jobs(&links).is_empty(), "claimed once");
    }

    #[test]
    fn tickets_finish_jobs_however_they_end() {
        let (frontier, links, lines, _) = frontier(Scope {
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
        let (frontier, links, lines, _) = frontier(Scope {
            depth: 1,
            all_hosts: true,
            ..Scope::default()
        });
        let feeding = frontier.feeder();
        seed(&frontier, "http://a.test/");
        drop(feeding);
        let page = lines.try_recv().unwrap();
        discover(
            &frontier,
            "http://a.test/",
            0,
            &["http://127.0.0.1/", "http://[::1]/x", "http://b.test/"],
        );
        drop(page);
        assert_eq!(sent(&links), ["http://b.test/", "quit"]);
        assert_eq!(frontier.inner.skipped.blocked.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn the_budget_stops_the_feeder_and_counts_links_too() {
        let (frontier, links, lines, _) = frontier(Scope {
            depth: 1,
            max_pages: Some(2),
            ..Scope::default()
        });
        let feeding = frontier.feeder();
        assert!(seed(&frontier, "http://a.test/"));
        discover(
            &frontier,
            "http://a.test/",
            0,
            &["http://a.test/1", "http://a.test/2"],
        );
        assert!(!seed(&frontier, "http://a.test/3"), "the budget is spent");
        drop(feeding);
        drop(lines.try_recv().unwrap());
        assert_eq!(sent(&links), ["http://a.test/1", "quit"]);
    }
}
