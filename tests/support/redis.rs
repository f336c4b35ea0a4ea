//! A redis-server of the test's own on a free loopback port, for the shared-crawl tests, and a few
//! queries against it; a machine without redis-server skips those tests loudly, and CI fails them.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How a server is started.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--appendonly yes --appendfsync always`: every write is on disk before Redis answers it,
    /// so a kill -9 and a restart on the same dir loses nothing acknowledged.
    pub appendonly: bool,
    /// Where Redis keeps its files; a fresh temp dir when None.
    pub dir: Option<PathBuf>,
}

/// A running redis-server, killed when dropped.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    options: Options,
    _temp: Option<TempDir>,
}

/// A redis-server with the defaults (no persistence), or None when redis-server is not installed
/// and CI is not set: see `available`.
pub fn server() -> Option<RedisServer> {
    server_with(Options::default())
}

pub fn server_with(options: Options) -> Option<RedisServer> {
    available().then(|| RedisServer::start(options))
}

/// Whether redis-server is on PATH. When it is not, says so loudly on stderr, naming the test,
/// and the caller skips; but under `CI=true` it panics, so CI never passes by skipping.
pub fn available() -> bool {
    match Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => true,
        Err(e) => {
            let test = thread::current().name().unwrap_or("?").to_string();
            let why = format!(
                "redis-server not found on PATH ({e}); install it (Debian: apt-get install redis-server) to run {test}"
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true and {why}");
            }
            eprintln!("\n!!!!! SKIPPED: {why} !!!!!\n");
            false
        }
    }
}

impl RedisServer {
    /// Starts redis-server on a free port and waits until it answers PING.
    pub fn start(options: Options) -> RedisServer {
        let temp = match options.dir {
            Some(_) => None,
            None => Some(tempfile::tempdir().unwrap()),
        };
        let dir = options
            .dir
            .clone()
            .unwrap_or_else(|| temp.as_ref().unwrap().path().to_path_buf());
        // A port found free may be taken again before Redis binds it: try a few.
        for _ in 0..5 {
            let port = free_port();
            let mut server = RedisServer {
                child: None,
                port,
                dir: dir.clone(),
                options: options.clone(),
                _temp: None,
            };
            if server.spawn() {
                server._temp = temp;
                return server;
            }
        }
        panic!(
            "redis-server would not start; see its log in {}",
            dir.display()
        );
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The URL to give `crawl --redis`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The pid of the running redis-server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("redis-server is running").id()
    }

    /// SIGKILL: no shutdown, no final save, as a crash or a power cut would leave it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and dir, with the same options, after `kill9`.
    pub fn restart(&mut self) {
        self.kill9();
        // The kernel may hold the port for a moment after the kill: retry for a while.
        let until = Instant::now() + Duration::from_secs(10);
        while !self.spawn() {
            assert!(
                Instant::now() < until,
                "redis-server would not restart on port {}; see {}",
                self.port,
                self.log().display()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// A new connection.
    pub fn conn(&self) -> Conn {
        Conn::open(self.port).expect("redis-server answers")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    /// Spawns redis-server and waits for its PONG; false if it exited first (its port was taken).
    fn spawn(&mut self) -> bool {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--daemonize", "no", "--dir"])
            .arg(&self.dir);
        if self.options.appendonly {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .unwrap();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("redis-server runs");
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut conn) = Conn::open(self.port) {
                // While it loads its append-only file, Redis answers -LOADING: not ready yet.
                if conn
                    .try_query::<String>(&["PING"])
                    .is_ok_and(|pong| pong == "PONG")
                {
                    self.child = Some(child);
                    return true;
                }
            }
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            if Instant::now() > until {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "redis-server did not answer PING in 10 s; see {}",
                    self.log().display()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A connection to the test's server, for reading the job's state in Redis as an operator
/// would: through the `redis` crate, as the crawler itself talks to it.
pub struct Conn(::redis::Connection);

impl Conn {
    pub fn open(port: u16) -> ::redis::RedisResult<Conn> {
        let client = ::redis::Client::open(format!("redis://127.0.0.1:{port}/0"))?;
        let conn = client.get_connection_with_timeout(Duration::from_secs(10))?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Conn(conn))
    }

    /// Sends a command; an error fails the test.
    pub fn query<T: ::redis::FromRedisValue>(&mut self, args: &[&str]) -> T {
        self.try_query(args)
            .unwrap_or_else(|e| panic!("redis {args:?}: {e}"))
    }

    pub fn try_query<T: ::redis::FromRedisValue>(
        &mut self,
        args: &[&str],
    ) -> ::redis::RedisResult<T> {
        let mut cmd = ::redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut self.0)
    }

    /// Keys matching `pattern`, sorted.
    pub fn keys(&mut self, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = self.query(&["KEYS", pattern]);
        keys.sort();
        keys
    }

    /// The level streams of `job` (`JOB:level:D`), shallowest first.
    pub fn level_streams(&mut self, job: &str) -> Vec<String> {
        let prefix = format!("{job}:level:");
        let mut keys: Vec<(u64, String)> = self
            .keys(&format!("{prefix}*"))
            .into_iter()
            .filter_map(|k| Some((k.strip_prefix(&prefix)?.parse().ok()?, k)))
            .collect();
        keys.sort();
        keys.into_iter().map(|(_, k)| k).collect()
    }

    /// The consumer names in `group` of `stream`.
    pub fn consumers(&mut self, stream: &str, group: &str) -> Vec<String> {
        let consumers: Vec<HashMap<String, ::redis::Value>> =
            self.query(&["XINFO", "CONSUMERS", stream, group]);
        consumers
            .iter()
            .map(|c| ::redis::from_redis_value_ref(&c["name"]).expect("a consumer has a name"))
            .collect()
    }

    /// Entries of `stream` delivered to `consumer` of `group` and not acknowledged.
    pub fn pending(&mut self, stream: &str, group: &str, consumer: &str) -> usize {
        let entries: Vec<::redis::Value> =
            self.query(&["XPENDING", stream, group, "-", "+", "1000000", consumer]);
        entries.len()
    }

    /// Entries delivered to `consumer` in group `crawl` and not acknowledged, over every level
    /// of `job`.
    pub fn pending_for_job(&mut self, job: &str, consumer: &str) -> usize {
        self.level_streams(job)
            .iter()
            .map(|s| self.pending(s, "crawl", consumer))
            .sum()
    }
}
