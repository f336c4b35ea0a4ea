//! Measures where a crawl's time went, per pool, and names the pool that limited it.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::observe::timeline::Lane;
use crate::output::record::ErrorKind;

/// What the writer learns from each record, so every figure agrees with the records.
#[derive(Debug, Default, Clone)]
pub struct Measured {
    pub ok: u64,
    /// Of the ok pages, those a 304 to --since's question carried over.
    pub unchanged: u64,
    pub failed: u64,
    pub bytes: u64,
    pub fetch_ms: Spread,
    pub parse_ms: Spread,
    pub errors: BTreeMap<&'static str, u64>,
}

impl Measured {
    pub fn add(
        &mut self,
        bytes: u64,
        fetch_ms: Option<f64>,
        parse_ms: Option<f64>,
        error: Option<ErrorKind>,
        unchanged: bool,
    ) {
        self.bytes += bytes;
        self.unchanged += u64::from(unchanged);
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

/// Significant digits the percentiles keep: each is within 0.1% of the value it stands for.
const DIGITS: u8 = 3;

/// The records' values of one figure, in milliseconds, counted in a histogram of whole
/// microseconds (the records' own precision): memory stays bounded however long the crawl,
/// where keeping every value took 8 bytes a page.
#[derive(Debug, Clone)]
pub struct Spread {
    micros: Histogram<u64>,
    /// Exact, so that no percentile is ever reported above the largest value.
    max_us: u64,
}

impl Default for Spread {
    fn default() -> Spread {
        Spread {
            // Resizes itself to the largest value seen; the buckets grow with its logarithm.
            micros: Histogram::new(DIGITS).expect("3 significant digits are within range"),
            max_us: 0,
        }
    }
}

impl Spread {
    pub fn add(&mut self, ms: f64) {
        // A negative or NaN duration cannot come from a clock; it counts as 0 rather than panic.
        let us = (ms * 1000.0).round().max(0.0) as u64;
        if self.micros.record(us).is_err() {
            self.micros.saturating_record(us);
        }
        self.max_us = self.max_us.max(us);
    }

    pub fn is_empty(&self) -> bool {
        self.micros.is_empty()
    }

    /// Nearest-rank percentiles, to 3 significant digits; None without values, rather than
    /// zeros no record has.
    pub fn percentiles(&self) -> Option<Percentiles> {
        if self.is_empty() {
            return None;
        }
        // A bucket's highest value, so never below the value it stands for; capped at the
        // largest, which is exact.
        let rank = |p: f64| self.micros.value_at_percentile(p).min(self.max_us) as f64 / 1000.0;
        Some(Percentiles {
            p50: rank(50.0),
            p90: rank(90.0),
            p95: rank(95.0),
            p99: rank(99.0),
            max: self.max_us as f64 / 1000.0,
        })
    }
}

impl Extend<f64> for Spread {
    fn extend<I: IntoIterator<Item = f64>>(&mut self, values: I) {
        values.into_iter().for_each(|ms| self.add(ms));
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
    pub unchanged: u64,
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

    fn spread(values: impl IntoIterator<Item = f64>) -> Spread {
        let mut spread = Spread::default();
        spread.extend(values);
        spread
    }

    /// Nearest rank, as before, over values the histogram holds exactly (below 2048 us).
    #[test]
    fn percentiles_are_values_of_the_sample() {
        let p = spread((1..=100).map(f64::from).map(|ms| ms / 100.0))
            .percentiles()
            .unwrap();
        assert_eq!(
            (p.p50, p.p90, p.p95, p.p99, p.max),
            (0.5, 0.9, 0.95, 0.99, 1.0)
        );
        assert_eq!(spread([7.0]).percentiles().unwrap().p99, 7.0);
        assert_eq!(Spread::default().percentiles(), None);
    }

    /// The bounded histogram keeps 3 significant digits: each percentile is within 0.1% of the
    /// exact nearest-rank value (and never below it), and the largest value is exact.
    #[test]
    fn percentiles_are_within_a_tenth_of_a_percent() {
        // A million fetch times from 0.001 ms to about 60 s, spread over every magnitude.
        let values: Vec<f64> = (1..=1_000_000u64)
            .map(|i| ((i * 7919 % 1_000_003) as f64).powf(1.3) / 1000.0)
            .map(|ms: f64| (ms * 1000.0).round() / 1000.0)
            .collect();
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let exact = |p: f64| sorted[(p / 100.0 * sorted.len() as f64).ceil() as usize - 1];
        let got = spread(values.iter().copied()).percentiles().unwrap();
        let mut rounded = 0;
        for (p, value) in [
            (50.0, got.p50),
            (90.0, got.p90),
            (95.0, got.p95),
            (99.0, got.p99),
        ] {
            let want = exact(p);
            assert!(
                value >= want && value <= want * 1.001,
                "p{p}: {value} for {want}"
            );
            rounded += usize::from(value != want);
        }
        // Past 2.048 ms the histogram does round: the bound above is what is being shown.
        assert!(rounded > 0, "no percentile was rounded: {got:?}");
        assert_eq!(got.max, sorted[sorted.len() - 1]);
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
