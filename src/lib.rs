//! crawl as a library: every stage a crawl goes through, so that tests can drive them
//! directly; the binary (main.rs) only runs the command line. The folders follow the pipeline:
//! the command line (cli) sets up a crawl (crawl: frontier and pipeline), which fetches (fetch),
//! asks each host (host), parses (parse) and writes records (output), while it is observed
//! (observe); demo holds the offline commands, urls what every stage does with URLs.

pub mod app;
pub mod archive;
pub mod cli;
pub mod crawl;
pub mod demo;
pub mod exit;
pub mod fetch;
pub mod hooks;
pub mod host;
pub mod loopback;
pub mod mode;
pub mod observe;
pub mod output;
pub mod parse;
pub mod stop;
pub mod urls;
