//! The parser's half of the work, CPU only: a fetched page taken apart, kept until its level may
//! finish, where it leads handed to the frontier, and its record serialized into the line the
//! writer gets.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use url::Url;

use super::hold::Held;
use super::{Line, Page, Shared};
use crate::crawl::frontier::{Job, Lineage, Standing, Ticket};
use crate::fetch::headers::seed_of;
use crate::fetch::Fetched;
use crate::output::record::{millis, ErrorKind, PageError, Record};
use crate::output::since::Previous;
use crate::parse::{self, decode, Parsed};

/// A page's line for the writer and the ticket to give back once it is on its way; None when the
/// page is kept for its level, or makes no record.
pub(super) type Finished = Option<(Line, Ticket)>;

impl Shared<'_> {
    /// Parses a page, and finishes it if its level may finish now; otherwise keeps it in the lot.
    pub(super) fn take_up(self, mut page: Page) -> Finished {
        let ticket = std::mem::take(&mut page.job.ticket);
        let (parsed, parse_ms) = self.take_apart(&mut page.fetched);
        // Only the record is still to come, which needs no body: a page kept costs its links.
        page.fetched.body = Vec::new();
        let depth = page.job.depth;
        let mut held = Some(Held {
            page,
            parsed,
            parse_ms,
            ticket,
        });
        let lot = self.lot;
        let go = self.frontier.may_finish(depth, &mut || {
            if let Some(held) = held.take() {
                lot.park(depth, held);
            }
        });
        held.filter(|_| go).and_then(|held| self.settle(held))
    }

    /// Finishes a page whose level may finish: unless a shallower claim took its URL meanwhile,
    /// or it was refused by the guard that no longer applies to it, when it is sent again.
    pub(super) fn settle(self, held: Held) -> Finished {
        let Held {
            page,
            parsed,
            parse_ms,
            ticket,
        } = held;
        // Awaited cannot outlast the level above, which is complete by now: it counts as Live.
        let standing = self.frontier.standing(&page.job);
        let refused = page.fetched.error.as_ref().map(|e| e.kind) == Some(ErrorKind::Blocked);
        let again = standing == Standing::Live { unguarded: true } && page.job.guarded && refused;
        if standing == Standing::Gone || again {
            self.work.begun.fetch_sub(1, Ordering::Relaxed);
            if again {
                self.frontier.again(page.job);
            }
            return None;
        }
        let Page {
            mut job,
            mut fetched,
        } = page;
        if let Err(error) = self.follow(&job, &fetched, &parsed) {
            fetched.error = Some(error);
        }
        let entry = job.entry.take();
        let record = self.record(job, fetched, parsed, parse_ms);
        let mut line = Line::of(&record);
        line.entry = entry;
        Some((line, ticket))
    }

    /// Parses a page that arrived whole, timed; a parser that panicked leaves its error on the
    /// page instead.
    fn take_apart(self, fetched: &mut Fetched) -> (Parsed, Option<f64>) {
        if let Some(previous) = &fetched.previous {
            return (self.carried(previous), None);
        }
        let Some(base) = fetched
            .final_url
            .as_ref()
            .filter(|_| fetched.error.is_none())
        else {
            return (Parsed::default(), None);
        };
        let plan = &self.work.plan;
        crate::hooks::crash_on(&fetched.body);
        let started = Instant::now();
        let content_type = fetched.content_type.as_deref();
        let parsed = match fetched.sitemap.take() {
            // A gzipped sitemap the crawler read as it unpacked it.
            Some(map) => Ok(parse::listed(*map, base)),
            None => parse::parse(
                &fetched.body,
                content_type,
                base,
                &plan.select,
                &plan.fields,
            ),
        };
        let parse_ms = Some(millis(started.elapsed()));
        match parsed {
            Ok(parsed) => (parsed, parse_ms),
            Err(panicked) => {
                fetched.error = Some(panicked);
                (Parsed::default(), parse_ms)
            }
        }
    }

    /// What a page --since found unchanged holds: its earlier record's, as if just parsed, so
    /// its links are followed as they were then. A --field the earlier run did not have is null.
    fn carried(self, previous: &Previous) -> Parsed {
        let fields = self.work.plan.fields.iter().map(|field| {
            let value = previous.fields.get(&field.name)?;
            value.as_str().map(str::to_owned)
        });
        Parsed {
            title: previous.title.clone(),
            links: previous.links.clone(),
            meta: previous.meta.clone(),
            fields: fields.collect(),
            encoding: previous.encoding.as_deref().and_then(decode::record_name),
            truncated: previous.truncated,
            sitemap: previous.sitemap,
        }
    }

    /// Where the page leads: where it landed counts as seen; a sitemap's entries join its own
    /// level, a page's links the next. This runs code of ours on remote input too (URLs parsed
    /// and normalized): a bug that one page trips costs that page, not the parser thread, whose
    /// loss would hang the crawl.
    fn follow(self, job: &Job, fetched: &Fetched, parsed: &Parsed) -> Result<(), PageError> {
        let Some(base) = &fetched.final_url else {
            return Ok(());
        };
        let follow = || self.lead(job, base, fetched.from_public, parsed);
        panic::catch_unwind(AssertUnwindSafe(follow)).map_err(|panic| {
            let why = parse::panic_message(&*panic);
            let message = format!("following the page's links panicked: {why}");
            PageError::new(ErrorKind::Parse, message)
        })
    }

    fn lead(self, job: &Job, base: &Url, from_public: bool, parsed: &Parsed) {
        if job.target.as_ref().is_ok_and(|asked| asked != base) {
            self.frontier.landed(base, job.depth);
        }
        let scope = job
            .scope
            .clone()
            .unwrap_or_else(|| base.host_str().unwrap_or_default().into());
        let seed = seed_of_job(job);
        let lineage = Lineage {
            scope: &scope,
            seed: seed.as_ref(),
        };
        if parsed.sitemap {
            let (depth, nesting) = (job.depth, job.sitemaps);
            self.frontier
                .listed(base, from_public, depth, nesting, lineage, &parsed.links);
        } else {
            self.frontier
                .discovered(base, from_public, job.depth, lineage, &parsed.links);
        }
    }

    /// The page's record, with every password masked.
    fn record(self, job: Job, fetched: Fetched, parsed: Parsed, parse_ms: Option<f64>) -> Record {
        let plan = &self.work.plan;
        // A page that failed or was not parsed has no values: each NAME is still there, as null.
        let mut values = parsed.fields.into_iter();
        let mut fields = serde_json::Map::new();
        for (i, field) in plan.fields.iter().enumerate() {
            let value = values.next().flatten();
            if value.is_some() {
                self.work.counts.matched(i);
            }
            fields.insert(field.name.clone(), value.into());
        }
        let mut record = Record {
            url: job.line,
            final_url: fetched.final_url.map(String::from),
            status: fetched.status,
            http_version: fetched.http_version,
            etag: fetched.etag,
            last_modified: fetched.last_modified,
            unchanged: fetched.previous.is_some(),
            title: parsed.title,
            links: parsed.links,
            meta: parsed.meta,
            fields,
            depth: job.depth,
            parent: job.parent.map(|p| p.to_string()),
            bytes: fetched.bytes,
            encoding: parsed.encoding,
            attempts: fetched.attempts,
            fetch_ms: fetched.fetch_ms,
            parse_ms,
            truncated: parsed.truncated,
            error: fetched.error,
            mode: plan.tag_mode.then(|| plan.mode.name()),
        };
        record.redact();
        record
    }
}

impl Line {
    /// A record as one JSON line, with the figures the stats need from it.
    fn of(record: &Record) -> Line {
        let mut json = Vec::with_capacity(256 + 128 * record.links.len());
        record.write_line(&mut json);
        Line {
            json,
            bytes: record.bytes,
            fetch_ms: record.fetch_ms,
            parse_ms: record.parse_ms,
            error: record.error.as_ref().map(|e| e.kind),
            unchanged: record.unchanged,
            entry: None,
        }
    }
}

/// The host of the URL line `job` descends from, which its links carry on, so that -H's
/// headers and -b's pairs stay with it, wherever a redirect took the crawl.
fn seed_of_job(job: &Job) -> Option<Arc<str>> {
    match job.parent {
        None => seed_of(job.target.as_ref().ok()?),
        Some(_) => job.seed.clone(),
    }
}
