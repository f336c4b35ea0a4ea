//! URL lines as jobs: read a bounded line at a time, so that no input, however long its lines,
//! is held in memory whole.

use std::collections::HashSet;
use std::io::{self, BufRead};

use crate::fetch;
use crate::frontier::Job;
use crate::record::{ErrorKind, PageError};
use crate::redact;

/// Longer URL lines are refused rather than held in memory whole.
const MAX_LINE: usize = 64 * 1024;

/// Turns URL lines into jobs: trimmed, blank lines, `#` comments and already-recorded URLs
/// skipped, any bytes accepted.
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
            let line = String::from_utf8_lossy(&self.buf);
            let line = trim(&line);
            if line.is_empty() || line.starts_with('#') || self.done.contains(&*redact::mask(line))
            {
                continue;
            }
            return Some(Ok((line.to_owned(), too_long)));
        }
    }
}

/// A line without surrounding whitespace or the byte-order mark Windows editors put first.
fn trim(line: &str) -> &str {
    line.trim().trim_start_matches('\u{feff}').trim_start()
}

/// Reads one line into `buf`, keeping at most MAX_LINE bytes of it; None at the end of input,
/// else whether the line was longer than that.
fn read_line(input: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(too_long));
        }
        any = true;
        // The line, without its newline, which does not count towards MAX_LINE.
        let (piece, used, ended) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        too_long |= piece.len() > room;
        buf.extend_from_slice(&piece[..piece.len().min(room)]);
        input.consume(used);
        if ended {
            return Ok(Some(too_long));
        }
    }
}
