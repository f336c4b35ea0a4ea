//! The concurrency made visible: measured stats, the bottleneck verdict, the timeline, compare, progress.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{crawl, each_case, Response, Server};

fn slow(latency: Duration) -> Server {
    Server::start(move |_, _| {
        std::thread::sleep(latency);
        Response::html("<title>slow</title><a href='/x'>x</a>")
    })
}

/// A big page with many elements: parsing it is real CPU work.
fn heavy() -> Server {
    let mut html = String::from("<html><head><title>heavy</title></head><body>");
    for i in 0..6000 {
        html.push_str(&format!("<div class='post'><a href='/p/{i}'>并发 post {i}</a><p>text <b>bold</b> more</p></div>"));
    }
    Server::start(move |_, _| Response::html(html.clone()))
}

fn seeds(server: &Server, n: usize) -> String {
    (0..n)
        .map(|i| server.url(&format!("/{i}")) + "\n")
        .collect()
}

fn stats(args: &[&str], input: &str) -> (Value, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats.json");
    let mut all = vec!["-q", "--no-robots", "--stats", path.to_str().unwrap()];
    all.extend_from_slice(args);
    all.push("-");
    let run = crawl(&all, input);
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let stats = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    (stats, run.records())
}

fn nearest_rank(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

#[test]
fn stats_are_measured_and_agree_with_the_records() {
    let server = slow(Duration::from_millis(120));
    let (stats, records) = stats(&["--crawlers", "4"], &seeds(&server, 12));
    for key in [
        "mode",
        "crawlers",
        "parsers",
        "pages",
        "ok",
        "failed",
        "bytes",
        "elapsed_s",
        "pages_per_s",
        "fetch_ms",
        "parse_ms",
        "crawler_busy_pct",
        "parser_busy_pct",
        "queue_full_pct",
        "errors",
        "skipped",
        "bottleneck",
    ] {
        assert!(stats.get(key).is_some(), "{key} missing: {stats}");
    }
    assert_eq!(
        (
            stats["pages"].clone(),
            stats["ok"].clone(),
            stats["crawlers"].clone()
        ),
        (12.into(), 12.into(), 4.into())
    );
    let p50 = stats["fetch_ms"]["p50"].as_f64().unwrap();
    assert!(
        (120.0..1000.0).contains(&p50),
        "the server's latency shows: {p50}"
    );
    let fetch: Vec<f64> = records
        .iter()
        .map(|r| r["fetch_ms"].as_f64().unwrap())
        .collect();
    let parse: Vec<f64> = records
        .iter()
        .map(|r| r["parse_ms"].as_f64().unwrap())
        .collect();
    // Percentiles keep 3 significant digits: never below the record's value, at most 0.1% above.
    for (name, values) in [("fetch_ms", &fetch), ("parse_ms", &parse)] {
        for p in [50.0, 90.0, 99.0] {
            let got = stats[name][format!("p{p}")].as_f64().unwrap();
            let want = nearest_rank(values.clone(), p);
            assert!(
                got >= want && got <= want * 1.001,
                "{name} p{p}: {got} for {want}"
            );
        }
        let max = values.iter().copied().fold(0.0, f64::max);
        assert_eq!(stats[name]["max"].as_f64(), Some(max), "{name} max");
    }
    let bytes: u64 = records.iter().map(|r| r["bytes"].as_u64().unwrap()).sum();
    assert_eq!(stats["bytes"], bytes);
}

#[test]
fn errors_are_counted_by_kind() {
    let server = Server::start(|req, _| match req.path.as_str() {
        p if p.starts_with("/gone") => Response::status(404),
        _ => Response::html("<title>ok</title>"),
    });
    let input = format!(
        "{}\n{}\n{}\nnot-a-url\n",
        server.url("/a"),
        server.url("/gone"),
        server.url("/gone?again")
    );
    let (stats, _) = stats(&[], &input);
    assert_eq!(
        stats["errors"],
        serde_json::json!({"http_status": 2, "invalid_url": 1})
    );
    assert_eq!(
        (stats["ok"].clone(), stats["failed"].clone()),
        (1.into(), 3.into())
    );
    // With nothing parsed there is no parse time to rank: null, not zeros.
    let (none, _) = self::stats(&[], "not-a-url\n");
    assert_eq!(none["parse_ms"], Value::Null, "{none}");
    assert_eq!(none["fetch_ms"], Value::Null, "{none}");
}

#[test]
fn fetching_robots_txt_counts_as_waiting_on_the_network() {
    // Every answer, robots.txt's too, takes 200 ms. The one crawler's fetch time, as the busy
    // share of the run gives it back, must hold robots.txt's 200 ms besides the page's own fetch
    // (its span encloses the record's fetch_ms). A share alone could drop under CPU load.
    let server = slow(Duration::from_millis(200));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats.json");
    let args = [
        "--mode",
        "single",
        "-q",
        "--stats",
        path.to_str().unwrap(),
        "-",
    ];
    let run = crawl(&args, &seeds(&server, 1));
    assert_eq!(run.code(), 0, "{}", run.stderr);
    assert_eq!(server.paths(), ["/robots.txt", "/0"]);
    let stats: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let busy = stats["crawler_busy_pct"].as_f64().unwrap();
    let fetching_ms = busy / 100.0 * stats["elapsed_s"].as_f64().unwrap() * 1000.0;
    let page_ms = run.records()[0]["fetch_ms"].as_f64().unwrap();
    // Less 5 ms for the rounding of the share and of elapsed_s.
    assert!(
        fetching_ms >= page_ms + 200.0 - 5.0,
        "robots.txt's 200 ms are not counted: {fetching_ms} ms fetching, {page_ms} ms of it \
         the page's: {stats}"
    );
}

#[test]
fn a_slow_server_makes_crawlers_the_bottleneck() {
    // The page channel holds every page, so it is never full, whatever the load; and each tiny
    // page's 300 ms wait, shared by 8 crawlers at most, leaves 2 parsers idle unless parsing one
    // took 60 ms on average, far beyond what CPU load stretches it to.
    let server = slow(Duration::from_millis(300));
    each_case([("1", 3), ("8", 16)], |(crawlers, pages)| {
        let queue = pages.to_string();
        let (stats, _) = stats(
            &["--crawlers", crawlers, "--parsers", "2", "--queue", &queue],
            &seeds(&server, pages),
        );
        assert_eq!(stats["bottleneck"], "crawlers", "{stats}");
        assert!(stats["parser_busy_pct"].as_f64().unwrap() < 50.0, "{stats}");
        assert_eq!(stats["queue_full_pct"], 0.0, "{stats}");
    });
}

#[test]
fn one_parser_on_large_fast_pages_is_the_bottleneck() {
    // Parsing a page takes the one parser many times what fetching it takes a crawler, so the
    // channel of two stays full; CPU load slows the parser at least as much as the crawlers.
    let server = heavy();
    each_case(["1", "8"], |crawlers| {
        let (stats, _) = stats(
            &["--crawlers", crawlers, "--parsers", "1", "--queue", "2"],
            &seeds(&server, 16),
        );
        assert_eq!(stats["bottleneck"], "parsers", "{stats}");
        assert!(stats["parser_busy_pct"].as_f64().unwrap() > 50.0, "{stats}");
    });
}

#[test]
fn the_timeline_has_a_lane_per_thread() {
    let server = slow(Duration::from_millis(20));
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("t.svg");
    let run = crawl(
        &[
            "-q",
            "--crawlers",
            "3",
            "--parsers",
            "2",
            "--timeline",
            svg_path.to_str().unwrap(),
            "-",
        ],
        &seeds(&server, 10),
    );
    assert_eq!(run.code(), 0);
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    let lanes: Vec<&str> = svg
        .split("<g class=\"lane\" data-thread=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(
        lanes,
        [
            "crawler-1",
            "crawler-2",
            "crawler-3",
            "parser-1",
            "parser-2"
        ]
    );
    assert_balanced(&svg);
}

/// Every element opened is closed, in order: enough to catch a broken document.
fn assert_balanced(xml: &str) {
    let mut stack = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("tag closes");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        let name = tag
            .trim_start_matches('/')
            .split_whitespace()
            .next()
            .unwrap();
        if tag.starts_with('/') {
            assert_eq!(stack.pop(), Some(name.to_string()), "mismatched </{name}>");
        } else {
            stack.push(name.to_string());
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

#[test]
fn compare_prints_runs_and_the_speedup_as_json() {
    // Single mode asks for the 12 pages one at a time. The first four requests of the multi run
    // (13 to 16) each wait until four are in flight at once, so that its crawlers' overlap is
    // shown by the server's counter rather than by a speedup that CPU load can erase; one that
    // waits in vain (5 s) answers 503, which the run's ok count shows.
    let server = Server::start(|_, stats| {
        let n = stats.requests();
        if (13..=16).contains(&n) && !stats.wait_for_in_flight(4, Duration::from_secs(5)) {
            return Response::status(503);
        }
        std::thread::sleep(Duration::from_millis(30));
        Response::html("<title>slow</title><a href='/x'>x</a>")
    });
    let run = crawl(
        &[
            "compare",
            "--format",
            "json",
            "--crawlers",
            "4",
            "--no-robots",
            "-",
        ],
        &seeds(&server, 12),
    );
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let runs = v["runs"].as_array().unwrap();
    let modes: Vec<&str> = runs.iter().map(|r| r["mode"].as_str().unwrap()).collect();
    assert_eq!(modes, ["single", "multi", "async"]);
    for r in runs {
        for key in [
            "crawlers",
            "parsers",
            "pages",
            "ok",
            "elapsed_s",
            "pages_per_s",
            "cpu_pct",
        ] {
            assert!(r[key].is_number(), "{key}: {r}");
        }
        assert_eq!(
            (r["pages"].clone(), r["ok"].clone()),
            (12.into(), 12.into()),
            "{r}"
        );
    }
    assert_eq!(server.max_in_flight(), 4, "multi's 4 crawlers overlapped");
    // One at a time, single waited out every page's 30 ms.
    let single = runs[0]["elapsed_s"].as_f64().unwrap();
    assert!(single >= 12.0 * 0.030, "{}", runs[0]);
    let speedup = v["speedup"].as_f64().unwrap();
    let expected = single / runs[1]["elapsed_s"].as_f64().unwrap();
    assert!((speedup - expected).abs() < 0.02, "{speedup} vs {expected}");
    assert!(
        run.stderr.is_empty(),
        "records and summaries stay quiet: {}",
        run.stderr
    );
}

#[test]
fn nothing_is_drawn_on_a_pipe() {
    let server = slow(Duration::from_millis(5));
    let run = crawl(&["--no-robots", "-"], &seeds(&server, 5));
    assert!(!run.stderr.contains('\r'), "{:?}", run.stderr);
    assert_eq!(
        run.stderr.lines().count(),
        2,
        "the summary and the verdict only: {}",
        run.stderr
    );
}

#[test]
fn when_no_page_succeeds_the_verdict_says_what_failed() {
    // A port nothing listens on: every request fails to connect at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let server = Server::start(|_, _| Response::status(404));
    let refused = |n: usize| -> String {
        (0..n)
            .map(|i| format!("http://127.0.0.1:{port}/{i}\n"))
            .collect()
    };
    let cases = [
        (refused(3), "crawl: all 3 pages failed: connect (3)"),
        (
            format!("{}{}", seeds(&server, 2), refused(3)),
            "crawl: all 5 pages failed: connect (3), http_status (2)",
        ),
        (
            // As many of each kind: by name.
            format!("{}{}", seeds(&server, 1), refused(1)),
            "crawl: all 2 pages failed: connect (1), http_status (1)",
        ),
        (refused(1), "crawl: the one page failed: connect (1)"),
        (
            "# nothing but a comment\n".into(),
            "crawl: no pages were crawled",
        ),
    ];
    each_case(["single", "multi"], |mode| {
        for (input, verdict) in &cases {
            let args = ["--mode", mode, "--no-robots", "--retries", "0", "-"];
            let run = crawl(&args, input);
            assert_eq!(run.code(), 0, "{}", run.stderr);
            let lines: Vec<_> = run.stderr.lines().collect();
            assert_eq!(lines.len(), 2, "{mode}: {}", run.stderr);
            assert_eq!(lines[1], *verdict, "{mode}");
        }
    });
    let (stats, _) = stats(&["--retries", "0"], &refused(2));
    assert_eq!(stats["bottleneck"], Value::Null, "{stats}");
    assert_eq!(stats["errors"], serde_json::json!({"connect": 2}));
}

#[test]
fn compare_output_says_which_mode_wrote_each_record() {
    let server = slow(Duration::from_millis(1));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let args = ["compare", "--no-robots", "-o", out.to_str().unwrap(), "-"];
    let run = crawl(&args, &seeds(&server, 2));
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut modes = Vec::new();
    for line in text.lines() {
        // Last, so that a record still starts with its url.
        assert!(line.starts_with("{\"url\":"), "{line}");
        let record: Value = serde_json::from_str(line).unwrap();
        let mode = record["mode"].as_str().unwrap().to_string();
        assert!(line.ends_with(&format!(",\"mode\":\"{mode}\"}}")), "{line}");
        modes.push(mode);
    }
    assert_eq!(modes.len(), 6, "{text}");
    each_case(["single", "multi", "async"], |mode| {
        assert_eq!(modes.iter().filter(|m| *m == mode).count(), 2, "{modes:?}");
    });
    // A plain crawl's records have no mode.
    let plain = crawl(&["-q", "--no-robots", "-"], &seeds(&server, 1));
    assert!(plain.records()[0].get("mode").is_none(), "{}", plain.stdout);
}
