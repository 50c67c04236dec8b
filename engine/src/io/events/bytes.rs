//! A bounded read buffer over a file (or any reader) that decoders consume record by record.
//!
//! Memory is the fixed buffer ([`BUF`] bytes) whatever the file size; nothing is ever sized
//! from a number read out of the file. Decoders ask for the bytes they can see (`avail`),
//! decode whole records, `consume` them, and call `refill` when fewer than a record remain.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Buffer size in bytes (1 MiB: a chunk of 16-byte events; see `bench events_read`).
pub const BUF: usize = 1 << 20;

/// A bounded read buffer with the file's name and the absolute offset of what it holds.
pub struct ByteSource {
    inner: Box<dyn Read + Send>,
    path: PathBuf,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    offset: u64,
    eof: bool,
    /// File length if known (regular files), for early "header claims more" checks.
    len: Option<u64>,
}

impl ByteSource {
    /// Open a file.
    pub fn open(path: &Path) -> Result<Self> {
        let f = File::open(path).map_err(|e| super::open_error(path, e))?;
        let len = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
        let mut s = Self::from_reader(Box::new(f), path);
        s.len = len;
        Ok(s)
    }

    /// Read from any reader; `path` names it in messages.
    pub fn from_reader(inner: Box<dyn Read + Send>, path: &Path) -> Self {
        ByteSource {
            inner,
            path: path.to_path_buf(),
            buf: vec![0; BUF],
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
            len: None,
        }
    }

    /// In-memory bytes (tests).
    pub fn from_bytes(bytes: Vec<u8>, name: &str) -> Self {
        let len = bytes.len() as u64;
        let mut s = Self::from_reader(Box::new(std::io::Cursor::new(bytes)), Path::new(name));
        s.len = Some(len);
        s
    }

    /// The file's name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Total length of the file, if known.
    pub fn len(&self) -> Option<u64> {
        self.len
    }

    /// True if the file is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len == Some(0)
    }

    /// File offset of the first unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The unconsumed bytes in the buffer.
    #[inline]
    pub fn avail(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Mark `n` bytes (at most `avail().len()`) as consumed.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start);
        self.start += n;
        self.offset += n as u64;
    }

    /// True once the file is exhausted and the buffer empty.
    pub fn at_end(&mut self) -> Result<bool> {
        if self.start == self.end {
            self.refill()?;
        }
        Ok(self.start == self.end)
    }

    /// Move the unconsumed bytes to the front and read more until the buffer is full or the file
    /// ends. Returns the number of bytes available.
    pub fn refill(&mut self) -> Result<usize> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while !self.eof && self.end < self.buf.len() {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(&self.path, e)),
            }
        }
        Ok(self.end - self.start)
    }

    /// Make at least `n` bytes (at most `BUF`, 1 MiB) available; false if the file ends first.
    pub fn ensure(&mut self, n: usize) -> Result<bool> {
        debug_assert!(n <= BUF);
        if self.end - self.start >= n {
            return Ok(true);
        }
        Ok(self.refill()? >= n)
    }

    /// Read one header line ending in `\n` (returned without `\r\n`), at most `max` bytes;
    /// `None` at the end of the file.
    pub fn line(&mut self, max: usize, what: &str) -> Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        loop {
            if self.start == self.end && self.refill()? == 0 {
                return Ok(if line.is_empty() { None } else { Some(line) });
            }
            let avail = self.avail();
            let (take, done) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (avail.len(), false),
            };
            if line.len() + take > max {
                return Err(self.error_here(
                    what,
                    format!("a line longer than {max} bytes"),
                    "header lines are short text lines ending in a newline",
                    "is this file of the format it claims to be?",
                ));
            }
            line.extend_from_slice(&avail[..take]);
            self.consume(take);
            if done {
                while matches!(line.last(), Some(b'\n' | b'\r')) {
                    line.pop();
                }
                return Ok(Some(line));
            }
        }
    }

    /// An input error at the current offset.
    pub fn error_here(
        &self,
        what: &str,
        value: impl std::fmt::Display,
        allowed: impl Into<String>,
        hint: impl Into<String>,
    ) -> Error {
        Error::input(
            format!("{what} (byte offset {})", self.offset),
            value,
            allowed,
            hint,
        )
        .in_file(&self.path)
    }

    /// The error for a file that ends inside a record of `size` bytes.
    pub fn truncated(&self, record: &str, index: u64, size: usize) -> Error {
        let left = self.end - self.start;
        Error::input(
            format!("{record} {index} (byte offset {})", self.offset),
            format!("{left} byte(s)"),
            format!("the file ends inside a {size}-byte record: it is truncated"),
            "re-copy or re-record the file; the events before this one are intact",
        )
        .in_file(&self.path)
    }
}
