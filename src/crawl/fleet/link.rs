//! One worker's connections to the job's Redis, which ride out an outage for up to the lease:
//! a call that fails for the network or a restarting server is tried again on a new connection,
//! with backoff, and only then does the worker give up on Redis, once, for every thread.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use redis::{Client, Connection, RedisError, RedisResult, RetryMethod};

use crate::crawl::lock;
use crate::stop::Stop;

/// How long one connect, read or write may take before the call counts as failed.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The first wait before a failed call is tried again; it doubles up to MAX_BACKOFF.
const BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Why this worker gave up on Redis; every later call fails at once with it.
#[derive(Debug, Clone)]
pub struct Fault {
    pub why: String,
    /// The job is still in Redis, or will be once it is back: starting the workers again
    /// continues it.
    pub kept: bool,
}

pub struct Link {
    client: Client,
    /// Where the user said Redis is, for messages.
    pub address: String,
    /// Idle connections, so that threads calling at once do not queue on one.
    idle: Mutex<Vec<Connection>>,
    /// How long calls are retried before the worker gives up.
    patience: Duration,
    fault: OnceLock<Fault>,
    stop: Stop,
}

impl Link {
    /// Connects once, so that a Redis that is not there is reported before anything starts.
    pub fn open(address: &str, patience: Duration, stop: Stop) -> Result<Link, String> {
        let client = Client::open(address).map_err(|e| e.to_string())?;
        let link = Link {
            client,
            address: address.to_string(),
            idle: Mutex::new(Vec::new()),
            patience,
            fault: OnceLock::new(),
            stop,
        };
        let mut conn = link.connect().map_err(|e| e.to_string())?;
        redis::cmd("PING")
            .query::<String>(&mut conn)
            .map_err(|e| e.to_string())?;
        lock(&link.idle).push(conn);
        Ok(link)
    }

    fn connect(&self) -> RedisResult<Connection> {
        let conn = self.client.get_connection_with_timeout(IO_TIMEOUT)?;
        conn.set_read_timeout(Some(IO_TIMEOUT))?;
        conn.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(conn)
    }

    /// Why the worker gave up on Redis, if it has.
    pub fn fault(&self) -> Option<&Fault> {
        self.fault.get()
    }

    /// Runs `call` on a connection. Every call must be safe to repeat, since one that timed out
    /// may have been carried out: the scripts are written so (a URL claimed twice is queued once,
    /// an entry acked twice is counted once).
    pub fn call<T>(
        &self,
        mut call: impl FnMut(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, Fault> {
        let mut since = None;
        let mut backoff = BACKOFF;
        loop {
            if let Some(fault) = self.fault.get() {
                return Err(fault.clone());
            }
            let conn = lock(&self.idle).pop().map_or_else(|| self.connect(), Ok);
            let error = match conn {
                Ok(mut conn) => match call(&mut conn) {
                    Ok(value) => {
                        lock(&self.idle).push(conn);
                        return Ok(value);
                    }
                    Err(e) => e,
                },
                Err(e) => e,
            };
            if !passing(&error) {
                let why = format!("Redis at {} answered: {error}", self.address);
                return Err(self.give_up(why, true));
            }
            let since = *since.get_or_insert_with(Instant::now);
            if since.elapsed() >= self.patience || !self.stop.sleep(backoff) {
                let waited =
                    humantime::format_duration(Duration::from_secs(since.elapsed().as_secs()));
                let why = format!(
                    "lost Redis at {} ({error}), and it did not come back within {waited}",
                    self.address
                );
                return Err(self.give_up(why, true));
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Gives up on Redis for `why`, once: every later call fails with the first reason.
    pub fn give_up(&self, why: String, kept: bool) -> Fault {
        self.fault.get_or_init(|| Fault { why, kept }).clone()
    }
}

/// Whether an error may pass: the network, a server restarting or still loading its data; not
/// a script's error or an answer of the wrong shape, which trying again would only repeat.
fn passing(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || !matches!(error.retry_method(), RetryMethod::NoRetry)
}
