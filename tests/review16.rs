//! Issue #16 review: failing tests for bugs found by breaking --warc and serve --replay by hand.
//! Each states the promise it holds the code to.

mod support;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{bin, crawl, each_case, Response, Server};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// "crawl never appends to someone else's file": a file that is not a WARC is refused (exit 2)
/// and left as it was. These three are taken for a WARC whose last record was torn and are
/// cut to nothing: a .gz download cut short, and a text file that starts with "W" or "WARC/"
/// and has no line end.
#[test]
fn a_file_that_is_not_a_warc_is_never_cut() {
    let server = Server::start(|_, _| Response::html("<title>a</title>"));
    let numbers: String = (0..20_000).map(|i| format!("{i}\n")).collect();
    let partial_download = gzip(numbers.as_bytes())[..20_000].to_vec();
    let bytes_of = |name: &str| -> Vec<u8> {
        match name {
            "download.warc.gz" => partial_download.clone(),
            "w.warc" => b"W".to_vec(),
            _ => b"WARC/ is the format to read about, TODO".to_vec(),
        }
    };
    each_case(["download.warc.gz", "w.warc", "todo.warc"], |name| {
        let bytes = bytes_of(name);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let warc = path.to_str().unwrap();
        let run = crawl(
            &["-", "--no-robots", "-q", "--warc", warc],
            &format!("{}\n", server.url("/")),
        );
        let now = std::fs::read(&path).unwrap();
        assert!(
            now == bytes,
            "{name} was changed ({} bytes before, {} after, starting {:?}); exit {}, {}",
            bytes.len(),
            now.len(),
            String::from_utf8_lossy(&now[..now.len().min(9)]),
            run.code(),
            run.stderr
        );
        assert_eq!(run.code(), 2, "{}", run.stderr);
    });
    assert_eq!(server.requests(), 0, "nothing was fetched");
}

/// "A --warc path that can't be written: exit 2 before anything is fetched", and "nothing
/// hangs": a FIFO with no reader blocks the open forever, before any fetch.
#[test]
fn a_fifo_as_warc_is_a_usage_error_not_a_hang() {
    let server = Server::start(|_, _| Response::html("<title>a</title>"));
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.warc");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut child = bin()
        .args(["-", "--no-robots", "-q", "--warc"])
        .arg(&fifo)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    writeln!(input, "{}", server.url("/")).unwrap();
    drop(input);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let status = status.expect("crawl --warc FIFO still running after 10 s");
    assert_eq!(status.code(), Some(2));
    assert_eq!(server.requests(), 0, "nothing was fetched");
}

/// `--warc /dev/null` crawls everything and then exits 1 ("cannot write WARC file '/dev/null':
/// Invalid argument"): either it is refused up front (exit 2, nothing fetched) or it works.
#[test]
fn warc_to_dev_null_is_refused_up_front_or_works() {
    let server = Server::start(|_, _| Response::html("<title>a</title>"));
    let run = crawl(
        &["-", "--no-robots", "-q", "--warc", "/dev/null"],
        &format!("{}\n", server.url("/")),
    );
    let refused = run.code() == 2 && server.requests() == 0;
    assert!(
        run.code() == 0 || refused,
        "exit {} after {} requests: {}",
        run.code(),
        server.requests(),
        run.stderr
    );
}
