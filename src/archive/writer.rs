//! The one thread that writes the archive: whole exchanges as they come, already built and
//! compressed by the threads that fetched them, so that records never interleave and a slow
//! disk holds the crawl back through the bounded channel instead of filling memory.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TryRecvError};

/// Exchanges waiting for the writer: enough to ride out a slow write, few enough that bodies
/// held here cost little memory.
const QUEUE: usize = 64;

/// How often an idle writer looks whether it is asked to finish.
const POLL: Duration = Duration::from_millis(50);

/// What the fetchers hold: where to send an exchange's bytes, and how to build them.
pub struct Archive {
    tx: Sender<Vec<u8>>,
    gzip: bool,
}

impl Archive {
    /// Whether each record must be its own gzip member (the path ends in `.gz`).
    pub fn gzip(&self) -> bool {
        self.gzip
    }

    /// Hands one or more whole exchanges to the writer; waits while its queue is full. Once the
    /// writer has finished (the crawl is over or stopping), the bytes are dropped.
    pub fn send(&self, bytes: Vec<u8>) {
        let _ = self.tx.send(bytes);
    }
}

/// The writer thread, for whoever ends the crawl.
pub struct Writer {
    finish: Sender<()>,
    thread: JoinHandle<io::Result<()>>,
    path: PathBuf,
}

/// Whether the archive's path asks for gzip members.
pub fn is_gzip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

/// Starts the writer on `file` (opened for appending), which writes `first` (the run's
/// warcinfo) before anything else.
pub fn start(file: File, path: &Path, first: Vec<u8>) -> io::Result<(Archive, Writer)> {
    let (tx, rx) = bounded::<Vec<u8>>(QUEUE);
    let (finish, finished) = bounded::<()>(1);
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    out.write_all(&first)?;
    out.flush()?;
    let thread = thread::Builder::new()
        .name("warc-writer".into())
        .spawn(move || write_all(out, &rx, &finished))?;
    let archive = Archive {
        tx,
        gzip: is_gzip(path),
    };
    let writer = Writer {
        finish,
        thread,
        path: path.to_path_buf(),
    };
    Ok((archive, writer))
}

impl Writer {
    /// Writes what is queued, flushes and syncs, and ends the thread; exchanges sent later are
    /// dropped. Called once the crawl has ended or given up waiting for it (a stop).
    pub fn finish(self) -> io::Result<()> {
        let _ = self.finish.send(());
        match self.thread.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Writes exchanges as they come, flushing when none waits, until told to finish. After a
/// write error, nothing more is written (the file ends at the last whole write, as far as the
/// disk allowed), but the queue is still emptied so that no fetch waits on it.
fn write_all(
    mut out: BufWriter<File>,
    rx: &Receiver<Vec<u8>>,
    finished: &Receiver<()>,
) -> io::Result<()> {
    let mut failed = None;
    let mut write = |out: &mut BufWriter<File>, bytes: &[u8]| {
        if failed.is_none() {
            if let Err(e) = out.write_all(bytes) {
                failed = Some(e);
            }
        }
    };
    loop {
        match rx.try_recv() {
            Ok(bytes) => write(&mut out, &bytes),
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                if finished.try_recv().is_ok() {
                    break;
                }
                let _ = out.flush();
                match rx.recv_timeout(POLL) {
                    Ok(bytes) => write(&mut out, &bytes),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    out.flush()?;
    out.get_ref().sync_all()
}
