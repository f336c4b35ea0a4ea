//! The crawl itself: the frontier decides which URLs are visited, and when the crawl is done;
//! the pipeline moves them through fetch, parse and write on its threads.

pub mod fleet;
pub mod frontier;
pub mod pipeline;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// The state behind a lock, even after a panic while it was held: a bug that one page trips (its
/// links are followed under a catch, see pipeline's finish) may lose that page's links, never
/// the crawl.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
