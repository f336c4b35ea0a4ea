//! -H and the cookie options: what reaches which server, checked on the server's side, and
//! what never leaves for another host.

mod support;

use support::{crawl, each_case, page, Request, Response, Server};

const MODES: [&str; 3] = ["single", "multi", "async"];

/// A host on the test server whose name only `--resolve` knows.
fn on(server: &Server, host: &str, path: &str) -> String {
    format!("http://{host}:{}{path}", server.port())
}

fn pin(host: &str) -> String {
    format!("--resolve={host}:127.0.0.1")
}

/// Every request the server saw, as (host name, path, the header `name`'s value).
fn seen(server: &Server, name: &str) -> Vec<(String, String, Option<String>)> {
    server
        .requests_seen()
        .into_iter()
        .map(|r| {
            let host = r.header("host").unwrap_or_default();
            let host = host.split(':').next().unwrap_or_default().to_string();
            let value = r.header(name).map(str::to_string);
            (host, r.path, value)
        })
        .collect()
}

fn ok(run: &support::Run) {
    assert_eq!(run.code(), 0, "{}", run.stderr);
}

// --- headers -------------------------------------------------------------------------------

#[test]
fn a_header_reaches_the_seeds_host_on_robots_txt_and_a_followed_link() {
    let server = Server::start(|req: &Request, _| match req.path.as_str() {
        "/robots.txt" => Response::new(200, "text/plain", b"User-agent: *\nAllow: /\n".to_vec()),
        "/" => page("home", &["/post"]),
        _ => page("post", &[]),
    });
    each_case(MODES, |mode| {
        let before = server.requests_seen().len();
        let args = [
            "--mode",
            mode,
            "-q",
            "--depth",
            "1",
            "-H",
            "X-Token: s3cret",
            "-H",
            "X-Two:2",
            "-",
        ];
        ok(&crawl(&args, &format!("{}\n", server.url("/"))));
        let got = &seen(&server, "x-token")[before..];
        let paths: Vec<&str> = got.iter().map(|(_, p, _)| p.as_str()).collect();
        assert_eq!(paths, ["/robots.txt", "/", "/post"], "{mode}");
        for (_, path, value) in got {
            assert_eq!(value.as_deref(), Some("s3cret"), "{mode}: {path}");
        }
        let two = &seen(&server, "x-two")[before..];
        assert!(
            two.iter().all(|(.., v)| v.as_deref() == Some("2")),
            "{mode}: {two:?}"
        );
    });
}

#[test]
fn a_header_does_not_follow_a_redirect_or_a_link_to_another_host_unless_told() {
    let server = Server::start(|req: &Request, _| {
        let port = req.port();
        match req.path.as_str() {
            "/robots.txt" => Response::status(404),
            "/moved" => {
                Response::status(302).header("Location", &format!("http://b.test:{port}/landing"))
            }
            "/" => page("home", &[&format!("http://b.test:{port}/linked")]),
            // The line landed on b.test, so its crawl stays there: still not the seed's host.
            "/landing" => page("landed", &["/deeper"]),
            _ => page("elsewhere", &[]),
        }
    });
    let lines = format!(
        "{}\n{}\n",
        on(&server, "a.test", "/"),
        on(&server, "a.test", "/moved")
    );
    for all in [false, true] {
        each_case(MODES, |mode| {
            let before = server.requests_seen().len();
            let mut args = vec!["--mode", mode, "-q", "--depth", "1", "--all-hosts"];
            let pins = [pin("a.test"), pin("b.test")];
            args.extend(pins.iter().map(String::as_str));
            args.extend(["-H", "Authorization: Bearer s3cret"]);
            if all {
                args.push("--header-all-hosts");
            }
            args.push("-");
            ok(&crawl(&args, &lines));
            let got = &seen(&server, "authorization")[before..];
            let mut b_paths: Vec<&str> = Vec::new();
            for (host, path, value) in got {
                let sent = value.as_deref() == Some("Bearer s3cret");
                match host.as_str() {
                    "a.test" => assert!(sent, "{mode}: {host}{path}"),
                    _ => {
                        assert_eq!(sent, all, "{mode} --header-all-hosts={all}: {host}{path}");
                        b_paths.push(path);
                    }
                }
            }
            b_paths.sort();
            assert_eq!(
                b_paths,
                ["/deeper", "/landing", "/linked", "/robots.txt"],
                "{mode}"
            );
        });
    }
}

#[test]
fn a_malformed_header_is_a_usage_error_and_nothing_is_fetched() {
    let server = Server::start(|_: &Request, _| page("home", &[]));
    for bad in ["NoColon", ": value", "Bad Name: v", "X: a\nY: b"] {
        let run = crawl(&["-H", bad, "-"], &format!("{}\n", server.url("/")));
        assert_eq!(run.code(), 2, "{bad:?}: {}", run.stderr);
        assert_eq!(
            run.stderr.trim_end().lines().count(),
            1,
            "{bad:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("--header"), "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    assert_eq!(server.requests(), 0);
}

// --- cookies -------------------------------------------------------------------------------

/// The Cookie header of the last request for `path`, if it had one, its cookies sorted (a
/// store sends them in no set order).
fn cookie_on(server: &Server, path: &str) -> Option<String> {
    let seen = server.requests_seen();
    let request = seen.iter().rev().find(|r| r.path == path)?;
    let mut cookies: Vec<&str> = request.header("cookie")?.split("; ").collect();
    cookies.sort();
    Some(cookies.join("; "))
}

/// A site whose home page sets a session cookie and links to a page that needs it.
fn login_site() -> Server {
    Server::start(|req: &Request, _| match req.path.as_str() {
        "/robots.txt" => Response::status(404),
        "/" => page("home", &["/next"]).header("Set-Cookie", "sid=abc123; Path=/; HttpOnly"),
        _ => page("other", &[]),
    })
}

#[test]
fn a_cookie_given_on_the_command_line_reaches_the_server() {
    let server = Server::start(|_: &Request, _| page("home", &[]));
    each_case(MODES, |mode| {
        let args = ["--mode", mode, "-q", "-b", "k=v; k2=v 2", "-"];
        ok(&crawl(&args, &format!("{}\n", server.url("/"))));
        for path in ["/robots.txt", "/"] {
            let cookie = cookie_on(&server, path);
            assert_eq!(cookie.as_deref(), Some("k2=v 2; k=v"), "{mode}: {path}");
        }
    });
}

#[test]
fn a_cookie_the_server_sets_is_sent_back_and_the_jar_round_trips() {
    let server = login_site();
    let dir = tempfile::tempdir().unwrap();
    each_case(MODES, |mode| {
        let jar = dir.path().join(format!("{mode}.txt"));
        let jar_arg = jar.to_str().unwrap();
        let args = [
            "--mode",
            mode,
            "-q",
            "--depth",
            "1",
            "--cookie-jar",
            jar_arg,
            "-",
        ];
        ok(&crawl(&args, &format!("{}\n", server.url("/"))));
        assert_eq!(cookie_on(&server, "/"), None, "{mode}: nothing to send yet");
        assert_eq!(
            cookie_on(&server, "/next").as_deref(),
            Some("sid=abc123"),
            "{mode}"
        );
        let text = std::fs::read_to_string(&jar).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines,
            [
                "# Netscape HTTP Cookie File",
                "# Written by crawl.",
                "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tabc123",
            ],
            "{mode}"
        );
        // The jar, read back by -b, is sent on the next crawl's first request.
        let args = ["--mode", mode, "-q", "--no-robots", "-b", jar_arg, "-"];
        ok(&crawl(&args, &format!("{}\n", server.url("/again"))));
        assert_eq!(
            cookie_on(&server, "/again").as_deref(),
            Some("sid=abc123"),
            "{mode}"
        );
    });
}

#[test]
fn a_cookies_txt_file_is_sent_by_its_domain_and_path() {
    let server = Server::start(|_: &Request, _| page("page", &[]));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cookies.txt");
    let far = 4_000_000_000u64;
    std::fs::write(
        &file,
        format!(
            "# Netscape HTTP Cookie File\n\n\
             127.0.0.1\tFALSE\t/a\tFALSE\t{far}\tpathed\t1\n\
             #HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\t2\n\
             127.0.0.1\tFALSE\t/\tFALSE\t1\texpired\t3\n\
             other.test\tFALSE\t/\tFALSE\t{far}\telsewhere\t5\n"
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let lines = format!("{}\n{}\n", server.url("/a/x"), server.url("/b"));
    ok(&crawl(&["-q", "--no-robots", "-b", file, "-"], &lines));
    assert_eq!(
        cookie_on(&server, "/a/x").as_deref(),
        Some("pathed=1; session=2")
    );
    assert_eq!(cookie_on(&server, "/b").as_deref(), Some("session=2"));
}

#[test]
fn without_cookie_flags_no_cookie_is_kept_or_sent() {
    let server = login_site();
    each_case(MODES, |mode| {
        let args = ["--mode", mode, "-q", "--depth", "1", "-"];
        ok(&crawl(&args, &format!("{}\n", server.url("/"))));
        assert!(server.paths().iter().any(|p| p == "/next"), "{mode}");
        assert!(
            server
                .requests_seen()
                .iter()
                .all(|r| r.header("cookie").is_none()),
            "{mode}"
        );
    });
}

#[test]
fn a_bad_cookie_flag_or_jar_is_a_usage_error_before_anything_is_fetched() {
    let server = Server::start(|_: &Request, _| page("page", &[]));
    let dir = tempfile::tempdir().unwrap();
    let urls = dir.path().join("urls.txt");
    std::fs::write(&urls, format!("{}\n", server.url("/"))).unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "127.0.0.1\tFALSE\t/\n").unwrap();
    let out = dir.path().join("out.jsonl");
    let (urls, bad, out) = (
        urls.to_str().unwrap(),
        bad.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let cases: [(&[&str], &str); 5] = [
        (&["-b", "nofile"], "no such file"),
        (&["-b", "=v"], "is not a cookie"),
        (&["-b", bad], "line 1"),
        (&["--cookie-jar", urls], "the URL file"),
        (&["-o", out, "--cookie-jar", out], "the output file"),
    ];
    for (flags, says) in cases {
        let run = crawl(&[flags, &[urls]].concat(), "");
        assert_eq!(run.code(), 2, "{flags:?}: {}", run.stderr);
        assert_eq!(
            run.stderr.trim_end().lines().count(),
            1,
            "{flags:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(says), "{flags:?}: {}", run.stderr);
    }
    assert_eq!(server.requests(), 0);
    assert_eq!(
        std::fs::read_to_string(urls).unwrap(),
        format!("{}\n", server.url("/"))
    );
}

/// compare runs the crawl once per mode and writes no jar: it refuses the option.
#[test]
fn compare_refuses_a_cookie_jar_it_would_not_write() {
    let server = Server::start(|req: &support::Request, _| match req.path.as_str() {
        "/robots.txt" => Response::status(404),
        _ => support::page("p", &[]).header("Set-Cookie", "srv=set1"),
    });
    let dir = tempfile::tempdir().unwrap();
    let urls = dir.path().join("urls.txt");
    std::fs::write(&urls, format!("{}\n", server.url("/p"))).unwrap();
    let jar = dir.path().join("jar.txt");
    let out = support::bin()
        .args(["compare", "--cookie-jar", jar.to_str().unwrap()])
        .arg(&urls)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let written = std::fs::read_to_string(&jar).unwrap_or_default();
    assert!(
        code == 2 && written.is_empty(),
        "exit {code}, jar {written:?}, stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// --- what --resume sends -------------------------------------------------------------------

/// A crawl whose line redirects to other.test and another whose page links to b.test, each a
/// level deeper than the first run went: the resumed run must send -H and -b where a fresh
/// one would, and nowhere else.
#[test]
fn a_resumed_crawl_sends_headers_and_cookies_to_the_seeds_host_only() {
    let server = Server::start(|req: &Request, _| {
        let port = req.port();
        match req.path.as_str() {
            "/robots.txt" => Response::status(404),
            "/start" => {
                Response::status(302).header("Location", &format!("http://other.test:{port}/land"))
            }
            "/land" => page("land", &["/d1"]),
            "/d1" => page("d1", &["/d2"]),
            "/home" => page("home", &["/a1", &format!("http://b.test:{port}/b1")]),
            "/a1" => page("a1", &["/a2"]),
            "/b1" => page("b1", &["/b2"]),
            _ => page("leaf", &[]),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let urls = dir.path().join("urls.txt");
    let lines = format!(
        "{}\n{}\n",
        on(&server, "a.test", "/start"),
        on(&server, "a.test", "/home")
    );
    std::fs::write(&urls, lines).unwrap();
    each_case(MODES, |mode| {
        let out = dir.path().join(format!("{mode}.jsonl"));
        let pins = [pin("a.test"), pin("other.test"), pin("b.test")];
        let run = |depth: &str, resume: bool| {
            let mut args = vec!["--mode", mode, "-q", "--all-hosts", "--depth", depth];
            args.extend(pins.iter().map(String::as_str));
            args.extend(["-H", "X-Token: s3cret", "-b", "sid=abc"]);
            if resume {
                args.push("--resume");
            }
            args.extend(["-o", out.to_str().unwrap(), urls.to_str().unwrap()]);
            let before = server.requests_seen().len();
            ok(&crawl(&args, ""));
            let tokens = seen(&server, "x-token")[before..].to_vec();
            let cookies = seen(&server, "cookie")[before..].to_vec();
            (tokens, cookies)
        };
        run("1", false);
        let (tokens, cookies) = run("2", true);
        let mut paths: Vec<String> = tokens.iter().map(|(h, p, _)| format!("{h}{p}")).collect();
        paths.sort();
        assert!(
            paths.contains(&"other.test/d2".to_string())
                && paths.contains(&"b.test/b2".to_string())
                && paths.contains(&"a.test/a2".to_string()),
            "{mode}: the resumed run went a level deeper: {paths:?}"
        );
        for ((host, path, token), (.., cookie)) in tokens.iter().zip(&cookies) {
            let seeds = host == "a.test";
            let want = seeds.then_some("s3cret");
            assert_eq!(token.as_deref(), want, "{mode}: X-Token to {host}{path}");
            let want = seeds.then_some("sid=abc");
            assert_eq!(cookie.as_deref(), want, "{mode}: Cookie to {host}{path}");
        }
    });
}

// --- cookies and public suffixes -----------------------------------------------------------

/// A cookie for a whole top-level domain would reach every site under it: it is refused, as
/// curl refuses it without a public suffix list. One for the host's own parent domain, or a
/// single-label host's own name, is kept.
#[test]
fn a_cookie_for_a_single_label_domain_is_refused() {
    let server = Server::start(|req: &Request, _| match req.path.as_str() {
        "/robots.txt" => Response::status(404),
        "/set" => page("set", &[])
            .header("Set-Cookie", "track=1; Domain=com; Path=/")
            .header("Set-Cookie", "dotted=1; Domain=.test; Path=/")
            .header("Set-Cookie", "parent=1; Domain=example.com; Path=/"),
        "/single" => page("single", &[]).header("Set-Cookie", "own=1; Domain=localhost; Path=/"),
        _ => page("other", &[]),
    });
    let lines = [
        on(&server, "shop.example.com", "/set"),
        on(&server, "shop.a.test", "/set"),
        on(&server, "www.example.com", "/after"),
        on(&server, "bank.other.com", "/after"),
        on(&server, "b.test", "/after"),
        on(&server, "localhost", "/single"),
        on(&server, "localhost", "/again"),
    ];
    let pins = [
        pin("shop.example.com"),
        pin("shop.a.test"),
        pin("www.example.com"),
        pin("bank.other.com"),
        pin("b.test"),
        pin("localhost"),
    ];
    let mut args = vec!["--mode", "single", "-q", "--cookie-jar", "/dev/null"];
    args.extend(pins.iter().map(String::as_str));
    args.push("-");
    ok(&crawl(&args, &(lines.join("\n") + "\n")));
    let got: Vec<(String, String, Option<String>)> = seen(&server, "cookie")
        .into_iter()
        .filter(|(_, path, _)| path != "/robots.txt")
        .collect();
    let want = [
        ("shop.example.com", "/set", None),
        ("shop.a.test", "/set", None),
        ("www.example.com", "/after", Some("parent=1")),
        ("bank.other.com", "/after", None),
        ("b.test", "/after", None),
        ("localhost", "/single", None),
        ("localhost", "/again", Some("own=1")),
    ];
    let want: Vec<(String, String, Option<String>)> = want
        .iter()
        .map(|(h, p, c)| (h.to_string(), p.to_string(), c.map(str::to_string)))
        .collect();
    assert_eq!(got, want);
}

// --- https seeds ---------------------------------------------------------------------------

/// The plain server's port, for the TLS server's page (a fn, which captures nothing).
static PLAIN_PORT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);

fn https_page(path: &str) -> String {
    let port = PLAIN_PORT.load(std::sync::atomic::Ordering::SeqCst);
    match path {
        "/" => format!("<title>secure</title><a href=\"http://a.test:{port}/plain\">down</a>"),
        _ => "<title>secure</title>".to_string(),
    }
}

/// A line given as https keeps -H's headers and -b's pairs off plain http, on its own host
/// too: a link down to http would carry them in clear (curl keeps custom headers to one
/// scheme since CVE-2022-27776).
#[test]
fn an_https_seeds_headers_and_cookies_never_go_over_plain_http() {
    let plain = Server::start(|req: &Request, _| match req.path.as_str() {
        "/robots.txt" => Response::status(404),
        _ => page("plain", &[]),
    });
    PLAIN_PORT.store(plain.port(), std::sync::atomic::Ordering::SeqCst);
    let tls = support::tls::TlsServer::start(https_page);
    let line = format!("https://a.test:{}/\n", tls.addr.port());
    each_case(MODES, |mode| {
        let before = plain.requests_seen().len();
        let args = [
            "--mode",
            mode,
            "-q",
            "-k",
            "--depth",
            "1",
            &pin("a.test"),
            "-H",
            "X-Token: s3cret",
            "-b",
            "sid=abc",
            "-",
        ];
        ok(&crawl(&args, &line));
        let tokens = &seen(&plain, "x-token")[before..];
        let cookies = &seen(&plain, "cookie")[before..];
        let paths: Vec<&str> = tokens.iter().map(|(_, p, _)| p.as_str()).collect();
        assert_eq!(paths, ["/robots.txt", "/plain"], "{mode}");
        assert!(
            tokens.iter().all(|(.., v)| v.is_none()),
            "{mode}: {tokens:?}"
        );
        assert!(
            cookies.iter().all(|(.., v)| v.is_none()),
            "{mode}: {cookies:?}"
        );
    });
}
