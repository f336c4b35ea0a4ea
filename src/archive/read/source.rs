//! The decoded bytes of a WARC file, a chunk at a time: a plain file's own, or a gzipped one's
//! member by member, each byte known by where in the file it (or its member) starts.

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::GzDecoder;

/// The first bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Bytes are read (or decoded) this much at a time.
const CHUNK: usize = 64 * 1024;

/// What `Source::more` found.
pub(super) enum More {
    /// Bytes were added to the buffer.
    Bytes,
    /// The gzip member being decoded ended, whole; the next call starts the next one.
    MemberEnd,
    /// The file ended where a member did (or, plain, just ended).
    End,
    /// The file ends inside a gzip member.
    Cut,
}

/// Why no more bytes can be had.
pub(super) struct Fault {
    /// The bytes could not be read at all, rather than read and found wrong.
    pub unreadable: bool,
    pub why: String,
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

enum State<R: Read> {
    Plain(BufReader<R>),
    Between(Counted<BufReader<R>>),
    Member(Box<GzDecoder<Counted<BufReader<R>>>>),
    Done,
}

/// A file's decoded bytes: `unread()` is what the reader has not taken yet.
pub(super) struct Source<R: Read> {
    state: State<R>,
    gzip: bool,
    buf: Vec<u8>,
    pos: usize,
    /// Plain: the file offset of `buf[0]`. Gzip: where the member being read starts.
    base: u64,
}

impl<R: Read> Source<R> {
    /// Tells plain from gzip by the first two bytes.
    pub fn new(inner: R) -> io::Result<Source<R>> {
        let mut inner = BufReader::with_capacity(CHUNK, inner);
        let gzip = inner.fill_buf()?.starts_with(&GZIP_MAGIC);
        let state = match gzip {
            true => State::Between(Counted { inner, consumed: 0 }),
            false => State::Plain(inner),
        };
        Ok(Source {
            state,
            gzip,
            buf: Vec::new(),
            pos: 0,
            base: 0,
        })
    }

    pub fn gzip(&self) -> bool {
        self.gzip
    }

    pub fn unread(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    pub fn consume(&mut self, n: usize) {
        self.pos += n;
    }

    /// The file offset of the first unread byte: for a gzipped file, its member's.
    pub fn at(&self) -> u64 {
        match self.gzip {
            true => self.base,
            false => self.base + self.pos as u64,
        }
    }

    /// Adds bytes to the unread ones, dropping those already taken.
    pub fn more(&mut self) -> Result<More, Fault> {
        self.buf.drain(..self.pos);
        if !self.gzip {
            self.base += self.pos as u64;
        }
        self.pos = 0;
        let at = self.buf.len();
        self.buf.resize(at + CHUNK, 0);
        let read = self.read(at);
        let n = *read.as_ref().map_or(&0, |(_, n)| n);
        self.buf.truncate(at + n);
        read.map(|(more, _)| more)
    }

    fn read(&mut self, at: usize) -> Result<(More, usize), Fault> {
        let into = &mut self.buf[at..];
        let unreadable = |e: io::Error| Fault {
            unreadable: true,
            why: format!("cannot read: {e}"),
        };
        loop {
            match &mut self.state {
                State::Done => return Ok((More::End, 0)),
                State::Plain(inner) => match inner.read(into) {
                    Ok(0) => return Ok((More::End, 0)),
                    Ok(n) => return Ok((More::Bytes, n)),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(unreadable(e)),
                },
                State::Between(inner) => {
                    self.base = inner.consumed;
                    let head = inner.fill_buf().map_err(unreadable)?;
                    if head.is_empty() {
                        self.state = State::Done;
                        return Ok((More::End, 0));
                    }
                    if !head.starts_with(&GZIP_MAGIC[..head.len().min(2)]) {
                        return Err(Fault {
                            unreadable: false,
                            why: "not a gzip member".into(),
                        });
                    }
                    let State::Between(inner) = std::mem::replace(&mut self.state, State::Done)
                    else {
                        unreachable!()
                    };
                    self.state = State::Member(Box::new(GzDecoder::new(inner)));
                }
                State::Member(member) => match member.read(into) {
                    Ok(0) => {
                        let State::Member(member) = std::mem::replace(&mut self.state, State::Done)
                        else {
                            unreachable!()
                        };
                        self.state = State::Between(member.into_inner());
                        return Ok((More::MemberEnd, 0));
                    }
                    Ok(n) => return Ok((More::Bytes, n)),
                    Err(e) => {
                        self.state = State::Done;
                        return match e.kind() {
                            io::ErrorKind::UnexpectedEof => Ok((More::Cut, 0)),
                            _ => Err(Fault {
                                unreadable: false,
                                why: format!("corrupt gzip member: {e}"),
                            }),
                        };
                    }
                },
            }
        }
    }

    /// Why the gzip member being read is corrupt, if it is: decoding the rest of it tells.
    /// Damage found in a member's bytes is then put down to the member, not its records.
    pub fn corrupt_member(&mut self) -> Option<String> {
        let State::Member(member) = &mut self.state else {
            return None;
        };
        let result = io::copy(member.as_mut(), &mut io::sink());
        self.state = State::Done;
        match result {
            Err(e) if e.kind() != io::ErrorKind::UnexpectedEof => {
                Some(format!("corrupt gzip member: {e}"))
            }
            _ => None,
        }
    }
}
