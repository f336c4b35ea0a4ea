//! A WARC record's header section, its version line and `Name: value` fields: read whole, or
//! (when the file ends inside it) judged as far as it goes, so a tear is told from other bytes.

/// The versions read; the first line of every record is one of them.
const VERSIONS: [&str; 2] = ["WARC/1.1", "WARC/1.0"];

pub type Fields = Vec<(String, String)>;

/// The version line and header fields of a whole header section (without its closing blank
/// line). Every line ends in CRLF; a line that starts with a space or tab continues the field
/// before it.
pub fn parse(head: &[u8]) -> Result<(String, Fields), String> {
    let text = std::str::from_utf8(head).map_err(|_| NOT_UTF8.to_string())?;
    lines(text, true)
}

/// Whether `head`, all the file has of a header section, could be the start of one.
pub fn prefix(head: &[u8]) -> Result<(), String> {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // A character the end cut in two is still whole so far.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return Err(NOT_UTF8.into()),
    };
    lines(text, false).map(drop)
}

const NOT_UTF8: &str = "record header is not UTF-8";

/// Reads `text` line by line; unless `whole`, its last line is cut short (maybe just before
/// its LF).
fn lines(text: &str, whole: bool) -> Result<(String, Fields), String> {
    let mut lines = text.split("\r\n").peekable();
    let mut version = String::new();
    let mut headers: Fields = Vec::new();
    let mut first = true;
    while let Some(mut line) = lines.next() {
        let complete = whole || lines.peek().is_some();
        if !complete {
            line = line.strip_suffix('\r').unwrap_or(line);
        }
        // Bytes that do not start like a record are none, whatever their line ends.
        if first && !(line.starts_with("WARC/") || "WARC/".starts_with(line)) {
            return Err("not a WARC record: no WARC/1.x line".into());
        }
        if line.contains(['\r', '\n']) {
            return Err("record header line does not end with CRLF".into());
        }
        if first {
            version_line(line, complete)?;
            version = line.to_string();
            first = false;
        } else if line.starts_with([' ', '\t']) {
            let (_, value) = headers
                .last_mut()
                .ok_or("record header starts with a continuation line")?;
            value.push(' ');
            value.push_str(line.trim());
        } else {
            let (name, value) = match line.split_once(':') {
                Some(field) => field,
                None if complete => return Err("record header line without a colon".into()),
                None => (line, ""),
            };
            if name.contains(char::is_whitespace) || (name.is_empty() && line.contains(':')) {
                return Err("record header line with a bad field name".into());
            }
            headers.push((name.to_string(), value.trim().to_string()));
        }
    }
    Ok((version, headers))
}

/// A record's first line: a known version, or (cut short) the start of one.
fn version_line(line: &str, complete: bool) -> Result<(), String> {
    let known = |v: &&str| match complete {
        true => *v == line,
        false => v.starts_with(line),
    };
    if VERSIONS.iter().any(known) {
        return Ok(());
    }
    let shown: String = line.chars().take(40).collect();
    Err(format!(
        "unknown WARC version line '{}'",
        shown.escape_debug()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tails file.rs's tests try after a whole record are judged here; these are the rest.
    #[test]
    fn a_cut_header_is_judged_as_far_as_it_goes() {
        let cases = [
            (&b""[..], true),
            (b"WARC/1.1\r\nA: b\r\n c\r", true),
            (b"WARC/1.1\r\nA: \xc3", true),
            (b"WARC/1.1\r\nA: \xff", false),
            (b"WARC/1.1\r\nno col", false),
            (b"WARC/1.1\r\n continued\r\n", false),
        ];
        for (start, sound) in cases {
            assert_eq!(prefix(start).is_ok(), sound, "{start:?}");
        }
    }

    #[test]
    fn a_whole_header_gives_its_version_and_fields() {
        let (version, fields) = parse(b"WARC/1.0\r\nA: b\r\nX-Long: a\r\n  b\r\nC:d").unwrap();
        assert_eq!(version, "WARC/1.0");
        let want = [("A", "b"), ("X-Long", "a b"), ("C", "d")];
        let want: Fields = want.map(|(k, v)| (k.into(), v.into())).to_vec();
        assert_eq!(fields, want);
        assert!(parse(b"WARC/1.1\r\nA: b\nc").is_err());
        assert!(parse(b"WARC/1.2\r\nA: b").is_err());
    }
}
