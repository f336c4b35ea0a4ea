//! A URL on its way to a crawler, the fingerprint it is known by, and its ticket: the job's place
//! in the in-flight count, given back when the ticket is dropped, wherever the job ends.

use std::sync::{Arc, Weak};

use serde::{Deserialize, Serialize};
use url::Url;

use super::Inner;
use crate::crawl::fleet::Entry;
use crate::output::record::PageError;
use crate::urls::normalize::normalize;

/// A URL on its way to a crawler. All but its ticket and entry is data, so that a store outside
/// this process can hold it (see `Wire`).
pub struct Job {
    /// The URL as the record will show it: the line the user wrote, or the link as resolved.
    pub line: String,
    pub target: Result<Url, PageError>,
    pub depth: u32,
    pub parent: Option<Arc<str>>,
    /// The host links from this page must stay on; None until the seed's final host is known.
    pub scope: Option<Arc<str>>,
    /// The host of the URL line this page descends from, where -H's headers go: None for a
    /// URL line (its own host) and for a page whose line is not known (--resume), which
    /// sends them nowhere.
    pub seed: Option<Arc<str>>,
    /// How many sitemaps in a row listed this URL: 0 for lines and links.
    pub sitemaps: u8,
    /// Refuse private DNS answers for it: a public page led here. A URL line the user wrote
    /// may point anywhere.
    pub guarded: bool,
    pub ticket: Ticket,
    /// In a shared crawl, its entry in its level's stream, acked once the job is done.
    pub entry: Option<Box<Entry>>,
}

/// A job as data, as short as it can be, since a shared crawl moves every job through Redis:
/// fields at their defaults are left out, and so is the target when it is the line itself.
#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    line: std::borrow::Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<Result<Url, PageError>>,
    #[serde(default, skip_serializing_if = "is_zero")]
    depth: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent: Option<Arc<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<Arc<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seed: Option<Arc<str>>,
    #[serde(default, skip_serializing_if = "is_zero")]
    sitemaps: u8,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    guarded: bool,
}

fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

impl Serialize for Job {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let itself = matches!(&self.target, Ok(url) if url.as_str() == self.line);
        Wire {
            line: self.line.as_str().into(),
            target: (!itself).then(|| self.target.clone()),
            depth: self.depth,
            parent: self.parent.clone(),
            scope: self.scope.clone(),
            seed: self.seed.clone(),
            sitemaps: self.sitemaps,
            guarded: self.guarded,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Job {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Job, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        let line = wire.line.into_owned();
        // Left out only when parsing the line gave it, so parsing it again does.
        let target = match wire.target {
            Some(target) => target,
            None => Ok(Url::parse(&line).map_err(serde::de::Error::custom)?),
        };
        Ok(Job {
            line,
            target,
            depth: wire.depth,
            parent: wire.parent,
            scope: wire.scope,
            seed: wire.seed,
            sitemaps: wire.sitemaps,
            guarded: wire.guarded,
            ticket: Ticket::default(),
            entry: None,
        })
    }
}

impl Job {
    pub fn seed(line: String, target: Result<Url, PageError>) -> Job {
        Job {
            line,
            target,
            depth: 0,
            parent: None,
            scope: None,
            seed: None,
            sitemaps: 0,
            guarded: false,
            ticket: Ticket::default(),
            entry: None,
        }
    }
}

/// A normalized URL's fingerprint: 16 bytes however long the URL. XXH3-128 is a fixed, published
/// function, so every process and every machine of one crawl computes the same print; a
/// collision (a page wrongly skipped) is about as likely as 1 in 2^100 for a million URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Print(pub u128);

impl Print {
    pub fn of(key: &str) -> Print {
        Print(xxhash_rust::xxh3::xxh3_128(key.as_bytes()))
    }

    /// A URL's print, by its normalized form.
    pub fn url(url: &Url) -> Print {
        Print::of(normalize(url).as_str())
    }
}

/// A job's share of its level's in-flight count, or the feeder's. Dropping it finishes the job
/// exactly once, whether the job was recorded, skipped, put back for later (the ticket moves
/// with it), kept waiting for its level or dropped in a stop; the last one of a level completes
/// it. A ticket of a job not sent yet is detached.
#[derive(Default)]
pub struct Ticket(Option<(Weak<Inner>, Share)>);

#[derive(Clone, Copy)]
enum Share {
    Job { depth: u32 },
    Feeder,
}

impl Ticket {
    pub(super) fn attached(inner: &Arc<Inner>, depth: u32) -> Ticket {
        Ticket(Some((Arc::downgrade(inner), Share::Job { depth })))
    }

    pub(super) fn feeder(inner: &Arc<Inner>) -> Ticket {
        Ticket(Some((Arc::downgrade(inner), Share::Feeder)))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let Some((weak, share)) = self.0.take() else {
            return;
        };
        // A frontier already gone has nothing left to finish.
        if let Some(inner) = weak.upgrade() {
            match share {
                Share::Job { depth } => inner.done(depth),
                Share::Feeder => inner.fed(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::record::ErrorKind;

    #[test]
    fn a_print_is_the_same_in_every_process() {
        // XXH3-128 of "http://a.test/", as the published function gives it: fixed here, so a
        // change of function, which would split a shared crawl's seen set, fails this test.
        assert_eq!(Print::of("http://a.test/"), Print::of("http://a.test/"));
        assert_ne!(Print::of("http://a.test/"), Print::of("http://a.test/b"));
        assert_eq!(
            Print::of("").0,
            0x99aa06d3014798d86001c324468d497f,
            "XXH3-128 of the empty input"
        );
    }

    #[test]
    fn a_job_travels_short_and_comes_back_whole() {
        let same = Job::seed(
            "http://a.test/x".into(),
            Ok(Url::parse("http://a.test/x").unwrap()),
        );
        assert_eq!(
            serde_json::to_string(&same).unwrap(),
            r#"{"line":"http://a.test/x"}"#
        );
        let back: Job = serde_json::from_str(r#"{"line":"http://a.test/x"}"#).unwrap();
        assert_eq!(back.target.unwrap().as_str(), "http://a.test/x");
        // A line the URL parser spells otherwise keeps its target, and so does a bad one.
        let spelled = Job::seed(
            "HTTP://A.test".into(),
            Ok(Url::parse("HTTP://A.test").unwrap()),
        );
        let text = serde_json::to_string(&spelled).unwrap();
        let back: Job = serde_json::from_str(&text).unwrap();
        assert_eq!(back.line, "HTTP://A.test");
        assert_eq!(back.target.unwrap().as_str(), "http://a.test/");
        let bad = Job::seed(
            "nope".into(),
            Err(PageError::new(ErrorKind::InvalidUrl, "no")),
        );
        let back: Job = serde_json::from_str(&serde_json::to_string(&bad).unwrap()).unwrap();
        assert_eq!(back.target.unwrap_err().kind, ErrorKind::InvalidUrl);
    }

    #[test]
    fn a_job_travels_as_data() {
        let mut job = Job::seed(
            "http://a.test/x".into(),
            Ok(Url::parse("http://a.test/x").unwrap()),
        );
        job.parent = Some("http://a.test/".into());
        job.depth = 2;
        let text = serde_json::to_string(&job).unwrap();
        let back: Job = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        assert_eq!(back.depth, 2);
    }
}
