//! URL lines as jobs: read a bounded line at a time, so that no input, however long its lines,
//! is held in memory whole.

use std::collections::HashSet;
use std::io::{self, BufRead};

use crate::crawl::frontier::Job;
use crate::fetch;
use crate::output::record::{ErrorKind, PageError};
use crate::urls::redact;

/// Longer URL lines are refused rather than held in memory whole.
const MAX_LINE: usize = 64 * 1024;

/// Turns URL lines into jobs: trimmed, blank lines, `#` comments and already-recorded URLs
/// skipped, any bytes accepted (see `text`).
pub struct Lines<'a> {
    done: &'a HashSet<String>,
    buf: Vec<u8>,
}

pub fn jobs(done: &HashSet<String>) -> Lines<'_> {
    Lines {
        done,
        buf: Vec::new(),
    }
}

impl Lines<'_> {
    pub fn next(&mut self, input: &mut dyn BufRead) -> Option<io::Result<Job>> {
        Some(self.next_line(input)?.map(|(line, too_long)| {
            let target = if too_long {
                let message = format!("line longer than {MAX_LINE} bytes");
                Err(PageError::new(ErrorKind::InvalidUrl, message))
            } else {
                fetch::target(&line)
            };
            Job::seed(line, target)
        }))
    }

    /// The next line that is to become a job, trimmed, and whether it was cut at MAX_LINE: apart
    /// from `next`, so that the progress bar can count the lines up front by the same rules.
    pub fn next_line(&mut self, input: &mut dyn BufRead) -> Option<io::Result<(String, bool)>> {
        loop {
            self.buf.clear();
            let too_long = match read_line(input, &mut self.buf) {
                Ok(None) => return None,
                Ok(Some(too_long)) => too_long,
                Err(e) => return Some(Err(e)),
            };
            let line = fetch::url_text(&self.buf);
            let line = trim(&line);
            if line.is_empty() || line.starts_with('#') || self.done.contains(&*redact::mask(line))
            {
                continue;
            }
            return Some(Ok((line.to_owned(), too_long)));
        }
    }
}

/// Cuts a line that is longer than MAX_LINE to at most MAX_LINE bytes, before the character
/// that would straddle the cut, so that no character is turned into escapes of its first bytes;
/// says whether it was longer. `buf` holds the bytes that could complete such a character too.
fn cut(buf: &mut Vec<u8>) -> bool {
    if buf.len() <= MAX_LINE {
        return false;
    }
    let mut at = 0;
    'units: for chunk in buf.utf8_chunks() {
        let chars = chunk.valid().chars().map(char::len_utf8);
        // A byte that is not UTF-8 is a unit of its own: it becomes one escape.
        for len in chars.chain(chunk.invalid().iter().map(|_| 1)) {
            if at + len > MAX_LINE {
                break 'units;
            }
            at += len;
        }
    }
    buf.truncate(at);
    true
}

/// A line without surrounding whitespace or the byte-order mark Windows editors put first.
fn trim(line: &str) -> &str {
    line.trim().trim_start_matches('\u{feff}').trim_start()
}

/// Reads one line into `buf`, keeping at most MAX_LINE bytes of it, cut at a character; None
/// at the end of input, else whether the line was longer than that.
fn read_line(input: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    // Enough to finish a UTF-8 sequence that starts in the last byte before the cut.
    const KEEP: usize = MAX_LINE + 3;
    let mut any = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then(|| cut(buf)));
        }
        any = true;
        // The line, without its newline, which does not count towards MAX_LINE.
        let (piece, used, ended) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        let room = KEEP.saturating_sub(buf.len());
        buf.extend_from_slice(&piece[..piece.len().min(room)]);
        input.consume(used);
        if ended {
            return Ok(Some(cut(buf)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn bytes_that_are_not_utf8_become_escapes_and_the_rest_stays() {
        assert_eq!(
            fetch::url_text(b"/caf\xe9 \xff\xfe/\xc3\xa9"),
            "/caf%E9 %FF%FE/é"
        );
        // Half a sequence is escaped byte by byte, and valid text after it is kept.
        assert_eq!(fetch::url_text(b"\xe4\xb8x\xe4\xb8\xad"), "%E4%B8x中");
        assert!(matches!(
            fetch::url_text("中文".as_bytes()),
            Cow::Borrowed("中文")
        ));
    }

    #[test]
    fn a_long_line_is_cut_before_a_character_that_straddles_the_cut() {
        let a = |n| "a".repeat(n);
        for (line, kept) in [
            (format!("{}😀", a(MAX_LINE - 3)), a(MAX_LINE - 3)),
            (format!("{}😀", a(MAX_LINE - 1)), a(MAX_LINE - 1)),
            (
                format!("{}😀b", a(MAX_LINE - 4)),
                format!("{}😀", a(MAX_LINE - 4)),
            ),
            (
                format!("{}éb", a(MAX_LINE - 2)),
                format!("{}é", a(MAX_LINE - 2)),
            ),
            (format!("{}éb", a(MAX_LINE - 1)), a(MAX_LINE - 1)),
        ] {
            let mut input = io::Cursor::new(format!("{line}\nnext\n"));
            let mut buf = Vec::new();
            assert_eq!(read_line(&mut input, &mut buf).unwrap(), Some(true));
            assert_eq!(String::from_utf8(buf).unwrap(), kept);
            buf = Vec::new();
            assert_eq!(read_line(&mut input, &mut buf).unwrap(), Some(false));
            assert_eq!(buf, b"next");
        }
        // A byte that is not UTF-8 is no character to keep whole: it stays, to become an escape.
        let mut line = a(MAX_LINE - 1).into_bytes();
        line.extend_from_slice(b"\xe9\xe9\n");
        let mut buf = Vec::new();
        read_line(&mut io::Cursor::new(&line), &mut buf).unwrap();
        assert_eq!(buf, line[..MAX_LINE]);
        // Exactly MAX_LINE is not too long, with or without a newline after it.
        for end in ["", "\n"] {
            let line = a(MAX_LINE) + end;
            let mut buf = Vec::new();
            let found = read_line(&mut io::Cursor::new(&line), &mut buf).unwrap();
            assert_eq!((found, buf.len()), (Some(false), MAX_LINE));
        }
    }
}
