//! --since: a re-crawl asks each page it has validators for whether it changed, carries over
//! what an unchanged page held, follows its links as before, and fetches what changed anew.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crawl::demo::site::{self, SiteOptions, LAST_MODIFIED_AT};
use serde_json::Value;
use support::{crawl, each_case, Request, Response, Server};

/// Asks the embedded site for `request`'s path with its validators, as a client would.
fn forward(site: SocketAddr, request: &Request) -> Response {
    let mut head = format!(
        "GET {} HTTP/1.1\r\nHost: site\r\nConnection: close\r\n",
        request.path
    );
    for name in ["If-None-Match", "If-Modified-Since"] {
        if let Some(value) = request.header(name) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    let mut stream = TcpStream::connect(site).unwrap();
    stream.write_all(format!("{head}\r\n").as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let text = String::from_utf8(answer[..split].to_vec()).unwrap();
    let mut lines = text.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut response = Response::new(status, "", answer[split + 4..].to_vec());
    response.headers.clear();
    for line in lines {
        let (name, value) = line.split_once(": ").unwrap();
        if ["content-type", "etag", "last-modified"].contains(&name) {
            response.headers.push((name.into(), value.into()));
        }
    }
    response
}

/// What the blog answered: each request's path, its validators, the status and the ETag sent.
#[derive(Debug, Clone)]
struct Exchange {
    path: String,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
    status: u16,
    etag: Option<String>,
}

/// The embedded blog behind the counting server, which notes every exchange.
fn blog() -> (Server, Arc<Mutex<Vec<Exchange>>>, site::RunningSite) {
    let opts = SiteOptions {
        pages: 2,
        latency: Duration::ZERO,
    };
    let site = site::start(opts, 0).unwrap();
    let addr = site.addr();
    let log = Arc::new(Mutex::new(Vec::new()));
    let noted = log.clone();
    let server = Server::start(move |request, _| {
        let response = forward(addr, request);
        let header = |name: &str| request.header(name).map(str::to_owned);
        let etag = response.headers.iter().find(|(k, _)| k == "etag");
        noted.lock().unwrap().push(Exchange {
            path: request.path.clone(),
            if_none_match: header("if-none-match"),
            if_modified_since: header("if-modified-since"),
            status: response.status,
            etag: etag.map(|(_, v)| v.clone()),
        });
        response
    });
    (server, log, site)
}

fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn by_url(records: &[Value]) -> BTreeMap<String, &Value> {
    records
        .iter()
        .map(|r| (r["url"].as_str().unwrap().to_string(), r))
        .collect()
}

fn reached(records: &[Value]) -> BTreeSet<(String, u64)> {
    records
        .iter()
        .map(|r| {
            (
                r["url"].as_str().unwrap().into(),
                r["depth"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_second_crawl_of_the_unchanged_blog_asks_only_whether_pages_changed() {
    each_case(["single", "multi", "async"], |mode| {
        let (server, log, _site) = blog();
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (dir.path().join("1.jsonl"), dir.path().join("2.jsonl"));
        let seed = server.url("/list/1.html") + "\n";
        // The blog links to its urls.txt and robots.txt, which are not HTML: their records are
        // errors (not_html), which --since cannot ask about, so they are left out here.
        let args = |out: &Path| {
            let out = out.to_str().unwrap().to_string();
            let mut args = ["-q", "--mode", mode, "--depth", "2", "--exclude", "txt$"]
                .map(String::from)
                .to_vec();
            args.extend(["-o".into(), out, "-".into()]);
            args
        };
        let run = |args: Vec<String>| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            crawl(&args, &seed)
        };
        assert_eq!(run(args(&first)).code(), 0);
        let before = log.lock().unwrap().len();
        let mut again = args(&second);
        again.splice(1..1, ["--since".into(), first.to_str().unwrap().into()]);
        let stats = dir.path().join("stats.json");
        again.splice(1..1, ["--stats".into(), stats.to_str().unwrap().into()]);
        let rerun = run(again);
        assert_eq!(rerun.code(), 0, "{}", rerun.stderr);

        let (old, new) = (lines(&first), lines(&second));
        assert!(old.len() > 40, "{} records", old.len());
        // The first crawl's validators are exactly what the blog sent.
        let exchanges = log.lock().unwrap().clone();
        let sent: BTreeMap<String, Option<String>> = exchanges[..before]
            .iter()
            .map(|e| (server.url(&e.path), e.etag.clone()))
            .collect();
        for r in &old {
            let url = r["url"].as_str().unwrap();
            assert_eq!(r["status"], 200, "{r}");
            assert_eq!(r["unchanged"], false, "{r}");
            let etag = r["etag"].as_str().unwrap();
            assert_eq!(Some(etag), sent[url].as_deref(), "{url}");
            assert!(etag.len() == 18 && etag.starts_with('"') && etag.ends_with('"'));
            assert_eq!(r["last_modified"], LAST_MODIFIED_AT, "{r}");
        }
        // The second crawl: robots.txt asked for whole (it has no record), every page only
        // whether it changed, with the validators its record has; and every answer a 304.
        let old_by_url = by_url(&old);
        let rest = &exchanges[before..];
        assert_eq!(rest.len(), new.len() + 1, "{rest:?}");
        for e in rest {
            if e.path == "/robots.txt" {
                assert_eq!((e.status, &e.if_none_match), (200, &None));
                continue;
            }
            let recorded = old_by_url[&server.url(&e.path)];
            assert_eq!(
                e.if_none_match.as_deref(),
                recorded["etag"].as_str(),
                "{e:?}"
            );
            assert_eq!(e.if_modified_since.as_deref(), Some(LAST_MODIFIED_AT));
            assert_eq!(e.status, 304, "{e:?}");
        }
        // The same pages at the same depths, each as recorded before.
        assert_eq!(reached(&new), reached(&old));
        let stats: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
        let counts = (&stats["ok"], &stats["unchanged"], &stats["failed"]);
        let all = Value::from(new.len());
        assert_eq!(counts, (&all, &all, &Value::from(0)), "{stats}");
        for r in &new {
            let was = old_by_url[r["url"].as_str().unwrap()];
            assert_eq!(r["status"], 304, "{}", r["url"]);
            assert_eq!(r["unchanged"], true, "{r}");
            assert_eq!(r["error"], Value::Null, "{r}");
            assert_eq!(
                (&r["bytes"], &r["parse_ms"]),
                (&Value::from(0), &Value::Null)
            );
            for same in [
                "title",
                "links",
                "etag",
                "last_modified",
                "lang",
                "encoding",
            ] {
                assert_eq!(r[same], was[same], "{same}: {}", r["url"]);
            }
        }
    });
}

/// A site of four pages whose /a changes when `version` moves: / links to /a and /b, /a to
/// /c in its second version, /b to /d. / has both validators, /a an ETag only, /b a
/// Last-Modified only, /d none; /e answers 304 to anyone.
fn changing(version: Arc<AtomicUsize>) -> Server {
    Server::start(move |request, _| {
        let v = version.load(Ordering::SeqCst);
        let (page, etag, modified) = match request.path.as_str() {
            "/" => (
                support::page("home", &["/a", "/b", "/e"]),
                Some("\"home\""),
                Some("Mon, 30 Nov 2026 10:00:00 GMT"),
            ),
            "/a" if v == 1 => (support::page("a one", &[]), Some("\"a1\""), None),
            "/a" => (support::page("a two", &["/c"]), Some("\"a2\""), None),
            "/b" => (
                support::page("b", &["/d"]),
                None,
                Some("Sun, 29 Nov 2026 10:00:00 GMT"),
            ),
            "/e" => return Response::new(304, "text/html", Vec::new()),
            _ => (support::page("leaf", &[]), None, None),
        };
        let fresh = match (request.header("if-none-match"), etag) {
            (Some(asked), Some(etag)) => asked == etag,
            (Some(_), None) => false,
            (None, _) => modified.is_some() && request.header("if-modified-since") == modified,
        };
        let mut response = match fresh {
            true => Response::new(304, "text/html", Vec::new()),
            false => page,
        };
        if let Some(etag) = etag {
            response = response.header("ETag", etag);
        }
        match modified {
            // A 304 without Last-Modified: the record keeps the one it had.
            Some(date) if !fresh => response.header("Last-Modified", date),
            _ => response,
        }
    })
}

#[test]
fn a_page_that_changed_is_fetched_and_parsed_anew_and_the_rest_carried_over() {
    each_case(["single", "multi", "async"], |mode| {
        let version = Arc::new(AtomicUsize::new(1));
        let server = changing(version.clone());
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (dir.path().join("1.jsonl"), dir.path().join("2.jsonl"));
        let seed = server.url("/") + "\n";
        let base = ["-q", "--mode", mode, "--depth", "2"];
        let out = |p: &Path| p.to_str().unwrap().to_string();
        let run = crawl(&[&base[..], &["-o", &out(&first), "-"]].concat(), &seed);
        assert_eq!(run.code(), 0, "{}", run.stderr);
        version.store(2, Ordering::SeqCst);
        let before = server.requests_seen().len();
        let since = ["--since", &out(&first), "-o", &out(&second), "-"];
        let run = crawl(&[&base[..], &since[..]].concat(), &seed);
        assert_eq!(run.code(), 0, "{}", run.stderr);

        let old = lines(&first);
        let url = |p: &str| server.url(p);
        let first_e = by_url(&old)[&url("/e")];
        // A 304 to a request that asked nothing is no answer.
        assert_eq!(first_e["error"]["kind"], "http_status", "{first_e}");
        let new = lines(&second);
        let new_by_url = by_url(&new);
        let row = |p: &str| {
            let r = new_by_url[&url(p)];
            (
                r["status"].clone(),
                r["unchanged"].clone(),
                r["etag"].clone(),
                r["last_modified"].clone(),
                r["title"].clone(),
                r["depth"].clone(),
            )
        };
        let v = |s: &str| Value::from(s);
        let null = Value::Null;
        let (t, f) = (Value::from(true), Value::from(false));
        let home = (
            304.into(),
            t.clone(),
            v("\"home\""),
            v("Mon, 30 Nov 2026 10:00:00 GMT"),
            v("home"),
            0.into(),
        );
        assert_eq!(row("/"), home);
        assert_eq!(
            row("/a"),
            (
                200.into(),
                f.clone(),
                v("\"a2\""),
                null.clone(),
                v("a two"),
                1.into()
            )
        );
        assert_eq!(
            row("/b"),
            (
                304.into(),
                t.clone(),
                null.clone(),
                v("Sun, 29 Nov 2026 10:00:00 GMT"),
                v("b"),
                1.into()
            )
        );
        // /b's carried link is followed; /a's new one is found by parsing /a anew.
        assert_eq!(
            row("/d"),
            (
                200.into(),
                f.clone(),
                null.clone(),
                null.clone(),
                v("leaf"),
                2.into()
            )
        );
        assert_eq!(
            row("/c"),
            (
                200.into(),
                f.clone(),
                null.clone(),
                null.clone(),
                v("leaf"),
                2.into()
            )
        );
        assert_eq!(new_by_url[&url("/e")]["error"]["kind"], "http_status");
        assert_eq!(new.len(), 6, "{new:?}");
        let changed = new_by_url[&url("/a")];
        assert!(changed["parse_ms"].is_f64() && changed["bytes"].as_u64() > Some(0));
        assert_eq!(
            new_by_url[&url("/b")]["links"],
            by_url(&old)[&url("/b")]["links"]
        );

        // What each page was asked with: its own validators, and nothing where it had none.
        let asked: BTreeMap<String, (Option<String>, Option<String>)> = server.requests_seen()
            [before..]
            .iter()
            .map(|r| {
                let h = |n: &str| r.header(n).map(str::to_owned);
                (r.path.clone(), (h("if-none-match"), h("if-modified-since")))
            })
            .collect();
        let s = |x: &str| Some(x.to_string());
        assert_eq!(
            asked["/"],
            (s("\"home\""), s("Mon, 30 Nov 2026 10:00:00 GMT"))
        );
        assert_eq!(asked["/a"], (s("\"a1\""), None));
        assert_eq!(asked["/b"], (None, s("Sun, 29 Nov 2026 10:00:00 GMT")));
        for plain in ["/c", "/d", "/e", "/robots.txt"] {
            assert_eq!(asked[plain], (None, None), "{plain}");
        }
    });
}

#[test]
fn a_since_file_with_a_garbage_line_is_a_usage_error_naming_it() {
    let server = Server::start(|_, _| support::page("p", &[]));
    let dir = tempfile::tempdir().unwrap();
    let (old, out) = (dir.path().join("old.jsonl"), dir.path().join("out.jsonl"));
    let record = format!("{{\"url\":\"{}\",\"status\":200}}\n", server.url("/"));
    std::fs::write(&old, format!("{record}{record}garbage\n{record}")).unwrap();
    std::fs::write(&out, "{\"url\":\"http://kept/\"}\n").unwrap();
    let (o, s) = (out.to_str().unwrap(), old.to_str().unwrap());
    let run = crawl(
        &["-q", "--since", s, "-o", o, "-"],
        &(server.url("/") + "\n"),
    );
    assert_eq!(run.code(), 2, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        format!("error: --since: line 3 of '{s}' is not a crawl record")
    );
    assert_eq!(server.requests(), 0);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "{\"url\":\"http://kept/\"}\n"
    );
    let missing = dir.path().join("none.jsonl");
    let missing = missing.to_str().unwrap();
    let run = crawl(&["-q", "--since", missing, "-"], &(server.url("/") + "\n"));
    assert_eq!(run.code(), 2, "{}", run.stderr);
    assert!(run
        .stderr
        .contains(&format!("cannot read --since file '{missing}'")));
    assert_eq!(server.requests(), 0);
}
