//! Reads a file of records back for --resume, changing nothing until every check has passed:
//! what was crawled, whether a torn record ends it, and whether it is crawl's at all.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use super::record::Link;

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

/// The lines of a file of records, counted from 1, each checked to start like one: the rule
/// that --resume and --since share for telling crawl's output from any other file.
pub struct Lines<R> {
    reader: R,
    line: Vec<u8>,
    number: u64,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Self {
        Lines {
            reader,
            line: Vec::new(),
            number: 0,
        }
    }

    /// The next line, newline included if it has one; None at the end; NotRecord when the line
    /// is not crawl's. A line that starts like a record need not parse as one: it may be torn.
    pub fn next_record(&mut self) -> Result<Option<&[u8]>, ResumeError> {
        next_line(&mut self.reader, &mut self.line)?;
        if self.line.is_empty() {
            return Ok(None);
        }
        self.number += 1;
        // A torn record that a later run ended with a newline can be as short as a torn one.
        let line = &self.line;
        if !starts_like_record(line.strip_suffix(b"\n").unwrap_or(line)) {
            return Err(ResumeError::NotRecord(self.number));
        }
        Ok(Some(self.line.as_slice()))
    }
}

/// Whether a record is a sitemap's rather than a page's: fetched and parsed without error, yet
/// not decoded, which the record schema promises of sitemaps alone (`encoding`).
pub(super) fn is_sitemap<T, U>(
    final_url: Option<&str>,
    encoding: &Option<T>,
    error: &Option<U>,
) -> bool {
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
    let mut lines = Lines::new(BufReader::new(File::open(path)?));
    let mut whole = 0u64;
    while let Some(line) = lines.next_record()? {
        // A record that does not parse was torn by an earlier run and ended with a newline by
        // the next one that appended (see Output::append): crawl's, and no record.
        let seen = serde_json::from_slice::<Seen>(line);
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
