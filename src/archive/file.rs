//! The archive file before the crawl: crawl appends only to a WARC (never to a user's other
//! file), and a record torn by a kill at its end is cut first, so that what follows it reads.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use super::record::MAGIC;

/// What the gzip format starts with.
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

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
    /// It holds something else than WARC records (of the kind its name says).
    NotWarc(&'static str),
    /// A record that is not at the end is damaged: cutting there would lose what follows.
    Damaged(u64),
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Self {
        Refusal::Io(e)
    }
}

/// Reads the file at `path`, if it is a regular one with anything in it, changing nothing: it
/// must start as a WARC does (`WARC/`, or gzip's magic for a `.gz` path), and each record
/// must be whole but maybe the last.
pub fn check(path: &Path, gzip: bool) -> Result<Existing, Refusal> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() > 0 => {}
        Ok(_) => return Ok(Existing::default()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::default()),
        Err(e) => return Err(e.into()),
    }
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut start = [0u8; 5];
    let n = read_up_to(&mut file, &mut start)?;
    let (magic, what) = match gzip {
        true => (
            GZIP_MAGIC,
            "it does not start with gzip's magic bytes, as a .warc.gz does",
        ),
        false => (&MAGIC[..5], "it does not start with 'WARC/'"),
    };
    let m = n.min(magic.len());
    if start[..m] != magic[..m] {
        return Err(Refusal::NotWarc(what));
    }
    let file = File::open(path)?;
    let whole = match gzip {
        true => whole_members(file)?,
        false => whole_records(file)?,
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
        let file = OpenOptions::new().write(true).open(path)?;
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

/// The length of the whole gzip members a file starts with: a member cut short by the end of
/// the file is torn; one that is corrupt before the end refuses the file.
fn whole_members(file: File) -> Result<u64, Refusal> {
    let mut reader = BufReader::new(Counted {
        inner: file,
        count: 0,
    });
    let mut whole = 0u64;
    loop {
        if reader.fill_buf()?.is_empty() {
            return Ok(whole);
        }
        let mut member = flate2::bufread::GzDecoder::new(reader);
        let mut start = [0u8; 5];
        let read = read_up_to(&mut member, &mut start).and_then(|n| {
            io::copy(&mut member, &mut io::sink())?;
            Ok(n)
        });
        match read {
            Ok(n) if start[..n] == MAGIC[..5] => {}
            Ok(_) => return Err(Refusal::Damaged(whole)),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(whole),
            Err(_) => return Err(Refusal::Damaged(whole)),
        }
        reader = member.into_inner();
        whole = reader.get_ref().count - reader.buffer().len() as u64;
    }
}

/// The length of the whole records a plain WARC starts with: `WARC/` header lines, a blank
/// line, Content-Length bytes and CRLF CRLF. A record the end of the file cuts is torn.
fn whole_records(file: File) -> Result<u64, Refusal> {
    let mut reader = BufReader::new(file);
    let mut whole = 0u64;
    let mut line = Vec::new();
    loop {
        let mut length = None;
        let mut first = true;
        let mut read = 0u64;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line)? as u64;
            read += n;
            if n == 0 {
                // The end: between records, or in a torn header.
                return Ok(whole);
            }
            if first && !MAGIC[..5].starts_with(&line[..line.len().min(5)]) {
                return Err(Refusal::Damaged(whole));
            }
            first = false;
            if line.last() != Some(&b'\n') {
                return Ok(whole);
            }
            if line == b"\r\n" {
                break;
            }
            let text = String::from_utf8_lossy(&line);
            if let Some((name, value)) = text.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<u64>().ok();
                }
            }
        }
        let Some(length) = length else {
            return Err(Refusal::Damaged(whole));
        };
        let skipped = io::copy(&mut (&mut reader).take(length), &mut io::sink())?;
        let mut end = [0u8; 4];
        let n = read_up_to(&mut reader, &mut end)?;
        if skipped < length || n < 4 {
            return Ok(whole);
        }
        if &end != b"\r\n\r\n" {
            return Err(Refusal::Damaged(whole));
        }
        whole += read + length + 4;
    }
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
