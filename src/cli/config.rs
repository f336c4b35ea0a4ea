//! Checks the raw arguments once, at start-up, and turns them into everything a crawl needs.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::cli::{CrawlArgs, Mode};
use crate::crawl::fleet::{Fleet, Membership};
use crate::crawl::frontier::Scope;
use crate::crawl::pipeline::lines::jobs;
use crate::crawl::pipeline::resume::Refollow;
use crate::crawl::pipeline::{Crawl, Fetching, Input, Plan};
use crate::exit::UsageError;
use crate::fetch::{Fetcher, Limits, ProxySetting, Tls};
use crate::host::robots;
use crate::observe::progress::ProgressConfig;
use crate::observe::progress::Total;
use crate::observe::stats;
use crate::output::resume::{self, ResumeError, Resumed};
use crate::output::since::{self, Since};
use crate::output::Output;
use crate::stop::Stop;
use crate::urls::redact::Passwords;
use files::{fd_metadata, not_overwritten, not_the_url_file, writable};

mod auth;
mod files;
mod warc;

/// A crawl, checked and ready: the crawl itself, and whether and where its summary and figures
/// go once it ends.
pub struct Config {
    pub crawl: Crawl,
    pub quiet: bool,
    /// Where to write --stats and --timeline, if anywhere.
    pub stats: Option<PathBuf>,
    pub timeline: Option<PathBuf>,
    /// With --warc, the archive's writer, to finish once the crawl ends.
    pub archive: Option<crate::archive::writer::Writer>,
    /// --cookie-jar's file and the store to write there once the crawl ends.
    pub cookie_jar: Option<(PathBuf, Arc<crate::fetch::cookies::Cookies>)>,
}

/// Parsers do CPU work, so one per core keeps every core busy without oversubscribing.
pub fn default_parsers() -> usize {
    stats::cores()
}

/// A few pages per parser absorb bursts from the crawlers; more only holds bodies in memory.
pub fn default_queue(parsers: usize) -> usize {
    4 * parsers
}

impl Config {
    /// Every check comes before the first change to a file (the cut of a torn record, the
    /// output's creation), so that a usage error leaves every file as it was. `stop` is the
    /// process's, installed before anything else.
    pub fn from_args(args: CrawlArgs, stop: &Stop) -> anyhow::Result<Config> {
        if args.redis.is_some() && args.mode == Mode::Single {
            let why = "--redis shares the crawl between worker threads and processes";
            return Err(UsageError(format!("{why}: use --mode multi or async")).into());
        }
        if args.resume && args.output.is_none() {
            let why = "it skips the URLs that already have a record in that file";
            return Err(UsageError(format!("--resume needs -o FILE: {why}")).into());
        }
        let mut names = HashSet::new();
        if let Some(field) = args.field.iter().find(|f| !names.insert(f.name.as_str())) {
            let name = &field.name;
            return Err(UsageError(format!("--field {name} is given more than once")).into());
        }
        let path = args.urls.clone().expect("clap requires URLS");
        let (input, source): (Input, _) = if path.as_os_str() == "-" {
            (
                Box::new(BufReader::new(io::stdin())),
                fd_metadata(io::stdin()),
            )
        } else {
            let unreadable = |why: String| {
                UsageError(format!("cannot read URL file '{}': {why}", path.display()))
            };
            let file = File::open(&path).map_err(|e| unreadable(e.to_string()))?;
            let meta = file.metadata().ok();
            // Opening a directory succeeds on Unix; only the first read would fail.
            if meta.as_ref().is_some_and(|m| m.is_dir()) {
                return Err(unreadable("it is a directory".into()).into());
            }
            (Box::new(BufReader::new(file)), meta)
        };
        not_the_url_file(&path, source.as_ref(), args.output.as_deref())?;
        not_overwritten(&args, &path, source.as_ref())?;
        let warc = warc::check(&args, &path, source.as_ref())?;
        // Checked now, so that a typo costs a usage error, not the crawl it was for; written
        // only at the end.
        for path in [&args.stats, &args.timeline, &args.auth.cookie_jar]
            .into_iter()
            .flatten()
        {
            writable(path)
                .map_err(|e| UsageError(format!("cannot write '{}': {e}", path.display())))?;
        }
        let cannot_open = |path: &Path, e: io::Error| {
            UsageError(format!("cannot open output file '{}': {e}", path.display()))
        };
        if let Some(path) = &args.output {
            writable(path).map_err(|e| cannot_open(path, e))?;
        }
        let recorded = match &args.output {
            Some(path) if args.resume => Some(resume::resume(path).map_err(|e| match e {
                ResumeError::Io(e) => cannot_open(path, e),
                ResumeError::NotRecord(line) => UsageError(format!(
                    "cannot resume: line {line} of '{}' is not a crawl record; nothing was changed",
                    path.display()
                )),
            })?),
            _ => None,
        };
        let since = args.since.as_deref().map(read_since).transpose()?;
        let cookies = auth::cookies(&args.auth)?;
        let parsers = args.parsers.unwrap_or_else(default_parsers);
        let member = membership(&args);
        let limits = Limits {
            timeout: args.timeout,
            connect_timeout: args.connect_timeout,
            retries: args.retries,
            max_retry_wait: args.max_retry_wait,
            max_redirects: args.max_redirects,
            max_bytes: args.max_bytes,
            allow_private: args.allow_private,
            keep_alive: !args.no_keep_alive,
            user_agent: args.user_agent.clone(),
            resolve: args.resolve,
            from_replay: args.from_replay,
            since,
            headers: crate::fetch::headers::Extra {
                headers: args.auth.headers.iter().cloned().collect(),
                all_hosts: args.auth.header_all_hosts,
            },
            cookies: cookies.clone(),
            proxy: ProxySetting {
                proxy: args.transport.proxy.clone(),
                noproxy: args.transport.noproxy.clone(),
            },
            tls: Tls {
                cacerts: args
                    .transport
                    .cacert
                    .clone()
                    .map(|c| c.0)
                    .unwrap_or_default(),
                insecure: args.transport.insecure,
                http1_only: args.transport.http1_1,
            },
        };
        let fetcher = Fetcher::new(limits)?;
        // Before any file changes: a Redis that is not there fails the run with nothing done.
        let fleet = match member {
            Some(member) => {
                let fleet = Fleet::join(&member, args.max_pages, stop.for_crawl())
                    .map_err(anyhow::Error::msg)?;
                Some(Arc::new(fleet.reading(file_print(&path))))
            }
            None => None,
        };

        // Every check has passed: from here on files change.
        let (fetcher, archive) = match warc {
            Some(planned) => {
                let (archive, writer) = planned.start()?;
                (fetcher.archiving(Arc::new(archive)), Some(writer))
            }
            None => (fetcher, None),
        };
        let mut done = HashSet::new();
        let mut resumed = None;
        let mut passwords = Passwords::default();
        let output = match &args.output {
            Some(path) => {
                if let Some(recorded) = recorded {
                    recorded
                        .cut_torn_record(path)
                        .map_err(|e| cannot_open(path, e))?;
                    // A shared crawl keeps what is done in Redis: its file is only appended to.
                    if fleet.is_none() {
                        (done, resumed) = refollowed(recorded, path, args.depth);
                        if resumed.is_some() {
                            passwords = url_passwords(args.urls.as_deref());
                        }
                    }
                }
                Output::append(path).map_err(|e| cannot_open(path, e))?
            }
            None => Output::stdout(),
        };
        let show = !args.quiet && io::stderr().is_terminal();
        // Counting a file's lines first costs one extra read, worth it only for a bar to show,
        // and only when no links will be followed, so the lines and the sitemap entries they
        // bring (counted as they are listed, see Progress) are all there is.
        // A shared crawl's lines are other workers' too.
        let total = match (&args.urls, show && args.depth == 0 && fleet.is_none()) {
            (Some(path), true) if path.as_os_str() != "-" => {
                lines_left(path, &done).map(|lines| Total {
                    lines,
                    max_pages: args.max_pages,
                })
            }
            _ => None,
        };
        let progress = ProgressConfig { show, total };
        let scope = Scope {
            depth: args.depth,
            all_hosts: args.all_hosts,
            include: args.include,
            exclude: args.exclude,
            max_pages: args.max_pages,
            allow_private: args.allow_private,
        };
        let robots = (!args.no_robots).then(|| robots::agent_token(&args.user_agent).to_string());
        Ok(Config {
            crawl: Crawl {
                plan: Plan {
                    mode: args.mode,
                    crawlers: args.crawlers,
                    parsers,
                    queue: args.queue.unwrap_or_else(|| default_queue(parsers)),
                    select: args.select,
                    input: Mutex::new(input),
                    done,
                    resumed,
                    stop: stop.for_crawl(),
                    scope,
                    fields: args.field,
                    tag_mode: false,
                    passwords,
                    fleet,
                },
                fetching: Fetching {
                    fetcher,
                    robots,
                    delay: args.delay,
                    per_host: args.per_host,
                },
                output,
                progress,
                keep_spans: args.timeline.is_some(),
            },
            quiet: args.quiet,
            stats: args.stats,
            timeline: args.timeline,
            archive,
            cookie_jar: args.auth.cookie_jar.zip(cookies),
        })
    }
}

/// --since FILE, read whole at start-up by --resume's rule for lines that are not records.
fn read_since(path: &Path) -> Result<Arc<Since>, UsageError> {
    let read = since::since(path).map_err(|e| match e {
        ResumeError::Io(e) => format!("cannot read --since file '{}': {e}", path.display()),
        ResumeError::NotRecord(line) => format!(
            "--since: line {line} of '{}' is not a crawl record",
            path.display()
        ),
    });
    Ok(Arc::new(read.map_err(UsageError)?))
}

/// What --resume takes from the records already in `path`: the URL lines done, and what to
/// follow again. A sitemap's entries are crawled at its own depth, so they are owed even at
/// --depth 0; a page's links only with --depth.
fn refollowed(recorded: Resumed, path: &Path, depth: u32) -> (HashSet<String>, Option<Refollow>) {
    let refollow = (depth > 0 && !recorded.done.is_empty()) || !recorded.sitemaps.is_empty();
    let resumed = refollow.then(|| Refollow {
        path: path.to_path_buf(),
        sitemaps: recorded.sitemaps,
        depths: recorded.depths,
    });
    (recorded.done, resumed)
}

/// The print of a regular file's bytes; None for stdin, a pipe or a FIFO, which cannot be read
/// twice, or a file that cannot be read.
fn file_print(path: &Path) -> Option<u128> {
    use std::io::Read;
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut file = File::open(path).ok()?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0; 1 << 16];
    loop {
        match file.read(&mut buf).ok()? {
            0 => return Some(hasher.digest128()),
            n => hasher.update(&buf[..n]),
        }
    }
}

/// The shared crawl to join, if --redis names one.
pub fn membership(args: &CrawlArgs) -> Option<Membership> {
    Some(Membership {
        address: args.redis.clone()?,
        job: args.job.clone()?,
        lease: args.lease,
    })
}

/// Reads the URL lines of a file ahead of the crawl, by the feeder's own rules, skipping those
/// in `done`; None when it is not a regular file, the only kind that can be read twice
/// (reading a pipe, `crawl <(...)`, /dev/stdin or a FIFO, would eat the lines the crawl is for).
fn read_ahead(path: &Path, done: &HashSet<String>, mut each: impl FnMut(&str)) -> Option<()> {
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut input = BufReader::new(File::open(path).ok()?);
    let mut lines = jobs(done);
    while let Some(line) = lines.next_line(&mut input) {
        each(&line.ok()?.0);
    }
    Some(())
}

/// The URL lines in a file that the feeder will take: a resumed crawl's records are no count
/// of them, since sitemap entries and followed links have records too.
fn lines_left(path: &Path, done: &HashSet<String>) -> Option<u64> {
    let mut n = 0;
    read_ahead(path, done, |_| n += 1)?;
    Some(n)
}

/// The passwords in a URL file, for the URLs --resume reads back masked.
fn url_passwords(path: Option<&Path>) -> Passwords {
    let mut passwords = Passwords::default();
    if let Some(path) = path {
        read_ahead(path, &HashSet::new(), |line| {
            if let Ok(url) = url::Url::parse(line) {
                passwords.learn(&url);
            }
        });
    }
    passwords
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_left_are_those_without_a_record_whatever_else_was_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("urls.txt");
        let text = "http://a/sitemap.xml\n  http://b/ \n# note\n\nhttp://b/\nhttp://c/\n";
        std::fs::write(&path, text).unwrap();
        assert_eq!(lines_left(&path, &HashSet::new()), Some(4));
        // The sitemap line's entries have records too, but only lines are read again.
        let done: HashSet<String> = ["http://a/sitemap.xml", "http://a/1", "http://a/2"]
            .map(String::from)
            .into();
        assert_eq!(lines_left(&path, &done), Some(3));
    }
}
