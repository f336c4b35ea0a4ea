//! Issue #16 review: failing tests for bugs found by breaking --warc and serve --replay by hand.
//! Each states the promise it holds the code to.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use support::{bin, crawl, page, Response, Server};

/// `crawl serve --replay PATH --port 0`, once it listens: the child and its address.
fn serve(path: &Path) -> (Child, String) {
    let mut child = bin()
        .args(["serve", "--replay"])
        .arg(path)
        .args(["--port", "0", "--timing", "none"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    assert!(stderr.read_line(&mut first).unwrap() > 0, "serve ended");
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the first line names the address")
        .to_string();
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, addr)
}

/// A link with a fragment: the fragment never reaches the server, yet the archive keeps it in
/// WARC-Target-URI (`http://HOST/p#frag`), so the replay indexes the page under a URL no
/// request can name, and the crawl of the replay gets a 404 where the recording had a 200.
#[test]
fn a_page_linked_with_a_fragment_is_archived_without_it_and_replays() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/" => page("home", &["/p#frag"]),
        "/p" => Response::html("<title>p</title>"),
        _ => Response::status(404),
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
    let recorded = run.records();
    let p = recorded
        .iter()
        .find(|r| r["url"] == server.url("/p"))
        .unwrap();
    assert_eq!(p["status"], 200);

    let text = String::from_utf8_lossy(&std::fs::read(&warc).unwrap()).into_owned();
    let with_fragment: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("WARC-Target-URI:") && l.contains('#'))
        .collect();

    let (mut child, addr) = serve(&warc);
    let again = crawl(&[&args[..], &["--from-replay", &addr]].concat(), &seed);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(again.code(), 0, "{}", again.stderr);
    let replayed = again.records();
    let p = replayed
        .iter()
        .find(|r| r["url"] == server.url("/p"))
        .unwrap();
    assert_eq!(p["status"], 200, "replayed: {p}");
    assert_eq!(with_fragment, Vec::<&str>::new(), "a fragment is not sent");
}
