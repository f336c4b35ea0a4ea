//! crawl as a library: the pipeline, the frontier and every stage a crawl goes through, so that
//! tests can drive them directly; the binary (main.rs) only runs the command line.

pub mod app;
pub mod bench;
pub mod cli;
pub mod compare;
pub mod config;
pub mod css;
pub mod decode;
pub mod demo;
pub mod exit;
pub mod extract;
pub mod fast;
pub mod fetch;
pub mod frontier;
pub mod hooks;
pub mod nesting;
pub mod normalize;
pub mod output;
pub mod parse;
pub mod pipeline;
pub mod polite;
pub mod private;
pub mod progress;
pub mod record;
pub mod redact;
pub mod report;
pub mod retry;
pub mod robots;
pub mod site;
pub mod sitemap;
pub mod stats;
pub mod stop;
pub mod timeline;
