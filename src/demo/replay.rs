//! `serve --replay` and `demo --replay`: a recorded crawl served again, and the modes compared
//! on it.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::archive::replay::{self, Archive, RunningReplay, Timing, URLS_PATH};
use crate::cli::{DemoArgs, ServeArgs, Timing as TimingArg};
use crate::demo::compare;
use crate::exit::{ExitCode, UsageError};
use crate::fetch::{Fetcher, Limits};
use crate::parse::css::Select;
use crate::stop::Stop;

/// Reads the archive at `path`, or says why it cannot be replayed: a usage error, like an
/// unreadable URL file, since nothing was served.
pub fn load(path: &Path) -> anyhow::Result<Archive> {
    let shown = path.display();
    let archive = Archive::load(path)
        .map_err(|e| UsageError(format!("cannot read archive '{shown}': {e}")))?;
    if archive.replies.is_empty() {
        let why = match &archive.damage {
            Some(damage) => format!(" (reading stopped {damage})"),
            None => String::new(),
        };
        let what = format!("'{shown}' holds no HTTP responses to replay{why}");
        return Err(UsageError(what).into());
    }
    Ok(archive)
}

/// The timing the command line asks for: --latency, else --timing, else the recorded one.
pub fn timing(latency: Option<Duration>, timing: Option<TimingArg>) -> Timing {
    match (latency, timing) {
        (Some(latency), _) => Timing::Fixed(latency),
        (None, Some(TimingArg::None)) => Timing::None,
        (None, _) => Timing::Recorded,
    }
}

pub fn serve(path: &Path, args: &ServeArgs, stop: &Stop) -> anyhow::Result<ExitCode> {
    let archive = Arc::new(load(path)?);
    let timing = timing(args.latency, args.timing);
    let running = replay::start(archive.clone(), timing, args.port)?;
    for line in start_lines(path, &archive, &running, timing) {
        eprintln!("crawl: {line}");
    }
    let code = stop.wait();
    running.shutdown();
    Ok(code)
}

/// What `serve --replay` says at start: what it serves, where reading stopped, and how to
/// crawl it.
fn start_lines(path: &Path, a: &Archive, running: &RunningReplay, timing: Timing) -> Vec<String> {
    let base = format!("http://{}", running.addr());
    let wait = match timing {
        Timing::Recorded => "after its recorded time to first byte".to_string(),
        Timing::None => "at once".to_string(),
        Timing::Fixed(d) => format!("after {}", humantime::format_duration(d)),
    };
    let mut lines = vec![format!(
        "replaying {} ({}, {}) from '{}' at {base}/<URL>, each {wait}",
        count(a.responses, "response", "responses"),
        count(a.replies.len(), "URL", "URLs"),
        count(a.hosts, "host", "hosts"),
        path.display()
    )];
    if let Some(damage) = &a.damage {
        lines.push(format!(
            "warning: the archive is damaged: reading stopped {damage}; the records before it are served"
        ));
    }
    if a.unreadable > 0 {
        let unreadable = match a.unreadable {
            1 => "1 response record holds no readable HTTP response and is not served".into(),
            n => format!("{n} response records hold no readable HTTP response and are not served"),
        };
        lines.push(format!("warning: {unreadable}"));
    }
    lines.push(format!(
        "seed URLs ({}): curl -s {base}{URLS_PATH} > urls.txt",
        a.seeds.len()
    ));
    lines.push(format!("crawl them: {}", crawl_command(a, running)));
    lines
}

/// `n` and the noun for it: `1 host`, `2 hosts`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The crawl that replays the recorded one: through this server, with each named host pinned
/// to the address it had, so the private-address guard judges it as it did.
fn crawl_command(a: &Archive, running: &RunningReplay) -> String {
    let mut command = format!("crawl --from-replay {}", running.addr());
    for (host, ip) in &a.pins {
        match ip {
            IpAddr::V4(ip) => command.push_str(&format!(" --resolve {host}:{ip}")),
            IpAddr::V6(ip) => command.push_str(&format!(" --resolve {host}:[{ip}]")),
        }
    }
    if a.depth > 0 {
        command.push_str(&format!(" --depth {}", a.depth));
    }
    command.push_str(" urls.txt");
    command
}

/// `demo --replay`: the three modes on the archive's seeds, to the depth the recording asked
/// for (or reached), against an in-process replay with the recorded timing.
pub fn demo(path: &Path, args: &DemoArgs, stop: &Stop) -> anyhow::Result<ExitCode> {
    let archive = Arc::new(load(path)?);
    let running = replay::start(archive.clone(), Timing::Recorded, 0)?;
    println!(
        "crawl demo: a recorded crawl from '{}': {} to depth {}, {} on {}, \
         each response after its recorded time to first byte\n",
        path.display(),
        count(archive.seeds.len(), "seed", "seeds"),
        archive.depth,
        count(archive.replies.len(), "URL", "URLs"),
        count(archive.hosts, "host", "hosts")
    );
    if let Some(damage) = &archive.damage {
        println!("warning: the archive is damaged: reading stopped {damage}; the records before it are replayed\n");
    }
    let limits = Limits {
        from_replay: Some(running.addr()),
        ..Limits::default()
    };
    let make = |mode| {
        let mut config = super::demo_config(mode, args.crawlers, stop)?;
        config.crawl.fetching.fetcher = Fetcher::new(limits.clone())?;
        // The links a plain crawl follows, as far as the recorded one went.
        config.crawl.plan.select = Select::parse("a[href]").expect("valid selector");
        config.crawl.plan.scope.depth = archive.depth;
        Ok(config)
    };
    let seeds = archive.seeds.join("\n");
    let comparison = compare::measure(&make, seeds.as_bytes(), 1, false)?;
    running.shutdown();
    super::report(&comparison)
}
