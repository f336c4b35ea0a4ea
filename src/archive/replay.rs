//! `crawl serve --replay`: a recorded crawl's responses served again on 127.0.0.1, each at
//! `/<its archived URL>` and after its recorded wait, so that a crawl of a real site can be
//! rerun offline with the site's own pages and latencies.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::fs::File;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::ext::ReasonPhrase;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use url::{Host, Url};

use super::read::{Damage, Reader, Record};
use crate::loopback;

/// The path that lists the archive's seeds, one URL a line.
pub const URLS_PATH: &str = "/urls.txt";

/// How long each response waits before its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// The time to first byte the archive recorded for it.
    Recorded,
    /// No wait.
    None,
    /// The same wait for every response.
    Fixed(Duration),
}

/// One archived response, ready to serve.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    /// The recorded reason phrase, when it is not the standard one (hyper sends that one).
    pub reason: Option<ReasonPhrase>,
    pub headers: HeaderMap,
    /// What is sent: the stored body, and one byte more for a body the recording cut for
    /// length, so that a crawl with the same --max-bytes cuts it again.
    pub body: Bytes,
    /// The recording cut the body for length (`WARC-Truncated: length`): the connection
    /// breaks after `body` instead of ending it, since the rest was never recorded.
    pub cut: bool,
    /// The recorded time to first byte; zero when the archive has none.
    pub ttfb: Duration,
}

/// What a WARC file holds for a replay: the last response for each URL, the crawl's seeds
/// and shape, and where reading stopped if the file is damaged.
#[derive(Debug, Default)]
pub struct Archive {
    pub replies: HashMap<String, Arc<Reply>>,
    /// Response records served: readable ones, the ones a later one for their URL replaced
    /// included.
    pub responses: usize,
    /// Response records whose HTTP message could not be read, and are not served.
    pub unreadable: usize,
    /// The recorded crawl's URL lines: pages at depth 0, hop 0, in the order recorded.
    pub seeds: Vec<String>,
    /// The --depth that replays the recorded crawl: the one its warcinfo records (the largest,
    /// if runs appended with different ones), else the deepest depth a page was recorded at.
    pub depth: u32,
    /// Each named host's address, as its last response came from it.
    pub pins: BTreeMap<String, IpAddr>,
    pub hosts: usize,
    pub damage: Option<Damage>,
}

impl Archive {
    /// Reads the WARC file at `path`, plain or gzipped.
    pub fn load(path: &Path) -> io::Result<Archive> {
        let mut reader = Reader::new(io::BufReader::new(File::open(path)?));
        let mut archive = Archive::from_records(reader.by_ref());
        archive.damage = reader.damage().cloned();
        Ok(archive)
    }

    /// Indexes records in file order: a later response for a URL replaces an earlier one.
    pub fn from_records(records: impl IntoIterator<Item = Record>) -> Archive {
        let mut archive = Archive::default();
        let mut responses = Vec::new();
        let mut metadata: HashMap<String, Vec<(String, String)>> = HashMap::new();
        let mut seeds = HashSet::new();
        let mut asked: Option<u32> = None;
        for record in records {
            if record.kind() == "warcinfo" {
                let fields = fields(&record.block);
                let depth = fields.iter().find(|(k, _)| k == "depth");
                if let Some(depth) = depth.and_then(|(_, v)| v.parse::<u32>().ok()) {
                    asked = Some(asked.map_or(depth, |a| a.max(depth)));
                }
                continue;
            }
            let Some(uri) = record.header("WARC-Target-URI").map(target) else {
                continue;
            };
            match record.kind() {
                "response" => responses.push((uri, record)),
                "metadata" => {
                    let fields = fields(&record.block);
                    let field = |name: &str| {
                        fields
                            .iter()
                            .find(|(k, _)| k == name)
                            .map(|(_, v)| v.as_str())
                    };
                    let depth = field("depth").and_then(|d| d.parse::<u32>().ok());
                    if field("purpose") == Some("page") {
                        archive.depth = archive.depth.max(depth.unwrap_or(0));
                        if depth == Some(0)
                            && field("hop") == Some("0")
                            && seeds.insert(uri.clone())
                        {
                            archive.seeds.push(uri);
                        }
                    }
                    if let Some(id) = record.header("WARC-Concurrent-To") {
                        metadata.insert(id.to_string(), fields);
                    }
                }
                _ => {}
            }
        }
        archive.depth = asked.unwrap_or(archive.depth);
        let mut hosts = HashSet::new();
        for (uri, record) in responses {
            let field = |name: &str| {
                let fields = metadata.get(record.header("WARC-Record-ID")?)?;
                let (_, value) = fields.iter().find(|(k, _)| k == name)?;
                Some(value.as_str())
            };
            let ttfb = field("ttfb-ms")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .map_or(Duration::ZERO, |ms| Duration::from_secs_f64(ms / 1000.0));
            let Some((status, reason, mut headers, body)) = http_response(&record.block) else {
                archive.unreadable += 1;
                continue;
            };
            if let Ok(url) = Url::parse(&uri) {
                if let Some(host) = url.host_str() {
                    hosts.insert(host.to_string());
                }
                let ip = record
                    .header("WARC-IP-Address")
                    .and_then(|ip| ip.parse().ok());
                if let (Some(Host::Domain(name)), Some(ip)) = (url.host(), ip) {
                    archive.pins.insert(name.to_string(), ip);
                }
            }
            let cut = record
                .header("WARC-Truncated")
                .is_some_and(|why| why.eq_ignore_ascii_case("length"));
            let body = match cut {
                true => {
                    let declared = field("declared-length").and_then(|n| n.parse::<u64>().ok());
                    if let Some(length) = declared.filter(|&n| n > body.len() as u64) {
                        headers.insert(CONTENT_LENGTH, length.into());
                    }
                    Bytes::from([body, b"\n"].concat())
                }
                false => Bytes::copy_from_slice(body),
            };
            archive.responses += 1;
            let reply = Reply {
                status,
                reason,
                headers,
                body,
                cut,
                ttfb,
            };
            archive.replies.insert(uri, Arc::new(reply));
        }
        archive.hosts = hosts.len();
        archive
    }

    /// The answer for a request target (`/<absolute URL>`), after the wait `timing` gives it.
    fn answer(
        &self,
        target: &str,
        timing: Timing,
        flushes: &Arc<Flushes>,
    ) -> (Duration, Response<Served>) {
        if target == URLS_PATH {
            let mut list = self.seeds.join("\n");
            list.push('\n');
            let mut response = Response::new(Served::whole(Bytes::from(list)));
            let text = HeaderValue::from_static("text/plain; charset=utf-8");
            response.headers_mut().insert(CONTENT_TYPE, text);
            return (Duration::ZERO, response);
        }
        let url = target.strip_prefix('/').map(self::target);
        let Some(reply) = url.and_then(|url| self.replies.get(&url)) else {
            let mut response =
                Response::new(Served::whole(Bytes::from_static(b"not in the archive\n")));
            *response.status_mut() = StatusCode::NOT_FOUND;
            return (Duration::ZERO, response);
        };
        let wait = match timing {
            Timing::Recorded => reply.ttfb,
            Timing::None => Duration::ZERO,
            Timing::Fixed(wait) => wait,
        };
        let body = Served {
            bytes: Some(reply.body.clone()),
            cut: reply.cut.then(|| flushes.clone()),
        };
        let mut response = Response::new(body);
        *response.status_mut() = reply.status;
        if let Some(reason) = &reply.reason {
            response.extensions_mut().insert(reason.clone());
        }
        *response.headers_mut() = reply.headers.clone();
        (wait, response)
    }
}

/// A replayed body: its bytes at once, then its end, or for a body the recording cut, a
/// broken connection once those bytes have left (a body's error makes hyper close the
/// connection, dropping what it had not written yet).
pub struct Served {
    bytes: Option<Bytes>,
    cut: Option<Arc<Flushes>>,
}

impl Served {
    fn whole(bytes: Bytes) -> Served {
        Served {
            bytes: Some(bytes),
            cut: None,
        }
    }
}

impl Body for Served {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(bytes) = self.bytes.take().filter(|b| !b.is_empty()) {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        let Some(flushes) = &self.cut else {
            return Poll::Ready(None);
        };
        let mut state = flushes.state.lock().unwrap_or_else(PoisonError::into_inner);
        if matches!(*state, Flush::Done) {
            *state = Flush::Idle;
            drop(state);
            self.cut = None;
            let cut = io::Error::other("the recording has no more of this body");
            return Poll::Ready(Some(Err(cut)));
        }
        *state = Flush::Waiting(cx.waker().clone());
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.cut.is_none() && self.bytes.as_ref().is_none_or(Bytes::is_empty)
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.bytes, &self.cut) {
            // A cut body has no length of its own: a declared one is in the headers.
            (_, Some(_)) => SizeHint::default(),
            (Some(bytes), None) => SizeHint::with_exact(bytes.len() as u64),
            (None, None) => SizeHint::with_exact(0),
        }
    }
}

/// Where a connection's flushes stand for a cut body waiting to break it.
#[derive(Debug, Default)]
enum Flush {
    #[default]
    Idle,
    /// The body's bytes are in hyper's buffer; wake it once they are written.
    Waiting(Waker),
    /// They are written: the body may break the connection.
    Done,
}

/// Shared by a connection and the bodies it serves: hyper flushes its connection only once
/// everything it buffered is written, which is when a cut body may break it.
#[derive(Debug, Default)]
pub struct Flushes {
    state: Mutex<Flush>,
}

/// A replay's connection, telling its cut bodies when they have been flushed.
struct Watched {
    io: TokioIo<TcpStream>,
    flushes: Arc<Flushes>,
}

impl hyper::rt::Read for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = Pin::new(&mut self.io).poll_flush(cx);
        if let Poll::Ready(Ok(())) = flushed {
            let mut state = self
                .flushes
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Flush::Waiting(waker) = std::mem::replace(&mut *state, Flush::Idle) {
                *state = Flush::Done;
                waker.wake();
            }
        }
        flushed
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// An archived URL as the index keys it: parsed and written back, so that one URL spelled two
/// ways (as a WARC-Target-URI, and as a request target) is one key. A fragment is dropped:
/// it never reaches a server, so the same response answers with or without it (some tools
/// archive it; a crawl of the replay may send it in the request target).
fn target(uri: &str) -> String {
    // WARC/1.0 writers put the URI in angle brackets.
    let uri = uri.trim().trim_start_matches('<').trim_end_matches('>');
    match Url::parse(uri) {
        Ok(mut url) => {
            url.set_fragment(None);
            url.into()
        }
        Err(_) => uri.split_once('#').map_or(uri, |(uri, _)| uri).to_string(),
    }
}

/// A metadata record's `name: value` lines.
fn fields(block: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(block)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Headers that describe one connection's transfer, not the response: the server sets its own.
const TRANSFER: [&str; 5] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
];

/// A response record's HTTP message: status, its reason phrase if not the standard one, the
/// headers to send again, and the body.
fn http_response(block: &[u8]) -> Option<(StatusCode, Option<ReasonPhrase>, HeaderMap, &[u8])> {
    let end = memchr::memmem::find(block, b"\r\n\r\n")?;
    let (head, body) = (&block[..end], &block[end + 4..]);
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    // A reason phrase may hold any byte past ASCII (obs-text): the line is taken as bytes.
    let mut parts = lines.next()?.splitn(3, |&b| b == b' ');
    if !parts.next()?.starts_with(b"HTTP/") {
        return None;
    }
    let status = StatusCode::from_bytes(parts.next()?).ok()?;
    let reason = parts
        .next()
        .map(<[u8]>::trim_ascii)
        .filter(|r| Some(*r) != status.canonical_reason().map(str::as_bytes))
        .and_then(|r| ReasonPhrase::try_from(r).ok());
    let mut headers = HeaderMap::new();
    for line in lines {
        let colon = line.iter().position(|&b| b == b':')?;
        let name = HeaderName::from_bytes(line[..colon].trim_ascii()).ok()?;
        if TRANSFER.contains(&name.as_str()) {
            continue;
        }
        let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).ok()?;
        headers.append(name, value);
    }
    Some((status, reason, headers, body))
}

/// A replay serving in the background until shut down or dropped.
pub struct RunningReplay {
    server: loopback::Running,
    requests: Arc<AtomicU64>,
}

impl RunningReplay {
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Requests answered or being answered so far, /urls.txt included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn shutdown(self) {
        self.server.shutdown();
    }
}

/// Binds 127.0.0.1:port (0: any free port) before returning, then serves `archive` in the
/// background (see `loopback`), so the caller needs no runtime.
pub fn start(archive: Arc<Archive>, timing: Timing, port: u16) -> anyhow::Result<RunningReplay> {
    let requests = Arc::new(AtomicU64::new(0));
    let counted = requests.clone();
    let server = loopback::start("crawl-replay", port, move |listener| {
        accept(listener, archive, timing, counted)
    })?;
    Ok(RunningReplay { server, requests })
}

async fn accept(
    listener: TcpListener,
    archive: Arc<Archive>,
    timing: Timing,
    requests: Arc<AtomicU64>,
) {
    let http = http1::Builder::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (archive, requests) = (archive.clone(), requests.clone());
        let flushes = Arc::new(Flushes::default());
        let io = Watched {
            io: TokioIo::new(stream),
            flushes: flushes.clone(),
        };
        let service = service_fn(move |request: Request<Incoming>| {
            requests.fetch_add(1, Ordering::SeqCst);
            let target = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string();
            let (archive, flushes) = (archive.clone(), flushes.clone());
            async move {
                let (wait, response) = archive.answer(&target, timing, &flushes);
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                Ok::<_, Infallible>(response)
            }
        });
        let connection = http.serve_connection(io, service);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::read::Reader;

    /// A record's bytes, as the writer lays them out.
    pub fn record(kind: &str, headers: &[(&str, &str)], block: &[u8]) -> Vec<u8> {
        let mut text = format!("WARC/1.1\r\nWARC-Type: {kind}\r\n");
        for (k, v) in headers {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        text.push_str(&format!("Content-Length: {}\r\n\r\n", block.len()));
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(block);
        bytes.extend_from_slice(b"\r\n\r\n");
        bytes
    }

    fn exchange(id: &str, url: &str, ip: &str, http: &str, meta: &str) -> Vec<u8> {
        let id = format!("<urn:uuid:{id}>");
        [
            record(
                "response",
                &[
                    ("WARC-Record-ID", &id),
                    ("WARC-Target-URI", url),
                    ("WARC-IP-Address", ip),
                ],
                http.as_bytes(),
            ),
            record(
                "metadata",
                &[("WARC-Target-URI", url), ("WARC-Concurrent-To", &id)],
                meta.as_bytes(),
            ),
        ]
        .concat()
    }

    fn archive() -> Archive {
        let bytes = [
            exchange(
                "1",
                "http://blog.example/",
                "93.184.216.34",
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nfirst",
                "ttfb-ms: 51.5\r\nfetch-ms: 52\r\npurpose: page\r\nhop: 0\r\ndepth: 0\r\n",
            ),
            exchange(
                "2",
                "http://blog.example/old",
                "93.184.216.34",
                "HTTP/1.1 301 Moved\r\nLocation: /new\r\n\r\n",
                "ttfb-ms: 10\r\npurpose: page\r\nhop: 0\r\ndepth: 1\r\nparent: http://blog.example/\r\n",
            ),
            exchange(
                "3",
                "http://blog.example/",
                "93.184.216.34",
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\nlast",
                "ttfb-ms: 7.25\r\npurpose: page\r\nhop: 0\r\ndepth: 0\r\n",
            ),
            exchange(
                "4",
                "http://127.0.0.1:9/robots.txt",
                "127.0.0.1",
                "HTTP/1.1 404 Not Found\r\n\r\n",
                "ttfb-ms: 1\r\npurpose: robots\r\nhop: 0\r\n",
            ),
        ]
        .concat();
        Archive::from_records(Reader::new(&bytes[..]))
    }

    #[test]
    fn the_last_response_for_a_url_wins_with_its_own_timing() {
        let archive = archive();
        assert_eq!(archive.responses, 4);
        assert_eq!(archive.replies.len(), 3);
        let (wait, response) =
            archive.answer("/http://blog.example/", Timing::Recorded, &Arc::default());
        assert_eq!(wait, Duration::from_micros(7250));
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/html");
        // The transfer's own headers are the server's business.
        assert!(!response.headers().contains_key("transfer-encoding"));
        let (wait, _) = archive.answer("/http://blog.example/", Timing::None, &Arc::default());
        assert_eq!(wait, Duration::ZERO);
        let fixed = Timing::Fixed(Duration::from_millis(3));
        assert_eq!(
            archive
                .answer("/http://blog.example/", fixed, &Arc::default())
                .0,
            Duration::from_millis(3)
        );
    }

    #[test]
    fn redirects_keep_their_location_and_unknown_urls_are_404() {
        let archive = archive();
        let (_, response) =
            archive.answer("/http://blog.example/old", Timing::None, &Arc::default());
        assert_eq!(response.status(), 301);
        assert_eq!(response.headers()["location"], "/new");
        let (_, response) =
            archive.answer("/http://blog.example/new", Timing::None, &Arc::default());
        assert_eq!(response.status(), 404);
        let (_, response) = archive.answer(
            "/http://127.0.0.1:9/robots.txt",
            Timing::None,
            &Arc::default(),
        );
        assert_eq!(response.status(), 404);
    }

    #[test]
    fn seeds_depth_hosts_and_pins_come_from_the_records() {
        let archive = archive();
        assert_eq!(archive.seeds, ["http://blog.example/"]);
        assert_eq!(archive.depth, 1);
        assert_eq!(archive.hosts, 2);
        let pins: Vec<_> = archive
            .pins
            .iter()
            .map(|(h, ip)| format!("{h}:{ip}"))
            .collect();
        assert_eq!(pins, ["blog.example:93.184.216.34"]);
    }
}
