//! What the engine counts besides the records (links skipped, pages each --field matched), kept
//! where the summary can read it even when a stop leaves the engine thread behind.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::crawl::frontier::Skipped;
use crate::observe::stats;
use crate::parse::extract::Field;

/// Shared by the engine, which counts, and the writer's thread, which reads without a join.
#[derive(Clone)]
pub(super) struct Counts {
    pub(super) skipped: Arc<Skipped>,
    /// Each --field's name, with the pages it matched on.
    fields: Arc<[(String, AtomicU64)]>,
}

impl Counts {
    pub(super) fn new(fields: &[Field]) -> Counts {
        Counts {
            skipped: Arc::default(),
            fields: fields
                .iter()
                .map(|field| (field.name.clone(), AtomicU64::new(0)))
                .collect(),
        }
    }

    /// The `i`th --field matched on one more page.
    pub(super) fn matched(&self, i: usize) {
        self.fields[i].1.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn skipped(&self) -> stats::Skipped {
        let redirects = self.skipped.robots_redirects.load(Ordering::Relaxed);
        stats::Skipped {
            robots: self.skipped.robots.load(Ordering::Relaxed) + redirects,
            private: self.skipped.blocked.load(Ordering::Relaxed),
            robots_redirects: redirects,
        }
    }

    /// The --field names that have matched on no page so far.
    pub(super) fn unmatched_fields(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(_, hits)| hits.load(Ordering::Relaxed) == 0)
            .map(|(name, _)| name.clone())
            .collect()
    }
}
