//! Measures where a crawl's time went, per pool, and names the pool that limited it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::observe::timeline::Lane;
use crate::output::record::ErrorKind;

/// What the writer learns from each record, so every figure agrees with the records.
#[derive(Debug, Default, Clone)]
pub struct Measured {
    pub ok: u64,
    pub failed: u64,
    pub bytes: u64,
    pub fetch_ms: Vec<f64>,
    pub parse_ms: Vec<f64>,
    pub errors: BTreeMap<&'static str, u64>,
}

impl Measured {
    pub fn add(
        &mut self,
        bytes: u64,
        fetch_ms: Option<f64>,
        parse_ms: Option<f64>,
        error: Option<ErrorKind>,
    ) {
        self.bytes += bytes;
        self.fetch_ms.extend(fetch_ms);
        self.parse_ms.extend(parse_ms);
        match error {
            None => self.ok += 1,
            Some(kind) => {
                self.failed += 1;
                *self.errors.entry(kind.name()).or_default() += 1;
            }
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Nearest-rank percentiles: each one is a value some record really has; None without values,
/// rather than zeros no record has.
pub fn percentiles(values: &[f64]) -> Option<Percentiles> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        sorted[((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
    };
    Some(Percentiles {
        p50: rank(50.0),
        p90: rank(90.0),
        p95: rank(95.0),
        p99: rank(99.0),
        max: sorted[sorted.len() - 1],
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bottleneck {
    /// Parsers waited for pages: the network, the server or too few crawlers set the pace.
    Crawlers,
    /// Crawlers waited on a full page channel: parsing, that is CPU, set the pace.
    Parsers,
}

/// Shares of wall time, from the threads' own spans.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Busy {
    pub crawler_busy_pct: f64,
    pub parser_busy_pct: f64,
    pub queue_full_pct: f64,
}

impl Busy {
    /// `lanes` are named `crawler-N`, `parser-N`, or `single` for the one thread of single mode.
    pub fn from_lanes(lanes: &[Lane], crawlers: usize, parsers: usize, elapsed_ms: f64) -> Busy {
        let (mut fetch, mut parse, mut blocked) = (0.0, 0.0, 0.0);
        for lane in lanes {
            fetch += lane.totals.fetch_ms;
            parse += lane.totals.parse_ms;
            blocked += lane.totals.blocked_ms;
        }
        let pct = |ms: f64, threads: usize| {
            if elapsed_ms > 0.0 {
                (100.0 * ms / (threads.max(1) as f64 * elapsed_ms)).min(100.0)
            } else {
                0.0
            }
        };
        Busy {
            crawler_busy_pct: round1(pct(fetch, crawlers)),
            parser_busy_pct: round1(pct(parse, parsers)),
            queue_full_pct: round1(pct(blocked, crawlers)),
        }
    }

    /// Crawlers blocked on a full channel for a noticeable share of the time, or parsers
    /// hardly ever idle, means parsing is the limit; otherwise parsers sat waiting for pages.
    pub fn bottleneck(&self) -> Bottleneck {
        if self.queue_full_pct >= 10.0 || self.parser_busy_pct >= 80.0 {
            Bottleneck::Parsers
        } else {
            Bottleneck::Crawlers
        }
    }

    /// The verdict in words, with the figure behind it and what to try; `cores` is the
    /// machine's (see `cores`), which parsers past it cannot use.
    pub fn advice(&self, parsers: usize, cores: usize) -> String {
        match self.bottleneck() {
            Bottleneck::Crawlers => format!(
                "bottleneck: crawlers. Parsers were idle {:.0}% of the time waiting for pages; \
                 more --crawlers help until the server or network is the limit.",
                100.0 - self.parser_busy_pct
            ),
            Bottleneck::Parsers if parsers < cores => format!(
                "bottleneck: parsers. Crawlers were blocked on a full page channel {:.0}% of the time \
                 and parsers were busy {:.0}%; try --parsers {cores} (one per core).",
                self.queue_full_pct, self.parser_busy_pct
            ),
            Bottleneck::Parsers => format!(
                "bottleneck: parsers. Crawlers were blocked on a full page channel {:.0}% of the time \
                 and parsers were busy {:.0}%; every core is parsing, so only a faster machine helps.",
                self.queue_full_pct, self.parser_busy_pct
            ),
        }
    }
}

/// The --stats document.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub mode: &'static str,
    pub crawlers: usize,
    pub parsers: usize,
    pub pages: u64,
    pub ok: u64,
    pub failed: u64,
    pub bytes: u64,
    pub elapsed_s: f64,
    pub pages_per_s: f64,
    pub fetch_ms: Option<Percentiles>,
    pub parse_ms: Option<Percentiles>,
    #[serde(flatten)]
    pub busy: Busy,
    pub errors: BTreeMap<&'static str, u64>,
    pub skipped: Skipped,
    /// None when no page succeeded: there was nothing to measure the pools by.
    pub bottleneck: Option<Bottleneck>,
}

/// Links found but not fetched, and redirects not followed, by the rule that turned them away.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Skipped {
    /// robots.txt disallows them: links, and redirect hops.
    pub robots: u64,
    /// They lead from a public page to a private address.
    pub private: u64,
    /// Of `robots`, the redirect hops, which the summary names apart.
    #[serde(skip)]
    pub robots_redirects: u64,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The cores this process may run on: how many parser threads can work at once.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::timeline::SpanKind;

    #[test]
    fn percentiles_are_values_of_the_sample() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = percentiles(&v).unwrap();
        assert_eq!(
            (p.p50, p.p90, p.p95, p.p99, p.max),
            (50.0, 90.0, 95.0, 99.0, 100.0)
        );
        assert_eq!(percentiles(&[7.0]).unwrap().p99, 7.0);
        assert_eq!(percentiles(&[]), None);
    }

    fn lane(name: &str, spans: &[(f64, f64, SpanKind)]) -> Lane {
        crate::observe::timeline::tests::recorded(name, spans.iter().copied(), false)
    }

    #[test]
    fn busy_shares_and_verdict() {
        let idle_parsers = [
            lane("crawler-1", &[(0.0, 1000.0, SpanKind::Fetch)]),
            lane("crawler-2", &[(0.0, 800.0, SpanKind::Fetch)]),
            lane("parser-1", &[(100.0, 150.0, SpanKind::Parse)]),
        ];
        let busy = Busy::from_lanes(&idle_parsers, 2, 1, 1000.0);
        assert_eq!(
            (
                busy.crawler_busy_pct,
                busy.parser_busy_pct,
                busy.queue_full_pct
            ),
            (90.0, 5.0, 0.0)
        );
        assert_eq!(busy.bottleneck(), Bottleneck::Crawlers);

        let full_channel = [
            lane(
                "crawler-1",
                &[
                    (0.0, 100.0, SpanKind::Fetch),
                    (100.0, 900.0, SpanKind::Blocked),
                ],
            ),
            lane("parser-1", &[(0.0, 950.0, SpanKind::Parse)]),
        ];
        let busy = Busy::from_lanes(&full_channel, 1, 1, 1000.0);
        assert_eq!(busy.bottleneck(), Bottleneck::Parsers);
        assert!(busy.advice(1, 2).contains("--parsers 2"));
    }
}
