//! The binary: catch signals, parse the command line, run it, exit with its code.

use clap::Parser;

use crawl::cli::{self, Cli};
use crawl::{app, stop::Stop};

fn main() {
    // Before anything else: until it is installed, a signal kills the process without its
    // exit code, however early it comes.
    let stop = Stop::default();
    let code = match stop.install() {
        Err(e) => app::report_error(&anyhow::Error::new(e).context("cannot handle signals")),
        Ok(()) => match Cli::try_parse() {
            Ok(cli) => app::run(cli, &stop).unwrap_or_else(|e| app::report_error(&e)),
            Err(e) => cli::clap_error(&e),
        },
    };
    std::process::exit(code.code());
}
