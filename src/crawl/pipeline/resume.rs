//! --resume with what an earlier run recorded: its pages are seen, and with --depth their links,
//! and the entries of its sitemaps, are followed again as if those pages had just been parsed.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::sync::Arc;

use url::Url;

use super::Work;
use crate::crawl::frontier::{Frontier, Lineage, MAX_SITEMAP_NESTING};
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
        // The records are taken level by level, as the crawl took them, whatever order earlier
        // runs wrote them in: where a redirect landed holds back the links of deeper levels
        // only, and a link gets the depth of the shallowest page that has it.
        for &depth in &refollow.depths {
            resume::recorded(&refollow.path, |page| {
                if page.depth == depth {
                    self.follow_again(frontier, refollow, page);
                }
            })?;
        }
        Ok(())
    }

    fn follow_again(&self, frontier: &Frontier, refollow: &Refollow, page: Recorded) {
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
        // A line's own host, when it landed on another; a deeper page's is not recorded, and
        // its links carry -H's headers to the host they stay on.
        let seed: Option<Arc<str>> = match &page.parent {
            None => Url::parse(&page.url)
                .ok()
                .and_then(|u| u.host_str().map(Arc::from))
                .filter(|seed| *seed != scope),
            Some(_) => None,
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
