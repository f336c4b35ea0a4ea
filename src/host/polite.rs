//! Per-host pacing (--delay, Crawl-delay, --per-host), so one slow-to-please host never holds up the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Host {
    active: usize,
    next_start: Option<Instant>,
}

pub struct Politeness {
    delay: Duration,
    per_host: Option<usize>,
    hosts: Mutex<HashMap<String, Host>>,
    /// In a shared crawl, the turns every worker keeps to; this process's own still spare a
    /// call when they say to wait.
    turns: Option<Arc<dyn Turns>>,
}

/// Hosts' turns kept where every worker of a shared crawl sees them, so that --delay and
/// Crawl-delay hold for the workers together.
pub trait Turns: Send + Sync {
    /// Takes `host`'s turn if it has come, else says how long until it does.
    fn try_take(&self, host: &str, gap: Duration) -> Result<(), Duration>;
    /// Books `host`'s first turn at least `after` from now, and says how far from now it is.
    fn book(&self, host: &str, gap: Duration, after: Duration) -> Duration;
}

/// A request slot on one host; dropping it frees the slot.
pub struct Slot {
    host: String,
    gap: Duration,
    owner: Arc<Politeness>,
}

impl Slot {
    /// When another request on this slot (a retry) may start, at `earliest` or later; the
    /// start is booked, so the host's next request keeps its distance from it too.
    pub fn pace(&self, earliest: Instant) -> Instant {
        self.owner.book(&self.host, self.gap, earliest)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(host) = self.owner.hosts.lock().unwrap().get_mut(&self.host) {
            host.active -= 1;
        }
    }
}

impl Politeness {
    pub fn new(delay: Duration, per_host: Option<usize>) -> Arc<Politeness> {
        Politeness::shared(delay, per_host, None)
    }

    /// Politeness that also keeps to `turns`, shared with other workers.
    pub fn shared(
        delay: Duration,
        per_host: Option<usize>,
        turns: Option<Arc<dyn Turns>>,
    ) -> Arc<Politeness> {
        Arc::new(Politeness {
            delay,
            per_host,
            hosts: Mutex::new(HashMap::new()),
            turns,
        })
    }

    /// Takes a slot on `host` now, or says how long until one may be free. `crawl_delay` is what
    /// the host's robots.txt asks; the longer of it and --delay applies.
    pub fn try_start(
        self: &Arc<Self>,
        host: &str,
        crawl_delay: Option<Duration>,
    ) -> Result<Slot, Duration> {
        let gap = crawl_delay.map_or(self.delay, |d| d.max(self.delay));
        let now = Instant::now();
        let mut hosts = self.hosts.lock().unwrap();
        let state = hosts.entry(host.to_string()).or_default();
        if self.per_host.is_some_and(|max| state.active >= max) {
            return Err(Duration::from_millis(5));
        }
        if let Some(at) = state.next_start.filter(|at| *at > now) {
            return Err(at - now);
        }
        if let Some(turns) = self.turns.as_ref().filter(|_| !gap.is_zero()) {
            if let Err(wait) = turns.try_take(host, gap) {
                // Known here too, so that this worker's crawlers do not ask again meanwhile.
                state.next_start = Some(now + wait);
                return Err(wait);
            }
        }
        state.active += 1;
        state.next_start = (!gap.is_zero()).then(|| now + gap);
        Ok(Slot {
            host: host.to_string(),
            gap,
            owner: self.clone(),
        })
    }

    /// Books the first start on `host` at `earliest` or later that keeps --delay from the
    /// others, outside the slots: for robots.txt, and for retries through Slot::pace.
    pub fn book(&self, host: &str, gap: Duration, earliest: Instant) -> Instant {
        let gap = gap.max(self.delay);
        let mut hosts = self.hosts.lock().unwrap();
        let state = hosts.entry(host.to_string()).or_default();
        let mut start = state.next_start.map_or(earliest, |at| at.max(earliest));
        if let Some(turns) = self.turns.as_ref().filter(|_| !gap.is_zero()) {
            let now = Instant::now();
            start = now + turns.book(host, gap, start.saturating_duration_since(now));
        }
        state.next_start = (!gap.is_zero()).then(|| start + gap);
        start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_spaces_starts_on_one_host_only() {
        let p = Politeness::new(Duration::from_millis(200), None);
        let first = p.try_start("a", None);
        assert!(first.is_ok());
        let wait = p.try_start("a", None).err().unwrap();
        assert!(wait > Duration::from_millis(150) && wait <= Duration::from_millis(200));
        assert!(
            p.try_start("b", None).is_ok(),
            "another host is not held up"
        );
        assert!(p.try_start("c", Some(Duration::from_secs(1))).is_ok());
        assert!(
            p.try_start("c", None).err().unwrap() > Duration::from_millis(900),
            "Crawl-delay wins when longer"
        );
    }

    #[test]
    fn booked_starts_keep_the_delay_from_slots_and_each_other() {
        let p = Politeness::new(Duration::from_millis(200), None);
        let now = Instant::now();
        let slot = p.try_start("a", None).unwrap();
        let retry = slot.pace(now);
        assert!(
            retry >= now + Duration::from_millis(200),
            "a retry waits the delay"
        );
        let later = now + Duration::from_secs(5);
        assert_eq!(
            p.book("a", Duration::ZERO, later),
            later,
            "no wait once it has passed"
        );
        assert!(
            p.try_start("a", None).is_err(),
            "a booked start holds off the next slot"
        );
        assert_eq!(
            p.book("b", Duration::ZERO, now),
            now,
            "other hosts are free"
        );
    }

    #[test]
    fn per_host_caps_concurrent_requests() {
        let p = Politeness::new(Duration::ZERO, Some(2));
        let a = p.try_start("h", None).unwrap();
        let _b = p.try_start("h", None).unwrap();
        assert!(p.try_start("h", None).is_err());
        drop(a);
        assert!(p.try_start("h", None).is_ok());
    }
}
