//! The one JSON line each URL line becomes: the contract that jq scripts and other tools read.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::urls::redact;

/// What a blog reader cares about besides the title and links. Every field None when absent or empty.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// `<meta name="description">`, else `og:description`.
    pub description: Option<String>,
    /// `<link rel="canonical">` resolved against the page URL, so it is comparable across pages.
    pub canonical: Option<String>,
    /// `<html lang>`.
    pub lang: Option<String>,
    /// `article:published_time`, else the first `<time datetime>`.
    pub published: Option<String>,
    /// `<meta name="author">`, else `article:author`, else the first `rel=author` element's text.
    pub author: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// The URL line as given, trimmed.
    pub url: String,
    /// Where the last redirect landed; null when nothing was fetched.
    pub final_url: Option<String>,
    pub status: Option<u16>,
    /// The HTTP version the answering response came with ("1.1", "2"); null when nothing was
    /// fetched.
    pub http_version: Option<&'static str>,
    /// The response's ETag and Last-Modified headers as received: what --since asks with.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// A 304 answered a --since request: the page is as the earlier record says, and title,
    /// links, meta and fields are that record's.
    pub unchanged: bool,
    pub title: Option<String>,
    pub links: Vec<Link>,
    #[serde(flatten)]
    pub meta: Meta,
    /// Values of the --field selectors, by name; left out when no --field was given.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Link steps from the URL lines: 0 for a line, 1 for a page it links to.
    pub depth: u32,
    /// The page that linked to this one (or the sitemap that listed it); null for URL lines.
    pub parent: Option<String>,
    /// Body bytes received (after content decoding).
    pub bytes: u64,
    /// The character encoding the body was decoded with; null when it was not decoded.
    pub encoding: Option<&'static str>,
    /// Requests made for this URL, retries included; 0 when it was never requested.
    pub attempts: u32,
    /// Wall time of the request and body read; null when nothing was fetched.
    pub fetch_ms: Option<f64>,
    /// Time spent parsing; null when the page was not parsed.
    pub parse_ms: Option<f64>,
    /// The page nested too deep to parse whole; title and links come from the part before the cut.
    pub truncated: bool,
    pub error: Option<PageError>,
    /// The mode that crawled the page, only in `compare -o`'s records; last, so that every
    /// record still starts with `{"url":`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub href: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageError {
    pub kind: ErrorKind,
    pub message: String,
}

impl PageError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PageError {
            kind,
            message: message.into(),
        }
    }
}

/// Why a page has no usable result. The snake_case names are part of the output contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The line is not an absolute http(s) URL; it was never fetched.
    InvalidUrl,
    /// No connection, or the request failed before a response arrived.
    Connect,
    /// The request or the body took longer than --timeout.
    Timeout,
    /// The server answered with a status outside 2xx.
    HttpStatus,
    /// The body could not be read to the end.
    Body,
    /// Too many redirects, or a redirect loop.
    Redirect,
    /// The body is larger than --max-bytes.
    TooLarge,
    /// The body is not HTML or XML (by Content-Type, or sniffed).
    NotHtml,
    /// A redirect from a public host to a private address, refused without --allow-private.
    Blocked,
    /// robots.txt disallows this URL line for our user-agent; it was not fetched.
    Robots,
    /// Taking the page (or its host's robots.txt) apart panicked: a bug in crawl.
    Parse,
    /// A shared crawl (--redis) handed the page out more than MAX_DELIVERIES times without
    /// getting its record back: the workers that took it died. It was not fetched again.
    Lost,
}

impl ErrorKind {
    /// The name used in records and stats.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidUrl => "invalid_url",
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::Body => "body",
            ErrorKind::Redirect => "redirect",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::NotHtml => "not_html",
            ErrorKind::Blocked => "blocked",
            ErrorKind::Robots => "robots",
            ErrorKind::Parse => "parse",
            ErrorKind::Lost => "lost",
        }
    }
}

impl Record {
    /// Masks every URL a record holds, and its error message, which may quote one.
    pub fn redact(&mut self) {
        let fields = [
            Some(&mut self.url),
            self.final_url.as_mut(),
            self.parent.as_mut(),
            self.meta.canonical.as_mut(),
            self.error.as_mut().map(|e| &mut e.message),
        ];
        let links = self.links.iter_mut().map(|link| &mut link.href);
        for text in fields.into_iter().flatten().chain(links) {
            if let Cow::Owned(masked) = redact::mask(text) {
                *text = masked;
            }
        }
    }

    /// Appends the record and a newline to `out`, so the writer gets whole lines only.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        // Serializing plain strings and numbers into a Vec cannot fail.
        serde_json::to_writer(&mut *out, self).expect("record serializes");
        out.push(b'\n');
    }
}

/// Milliseconds with microsecond resolution: fine enough for parse times, short enough to read.
pub fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}
