//! Runs the same URLs in each mode, side by side, so the speedup threads buy is measured, not claimed.

use std::io::{Cursor, Read};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use crate::cli::config::Config;
use crate::cli::{CompareArgs, Format, Mode};
use crate::crawl::pipeline;
use crate::exit::{ExitCode, Stopped, UsageError};
use crate::observe::report::{Ending, Summary};
use crate::output::Output;
use crate::stop::Stop;

/// One mode's run, as the table and the JSON show it.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub mode: &'static str,
    pub crawlers: usize,
    pub parsers: usize,
    pub pages: u64,
    pub ok: u64,
    pub elapsed_s: f64,
    pub pages_per_s: f64,
    /// User plus system CPU time over wall time; 200 means two cores busy all along.
    pub cpu_pct: f64,
    #[serde(skip)]
    pub summary: Summary,
}

#[derive(Debug, Serialize)]
pub struct Comparison {
    pub runs: Vec<Run>,
    /// Single mode's elapsed time divided by multi mode's.
    pub speedup: f64,
}

/// Runs each mode `repeat` times over `urls` and keeps each mode's median run.
pub fn measure(
    make: &dyn Fn(Mode) -> anyhow::Result<Config>,
    urls: &[u8],
    repeat: usize,
    keep: bool,
) -> anyhow::Result<Comparison> {
    let mut runs = Vec::new();
    for mode in [Mode::Single, Mode::Multi, Mode::Async] {
        let mut tries = Vec::new();
        for _ in 0..repeat.max(1) {
            let mut config = make(mode)?;
            config.crawl.plan.input = Mutex::new(Box::new(Cursor::new(urls.to_vec())));
            if keep {
                config.crawl.plan.tag_mode = true;
            } else {
                config.crawl.output = Output::discard();
            }
            let before = cpu_time();
            let summary = pipeline::run(config.crawl)?;
            if let Ending::Interrupted(signal) = summary.ending {
                // The other modes must not run on: the user asked to stop.
                return Err(Stopped(ExitCode::for_signal(signal)).into());
            }
            let cpu = cpu_time().saturating_sub(before);
            tries.push(run(summary, cpu));
        }
        tries.sort_by(|a, b| a.elapsed_s.total_cmp(&b.elapsed_s));
        runs.push(tries.swap_remove(tries.len() / 2));
    }
    let speedup = runs[0].elapsed_s / runs[1].elapsed_s.max(1e-9);
    Ok(Comparison {
        runs,
        speedup: (speedup * 100.0).round() / 100.0,
    })
}

pub fn compare(args: CompareArgs, stop: &Stop) -> anyhow::Result<ExitCode> {
    let crawl = &args.crawl;
    for (given, flag) in [
        (crawl.resume, "--resume"),
        (crawl.stats.is_some(), "--stats"),
        (crawl.timeline.is_some(), "--timeline"),
        (crawl.redis.is_some(), "--redis"),
        (crawl.warc.is_some(), "--warc"),
        (crawl.auth.cookie_jar.is_some(), "--cookie-jar"),
    ] {
        if given {
            let why = "compare runs every mode on the same URLs and prints its own figures";
            return Err(UsageError(format!("{flag} does not go with compare: {why}")).into());
        }
    }
    let mut first = Config::from_args(args.crawl.clone(), stop)?;
    let mut urls = Vec::new();
    first
        .crawl
        .plan
        .input
        .get_mut()
        .unwrap()
        .read_to_end(&mut urls)?;
    let keep = args.crawl.output.is_some();
    let make = |mode: Mode| {
        let mut config = Config::from_args(args.crawl.clone(), stop)?;
        config.crawl.plan.mode = mode;
        config.quiet = true;
        Ok(config)
    };
    let comparison = measure(&make, &urls, args.repeat, keep)?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string(&comparison)?),
        Format::Table => print!("{}", table(&comparison)),
    }
    Ok(ExitCode::Success)
}

pub fn table(c: &Comparison) -> String {
    let mut out = format!(
        "{:<8} {:>9} {:>7} {:>7} {:>10} {:>9} {:>8} {:>6}\n",
        "mode", "threads", "pages", "ok", "elapsed", "pages/s", "speedup", "CPU%"
    );
    let base = c.runs.first().map_or(1.0, |r| r.elapsed_s);
    for r in &c.runs {
        out.push_str(&format!(
            "{:<8} {:>9} {:>7} {:>7} {:>8.2} s {:>9.1} {:>7.1}x {:>5.0}%\n",
            r.mode,
            format!("{}+{}", r.crawlers, r.parsers),
            r.pages,
            r.ok,
            r.elapsed_s,
            r.pages_per_s,
            base / r.elapsed_s.max(1e-9),
            r.cpu_pct
        ));
    }
    out
}

fn run(summary: Summary, cpu: Duration) -> Run {
    let wall = summary.elapsed.as_secs_f64();
    Run {
        mode: summary.mode.name(),
        crawlers: summary.crawlers,
        parsers: summary.parsers,
        pages: summary.pages(),
        ok: summary.measured.ok,
        elapsed_s: (wall * 1000.0).round() / 1000.0,
        pages_per_s: (summary.pages_per_s() * 10.0).round() / 10.0,
        cpu_pct: if wall > 0.0 {
            (100.0 * cpu.as_secs_f64() / wall).round()
        } else {
            0.0
        },
        summary,
    }
}

/// User plus system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the struct we hand it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
