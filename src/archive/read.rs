//! Reads WARC files back, record by record, without trusting them: a file cut short or damaged
//! still gives every record before the damage, and then says where and why reading stopped.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use super::record::digest;

/// The first bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A record's header section longer than this is taken for damage, not waited out.
const MAX_HEAD: usize = 1 << 20;

/// Plain text is read this much at a time.
const CHUNK: usize = 64 * 1024;

/// One WARC record: its header fields, in order, and its block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Where the record starts in the file (for a gzipped file, where its member starts).
    pub offset: u64,
    /// `WARC/1.1` or `WARC/1.0`.
    pub version: String,
    pub headers: Vec<(String, String)>,
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
    pub why: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.why)
    }
}

/// Where the decoded bytes came from: a plain file chunk by chunk, or gzip member by member.
enum Source<R: Read> {
    Plain(BufReader<R>),
    Gzip(Counted<BufReader<R>>),
}

/// A reader that counts the bytes consumed from it, so that a member's offset is known.
struct Counted<R> {
    inner: R,
    consumed: u64,
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.consumed += amt as u64;
        self.inner.consume(amt);
    }
}

/// Decoded bytes and where in the file they start; a member's bytes all map to its start.
struct Span {
    /// Position of the first byte in the reader's buffer, counted from the buffer's start.
    at: usize,
    offset: u64,
    /// Plain bytes map one to one onto the file; a member's do not.
    exact: bool,
}

/// The records of a WARC file, plain or made of gzip members (told by the first two bytes).
/// After the last record, `damage` says whether the file ended cleanly.
pub struct Reader<R: Read> {
    source: Option<Source<R>>,
    buf: Vec<u8>,
    spans: VecDeque<Span>,
    /// File offset just past the bytes decoded so far.
    end: u64,
    damage: Option<Damage>,
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R) -> Reader<R> {
        let mut inner = BufReader::with_capacity(CHUNK, inner);
        let (source, damage) = match inner.fill_buf() {
            Ok(head) if head.starts_with(&GZIP_MAGIC) => {
                (Some(Source::Gzip(Counted { inner, consumed: 0 })), None)
            }
            Ok(_) => (Some(Source::Plain(inner)), None),
            Err(e) => (
                None,
                Some(Damage {
                    offset: 0,
                    why: format!("cannot read: {e}"),
                }),
            ),
        };
        Reader {
            source,
            buf: Vec::new(),
            spans: VecDeque::new(),
            end: 0,
            damage,
        }
    }

    /// Why reading stopped before the end of the file, once the records are all read; None if
    /// the file ended where a record did.
    pub fn damage(&self) -> Option<&Damage> {
        self.damage.as_ref()
    }

    /// The file offset of buffer position `at`.
    fn offset_of(&self, at: usize) -> u64 {
        match self.spans.iter().rev().find(|s| s.at <= at) {
            Some(s) if s.exact => s.offset + (at - s.at) as u64,
            Some(s) => s.offset,
            None => self.end,
        }
    }

    /// Decodes more bytes into the buffer: Ok(false) at the end of the file, Err at damage.
    fn fill(&mut self) -> Result<bool, Damage> {
        let at = self.buf.len();
        match self.source.as_mut() {
            None => Ok(false),
            Some(Source::Plain(inner)) => {
                let mut chunk = vec![0; CHUNK];
                let n = loop {
                    match inner.read(&mut chunk) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            return Err(Damage {
                                offset: self.end,
                                why: format!("cannot read: {e}"),
                            })
                        }
                    }
                };
                if n == 0 {
                    return Ok(false);
                }
                self.buf.extend_from_slice(&chunk[..n]);
                self.spans.push_back(Span {
                    at,
                    offset: self.end,
                    exact: true,
                });
                self.end += n as u64;
                Ok(true)
            }
            Some(Source::Gzip(inner)) => {
                let start = inner.consumed;
                let damaged = |why: String| Damage { offset: start, why };
                match inner.fill_buf() {
                    Ok([]) => return Ok(false),
                    Ok(head) if !head.starts_with(&GZIP_MAGIC[..head.len().min(2)]) => {
                        return Err(damaged("not a gzip member".into()))
                    }
                    Ok(_) => {}
                    Err(e) => return Err(damaged(format!("cannot read: {e}"))),
                }
                let mut member = flate2::bufread::GzDecoder::new(&mut *inner);
                let mut bytes = Vec::new();
                if let Err(e) = member.read_to_end(&mut bytes) {
                    let why = match e.kind() {
                        io::ErrorKind::UnexpectedEof => "gzip member cut short".to_string(),
                        _ => format!("corrupt gzip member: {e}"),
                    };
                    return Err(damaged(why));
                }
                self.buf.extend_from_slice(&bytes);
                self.spans.push_back(Span {
                    at,
                    offset: start,
                    exact: false,
                });
                self.end = inner.consumed;
                Ok(true)
            }
        }
    }

    /// The record at the start of the buffer, reading as much as it needs.
    fn next_record(&mut self) -> Result<Option<Record>, Damage> {
        // Blank lines between records are tolerated, as other readers do.
        let skip = |buf: &[u8]| {
            buf.iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count()
        };
        loop {
            let blank = skip(&self.buf);
            if blank < self.buf.len() {
                break;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
        let start = skip(&self.buf);
        let offset = self.offset_of(start);
        let damaged = |why: &str| Damage {
            offset,
            why: why.to_string(),
        };
        let head_end = loop {
            let head = &self.buf[start..];
            if !(head.starts_with(b"WARC/") || b"WARC/".starts_with(&head[..head.len().min(5)])) {
                return Err(damaged("not a WARC record: no WARC/1.x line"));
            }
            if let Some(end) = memchr::memmem::find(head, b"\r\n\r\n") {
                break start + end + 4;
            }
            if head.len() > MAX_HEAD {
                return Err(damaged("record header longer than 1 MiB, no end in sight"));
            }
            if !self.fill()? {
                return Err(damaged("file ends inside a record's header"));
            }
        };
        let text = std::str::from_utf8(&self.buf[start..head_end - 4])
            .map_err(|_| damaged("record header is not UTF-8"))?;
        let (version, headers) = parse_head(text).map_err(|why| damaged(&why))?;
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
            .ok_or_else(|| damaged("record has no Content-Length"))?
            .1
            .parse()
            .map_err(|_| damaged("record's Content-Length is not a number"))?;
        let end = head_end
            .checked_add(length)
            .and_then(|n| n.checked_add(4))
            .ok_or_else(|| damaged("record's Content-Length is too large"))?;
        while self.buf.len() < end {
            if !self.fill()? {
                return Err(damaged("file ends inside a record's block"));
            }
        }
        if &self.buf[end - 4..end] != b"\r\n\r\n" {
            return Err(damaged(
                "record does not end with CRLF CRLF where its Content-Length says",
            ));
        }
        let block = &self.buf[head_end..end - 4];
        // A damaged byte inside a block leaves the layout whole; its digest tells. Only sha1
        // is checked, in the base32 form (others are taken on trust).
        let claimed = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("WARC-Block-Digest"))
            .map(|(_, v)| v.as_str())
            .filter(|v| v.len() == 37 && v[..5].eq_ignore_ascii_case("sha1:"));
        if claimed.is_some_and(|claimed| !claimed[5..].eq_ignore_ascii_case(&digest(&[block])[5..]))
        {
            return Err(damaged(
                "record's block does not match its WARC-Block-Digest",
            ));
        }
        let block = block.to_vec();
        self.consume(end);
        Ok(Some(Record {
            offset,
            version,
            headers,
            block,
        }))
    }

    /// Drops the first `n` bytes of the buffer, and the spans that held only them.
    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        let mut first = None;
        while self.spans.front().is_some_and(|s| s.at <= n) {
            first = self.spans.pop_front();
        }
        for span in &mut self.spans {
            span.at -= n;
        }
        let starts_here = self.spans.front().is_some_and(|s| s.at == 0);
        if let Some(span) = first.filter(|_| !self.buf.is_empty() && !starts_here) {
            let offset = match span.exact {
                true => span.offset + (n - span.at) as u64,
                false => span.offset,
            };
            self.spans.push_front(Span {
                at: 0,
                offset,
                exact: span.exact,
            });
        }
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.damage.is_some() {
            return None;
        }
        match self.next_record() {
            Ok(record) => record,
            Err(damage) => {
                self.damage = Some(damage);
                self.source = None;
                None
            }
        }
    }
}

/// The version line and header fields of a record's head (without its final blank line).
/// Lines that start with a space or tab continue the field before them.
fn parse_head(text: &str) -> Result<(String, Vec<(String, String)>), String> {
    let mut lines = text.split("\r\n");
    let version = lines.next().unwrap_or_default();
    if !matches!(version, "WARC/1.1" | "WARC/1.0") {
        let shown: String = version.chars().take(40).collect();
        return Err(format!(
            "unknown WARC version line '{}'",
            shown.escape_debug()
        ));
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            match headers.last_mut() {
                Some((_, value)) => {
                    value.push(' ');
                    value.push_str(line.trim());
                    continue;
                }
                None => return Err("record header starts with a continuation line".into()),
            }
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| "record header line without a colon".to_string())?;
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err("record header line with a bad field name".into());
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok((version.to_string(), headers))
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
    fn an_empty_file_has_no_records_and_no_damage() {
        assert_eq!(read(b""), (vec![], None));
    }
}
