//! --warc: keeps every HTTP exchange of a crawl as WARC/1.1 records, built where the fetch
//! happens and written by one thread, so that a crawl can be replayed and checked later; and
//! reading them back and replaying them, so a recorded crawl can be served and crawled again
//! offline.

pub mod file;
pub mod read;
pub mod record;
pub mod replay;
pub mod writer;
