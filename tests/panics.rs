//! A bug that one page trips costs that page's record, not the crawl: a panic while taking a
//! page or a robots.txt apart is caught, in every mode, and the crawl goes on.
#![cfg(debug_assertions)] // the panics are set off by a test hook that release builds lack

mod support;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{blog_page, comparable, each_case, Response, Server};

/// Two ordinary pages and one that carries the marker the hook panics on.
fn site() -> Server {
    Server::start(|req, _| match req.path.as_str() {
        "/robots.txt" => Response::new(200, "text/plain", b"User-agent: *\nAllow: /\n".to_vec()),
        "/bad" => Response::html(blog_page("BOOM here", &["/a", "/b"])),
        p => Response::html(blog_page(&format!("page {p}"), &["/a"])),
    })
}

struct Run {
    code: i32,
    records: Vec<Value>,
    stderr: String,
}

/// Runs crawl with CRAWL_TEST_PANIC set; a crawl still running after 30 s has hung, and fails.
fn crawl_panicking(panic: &str, args: &[&str], stdin: &str) -> Run {
    let mut child = support::bin()
        .env("CRAWL_TEST_PANIC", panic)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("crawl {args:?} with CRAWL_TEST_PANIC={panic} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    Run {
        code: out.status.code().expect("exited, not killed by a signal"),
        records: stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn lines(server: &Server, paths: &[&str]) -> String {
    paths.iter().map(|p| server.url(p) + "\n").collect()
}

const MODES: [&str; 3] = ["single", "multi", "async"];

#[test]
fn a_panic_in_the_streaming_pass_hands_the_page_to_the_tree() {
    let server = site();
    let input = lines(&server, &["/1", "/bad", "/2"]);
    let calm = crawl_panicking("", &["-q", "-"], &input);
    assert_eq!(calm.records.len(), 3);
    each_case(MODES, |mode| {
        let run = crawl_panicking("stream:BOOM", &["-q", "--mode", mode, "-"], &input);
        assert_eq!(run.code, 0, "{mode}: {}", run.stderr);
        // The tree gives the very record the pass would have.
        assert_eq!(
            comparable(run.records),
            comparable(calm.records.clone()),
            "{mode}"
        );
        assert!(
            run.stderr.contains("CRAWL_TEST_PANIC in stream"),
            "{}",
            run.stderr
        );
    });
}

#[test]
fn a_panic_in_the_parser_costs_one_record_in_every_mode() {
    let server = site();
    let input = lines(&server, &["/1", "/bad", "/2", "/3"]);
    // The streaming pass panics and so does the tree it hands the page to; and with a selector
    // that only the tree takes, the tree alone.
    let cases = [
        ("stream:BOOM,tree:BOOM", "a[href]"),
        ("tree:BOOM", "a[href]:not(.x)"),
    ];
    for (panic, select) in cases {
        each_case(MODES, |mode| {
            let run = crawl_panicking(
                panic,
                &["--mode", mode, "--parsers", "2", "--select", select, "-"],
                &input,
            );
            assert_eq!(run.code, 0, "{mode}: {}", run.stderr);
            assert_eq!(run.records.len(), 4, "{mode}: {}", run.stderr);
            for record in &run.records {
                let url = record["url"].as_str().unwrap();
                if url.ends_with("/bad") {
                    assert_eq!(record["error"]["kind"], "parse", "{record}");
                    assert_eq!(
                        record["error"]["message"],
                        "parser panicked: CRAWL_TEST_PANIC in tree"
                    );
                    assert_eq!(record["status"], 200);
                    assert_eq!(record["title"], Value::Null);
                    assert_eq!(record["links"], serde_json::json!([]));
                } else {
                    assert_eq!(record["error"], Value::Null, "{record}");
                    assert!(record["title"].as_str().unwrap().starts_with("page /"));
                }
            }
            let summary = run.stderr.lines().find(|l| l.contains(" pages, ")).unwrap();
            assert!(
                summary.contains("4 pages, 3 ok, 1 failed")
                    && summary.ends_with("; 1 page could not be parsed (kind parse)"),
                "{mode}: {}",
                run.stderr
            );
        });
    }
}

#[test]
fn the_links_of_the_pages_around_a_panic_are_still_followed() {
    let server = site();
    let run = crawl_panicking(
        "stream:BOOM,tree:BOOM",
        &[
            "-q",
            "--depth",
            "1",
            "--mode",
            "async",
            "--select",
            "a.post-item-title",
            "-",
        ],
        &lines(&server, &["/bad", "/1"]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut urls: Vec<_> = run
        .records
        .iter()
        .map(|r| r["url"].as_str().unwrap())
        .collect();
    urls.sort();
    // /1 links to /a; /bad's links (/a, /b) were never read, so /b is not crawled.
    assert_eq!(
        urls,
        [server.url("/1"), server.url("/a"), server.url("/bad")]
    );
}

#[test]
fn a_panic_parsing_robots_txt_disallows_the_host_and_says_why() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/robots.txt" => Response::new(200, "text/plain", b"User-agent: *\n# BOOM\n".to_vec()),
        _ => Response::html("<title>page</title>"),
    });
    each_case(MODES, |mode| {
        let run = crawl_panicking(
            "robots:BOOM",
            &["-q", "--mode", mode, "-"],
            &lines(&server, &["/1", "/2"]),
        );
        assert_eq!(run.code, 0, "{mode}: {}", run.stderr);
        assert_eq!(run.records.len(), 2);
        for record in &run.records {
            assert_eq!(record["error"]["kind"], "parse", "{record}");
            assert_eq!(
                record["error"]["message"],
                "robots.txt parser panicked: CRAWL_TEST_PANIC in robots"
            );
            assert_eq!(record["attempts"], 0, "{record}");
        }
    });
    // robots.txt once per run, and no page: a host whose rules are unknown is not crawled.
    assert_eq!(server.paths(), ["/robots.txt"; 3]);
}

#[test]
fn stats_count_the_pages_that_could_not_be_parsed() {
    let server = site();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats.json");
    let run = crawl_panicking(
        "tree:BOOM",
        &[
            "-q",
            "--select",
            "a:not(.x)",
            "--stats",
            path.to_str().unwrap(),
            "-",
        ],
        &lines(&server, &["/1", "/bad"]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let stats: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(stats["errors"], serde_json::json!({"parse": 1}), "{stats}");
}

#[test]
fn a_panic_scanning_a_sitemap_costs_that_sitemap_gzipped_or_not() {
    let server = Server::start(|req, _| {
        let listing = support::sitemap("urlset", &["http://127.0.0.1:1/BOOM".into()]);
        match req.path.as_str() {
            "/robots.txt" => Response::status(404),
            "/sitemap.xml" => Response::new(200, "application/xml", listing.into_bytes()),
            "/sitemap.xml.gz" => {
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(listing.as_bytes()).unwrap();
                Response::new(200, "application/gzip", gz.finish().unwrap())
            }
            _ => Response::html("<title>page</title>"),
        }
    });
    let input = lines(&server, &["/sitemap.xml", "/sitemap.xml.gz", "/1"]);
    each_case(MODES, |mode| {
        let run = crawl_panicking("sitemap:BOOM", &["-q", "--mode", mode, "-"], &input);
        assert_eq!(run.code, 0, "{mode}: {}", run.stderr);
        let message = |path: &str| {
            let url = server.url(path);
            let record = run
                .records
                .iter()
                .find(|r| r["url"] == url.as_str())
                .unwrap();
            assert_eq!(record["error"]["kind"], "parse", "{mode}: {record}");
            record["error"]["message"].as_str().unwrap().to_string()
        };
        assert_eq!(
            message("/sitemap.xml"),
            "parser panicked: CRAWL_TEST_PANIC in sitemap"
        );
        assert_eq!(
            message("/sitemap.xml.gz"),
            "sitemap parser panicked: CRAWL_TEST_PANIC in sitemap"
        );
        assert_eq!(run.records.len(), 3, "{mode}: the page after them too");
    });
}

#[test]
fn a_panic_following_a_pages_links_costs_that_page_not_the_crawl() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/robots.txt" => Response::status(404),
        "/bad" => Response::html(blog_page("bad", &["/BOOM", "/b"])),
        p => Response::html(blog_page(&format!("page {p}"), &["/a"])),
    });
    each_case(MODES, |mode| {
        let run = crawl_panicking(
            "links:BOOM",
            &["-q", "--mode", mode, "--depth", "1", "-"],
            &lines(&server, &["/bad", "/1", "/2"]),
        );
        assert_eq!(run.code, 0, "{mode}: {}", run.stderr);
        let bad = run
            .records
            .iter()
            .find(|r| r["url"] == server.url("/bad").as_str());
        let bad = bad.unwrap_or_else(|| panic!("{mode}: {:?}", run.records));
        assert_eq!(bad["error"]["kind"], "parse", "{mode}: {bad}");
        assert_eq!(
            bad["error"]["message"],
            "following the page's links panicked: CRAWL_TEST_PANIC in links"
        );
        // The other pages' links are still followed, after the panic as before it.
        assert!(
            run.records
                .iter()
                .any(|r| r["url"] == server.url("/a").as_str()),
            "{mode}: {:?}",
            run.records
        );
    });
}
