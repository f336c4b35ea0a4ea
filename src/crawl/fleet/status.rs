//! `--status`: a shared crawl's figures, read from its counters and streams, as one JSON object.

use std::collections::HashMap;

use serde::Serialize;

use super::{Fault, Fleet};

/// One level's figures, or the whole job's.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Figures {
    /// In the stream, not yet handed out.
    pub queued: u64,
    /// Handed out and not yet acked.
    pub in_flight: u64,
    /// Acked with a record, failed ones included.
    pub done: u64,
    /// Of those, records with an error.
    pub failed: u64,
    /// Acked with no record: robots.txt disallowed a link, or a shallower claim took its URL.
    pub skipped: u64,
    /// Given up after too many deliveries: moved to JOB:dead, with a `lost` record.
    pub dead: u64,
}

#[derive(Debug, Serialize)]
pub struct Level {
    pub depth: u32,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub job: String,
    /// Some worker has queued every URL line of its file.
    pub seeded: bool,
    /// Seeded, and nothing queued or in flight.
    pub complete: bool,
    #[serde(flatten)]
    pub total: Figures,
    pub levels: Vec<Level>,
}

impl Status {
    /// The job's figures in a line, for the end of a worker's summary.
    pub fn line(&self) -> String {
        let Figures {
            queued,
            in_flight,
            done,
            failed,
            dead,
            ..
        } = self.total;
        let state = match self.complete {
            true => "complete".to_string(),
            false => format!("{queued} queued, {in_flight} in flight"),
        };
        format!(
            "crawl: job {}, all workers: {done} pages done, {failed} failed, {dead} lost; {state}",
            self.job
        )
    }
}

impl Fleet {
    pub fn status(&self) -> Result<Status, Fault> {
        let counts = self.key("counts");
        let seeded = self.key("seeded");
        let (counts, seeded): (HashMap<String, u64>, bool) = self.link.call(|conn| {
            redis::pipe()
                .cmd("HGETALL")
                .arg(&counts)
                .cmd("EXISTS")
                .arg(&seeded)
                .query(conn)
        })?;
        let count = |what: &str, depth: u32| counts.get(&format!("{what}:{depth}")).copied();
        let mut levels = Vec::new();
        let mut total = Figures::default();
        for depth in 0..counts.get("top").map_or(0, |t| t + 1) as u32 {
            let stream = self.key(&format!("level:{depth}"));
            let (in_flight,): (u64,) = self.link.call(|conn| {
                redis::cmd("XPENDING")
                    .arg(&stream)
                    .arg("crawl")
                    .query::<(u64, redis::Value, redis::Value, redis::Value)>(conn)
                    .map(|(n, ..)| (n,))
            })?;
            let c = |what| count(what, depth).unwrap_or(0);
            let (records, failed) = (c("r"), c("f"));
            let figures = Figures {
                queued: c("q").saturating_sub(c("a") + in_flight),
                in_flight,
                done: records + failed,
                failed,
                skipped: c("s"),
                dead: c("x"),
            };
            total.queued += figures.queued;
            total.in_flight += figures.in_flight;
            total.done += figures.done;
            total.failed += figures.failed;
            total.skipped += figures.skipped;
            total.dead += figures.dead;
            levels.push(Level { depth, figures });
        }
        Ok(Status {
            job: self.job.clone(),
            seeded,
            complete: seeded && total.queued == 0 && total.in_flight == 0,
            total,
            levels,
        })
    }
}
