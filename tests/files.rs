//! The user's files: --resume cuts only what crawl wrote, the URL file is never the output, a
//! usage error changes nothing, and a full disk is reported with what it takes to finish.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Response, Server};

/// The outcome of a run that must end on its own: stderr, and the status.
struct Ended {
    status: ExitStatus,
    stderr: String,
}

impl Ended {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The whole of stderr must be one line that says `expect`.
    fn one_line(&self, expect: &str) {
        assert_eq!(self.stderr.lines().count(), 1, "one line: {}", self.stderr);
        assert!(self.stderr.contains(expect), "{}", self.stderr);
    }
}

/// Runs `cmd` with stdout going to `stdout`; a run that does not end within 20 s is killed and
/// fails the test (the old code read its own output forever).
fn run(mut cmd: Command, stdin: Stdio, stdout: Stdio) -> Ended {
    let mut child = cmd
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not end");
        }
        sleep(Duration::from_millis(10));
    };
    Ended {
        status,
        stderr: reader.join().unwrap(),
    }
}

fn crawl(args: &[&str]) -> Ended {
    let mut cmd = support::bin();
    cmd.args(args);
    run(cmd, Stdio::null(), Stdio::null())
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A server whose pages all answer at once, and a URL file of `n` of them.
fn site(
    dir: &Path,
    n: usize,
    page: impl Fn(&str) -> String + Send + Sync + 'static,
) -> (Server, PathBuf) {
    let server = Server::start(move |req, _| Response::html(page(&req.path)));
    let urls = dir.join("urls.txt");
    let text: String = (0..n)
        .map(|i| server.url(&format!("/page/{i}")) + "\n")
        .collect();
    std::fs::write(&urls, text).unwrap();
    (server, urls)
}

fn small_page(path: &str) -> String {
    format!("<title>{path}</title>")
}

/// Bytes that are no text at all, the same on every run.
fn binary(len: usize) -> Vec<u8> {
    let mut x: u32 = 12345;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

#[test]
fn resume_refuses_a_file_crawl_did_not_write_and_leaves_it_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (server, urls) = site(dir.path(), 3, small_page);
    let record = "{\"url\":\"http://a.example/\",\"status\":200,\"depth\":0,\"error\":null}\n";
    let cases: Vec<(&str, Vec<u8>, usize)> = vec![
        (
            "notes.txt",
            b"first note\nsecond note\nthird note".to_vec(),
            1,
        ),
        // Records first, so the line named is not always the first.
        (
            "mixed.txt",
            format!("{record}{record}a note\n{record}").into_bytes(),
            3,
        ),
        (
            "torn.txt",
            format!("{record}{record}a note with no newline").into_bytes(),
            3,
        ),
        ("blank.txt", format!("{record}\n{record}").into_bytes(), 2),
        ("data.bin", binary(64 * 1024), 1),
    ];
    for (name, bytes, line) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let ended = crawl(&["--resume", "-o", s(&path), s(&urls)]);
        assert_eq!(ended.code(), Some(2), "{name}: {}", ended.stderr);
        ended.one_line(&format!(
            "cannot resume: line {line} of '{}' is not a crawl record; nothing was changed",
            path.display()
        ));
        assert!(std::fs::read(&path).unwrap() == bytes, "{name} changed");
    }
    assert_eq!(server.requests(), 0);
}

#[test]
fn resume_cuts_a_torn_record_however_short_and_passes_over_one_a_later_run_ended() {
    let dir = tempfile::tempdir().unwrap();
    let (server, urls) = site(dir.path(), 4, small_page);
    let out = dir.path().join("out.jsonl");
    let mut all: Vec<String> = (0..4).map(|i| server.url(&format!("/page/{i}"))).collect();
    all.sort();
    let args = [
        "--no-robots",
        "-q",
        "--max-pages",
        "2",
        "-o",
        s(&out),
        s(&urls),
    ];
    assert_eq!(crawl(&args).code(), Some(0));
    for torn in ["{", "{\"u", "{\"url\":\"http://torn"] {
        // A torn record that a run without --resume ended with a newline, then a torn last one.
        let mut text = std::fs::read_to_string(&out).unwrap();
        text.push_str("{\"url\":\"http://earlier-tear\n");
        text.push_str(torn);
        std::fs::write(&out, &text).unwrap();
        let ended = crawl(&["--resume", "--no-robots", "-q", "-o", s(&out), s(&urls)]);
        assert_eq!(ended.code(), Some(0), "{torn}: {}", ended.stderr);
        let after = std::fs::read_to_string(&out).unwrap();
        let cut = &text[..text.len() - torn.len()];
        assert!(
            after.starts_with(cut),
            "only the torn record was cut: {after}"
        );
        // The URL lines without a record, and only those, were crawled.
        let mut new = urls_in(&after[cut.len()..]);
        new.sort();
        let mut owed: Vec<String> = all.clone();
        owed.retain(|u| !urls_in(cut).contains(u));
        assert_eq!(new, owed, "{torn}");
    }
    let mut got = urls_in(&std::fs::read_to_string(&out).unwrap());
    got.sort();
    assert_eq!(got, all, "one record per URL line");
    assert_eq!(server.requests(), 4);
}

/// The url of every line that parses as a record.
fn urls_in(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v["url"].as_str().unwrap().to_string())
        .collect()
}
