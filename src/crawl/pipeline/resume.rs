//! --resume with what an earlier run recorded: its pages are seen, and with --depth their links,
//! and the entries of its sitemaps, are followed again as if those pages had just been parsed.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::sync::Arc;

use url::Url;

use super::Work;
use crate::crawl::frontier::{Frontier, Lineage, MAX_SITEMAP_NESTING};
use crate::fetch::headers::seed_of;
use crate::output::resume::{self, Recorded};

/// --resume follows the entries of the sitemaps FILE recorded and, with --depth, the links of
/// its pages: its path, its sitemaps and the depths of its records.
pub struct Refollow {
    pub path: std::path::PathBuf,
    pub sitemaps: HashMap<String, Option<String>>,
    pub depths: BTreeSet<u32>,
}

impl Refollow {
    /// How many sitemaps in a row listed a recorded sitemap whose parent is `parent`: its own
    /// record does not say, but the records of the sitemaps above it do.
    pub fn nesting<'a>(&'a self, mut parent: Option<&'a str>) -> u8 {
        let mut nesting = 0;
        // Counting stops where expanding does, which also ends a loop of parents, should
        // redirects ever make one.
        while nesting < MAX_SITEMAP_NESTING {
            match parent.and_then(|p| self.sitemaps.get(p)) {
                Some(above) => {
                    nesting += 1;
                    parent = above.as_deref();
                }
                None => break,
            }
        }
        nesting
    }
}

impl Work {
    /// --resume: the pages recorded before are seen, and with --depth their links are claimed
    /// as if those pages had just finished (a URL line's once every line is read), so they are
    /// fetched at once and finish in their level's turn; the entries of the sitemaps recorded
    /// before join the sitemap's level, as they did then.
    pub(super) fn follow_recorded(
        &self,
        frontier: &Frontier,
        refollow: &Refollow,
    ) -> io::Result<()> {
        // Every recorded page is seen first, so that links to any of them are not queued again.
        for url in &self.plan.done {
            frontier.recorded(url);
        }
        let mut seeds = Seeds::default();
        resume::recorded(&refollow.path, |page| seeds.note(&page))?;
        // The records are taken level by level, as the crawl took them, whatever order earlier
        // runs wrote them in: where a redirect landed holds back the links of deeper levels
        // only, and a link gets the depth of the shallowest page that has it.
        for &depth in &refollow.depths {
            resume::recorded(&refollow.path, |page| {
                if page.depth == depth {
                    self.follow_again(frontier, refollow, &mut seeds, page);
                }
            })?;
        }
        Ok(())
    }

    fn follow_again(
        &self,
        frontier: &Frontier,
        refollow: &Refollow,
        seeds: &mut Seeds,
        page: Recorded,
    ) {
        let landed = page.final_url.as_deref().filter(|u| *u != page.url);
        if let Some(landed) = landed.and_then(|u| Url::parse(u).ok()) {
            frontier.landed(&landed, page.depth);
        }
        let base = page.final_url.as_deref().and_then(|u| Url::parse(u).ok());
        let Some(base) = base.filter(|_| page.error.is_none()) else {
            return;
        };
        // A URL line's links stay on the host it landed on; a followed page is on it already.
        let host = match &page.parent {
            None => base.host_str().map(str::to_owned),
            Some(_) => Url::parse(&page.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned)),
        };
        let scope: Arc<str> = host.unwrap_or_default().into();
        // A deeper page's seed is not recorded: its parents' records lead up to it, and where
        // they do not, its links carry no -H header and no -b pair.
        let seed: Option<Arc<str>> = match &page.parent {
            None => line_host(&page.url),
            Some(parent) => seeds.of(parent),
        };
        let lineage = Lineage {
            scope: &scope,
            seed: seed.as_ref(),
        };
        // The address the page came from is not recorded: where its name resolves now decides.
        let from_public = self.gate.fetcher.is_public_page(&base);
        // As in finish: a sitemap's entries join its own level, a page's links the next.
        if page.is_sitemap() {
            let nesting = refollow.nesting(page.parent.as_deref());
            frontier.listed(
                &base,
                from_public,
                page.depth,
                nesting,
                lineage,
                &page.links,
            );
        } else {
            frontier.discovered(&base, from_public, page.depth, lineage, &page.links);
        }
    }
}

/// The host of the URL line each recorded page descends from, found from the records alone: a
/// page's `parent` is the `final_url` of the page that had the link, and so on up to a URL
/// line, whose `url` names the seed. A page reached from pages of different seeds, or from one
/// the file does not hold, has none.
#[derive(Default)]
pub(super) struct Seeds {
    /// Every page's final URL, with what each of its records came from.
    up: HashMap<String, Vec<Up>>,
    known: HashMap<String, Option<Arc<str>>>,
}

#[derive(Clone, PartialEq)]
enum Up {
    Line(Option<Arc<str>>),
    Parent(String),
}

/// How many parents up a walk goes before it gives up: well past --depth's levels and the
/// sitemaps nested in each, so only a loop of parents (a file edited by hand) reaches it.
const MAX_WALK: u32 = 1_000;

impl Seeds {
    fn note(&mut self, page: &Recorded) {
        let Some(at) = &page.final_url else { return };
        let up = match &page.parent {
            None => Up::Line(line_host(&page.url)),
            Some(parent) => Up::Parent(parent.clone()),
        };
        let ups = self.up.entry(at.clone()).or_default();
        if !ups.contains(&up) {
            ups.push(up);
        }
    }

    /// The seed's host of the links found on the page at `at` (its final URL).
    fn of(&mut self, at: &str) -> Option<Arc<str>> {
        self.walk(at, MAX_WALK)
    }

    fn walk(&mut self, at: &str, left: u32) -> Option<Arc<str>> {
        if let Some(known) = self.known.get(at) {
            return known.clone();
        }
        // Unknown while it is walked: a loop of parents ends there.
        self.known.insert(at.to_string(), None);
        let ups = match self.up.get(at) {
            Some(ups) if left > 0 => ups.clone(),
            _ => return None,
        };
        let found: Vec<Option<Arc<str>>> = ups
            .into_iter()
            .map(|up| match up {
                Up::Line(host) => host,
                Up::Parent(parent) => self.walk(&parent, left - 1),
            })
            .collect();
        let first = found.first().cloned().flatten();
        let seed = first.filter(|seed| found.iter().all(|f| f.as_ref() == Some(seed)));
        self.known.insert(at.to_string(), seed.clone());
        seed
    }
}

/// The seed of a URL line as recorded.
fn line_host(line: &str) -> Option<Arc<str>> {
    seed_of(&Url::parse(line).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(url: &str, final_url: &str, parent: Option<&str>) -> Recorded {
        Recorded {
            url: url.into(),
            final_url: Some(final_url.into()),
            depth: u32::from(parent.is_some()),
            parent: parent.map(str::to_string),
            links: Vec::new(),
            encoding: None,
            error: None,
        }
    }

    #[test]
    fn a_pages_seed_is_its_lines_and_unknown_where_the_records_do_not_agree() {
        let mut seeds = Seeds::default();
        for page in [
            record("https://a.test/start", "http://other.test/land", None),
            record(
                "http://other.test/d1",
                "http://other.test/d1",
                Some("http://other.test/land"),
            ),
            // Reached from lines on two hosts: whose it is, the records cannot say.
            record("http://c.test/", "http://shared.test/", None),
            record("http://d.test/", "http://shared.test/", None),
            record(
                "http://shared.test/x",
                "http://shared.test/x",
                Some("http://shared.test/"),
            ),
            // A parent no record holds, and a loop of parents.
            record(
                "http://e.test/y",
                "http://e.test/y",
                Some("http://e.test/gone"),
            ),
            record(
                "http://f.test/1",
                "http://f.test/1",
                Some("http://f.test/2"),
            ),
            record(
                "http://f.test/2",
                "http://f.test/2",
                Some("http://f.test/1"),
            ),
        ] {
            seeds.note(&page);
        }
        let seed = |seeds: &mut Seeds, at| seeds.of(at).map(|s| s.to_string());
        let a = Some("https://a.test".to_string());
        assert_eq!(seed(&mut seeds, "http://other.test/land"), a);
        assert_eq!(seed(&mut seeds, "http://other.test/d1"), a);
        assert_eq!(seed(&mut seeds, "http://shared.test/x"), None);
        assert_eq!(seed(&mut seeds, "http://e.test/y"), None);
        assert_eq!(seed(&mut seeds, "http://f.test/1"), None);
    }
}
