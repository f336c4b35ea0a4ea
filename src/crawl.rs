//! The crawl itself: the frontier decides which URLs are visited, and when the crawl is done;
//! the pipeline moves them through fetch, parse and write on its threads.

pub mod frontier;
pub mod pipeline;
