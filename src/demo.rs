//! The offline commands: `serve` exposes the embedded blog, `demo` compares the modes on it and draws where the time went.

pub mod bench;
pub mod compare;
pub mod replay;
pub mod site;

use std::collections::HashSet;
use std::io::Cursor;
use std::sync::Mutex;
use std::time::Duration;

use crate::cli::config::{default_parsers, default_queue, Config};
use crate::cli::{DemoArgs, Mode, ServeArgs};
use crate::crawl::frontier::Scope;
use crate::crawl::pipeline::{Crawl, Fetching, Plan};
use crate::exit::ExitCode;
use crate::fetch::{Fetcher, Limits};
use crate::observe::progress::ProgressConfig;
use crate::output::record::ErrorKind;
use crate::output::Output;
use crate::stop::Stop;
use compare::Comparison;

pub fn serve(args: ServeArgs, stop: &Stop) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.replay {
        return replay::serve(path, &args, stop);
    }
    let latency = args.latency.unwrap_or(SERVE_LATENCY);
    let site = site::start(
        site::SiteOptions {
            pages: args.pages,
            latency,
        },
        args.port,
    )?;
    eprintln!(
        "crawl: serving a blog of {} list pages at {}/ with {} latency per response",
        args.pages,
        site.base_url(),
        humantime::format_duration(latency)
    );
    eprintln!(
        "crawl: seed URLs: curl -s {}/urls.txt > urls.txt",
        site.base_url()
    );
    // The site serves from its own threads until Ctrl-C or SIGTERM.
    let code = stop.wait();
    site.shutdown();
    Ok(code)
}

/// `serve`'s delay before every response of the blog, unless --latency says otherwise.
const SERVE_LATENCY: Duration = Duration::from_millis(50);

pub fn demo(args: DemoArgs, stop: &Stop) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.replay {
        return replay::demo(path, &args, stop);
    }
    let site = site::start(
        site::SiteOptions {
            pages: args.pages,
            latency: args.latency,
        },
        0,
    )?;
    let seeds = site.list_urls().join("\n");
    println!(
        "crawl demo: {} list pages of the embedded blog at {}/, {} latency per response\n",
        args.pages,
        site.base_url(),
        humantime::format_duration(args.latency)
    );
    let make = |mode: Mode| demo_config(mode, args.crawlers, stop);
    let comparison = compare::measure(&make, seeds.as_bytes(), 1, false)?;
    site.shutdown();
    report(&comparison)
}

/// The demo's table, each mode's advice and timeline, and the verdict.
pub(crate) fn report(comparison: &Comparison) -> anyhow::Result<ExitCode> {
    print!("{}", compare::table(comparison));
    println!();
    for run in &comparison.runs {
        println!(
            "{}",
            run.summary
                .advice()
                .replacen("crawl:", &format!("{}:", run.mode), 1)
        );
        let path = format!("demo-{}.svg", run.mode);
        std::fs::write(&path, run.summary.timeline())?;
        println!("  timeline: {path}");
    }
    println!("\n{}", verdict(comparison));
    Ok(ExitCode::Success)
}

pub(crate) fn demo_config(mode: Mode, crawlers: usize, stop: &Stop) -> anyhow::Result<Config> {
    let parsers = default_parsers();
    Ok(Config {
        crawl: Crawl {
            plan: Plan {
                mode,
                crawlers,
                parsers,
                queue: default_queue(parsers),
                select: crate::parse::css::Select::parse("a.post-item-title")
                    .expect("valid selector"),
                input: Mutex::new(Box::new(Cursor::new(Vec::new()))),
                done: HashSet::new(),
                resumed: None,
                stop: stop.for_crawl(),
                scope: Scope::default(),
                fields: Vec::new(),
                tag_mode: false,
                passwords: Default::default(),
                fleet: None,
            },
            fetching: Fetching {
                fetcher: Fetcher::new(Limits::default())?,
                robots: Some("crawl".into()),
                delay: Duration::ZERO,
                per_host: None,
            },
            output: Output::discard(),
            progress: ProgressConfig::default(),
            // Kept for the timelines the demo draws.
            keep_spans: true,
        },
        quiet: true,
        stats: None,
        // The demo draws its timelines itself, from the spans kept.
        timeline: None,
        archive: None,
        cookie_jar: None,
    })
}

fn verdict(c: &Comparison) -> String {
    // Only what an overloaded machine causes: pages that failed for their own reasons (a 404,
    // a robots.txt that is not HTML, failures a replayed recording had) say nothing of it.
    let overload = [ErrorKind::Connect, ErrorKind::Timeout].map(ErrorKind::name);
    let failed: u64 = c
        .runs
        .iter()
        .flat_map(|r| &r.summary.measured.errors)
        .filter(|(kind, _)| overload.contains(kind))
        .map(|(_, n)| n)
        .sum();
    let crawlers = c.runs.last().map_or(0, |r| r.crawlers);
    let mut text = format!(
        "crawl demo: multi mode was {:.1}x faster than single: {crawlers} crawlers overlap their waits on the network",
        c.speedup
    );
    if failed > 0 {
        text.push_str(&format!(
            " (warning: {failed} pages failed to connect or timed out; the machine may be overloaded)"
        ));
    }
    text
}
