//! What the workers of a shared crawl keep to together for each host: its turn (--delay and
//! Crawl-delay) and its robots.txt, fetched by one worker and kept for the others.

use std::time::{Duration, Instant};

use super::{scripts, Fleet};
use crate::fetch::Fetched;
use crate::host::polite::Turns;
use crate::host::robots::Shelf;

/// How long a robots.txt kept for the workers holds before one of them fetches it again.
const ROBOTS_TTL: Duration = Duration::from_secs(3600);

/// How long a worker may hold the right to fetch a host's robots.txt for the others.
const ROBOTS_LOCK: Duration = Duration::from_secs(30);

/// How often a worker waiting for another's robots.txt fetch looks again.
const ROBOTS_POLL: Duration = Duration::from_millis(20);

/// If Redis is lost, each worker keeps its own pace: the fault ends it soon anyway.
impl Turns for Fleet {
    fn try_take(&self, host: &str, gap: Duration) -> Result<(), Duration> {
        match self.pace(host, gap, "try", Duration::ZERO) {
            Some(wait) if !wait.is_zero() => Err(wait),
            _ => Ok(()),
        }
    }

    fn book(&self, host: &str, gap: Duration, after: Duration) -> Duration {
        self.pace(host, gap, "book", after).unwrap_or(after)
    }
}

impl Fleet {
    fn pace(&self, host: &str, gap: Duration, how: &str, after: Duration) -> Option<Duration> {
        let key = self.key(&format!("host:{host}"));
        let ms = self.link.call(|conn| {
            scripts::PACE
                .key(&key)
                .arg(gap.as_millis().to_string())
                .arg(how)
                .arg(after.as_millis().to_string())
                .invoke::<u64>(conn)
        });
        ms.ok().map(Duration::from_millis)
    }
}

impl Shelf for Fleet {
    /// Only an answer with a status and no error is kept: a host that cannot be reached from
    /// one worker may be from another.
    fn fetched(&self, origin: &str, fetch: &mut dyn FnMut() -> Fetched) -> Fetched {
        let key = self.key(&format!("robots:{origin}"));
        let claim = format!("{key}:fetching");
        let started = Instant::now();
        loop {
            // The claim first, then the look: a worker that gets the claim after another let go
            // of it sees what that one kept, so no two fetch the same robots.txt.
            let asked = self.link.call(|conn| {
                redis::pipe()
                    .cmd("SET")
                    .arg(&claim)
                    .arg(&self.consumer)
                    .arg("NX")
                    .arg("PX")
                    .arg(ROBOTS_LOCK.as_millis().to_string())
                    .cmd("GET")
                    .arg(&key)
                    .query::<(Option<String>, Option<Vec<u8>>)>(conn)
            });
            let Ok((mine, kept)) = asked else {
                return fetch();
            };
            if let Some(fetched) = kept.as_deref().and_then(unshelve) {
                if mine.is_some() {
                    self.let_go(&claim);
                }
                return fetched;
            }
            if mine.is_some() {
                let fetched = fetch();
                if let (None, Some(status)) = (&fetched.error, fetched.status) {
                    let mut kept = format!("{status}\n").into_bytes();
                    kept.extend_from_slice(&fetched.body);
                    let _ = self.link.call(|conn| {
                        redis::cmd("SET")
                            .arg(&key)
                            .arg(&kept)
                            .arg("EX")
                            .arg(ROBOTS_TTL.as_secs())
                            .query::<()>(conn)
                    });
                }
                self.let_go(&claim);
                return fetched;
            }
            // Another worker holds it too long: fetch it here.
            if started.elapsed() >= ROBOTS_LOCK {
                return fetch();
            }
            std::thread::sleep(ROBOTS_POLL);
        }
    }
}

impl Fleet {
    /// Gives up the claim on fetching a robots.txt, after it is kept (or could not be).
    fn let_go(&self, claim: &str) {
        let _ = self
            .link
            .call(|conn| redis::cmd("DEL").arg(claim).query::<()>(conn));
    }
}

/// A kept robots.txt: its status on the first line, then its body.
fn unshelve(kept: &[u8]) -> Option<Fetched> {
    let newline = kept.iter().position(|&b| b == b'\n')?;
    let status = std::str::from_utf8(&kept[..newline]).ok()?.parse().ok()?;
    let body = kept[newline + 1..].to_vec();
    Some(Fetched {
        status: Some(status),
        bytes: body.len() as u64,
        body,
        ..Fetched::default()
    })
}
