//! What a user of `crawl URLS` sees: one exact record per URL line, in both modes.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use support::{blog_page, comparable, crawl, crawl_with, each_case, wait_until, Response, Server};

/// A tiny blog: list pages with two posts each, posts, and a few error pages.
fn blog() -> Server {
    Server::start(|req, _| match req.path.as_str() {
        "/404" => Response::status(404),
        "/500" => Response::status(500),
        p if p.starts_with("/list/") => {
            let n = &p["/list/".len()..];
            Response::html(blog_page(
                &format!("List {n}"),
                &[&format!("/post/{n}-1"), &format!("post/{n}-2")],
            ))
        }
        p if p.starts_with("/post/") => {
            Response::html(blog_page(&format!("Post {}", &p[6..]), &[]))
        }
        _ => Response::status(404),
    })
}

fn lines(server: &Server, paths: &[&str]) -> String {
    paths.iter().map(|p| server.url(p) + "\n").collect()
}

#[test]
fn each_crawler_keeps_its_connection_unless_told_not_to() {
    let paths = ["/list/1", "/list/2", "/list/3", "/list/4", "/list/5"];
    each_case(["single", "multi", "async"], |mode| {
        let kept = blog();
        let args = ["--mode", mode, "--crawlers", "1", "--no-robots", "-q", "-"];
        let run = crawl(&args, &lines(&kept, &paths));
        assert_eq!(run.records().len(), 5, "{mode}: {}", run.stderr);
        assert_eq!(kept.requests(), 5, "{mode}");
        match mode {
            // reqwest's async pool takes a connection back on a task of its own, so the next
            // request may, rarely, find it not yet back and open another.
            "async" => assert!(kept.connections() < 5, "{mode}: {}", kept.connections()),
            _ => assert_eq!(kept.connections(), 1, "{mode}"),
        }

        let fresh = blog();
        let args = [&args[..5], &["--no-keep-alive", "-q", "-"]].concat();
        let run = crawl(&args, &lines(&fresh, &paths));
        assert_eq!(run.records().len(), 5, "{mode}: {}", run.stderr);
        assert_eq!(fresh.connections(), 5, "{mode}");
    });
}

#[test]
fn a_page_becomes_one_exact_record() {
    let server = blog();
    let run = crawl(
        &["-q", "--select", "a.post-item-title", "-"],
        &lines(&server, &["/list/7"]),
    );
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let records = run.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert!(r["fetch_ms"].as_f64().unwrap() > 0.0);
    assert!(r["parse_ms"].as_f64().unwrap() >= 0.0);
    let body_len = blog_page("List 7", &["/post/7-1", "post/7-2"]).len();
    assert_eq!(
        comparable(records)[0],
        json!({
            "url": server.url("/list/7"),
            "final_url": server.url("/list/7"),
            "status": 200,
            "http_version": "1.1",
            "etag": null,
            "last_modified": null,
            "unchanged": false,
            "title": "List 7",
            "description": null,
            "canonical": null,
            "lang": null,
            "published": null,
            "author": null,
            "depth": 0,
            "parent": null,
            "links": [
                {"href": server.url("/post/7-1"), "text": "Post /post/7-1"},
                {"href": server.url("/list/post/7-2"), "text": "Post post/7-2"},
            ],
            "bytes": body_len,
            "encoding": "utf-8",
            "attempts": 1,
            "truncated": false,
            "error": null,
        })
    );
    assert!(run.stderr.is_empty(), "-q prints nothing: {}", run.stderr);
}

#[test]
fn n_lines_give_n_records_in_both_modes() {
    let server = blog();
    let mut input = String::from("# seeds\n\n   \n");
    for i in 0..40 {
        input.push_str(&format!("  {}  \n", server.url(&format!("/list/{i}"))));
        if i % 10 == 0 {
            input.push_str("# a comment\n\n");
        }
    }
    input.push_str(&server.url("/404")); // the last line has no newline
    each_case(["single", "multi", "async"], |mode| {
        let run = crawl(&["--mode", mode, "-q", "-"], &input);
        assert_eq!(run.code(), 0);
        let records = run.records();
        assert_eq!(records.len(), 41, "{mode}");
        let mut urls: Vec<_> = records
            .iter()
            .map(|r| r["url"].as_str().unwrap().to_string())
            .collect();
        urls.sort();
        urls.dedup();
        assert_eq!(urls.len(), 41, "{mode}: every line once, trimmed");
        assert!(urls.iter().all(|u| !u.contains(' ')));
    });
}

#[test]
fn every_mode_gives_the_same_records() {
    let server = blog();
    let mut paths: Vec<String> = (0..30).map(|i| format!("/list/{i}")).collect();
    paths.extend(["/404".into(), "/500".into(), "/post/x".into()]);
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let mut input = lines(&server, &paths);
    input.push_str("not a url\n");
    let single = crawl(&["--mode", "single", "-q", "-"], &input);
    let multi = crawl(
        &[
            "--mode",
            "multi",
            "--crawlers",
            "5",
            "--parsers",
            "3",
            "-q",
            "-",
        ],
        &input,
    );
    let asynchronous = crawl(&["--mode", "async", "--crawlers", "5", "-q", "-"], &input);
    let (single, multi) = (comparable(single.records()), comparable(multi.records()));
    assert_eq!(single.len(), 34);
    assert_eq!(single, multi);
    assert_eq!(single, comparable(asynchronous.records()));
}

#[test]
fn invalid_lines_are_records_and_never_fetched() {
    let server = blog();
    let bad = [
        "ftp://example.com/x",
        "javascript:alert(1)",
        "just-words",
        "http://",
        "file:///etc/passwd",
        "/list/1",
    ];
    let run = crawl(&["-q", "-"], &bad.join("\n"));
    assert_eq!(run.code(), 0);
    let records = run.records();
    assert_eq!(records.len(), bad.len());
    for r in &records {
        assert_eq!(r["error"]["kind"], "invalid_url", "{r}");
        assert_eq!(r["status"], Value::Null);
        assert_eq!(r["final_url"], Value::Null);
        assert_eq!(r["fetch_ms"], Value::Null);
        assert!(bad.contains(&r["url"].as_str().unwrap()));
    }
    assert_eq!(server.requests(), 0);
}

#[test]
fn error_statuses_keep_their_status() {
    let server = blog();
    each_case(["single", "multi", "async"], |mode| {
        let run = crawl(
            &["--mode", mode, "-q", "-"],
            &lines(&server, &["/404", "/500"]),
        );
        assert_eq!(run.code(), 0, "failed pages do not fail the crawl");
        let mut records = run.records();
        records.sort_by_key(|r| r["status"].as_u64());
        for (r, status) in records.iter().zip([404, 500]) {
            assert_eq!(r["status"], status);
            assert_eq!(r["error"]["kind"], "http_status");
            assert!(r["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&status.to_string()));
            assert_eq!(r["links"], json!([]));
        }
    });
}

#[test]
fn unreachable_and_slow_servers_are_connect_and_timeout() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let slow = Server::start(|_, _| {
        std::thread::sleep(Duration::from_secs(3));
        Response::html("<title>late</title>")
    });
    let input = format!("{closed_url}\n{}\n", slow.url("/"));
    let run = crawl(&["--timeout", "300ms", "-q", "-"], &input);
    let records = run.records();
    let kind =
        |url: &str| records.iter().find(|r| r["url"] == url).unwrap()["error"]["kind"].clone();
    assert_eq!(kind(&closed_url), "connect");
    assert_eq!(kind(&slow.url("/")), "timeout");
    assert!(
        run.elapsed < Duration::from_secs(3),
        "the timeout cut the wait: {:?}",
        run.elapsed
    );
}

#[test]
fn select_picks_only_matching_links() {
    let server = blog();
    let all = crawl(&["-q", "-"], &lines(&server, &["/list/3"]));
    let hrefs = |run: &support::Run| support::hrefs(&run.records()[0]);
    assert_eq!(
        hrefs(&all),
        [
            server.url("/"),
            server.url("/about"),
            server.url("/post/3-1"),
            server.url("/list/post/3-2")
        ],
        "a[href] by default; mailto: is not a page"
    );
    let posts = crawl(
        &["-q", "--select", "a.post-item-title", "-"],
        &lines(&server, &["/list/3"]),
    );
    assert_eq!(
        hrefs(&posts),
        [server.url("/post/3-1"), server.url("/list/post/3-2")]
    );
    let headings = crawl(
        &["-q", "--select", "h2", "-"],
        &lines(&server, &["/list/3"]),
    );
    assert_eq!(
        hrefs(&headings),
        hrefs(&posts),
        "an element without href gives its first inner link"
    );
}

#[test]
fn output_file_is_appended_to() {
    let server = blog();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let out_arg = out.to_str().unwrap();
    let input = lines(&server, &["/list/1", "/list/2", "/404"]);
    for round in 1..=2 {
        let run = crawl(&["-q", "-o", out_arg, "-"], &input);
        assert_eq!(run.code(), 0);
        assert!(run.stdout.is_empty(), "records go to the file only");
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text.lines().count(), 3 * round);
        assert!(text.ends_with('\n'));
        for line in text.lines() {
            serde_json::from_str::<Value>(line).unwrap();
        }
    }
}

#[test]
fn output_may_be_a_pipe() {
    // The harness reads stdout through a pipe, so /dev/stdout is one: nothing to fsync there.
    let server = blog();
    let run = crawl(
        &["-q", "-o", "/dev/stdout", "-"],
        &lines(&server, &["/list/1"]),
    );
    assert_eq!(run.code(), 0, "{}", run.stderr);
    assert_eq!(run.records().len(), 1);
}

#[test]
fn url_file_is_read_like_stdin() {
    let server = blog();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("urls.txt");
    std::fs::write(&file, lines(&server, &["/list/1", "/list/2"])).unwrap();
    let run = crawl(&["-q", file.to_str().unwrap()], "");
    assert_eq!(run.records().len(), 2);
}

/// Runs crawl with stderr on a terminal, where it draws its progress bar; gives the exit status,
/// stdout and what the terminal showed.
fn on_a_terminal(args: &[&str], stdin: &str) -> (std::process::ExitStatus, String, String) {
    use std::io::{Read, Write};
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty only writes the two descriptors; null asks for default settings.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and nothing else owns them.
    let (master, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            OwnedFd::from_raw_fd(slave),
        )
    };
    let mut child = support::bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(slave))
        .spawn()
        .unwrap();
    // Drained as it comes, or a full terminal would block crawl; it ends when crawl exits.
    let screen = std::thread::spawn(move || {
        let mut shown = Vec::new();
        let _ = (&master).read_to_end(&mut shown);
        String::from_utf8_lossy(&shown).into_owned()
    });
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    (out.status, stdout, screen.join().unwrap())
}

#[test]
fn a_url_file_that_is_a_pipe_is_read_once_even_on_a_terminal() {
    // The bar's total comes from counting the file's lines first, which a pipe cannot afford.
    let server = blog();
    let urls = lines(&server, &["/list/1", "/list/2"]);
    let (status, stdout, screen) = on_a_terminal(&["/dev/stdin"], &urls);
    assert!(status.success(), "{screen}");
    assert_eq!(stdout.lines().count(), 2, "{screen}");
    let (status, stdout, screen) =
        on_a_terminal(&["compare", "--format", "json", "/dev/stdin"], &urls);
    assert!(status.success(), "{screen}");
    let compared: Value = serde_json::from_str(&stdout).unwrap();
    for run in compared["runs"].as_array().unwrap() {
        assert_eq!(run["pages"], 2, "{run}");
    }
    // A regular file is still counted, so the bar knows its total.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("urls.txt");
    std::fs::write(&file, &urls).unwrap();
    let (status, stdout, screen) = on_a_terminal(&[file.to_str().unwrap()], "");
    assert!(status.success(), "{screen}");
    assert_eq!(stdout.lines().count(), 2);
    assert!(screen.contains("/2 pages"), "{screen}");
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_line() {
    // Windows editors start UTF-8 files with one; it must not turn a comment into a record.
    let server = blog();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("urls.txt");
    let urls = format!("\u{feff}# seeds\n{}", lines(&server, &["/list/1"]));
    std::fs::write(&file, urls).unwrap();
    let run = crawl(&["-q", file.to_str().unwrap()], "");
    let records = run.records();
    assert_eq!(records.len(), 1, "{}", run.stdout);
    assert_eq!(records[0]["url"], server.url("/list/1"));
    let run = crawl(&["-q", "-"], &format!("\u{feff}{}", server.url("/list/1")));
    assert_eq!(run.records()[0]["status"], 200, "{}", run.stdout);
}

#[test]
fn summary_tells_mode_threads_and_counts() {
    let server = blog();
    let run = crawl(
        &["--crawlers", "3", "--parsers", "2", "-"],
        &lines(&server, &["/list/1", "/404"]),
    );
    let stderr = run.stderr.trim();
    assert_eq!(
        stderr.lines().count(),
        2,
        "a summary and a verdict: {stderr}"
    );
    assert!(
        stderr.lines().nth(1).unwrap().contains("bottleneck: "),
        "{stderr}"
    );
    let summary = stderr.lines().next().unwrap();
    for part in [
        "multi mode",
        "3 crawlers",
        "2 parsers",
        "2 pages",
        "1 ok",
        "1 failed",
        "pages/s",
    ] {
        assert!(summary.contains(part), "{part} missing from: {summary}");
    }
    let single = crawl(&["--mode", "single", "-"], &lines(&server, &["/list/1"]));
    assert!(
        single
            .stderr
            .contains("single mode, 1 crawler, 1 parser: 1 page, 1 ok, 0 failed"),
        "{}",
        single.stderr
    );
}

#[test]
fn a_closed_stdout_ends_the_crawl_quietly() {
    // Each mode gets a server of its own, which holds every page but the first until the reader
    // has gone: so before that, exactly the first page and one page per crawler are asked for.
    // Then every page answers at once, and a crawl that went on would ask for all 400.
    each_case(["single", "multi", "async"], |mode| {
        let gone = Arc::new((Mutex::new(false), Condvar::new()));
        let gate = gone.clone();
        let server = Server::start(move |req, _| {
            if req.path != "/0" {
                let (gone, changed) = &*gate;
                let limit = Duration::from_secs(20);
                let gone = gone.lock().unwrap();
                let _ = changed.wait_timeout_while(gone, limit, |gone| !*gone);
            }
            Response::html(blog_page("x", &["/a", "/b"]))
        });
        let input: String = (0..400)
            .map(|i| server.url(&format!("/{i}")) + "\n")
            .collect();
        let mut child = support::bin()
            .args(["--mode", mode, "--crawlers", "4", "--no-robots", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feeder =
            std::thread::spawn(move || std::io::Write::write_all(&mut stdin, input.as_bytes()));
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let first: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(first["url"], server.url("/0"), "{mode}");
        let crawlers = if mode == "single" { 1 } else { 4 };
        wait_until(
            "a page held for each crawler",
            Duration::from_secs(10),
            || server.in_flight() == crawlers,
        );
        assert_eq!(
            server.requests(),
            1 + crawlers,
            "{mode}: {:?}",
            server.paths()
        );
        drop(stdout); // like `| head -1`
        *gone.0.lock().unwrap() = true;
        gone.1.notify_all();
        let out = child.wait_with_output().unwrap();
        let _ = feeder.join();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{mode}: {stderr}");
        assert!(!stderr.contains("panicked"), "{mode}: {stderr}");
        assert!(!stderr.contains("error"), "{mode}: {stderr}");
        assert!(
            server.requests() < 400,
            "{mode}: went on after the reader left: {} requests",
            server.requests()
        );
    });
}

#[test]
fn multi_and_async_really_run_crawlers_concurrently() {
    // The first `n` requests each wait until `n` are in flight at once, so the count is reached
    // through the counter, not through timing; one that gives up (after 5 s, so a broken build
    // cannot hang) answers 503 and fails the test through its record.
    let cases = [
        ("multi", 2),
        ("multi", 4),
        ("multi", 7),
        ("async", 4),
        ("async", 7),
    ];
    each_case(cases, |(mode, crawlers)| {
        let server = Server::start(move |_, stats| {
            if stats.requests() <= crawlers
                && !stats.wait_for_in_flight(crawlers, Duration::from_secs(5))
            {
                return Response::status(503);
            }
            Response::html(blog_page("x", &[]))
        });
        let input: String = (0..3 * crawlers)
            .map(|i| server.url(&format!("/{i}")) + "\n")
            .collect();
        let n = crawlers.to_string();
        let args = [
            "--mode",
            mode,
            "--no-robots",
            "--crawlers",
            &n,
            "--parsers",
            "1",
            "-q",
            "-",
        ];
        let records = crawl(&args, &input).records();
        assert_eq!(records.len(), 3 * crawlers);
        assert!(
            records.iter().all(|r| r["status"] == 200),
            "{mode}: {crawlers} requests met at once"
        );
        assert_eq!(
            server.max_in_flight(),
            crawlers,
            "{mode}: never more than --crawlers at once"
        );
    });
}

#[test]
fn bench_fetch_times_the_fetch_step_alone_with_n_in_flight() {
    // The hidden command behind bench/run.sh's client limit: each URL fetched once, --crawlers
    // at a time (met through the counter, as above), failures not counted as ok.
    let server = Server::start(|req, stats| {
        if stats.requests() <= 3 && !stats.wait_for_in_flight(3, Duration::from_secs(5)) {
            return Response::status(503);
        }
        match req.path.as_str() {
            "/missing" => Response::status(404),
            _ => Response::html(blog_page("x", &[])),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let urls = dir.path().join("urls.txt");
    let mut lines: String = (0..8)
        .map(|i| server.url(&format!("/{i}")) + "\n")
        .collect();
    lines += &(server.url("/missing") + "\n");
    std::fs::write(&urls, lines).unwrap();
    let out = support::bin()
        .args(["bench-fetch", "--crawlers", "3"])
        .arg(&urls)
        .output()
        .unwrap();
    assert!(out.status.success());
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(
        report.starts_with("9 pages (8 ok) in ") && report.ends_with(" pages/s with 3 crawlers\n"),
        "{report}"
    );
    assert_eq!(server.requests(), 9);
    assert_eq!(server.max_in_flight(), 3);
}

#[test]
fn single_never_has_two_requests_in_flight() {
    let server = Server::start(|_, _| {
        std::thread::sleep(Duration::from_millis(20));
        Response::html(blog_page("x", &[]))
    });
    let input: String = (0..10)
        .map(|i| server.url(&format!("/{i}")) + "\n")
        .collect();
    let run = crawl(
        &[
            "--mode",
            "single",
            "--crawlers",
            "8",
            "--no-robots",
            "-q",
            "-",
        ],
        &input,
    );
    assert_eq!(run.records().len(), 10);
    assert_eq!(server.max_in_flight(), 1);
    assert_eq!(
        server.paths(),
        (0..10).map(|i| format!("/{i}")).collect::<Vec<_>>(),
        "in order"
    );
}

#[test]
fn the_streaming_pass_and_the_tree_give_the_same_records() {
    // Pages the streaming pass takes (marked STREAMED), and one it hands to the tree (HANDED:
    // misnested, foster-parented). In a debug build CRAWL_TEST_PANIC=tree:MARKER makes the tree
    // panic on a marked page, which turns its record into kind `parse`: so a page's record
    // shows which path it took.
    let pages = [
        blog_page("List", &["/post/1", "post/2"]).replace("<body>", "<body><!--STREAMED-->"),
        "<!DOCTYPE html><html lang=en><head><title>T &amp; U</title>\
         <meta name=description content='about'><link rel=canonical href=/c></head>\
         <body><!--STREAMED--><ul><li><a href=/a>A<li><a href='?q=1&copy=2'>B &copy;</a></ul>\
         <table><tr><td><a href=/t>cell</a></table><p rel=author>Ann</p></body>"
            .to_string(),
        "<!DOCTYPE html><!--HANDED--><p><a href=/x>one<div>two</a>three</div>\
         <table><a href=/f>f</a></table>"
            .to_string(),
    ];
    let server = Server::start(move |req, _| {
        let k: usize = req.path[1..].parse().unwrap_or(0);
        Response::html(pages[k % pages.len()].clone())
    });
    let input = lines(&server, &["/0", "/1", "/2"]);
    let streaming = ["-q", "--no-robots", "--select", "a[href]", "-"];
    // `:not(...)` is beyond the streaming pass, so this selector builds every tree.
    let tree_only = [
        "-q",
        "--no-robots",
        "--select",
        "a[href]:not([data-never])",
        "-",
    ];
    // Runs crawl with the tree set to panic on pages that contain `marker`.
    let panicking_on = |args: &[&str], marker: &str| {
        let panic = format!("tree:{marker}");
        let run = crawl_with(args, &input, &[("CRAWL_TEST_PANIC", &panic)]);
        assert_eq!(run.code(), 0, "{args:?} {panic}: {}", run.stderr);
        comparable(run.records())
    };
    // The marked pages never reached the tree in the run that is compared, or they would be
    // kind `parse` here and differ from the tree's records.
    let streamed = panicking_on(&streaming, "STREAMED");
    assert_eq!(streamed.len(), 3);
    for record in &streamed {
        assert_eq!(record["error"], Value::Null, "went to the tree: {record}");
    }
    let tree = comparable(crawl(&tree_only, &input).records());
    assert_eq!(streamed, tree);
    assert_eq!(streamed[1]["links"][1]["href"], server.url("/1?q=1&copy=2"));
    assert_eq!(streamed[1]["author"], "Ann");

    if cfg!(debug_assertions) {
        // What each run was compared as: the tree run built the marked pages' trees, and the
        // streaming run handed the misnested page to the tree.
        let kinds = |records: &[Value]| -> Vec<Value> {
            records.iter().map(|r| r["error"]["kind"].clone()).collect()
        };
        let built = panicking_on(&tree_only, "STREAMED");
        let want = [json!("parse"), json!("parse"), Value::Null];
        assert_eq!(kinds(&built), want, "the tree run built these trees");
        let handed = panicking_on(&streaming, "HANDED");
        let want = [Value::Null, Value::Null, json!("parse")];
        assert_eq!(
            kinds(&handed),
            want,
            "the pass handed the misnested page on"
        );
    }
}

#[test]
fn bytes_in_url_lines_are_kept() {
    let server = Server::start(|req, _| Response::html(format!("<title>{}</title>", req.path)));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("urls.txt");
    let latin1 = [server.url("/caf").as_bytes(), b"\xe9.html\n"].concat();
    let utf8 = server.url("/café.html") + "\n";
    // 64 KiB falls on the second byte of an "é": the cut must not leave its first byte behind.
    let mut long = server.url("/") + "x";
    if (64 * 1024 - 1 - long.len()) % 2 == 1 {
        long.push('x');
    }
    let long = format!("{long}{}\n", "é".repeat((64 * 1024 - long.len()) / 2 + 1));
    assert_eq!(long.as_bytes()[64 * 1024 - 1], 0xC3, "the cut splits an é");
    std::fs::write(
        &file,
        [latin1, utf8.into_bytes(), long.into_bytes()].concat(),
    )
    .unwrap();
    let out = dir.path().join("out.jsonl");
    let args = ["-q", "--no-robots", "-o", out.to_str().unwrap()];
    let run = crawl(&[&args[..], &[file.to_str().unwrap()]].concat(), "");
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    let by_url = |start: &str| {
        let start = server.url(start);
        let found = records
            .iter()
            .find(|r| r["url"].as_str().unwrap().starts_with(&start));
        found.unwrap_or_else(|| panic!("no record for {start}"))
    };
    // The byte that is not UTF-8 is sent as curl sends it, and the record shows it so.
    let latin1 = by_url("/caf%E9");
    assert_eq!(latin1["url"], server.url("/caf%E9.html"));
    assert_eq!(latin1["title"], "/caf%E9.html");
    // Valid UTF-8 is kept as it is, and percent-encoded only on the wire.
    let utf8 = by_url("/café");
    assert_eq!(utf8["url"], server.url("/café.html"));
    assert_eq!(utf8["title"], "/caf%C3%A9.html");
    let mut paths = server.paths();
    paths.sort();
    assert_eq!(paths, ["/caf%C3%A9.html", "/caf%E9.html"]);
    let long = by_url("/x");
    let cut = long["url"].as_str().unwrap();
    assert_eq!(long["error"]["kind"], "invalid_url");
    let tail: String = cut.chars().rev().take(4).collect();
    assert_eq!(tail, "éééé", "the cut line ends, reversed, in {tail:?}");
    assert_eq!(cut.len(), 64 * 1024 - 1);
    // The record's url is what --resume matches the line by.
    let again = crawl(
        &[&args[..], &["--resume", file.to_str().unwrap()]].concat(),
        "",
    );
    assert_eq!(again.code(), 0, "{}", again.stderr);
    assert_eq!(server.requests(), 2, "{:?}", server.paths());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}

#[test]
fn a_page_that_declares_no_charset_is_detected() {
    // An old Chinese blog: GBK bytes, no BOM, no charset in Content-Type, no meta.
    let title = "周末读书笔记";
    let text = "这个周末我终于读完了那本关于分布式系统的书。作者用很多实际的例子说明了为什么网络分区\
                无法避免，以及一致性和可用性之间应该如何取舍。下周我打算把书里的几个算法自己实现一遍。";
    let html =
        format!("<html><head><title>{title}</title></head><body><p>{text}</p></body></html>");
    let (gbk, _, _) = encoding_rs::GBK.encode(&html);
    let gbk = gbk.into_owned();
    let server = Server::start(move |_, _| Response::new(200, "text/html", gbk.clone()));
    let run = crawl(&["-q", "--no-robots", "-"], &lines(&server, &["/old"]));
    let record = &run.records()[0];
    assert_eq!(record["title"], title, "{record}");
    assert_eq!(record["encoding"], "gb18030");
}

#[test]
fn resolve_takes_curls_host_port_addr_form() {
    let server = Server::start(|req, _| {
        let host = req.header("host").unwrap_or_default();
        Response::html(format!("<title>{host}</title>"))
    });
    let port = server.url("").rsplit(':').next().unwrap().to_string();
    let url = format!("http://blog.example:{port}/");
    // As curl writes it, and as before; either pin holds on every port.
    for pin in [
        format!("blog.example:{port}:127.0.0.1"),
        "blog.example:443:127.0.0.1".to_string(),
        "blog.example:127.0.0.1".to_string(),
    ] {
        let run = crawl(&["-q", "--no-robots", "--resolve", &pin, "-"], &url);
        assert_eq!(run.code(), 0, "{pin}: {}", run.stderr);
        let record = &run.records()[0];
        assert_eq!(
            record["title"],
            format!("blog.example:{port}"),
            "{pin}: {record}"
        );
    }
    assert_eq!(server.requests(), 3);
}
