//! The three ways a crawl can run, which every layer names: the command line takes them, the
//! pipeline runs them, the reports tell them apart.

use clap::ValueEnum;

/// How the work is spread over threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// One thread fetches then parses each URL in turn.
    Single,
    /// Crawler threads fetch, parser threads parse, a bounded channel between them.
    Multi,
    /// One tokio runtime fetches, --crawlers requests at a time; parser threads parse.
    Async,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Multi => "multi",
            Mode::Async => "async",
        }
    }
}
