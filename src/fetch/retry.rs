//! When a failed attempt deserves another, and how long to wait first: backoff with jitter, or the server's Retry-After.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

/// The first retry waits about this long; each further one doubles it.
const BASE: Duration = Duration::from_millis(250);

/// Statuses that say "try again later" rather than "never": timeouts, rate limits, server trouble.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// Exponential backoff with jitter for retry number `retry` (1 for the first retry): a random
/// wait between half and all of BASE * 2^(retry-1), so crawlers that failed together spread out.
pub fn backoff(retry: u32, cap: Duration) -> Duration {
    let full = BASE
        .saturating_mul(1 << retry.saturating_sub(1).min(16))
        .min(cap);
    full / 2 + full.mul_f64(random_unit() / 2.0)
}

/// A `Retry-After` value: delay-seconds, or an HTTP date. None when it asks for no wait at all
/// (zero, or a date that has passed), so the usual backoff applies rather than retries that
/// all land in the same millisecond.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(now)
            .ok()?,
    };
    (!wait.is_zero()).then_some(wait)
}

/// A number in [0, 1) from std's randomly keyed hasher: enough for jitter, no RNG crate needed.
fn random_unit() -> f64 {
    let bits = RandomState::new().build_hasher().finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 301, 400, 401, 403, 404, 410] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_doubles_within_jitter_and_cap() {
        let cap = Duration::from_secs(60);
        for retry in 1..=4 {
            let full = BASE * (1 << (retry - 1));
            for _ in 0..50 {
                let d = backoff(retry, cap);
                assert!(d >= full / 2 && d <= full, "retry {retry}: {d:?}");
            }
        }
        assert!(backoff(40, Duration::from_secs(2)) <= Duration::from_secs(2));
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT").unwrap();
        assert_eq!(retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2026 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(retry_after("Wed, 21 Oct 2026 07:00:00 GMT", now), None);
        assert_eq!(retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now), None);
        assert_eq!(retry_after("0", now), None);
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-1", now), None);
    }
}
