//! One WARC/1.1 record's bytes, as iface16.md lays them out: the header lines, the digests
//! readers verify (SHA-1 in base32), and a gzip member of its own per record for a `.gz` file.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use http::{HeaderMap, StatusCode, Version};
use sha1::{Digest, Sha1};
use url::Url;

/// What starts every record, and so every WARC file.
pub const MAGIC: &[u8] = b"WARC/1.1\r\n";

/// How hard each record is compressed: the fastest level keeps --warc cheap next to the crawl
/// (W2 in README), and archives are written once, read rarely.
const LEVEL: u32 = 1;

pub const HTTP_REQUEST: &str = "application/http;msgtype=request";
pub const HTTP_RESPONSE: &str = "application/http;msgtype=response";
pub const WARC_FIELDS: &str = "application/warc-fields";

/// `sha1:` and the base32 (RFC 4648, upper case, padded) SHA-1 of the parts, one after the
/// other: the form warcio and pywb check.
pub fn digest(parts: &[&[u8]]) -> String {
    let mut sha = Sha1::new();
    for part in parts {
        sha.update(part);
    }
    format!("sha1:{}", data_encoding::BASE32.encode(&sha.finalize()))
}

/// A new `WARC-Record-ID`: a random (v4) UUID as a URN, in angle brackets.
pub fn new_id() -> String {
    format!("<urn:uuid:{}>", uuid::Uuid::new_v4())
}

/// A `WARC-Date`: UTC, to the microsecond (`2026-12-05T08:30:00.123456Z`).
pub fn date(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    let (year, month, day) = civil(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_micros()
    )
}

/// The calendar date `days` after 1970-01-01 (the proleptic Gregorian calendar), by counting
/// 400-year eras of 146097 days from 0000-03-01.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Where records go: as they are, or each in a gzip member of its own.
pub struct Sink {
    gzip: bool,
    out: Vec<u8>,
}

impl Sink {
    pub fn new(gzip: bool) -> Sink {
        Sink::with_capacity(gzip, 0)
    }

    /// A sink for records of about `bytes` in all, as written.
    pub fn with_capacity(gzip: bool, bytes: usize) -> Sink {
        let room = if gzip { bytes / 3 } else { bytes };
        Sink {
            gzip,
            out: Vec::with_capacity(room + 4096),
        }
    }

    /// Appends one record: `WARC/1.1`, the fields, then (with a block) Content-Type,
    /// WARC-Block-Digest and Content-Length, the block made of `parts`, and the two CRLFs.
    pub fn record(
        &mut self,
        fields: &[(&str, &str)],
        block: Option<(&str, &[&[u8]])>,
    ) -> io::Result<()> {
        let mut head = String::with_capacity(512);
        head.push_str("WARC/1.1\r\n");
        for (name, value) in fields {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        let parts = block.map_or(&[][..], |(_, parts)| parts);
        if let Some((content_type, parts)) = block {
            let _ = write!(head, "Content-Type: {content_type}\r\n");
            let _ = write!(head, "WARC-Block-Digest: {}\r\n", digest(parts));
        }
        let length: usize = parts.iter().map(|p| p.len()).sum();
        let _ = write!(head, "Content-Length: {length}\r\n\r\n");
        let all = std::iter::once(head.as_bytes())
            .chain(parts.iter().copied())
            .chain(std::iter::once(&b"\r\n\r\n"[..]));
        if self.gzip {
            gzip_member(&mut self.out, all)
        } else {
            for part in all {
                self.out.extend_from_slice(part);
            }
            Ok(())
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }
}

thread_local! {
    /// Each thread's deflate state, reset for every member: a new one per record would set up
    /// (and zero) its hundreds of KiB of tables each time, which cost more than compressing.
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::new(LEVEL), false));
}

/// Appends `parts`, one after the other, to `out` as one gzip member (RFC 1952: a 10-byte
/// header, raw deflate, CRC-32 and length).
fn gzip_member<'a>(out: &mut Vec<u8>, parts: impl Iterator<Item = &'a [u8]>) -> io::Result<()> {
    // No name, no time, "unknown" OS: the same bytes give the same member.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut crc = Crc::new();
    DEFLATE.with(|deflate| {
        let mut deflate = deflate.borrow_mut();
        deflate.reset();
        for part in parts {
            crc.update(part);
            let start = deflate.total_in();
            while ((deflate.total_in() - start) as usize) < part.len() {
                let done = (deflate.total_in() - start) as usize;
                out.reserve(part.len() / 2 + 1024);
                deflate
                    .compress_vec(&part[done..], out, FlushCompress::None)
                    .map_err(io::Error::other)?;
            }
        }
        loop {
            out.reserve(1024);
            match deflate.compress_vec(&[], out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => break,
                Ok(_) => {}
                Err(e) => return Err(io::Error::other(e)),
            }
        }
        Ok(())
    })?;
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&crc.amount().to_le_bytes());
    Ok(())
}

/// The `warcinfo` record a run starts with: `fields` as `name: value` lines.
pub fn warcinfo(fields: &[(&str, String)], gzip: bool) -> Vec<u8> {
    let mut block = String::new();
    for (name, value) in fields {
        // A value is one line: a newline in it (a URL file's name, say) would start a field.
        let value = value.replace(['\r', '\n'], " ");
        let _ = write!(block, "{name}: {value}\r\n");
    }
    let (id, date) = (new_id(), date(SystemTime::now()));
    let mut sink = Sink::new(gzip);
    sink.record(
        &[
            ("WARC-Type", "warcinfo"),
            ("WARC-Record-ID", &id),
            ("WARC-Date", &date),
        ],
        Some((WARC_FIELDS, &[block.as_bytes()])),
    )
    .expect("writing to memory cannot fail");
    sink.into_bytes()
}

/// Why a stored body is shorter than the one the server sent (`WARC-Truncated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncated {
    /// --max-bytes, or robots.txt's 500 KiB.
    Length,
    /// --timeout.
    Time,
    /// The connection broke.
    Disconnect,
    /// crawl chose not to read it.
    Unspecified,
}

impl Truncated {
    pub fn as_str(self) -> &'static str {
        match self {
            Truncated::Length => "length",
            Truncated::Time => "time",
            Truncated::Disconnect => "disconnect",
            Truncated::Unspecified => "unspecified",
        }
    }
}

/// One HTTP exchange as crawl saw it: what it sent, what came back, and crawl's own figures.
pub struct Exchange<'a> {
    pub url: &'a Url,
    /// When the request was sent.
    pub date: SystemTime,
    /// The peer the response came from.
    pub ip: Option<IpAddr>,
    /// The request's headers, in the order sent (Host is added first).
    pub sent: &'a [(&'a str, &'a str)],
    pub version: Version,
    pub status: StatusCode,
    /// The reason phrase received, when not the standard one (hyper keeps no other).
    pub reason: Option<&'a [u8]>,
    pub headers: &'a HeaderMap,
    /// The body as reqwest decoded it, as far as crawl read it.
    pub body: &'a [u8],
    pub truncated: Option<Truncated>,
    /// The metadata record's fields (ttfb-ms, fetch-ms, purpose, hop, depth, parent).
    pub metadata: &'a [(&'a str, String)],
}

/// The request line and headers of a GET for `url`: the path and query, Host first.
pub fn request_block(url: &Url, version: Version, sent: &[(&str, &str)]) -> Vec<u8> {
    let mut block = String::with_capacity(256);
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    // crawl asks in HTTP/1.1 unless HTTP/2 was agreed on, whatever version the server answers.
    let asked = match version {
        Version::HTTP_2 => Version::HTTP_2,
        _ => Version::HTTP_11,
    };
    let _ = write!(block, "GET {path} {}\r\n", http_version(asked));
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => {
            let _ = write!(block, "Host: {host}:{port}\r\n");
        }
        None => {
            let _ = write!(block, "Host: {host}\r\n");
        }
    }
    for (name, value) in sent {
        let _ = write!(block, "{name}: {value}\r\n");
    }
    block.push_str("\r\n");
    block.into_bytes()
}

/// How a message's start line names its HTTP version.
fn http_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

/// The status line and headers as received (names lower-cased, as hyper gives them), less the
/// ones that describe the bytes on the wire rather than the body stored (Content-Encoding,
/// Transfer-Encoding, Content-Length), with one Content-Length for the stored body, so that the
/// record replays as it is.
pub fn response_head(
    version: Version,
    status: StatusCode,
    reason: Option<&[u8]>,
    headers: &HeaderMap,
    body_len: usize,
) -> Vec<u8> {
    let version = http_version(version);
    let mut head = Vec::with_capacity(512);
    // hyper keeps a reason phrase only when it is not the standard one for the status.
    let reason = reason.unwrap_or(status.canonical_reason().unwrap_or("").as_bytes());
    let _ = write!(head, "{version} {} ", status.as_u16());
    head.extend_from_slice(reason);
    head.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if matches!(
            name.as_str(),
            "content-encoding" | "transfer-encoding" | "content-length"
        ) {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    let _ = write!(head, "Content-Length: {body_len}\r\n\r\n");
    head
}

/// The three records of one exchange, request, response and metadata, one after the other
/// (each its own gzip member when `gzip`), ready for the writer.
pub fn exchange(exchange: &Exchange, gzip: bool) -> Vec<u8> {
    let response_id = new_id();
    let request_id = new_id();
    let metadata_id = new_id();
    let date = date(exchange.date);
    let url = exchange.url.as_str();
    let ip = exchange.ip.map(|ip| ip.to_string());
    let mut sink = Sink::with_capacity(gzip, exchange.body.len());
    let write = |sink: &mut Sink| -> io::Result<()> {
        let request = request_block(exchange.url, exchange.version, exchange.sent);
        let mut fields = vec![
            ("WARC-Type", "request"),
            ("WARC-Record-ID", request_id.as_str()),
            ("WARC-Date", date.as_str()),
            ("WARC-Target-URI", url),
            ("WARC-Concurrent-To", response_id.as_str()),
        ];
        fields.extend(ip.as_deref().map(|ip| ("WARC-IP-Address", ip)));
        sink.record(&fields, Some((HTTP_REQUEST, &[&request])))?;

        let head = response_head(
            exchange.version,
            exchange.status,
            exchange.reason,
            exchange.headers,
            exchange.body.len(),
        );
        let payload = digest(&[exchange.body]);
        let mut fields = vec![
            ("WARC-Type", "response"),
            ("WARC-Record-ID", response_id.as_str()),
            ("WARC-Date", date.as_str()),
            ("WARC-Target-URI", url),
        ];
        fields.extend(ip.as_deref().map(|ip| ("WARC-IP-Address", ip)));
        fields.push(("WARC-Payload-Digest", &payload));
        fields.extend(exchange.truncated.map(|t| ("WARC-Truncated", t.as_str())));
        sink.record(&fields, Some((HTTP_RESPONSE, &[&head, exchange.body])))?;

        let mut block = String::new();
        for (name, value) in exchange.metadata {
            let _ = write!(block, "{name}: {value}\r\n");
        }
        let fields = [
            ("WARC-Type", "metadata"),
            ("WARC-Record-ID", metadata_id.as_str()),
            ("WARC-Date", date.as_str()),
            ("WARC-Target-URI", url),
            ("WARC-Concurrent-To", response_id.as_str()),
        ];
        sink.record(&fields, Some((WARC_FIELDS, &[block.as_bytes()])))
    };
    write(&mut sink).expect("writing to memory cannot fail");
    sink.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::time::Duration;

    #[test]
    fn digests_are_sha1_in_padded_upper_base32() {
        // SHA-1 of "" is da39a3ee5e6b4b0d3255bfef95601890afd80709.
        assert_eq!(digest(&[]), "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
        assert_eq!(digest(&[b"ab", b"c"]), digest(&[b"abc"]));
        assert_eq!(digest(&[b"abc"]).len(), 5 + 32);
    }

    #[test]
    fn dates_are_utc_to_the_microsecond() {
        let at = UNIX_EPOCH + Duration::from_micros(1_796_459_400_123_456);
        assert_eq!(date(at), "2026-12-05T08:30:00.123456Z");
        assert_eq!(date(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(&date(leap)[..10], "2000-02-29");
    }

    fn sample(gzip: bool) -> Vec<u8> {
        let url = Url::parse("http://a.test:8080/p?q=1").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "text/html".parse().unwrap());
        headers.insert("content-encoding", "gzip".parse().unwrap());
        headers.insert("content-length", "999".parse().unwrap());
        let metadata = [("hop", "0".to_string())];
        exchange(
            &Exchange {
                url: &url,
                date: UNIX_EPOCH,
                ip: Some("127.0.0.1".parse().unwrap()),
                sent: &[("User-Agent", "crawl/0")],
                version: Version::HTTP_11,
                status: StatusCode::OK,
                reason: None,
                headers: &headers,
                body: b"<p>hi",
                truncated: Some(Truncated::Length),
                metadata: &metadata,
            },
            gzip,
        )
    }

    #[test]
    fn an_exchange_is_request_response_metadata() {
        let text = String::from_utf8(sample(false)).unwrap();
        let records: Vec<&str> = text.split("WARC/1.1\r\n").skip(1).collect();
        assert_eq!(records.len(), 3);
        assert!(records[0].contains("WARC-Type: request\r\n"));
        assert!(records[0].contains("GET /p?q=1 HTTP/1.1\r\nHost: a.test:8080\r\n"));
        assert!(records[1].contains("WARC-Truncated: length\r\n"));
        assert!(records[1].contains("WARC-IP-Address: 127.0.0.1\r\n"));
        assert!(records[1].ends_with(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nContent-Length: 5\r\n\r\n<p>hi\r\n\r\n"
        ));
        // The random record ids may hold any digits: they are left out of this look.
        let fixed: String = records[1]
            .lines()
            .filter(|l| !l.starts_with("WARC-Record-ID") && !l.starts_with("WARC-Concurrent-To"))
            .collect();
        assert!(!fixed.contains("gzip") && !fixed.contains("999"), "{fixed}");
        assert!(records[2].contains("\r\n\r\nhop: 0\r\n\r\n\r\n"));
    }

    #[test]
    fn each_gzip_record_is_a_member_of_its_own() {
        let bytes = sample(true);
        let mut rest = &bytes[..];
        let mut members = Vec::new();
        while !rest.is_empty() {
            let mut decoder = flate2::bufread::GzDecoder::new(rest);
            let mut text = String::new();
            decoder.read_to_string(&mut text).unwrap();
            rest = decoder.into_inner();
            members.push(text);
        }
        let plain = String::from_utf8(sample(false)).unwrap();
        assert_eq!(members.len(), 3);
        assert!(members.iter().all(|m| m.starts_with("WARC/1.1\r\n")));
        assert_eq!(members.concat().len(), plain.len());
    }
}
