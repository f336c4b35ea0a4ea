//! A redis-server of the test's own on a free loopback port, for the shared-crawl tests, and a few
//! queries against it; a machine without redis-server skips those tests loudly, and CI fails them.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
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
                    .try_query(&["PING"])
                    .is_ok_and(|v| v == Value::status("PONG"))
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

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Value>>),
}

impl Value {
    pub fn status(s: &str) -> Value {
        Value::Status(s.to_string())
    }

    pub fn int(&self) -> i64 {
        match self {
            Value::Int(n) => *n,
            Value::Bulk(Some(b)) => std::str::from_utf8(b).unwrap().parse().unwrap(),
            other => panic!("not a number: {other:?}"),
        }
    }

    /// A bulk or status string; None for a nil.
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            Value::Status(s) => Some(s.clone()),
            Value::Bulk(None) | Value::Array(None) => None,
            other => panic!("not a string: {other:?}"),
        }
    }

    pub fn items(&self) -> &[Value] {
        match self {
            Value::Array(Some(items)) => items,
            Value::Array(None) => &[],
            other => panic!("not an array: {other:?}"),
        }
    }
}

/// One connection speaking RESP2, enough for the few queries the tests make: the tests read the
/// job's state in Redis as an operator would, independently of the crawler's own client.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    pub fn open(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Conn {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    /// Sends a command; an error reply fails the test.
    pub fn query(&mut self, args: &[&str]) -> Value {
        match self.try_query(args) {
            Ok(Value::Error(e)) => panic!("redis {args:?}: {e}"),
            Ok(v) => v,
            Err(e) => panic!("redis {args:?}: {e}"),
        }
    }

    pub fn try_query(&mut self, args: &[&str]) -> std::io::Result<Value> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out)?;
        self.read_value()
    }

    fn read_value(&mut self) -> std::io::Result<Value> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1);
        let number = || -> std::io::Result<i64> {
            rest.parse()
                .map_err(|_| std::io::Error::other(format!("bad RESP line {line:?}")))
        };
        Ok(match kind {
            "+" => Value::Status(rest.to_string()),
            "-" => Value::Error(rest.to_string()),
            ":" => Value::Int(number()?),
            "$" => match number()? {
                n if n < 0 => Value::Bulk(None),
                n => {
                    let mut body = vec![0; n as usize + 2];
                    std::io::Read::read_exact(&mut self.reader, &mut body)?;
                    body.truncate(n as usize);
                    Value::Bulk(Some(body))
                }
            },
            "*" => match number()? {
                n if n < 0 => Value::Array(None),
                n => Value::Array(Some(
                    (0..n)
                        .map(|_| self.read_value())
                        .collect::<Result<_, _>>()?,
                )),
            },
            _ => return Err(std::io::Error::other(format!("bad RESP line {line:?}"))),
        })
    }

    /// Keys matching `pattern`, sorted.
    pub fn keys(&mut self, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .query(&["KEYS", pattern])
            .items()
            .iter()
            .filter_map(Value::text)
            .collect();
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
        self.query(&["XINFO", "CONSUMERS", stream, group])
            .items()
            .iter()
            .map(|c| {
                // Each consumer is a flat list of field, value pairs.
                let fields = c.items();
                let at = fields
                    .iter()
                    .position(|f| f.text().as_deref() == Some("name"))
                    .expect("a consumer has a name");
                fields[at + 1].text().unwrap()
            })
            .collect()
    }

    /// Entries of `stream` delivered to `consumer` of `group` and not acknowledged.
    pub fn pending(&mut self, stream: &str, group: &str, consumer: &str) -> usize {
        self.query(&["XPENDING", stream, group, "-", "+", "1000000", consumer])
            .items()
            .len()
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
