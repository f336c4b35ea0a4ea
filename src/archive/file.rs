//! The archive file before the crawl: crawl appends only to a regular file that holds WARC
//! records (never to a user's other file, a pipe or a device), and cuts nothing but a record torn
//! at the very end, as a kill while crawl wrote it leaves one, so that what follows it reads.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

/// What every gzip member crawl writes starts with: the magic bytes and deflate's method.
const GZIP_START: &[u8] = &[0x1f, 0x8b, 0x08];

/// What a WARC record's first line starts with, before the minor version's digits.
const VERSION: &[u8] = b"WARC/1.";

/// The longest header line looked at: a longer one is no WARC writer's.
const MAX_LINE: u64 = 1 << 20;

/// An existing archive, read and found fit to append to.
#[derive(Debug, Default)]
pub struct Existing {
    /// The length of its whole records, and of the file as read, when a torn record ends it.
    torn: Option<(u64, u64)>,
}

/// Why crawl will not append to the file.
#[derive(Debug)]
pub enum Refusal {
    Io(io::Error),
    /// A FIFO, a device, a socket or a directory: opening one may block, and writing or syncing
    /// it fails or loses the records.
    NotRegular,
    /// It holds something else than WARC records (of the kind its name says).
    NotWarc(&'static str),
    /// A record that is not at the end is damaged, or what follows the records is not a record
    /// crawl could have begun: cutting there would lose what follows.
    Damaged(u64),
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Self {
        Refusal::Io(e)
    }
}

/// Refuses a path that names something other than a regular file (through symbolic links); a
/// path that does not exist yet is fine, the archive is created there.
pub fn regular(path: &Path) -> Result<Option<Metadata>, Refusal> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Some(meta)),
        Ok(_) => Err(Refusal::NotRegular),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Opens the archive with `options`, never blocking on a FIFO swapped in since it was checked,
/// and refusing anything but a regular file.
pub fn open(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let file = open_unblocked(path, options)?;
    match file.metadata()?.is_file() {
        true => Ok(file),
        false => Err(io::Error::other("it is not a regular file")),
    }
}

/// Opens `path` without waiting for a FIFO's other end; a regular file is then set back to
/// blocking, as the writer expects (the flag means nothing for one, but should not linger).
fn open_unblocked(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let file = options.custom_flags(libc::O_NONBLOCK).open(path)?;
    if file.metadata()?.is_file() {
        let fd = file.as_raw_fd();
        // SAFETY: plain fcntl calls on a descriptor owned by `file`, which outlives them.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(file)
}

/// Reads the file at `path`, if it is there with anything in it, changing nothing. It must be a
/// WARC: a plain one starts with a whole `WARC/1.x` line, a `.gz` one with a gzip member that
/// decodes to whole records. Every record must be whole but maybe the last, which may be torn
/// only as crawl could have left it: after a whole record, or with its own header whole.
pub fn check(path: &Path, gzip: bool) -> Result<Existing, Refusal> {
    match regular(path)? {
        Some(meta) if meta.len() > 0 => {}
        _ => return Ok(Existing::default()),
    }
    let file = open_unblocked(path, OpenOptions::new().read(true))?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Refusal::NotRegular);
    }
    let len = meta.len();
    let whole = match gzip {
        true => whole_members(&file, len)?,
        false => whole_records(&file)?,
    };
    Ok(Existing {
        torn: (whole < len).then_some((whole, len)),
    })
}

impl Existing {
    /// Cuts the torn record `check` found at the end, if any. Called once every other check
    /// has passed.
    pub fn cut_torn_record(&self, path: &Path) -> io::Result<()> {
        let Some((whole, len)) = self.torn else {
            return Ok(());
        };
        let file = open(path, OpenOptions::new().write(true))?;
        if file.metadata()?.len() != len {
            return Err(io::Error::other("it changed while it was being read"));
        }
        file.set_len(whole)?;
        file.sync_all()
    }

    pub fn torn(&self) -> bool {
        self.torn.is_some()
    }
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// How a stream of records ends, as `scan` read it.
#[derive(Debug, PartialEq)]
enum End {
    /// After a whole record (or at once, if empty).
    Clean,
    /// Inside a record's first line, which so far reads as a `WARC/1.x` one.
    TornVersion,
    /// Inside a record's header lines.
    TornHeader,
    /// After a record's whole header: in its block or the blank lines that close it.
    TornBlock,
    /// Where bytes no WARC writer writes there stand.
    Bad,
}

/// What `scan` found: the whole records, and how the stream ends after them.
#[derive(Debug)]
struct Scan {
    records: u64,
    /// The length of the whole records.
    whole: u64,
    end: End,
}

/// Reads WARC records to the end of `reader` (or to the first bytes that are none): each a
/// `WARC/1.x` line, header lines `Name: value`, a blank line, Content-Length bytes and two line
/// ends, every line ending in CRLF. Bytes the end cuts are judged as far as they go.
fn scan(reader: &mut impl BufRead) -> io::Result<Scan> {
    let mut scan = Scan {
        records: 0,
        whole: 0,
        end: End::Clean,
    };
    let mut line = Vec::new();
    loop {
        let mut read = read_line(reader, &mut line)?;
        if line.is_empty() {
            return Ok(scan);
        }
        if !version_line(&line) {
            scan.end = End::Bad;
            return Ok(scan);
        }
        if !line.ends_with(b"\n") {
            scan.end = End::TornVersion;
            return Ok(scan);
        }
        let mut length = None;
        loop {
            read += read_line(reader, &mut line)?;
            if line == b"\r\n" {
                break;
            }
            if !header_line(&line) {
                scan.end = End::Bad;
                return Ok(scan);
            }
            if !line.ends_with(b"\n") {
                scan.end = End::TornHeader;
                return Ok(scan);
            }
            let text = String::from_utf8_lossy(&line);
            if let Some((name, value)) = text.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<u64>().ok();
                }
            }
        }
        let Some(length) = length else {
            scan.end = End::Bad;
            return Ok(scan);
        };
        let skipped = io::copy(&mut reader.take(length), &mut io::sink())?;
        let mut close = [0u8; 4];
        let n = match skipped == length {
            true => read_up_to(reader, &mut close)?,
            false => 0,
        };
        if close[..n] != b"\r\n\r\n"[..n] {
            scan.end = End::Bad;
            return Ok(scan);
        }
        if n < 4 {
            scan.end = End::TornBlock;
            return Ok(scan);
        }
        scan.records += 1;
        scan.whole += read + length + 4;
    }
}

/// Reads one line into `line` (at most MAX_LINE bytes): what was read, ending in `\n` unless
/// the end of the stream (or the limit) came first.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<u64> {
    line.clear();
    reader.take(MAX_LINE).read_until(b'\n', line)?;
    Ok(line.len() as u64)
}

/// Whether `line` is a record's first line, `WARC/1.x` and CRLF, or (cut by the end, with no
/// `\n`) could be the start of one.
fn version_line(line: &[u8]) -> bool {
    let (text, whole) = match line.strip_suffix(b"\n") {
        Some(text) => match text.strip_suffix(b"\r") {
            Some(text) => (text, true),
            None => return false,
        },
        None => match line.strip_suffix(b"\r") {
            Some(text) => (text, true),
            None => (line, false),
        },
    };
    if text.len() < VERSION.len() {
        return !whole && VERSION.starts_with(text);
    }
    let (start, minor) = text.split_at(VERSION.len());
    start == VERSION && minor.iter().all(u8::is_ascii_digit) && (!minor.is_empty() || !whole)
}

/// Whether `line` is a header line, `Name: value` and CRLF or a folded continuation of one, or
/// (cut by the end, with no `\n`) could be the start of one.
fn header_line(line: &[u8]) -> bool {
    let text = match line.strip_suffix(b"\n") {
        Some(text) => match text.strip_suffix(b"\r") {
            Some(text) => text,
            None => return false,
        },
        None => line.strip_suffix(b"\r").unwrap_or(line),
    };
    if text.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
        return true;
    }
    let whole = line.ends_with(b"\n");
    let name = match text.iter().position(|b| *b == b':') {
        Some(colon) if colon > 0 => &text[..colon],
        Some(_) => return false,
        None if whole => return false,
        None => text,
    };
    name.iter()
        .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(b))
}

/// The length of the whole records a plain WARC starts with; what follows them, if anything,
/// must be a torn last record.
fn whole_records(file: &File) -> Result<u64, Refusal> {
    let scan = scan(&mut BufReader::new(file))?;
    match (scan.end, scan.records) {
        (End::Clean | End::TornBlock, _) => Ok(scan.whole),
        (End::TornVersion | End::TornHeader, 1..) => Ok(scan.whole),
        (End::TornHeader, 0) => Err(Refusal::NotWarc("it ends inside its first record's header")),
        (End::TornVersion | End::Bad, 0) => Err(Refusal::NotWarc(
            "it does not start with a whole 'WARC/1.x' line",
        )),
        (End::Bad, _) => Err(Refusal::Damaged(scan.whole)),
    }
}

/// Counts the bytes read through it, so that a member's end can be told.
struct Counted<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// A gzip member's decoded bytes, ending where the member does, where the file cuts it short
/// (`torn`), or where it turns out corrupt (`corrupt`).
struct Decoded<R> {
    inner: R,
    torn: bool,
    corrupt: bool,
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.torn || self.corrupt {
            return Ok(0);
        }
        match self.inner.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => self.torn = true,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
                ) =>
            {
                self.corrupt = true
            }
            other => return other,
        }
        Ok(0)
    }
}

/// The length of the whole gzip members a file starts with, each holding whole records; what
/// follows them, if anything, must be a member the end of the file cuts, its records as far as
/// they go torn only as `scan` allows.
fn whole_members(file: &File, len: u64) -> Result<u64, Refusal> {
    let mut reader = BufReader::new(Counted {
        inner: file,
        count: 0,
    });
    let mut whole = 0u64;
    loop {
        if reader.fill_buf()?.is_empty() {
            return Ok(whole);
        }
        let refuse = |why| match whole {
            0 => Refusal::NotWarc(why),
            at => Refusal::Damaged(at),
        };
        let mut start = [0u8; 3];
        let n = read_at_up_to(file, &mut start, whole)?;
        if start[..n] != GZIP_START[..n] {
            return Err(refuse(
                "it does not start with a gzip member, as a .warc.gz does",
            ));
        }
        let mut member = flate2::bufread::GzDecoder::new(reader);
        let mut decoded = BufReader::new(Decoded {
            inner: &mut member,
            torn: false,
            corrupt: false,
        });
        let scan = scan(&mut decoded)?;
        let Decoded { torn, corrupt, .. } = decoded.into_inner();
        reader = member.into_inner();
        let not_records = "its first gzip member does not decode to whole WARC/1.x records";
        if corrupt || scan.end == End::Bad {
            return Err(refuse(not_records));
        }
        if torn {
            if reader.get_ref().count < len {
                return Err(refuse(not_records));
            }
            let header_whole = scan.records > 0 || scan.end == End::TornBlock;
            if whole == 0 && !header_whole {
                return Err(Refusal::NotWarc("it ends inside its first record's header"));
            }
            return Ok(whole);
        }
        if scan.end != End::Clean || scan.records == 0 {
            return Err(refuse(not_records));
        }
        whole = reader.get_ref().count - reader.buffer().len() as u64;
    }
}

fn read_at_up_to(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::super::record;
    use super::*;

    fn info(gzip: bool) -> Vec<u8> {
        record::warcinfo(&[("software", "crawl/test".into())], gzip)
    }

    #[test]
    fn a_torn_last_record_is_cut_and_whole_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        for gzip in [false, true] {
            let path = dir.path().join(if gzip { "a.warc.gz" } else { "a.warc" });
            let whole = [info(gzip), info(gzip)].concat();
            std::fs::write(&path, &whole).unwrap();
            let existing = check(&path, gzip).unwrap();
            assert!(!existing.torn(), "gzip {gzip}");
            let next = info(gzip);
            for cut in [1, 3, 20, next.len() - 1] {
                let text = [&whole[..], &next[..cut]].concat();
                std::fs::write(&path, &text).unwrap();
                let existing = check(&path, gzip).unwrap();
                assert!(existing.torn(), "gzip {gzip}, cut {cut}");
                assert_eq!(std::fs::read(&path).unwrap(), text, "read only");
                existing.cut_torn_record(&path).unwrap();
                assert_eq!(
                    std::fs::read(&path).unwrap(),
                    whole,
                    "gzip {gzip}, cut {cut}"
                );
            }
        }
    }

    fn gzip_of(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_torn_first_record_is_cut_only_once_its_header_is_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.warc");
        let record = info(false);
        let header = record.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        for cut in [header, header + 1, record.len() - 1] {
            std::fs::write(&path, &record[..cut]).unwrap();
            let existing = check(&path, false).unwrap();
            existing.cut_torn_record(&path).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"", "cut {cut}");
        }
        for cut in [1, 9, 10, header - 1] {
            std::fs::write(&path, &record[..cut]).unwrap();
            assert!(
                matches!(check(&path, false), Err(Refusal::NotWarc(_))),
                "cut {cut}"
            );
        }
        let path = dir.path().join("a.warc.gz");
        let member = info(true);
        std::fs::write(&path, &member[..member.len() - 1]).unwrap();
        check(&path, true).unwrap().cut_torn_record(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        let only_header = gzip_of(&record[..header - 2]);
        for text in [&member[..3], &member[..12], &only_header[..]] {
            std::fs::write(&path, text).unwrap();
            assert!(matches!(check(&path, true), Err(Refusal::NotWarc(_))));
        }
    }

    #[test]
    fn what_follows_the_records_is_cut_only_if_crawl_could_have_begun_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.warc");
        let whole = info(false);
        for tail in [
            &b"W"[..],
            b"WARC/1.1\r",
            b"WARC/1.1\r\nWARC-Type: res",
            b"\x1f",
        ] {
            std::fs::write(&path, [&whole[..], tail].concat()).unwrap();
            let cuts = matches!(check(&path, false), Ok(e) if e.torn());
            assert_eq!(cuts, tail != b"\x1f", "{tail:?}");
        }
        for tail in [
            &b"my notes\n"[..],
            b"WARC/1.1 notes",
            b"WARC/1.1\n",
            b"WARC/1.\r\n",
            b"WARC/1.1\r\nno colon\r\n",
            b"WARC/1.1\r\nName: value\n",
            b"\r\n",
        ] {
            std::fs::write(&path, [&whole[..], tail].concat()).unwrap();
            assert!(
                matches!(check(&path, false), Err(Refusal::Damaged(at)) if at == whole.len() as u64),
                "{tail:?}"
            );
        }
        let path = dir.path().join("a.warc.gz");
        let whole = info(true);
        for (tail, cuts) in [
            (&b"\x1f"[..], true),
            (b"\x1f\x8b\x08", true),
            (b"hi", false),
            (b"\x1f\x8c", false),
        ] {
            std::fs::write(&path, [&whole[..], tail].concat()).unwrap();
            match check(&path, true) {
                Ok(existing) => assert!(cuts && existing.torn(), "{tail:?}"),
                Err(Refusal::Damaged(_)) => assert!(!cuts, "{tail:?}"),
                Err(other) => panic!("{tail:?}: {other:?}"),
            }
        }
        let text = gzip_of(b"some text, not a record\n");
        std::fs::write(&path, [&whole[..], &text[..text.len() - 4]].concat()).unwrap();
        assert!(matches!(check(&path, true), Err(Refusal::Damaged(_))));
    }

    #[test]
    fn only_a_regular_file_is_an_archive() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(regular(dir.path()), Err(Refusal::NotRegular)));
        assert!(matches!(
            regular(Path::new("/dev/null")),
            Err(Refusal::NotRegular)
        ));
        assert!(matches!(
            check(Path::new("/dev/null"), false),
            Err(Refusal::NotRegular)
        ));
        assert!(matches!(regular(&dir.path().join("new.warc")), Ok(None)));
        assert!(open(Path::new("/dev/null"), OpenOptions::new().append(true)).is_err());
    }

    #[test]
    fn other_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.warc");
        for (text, gzip) in [
            (&b"my notes"[..], false),
            (b"WARC/1.1\r\nno end", true),
            (b"\x1f\x8b\x08", false),
        ] {
            std::fs::write(&path, text).unwrap();
            assert!(
                matches!(check(&path, gzip), Err(Refusal::NotWarc(_))),
                "{text:?}"
            );
        }
        let damaged = [&info(false)[..], b"junk\r\n\r\n", &info(false)].concat();
        std::fs::write(&path, damaged).unwrap();
        assert!(matches!(check(&path, false), Err(Refusal::Damaged(_))));
    }
}
