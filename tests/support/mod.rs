//! The shared test harness: a counting HTTP server on 127.0.0.1:0 and a helper that runs the crawl binary.
#![allow(dead_code)]

pub mod proxy;
pub mod redis;
pub mod tls;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The port the client addressed, from the Host header: where absolute links and redirects
    /// to other names on this server must point.
    pub fn port(&self) -> String {
        let host = self.header("host").expect("a Host header");
        host.rsplit(':').next().unwrap_or_default().to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Writes a response by hand on the open connection.
pub type RawWriter = Box<dyn FnOnce(&mut TcpStream) + Send>;

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Takes over the connection instead: for responses no well-behaved server would send.
    pub raw: Option<RawWriter>,
}

impl Response {
    pub fn html(body: impl Into<String>) -> Self {
        Response::new(200, "text/html; charset=utf-8", body.into().into_bytes())
    }

    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
            raw: None,
        }
    }

    /// Writes whatever `f` writes, then closes the connection.
    pub fn raw(f: impl FnOnce(&mut TcpStream) + Send + 'static) -> Self {
        Response {
            raw: Some(Box::new(f)),
            ..Response::new(200, "text/html", Vec::new())
        }
    }

    pub fn status(status: u16) -> Self {
        Response::new(
            status,
            "text/html",
            format!("<title>{status}</title>").into_bytes(),
        )
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What every handler can see: counters kept by the server itself.
#[derive(Default)]
pub struct Stats {
    in_flight: Mutex<usize>,
    changed: Condvar,
    max_in_flight: AtomicUsize,
    requests: AtomicUsize,
    connections: AtomicUsize,
    paths: Mutex<Vec<(String, Instant)>>,
    seen: Mutex<Vec<Request>>,
}

impl Stats {
    /// Requests received so far, the calling one included.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Holds the calling request until `n` requests have been in flight at once, or `limit`
    /// passes, and says which. It waits on the high-water mark, not the current count, so a
    /// request that arrives after the others already met and left is released too.
    pub fn wait_for_in_flight(&self, n: usize, limit: Duration) -> bool {
        let guard = self.in_flight.lock().unwrap();
        let _guard = self
            .changed
            .wait_timeout_while(guard, limit, |_| {
                self.max_in_flight.load(Ordering::SeqCst) < n
            })
            .unwrap();
        self.max_in_flight.load(Ordering::SeqCst) >= n
    }
}

type Handler = dyn Fn(&Request, &Stats) -> Response + Send + Sync;

pub struct Server {
    addr: SocketAddr,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start(handler: impl Fn(&Request, &Stats) -> Response + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (s, st) = (stats.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                s.connections.fetch_add(1, Ordering::SeqCst);
                let (stats, handler) = (s.clone(), handler.clone());
                thread::spawn(move || serve_connection(conn, &stats, &*handler));
            }
        });
        Server { addr, stats, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Requests received so far, in arrival order.
    pub fn requests_seen(&self) -> Vec<Request> {
        self.stats.seen.lock().unwrap().clone()
    }

    pub fn requests(&self) -> usize {
        self.stats.requests.load(Ordering::SeqCst)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.stats.connections.load(Ordering::SeqCst)
    }

    pub fn max_in_flight(&self) -> usize {
        self.stats.max_in_flight.load(Ordering::SeqCst)
    }

    /// Requests being answered right now: received, their response not yet written whole.
    pub fn in_flight(&self) -> usize {
        *self.stats.in_flight.lock().unwrap()
    }

    /// Paths requested so far, in arrival order.
    pub fn paths(&self) -> Vec<String> {
        self.arrivals().into_iter().map(|(path, _)| path).collect()
    }

    /// Paths requested so far, with the time each request arrived.
    pub fn arrivals(&self) -> Vec<(String, Instant)> {
        self.stats.paths.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve_connection(conn: TcpStream, stats: &Stats, handler: &Handler) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn;
    while let Some(request) = read_request(&mut reader) {
        stats.requests.fetch_add(1, Ordering::SeqCst);
        stats
            .paths
            .lock()
            .unwrap()
            .push((request.path.clone(), Instant::now()));
        stats.seen.lock().unwrap().push(request.clone());
        {
            let mut now = stats.in_flight.lock().unwrap();
            *now += 1;
            stats.max_in_flight.fetch_max(*now, Ordering::SeqCst);
            stats.changed.notify_all();
        }
        let mut response = handler(&request, stats);
        let sent = match response.raw.take() {
            Some(raw) => {
                raw(&mut writer);
                Err(std::io::Error::other("raw responses end the connection"))
            }
            None => write_response(&mut writer, &request, &response),
        };
        *stats.in_flight.lock().unwrap() -= 1;
        stats.changed.notify_all();
        if sent.is_err() {
            return;
        }
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
    })
}

fn write_response(w: &mut TcpStream, request: &Request, r: &Response) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\n",
        r.status,
        r.body.len()
    );
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    if request.method != "HEAD" {
        w.write_all(&r.body)?;
    }
    w.flush()
}

/// A small blog page: a title, `n` post links and some navigation links.
pub fn blog_page(title: &str, posts: &[&str]) -> String {
    let mut html = format!(
        "<!doctype html><html><head><title>\n  {title}\n</title></head><body>\
         <nav><a href=\"/\">Home</a> <a href=\"/about\">About</a></nav>"
    );
    for post in posts {
        html.push_str(&format!(
            "<h2><a class=\"post-item-title\" href=\"{post}\">\n  Post {post}  </a></h2><p>摘要 text</p>"
        ));
    }
    html.push_str("<a href=\"mailto:me@example.com\">mail</a></body></html>");
    html
}

/// An HTML page with a title and one anchor per link.
pub fn page(title: &str, links: &[&str]) -> Response {
    let anchors: String = links
        .iter()
        .map(|l| format!("<a href=\"{l}\">{l}</a>\n"))
        .collect();
    Response::html(format!(
        "<html lang=\"en\"><head><title>{title}</title></head><body>{anchors}</body></html>"
    ))
}

/// A sitemap body: `root` is "urlset" for page URLs, anything else for an index of sitemaps.
pub fn sitemap(root: &str, locs: &[String]) -> String {
    let (outer, inner) = if root == "urlset" {
        ("urlset", "url")
    } else {
        ("sitemapindex", "sitemap")
    };
    let items: String = locs
        .iter()
        .map(|l| format!("<{inner}><loc>{l}</loc></{inner}>"))
        .collect();
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{outer} xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{items}</{outer}>")
}

/// The outcome of one run of the binary.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.status.code().expect("exited normally")
    }

    /// Every stdout line, parsed; a line that is not JSON fails the test.
    pub fn records(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crawl"))
}

/// Runs crawl with `args`, feeding `stdin` (use "-" as the URL file to read it).
pub fn crawl(args: &[&str], stdin: &str) -> Run {
    crawl_with(args, stdin, &[])
}

/// Runs crawl as `crawl` does, with `env` set: for the test fixtures of src/hooks.rs.
pub fn crawl_with(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
    let started = Instant::now();
    let mut child = bin()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_string();
    let feeder = thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    Run {
        status: out.status,
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// The hrefs of a record's links, in order.
pub fn hrefs(record: &Value) -> Vec<String> {
    let links = record["links"].as_array().expect("links is an array");
    links
        .iter()
        .map(|l| l["href"].as_str().unwrap().to_string())
        .collect()
}

/// Records keyed by url, without the fields that legitimately differ between runs.
pub fn comparable(mut records: Vec<Value>) -> Vec<Value> {
    for r in &mut records {
        let obj = r.as_object_mut().unwrap();
        obj.remove("fetch_ms");
        obj.remove("parse_ms");
    }
    records.sort_by_key(|r| r["url"].as_str().unwrap().to_string());
    records
}

/// Polls `ready` until it holds, failing the test with `what` if it has not after `limit`: for
/// waiting on what the other side has observably done, where a sleep would only guess.
pub fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let until = Instant::now() + limit;
    while !ready() {
        assert!(
            Instant::now() < until,
            "waited {limit:?} in vain for {what}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `check` on every case, even after one fails, then fails naming each case that did and
/// why: a loop over modes that stops at the first failure hides whether the others pass.
#[track_caller]
pub fn each_case<T: std::fmt::Debug>(cases: impl IntoIterator<Item = T>, mut check: impl FnMut(T)) {
    let mut failed = Vec::new();
    for case in cases {
        let name = format!("{case:?}");
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(case)));
        if let Err(panic) = outcome {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(a panic without a message)");
            failed.push(format!("{name}: {why}"));
        }
    }
    assert!(
        failed.is_empty(),
        "failed in {} case(s):\n{}",
        failed.len(),
        failed.join("\n")
    );
}
