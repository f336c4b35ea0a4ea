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
            assert_eq!(b_paths, ["/landing", "/linked", "/robots.txt"], "{mode}");
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
