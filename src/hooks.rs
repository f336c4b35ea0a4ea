//! Test-only fixtures, read from `CRAWL_TEST_*` variables in debug builds alone, so the tests can
//! reach states that no well-behaved server or resolver produces; a release build has none.

use std::collections::HashMap;
use std::net::IpAddr;

/// The value of the test variable `name`; always None in a release build.
pub fn var(name: &str) -> Option<String> {
    if cfg!(debug_assertions) {
        std::env::var(name).ok()
    } else {
        None
    }
}

/// `CRAWL_TEST_DNS="name=addr[,addr];name=addr"`: answers that stand in for DNS, so a test can
/// give a name a private address without touching the machine's resolver.
pub fn dns_answers() -> Option<HashMap<String, Vec<IpAddr>>> {
    let spec = var("CRAWL_TEST_DNS")?;
    let entry = |item: &str| {
        let (name, addrs) = item.split_once('=')?;
        let ips: Option<Vec<IpAddr>> = addrs.split(',').map(|a| a.trim().parse().ok()).collect();
        Some((name.trim().to_ascii_lowercase(), ips?))
    };
    Some(spec.split(';').filter_map(entry).collect())
}

/// `CRAWL_TEST_PANIC=PASS:MARKER[,PASS:MARKER...]` panics in PASS (`stream`, `tree`, `robots`,
/// `sitemap`, or `links` for each link followed) on a body that contains MARKER: a stand-in for a bug that some remote input trips.
pub fn panic_on(pass: &str, body: &[u8]) {
    let Some(spec) = var("CRAWL_TEST_PANIC") else {
        return;
    };
    for (named, marker) in spec.split(',').filter_map(|p| p.split_once(':')) {
        let marker = marker.as_bytes();
        if named == pass && !marker.is_empty() && body.windows(marker.len()).any(|w| w == marker) {
            panic!("CRAWL_TEST_PANIC in {pass}");
        }
    }
}

/// `CRAWL_TEST_CRASH=MARKER` kills the process outright (abort, as a segfault would) when it
/// takes apart a body that contains MARKER: a page that crashes every worker that takes it.
pub fn crash_on(body: &[u8]) {
    let Some(marker) = var("CRAWL_TEST_CRASH").filter(|m| !m.is_empty()) else {
        return;
    };
    if body.windows(marker.len()).any(|w| w == marker.as_bytes()) {
        std::process::abort();
    }
}
