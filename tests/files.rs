//! The user's files: --resume cuts only what crawl wrote, the URL file is never the output, a
//! usage error changes nothing, and a full disk is reported with what it takes to finish.

mod support;

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::process::CommandExt;
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

#[test]
fn the_url_file_is_never_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let (server, urls) = site(dir.path(), 3, small_page);
    let before = std::fs::read(&urls).unwrap();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&urls, &link).unwrap();
    let hard = dir.path().join("hard.txt");
    std::fs::hard_link(&urls, &hard).unwrap();
    let named = |out: &Path| format!("the output file '{}' is the URL file", out.display());
    for out in [&urls, &link, &hard] {
        let ended = crawl(&["-o", s(out), s(&urls)]);
        assert_eq!(ended.code(), Some(2), "{}", ended.stderr);
        ended.one_line(&named(out));
    }
    // `crawl -o FILE - < FILE`
    let mut cmd = support::bin();
    cmd.args(["-o", s(&urls), "-"]);
    let ended = run(cmd, File::open(&urls).unwrap().into(), Stdio::null());
    assert_eq!(ended.code(), Some(2), "{}", ended.stderr);
    ended.one_line(&format!(
        "the output file '{}' is the URL input (stdin)",
        urls.display()
    ));
    // `crawl FILE >> FILE` and `crawl - < FILE >> FILE`
    for (arg, stdin, said) in [
        (
            s(&urls),
            Stdio::null(),
            format!("stdout is the URL file '{}'", urls.display()),
        ),
        (
            "-",
            File::open(&urls).unwrap().into(),
            "stdout is the URL input (stdin)".into(),
        ),
    ] {
        let appended = OpenOptions::new().append(true).open(&urls).unwrap();
        let mut cmd = support::bin();
        cmd.arg(arg);
        let ended = run(cmd, stdin, appended.into());
        assert_eq!(ended.code(), Some(2), "{}", ended.stderr);
        ended.one_line(&said);
    }
    assert!(
        std::fs::read(&urls).unwrap() == before,
        "the URL file changed"
    );
    assert_eq!(server.requests(), 0);

    // Any other file is fine.
    let out = dir.path().join("out.jsonl");
    assert_eq!(
        crawl(&["--no-robots", "-q", "-o", s(&out), s(&urls)]).code(),
        Some(0)
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 3);
}

#[test]
fn a_usage_error_changes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let (server, urls) = site(dir.path(), 3, small_page);
    let stats = dir.path().join("s.json");
    let timeline = dir.path().join("t.svg");
    let out = dir.path().join("out.jsonl");
    let missing = dir.path().join("missing.txt");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "a note\n").unwrap();
    let torn = "{\"url\":\"http://a.example/\"}\n{\"url\":\"http://to";
    let reports = ["--stats", s(&stats), "--timeline", s(&timeline)];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-o", s(&out), s(&missing)], "cannot read URL file"),
        (
            vec!["--field", "x=a", "--field", "x=b", "-o", s(&out), s(&urls)],
            "--field x is given more than once",
        ),
        (vec!["-o", s(&urls), s(&urls)], "is the URL file"),
        (
            vec!["--resume", "-o", s(&notes), s(&urls)],
            "is not a crawl record",
        ),
        // Checked before the torn record is cut.
        (
            vec![
                "--resume",
                "-o",
                s(&out),
                "--field",
                "y=a",
                "--field",
                "y=b",
                s(&urls),
            ],
            "--field y",
        ),
        (
            vec!["--resume", "-o", s(&out), "--timeline", "/", s(&urls)],
            "cannot write '/'",
        ),
    ];
    for (args, said) in cases {
        std::fs::write(&stats, "keep\n").unwrap();
        let _ = std::fs::remove_file(&timeline);
        let resumes = args.contains(&"--resume") && args.contains(&s(&out));
        match resumes {
            true => std::fs::write(&out, torn).unwrap(),
            false => drop(std::fs::remove_file(&out)),
        }
        let with_reports = match args.contains(&"--timeline") {
            true => ["--stats", s(&stats)].to_vec(),
            false => reports.to_vec(),
        };
        let ended = crawl(&[&with_reports[..], &args[..]].concat());
        assert_eq!(ended.code(), Some(2), "{args:?}: {}", ended.stderr);
        ended.one_line(said);
        assert_eq!(
            std::fs::read_to_string(&stats).unwrap(),
            "keep\n",
            "{args:?}"
        );
        assert!(!timeline.exists(), "{args:?}: --timeline was created");
        match resumes {
            true => assert_eq!(std::fs::read_to_string(&out).unwrap(), torn, "{args:?}"),
            false => assert!(!out.exists(), "{args:?}: -o was created"),
        }
        assert_eq!(std::fs::read_to_string(&notes).unwrap(), "a note\n");
    }
    assert_eq!(server.requests(), 0);

    // A good run writes them at the end.
    let ended = crawl(&[&reports[..], &["--no-robots", "-q", s(&urls)]].concat());
    assert_eq!(ended.code(), Some(0), "{}", ended.stderr);
    let figures: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(figures["pages"], 3);
    assert!(std::fs::read_to_string(&timeline).unwrap().contains("<svg"));
}

/// A page whose record takes about 4 KB, so a few dozen fill a small disk.
fn big_page(path: &str) -> String {
    let links: String = (0..40)
        .map(|i| {
            format!(
                "<a href=/post/{i}-a-long-slug-for-a-long-post>A post with a long title {i}</a>"
            )
        })
        .collect();
    format!("<title>{path}</title>{links}")
}

/// What makes the writes of records fail.
enum Limit {
    /// The output is on a small tmpfs.
    Tmpfs,
    /// A file-size limit on the process: writes past it fail with EFBIG.
    FileSize(u64),
}

/// Unmounts a tmpfs when the test ends, whether it passed or not.
struct Mounted(PathBuf);

impl Mounted {
    fn new(dir: &Path, size: &str) -> Option<Mounted> {
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                s(dir),
            ])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| Mounted(dir.to_path_buf()))
    }

    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}"), s(&self.0)])
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn fill_up(limit: Limit, out_dir: &Path, dir: &Path, after: impl FnOnce()) {
    let n = 100;
    let (server, urls) = site(dir, n, big_page);
    let out = out_dir.join("out.jsonl");
    let stats = dir.join("s.json");
    let timeline = dir.join("t.svg");
    let mut cmd = support::bin();
    cmd.args([
        "--no-robots",
        "--crawlers",
        "4",
        "-o",
        s(&out),
        "--stats",
        s(&stats),
    ]);
    // An earlier report on the disk that fills up: a later one that does not fit leaves it be.
    let kept = out_dir.join("kept.json");
    std::fs::write(&kept, "keep\n").unwrap();
    let (errno, name) = match limit {
        Limit::Tmpfs => {
            cmd.args(["--timeline", s(&timeline)]);
            ("(os error 28)", "tmpfs")
        }
        Limit::FileSize(bytes) => {
            // SAFETY: setrlimit and signal are async-signal-safe, as pre_exec requires.
            unsafe {
                cmd.pre_exec(move || {
                    let rl = libc::rlimit {
                        rlim_cur: bytes,
                        rlim_max: bytes,
                    };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &rl) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    // SIGXFSZ at its default, which kills the writer, as `ulimit -f` leaves it:
                    // crawl must ignore it itself for the write to fail instead.
                    libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
                    Ok(())
                });
            }
            ("(os error 27)", "file size limit")
        }
    };
    cmd.arg(&urls);
    let ended = run(cmd, Stdio::null(), Stdio::null());
    let stderr = &ended.stderr;
    assert_eq!(ended.code(), Some(1), "{name}: {stderr}");
    let text = std::fs::read(&out).unwrap();
    let whole = text.iter().filter(|&&b| b == b'\n').count();
    assert!(0 < whole && whole < n, "{name}: {whole} records fit");
    let mut lines = stderr.lines();
    let error = lines.next().unwrap();
    assert!(
        error.starts_with(&format!(
            "error: cannot write records to '{}': ",
            out.display()
        )) && error.ends_with(errno),
        "{name}: {stderr}"
    );
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "crawl: {whole} records were written; crawl --resume -o {}, with the same URLs and \
             options, will finish the crawl",
            out.display(),
        ),
        "{name}: {stderr}"
    );
    let summary = lines.next().unwrap();
    assert!(
        summary.starts_with("crawl: multi mode, 4 crawlers")
            && summary.ends_with("; stopped: records could not be written"),
        "{name}: {stderr}"
    );
    let figures: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert!(
        figures["pages"].as_u64().unwrap() >= whole as u64,
        "{name}: {figures}"
    );
    if let Limit::Tmpfs = limit {
        assert!(std::fs::read_to_string(&timeline).unwrap().contains("<svg"));
        let again = crawl(&["--no-robots", "-q", "--stats", s(&kept), s(&urls)]);
        assert_eq!(again.code(), Some(1), "{name}: {}", again.stderr);
        again.one_line(&format!("error: cannot write '{}'", kept.display()));
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), "keep\n", "{name}");
    }

    // With room again, --resume finishes the crawl: one record per URL line.
    after();
    let ended = crawl(&["--no-robots", "-q", "--resume", "-o", s(&out), s(&urls)]);
    assert_eq!(ended.code(), Some(0), "{name}: {}", ended.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut got: Vec<String> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}"));
            v["url"].as_str().unwrap().to_string()
        })
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..n).map(|i| server.url(&format!("/page/{i}"))).collect();
    want.sort();
    assert_eq!(got, want, "{name}");
}

#[test]
fn a_full_disk_is_reported_with_the_records_written_and_how_to_finish() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    match Mounted::new(&disk, "64k") {
        Some(mounted) => fill_up(Limit::Tmpfs, &disk, dir.path(), || mounted.resize("8m")),
        None => eprintln!("cannot mount a tmpfs here: only the file-size limit is tried"),
    }
}

#[test]
fn a_write_that_fails_past_a_file_size_limit_is_reported_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    fill_up(Limit::FileSize(64 * 1024), &out_dir, dir.path(), || {});
}

#[test]
fn stats_and_timeline_never_overwrite_the_url_file_the_output_or_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, urls) = site(dir.path(), 2, small_page);
    let out = dir.path().join("out.jsonl");
    std::fs::write(&out, "").unwrap();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&urls, &link).unwrap();
    let t = dir.path().join("t.svg");
    let not_yet = dir.path().join("new.jsonl");
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(&not_yet, &dangling).unwrap();
    let dot = format!("{}/./new.jsonl", s(dir.path()));
    for (args, said) in [
        // An output not created yet, spelled another way or reached through a link.
        (
            vec!["--stats", &dot, "-o", s(&not_yet), s(&urls)],
            "the output file",
        ),
        (
            vec!["--timeline", s(&dangling), "-o", s(&not_yet), s(&urls)],
            "the output file",
        ),
        (vec!["--stats", s(&urls), s(&urls)], "--stats"),
        (vec!["--timeline", s(&link), s(&urls)], "--timeline"),
        (
            vec!["--stats", s(&out), "-o", s(&out), s(&urls)],
            "the output file",
        ),
        (
            vec!["--stats", s(&t), "--timeline", s(&t), s(&urls)],
            "the --stats file",
        ),
    ] {
        let before = std::fs::read(&urls).unwrap();
        let ended = crawl(&args);
        assert_eq!(ended.code(), Some(2), "{args:?}: {}", ended.stderr);
        ended.one_line(said);
        assert_eq!(std::fs::read(&urls).unwrap(), before, "{args:?}");
        assert_eq!(std::fs::read(&out).unwrap(), b"", "{args:?}");
        assert!(!t.exists(), "{args:?}");
        assert!(!not_yet.exists(), "{args:?}");
    }
}

#[test]
fn stats_and_timeline_never_overwrite_where_stdout_or_stderr_go() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, urls) = site(dir.path(), 2, small_page);
    let out = dir.path().join("out.jsonl");
    for (flag, target, said) in [
        ("--timeline", s(&out), "stdout's file"),
        ("--stats", "/dev/stdout", "stdout's file"),
        ("--stats", "/dev/stderr", "stderr's file"),
    ] {
        std::fs::write(&out, "PREVIOUS RECORD LINE\n").unwrap();
        let mut cmd = support::bin();
        cmd.args(["-q", flag, target, s(&urls)]);
        let file = || Stdio::from(OpenOptions::new().append(true).open(&out).unwrap());
        let ended = match said {
            // stderr into the file too: the message is then read back from it.
            "stderr's file" => run_with_stderr(cmd, file()),
            _ => run(cmd, Stdio::null(), file()),
        };
        assert_eq!(ended.code(), Some(2), "{flag} {target}: {}", ended.stderr);
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(
            text.starts_with("PREVIOUS RECORD LINE\n"),
            "{flag} {target}: {text}"
        );
        assert!(
            ended.stderr.contains(said) || text.contains(said),
            "{flag} {target}: {} {text}",
            ended.stderr
        );
    }
    // Devices hold nothing to lose: both reports may go to /dev/null.
    let ended = crawl(&[
        "-q",
        "--stats",
        "/dev/null",
        "--timeline",
        "/dev/null",
        s(&urls),
    ]);
    assert_eq!(ended.code(), Some(0), "{}", ended.stderr);
}

/// Runs `cmd` with stderr going to `stderr` and stdout discarded.
fn run_with_stderr(mut cmd: Command, stderr: Stdio) -> Ended {
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .status()
        .unwrap();
    Ended {
        status,
        stderr: String::new(),
    }
}
