//! Replaying archives: `serve --replay` serves a WARC's responses as recorded, and a crawl
//! with --from-replay sends every request there and records the original URLs.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;

use crawl::archive::replay::{self, Archive, Timing};
use support::{bin, crawl, crawl_with, Server};

/// One WARC record as iface16.md lays them out (the digests are not checked on replay).
fn record(kind: &str, headers: &[(&str, &str)], block: &[u8]) -> Vec<u8> {
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

/// A recorded exchange: its response and metadata records.
struct Exchange<'a> {
    url: &'a str,
    http: String,
    ttfb_ms: u64,
    purpose: &'a str,
    depth: u32,
}

impl Exchange<'_> {
    fn records(&self, n: usize) -> Vec<Vec<u8>> {
        let id = format!("<urn:uuid:00000000-0000-4000-8000-{n:012}>");
        let meta = format!(
            "ttfb-ms: {}\r\nfetch-ms: {}\r\npurpose: {}\r\nhop: 0\r\ndepth: {}\r\n",
            self.ttfb_ms, self.ttfb_ms, self.purpose, self.depth
        );
        vec![
            record(
                "response",
                &[
                    ("WARC-Record-ID", &id),
                    ("WARC-Target-URI", self.url),
                    ("WARC-IP-Address", "127.0.0.1"),
                ],
                self.http.as_bytes(),
            ),
            record(
                "metadata",
                &[("WARC-Target-URI", self.url), ("WARC-Concurrent-To", &id)],
                meta.as_bytes(),
            ),
        ]
    }
}

fn page<'a>(url: &'a str, depth: u32, ttfb_ms: u64, html: &str) -> Exchange<'a> {
    Exchange {
        url,
        http: format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n{html}",
            html.len()
        ),
        ttfb_ms,
        purpose: "page",
        depth,
    }
}

/// The records of `exchanges`, each a record of its own, in order.
fn warc(exchanges: &[Exchange]) -> Vec<Vec<u8>> {
    let info = record(
        "warcinfo",
        &[("Content-Type", "application/warc-fields")],
        b"software: test\r\n",
    );
    let mut records = vec![info];
    for (n, exchange) in exchanges.iter().enumerate() {
        records.extend(exchange.records(n));
    }
    records
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `crawl serve --replay PATH --port 0 EXTRA...`, once it listens: the child, its address and
/// what it said at start.
fn serve(path: &Path, extra: &[&str]) -> (Child, String, Vec<String>) {
    let mut child = bin()
        .args(["serve", "--replay"])
        .arg(path)
        .args(["--port", "0"])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve ended: {lines:?}"
        );
        let done = line.starts_with("crawl: crawl them:");
        lines.push(line.trim_end().to_string());
        if done {
            break;
        }
    }
    let addr = lines[0]
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the first line names the address")
        .to_string();
    (child, addr, lines)
}

/// The archives' named host, pinned to loopback in the crawls, so that a request that went
/// astray (a broken --from-replay) could reach nothing but this machine.
const PIN: &str = "blog.example:127.0.0.1";

fn by_url(records: &[serde_json::Value], url: &str) -> serde_json::Value {
    records
        .iter()
        .find(|r| r["url"] == url)
        .unwrap_or_else(|| panic!("no record for {url}"))
        .clone()
}

#[test]
fn a_redirect_replays_as_a_redirect() {
    let exchanges = [
        Exchange {
            url: "http://blog.example/old",
            http: "HTTP/1.1 301 Moved Permanently\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n"
                .into(),
            ttfb_ms: 1,
            purpose: "page",
            depth: 0,
        },
        page("http://blog.example/new", 0, 1, "<title>New</title>"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.warc");
    std::fs::write(&path, warc(&exchanges).concat()).unwrap();
    let (mut child, addr, _) = serve(&path, &[]);
    let run = crawl(
        &["--from-replay", &addr, "--resolve", PIN, "-q", "-"],
        "http://blog.example/old\n",
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let records = run.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["url"], "http://blog.example/old");
    assert_eq!(r["final_url"], "http://blog.example/new");
    assert_eq!(r["status"], 200);
    assert_eq!(r["title"], "New");
    assert_eq!(r["error"], serde_json::Value::Null);
}

#[test]
fn timing_recorded_waits_the_recorded_ttfb_and_none_does_not() {
    let exchanges = [page("http://blog.example/", 0, 700, "<title>Slow</title>")];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slow.warc");
    std::fs::write(&path, warc(&exchanges).concat()).unwrap();
    for (extra, fast) in [(&[][..], false), (&["--timing", "none"][..], true)] {
        let (mut child, addr, _) = serve(&path, extra);
        let run = crawl(
            &[
                "--from-replay",
                &addr,
                "--resolve",
                PIN,
                "--no-robots",
                "-q",
                "-",
            ],
            "http://blog.example/\n",
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(run.records()[0]["title"], "Slow");
        let ms = run.records()[0]["fetch_ms"].as_f64().unwrap();
        if fast {
            assert!(ms < 300.0, "--timing none took {ms} ms");
        } else {
            assert!(ms >= 700.0, "recorded timing took {ms} ms");
        }
    }
}

/// Three pages' archive; the third is where the damage goes.
fn three_pages() -> Vec<Exchange<'static>> {
    vec![
        page("http://blog.example/1", 0, 1, "<title>One</title>"),
        page("http://blog.example/2", 0, 1, "<title>Two</title>"),
        page("http://blog.example/3", 0, 1, "<title>Three</title>"),
    ]
}

/// Crawls the three pages through the replay at `addr` and gives their titles (null: 404).
fn titles(addr: &str) -> Vec<serde_json::Value> {
    let urls = "http://blog.example/1\nhttp://blog.example/2\nhttp://blog.example/3\n";
    let run = crawl(
        &[
            "--from-replay",
            addr,
            "--resolve",
            PIN,
            "--no-robots",
            "-q",
            "-",
        ],
        urls,
    );
    let records = run.records();
    (1..=3)
        .map(|n| {
            let r = by_url(&records, &format!("http://blog.example/{n}"));
            serde_json::json!([r["status"], r["title"]])
        })
        .collect()
}

#[test]
fn a_truncated_archive_serves_the_records_before_the_cut_and_says_where_it_stopped() {
    let records = warc(&three_pages());
    // The third page's response starts after the warcinfo and two exchanges.
    let third: usize = records[..5].iter().map(Vec::len).sum();
    let whole = records.concat();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.warc");
    std::fs::write(&path, &whole[..third + 250]).unwrap();
    let (mut child, addr, lines) = serve(&path, &["--timing", "none"]);
    let got = titles(&addr);
    child.kill().unwrap();
    child.wait().unwrap();
    let said = format!(
        "crawl: warning: the archive is damaged: reading stopped at byte {third}: file ends inside a record's block; the records before it are served"
    );
    assert!(lines.contains(&said), "{lines:#?}");
    assert!(lines[0].starts_with("crawl: replaying 2 responses (2 URLs, 1 host)"));
    assert_eq!(
        got,
        [
            serde_json::json!([200, "One"]),
            serde_json::json!([200, "Two"]),
            serde_json::json!([404, null])
        ]
    );
}

#[test]
fn a_corrupt_gzipped_archive_serves_the_records_before_the_damage_and_says_where() {
    let members: Vec<Vec<u8>> = warc(&three_pages()).iter().map(|r| gzip(r)).collect();
    let third: usize = members[..5].iter().map(Vec::len).sum();
    let mut whole = members.concat();
    // A byte of the third page's response, inside its compressed data.
    whole[third + 30] ^= 0x55;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.warc.gz");
    std::fs::write(&path, &whole).unwrap();
    let (mut child, addr, lines) = serve(&path, &["--timing", "none"]);
    let got = titles(&addr);
    child.kill().unwrap();
    child.wait().unwrap();
    let said = format!(
        "crawl: warning: the archive is damaged: reading stopped at byte {third}: corrupt gzip member"
    );
    assert!(lines.iter().any(|l| l.starts_with(&said)), "{lines:#?}");
    assert_eq!(
        got,
        [
            serde_json::json!([200, "One"]),
            serde_json::json!([200, "Two"]),
            serde_json::json!([404, null])
        ]
    );
}

#[test]
fn from_replay_takes_only_a_loopback_address() {
    // No URL lines: even if the address were taken, nothing would be sent anywhere.
    for addr in ["192.0.2.1:80", "10.0.0.1:8080", "[2001:db8::1]:80"] {
        let run = crawl(&["--from-replay", addr, "-"], "");
        assert_eq!(run.code(), 2, "{addr}: {}", run.stderr);
        assert_eq!(
            run.stderr.trim(),
            format!("error: invalid value '{addr}' for '--from-replay <ADDR:PORT>': must be a loopback address such as 127.0.0.1: it is for `crawl serve --replay`")
        );
        assert_eq!(run.stdout, "");
    }
}

#[test]
fn serve_replay_prints_the_crawl_command_with_the_named_hosts_pins() {
    let exchanges = [
        page("http://blog.example/", 0, 1, "<a href=/a>a</a>"),
        page("http://blog.example/a", 1, 1, "<title>A</title>"),
        page("http://127.0.0.1:9/", 0, 1, "<title>B</title>"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.warc");
    std::fs::write(&path, warc(&exchanges).concat()).unwrap();
    let (mut child, addr, lines) = serve(&path, &[]);
    let seeds = reqwest::blocking::get(format!("http://{addr}/urls.txt"))
        .unwrap()
        .text()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(seeds, "http://blog.example/\nhttp://127.0.0.1:9/\n");
    assert_eq!(
        lines[1..],
        [
            format!("crawl: seed URLs (2): curl -s http://{addr}/urls.txt > urls.txt"),
            format!("crawl: crawl them: crawl --from-replay {addr} --resolve blog.example:127.0.0.1 --depth 1 urls.txt"),
        ]
    );
}

/// The original site: a blog on the harness server, its pages linking to each other.
fn original() -> Server {
    Server::start(|request, _| match request.path.as_str() {
        "/robots.txt" => {
            support::Response::new(200, "text/plain", b"User-agent: *\nAllow: /\n".to_vec())
        }
        "/" => support::page("Home", &["/a", "/b", "/moved"]),
        "/a" => support::page("A", &["/", "/b"]),
        "/b" => support::page("B", &["/a"]),
        "/moved" => support::Response::status(301).header("Location", "/b"),
        _ => support::Response::status(404),
    })
}

#[test]
fn under_from_replay_every_request_goes_to_the_replay_server() {
    let site = original();
    // The archive of a crawl of that site, made by hand from its own responses.
    let url = |path: &str| site.url(path);
    let body = |path: &str| reqwest::blocking::get(url(path)).unwrap().text().unwrap();
    let (home, a, b) = (body("/"), body("/a"), body("/b"));
    let robots = "User-agent: *\nAllow: /\n";
    let http = |status: &str, extra: &str, body: &str| {
        format!("HTTP/1.1 {status}\r\n{extra}Content-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}", body.len())
    };
    let (u_robots, u_home, u_a, u_b, u_moved) = (
        url("/robots.txt"),
        url("/"),
        url("/a"),
        url("/b"),
        url("/moved"),
    );
    let exchanges = [
        Exchange {
            url: &u_robots,
            http: http("200 OK", "", robots),
            ttfb_ms: 1,
            purpose: "robots",
            depth: 0,
        },
        page(&u_home, 0, 1, &home),
        page(&u_a, 1, 1, &a),
        page(&u_b, 1, 1, &b),
        Exchange {
            url: &u_moved,
            http: http("301 Moved", "Location: /b\r\n", ""),
            ttfb_ms: 1,
            purpose: "page",
            depth: 1,
        },
    ];
    let before = site.requests();
    let bytes = warc(&exchanges).concat();
    let archive = Arc::new(Archive::from_records(crawl::archive::read::Reader::new(
        &bytes[..],
    )));
    assert_eq!(archive.seeds, std::slice::from_ref(&u_home));
    for mode in ["single", "multi", "async"] {
        let running = replay::start(archive.clone(), Timing::None, 0).unwrap();
        let addr = running.addr().to_string();
        let run = crawl(
            &[
                "--from-replay",
                &addr,
                "--mode",
                mode,
                "--depth",
                "1",
                "-q",
                "-",
            ],
            &format!("{u_home}\n"),
        );
        assert_eq!(run.code(), 0, "{mode}: {}", run.stderr);
        let records = run.records();
        assert_eq!(records.len(), 4, "{mode}: {records:#?}");
        assert_eq!(
            by_url(&records, &u_moved)["final_url"],
            u_b.as_str(),
            "{mode}"
        );
        assert_eq!(by_url(&records, &u_a)["title"], "A", "{mode}");
        // robots.txt, the home page, /a, /b, and /moved with its hop to /b: six, all here.
        assert_eq!(running.requests(), 6, "{mode}");
        assert_eq!(
            site.requests(),
            before,
            "{mode}: a request reached the original site"
        );
    }
}

/// A name the crawl did not pin is judged with no lookup under --from-replay: as a public
/// name, whose links to private addresses are not followed, whatever DNS would say.
#[cfg(debug_assertions)]
#[test]
fn under_from_replay_an_unpinned_name_is_public_without_a_lookup() {
    let exchanges = [
        page(
            "http://blog.example/",
            0,
            1,
            "<a href='http://127.0.0.1:9/inside'>in</a>",
        ),
        page("http://127.0.0.1:9/inside", 1, 1, "<title>Inside</title>"),
    ];
    let bytes = warc(&exchanges).concat();
    let running = replay::start(
        Arc::new(Archive::from_records(crawl::archive::read::Reader::new(
            &bytes[..],
        ))),
        Timing::None,
        0,
    )
    .unwrap();
    let addr = running.addr().to_string();
    // Were the name looked up, these answers would make it private, and its link followed
    // (and a request that went astray would stay on loopback).
    let dns = [("CRAWL_TEST_DNS", "blog.example=127.0.0.2")];
    let run = crawl_with(
        &[
            "--from-replay",
            &addr,
            "--depth",
            "1",
            "--all-hosts",
            "--no-robots",
            "-q",
            "-",
        ],
        "http://blog.example/\n",
        &dns,
    );
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let urls: Vec<_> = run.records().iter().map(|r| r["url"].clone()).collect();
    assert_eq!(urls, ["http://blog.example/"]);
    assert_eq!(running.requests(), 1);
}

#[test]
fn a_missing_or_empty_archive_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.warc");
    let run = crawl(&["serve", "--replay", path.to_str().unwrap()], "");
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr.starts_with("error: cannot read archive"),
        "{}",
        run.stderr
    );
    std::fs::write(&path, "hello\n").unwrap();
    let run = crawl(&["serve", "--replay", path.to_str().unwrap()], "");
    assert_eq!(run.code(), 2);
    assert_eq!(
        run.stderr.trim(),
        format!("error: '{}' holds no HTTP responses to replay (reading stopped at byte 0: not a WARC record: no WARC/1.x line)", path.display())
    );
    let run = crawl(&["serve", "--timing", "none"], "");
    assert_eq!(run.code(), 2, "{}", run.stderr);
}

/// The test: a crawl of the embedded blog at 50 ms latency, recorded with --warc,
/// replayed, and crawled again through the replay: the same records but for the timings, in
/// about the same time.
#[test]
fn a_recorded_crawl_replays_to_the_same_records_in_about_the_same_time() {
    let site = crawl::demo::site::start(
        crawl::demo::site::SiteOptions {
            pages: 2,
            latency: std::time::Duration::from_millis(50),
        },
        0,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blog.warc.gz");
    let seeds = site.list_urls().join("\n") + "\n";
    let shape = ["--mode", "single", "--depth", "1", "-q"];
    let warc = ["--warc", path.to_str().unwrap(), "-"];
    let original = crawl(&[&shape[..], &warc[..]].concat(), &seeds);
    site.shutdown();
    assert_eq!(original.code(), 0, "{}", original.stderr);

    let archive = Arc::new(Archive::load(&path).unwrap());
    assert_eq!(archive.damage, None);
    assert_eq!(archive.seeds.join("\n") + "\n", seeds);
    let running = replay::start(archive.clone(), Timing::Recorded, 0).unwrap();
    let addr = running.addr().to_string();
    let from = ["--from-replay", &addr, "-"];
    let replayed = crawl(&[&shape[..], &from[..]].concat(), &seeds);
    assert_eq!(replayed.code(), 0, "{}", replayed.stderr);

    let records = support::comparable(original.records());
    assert!(records.len() > 40, "{} records", records.len());
    let again = support::comparable(replayed.records());
    assert_eq!(again.len(), records.len());
    for (was, is) in records.iter().zip(&again) {
        assert_eq!(is, was, "the replayed record differs");
    }
    // Every response the crawl recorded, robots.txt's included, was asked for once again.
    assert_eq!(running.requests(), archive.responses as u64);
    let (was, is) = (
        original.elapsed.as_secs_f64(),
        replayed.elapsed.as_secs_f64(),
    );
    assert!(
        (is - was).abs() <= 0.2 * was,
        "the original took {was:.2} s, the replay {is:.2} s"
    );
}

/// The table's row for `mode`: its words.
fn row(table: &str, mode: &str) -> Vec<String> {
    let line = table
        .lines()
        .find(|l| l.starts_with(&format!("{mode} ")))
        .unwrap_or_else(|| panic!("no {mode} row in:\n{table}"));
    line.split_whitespace().map(String::from).collect()
}

#[test]
fn demo_and_compare_run_the_three_modes_on_a_replay() {
    let exchanges = [
        page(
            "http://blog.example/",
            0,
            20,
            // /gone was not recorded: the replay answers 404 for it.
            "<a href=/a>a</a> <a href=/b>b</a> <a href=/gone>g</a>",
        ),
        page("http://blog.example/a", 1, 20, "<title>A</title>"),
        page("http://blog.example/b", 1, 20, "<title>B</title>"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.warc");
    std::fs::write(&path, warc(&exchanges).concat()).unwrap();
    // The demo draws its timelines into the working directory.
    let out = bin()
        .current_dir(dir.path())
        .args(["demo", "--replay", "a.warc"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(
            "crawl demo: a recorded crawl from 'a.warc': 1 seed to depth 1, 3 URLs on 1 host"
        ),
        "{stdout}"
    );
    for mode in ["single", "multi", "async"] {
        // Four pages, three ok: the seed, and the three links at depth 1, one a 404.
        assert_eq!(row(&stdout, mode)[2..4], ["4", "3"], "{mode}: {stdout}");
        assert!(dir.path().join(format!("demo-{mode}.svg")).exists());
    }
    // A 404 says nothing of the machine's load.
    assert!(!stdout.contains("warning"), "{stdout}");

    let (mut child, addr, _) = serve(&path, &["--timing", "none"]);
    let run = crawl(
        &[
            "compare",
            "--from-replay",
            &addr,
            "--resolve",
            PIN,
            "--depth",
            "1",
            "-",
        ],
        "http://blog.example/\n",
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(run.code(), 0, "{}", run.stderr);
    for mode in ["single", "multi", "async"] {
        assert_eq!(
            row(&run.stdout, mode)[2..4],
            ["4", "3"],
            "{mode}: {}",
            run.stdout
        );
    }
}

/// A link with a fragment: the fragment never reaches the server, so the archive names the
/// page without it, and the crawl of the replay gets the page where the recording did.
#[test]
fn a_page_linked_with_a_fragment_is_archived_without_it_and_replays() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/" => support::page("home", &["/p#frag"]),
        "/p" => support::Response::html("<title>p</title>"),
        _ => support::Response::status(404),
    });
    let dir = tempfile::tempdir().unwrap();
    let warc = dir.path().join("a.warc");
    let args = ["-", "--no-robots", "--mode", "single", "--depth", "1"];
    let seed = format!("{}\n", server.url("/"));
    let run = crawl(
        &[&args[..], &["--warc", warc.to_str().unwrap()]].concat(),
        &seed,
    );
    assert_eq!(run.code(), 0, "{}", run.stderr);
    assert_eq!(by_url(&run.records(), &server.url("/p"))["status"], 200);

    let text = String::from_utf8_lossy(&std::fs::read(&warc).unwrap()).into_owned();
    let targets: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("WARC-Target-URI:"))
        .collect();
    assert!(!targets.is_empty());
    assert!(
        targets.iter().all(|l| !l.contains('#')),
        "a fragment is not sent: {targets:?}"
    );

    let (mut child, addr, _) = serve(&warc, &["--timing", "none"]);
    let again = crawl(&[&args[..], &["--from-replay", &addr]].concat(), &seed);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(again.code(), 0, "{}", again.stderr);
    let p = by_url(&again.records(), &server.url("/p"));
    assert_eq!(p["status"], 200, "replayed: {p}");
}

/// Other tools archive a link's fragment in WARC-Target-URI: the replay serves the page
/// whether the request names the fragment or not.
#[test]
fn an_archived_fragment_is_ignored_by_the_replay() {
    let exchanges = [page("http://blog.example/p#top", 0, 1, "<title>P</title>")];
    let bytes = warc(&exchanges).concat();
    let archive = Arc::new(Archive::from_records(crawl::archive::read::Reader::new(
        &bytes[..],
    )));
    let running = replay::start(archive, Timing::None, 0).unwrap();
    let addr = running.addr();
    for target in ["http://blog.example/p", "http://blog.example/p%23top"] {
        let got = reqwest::blocking::get(format!("http://{addr}/{target}")).unwrap();
        let status = got.status().as_u16();
        let body = got.text().unwrap();
        match target.contains("%23") {
            // An escaped '#' is part of the path: another URL.
            true => assert_eq!(status, 404, "{target}"),
            false => assert_eq!(
                (status, body.as_str()),
                (200, "<title>P</title>"),
                "{target}"
            ),
        }
    }
    let run = crawl(
        &[
            "--from-replay",
            &addr.to_string(),
            "--resolve",
            PIN,
            "--no-robots",
            "-q",
            "-",
        ],
        "http://blog.example/p#top\n",
    );
    assert_eq!(run.code(), 0, "{}", run.stderr);
    assert_eq!(run.records()[0]["title"], "P");
}

/// A page of `n` links, too large for `--max-bytes 20KB`.
fn big_page(n: usize) -> String {
    let links: Vec<String> = (0..n).map(|i| format!("/l{i}")).collect();
    let links: Vec<&str> = links.iter().map(String::as_str).collect();
    String::from_utf8(support::page("big", &links).body).unwrap()
}

/// A page cut by --max-bytes replays cut: a crawl of the replay with the same --max-bytes
/// gets too_large again and follows none of its links, whether the server declared the
/// page's length (Content-Length) or not (chunked), and nothing it did not fetch is asked for.
#[test]
fn a_page_cut_by_max_bytes_replays_cut() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/" => support::page("home", &["/big", "/chunked"]),
        "/big" => support::Response::html(big_page(3000)),
        "/chunked" => support::Response::raw(|stream| {
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n";
            let _ = stream.write_all(head.as_bytes());
            for chunk in big_page(3000).as_bytes().chunks(4096) {
                let _ = write!(stream, "{:x}\r\n", chunk.len());
                let _ = stream.write_all(chunk);
                let _ = stream.write_all(b"\r\n");
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        }),
        _ => support::Response::status(404),
    });
    let dir = tempfile::tempdir().unwrap();
    let warc = dir.path().join("cut.warc");
    let shape = [
        "--no-robots",
        "--mode",
        "single",
        "--depth",
        "2",
        "--max-bytes",
        "20KB",
    ];
    let seed = format!("{}\n", server.url("/"));
    let with_warc = ["--warc", warc.to_str().unwrap(), "-"];
    let recorded = crawl(&[&shape[..], &with_warc[..]].concat(), &seed);
    assert_eq!(recorded.code(), 0, "{}", recorded.stderr);
    let records = support::comparable(recorded.records());
    for path in ["/big", "/chunked"] {
        let r = by_url(&records, &server.url(path));
        assert_eq!(r["error"]["kind"], "too_large", "{path}: {r}");
    }
    assert_eq!(records.len(), 3, "{records:#?}");

    // The declared length is kept where there was one.
    let text = String::from_utf8_lossy(&std::fs::read(&warc).unwrap()).into_owned();
    let declared: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("declared-length:"))
        .collect();
    let big = big_page(3000).len();
    assert_eq!(declared, [format!("declared-length: {big}")]);

    let (mut child, addr, _) = serve(&warc, &["--timing", "none"]);
    let from = ["--from-replay", &addr, "-"];
    let again = crawl(&[&shape[..], &from[..]].concat(), &seed);
    // A crawl that takes more gets a broken body, not a whole page that was never seen.
    let more = crawl(
        &[
            "--no-robots",
            "--depth",
            "0",
            "--max-bytes",
            "1MB",
            "--from-replay",
            &addr,
            "-",
        ],
        &format!("{}\n{}\n", server.url("/big"), server.url("/chunked")),
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(again.code(), 0, "{}", again.stderr);
    assert_eq!(support::comparable(again.records()), records);
    for r in more.records() {
        assert_eq!(r["error"]["kind"], "body", "{r}");
        assert_eq!(r["links"], serde_json::json!([]), "{r}");
    }
    assert_eq!(more.records().len(), 2);
}

/// The --depth to replay with is the one the recording asked for (its warcinfo records it),
/// not the deepest depth it reached: a crawl to depth 2 whose pages all sat at depth 0 and 1
/// replays with --depth 2, in serve's command line and in demo --replay. Appended runs: the
/// largest.
#[test]
fn the_replay_depth_is_the_recorded_crawls_depth_option() {
    let info = |depth: u32| {
        let block = format!("software: crawl/test\r\ndepth: {depth}\r\n");
        record(
            "warcinfo",
            &[("Content-Type", "application/warc-fields")],
            block.as_bytes(),
        )
    };
    let exchanges = [
        page("http://blog.example/", 0, 1, "<a href=/a>a</a>"),
        page("http://blog.example/a", 1, 1, "<title>A</title>"),
    ];
    let mut records = vec![info(2)];
    records.extend(warc(&exchanges).into_iter().skip(1));
    records.push(info(1));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.warc");
    std::fs::write(&path, records.concat()).unwrap();
    let (mut child, addr, lines) = serve(&path, &["--timing", "none"]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        lines.last().unwrap(),
        &format!("crawl: crawl them: crawl --from-replay {addr} --resolve blog.example:127.0.0.1 --depth 2 urls.txt")
    );
    let out = bin()
        .current_dir(dir.path())
        .args(["demo", "--replay", "a.warc", "--crawlers", "2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("crawl demo: a recorded crawl from 'a.warc': 1 seed to depth 2,"),
        "{stdout}"
    );
}

/// The start-up line counts the responses served, not the records it then refuses, and says
/// "1 response record holds".
#[test]
fn the_start_line_counts_only_the_responses_served() {
    let unreadable = Exchange {
        url: "http://blog.example/broken",
        http: "not HTTP at all".into(),
        ttfb_ms: 1,
        purpose: "page",
        depth: 0,
    };
    let exchanges = [
        page("http://blog.example/1", 0, 1, "<title>One</title>"),
        unreadable,
        page("http://blog.example/2", 0, 1, "<title>Two</title>"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.warc");
    std::fs::write(&path, warc(&exchanges).concat()).unwrap();
    let (mut child, addr, lines) = serve(&path, &["--timing", "none"]);
    child.kill().unwrap();
    child.wait().unwrap();
    let shown = path.display();
    assert_eq!(
        lines[..2],
        [
            format!("crawl: replaying 2 responses (2 URLs, 1 host) from '{shown}' at http://{addr}/<URL>, each at once"),
            "crawl: warning: 1 response record holds no readable HTTP response and is not served".to_string(),
        ]
    );
}

/// The status line is archived as received, its reason phrase included ("200 Fine Thanks",
/// not "200 OK"), and header names lower-cased with their values as received; the replay
/// sends that reason phrase again.
#[test]
fn the_reason_phrase_received_is_archived_and_replayed() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/" => support::Response::raw(|stream| {
            let body = "<title>fine</title>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 Fine Thanks\r\nX-Mixed-Case: Keep THIS\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }),
        _ => support::Response::status(404),
    });
    let dir = tempfile::tempdir().unwrap();
    let warc = dir.path().join("a.warc");
    let run = crawl(
        &["--no-robots", "-q", "--warc", warc.to_str().unwrap(), "-"],
        &format!("{}\n", server.url("/")),
    );
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let text = String::from_utf8_lossy(&std::fs::read(&warc).unwrap()).into_owned();
    let at = text.find("\r\n\r\nHTTP/1.1 ").expect("a response record") + 4;
    let head = &text[at..at + text[at..].find("\r\n\r\n").unwrap()];
    assert_eq!(
        head,
        "HTTP/1.1 200 Fine Thanks\r\nx-mixed-case: Keep THIS\r\ncontent-type: text/html\r\nContent-Length: 19"
    );

    let (mut child, addr, _) = serve(&warc, &["--timing", "none"]);
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "GET /{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
        server.url("/")
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200 Fine Thanks\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("\r\n\r\n<title>fine</title>"), "{answer}");
}
