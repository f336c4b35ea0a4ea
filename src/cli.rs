//! The command line as the user types it; every value is checked here so bad input fails fast with exit 2.

pub mod auth;
pub mod config;
pub mod help;
pub mod transport;

use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind as ClapErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::demo::site::MAX_PAGES;
use crate::exit::ExitCode;
use crate::parse::css::Select;

#[derive(Debug, Parser)]
#[command(
    name = "crawl",
    version,
    about = "A fast concurrent blog crawler: one JSON line per URL.",
    long_about = "A fast concurrent blog crawler: crawler threads fetch, parser threads extract, one JSON line per URL.",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = help::AFTER_SHORT,
    after_long_help = help::after_long_help(),
    mut_args = help::for_short_help
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub crawl: CrawlArgs,
}

// Parsed once per run, so the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the embedded blog (or a recorded crawl) on 127.0.0.1.
    ///
    /// Serves the blog, or with --replay a recorded crawl's WARC file, until interrupted.
    Serve(ServeArgs),
    /// Compare the modes on the embedded blog and draw their timelines.
    ///
    /// The site (or with --replay a recorded crawl) is served in-process.
    Demo(DemoArgs),
    /// Run the same URLs in every mode and compare their speed.
    ///
    /// Single, multi and async mode in turn, each on the same URLs; prints one row per mode.
    #[command(mut_args = help::for_compare)]
    Compare(CompareArgs),
    /// Print a shell completion script on stdout.
    ///
    /// Print the completion script for SHELL on stdout; the README says where to put it.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout: crawl man | man -l -
    Man,
    /// Parse HTML files on one thread and report pages/s: the parse-only limit for benchmarks.
    #[command(hide = true)]
    BenchParse(BenchParseArgs),
    /// Fetch URLs with N threads and nothing else, and report pages/s: the client's own limit.
    #[command(hide = true)]
    BenchFetch(BenchFetchArgs),
}

#[derive(Debug, Args)]
pub struct BenchParseArgs {
    /// HTML files, parsed in turn.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,

    /// Rounds over all the files.
    #[arg(long, default_value_t = 5, value_parser = thread_count, allow_negative_numbers = true)]
    pub rounds: usize,

    #[arg(long, default_value = "a[href]", value_parser = css_selector)]
    pub select: Select,

    /// Always build the full tree, as if the streaming pass never applied.
    #[arg(long)]
    pub tree: bool,
}

#[derive(Debug, Args)]
pub struct BenchFetchArgs {
    /// A file of URLs, one per line.
    pub urls: PathBuf,

    /// Threads fetching at once.
    #[arg(long, default_value_t = 8, value_parser = thread_count, allow_negative_numbers = true)]
    pub crawlers: usize,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub crawl: CrawlArgs,

    /// Run each mode N times and report the median run.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = thread_count, allow_negative_numbers = true)]
    pub repeat: usize,

    /// How to print the comparison.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

pub use crate::mode::Mode;

#[derive(Debug, Clone, Args)]
pub struct CrawlArgs {
    /// File with one URL per line, or '-' for stdin. Blank lines and '#' comments are skipped.
    #[arg(value_name = "URLS", required_unless_present = "status")]
    pub urls: Option<PathBuf>,

    /// CSS selector of the elements whose links are recorded.
    #[arg(long, value_name = "CSS", default_value = "a[href]", value_parser = css_selector, help_heading = help::INPUT_OUTPUT)]
    pub select: Select,

    /// Append records to FILE (created if needed) instead of writing to stdout.
    #[arg(short, long, value_name = "FILE", help_heading = help::INPUT_OUTPUT)]
    pub output: Option<PathBuf>,

    /// Also keep every HTTP exchange as WARC/1.1 records appended to FILE.
    ///
    /// Requests, responses as read and crawl's timings; each record is its own gzip member when
    /// FILE ends in .gz.
    #[arg(long, value_name = "FILE", help_heading = help::INPUT_OUTPUT)]
    pub warc: Option<PathBuf>,

    /// Total time allowed for one attempt, body included (e.g. 10s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = positive_duration, allow_hyphen_values = true, help_heading = help::FETCHING)]
    pub timeout: Duration,

    /// Time allowed to open a connection.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = positive_duration, allow_hyphen_values = true, help_heading = help::FETCHING)]
    pub connect_timeout: Duration,

    /// Retries after a connect error, a timeout, a connection broken mid-body, or a 408, 429 or
    /// 5xx response.
    #[arg(long, value_name = "N", default_value_t = 2, allow_negative_numbers = true, value_parser = count::<u32>, help_heading = help::FETCHING)]
    pub retries: u32,

    /// Longest Retry-After to honour; a server asking for more gets no retry.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration, allow_hyphen_values = true, help_heading = help::FETCHING)]
    pub max_retry_wait: Duration,

    /// Redirects to follow before giving up with kind `redirect`.
    #[arg(long, value_name = "N", default_value_t = 10, allow_negative_numbers = true, value_parser = count::<usize>, help_heading = help::FETCHING)]
    pub max_redirects: usize,

    /// Largest body to read, after decompression (e.g. 10MiB, 500KB, 4096).
    #[arg(long, value_name = "SIZE", default_value = "10MiB", value_parser = byte_size, allow_hyphen_values = true, help_heading = help::FETCHING)]
    pub max_bytes: u64,

    /// Follow redirects from public hosts to loopback, private and link-local addresses.
    #[arg(long, help_heading = help::FETCHING)]
    pub allow_private: bool,

    /// Open a new connection for every request instead of keeping each one alive for the next.
    ///
    /// For servers that mishandle keep-alive; slower.
    #[arg(long, help_heading = help::FETCHING)]
    pub no_keep_alive: bool,

    /// Send requests for HOST to ADDR instead of asking DNS, like curl's --resolve (repeatable).
    ///
    /// curl's HOST:PORT:ADDR is taken too; the pin applies to HOST on every port.
    #[arg(long, value_name = "HOST[:PORT]:ADDR", value_parser = resolve_pin, help_heading = help::FETCHING)]
    pub resolve: Vec<(String, std::net::IpAddr)>,

    /// Follow links this many levels beyond the URL lines.
    ///
    /// 0 fetches only the lines.
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true, value_parser = count::<u32>, help_heading = help::FOLLOWING)]
    pub depth: u32,

    /// Follow links to any host, not only the host of the seed they came from.
    #[arg(long, help_heading = help::FOLLOWING)]
    pub all_hosts: bool,

    /// Follow only links whose URL matches REGEX (repeatable: any may match).
    #[arg(long, value_name = "REGEX", value_parser = regex, help_heading = help::FOLLOWING)]
    pub include: Vec<regex::Regex>,

    /// Never follow links whose URL matches REGEX (repeatable).
    #[arg(long, value_name = "REGEX", value_parser = regex, help_heading = help::FOLLOWING)]
    pub exclude: Vec<regex::Regex>,

    /// Stop after this many pages have been taken in, URL lines included.
    #[arg(long, value_name = "N", value_parser = page_count, allow_negative_numbers = true, help_heading = help::FOLLOWING)]
    pub max_pages: Option<u64>,

    /// Ignore robots.txt.
    #[arg(long, help_heading = help::POLITENESS)]
    pub no_robots: bool,

    /// Least time between two requests to one host.
    ///
    /// Counted between the starts of the requests; robots.txt Crawl-delay may ask for more.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration, allow_hyphen_values = true, help_heading = help::POLITENESS)]
    pub delay: Duration,

    /// Most requests in flight to one host at once [default: no cap beyond --crawlers]
    #[arg(long, value_name = "N", value_parser = thread_count, allow_negative_numbers = true, help_heading = help::POLITENESS)]
    pub per_host: Option<usize>,

    /// How the work is shared out: single, multi or async.
    ///
    /// single: one thread does everything; multi: crawler and parser thread pools; async: a tokio
    /// runtime fetches, parser threads parse.
    #[arg(long, value_enum, default_value_t = Mode::Multi, hide_possible_values = true, help_heading = help::POOLS)]
    pub mode: Mode,

    /// Fetch threads, or requests in flight in async mode.
    ///
    /// Threads in multi mode, requests in flight at once in async mode: they mostly wait on the
    /// network, so more than cores is right.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = thread_count, allow_negative_numbers = true, help_heading = help::POOLS)]
    pub crawlers: usize,

    /// Parse threads (multi and async modes) [default: number of CPUs]
    #[arg(long, value_name = "N", value_parser = thread_count, allow_negative_numbers = true, help_heading = help::POOLS)]
    pub parsers: Option<usize>,

    /// Capacity of the bounded page channel between crawlers and parsers [default: 4 x parsers]
    #[arg(long, value_name = "N", value_parser = thread_count, allow_negative_numbers = true, help_heading = help::POOLS)]
    pub queue: Option<usize>,

    /// Extra field under "fields": NAME=CSS for the first match's text, NAME=CSS@ATTR for an attribute (repeatable).
    #[arg(long, value_name = "NAME=CSS[@ATTR]", value_parser = crate::parse::extract::parse_field, help_heading = help::INPUT_OUTPUT)]
    pub field: Vec<crate::parse::extract::Field>,

    /// Finish an interrupted crawl: skip URLs that already have a record in --output.
    // Needs --output, which Config checks: a clap `requires` would answer compare --resume
    // with "-o is missing" before compare could say --resume is not for it.
    #[arg(long, help_heading = help::RECRAWLS)]
    pub resume: bool,

    /// Re-crawl only what changed since FILE, an earlier run's records.
    ///
    /// Pages it recorded with an ETag or Last-Modified are requested with If-None-Match /
    /// If-Modified-Since, and a 304 carries their title, links and fields over.
    #[arg(long, value_name = "FILE", help_heading = help::RECRAWLS)]
    pub since: Option<PathBuf>,

    /// Send every request to the `crawl serve --replay` server at ADDR:PORT, a loopback address.
    ///
    /// Pages, redirect hops, robots.txt and sitemaps alike; records keep the original URLs.
    #[arg(long, value_name = "ADDR:PORT", value_parser = replay_server, help_heading = help::RECRAWLS)]
    pub from_replay: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub transport: transport::TransportArgs,

    /// User-Agent header sent with every request.
    #[arg(long, value_name = "STRING", default_value = crate::fetch::USER_AGENT, value_parser = user_agent, help_heading = help::FETCHING)]
    pub user_agent: String,

    /// Write measured figures (timings, percentiles, busy shares, bottleneck) as JSON to FILE.
    #[arg(long, value_name = "FILE", help_heading = help::SEEING)]
    pub stats: Option<PathBuf>,

    /// Draw every thread's fetches and parses on a time axis, as an SVG, to FILE.
    #[arg(long, value_name = "FILE.svg", help_heading = help::SEEING)]
    pub timeline: Option<PathBuf>,

    /// No progress bar and no summary on stderr.
    #[arg(short, long, help_heading = help::SEEING)]
    pub quiet: bool,

    /// Join a crawl shared through the Redis at URL (redis://HOST:PORT/DB) as one of its workers.
    ///
    /// Every worker runs the same command, each with its own -o.
    #[arg(long, value_name = "URL", requires = "job", value_parser = redis_url, help_heading = help::SHARED)]
    pub redis: Option<String>,

    /// The shared crawl's name; every key it keeps in Redis starts with NAME:.
    #[arg(long, value_name = "NAME", requires = "redis", value_parser = job_name, help_heading = help::SHARED)]
    pub job: Option<String>,

    /// How long a shared crawl's job may go without word from the worker holding it before
    /// another worker takes it over.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = positive_duration, allow_hyphen_values = true, help_heading = help::SHARED)]
    pub lease: Duration,

    /// Print the shared crawl's figures (queued, in flight, done, failed, dead, per level) as
    /// JSON, and exit.
    #[arg(long, requires = "redis", help_heading = help::SHARED)]
    pub status: bool,

    #[command(flatten)]
    pub auth: auth::AuthArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080, allow_negative_numbers = true, value_parser = count::<u16>)]
    pub port: u16,

    /// Delay before every response, as a slow real server would have [default: 50ms; with
    /// --replay: the recorded time to first byte]
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true, conflicts_with = "timing")]
    pub latency: Option<Duration>,

    /// Number of list pages (/list/1.html ...); each lists 20 posts.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = site_pages, allow_negative_numbers = true, conflicts_with = "replay")]
    pub pages: usize,

    /// Serve the responses of a WARC file (plain or .gz) instead of the blog, each at
    /// /<its archived URL>.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,

    /// With --replay: wait each response's recorded time to first byte, or not at all
    /// [default: recorded]
    #[arg(long, value_enum, requires = "replay")]
    pub timing: Option<Timing>,
}

/// How `serve --replay` paces its responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Timing {
    Recorded,
    None,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Delay before every response of the embedded site.
    #[arg(long, value_name = "DURATION", default_value = "50ms", value_parser = duration, allow_hyphen_values = true, conflicts_with = "replay")]
    pub latency: Duration,

    /// Number of list pages to crawl.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = thread_count, allow_negative_numbers = true, conflicts_with = "replay")]
    pub pages: usize,

    /// Compare the modes on a recorded crawl instead: the WARC file's responses, served
    /// in-process with their recorded timing, from its seeds to its recorded --depth.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,

    /// Fetch threads for the multi run.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = thread_count, allow_negative_numbers = true)]
    pub crawlers: usize,
}

/// Upper bound on pool sizes: past this, threads cost more than they give.
const MAX_THREADS: usize = 4096;

/// The reason a negative value gets, instead of clap's advice to write `-- -1`: counts, sizes
/// and durations take negative values in (allow_negative_numbers, allow_hyphen_values) so that
/// their parsers can say this.
const NEGATIVE: &str = "must not be negative";

/// A minus sign and then a number other than zero, with or without a unit (`-0` is no negative
/// number, only an odd way to write one).
fn negative(s: &str) -> bool {
    s.trim_start().strip_prefix('-').is_some_and(|rest| {
        let number = rest.trim_end_matches(|c: char| !c.is_ascii_digit() && c != '.');
        rest.starts_with(|c: char| c.is_ascii_digit() || c == '.')
            && number.contains(|c: char| ('1'..='9').contains(&c))
    })
}

/// A whole number that fits T.
fn count<T: TryFrom<u64>>(s: &str) -> Result<T, String> {
    if negative(s) {
        return Err(NEGATIVE.into());
    }
    let n: u64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number"))?;
    T::try_from(n).map_err(|_| "too large".into())
}

fn thread_count(s: &str) -> Result<usize, String> {
    if negative(s) {
        return Err(NEGATIVE.into());
    }
    let n: usize = s
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number"))?;
    match n {
        0 => Err("must be at least 1".into()),
        n if n > MAX_THREADS => Err(format!("must be at most {MAX_THREADS}")),
        n => Ok(n),
    }
}

/// A number of list pages for the embedded site.
fn site_pages(s: &str) -> Result<usize, String> {
    match page_count(s)? {
        n if n > MAX_PAGES as u64 => Err(format!("must be at most {MAX_PAGES}")),
        n => Ok(n as usize),
    }
}

/// A Redis URL the client can use: redis://[:PASSWORD@]HOST[:PORT][/DB].
fn redis_url(s: &str) -> Result<String, String> {
    if !s.starts_with("redis://") {
        return Err("must be redis://HOST[:PORT][/DB]".into());
    }
    redis::Client::open(s)
        .map(|_| s.to_string())
        .map_err(|e| format!("not a Redis URL: {e}"))
}

/// A replay server's address: on loopback only, since --from-replay is for replays, and the
/// requests it sends there bypass the private-address guard's look at where they go.
fn replay_server(s: &str) -> Result<std::net::SocketAddr, String> {
    let addr: std::net::SocketAddr = s
        .parse()
        .map_err(|_| "expected ADDR:PORT, e.g. 127.0.0.1:8080".to_string())?;
    if !addr.ip().is_loopback() {
        return Err(
            "must be a loopback address such as 127.0.0.1: it is for `crawl serve --replay`".into(),
        );
    }
    Ok(addr)
}

/// A shared crawl's name: the start of every key it keeps, so nothing that could read as a
/// key's own separator or need quoting in a shell.
fn job_name(s: &str) -> Result<String, String> {
    let fits = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    match s {
        "" => Err("must not be empty".into()),
        s if s.len() > 100 => Err("must be at most 100 characters".into()),
        s if !s.chars().all(fits) => Err("may hold only letters, digits, '-', '_' and '.'".into()),
        s => Ok(s.to_string()),
    }
}

fn css_selector(s: &str) -> Result<Select, String> {
    Select::parse(s)
}

/// Longest duration any option takes: far past any sensible wait, and far from the overflow of
/// adding it to a clock.
const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

fn duration(s: &str) -> Result<Duration, String> {
    if negative(s) {
        return Err(NEGATIVE.into());
    }
    match humantime::parse_duration(s).map_err(|e| format!("{e} (try e.g. 10s or 500ms)"))? {
        d if d > MAX_DURATION => Err("must be at most 30 days".into()),
        d => Ok(d),
    }
}

fn page_count(s: &str) -> Result<u64, String> {
    match count(s) {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(why) => Err(why),
    }
}

/// A User-Agent must fit in an HTTP header: visible ASCII, spaces and tabs, no line breaks.
fn user_agent(s: &str) -> Result<String, String> {
    reqwest::header::HeaderValue::from_str(s)
        .map(|_| s.to_string())
        .map_err(|_| "must be printable ASCII without line breaks (it is an HTTP header)".into())
}

fn positive_duration(s: &str) -> Result<Duration, String> {
    match duration(s)? {
        d if d.is_zero() => Err("must be longer than zero".into()),
        d => Ok(d),
    }
}

fn regex(s: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(s).map_err(|e| {
        let why = e.to_string();
        let last = why.lines().last().unwrap_or("bad regex").trim();
        // clap already says "error:"; the regex crate's last line starts with it too.
        last.trim_start_matches("error:").trim().to_string()
    })
}

fn byte_size(s: &str) -> Result<u64, String> {
    if negative(s) {
        return Err(NEGATIVE.into());
    }
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if unit.starts_with('.') {
        return Err(format!(
            "'{s}' is not a whole number (try e.g. 1536KiB for 1.5MiB)"
        ));
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{s}' is not a size (try e.g. 10MiB or 500KB)"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1000 * 1000,
        "mib" => 1 << 20,
        "g" | "gb" => 1000 * 1000 * 1000,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit '{other}' (use B, KB, KiB, MB, MiB, GB or GiB)"
            ))
        }
    };
    match n.checked_mul(scale) {
        Some(0) => Err("must be at least 1 byte".into()),
        Some(bytes) => Ok(bytes),
        None => Err("too large".into()),
    }
}

/// HOST:ADDR, or curl's HOST:PORT:ADDR, whose PORT is checked and dropped because the client
/// pins a name for every port; an IPv6 ADDR may be in brackets, and must be after a PORT when
/// it could be read as PORT:ADDR itself ("h:80:1::2" is 80:1::2, "h:80:[1::2]" port 80).
fn resolve_pin(s: &str) -> Result<(String, std::net::IpAddr), String> {
    let forms = "expected HOST:ADDR or HOST:PORT:ADDR, e.g. blog.example:127.0.0.1";
    let (host, rest) = s.split_once(':').ok_or(forms)?;
    if host.is_empty() {
        return Err(forms.into());
    }
    let not_an_ip = |addr: &str| format!("'{addr}' is not an IP address");
    let ip = match crate::fetch::private::parse_ip(rest) {
        Some(ip) => ip,
        None => match rest.split_once(':') {
            Some((port, addr)) if port.parse::<u16>().is_ok() => {
                crate::fetch::private::parse_ip(addr).ok_or_else(|| not_an_ip(addr))?
            }
            _ => return Err(not_an_ip(rest)),
        },
    };
    // `blog.example.` and `blog.example` are one host: the pin is kept without the dot, and
    // the clients answer for both spellings.
    Ok((host.trim_end_matches('.').to_ascii_lowercase(), ip))
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
pub fn clap_error(e: &clap::Error) -> ExitCode {
    match e.kind() {
        ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::Success
        }
        ClapErrorKind::ValueValidation | ClapErrorKind::InvalidValue => {
            if let Some(line) = validation_line(e) {
                crate::exit::note(line);
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
                Some(values) => crate::exit::note(format_args!("{first} {values}")),
                None => crate::exit::note(first),
            }
            ExitCode::Usage
        }
        _ => {
            let _ = e.print();
            ExitCode::Usage
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn counts_reject_zero_and_junk() {
        assert!(thread_count("0").is_err());
        assert!(thread_count("-1").is_err());
        assert!(thread_count("x").is_err());
        assert_eq!(thread_count("3"), Ok(3));
    }

    #[test]
    fn the_site_takes_up_to_a_million_posts_and_a_few_more() {
        assert_eq!(site_pages("50000"), Ok(50_000));
        assert_eq!(site_pages("100001"), Err("must be at most 100000".into()));
        assert_eq!(site_pages("0"), Err("must be at least 1".into()));
    }

    #[test]
    fn negative_values_say_so_whatever_their_unit() {
        let negative = Some(NEGATIVE.to_string());
        assert_eq!(count::<u32>("-1").err(), negative);
        assert_eq!(thread_count("-1").err(), negative);
        assert_eq!(page_count("-7").err(), negative);
        assert_eq!(duration("-1s").err(), negative);
        assert_eq!(duration("-.5s").err(), negative);
        assert_eq!(byte_size("-5MiB").err(), negative);
        // Other values that start with a hyphen are not numbers at all.
        assert_eq!(count::<u32>("-x"), Err("'-x' is not a whole number".into()));
        assert_eq!(count::<u32>("-0"), Err("'-0' is not a whole number".into()));
        assert_eq!(count::<u16>("65536"), Err("too large".into()));
        assert_eq!(count::<u16>("65535"), Ok(65535));
    }

    #[test]
    fn sizes_take_units() {
        assert_eq!(byte_size("10MiB"), Ok(10 << 20));
        assert_eq!(byte_size("500KB"), Ok(500_000));
        assert_eq!(byte_size("4096"), Ok(4096));
        assert!(byte_size("0").is_err());
        assert!(byte_size("ten").is_err());
        assert!(byte_size("5 parsecs").is_err());
    }

    #[test]
    fn resolve_pins_a_host_to_an_address() {
        let ip = "127.0.0.1".parse().unwrap();
        assert_eq!(
            resolve_pin("Blog.Example:127.0.0.1"),
            Ok(("blog.example".into(), ip))
        );
        assert!(resolve_pin("blog.example:8.8").is_err());
        assert!(resolve_pin("nocolon").is_err());
        assert!(resolve_pin(":127.0.0.1").is_err());
        // curl's form, with the port it names.
        let pin = |s| resolve_pin(s).map(|(host, ip)| format!("{host} {ip}"));
        assert_eq!(
            pin("blog.example:443:127.0.0.1"),
            Ok("blog.example 127.0.0.1".into())
        );
        assert_eq!(pin("blog.example:443:[::1]"), Ok("blog.example ::1".into()));
        assert_eq!(pin("blog.example:443:::1"), Ok("blog.example ::1".into()));
        assert_eq!(pin("blog.example:::1"), Ok("blog.example ::1".into()));
        assert_eq!(
            pin("blog.example:[fe80::1]"),
            Ok("blog.example fe80::1".into())
        );
        // A whole address comes first: this is an IPv6 address, not port 80.
        assert_eq!(
            pin("blog.example:80:1::2"),
            Ok("blog.example 80:1::2".into())
        );
        assert_eq!(
            pin("blog.example:80:[1::2]"),
            Ok("blog.example 1::2".into())
        );
        assert_eq!(
            pin("blog.example:http:127.0.0.1"),
            Err("'http:127.0.0.1' is not an IP address".into())
        );
        assert_eq!(
            pin("blog.example:99999:127.0.0.1"),
            Err("'99999:127.0.0.1' is not an IP address".into())
        );
        assert_eq!(
            pin("blog.example:80:localhost"),
            Err("'localhost' is not an IP address".into())
        );
    }

    #[test]
    fn a_replay_server_is_on_loopback() {
        assert_eq!(
            replay_server("127.0.0.1:8080"),
            Ok("127.0.0.1:8080".parse().unwrap())
        );
        assert!(replay_server("[::1]:80").is_ok());
        assert!(replay_server("127.0.0.2:80").is_ok());
        let refused = Err(
            "must be a loopback address such as 127.0.0.1: it is for `crawl serve --replay`"
                .to_string(),
        );
        assert_eq!(replay_server("10.0.0.1:80"), refused);
        assert_eq!(replay_server("93.184.216.34:80"), refused);
        assert!(replay_server("localhost:80").is_err());
        assert!(replay_server("127.0.0.1").is_err());
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("10s"), Ok(Duration::from_secs(10)));
        assert!(positive_duration("0s").is_err());
        assert!(duration("ten").is_err());
    }
}
