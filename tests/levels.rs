//! Pipelined levels: a page is fetched as soon as a page of the level above links to it, yet
//! pages finish level by level, so depths stay the shortest and the records stay the same.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::{crawl, each_case, page, sitemap, Response, Server};

/// Each record's path, with its depth, its parent's path and where it landed.
fn by_path(server: &Server, records: &[Value]) -> BTreeMap<String, (u64, String, String)> {
    let path = |v: &Value| {
        v.as_str()
            .map(|u| u.trim_start_matches(&server.url("")).to_string())
            .unwrap_or_default()
    };
    records
        .iter()
        .map(|r| {
            let entry = (
                r["depth"].as_u64().unwrap(),
                path(&r["parent"]),
                path(&r["final_url"]),
            );
            (path(&r["url"]), entry)
        })
        .collect()
}

/// Crawls the server's / in `mode` with robots.txt off and `args`, and gives the records as
/// `by_path` does, each URL recorded once.
fn crawled(server: &Server, mode: &str, args: &[&str]) -> Rows {
    let args = [&["--mode", mode, "--no-robots", "-q"][..], args, &["-"]].concat();
    let records = crawl(&args, &server.url("/")).records();
    let rows = by_path(server, &records);
    assert_eq!(rows.len(), records.len(), "{mode}: a URL recorded twice");
    rows
}

type Rows = BTreeMap<String, (u64, String, String)>;

fn expect(rows: &[(&str, u64, &str, &str)]) -> BTreeMap<String, (u64, String, String)> {
    rows.iter()
        .map(|(url, depth, parent, landed)| {
            (
                url.to_string(),
                (*depth, parent.to_string(), landed.to_string()),
            )
        })
        .collect()
}

/// A flag that one request raises and another waits for.
#[derive(Default)]
struct Flag(Mutex<bool>, Condvar);

impl Flag {
    fn raise(&self) {
        *self.0.lock().unwrap() = true;
        self.1.notify_all();
    }

    fn is_up(&self) -> bool {
        *self.0.lock().unwrap()
    }

    /// Whether it was raised within `limit`.
    fn wait(&self, limit: Duration) -> bool {
        let guard = self.0.lock().unwrap();
        *self
            .1
            .wait_timeout_while(guard, limit, |up| !*up)
            .unwrap()
            .0
    }
}

#[test]
fn a_slow_page_does_not_hold_up_the_next_level_yet_every_depth_is_the_shortest() {
    // /slow (depth 1) answers only once /fast/a (depth 2) has been asked for, so the crawl ends
    // in time only if level 2 is fetched while level 1 is in flight. /fast/a also links /x,
    // which /slow links too: /x is at depth 2 with /slow as its parent, never at depth 3. And
    // /fast/b, which only /fast/a links (depth 3), must wait until /slow is done.
    each_case(["multi", "async"], |mode| {
        let (ahead, slow_done, early) = (
            Arc::new(Flag::default()),
            Arc::new(Flag::default()),
            Arc::new(Flag::default()),
        );
        let (a, s, e) = (ahead.clone(), slow_done.clone(), early.clone());
        let server = Server::start(move |req, _| match req.path.as_str() {
            "/" => page("home", &["/slow", "/fast"]),
            "/slow" => {
                a.wait(Duration::from_secs(10));
                s.raise();
                page("slow", &["/x"])
            }
            "/fast" => page("fast", &["/fast/a"]),
            "/fast/a" => {
                a.raise();
                page("a", &["/x", "/fast/b"])
            }
            "/fast/b" => {
                if !s.is_up() {
                    e.raise();
                }
                page("b", &[])
            }
            "/x" => page("x", &[]),
            _ => Response::status(404),
        });
        let args = ["--mode", mode, "--no-robots", "-q", "--depth", "3", "-"];
        let run = crawl(&args, &server.url("/"));
        assert!(ahead.is_up() && slow_done.is_up(), "{mode}");
        assert_eq!(
            by_path(&server, &run.records()),
            expect(&[
                ("/", 0, "", "/"),
                ("/slow", 1, "/", "/slow"),
                ("/fast", 1, "/", "/fast"),
                ("/fast/a", 2, "/fast", "/fast/a"),
                ("/x", 2, "/slow", "/x"),
                ("/fast/b", 3, "/fast/a", "/fast/b"),
            ]),
            "{mode}"
        );
        assert!(
            !early.is_up(),
            "{mode}: level 3 went before level 1 was done"
        );
        // The speed itself: /slow was answered as soon as /fast/a was asked for.
        assert!(
            run.elapsed < Duration::from_secs(8),
            "{mode}: {:?}",
            run.elapsed
        );
    });
}

#[test]
fn a_sitemap_entry_takes_a_link_of_the_level_below_even_one_fetched_ahead() {
    // /map.xml (depth 1) lists /x, and /fast (depth 1) links it: /x is a sitemap entry at depth
    // 1, recorded once, whether or not its link was fetched before the slow sitemap came.
    each_case(["single", "multi", "async"], |mode| {
        let server = Server::start(|req, _| {
            let host = req.header("host").unwrap().to_string();
            match req.path.as_str() {
                "/" => page("home", &["/map.xml", "/fast"]),
                "/map.xml" => {
                    std::thread::sleep(Duration::from_millis(400));
                    let locs = [format!("http://{host}/x")];
                    Response::new(
                        200,
                        "application/xml",
                        sitemap("urlset", &locs).into_bytes(),
                    )
                }
                "/fast" => page("fast", &["/x"]),
                "/x" => page("x", &["/y"]),
                "/y" => page("y", &[]),
                _ => Response::status(404),
            }
        });
        let rows = crawled(&server, mode, &["--depth", "2"]);
        assert_eq!(
            rows,
            expect(&[
                ("/", 0, "", "/"),
                ("/map.xml", 1, "/", "/map.xml"),
                ("/fast", 1, "/", "/fast"),
                ("/x", 1, "/map.xml", "/x"),
                ("/y", 2, "/x", "/y"),
            ]),
            "{mode}"
        );
    });
}

#[test]
fn a_redirect_of_the_level_above_takes_a_link_fetched_ahead() {
    // /moved (depth 1) is slow and lands on /x, which /fast (depth 1) links: /x is where a page
    // of depth 1 landed, so it has no record of its own at depth 2.
    each_case(["single", "multi", "async"], |mode| {
        let server = Server::start(|req, _| match req.path.as_str() {
            "/" => page("home", &["/moved", "/fast"]),
            "/moved" => {
                std::thread::sleep(Duration::from_millis(400));
                Response::status(301).header("Location", "/x")
            }
            "/fast" => page("fast", &["/x"]),
            "/x" => page("x", &[]),
            _ => Response::status(404),
        });
        let rows = crawled(&server, mode, &["--depth", "2"]);
        assert_eq!(
            rows,
            expect(&[
                ("/", 0, "", "/"),
                ("/moved", 1, "/", "/x"),
                ("/fast", 1, "/", "/fast"),
            ]),
            "{mode}"
        );
    });
}

#[test]
fn the_budget_is_spent_level_by_level() {
    // --max-pages 4: the line and its three links; none of the links /a finds, however early
    // /a is done while /slow is still in flight.
    each_case(["single", "multi", "async"], |mode| {
        let server = Server::start(|req, _| match req.path.as_str() {
            "/" => page("home", &["/a", "/slow", "/c"]),
            "/slow" => {
                std::thread::sleep(Duration::from_millis(300));
                page("slow", &["/s1"])
            }
            "/a" => page("a", &["/a1", "/a2"]),
            "/c" => page("c", &[]),
            _ => page("leaf", &[]),
        });
        let args = ["--mode", mode, "--no-robots", "-q", "--depth", "3"];
        let run = crawl(
            &[&args[..], &["--max-pages", "4", "-"]].concat(),
            &server.url("/"),
        );
        assert_eq!(
            by_path(&server, &run.records()),
            expect(&[
                ("/", 0, "", "/"),
                ("/a", 1, "/", "/a"),
                ("/slow", 1, "/", "/slow"),
                ("/c", 1, "/", "/c"),
            ]),
            "{mode}"
        );
        let mut paths = server.paths();
        paths.sort();
        assert_eq!(
            paths,
            ["/", "/a", "/c", "/slow"],
            "{mode}: nothing beyond the budget"
        );
    });
}

#[test]
fn delay_holds_while_a_host_has_two_levels_in_flight() {
    // One host, --delay 200ms, a slow page of level 1 while level 2 is fetched: requests still
    // start at least the delay apart.
    each_case(["multi", "async"], |mode| {
        let server = Server::start(|req, _| match req.path.as_str() {
            "/" => page("home", &["/slow", "/a"]),
            "/slow" => {
                std::thread::sleep(Duration::from_millis(1000));
                page("slow", &[])
            }
            "/a" => page("a", &["/a/1", "/a/2"]),
            _ => page("leaf", &[]),
        });
        let args = ["--mode", mode, "--no-robots", "-q", "--depth", "2"];
        let run = crawl(
            &[&args[..], &["--delay", "200ms", "-"]].concat(),
            &server.url("/"),
        );
        assert_eq!(run.records().len(), 5, "{mode}");
        let times: Vec<_> = server.arrivals().into_iter().map(|(_, t)| t).collect();
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        // Starts are 200 ms apart; arrivals may jitter on a loaded machine.
        assert!(
            gaps.iter().all(|g| *g >= Duration::from_millis(150)),
            "{mode}: {gaps:?} between {:?}",
            server.paths()
        );
        // /a/1 went while /slow was still being answered: the levels overlapped.
        let at = |p: &str| {
            server
                .arrivals()
                .into_iter()
                .find(|(q, _)| q == p)
                .unwrap()
                .1
        };
        assert!(
            at("/a/1") < at("/slow") + Duration::from_millis(1000),
            "{mode}"
        );
    });
}

#[test]
fn resume_reads_records_back_by_level_and_a_link_fetched_ahead_keeps_its_shortest_depth() {
    // The first run recorded /, /fast and /fast/a only. Read back level by level, /fast/a's
    // links claim /x at depth 3 and are fetched at once; /slow, not recorded, then links /x
    // at depth 2, which takes it.
    each_case(["single", "multi", "async"], |mode| {
        let server = Server::start(|req, _| match req.path.as_str() {
            "/" => page("home", &["/slow", "/fast"]),
            "/slow" => {
                std::thread::sleep(Duration::from_millis(300));
                page("slow", &["/x"])
            }
            "/fast" => page("fast", &["/fast/a"]),
            "/fast/a" => page("a", &["/x", "/fast/b"]),
            _ => page("leaf", &[]),
        });
        let dir = tempfile::tempdir().unwrap();
        let (out, urls) = (dir.path().join("out.jsonl"), dir.path().join("urls.txt"));
        std::fs::write(&urls, server.url("/") + "\n").unwrap();
        let (out, urls) = (out.to_str().unwrap(), urls.to_str().unwrap());
        let args = ["--mode", mode, "--no-robots", "-q", "--depth", "3"];
        let first = crawl(&[&args[..], &["-o", out, urls]].concat(), "");
        assert_eq!(first.code(), 0, "{mode}");
        let kept: String = std::fs::read_to_string(out)
            .unwrap()
            .lines()
            .filter(|line| {
                let record: Value = serde_json::from_str(line).unwrap();
                ["/", "/fast", "/fast/a"]
                    .iter()
                    .any(|p| record["url"] == server.url(p))
            })
            .map(|line| format!("{line}\n"))
            .collect();
        std::fs::write(out, kept).unwrap();
        let before = server.paths().len();
        let resumed = crawl(&[&args[..], &["--resume", "-o", out, urls]].concat(), "");
        assert_eq!(resumed.code(), 0, "{mode}");
        let records: Vec<Value> = std::fs::read_to_string(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            by_path(&server, &records),
            expect(&[
                ("/", 0, "", "/"),
                ("/slow", 1, "/", "/slow"),
                ("/fast", 1, "/", "/fast"),
                ("/fast/a", 2, "/fast", "/fast/a"),
                ("/x", 2, "/slow", "/x"),
                ("/fast/b", 3, "/fast/a", "/fast/b"),
            ]),
            "{mode}"
        );
        assert_eq!(records.len(), 6, "{mode}: one record each");
        let again: Vec<String> = server.paths()[before..].to_vec();
        assert!(
            !again
                .iter()
                .any(|p| p == "/" || p == "/fast" || p == "/fast/a"),
            "{mode}: {again:?}"
        );
    });
}

#[test]
fn a_sitemap_entry_and_a_redirect_landing_on_it_in_one_level_give_the_same_records_either_way() {
    // Level 2 holds /r, which lands on /x, and /map.xml, which lists /x: a sitemap entry and
    // where a redirect landed, both at depth 2, both fetched ahead while /slow holds level 1.
    // Whether /x gets a record of its own must not depend on which of the two answers first:
    // the entry is crawled either way (found by review: the level-barrier build, and the first
    // pipelined one, gave /x a record only when the sitemap came first).
    let runs: Vec<_> = [(0, 200), (200, 0)]
        .into_iter()
        .flat_map(|timing| ["single", "multi", "async"].map(|mode| (timing, mode)))
        .map(|((map_ms, r_ms), mode)| {
            let server = Server::start(move |req, _| {
                let host = req.header("host").unwrap().to_string();
                match req.path.as_str() {
                    "/" => page("home", &["/slow", "/b"]),
                    "/slow" => {
                        std::thread::sleep(Duration::from_millis(600));
                        page("slow", &[])
                    }
                    "/b" => page("b", &["/r", "/map.xml"]),
                    "/r" => {
                        std::thread::sleep(Duration::from_millis(r_ms));
                        Response::status(301).header("Location", "/x")
                    }
                    "/map.xml" => {
                        std::thread::sleep(Duration::from_millis(map_ms));
                        let locs = [format!("http://{host}/x")];
                        Response::new(
                            200,
                            "application/xml",
                            sitemap("urlset", &locs).into_bytes(),
                        )
                    }
                    "/x" => page("x", &[]),
                    _ => Response::status(404),
                }
            });
            let args = ["--mode", mode, "--no-robots", "-q", "--depth", "2", "-"];
            let args = [&args[..], &["--parsers", "1"]].concat();
            let records = crawl(&args, &server.url("/")).records();
            let urls: Vec<String> = by_path(&server, &records).into_keys().collect();
            (map_ms, mode, urls)
        })
        .collect();
    for (ms, mode, urls) in &runs {
        assert!(
            urls.contains(&"/x".to_string()),
            "sitemap at {ms} ms, {mode}: {urls:?}"
        );
        assert_eq!(urls, &runs[0].2, "sitemap at {ms} ms, {mode}: {runs:?}");
    }
}

#[test]
fn a_sitemap_reached_by_a_redirect_that_lists_itself_has_no_record_of_its_own() {
    // /r redirects to /map.xml, which lists itself and /x: the record of /r is the sitemap's.
    each_case(["single", "multi", "async"], |mode| {
        let server = Server::start(|req, _| {
            let host = req.header("host").unwrap().to_string();
            match req.path.as_str() {
                "/" => page("home", &["/r"]),
                "/r" => Response::status(301).header("Location", "/map.xml"),
                "/map.xml" => {
                    let locs = [format!("http://{host}/map.xml"), format!("http://{host}/x")];
                    Response::new(
                        200,
                        "application/xml",
                        sitemap("urlset", &locs).into_bytes(),
                    )
                }
                _ => page("x", &[]),
            }
        });
        let rows = crawled(&server, mode, &["--depth", "1"]);
        assert_eq!(
            rows,
            expect(&[
                ("/", 0, "", "/"),
                ("/r", 1, "/", "/map.xml"),
                ("/x", 1, "/map.xml", "/x"),
            ]),
            "{mode}"
        );
    });
}
