//! One response body under every rule: sniffed before it is read whole, capped at --max-bytes
//! after decompression, within the attempt's deadline, a gzipped sitemap unpacked.

use std::panic::{self, AssertUnwindSafe};
use std::time::{Instant, SystemTime};

use reqwest::header::{CONTENT_TYPE, ETAG, LAST_MODIFIED, RETRY_AFTER};
use url::Url;

use super::{Fetched, Limits, Retry};
use crate::fetch::retry;
use crate::output::record::{ErrorKind, PageError};
use crate::parse;
use crate::parse::decode::{self, BodyKind, SNIFF_LEN};
use crate::parse::sitemap::{self, GunzipError};

/// What a caller will do with the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Page,
    Robots,
}

/// The part of a robots.txt that is read and obeyed: RFC 9309 asks crawlers to parse at least
/// 500 KiB, and lets them ignore what follows.
pub const ROBOTS_MAX_BYTES: u64 = 500 * 1024;

/// Where a page's response came from, which the links found in it must respect.
pub struct Source {
    pub from_public: bool,
    /// Redirects followed to reach it.
    pub redirects: u32,
    /// The HTTP version it came with, as records spell it.
    pub version: &'static str,
}

/// The rules for one response body, fed chunk by chunk by either client: a small prefix
/// first, so a page that is not HTML costs no more than that, then the rest up to
/// --max-bytes (decompressed), so no body can outgrow the cap, all within the deadline.
pub struct Body {
    fetched: Fetched,
    expect: Expect,
    cap: u64,
    deadline: Instant,
    sniffed: bool,
}

impl Body {
    /// Judges the status line and headers; an error status ends the attempt here, since the
    /// body of an error page is not parsed, so it is not read either.
    // Err is the attempt's finished result, not a failure to propagate, so its size is moot.
    #[allow(clippy::result_large_err)]
    pub fn start(
        limits: &Limits,
        expect: Expect,
        url: &Url,
        status: reqwest::StatusCode,
        headers: &reqwest::header::HeaderMap,
        source: Source,
        started: Instant,
    ) -> Result<Body, (Fetched, Retry)> {
        let header = |name| Some(headers.get(name)?.to_str().ok()?.to_owned());
        let mut fetched = Fetched {
            final_url: Some(url.clone()),
            status: Some(status.as_u16()),
            http_version: Some(source.version),
            content_type: header(CONTENT_TYPE),
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
            from_public: source.from_public,
            redirects: source.redirects,
            ..Fetched::default()
        };
        if !status.is_success() {
            fetched.error = Some(PageError::new(ErrorKind::HttpStatus, status.to_string()));
            let retry = if retry::is_retryable_status(status.as_u16()) {
                let after =
                    header(RETRY_AFTER).and_then(|v| retry::retry_after(&v, SystemTime::now()));
                Retry::Yes { after }
            } else {
                Retry::No
            };
            return Err((fetched, retry));
        }
        Ok(Body {
            fetched,
            expect,
            cap: match expect {
                Expect::Page => limits.max_bytes,
                Expect::Robots => ROBOTS_MAX_BYTES,
            },
            deadline: started + limits.timeout,
            sniffed: false,
        })
    }

    /// The most bytes of this body that are kept.
    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// Bytes to read before the next check: up to the sniffing prefix, then one past the cap.
    pub fn room(&self) -> usize {
        let limit = if self.sniffed {
            self.cap + 1
        } else {
            (SNIFF_LEN as u64).min(self.cap + 1)
        };
        limit
            .saturating_sub(self.fetched.body.len() as u64)
            .try_into()
            .unwrap_or(usize::MAX)
    }

    pub fn take(&mut self, chunk: &[u8]) -> Result<(), (PageError, Retry)> {
        let mut chunk = chunk;
        while !chunk.is_empty() {
            let n = chunk.len().min(self.room());
            self.fetched.body.extend_from_slice(&chunk[..n]);
            self.fetched.bytes = self.fetched.body.len() as u64;
            chunk = &chunk[n..];
            if self.room() == 0 && !self.sniffed {
                self.sniff()?;
            }
            if self.room() == 0 {
                // One byte past the cap proves the body is too large; a cap under the sniffing
                // prefix gets here straight after sniffing. A robots.txt keeps what fits.
                match self.expect {
                    Expect::Page => self.fetched.body = Vec::new(),
                    Expect::Robots => self.fetched.body.truncate(self.cap as usize),
                }
                let message = format!("body larger than --max-bytes ({} bytes)", self.cap);
                return Err((PageError::new(ErrorKind::TooLarge, message), Retry::No));
            }
        }
        if Instant::now() > self.deadline {
            let error = PageError::new(ErrorKind::Timeout, "body not complete within --timeout");
            return Err((error, Retry::Yes { after: None }));
        }
        Ok(())
    }

    fn sniff(&mut self) -> Result<(), (PageError, Retry)> {
        self.sniffed = true;
        let content_type = self.fetched.content_type.as_deref();
        let body = &mut self.fetched.body;
        // A gzipped sitemap (sitemap.xml.gz) is the one binary body a crawler wants.
        if self.expect == Expect::Page
            && !sitemap::is_gzip(body)
            && decode::classify(content_type, body) == BodyKind::Other
        {
            let what = content_type.unwrap_or("no Content-Type; sniffed");
            body.clear();
            let error = PageError::new(ErrorKind::NotHtml, format!("not HTML ({what})"));
            return Err((error, Retry::No));
        }
        Ok(())
    }

    /// The body ended: a short one is judged now, a gzipped sitemap unpacked.
    pub fn end(mut self) -> (Fetched, Retry) {
        if !self.sniffed {
            if let Err(failed) = self.sniff() {
                return self.fail(failed);
            }
        }
        let body = &mut self.fetched.body;
        if self.expect == Expect::Page && sitemap::is_gzip(body) {
            let cap = self.cap;
            // The sitemap scanner is code of ours running on remote input, here on a crawler
            // thread: a bug one body trips costs that page, as in the parse step.
            let unpacked = panic::catch_unwind(AssertUnwindSafe(|| {
                let unzipped = sitemap::gunzip(body, cap)?;
                let listed = sitemap::parse(&unzipped);
                Ok((unzipped, listed))
            }));
            let unpacked = match unpacked {
                Ok(unpacked) => unpacked,
                Err(panic) => {
                    body.clear();
                    let message =
                        format!("sitemap parser panicked: {}", parse::panic_message(&*panic));
                    return self.fail((PageError::new(ErrorKind::Parse, message), Retry::No));
                }
            };
            match unpacked {
                Ok((unzipped, Some(map))) => {
                    // Read once, here: the parse step takes the sitemap as it is.
                    *body = unzipped;
                    self.fetched.sitemap = Some(Box::new(map));
                }
                Ok(_) => {
                    body.clear();
                    let error = PageError::new(
                        ErrorKind::NotHtml,
                        "not HTML (gzip data that is not a sitemap)",
                    );
                    return self.fail((error, Retry::No));
                }
                Err(GunzipError::TooLarge) => {
                    // As for a body that is too large as it comes: where unpacking stopped.
                    body.clear();
                    self.fetched.bytes = self.cap + 1;
                    let message = format!(
                        "body larger than --max-bytes ({} bytes) once gunzipped",
                        self.cap
                    );
                    return self.fail((PageError::new(ErrorKind::TooLarge, message), Retry::No));
                }
                Err(GunzipError::Corrupt(e)) => {
                    return self.fail((PageError::new(ErrorKind::Body, e), Retry::No))
                }
            }
        }
        (self.fetched, Retry::No)
    }

    pub fn fail(mut self, (error, retry): (PageError, Retry)) -> (Fetched, Retry) {
        self.fetched.error = Some(error);
        (self.fetched, retry)
    }
}
