//! What a URL must pass before it is requested, and each redirect hop on the way: robots.txt for
//! its host, fetched once per host, at that host's pace.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

use super::lanes::Track;
use crate::crawl::frontier::Skipped;
use crate::fetch::{Fetched, Fetcher, Hops, NoRules, Place, Request};
use crate::host::polite::Politeness;
use crate::host::robots::{RobotsCache, Rules, Shelf};
use crate::observe::timeline::SpanKind;
use crate::output::record::{ErrorKind, PageError};
use crate::stop::Stop;
use crate::urls::redact;

/// Shared by every crawler, dispatcher and async request.
pub(super) struct Gate {
    pub(super) fetcher: Fetcher,
    /// The robots.txt of each host, and the product token its groups are matched against;
    /// None with --no-robots.
    robots: Option<(RobotsCache, String)>,
    /// In a shared crawl, where the workers' robots.txt responses are kept.
    shelf: Option<Arc<dyn Shelf>>,
    pub(super) politeness: Arc<Politeness>,
    stop: Stop,
    skipped: Arc<Skipped>,
}

impl Gate {
    pub(super) fn new(
        fetcher: Fetcher,
        robots: Option<String>,
        shelf: Option<Arc<dyn Shelf>>,
        politeness: Arc<Politeness>,
        stop: Stop,
        skipped: Arc<Skipped>,
    ) -> Gate {
        Gate {
            fetcher,
            robots: robots.map(|agent| (RobotsCache::default(), agent)),
            shelf,
            politeness,
            stop,
            skipped,
        }
    }

    /// The robots.txt rules for `url`'s host, None with --no-robots. A host's first asker
    /// fetches them, through the guarded client when `guarded`, keeping the host's --delay, and
    /// times the fetch on `track` as waiting on the network. `seed` is the asking page's, as
    /// in a Request: robots.txt is a request to the host like any other, and curl would send
    /// -H's headers with it.
    pub(super) fn rules(
        &self,
        url: &Url,
        guarded: bool,
        seed: Option<&str>,
        track: Option<&mut Track>,
    ) -> Option<Arc<Rules>> {
        let (cache, agent) = self.robots.as_ref()?;
        let host = url.host_str().unwrap_or_default();
        // robots.txt is a request to the host too: it keeps --delay, retries included.
        let pace = |t| self.politeness.book(host, Duration::ZERO, t);
        let fetch = |robots: &Url| {
            let start = pace(Instant::now());
            if !self
                .stop
                .sleep(start.saturating_duration_since(Instant::now()))
            {
                return Fetched {
                    interrupted: true,
                    ..Fetched::default()
                };
            }
            let request = Request {
                url: robots,
                guarded,
                stop: &self.stop,
                pace: &pace,
                hops: &NoRules,
                // robots.txt has no depth or parent of its own.
                place: Place::default(),
                seed,
            };
            let fetch = || self.fetcher.fetch_robots(&request);
            match track {
                Some(track) => track.time(SpanKind::Fetch, fetch),
                None => fetch(),
            }
        };
        let fetch = |robots: &Url| match &self.shelf {
            Some(shelf) => {
                let mut once = Some(fetch);
                let origin = robots.origin().ascii_serialization();
                shelf.fetched(&origin, &mut || {
                    once.take().map_or_else(Fetched::default, |f| f(robots))
                })
            }
            None => fetch(robots),
        };
        Some(cache.rules(url, fetch, agent))
    }
}

impl Hops for Gate {
    /// A hop robots.txt disallows ends the fetch with kind `robots`, as Scrapy's robots
    /// middleware does for redirected requests, and counts as a URL robots.txt turned away. An
    /// allowed one waits for its host's turn: it is a request to that host like any other, and
    /// keeps --delay and Crawl-delay.
    fn allow(&self, to: &Url, guarded: bool) -> Result<(), PageError> {
        // No seed: a redirect's robots.txt is another host's, and carries -H's headers only
        // with --header-all-hosts (a same-host hop's robots.txt was fetched with its page's).
        let rules = self.rules(to, guarded, None, None);
        if let Some(rules) = rules.as_deref().filter(|r| !r.allowed(to)) {
            return Err(match rules {
                // The hop would fail the same way.
                Rules::Unreachable(error) => error.clone(),
                _ => {
                    self.skipped
                        .robots_redirects
                        .fetch_add(1, Ordering::Relaxed);
                    let to = redact::mask(to.as_str());
                    PageError::new(
                        ErrorKind::Robots,
                        format!("redirect to {to}, which robots.txt disallows"),
                    )
                }
            });
        }
        let crawl_delay = rules.as_deref().and_then(Rules::crawl_delay);
        let host = to.host_str().unwrap_or_default();
        let start = self
            .politeness
            .book(host, crawl_delay.unwrap_or_default(), Instant::now());
        if self
            .stop
            .sleep(start.saturating_duration_since(Instant::now()))
        {
            Ok(())
        } else {
            // Not the URL's outcome: a stop cut the wait (see crawler::cut_short).
            Err(PageError::new(
                ErrorKind::Timeout,
                "stopped while waiting for the host's turn",
            ))
        }
    }
}
