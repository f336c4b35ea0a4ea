//! Seeing a crawl: the progress bar while it runs, then the summary, the --stats figures and the
//! --timeline picture, all from the threads' own measurements.

pub mod progress;
pub mod report;
pub mod stats;
pub mod tally;
pub mod timeline;
