//! AEDAT 2.0 (jAER's file format since 2010): reader and writer.
//!
//! Layout (inivation.com "AEDAT file formats", section AEDAT 2.0; jAER `AEFileInputStream`):
//!
//! | part | content |
//! |---|---|
//! | header | text lines, each starting with `#` and ending in `\r\n`; the first is `#!AER-DAT2.0` |
//! | events | 8 bytes each: `int32` address, `int32` timestamp (µs), both **big-endian** |
//!
//! The header ends at the first byte that is not `#` (so, as in jAER, a first event whose
//! address starts with byte 0x23 would be taken for a header line).
//!
//! The address layout depends on the sensor (jAER's `AEChip` class). Eligo reads it as a raw
//! 32-bit 1-D address ([`AedatChip::Raw`], the default, lossless) or as a DVS128 event
//! ([`AedatChip::Dvs128`]) exactly as jAER's DVS128 extractor (`DVS128.Extractor`) does:
//!
//! | bits | meaning |
//! |---|---|
//! | 31 or 15 set | a special event (jAER `SPECIAL_EVENT_BIT_MASK`, sync/external input): not a pixel, skipped and counted |
//! | 14..8 | y |
//! | 7..1 | raw x: `x = 127 − raw x` (jAER flips x) |
//! | 0 | polarity, inverted: raw 1 is OFF (`p = 0`), raw 0 is ON (`p = 1`) |
//!
//! The writer stores raw addresses, or DVS128 addresses with the chip line
//! `# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128` ([`Layout::Dvs128`]), so a DVS128 stream
//! converted to AEDAT reads back, in Eligo and in jAER, as the same pixels. A file whose
//! addresses are neuron indices (a converted sensor stream) says so in a header line, and reading
//! it with the DVS128 layout is refused.
//!
//! Timestamps are 32-bit and wrap after 2^32 µs (71.6 min). The reader takes a drop of more than
//! 2^31 µs as a wrap and adds 2^32; any smaller drop is time going backwards. The writer refuses
//! what the reader could not rebuild: a first event at or after 2^32 µs, or a gap of 2^31 µs or
//! more between consecutive events.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::bytes::ByteSource;
use super::{AeEvent, AedatChip, CHUNK, EventReader, Format, StreamInfo};
use crate::error::{Error, Result};

/// First header line.
pub const MAGIC: &[u8] = b"#!AER-DAT2.0";
const MAX_LINE: usize = 1 << 16;
const WRAP: u64 = 1 << 32;
const HALF: u64 = 1 << 31;
/// jAER's special-event bits in a DVS128 address: bit 31 (`BasicEvent.SPECIAL_EVENT_BIT_MASK`)
/// and bit 15 (the DVS128's sync / external input event).
const DVS128_SPECIAL: u32 = 0x8000_8000;
/// The chip line jAER writes for (and reads as) a DVS128 recording.
pub const DVS128_CHIP_LINE: &str = "# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128";
/// The header line Eligo writes when the addresses are neuron indices, not a sensor's layout.
const INDEX_LINE: &str = "# Eligo addresses: neuron indices";

/// The DVS128 address of pixel (`x`, `y`) with polarity `p` (1 = ON), as jAER encodes it.
pub fn dvs128_address(x: u32, y: u16, p: u8) -> u32 {
    (u32::from(y & 0x7F) << 8) | ((127 - (x & 0x7F)) << 1) | u32::from(p == 0)
}

/// Streaming AEDAT 2.0 reader.
pub struct Reader {
    src: ByteSource,
    info: StreamInfo,
    chip: AedatChip,
    /// Records decoded so far.
    next: u64,
    prev_ts: u32,
    epoch: u64,
    skipped: u64,
}

impl Reader {
    /// Parse the header.
    pub fn new(mut src: ByteSource, chip: AedatChip) -> Result<Self> {
        let first = src
            .line(MAX_LINE, "AEDAT header line 1")?
            .unwrap_or_default();
        if first != MAGIC {
            let shown = String::from_utf8_lossy(&first[..first.len().min(40)]).into_owned();
            let allowed = if first.starts_with(b"#!AER-DAT") {
                "Eligo reads AEDAT 2.0 only (this is another version)"
            } else {
                "an AEDAT 2.0 file starts with the line #!AER-DAT2.0"
            };
            return Err(Error::input(
                "AEDAT header line 1",
                format!("'{shown}'"),
                allowed,
                "convert other versions with jAER, dv-processing or tonic",
            )
            .in_file(src.path()));
        }
        let mut lines = 1u64;
        let mut notes = Vec::new();
        let mut indices = None;
        while src.ensure(1)? && src.avail()[0] == b'#' {
            lines += 1;
            let l = src
                .line(MAX_LINE, &format!("AEDAT header line {lines}"))?
                .unwrap_or_default();
            if l.starts_with(INDEX_LINE.as_bytes()) {
                indices = Some(String::from_utf8_lossy(&l[1..]).trim().to_string());
            }
            if notes.len() < 8 {
                let text = String::from_utf8_lossy(&l[1..]).trim().to_string();
                if !text.is_empty() {
                    notes.push(("header".to_string(), text));
                }
            }
        }
        if let (AedatChip::Dvs128, Some(line)) = (chip, &indices) {
            return Err(Error::input(
                "--aedat-chip",
                "dvs128",
                format!(
                    "this file's addresses are neuron indices, not DVS128 pixel addresses \
                     (header: '{line}')"
                ),
                "read it with --aedat-chip raw (the default): the address is the neuron index",
            )
            .in_file(src.path()));
        }
        let (has_y, has_p) = match chip {
            AedatChip::Raw => (false, false),
            AedatChip::Dvs128 => (true, true),
        };
        let mut info = StreamInfo::new(Format::Aedat2, has_y, has_p);
        if chip == AedatChip::Dvs128 {
            info.width = Some(128);
            info.height = Some(128);
        }
        info.notes = notes;
        if let Some(len) = src.len() {
            info.declared = Some(len.saturating_sub(src.offset()) / 8);
        }
        Ok(Reader {
            src,
            info,
            chip,
            next: 0,
            prev_ts: 0,
            epoch: 0,
            skipped: 0,
        })
    }
}

impl EventReader for Reader {
    fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// Special events (DVS128 layout: address bit 31 or 15 set) skipped so far.
    fn skipped(&self) -> u64 {
        self.skipped
    }

    fn next_chunk(&mut self, out: &mut Vec<AeEvent>) -> Result<bool> {
        out.clear();
        while out.is_empty() {
            if !self.src.ensure(8)? {
                if self.src.avail().is_empty() {
                    return Ok(false);
                }
                return Err(self.src.truncated("event", self.next, 8));
            }
            let n = (self.src.avail().len() / 8).min(CHUNK);
            let recs = &self.src.avail()[..n * 8];
            let (mut prev, mut epoch) = (self.prev_ts, self.epoch);
            for (k, rec) in recs.chunks_exact(8).enumerate() {
                let a = u32::from_be_bytes([rec[0], rec[1], rec[2], rec[3]]);
                let ts = u32::from_be_bytes([rec[4], rec[5], rec[6], rec[7]]);
                if ts < prev && u64::from(prev - ts) > HALF {
                    // 2^32 wraps (a crafted file of 64 GB) would pass 2^64 µs
                    epoch = epoch.checked_add(WRAP).ok_or_else(|| {
                        Error::input(
                            format!("event {}", self.next + k as u64),
                            format!("timestamp {ts}"),
                            "timestamp wraps pass 2^64 µs",
                            "is this an AEDAT 2.0 recording?",
                        )
                        .in_file(self.src.path())
                    })?;
                }
                prev = ts;
                let t = epoch + u64::from(ts);
                match self.chip {
                    AedatChip::Raw => out.push(AeEvent::addr(t, a)),
                    AedatChip::Dvs128 => {
                        if a & DVS128_SPECIAL != 0 {
                            self.skipped += 1;
                            continue;
                        }
                        out.push(AeEvent::xyp(
                            t,
                            127 - ((a >> 1) & 0x7F),
                            ((a >> 8) & 0x7F) as u16,
                            (1 - (a & 1)) as u8,
                        ));
                    }
                }
            }
            self.prev_ts = prev;
            self.epoch = epoch;
            self.src.consume(n * 8);
            self.next += n as u64;
        }
        Ok(true)
    }
}

/// How the [`Writer`] turns an event into a 32-bit address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// `x` is the address, as read with [`AedatChip::Raw`].
    Raw,
    /// `x` is a neuron index from the address map described by the string: written as is, with a
    /// header line saying so (the DVS128 reader then refuses the file).
    Indices(String),
    /// `x, y, p` of a 128 x 128 sensor, encoded as jAER's DVS128 address, with its chip line.
    Dvs128,
}

/// Streaming AEDAT 2.0 writer, atomic like the `.npy` writer.
pub struct Writer {
    w: Option<BufWriter<File>>,
    path: PathBuf,
    tmp: PathBuf,
    n: u64,
    last: Option<u64>,
    buf: Vec<u8>,
    layout: Layout,
}

impl Writer {
    /// Start writing `path` with raw addresses.
    pub fn create(path: &Path) -> Result<Self> {
        Self::create_with(path, Layout::Raw)
    }

    /// Start writing `path` with the given address layout.
    pub fn create_with(path: &Path, layout: Layout) -> Result<Self> {
        let tmp = crate::io::tmp_name(path);
        let f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let mut header = format!(
            "#!AER-DAT2.0\r\n\
             # This is a raw AE data file - do not edit\r\n\
             # Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event\r\n\
             # Timestamps tick is 1 us\r\n\
             # created by eligo {}\r\n",
            env!("CARGO_PKG_VERSION")
        );
        match &layout {
            Layout::Raw => {}
            Layout::Indices(map) => header.push_str(&format!("{INDEX_LINE} ({map})\r\n")),
            Layout::Dvs128 => header.push_str(&format!("{DVS128_CHIP_LINE}\r\n")),
        }
        w.write_all(header.as_bytes())
            .map_err(|e| Error::io(&tmp, e))?;
        Ok(Writer {
            w: Some(w),
            path: path.to_path_buf(),
            tmp,
            n: 0,
            last: None,
            buf: Vec::new(),
            layout,
        })
    }

    fn check(&self, i: u64, t: u64) -> Result<()> {
        let err = |allowed: String, hint: &str| {
            Err(
                Error::input(format!("event {i}"), format!("t = {t} µs"), allowed, hint)
                    .in_file(&self.path),
            )
        };
        match self.last {
            None if t >= WRAP => err(
                "AEDAT 2.0 stores 32-bit µs timestamps: the first event must be before 2^32 µs \
                 (71.6 min)"
                    .into(),
                "shift the times with --t-start-us first",
            ),
            Some(l) if t < l => err(
                format!("events must be in time order; the event before has t = {l} µs"),
                "pass --sort",
            ),
            Some(l) if t - l >= HALF => err(
                format!(
                    "a gap of {} µs after the event before (t = {l} µs) cannot be told from a \
                     timestamp wrap in AEDAT 2.0 (limit 2^31 µs, 35.8 min)",
                    t - l
                ),
                "write this stream as .npy, which stores 64-bit times",
            ),
            _ => Ok(()),
        }
    }

    /// Append events (`x` is the 32-bit address, or `x, y, p` a DVS128 pixel).
    pub fn write(&mut self, events: &[AeEvent]) -> Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let dvs = self.layout == Layout::Dvs128;
        for (k, e) in events.iter().enumerate() {
            let i = self.n + k as u64;
            self.check(i, e.t)?;
            let a = if dvs {
                if e.x > 127 || e.y > 127 || e.p > 1 {
                    return Err(Error::input(
                        format!("event {i}"),
                        format!("x = {}, y = {}, p = {}", e.x, e.y, e.p),
                        "a DVS128 address holds x, y in 0..127 and p in 0..1",
                        "",
                    )
                    .in_file(&self.path));
                }
                dvs128_address(e.x, e.y, e.p)
            } else {
                e.x
            };
            self.last = Some(e.t);
            buf.extend_from_slice(&a.to_be_bytes());
            buf.extend_from_slice(&((e.t % WRAP) as u32).to_be_bytes());
        }
        let w = self.w.as_mut().expect("write before finish");
        let r = w.write_all(&buf).map_err(|e| Error::io(&self.tmp, e));
        self.buf = buf;
        self.n += events.len() as u64;
        r
    }

    /// Flush, sync and rename. Returns the number of events.
    pub fn finish(mut self) -> Result<u64> {
        let w = self.w.take().expect("finish once");
        let r = (|| {
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            std::fs::rename(&self.tmp, &self.path)
        })();
        r.map_err(|e| Error::io(&self.path, e))?;
        Ok(self.n)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.w.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Write `events` as AEDAT 2.0 (raw addresses) atomically.
pub fn write(path: &Path, events: &[AeEvent]) -> Result<u64> {
    let mut w = Writer::create(path)?;
    w.write(events)?;
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: Vec<u8>, chip: AedatChip) -> Result<Vec<AeEvent>> {
        let mut r = Reader::new(ByteSource::from_bytes(bytes, "mem.aedat"), chip)?;
        let mut all = vec![];
        let mut c = vec![];
        while r.next_chunk(&mut c)? {
            all.extend_from_slice(&c);
        }
        Ok(all)
    }

    fn file(records: &[(u32, u32)]) -> Vec<u8> {
        let mut b = b"#!AER-DAT2.0\r\n# a comment\r\n".to_vec();
        for (a, t) in records {
            b.extend_from_slice(&a.to_be_bytes());
            b.extend_from_slice(&t.to_be_bytes());
        }
        b
    }

    /// jAER's DVS128 extractor: x = 127 - bits 1..7, y = bits 8..14, bit 0 = 1 is OFF; an
    /// address with bit 15 (sync) or bit 31 (special) set is no pixel.
    #[test]
    fn dvs128_bits_as_jaer_reads_them() {
        let recs = [
            (1 | 5 << 1 | 9 << 8, 7), // raw x 5, OFF -> x 122, p 0
            (0x8000, 8),              // sync / external input
            (0x8000_0000 | 3 << 8, 8),
            (6 << 1, 9), // raw x 6, ON -> x 121, p 1
        ];
        let b = file(&recs);
        let mut r = Reader::new(ByteSource::from_bytes(b.clone(), "m"), AedatChip::Dvs128).unwrap();
        let mut ev = vec![];
        while r.next_chunk(&mut ev).unwrap() {
            assert_eq!(
                ev,
                vec![AeEvent::xyp(7, 122, 9, 0), AeEvent::xyp(9, 121, 0, 1)]
            );
        }
        assert_eq!(r.skipped(), 2);
        assert_eq!(dvs128_address(122, 9, 0), 1 | 5 << 1 | 9 << 8);
        let raw = read(b, AedatChip::Raw).unwrap();
        assert_eq!(raw[1], AeEvent::addr(8, 0x8000));
        assert_eq!(raw.len(), 4);
    }

    #[test]
    fn dvs128_writer_round_trips_and_index_files_are_refused_as_dvs128() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.aedat");
        let ev = vec![AeEvent::xyp(3, 0, 0, 0), AeEvent::xyp(4, 127, 127, 1)];
        let mut w = Writer::create_with(&p, Layout::Dvs128).unwrap();
        w.write(&ev).unwrap();
        w.finish().unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains(DVS128_CHIP_LINE));
        assert_eq!(read(bytes.clone(), AedatChip::Dvs128).unwrap(), ev);
        // raw addresses written by hand from the layout: OFF (0, 0) = 127 << 1 | 1
        let raw: Vec<u32> = read(bytes, AedatChip::Raw)
            .unwrap()
            .iter()
            .map(|e| e.x)
            .collect();
        assert_eq!(raw, vec![127 << 1 | 1, 127 << 8]);
        let mut w = Writer::create_with(&p, Layout::Indices("sensor 4x4".into())).unwrap();
        w.write(&[AeEvent::addr(1, 17)]).unwrap();
        w.finish().unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(
            read(bytes.clone(), AedatChip::Raw).unwrap(),
            vec![AeEvent::addr(1, 17)]
        );
        let e = read(bytes, AedatChip::Dvs128).unwrap_err().to_string();
        assert!(
            e.contains("neuron indices") && e.contains("--aedat-chip raw"),
            "{e}"
        );
        let mut w = Writer::create_with(&p, Layout::Dvs128).unwrap();
        let e = w
            .write(&[AeEvent::xyp(1, 128, 0, 0)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("x = 128") && e.contains("0..127"), "{e}");
    }

    #[test]
    fn wrap_is_unwrapped_and_small_drop_is_kept() {
        let ev = read(file(&[(1, u32::MAX - 5), (2, 10), (3, 4)]), AedatChip::Raw).unwrap();
        assert_eq!(ev[1].t, (1u64 << 32) + 10);
        assert_eq!(
            ev[2].t,
            (1u64 << 32) + 4,
            "a small drop stays a drop for the checker"
        );
    }

    #[test]
    fn wrong_version_and_truncation() {
        let e = read(b"#!AER-DAT3.1\r\n".to_vec(), AedatChip::Raw).unwrap_err();
        assert!(e.to_string().contains("AEDAT 2.0 only"), "{e}");
        let mut b = file(&[(1, 2), (3, 4)]);
        b.truncate(b.len() - 3);
        let e = read(b, AedatChip::Raw).unwrap_err().to_string();
        assert!(e.contains("event 1") && e.contains("truncated"), "{e}");
    }

    #[test]
    fn writer_round_trip_across_a_wrap_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.aedat");
        let ev = vec![
            AeEvent::addr(0, u32::MAX),
            AeEvent::addr(HALF - 1, 7),
            AeEvent::addr(WRAP - 2, 9),
            AeEvent::addr(WRAP + 3, 0),
        ];
        write(&p, &ev).unwrap();
        let got = read(std::fs::read(&p).unwrap(), AedatChip::Raw).unwrap();
        assert_eq!(got, ev);
        let e = write(&p, &[AeEvent::addr(WRAP, 1)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("2^32"), "{e}");
        let e = write(&p, &[AeEvent::addr(0, 1), AeEvent::addr(HALF, 1)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("event 1") && e.contains("wrap"), "{e}");
        assert!(!crate::io::tmp_name(&p).exists());
    }
}
