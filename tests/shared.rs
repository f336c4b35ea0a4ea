//! One crawl shared by several `crawl` processes through Redis: together they record what one
//! process would, a worker killed with kill -9 loses nothing, `--delay` holds across them, and a
//! Redis crash ends them cleanly and a restart finishes the job.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::redis::{self, Options};
use support::{bin, crawl, page, wait_until, Response, Server};

/// The tests that start workers run one at a time: on two cores, several crawls at once would
/// stretch fetches past a one-second lease and blur the timing the delay test measures.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The embedded blog, served by `crawl serve` in a process of its own, so that the workers and
/// the reference crawl fetch the same pages from a server none of them runs.
struct Site {
    child: Child,
    base: String,
    // Held open, so that nothing `crawl serve` says later meets a closed pipe.
    _stderr: BufReader<ChildStderr>,
}

impl Site {
    fn serve(pages: u32, latency: &str) -> Site {
        let mut child = bin()
            .args(["serve", "--port", "0", "--pages", &pages.to_string()])
            .args(["--latency", latency])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        // "crawl: serving a blog of N list pages at http://127.0.0.1:PORT/ with ..."
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .trim_end_matches('/')
            .to_string();
        Site {
            child,
            base,
            _stderr: stderr,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A URL file of list pages `from..=to`, the seeds.
    fn lists(&self, dir: &Path, from: u32, to: u32) -> String {
        let text: String = (from..=to)
            .map(|i| self.url(&format!("/list/{i}.html")) + "\n")
            .collect();
        write_file(dir, "seeds.txt", &text)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// One worker: a `crawl` process with its own `-o`, its stderr kept in a log; killed if a test
/// fails while it runs.
struct Worker {
    child: Child,
    name: String,
    out: PathBuf,
    log: PathBuf,
}

impl Worker {
    /// Runs `crawl ARGS -o DIR/NAME.jsonl`, stderr appended to DIR/NAME.log.
    fn start(dir: &Path, name: &str, args: &[&str]) -> Worker {
        let out = dir.join(format!("{name}.jsonl"));
        let log = dir.join(format!("{name}.log"));
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = bin()
            .args(args)
            .arg("-o")
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        Worker {
            child,
            name: name.to_string(),
            out,
            log,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for the exit code, failing the test if the worker is still running after `limit`.
    fn finish(&mut self, limit: Duration) -> i32 {
        let until = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or_else(|| {
                    panic!("worker {} died of {status}:\n{}", self.name, self.stderr())
                });
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                panic!(
                    "worker {} still running after {limit:?}; its stderr:\n{}",
                    self.name,
                    self.stderr()
                );
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Expects exit 0 within `limit`.
    fn succeeds(&mut self, limit: Duration) {
        let code = self.finish(limit);
        assert_eq!(code, 0, "worker {}; stderr:\n{}", self.name, self.stderr());
    }

    /// The whole lines of its output so far.
    fn records(&self) -> Vec<Value> {
        whole_records(&self.out).0
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `n` workers running `crawl ARGS`, named w0, w1, ... in `dir`.
fn start_workers(dir: &Path, n: usize, args: &[&str]) -> Vec<Worker> {
    (0..n)
        .map(|i| Worker::start(dir, &format!("w{i}"), args))
        .collect()
}

/// Waits for every worker to exit 0 within `limit` each, and gives their whole records.
fn finish_all(workers: &mut [Worker], limit: Duration) -> Vec<Value> {
    let mut all = Vec::new();
    for w in workers {
        w.succeeds(limit);
        all.extend(untorn_records(&w.out));
    }
    all
}

/// The whole lines of an output file, each of which must be a JSON record, and whether the file
/// ends with a torn line (one with no newline, as kill -9 may leave).
fn whole_records(path: &Path) -> (Vec<Value>, bool) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let torn = lines.last().is_some_and(|l| !l.ends_with('\n'));
    if torn {
        lines.pop();
    }
    let records = lines
        .iter()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: not a record ({e}): {l}", path.display()))
        })
        .collect();
    (records, torn)
}

fn untorn_records(path: &Path) -> Vec<Value> {
    let (records, torn) = whole_records(path);
    assert!(!torn, "{} ends with a half-written line", path.display());
    records
}

/// url -> depth of a single-process crawl with `args`, which must record each URL once.
fn reference(args: &[&str]) -> BTreeMap<String, u64> {
    let run = crawl(args, "");
    assert_eq!(run.code(), 0, "reference crawl: {}", run.stderr);
    let mut pages = BTreeMap::new();
    for r in run.records() {
        let url = r["url"].as_str().unwrap().to_string();
        let depth = r["depth"].as_u64().unwrap();
        assert!(
            pages.insert(url, depth).is_none(),
            "the reference crawl recorded a URL twice"
        );
    }
    pages
}

/// How many records each URL got, and at which depths.
fn tally(records: &[Value]) -> HashMap<String, Vec<u64>> {
    let mut seen: HashMap<String, Vec<u64>> = HashMap::new();
    for r in records {
        let url = r["url"].as_str().unwrap().to_string();
        seen.entry(url)
            .or_default()
            .push(r["depth"].as_u64().unwrap());
    }
    seen
}

/// Every page of `expected` has a record in `records`, at its depth, and nothing else does.
/// Returns how many records were duplicates.
fn assert_covers(expected: &BTreeMap<String, u64>, records: &[Value]) -> usize {
    let got = tally(records);
    let first = |v: Vec<String>| v.into_iter().take(10).collect::<Vec<_>>();
    let missing: Vec<String> = expected
        .keys()
        .filter(|u| !got.contains_key(*u))
        .cloned()
        .collect();
    let extra: Vec<String> = got
        .keys()
        .filter(|u| !expected.contains_key(*u))
        .cloned()
        .collect();
    let wrong_depth: Vec<String> = got
        .iter()
        .filter_map(|(u, depths)| {
            let want = expected.get(u)?;
            depths
                .iter()
                .any(|d| d != want)
                .then(|| format!("{u}: {depths:?}, one process says {want}"))
        })
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && wrong_depth.is_empty(),
        "{} pages without a record (first: {:?}); {} recorded that one process does not (first: {:?}); {} at another depth (first: {:?})",
        missing.len(),
        first(missing.clone()),
        extra.len(),
        first(extra.clone()),
        wrong_depth.len(),
        first(wrong_depth.clone())
    );
    records.len() - got.len()
}

fn duplicates(records: &[Value]) -> Vec<(String, usize)> {
    let mut twice: Vec<(String, usize)> = tally(records)
        .into_iter()
        .filter(|(_, d)| d.len() > 1)
        .map(|(u, d)| (u, d.len()))
        .collect();
    twice.sort();
    twice
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length, and gethostname writes at most that much.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(rc, 0, "gethostname");
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// `crawl --redis URL --job JOB --status`, parsed.
fn status(redis_url: &str, job: &str) -> Value {
    let run = crawl(&["--redis", redis_url, "--job", job, "--status"], "");
    assert_eq!(run.code(), 0, "--status: {}", run.stderr);
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "--status prints one line: {}",
        run.stdout
    );
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("--status ({e}): {}", run.stdout))
}

#[test]
fn workers_together_record_what_one_process_does() {
    let _one = one_at_a_time();
    let Some(redis) = redis::server() else { return };
    let site = Site::serve(100, "0ms");
    let dir = tempfile::tempdir().unwrap();
    // Two seeds far apart on the pager: 2,113 pages over 15 levels, each at one shortest depth.
    let seeds = write_file(
        dir.path(),
        "seeds.txt",
        &format!(
            "{}\n{}\n",
            site.url("/list/1.html"),
            site.url("/list/50.html")
        ),
    );
    let expected = reference(&["--depth", "20", "-q", &seeds]);
    assert!(expected.len() >= 2000, "only {} pages", expected.len());

    let url = redis.url();
    let args = [
        "--redis",
        &url,
        "--job",
        "whole",
        "--crawlers",
        "4",
        "--depth",
        "20",
    ];
    let mut workers = start_workers(dir.path(), 3, &[&args[..], &[&seeds]].concat());
    let all = finish_all(&mut workers, Duration::from_secs(60));
    assert_covers(&expected, &all);
    assert_eq!(duplicates(&all), vec![], "URLs recorded more than once");
    let shares: Vec<usize> = workers.iter().map(|w| w.records().len()).collect();
    eprintln!("records per worker: {shares:?}");
}

#[test]
fn a_killed_worker_loses_nothing_and_duplicates_no_more_than_it_held() {
    let _one = one_at_a_time();
    let Some(redis) = redis::server() else { return };
    // 223 pages at 100 ms each, 12 at a time: a crawl of about two seconds.
    let site = Site::serve(10, "100ms");
    let dir = tempfile::tempdir().unwrap();
    let seeds = site.lists(dir.path(), 1, 10);
    let expected = reference(&["--depth", "1", "--crawlers", "32", "-q", &seeds]);

    let url = redis.url();
    let args = [
        "--redis",
        &url,
        "--job",
        "kill",
        "--crawlers",
        "4",
        "--depth",
        "1",
        "--lease",
        "1s",
        &seeds,
    ];
    let mut workers = start_workers(dir.path(), 3, &args);
    let mut victim = workers.remove(0);
    wait_until(
        "the first worker's tenth record",
        Duration::from_secs(20),
        || victim.records().len() >= 10,
    );
    let pid = victim.child.id();
    victim.child.kill().unwrap();
    victim.child.wait().unwrap();

    let mut conn = redis.conn();
    let consumer = format!("{}:{pid}", hostname());
    let names: Vec<String> = conn
        .level_streams("kill")
        .iter()
        .flat_map(|s| conn.consumers(s, "crawl"))
        .collect();
    assert!(
        names.contains(&consumer),
        "no consumer {consumer} in group crawl; there are {names:?}"
    );
    let held = conn.pending_for_job("kill", &consumer);
    assert!(
        held > 0,
        "the killed worker held nothing: nothing to reclaim, a test of nothing"
    );

    let mut all = whole_records(&victim.out).0;
    let killed_wrote = all.len();
    all.extend(finish_all(&mut workers, Duration::from_secs(60)));
    let dups = assert_covers(&expected, &all);
    assert!(
        dups <= held,
        "{dups} duplicate records, but the killed worker held only {held} entries: {:?}",
        duplicates(&all)
    );
    assert_eq!(
        conn.pending_for_job("kill", &consumer),
        0,
        "the killed worker's entries are still pending to it"
    );
    eprintln!(
        "killed worker wrote {killed_wrote} records and held {held} entries; {dups} duplicates"
    );
}

#[test]
fn delay_holds_across_workers() {
    let _one = one_at_a_time();
    let Some(redis) = redis::server() else { return };
    let posts: Vec<String> = (1..=11).map(|i| format!("/p/{i}")).collect();
    let server = Server::start(move |req, _| match req.path.as_str() {
        "/" => page(
            "home",
            &posts.iter().map(String::as_str).collect::<Vec<_>>(),
        ),
        "/robots.txt" => Response::new(200, "text/plain", b"User-agent: *\nAllow: /\n".to_vec()),
        p => page(p, &[]),
    });
    let dir = tempfile::tempdir().unwrap();
    let seeds = write_file(dir.path(), "seeds.txt", &(server.url("/") + "\n"));
    let url = redis.url();
    let args = [
        "--redis",
        &url,
        "--job",
        "polite",
        "--crawlers",
        "4",
        "--depth",
        "1",
        "--delay",
        "200ms",
        &seeds,
    ];
    let mut workers = start_workers(dir.path(), 3, &args);
    let all = finish_all(&mut workers, Duration::from_secs(30));
    assert_eq!(all.len(), 12, "one record per page: {:?}", tally(&all));
    assert_eq!(duplicates(&all), vec![]);
    let busy = workers.iter().filter(|w| !w.records().is_empty()).count();
    assert!(
        busy >= 2,
        "only one worker fetched: nothing shared to hold the delay across"
    );

    let mut arrivals = server.arrivals();
    arrivals.sort_by_key(|(_, at)| *at);
    // The server stamps a request once its head is read, a little after the worker started it:
    // two stamps may be closer than the two starts by that much. 20 ms covers it on a loaded
    // two-core machine (seen: up to 4 ms, with both cores busy besides); workers that kept the
    // delay each for itself start within a few ms of each other.
    let slop = Duration::from_millis(20);
    let delay = Duration::from_millis(200);
    let gaps: Vec<(String, Duration)> = arrivals
        .windows(2)
        .map(|w| (w[1].0.clone(), w[1].1 - w[0].1))
        .collect();
    let short: Vec<&(String, Duration)> = gaps.iter().filter(|(_, g)| *g + slop < delay).collect();
    assert!(
        short.is_empty(),
        "requests closer than {delay:?}: {short:?} in {gaps:?}"
    );
    // The slop does not add up: the first and last requests are (n-1) delays apart.
    let span = arrivals.last().unwrap().1 - arrivals[0].1;
    let least = delay * (arrivals.len() as u32 - 1);
    assert!(
        span + slop >= least,
        "{} requests in {span:?}",
        arrivals.len()
    );
}

#[test]
fn redis_killed_mid_crawl_ends_cleanly_and_a_restart_finishes() {
    let _one = one_at_a_time();
    let Some(mut redis) = redis::server_with(Options {
        appendonly: true,
        dir: None,
    }) else {
        return;
    };
    let site = Site::serve(10, "100ms");
    let dir = tempfile::tempdir().unwrap();
    let seeds = site.lists(dir.path(), 1, 10);
    let expected = reference(&["--depth", "1", "--crawlers", "32", "-q", &seeds]);

    let url = redis.url();
    let args = [
        "--redis",
        &url,
        "--job",
        "crash",
        "--crawlers",
        "4",
        "--depth",
        "1",
        "--lease",
        "1s",
        &seeds,
    ];
    let mut workers = start_workers(dir.path(), 3, &args);
    wait_until("30 records", Duration::from_secs(20), || {
        workers.iter().map(|w| w.records().len()).sum::<usize>() >= 30
    });
    redis.kill9();
    for w in &mut workers {
        let code = w.finish(Duration::from_secs(30));
        let stderr = w.stderr();
        assert_eq!(
            code, 1,
            "worker {} after Redis died; stderr:\n{stderr}",
            w.name
        );
        assert!(stderr.contains("--resume"), "worker {}: {stderr}", w.name);
        untorn_records(&w.out);
    }
    let before: usize = workers.iter().map(|w| w.records().len()).sum();
    assert!(
        before < expected.len(),
        "the crawl was over before Redis died"
    );

    redis.restart();
    let seen: i64 = redis.conn().query(&["EXISTS", "crash:seen"]);
    assert_eq!(
        seen, 1,
        "Redis came back without the job: the test's appendonly did not hold"
    );
    let resumed = [&args[..], &["--resume"]].concat();
    let mut workers = start_workers(dir.path(), 3, &resumed);
    let all = finish_all(&mut workers, Duration::from_secs(60));
    let dups = assert_covers(&expected, &all);
    let status = status(&url, "crash");
    assert_eq!(status["complete"], true, "{status}");
    eprintln!(
        "{before} records before Redis died, {} after the restart; {dups} duplicates",
        all.len()
    );
}

#[test]
fn seeding_is_idempotent_and_status_counts_the_records() {
    let _one = one_at_a_time();
    let Some(redis) = redis::server() else { return };
    let server = Server::start(|req, _| match req.path.as_str() {
        "/robots.txt" => Response::new(200, "text/plain", b"User-agent: *\nAllow: /\n".to_vec()),
        "/missing" => Response::status(404),
        p => page(p, &[]),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = (0..29).map(|i| server.url(&format!("/u/{i}"))).collect();
    lines.push(server.url("/missing"));
    let urls = write_file(dir.path(), "urls.txt", &(lines.join("\n") + "\n"));
    let url = redis.url();
    let args = ["--redis", &url, "--job", "seed", "--crawlers", "4", &urls];
    let mut workers = start_workers(dir.path(), 3, &args);
    let all = finish_all(&mut workers, Duration::from_secs(30));
    let got = tally(&all);
    assert_eq!(duplicates(&all), vec![], "URLs recorded more than once");
    let mut recorded: Vec<&String> = got.keys().collect();
    recorded.sort();
    let mut wanted: Vec<&String> = lines.iter().collect();
    wanted.sort();
    assert_eq!(recorded, wanted);
    let mut paths = server.paths();
    paths.sort();
    let robots = paths.iter().filter(|p| *p == "/robots.txt").count();
    assert_eq!(
        robots, 1,
        "robots.txt is fetched by one worker for all: {paths:?}"
    );
    paths.dedup();
    assert_eq!(paths.len(), 31, "each page requested once");
    assert_eq!(
        server.requests(),
        31,
        "each page requested once: {:?}",
        server.paths()
    );

    let status = status(&url, "seed");
    let failed = all.iter().filter(|r| !r["error"].is_null()).count();
    assert_eq!(failed, 1);
    for (field, want) in [
        ("job", Value::from("seed")),
        ("seeded", Value::from(true)),
        ("complete", Value::from(true)),
        ("queued", Value::from(0)),
        ("in_flight", Value::from(0)),
        ("done", Value::from(all.len())),
        ("failed", Value::from(failed)),
        ("skipped", Value::from(0)),
        ("dead", Value::from(0)),
    ] {
        assert_eq!(status[field], want, "{field} in {status}");
    }
    let levels = status["levels"].as_array().expect("levels");
    assert_eq!(levels.len(), 1, "{status}");
    assert_eq!(levels[0]["depth"], 0);
    assert_eq!(levels[0]["done"], all.len());
    assert_eq!(levels[0]["failed"], failed);
}

#[test]
fn unreachable_redis_is_one_line_and_exit_1() {
    let server = Server::start(|req, _| page(&req.path, &[]));
    // A port nobody listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}/0");
    let run = crawl(&["--redis", &url, "--job", "j", "-"], &server.url("/a"));
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert!(
        run.stderr.starts_with("error: cannot reach Redis at"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
    assert_eq!(server.requests(), 0, "nothing is fetched without Redis");
}

#[test]
fn redis_and_job_go_together() {
    let server = Server::start(|req, _| page(&req.path, &[]));
    let input = server.url("/a");
    let redis_url = "redis://127.0.0.1:9/0";
    for (args, names) in [
        (vec!["--redis", redis_url, "-"], "--job"),
        (vec!["--job", "j", "-"], "--redis"),
        (
            vec!["--mode", "single", "--redis", redis_url, "--job", "j", "-"],
            "--redis",
        ),
    ] {
        let run = crawl(&args, &input);
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(names), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
    }
    assert_eq!(server.requests(), 0, "a usage error fetches nothing");
}

#[test]
fn status_of_a_job_nobody_started_is_empty() {
    let _one = one_at_a_time();
    let Some(redis) = redis::server() else { return };
    let status = status(&redis.url(), "nothing");
    assert_eq!(status["seeded"], false, "{status}");
    assert_eq!(status["complete"], false, "{status}");
    assert_eq!(status["done"], 0, "{status}");
}

/// A page that crashes every worker that takes it (a test hook aborts the process on its body)
/// is handed out three times, then recorded as kind `lost` and moved to JOB:dead; the pages
/// that were in flight beside it through the first crashes are recorded as usual, not lost,
/// since a page taken over after two crashes is handed out alone.
#[cfg(debug_assertions)]
#[test]
fn a_page_that_crashes_workers_ends_lost_and_alone() {
    let _one = one_at_a_time();
    let Some(redis) = redis::server() else { return };
    let server = Server::start(|req, _| match req.path.as_str() {
        "/" => page("home", &["/a", "/b", "/poison", "/c", "/d"]),
        "/poison" => Response::html("<title>poison</title><p>CRASH-HERE</p>"),
        p => page(p, &[]),
    });
    let dir = tempfile::tempdir().unwrap();
    let seeds = write_file(dir.path(), "seeds.txt", &(server.url("/") + "\n"));
    let out = dir.path().join("out.jsonl");
    let url = redis.url();
    let args = [
        "--redis", &url, "--job", "poison", "--lease", "300ms", "--depth", "1", "-q", &seeds,
    ];
    let mut crashes = 0;
    loop {
        let status = bin()
            .args(args)
            .arg("-o")
            .arg(&out)
            .env("CRAWL_TEST_CRASH", "CRASH-HERE")
            .stderr(Stdio::null())
            .status()
            .unwrap();
        if status.success() {
            break;
        }
        assert_eq!(status.code(), None, "a crash is a signal, not an exit");
        crashes += 1;
        assert!(crashes <= 3, "the poison page went round more than 3 times");
    }
    assert_eq!(crashes, 3, "handed out 3 times, then given up");
    let records = whole_records(&out).0;
    let kind = |r: &Value| r["error"]["kind"].as_str().map(String::from);
    let path = |r: &Value| r["url"].as_str().unwrap().replace(&server.url(""), "");
    let lost: Vec<String> = records
        .iter()
        .filter(|r| kind(r).as_deref() == Some("lost"))
        .map(path)
        .collect();
    assert_eq!(lost, ["/poison"], "only the poison page is lost");
    for p in ["/", "/a", "/b", "/c", "/d"] {
        assert!(
            records
                .iter()
                .any(|r| path(r) == p && r["status"] == 200 && kind(r).is_none()),
            "{p} has its record: {records:?}"
        );
    }
    let mut conn = redis.conn();
    let dead: Vec<::redis::Value> = conn.query(&["XRANGE", "poison:dead", "-", "+"]);
    assert_eq!(dead.len(), 1, "one job in poison:dead");
    let status = status(&url, "poison");
    assert_eq!(status["complete"], true, "{status}");
    assert_eq!(status["dead"], 1, "{status}");
}

/// --max-pages is one budget for the job: three workers together record exactly that many
/// pages, URL lines included.
#[test]
fn max_pages_is_one_budget_for_all_workers() {
    let _one = one_at_a_time();
    let Some(redis) = redis::server() else { return };
    let site = Site::serve(20, "20ms");
    let dir = tempfile::tempdir().unwrap();
    let seeds = site.lists(dir.path(), 1, 3);
    let url = redis.url();
    let args = [
        "--redis",
        &url,
        "--job",
        "budget",
        "--depth",
        "3",
        "--max-pages",
        "25",
        "-q",
        &seeds,
    ];
    let mut workers = start_workers(dir.path(), 3, &args);
    let all = finish_all(&mut workers, Duration::from_secs(60));
    assert_eq!(duplicates(&all), vec![], "URLs recorded more than once");
    assert_eq!(all.len(), 25, "the budget, across the workers");
    let lines = all.iter().filter(|r| r["depth"] == 0).count();
    assert_eq!(lines, 3, "the URL lines are taken in first");
}

/// A worker whose URL file some worker has queued whole reads none of it: it asks Redis for
/// no line, yet joins the job; a file with one more line is read, and only that line crawled.
#[test]
fn a_url_file_queued_whole_is_not_queued_again() {
    let _one = one_at_a_time();
    let Some(redis) = redis::server() else { return };
    let server = Server::start(|req, _| page(&req.path, &[]));
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..50).map(|i| server.url(&format!("/p/{i}"))).collect();
    let urls = write_file(dir.path(), "urls.txt", &(lines.join("\n") + "\n"));
    let url = redis.url();
    let first = crawl(&["--redis", &url, "--job", "files", "-q", &urls], "");
    assert_eq!(first.code(), 0, "{}", first.stderr);
    assert_eq!(first.records().len(), 50);
    let mut conn = redis.conn();
    let claims = |conn: &mut redis::Conn| -> u64 {
        let info: String = conn.query(&["INFO", "commandstats"]);
        info.lines()
            .find_map(|l| l.strip_prefix("cmdstat_hsetnx:calls="))
            .and_then(|rest| rest.split(',').next()?.parse().ok())
            .unwrap_or(0)
    };
    let before = claims(&mut conn);
    let again = crawl(&["--redis", &url, "--job", "files", "-q", &urls], "");
    assert_eq!(again.code(), 0, "{}", again.stderr);
    assert_eq!(again.records().len(), 0);
    assert_eq!(
        claims(&mut conn),
        before,
        "no line of the same file is claimed again"
    );
    let more = write_file(
        dir.path(),
        "more.txt",
        &(lines.join("\n") + "\n" + &server.url("/new") + "\n"),
    );
    let added = crawl(&["--redis", &url, "--job", "files", "-q", &more], "");
    assert_eq!(added.code(), 0, "{}", added.stderr);
    let urls: Vec<Value> = added.records().iter().map(|r| r["url"].clone()).collect();
    assert_eq!(urls, [Value::from(server.url("/new"))]);
    let pages = server
        .paths()
        .into_iter()
        .filter(|p| p != "/robots.txt")
        .count();
    assert_eq!(pages, 51, "each page fetched once: {:?}", server.paths());
}
