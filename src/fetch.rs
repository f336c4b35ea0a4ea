//! Turns a URL into a status and a body with the shared clients, within every limit, following
//! redirects hop by hop and retrying what deserves it.

pub mod private;
pub mod retry;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::header::REFERER;
use url::Url;

use crate::archive::writer::Archive;
use crate::fetch::private::dns;
use crate::output::record::{millis, ErrorKind, PageError};
use crate::output::since::{Previous, Since};
use crate::parse::sitemap::Sitemap;
use crate::stop::Stop;
use crate::urls::redact;
use body::{Body, Expect};
use capture::Capture;
pub use capture::Place;
pub use proxy::Setting as ProxySetting;
use redirect::Hop;
pub use redirect::{Hops, NoRules};
use screen::Screen;

mod body;
mod capture;
mod conditional;
pub mod cookies;
pub mod headers;
mod proxy;
mod redirect;
mod screen;

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
    /// --from-replay: every request goes to this replay server (a loopback address) instead.
    pub from_replay: Option<SocketAddr>,
    /// --since: the earlier run's pages, asked for only if they changed.
    pub since: Option<Arc<Since>>,
    /// -H's headers and where they may go.
    pub headers: headers::Extra,
    /// -b and --cookie-jar's store; None, as without cookie flags, keeps and sends no cookie.
    pub cookies: Option<Arc<cookies::Cookies>>,
    /// -x and --noproxy; without them, the proxy variables.
    pub proxy: ProxySetting,
    /// --cacert, -k and --http1.1.
    pub tls: Tls,
}

/// How connections are secured and which HTTP they speak.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    /// --cacert: trusted besides the built-in roots.
    pub cacerts: Vec<reqwest::Certificate>,
    /// -k: no certificate is checked.
    pub insecure: bool,
    /// --http1.1: no HTTP/2, even where TLS offers it.
    pub http1_only: bool,
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
            from_replay: None,
            since: None,
            headers: headers::Extra::default(),
            cookies: None,
            proxy: ProxySetting::default(),
            tls: Tls::default(),
        }
    }
}

/// What one URL produced over all its attempts; parsing decides the rest of the record.
#[derive(Debug, Default)]
pub struct Fetched {
    pub final_url: Option<Url>,
    pub status: Option<u16>,
    /// The HTTP version of the response that answered: "1.1", "2"...
    pub http_version: Option<&'static str>,
    /// The response's ETag and Last-Modified, as received.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// A 304 said the page is as --since recorded it: that record, to carry over.
    pub previous: Option<Arc<Previous>>,
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
    /// The last response came from a public address: its links must not lead to private ones.
    pub from_public: bool,
    /// Redirects followed by the last attempt.
    pub redirects: u32,
    /// A gzipped sitemap, read when it was unpacked, so that it is not read again.
    pub sitemap: Option<Box<Sitemap>>,
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

/// One URL to fetch, and what its fetch must respect.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub url: &'a Url,
    /// Refuse private DNS answers from the first hop on: the URL came from a public page.
    pub guarded: bool,
    pub stop: &'a Stop,
    /// When an attempt due at an instant may start, so that retries keep the host's --delay.
    pub pace: &'a (dyn Fn(Instant) -> Instant + Sync),
    /// What each redirect hop must pass besides the fetcher's own rules.
    pub hops: &'a dyn Hops,
    /// Where the page stands in the crawl, for --warc's metadata.
    pub place: Place<'a>,
    /// The URL line the page descends from, as `headers::seed_of` spells it, whose host
    /// -H's headers and -b's pairs may go to; None for none.
    pub seed: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// A URL line's request: unguarded, unpaced, its redirects judged by the fetcher alone,
    /// and with no -H header or -b pair (the benchmark, its only user, takes neither).
    pub fn plain(url: &'a Url, stop: &'a Stop) -> Request<'a> {
        Request {
            url,
            guarded: false,
            stop,
            pace: &|t| t,
            hops: &NoRules,
            place: Place::default(),
            seed: None,
        }
    }
}

/// The clients every crawler thread shares, so they share their connection pools, and the
/// limits. Two clients, one per trust: `open` resolves names as the system does, for the URLs
/// the user gave and pages reached from private ones; `guarded` refuses private answers, for
/// pages reached from public ones. A connection in the guarded pool was opened to a public
/// address, so reusing it cannot reach a private one.
#[derive(Clone)]
pub struct Fetcher {
    open: Client,
    guarded: Client,
    limits: Arc<Limits>,
    screen: Screen,
    /// With --warc, where every exchange goes.
    archive: Option<Arc<Archive>>,
}

/// The async twin for --mode async: the same limits, policies, body rules and error kinds,
/// only the waiting is done by tokio instead of blocked threads.
pub struct AsyncFetcher {
    open: reqwest::Client,
    guarded: reqwest::Client,
    limits: Arc<Limits>,
    screen: Screen,
    /// With --warc, where every exchange goes.
    archive: Option<Arc<Archive>>,
}

/// Whether a failed attempt deserves another, and what the server asked us to wait.
pub enum Retry {
    No,
    Yes { after: Option<Duration> },
}

/// Both reqwest builders take the same settings under the same names.
macro_rules! configure {
    ($builder:expr, $limits:expr, $screen:expr, $guard:expr) => {{
        let screen: &Screen = $screen;
        let limits: &Limits = $limits;
        let mut builder = $builder
            .user_agent(&limits.user_agent)
            // Each read may take the whole budget; the request's own timeout bounds the total.
            .timeout(limits.timeout)
            .connect_timeout(limits.connect_timeout)
            // Redirects are followed here, hop by hop, each judged first (see redirect.rs),
            // with the Referer that module allows.
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .dns_resolver(Arc::new(screen.resolver($guard)))
            .gzip(true)
            .brotli(true)
            .deflate(true);
        if !limits.keep_alive {
            // No idle connection is kept, so the next request must open its own.
            builder = builder.pool_max_idle_per_host(0);
        }
        if let Some(cookies) = &limits.cookies {
            builder = builder.cookie_provider(cookies.provider());
        }
        // The proxies the guard knows of, and no other: the client reads no variable itself.
        builder = builder.no_proxy();
        // A replay is on this machine: no request may leave it, through a proxy either.
        if limits.from_replay.is_none() {
            for proxy in screen.proxies.for_reqwest() {
                builder = builder.proxy(proxy);
            }
        }
        for cert in &limits.tls.cacerts {
            builder = builder.add_root_certificate(cert.clone());
        }
        if limits.tls.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        if limits.tls.http1_only {
            builder = builder.http1_only();
        }
        for (host, ip) in &limits.resolve {
            // A pin holds for its host written with or without the trailing dot.
            for name in [host.clone(), format!("{host}.")] {
                builder = builder.resolve(&name, SocketAddr::new(*ip, 0));
            }
        }
        builder.build()?
    }};
}

/// Either client's request for a hop: through the client its trust picks, within what is left
/// of the attempt's deadline (a deadline for the whole exchange, body included, whereas the
/// client's own timeout restarts at every read), with the Referer the hop may carry.
macro_rules! prepare {
    ($fetcher:expr, $request:expr, $hop:expr, $left:expr, $expect:expr) => {{
        let (client, url) = match replayed(&$fetcher.limits, &$hop.url) {
            Some(url) => (&$fetcher.open, url),
            None if $hop.guarded => (&$fetcher.guarded, $hop.url.clone()),
            None => (&$fetcher.open, $hop.url.clone()),
        };
        let mut builder = client.get(url).timeout($left);
        if let Some(conditions) = conditional::conditions(&$fetcher.limits, &$hop, $expect) {
            builder = builder.headers(conditions);
        }
        if let Some(referer) = &$hop.referer {
            builder = builder.header(REFERER, referer);
        }
        if let Some(cookies) = &$fetcher.limits.cookies {
            cookies.before(&$hop.url, $request.seed);
        }
        // The user's last, replacing the crawl's own of the same name, as curl's -H does.
        match $fetcher.limits.headers.for_url(&$hop.url, $request.seed) {
            Some(headers) => builder.headers(headers.clone()),
            None => builder,
        }
    }};
}

/// Where a hop's request goes under --from-replay: `http://ADDR:PORT/<the hop's URL>`, the
/// replay server's address for it, through the open client (the server is on loopback, and
/// the guard has judged the hop's own host already). Everything else keeps the hop's URL.
fn replayed(limits: &Limits, url: &Url) -> Option<Url> {
    let server = limits.from_replay?;
    let replayed = Url::parse(&format!("http://{server}/{url}"));
    Some(replayed.expect("an http URL after a socket address is a URL"))
}

/// A redirect's body is read this far, so its connection can be reused, and no further.
const REDIRECT_BODY: u64 = 64 * 1024;

impl Fetcher {
    /// Whether a page at `url` counts as public, with no address to go by (a page an earlier
    /// run recorded): the name decides, resolved here.
    pub fn is_public_page(&self, url: &Url) -> bool {
        self.screen.is_public(url, None)
    }

    pub fn new(limits: Limits) -> anyhow::Result<Self> {
        let screen = Screen::new(&limits);
        Ok(Fetcher {
            open: configure!(Client::builder(), &limits, &screen, false),
            guarded: configure!(Client::builder(), &limits, &screen, true),
            limits: Arc::new(limits),
            screen,
            archive: None,
        })
    }

    /// The same fetcher, keeping every exchange in `archive` (--warc).
    pub fn archiving(mut self, archive: Arc<Archive>) -> Self {
        self.archive = Some(archive);
        self
    }

    /// An async fetcher with the same limits.
    pub fn to_async(&self) -> anyhow::Result<AsyncFetcher> {
        let screen = &self.screen;
        Ok(AsyncFetcher {
            open: configure!(reqwest::Client::builder(), &self.limits, screen, false),
            guarded: configure!(reqwest::Client::builder(), &self.limits, screen, true),
            limits: self.limits.clone(),
            screen: screen.clone(),
            archive: self.archive.clone(),
        })
    }

    /// Fetches a page: HTML, XML or a gzipped sitemap; anything else is `not_html`.
    pub fn fetch(&self, request: &Request) -> Fetched {
        self.fetch_as(request, Expect::Page)
    }

    /// Fetches a robots.txt: any type, and a body past ROBOTS_MAX_BYTES is cut there and kept,
    /// whatever --max-bytes says, as RFC 9309 asks.
    pub fn fetch_robots(&self, request: &Request) -> Fetched {
        self.fetch_as(request, Expect::Robots)
    }

    /// Fetches, retrying as the limits allow. The wait between attempts ends early on a stop.
    fn fetch_as(&self, request: &Request, expect: Expect) -> Fetched {
        let started = Instant::now();
        let mut attempts = 0;
        let mut fetched = loop {
            attempts += 1;
            let (mut fetched, retry) = self.attempt(request, expect);
            if let Some(wait) = next_wait(&self.limits, attempts, retry) {
                let start = (request.pace)(Instant::now() + wait);
                if request
                    .stop
                    .sleep(start.saturating_duration_since(Instant::now()))
                {
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

    fn attempt(&self, request: &Request, expect: Expect) -> (Fetched, Retry) {
        // Moves forward by the time each hop waited to be judged (its host's robots.txt, its
        // host's turn): the waiting is politeness, and --timeout is for the exchanges.
        let mut started = Instant::now();
        let mut hop = Hop::first(request.url, request.guarded);
        let mut chain = Vec::new();
        let mut capture = self
            .archive
            .as_deref()
            .map(|archive| Capture::new(archive, &self.limits, request, expect));
        loop {
            let Some(left) = time_left(&self.limits, started) else {
                return after(&chain, timed_out());
            };
            if let Err(refused) = self.screen.check(&hop) {
                return after(&chain, (Fetched::failed(refused), Retry::No));
            }
            if let Some(capture) = &mut capture {
                capture.sending();
            }
            let mut response = match prepare!(self, request, hop, left, expect).send() {
                Ok(response) => response,
                Err(e) => return after(&chain, failed_send(e)),
            };
            if let Some(capture) = &mut capture {
                let (status, headers) = (response.status(), response.headers());
                let peer = response.remote_addr();
                let reason = capture::reason(response.extensions());
                capture.head(&hop, response.version(), status, reason, headers, peer);
            }
            let head = Head {
                status: response.status(),
                version: response.version(),
                headers: response.headers(),
                from_public: self.screen.is_public(&hop.url, response.remote_addr()),
            };
            let judging = Instant::now();
            let mut body = match step(
                &self.limits,
                request,
                expect,
                &hop,
                head,
                &mut chain,
                started,
            ) {
                Step::Follow(next) => {
                    started += judging.elapsed();
                    let drain = &mut (&mut response).take(REDIRECT_BODY);
                    match &mut capture {
                        Some(capture) => {
                            let mut drained = Vec::new();
                            let _ = io::copy(drain, &mut drained);
                            capture.drained(&drained);
                        }
                        None => {
                            let _ = io::copy(drain, &mut io::sink());
                        }
                    }
                    hop = next;
                    continue;
                }
                Step::Done(done) => return done,
                Step::Read(body) => body,
            };
            let mut chunk = [0u8; 16 * 1024];
            loop {
                let want = chunk.len().min(body.room());
                let read = match response.read(&mut chunk[..want]) {
                    Ok(0) => break,
                    Ok(n) => {
                        if let Some(capture) = &mut capture {
                            capture.keep(&chunk[..n], body.cap());
                        }
                        body.take(&chunk[..n])
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
                    Err(e) => Err(classify_io(&e)),
                };
                if let Err(failed) = read {
                    if let Some(capture) = &mut capture {
                        let broke = matches!(failed.1, Retry::Yes { .. });
                        capture.ended(Some(&failed.0), broke);
                    }
                    return body.fail(failed);
                }
            }
            if let Some(capture) = &mut capture {
                capture.ended(None, false);
            }
            return body.end();
        }
    }
}

impl AsyncFetcher {
    /// Fetches a page exactly as `Fetcher::fetch` does, awaiting instead of blocking.
    pub async fn fetch(&self, request: &Request<'_>) -> Fetched {
        let started = Instant::now();
        let mut attempts = 0;
        let mut fetched = loop {
            attempts += 1;
            let (mut fetched, retry) = self.attempt(request).await;
            if let Some(wait) = next_wait(&self.limits, attempts, retry) {
                let start = (request.pace)(Instant::now() + wait);
                if sleep_async(
                    start.saturating_duration_since(Instant::now()),
                    request.stop,
                )
                .await
                {
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

    async fn attempt(&self, request: &Request<'_>) -> (Fetched, Retry) {
        // As in the blocking attempt: the waits to judge a hop are not the exchange's time.
        let mut started = Instant::now();
        let mut hop = Hop::first(request.url, request.guarded);
        let mut chain = Vec::new();
        let mut capture = self
            .archive
            .as_deref()
            .map(|archive| Capture::new(archive, &self.limits, request, Expect::Page));
        loop {
            let Some(left) = time_left(&self.limits, started) else {
                return after(&chain, timed_out());
            };
            if self.screen.applies(&hop) {
                // The lookup blocks: the runtime's other tasks move to another worker meanwhile.
                if let Err(refused) = tokio::task::block_in_place(|| self.screen.check(&hop)) {
                    return after(&chain, (Fetched::failed(refused), Retry::No));
                }
            }
            if let Some(capture) = &mut capture {
                capture.sending();
            }
            let mut response = match prepare!(self, request, hop, left, Expect::Page)
                .send()
                .await
            {
                Ok(response) => response,
                Err(e) => return after(&chain, failed_send(e)),
            };
            let peer = response.remote_addr();
            if let Some(capture) = &mut capture {
                let (status, headers) = (response.status(), response.headers());
                let reason = capture::reason(response.extensions());
                capture.head(&hop, response.version(), status, reason, headers, peer);
            }
            // Telling may take a lookup, which blocks: the runtime's other tasks move meanwhile.
            let from_public = match self.screen.looks_up(&hop.url, peer) {
                true => tokio::task::block_in_place(|| self.screen.is_public(&hop.url, peer)),
                false => self.screen.is_public(&hop.url, peer),
            };
            let head = Head {
                status: response.status(),
                version: response.version(),
                headers: response.headers(),
                from_public,
            };
            let asks = redirect::asks(head.status, head.headers);
            let mut step = || {
                step(
                    &self.limits,
                    request,
                    Expect::Page,
                    &hop,
                    head,
                    &mut chain,
                    started,
                )
            };
            // Judging a hop may fetch a robots.txt with the blocking client: this worker
            // thread lets the runtime's other tasks move to another one meanwhile.
            let judging = Instant::now();
            let step = if asks {
                tokio::task::block_in_place(step)
            } else {
                step()
            };
            let mut body = match step {
                Step::Follow(next) => {
                    started += judging.elapsed();
                    let mut drained = 0;
                    let mut kept = Vec::new();
                    while drained < REDIRECT_BODY {
                        match response.chunk().await {
                            Ok(Some(chunk)) => {
                                drained += chunk.len() as u64;
                                if capture.is_some() {
                                    kept.extend_from_slice(&chunk);
                                }
                            }
                            _ => break,
                        }
                    }
                    if let Some(capture) = &mut capture {
                        capture.drained(&kept);
                    }
                    hop = next;
                    continue;
                }
                Step::Done(done) => return done,
                Step::Read(body) => body,
            };
            while body.room() > 0 {
                let read = match response.chunk().await {
                    Ok(None) => break,
                    Ok(Some(chunk)) => {
                        if let Some(capture) = &mut capture {
                            capture.keep(&chunk, body.cap());
                        }
                        body.take(&chunk)
                    }
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
                    if let Some(capture) = &mut capture {
                        let broke = matches!(failed.1, Retry::Yes { .. });
                        capture.ended(Some(&failed.0), broke);
                    }
                    return body.fail(failed);
                }
            }
            if let Some(capture) = &mut capture {
                capture.ended(None, false);
            }
            return body.end();
        }
    }
}

/// A response's status line and headers, and whether it came from a public place.
#[derive(Clone, Copy)]
struct Head<'a> {
    status: reqwest::StatusCode,
    version: reqwest::Version,
    headers: &'a reqwest::header::HeaderMap,
    from_public: bool,
}

/// What an attempt does once a response's head has arrived.
enum Step {
    /// Request the next hop of a redirect.
    Follow(Hop),
    /// Read the body: this is the page.
    Read(Body),
    /// The attempt is over.
    Done((Fetched, Retry)),
}

/// The rules both clients apply to a response's head: a redirect is judged and followed or
/// refused; anything else is the page, whose status decides whether its body is read.
fn step(
    limits: &Limits,
    request: &Request,
    expect: Expect,
    hop: &Hop,
    head: Head,
    chain: &mut Vec<Url>,
    started: Instant,
) -> Step {
    let Head {
        status,
        version,
        headers,
        from_public,
    } = head;
    match redirect::next(
        limits,
        hop,
        status,
        headers,
        from_public,
        chain,
        request.hops,
    ) {
        Some(Ok(next)) => return Step::Follow(next),
        Some(Err(refusal)) => return Step::Done(refused(refusal, hop, &head, chain)),
        None => {}
    }
    let source = body::Source {
        from_public,
        redirects: chain.len() as u32,
        version: version_name(version),
    };
    if let Some(unchanged) = conditional::unchanged(limits, hop, expect, status, headers, &source) {
        return Step::Done((unchanged, Retry::No));
    }
    match Body::start(limits, expect, &hop.url, status, headers, source, started) {
        Ok(body) => Step::Read(body),
        Err(done) => Step::Done(done),
    }
}

/// What is left of an attempt's --timeout, which its redirects share; None once it is spent.
fn time_left(limits: &Limits, started: Instant) -> Option<Duration> {
    let left = limits.timeout.checked_sub(started.elapsed())?;
    (!left.is_zero()).then_some(left)
}

fn timed_out() -> (Fetched, Retry) {
    let error = PageError::new(
        ErrorKind::Timeout,
        "redirects not complete within --timeout",
    );
    (Fetched::failed(error), Retry::Yes { after: None })
}

/// An attempt that failed before a response, after the redirects in `chain`: whether it failed
/// on the first hop or a later one tells a host that is refused from one that redirects to a
/// refused one (robots.rs).
fn after(chain: &[Url], (mut fetched, retry): (Fetched, Retry)) -> (Fetched, Retry) {
    fetched.redirects = chain.len() as u32;
    (fetched, retry)
}

/// A redirect not followed. A refusal of kind `redirect` keeps the response that asked for
/// it; a hop that robots.txt or the guard refused was never requested, like a URL line
/// robots.txt disallows, so nothing was fetched.
fn refused(refusal: redirect::Refusal, hop: &Hop, head: &Head, chain: &[Url]) -> (Fetched, Retry) {
    let mut fetched = Fetched::failed(refusal.error);
    if refusal.answered {
        fetched.final_url = Some(hop.url.clone());
        fetched.status = Some(head.status.as_u16());
        fetched.http_version = Some(version_name(head.version));
    }
    after(chain, (fetched, Retry::No))
}

/// A response's HTTP version as records spell it.
fn version_name(version: reqwest::Version) -> &'static str {
    match version {
        reqwest::Version::HTTP_09 => "0.9",
        reqwest::Version::HTTP_10 => "1.0",
        reqwest::Version::HTTP_2 => "2",
        reqwest::Version::HTTP_3 => "3",
        _ => "1.1",
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

/// A URL's bytes (a URL line, a Location header) as text that keeps them all: valid UTF-8 as
/// it is, and each other byte as `%XX`, which is how curl and browsers send such a byte, so the
/// server is asked for the path the bytes name and the record shows which bytes they were.
pub fn url_text(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(text);
    }
    let mut text = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for b in chunk.invalid() {
            write!(text, "%{b:02X}").expect("writing to a String cannot fail");
        }
    }
    Cow::Owned(text)
}

/// Turns a URL line into something fetchable, or says why it is not.
pub fn target(line: &str) -> Result<Url, PageError> {
    let invalid = |why: &str| {
        let line = redact::mask(line);
        PageError::new(ErrorKind::InvalidUrl, format!("{why}: {line}"))
    };
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

fn classify(e: reqwest::Error) -> PageError {
    // The guarded resolver's refusal says all there is to say: the host and the address.
    if let Some(refused) = find_cause::<dns::PrivateAnswer>(&e) {
        return PageError::new(ErrorKind::Blocked, refused.to_string());
    }
    let kind = if e.is_redirect() {
        ErrorKind::Redirect
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_body() || e.is_decode() {
        ErrorKind::Body
    } else {
        ErrorKind::Connect
    };
    // reqwest names the URL it requested. The record names the URL already, so the message
    // keeps the cause alone and reads the same in every mode.
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
