//! A generated blog on 127.0.0.1: a realistic, repeatable crawl target for demos, tests and benchmarks.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    HeaderMap, HeaderValue, ALLOW, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::loopback;

mod pages;

pub(crate) use pages::{render_index, render_list, render_post};

#[derive(Debug, Clone, Copy)]
pub struct SiteOptions {
    pub pages: usize,
    pub latency: Duration,
}

/// A site serving in the background until shut down or dropped.
pub struct RunningSite {
    server: loopback::Running,
    pages: usize,
}

impl RunningSite {
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub fn list_urls(&self) -> Vec<String> {
        list_urls(&self.base_url(), self.pages)
    }

    pub fn shutdown(self) {
        self.server.shutdown();
    }
}

/// Posts on each list page, as on cnblogs.
const POSTS_PER_PAGE: usize = 20;
/// Two million posts: past a million-page crawl, and a typo cannot ask for billions.
pub const MAX_PAGES: usize = 100_000;

/// Pages kept once rendered: every benchmark's working set, while a site of a million posts
/// (14 KB each) renders the rest on each request rather than keep 14 GB.
const CACHED_LISTS: usize = 5_000;
const CACHED_POSTS: usize = 20_000;

/// Binds 127.0.0.1:port (0 = any free port) before returning, then serves in the background
/// (see `loopback`), so callers need no runtime of their own and may be inside one.
pub fn start(opts: SiteOptions, port: u16) -> anyhow::Result<RunningSite> {
    anyhow::ensure!(
        (1..=MAX_PAGES).contains(&opts.pages),
        "the site needs between 1 and {MAX_PAGES} list pages, not {}",
        opts.pages
    );
    let pages = opts.pages;
    let server = loopback::start("crawl-site", port, move |listener| {
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        accept(listener, Arc::new(Site::new(opts, addr)))
    })?;
    Ok(RunningSite { server, pages })
}

fn list_urls(base: &str, pages: usize) -> Vec<String> {
    (1..=pages)
        .map(|n| format!("{base}/list/{n}.html"))
        .collect()
}

async fn accept(listener: TcpListener, site: Arc<Site>) {
    // No timer and so no header-read timeout: idle keep-alive connections stay open as long as the
    // client's pool wants them, instead of being cut while the client is about to reuse them.
    let http = http1::Builder::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors under a flood of connections: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Each response goes out in one write; Nagle would only delay the tail of a page.
        let _ = stream.set_nodelay(true);
        let site = Arc::clone(&site);
        let service = service_fn(move |request| respond(Arc::clone(&site), request));
        let connection = http.serve_connection(TokioIo::new(stream), service);
        tokio::spawn(async move {
            // Clients hanging up mid-response is routine for a crawler target, not worth reporting.
            let _ = connection.await;
        });
    }
}

async fn respond(
    site: Arc<Site>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = site.route(request.method(), request.uri().path());
    let response = validated(response, request.headers());
    if !site.latency.is_zero() {
        tokio::time::sleep(site.latency).await;
    }
    Ok(response)
}

const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

const ROBOTS: &str = "User-agent: *\nAllow: /\n";
const STYLE: &str = "body{margin:0 auto;max-width:960px;font:15px/1.7 \"PingFang SC\",\"Microsoft YaHei\",sans-serif;color:#333}\n\
a{color:#2daebf;text-decoration:none}\n\
.post-item{border-bottom:1px solid #eee;padding:12px 0}\n\
.post-item-title{font-size:18px;font-weight:600}\n\
.post-item-summary{color:#666}\n\
.pager a,.pager span{margin:0 4px}\n\
pre{background:#f6f8fa;padding:12px;overflow:auto}\n";
const NOT_FOUND: &str = "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head><meta charset=\"utf-8\"><title>404 - 页面不存在 Not Found</title></head>\n<body><h1>404</h1><p>页面不存在 - the page you asked for is not here.</p><p><a href=\"/\">返回首页</a></p></body>\n</html>\n";
const NOT_ALLOWED: &str = "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head><meta charset=\"utf-8\"><title>405 - Method Not Allowed</title></head>\n<body><h1>405</h1><p>只支持 GET 和 HEAD - only GET and HEAD are allowed.</p></body>\n</html>\n";

/// Shared by every connection; each page is rendered on first request and then served from
/// memory, up to the cache's size.
struct Site {
    pages: usize,
    latency: Duration,
    base: String,
    index: OnceLock<Page>,
    urls: OnceLock<Page>,
    lists: Vec<OnceLock<Page>>,
    posts: Vec<OnceLock<Page>>,
}

/// A page's bytes and its strong ETag, a hash of them, computed once with the page.
#[derive(Clone)]
struct Page {
    body: Bytes,
    etag: HeaderValue,
}

impl Page {
    fn new(body: Bytes) -> Page {
        let hash = xxhash_rust::xxh3::xxh3_64(&body);
        let etag =
            HeaderValue::from_str(&format!("\"{hash:016x}\"")).expect("hex is a header value");
        Page { body, etag }
    }
}

/// Every page's Last-Modified: the site is generated, so one fixed date stands for all.
pub const LAST_MODIFIED_AT: &str = "Tue, 01 Dec 2026 00:00:00 GMT";

impl Site {
    fn new(opts: SiteOptions, addr: SocketAddr) -> Self {
        Site {
            pages: opts.pages,
            latency: opts.latency,
            base: format!("http://{addr}"),
            index: OnceLock::new(),
            urls: OnceLock::new(),
            lists: (0..opts.pages.min(CACHED_LISTS))
                .map(|_| OnceLock::new())
                .collect(),
            posts: (0..(opts.pages * POSTS_PER_PAGE).min(CACHED_POSTS))
                .map(|_| OnceLock::new())
                .collect(),
        }
    }

    fn route(&self, method: &Method, path: &str) -> Response<Full<Bytes>> {
        if method != Method::GET && method != Method::HEAD {
            let mut response = reply(
                StatusCode::METHOD_NOT_ALLOWED,
                HTML,
                Bytes::from_static(NOT_ALLOWED.as_bytes()),
            );
            let allow = HeaderValue::from_static("GET, HEAD");
            response.headers_mut().insert(ALLOW, allow);
            return response;
        }
        let ok = |content_type, page: Page| {
            let mut response = reply(StatusCode::OK, content_type, page.body);
            let headers = response.headers_mut();
            headers.insert(ETAG, page.etag);
            headers.insert(LAST_MODIFIED, HeaderValue::from_static(LAST_MODIFIED_AT));
            response
        };
        match path {
            "/" | "/index.html" => ok(HTML, cached(Some(&self.index), || render_index(self.pages))),
            "/urls.txt" => ok(
                TEXT,
                cached(Some(&self.urls), || {
                    list_urls(&self.base, self.pages)
                        .into_iter()
                        .map(|url| url + "\n")
                        .collect()
                }),
            ),
            "/robots.txt" => ok(TEXT, Page::new(Bytes::from_static(ROBOTS.as_bytes()))),
            "/site.css" => ok(CSS, Page::new(Bytes::from_static(STYLE.as_bytes()))),
            _ => {
                if let Some(n) = page_number(path, "/list/", self.pages) {
                    ok(
                        HTML,
                        cached(self.lists.get(n - 1), || render_list(n, self.pages)),
                    )
                } else if let Some(k) = page_number(path, "/post/", self.pages * POSTS_PER_PAGE) {
                    ok(
                        HTML,
                        cached(self.posts.get(k - 1), || render_post(k, self.pages)),
                    )
                } else {
                    let body = Bytes::from_static(NOT_FOUND.as_bytes());
                    reply(StatusCode::NOT_FOUND, HTML, body)
                }
            }
        }
    }
}

/// The page from its cell, rendered once; a page with no cell is rendered every time.
fn cached(cell: Option<&OnceLock<Page>>, render: impl FnOnce() -> String) -> Page {
    let page = || Page::new(Bytes::from(render()));
    match cell {
        Some(cell) => cell.get_or_init(page).clone(),
        None => page(),
    }
}

/// A 200 the client already has, as its If-None-Match or If-Modified-Since says, becomes a 304
/// with no body, as nginx answers for static files. If-None-Match decides when it is there
/// (RFC 9110, 13.2.2); If-Modified-Since holds when its date is not before Last-Modified.
fn validated(response: Response<Full<Bytes>>, asked: &HeaderMap) -> Response<Full<Bytes>> {
    let headers = response.headers();
    let (Some(etag), true) = (headers.get(ETAG), response.status() == StatusCode::OK) else {
        return response;
    };
    let fresh = match asked.get(IF_NONE_MATCH) {
        Some(tags) => tags.to_str().is_ok_and(|tags| {
            let ours = etag.as_bytes();
            // The weak comparison, as for GET: a W/ prefix does not matter.
            tags.split(',')
                .map(|tag| tag.trim())
                .any(|tag| tag == "*" || tag.trim_start_matches("W/").as_bytes() == ours)
        }),
        None => {
            let since = asked.get(IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok());
            let since = since.and_then(|v| httpdate::parse_http_date(v).ok());
            let modified = httpdate::parse_http_date(LAST_MODIFIED_AT).expect("a valid date");
            since.is_some_and(|since| since >= modified)
        }
    };
    if !fresh {
        return response;
    }
    let mut not_modified = Response::new(Full::new(Bytes::new()));
    *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
    for name in [ETAG, LAST_MODIFIED] {
        if let Some(value) = response.headers().get(&name) {
            not_modified.headers_mut().insert(name, value.clone());
        }
    }
    not_modified
}

fn reply(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    // hyper derives content-length from the full body, and leaves the body out for HEAD.
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let content_type = HeaderValue::from_static(content_type);
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}

/// Reads the N of `{prefix}N.html`, accepting only the canonical spelling so each page has one URL.
fn page_number(path: &str, prefix: &str, max: usize) -> Option<usize> {
    let digits = path.strip_prefix(prefix)?.strip_suffix(".html")?;
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| (1..=max).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    #[test]
    fn only_canonical_page_numbers_route() {
        assert_eq!(page_number("/list/12.html", "/list/", 20), Some(12));
        for bad in [
            "/list/0.html",
            "/list/012.html",
            "/list/+1.html",
            "/list/.html",
            "/list/21.html",
        ] {
            assert_eq!(page_number(bad, "/list/", 20), None, "{bad}");
        }
    }

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn serves_pages_and_404_over_http() {
        let site = start(
            SiteOptions {
                pages: 3,
                latency: Duration::from_millis(5),
            },
            0,
        )
        .unwrap();
        assert_eq!(
            site.list_urls()[2],
            format!("{}/list/3.html", site.base_url())
        );

        let close = "Host: x\r\nConnection: close\r\n\r\n";
        let page = get(
            site.addr(),
            &format!("GET /list/2.html HTTP/1.1\r\n{close}"),
        );
        let (head, body) = page.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        assert!(
            head.contains("content-type: text/html; charset=utf-8"),
            "{head}"
        );
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        assert_eq!(body, render_list(2, 3));

        let missing = get(
            site.addr(),
            &format!("GET /list/4.html HTTP/1.1\r\n{close}"),
        );
        assert!(missing.starts_with("HTTP/1.1 404 Not Found"), "{missing}");

        let urls = get(site.addr(), &format!("GET /urls.txt HTTP/1.1\r\n{close}"));
        assert!(
            urls.ends_with(&(site.list_urls().join("\n") + "\n")),
            "{urls}"
        );

        let post = get(
            site.addr(),
            &format!("POST / HTTP/1.1\r\nContent-Length: 0\r\n{close}"),
        );
        assert!(post.starts_with("HTTP/1.1 405"), "{post}");

        // Validators, as nginx answers them for static files.
        let etag = head
            .lines()
            .find_map(|l| l.strip_prefix("etag: "))
            .unwrap()
            .to_string();
        assert!(head.contains(&format!("last-modified: {LAST_MODIFIED_AT}")));
        let ask = |header: &str| {
            let request = format!("GET /list/2.html HTTP/1.1\r\n{header}\r\n{close}");
            let answer = get(site.addr(), &request);
            answer.split(' ').nth(1).unwrap().parse::<u16>().unwrap()
        };
        assert_eq!(ask(&format!("If-None-Match: {etag}")), 304);
        assert_eq!(ask(&format!("If-None-Match: \"x\", W/{etag}")), 304);
        assert_eq!(ask("If-None-Match: *"), 304);
        assert_eq!(ask("If-None-Match: \"x\""), 200);
        let not_before = format!("If-Modified-Since: {LAST_MODIFIED_AT}");
        assert_eq!(ask(&not_before), 304);
        assert_eq!(ask("If-Modified-Since: Mon, 30 Nov 2026 23:59:59 GMT"), 200);
        // If-None-Match decides when both are there.
        assert_eq!(ask(&format!("If-None-Match: \"x\"\r\n{not_before}")), 200);
        let not_modified = get(
            site.addr(),
            &format!("GET /list/2.html HTTP/1.1\r\nIf-None-Match: {etag}\r\n{close}"),
        );
        assert!(
            not_modified.ends_with("\r\n\r\n"),
            "no body: {not_modified}"
        );

        let addr = site.addr();
        site.shutdown();
        assert!(TcpStream::connect(addr).is_err());
    }
}
