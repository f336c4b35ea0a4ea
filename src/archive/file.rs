//! The archive file before the crawl: crawl appends only to a regular file that holds WARC
//! records (never to a user's other file, a pipe or a device), and cuts nothing but a record torn
//! at the very end, as a kill while crawl wrote it leaves one, so that what follows it reads.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::read::{Kind, Reader};

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
    let whole = whole_records(&file, len, gzip)?;
    Ok(Existing {
        torn: (whole < len).then_some((whole, len)),
    })
}

/// The length of the whole records the file starts with, read with the replay's reader; what
/// follows them, if anything, must be one torn record, as crawl could have begun it.
fn whole_records(file: &File, len: u64, gzip: bool) -> Result<u64, Refusal> {
    let not_warc = match gzip {
        true => "its first gzip member does not decode to whole WARC/1.x records",
        false => "it does not start with a whole 'WARC/1.x' line",
    };
    let mut reader = Reader::layout(file);
    if reader.gzip() != gzip {
        return Err(Refusal::NotWarc(match gzip {
            true => "it does not start with a gzip member, as a .warc.gz does",
            false => not_warc,
        }));
    }
    let (mut first, mut last) = (None, None);
    for record in reader.by_ref() {
        first.get_or_insert(record.offset);
        last = Some(record.offset);
    }
    let Some(damage) = reader.damage() else {
        return match first {
            Some(0) => Ok(len),
            _ => Err(Refusal::NotWarc(not_warc)),
        };
    };
    match (damage.kind, first) {
        (Kind::Unreadable, _) => Err(Refusal::Io(io::Error::other(damage.to_string()))),
        (_, Some(first)) if first != 0 => Err(Refusal::NotWarc(not_warc)),
        (Kind::Bad, None) => Err(Refusal::NotWarc(not_warc)),
        (Kind::Torn { head: false }, None) => {
            Err(Refusal::NotWarc("it ends inside its first record's header"))
        }
        (Kind::Bad, Some(_)) => Err(Refusal::Damaged(damage.offset)),
        // A gzip member that holds whole records before its tear is no member crawl wrote.
        (Kind::Torn { .. }, _) if last == Some(damage.offset) => {
            Err(Refusal::Damaged(damage.offset))
        }
        (Kind::Torn { .. }, None) if damage.offset != 0 => Err(Refusal::NotWarc(not_warc)),
        (Kind::Torn { .. }, _) => Ok(damage.offset),
    }
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

    /// The check reads as the replay does: a file it takes whole, crawl appends to.
    #[test]
    fn blank_lines_between_records_are_taken_as_the_replay_takes_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.warc");
        let text = [info(false), b"\r\n".to_vec(), info(false)].concat();
        std::fs::write(&path, &text).unwrap();
        assert!(!check(&path, false).unwrap().torn());
    }

    /// crawl writes one record per member: a torn member holding whole records is no tear of
    /// crawl's, and cutting it would lose them.
    #[test]
    fn a_torn_gzip_member_that_holds_whole_records_is_not_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.warc.gz");
        let (first, two) = (info(true), gzip_of(&[info(false), info(false)].concat()));
        std::fs::write(&path, [&first[..], &two[..two.len() - 1]].concat()).unwrap();
        assert!(
            matches!(check(&path, true), Err(Refusal::Damaged(at)) if at == first.len() as u64)
        );
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
