//! WARC archives: reading them back and replaying them, so a recorded crawl can be served and
//! crawled again offline.

pub mod read;
pub mod replay;
