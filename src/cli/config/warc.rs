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
    let command: Vec<String> = std::env::args()
        .map(|arg| redact::mask(&arg).into_owned())
        .collect();
    vec![
        ("software", format!("crawl/{}", env!("CARGO_PKG_VERSION"))),
        ("format", "WARC File Format 1.1".into()),
        ("command", command.join(" ")),
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
