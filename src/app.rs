//! Runs a parsed command line to its exit code: a crawl and its reports, or a subcommand.

use crate::cli::config;
use crate::cli::{help, Cli, Command, CrawlArgs};
use crate::crawl::fleet::Fleet;
use crate::crawl::pipeline;
use crate::demo::{self, bench, compare};
use crate::exit::{note, ExitCode, Stopped, UsageError};
use crate::observe::report::{Ending, LeftShared, OutputFailed};
use crate::output;
use crate::stop::Stop;

/// Runs `cli` under `stop`, the signal handler installed before anything else.
pub fn run(cli: Cli, stop: &Stop) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Serve(args)) => demo::serve(args, stop),
        Some(Command::Demo(args)) => demo::demo(args, stop),
        Some(Command::Compare(args)) => compare::compare(args, stop),
        Some(Command::BenchParse(args)) => bench::bench_parse(args, stop),
        Some(Command::BenchFetch(args)) => bench::bench_fetch(args, stop),
        Some(Command::Completions { shell }) => {
            printed(help::completions(shell, &mut std::io::stdout()))
        }
        Some(Command::Man) => printed(help::man(&mut std::io::stdout())),
        None => crawl(cli.crawl, stop),
    }
}

fn crawl(args: CrawlArgs, stop: &Stop) -> anyhow::Result<ExitCode> {
    if args.status {
        return status(&args, stop);
    }
    let insecure = args.transport.insecure;
    let mut config = config::Config::from_args(args, stop)?;
    let archive = config.archive.take();
    let (quiet, stats, timeline) = (config.quiet, config.stats.clone(), config.timeline.clone());
    let (jar, cookies) = config.cookie_jar.take().unzip();
    let fleet = config.crawl.plan.fleet.clone();
    let (summary, mut code) = match pipeline::run(config.crawl) {
        Ok(summary) => {
            let code = match summary.ending {
                Ending::Interrupted(signal) => ExitCode::for_signal(signal),
                Ending::Complete | Ending::OutputClosed => ExitCode::Success,
                Ending::OutputFailed | Ending::LeftShared => ExitCode::Failure,
            };
            (summary, code)
        }
        Err(e) => match e.downcast::<OutputFailed>() {
            Ok(failed) => {
                note(format_args!("error: {failed}"));
                note(failed.advice());
                (failed.summary, ExitCode::Failure)
            }
            Err(e) => {
                let left = e.downcast::<LeftShared>()?;
                note(format_args!("error: {left}"));
                (left.summary, ExitCode::Failure)
            }
        },
    };
    // The crawl is over, or given up on after a stop: what reached the archive's writer is
    // written and synced, what comes later is not.
    if let Some(writer) = archive {
        let path = writer.path().to_path_buf();
        if let Err(e) = writer.finish() {
            note(format_args!(
                "error: cannot write WARC file '{}': {e}",
                path.display()
            ));
            code = ExitCode::Failure;
        }
    }
    if !quiet && summary.ending != Ending::OutputClosed {
        note(&summary);
        if insecure {
            note("warning: -k/--insecure: TLS certificates were not checked, so a page may not come from the host its URL names");
        }
        note(summary.advice());
        // The summary speaks for this worker's pages; the job's own figures speak for all.
        if let Some(status) = fleet.and_then(|f| f.status().ok()) {
            note(status.line());
        }
    }
    // Each is written if it can be, even after the output failed: they are on other files.
    let stats_json = || Ok(serde_json::to_string_pretty(&summary.stats())? + "\n");
    let svg = || Ok(summary.timeline());
    let cookies_txt = || Ok(cookies.as_ref().map(|c| c.netscape()).unwrap_or_default());
    let reports: [(_, &dyn Fn() -> anyhow::Result<String>); 3] =
        [(stats, &stats_json), (timeline, &svg), (jar, &cookies_txt)];
    for (path, render) in reports {
        let Some(path) = path else { continue };
        let written = render().and_then(|text| Ok(output::replace_whole(&path, text.as_bytes())?));
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

/// `--status`: the shared crawl's figures as one JSON object on stdout.
fn status(args: &CrawlArgs, stop: &Stop) -> anyhow::Result<ExitCode> {
    let member = config::membership(args).expect("clap requires --redis and --job");
    let fleet = Fleet::join(&member, None, stop.for_crawl()).map_err(anyhow::Error::msg)?;
    let status = fleet.status().map_err(|fault| anyhow::anyhow!(fault.why))?;
    let mut line = serde_json::to_vec(&status)?;
    line.push(b'\n');
    let mut out = output::Output::stdout();
    match out.write_line(&line).and_then(|()| out.finish()) {
        Ok(()) | Err(output::WriteError::Closed) => {}
        Err(output::WriteError::Failed(e)) => return Err(e.into()),
    }
    Ok(ExitCode::Success)
}

/// A page printed whole, or cut short by a closed stdout (`crawl man | head`), is a success.
fn printed(written: std::io::Result<()>) -> anyhow::Result<ExitCode> {
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::Success),
    }
}

/// What an error that ended the run says on stderr, and the exit code it means.
pub fn report_error(e: &anyhow::Error) -> ExitCode {
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
