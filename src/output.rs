//! The single owner of the output: whole lines to stdout or an appended file, and a closed pipe told apart from a failure.

pub mod record;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use crate::crawl::frontier::MAX_SITEMAP_NESTING;
use crate::output::record::Link;

pub struct Output {
    inner: BufWriter<Counted>,
    /// The file behind `inner`, when there is one, to fsync at the end.
    file: Option<File>,
    /// The path records are appended to; None for stdout.
    path: Option<PathBuf>,
}

/// Counts the lines that got past it whole, so that when the output breaks the user can be
/// told how many records it holds: what the OS took, not what waited in the buffer.
struct Counted {
    target: Box<dyn Write + Send>,
    lines: u64,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.target.write(buf)?;
        self.lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.target.flush()
    }
}

/// Why writing stopped.
#[derive(Debug)]
pub enum WriteError {
    /// The reader went away (`| head -1`): the user has what they wanted.
    Closed,
    Failed(io::Error),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            WriteError::Closed
        } else {
            WriteError::Failed(e)
        }
    }
}

impl Output {
    fn new(target: Box<dyn Write + Send>, file: Option<File>, path: Option<PathBuf>) -> Self {
        let counted = Counted { target, lines: 0 };
        Output {
            inner: BufWriter::with_capacity(64 * 1024, counted),
            file,
            path,
        }
    }

    /// Writes to stdout's own descriptor, so that what is counted as written is what the OS
    /// took; std's stdout would hold a part of a line back in a buffer of its own.
    pub fn stdout() -> Self {
        let target: Box<dyn Write + Send> = match io::stdout().as_fd().try_clone_to_owned() {
            Ok(fd) => Box::new(File::from(fd)),
            // A closed stdout: std's own handle treats it as a sink.
            Err(_) => Box::new(io::stdout()),
        };
        Output::new(target, None, None)
    }

    /// Appends, so a second run adds to the records of the first instead of destroying them.
    /// A file whose last line was torn (by kill -9, say) gets a newline first, so that the new
    /// records start on lines of their own; --resume cuts such a line instead.
    pub fn append(path: &Path) -> io::Result<Self> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        // Only a regular file has a last byte to look at, or anything for fsync to keep; a pipe
        // or a device (-o /dev/stdout) has neither.
        let regular = file.metadata()?.is_file();
        if regular && file.seek(SeekFrom::End(0))? > 0 {
            let mut last = [0u8];
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        let sync = if regular {
            Some(file.try_clone()?)
        } else {
            None
        };
        Ok(Output::new(Box::new(file), sync, Some(path.to_path_buf())))
    }

    pub fn discard() -> Self {
        Output::new(Box::new(io::sink()), None, None)
    }

    /// The file records go to; None for stdout.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// `line` must end in a newline; lines are only ever written whole.
    pub fn write_line(&mut self, line: &[u8]) -> Result<(), WriteError> {
        debug_assert_eq!(line.last(), Some(&b'\n'));
        self.inner.write_all(line)?;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.inner.flush()?;
        Ok(())
    }

    /// Flushes and, for a file, waits until the records are on disk, so they survive a power cut.
    pub fn finish(&mut self) -> Result<(), WriteError> {
        self.flush()?;
        if let Some(file) = &self.file {
            file.sync_all()?;
        }
        Ok(())
    }

    /// After a write failed: drops what is still buffered, rather than try again when dropped
    /// (which could add lines after they were counted), and says how many lines were written.
    pub fn abandon(self) -> u64 {
        let (counted, _buffered) = self.inner.into_parts();
        counted.lines
    }
}

/// Writes `bytes` as the whole of FILE, or leaves FILE as it was: a report written at the end
/// of a crawl must not turn an earlier one into an empty file when the disk is full. The bytes
/// go to a new file beside it, which then takes its place.
pub fn replace_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let meta = std::fs::metadata(path).ok();
    // A pipe or a device (--stats /dev/stdout) has nothing to lose, and cannot be replaced.
    if meta.as_ref().is_some_and(|m| !m.is_file()) {
        return std::fs::write(path, bytes);
    }
    // Through a link, the file it points to is replaced; the link stays.
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return std::fs::write(path, bytes);
    };
    let mut beside = std::ffi::OsString::from(".");
    beside.push(name);
    beside.push(format!(".crawl-{}", std::process::id()));
    let temp = dir.join(beside);
    let written = (|| {
        let mut file = File::create(&temp)?;
        if let Some(meta) = &meta {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    match written {
        // A directory that takes no new files, around a file that may be written: in place.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => std::fs::write(path, bytes),
        other => other,
    }
}

/// What FILE already holds, for `--resume`.
#[derive(Debug, Default)]
pub struct Resumed {
    /// The URL of every record, so those URLs are not crawled again.
    pub done: HashSet<String>,
    /// Where each recorded sitemap landed, and its parent: enough to count how many sitemaps
    /// in a row listed one.
    pub sitemaps: HashMap<String, Option<String>>,
    /// The depths the records have, so that following them again can take one level at a time.
    pub depths: BTreeSet<u32>,
    /// When the last line is a torn record: the length of the whole lines before it, and of
    /// the file as it was read.
    torn: Option<(u64, u64)>,
}

/// Why --resume will not take FILE up.
#[derive(Debug)]
pub enum ResumeError {
    Io(io::Error),
    /// This line (counted from 1) is not a crawl record, so FILE is not crawl's to change.
    NotRecord(u64),
}

impl From<io::Error> for ResumeError {
    fn from(e: io::Error) -> Self {
        ResumeError::Io(e)
    }
}

/// How every record starts: crawl writes `url` first, without spaces.
const RECORD_START: &[u8] = b"{\"url\":";

/// Whether `bytes` can be the start of a record: they begin with RECORD_START, or are a
/// beginning of it (a write can stop after any byte).
fn starts_like_record(bytes: &[u8]) -> bool {
    let n = bytes.len().min(RECORD_START.len());
    n > 0 && bytes[..n] == RECORD_START[..n]
}

/// Reads the next line, newline included, into `line` (empty at the end). Reading stops early
/// once the line cannot be a record: a file that is not crawl's may have no newline at all.
fn next_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<()> {
    line.clear();
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(());
        }
        let (used, ended) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        line.extend_from_slice(&chunk[..used]);
        reader.consume(used);
        if ended || !starts_like_record(line) {
            return Ok(());
        }
    }
}

/// Whether a record is a sitemap's rather than a page's: fetched and parsed without error, yet
/// not decoded, which the record schema promises of sitemaps alone (`encoding`).
fn is_sitemap<T>(final_url: Option<&str>, encoding: &Option<T>, error: &Option<T>) -> bool {
    final_url.is_some() && encoding.is_none() && error.is_none()
}

/// Reads FILE for `--resume`, changing nothing: what its records say was crawled, and whether a
/// torn record ends it. A line that is not crawl's refuses the whole file, since cutting or
/// appending to someone else's file would destroy it. Only a regular file is read: a pipe or a
/// device has no records to read back.
pub fn resume(path: &Path) -> Result<Resumed, ResumeError> {
    #[derive(serde::Deserialize)]
    struct Seen {
        url: String,
        final_url: Option<String>,
        parent: Option<String>,
        #[serde(default)]
        depth: u32,
        encoding: Option<serde::de::IgnoredAny>,
        error: Option<serde::de::IgnoredAny>,
    }
    let mut resumed = Resumed::default();
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Ok(resumed),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(resumed),
        Err(e) => return Err(e.into()),
    }
    let mut reader = BufReader::new(File::open(path)?);
    let (mut whole, mut number, mut line) = (0u64, 0u64, Vec::new());
    loop {
        next_line(&mut reader, &mut line)?;
        if line.is_empty() {
            break;
        }
        number += 1;
        // A torn record that a later run ended with a newline can be as short as a torn one.
        if !starts_like_record(line.strip_suffix(b"\n").unwrap_or(&line)) {
            return Err(ResumeError::NotRecord(number));
        }
        // A record that does not parse was torn by an earlier run and ended with a newline by
        // the next one that appended (see Output::append): crawl's, and no record.
        let seen = serde_json::from_slice::<Seen>(&line);
        if line.last() != Some(&b'\n') {
            // The end of the file, in the middle of a record (kill -9 or a full disk), unless
            // the record is whole and only its newline is missing: that one is kept, and the
            // next record appended gets a line of its own (see Output::append).
            if seen.is_err() {
                resumed.torn = Some((whole, whole + line.len() as u64));
                break;
            }
        }
        whole += line.len() as u64;
        if let Ok(seen) = seen {
            if is_sitemap(seen.final_url.as_deref(), &seen.encoding, &seen.error) {
                let landed = seen.final_url.clone().unwrap_or_default();
                resumed.sitemaps.insert(landed, seen.parent);
            }
            resumed.depths.insert(seen.depth);
            resumed.done.insert(seen.url);
        }
    }
    Ok(resumed)
}

impl Resumed {
    /// Cuts the torn record `resume` found at the end of FILE, if any, so that the records
    /// appended next start on a line of their own. Called once every other check has passed.
    pub fn cut_torn_record(&self, path: &Path) -> io::Result<()> {
        let Some((whole, len)) = self.torn else {
            return Ok(());
        };
        let file = OpenOptions::new().write(true).open(path)?;
        // Cut only what was read: a file that changed since could have anything at `whole`.
        if file.metadata()?.len() != len {
            return Err(io::Error::other("it changed while it was being read"));
        }
        file.set_len(whole)?;
        file.sync_all()
    }
}

/// A recorded page, as much as following its links again needs.
#[derive(serde::Deserialize)]
pub struct Recorded {
    pub url: String,
    pub final_url: Option<String>,
    pub depth: u32,
    pub parent: Option<String>,
    pub links: Vec<Link>,
    pub encoding: Option<serde::de::IgnoredAny>,
    pub error: Option<serde::de::IgnoredAny>,
}

impl Recorded {
    pub fn is_sitemap(&self) -> bool {
        is_sitemap(self.final_url.as_deref(), &self.encoding, &self.error)
    }
}

/// --resume follows the entries of the sitemaps FILE recorded and, with --depth, the links of
/// its pages: its path, its sitemaps and the depths of its records.
pub struct Refollow {
    pub path: std::path::PathBuf,
    pub sitemaps: HashMap<String, Option<String>>,
    pub depths: BTreeSet<u32>,
}

impl Refollow {
    /// How many sitemaps in a row listed a recorded sitemap whose parent is `parent`: its own
    /// record does not say, but the records of the sitemaps above it do.
    pub fn nesting<'a>(&'a self, mut parent: Option<&'a str>) -> u8 {
        let mut nesting = 0;
        // Counting stops where expanding does, which also ends a loop of parents, should
        // redirects ever make one.
        while nesting < MAX_SITEMAP_NESTING {
            match parent.and_then(|p| self.sitemaps.get(p)) {
                Some(above) => {
                    nesting += 1;
                    parent = above.as_deref();
                }
                None => break,
            }
        }
        nesting
    }
}

/// Reads the records of FILE (already cut to whole lines by `resume`) one at a time.
pub fn recorded(path: &Path, mut each: impl FnMut(Recorded)) -> io::Result<()> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line)? > 0 {
        if let Ok(page) = serde_json::from_slice::<Recorded>(&line) {
            each(page);
        }
        line.clear();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appending_after_a_torn_line_starts_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, "{\"url\":\"http://a/\"}\n{\"url\":\"http://to").unwrap();
        for _ in 0..2 {
            let mut out = Output::append(&path).unwrap();
            out.write_line(b"{\"url\":\"http://b/\"}\n").unwrap();
            out.finish().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2..],
            ["{\"url\":\"http://b/\"}", "{\"url\":\"http://b/\"}"]
        );
        assert_eq!(lines.len(), 4, "{text}");
    }

    #[test]
    fn resume_cuts_a_torn_line_and_lists_urls() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let whole = "{\"url\":\"http://a/\",\"status\":200}\n{\"url\":\"http://b/\"}\n";
        for torn in ["{\"url\":\"http://c/\",\"sta", "{\"u", "{"] {
            let text = format!("{whole}{torn}");
            std::fs::write(&path, &text).unwrap();
            let resumed = resume(&path).unwrap();
            let want = HashSet::from(["http://a/".to_string(), "http://b/".to_string()]);
            assert_eq!(resumed.done, want);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "read only");
            resumed.cut_torn_record(&path).unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
        }
        assert_eq!(
            resume(&dir.path().join("none")).unwrap().done,
            HashSet::new()
        );
    }

    #[test]
    fn a_report_replaces_its_file_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, "old\n").unwrap();
        replace_whole(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        replace_whole(&link, b"newer\n").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "newer\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "no temporary file is left");
    }

    #[test]
    fn resume_keeps_a_whole_last_record_that_lacks_only_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let text = "{\"url\":\"http://a/\"}\n{\"url\":\"http://mine/\",\"my\":\"precious data\"}";
        std::fs::write(&path, text).unwrap();
        let resumed = resume(&path).unwrap();
        resumed.cut_torn_record(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        assert!(resumed.done.contains("http://mine/"));
    }

    #[test]
    fn resume_skips_a_torn_record_a_later_run_ended_with_a_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let text = "{\"url\":\"http://a/\",\"sta\n{\"ur\n{\"url\":\"http://b/\"}\n";
        std::fs::write(&path, text).unwrap();
        let resumed = resume(&path).unwrap();
        assert_eq!(resumed.done, HashSet::from(["http://b/".to_string()]));
        resumed.cut_torn_record(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn resume_refuses_a_file_with_a_line_that_is_not_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        let record = "{\"url\":\"http://a/\"}\n";
        for (text, line) in [
            (format!("{record}{record}a note\n{record}"), 3),
            (format!("{record}\n"), 2),
            (format!("{record}{record}a torn note"), 3),
            ("{\"status\":200,\"url\":\"http://a/\"}\n".to_string(), 1),
            ("\u{0}\u{1}binary, no newline at all".to_string(), 1),
        ] {
            std::fs::write(&path, &text).unwrap();
            match resume(&path) {
                Err(ResumeError::NotRecord(n)) => assert_eq!(n, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }
}
