//! Entry point: parse the command line, run the chosen command, turn the outcome into an exit code.

mod bench;
mod cli;
mod compare;
mod config;
mod css;
mod decode;
mod demo;
mod exit;
mod extract;
mod fetch;
mod frontier;
mod hooks;
mod html;
mod normalize;
mod output;
mod parse;
mod pipeline;
mod polite;
mod private;
mod progress;
mod record;
mod redact;
mod report;
mod retry;
mod robots;
mod site;
mod sitemap;
mod stats;
mod stop;
mod timeline;

use clap::error::ErrorKind as ClapErrorKind;
use clap::Parser;

use cli::{Cli, Command, CrawlArgs};
use exit::{ExitCode, Stopped, UsageError};
use report::{Ending, OutputFailed};
use stop::Stop;

fn main() {
    // Before anything else: until it is installed, a signal kills the process without its
    // exit code, however early it comes.
    let stop = Stop::default();
    let code = match stop.install() {
        Err(e) => report_error(&anyhow::Error::new(e).context("cannot handle signals")),
        Ok(()) => match Cli::try_parse() {
            Ok(cli) => match run(cli, &stop) {
                Ok(code) => code,
                Err(e) => report_error(&e),
            },
            Err(e) => clap_error(&e),
        },
    };
    std::process::exit(code.code());
}

fn run(cli: Cli, stop: &Stop) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Serve(args)) => demo::serve(args, stop),
        Some(Command::Demo(args)) => demo::demo(args, stop),
        Some(Command::Compare(args)) => compare::compare(args, stop),
        Some(Command::BenchParse(args)) => bench::bench_parse(args, stop),
        Some(Command::BenchFetch(args)) => bench::bench_fetch(args, stop),
        None => crawl(cli.crawl, stop),
    }
}

fn crawl(args: CrawlArgs, stop: &Stop) -> anyhow::Result<ExitCode> {
    let urls = args.urls.clone().expect("clap requires URLS");
    let config = config::Config::from_args(args, stop)?;
    let (quiet, stats, timeline) = (config.quiet, config.stats.clone(), config.timeline.clone());
    let (summary, mut code) = match pipeline::run(config) {
        Ok(summary) => {
            let code = match summary.ending {
                Ending::Interrupted(signal) => ExitCode::for_signal(signal),
                Ending::Complete | Ending::OutputClosed => ExitCode::Success,
                Ending::OutputFailed => ExitCode::Failure,
            };
            (summary, code)
        }
        Err(e) => {
            let failed = e.downcast::<OutputFailed>()?;
            note(format_args!("error: {failed}"));
            note(failed.advice(&urls));
            (failed.summary, ExitCode::Failure)
        }
    };
    if !quiet && summary.ending != Ending::OutputClosed {
        note(&summary);
        note(summary.advice());
    }
    // Each is written if it can be, even after the output failed: they are on other files.
    let stats_json = || Ok(serde_json::to_string_pretty(&summary.stats())? + "\n");
    let svg = || Ok(summary.timeline());
    let reports: [(_, &dyn Fn() -> anyhow::Result<String>); 2] =
        [(stats, &stats_json), (timeline, &svg)];
    for (path, render) in reports {
        let Some(path) = path else { continue };
        let written = render().and_then(|text| Ok(std::fs::write(&path, text)?));
        if let Err(e) = written {
            note(format_args!(
                "error: cannot write '{}': {e:#}",
                path.display()
            ));
            code = ExitCode::Failure;
        }
    }
    Ok(code)
}

fn report_error(e: &anyhow::Error) -> ExitCode {
    if let Some(Stopped(code)) = e.downcast_ref::<Stopped>() {
        return *code;
    }
    note(format_args!("error: {e:#}"));
    if e.is::<UsageError>() {
        ExitCode::Usage
    } else {
        ExitCode::Failure
    }
}

/// A rejected value's message on one line, built from its parts: clap's own puts the value in
/// as given, so a value with a line break would break the message, and the first line would not
/// say why.
fn validation_line(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let text = |kind| match e.get(kind)? {
        ContextValue::String(s) => Some(s.as_str()),
        _ => None,
    };
    let arg = text(ContextKind::InvalidArg)?;
    let value = text(ContextKind::InvalidValue)?;
    let why = std::error::Error::source(e)?;
    Some(format!(
        "error: invalid value '{}' for '{arg}': {why}",
        value.escape_debug()
    ))
}

/// A bad value gets one line ("invalid value 'x' for '--y': why"), which says it all;
/// structural mistakes keep clap's usage hint. Help and version are not errors.
fn clap_error(e: &clap::Error) -> ExitCode {
    match e.kind() {
        ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::Success
        }
        ClapErrorKind::ValueValidation | ClapErrorKind::InvalidValue => {
            if let Some(line) = validation_line(e) {
                note(line);
                return ExitCode::Usage;
            }
            let text = e.render().to_string();
            let mut lines = text.lines();
            let first = lines.next().unwrap_or("error: invalid value");
            // Keep clap's list of accepted values on the same line: it is the fix.
            match lines
                .map(str::trim)
                .find(|l| l.starts_with("[possible values"))
            {
                Some(values) => note(format_args!("{first} {values}")),
                None => note(first),
            }
            ExitCode::Usage
        }
        _ => {
            let _ = e.print();
            ExitCode::Usage
        }
    }
}

/// A line on stderr. A closed stderr (`crawl ... 2>&1 >/dev/null | true`) loses it rather than
/// turning a finished crawl into a panic.
fn note(text: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}
