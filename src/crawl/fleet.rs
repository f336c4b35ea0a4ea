//! One crawl shared by many worker processes, on one machine or many, through Redis: the levels'
//! streams, the seen set, the budget, each host's turn and robots.txt live there, and each
//! worker takes jobs from the open level, writes their records to its own output and acks them
//! only once they are flushed. A worker that dies holds its jobs only until their lease runs out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::crawl::frontier::{Job, Print};
use crate::stop::Stop;
pub use entry::{Entry, Ledger, Outcome, MAX_DELIVERIES};
pub use link::Fault;
use link::Link;
use redis::Value;

mod entry;
mod host;
mod link;
pub mod pump;
mod scripts;
pub mod status;
mod store;

pub use store::RedisStore;

/// What a worker needs to join a shared crawl, as the command line gave it.
#[derive(Debug, Clone)]
pub struct Membership {
    pub address: String,
    pub job: String,
    pub lease: Duration,
}

/// This worker's side of the shared crawl.
pub struct Fleet {
    link: Link,
    /// Every key of the job starts with it and a colon.
    pub job: String,
    consumer: String,
    pub lease: Duration,
    pub ledger: Arc<Ledger>,
    budget: Option<u64>,
    /// This worker's feeder has queued all its URL lines.
    seeded_here: AtomicBool,
    /// This worker's feeder has ended, whether or not it queued them all.
    fed: AtomicBool,
    /// The URL file's print (XXH3-128 of its bytes, in hex), when it is a regular file: a file
    /// some worker has queued whole is not queued again.
    lines: Option<String>,
}

/// One job handed to this worker: its entry id, the job as queued, whether some page that
/// found it was private, and how many times it has been handed out.
pub struct Taken {
    pub id: String,
    pub job: String,
    pub unguarded: bool,
    pub deliveries: u64,
    /// Taken over after two crashes: to be handed out alone, once DELIVER counts it.
    pub suspect: bool,
}

/// What one take found.
pub struct Batch {
    /// Every level is done and the URL lines are all in.
    pub over: bool,
    /// No worker has queued all its URL lines yet.
    pub unseeded: bool,
    /// This worker had queued all its URL lines before it asked: only then does `unseeded`
    /// mean the job is gone.
    seeded_before: bool,
    pub level: Option<u32>,
    pub jobs: Vec<Taken>,
}

impl Fleet {
    /// Joins the crawl: connects, so that a Redis that is not there is reported before anything
    /// starts.
    pub fn join(member: &Membership, budget: Option<u64>, stop: Stop) -> Result<Fleet, String> {
        let link = Link::open(&member.address, member.lease, stop)
            .map_err(|e| format!("cannot reach Redis at {}: {e}", member.address))?;
        Ok(Fleet {
            link,
            job: member.job.clone(),
            consumer: consumer(),
            lease: member.lease,
            ledger: Arc::default(),
            budget,
            seeded_here: AtomicBool::new(false),
            fed: AtomicBool::new(false),
            lines: None,
        })
    }

    /// This worker's URL lines are the file whose bytes have this print.
    pub fn reading(self, lines: Option<u128>) -> Fleet {
        let lines = lines.map(|print| hex(Print(print)));
        Fleet { lines, ..self }
    }

    /// Whether some worker has queued this worker's URL file whole already: then its lines
    /// need not be read, every one of them being in.
    pub fn lines_in(&self) -> Result<bool, Fault> {
        let Some(lines) = &self.lines else {
            return Ok(false);
        };
        let key = self.key("files");
        self.link.call(|conn| {
            redis::cmd("SISMEMBER")
                .arg(&key)
                .arg(lines)
                .query::<bool>(conn)
        })
    }

    /// Why this worker gave up on Redis, if it has.
    pub fn fault(&self) -> Option<&Fault> {
        self.link.fault()
    }

    /// The key of `name` in this job.
    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.job)
    }

    fn budget(&self) -> i64 {
        self.budget.map_or(-1, |b| b.min(i64::MAX as u64) as i64)
    }

    /// Claims URLs for level `depth` and queues those new there, as `kind` (`line`, `link` or
    /// `entry`); each is its print, whether it is unguarded, and its job. The codes QUEUE
    /// returns, one per URL.
    pub fn queue(&self, depth: u32, kind: &str, jobs: &[(Print, Job)]) -> Result<Vec<u8>, Fault> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let mut args: Vec<Vec<u8>> = Vec::with_capacity(4 + 2 * jobs.len());
        args.push(self.job.clone().into_bytes());
        args.push(depth.to_string().into_bytes());
        args.push(kind.as_bytes().to_vec());
        args.push(self.budget().to_string().into_bytes());
        for (print, job) in jobs {
            let print = hex(*print);
            let mut entry = Vec::with_capacity(160);
            entry.push(if job.guarded { b'0' } else { b'1' });
            entry.extend_from_slice(print.as_bytes());
            serde_json::to_writer(&mut entry, job).expect("a job serializes");
            args.push(print.into_bytes());
            args.push(entry);
        }
        self.link.call(|conn| {
            let mut call = scripts::QUEUE.prepare_invoke();
            for arg in &args {
                call.arg(arg);
            }
            call.invoke(conn)
        })
    }

    /// Every URL line of this worker is queued: the line level may complete, and its file
    /// need not be read again.
    pub fn seeded(&self) -> Result<(), Fault> {
        let (seeded, files) = (self.key("seeded"), self.key("files"));
        self.link.call(|conn| {
            let mut pipe = redis::pipe();
            pipe.cmd("SET").arg(&seeded).arg(1).ignore();
            if let Some(lines) = &self.lines {
                pipe.cmd("SADD").arg(&files).arg(lines).ignore();
            }
            pipe.query::<()>(conn)
        })?;
        self.seeded_here.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// This worker's feeder has ended: its lines are in, or will not come.
    pub fn fed(&self) {
        self.fed.store(true, Ordering::SeqCst);
    }

    /// Checks that the job is still in Redis: once this worker has queued its lines, a job that
    /// says no lines are in was lost with Redis's data (a restart without persistence), and
    /// waiting for lines that will never come would hang.
    pub fn still_there(&self, batch: &Batch) -> Result<(), Fault> {
        if batch.unseeded && batch.seeded_before {
            let why = format!(
                "job '{}' is gone from Redis at {} (was it restarted without persistence?)",
                self.job, self.link.address
            );
            return Err(self.link.give_up(why, false));
        }
        Ok(())
    }

    /// Up to `n` jobs of the open level for this worker, and with `reclaim`, first those other
    /// workers have held longer than the lease.
    pub fn take(&self, n: usize, reclaim: bool) -> Result<Batch, Fault> {
        let lease = if reclaim { self.lease.as_millis() } else { 0 };
        // Read before the call: lines queued while it runs may not be in its answer.
        let seeded_before = self.seeded_here.load(Ordering::SeqCst);
        let fed_before = self.fed.load(Ordering::SeqCst);
        let value: Vec<Value> = self.link.call(|conn| {
            scripts::TAKE
                .arg(&self.job)
                .arg(&self.consumer)
                .arg(n)
                .arg(lease.to_string())
                .arg(MAX_DELIVERIES)
                .invoke(conn)
        })?;
        let mut batch = batch(value, seeded_before);
        // A job that looks over before this worker's own lines are in may not be: they may be
        // lines no other worker had.
        batch.over &= fed_before;
        if let Some(level) = batch.level.filter(|_| n > 0) {
            batch.jobs.extend(self.read(level, n)?);
        }
        Ok(batch)
    }

    /// Up to `n` new jobs of the open `level`, read straight from its stream; those a shallower
    /// claim took since they were queued are dropped, to be acked with no record. A URL line
    /// that is unguarded already has nothing to learn from the seen set.
    fn read(&self, level: u32, n: usize) -> Result<Vec<Taken>, Fault> {
        let stream = self.key(&format!("level:{level}"));
        let reply: Value = self.link.call(|conn| {
            redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg("crawl")
                .arg(&self.consumer)
                .arg("COUNT")
                .arg(n)
                .arg("STREAMS")
                .arg(&stream)
                .arg(">")
                .query(conn)
        })?;
        let fresh = entries(reply);
        let asks: Vec<&str> = fresh
            .iter()
            .filter(|e| level > 0 || !e.unguarded)
            .map(|e| e.print.as_str())
            .collect();
        let marks: Vec<Option<u64>> = match asks.is_empty() {
            true => Vec::new(),
            false => {
                let seen = self.key("seen");
                self.link
                    .call(|conn| redis::cmd("HMGET").arg(&seen).arg(&asks).query(conn))?
            }
        };
        let mut marks = marks.into_iter();
        let mut taken = Vec::with_capacity(fresh.len());
        for entry in fresh {
            let mark = match level > 0 || !entry.unguarded {
                true => marks.next().flatten(),
                false => None,
            };
            if mark.is_some_and(|m| m / 4 < u64::from(level)) {
                self.ledger.drop_taken((level, entry.id), Outcome::Gone);
                continue;
            }
            taken.push(Taken {
                id: entry.id,
                job: entry.job,
                unguarded: entry.unguarded || mark.is_some_and(|m| m / 2 % 2 == 1),
                deliveries: 1,
                suspect: false,
            });
        }
        Ok(taken)
    }

    /// Acks what is ready; what cannot be sent stays ready for the next call.
    pub fn ack(&self) -> Result<(), Fault> {
        let ready = self.ledger.take_ready();
        if ready.is_empty() {
            return Ok(());
        }
        let mut args = vec![self.job.clone()];
        for ((level, id), outcome) in &ready {
            args.extend([level.to_string(), id.clone(), outcome.code().to_string()]);
        }
        let sent = self.link.call(|conn| {
            let mut call = scripts::ACK.prepare_invoke();
            for arg in &args {
                call.arg(arg);
            }
            call.invoke::<i64>(conn)
        });
        if sent.is_err() {
            self.ledger.put_back(ready);
        }
        sent.map(drop)
    }

    /// Counts the delivery of a suspect this worker is about to hand out alone; false if it
    /// is no longer pending.
    pub fn deliver(&self, entry: &Entry) -> Result<bool, Fault> {
        let (level, id) = entry.id();
        self.link.call(|conn| {
            scripts::DELIVER
                .arg(&self.job)
                .arg(&self.consumer)
                .arg(level)
                .arg(id)
                .invoke::<i64>(conn)
                .map(|n| n == 1)
        })
    }

    /// Resets the idle time of every job this worker holds.
    pub fn renew(&self) -> Result<(), Fault> {
        let held = self.ledger.held();
        if held.is_empty() {
            return Ok(());
        }
        self.link.call(|conn| {
            let mut call = scripts::RENEW.prepare_invoke();
            call.arg(&self.job).arg(&self.consumer);
            for (level, id) in &held {
                call.arg(level).arg(id);
            }
            call.invoke::<i64>(conn)
        })?;
        Ok(())
    }

    /// A page at `depth` was redirected to `url`'s print.
    pub fn land(&self, print: Print, depth: u32) -> Result<(), Fault> {
        self.link.call(|conn| {
            scripts::LAND
                .arg(&self.job)
                .arg(depth)
                .arg(hex(print))
                .invoke::<i64>(conn)
        })?;
        Ok(())
    }

    /// Claims a URL for level `depth` without queueing a job for it: the code QUEUE returns.
    pub fn claim(&self, print: Print, depth: u32, kind: &str) -> Result<u8, Fault> {
        let print = hex(print);
        // An entry with no job: the claim is made, nothing is queued.
        let entry = format!("0{print}");
        self.link.call(|conn| {
            scripts::QUEUE
                .arg(&self.job)
                .arg(depth)
                .arg(kind)
                .arg(self.budget())
                .arg(&print)
                .arg(&entry)
                .invoke::<Vec<u8>>(conn)
                .map(|codes| codes.first().copied().unwrap_or(0))
        })
    }

    /// Takes one page from the budget.
    pub fn admit(&self) -> Result<bool, Fault> {
        let Some(budget) = self.budget else {
            return Ok(true);
        };
        self.link.call(|conn| {
            scripts::ADMIT
                .arg(&self.job)
                .arg(budget)
                .invoke::<i64>(conn)
                .map(|n| n == 1)
        })
    }

    /// Gives one page back to the budget.
    pub fn refund(&self) -> Result<(), Fault> {
        let key = self.key("admitted");
        self.link
            .call(|conn| redis::cmd("DECR").arg(&key).query::<i64>(conn))
            .map(drop)
    }

    /// A job as a worker takes it up, with its entry.
    pub fn job(&self, level: u32, taken: Taken) -> Option<Job> {
        let mut job: Job = serde_json::from_str(&taken.job).ok()?;
        job.guarded &= !taken.unguarded;
        job.entry = Some(Box::new(Entry::new(
            (level, taken.id),
            taken.deliveries,
            &self.ledger,
        )));
        Some(job)
    }

    /// How often the jobs this worker holds are renewed and others' reclaimed: often enough
    /// that a live worker's jobs never reach the lease.
    pub fn beat(&self) -> Duration {
        (self.lease / 4).clamp(Duration::from_millis(50), Duration::from_secs(5))
    }
}

/// A stream entry as XREADGROUP gives it.
struct Fresh {
    id: String,
    print: String,
    job: String,
    unguarded: bool,
}

/// A string in a Redis reply; empty for anything else.
fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        _ => String::new(),
    }
}

/// XREADGROUP's answer for one stream, read: `[[stream, [[id, [field, value, ...]], ...]]]`,
/// or nil when there is nothing new.
fn entries(reply: Value) -> Vec<Fresh> {
    let Value::Array(streams) = reply else {
        return Vec::new();
    };
    let mut fresh = Vec::new();
    for stream in streams {
        let Value::Array(stream) = stream else {
            continue;
        };
        let Some(Value::Array(list)) = stream.into_iter().nth(1) else {
            continue;
        };
        for entry in list {
            let Value::Array(entry) = entry else { continue };
            let (Some(id), Some(Value::Array(fields))) = (entry.first(), entry.get(1)) else {
                continue;
            };
            let mut e = Fresh {
                id: text(id),
                print: String::new(),
                job: String::new(),
                unguarded: false,
            };
            // One field: `1` if unguarded, the print (32 hex digits), the job (QUEUE).
            if let Some(entry) = fields.get(1).map(text).filter(|e| e.len() > 33) {
                e.unguarded = entry.starts_with('1');
                e.print = entry[1..33].to_string();
                e.job = entry[33..].to_string();
            }
            fresh.push(e);
        }
    }
    fresh
}

/// TAKE's answer, read.
fn batch(value: Vec<Value>, seeded_before: bool) -> Batch {
    let int = |v: &Value| match v {
        Value::Int(n) => *n,
        _ => 0,
    };
    let state = value.first().map(int);
    let (over, unseeded) = (state == Some(1), state == Some(2));
    let level = value.get(1).map(int).and_then(|l| u32::try_from(l).ok());
    let jobs = value
        .get(2..)
        .unwrap_or_default()
        .chunks_exact(5)
        .map(|row| Taken {
            id: text(&row[0]),
            job: text(&row[1]),
            unguarded: int(&row[2]) == 1,
            deliveries: int(&row[3]).max(1) as u64,
            suspect: int(&row[4]) == 1,
        })
        .collect();
    Batch {
        over,
        unseeded,
        seeded_before,
        level,
        jobs,
    }
}

/// A print as the seen set's field: 32 hex digits.
fn hex(print: Print) -> String {
    format!("{:032x}", print.0)
}

/// This worker's name in the consumer groups: HOST:PID, so that a dead worker's jobs can be
/// told from a live one's.
fn consumer() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// A URL's print, for claims made outside the frontier (URL lines).
pub fn print_of(job: &Job) -> Print {
    match &job.target {
        Ok(url) => Print::url(url),
        Err(_) => Print::of(&job.line),
    }
}
