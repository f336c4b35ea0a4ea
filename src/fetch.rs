//! Turns a URL into a status and a body with the shared blocking client, within every limit, retrying what deserves it.

use std::fmt;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use reqwest::blocking::Client;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::redirect;
use url::Url;

use crate::decode::{self, BodyKind, SNIFF_LEN};
use crate::private;
use crate::record::{millis, ErrorKind, PageError};
use crate::retry;
use crate::sitemap::{self, GunzipError};
use crate::stop::Stop;

/// Sent unless --user-agent says otherwise: names the tool so site owners can tell who calls.
pub const USER_AGENT: &str = concat!("crawl/", env!("CARGO_PKG_VERSION"));

/// The fetch limits, as the command line gave them.
#[derive(Debug, Clone)]
pub struct Limits {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub retries: u32,
    pub max_retry_wait: Duration,
    pub max_redirects: usize,
    pub max_bytes: u64,
    pub allow_private: bool,
    /// Reuse connections; off, each request opens its own.
    pub keep_alive: bool,
    pub user_agent: String,
    /// Host names pinned to an address, as curl's --resolve does.
    pub resolve: Vec<(String, IpAddr)>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retries: 2,
            max_retry_wait: Duration::from_secs(60),
            max_redirects: 10,
            max_bytes: 10 * 1024 * 1024,
            allow_private: false,
            keep_alive: true,
            user_agent: USER_AGENT.into(),
            resolve: Vec::new(),
        }
    }
}

/// What one URL produced over all its attempts; parsing decides the rest of the record.
#[derive(Debug, Default)]
pub struct Fetched {
    pub final_url: Option<Url>,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// Body bytes received; more than `body.len()` when the body was dropped for its size.
    pub bytes: u64,
    pub attempts: u32,
    pub fetch_ms: Option<f64>,
    pub error: Option<PageError>,
    /// A stop cut the wait before another attempt: this is not the URL's outcome, so it gets
    /// no record, and --resume tries it again.
    pub interrupted: bool,
}

impl Fetched {
    /// A page that was never requested, such as an invalid URL line.
    pub fn failed(error: PageError) -> Self {
        Fetched {
            error: Some(error),
            ..Fetched::default()
        }
    }
}

/// The one client every crawler thread shares (so they share its connection pool), and the limits.
pub struct Fetcher {
    client: Client,
    limits: Limits,
}

/// The async twin for --mode async: the same limits, policies, body rules and error kinds,
/// only the waiting is done by tokio instead of blocked threads.
pub struct AsyncFetcher {
    client: reqwest::Client,
    limits: Limits,
}

/// Whether a failed attempt deserves another, and what the server asked us to wait.
enum Retry {
    No,
    Yes { after: Option<Duration> },
}

/// Both reqwest builders take the same settings under the same names.
macro_rules! configure {
    ($builder:expr, $limits:expr) => {{
        let limits: &Limits = $limits;
        let mut builder = $builder
            .user_agent(&limits.user_agent)
            // Each read may take the whole budget; the request's own timeout bounds the total.
            .timeout(limits.timeout)
            .connect_timeout(limits.connect_timeout)
            .redirect(redirect_policy(limits.max_redirects, limits.allow_private))
            .gzip(true)
            .brotli(true)
            .deflate(true);
        if !limits.keep_alive {
            // No idle connection is kept, so the next request must open its own.
            builder = builder.pool_max_idle_per_host(0);
        }
        for (host, ip) in &limits.resolve {
            builder = builder.resolve(host, SocketAddr::new(*ip, 0));
        }
        builder.build()?
    }};
}

impl Fetcher {
    pub fn new(limits: Limits) -> anyhow::Result<Self> {
        Ok(Fetcher {
            client: configure!(Client::builder(), &limits),
            limits,
        })
    }

    /// An async fetcher with the same limits.
    pub fn to_async(&self) -> anyhow::Result<AsyncFetcher> {
        Ok(AsyncFetcher {
            client: configure!(reqwest::Client::builder(), &self.limits),
            limits: self.limits.clone(),
        })
    }

    /// Fetches a page: HTML, XML or a gzipped sitemap; anything else is `not_html`. `pace` says
    /// when a retry due at an instant may start, so that retries keep the host's --delay.
    pub fn fetch(&self, url: &Url, stop: &Stop, pace: &dyn Fn(Instant) -> Instant) -> Fetched {
        self.fetch_as(url, stop, pace, Expect::Page)
    }

    /// Fetches a robots.txt: any type, and a body past ROBOTS_MAX_BYTES is cut there and kept,
    /// whatever --max-bytes says, as RFC 9309 asks.
    pub fn fetch_robots(
        &self,
        url: &Url,
        stop: &Stop,
        pace: &dyn Fn(Instant) -> Instant,
    ) -> Fetched {
        self.fetch_as(url, stop, pace, Expect::Robots)
    }

    /// Fetches `url`, retrying as the limits allow. The wait between attempts ends early on `stop`.
    fn fetch_as(
        &self,
        url: &Url,
        stop: &Stop,
        pace: &dyn Fn(Instant) -> Instant,
        expect: Expect,
    ) -> Fetched {
        let started = Instant::now();
        let mut attempts = 0;
        let mut fetched = loop {
            attempts += 1;
            let (mut fetched, retry) = self.attempt(url, expect);
            if let Some(wait) = next_wait(&self.limits, attempts, retry) {
                let start = pace(Instant::now() + wait);
                if stop.sleep(start.saturating_duration_since(Instant::now())) {
                    continue;
                }
                fetched.interrupted = true;
            }
            break fetched;
        };
        fetched.attempts = attempts;
        fetched.fetch_ms = Some(millis(started.elapsed()));
        fetched
    }

    fn attempt(&self, url: &Url, expect: Expect) -> (Fetched, Retry) {
        let started = Instant::now();
        // A per-request timeout is a deadline for the whole exchange, body included,
        // whereas the client's own timeout restarts at every read.
        let request = self.client.get(url.clone()).timeout(self.limits.timeout);
        let mut response = match request.send() {
            Ok(response) => response,
            Err(e) => return failed_send(e),
        };
        let mut body = match Body::start(
            &self.limits,
            expect,
            response.url(),
            response.status(),
            response.headers(),
            started,
        ) {
            Ok(body) => body,
            Err(done) => return done,
        };
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let want = chunk.len().min(body.room());
            let read = match response.read(&mut chunk[..want]) {
                Ok(0) => break,
                Ok(n) => body.take(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
                Err(e) => Err(classify_io(&e)),
            };
            if let Err(failed) = read {
                return body.fail(failed);
            }
        }
        body.end()
    }
}

impl AsyncFetcher {
    /// Fetches a page exactly as `Fetcher::fetch` does, awaiting instead of blocking.
    pub async fn fetch(
        &self,
        url: &Url,
        stop: &Stop,
        pace: &(dyn Fn(Instant) -> Instant + Sync),
    ) -> Fetched {
        let started = Instant::now();
        let mut attempts = 0;
        let mut fetched = loop {
            attempts += 1;
            let (mut fetched, retry) = self.attempt(url).await;
            if let Some(wait) = next_wait(&self.limits, attempts, retry) {
                let start = pace(Instant::now() + wait);
                if sleep_async(start.saturating_duration_since(Instant::now()), stop).await {
                    continue;
                }
                fetched.interrupted = true;
            }
            break fetched;
        };
        fetched.attempts = attempts;
        fetched.fetch_ms = Some(millis(started.elapsed()));
        fetched
    }

    async fn attempt(&self, url: &Url) -> (Fetched, Retry) {
        let started = Instant::now();
        let request = self.client.get(url.clone()).timeout(self.limits.timeout);
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => return failed_send(e),
        };
        let mut body = match Body::start(
            &self.limits,
            Expect::Page,
            response.url(),
            response.status(),
            response.headers(),
            started,
        ) {
            Ok(body) => body,
            Err(done) => return done,
        };
        while body.room() > 0 {
            let read = match response.chunk().await {
                Ok(None) => break,
                Ok(Some(chunk)) => body.take(&chunk),
                Err(e) => {
                    // reqwest calls every async body error a decode error, so look underneath.
                    let broke = connection_broke(&e);
                    let error = classify(e);
                    let retry = if error.kind == ErrorKind::Timeout || broke {
                        Retry::Yes { after: None }
                    } else {
                        Retry::No
                    };
                    Err((error, retry))
                }
            };
            if let Err(failed) = read {
                return body.fail(failed);
            }
        }
        body.end()
    }
}

/// Sleeps in short steps so a stop is noticed; says whether the whole wait happened.
async fn sleep_async(wait: Duration, stop: &Stop) -> bool {
    let until = Instant::now() + wait;
    while !stop.is_requested() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        tokio::time::sleep(left.min(Duration::from_millis(50))).await;
    }
    false
}

/// How long to wait before the next attempt, or None to stop trying.
fn next_wait(limits: &Limits, attempts: u32, retry: Retry) -> Option<Duration> {
    let Retry::Yes { after } = retry else {
        return None;
    };
    if attempts > limits.retries {
        return None;
    }
    match after {
        // Asked to come back later than we are willing to wait: give up now.
        Some(after) if after > limits.max_retry_wait => None,
        Some(after) => Some(after),
        None => Some(retry::backoff(attempts, limits.max_retry_wait)),
    }
}

fn failed_send(e: reqwest::Error) -> (Fetched, Retry) {
    let error = classify(e);
    let retry = match error.kind {
        ErrorKind::Connect | ErrorKind::Timeout => Retry::Yes { after: None },
        _ => Retry::No,
    };
    (Fetched::failed(error), retry)
}

/// What a caller will do with the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Page,
    Robots,
}

/// The part of a robots.txt that is read and obeyed: RFC 9309 asks crawlers to parse at least
/// 500 KiB, and lets them ignore what follows.
pub const ROBOTS_MAX_BYTES: u64 = 500 * 1024;

/// The rules for one response body, fed chunk by chunk by either client: a small prefix
/// first, so a page that is not HTML costs no more than that, then the rest up to
/// --max-bytes (decompressed), so no body can outgrow the cap, all within the deadline.
struct Body {
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
    fn start(
        limits: &Limits,
        expect: Expect,
        url: &Url,
        status: reqwest::StatusCode,
        headers: &reqwest::header::HeaderMap,
        started: Instant,
    ) -> Result<Body, (Fetched, Retry)> {
        let header = |name| Some(headers.get(name)?.to_str().ok()?.to_owned());
        let mut fetched = Fetched {
            final_url: Some(url.clone()),
            status: Some(status.as_u16()),
            content_type: header(CONTENT_TYPE),
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

    /// Bytes to read before the next check: up to the sniffing prefix, then one past the cap.
    fn room(&self) -> usize {
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

    fn take(&mut self, chunk: &[u8]) -> Result<(), (PageError, Retry)> {
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
    fn end(mut self) -> (Fetched, Retry) {
        if !self.sniffed {
            if let Err(failed) = self.sniff() {
                return self.fail(failed);
            }
        }
        let body = &mut self.fetched.body;
        if self.expect == Expect::Page && sitemap::is_gzip(body) {
            match sitemap::gunzip(body, self.cap) {
                Ok(unzipped) if sitemap::parse(&unzipped).is_some() => *body = unzipped,
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

    fn fail(mut self, (error, retry): (PageError, Retry)) -> (Fetched, Retry) {
        self.fetched.error = Some(error);
        (self.fetched, retry)
    }
}

/// Turns a URL line into something fetchable, or says why it is not.
pub fn target(line: &str) -> Result<Url, PageError> {
    let invalid = |why: &str| PageError::new(ErrorKind::InvalidUrl, format!("{why}: {line}"));
    let mut url = Url::parse(line).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("not an http(s) URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    // The fragment never reaches the server; dropping it keeps final_url honest.
    url.set_fragment(None);
    Ok(url)
}

/// Why the redirect policy refused to follow.
#[derive(Debug)]
enum RedirectRefused {
    TooMany(usize),
    Loop,
    Private(String),
}

impl fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectRefused::TooMany(n) => write!(f, "more than {n} redirects"),
            RedirectRefused::Loop => f.write_str("redirect loop"),
            RedirectRefused::Private(to) => write!(
                f,
                "redirect from a public host to a private address ({to}); --allow-private permits it"
            ),
        }
    }
}

impl std::error::Error for RedirectRefused {}

fn redirect_policy(max: usize, allow_private: bool) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        let previous = attempt.previous();
        if previous.contains(attempt.url()) {
            return attempt.error(RedirectRefused::Loop);
        }
        if previous.len() > max {
            return attempt.error(RedirectRefused::TooMany(max));
        }
        let from_public = previous
            .last()
            .is_some_and(|from| !private::is_private(from));
        if !allow_private && from_public && private::is_private(attempt.url()) {
            let to = attempt.url().to_string();
            return attempt.error(RedirectRefused::Private(to));
        }
        attempt.follow()
    })
}

fn classify(e: reqwest::Error) -> PageError {
    let refused = find_cause::<RedirectRefused>(&e);
    let kind = if let Some(RedirectRefused::Private(_)) = refused {
        ErrorKind::Blocked
    } else if refused.is_some() || e.is_redirect() {
        ErrorKind::Redirect
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_body() || e.is_decode() {
        ErrorKind::Body
    } else {
        ErrorKind::Connect
    };
    // reqwest names a URL: the line's in its blocking client, the failing hop's in its async
    // one. The record names the line's URL already, so the message keeps the cause alone and
    // reads the same in every mode.
    PageError::new(kind, chain(&e.without_url()))
}

/// Body read errors: a timeout, a broken connection (worth another try) or bad content (not).
fn classify_io(e: &io::Error) -> (PageError, Retry) {
    let inner = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<reqwest::Error>());
    let (kind, retry) =
        if e.kind() == io::ErrorKind::TimedOut || inner.is_some_and(reqwest::Error::is_timeout) {
            (ErrorKind::Timeout, true)
        } else {
            (ErrorKind::Body, connection_broke(e))
        };
    let retry = if retry {
        Retry::Yes { after: None }
    } else {
        Retry::No
    };
    (PageError::new(kind, chain(e)), retry)
}

/// Whether a body failed because the connection broke (worth another try) rather than because
/// its gzip, deflate or brotli data is corrupt (the same bytes would come again). Only the
/// former carries hyper's error: the decoders' own errors are plain io errors, mostly of kind
/// Other, so their kind cannot tell.
fn connection_broke(e: &(dyn std::error::Error + 'static)) -> bool {
    find_cause::<hyper::Error>(e).is_some()
}

fn find_cause<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(found) = cause.downcast_ref::<T>() {
            return Some(found);
        }
        source = cause.source();
    }
    None
}

/// reqwest's top-level messages ("error sending request") hide the cause; the chain names it.
fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(line: &str) -> Option<ErrorKind> {
        target(line).err().map(|e| e.kind)
    }

    #[test]
    fn only_http_urls_with_a_host_are_targets() {
        for line in [
            "file:///etc/passwd",
            "ftp://x.org/",
            "javascript:alert(1)",
            "hello",
            "http://",
            "/rel",
        ] {
            assert_eq!(kind(line), Some(ErrorKind::InvalidUrl), "{line}");
        }
        assert_eq!(kind("https://example.com/a"), None);
    }

    #[test]
    fn fragments_are_dropped() {
        assert_eq!(
            target("http://a.org/p#top").unwrap().as_str(),
            "http://a.org/p"
        );
    }

    #[test]
    fn idn_hosts_and_unicode_paths_are_encoded() {
        let url = target("https://例子.测试/博客/文章 1?q=并发").unwrap();
        assert_eq!(
            url.as_str(),
            "https://xn--fsqu00a.xn--0zwm56d/%E5%8D%9A%E5%AE%A2/%E6%96%87%E7%AB%A0%201?q=%E5%B9%B6%E5%8F%91"
        );
    }
}
