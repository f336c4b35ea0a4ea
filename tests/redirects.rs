//! Every redirect hop is judged before it is requested: robots.txt of its own host, the
//! private-address guard by DNS answer, its scheme; and what a hop carries to another host.

mod support;

use std::time::Duration;

use serde_json::Value;
#[cfg(debug_assertions)]
use support::crawl_with;
use support::{crawl, each_case, Request, Response, Server};

const MODES: [&str; 3] = ["single", "multi", "async"];

fn page(title: &str, links: &[String]) -> Response {
    let anchors: String = links
        .iter()
        .map(|l| format!("<a href=\"{l}\">{l}</a>"))
        .collect();
    Response::html(format!("<title>{title}</title>{anchors}"))
}

fn redirect(status: u16, to: &str) -> Response {
    Response::status(status).header("Location", to)
}

/// The one record a single URL line gives, with the run's stderr.
fn one(args: &[&str], line: &str) -> (Value, String) {
    let run = crawl(&[args, &["-"]].concat(), &format!("{line}\n"));
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let mut records = run.records();
    assert_eq!(records.len(), 1, "{}", run.stdout);
    (records.remove(0), run.stderr)
}

/// A host on the test server whose name only `--resolve` knows, so its pages count as public.
fn public(server: &Server, host: &str, path: &str) -> String {
    format!("http://{host}:{}{path}", server.port())
}

fn pin(host: &str) -> String {
    format!("--resolve={host}:127.0.0.1")
}

fn paths_for(server: &Server, host: &str) -> Vec<String> {
    server
        .requests_seen()
        .into_iter()
        .filter(|r| r.header("host").is_some_and(|h| h.starts_with(host)))
        .map(|r| r.path)
        .collect()
}

// --- robots.txt on every hop -------------------------------------------------------------

/// closed.test disallows everything; every other name /tags/ and /private.
fn robots_site() -> Server {
    Server::start(|req: &Request, _| {
        let host = req.header("host").unwrap_or_default();
        let name = host.split(':').next().unwrap_or_default().to_string();
        let port = req.port();
        match (name.as_str(), req.path.as_str()) {
            ("closed.test", "/robots.txt") => {
                Response::new(200, "text/plain", b"User-agent: *\nDisallow: /\n".to_vec())
            }
            (_, "/robots.txt") => Response::new(
                200,
                "text/plain",
                b"User-agent: *\nDisallow: /tags/\nDisallow: /private\n".to_vec(),
            ),
            (_, "/tags") => redirect(301, "/tags/"),
            (_, "/tags/") => page("tags", &[]),
            (_, p) if p.starts_with("/redir?to=") => redirect(302, &p["/redir?to=".len()..]),
            (_, "/private/secret") => page("secret", &[]),
            (_, "/away") => redirect(302, &format!("http://closed.test:{port}/page")),
            (_, "/page") => page("page", &[]),
            _ => Response::status(404),
        }
    })
}

#[test]
fn a_redirect_to_a_path_robots_txt_disallows_is_not_followed() {
    let server = robots_site();
    each_case(MODES, |mode| {
        for path in ["/tags", "/redir?to=/private/secret"] {
            let (record, _) = one(&["--mode", mode, "-q"], &server.url(path));
            assert_eq!(record["error"]["kind"], "robots", "{mode} {path}: {record}");
            assert_eq!(record["final_url"], Value::Null, "{mode} {path}: {record}");
            assert_eq!(record["status"], Value::Null, "{mode} {path}: {record}");
        }
    });
    let paths = server.paths();
    assert!(!paths.contains(&"/tags/".to_string()), "{paths:?}");
    assert!(!paths.contains(&"/private/secret".to_string()), "{paths:?}");
}

#[test]
fn a_redirect_to_another_host_obeys_that_hosts_robots_txt() {
    let server = robots_site();
    each_case(MODES, |mode| {
        let args = ["--mode", mode, "-q", &pin("blog.test"), &pin("closed.test")];
        let (record, _) = one(&args, &public(&server, "blog.test", "/away"));
        assert_eq!(record["error"]["kind"], "robots", "{mode}: {record}");
        let message = record["error"]["message"].as_str().unwrap();
        assert!(message.contains("closed.test"), "{message}");
    });
    let closed = paths_for(&server, "closed.test");
    assert!(closed.contains(&"/robots.txt".to_string()), "{closed:?}");
    assert!(!closed.contains(&"/page".to_string()), "{closed:?}");
}

#[test]
fn disallowed_hops_are_counted_with_the_links_robots_txt_turned_away() {
    let server = robots_site();
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    let input = [server.url("/tags"), server.url("/redir?to=/private/secret")].join("\n");
    let run = crawl(&["--stats", stats.to_str().unwrap(), "-"], &input);
    assert_eq!(run.code(), 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("; 2 redirects disallowed by robots.txt"),
        "{}",
        run.stderr
    );
    let stats: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(stats["skipped"]["robots"], 2, "{stats}");
    assert_eq!(stats["errors"]["robots"], 2, "{stats}");
}

#[test]
fn no_robots_follows_every_hop() {
    let server = robots_site();
    each_case(MODES, |mode| {
        let (record, _) = one(&["--mode", mode, "-q", "--no-robots"], &server.url("/tags"));
        assert_eq!(record["error"], Value::Null, "{mode}: {record}");
        assert_eq!(record["final_url"], server.url("/tags/"), "{mode}");
    });
    assert!(!server.paths().contains(&"/robots.txt".to_string()));
}

// --- private addresses by DNS answer -----------------------------------------------------

/// Stands in for DNS: sneaky.example is a name that resolves to this machine.
#[cfg(debug_assertions)]
const SNEAKY: (&str, &str) = ("CRAWL_TEST_DNS", "sneaky.example=127.0.0.1");

#[cfg(debug_assertions)]
fn guard_site() -> Server {
    Server::start(|req: &Request, _| {
        let port = req.port();
        let sneaky = |path: &str| format!("http://sneaky.example:{port}{path}");
        match req.path.as_str() {
            "/go" => redirect(302, &sneaky("/landing")),
            "/links" => page("links", &[sneaky("/secret")]),
            "/sitemap.xml" => Response::new(
                200,
                "application/xml",
                support::sitemap("urlset", &[sneaky("/listed")]).into_bytes(),
            ),
            "/robots.txt" => Response::status(404),
            _ => page("landed", &[]),
        }
    })
}

#[cfg(debug_assertions)]
#[test]
fn a_redirect_to_a_name_that_resolves_to_a_private_address_is_blocked() {
    let server = guard_site();
    each_case(MODES, |mode| {
        let args = ["--mode", mode, "-q", &pin("blog.example"), "-"];
        let line = public(&server, "blog.example", "/go");
        let run = crawl_with(&args, &line, &[SNEAKY]);
        let record = &run.records()[0];
        assert_eq!(record["error"]["kind"], "blocked", "{mode}: {record}");
        assert_eq!(record["final_url"], Value::Null, "{mode}: {record}");
        let message = record["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("sneaky.example") && message.contains("127.0.0.1"),
            "{message}"
        );
    });
    assert!(paths_for(&server, "sneaky.example").is_empty());
}

#[cfg(debug_assertions)]
#[test]
fn a_link_or_sitemap_entry_to_such_a_name_is_blocked_robots_txt_included() {
    let server = guard_site();
    each_case(MODES, |mode| {
        let args = [
            "--mode",
            mode,
            "-q",
            "--depth",
            "1",
            "--all-hosts",
            &pin("blog.example"),
            "-",
        ];
        let lines = [
            public(&server, "blog.example", "/links"),
            public(&server, "blog.example", "/sitemap.xml"),
        ]
        .join("\n");
        let run = crawl_with(&args, &lines, &[SNEAKY]);
        let records = run.records();
        for path in ["/secret", "/listed"] {
            let url = format!("http://sneaky.example:{}{path}", server.port());
            let record = records.iter().find(|r| r["url"] == url.as_str());
            let record = record.unwrap_or_else(|| panic!("{mode}: no record for {url}"));
            assert_eq!(record["error"]["kind"], "blocked", "{mode}: {record}");
        }
    });
    assert_eq!(paths_for(&server, "sneaky.example"), Vec::<String>::new());
}

#[cfg(debug_assertions)]
#[test]
fn a_robots_txt_that_redirects_to_such_a_name_is_unavailable_so_all_is_allowed() {
    // Whether the name resolves so, or the redirect spells a private address.
    let server = Server::start(|req: &Request, _| match req.path.as_str() {
        "/robots.txt" if req.header("host").unwrap().starts_with("spelled.") => {
            redirect(302, &format!("http://127.0.0.1:{}/robots.txt", req.port()))
        }
        "/robots.txt" => redirect(302, "http://sneaky.example/robots.txt"),
        _ => page("allowed", &[]),
    });
    each_case(MODES, |mode| {
        for host in ["blog.example", "spelled.example"] {
            let args = ["--mode", mode, "-q", &pin(host), "-"];
            let line = public(&server, host, "/page");
            let run = crawl_with(&args, &line, &[SNEAKY]);
            let record = &run.records()[0];
            assert_eq!(record["title"], "allowed", "{mode} {host}: {record}");
        }
    });
}

#[cfg(debug_assertions)]
#[test]
fn a_url_line_a_private_page_or_allow_private_may_reach_such_a_name() {
    let server = guard_site();
    // The user wrote it.
    let line = public(&server, "sneaky.example", "/landing");
    let run = crawl_with(&["-q", "-"], &line, &[SNEAKY]);
    assert_eq!(run.records()[0]["title"], "landed", "{}", run.stdout);
    // A page served from a private address leads on to private addresses.
    let run = crawl_with(&["-q", "-"], &server.url("/go"), &[SNEAKY]);
    assert_eq!(run.records()[0]["title"], "landed", "{}", run.stdout);
    // And the user may allow it from public pages too.
    each_case(MODES, |mode| {
        let args = [
            "--mode",
            mode,
            "-q",
            "--allow-private",
            &pin("blog.example"),
            "-",
        ];
        let line = public(&server, "blog.example", "/go");
        let run = crawl_with(&args, &line, &[SNEAKY]);
        assert_eq!(
            run.records()[0]["title"],
            "landed",
            "{mode}: {}",
            run.stdout
        );
    });
}

#[cfg(debug_assertions)]
#[test]
fn through_a_proxy_the_guard_judges_the_host_not_the_proxy() {
    // The test server is the proxy here: it gets absolute URLs, and answers for every host.
    let proxy = Server::start(|req: &Request, _| match req.path.as_str() {
        "http://blog.example/go" => redirect(302, "http://sneaky.example/landing"),
        "http://blog.example/links" => page(
            "links",
            &[
                "http://sneaky.example/secret".into(),
                "http://fine.example/ok".into(),
            ],
        ),
        p if p.ends_with("/robots.txt") => Response::status(404),
        _ => page("landed", &[]),
    });
    let env = [SNEAKY, ("HTTP_PROXY", &proxy.url("/"))];
    each_case(MODES, |mode| {
        let args = ["--mode", mode, "-q", "--depth", "1", "--all-hosts", "-"];
        let lines = "http://blog.example/go\nhttp://blog.example/links\n";
        let run = crawl_with(&args, lines, &env);
        let records = run.records();
        let kind = |url: &str| {
            let record = records.iter().find(|r| r["url"] == url);
            let record = record.unwrap_or_else(|| panic!("{mode}: no {url}: {}", run.stdout));
            record["error"]["kind"].clone()
        };
        assert_eq!(kind("http://blog.example/go"), "blocked", "{mode}");
        assert_eq!(kind("http://sneaky.example/secret"), "blocked", "{mode}");
        assert_eq!(kind("http://fine.example/ok"), Value::Null, "{mode}");
    });
    let asked: Vec<String> = proxy.paths();
    assert!(
        asked.contains(&"http://fine.example/ok".to_string()),
        "{asked:?}"
    );
    assert!(!asked.iter().any(|p| p.contains("sneaky")), "{asked:?}");
}

/// intra.corp and wiki.corp: names of the user's own network, on this machine.
#[cfg(debug_assertions)]
const INTRANET: (&str, &str) = ("CRAWL_TEST_DNS", "intra.corp=127.0.0.1;wiki.corp=127.0.0.1");

#[cfg(debug_assertions)]
fn intranet() -> Server {
    Server::start(|req: &Request, _| {
        // As a proxy, the server is asked for absolute URLs, with no port.
        let host = req.header("host").unwrap_or_default();
        let wiki = match host.split_once(':') {
            Some((_, port)) => format!("http://wiki.corp:{port}/w"),
            None => "http://wiki.corp/w".into(),
        };
        match req.path.rsplit_once('/').map(|(_, p)| p) {
            Some("") => page("home", &["/a".into(), wiki]),
            Some("robots.txt") => Response::status(404),
            _ => page("inside", &[]),
        }
    })
}

#[cfg(debug_assertions)]
#[test]
fn a_resumed_crawl_follows_a_private_names_links_as_the_whole_crawl_does() {
    let server = intranet();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let line = format!("http://intra.corp:{}/\n", server.port());
    for mode in MODES {
        let _ = std::fs::remove_file(&out);
        let args = [
            "--mode",
            mode,
            "-q",
            "--all-hosts",
            "-o",
            out.to_str().unwrap(),
            "-",
        ];
        // The line alone, then the rest of a --depth 1 crawl, as after an interruption.
        crawl_with(&args, &line, &[INTRANET]);
        let resume = [&["--resume", "--depth", "1"], &args[..]].concat();
        let run = crawl_with(&resume, &line, &[INTRANET]);
        assert_eq!(run.code(), 0, "{mode}: {}", run.stderr);
        let text = std::fs::read_to_string(&out).unwrap();
        let records: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(records.len(), 3, "{mode}: {text}");
        for record in &records {
            assert_eq!(record["error"], Value::Null, "{mode}: {record}");
        }
    }
}

#[cfg(debug_assertions)]
#[test]
fn through_a_proxy_a_private_names_pages_lead_on_to_private_addresses() {
    let proxy = intranet();
    let env = [INTRANET, ("HTTP_PROXY", &proxy.url("/"))];
    for mode in MODES {
        let args = ["--mode", mode, "-q", "--depth", "1", "--all-hosts", "-"];
        let run = crawl_with(&args, "http://intra.corp/\n", &env);
        let records = run.records();
        assert_eq!(records.len(), 3, "{mode}: {}", run.stdout);
        for record in &records {
            assert_eq!(record["error"], Value::Null, "{mode}: {record}");
        }
    }
}

#[cfg(debug_assertions)]
#[test]
fn a_link_found_on_a_private_and_a_public_page_is_followed_in_every_mode() {
    // The private page answers late, so that in multi and async mode the public one is parsed
    // first; single mode parses them in order.
    let server = Server::start(|req: &Request, _| {
        let x = format!("http://sneaky.example:{}/x", req.port());
        match req.path.as_str() {
            "/p" => {
                std::thread::sleep(std::time::Duration::from_millis(300));
                page("private", &[x])
            }
            "/q" => page("public", &[x]),
            "/robots.txt" => Response::status(404),
            _ => page("X", &[]),
        }
    });
    let lines = [server.url("/p"), public(&server, "blog.example", "/q")].join("\n");
    for mode in MODES {
        let args = [
            "--mode",
            mode,
            "-q",
            "--depth",
            "1",
            "--all-hosts",
            &pin("blog.example"),
            "-",
        ];
        let run = crawl_with(&args, &lines, &[SNEAKY]);
        let records = run.records();
        let x = records
            .iter()
            .find(|r| r["title"] == "X" || r["url"].as_str().unwrap().ends_with("/x"));
        let x = x.unwrap_or_else(|| panic!("{mode}: {}", run.stdout));
        assert_eq!(x["title"], "X", "{mode}: {x}");
    }
}

#[cfg(debug_assertions)]
#[test]
fn a_public_page_cannot_reach_the_proxys_own_host_directly_or_through_it() {
    let server = Server::start(|req: &Request, _| match req.path.as_str() {
        p if p.ends_with("/r1") => {
            redirect(302, &format!("http://myproxy.test:{}/secret", req.port()))
        }
        p if p.ends_with("/robots.txt") => Response::status(404),
        _ => page("INTERNAL SECRET", &[]),
    });
    let proxy = format!("http://myproxy.test:{}", server.port());
    let dns = ("CRAWL_TEST_DNS", "myproxy.test=127.0.0.1");
    // The proxy's host bypassed (NO_PROXY), then asked for through the proxy.
    for no_proxy in ["myproxy.test,blog.example", "blog.example"] {
        let env = [dns, ("HTTP_PROXY", proxy.as_str()), ("NO_PROXY", no_proxy)];
        for mode in MODES {
            let args = ["--mode", mode, "-q", &pin("blog.example"), "-"];
            let line = public(&server, "blog.example", "/r1");
            let run = crawl_with(&args, &line, &env);
            let record = &run.records()[0];
            assert_eq!(
                record["error"]["kind"], "blocked",
                "{no_proxy} {mode}: {record}"
            );
        }
    }
    let asked = server.paths();
    assert!(!asked.iter().any(|p| p.ends_with("/secret")), "{asked:?}");
}

// --- nothing secret leaves ---------------------------------------------------------------

#[test]
fn a_password_in_a_url_authenticates_and_is_shown_nowhere() {
    // Basic dXNlcjpodW50ZXIy is user:hunter2.
    let server = Server::start(|req: &Request, _| {
        if req.header("authorization") != Some("Basic dXNlcjpodW50ZXIy") {
            return Response::status(401);
        }
        match req.path.as_str() {
            "/start" => page("start", &["/next".into()]),
            "/moved" => redirect(302, "/start"),
            _ => page("next", &[]),
        }
    });
    let secret_url = |path: &str| format!("http://user:hunter2@127.0.0.1:{}{path}", server.port());
    let shown = |path: &str| format!("http://user:***@127.0.0.1:{}{path}", server.port());
    let dir = tempfile::tempdir().unwrap();
    let (stats, timeline) = (dir.path().join("s.json"), dir.path().join("t.svg"));
    each_case(MODES, |mode| {
        let args = [
            "--mode",
            mode,
            "--no-robots",
            "--depth",
            "1",
            "--stats",
            stats.to_str().unwrap(),
            "--timeline",
            timeline.to_str().unwrap(),
            "-",
        ];
        let odd = |how: &str| format!("{how}user:hun ter2@127.0.0.1:{}/odd", server.port());
        let input = [
            secret_url("/moved"),
            "http://user:hunter2@/".into(),
            // Spellings that parse as URLs too, and a password with a blank.
            odd("http:\\\\"),
            odd("http:"),
            odd("http://"),
        ]
        .join("\n");
        let run = crawl(&args, &input);
        assert_eq!(run.code(), 0, "{}", run.stderr);
        for (what, text) in [
            ("records", run.stdout.clone()),
            ("stderr", run.stderr.clone()),
            ("stats", std::fs::read_to_string(&stats).unwrap()),
            ("timeline", std::fs::read_to_string(&timeline).unwrap()),
        ] {
            for secret in ["hunter2", "hun ter2", "hun%20ter2"] {
                assert!(!text.contains(secret), "{mode}: the {what} show it: {text}");
            }
        }
        let records = run.records();
        let moved = records
            .iter()
            .find(|r| r["url"] == shown("/moved").as_str());
        let moved = moved.unwrap_or_else(|| panic!("{mode}: {}", run.stdout));
        assert_eq!(moved["title"], "start", "{mode}: authenticated: {moved}");
        assert_eq!(moved["final_url"], shown("/start"), "{mode}");
        assert_eq!(moved["links"][0]["href"], shown("/next"), "{mode}");
        let next = records.iter().find(|r| r["url"] == shown("/next").as_str());
        let next = next.unwrap_or_else(|| panic!("{mode}: {}", run.stdout));
        assert_eq!(
            next["title"], "next",
            "{mode}: a followed link authenticates too"
        );
        assert_eq!(next["parent"], shown("/start"), "{mode}");
        let invalid = records.iter().find(|r| r["error"]["kind"] == "invalid_url");
        assert!(invalid.is_some(), "{mode}: {}", run.stdout);
    });
}

#[test]
fn a_url_line_with_a_password_is_resumed_by_its_masked_record() {
    let server = Server::start(|req: &Request, _| match req.path.as_str() {
        "/a" => page("a", &["/b".into()]),
        _ => page("b", &[]),
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let out = out.to_str().unwrap();
    let line = format!("http://user:hunter2@127.0.0.1:{}/a\n", server.port());
    let args = ["-q", "--no-robots", "--depth", "1", "-o", out, "-"];
    crawl(&args, &line);
    assert_eq!(server.requests(), 2);
    let resumed = crawl(&[&["--resume"], &args[..]].concat(), &line);
    assert_eq!(resumed.code(), 0, "{}", resumed.stderr);
    assert_eq!(server.requests(), 2, "nothing is fetched again");
    let text = std::fs::read_to_string(out).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn a_redirect_to_another_host_carries_at_most_the_origin_as_referer() {
    let server = Server::start(|req: &Request, _| {
        let port = req.port();
        match req.path.as_str() {
            "/secret/path?token=abc" => redirect(302, &format!("http://b.test:{port}/landing")),
            "/here?token=abc" => redirect(302, "/there"),
            _ => page("landed", &[]),
        }
    });
    each_case(MODES, |mode| {
        let args = [
            "--mode",
            mode,
            "-q",
            "--no-robots",
            &pin("a.test"),
            &pin("b.test"),
        ];
        let lines = [
            public(&server, "a.test", "/secret/path?token=abc"),
            public(&server, "a.test", "/here?token=abc"),
        ];
        for line in &lines {
            one(&args, line);
        }
        let seen = server.requests_seen();
        let referer = |path: &str| {
            let request = seen.iter().rev().find(|r| r.path == path).unwrap();
            request.header("referer").map(str::to_string)
        };
        assert_eq!(
            referer("/landing"),
            Some(format!("http://a.test:{}/", server.port())),
            "{mode}: another host gets the origin only"
        );
        assert_eq!(
            referer("/there").as_deref(),
            Some(lines[1].as_str()),
            "{mode}: the same origin gets the whole URL"
        );
        assert_eq!(referer("/secret/path?token=abc"), None, "{mode}");
    });
}

// --- error kinds -------------------------------------------------------------------------

#[test]
fn a_redirect_to_a_scheme_crawl_does_not_follow_is_a_redirect_error() {
    let server = Server::start(|req: &Request, _| match req.path.as_str() {
        "/ftp" => redirect(302, "ftp://127.0.0.1/file"),
        "/gopher" => redirect(301, "gopher://127.0.0.1/1"),
        "/js" => redirect(302, "javascript:alert(1)"),
        "/file" => redirect(307, "file:///etc/passwd"),
        "/data" => redirect(302, "data:text/html,<title>x</title>"),
        _ => Response::status(404),
    });
    each_case(MODES, |mode| {
        for (path, scheme, status) in [
            ("/ftp", "ftp", 302),
            ("/gopher", "gopher", 301),
            ("/js", "javascript", 302),
            ("/file", "file", 307),
            ("/data", "data", 302),
        ] {
            let (record, _) = one(&["--mode", mode, "-q", "--no-robots"], &server.url(path));
            assert_eq!(
                record["error"]["kind"], "redirect",
                "{mode} {path}: {record}"
            );
            assert_eq!(record["status"], status, "{mode} {path}: {record}");
            assert_eq!(record["final_url"], server.url(path), "{mode} {path}");
            let message = record["error"]["message"].as_str().unwrap();
            assert!(
                message.contains(&format!("{scheme}:")),
                "{mode} {path}: {message}"
            );
        }
    });
}

// --- politeness -------------------------------------------------------------------------

#[test]
fn a_redirect_to_another_host_waits_for_that_hosts_turn() {
    // Three hosts redirect at once to a fourth, which must see them --delay apart.
    let server = Server::start(|req: &Request, _| {
        let host = req.header("host").unwrap_or_default().to_string();
        match req.path.as_str() {
            "/robots.txt" => Response::status(404),
            "/go" => redirect(302, &format!("http://b.test:{}/from/{host}", req.port())),
            _ => page("landed", &[]),
        }
    });
    for mode in MODES {
        let before = server.arrivals().len();
        let hosts = ["a1.test", "a2.test", "a3.test"];
        let lines: String = hosts
            .iter()
            .map(|h| public(&server, h, "/go") + "\n")
            .collect();
        let mut args = vec!["--mode", mode, "-q", "--crawlers", "3", "--delay", "300ms"];
        let pins: Vec<String> = hosts.iter().chain(&["b.test"]).map(|h| pin(h)).collect();
        args.extend(pins.iter().map(String::as_str));
        args.push("-");
        let run = crawl(&args, &lines);
        assert_eq!(run.records().len(), 3, "{mode}: {}", run.stdout);
        let landed: Vec<_> = server.arrivals()[before..]
            .iter()
            .filter(|(path, _)| path.starts_with("/from/"))
            .map(|(_, at)| *at)
            .collect();
        assert_eq!(landed.len(), 3, "{mode}");
        for gap in landed.windows(2).map(|w| w[1] - w[0]) {
            assert!(
                gap >= std::time::Duration::from_millis(280),
                "{mode}: b.test saw two requests {gap:?} apart"
            );
        }
    }
}

#[test]
fn a_location_with_bytes_that_are_not_utf8_is_followed_escaped() {
    let server = Server::start(|req: &Request, _| match req.path.as_str() {
        "/latin" => Response::raw(|w| {
            use std::io::Write;
            // A raw response ends the connection, so it says so: otherwise the client may send
            // the next hop on it as the server closes it.
            let head = b"HTTP/1.1 302 Found\r\nLocation: /caf\xe9.html\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            let _ = w.write_all(head);
        }),
        "/caf%E9.html" => page("café", &[]),
        _ => Response::status(404),
    });
    for mode in MODES {
        let (record, _) = one(
            &["--mode", mode, "-q", "--no-robots"],
            &server.url("/latin"),
        );
        assert_eq!(record["title"], "café", "{mode}: {record}");
        assert_eq!(record["final_url"], server.url("/caf%E9.html"), "{mode}");
    }
}

#[test]
fn waiting_for_a_hops_turn_does_not_spend_the_pages_timeout() {
    let server = Server::start(|req: &Request, _| match req.path.as_str() {
        "/robots.txt" => Response::new(
            200,
            "text/plain",
            b"User-agent: *\nCrawl-delay: 1\n".to_vec(),
        ),
        "/tags" => redirect(301, "/tags/"),
        _ => page("tags", &[]),
    });
    each_case(MODES, |mode| {
        let args = ["--mode", mode, "-q", "--timeout", "500ms", "--retries", "0"];
        let (record, _) = one(&args, &server.url("/tags"));
        assert_eq!(record["title"], "tags", "{mode}: {record}");
    });
}

#[test]
fn a_resumed_crawl_sends_the_url_lines_password_not_the_mask() {
    // Basic dXNlcjpodW50ZXIy is user:hunter2.
    let server = Server::start(|req: &Request, _| {
        if req.header("authorization") != Some("Basic dXNlcjpodW50ZXIy") {
            return Response::status(401);
        }
        match req.path.as_str() {
            "/a" => page("a", &["/b".into()]),
            _ => page("b", &[]),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (out, urls) = (dir.path().join("out.jsonl"), dir.path().join("urls.txt"));
    std::fs::write(
        &urls,
        format!("http://user:hunter2@127.0.0.1:{}/a\n", server.port()),
    )
    .unwrap();
    let (out, urls) = (out.to_str().unwrap(), urls.to_str().unwrap());
    // The line alone, then the rest of a --depth 1 crawl, as after an interruption.
    crawl(&["-q", "--no-robots", "-o", out, urls], "");
    let run = crawl(
        &[
            "-q",
            "--no-robots",
            "--resume",
            "--depth",
            "1",
            "-o",
            out,
            urls,
        ],
        "",
    );
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let text = std::fs::read_to_string(out).unwrap();
    let b: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["url"].as_str().unwrap().ends_with("/b"))
        .collect();
    assert_eq!(b.len(), 1, "{text}");
    assert_eq!(
        b[0]["title"], "b",
        "authenticated with the real password: {}",
        b[0]
    );
}

#[cfg(debug_assertions)]
#[test]
fn a_link_refused_ahead_of_its_level_is_fetched_again_once_a_private_page_of_that_level_has_it() {
    // Level 1: /fast on a public name and /slow on this machine both link sneaky.example/x.
    // /fast's link goes first, guarded, and is refused while /slow is still being answered;
    // once /slow has it too, the link is the user's own network's, as if /slow had been first.
    let server = Server::start(|req: &Request, _| {
        let port = req.port();
        let sneaky = format!("http://sneaky.example:{port}/x");
        match req.path.as_str() {
            "/" => page("public home", &[format!("http://blog.example:{port}/fast")]),
            "/home" => page("private home", &[format!("http://127.0.0.1:{port}/slow")]),
            "/fast" => page("fast", &[sneaky]),
            "/slow" => {
                std::thread::sleep(Duration::from_millis(600));
                page("slow", &[sneaky])
            }
            "/robots.txt" => Response::status(404),
            _ => page("inside", &[]),
        }
    });
    each_case(["multi", "async"], |mode| {
        let pinned = pin("blog.example");
        let args = [
            "--mode",
            mode,
            "-q",
            "--depth",
            "2",
            "--all-hosts",
            &pinned,
            "-",
        ];
        let lines = [public(&server, "blog.example", "/"), server.url("/home")].join("\n");
        let run = crawl_with(&args, &lines, &[SNEAKY]);
        let records = run.records();
        let x = format!("http://sneaky.example:{}/x", server.port());
        let mine: Vec<&Value> = records.iter().filter(|r| r["url"] == x.as_str()).collect();
        assert_eq!(mine.len(), 1, "{mode}: {}", run.stdout);
        assert_eq!(mine[0]["error"], Value::Null, "{mode}: {}", mine[0]);
        assert_eq!(mine[0]["title"], "inside", "{mode}");
        assert_eq!(mine[0]["depth"], 2, "{mode}");
    });
}
