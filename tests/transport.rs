//! How requests travel: a proxy given with -x (http and socks5h) or bypassed with --noproxy,
//! the private-address guard judging the target through it, TLS trust (--cacert, -k), and
//! HTTP/2 over TLS (--http1.1 to refuse it). Every server and proxy is on 127.0.0.1.

mod support;

use serde_json::Value;
use support::proxy::{self, Socks};
use support::tls::TlsServer;
use support::{crawl, crawl_with, page, Request, Response, Server};

/// The modes with their own client code: the blocking client and the async one.
const MODES: [&str; 2] = ["multi", "async"];

/// The one record of a run over one URL line, with the run's stderr.
fn one(args: &[&str], line: &str) -> (Value, String) {
    let run = crawl(&[args, &["-q", "-"]].concat(), &format!("{line}\n"));
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let records = run.records();
    assert_eq!(records.len(), 1, "{}", run.stdout);
    (records[0].clone(), run.stderr)
}

fn tls_page(path: &str) -> String {
    format!("<title>secure {path}</title>")
}

fn cert_file(server: &TlsServer) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &server.cert_pem).unwrap();
    file
}

#[test]
fn a_self_signed_server_is_refused_unless_its_certificate_is_trusted_or_unchecked() {
    let server = TlsServer::start(tls_page);
    let cert = cert_file(&server);
    let cacert = cert.path().to_str().unwrap();
    for mode in MODES {
        let base = ["--mode", mode, "--no-robots", "--retries", "0"];
        let (refused, _) = one(&base, &server.url("/a"));
        assert_eq!(refused["error"]["kind"], "connect", "{mode}: {refused}");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains("certificate"), "{mode}: {message}");
        assert_eq!(refused["status"], Value::Null, "{mode}");
        assert_eq!(refused["http_version"], Value::Null, "{mode}");

        let (trusted, _) = one(
            &[&base[..], &["--cacert", cacert]].concat(),
            &server.url("/b"),
        );
        assert_eq!(trusted["status"], 200, "{mode}: {trusted}");
        assert_eq!(trusted["title"], "secure /b", "{mode}");

        // Without -q, to see the summary.
        let args = [&base[..], &["-k", "-"]].concat();
        let run = crawl(&args, &format!("{}\n", server.url("/c")));
        assert_eq!(run.code(), 0, "{}", run.stderr);
        assert_eq!(
            run.records()[0]["title"],
            "secure /c",
            "{mode}: {}",
            run.stdout
        );
        let warnings: Vec<_> = run
            .stderr
            .lines()
            .filter(|l| l.contains("--insecure"))
            .collect();
        assert_eq!(
            warnings,
            ["warning: -k/--insecure: TLS certificates were not checked, so a page may not come from the host its URL names"],
            "{mode}: {}",
            run.stderr
        );
        let checked = crawl(
            &[&base[..], &["--cacert", cacert, "-"]].concat(),
            &server.url("/d"),
        );
        assert!(!checked.stderr.contains("insecure"), "{}", checked.stderr);
    }
    let paths: Vec<_> = server.seen().into_iter().map(|(p, _)| p).collect();
    assert!(
        !paths.contains(&"/a".to_string()),
        "refused before any request: {paths:?}"
    );
}

#[test]
fn http2_is_spoken_where_tls_offers_it_and_http1_1_forces_1_1() {
    let server = TlsServer::start(tls_page);
    let cert = cert_file(&server);
    let cacert = cert.path().to_str().unwrap();
    for mode in MODES {
        let base = ["--mode", mode, "--no-robots", "--cacert", cacert];
        let h2 = format!("/h2-{mode}");
        let (record, _) = one(&base, &server.url(&h2));
        assert_eq!(record["http_version"], "2", "{mode}: {record}");
        let h1 = format!("/h1-{mode}");
        let (record, _) = one(&[&base[..], &["--http1.1"]].concat(), &server.url(&h1));
        assert_eq!(record["http_version"], "1.1", "{mode}: {record}");
        let seen = server.seen();
        assert!(seen.contains(&(h2, hyper::Version::HTTP_2)), "{seen:?}");
        assert!(seen.contains(&(h1, hyper::Version::HTTP_11)), "{seen:?}");
    }
}

#[test]
fn bad_transport_options_are_usage_errors_before_any_request() {
    let server = Server::start(|_: &Request, _| page("never", &[]));
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let broken = dir.path().join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let missing = dir.path().join("missing.pem");
    let cases: [(&[&str], &str); 7] = [
        (
            &["-x", "ftp://127.0.0.1:1"],
            "unsupported proxy scheme 'ftp'",
        ),
        (&["-x", "socks5://127.0.0.1:1"], "use socks5h://"),
        (&["-x", "http://"], "not a proxy URL"),
        (
            &["--proxy", "socks4://127.0.0.1:1"],
            "unsupported proxy scheme 'socks4'",
        ),
        (&["--cacert", missing.to_str().unwrap()], "cannot read"),
        (
            &["--cacert", garbage.to_str().unwrap()],
            "holds no PEM certificate",
        ),
        (&["--cacert", broken.to_str().unwrap()], "cannot be used"),
    ];
    for (args, says) in cases {
        let run = crawl(&[args, &["-"]].concat(), &server.url("/"));
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
    }
    assert_eq!(server.requests(), 0);
}

fn site() -> Server {
    Server::start(|req: &Request, _| match req.path.as_str() {
        "/robots.txt" => Response::status(404),
        path => page(&format!("origin {path}"), &[]),
    })
}

#[test]
fn requests_go_through_an_http_proxy_unless_noproxy_names_their_host() {
    let origin = site();
    let proxy = proxy::http(origin.addr());
    let x = format!("http://127.0.0.1:{}", proxy.port());
    let url = |path: &str| format!("http://blog.example:{}{path}", origin.port());
    for mode in MODES {
        let path = format!("/via-{mode}");
        let (record, _) = one(&["--mode", mode, "--no-robots", "-x", &x], &url(&path));
        assert_eq!(
            record["title"],
            format!("origin {path}"),
            "{mode}: {record}"
        );
        assert_eq!(record["http_version"], "1.1", "{mode}");
    }
    assert_eq!(proxy.paths(), [url("/via-multi"), url("/via-async")]);
    assert_eq!(origin.paths(), ["/via-multi", "/via-async"]);

    // A user and password in the proxy's URL authenticate to the proxy (user:pw).
    let with_login = format!("http://user:pw@127.0.0.1:{}", proxy.port());
    let (record, _) = one(&["--no-robots", "-x", &with_login], &url("/login"));
    assert_eq!(record["title"], "origin /login", "{record}");
    let asked = proxy.requests_seen();
    let login = asked.last().unwrap().header("proxy-authorization");
    assert_eq!(login, Some("Basic dXNlcjpwdw=="), "{asked:?}");

    let pin = "--resolve=blog.example:127.0.0.1";
    for noproxy in ["blog.example", "*", "other.example,.example"] {
        let args = ["--no-robots", "-x", &x, "--noproxy", noproxy, pin];
        let (record, _) = one(&args, &url("/direct"));
        assert_eq!(record["title"], "origin /direct", "{noproxy}: {record}");
    }
    assert_eq!(proxy.requests(), 3, "bypassed: {:?}", proxy.paths());
    assert_eq!(origin.requests(), 6);

    // `*` is every host, an IP address too, as curl reads it.
    let by_ip = format!("http://127.0.0.1:{}/by-ip", origin.port());
    let (record, _) = one(&["--no-robots", "-x", &x, "--noproxy", "*"], &by_ip);
    assert_eq!(record["title"], "origin /by-ip", "{record}");
    assert_eq!(proxy.requests(), 3, "bypassed: {:?}", proxy.paths());
}

#[test]
fn requests_go_through_a_socks5h_proxy_that_resolves_their_names() {
    let origin = site();
    let socks = Socks::start(origin.addr());
    let x = format!("socks5h://127.0.0.1:{}", socks.addr.port());
    for mode in MODES {
        let url = format!("http://blog.example:{}/socks-{mode}", origin.port());
        let (record, _) = one(&["--mode", mode, "--no-robots", "-x", &x], &url);
        assert_eq!(
            record["title"],
            format!("origin /socks-{mode}"),
            "{mode}: {record}"
        );
    }
    assert_eq!(socks.asked(), ["blog.example", "blog.example"]);
    assert_eq!(origin.paths(), ["/socks-multi", "/socks-async"]);
}

/// A public page (a name pinned with --resolve, so its spelling decides) links to a name that
/// resolves to a private address here: through a proxy, which would resolve it itself, the
/// guard looks the name up and refuses it, and the proxy is never asked for it.
#[cfg(debug_assertions)]
#[test]
fn through_a_proxy_the_guard_judges_the_target_not_the_proxy() {
    let origin = Server::start(|req: &Request, _| match req.path.as_str() {
        "/robots.txt" => Response::status(404),
        "/" => page(
            "public",
            &[&format!("http://intranet.example:{}/secret", req.port())],
        ),
        _ => page("INTERNAL SECRET", &[]),
    });
    let proxy = proxy::http(origin.addr());
    let socks = Socks::start(origin.addr());
    let dns = ("CRAWL_TEST_DNS", "intranet.example=10.1.2.3");
    let line = format!("http://blog.example:{}/", origin.port());
    let xs = [
        format!("http://127.0.0.1:{}", proxy.port()),
        format!("socks5h://127.0.0.1:{}", socks.addr.port()),
    ];
    for x in &xs {
        for mode in MODES {
            let args = [
                "--mode",
                mode,
                "-q",
                "--depth",
                "1",
                "--all-hosts",
                "-x",
                x,
                "--resolve=blog.example:127.0.0.1",
                "-",
            ];
            let run = crawl_with(&args, &line, &[dns]);
            assert_eq!(run.code(), 0, "{}", run.stderr);
            let records = run.records();
            assert_eq!(records.len(), 2, "{x} {mode}: {}", run.stdout);
            let secret = &records.iter().find(|r| r["depth"] == 1).unwrap();
            assert_eq!(secret["error"]["kind"], "blocked", "{x} {mode}: {secret}");
            let message = secret["error"]["message"].as_str().unwrap();
            assert!(message.contains("10.1.2.3"), "{x} {mode}: {message}");
        }
    }
    assert!(
        !proxy.paths().iter().any(|p| p.contains("intranet")),
        "{:?}",
        proxy.paths()
    );
    assert!(
        !socks.asked().iter().any(|h| h.contains("intranet")),
        "{:?}",
        socks.asked()
    );
    assert!(
        !origin.paths().iter().any(|p| p.contains("secret")),
        "{:?}",
        origin.paths()
    );
}

#[test]
fn the_proxy_variables_are_honoured_and_noproxy_overrides_no_proxy() {
    let origin = site();
    let proxy = proxy::http(origin.addr());
    let via = format!("http://127.0.0.1:{}", proxy.port());
    let url = |path: &str| format!("http://blog.example:{}{path}", origin.port());
    let pin = "--resolve=blog.example:127.0.0.1";
    let run_with = |env: &[(&str, &str)], extra: &[&str], path: &str| {
        let args = [&["-q", "--no-robots", pin][..], extra, &["-"]].concat();
        let run = crawl_with(&args, &url(path), env);
        assert_eq!(run.code(), 0, "{}", run.stderr);
        run.records()[0]["title"].clone()
    };
    let env = [("HTTP_PROXY", via.as_str()), ("NO_PROXY", "")];
    assert_eq!(run_with(&env, &[], "/env"), "origin /env");
    assert_eq!(proxy.paths(), [url("/env")]);
    // --noproxy replaces NO_PROXY: it bypasses the proxy where NO_PROXY did not, and a
    // NO_PROXY that named the host no longer does.
    assert_eq!(
        run_with(&env, &["--noproxy", "blog.example"], "/direct"),
        "origin /direct"
    );
    let named = [("HTTP_PROXY", via.as_str()), ("NO_PROXY", "blog.example")];
    assert_eq!(run_with(&named, &[], "/named"), "origin /named");
    assert_eq!(
        run_with(&named, &["--noproxy", "other.example"], "/again"),
        "origin /again"
    );
    assert_eq!(proxy.paths(), [url("/env"), url("/again")]);
    // An https-only variable leaves http URLs alone.
    let https_only = [("HTTPS_PROXY", via.as_str())];
    assert_eq!(run_with(&https_only, &[], "/plain"), "origin /plain");
    assert_eq!(proxy.requests(), 2);
}

#[test]
fn an_http2_exchange_is_archived_as_http2_on_both_sides() {
    let server = TlsServer::start(tls_page);
    let cert = cert_file(&server);
    let dir = tempfile::tempdir().unwrap();
    let warc = dir.path().join("h2.warc");
    let args = ["--no-robots", "--cacert", cert.path().to_str().unwrap()];
    let args = [&args[..], &["--warc", warc.to_str().unwrap()]].concat();
    let (record, _) = one(&args, &server.url("/w"));
    assert_eq!(record["http_version"], "2", "{record}");
    let archive = String::from_utf8_lossy(&std::fs::read(&warc).unwrap()).into_owned();
    assert!(archive.contains("\r\n\r\nGET /w HTTP/2\r\n"), "{archive}");
    assert!(archive.contains("\r\n\r\nHTTP/2 200 "), "{archive}");
}

/// The same, spelled with a trailing dot (`intranet.example.`): the system resolver may not
/// answer for such a spelling (glibc does not, for a hosts-file name), which must not make it
/// public; the guard looks it up as the name it is, without the dot.
#[cfg(debug_assertions)]
#[test]
fn through_a_proxy_a_trailing_dot_does_not_escape_the_guard() {
    let origin = Server::start(|req: &Request, _| match req.path.as_str() {
        "/robots.txt" => Response::status(404),
        "/" => page(
            "public",
            &[&format!("http://intranet.example.:{}/secret", req.port())],
        ),
        _ => page("INTERNAL SECRET", &[]),
    });
    let proxy = proxy::http(origin.addr());
    let dns = ("CRAWL_TEST_DNS", "intranet.example=10.1.2.3");
    let line = format!("http://blog.example:{}/", origin.port());
    let x = format!("http://127.0.0.1:{}", proxy.port());
    for mode in MODES {
        let args = [
            "--mode",
            mode,
            "-q",
            "--depth",
            "1",
            "--all-hosts",
            "-x",
            &x,
            "--resolve=blog.example:127.0.0.1",
            "-",
        ];
        let run = crawl_with(&args, &line, &[dns]);
        assert_eq!(run.code(), 0, "{}", run.stderr);
        let records = run.records();
        assert_eq!(records.len(), 2, "{mode}: {}", run.stdout);
        let secret = &records.iter().find(|r| r["depth"] == 1).unwrap();
        assert_eq!(secret["error"]["kind"], "blocked", "{mode}: {secret}");
    }
    assert!(
        !proxy.paths().iter().any(|p| p.contains("intranet")),
        "{:?}",
        proxy.paths()
    );
}
