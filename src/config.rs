//! Checks the raw arguments once, at start-up, and turns them into everything a crawl needs.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::thread;
use std::time::Duration;

use reqwest::blocking::Client;
use scraper::Selector;

use crate::cli::{CrawlArgs, Mode};
use crate::exit::UsageError;
use crate::fetch;
use crate::output::Output;

/// Where the URL lines come from; read lazily, one line at a time.
pub type Input = Box<dyn BufRead + Send>;

pub struct Config {
    pub mode: Mode,
    pub crawlers: usize,
    pub parsers: usize,
    pub queue: usize,
    pub select: Selector,
    pub timeout: Duration,
    pub client: Client,
    pub quiet: bool,
    pub input: Input,
    pub output: Output,
}

/// Parsers do CPU work, so one per core keeps every core busy without oversubscribing.
pub fn default_parsers() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// A few pages per parser absorb bursts from the crawlers; more only holds bodies in memory.
pub fn default_queue(parsers: usize) -> usize {
    4 * parsers
}

impl Config {
    pub fn from_args(args: CrawlArgs) -> anyhow::Result<Config> {
        let path = args.urls.expect("clap requires URLS");
        let input: Input = if path.as_os_str() == "-" {
            Box::new(BufReader::new(io::stdin()))
        } else {
            let unreadable = |why: String| {
                UsageError(format!("cannot read URL file '{}': {why}", path.display()))
            };
            let file = File::open(&path).map_err(|e| unreadable(e.to_string()))?;
            // Opening a directory succeeds on Unix; only the first read would fail.
            if file.metadata().is_ok_and(|m| m.is_dir()) {
                return Err(unreadable("it is a directory".into()).into());
            }
            Box::new(BufReader::new(file))
        };
        let output = match &args.output {
            Some(path) => Output::append(path).map_err(|e| {
                UsageError(format!("cannot open output file '{}': {e}", path.display()))
            })?,
            None => Output::stdout(),
        };
        let parsers = args.parsers.unwrap_or_else(default_parsers);
        Ok(Config {
            mode: args.mode,
            crawlers: args.crawlers,
            parsers,
            queue: args.queue.unwrap_or_else(|| default_queue(parsers)),
            select: args.select,
            timeout: args.timeout,
            client: fetch::client(args.timeout, &args.user_agent)?,
            quiet: args.quiet,
            input,
            output,
        })
    }
}
