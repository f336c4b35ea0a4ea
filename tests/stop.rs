//! Stopping and resuming: Ctrl-C and SIGTERM end on whole lines, and --resume completes a crawl after kill -9.

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{each_case, sitemap, wait_until, Response, Server};

fn slow_server(latency: Duration) -> Server {
    Server::start(move |req, _| {
        sleep(latency);
        Response::html(format!("<title>{}</title>", req.path))
    })
}

fn url_file(dir: &Path, server: &Server, n: usize) -> String {
    let path = dir.join("urls.txt");
    let text: String = (0..n)
        .map(|i| server.url(&format!("/page/{i}")) + "\n")
        .collect();
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn start(args: &[&str]) -> Child {
    support::bin()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Waits until the output file holds at least `n` lines, so the crawl is known to be under way.
fn wait_for_lines(path: &Path, n: usize) {
    wait_until(
        &format!("{n} lines in {}", path.display()),
        Duration::from_secs(20),
        || std::fs::read_to_string(path).is_ok_and(|t| t.lines().count() >= n),
    );
}

/// Every line must be whole JSON; returns the urls.
fn records(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "the last line is whole"
    );
    text.lines()
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("torn line ({e}): {l}"));
            v["url"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn ctrl_c_and_sigterm_end_on_whole_lines_within_the_grace_period() {
    let server = slow_server(Duration::from_millis(200));
    let dir = tempfile::tempdir().unwrap();
    let urls = url_file(dir.path(), &server, 200);
    let cases = [
        ("multi", "-INT", 130),
        ("single", "-INT", 130),
        ("multi", "-TERM", 143),
        ("async", "-INT", 130),
    ];
    each_case(cases, |(mode, sig, code)| {
        let out = dir.path().join(format!("{mode}{sig}.jsonl"));
        let mut child = start(&[
            "--mode",
            mode,
            "--crawlers",
            "4",
            "-o",
            out.to_str().unwrap(),
            &urls,
        ]);
        wait_for_lines(&out, 3);
        let sent = Instant::now();
        signal(&child, sig);
        let status = child.wait().unwrap();
        let took = sent.elapsed();
        assert_eq!(status.code(), Some(code), "{mode} {sig}");
        assert!(
            took < Duration::from_millis(2500),
            "{mode} {sig}: {took:?} from signal to exit"
        );
        let done = records(&out);
        assert!(done.len() < 200, "{mode} {sig}: stopped early");
        let unique: HashSet<_> = done.iter().collect();
        assert_eq!(unique.len(), done.len(), "no URL twice");
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(stderr.contains("interrupted by"), "{stderr}");
    });
}

#[test]
fn ctrl_c_stops_compare_not_just_the_mode_it_is_in() {
    let server = slow_server(Duration::from_millis(200));
    let dir = tempfile::tempdir().unwrap();
    let urls = url_file(dir.path(), &server, 20);
    let mut child = start(&["compare", &urls]);
    wait_until("single mode's second page", Duration::from_secs(10), || {
        server.requests() >= 2
    });
    signal(&child, "-INT");
    assert_eq!(child.wait().unwrap().code(), Some(130));
    // Single mode was under way; multi and async never started their 20 pages each.
    assert!(server.requests() < 20, "{} requests", server.requests());
}

#[test]
fn figures_after_ctrl_c_are_those_of_the_work_done() {
    each_case(["single", "multi", "async"], |mode| {
        // A server and files of its own, so that neither another mode's requests nor its
        // figures count for this one.
        let server = slow_server(Duration::from_millis(200));
        let dir = tempfile::tempdir().unwrap();
        let urls = url_file(dir.path(), &server, 40);
        let stats = dir.path().join("stats.json");
        let timeline = dir.path().join("t.svg");
        let args = [
            "--mode",
            mode,
            "--crawlers",
            "2",
            "--no-robots",
            "-q",
            "--stats",
            stats.to_str().unwrap(),
            "--timeline",
            timeline.to_str().unwrap(),
            &urls,
        ];
        let mut child = start(&args);
        // A second of fetching: five answers for each crawler.
        let answers = 5 * if mode == "single" { 1 } else { 2 };
        wait_until("a second of fetching", Duration::from_secs(10), || {
            server.requests() - server.in_flight() >= answers
        });
        signal(&child, "-INT");
        assert_eq!(child.wait().unwrap().code(), Some(130), "{mode}");
        let figures: Value =
            serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
        let busy = figures["crawler_busy_pct"].as_f64().unwrap();
        assert!(busy > 50.0, "{mode}: crawlers fetched all along: {figures}");
        let svg = std::fs::read_to_string(&timeline).unwrap();
        assert!(svg.contains("<rect"), "{mode}: the timeline has spans");
    });
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    let server = Server::start(|_, _| {
        sleep(Duration::from_secs(20));
        Response::html("<title>late</title>")
    });
    let dir = tempfile::tempdir().unwrap();
    let urls = url_file(dir.path(), &server, 10);
    let mut child = start(&["--timeout", "60s", &urls]);
    wait_until("a request", Duration::from_secs(10), || {
        server.requests() > 0
    });
    send(&child, libc::SIGINT);
    // Two signals of a kind that are pending together are one: the second is sent once the
    // first has been taken.
    wait_until(
        "crawl to take the first SIGINT",
        Duration::from_secs(5),
        || !pending(&child, libc::SIGINT),
    );
    let sent = Instant::now();
    send(&child, libc::SIGINT);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert!(
        sent.elapsed() < Duration::from_millis(500),
        "{:?}",
        sent.elapsed()
    );
}

#[test]
fn a_retry_cut_short_by_ctrl_c_leaves_no_record_so_resume_retries_it() {
    each_case(["single", "multi", "async"], |mode| {
        // The first answer asks to come back in 3 s; any later one is the page.
        let server = Server::start(|_, stats| match stats.requests() {
            1 => Response::status(503).header("Retry-After", "3"),
            _ => Response::html("<title>back</title>"),
        });
        let dir = tempfile::tempdir().unwrap();
        let urls = dir.path().join("urls.txt");
        std::fs::write(&urls, server.url("/page") + "\n").unwrap();
        let out = dir.path().join("out.jsonl");
        let args = ["--mode", mode, "--no-robots", "--resume", "-o"];
        let run = |extra: &[&str]| {
            let mut all = args.to_vec();
            all.extend([out.to_str().unwrap(), urls.to_str().unwrap()]);
            all.extend(extra);
            start(&all)
        };
        let mut child = run(&[]);
        // Once the 503 is written the crawl waits 3 s to retry, and the signal cuts that wait;
        // should it come before crawl has read the 503, the wait is cut before it begins.
        wait_until("the 503 to be sent", Duration::from_secs(10), || {
            server.requests() == 1 && server.in_flight() == 0
        });
        signal(&child, "-INT");
        assert_eq!(child.wait().unwrap().code(), Some(130), "{mode}");
        assert_eq!(
            records(&out),
            Vec::<String>::new(),
            "{mode}: the 503 is not the outcome"
        );

        assert_eq!(run(&[]).wait().unwrap().code(), Some(0), "{mode}");
        let text = std::fs::read_to_string(&out).unwrap();
        let record: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(record["status"], 200, "{mode}: {record}");
        assert_eq!(server.requests(), 2, "{mode}");
    });
}

#[test]
fn resume_after_kill_9_completes_with_one_record_per_url() {
    let server = slow_server(Duration::from_millis(100));
    let dir = tempfile::tempdir().unwrap();
    let n = 60;
    let urls = url_file(dir.path(), &server, n);
    let out = dir.path().join("out.jsonl");
    let out_arg = out.to_str().unwrap();
    for (round, mode) in ["multi", "single"].iter().enumerate() {
        let mut child = start(&[
            "--mode",
            mode,
            "--crawlers",
            "3",
            "--resume",
            "-o",
            out_arg,
            &urls,
        ]);
        wait_for_lines(&out, 5 + 10 * round);
        signal(&child, "-KILL");
        child.wait().unwrap();
        // A crash can leave half a line; simulate the worst case.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&out)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"url\":\"http://torn"))
            .unwrap();
    }
    let before = server.requests();
    let status = start(&["--resume", "-o", out_arg, &urls]).wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let done = records(&out);
    assert_eq!(done.len(), n, "exactly one record per URL");
    assert_eq!(done.iter().collect::<HashSet<_>>().len(), n);
    assert!(
        server.requests() - before < n,
        "URLs already recorded were not fetched again"
    );
}

#[test]
fn resume_needs_an_output_file() {
    let run = support::crawl(&["--resume", "-"], "");
    assert_eq!(run.code(), 2);
}

#[test]
fn resume_with_depth_follows_the_links_of_pages_already_recorded() {
    each_case(["single", "multi", "async"], |mode| {
        // / links to 20 pages, each of which links back to / and to the next one.
        let server = Server::start(|req, _| {
            sleep(Duration::from_millis(100));
            let next = req
                .path
                .trim_start_matches("/p")
                .parse::<u32>()
                .map_or(1, |n| n + 1);
            let links: String = match req.path.as_str() {
                "/" => (1..=20)
                    .map(|i| format!("<a href=/p{i}>p{i}</a>"))
                    .collect(),
                _ => format!("<a href=/>home</a><a href=/p{next}>next</a>"),
            };
            Response::html(format!("<title>{}</title>{links}", req.path))
        });
        let dir = tempfile::tempdir().unwrap();
        let urls = dir.path().join("urls.txt");
        std::fs::write(&urls, server.url("/") + "\n").unwrap();
        let out = dir.path().join("out.jsonl");
        let args = [
            "--mode",
            mode,
            "--crawlers",
            "2",
            "--depth",
            "1",
            "--no-robots",
            "--resume",
            "-o",
            out.to_str().unwrap(),
            urls.to_str().unwrap(),
        ];
        let child = start(&args);
        wait_for_lines(&out, 4);
        signal(&child, "-INT");
        let mut child = child;
        child.wait().unwrap();
        let before = records(&out).len();
        assert!(before < 21, "{mode}: the crawl was not cut short");

        let mut again = start(&args);
        assert_eq!(again.wait().unwrap().code(), Some(0), "{mode}");
        let mut got = records(&out);
        got.sort();
        let mut want: Vec<String> = (1..=20).map(|i| server.url(&format!("/p{i}"))).collect();
        want.push(server.url("/"));
        want.sort();
        assert_eq!(got, want, "{mode}: one record per page of depth 0 and 1");
        // /p21 is at depth 2; the rest was each fetched once, across both runs.
        assert!(!server.paths().contains(&"/p21".to_string()), "{mode}");
        assert!(server.requests() <= 21 + 2, "{mode}: {:?}", server.paths());
    });
}

/// One page that links to two paths robots.txt disallows, to a private address, and to a page
/// that answers long after the grace period, so the stop comes while the engine is still busy.
fn skipping_site() -> Server {
    Server::start(|req, _| match req.path.as_str() {
        "/robots.txt" => Response::new(
            200,
            "text/plain",
            b"User-agent: *\nDisallow: /private/\n".to_vec(),
        ),
        "/" => {
            let host = req.header("host").unwrap_or_default();
            let port = host.rsplit(':').next().unwrap();
            Response::html(format!(
                "<title>home</title><a href=/private/1>1</a><a href=/private/2>2</a>\
                 <a href=http://127.0.0.1:{port}/inside>inside</a><a href=/slow>slow</a>"
            ))
        }
        _ => {
            sleep(Duration::from_secs(10));
            Response::html("<title>late</title>")
        }
    })
}

/// Starts a crawl of `skipping_site` from `seed` with one crawler, so the links are taken in page
/// order and both disallowed ones are counted before /slow is requested; returns once it is.
fn crawl_until_slow(server: &Server, dir: &Path, mode: &str, seed: &str, extra: &[&str]) -> Child {
    let port = server.url("").rsplit(':').next().unwrap().to_string();
    let urls = dir.join("urls.txt");
    std::fs::write(&urls, format!("http://blog.example:{port}{seed}\n")).unwrap();
    let mut args = vec![
        "--mode",
        mode,
        "--crawlers",
        "1",
        "--depth",
        "1",
        "--all-hosts",
        "--resolve",
        "blog.example:127.0.0.1",
    ];
    args.extend(extra);
    args.push(urls.to_str().unwrap());
    let child = start(&args);
    wait_until("/slow to be requested", Duration::from_secs(20), || {
        server.paths().iter().any(|p| p == "/slow")
    });
    child
}

fn stderr_of(child: &mut Child) -> String {
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    stderr
}

#[test]
fn the_summary_after_ctrl_c_counts_the_links_skipped() {
    each_case(["single", "multi", "async"], |mode| {
        let server = skipping_site();
        let dir = tempfile::tempdir().unwrap();
        let mut child = crawl_until_slow(&server, dir.path(), mode, "/", &[]);
        signal(&child, "-INT");
        assert_eq!(child.wait().unwrap().code(), Some(130), "{mode}");
        let stderr = stderr_of(&mut child);
        for said in [
            "; 2 links disallowed by robots.txt",
            "; 1 link to private addresses not followed",
            "; interrupted by SIGINT",
        ] {
            assert!(stderr.contains(said), "{mode}: no {said:?} in {stderr}");
        }
    });
}

#[test]
fn after_ctrl_c_a_field_that_matched_nothing_is_warned_about_for_the_pages_parsed() {
    let fields = ["--field", "heading=title", "--field", "none=.missing"];
    let server = skipping_site();
    let dir = tempfile::tempdir().unwrap();
    let mut child = crawl_until_slow(&server, dir.path(), "multi", "/", &fields);
    signal(&child, "-INT");
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let stderr = stderr_of(&mut child);
    assert!(
        stderr.contains("--field none matched nothing on any page parsed before the stop"),
        "{stderr}"
    );
    assert!(!stderr.contains("--field heading"), "{stderr}");

    // Stopped before any page was parsed, a field has not been tried: no warning.
    let server = skipping_site();
    let mut child = crawl_until_slow(&server, dir.path(), "multi", "/slow", &fields);
    signal(&child, "-INT");
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let stderr = stderr_of(&mut child);
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert!(!stderr.contains("matched nothing"), "{stderr}");
}

/// An index lists a sitemap, which lists two pages and a sitemap of its own (listed by two
/// sitemaps in a row, so recorded but not expanded); each page links to one more.
fn sitemap_site() -> Server {
    Server::start(|req, _| {
        let host = req.header("host").unwrap().to_string();
        let abs = |p: &str| format!("http://{host}{p}");
        match req.path.as_str() {
            "/index.xml" => Response::new(
                200,
                "application/xml",
                sitemap("index", &[abs("/sitemap.xml")]).into_bytes(),
            ),
            "/sitemap.xml" => Response::new(
                200,
                "application/xml",
                sitemap("urlset", &[abs("/a"), abs("/b"), abs("/more.xml")]).into_bytes(),
            ),
            "/more.xml" => Response::new(
                200,
                "application/xml",
                sitemap("urlset", &[abs("/c")]).into_bytes(),
            ),
            "/a" | "/b" => {
                let next = format!("{}/next", req.path);
                Response::html(format!(
                    "<title>{}</title><a href={next}>next</a>",
                    req.path
                ))
            }
            _ => Response::html(format!("<title>{}</title>", req.path)),
        }
    })
}

/// Each record's url, depth and parent, sorted by url.
fn places(path: &Path) -> Vec<(String, u64, Value)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut places: Vec<_> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let url = v["url"].as_str().unwrap().to_string();
            (url, v["depth"].as_u64().unwrap(), v["parent"].clone())
        })
        .collect();
    places.sort_by(|a, b| a.0.cmp(&b.0));
    places
}

#[test]
fn resume_crawls_a_recorded_sitemaps_entries_at_its_own_depth() {
    let cases = [
        ("single", "0"),
        ("single", "1"),
        ("multi", "1"),
        ("async", "1"),
    ];
    each_case(cases, |(mode, depth)| {
        let server = sitemap_site();
        let dir = tempfile::tempdir().unwrap();
        let urls = dir.path().join("urls.txt");
        std::fs::write(&urls, server.url("/index.xml") + "\n").unwrap();
        let run = |out: &Path, extra: &[&str]| {
            let mut args = vec!["--mode", mode, "--depth", depth, "--no-robots", "-q"];
            args.extend([
                "--resume",
                "-o",
                out.to_str().unwrap(),
                urls.to_str().unwrap(),
            ]);
            args.extend(extra);
            start(&args).wait().unwrap().code()
        };
        let out = dir.path().join("out.jsonl");
        // The first run stops after the index and the sitemap it lists, as an interrupted one might.
        assert_eq!(run(&out, &["--max-pages", "2"]), Some(0), "{mode}");
        assert_eq!(records(&out).len(), 2, "{mode}");
        assert_eq!(run(&out, &[]), Some(0), "{mode}");
        // The same as one run that was never interrupted.
        let whole = dir.path().join("whole.jsonl");
        assert_eq!(run(&whole, &[]), Some(0), "{mode}");

        let url = |p: &str| server.url(p);
        let parent = |p: &str| Value::from(url(p));
        let mut want = vec![
            (url("/a"), 0, parent("/sitemap.xml")),
            (url("/a/next"), 1, parent("/a")),
            (url("/b"), 0, parent("/sitemap.xml")),
            (url("/b/next"), 1, parent("/b")),
            (url("/index.xml"), 0, Value::Null),
            (url("/more.xml"), 0, parent("/sitemap.xml")),
            (url("/sitemap.xml"), 0, parent("/index.xml")),
        ];
        if depth == "0" {
            want.retain(|(_, depth, _)| *depth == 0);
        }
        assert_eq!(places(&out), want, "{mode} --depth {depth}");
        assert_eq!(places(&whole), want, "{mode} --depth {depth}");
        assert!(!server.paths().contains(&"/c".to_string()), "{mode}");
    });
}

/// (url, depth) of each record in FILE, sorted.
fn depths(path: &Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut depths: Vec<(String, u64)> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["url"].as_str().unwrap().into(),
                v["depth"].as_u64().unwrap(),
            )
        })
        .collect();
    depths.sort();
    depths
}

/// Crawls `seed` whole, then keeps only the records of `kept` paths, in that order, as earlier
/// interrupted runs could have left them, and resumes: the result must be the whole crawl's.
fn resume_from(server: &Server, depth: &str, kept: &[&str]) {
    each_case(["single", "multi", "async"], |mode| {
        let dir = tempfile::tempdir().unwrap();
        let urls = dir.path().join("urls.txt");
        std::fs::write(&urls, server.url("/a") + "\n").unwrap();
        let (whole, out) = (dir.path().join("whole.jsonl"), dir.path().join("out.jsonl"));
        let args = ["--mode", mode, "--depth", depth, "--no-robots", "-q"];
        let urls = urls.to_str().unwrap();
        let run = |extra: &[&str]| {
            let mut child = start(&[&args[..], extra, &[urls]].concat());
            assert_eq!(child.wait().unwrap().code(), Some(0), "{mode}");
        };
        run(&["-o", whole.to_str().unwrap()]);
        let text = std::fs::read_to_string(&whole).unwrap();
        let left: String = kept
            .iter()
            .map(|p| {
                let url = format!("\"url\":\"{}\"", server.url(p));
                let line = text.lines().find(|l| l.contains(&url)).unwrap();
                format!("{line}\n")
            })
            .collect();
        std::fs::write(&out, left).unwrap();
        run(&["--resume", "-o", out.to_str().unwrap()]);
        assert_eq!(depths(&out), depths(&whole), "{mode}");
    });
}

#[test]
fn resume_takes_recorded_pages_level_by_level_whatever_order_they_were_written_in() {
    // /x is at depth 2 through /c, and at 3 through /d; /y, at depth 3 through /x, is in the
    // crawl only if /x gets its shortest depth. /d was recorded, /c not: a run cut short while
    // its level 1 and 2 ran together could leave that.
    let server = Server::start(|req, _| {
        let links: &[&str] = match req.path.as_str() {
            "/a" => &["/b", "/c"],
            "/b" => &["/d"],
            "/c" | "/d" => &["/x"],
            "/x" => &["/y"],
            _ => &[],
        };
        let anchors: String = links.iter().map(|l| format!("<a href={l}>l</a>")).collect();
        Response::html(format!("<title>{}</title>{anchors}", req.path))
    });
    resume_from(&server, "3", &["/a", "/b", "/d"]);
}

#[test]
fn resume_fetches_a_link_of_the_level_a_recorded_redirect_landed_on() {
    // /a links to /b and to /r, which redirects to /b: both are of depth 1, so the whole crawl
    // fetches /b as a link; where /r landed holds back only links of deeper levels.
    let server = Server::start(|req, _| match req.path.as_str() {
        "/a" => Response::html("<title>a</title><a href=/b>b</a><a href=/r>r</a>"),
        "/r" => Response::status(301).header("Location", "/b"),
        p => Response::html(format!("<title>{p}</title>")),
    });
    resume_from(&server, "1", &["/a", "/r"]);
}

/// Sends `sig` straight to the child, with no `kill` process in between, so its moment is known.
fn send(child: &Child, sig: libc::c_int) {
    // SAFETY: kill has no memory effects; the child is ours and not yet reaped.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
}

/// Whether `sig` is pending for the child, sent but not yet taken by any of its threads, as
/// Linux shows it in /proc: each of SigPnd and ShdPnd is a hex mask with bit `sig - 1` for it.
fn pending(child: &Child, sig: libc::c_int) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let mask = |field: &str| {
        let line = status.lines().find(|l| l.starts_with(field)).unwrap();
        u64::from_str_radix(line[field.len()..].trim(), 16).unwrap()
    };
    (mask("SigPnd:") | mask("ShdPnd:")) & (1 << (sig - 1)) != 0
}

/// Waits for the child to end, failing the test (and killing it) after `limit`.
fn wait_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let until = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        sleep(Duration::from_millis(5));
    }
}

#[test]
fn no_mode_starts_a_request_after_a_stop_and_each_ends_with_its_pages_in_flight() {
    let cases = [("async", 4), ("multi", 4), ("single", 1)];
    each_case(cases, |(mode, in_flight)| {
        let server = slow_server(Duration::from_secs(1));
        let dir = tempfile::tempdir().unwrap();
        let urls = url_file(dir.path(), &server, 20);
        let out = dir.path().join("out.jsonl");
        let args = ["--mode", mode, "--crawlers", "4", "--no-robots", "-o"];
        let mut child = start(&[&args[..], &[out.to_str().unwrap(), &urls]].concat());
        wait_until("the pages in flight", Duration::from_secs(10), || {
            server.max_in_flight() >= in_flight
        });
        let sent = Instant::now();
        send(&child, libc::SIGINT);
        let status = wait_within(&mut child, Duration::from_secs(5));
        let took = sent.elapsed();
        assert_eq!(status.code(), Some(130), "{mode}");
        // A request already on its way when the signal came may arrive a little after it.
        let late: Vec<_> = server
            .arrivals()
            .into_iter()
            .filter(|(_, at)| *at > sent + Duration::from_millis(20))
            .map(|(path, at)| (path, at - sent))
            .collect();
        assert!(late.is_empty(), "{mode}: started after the stop: {late:?}");
        // The pages in flight answer within 1 s of the signal; the grace period is 1.5 s.
        assert!(took < Duration::from_millis(1400), "{mode}: {took:?}");
        assert_eq!(
            records(&out).len(),
            in_flight,
            "{mode}: the pages in flight"
        );
    });
}

#[test]
fn a_signal_while_crawl_starts_up_ends_it_with_the_signals_code() {
    // Slow enough that the crawl cannot end on its own before the signal is handled, even when
    // the thread that handles it comes late (a line read meanwhile may still be fetched).
    let server = slow_server(Duration::from_millis(200));
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("urls");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: path is a NUL-terminated string that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    for run in 0..20 {
        let (sig, code) = match run % 2 {
            0 => (libc::SIGTERM, 143),
            _ => (libc::SIGINT, 130),
        };
        let mut child = start(&["--no-robots", "-q", fifo.to_str().unwrap()]);
        // This open returns once crawl has opened its URL file: it is in main, setting up.
        let mut urls = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        sleep(Duration::from_micros(1000 * (run % 4)));
        send(&child, sig);
        let line = server.url("/page/1") + "\n";
        let _ = std::io::Write::write_all(&mut urls, line.as_bytes());
        drop(urls);
        let status = wait_within(&mut child, Duration::from_secs(5));
        assert_eq!(status.code(), Some(code), "run {run}: {status:?}");
    }
}

#[test]
fn serve_ends_on_ctrl_c_and_sigterm_with_their_codes() {
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let mut child = support::bin()
            .args(["serve", "--port", "0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut banner = String::new();
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        std::io::BufRead::read_line(&mut stderr, &mut banner).unwrap();
        assert!(banner.contains("serving"), "{banner}");
        send(&child, sig);
        let status = wait_within(&mut child, Duration::from_secs(5));
        assert_eq!(status.code(), Some(code), "{status:?}");
    }
}
