//! --warc, read back by an independent reader (the `warc` crate): record types and order,
//! request/response pairs, digests recomputed, gzip members, truncation, and the file rules.

mod support;

use std::collections::BTreeSet;
use std::io::{BufReader, Read};
use std::path::Path;

use sha1::{Digest, Sha1};
use support::{crawl, each_case, Response, Server};
use warc::{RecordType, WarcHeader, WarcReader};

/// One record as the reader gave it.
#[derive(Debug, Clone)]
struct Rec {
    kind: RecordType,
    id: String,
    uri: Option<String>,
    concurrent: Option<String>,
    block_digest: Option<String>,
    payload_digest: Option<String>,
    truncated: Option<String>,
    ip: Option<String>,
    body: Vec<u8>,
}

fn sha1(bytes: &[u8]) -> String {
    format!(
        "sha1:{}",
        data_encoding::BASE32.encode(&Sha1::digest(bytes))
    )
}

fn read(path: &Path) -> Vec<Rec> {
    let header = |r: &warc::Record<warc::BufferedBody>, h| r.header(h).map(|v| v.into_owned());
    let convert = |r: warc::Record<warc::BufferedBody>| Rec {
        kind: r.warc_type().clone(),
        id: r.warc_id().to_string(),
        uri: header(&r, WarcHeader::TargetURI),
        concurrent: header(&r, WarcHeader::ConcurrentTo),
        block_digest: header(&r, WarcHeader::BlockDigest),
        payload_digest: header(&r, WarcHeader::PayloadDigest),
        truncated: header(&r, WarcHeader::Truncated),
        ip: header(&r, WarcHeader::IPAddress),
        body: r.body().to_vec(),
    };
    // The crate's own from_path opens files in a way Linux refuses, hence the readers here.
    let file = std::fs::File::open(path).unwrap();
    let records: Result<Vec<Rec>, _> = if path.extension().is_some_and(|e| e == "gz") {
        let unzipped = BufReader::new(flate2::read::MultiGzDecoder::new(file));
        let reader = WarcReader::new(unzipped);
        reader.iter_records().map(|r| r.map(convert)).collect()
    } else {
        let reader = WarcReader::new(BufReader::new(file));
        reader.iter_records().map(|r| r.map(convert)).collect()
    };
    records.unwrap_or_else(|e| panic!("{}: not a valid WARC: {e}", path.display()))
}

/// The body of an HTTP message block: what follows the blank line after its head.
fn payload(block: &[u8]) -> &[u8] {
    let at = block
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head");
    &block[at + 4..]
}

fn head(block: &[u8]) -> String {
    String::from_utf8_lossy(&block[..block.len() - payload(block).len()]).into_owned()
}

/// The metadata record's fields.
fn fields(rec: &Rec) -> Vec<(String, String)> {
    String::from_utf8(rec.body.clone())
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn field(rec: &Rec, name: &str) -> Option<String> {
    fields(rec)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Checks the layout and every digest, and gives the exchanges as (request, response,
/// metadata) after the warcinfo records.
fn exchanges(records: &[Rec]) -> Vec<(Rec, Rec, Rec)> {
    assert_eq!(records[0].kind, RecordType::WarcInfo, "warcinfo first");
    let mut out = Vec::new();
    let mut rest = records;
    while !rest.is_empty() {
        if rest[0].kind == RecordType::WarcInfo {
            rest = &rest[1..];
            continue;
        }
        let [req, resp, meta] = &rest[..3] else {
            panic!("an exchange is three records")
        };
        assert_eq!(
            (&req.kind, &resp.kind, &meta.kind),
            (
                &RecordType::Request,
                &RecordType::Response,
                &RecordType::Metadata
            )
        );
        assert_eq!(req.concurrent.as_deref(), Some(resp.id.as_str()));
        assert_eq!(meta.concurrent.as_deref(), Some(resp.id.as_str()));
        assert_eq!(req.uri, resp.uri);
        assert_eq!(meta.uri, resp.uri);
        assert_eq!(resp.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(req.ip.as_deref(), Some("127.0.0.1"));
        for rec in [req, resp, meta] {
            assert_eq!(rec.block_digest.as_deref(), Some(sha1(&rec.body).as_str()));
        }
        let body = payload(&resp.body);
        assert_eq!(resp.payload_digest.as_deref(), Some(sha1(body).as_str()));
        let length = format!("\r\nContent-Length: {}\r\n", body.len());
        assert!(head(&resp.body).contains(&length), "{}", head(&resp.body));
        out.push((req.clone(), resp.clone(), meta.clone()));
        rest = &rest[3..];
    }
    out
}

/// A small site: robots.txt, a home page with links, a redirect chain and a page too large.
fn site() -> Server {
    Server::start(|req, _| match req.path.as_str() {
        "/robots.txt" => Response::new(200, "text/plain", b"User-agent: *\nAllow: /\n".to_vec()),
        "/" => Response::html(
            "<title>home</title><a href=\"/a\">a</a><a href=\"/r1\">r</a><a href=\"/big\">b</a>",
        ),
        "/a" => Response::html("<title>a</title>"),
        "/r1" => Response::status(302).header("Location", "/r2"),
        "/r2" => Response::status(301).header("Location", "/b"),
        "/b" => Response::html("<title>b</title>"),
        "/big" => Response::html(format!("<title>big</title>{}", "x".repeat(5000))),
        _ => Response::status(404),
    })
}

/// What each exchange was, order aside: (URI, status line, purpose, hop, depth).
fn summary(exchanges: &[(Rec, Rec, Rec)]) -> BTreeSet<(String, String, String, String, String)> {
    exchanges
        .iter()
        .map(|(_, resp, meta)| {
            let head = head(&resp.body);
            (
                resp.uri.clone().unwrap(),
                head.lines().next().unwrap().to_string(),
                field(meta, "purpose").unwrap(),
                field(meta, "hop").unwrap(),
                field(meta, "depth").unwrap_or_default(),
            )
        })
        .collect()
}

fn archived(server: &Server, mode: &str, name: &str) -> (tempfile::TempDir, Vec<Rec>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let run = crawl(
        &[
            "-",
            "--mode",
            mode,
            "--depth",
            "1",
            "--max-bytes",
            "2000",
            "--warc",
            path.to_str().unwrap(),
        ],
        &format!("{}\n", server.url("/")),
    );
    assert_eq!(run.code(), 0, "{}", run.stderr);
    assert_eq!(run.records().len(), 4, "{}", run.stdout);
    let records = read(&path);
    (dir, records)
}

#[test]
fn every_exchange_is_archived_with_its_digests_in_every_mode() {
    let server = site();
    let port = server.port();
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    // The harness answers every status with the reason phrase "X": archived as received.
    let want: BTreeSet<_> = [
        ("/robots.txt", "HTTP/1.1 200 X", "robots", "0", ""),
        ("/", "HTTP/1.1 200 X", "page", "0", "0"),
        ("/a", "HTTP/1.1 200 X", "page", "0", "1"),
        ("/r1", "HTTP/1.1 302 X", "page", "0", "1"),
        ("/r2", "HTTP/1.1 301 X", "page", "1", "1"),
        ("/b", "HTTP/1.1 200 X", "page", "2", "1"),
        ("/big", "HTTP/1.1 200 X", "page", "0", "1"),
    ]
    .into_iter()
    .map(|(p, s, purpose, hop, depth)| {
        let t = |s: &str| s.to_string();
        (url(p), t(s), t(purpose), t(hop), t(depth))
    })
    .collect();
    each_case(
        [
            ("single", "a.warc"),
            ("multi", "a.warc"),
            ("async", "a.warc"),
            ("multi", "a.warc.gz"),
            ("async", "a.warc.gz"),
        ],
        |(mode, name)| {
            let (_dir, records) = archived(&server, mode, name);
            let infos = records.iter().filter(|r| r.kind == RecordType::WarcInfo);
            assert_eq!(infos.count(), 1, "one warcinfo per run");
            let exchanges = exchanges(&records);
            assert_eq!(summary(&exchanges), want);
            for (req, resp, meta) in &exchanges {
                let uri = resp.uri.as_deref().unwrap();
                let parent = field(meta, "parent");
                let depth = field(meta, "depth");
                assert_eq!(parent.is_some(), depth.as_deref() == Some("1"), "{uri}");
                assert!(field(meta, "ttfb-ms").unwrap().parse::<f64>().unwrap() >= 0.0);
                assert!(field(meta, "fetch-ms").unwrap().parse::<f64>().unwrap() >= 0.0);
                let request = String::from_utf8(req.body.clone()).unwrap();
                let path = &uri[url("").len()..];
                assert!(
                    request.starts_with(&format!(
                        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    )),
                    "{request}"
                );
                let body = payload(&resp.body);
                if uri.ends_with("/big") {
                    assert_eq!(resp.truncated.as_deref(), Some("length"));
                    assert_eq!(body.len(), 2000, "kept up to --max-bytes");
                } else if uri.ends_with("/r1") || uri.ends_with("/r2") {
                    assert_eq!(resp.truncated, None, "a redirect's body is drained whole");
                    assert!(body.starts_with(b"<title>30"), "{uri}");
                } else {
                    assert_eq!(resp.truncated, None, "{uri}");
                }
            }
            let home = exchanges.iter().find(|(_, r, _)| r.uri == Some(url("/")));
            let (req, resp, _) = home.unwrap();
            assert!(payload(&resp.body).starts_with(b"<title>home</title>"));
            assert!(
                head(&resp.body).contains("content-type: text/html; charset=utf-8\r\n"),
                "{}",
                head(&resp.body)
            );
            // The request record holds what the server received.
            let seen = server
                .requests_seen()
                .into_iter()
                .find(|r| r.path == "/")
                .unwrap();
            let request = String::from_utf8(req.body.clone()).unwrap();
            for name in ["user-agent", "accept", "accept-encoding"] {
                let value = seen.header(name).unwrap();
                assert!(
                    request
                        .to_lowercase()
                        .contains(&format!("\r\n{name}: {value}\r\n")),
                    "{name}: {value} in {request}"
                );
            }
        },
    );
}

#[test]
fn each_gzip_record_is_a_member_that_decodes_alone() {
    let server = site();
    let (dir, records) = archived(&server, "multi", "a.warc.gz");
    let bytes = std::fs::read(dir.path().join("a.warc.gz")).unwrap();
    let mut rest = &bytes[..];
    let mut members = 0;
    while !rest.is_empty() {
        let mut member = flate2::bufread::GzDecoder::new(rest);
        let mut text = Vec::new();
        member.read_to_end(&mut text).unwrap();
        rest = member.into_inner();
        assert!(text.starts_with(b"WARC/1.1\r\n"));
        // Exactly one record: its header says how long its block is.
        let headers = head(&text);
        let length: usize = headers
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(text.len(), headers.len() + length + 4);
        members += 1;
    }
    assert_eq!(members, records.len());
}

#[test]
fn a_redirect_chains_hops_share_the_fetchs_depth_and_parent() {
    let server = site();
    let (_dir, records) = archived(&server, "multi", "a.warc");
    let hops: Vec<_> = exchanges(&records)
        .into_iter()
        .filter(|(_, r, _)| {
            let uri = r.uri.as_deref().unwrap();
            uri.ends_with("/r1") || uri.ends_with("/r2") || uri.ends_with("/b")
        })
        .collect();
    let seen: Vec<_> = hops
        .iter()
        .map(|(_, _, m)| {
            (
                field(m, "hop").unwrap(),
                field(m, "parent").unwrap(),
                field(m, "depth").unwrap(),
            )
        })
        .collect();
    let parent = server.url("/");
    let want: Vec<_> = ["0", "1", "2"]
        .map(|hop| (hop.to_string(), parent.clone(), "1".to_string()))
        .to_vec();
    assert_eq!(seen, want, "the hops in order, each with the page's place");
    // The second hop's request carries the Referer crawl sent.
    let second = String::from_utf8(hops[1].0.body.clone()).unwrap();
    assert!(
        second.contains(&format!("\r\nReferer: {}\r\n", server.url("/r1"))),
        "{second}"
    );
}

#[test]
fn a_body_crawl_does_not_read_is_marked_unspecified() {
    let server = site();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.warc");
    let run = crawl(
        &["-", "--no-robots", "--warc", path.to_str().unwrap()],
        &format!("{}\n", server.url("/missing")),
    );
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let exchanges = exchanges(&read(&path));
    assert_eq!(exchanges.len(), 1);
    let (_, resp, _) = &exchanges[0];
    assert!(head(&resp.body).starts_with("HTTP/1.1 404 X\r\n"));
    assert_eq!(resp.truncated.as_deref(), Some("unspecified"));
    assert_eq!(payload(&resp.body), b"");
}

#[test]
fn unusable_warc_paths_are_usage_errors_and_change_nothing() {
    let server = site();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    std::fs::write(path("notes.txt"), "my notes\n").unwrap();
    std::fs::write(path("notes.warc.gz"), "WARC/1.1\r\n").unwrap();
    std::fs::write(path("urls.txt"), format!("{}\n", server.url("/"))).unwrap();
    std::fs::create_dir(path("sub")).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--warc".into(), path("notes.txt")],
            "is not a WARC file",
        ),
        (
            vec!["--warc".into(), path("notes.warc.gz")],
            "is not a WARC file",
        ),
        (vec!["--warc".into(), path("sub")], "is not a regular file"),
        (
            vec!["--warc".into(), path("none/a.warc")],
            "cannot write WARC file",
        ),
        (vec!["--warc".into(), path("urls.txt")], "is the URL file"),
        (
            vec![
                "--warc".into(),
                path("out.warc"),
                "-o".into(),
                path("out.warc"),
            ],
            "is the output file",
        ),
    ];
    each_case(cases, |(args, message)| {
        let mut all = vec![path("urls.txt")];
        all.extend(args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let run = crawl(&all, "");
        assert_eq!(run.code(), 2, "{}", run.stderr);
        assert!(run.stderr.contains(message), "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    });
    assert_eq!(server.requests(), 0, "nothing was fetched");
    assert_eq!(std::fs::read(path("notes.txt")).unwrap(), b"my notes\n");
    assert_eq!(
        std::fs::read(path("notes.warc.gz")).unwrap(),
        b"WARC/1.1\r\n"
    );
    assert!(!Path::new(&path("out.warc")).exists());
    assert!(!Path::new(&path("none")).exists());
}

/// The length of the first record (its gzip member, in a .gz).
fn first_record(bytes: &[u8]) -> usize {
    if bytes.starts_with(b"WARC/") {
        let end = b"\r\n\r\nWARC/1.1\r\n";
        return bytes.windows(end.len()).position(|w| w == end).unwrap() + 4;
    }
    let mut member = flate2::bufread::GzDecoder::new(bytes);
    std::io::copy(&mut member, &mut std::io::sink()).unwrap();
    bytes.len() - member.into_inner().len()
}

#[test]
fn resume_appends_after_cutting_a_torn_record() {
    let server = site();
    each_case(["a.warc", "a.warc.gz"], |name| {
        let dir = tempfile::tempdir().unwrap();
        let (warc, out) = (dir.path().join(name), dir.path().join("out.jsonl"));
        let (warc, out) = (warc.to_str().unwrap(), out.to_str().unwrap());
        let args = ["-", "--mode", "single", "-o", out, "--warc", warc];
        let run = crawl(&args, &format!("{}\n", server.url("/a")));
        assert_eq!(run.code(), 0, "{}", run.stderr);
        let first = std::fs::read(warc).unwrap();
        assert_eq!(
            exchanges(&read(Path::new(warc))).len(),
            2,
            "robots.txt and /a"
        );
        // A kill in the middle of the next record: half a warcinfo.
        let torn = [&first[..], &first[..first_record(&first) / 2]].concat();
        std::fs::write(warc, &torn).unwrap();
        let lines = format!("{}\n{}\n", server.url("/a"), server.url("/b"));
        let run = crawl(&[&args[..], &["--resume"]].concat(), &lines);
        assert_eq!(run.code(), 0, "{}", run.stderr);
        let now = std::fs::read(warc).unwrap();
        assert_eq!(&now[..first.len()], &first[..], "what was there is kept");
        let records = read(Path::new(warc));
        let infos = records
            .iter()
            .filter(|r| r.kind == RecordType::WarcInfo)
            .count();
        assert_eq!(infos, 2, "each run starts with its warcinfo");
        let uris: Vec<_> = exchanges(&records)
            .into_iter()
            .map(|(_, r, _)| r.uri.unwrap())
            .collect();
        let want = ["/robots.txt", "/a", "/robots.txt", "/b"].map(|p| server.url(p));
        assert_eq!(uris, want);
    });
}

#[test]
fn a_since_recrawl_archives_its_conditional_requests_and_the_304s() {
    let etag = "\"v1\"";
    let server = Server::start(move |req, _| {
        if req.header("if-none-match") == Some(etag) {
            return Response::status(304).header("ETag", etag);
        }
        match req.path.as_str() {
            "/" => Response::html("<title>home</title><a href=\"/a\">a</a>").header("ETag", etag),
            "/a" => Response::html("<title>a</title>").header("ETag", etag),
            _ => Response::status(404),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (first, path) = (
        dir.path().join("first.jsonl"),
        dir.path().join("again.warc"),
    );
    let seed = format!("{}\n", server.url("/"));
    let run = crawl(
        &[
            "-",
            "--no-robots",
            "--depth",
            "1",
            "-o",
            first.to_str().unwrap(),
        ],
        &seed,
    );
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let args = [
        "-",
        "--no-robots",
        "--depth",
        "1",
        "--since",
        first.to_str().unwrap(),
        "--warc",
        path.to_str().unwrap(),
    ];
    let run = crawl(&args, &seed);
    assert_eq!(run.code(), 0, "{}", run.stderr);
    assert!(
        run.records().iter().all(|r| r["unchanged"] == true),
        "{}",
        run.stdout
    );
    let exchanges = exchanges(&read(&path));
    assert_eq!(exchanges.len(), 2);
    for (req, resp, _) in &exchanges {
        let sent = String::from_utf8(req.body.clone()).unwrap();
        assert!(sent.contains("\r\nIf-None-Match: \"v1\"\r\n"), "{sent}");
        assert!(head(&resp.body).starts_with("HTTP/1.1 304 X\r\n"));
        assert_eq!(resp.truncated, None, "a 304 has no body to cut");
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, bytes).unwrap();
    encoder.finish().unwrap()
}

/// A file's bytes, shown by their length when a case fails.
struct Bytes(Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{} bytes", self.0.len())
    }
}

/// One whole record, as any WARC writer would spell it.
const RECORD: &[u8] = b"WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 5\r\n\r\nhello\r\n\r\n";

/// "A user's file is never destroyed": an existing file is appended to only if it is a WARC, and
/// only a record torn at its very end (bytes crawl itself could have written) is ever cut. Each
/// of these was once taken for a torn WARC and cut, or refused with a misleading message.
#[test]
fn a_file_that_is_not_a_warc_is_never_changed() {
    let server = site();
    let numbers: String = (0..20_000).map(|i| format!("{i}\n")).collect();
    let partial_download = gzip(numbers.as_bytes())[..20_000].to_vec();
    let not_warc = "is not a WARC file";
    let damaged = "is damaged";
    let cases: Vec<(&str, Bytes, &str)> = vec![
        ("download.warc.gz", Bytes(partial_download), not_warc),
        ("notes.warc.gz", Bytes(gzip(b"my notes\n")), not_warc),
        ("w.warc", Bytes(b"W".to_vec()), not_warc),
        (
            "todo.warc",
            Bytes(b"WARC/ is the format to read about, TODO".to_vec()),
            not_warc,
        ),
        (
            "lf.warc",
            Bytes(b"WARC/1.1\nsome notes\n".to_vec()),
            not_warc,
        ),
        (
            "header.warc",
            Bytes(b"WARC/1.1\r\nWARC-Type: warcinfo\r\n".to_vec()),
            not_warc,
        ),
        (
            "appended.warc",
            Bytes([RECORD, b"WARC/1.1 notes"].concat()),
            damaged,
        ),
        (
            "trailer.warc",
            Bytes([RECORD, &RECORD[..RECORD.len() - 3], b"X"].concat()),
            damaged,
        ),
        (
            "appended.warc.gz",
            Bytes([&gzip(RECORD)[..], b"hi\n"].concat()),
            damaged,
        ),
        (
            "notes-after.warc.gz",
            Bytes([gzip(RECORD), gzip(b"my notes\n")].concat()),
            damaged,
        ),
    ];
    each_case(cases, |(name, Bytes(bytes), message)| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let run = crawl(
            &["-", "--no-robots", "-q", "--warc", path.to_str().unwrap()],
            &format!("{}\n", server.url("/")),
        );
        let now = std::fs::read(&path).unwrap();
        assert!(
            now == bytes,
            "changed ({} bytes before, {} after); exit {}, {}",
            bytes.len(),
            now.len(),
            run.code(),
            run.stderr
        );
        assert_eq!(run.code(), 2, "{}", run.stderr);
        assert!(run.stderr.contains(message), "{}", run.stderr);
        assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    });
    assert_eq!(server.requests(), 0, "nothing was fetched");
}

/// Runs crawl in `cwd` on one URL of `server` with `args`, stdout and stderr captured, killing it after
/// `limit`: None if it had not ended by then (a FIFO's open waits for a reader forever).
fn crawl_within(
    server: &Server,
    cwd: &Path,
    args: &[&str],
    limit: std::time::Duration,
) -> Option<support::Run> {
    use std::process::Stdio;
    let started = std::time::Instant::now();
    let mut child = support::bin()
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A usage error exits before stdin is read, which may close the pipe before this write.
    let _ = std::io::Write::write_all(&mut input, format!("{}\n", server.url("/")).as_bytes());
    drop(input);
    let output = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).unwrap();
            text
        })
    };
    let stdout = output(Box::new(child.stdout.take().unwrap()));
    let stderr = output(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Some(support::Run {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        elapsed: started.elapsed(),
    })
}

/// The archive must be a regular file (or a path to create one at): a FIFO would block the
/// open forever, /dev/null fails the final sync after the whole crawl, and `-` or /dev/stdout
/// would mix WARC bytes into the records. Each is a usage error before anything is fetched;
/// a symbolic link counts as what it points to.
#[test]
fn a_warc_that_is_not_a_regular_file_is_a_usage_error_before_any_fetch() {
    let server = site();
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let made = std::process::Command::new("mkfifo")
        .arg(at("pipe.warc"))
        .status()
        .unwrap();
    assert!(made.success());
    std::os::unix::fs::symlink(at("pipe.warc"), at("link-to-pipe.warc")).unwrap();
    std::fs::create_dir(at("sub")).unwrap();
    let cases = [
        at("pipe.warc"),
        at("link-to-pipe.warc"),
        at("sub"),
        "/dev/null".to_string(),
        "/dev/stdout".to_string(),
        "-".to_string(),
    ];
    each_case(cases, |warc| {
        let args = ["-", "--no-robots", "-q", "--warc", &warc];
        let run = crawl_within(
            &server,
            dir.path(),
            &args,
            std::time::Duration::from_secs(10),
        )
        .expect("still running after 10 s");
        assert_eq!(run.code(), 2, "{}", run.stderr);
        assert_eq!(
            run.stderr.trim_end(),
            format!("error: --warc '{warc}' is not a regular file: an archive needs one"),
        );
        assert_eq!(run.stdout, "");
    });
    assert_eq!(server.requests(), 0, "nothing was fetched");
    assert!(!dir.path().join("-").exists());

    // A link to a regular file is that file, as for -o.
    std::fs::write(at("real.warc"), b"").unwrap();
    std::os::unix::fs::symlink(at("real.warc"), at("link.warc")).unwrap();
    let link = at("link.warc");
    let run = crawl_within(
        &server,
        dir.path(),
        &["-", "-q", "--warc", &link],
        std::time::Duration::from_secs(30),
    )
    .expect("ended");
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let kinds: Vec<RecordType> = read(Path::new(&at("real.warc")))
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert_eq!(kinds.first(), Some(&RecordType::WarcInfo));
    assert_eq!(
        exchanges(&read(Path::new(&link))).len(),
        2,
        "robots.txt and /"
    );
}

/// Records go to stdout without -o, messages always to stderr; when either is a file, the
/// archive is not that file: WARC bytes mixed into records or messages would spoil both.
#[test]
fn the_file_stdout_or_stderr_goes_to_is_not_the_archive() {
    let server = site();
    let dir = tempfile::tempdir().unwrap();
    each_case(["stdout", "stderr"], |stream| {
        let path = dir.path().join(format!("{stream}.txt"));
        let file = std::fs::File::create(&path).unwrap();
        let other = std::process::Stdio::piped();
        let (stdout, stderr) = match stream {
            "stdout" => (std::process::Stdio::from(file), other),
            _ => (other, std::process::Stdio::from(file)),
        };
        let mut child = support::bin()
            .args(["-", "-q", "--warc", &format!("/dev/{stream}")])
            .stdin(std::process::Stdio::piped())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        // A usage error exits before stdin is read, which may close the pipe before this write.
        let _ = std::io::Write::write_all(&mut input, format!("{}\n", server.url("/")).as_bytes());
        drop(input);
        let out = child.wait_with_output().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let message = match stream {
            "stdout" => String::from_utf8_lossy(&out.stderr).into_owned(),
            _ => text.clone(),
        };
        assert_eq!(out.status.code(), Some(2), "{message}");
        let want = match stream {
            "stdout" => "is stdout's file, where the records go",
            _ => "is stderr's file",
        };
        assert!(message.contains(want), "{message}");
        assert!(!text.contains("WARC/1.1"), "{text}");
    });
    assert_eq!(server.requests(), 0, "nothing was fetched");
}

/// The warcinfo record's command line holds no -H, -b or bare -x secret (found by review).
#[test]
fn the_warcinfo_record_carries_no_header_or_cookie_value() {
    let server = Server::start(|req: &support::Request, _| match req.path.as_str() {
        "/robots.txt" => Response::status(404),
        _ => support::page("p", &[]),
    });
    let dir = tempfile::tempdir().unwrap();
    let warc = dir.path().join("a.warc");
    let args = [
        "-q",
        "-H",
        "Authorization: Bearer TOPSECRET",
        "-b",
        "sid=SESSIONSECRET",
        "--warc",
        warc.to_str().unwrap(),
        "-",
    ];
    let run = crawl(&args, &format!("{}\n", server.url("/p")));
    assert_eq!(run.code(), 0, "{}", run.stderr);
    let archive = String::from_utf8_lossy(&std::fs::read(&warc).unwrap()).into_owned();
    assert!(!archive.contains("TOPSECRET"), "{archive}");
    assert!(!archive.contains("SESSIONSECRET"), "{archive}");
}

#[test]
fn the_warcinfo_record_masks_a_bare_proxy_password() {
    let origin = Server::start(|req: &support::Request, _| match req.path.as_str() {
        "/robots.txt" => Response::status(404),
        _ => support::page("p", &[]),
    });
    let proxy = support::proxy::http(origin.addr());
    let dir = tempfile::tempdir().unwrap();
    let warc = dir.path().join("a.warc");
    let x = format!("user:pa55word@127.0.0.1:{}", proxy.port());
    let args = ["-q", "-x", &x, "--warc", warc.to_str().unwrap(), "-"];
    let run = crawl(&args, &format!("{}\n", origin.url("/p")));
    assert_eq!(run.code(), 0, "{}", run.stderr);
    assert_eq!(run.records()[0]["status"], 200, "{}", run.stdout);
    let archive = String::from_utf8_lossy(&std::fs::read(&warc).unwrap()).into_owned();
    assert!(!archive.contains("pa55word"), "{archive}");
}
