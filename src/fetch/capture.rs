//! --warc's view of an attempt: each exchange of it (every redirect hop that got a response)
//! as crawl sent and received it, turned into WARC records when the attempt ends, in the
//! fetching thread, and handed to the archive's writer. Without --warc none of this exists.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_TYPE, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use reqwest::{StatusCode, Version};
use url::Url;

use super::body::Expect;
use super::redirect::Hop;
use super::{conditional, Limits, Request, REDIRECT_BODY};
use crate::archive::record::{self, Exchange, Truncated};
use crate::archive::writer::Archive;
use crate::output::record::{ErrorKind, PageError};
use crate::parse::decode::{self, BodyKind};
use crate::parse::sitemap;

/// What reqwest sends with every request besides what crawl sets (its defaults, with the gzip,
/// brotli and deflate features on).
const ACCEPT: &str = "*/*";
const ACCEPT_ENCODING: &str = "gzip,deflate,br";

/// Where a fetch stands in the crawl, for its metadata record: a page's depth and parent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Place<'a> {
    pub depth: u32,
    pub parent: Option<&'a str>,
}

/// One exchange, as far as it went.
struct Held {
    url: Url,
    date: SystemTime,
    sent: Instant,
    ttfb: Duration,
    fetch: Option<Duration>,
    ip: Option<IpAddr>,
    referer: Option<String>,
    version: Version,
    status: StatusCode,
    /// The reason phrase received, when it is not the standard one.
    reason: Option<Vec<u8>>,
    headers: HeaderMap,
    body: Vec<u8>,
    truncated: Option<Truncated>,
    /// --since's If-None-Match / If-Modified-Since, when the request carried them.
    conditions: Option<HeaderMap>,
}

/// The exchanges of one attempt. They are written when it ends (dropped), whichever way it
/// ends, all at once: a redirect hop's purpose is its fetch's, known from the last response.
pub struct Capture<'a> {
    archive: &'a Archive,
    limits: &'a Limits,
    place: Place<'a>,
    expect: Expect,
    sending: (Instant, SystemTime),
    held: Vec<Held>,
}

impl<'a> Capture<'a> {
    pub fn new(
        archive: &'a Archive,
        limits: &'a Limits,
        request: &Request<'a>,
        expect: Expect,
    ) -> Capture<'a> {
        Capture {
            archive,
            limits,
            place: request.place,
            expect,
            sending: (Instant::now(), SystemTime::now()),
            held: Vec::new(),
        }
    }

    /// A hop's request is about to go.
    pub fn sending(&mut self) {
        self.sending = (Instant::now(), SystemTime::now());
    }

    /// Its response's head came.
    pub fn head(
        &mut self,
        hop: &Hop,
        version: Version,
        status: StatusCode,
        reason: Option<&[u8]>,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
    ) {
        let (sent, date) = self.sending;
        // A fragment is the client's own: it is never sent, so it names nothing archived.
        let mut url = hop.url.clone();
        url.set_fragment(None);
        self.held.push(Held {
            url,
            date,
            sent,
            ttfb: sent.elapsed(),
            fetch: None,
            ip: peer.map(|p| p.ip()),
            referer: hop
                .referer
                .as_ref()
                .and_then(|r| r.to_str().ok())
                .map(String::from),
            version,
            status,
            reason: reason.map(<[u8]>::to_vec),
            headers: headers.clone(),
            body: Vec::new(),
            truncated: None,
            conditions: conditional::conditions(self.limits, hop, self.expect),
        });
    }

    /// Body bytes as read, kept up to `cap`, as crawl keeps them.
    pub fn keep(&mut self, bytes: &[u8], cap: u64) {
        if let Some(held) = self.held.last_mut() {
            let room = (cap as usize).saturating_sub(held.body.len());
            held.body.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }

    /// A redirect's body, drained up to REDIRECT_BODY.
    pub fn drained(&mut self, bytes: &[u8]) {
        self.keep(bytes, REDIRECT_BODY);
        let full = self
            .held
            .last()
            .is_some_and(|h| h.body.len() as u64 >= REDIRECT_BODY);
        self.end(full.then_some(Truncated::Length));
    }

    /// The body read ended, whole or cut for `failed`.
    pub fn ended(&mut self, failed: Option<&PageError>, broke: bool) {
        let truncated = failed.map(|error| match error.kind {
            ErrorKind::TooLarge => Truncated::Length,
            ErrorKind::Timeout => Truncated::Time,
            ErrorKind::Body if broke => Truncated::Disconnect,
            _ => Truncated::Unspecified,
        });
        self.end(truncated);
    }

    fn end(&mut self, truncated: Option<Truncated>) {
        if let Some(held) = self.held.last_mut().filter(|h| h.fetch.is_none()) {
            held.fetch = Some(held.sent.elapsed());
            held.truncated = truncated;
        }
    }

    /// What the fetch was for: robots.txt, a sitemap (the last response is XML or gzip) or a page.
    fn purpose(&self) -> &'static str {
        if self.expect == Expect::Robots {
            return "robots";
        }
        let Some(last) = self.held.last() else {
            return "page";
        };
        let content_type = last.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let xml = decode::classify(content_type, &last.body) == BodyKind::Xml;
        if xml || sitemap::is_gzip(&last.body) {
            "sitemap"
        } else {
            "page"
        }
    }
}

impl Drop for Capture<'_> {
    fn drop(&mut self) {
        // A response whose body crawl did not read (an error status, a refused redirect); a
        // 304 has none to read.
        let bodiless = self
            .held
            .last()
            .is_some_and(|h| h.status == StatusCode::NOT_MODIFIED);
        self.end((!bodiless).then_some(Truncated::Unspecified));
        if self.held.is_empty() {
            return;
        }
        let purpose = self.purpose();
        let gzip = self.archive.gzip();
        let mut bytes = Vec::new();
        for (hop, held) in self.held.iter().enumerate() {
            let mut sent = vec![
                ("User-Agent", self.limits.user_agent.as_str()),
                ("Accept", ACCEPT),
                ("Accept-Encoding", ACCEPT_ENCODING),
            ];
            sent.extend(held.referer.as_deref().map(|r| ("Referer", r)));
            // Spelled as the other headers of the record are.
            let conditions = held.conditions.iter().flatten();
            sent.extend(conditions.filter_map(|(name, value)| {
                let name = match *name {
                    IF_NONE_MATCH => "If-None-Match",
                    IF_MODIFIED_SINCE => "If-Modified-Since",
                    _ => name.as_str(),
                };
                Some((name, value.to_str().ok()?))
            }));
            let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
            let mut metadata = vec![
                ("ttfb-ms", ms(held.ttfb)),
                ("fetch-ms", ms(held.fetch.unwrap_or(held.ttfb))),
                ("purpose", purpose.to_string()),
                ("hop", hop.to_string()),
            ];
            if self.expect != Expect::Robots {
                metadata.push(("depth", self.place.depth.to_string()));
                metadata.extend(self.place.parent.map(|p| ("parent", p.to_string())));
            }
            if let Some(length) = declared(held) {
                metadata.push(("declared-length", length.to_string()));
            }
            let exchange = Exchange {
                url: &held.url,
                date: held.date,
                ip: held.ip,
                sent: &sent,
                version: held.version,
                status: held.status,
                reason: held.reason.as_deref(),
                headers: &held.headers,
                body: &held.body,
                truncated: held.truncated,
                metadata: &metadata,
            };
            let records = record::exchange(&exchange, gzip);
            if bytes.is_empty() {
                bytes = records;
            } else {
                bytes.extend_from_slice(&records);
            }
        }
        self.archive.send(bytes);
    }
}

/// The reason phrase a response's status line had, when it is not the standard one for its
/// status: hyper keeps only such a one, in the response's extensions.
pub fn reason(extensions: &http::Extensions) -> Option<&[u8]> {
    let reason = extensions.get::<hyper::ext::ReasonPhrase>()?;
    Some(reason.as_bytes())
}

/// The Content-Length a response cut for length declared, past what was kept: the response
/// record's Content-Length is the stored body's, so a replay needs this one to declare the
/// length the server did. (reqwest drops it from a body it decompresses.)
fn declared(held: &Held) -> Option<u64> {
    if held.truncated != Some(Truncated::Length) {
        return None;
    }
    let length = held
        .headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    (length > held.body.len() as u64).then_some(length)
}
