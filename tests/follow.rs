//! Crawling a whole site: link following, scope, dedup, robots.txt, politeness and sitemaps.

mod support;

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::{crawl, each_case, hrefs, page, sitemap, Response, Server};

/// A small blog with cycles, pagination, a Chinese path linked raw and encoded, an off-host
/// link, robots.txt rules, sitemaps and an endless trap.
fn site() -> Server {
    Server::start(|req, _| {
        let host = req.header("host").unwrap().to_string();
        let abs = |p: &str| format!("http://{host}{p}");
        let path = req.path.as_str();
        match path {
            "/robots.txt" => Response::new(
                200,
                "text/plain",
                b"User-agent: *\nDisallow: /private\nAllow: /private/open\n".to_vec(),
            ),
            "/" => page(
                "home",
                &[
                    "/list/1",
                    "/about",
                    "/博客/文章",
                    "/%E5%8D%9A%E5%AE%A2/%E6%96%87%E7%AB%A0",
                    "http://other.test/away",
                    "/private/secret",
                    "/private/open/page",
                    "/trap/1",
                    "/#top",
                    "mailto:me@example.com",
                ],
            ),
            "/about" => page("about", &["/"]),
            "/%E5%8D%9A%E5%AE%A2/%E6%96%87%E7%AB%A0" => page("文章", &["/"]),
            "/private/open/page" => page("open", &[]),
            "/private/secret" => page("secret", &[]),
            "/sitemap.xml" => Response::new(
                200,
                "application/xml",
                sitemap("urlset", &[abs("/hidden/1"), abs("/hidden/2")]).into_bytes(),
            ),
            "/sitemap.xml.gz" => {
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(sitemap("urlset", &[abs("/hidden/3")]).as_bytes())
                    .unwrap();
                Response::new(200, "application/gzip", gz.finish().unwrap())
            }
            "/sitemap-index.xml" => Response::new(
                200,
                "application/xml",
                sitemap("index", &[abs("/sitemap.xml"), abs("/sitemap.xml.gz")]).into_bytes(),
            ),
            p if p.starts_with("/hidden/") => page("hidden", &[]),
            p if p.starts_with("/list/") => {
                let n: u32 = p[6..].parse().unwrap();
                let mut links = vec![format!("/post/{n}-a"), format!("/post/{n}-b"), "/".into()];
                if n < 3 {
                    links.push(format!("/list/{}", n + 1));
                }
                if n > 1 {
                    links.push(format!("/list/{}", n - 1));
                }
                page(
                    &format!("list {n}"),
                    &links.iter().map(String::as_str).collect::<Vec<_>>(),
                )
            }
            p if p.starts_with("/post/") => page("post", &["/", "/list/1"]),
            p if p.starts_with("/trap/") => {
                let n: u32 = p[6..].parse().unwrap();
                page("trap", &[&format!("/trap/{}", n + 1)])
            }
            _ => Response::status(404),
        }
    })
}

fn fetched_pages(server: &Server) -> Vec<String> {
    server
        .paths()
        .into_iter()
        .filter(|p| p != "/robots.txt")
        .collect()
}

fn set(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| p.to_string()).collect()
}

#[test]
fn depth_bounds_a_breadth_first_walk_and_every_page_is_fetched_once() {
    let expected = set(&[
        "/",
        "/list/1",
        "/about",
        "/%E5%8D%9A%E5%AE%A2/%E6%96%87%E7%AB%A0",
        "/private/open/page",
        "/trap/1",
        "/list/2",
        "/post/1-a",
        "/post/1-b",
        "/trap/2",
        "/list/3",
        "/post/2-a",
        "/post/2-b",
        "/trap/3",
    ]);
    // The last set-up has one parser and a one-page channel: the tightest the cycle gets.
    let setups = [
        ("single", "1", "1", "4"),
        ("multi", "1", "2", "4"),
        ("multi", "6", "2", "4"),
        ("multi", "6", "1", "1"),
        ("async", "6", "2", "4"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let stats_file = dir.path().join("stats.json");
    each_case(setups, |(mode, crawlers, parsers, queue)| {
        let server = site();
        let args = [
            "--stats",
            stats_file.to_str().unwrap(),
            "--mode",
            mode,
            "--crawlers",
            crawlers,
            "--parsers",
            parsers,
            "--queue",
            queue,
            "--depth",
            "3",
            "-",
        ];
        let run = crawl(&args, &(server.url("/") + "\n"));
        assert_eq!(run.code(), 0, "{}", run.stderr);
        let fetched = fetched_pages(&server);
        assert_eq!(
            fetched.iter().cloned().collect::<BTreeSet<_>>(),
            expected,
            "{mode} x{crawlers}"
        );
        assert_eq!(
            fetched.len(),
            expected.len(),
            "{mode} x{crawlers}: each page once"
        );
        assert_eq!(
            server
                .paths()
                .iter()
                .filter(|p| *p == "/robots.txt")
                .count(),
            1,
            "robots.txt once per host"
        );
        let records = run.records();
        assert_eq!(records.len(), expected.len());
        let by_path = |p: &str| {
            records
                .iter()
                .find(|r| r["url"] == server.url(p))
                .unwrap_or_else(|| panic!("{p}"))
        };
        assert_eq!(
            (
                by_path("/")["depth"].clone(),
                by_path("/")["parent"].clone()
            ),
            (0.into(), Value::Null)
        );
        assert_eq!(by_path("/list/3")["depth"], 3);
        assert_eq!(by_path("/list/3")["parent"], server.url("/list/2"));
        assert_eq!(by_path("/trap/1")["parent"], server.url("/"));
        assert!(
            run.stderr.contains("1 link disallowed by robots.txt"),
            "{}",
            run.stderr
        );
        let stats: Value =
            serde_json::from_str(&std::fs::read_to_string(&stats_file).unwrap()).unwrap();
        assert_eq!(
            stats["skipped"],
            serde_json::json!({"robots": 1, "private": 0}),
            "{mode}"
        );
    });
}

#[test]
fn a_link_to_where_a_line_redirected_is_not_fetched_again() {
    // /links is read first and links to /target; the next line, /moved, redirects to /target.
    // /target was fetched by that redirect, so the link waiting for the next level is not.
    each_case(["single", "multi", "async"], |mode| {
        let server = Server::start(|req, _| match req.path.as_str() {
            "/links" => page("links", &["/target"]),
            "/moved" => Response::status(301).header("Location", "/target"),
            "/target" => page("target", &[]),
            _ => Response::status(404),
        });
        let lines = format!("{}\n{}\n", server.url("/links"), server.url("/moved"));
        let args = ["--mode", mode, "--crawlers", "1", "--no-robots", "-q"];
        let run = crawl(&[&args[..], &["--depth", "1", "-"]].concat(), &lines);
        assert_eq!(
            fetched_pages(&server),
            ["/links", "/moved", "/target"],
            "{mode}: /target once"
        );
        let mut records: Vec<(String, Value)> = run
            .records()
            .into_iter()
            .map(|r| {
                (
                    r["url"].as_str().unwrap().to_string(),
                    r["final_url"].clone(),
                )
            })
            .collect();
        records.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            records,
            [
                (server.url("/links"), server.url("/links").into()),
                (server.url("/moved"), server.url("/target").into()),
            ],
            "{mode}"
        );
    });
}

#[test]
fn depth_zero_fetches_only_the_lines() {
    let server = site();
    let run = crawl(&["-q", "-"], &(server.url("/") + "\n"));
    assert_eq!(run.records().len(), 1);
    assert_eq!(fetched_pages(&server), ["/"]);
}

#[test]
fn select_also_picks_the_links_that_are_followed() {
    each_case(["single", "multi", "async"], |mode| {
        let server = site();
        let args = ["--mode", mode, "-q", "--depth", "5", "--select"];
        let run = crawl(
            &[&args[..], &["a[href^='/post/']", "-"]].concat(),
            &(server.url("/list/1") + "\n"),
        );
        let got: BTreeSet<String> = fetched_pages(&server).into_iter().collect();
        assert_eq!(got, set(&["/list/1", "/post/1-a", "/post/1-b"]), "{mode}");
        assert_eq!(run.records().len(), 3, "{mode}");
    });
}

#[test]
fn max_pages_bounds_an_endless_trap() {
    each_case(["single", "multi", "async"], |mode| {
        let server = site();
        let run = crawl(
            &[
                "--mode",
                mode,
                "-q",
                "--depth",
                "1000",
                "--max-pages",
                "10",
                "-",
            ],
            &(server.url("/trap/1") + "\n"),
        );
        assert_eq!(run.records().len(), 10, "{mode}");
        assert_eq!(fetched_pages(&server).len(), 10, "{mode}");
    });
}

#[test]
fn include_and_exclude_filter_links() {
    let server = site();
    let run = crawl(
        &[
            "-q",
            "--depth",
            "5",
            "--include",
            "/list/",
            "--exclude",
            "/list/3",
            "-",
        ],
        &(server.url("/") + "\n"),
    );
    let got: BTreeSet<String> = fetched_pages(&server).into_iter().collect();
    assert_eq!(got, set(&["/", "/list/1", "/list/2"]));
    assert_eq!(run.records().len(), 3);
}

#[test]
fn other_hosts_only_with_all_hosts() {
    let server = site();
    let port = server.port().to_string();
    let pin = "other.test:127.0.0.1".to_string();
    let seed = server.url("/") + "\n";
    crawl(&["-q", "--depth", "1", "--resolve", &pin, "-"], &seed);
    assert!(!server.paths().contains(&"/away".to_string()));
    let run = crawl(
        &["-q", "--depth", "1", "--all-hosts", "--resolve", &pin, "-"],
        &seed,
    );
    // other.test has no port in the link, so it points at port 80: nothing listens there.
    let away = run
        .records()
        .into_iter()
        .find(|r| r["url"] == "http://other.test/away")
        .expect("followed");
    assert_eq!(away["depth"], 1);
    let _ = port;
}

#[test]
fn robots_txt_of_different_hosts_is_fetched_at_once() {
    const HOSTS: usize = 4;
    each_case(["multi", "async"], |mode| {
        // Each robots.txt is answered only once all of them are asked for, or after 5 s.
        let asked = Arc::new((Mutex::new(0), Condvar::new()));
        let servers: Vec<Server> = (0..HOSTS)
            .map(|_| {
                let asked = asked.clone();
                Server::start(move |req, _| {
                    if req.path == "/robots.txt" {
                        let (count, all) = &*asked;
                        let mut count = count.lock().unwrap();
                        *count += 1;
                        all.notify_all();
                        let limit = Duration::from_secs(5);
                        let (count, _) = all
                            .wait_timeout_while(count, limit, |n| *n < HOSTS)
                            .unwrap();
                        let status = if *count >= HOSTS { 404 } else { 503 };
                        return Response::status(status);
                    }
                    page("page", &[])
                })
            })
            .collect();
        let input: String = servers.iter().map(|s| s.url("/p") + "\n").collect();
        let run = crawl(&["--mode", mode, "-q", "-"], &input);
        let records = run.records();
        assert_eq!(records.len(), HOSTS, "{mode}");
        for r in &records {
            // A 503 would mean that robots.txt waited alone: the host is then disallowed.
            assert_eq!(
                r["error"],
                Value::Null,
                "{mode}: robots.txt fetched one at a time: {r}"
            );
        }
    });
}

#[test]
fn hostile_robots_txt_neither_stalls_nor_is_ignored() {
    // A Crawl-delay no crawl could wait out, a robots.txt of 600 KB whose rules past the first
    // 500 KiB are not read, and a robots.txt that redirects to itself.
    let filler = "# filler line for a robots.txt far too long\n".repeat(14_000);
    let big = format!("User-agent: *\nDisallow: /private\n{filler}Disallow: /late\n");
    let server = Server::start(move |req, _| {
        let host = req.header("host").unwrap();
        match (host.split(':').next().unwrap(), req.path.as_str()) {
            ("slow.test", "/robots.txt") => Response::new(
                200,
                "text/plain",
                b"User-agent: *\nCrawl-delay: 1e30\n".to_vec(),
            ),
            ("big.test", "/robots.txt") => {
                Response::new(200, "text/plain", big.clone().into_bytes())
            }
            ("loop.test", "/robots.txt") => Response::status(302).header("Location", "/robots.txt"),
            _ => page("page", &[]),
        }
    });
    let port = server.port().to_string();
    let url = |host: &str, path: &str| format!("http://{host}:{port}{path}\n");
    let input = [
        url("slow.test", "/p"),
        url("big.test", "/private"),
        url("big.test", "/late"),
        url("loop.test", "/p"),
    ]
    .concat();
    let resolve: Vec<String> = ["slow.test", "big.test", "loop.test"]
        .iter()
        .map(|h| format!("--resolve={h}:127.0.0.1"))
        .collect();
    each_case(["single", "multi", "async"], |mode| {
        for cap in ["10MiB", "1KiB"] {
            let mut args = vec!["--mode", mode, "-q", "--max-bytes", cap];
            args.extend(resolve.iter().map(String::as_str));
            args.push("-");
            let run = crawl(&args, &input);
            assert_eq!(run.code(), 0, "{mode} {cap}: {}", run.stderr);
            let kinds: BTreeSet<(String, String)> = run
                .records()
                .iter()
                .map(|r| {
                    let kind = r["error"]["kind"].as_str().unwrap_or("ok").to_string();
                    (r["url"].as_str().unwrap().to_string(), kind)
                })
                .collect();
            let want: BTreeSet<(String, String)> = [
                (url("slow.test", "/p"), "ok"),
                (url("big.test", "/private"), "robots"),
                (url("big.test", "/late"), "ok"),
                (url("loop.test", "/p"), "ok"),
            ]
            .iter()
            .map(|(u, k)| (u.trim_end().to_string(), k.to_string()))
            .collect();
            assert_eq!(kinds, want, "{mode} {cap}");
        }
    });
}

#[test]
fn a_seed_robots_disallows_is_a_record_and_never_fetched() {
    let server = site();
    let run = crawl(&["-q", "-"], &(server.url("/private/secret") + "\n"));
    assert_eq!(run.records()[0]["error"]["kind"], "robots");
    assert!(fetched_pages(&server).is_empty());
    let ignored = crawl(
        &["-q", "--no-robots", "-"],
        &(server.url("/private/secret") + "\n"),
    );
    assert_eq!(ignored.records()[0]["title"], "secret");
}

#[test]
fn sitemaps_expand_into_their_urls_at_their_own_depth() {
    each_case(["single", "multi", "async"], |mode| {
        let server = site();
        let run = crawl(
            &["--mode", mode, "-q", "-"],
            &(server.url("/sitemap-index.xml") + "\n"),
        );
        let records = run.records();
        let urls: BTreeSet<String> = records
            .iter()
            .map(|r| r["url"].as_str().unwrap().to_string())
            .collect();
        let expected: BTreeSet<String> = [
            "/sitemap-index.xml",
            "/sitemap.xml",
            "/sitemap.xml.gz",
            "/hidden/1",
            "/hidden/2",
            "/hidden/3",
        ]
        .iter()
        .map(|p| server.url(p))
        .collect();
        assert_eq!(urls, expected, "{mode}");
        for r in &records {
            assert_eq!(r["depth"], 0, "{r}");
            assert_eq!(r["error"], Value::Null, "{r}");
        }
        let index = records
            .iter()
            .find(|r| r["url"] == server.url("/sitemap-index.xml"))
            .unwrap();
        assert_eq!(
            hrefs(index),
            [server.url("/sitemap.xml"), server.url("/sitemap.xml.gz")]
        );
        let hidden = records
            .iter()
            .find(|r| r["url"] == server.url("/hidden/3"))
            .unwrap();
        assert_eq!(hidden["parent"], server.url("/sitemap.xml.gz"));
    });
}

#[test]
fn hostile_sitemaps_end_stay_public_and_stay_small() {
    // /chain/N is an index listing /chain/N+1, forever; the public sitemap lists a private
    // address and non-http URLs; the gzipped one unpacks to 64 MiB.
    let server = Server::start(|req, _| {
        let host = req.header("host").unwrap().to_string();
        let port = host.rsplit(':').next().unwrap().to_string();
        let path = req.path.as_str();
        match path {
            p if p.starts_with("/chain/") => {
                let n: u32 = p[7..].parse().unwrap();
                let next = format!("http://{host}/chain/{}", n + 1);
                Response::new(
                    200,
                    "application/xml",
                    sitemap("index", &[next]).into_bytes(),
                )
            }
            "/public.xml" => {
                let locs = [
                    format!("http://127.0.0.1:{port}/inside"),
                    format!("http://{host}/page"),
                    "ftp://files.example/x".into(),
                    "mailto:me@example.com".into(),
                    "javascript:void(0)".into(),
                ];
                Response::new(
                    200,
                    "application/xml",
                    sitemap("urlset", &locs).into_bytes(),
                )
            }
            "/bomb.xml.gz" => {
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(b"<?xml version=\"1.0\"?><urlset>").unwrap();
                let spaces = vec![b' '; 1 << 20];
                for _ in 0..64 {
                    gz.write_all(&spaces).unwrap();
                }
                Response::new(200, "application/gzip", gz.finish().unwrap())
            }
            _ => page("page", &[]),
        }
    });
    let port = server.port().to_string();
    each_case(["single", "multi", "async"], |mode| {
        let input = [
            server.url("/chain/0"),
            format!("http://blog.example:{port}/public.xml"),
            server.url("/bomb.xml.gz"),
        ]
        .join("\n");
        let args = [
            "--mode",
            mode,
            "--all-hosts",
            "--resolve=blog.example:127.0.0.1",
        ];
        let run = crawl(&[&args[..], &["-"]].concat(), &input);
        assert_eq!(run.code(), 0, "{mode}: {}", run.stderr);
        let records = run.records();
        let record = |url: &str| records.iter().find(|r| r["url"] == url).unwrap().clone();
        // An index, the sitemap it lists, and that one's entry, recorded but not expanded.
        let chain: BTreeSet<String> = server
            .paths()
            .into_iter()
            .filter(|p| p.starts_with("/chain/"))
            .collect();
        assert_eq!(chain, set(&["/chain/0", "/chain/1", "/chain/2"]), "{mode}");
        assert!(!server.paths().contains(&"/inside".to_string()), "{mode}");
        assert!(server.paths().contains(&"/page".to_string()), "{mode}");
        assert!(
            run.stderr
                .contains("1 link to private addresses not followed"),
            "{mode}: {}",
            run.stderr
        );
        let public = record(&format!("http://blog.example:{port}/public.xml"));
        assert_eq!(
            hrefs(&public),
            [
                format!("http://127.0.0.1:{port}/inside"),
                format!("http://blog.example:{port}/page")
            ],
            "{mode}: only http and https locs"
        );
        let bomb = record(&server.url("/bomb.xml.gz"));
        assert_eq!(bomb["error"]["kind"], "too_large", "{mode}: {bomb}");
        assert_eq!(bomb["bytes"], 10 * 1024 * 1024 + 1, "{mode}: {bomb}");
        assert_eq!(records.len(), 3 + 2 + 1, "{mode}");
    });
}

/// Gaps between request arrivals, as the server saw them.
fn gaps(server: &Server) -> Vec<Duration> {
    let times: Vec<_> = server
        .arrivals()
        .into_iter()
        .filter(|(p, _)| p != "/robots.txt")
        .map(|(_, t)| t)
        .collect();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn delay_spaces_requests_to_one_host() {
    let server = Server::start(|_, _| Response::html("<title>x</title>"));
    let seeds: String = (0..6)
        .map(|i| server.url(&format!("/{i}")) + "\n")
        .collect();
    let run = crawl(&["-q", "--crawlers", "4", "--delay", "250ms", "-"], &seeds);
    assert_eq!(run.records().len(), 6);
    let gaps = gaps(&server);
    assert_eq!(gaps.len(), 5);
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(240)),
        "{gaps:?}"
    );
}

#[test]
fn delay_holds_for_robots_txt_and_retries_too() {
    each_case(["single", "multi", "async"], |mode| {
        let server = Server::start(|req, _| match req.path.as_str() {
            "/robots.txt" => Response::status(404),
            "/500" => Response::status(500),
            _ => Response::html("<title>x</title>"),
        });
        let seeds = [server.url("/500"), server.url("/ok")].join("\n");
        let run = crawl(&["--mode", mode, "-q", "--delay", "300ms", "-"], &seeds);
        assert_eq!(run.records().len(), 2, "{mode}");
        let times: Vec<_> = server.arrivals().into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            times.len(),
            1 + 3 + 1,
            "{mode}: robots.txt, /500 three times, /ok"
        );
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        // Starts are 300 ms apart; arrivals may jitter on a loaded machine. Unpaced, the first
        // two gaps were about 10 and 220 ms.
        assert!(
            gaps.iter().all(|g| *g >= Duration::from_millis(250)),
            "{mode}: {gaps:?} between {:?}",
            server.paths()
        );
    });
}

#[test]
fn a_host_that_must_wait_lets_the_next_host_go() {
    // Six lines for a.test, then six for b.test, one server behind both names.
    let server = Server::start(|_, _| Response::html("<title>x</title>"));
    let port = server.port().to_string();
    let port = port.as_str();
    let seeds: String = ["a", "b"]
        .iter()
        .flat_map(|h| (1..=6).map(move |i| format!("http://{h}.test:{port}/{h}/{i}\n")))
        .collect();
    each_case(["single", "multi", "async"], |mode| {
        let before = server.paths().len();
        let args = [
            "--mode",
            mode,
            "-q",
            "--no-robots",
            "--crawlers",
            "2",
            "--delay",
            "300ms",
            "--resolve",
            "a.test:127.0.0.1",
            "--resolve",
            "b.test:127.0.0.1",
            "-",
        ];
        let run = crawl(&args, &seeds);
        assert_eq!(run.records().len(), 12, "{mode}");
        let order: Vec<String> = server.paths()[before..].to_vec();
        let first_b = order.iter().position(|p| p.starts_with("/b/")).unwrap();
        let last_a = order.iter().rposition(|p| p.starts_with("/a/")).unwrap();
        // Waiting on a.test's delay, crawlers start on b.test instead of after all of a.test.
        assert!(first_b < last_a, "{mode}: {order:?}");
        assert!(first_b <= 2, "{mode}: b.test waited for a.test: {order:?}");
    });
}

#[test]
fn crawl_delay_in_robots_txt_is_honoured() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/robots.txt" => Response::new(
            200,
            "text/plain",
            b"User-agent: *\nCrawl-delay: 0.3\n".to_vec(),
        ),
        _ => Response::html("<title>x</title>"),
    });
    let seeds: String = (0..4)
        .map(|i| server.url(&format!("/{i}")) + "\n")
        .collect();
    crawl(&["-q", "--crawlers", "4", "-"], &seeds);
    let gaps = gaps(&server);
    assert_eq!(gaps.len(), 3);
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(290)),
        "{gaps:?}"
    );
}

#[test]
fn per_host_caps_requests_in_flight() {
    let server = Server::start(|_, _| {
        std::thread::sleep(Duration::from_millis(30));
        Response::html("<title>x</title>")
    });
    let seeds: String = (0..12)
        .map(|i| server.url(&format!("/{i}")) + "\n")
        .collect();
    let run = crawl(
        &[
            "-q",
            "--no-robots",
            "--crawlers",
            "6",
            "--per-host",
            "2",
            "-",
        ],
        &seeds,
    );
    assert_eq!(run.records().len(), 12);
    assert_eq!(server.max_in_flight(), 2);
}

#[test]
fn links_from_public_pages_to_private_addresses_are_refused() {
    let server = Server::start(|req, _| {
        let port = req.port();
        match req.path.as_str() {
            "/" => page(
                "public",
                &[&format!("http://127.0.0.1:{port}/inside"), "/next"],
            ),
            _ => page("x", &[]),
        }
    });
    let port = server.port().to_string();
    let seed = format!("http://blog.example:{port}/\n");
    let run = crawl(
        &[
            "--depth",
            "1",
            "--all-hosts",
            "--resolve",
            "blog.example:127.0.0.1",
            "-",
        ],
        &seed,
    );
    assert!(!server.paths().contains(&"/inside".to_string()));
    assert!(server.paths().contains(&"/next".to_string()));
    assert!(
        run.stderr
            .contains("1 link to private addresses not followed"),
        "{}",
        run.stderr
    );
}

#[test]
fn fields_and_page_metadata_are_extracted() {
    let server = Server::start(|req, _| {
        if req.path == "/gone" {
            return Response::status(404);
        }
        Response::html(
            "<html lang=\"zh-CN\"><head><title>t</title><meta name=\"description\" content=\"关于并发\">\
             <link rel=\"canonical\" href=\"/canon\"><meta name=\"author\" content=\"Dawn\">\
             <meta property=\"article:published_time\" content=\"2024-01-02T03:04:05Z\"></head>\
             <body><h1 class=\"post-title\"> Hello </h1><time datetime=\"2024\">x</time></body></html>",
        )
    });
    let run = crawl(
        &[
            "--field",
            "heading=h1.post-title",
            "--field",
            "when=time@datetime",
            "--field",
            "none=.missing",
            "-",
        ],
        &format!("{}\n{}\nnot a url\n", server.url("/p"), server.url("/gone")),
    );
    let records = run.records();
    let (page, failed): (Vec<_>, Vec<_>) =
        records.iter().partition(|r| r["url"] == server.url("/p"));
    let r = page[0];
    assert_eq!(r["description"], "关于并发");
    assert_eq!(r["canonical"], server.url("/canon"));
    assert_eq!(r["lang"], "zh-CN");
    assert_eq!(r["published"], "2024-01-02T03:04:05Z");
    assert_eq!(r["author"], "Dawn");
    assert_eq!(
        r["fields"],
        serde_json::json!({"heading": "Hello", "when": "2024", "none": null})
    );
    // A page that failed, or was never fetched, has every NAME too, so `jq .fields.NAME` works
    // on every record.
    assert_eq!(failed.len(), 2);
    for failed in failed {
        assert_eq!(
            failed["fields"],
            serde_json::json!({"heading": null, "when": null, "none": null}),
            "{failed}"
        );
    }
    assert!(
        run.stderr.contains("--field none matched nothing"),
        "{}",
        run.stderr
    );
}

/// Each record's url and depth, sorted; a url recorded twice shows twice.
fn depths(run: &support::Run) -> Vec<(String, u64)> {
    let mut depths: Vec<(String, u64)> = run
        .records()
        .iter()
        .map(|r| {
            (
                r["url"].as_str().unwrap().into(),
                r["depth"].as_u64().unwrap(),
            )
        })
        .collect();
    depths.sort();
    depths
}

#[test]
fn a_link_to_a_later_url_line_is_not_fetched_again_at_the_next_level() {
    // With one crawler the lines are read only a few ahead, so /a's link to /e is found before
    // the line /e is read: /e is a line, depth 0, and the link waiting for depth 1 is dropped.
    each_case(["single", "multi", "async"], |mode| {
        let server = Server::start(|req, _| match req.path.as_str() {
            "/a" => page("a", &["/e"]),
            p => page(p, &[]),
        });
        let lines: String = ["/a", "/b", "/c", "/d", "/e", "/f", "/g"]
            .iter()
            .map(|p| server.url(p) + "\n")
            .collect();
        let args = ["--mode", mode, "--crawlers", "1", "--no-robots", "-q"];
        let run = crawl(&[&args[..], &["--depth", "1", "-"]].concat(), &lines);
        let expected: Vec<(String, u64)> = ["/a", "/b", "/c", "/d", "/e", "/f", "/g"]
            .iter()
            .map(|p| (server.url(p), 0))
            .collect();
        assert_eq!(depths(&run), expected, "{mode}");
        assert_eq!(server.requests(), 7, "{mode}: each page once");
    });
}

#[test]
fn a_sitemap_entry_linked_from_a_page_of_its_level_keeps_the_sitemaps_depth() {
    // In single mode /page is parsed first and queues its link to /x for depth 1; the sitemap,
    // a line too, lists /x at depth 0, which is /x's shortest depth, so the sitemap's entry wins.
    let server = Server::start(|req, _| {
        let host = req.header("host").unwrap().to_string();
        match req.path.as_str() {
            "/page" => page("page", &["/x"]),
            "/sitemap.xml" => Response::new(
                200,
                "application/xml",
                sitemap("urlset", &[format!("http://{host}/x")]).into_bytes(),
            ),
            p => page(p, &[]),
        }
    });
    let lines = format!("{}\n{}\n", server.url("/page"), server.url("/sitemap.xml"));
    for depth in ["0", "1"] {
        let args = [
            "--mode",
            "single",
            "--no-robots",
            "-q",
            "--depth",
            depth,
            "-",
        ];
        let run = crawl(&args, &lines);
        let expected: Vec<(String, u64)> = ["/page", "/sitemap.xml", "/x"]
            .iter()
            .map(|p| (server.url(p), 0))
            .collect();
        assert_eq!(depths(&run), expected, "--depth {depth}");
    }
}
