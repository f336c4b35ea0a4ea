//! The single owner of the output: whole lines to stdout or an appended file, and a closed pipe told apart from a failure.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

pub struct Output {
    inner: BufWriter<Box<dyn Write + Send>>,
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
    pub fn new(target: Box<dyn Write + Send>) -> Self {
        Output {
            inner: BufWriter::with_capacity(64 * 1024, target),
        }
    }

    pub fn stdout() -> Self {
        Output::new(Box::new(io::stdout()))
    }

    /// Appends, so a second run adds to the records of the first instead of destroying them.
    pub fn append(path: &Path) -> io::Result<Self> {
        let file: File = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Output::new(Box::new(file)))
    }

    pub fn discard() -> Self {
        Output::new(Box::new(io::sink()))
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
}
