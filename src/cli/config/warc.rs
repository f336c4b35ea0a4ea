//! --warc at start-up: the file is checked with the others before anything changes, then its
//! torn end (if any) is cut, the run's warcinfo written and the writer started.

use std::fs::{Metadata, OpenOptions};
use std::path::{Path, PathBuf};

use super::files::{not_the_warc_file, writable};
use crate::archive::file::{self, Existing, Refusal};
use crate::archive::record;
use crate::archive::writer::{self, Archive, Writer};
use crate::cli::CrawlArgs;
use crate::exit::UsageError;
use crate::urls::redact;

/// The archive to write, checked and not yet touched.
pub(super) struct Planned {
    path: PathBuf,
    existing: Existing,
    info: Vec<(&'static str, String)>,
}

/// Checks --warc's file, changing nothing: it can be written, it is neither the URL file nor
/// the output, and if it holds anything, that is WARC records crawl may append to.
pub(super) fn check(
    args: &CrawlArgs,
    urls: &Path,
    source: Option<&Metadata>,
) -> Result<Option<Planned>, UsageError> {
    let Some(path) = &args.warc else {
        return Ok(None);
    };
    let shown = path.display();
    let not_regular = || {
        UsageError(format!(
            "--warc '{shown}' is not a regular file: an archive needs one"
        ))
    };
    // `-` is not stdout here: stdout carries the records.
    if path.as_os_str() == "-" {
        return Err(not_regular());
    }
    file::regular(path).map_err(|refusal| match refusal {
        Refusal::Io(e) => UsageError(format!("cannot write WARC file '{shown}': {e}")),
        _ => not_regular(),
    })?;
    writable(path).map_err(|e| UsageError(format!("cannot write WARC file '{shown}': {e}")))?;
    not_the_warc_file(path, urls, source, args.output.as_deref())?;
    let existing = file::check(path, writer::is_gzip(path)).map_err(|refusal| match refusal {
        Refusal::Io(e) => UsageError(format!("cannot read WARC file '{shown}': {e}")),
        Refusal::NotRegular => not_regular(),
        Refusal::NotWarc(why) => UsageError(format!(
            "--warc '{shown}' is not a WARC file ({why}); crawl only appends to one; nothing was changed"
        )),
        Refusal::Damaged(at) => UsageError(format!(
            "--warc '{shown}': the record at byte {at} is damaged, so crawl cannot append after \
             it; nothing was changed"
        )),
    })?;
    Ok(Some(Planned {
        path: path.clone(),
        existing,
        info: info(args),
    }))
}

impl Planned {
    /// Cuts a torn last record, opens the file for appending and starts the writer with this
    /// run's warcinfo.
    pub(super) fn start(self) -> anyhow::Result<(Archive, Writer)> {
        let path = &self.path;
        let cannot = |e: std::io::Error| {
            anyhow::Error::new(e).context(format!("cannot write WARC file '{}'", path.display()))
        };
        self.existing.cut_torn_record(path).map_err(cannot)?;
        let file =
            file::open(path, OpenOptions::new().create(true).append(true)).map_err(cannot)?;
        let info = record::warcinfo(&self.info, writer::is_gzip(path));
        writer::start(file, path, info).map_err(cannot)
    }
}

/// The warcinfo fields: what wrote the file, and the options that shaped the crawl.
fn info(args: &CrawlArgs) -> Vec<(&'static str, String)> {
    let command = command_line(std::env::args());
    vec![
        ("software", format!("crawl/{}", env!("CARGO_PKG_VERSION"))),
        ("format", "WARC File Format 1.1".into()),
        ("command", command),
        ("mode", format!("{:?}", args.mode).to_lowercase()),
        ("crawlers", args.crawlers.to_string()),
        ("depth", args.depth.to_string()),
        ("max-bytes", args.max_bytes.to_string()),
        ("max-redirects", args.max_redirects.to_string()),
        (
            "timeout",
            humantime::format_duration(args.timeout).to_string(),
        ),
        ("delay", humantime::format_duration(args.delay).to_string()),
        (
            "robots",
            if args.no_robots { "ignored" } else { "obeyed" }.into(),
        ),
        ("user-agent", args.user_agent.clone()),
    ]
}

/// The options whose values may be secrets: a header (a token), cookies (a session), a proxy
/// (its password, which may come without a scheme, so URL masking misses it).
const SECRET: [(&str, &str); 3] = [("-H", "--header"), ("-b", "--cookie"), ("-x", "--proxy")];

/// The command line as the archive tells it, without the secrets an archive passed on must not
/// carry: URL passwords masked, and the values of -H, -b and -x replaced by `***` (a header
/// keeps its name, so the archive still says what was sent).
fn command_line(args: impl Iterator<Item = String>) -> String {
    let hidden = |option: &str, value: &str| match option {
        "-H" => match value.split_once(':') {
            Some((name, _)) => format!("{name}: ***"),
            None => "***".to_string(),
        },
        _ => "***".to_string(),
    };
    let mut out = Vec::new();
    let mut secret: Option<&str> = None;
    for arg in args {
        if let Some(option) = secret.take() {
            out.push(hidden(option, &arg));
            continue;
        }
        let found = SECRET.iter().find_map(|&(short, long)| {
            if arg == short || arg == long {
                return Some((short, None));
            }
            let attached = arg.strip_prefix(&format!("{long}=")).or_else(|| {
                arg.strip_prefix(short)
                    .filter(|rest| !rest.is_empty() && !arg.starts_with("--"))
            });
            attached.map(|value| (short, Some(value)))
        });
        match found {
            Some((short, None)) => {
                secret = Some(short);
                out.push(arg);
            }
            Some((short, Some(value))) => {
                let option = &arg[..arg.len() - value.len()];
                out.push(format!("{option}{}", hidden(short, value)));
            }
            None => out.push(redact::mask(&arg).into_owned()),
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archived_command_line_keeps_no_secret() {
        let args = [
            "crawl",
            "-H",
            "Authorization: Bearer TOKEN",
            "--header=X-Key: K",
            "-HX-Other: O",
            "-b",
            "sid=SESSION",
            "--cookie=a=b",
            "-x",
            "user:pa55@127.0.0.1:3128",
            "--proxy=http://u:p@127.0.0.1:3128",
            "http://user:secret@blog.example/",
            "--depth",
            "2",
        ];
        let line = command_line(args.iter().map(|s| s.to_string()));
        assert_eq!(
            line,
            "crawl -H Authorization: *** --header=X-Key: *** -HX-Other: *** -b *** --cookie=*** \
             -x *** --proxy=*** http://user:***@blog.example/ --depth 2"
        );
    }
}
