//! Counts the crawl keeps as it goes, for what observes it: written by the frontier, read by the
//! progress bar, without either knowing the other.

use std::sync::atomic::AtomicU64;

/// Sitemap entries: records that the crawl learns of only as it reads the sitemaps, counted by
/// the frontier.
#[derive(Debug, Default)]
pub struct Entries {
    /// Entries new to this crawl, whether --max-pages then lets them in or not (the total
    /// applies that cap itself, to the lines as well).
    pub listed: AtomicU64,
    /// Entries robots.txt disallowed once their turn came: they get no record.
    pub disallowed: AtomicU64,
}
