//! Hidden commands that time one step of a crawl alone, so bench/run.sh can set crawl's
//! figures against the limits of its own parts.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::cli::{BenchFetchArgs, BenchParseArgs};
use crate::exit::{ExitCode, Stopped};
use crate::fetch::{Fetcher, Limits, Request};
use crate::stop::Stop;

/// The parse step alone, on one thread: how many pages per second one core parses.
pub fn bench_parse(args: BenchParseArgs, stop: &Stop) -> anyhow::Result<ExitCode> {
    let pages = args
        .files
        .iter()
        .map(std::fs::read)
        .collect::<std::io::Result<Vec<_>>>()?;
    let base = url::Url::parse("http://127.0.0.1/").expect("valid");
    let started = Instant::now();
    let path = match args.tree {
        true => crate::parse::Path::Tree,
        false => crate::parse::Path::Fastest,
    };
    let mut links = 0;
    for _ in 0..args.rounds {
        stopped(stop)?;
        for body in &pages {
            links +=
                crate::parse::parse_by(path, body, Some("text/html"), &base, &args.select, &[])
                    .links
                    .len();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let parsed = pages.len() * args.rounds;
    println!(
        "{parsed} pages ({links} links) in {secs:.3} s: {:.1} pages/s on one core",
        parsed as f64 / secs
    );
    Ok(ExitCode::Success)
}

/// The fetch step alone: --crawlers threads on crawl's one blocking client, bodies read and
/// dropped, nothing parsed or written. What the HTTP client allows, with no pipeline around it.
pub fn bench_fetch(args: BenchFetchArgs, stop: &Stop) -> anyhow::Result<ExitCode> {
    let urls = read_urls(&args.urls)?;
    let fetcher = Fetcher::new(Limits::default())?;
    // Each thread takes the next URL by number, as crawlers take the next job.
    let next = AtomicUsize::new(0);
    let ok = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..args.crawlers {
            s.spawn(|| {
                while let Some(url) = urls.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if stop.is_requested() {
                        break;
                    }
                    let fetched = fetcher.fetch(&Request::plain(url, stop));
                    if fetched.error.is_none() {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    stopped(stop)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} pages ({} ok) in {secs:.3} s: {:.1} pages/s with {} crawlers",
        urls.len(),
        ok.into_inner(),
        urls.len() as f64 / secs,
        args.crawlers
    );
    Ok(ExitCode::Success)
}

/// A signal ends a bench with its exit code, as it ends a crawl.
fn stopped(stop: &Stop) -> anyhow::Result<()> {
    match stop.signal() {
        Some(signal) => Err(Stopped(ExitCode::for_signal(signal)).into()),
        None => Ok(()),
    }
}

/// The URL lines as crawl reads them; a line crawl would record as invalid is an error here.
fn read_urls(path: &Path) -> anyhow::Result<Vec<url::Url>> {
    let mut input = std::io::BufReader::new(std::fs::File::open(path)?);
    let none_done = Default::default();
    let mut lines = crate::crawl::pipeline::lines::jobs(&none_done);
    let mut urls = Vec::new();
    while let Some(job) = lines.next(&mut input) {
        let job = job?;
        urls.push(
            job.target
                .map_err(|e| anyhow::anyhow!("{}: {}", job.line, e.message))?,
        );
    }
    Ok(urls)
}
