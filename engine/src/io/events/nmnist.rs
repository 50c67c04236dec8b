//! N-MNIST / N-Caltech101 `.bin` files: reader.
//!
//! Layout (G. Orchard et al., "Converting static image datasets to spiking neuromorphic
//! datasets using saccades", Front. Neurosci. 2015; the authors' `Read_Ndataset.m`; tonic's
//! `read_mnist_file`): no header; 5 bytes per event, big-endian bit fields:
//!
//! | byte | bits | field |
//! |---|---|---|
//! | 0 | 7..0 | x |
//! | 1 | 7..0 | y |
//! | 2 | 7 | polarity |
//! | 2–4 | 22..0 | timestamp (µs): `(b2 & 0x7f) << 16 \| b3 << 8 \| b4` |
//!
//! An event with `y == 240` is not an event but a timestamp-overflow marker: like the reference
//! readers, every later timestamp gets `2^13` added and the marker is dropped. N-MNIST's sensor
//! is 34 × 34 (N-Caltech101's up to 240 × 180: give `--width/--height`).

use super::bytes::ByteSource;
use super::{AeEvent, CHUNK, EventReader, Format, StreamInfo};
use crate::error::Result;

/// What the reference readers add to later timestamps at each overflow marker.
pub const OVERFLOW_STEP: u64 = 1 << 13;
/// The `y` value marking an overflow.
pub const OVERFLOW_Y: u8 = 240;

/// Streaming N-MNIST reader.
pub struct Reader {
    src: ByteSource,
    info: StreamInfo,
    next: u64,
    offset: u64,
    overflows: u64,
}

impl Reader {
    /// A reader over a headerless `.bin` file (N-MNIST geometry 34 × 34).
    pub fn new(src: ByteSource) -> Result<Self> {
        let mut info = StreamInfo::new(Format::NMnist, true, true);
        info.width = Some(34);
        info.height = Some(34);
        if let Some(len) = src.len() {
            info.declared = Some(len / 5);
        }
        Ok(Reader {
            src,
            info,
            next: 0,
            offset: 0,
            overflows: 0,
        })
    }

    /// Overflow markers seen so far.
    pub fn overflows(&self) -> u64 {
        self.overflows
    }
}

impl EventReader for Reader {
    fn info(&self) -> &StreamInfo {
        &self.info
    }

    fn next_chunk(&mut self, out: &mut Vec<AeEvent>) -> Result<bool> {
        out.clear();
        while out.is_empty() {
            if !self.src.ensure(5)? {
                if self.src.avail().is_empty() {
                    return Ok(false);
                }
                return Err(self.src.truncated("record", self.next, 5));
            }
            let n = (self.src.avail().len() / 5).min(CHUNK);
            let mut offset = self.offset;
            for r in self.src.avail()[..n * 5].chunks_exact(5) {
                if r[1] == OVERFLOW_Y {
                    offset += OVERFLOW_STEP;
                    self.overflows += 1;
                    continue;
                }
                let ts = u64::from(r[2] & 0x7F) << 16 | u64::from(r[3]) << 8 | u64::from(r[4]);
                out.push(AeEvent::xyp(
                    ts + offset,
                    u32::from(r[0]),
                    u16::from(r[1]),
                    r[2] >> 7,
                ));
            }
            self.offset = offset;
            self.src.consume(n * 5);
            self.next += n as u64;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_fields_and_overflow_by_hand() {
        // x=1 y=2 p=1 t=0x012345; overflow marker; x=33 y=33 p=0 t=5 (+ 2^13)
        let b = vec![
            1,
            2,
            0x80 | 0x01,
            0x23,
            0x45, //
            0,
            240,
            0,
            0,
            0, //
            33,
            33,
            0,
            0,
            5,
        ];
        let mut r = Reader::new(ByteSource::from_bytes(b, "mem.bin")).unwrap();
        let mut c = vec![];
        assert!(r.next_chunk(&mut c).unwrap());
        assert_eq!(
            c,
            vec![
                AeEvent::xyp(0x012345, 1, 2, 1),
                AeEvent::xyp(5 + 8192, 33, 33, 0)
            ]
        );
        assert!(!r.next_chunk(&mut c).unwrap());
        assert_eq!(r.overflows(), 1);
    }

    #[test]
    fn truncated_record() {
        let mut r =
            Reader::new(ByteSource::from_bytes(vec![1, 2, 3, 4, 5, 6, 7], "m.bin")).unwrap();
        let mut c = vec![];
        assert!(r.next_chunk(&mut c).unwrap());
        let e = r.next_chunk(&mut c).unwrap_err().to_string();
        assert!(e.contains("record 1") && e.contains("truncated"), "{e}");
    }
}
