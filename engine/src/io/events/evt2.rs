//! Prophesee EVT 2.0 `.raw` files (Metavision): reader.
//!
//! Layout (docs.prophesee.ai, "EVT 2.0 Format" and "RAW File Format"):
//!
//! | part | content |
//! |---|---|
//! | header | text lines starting with `% `, e.g. `% evt 2.0`, `% format EVT2;height=480;width=640`, `% geometry 640x480`, `% t0 N`; optionally closed by `% end` |
//! | data | 32-bit **little-endian** words; the 4 most significant bits give the type |
//!
//! | type | bits 31..28 | payload |
//! |---|---|---|
//! | CD_OFF / CD_ON | `0000` / `0001` (= polarity) | bits 27..22 timestamp bits 0..5, 21..11 x, 10..0 y |
//! | EVT_TIME_HIGH | `1000` | bits 27..0 = timestamp bits 6..33 |
//! | EXT_TRIGGER, OTHERS, CONTINUED | `1010`, `1110`, `1111` | skipped (counted) |
//! | anything else | | reserved: an error naming the word |
//!
//! The header ends at `% end` or at the first line that is not a header line: one starting with
//! `% ` (percent, space) and holding only text (no byte below 0x20 but tab and `\r`) up to its
//! `\n`. Metavision closes the header with `% end`; faery and expelliarmus do not, and a first
//! data word whose low byte is 0x25 (`%`) must still be data: its type byte (0x00–0x1F for a CD
//! event, 0x8X for a time-high word followed by CD words) is not text.
//!
//! `% t0 N` (written by faery when it stores times relative to the first event, also `T0`): the
//! stored times count from `N` µs, so `N` is added to every time, as faery's own reader does.
//!
//! Timestamps have 34 bits (µs) and wrap after 2^34 µs (4 h 46 min): a time-high word that drops
//! by more than half its range is taken as a wrap. CD events before the first time-high word
//! have time-high 0. A header announcing another encoding (`evt 3.0`, `EVT21`) is refused.

use super::bytes::ByteSource;
use super::{AeEvent, CHUNK, EventReader, Format, StreamInfo};
use crate::error::{Error, Result};

const MAX_LINE: usize = 1 << 16;

/// Streaming EVT 2.0 reader.
pub struct Reader {
    src: ByteSource,
    info: StreamInfo,
    /// Words decoded so far.
    word: u64,
    /// `epoch + time_high << 6`.
    high: u64,
    /// `% t0` (µs): added to every time.
    t0: u64,
    /// `t0 + high`.
    base: u64,
    prev_th: u64,
    epoch: u64,
    skipped: u64,
}

/// Length of the header line at the start of `head` (through its `\n`), or `None` if `head`
/// does not start with one: a header line starts with `% ` and holds no control byte other than
/// tab and `\r` before its `\n` (a file's last line may lack the `\n` when `at_end`). Data
/// words cannot pass for one: the byte holding a CD word's type is 0x00–0x1F.
fn header_line_len(head: &[u8], at_end: bool) -> Option<usize> {
    if !head.starts_with(b"% ") {
        return None;
    }
    let window = &head[..head.len().min(MAX_LINE)];
    let text = |b: &[u8]| {
        b.iter()
            .all(|&c| c >= 0x20 && c != 0x7F || c == b'\t' || c == b'\r')
    };
    match window.iter().position(|&b| b == b'\n') {
        Some(i) => text(&window[..i]).then_some(i + 1),
        None if at_end && head.len() <= MAX_LINE && text(head) => Some(head.len()),
        None => None,
    }
}

fn parse_header(src: &mut ByteSource, info: &mut StreamInfo) -> Result<u64> {
    let refuse = |src: &ByteSource, line: &str| {
        Err(Error::input(
            "RAW header",
            format!("'{line}'"),
            "Eligo reads the EVT 2.0 encoding only",
            "convert EVT 3.0 / 2.1 recordings with Metavision (metavision_file_to_raw) or \
             tonic to .npy",
        )
        .in_file(src.path()))
    };
    let mut n = 0u32;
    let mut t0 = 0u64;
    loop {
        let full = src.ensure(MAX_LINE + 1)?;
        let Some(len) = header_line_len(src.avail(), !full) else {
            break;
        };
        n += 1;
        let raw = src.avail()[..len].to_vec();
        let at = src.offset();
        src.consume(len);
        let line = String::from_utf8_lossy(&raw[1..]).trim().to_string();
        let (key, value) = line.split_once(' ').unwrap_or((&line, ""));
        let value = value.trim();
        match key {
            "end" => break,
            "evt" if value != "2.0" => return refuse(src, &line),
            "format" => {
                let mut parts = value.split(';');
                if parts.next().map(str::trim) != Some("EVT2") {
                    return refuse(src, &line);
                }
                for kv in parts {
                    if let Some((k, v)) = kv.split_once('=') {
                        match k.trim() {
                            "width" => info.width = v.trim().parse().ok(),
                            "height" => info.height = v.trim().parse().ok(),
                            _ => {}
                        }
                    }
                }
            }
            "geometry" => {
                if let Some((w, h)) = value.split_once('x') {
                    info.width = info.width.or(w.trim().parse().ok());
                    info.height = info.height.or(h.trim().parse().ok());
                }
            }
            "t0" | "T0" => {
                t0 = value.parse().map_err(|_| {
                    Error::input(
                        format!("RAW header line {n} (byte offset {at})"),
                        format!("'{line}'"),
                        "`% t0 N` gives the time origin of the stored times: N is a whole \
                         number of µs (0 to 2^64-1)",
                        "fix or delete the line (without it, times are read as stored)",
                    )
                    .in_file(src.path())
                })?;
            }
            _ => {}
        }
        if info.notes.len() < 16 && !line.is_empty() {
            info.notes.push(("header".into(), line));
        }
    }
    Ok(t0)
}

impl Reader {
    /// Parse the header.
    pub fn new(mut src: ByteSource) -> Result<Self> {
        let mut info = StreamInfo::new(Format::Evt2, true, true);
        let t0 = parse_header(&mut src, &mut info)?;
        let mut r = Reader {
            src,
            info,
            word: 0,
            high: 0,
            t0,
            base: t0,
            prev_th: 0,
            epoch: 0,
            skipped: 0,
        };
        r.base = r.shifted(0, 0)?;
        Ok(r)
    }

    /// `t0 + high`, or an error naming word `at` if a time of this period would pass 2^64 µs.
    fn shifted(&self, high: u64, at: u64) -> Result<u64> {
        match self.t0.checked_add(high) {
            Some(b) if b.checked_add(63).is_some() => Ok(b),
            _ => Err(Error::input(
                format!("word {at}"),
                format!("time {high} µs after `% t0 {}`", self.t0),
                "times (t0 + stored time) must stay below 2^64 µs",
                "check the `% t0` header line",
            )
            .in_file(self.src.path())),
        }
    }
}

impl EventReader for Reader {
    fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// Trigger, extension and continued words skipped so far.
    fn skipped(&self) -> u64 {
        self.skipped
    }

    fn next_chunk(&mut self, out: &mut Vec<AeEvent>) -> Result<bool> {
        out.clear();
        out.reserve(CHUNK);
        while out.is_empty() {
            if !self.src.ensure(4)? {
                if self.src.avail().is_empty() {
                    return Ok(false);
                }
                return Err(self.src.truncated("word", self.word, 4));
            }
            let n = (self.src.avail().len() / 4).min(CHUNK);
            let (mut high, mut prev_th, mut epoch) = (self.high, self.prev_th, self.epoch);
            let mut base = self.base;
            for (k, b) in self.src.avail()[..n * 4].chunks_exact(4).enumerate() {
                let w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                let ty = w >> 28;
                match ty {
                    0 | 1 => out.push(AeEvent {
                        t: base + u64::from((w >> 22) & 0x3F),
                        x: (w >> 11) & 0x7FF,
                        y: (w & 0x7FF) as u16,
                        p: ty as u8,
                    }),
                    8 => {
                        let th = u64::from(w & 0x0FFF_FFFF);
                        if th < prev_th && prev_th - th > 1 << 27 {
                            epoch = epoch.checked_add(1 << 34).ok_or_else(|| {
                                Error::input(
                                    format!("word {}", self.word + k as u64),
                                    format!("0x{w:08x}"),
                                    "time-high words wrapped past 2^64 µs",
                                    "is this an EVT 2.0 recording?",
                                )
                                .in_file(self.src.path())
                            })?;
                        }
                        prev_th = th;
                        high = epoch + (th << 6);
                        base = if self.t0 == 0 {
                            high
                        } else {
                            self.shifted(high, self.word + k as u64)?
                        };
                    }
                    0xA | 0xE | 0xF => self.skipped += 1,
                    _ => {
                        let at = self.word + k as u64;
                        let offset = self.src.offset() + 4 * k as u64;
                        return Err(Error::input(
                            format!("word {at} (byte offset {offset})"),
                            format!("0x{w:08x} (type {ty:04b})"),
                            "EVT 2.0 word types are 0000 CD_OFF, 0001 CD_ON, 1000 TIME_HIGH, \
                             1010 EXT_TRIGGER, 1110 OTHERS, 1111 CONTINUED; others are reserved",
                            "is this an EVT 3.0 or 2.1 recording? check the `% evt` header line",
                        )
                        .in_file(self.src.path()));
                    }
                }
            }
            self.high = high;
            self.base = base;
            self.prev_th = prev_th;
            self.epoch = epoch;
            self.src.consume(n * 4);
            self.word += n as u64;
        }
        Ok(true)
    }
}

/// Encode events as EVT 2.0 words (with a time-high word whenever bits 6.. change) after a
/// minimal header. For tests and benchmarks; Eligo does not write `.raw` files otherwise.
pub fn encode(events: &[AeEvent], width: u32, height: u32) -> Vec<u8> {
    let mut b =
        format!("% evt 2.0\n% format EVT2;height={height};width={width}\n% end\n").into_bytes();
    let mut high = None;
    for e in events {
        let th = (e.t >> 6) & 0x0FFF_FFFF;
        if high != Some(th) {
            b.extend_from_slice(&((8u32 << 28) | th as u32).to_le_bytes());
            high = Some(th);
        }
        let w = (u32::from(e.p & 1) << 28)
            | (((e.t & 0x3F) as u32) << 22)
            | ((e.x & 0x7FF) << 11)
            | u32::from(e.y & 0x7FF);
        b.extend_from_slice(&w.to_le_bytes());
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: Vec<u8>) -> Result<(Vec<AeEvent>, StreamInfo)> {
        let mut r = Reader::new(ByteSource::from_bytes(bytes, "mem.raw"))?;
        let mut all = vec![];
        let mut c = vec![];
        while r.next_chunk(&mut c)? {
            all.extend_from_slice(&c);
        }
        Ok((all, r.info().clone()))
    }

    #[test]
    fn words_written_by_hand() {
        let mut b = b"% evt 2.0\n% geometry 640x480\n".to_vec();
        // TIME_HIGH 3 -> t = 192 + low; CD_ON x=5 y=7 low=2; trigger; CD_OFF x=639 y=479 low=63
        for w in [
            0x8000_0003u32,
            1 << 28 | 2 << 22 | 5 << 11 | 7,
            0xA000_0000,
            63 << 22 | 639 << 11 | 479,
        ] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        let (ev, info) = read(b).unwrap();
        assert_eq!((info.width, info.height), (Some(640), Some(480)));
        assert_eq!(
            ev,
            vec![AeEvent::xyp(194, 5, 7, 1), AeEvent::xyp(255, 639, 479, 0)]
        );
    }

    #[test]
    fn encode_round_trip_and_refusals() {
        let ev: Vec<AeEvent> = (0..1000u64)
            .map(|i| AeEvent::xyp(i * 37, (i % 640) as u32, (i % 480) as u16, (i % 2) as u8))
            .collect();
        assert_eq!(read(encode(&ev, 640, 480)).unwrap().0, ev);
        let e = read(b"% evt 3.0\n".to_vec()).unwrap_err().to_string();
        assert!(e.contains("EVT 2.0 encoding only"), "{e}");
        let mut b = b"% evt 2.0\n".to_vec();
        b.extend_from_slice(&0x3000_0000u32.to_le_bytes());
        let e = read(b).unwrap_err().to_string();
        assert!(e.contains("word 0") && e.contains("reserved"), "{e}");
        let mut b = encode(&ev[..2], 640, 480);
        b.pop();
        let e = read(b).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    /// A header laid out as faery writes it: `% evt 2.0`, `% format`, `% geometry`, then `% t0`
    /// when times are stored relative to the first event, no `% end`, data right after.
    fn faery_style(t0: Option<u64>, words: &[u32]) -> Vec<u8> {
        let mut b = b"% evt 2.0\n% format EVT2;width=640;height=480\n% geometry 640x480\n".to_vec();
        if let Some(t0) = t0 {
            b.extend_from_slice(format!("% t0 {t0}\n").as_bytes());
        }
        for w in words {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b
    }

    #[test]
    fn header_without_end_and_a_first_word_starting_with_percent() {
        // bytes 25 20 00 80: "% " then a time-high type byte; CD_ON x=5 y=7 low=2
        let th = 0x8000_2025u32;
        let cd = 1 << 28 | 2 << 22 | 5 << 11 | 7;
        let (ev, info) = read(faery_style(None, &[th, cd])).unwrap();
        assert_eq!((info.width, info.height), (Some(640), Some(480)));
        assert_eq!(ev, vec![AeEvent::xyp((0x2025 << 6) + 2, 5, 7, 1)]);
        // a CD word first: bytes 25 20 00 10 (y = 0x25, x = 4, CD_ON)
        let cd0: u32 = 1 << 28 | 4 << 11 | 0x25;
        assert_eq!(cd0.to_le_bytes(), [0x25, 0x20, 0x00, 0x10]);
        let ev = read(faery_style(None, &[cd0, cd])).unwrap().0;
        assert_eq!(
            ev,
            vec![AeEvent::xyp(0, 4, 0x25, 1), AeEvent::xyp(2, 5, 7, 1)]
        );
        // a text-only header with no data is still a header
        let (ev, info) = read(b"% evt 2.0\n% geometry 4x3".to_vec()).unwrap();
        assert!(ev.is_empty());
        assert_eq!(info.width, Some(4));
    }

    #[test]
    fn t0_header_line_is_added_to_every_time() {
        let t0 = 1_700_000_123u64;
        let th = 0x8000_0001u32; // t = 64 + low
        let cd = 3 << 22 | 9 << 11 | 4;
        let ev = read(faery_style(Some(t0), &[cd, th, cd])).unwrap().0;
        assert_eq!(
            ev,
            vec![
                AeEvent::xyp(1_700_000_126, 9, 4, 0),
                AeEvent::xyp(1_700_000_190, 9, 4, 0)
            ]
        );
        let e = read(b"% evt 2.0\n% t0 soon\n".to_vec())
            .unwrap_err()
            .to_string();
        assert!(e.contains("t0") && e.contains("whole number"), "{e}");
        let e = read(faery_style(Some(u64::MAX - 10), &[cd]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("2^64"), "{e}");
    }

    #[test]
    fn time_high_wrap() {
        let mut b = b"% evt 2.0\n".to_vec();
        for w in [0x8FFF_FFFFu32, 1 << 22, 0x8000_0000, 2 << 22] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        let ev = read(b).unwrap().0;
        assert_eq!(ev[0].t, (0x0FFF_FFFFu64 << 6) + 1);
        assert_eq!(ev[1].t, (1u64 << 34) + 2);
    }
}
