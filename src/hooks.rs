//! Test-only fixtures, read from `CRAWL_TEST_*` variables in debug builds alone, so the tests can
//! reach states that no well-behaved server or resolver produces; a release build has none.

/// The value of the test variable `name`; always None in a release build.
#[allow(dead_code)] // until the first fixture uses it
pub fn var(name: &str) -> Option<String> {
    if cfg!(debug_assertions) {
        std::env::var(name).ok()
    } else {
        None
    }
}
