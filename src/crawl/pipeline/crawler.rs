//! The crawler's half of the work: robots.txt, the host's turn and the network, for one job.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::lanes::Track;
use super::{Crawled, Page, Shared};
use crate::crawl::fleet::MAX_DELIVERIES;
use crate::crawl::frontier::{Job, Standing};
use crate::fetch::headers::seed_of;
use crate::fetch::{Fetched, Place, Request};
use crate::host::polite::Slot;
use crate::host::robots::Rules;
use crate::observe::timeline::SpanKind;
use crate::output::record::{ErrorKind, PageError};
use crate::stop::Stop;

/// How long a job whose URL a redirect of the level above is about to claim waits before it is
/// looked at again: about a parse.
const AWAITED: Duration = Duration::from_millis(5);

impl Shared<'_> {
    /// The crawler's half of the work: robots.txt, politeness and the network.
    pub(super) fn crawl(self, job: Job, track: &mut Track) -> Crawled {
        self.work.begun.fetch_add(1, Ordering::Relaxed);
        let crawled = self.crawl_job(job, track);
        if !matches!(crawled, Crawled::Page(_)) {
            self.work.begun.fetch_sub(1, Ordering::Relaxed);
        }
        crawled
    }

    fn crawl_job(self, job: Job, track: &mut Track) -> Crawled {
        let Admitted {
            job,
            url,
            slot,
            seed,
        } = match self.admit(job, Some(&mut *track)) {
            Ok(admitted) => admitted,
            Err(crawled) => return crawled,
        };
        // A stop that came while robots.txt or the host's turn was awaited: not started, so it
        // gets no record and --resume takes it up.
        if self.work.plan.stop.is_requested() {
            return Crawled::Skipped;
        }
        let gate = &*self.work.gate;
        let request = Request {
            url: &url,
            guarded: job.guarded,
            stop: &self.work.plan.stop,
            pace: &|t| slot.pace(t),
            hops: gate,
            place: Place {
                depth: job.depth,
                parent: job.parent.as_deref(),
            },
            seed: seed.as_deref(),
        };
        let fetched = track.time(SpanKind::Fetch, || gate.fetcher.fetch(&request));
        drop(slot);
        self.frontier.arrived(&job, fetched.final_url.as_ref());
        if cut_short(&fetched, &self.work.plan.stop) {
            return Crawled::Skipped;
        }
        Crawled::Page(Page { job, fetched })
    }

    /// Everything before the request: the URL, robots.txt, a slot on its host, and the seed the
    /// requests carry -H and -b for. Err is what becomes of a job that will not be fetched now.
    /// `track`, when the caller keeps one, times the robots.txt fetch as waiting on the network.
    // Err carries the page on, by value, like the channel it goes to next.
    #[allow(clippy::result_large_err)]
    pub(super) fn admit(self, job: Job, track: Option<&mut Track>) -> Result<Admitted, Crawled> {
        let job = self.stands(job)?;
        // Redis is lost: no record of this job could be acked, so the worker that takes it up
        // after the restart would record it again.
        let fleet = self.work.plan.fleet.as_ref();
        if job.entry.is_some() && fleet.is_some_and(|f| f.fault().is_some()) {
            return Err(Crawled::Skipped);
        }
        if job.entry.as_ref().is_some_and(|e| e.lost()) {
            let fetched = Fetched::failed(PageError::new(ErrorKind::Lost, lost_message()));
            return Err(Crawled::Page(Page { job, fetched }));
        }
        let url = match &job.target {
            Ok(url) => {
                let mut url = url.clone();
                self.work.plan.passwords.restore(&mut url);
                url
            }
            Err(e) => {
                let fetched = Fetched::failed(e.clone());
                return Err(Crawled::Page(Page { job, fetched }));
            }
        };
        let (gate, stop) = (&self.work.gate, &self.work.plan.stop);
        let host = url.host_str().unwrap_or_default().to_string();
        let seed = seed(&job, &url);
        let rules = gate.rules(&url, job.guarded, seed.as_deref(), track);
        if let Some(rules) = rules.as_deref().filter(|r| !r.allowed(&url)) {
            // Rules fetched while stopping may be a cut-off retry's; let --resume judge again.
            if stop.is_requested() {
                return Err(Crawled::Skipped);
            }
            let error = match rules {
                // The page itself would fail the same way; say how, not "robots".
                Rules::Unreachable(error) => error.clone(),
                _ if job.parent.is_some() => {
                    self.frontier.disallowed(&job);
                    return Err(Crawled::Skipped);
                }
                _ => PageError::new(ErrorKind::Robots, "disallowed by robots.txt"),
            };
            let fetched = Fetched::failed(error);
            return Err(Crawled::Page(Page { job, fetched }));
        }
        let crawl_delay = rules.as_deref().and_then(Rules::crawl_delay);
        loop {
            match gate.politeness.try_start(&host, crawl_delay) {
                Ok(slot) => {
                    return Ok(Admitted {
                        job,
                        url,
                        slot,
                        seed,
                    })
                }
                // Other hosts' jobs, or later ones, can go first while this host waits.
                Err(wait) if self.frontier.others_waiting() => {
                    return Err(Crawled::Later(job, wait))
                }
                Err(wait) => {
                    if !stop.sleep(wait) {
                        return Err(Crawled::Skipped);
                    }
                }
            }
        }
    }
}

impl Shared<'_> {
    /// The job as it stands now: a link fetched ahead of its level whose URL a shallower claim
    /// has taken since is Skipped, one a redirect is about to take waits (Later), and one that
    /// no longer needs the guard loses it.
    // Err carries the page on, by value, like the channel it goes to next.
    #[allow(clippy::result_large_err)]
    pub(super) fn stands(self, mut job: Job) -> Result<Job, Crawled> {
        match self.frontier.standing(&job) {
            Standing::Gone => Err(Crawled::Skipped),
            Standing::Awaited => Err(Crawled::Later(job, AWAITED)),
            Standing::Live { unguarded } => {
                job.guarded &= !unguarded;
                Ok(job)
            }
        }
    }
}

/// Why a shared crawl's job was given up without a fetch.
fn lost_message() -> String {
    format!(
        "handed out more than {MAX_DELIVERIES} times without a record coming back (the workers \
         that took it died); not fetched again, and moved to the job's dead stream"
    )
}

/// Whether a fetch ended for the stop rather than on its own: a wait before a retry was cut, or
/// a redirect failed after the stop came (it may have been judged on a robots.txt whose fetch
/// the stop cut, or its wait for the host's turn was). Such a URL gets no record, so that
/// --resume tries it again.
pub(super) fn cut_short(fetched: &Fetched, stop: &Stop) -> bool {
    fetched.interrupted || (stop.is_requested() && fetched.redirects > 0 && fetched.error.is_some())
}

/// A job cleared to go: its URL, its slot on its host, and the seed its requests carry -H and
/// -b for (see `seed`).
pub(super) struct Admitted {
    pub job: Job,
    pub url: Url,
    pub slot: Slot,
    pub seed: Option<Arc<str>>,
}

/// The host whose requests carry -H's headers and -b's pairs for `job`: the host of the URL
/// line it descends from. None when that is not known (a page --resume read back whose
/// parents' records do not lead to one line): then no host gets them.
fn seed(job: &Job, url: &Url) -> Option<Arc<str>> {
    match job.parent {
        None => seed_of(url),
        Some(_) => job.seed.clone(),
    }
}
