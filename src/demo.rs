//! The offline commands: `serve` exposes the embedded blog, `demo` crawls it both ways to show what threads buy.

use std::collections::HashSet;
use std::io::Cursor;
use std::time::Duration;

use scraper::Selector;

use crate::cli::{DemoArgs, Mode, ServeArgs};
use crate::config::{default_parsers, default_queue, Config};
use crate::exit::ExitCode;
use crate::fetch::{Fetcher, Limits};
use crate::frontier::Scope;
use crate::output::Output;
use crate::report::Summary;
use crate::stop::Stop;
use crate::{pipeline, site};

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let site = site::start(
        site::SiteOptions {
            pages: args.pages,
            latency: args.latency,
        },
        args.port,
    )?;
    eprintln!(
        "crawl: serving a blog of {} list pages at {}/ with {} latency per response",
        args.pages,
        site.base_url(),
        humantime::format_duration(args.latency)
    );
    eprintln!(
        "crawl: seed URLs: curl -s {}/urls.txt > urls.txt",
        site.base_url()
    );
    site::serve_forever(site)
}

pub fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let site = site::start(
        site::SiteOptions {
            pages: args.pages,
            latency: args.latency,
        },
        0,
    )?;
    let seeds = site.list_urls().join("\n");
    println!(
        "crawl demo: {} list pages of the embedded blog at {}/, {} latency per response",
        args.pages,
        site.base_url(),
        humantime::format_duration(args.latency)
    );
    let select = Selector::parse("a.post-item-title").expect("valid selector");
    let mut runs = Vec::new();
    for mode in [Mode::Single, Mode::Multi] {
        let parsers = default_parsers();
        let config = Config {
            mode,
            crawlers: args.crawlers,
            parsers,
            queue: default_queue(parsers),
            select: select.clone(),
            fetcher: Fetcher::new(Limits::default())?,
            quiet: false,
            input: Box::new(Cursor::new(seeds.clone().into_bytes())),
            output: Output::discard(),
            done: HashSet::new(),
            stop: Stop::default(),
            scope: Scope::default(),
            robots: Some("crawl".into()),
            delay: Duration::ZERO,
            per_host: None,
            fields: Vec::new(),
        };
        let summary = pipeline::run(config)?;
        println!("{summary}");
        runs.push(summary);
    }
    site.shutdown();
    if let [single, multi] = &runs[..] {
        println!("{}", verdict(single, multi));
    }
    Ok(ExitCode::Success)
}

fn verdict(single: &Summary, multi: &Summary) -> String {
    let speedup = single.elapsed.as_secs_f64() / multi.elapsed.as_secs_f64().max(1e-9);
    let mut text = format!(
        "crawl demo: multi mode was {speedup:.1}x faster than single: {} crawlers overlap their waits on the network",
        multi.crawlers
    );
    if single.failed + multi.failed > 0 {
        text.push_str(&format!(
            " (warning: {} pages failed; the machine may be overloaded)",
            single.failed + multi.failed
        ));
    }
    text
}
