//! Whatever a server does, every URL line gets one record of the right kind, in bounded time.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{crawl, each_case, Request, Response, Server, Stats};

fn head(w: &mut TcpStream, extra: &str) {
    let _ = write!(
        w,
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n{extra}\r\n"
    );
}

fn gzip(data: impl Fn(&mut dyn Write)) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    data(&mut enc);
    enc.finish().unwrap()
}

fn encode(label: &str, text: &str) -> Vec<u8> {
    let enc = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap();
    enc.encode(text).0.into_owned()
}

/// Counts requests per path, for endpoints that change their answer over time.
#[derive(Default)]
struct Visits(Mutex<std::collections::HashMap<String, usize>>);

impl Visits {
    fn next(&self, path: &str) -> usize {
        let mut map = self.0.lock().unwrap();
        let n = map.entry(path.to_string()).or_default();
        *n += 1;
        *n
    }
}

fn hostile() -> Server {
    let visits = Arc::new(Visits::default());
    let bomb = Arc::new(gzip(|w| {
        w.write_all(b"<html><title>bomb</title>").unwrap();
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..64 {
            w.write_all(&zeros).unwrap();
        }
    }));
    Server::start(move |req: &Request, _: &Stats| {
        let path = req.path.as_str();
        match path {
            "/never" => Response::raw(|_| sleep(Duration::from_secs(30))),
            "/trickle" => Response::raw(|w| {
                head(w, "Content-Length: 1000\r\n");
                for _ in 0..40 {
                    if w.write_all(b"x").and_then(|_| w.flush()).is_err() {
                        return;
                    }
                    sleep(Duration::from_millis(500));
                }
            }),
            "/reset" => Response::raw(|w| {
                head(w, "Content-Length: 100000\r\n");
                let _ = w.write_all(&[b'a'; 1000]);
                // Linger 0 turns the close into a TCP reset.
                let _ = socket_reset(w);
            }),
            "/lie" => Response::raw(|w| {
                head(w, "Content-Length: 5000\r\n");
                let _ = w.write_all(b"<title>short</title>");
            }),
            "/5k" => Response::html(format!("<title>5k</title>{}", "x".repeat(5000))),
            "/huge" => Response::raw(|w| {
                head(w, "Transfer-Encoding: chunked\r\n");
                let chunk = vec![b'a'; 64 * 1024];
                for _ in 0..(1 << 14) {
                    // 16 384 chunks of 64 KiB: 1 GiB if nobody stops reading.
                    let sent = write!(w, "{:x}\r\n", chunk.len())
                        .and_then(|_| w.write_all(&chunk))
                        .and_then(|_| w.write_all(b"\r\n"));
                    if sent.is_err() {
                        return;
                    }
                }
                let _ = w.write_all(b"0\r\n\r\n");
            }),
            "/bomb" => Response::new(200, "text/html", bomb.to_vec()).header("Content-Encoding", "gzip"),
            "/badgzip" => Response::new(200, "text/html", b"\x1f\x8b\x08\x00garbage-not-deflate".repeat(50))
                .header("Content-Encoding", "gzip"),
            "/429" => match visits.next(path) {
                1 => Response::status(429).header("Retry-After", "1"),
                _ => Response::html("<title>after 429</title>"),
            },
            "/429-date" => match visits.next(path) {
                1 => {
                    let when = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
                    Response::status(429).header("Retry-After", &when)
                }
                _ => Response::html("<title>after date</title>"),
            },
            "/429-forever" => Response::status(429).header("Retry-After", "3600"),
            "/503-past" => match visits.next(path) {
                1 | 2 => Response::status(503).header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
                _ => Response::html("<title>after the past</title>"),
            },
            "/503" => match visits.next(path) {
                1 | 2 => Response::status(503),
                _ => Response::html("<title>third time</title>"),
            },
            "/404" => Response::status(404),
            "/loop/a" => Response::status(302).header("Location", "/loop/b"),
            "/loop/b" => Response::status(302).header("Location", "/loop/a"),
            p if p.starts_with("/chain/") => {
                let n: usize = p[7..].parse().unwrap();
                Response::status(302).header("Location", &format!("/chain/{}", n + 1))
            }
            "/to-private" => {
                let port = req.port();
                Response::status(302).header("Location", &format!("http://127.0.0.1:{port}/landing"))
            }
            "/landing" => Response::html("<title>landed</title>"),
            "/gbk-meta" => Response::new(
                200,
                "text/html",
                encode("gbk", "<html><head><meta charset=\"gbk\"><title>并发爬虫的中文标题</title></head></html>"),
            ),
            "/gbk-header" => Response::new(
                200,
                "text/html; charset=GBK",
                encode("gbk", "<html><head><title>线程与队列</title></head></html>"),
            ),
            "/big5" => Response::new(
                200,
                "text/html",
                encode("big5", "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=big5\"><title>繁體中文標題</title>"),
            ),
            "/sjis" => Response::new(200, "text/html; charset=Shift_JIS", encode("shift_jis", "<title>日本語のタイトル</title>")),
            "/binary" => Response::new(200, "", (0..4096u32).map(|i| (i * 7 % 256) as u8).collect()),
            "/png" => Response::new(200, "image/png", b"\x89PNG\r\n\x1a\n".repeat(100_000)),
            "/xml" => Response::new(200, "application/xml", b"<?xml version=\"1.0\"?><urlset></urlset>".to_vec()),
            "/empty" => Response::new(200, "text/html", Vec::new()),
            "/nul" => Response::html("<title>a\0b</title>\0\0<a href='/x\0'>\0</a>"),
            "/nested" => Response::html(format!("<title>deep</title>{}", "<div>".repeat(100_000))),
            _ => Response::status(404),
        }
    })
}

fn socket_reset(w: &mut TcpStream) -> std::io::Result<()> {
    // With a zero linger, the close that ends the connection sends a reset, not a FIN.
    socket2::SockRef::from(&*w).set_linger(Some(Duration::ZERO))
}

/// Crawls one URL in each mode, checks the record's kind and the time it took, returns the records.
fn case(
    server: &Server,
    path: &str,
    args: &[&str],
    kind: Option<&str>,
    budget: Duration,
) -> Vec<Value> {
    let mut records = Vec::new();
    each_case(["single", "multi", "async"], |mode| {
        let mut all = vec!["--mode", mode, "-q"];
        all.extend_from_slice(args);
        all.push("-");
        let run = crawl(&all, &(server.url(path) + "\n"));
        assert_eq!(run.code(), 0, "{path} {mode}: {}", run.stderr);
        let mut got = run.records();
        assert_eq!(got.len(), 1, "{path} {mode}: one record");
        let record = got.remove(0);
        let expected = kind.map_or(Value::Null, Value::from);
        assert_eq!(record["error"]["kind"], expected, "{path} {mode}: {record}");
        assert!(
            run.elapsed < budget,
            "{path} {mode}: took {:?}, budget {budget:?}",
            run.elapsed
        );
        records.push(record);
    });
    records
}

const NO_RETRY: &[&str] = &["--retries", "0"];

/// `key` of each record `case` gave, in its order of modes: single, multi, async.
fn field(records: &[Value], key: &str) -> Vec<Value> {
    records.iter().map(|r| r[key].clone()).collect()
}

#[test]
fn a_server_that_never_answers_times_out() {
    let s = hostile();
    let r = case(
        &s,
        "/never",
        &["--retries", "0", "--timeout", "1s"],
        Some("timeout"),
        Duration::from_secs(4),
    );
    assert_eq!(field(&r, "attempts"), [1; 3]);
}

#[test]
fn a_trickling_body_is_cut_at_the_total_timeout() {
    let s = hostile();
    let started = Instant::now();
    case(
        &s,
        "/trickle",
        &["--retries", "0", "--timeout", "1500ms"],
        Some("timeout"),
        Duration::from_secs(4),
    );
    // 40 bytes at 2 per second would take 20 s per mode without a total deadline.
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[test]
fn broken_bodies_are_body_errors_and_retried() {
    let s = hostile();
    let r = case(
        &s,
        "/reset",
        &["--retries", "1"],
        Some("body"),
        Duration::from_secs(5),
    );
    assert_eq!(
        field(&r, "attempts"),
        [2; 3],
        "a connection broken mid-body is retried"
    );
    case(&s, "/lie", NO_RETRY, Some("body"), Duration::from_secs(3));
    let r = case(
        &s,
        "/trickle",
        &["--retries", "1", "--timeout", "600ms"],
        Some("timeout"),
        Duration::from_secs(4),
    );
    assert_eq!(
        field(&r, "attempts"),
        [2; 3],
        "a body cut off by --timeout is retried"
    );
}

#[test]
fn corrupt_compression_is_not_retried() {
    let s = hostile();
    let r = case(
        &s,
        "/badgzip",
        &["--retries", "2"],
        Some("body"),
        Duration::from_secs(3),
    );
    assert_eq!(
        field(&r, "attempts"),
        [1; 3],
        "the same bytes would come again"
    );
}

#[test]
fn retry_after_is_honoured_in_seconds_and_as_a_date() {
    let s = hostile();
    let started = Instant::now();
    let single = crawl(&["--mode", "single", "-q", "-"], &(s.url("/429") + "\n"));
    let r = &single.records()[0];
    assert_eq!(
        (
            r["status"].clone(),
            r["attempts"].clone(),
            r["error"].clone()
        ),
        (200.into(), 2.into(), Value::Null)
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as asked"
    );
    let date = crawl(&["-q", "-"], &(s.url("/429-date") + "\n"));
    let r = &date.records()[0];
    assert_eq!(
        (r["title"].clone(), r["attempts"].clone()),
        ("after date".into(), 2.into())
    );
    assert!(
        date.elapsed >= Duration::from_millis(900),
        "{:?}",
        date.elapsed
    );
}

#[test]
fn a_retry_after_date_in_the_past_gets_the_usual_backoff() {
    let s = hostile();
    let run = crawl(&["-q", "-"], &(s.url("/503-past") + "\n"));
    let r = &run.records()[0];
    assert_eq!(
        (r["title"].clone(), r["attempts"].clone()),
        ("after the past".into(), 3.into())
    );
    let times: Vec<Instant> = s
        .arrivals()
        .into_iter()
        .filter(|(p, _)| p == "/503-past")
        .map(|(_, t)| t)
        .collect();
    // Backoff waits at least half of 250 ms, then of 500 ms, whatever the jitter.
    for (gap, least) in times.windows(2).map(|w| w[1] - w[0]).zip([125, 250]) {
        assert!(gap >= Duration::from_millis(least), "{gap:?} < {least} ms");
    }
}

#[test]
fn a_retry_after_beyond_the_limit_gives_up_at_once() {
    let s = hostile();
    let r = case(
        &s,
        "/429-forever",
        &[],
        Some("http_status"),
        Duration::from_secs(3),
    );
    assert_eq!(field(&r, "status"), [429; 3]);
    assert_eq!(field(&r, "attempts"), [1; 3]);
}

#[test]
fn server_errors_are_retried_and_client_errors_are_not() {
    let s = hostile();
    let run = crawl(&["-q", "-"], &(s.url("/503") + "\n"));
    let r = &run.records()[0];
    assert_eq!(
        (
            r["status"].clone(),
            r["attempts"].clone(),
            r["title"].clone()
        ),
        (200.into(), 3.into(), "third time".into())
    );
    let r = case(&s, "/404", &[], Some("http_status"), Duration::from_secs(3));
    assert_eq!(field(&r, "attempts"), [1; 3]);
}

#[test]
fn redirect_loops_and_long_chains_are_redirect_errors() {
    let s = hostile();
    for path in ["/loop/a", "/chain/0"] {
        let r = case(&s, path, &[], Some("redirect"), Duration::from_secs(3));
        // The same words in every mode: the record names the URL, the message only the cause.
        assert!(
            r.iter().all(|record| record["error"] == r[0]["error"]),
            "{path}: {r:?}"
        );
        let message = r[0]["error"]["message"].as_str().unwrap();
        assert!(!message.contains("127.0.0.1"), "{message}");
    }
    let before = s.requests();
    case(
        &s,
        "/chain/0",
        &["--max-redirects", "3", "--no-robots"],
        Some("redirect"),
        Duration::from_secs(3),
    );
    assert_eq!(
        s.requests() - before,
        3 * 4,
        "the first request and 3 redirects, in each mode"
    );
}

#[test]
fn bodies_stop_at_the_cap_even_compressed() {
    let s = hostile();
    let r = case(&s, "/huge", &[], Some("too_large"), Duration::from_secs(10));
    assert_eq!(
        field(&r, "bytes"),
        [10 * 1024 * 1024 + 1; 3],
        "reading stopped just past --max-bytes"
    );
    case(
        &s,
        "/huge",
        &["--max-bytes", "1MiB"],
        Some("too_large"),
        Duration::from_secs(5),
    );
    let r = case(
        &s,
        "/bomb",
        &["--max-bytes", "2MiB"],
        Some("too_large"),
        Duration::from_secs(5),
    );
    assert_eq!(
        field(&r, "bytes"),
        [2 * 1024 * 1024 + 1; 3],
        "the cap is on decompressed bytes"
    );
    // Caps under the 1 KiB prefix read to sniff the type hold as well.
    for (cap, stopped) in [("500", 501), ("1023", 1024), ("1024", 1025)] {
        let r = case(
            &s,
            "/5k",
            &["--max-bytes", cap],
            Some("too_large"),
            Duration::from_secs(3),
        );
        assert_eq!(field(&r, "bytes"), [stopped; 3], "--max-bytes {cap}");
    }
    let r = case(
        &s,
        "/5k",
        &["--max-bytes", "5017"],
        None,
        Duration::from_secs(3),
    );
    assert_eq!(
        field(&r, "bytes"),
        [5017; 3],
        "a body exactly at the cap is whole"
    );
    case(
        &s,
        "/badgzip",
        NO_RETRY,
        Some("body"),
        Duration::from_secs(3),
    );
}

#[test]
fn pages_that_are_not_html_are_refused_after_a_prefix() {
    let s = hostile();
    let r = case(&s, "/png", &[], Some("not_html"), Duration::from_secs(3));
    let small = |r: &Value| r["bytes"].as_u64().is_some_and(|n| n <= 16 * 1024);
    assert!(r.iter().all(small), "{r:?}");
    case(&s, "/binary", &[], Some("not_html"), Duration::from_secs(3));
    case(&s, "/xml", &[], None, Duration::from_secs(3));
    let r = case(&s, "/empty", &[], None, Duration::from_secs(3));
    assert_eq!(field(&r, "title"), vec![Value::Null; 3]);
    assert_eq!(field(&r, "bytes"), [0; 3]);
}

#[test]
fn chinese_and_japanese_charsets_decode() {
    let s = hostile();
    for (path, title, encoding) in [
        ("/gbk-meta", "并发爬虫的中文标题", "gb18030"),
        ("/gbk-header", "线程与队列", "gb18030"),
        ("/big5", "繁體中文標題", "big5"),
        ("/sjis", "日本語のタイトル", "shift_jis"),
    ] {
        for r in case(&s, path, &[], None, Duration::from_secs(3)) {
            assert_eq!(
                (r["title"].as_str(), r["encoding"].as_str()),
                (Some(title), Some(encoding)),
                "{path}"
            );
        }
    }
}

#[test]
fn malformed_pages_still_give_records() {
    let s = hostile();
    for r in case(&s, "/nested", &[], None, Duration::from_secs(5)) {
        assert_eq!(
            (r["title"].as_str(), r["truncated"].as_bool()),
            (Some("deep"), Some(true))
        );
    }
    for r in case(&s, "/nul", &[], None, Duration::from_secs(3)) {
        assert_eq!(r["status"], 200);
    }
}

#[test]
fn redirects_from_public_hosts_to_private_addresses_are_blocked() {
    let s = hostile();
    let port = s.port().to_string();
    let public = format!("http://blog.example:{port}/to-private\n");
    let pin = "blog.example:127.0.0.1";
    let run = crawl(&["-q", "--resolve", pin, "-"], &public);
    assert_eq!(
        run.records()[0]["error"]["kind"],
        "blocked",
        "{}",
        run.stdout
    );
    assert!(
        !s.paths().contains(&"/landing".to_string()),
        "the private address was never requested"
    );
    let allowed = crawl(&["-q", "--resolve", pin, "--allow-private", "-"], &public);
    assert_eq!(allowed.records()[0]["title"], "landed");
    // Seeds the user wrote may point anywhere, and so may redirects among private hosts.
    let local = crawl(&["-q", "-"], &(s.url("/to-private") + "\n"));
    assert_eq!(local.records()[0]["title"], "landed");
}

#[test]
fn odd_url_lines_are_handled() {
    let s = hostile();
    let long_path = "a".repeat(8000);
    let huge_line = format!("http://127.0.0.1/{}", "b".repeat(200_000));
    let input = format!(
        "{}#frag\n{}/{long_path}\n{huge_line}\nhttp://例子.测试:1/博客\n",
        s.url("/landing"),
        s.url("")
    );
    let run = crawl(
        &["-q", "--retries", "0", "--connect-timeout", "1s", "-"],
        &input,
    );
    let records = run.records();
    assert_eq!(records.len(), 4);
    assert_eq!(records.iter().filter(|r| r["title"] == "landed").count(), 1);
    assert!(
        s.paths().contains(&"/landing".to_string()),
        "the fragment is not sent"
    );
    let huge = records
        .iter()
        .find(|r| {
            r["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("longer than"))
        })
        .unwrap();
    assert_eq!(huge["error"]["kind"], "invalid_url");
    let idn = records
        .iter()
        .find(|r| r["url"].as_str().unwrap().contains("例子"))
        .unwrap();
    assert_ne!(
        idn["error"]["kind"], "invalid_url",
        "an IDN host is a valid URL: {idn}"
    );
    // 64 KiB exactly is not longer than 64 KiB, whether the newline follows or not.
    let exact = format!("{}/", s.url(""));
    let exact = format!("{exact}{}", "c".repeat(64 * 1024 - exact.len()));
    assert_eq!(exact.len(), 65536);
    for input in [format!("{exact}\n"), exact.clone(), format!("{exact}c\n")] {
        let run = crawl(&["-q", "--retries", "0", "-"], &input);
        let kind = &run.records()[0]["error"]["kind"];
        let too_long = input.trim_end().len() > 65536;
        assert_eq!(
            kind == "invalid_url",
            too_long,
            "{} bytes: {kind}",
            input.len()
        );
    }
}
