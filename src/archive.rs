//! --warc: keeps every HTTP exchange of a crawl as WARC/1.1 records, built where the fetch
//! happens and written by one thread, so that a crawl can be replayed and checked later.

pub mod file;
pub mod record;
pub mod writer;
