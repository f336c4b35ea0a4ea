//! The user's files, checked before any of them is touched: the output is never the URL file,
//! a report never overwrites the records, and whatever will be written can be.

use std::ffi::CString;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use crate::cli::CrawlArgs;
use crate::exit::UsageError;
use crate::output::landing;

/// The file behind a standard stream, if it has one.
pub(super) fn fd_metadata(stream: impl AsFd) -> Option<Metadata> {
    let fd = stream.as_fd().try_clone_to_owned().ok()?;
    File::from(fd).metadata().ok()
}

/// Refuses an output that is the URL file: crawl would read its own records back as URL lines
/// until the disk is full. `-o FILE` and stdout are both checked, against a URL file and
/// stdin; a terminal or a socket can be both, since what is written there is not read back.
pub(super) fn not_the_url_file(
    urls: &Path,
    source: Option<&Metadata>,
    output: Option<&Path>,
) -> Result<(), UsageError> {
    let input = match urls.as_os_str() == "-" {
        true => "the URL input (stdin)".to_string(),
        false => format!("the URL file '{}'", urls.display()),
    };
    let (sink, named) = match output {
        Some(path) => (
            std::fs::metadata(path).ok(),
            format!("the output file '{}'", path.display()),
        ),
        None => (fd_metadata(io::stdout()), "stdout".to_string()),
    };
    let same_path = output.is_some_and(|out| same_place(out, urls));
    let same_file = match (source, &sink) {
        (Some(a), Some(b)) => {
            let kind = a.file_type();
            a.dev() == b.dev() && a.ino() == b.ino() && !kind.is_char_device() && !kind.is_socket()
        }
        _ => false,
    };
    if same_path || same_file {
        return Err(UsageError(format!(
            "{named} is {input}: crawl would read its own records back as URL lines"
        )));
    }
    Ok(())
}

/// Refuses a --stats or --timeline file that is the URL file, the output or the other one:
/// each is replaced whole at the end, which would destroy what that file holds.
pub(super) fn not_overwritten(
    args: &CrawlArgs,
    urls: &Path,
    source: Option<&Metadata>,
) -> Result<(), UsageError> {
    let url_file = (urls.as_os_str() != "-").then_some(urls);
    let mut kept: Vec<(String, Option<&Path>, Option<Metadata>)> =
        vec![("the URL file".into(), url_file, source.cloned())];
    if let Some(out) = &args.output {
        kept.push((
            "the output file".into(),
            Some(out),
            std::fs::metadata(out).ok(),
        ));
    }
    if let Some(warc) = &args.warc {
        kept.push((
            "the --warc file".into(),
            Some(warc),
            std::fs::metadata(warc).ok(),
        ));
    }
    // Records and messages go to stdout and stderr, which may be files too (`> out.jsonl`).
    kept.push(("stdout's file".into(), None, fd_metadata(io::stdout())));
    kept.push(("stderr's file".into(), None, fd_metadata(io::stderr())));
    let jar = ("--cookie-jar", &args.auth.cookie_jar);
    for (flag, path) in [
        ("--stats", &args.stats),
        ("--timeline", &args.timeline),
        jar,
    ] {
        let Some(path) = path.as_deref() else {
            continue;
        };
        let meta = std::fs::metadata(path).ok();
        // A device or a pipe (/dev/null, /dev/stdout on a terminal) holds nothing to destroy.
        if meta.as_ref().is_some_and(|m| !m.is_file()) {
            continue;
        }
        let clash = kept.iter().find(|(_, other, other_meta)| {
            let same_path = other.is_some_and(|o| same_place(o, path));
            let same_file = match (&meta, other_meta) {
                (Some(a), Some(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
                _ => false,
            };
            same_path || same_file
        });
        if let Some((what, _, _)) = clash {
            return Err(UsageError(format!(
                "{flag} '{}' is {what}, which it would overwrite at the end",
                path.display()
            )));
        }
        kept.push((format!("the {flag} file"), Some(path), meta));
    }
    Ok(())
}

/// Whether `path` could be written at the end, checked without creating or truncating it: an
/// existing file must open for writing, a missing one needs a directory that takes new files.
pub(super) fn writable(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(io::Error::from_raw_os_error(libc::EISDIR)),
        // Opening a FIFO would wait for a reader, and closing it again would end that reader.
        Ok(meta) if !meta.is_file() => access(path, libc::W_OK),
        Ok(_) => OpenOptions::new().write(true).open(path).map(drop),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            access(dir, libc::W_OK | libc::X_OK)
        }
        Err(e) => Err(e),
    }
}

fn access(path: &Path, mode: libc::c_int) -> io::Result<()> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: c_path is a NUL-terminated string that outlives the call.
    match unsafe { libc::access(c_path.as_ptr(), mode) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Whether two paths name one file, whether it exists yet or not: through symbolic links, `.`
/// and `..`, and relative or absolute spellings alike.
fn same_place(a: &Path, b: &Path) -> bool {
    a == b || matches!((landing(a), landing(b)), (Some(a), Some(b)) if a == b)
}

/// Refuses a --warc file that is the URL file or the output: records or WARC bytes would be
/// mixed into the other, or read back as URL lines.
pub(super) fn not_the_warc_file(
    warc: &Path,
    urls: &Path,
    source: Option<&Metadata>,
    output: Option<&Path>,
) -> Result<(), UsageError> {
    let meta = std::fs::metadata(warc).ok();
    let same = |other: Option<&Path>, other_meta: Option<&Metadata>| {
        let same_path = other.is_some_and(|o| same_place(o, warc));
        let same_file = match (&meta, other_meta) {
            (Some(a), Some(b)) => a.is_file() && a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        };
        same_path || same_file
    };
    let url_file = (urls.as_os_str() != "-").then_some(urls);
    let output_meta = output.and_then(|o| std::fs::metadata(o).ok());
    // Without -o the records go to stdout, and messages always go to stderr: either may be a
    // file (`> out.jsonl`, `--warc /dev/stdout`), which WARC bytes must not be mixed into.
    let stdout_meta = output
        .is_none()
        .then(|| fd_metadata(io::stdout()))
        .flatten();
    let clash = if same(url_file, source) {
        Some("the URL file")
    } else if output.is_some() && same(output, output_meta.as_ref()) {
        Some("the output file")
    } else if same(None, stdout_meta.as_ref()) {
        Some("stdout's file, where the records go")
    } else if same(None, fd_metadata(io::stderr()).as_ref()) {
        Some("stderr's file")
    } else {
        None
    };
    match clash {
        Some(what) => Err(UsageError(format!(
            "--warc '{}' is {what}: the archive needs a file of its own",
            warc.display()
        ))),
        None => Ok(()),
    }
}
