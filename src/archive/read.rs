//! Reads WARC files back, record by record, without trusting them: a file cut short or damaged
//! still gives every record before the damage, and then says where and why reading stopped.

use std::fmt;
use std::io::Read;

use self::head::Fields;
use self::source::{Fault, More, Source};
use super::record::digest;

mod head;
mod source;

/// A record's header section longer than this is taken for damage, not waited out.
const MAX_HEAD: usize = 1 << 20;

/// One WARC record: its header fields, in order, and its block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Where the record starts in the file (for a gzipped file, where its member starts).
    pub offset: u64,
    /// `WARC/1.1` or `WARC/1.0`.
    pub version: String,
    pub headers: Fields,
    /// Empty when the reader reads the layout only.
    pub block: Vec<u8>,
}

impl Record {
    /// The first value of the header `name`, whatever its case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `WARC-Type`: warcinfo, request, response, metadata, ...
    pub fn kind(&self) -> &str {
        self.header("WARC-Type").unwrap_or_default()
    }
}

/// Where reading stopped before the end of the file, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset in the file: the start of the first record (or gzip member) not read.
    pub offset: u64,
    pub kind: Kind,
    pub why: String,
}

/// What kind of damage stopped the reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The file ends inside a record (or its gzip member) that is sound as far as it goes, as a
    /// writer stopped mid-way leaves one; `head`: its header section is whole.
    Torn { head: bool },
    /// Bytes that are not what a WARC file holds there.
    Bad,
    /// The file could not be read.
    Unreadable,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.why)
    }
}

/// Why a record ends where it should not.
const CUT: &str = "gzip member cut short";
const SPANS: &str = "record runs past the end of its gzip member";

/// The records of a WARC file, plain or made of gzip members (told by the first two bytes).
/// Blank lines between records are taken, as other readers do; a record must lie inside one
/// gzip member, so that its offset is where a reader can seek to it. After the last record,
/// `damage` says whether the file ended cleanly.
pub struct Reader<R: Read> {
    source: Option<Source<R>>,
    gzip: bool,
    /// Blocks are kept (and their digests checked), rather than skipped.
    blocks: bool,
    records: u64,
    damage: Option<Damage>,
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R) -> Reader<R> {
        Reader::open(inner, true)
    }

    /// A reader of the records' layout only: blocks are skipped unread, so memory stays at a
    /// header section and a chunk, however large the records.
    pub fn layout(inner: R) -> Reader<R> {
        Reader::open(inner, false)
    }

    fn open(inner: R, blocks: bool) -> Reader<R> {
        let (source, damage) = match Source::new(inner) {
            Ok(source) => (Some(source), None),
            Err(e) => (
                None,
                Some(Damage {
                    offset: 0,
                    kind: Kind::Unreadable,
                    why: format!("cannot read: {e}"),
                }),
            ),
        };
        Reader {
            gzip: source.as_ref().is_some_and(Source::gzip),
            source,
            blocks,
            records: 0,
            damage,
        }
    }

    /// Whether the file is made of gzip members.
    pub fn gzip(&self) -> bool {
        self.gzip
    }

    /// Why reading stopped before the end of the file, once the records are all read; None if
    /// the file ended where a record did.
    pub fn damage(&self) -> Option<&Damage> {
        self.damage.as_ref()
    }

    /// The next record; Ok(None) at the end of the file.
    fn next_record(&mut self) -> Result<Option<Record>, Damage> {
        let blocks = self.blocks;
        let Some(src) = self.source.as_mut() else {
            return Ok(None);
        };
        let mut blank = None;
        loop {
            if self.records > 0 {
                let n = src
                    .unread()
                    .iter()
                    .take_while(|b| matches!(b, b'\r' | b'\n'));
                let n = n.count();
                if n > 0 {
                    blank.get_or_insert(src.at());
                    src.consume(n);
                }
            }
            if !src.unread().is_empty() {
                break;
            }
            match src.more() {
                Ok(More::Bytes | More::MemberEnd) => {}
                Ok(More::End) => {
                    let Some(offset) = blank else { return Ok(None) };
                    return Err(bad(offset, "blank lines after the last record"));
                }
                Ok(More::Cut) => return Err(torn(src.at(), false, CUT)),
                Err(fault) => return Err(faulty(src.at(), fault)),
            }
        }
        let offset = src.at();
        let head_len = loop {
            let head = src.unread();
            if let Some(end) = memchr::memmem::find(head, b"\r\n\r\n") {
                break end + 4;
            }
            head::prefix(head).map_err(|why| bad(offset, &why))?;
            if head.len() > MAX_HEAD {
                return Err(bad(
                    offset,
                    "record header longer than 1 MiB, no end in sight",
                ));
            }
            more(src, offset, false)?;
        };
        let (version, headers) =
            head::parse(&src.unread()[..head_len - 4]).map_err(|why| bad(offset, &why))?;
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
            .ok_or_else(|| bad(offset, "record has no Content-Length"))?
            .1
            .parse()
            .map_err(|_| bad(offset, "record's Content-Length is not a number"))?;
        src.consume(head_len);
        let block = match blocks {
            true => {
                need(src, offset, length.saturating_add(4))?;
                let block = src.unread()[..length].to_vec();
                src.consume(length);
                block
            }
            false => {
                skip(src, offset, length)?;
                Vec::new()
            }
        };
        need(src, offset, 4)?;
        src.consume(4);
        // A damaged byte inside a block leaves the layout whole; its digest tells. Only sha1
        // is checked, in the base32 form (others are taken on trust).
        let claimed = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("WARC-Block-Digest"))
            .map(|(_, v)| v.as_str())
            .filter(|v| blocks && v.len() == 37 && v[..5].eq_ignore_ascii_case("sha1:"));
        if claimed
            .is_some_and(|claimed| !claimed[5..].eq_ignore_ascii_case(&digest(&[&block[..]])[5..]))
        {
            return Err(bad(
                offset,
                "record's block does not match its WARC-Block-Digest",
            ));
        }
        // A record is read only once its member is known whole (its CRC checked), unless
        // more records follow in the same member.
        if src.gzip() && src.unread().is_empty() {
            match src.more() {
                Ok(More::Cut) => return Err(torn(offset, true, CUT)),
                Ok(_) => {}
                Err(fault) => return Err(faulty(offset, fault)),
            }
        }
        self.records += 1;
        Ok(Some(Record {
            offset,
            version,
            headers,
            block,
        }))
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.damage.is_some() {
            return None;
        }
        match self.next_record() {
            Ok(Some(record)) => Some(record),
            Ok(None) => {
                self.source = None;
                None
            }
            Err(mut damage) => {
                let source = self.source.take();
                let corrupt = source.and_then(|mut source| match damage.kind {
                    Kind::Bad => source.corrupt_member(),
                    _ => None,
                });
                if let Some(why) = corrupt {
                    damage.why = why;
                }
                self.damage = Some(damage);
                None
            }
        }
    }
}

fn bad(offset: u64, why: &str) -> Damage {
    Damage {
        offset,
        kind: Kind::Bad,
        why: why.to_string(),
    }
}

fn torn(offset: u64, head: bool, why: &str) -> Damage {
    Damage {
        offset,
        kind: Kind::Torn { head },
        why: why.to_string(),
    }
}

fn faulty(offset: u64, fault: Fault) -> Damage {
    let kind = match fault.unreadable {
        true => Kind::Unreadable,
        false => Kind::Bad,
    };
    Damage {
        offset,
        kind,
        why: fault.why,
    }
}

/// More bytes for the record at `offset`, or the damage that their end inside it is; `head`:
/// its header section is whole.
fn more<R: Read>(src: &mut Source<R>, offset: u64, head: bool) -> Result<(), Damage> {
    let part = match head {
        true => "file ends inside a record's block",
        false => "file ends inside a record's header",
    };
    match src.more() {
        Ok(More::Bytes) => Ok(()),
        Ok(More::MemberEnd) => Err(bad(offset, SPANS)),
        Ok(More::End) => Err(torn(offset, head, part)),
        Ok(More::Cut) => Err(torn(offset, head, CUT)),
        Err(fault) => Err(faulty(offset, fault)),
    }
}

/// Reads until `n` bytes are unread: the block and the CRLF CRLF that closes it, which must be
/// there as far as the file goes.
fn need<R: Read>(src: &mut Source<R>, offset: u64, n: usize) -> Result<(), Damage> {
    let close = |src: &Source<R>| {
        let unread = src.unread();
        let tail = unread.get(n - 4..n.min(unread.len())).unwrap_or_default();
        match b"\r\n\r\n".starts_with(tail) {
            true => Ok(()),
            false => Err(bad(
                offset,
                "record does not end with CRLF CRLF where its Content-Length says",
            )),
        }
    };
    while src.unread().len() < n {
        if let Err(damage) = more(src, offset, true) {
            close(src)?;
            return Err(damage);
        }
    }
    close(src)
}

/// Skips a block of `n` bytes, a chunk at a time.
fn skip<R: Read>(src: &mut Source<R>, offset: u64, mut n: usize) -> Result<(), Damage> {
    loop {
        let here = src.unread().len().min(n);
        src.consume(here);
        n -= here;
        if n == 0 {
            return Ok(());
        }
        more(src, offset, true)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn record(kind: &str, uri: &str, block: &[u8]) -> Vec<u8> {
        let mut bytes = format!(
            "WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{kind}>\r\n\
             WARC-Target-URI: {uri}\r\nContent-Length: {}\r\n\r\n",
            block.len()
        )
        .into_bytes();
        bytes.extend_from_slice(block);
        bytes.extend_from_slice(b"\r\n\r\n");
        bytes
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn three() -> Vec<Vec<u8>> {
        vec![
            record("warcinfo", "", b"software: test\r\n"),
            record(
                "response",
                "http://a.example/",
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
            ),
            record("metadata", "http://a.example/", b"ttfb-ms: 1.5\r\n"),
        ]
    }

    fn read(bytes: &[u8]) -> (Vec<Record>, Option<Damage>) {
        let mut reader = Reader::new(bytes);
        let records: Vec<_> = reader.by_ref().collect();
        (records, reader.damage().cloned())
    }

    #[test]
    fn a_plain_file_gives_its_records_with_their_offsets() {
        let parts = three();
        let (records, damage) = read(&parts.concat());
        assert_eq!(damage, None);
        let kinds: Vec<_> = records.iter().map(Record::kind).collect();
        assert_eq!(kinds, ["warcinfo", "response", "metadata"]);
        let offsets: Vec<_> = records.iter().map(|r| r.offset).collect();
        let second = parts[0].len() as u64;
        assert_eq!(
            offsets,
            [0, second, second + parts[1].len() as u64],
            "offsets"
        );
        assert_eq!(
            records[1].block,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
        );
        assert_eq!(
            records[1].header("warc-target-uri"),
            Some("http://a.example/")
        );
        assert_eq!(records[0].version, "WARC/1.1");
    }

    #[test]
    fn gzip_members_are_read_one_by_one_with_their_offsets() {
        let members: Vec<_> = three().iter().map(|r| gzip(r)).collect();
        let (records, damage) = read(&members.concat());
        assert_eq!(damage, None);
        assert_eq!(records.len(), 3);
        let offsets: Vec<_> = records.iter().map(|r| r.offset).collect();
        let (a, b) = (members[0].len() as u64, members[1].len() as u64);
        assert_eq!(offsets, [0, a, a + b]);
        assert_eq!(
            records,
            read(&three().concat())
                .0
                .into_iter()
                .zip(offsets)
                .map(|(mut r, o)| {
                    r.offset = o;
                    r
                })
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_plain_file_cut_short_gives_the_records_before_the_cut() {
        let parts = three();
        let whole = parts.concat();
        let third = (parts[0].len() + parts[1].len()) as u64;
        for cut in [whole.len() - 1, third as usize + 5, third as usize + 60] {
            let (records, damage) = read(&whole[..cut]);
            assert_eq!(records.len(), 2, "cut at {cut}");
            let damage = damage.expect("damage");
            assert_eq!(damage.offset, third, "cut at {cut}");
            assert!(
                damage.why.starts_with("file ends inside a record's"),
                "{}",
                damage.why
            );
        }
    }

    #[test]
    fn a_corrupt_record_stops_reading_where_it_starts() {
        let mut parts = three();
        // A Content-Length one too long: the block runs into the next record.
        let bad = String::from_utf8(parts[1].clone()).unwrap().replacen(
            "Content-Length: 40",
            "Content-Length: 41",
            1,
        );
        assert_ne!(bad.as_bytes(), parts[1]);
        parts[1] = bad.into_bytes();
        let (records, damage) = read(&parts.concat());
        assert_eq!(records.len(), 1);
        let damage = damage.unwrap();
        assert_eq!(damage.offset, parts[0].len() as u64);
        assert_eq!(
            damage.why,
            "record does not end with CRLF CRLF where its Content-Length says"
        );
        // Garbage where a record should start.
        let mut parts = three();
        parts[2] = b"<html>not a record</html>\r\n\r\n".to_vec();
        let (records, damage) = read(&parts.concat());
        assert_eq!(records.len(), 2);
        assert_eq!(
            damage.unwrap(),
            Damage {
                offset: (parts[0].len() + parts[1].len()) as u64,
                kind: Kind::Bad,
                why: "not a WARC record: no WARC/1.x line".into()
            }
        );
    }

    #[test]
    fn a_damaged_gzip_member_stops_reading_at_its_start() {
        let members: Vec<_> = three().iter().map(|r| gzip(r)).collect();
        let second = members[0].len() as u64;
        // Cut inside the second member.
        let whole = members.concat();
        let (records, damage) = read(&whole[..second as usize + 10]);
        assert_eq!(records.len(), 1);
        assert_eq!(
            damage.unwrap(),
            Damage {
                offset: second,
                kind: Kind::Torn { head: false },
                why: "gzip member cut short".into()
            }
        );
        // A flipped byte in the second member's compressed data: its CRC or inflate fails.
        let mut flipped = whole.clone();
        flipped[second as usize + 20] ^= 0xff;
        let (records, damage) = read(&flipped);
        assert_eq!(records.len(), 1);
        let damage = damage.unwrap();
        assert_eq!(damage.offset, second);
        assert!(
            damage.why.starts_with("corrupt gzip member"),
            "{}",
            damage.why
        );
        // Plain bytes after the members.
        let mut tail = whole.clone();
        tail.extend_from_slice(b"junk");
        let (records, damage) = read(&tail);
        assert_eq!(records.len(), 3);
        assert_eq!(
            damage.unwrap(),
            Damage {
                offset: whole.len() as u64,
                kind: Kind::Bad,
                why: "not a gzip member".into()
            }
        );
    }

    #[test]
    fn a_block_that_does_not_match_its_digest_stops_reading_at_its_record() {
        let block = b"HTTP/1.1 200 OK\r\n\r\nhi";
        let with_digest = |block: &[u8], claimed: &str| {
            let mut bytes = format!(
                "WARC/1.1\r\nWARC-Type: response\r\nWARC-Block-Digest: {claimed}\r\n\
                 Content-Length: {}\r\n\r\n",
                block.len()
            )
            .into_bytes();
            bytes.extend_from_slice(block);
            bytes.extend_from_slice(b"\r\n\r\n");
            bytes
        };
        let good = with_digest(block, &digest(&[block]));
        let bad = with_digest(b"HTTP/1.1 200 OK\r\n\r\nho", &digest(&[block]));
        let (records, damage) = read(&[good.clone(), bad, good.clone()].concat());
        assert_eq!(records.len(), 1);
        assert_eq!(
            damage.unwrap(),
            Damage {
                offset: good.len() as u64,
                kind: Kind::Bad,
                why: "record's block does not match its WARC-Block-Digest".into()
            }
        );
        // Lower case base32 is the same digest; another algorithm is not checked.
        let lower = with_digest(block, &digest(&[block]).to_lowercase());
        let other = with_digest(block, "md5:whatever");
        assert_eq!(read(&[lower, other].concat()).0.len(), 2);
    }

    #[test]
    fn continuation_lines_and_blank_lines_between_records_are_taken() {
        let mut bytes = b"WARC/1.0\r\nWARC-Type: resource\r\nX-Long: a\r\n  b\r\nContent-Length: 0\r\n\r\n\r\n\r\n".to_vec();
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&three()[0]);
        let (records, damage) = read(&bytes);
        assert_eq!(damage, None);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].header("x-long"), Some("a b"));
        assert_eq!(records[1].kind(), "warcinfo");
        assert_eq!(records[1].offset, (bytes.len() - three()[0].len()) as u64);
    }

    #[test]
    fn the_layout_reader_skips_blocks_and_their_digests_but_not_their_tears() {
        let whole = three().concat();
        let layout = |bytes: &[u8]| {
            let mut reader = Reader::layout(bytes);
            let records: Vec<_> = reader.by_ref().collect();
            (records, reader.damage().cloned())
        };
        let blockless = |records: Vec<Record>| {
            let blockless = records.into_iter().map(|mut r| {
                r.block.clear();
                r
            });
            blockless.collect::<Vec<_>>()
        };
        let (records, damage) = layout(&whole);
        assert_eq!(damage, None);
        assert_eq!(records, blockless(read(&whole).0));
        let (records, damage) = layout(&whole[..whole.len() - 3]);
        assert_eq!(records.len(), 2);
        assert_eq!(damage.unwrap().kind, Kind::Torn { head: true });
    }

    #[test]
    fn an_empty_file_has_no_records_and_no_damage() {
        assert_eq!(read(b""), (vec![], None));
    }
}
