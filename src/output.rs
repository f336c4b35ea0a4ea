//! The single owner of the output: whole lines to stdout or an appended file, and a closed pipe told apart from a failure.

pub mod record;
pub mod resume;
pub mod since;

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

pub struct Output {
    inner: BufWriter<Counted>,
    /// The file behind `inner`, when there is one, to fsync at the end.
    file: Option<File>,
    /// The path records are appended to; None for stdout.
    path: Option<PathBuf>,
}

/// Counts the lines that got past it whole, so that when the output breaks the user can be
/// told how many records it holds: what the OS took, not what waited in the buffer.
struct Counted {
    target: Box<dyn Write + Send>,
    lines: u64,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.target.write(buf)?;
        self.lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.target.flush()
    }
}

/// Why writing stopped.
#[derive(Debug)]
pub enum WriteError {
    /// The reader went away (`| head -1`): the user has what they wanted.
    Closed,
    Failed(io::Error),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            WriteError::Closed
        } else {
            WriteError::Failed(e)
        }
    }
}

impl Output {
    fn new(target: Box<dyn Write + Send>, file: Option<File>, path: Option<PathBuf>) -> Self {
        let counted = Counted { target, lines: 0 };
        Output {
            inner: BufWriter::with_capacity(64 * 1024, counted),
            file,
            path,
        }
    }

    /// Writes to stdout's own descriptor, so that what is counted as written is what the OS
    /// took; std's stdout would hold a part of a line back in a buffer of its own.
    pub fn stdout() -> Self {
        let target: Box<dyn Write + Send> = match io::stdout().as_fd().try_clone_to_owned() {
            Ok(fd) => Box::new(File::from(fd)),
            // A closed stdout: std's own handle treats it as a sink.
            Err(_) => Box::new(io::stdout()),
        };
        Output::new(target, None, None)
    }

    /// Appends, so a second run adds to the records of the first instead of destroying them.
    /// A file whose last line was torn (by kill -9, say) gets a newline first, so that the new
    /// records start on lines of their own; --resume cuts such a line instead.
    pub fn append(path: &Path) -> io::Result<Self> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        // Only a regular file has a last byte to look at, or anything for fsync to keep; a pipe
        // or a device (-o /dev/stdout) has neither.
        let regular = file.metadata()?.is_file();
        if regular && file.seek(SeekFrom::End(0))? > 0 {
            let mut last = [0u8];
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        let sync = if regular {
            Some(file.try_clone()?)
        } else {
            None
        };
        Ok(Output::new(Box::new(file), sync, Some(path.to_path_buf())))
    }

    pub fn discard() -> Self {
        Output::new(Box::new(io::sink()), None, None)
    }

    /// The file records go to; None for stdout.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// `line` must end in a newline; lines are only ever written whole.
    pub fn write_line(&mut self, line: &[u8]) -> Result<(), WriteError> {
        debug_assert_eq!(line.last(), Some(&b'\n'));
        self.inner.write_all(line)?;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.inner.flush()?;
        Ok(())
    }

    /// Flushes and, for a file, waits until the records are on disk, so they survive a power cut.
    pub fn finish(&mut self) -> Result<(), WriteError> {
        self.flush()?;
        if let Some(file) = &self.file {
            file.sync_all()?;
        }
        Ok(())
    }

    /// After a write failed: drops what is still buffered, rather than try again when dropped
    /// (which could add lines after they were counted), and says how many lines were written.
    pub fn abandon(self) -> u64 {
        let (counted, _buffered) = self.inner.into_parts();
        counted.lines
    }
}

/// Writes `bytes` as the whole of FILE, or leaves FILE as it was: a report written at the end
/// of a crawl must not turn an earlier one into an empty file when the disk is full. The bytes
/// go to a new file beside it, which then takes its place.
pub fn replace_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let meta = std::fs::metadata(path).ok();
    // A pipe or a device (--stats /dev/stdout) has nothing to lose, and cannot be replaced.
    if meta.as_ref().is_some_and(|m| !m.is_file()) {
        return std::fs::write(path, bytes);
    }
    // Through a link, the file it points to is replaced (or made, if it is not there yet); the
    // link stays.
    let target = landing(path).unwrap_or_else(|| path.to_path_buf());
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return std::fs::write(path, bytes);
    };
    let mut beside = std::ffi::OsString::from(".");
    beside.push(name);
    beside.push(format!(".crawl-{}", std::process::id()));
    let temp = dir.join(beside);
    let written = (|| {
        let mut file = File::create(&temp)?;
        if let Some(meta) = &meta {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    match written {
        // A directory that takes no new files, around a file that may be written: in place.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => std::fs::write(path, bytes),
        other => other,
    }
}

/// Where writing to `path` would land: its links followed (even to a file not there yet), its
/// directory made absolute.
pub fn landing(path: &Path) -> Option<PathBuf> {
    let mut path = path.to_path_buf();
    // As many links as the kernel follows before it gives up with ELOOP.
    for _ in 0..40 {
        match std::fs::read_link(&path) {
            Ok(target) => {
                let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
                path = dir.join(target);
            }
            Err(_) => break,
        }
    }
    let name = path.file_name()?.to_owned();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(dir).ok()?.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appending_after_a_torn_line_starts_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, "{\"url\":\"http://a/\"}\n{\"url\":\"http://to").unwrap();
        for _ in 0..2 {
            let mut out = Output::append(&path).unwrap();
            out.write_line(b"{\"url\":\"http://b/\"}\n").unwrap();
            out.finish().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2..],
            ["{\"url\":\"http://b/\"}", "{\"url\":\"http://b/\"}"]
        );
        assert_eq!(lines.len(), 4, "{text}");
    }

    #[test]
    fn a_report_replaces_its_file_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, "old\n").unwrap();
        replace_whole(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        replace_whole(&link, b"newer\n").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "newer\n");
        // A link to a file not there yet makes the file, and stays a link.
        let (dangling, later) = (dir.path().join("dangling"), dir.path().join("later.json"));
        std::os::unix::fs::symlink(&later, &dangling).unwrap();
        replace_whole(&dangling, b"first\n").unwrap();
        assert!(std::fs::symlink_metadata(&dangling).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&later).unwrap(), "first\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 4, "no temporary file is left");
    }
}
