//! `--sort`: read a whole stream, sort it by time (stable: events of one timestamp keep their
//! file order) and serve it again in chunks.
//!
//! This is the one place where memory grows with the file (16 bytes per event); without
//! `--sort`, time going backwards is an error naming the event.

use super::{AeEvent, EventReader, StreamInfo, VecReader};
use crate::error::Result;

/// A reader serving another reader's events sorted by time.
pub struct Sorted {
    inner: VecReader,
    /// Events that were out of order in the source (each event earlier than its predecessor).
    pub inversions: u64,
    skipped: u64,
}

impl Sorted {
    /// Read everything from `source` and sort it.
    pub fn new(mut source: Box<dyn EventReader>) -> Result<Self> {
        let info: StreamInfo = source.info().clone();
        let mut all: Vec<AeEvent> = Vec::new();
        let mut chunk = Vec::new();
        let mut inversions = 0u64;
        let mut last = 0u64;
        while source.next_chunk(&mut chunk)? {
            for e in &chunk {
                inversions += u64::from(e.t < last);
                last = e.t;
            }
            all.extend_from_slice(&chunk);
        }
        if inversions > 0 {
            all.sort_by_key(|e| e.t);
        }
        Ok(Sorted {
            inner: VecReader::new(info, all),
            inversions,
            skipped: source.skipped(),
        })
    }
}

impl EventReader for Sorted {
    fn info(&self) -> &StreamInfo {
        self.inner.info()
    }
    fn next_chunk(&mut self, out: &mut Vec<AeEvent>) -> Result<bool> {
        self.inner.next_chunk(out)
    }
    fn skipped(&self) -> u64 {
        self.skipped
    }
}
