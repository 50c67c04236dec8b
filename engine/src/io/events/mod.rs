//! Address-event streams: read the formats sensors, chips and data sets use, map addresses to
//! neurons, bin times to steps, write Eligo's own `.npy` and AEDAT 2.0.
//!
//! An address event (AER) is a timestamp and the address of the pixel or neuron that fired.
//! Every reader yields [`AeEvent`]s — `t` in µs, `x` (the address, or the column of a 2-D
//! sensor), `y` (the row; 0 for 1-D streams) and `p` (polarity; 0 when the format has none) —
//! in chunks of at most [`CHUNK`] events, so memory stays bounded whatever the file size.
//!
//! | format | module | fields | detected by |
//! |---|---|---|---|
//! | Eligo `.npy` (`t <u8`, `addr <u4`, optional `p`) | [`npy`] | x(, p) | `\x93NUMPY` + dtype |
//! | tonic `.npy` (`t, x, y, p` or `t, x, p`) | [`npy`] | x, y, p / x, p | `\x93NUMPY` + dtype |
//! | AEDAT 2.0 (jAER) | [`aedat`] | x (raw address) or x, y, p (`dvs128`) | `#!AER-DAT2.0` |
//! | Prophesee EVT 2.0 `.raw` | [`evt2`] | x, y, p | `%` header lines |
//! | N-MNIST / N-Caltech101 `.bin` | [`nmnist`] | x, y, p | extension `.bin` |
//! | Spiking Heidelberg Digits `.h5` | `shd` (feature `hdf5`) | x (channel) | HDF5 signature |
//!
//! The pipeline from file to network ([`replay`]): read → check that time never goes backwards
//! (or sort everything first) → [`TimeMap`] (offset, scale) → [`AddressMap`] (x/y/p → neuron
//! index, pooling, polarity merging, 1-D identity or table) → [`Binner`] (µs → step, policy for
//! several events of one neuron in one step). Bad bytes never panic and never make a reader
//! allocate from a length read from the file: every problem is an [`Error::Input`] naming the
//! file, the event or byte offset, the value, what is allowed and what to try.
//!
//! ```
//! use eligo_engine::io::events::{self, AeEvent, ReadOptions};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("in.npy");
//! let ev = [AeEvent::addr(0, 3), AeEvent::addr(1000, 1), AeEvent::addr(1500, 3)];
//! events::npy::write(&path, &ev, false).unwrap();
//! let got = events::read_all(&path, &ReadOptions::default()).unwrap();
//! assert_eq!(got, ev);
//! ```

pub mod aedat;
mod bin;
mod bytes;
mod convert;
pub mod evt2;
mod map;
pub mod nmnist;
pub mod npy;
pub mod replay;
mod request;
pub mod shd;
mod sort;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod samples;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use bin::{BinPolicy, Binner, Limit, StepEvents};
pub use bytes::ByteSource;
pub use convert::{Converted, Stats, convert, output_format, read_mapped, stats, write_events};
pub use map::{AddressMap, MapSpec, TimeMap, TimeStart, dt_us, parse_pool, read_table};
pub use request::{Requested, info_json};
pub use sort::Sorted;

use crate::error::{Error, Result};

/// Events per chunk a reader yields (16 B each: 1 MiB). Chosen with `bench events_read`: larger
/// chunks gain nothing measurable, smaller ones start to cost per-chunk overhead.
pub const CHUNK: usize = 1 << 16;

/// One address event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AeEvent {
    /// Time in µs.
    pub t: u64,
    /// Address (1-D streams) or column (2-D sensors).
    pub x: u32,
    /// Row (0 for 1-D streams).
    pub y: u16,
    /// Polarity (0 or 1 for sensors; 0 when the format has none).
    pub p: u8,
}

impl AeEvent {
    /// A 1-D event without polarity.
    pub const fn addr(t: u64, addr: u32) -> Self {
        AeEvent {
            t,
            x: addr,
            y: 0,
            p: 0,
        }
    }
    /// A sensor event.
    pub const fn xyp(t: u64, x: u32, y: u16, p: u8) -> Self {
        AeEvent { t, x, y, p }
    }
}

/// The file formats Eligo reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Eligo's own `.npy`: structured array with `t <u8` (µs), `addr <u4`, optional `p`.
    EligoNpy,
    /// tonic's structured `.npy`: `t, x, y, p` (vision) or `t, x, p` (audio).
    TonicNpy,
    /// jAER AEDAT 2.0.
    Aedat2,
    /// Prophesee EVT 2.0 `.raw`.
    Evt2,
    /// N-MNIST / N-Caltech101 `.bin` (5-byte events).
    NMnist,
    /// Spiking Heidelberg Digits HDF5 (`spikes/times`, `spikes/units`, `labels`).
    ShdHdf5,
}

/// Names accepted by `--format` / `--to`.
pub const FORMAT_NAMES: &[&str] = &["npy", "tonic", "aedat", "evt2", "nmnist", "shd"];

impl Format {
    /// Parse a `--format` name.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "npy" | "eligo" => Format::EligoNpy,
            "tonic" => Format::TonicNpy,
            "aedat" | "aedat2" => Format::Aedat2,
            "evt2" | "raw" => Format::Evt2,
            "nmnist" | "bin" => Format::NMnist,
            "shd" | "hdf5" | "h5" => Format::ShdHdf5,
            other => {
                return Err(Error::input(
                    "--format",
                    format!("'{other}'"),
                    format!("allowed: {}", FORMAT_NAMES.join(", ")),
                    crate::error::did_you_mean(other, FORMAT_NAMES),
                ));
            }
        })
    }

    /// The short name.
    pub fn name(self) -> &'static str {
        match self {
            Format::EligoNpy => "npy",
            Format::TonicNpy => "tonic",
            Format::Aedat2 => "aedat",
            Format::Evt2 => "evt2",
            Format::NMnist => "nmnist",
            Format::ShdHdf5 => "shd",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::EligoNpy => "Eligo .npy (t, addr[, p])",
            Format::TonicNpy => "tonic structured .npy",
            Format::Aedat2 => "AEDAT 2.0",
            Format::Evt2 => "Prophesee EVT 2.0",
            Format::NMnist => "N-MNIST .bin",
            Format::ShdHdf5 => "SHD HDF5",
        })
    }
}

/// What a stream carries, as far as its header tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// The format.
    pub format: Format,
    /// The events carry a row `y` (2-D sensor).
    pub has_y: bool,
    /// The events carry a polarity `p`.
    pub has_p: bool,
    /// Sensor width (columns / channels), if the file says.
    pub width: Option<u32>,
    /// Sensor height (rows), if the file says.
    pub height: Option<u32>,
    /// Number of events the header declares, if it does.
    pub declared: Option<u64>,
    /// Free-form facts from the header (`key`, `value`), e.g. the dtype or the sensor.
    pub notes: Vec<(String, String)>,
    /// The record fields the file itself declares, in file order, as (name, dtype as the file
    /// writes it, e.g. `<u8`): for `.npy` files; empty for formats without named fields.
    pub fields: Vec<(String, String)>,
}

impl StreamInfo {
    fn new(format: Format, has_y: bool, has_p: bool) -> Self {
        StreamInfo {
            format,
            has_y,
            has_p,
            width: None,
            height: None,
            declared: None,
            notes: Vec::new(),
            fields: Vec::new(),
        }
    }
}

/// A source of address events, read in bounded chunks.
pub trait EventReader: Send {
    /// What the stream carries.
    fn info(&self) -> &StreamInfo;
    /// Clear `out` and fill it with the next events (at most [`CHUNK`]). Returns false, with
    /// `out` empty, at the end of the stream.
    fn next_chunk(&mut self, out: &mut Vec<AeEvent>) -> Result<bool>;
    /// Records read so far that are not events and were skipped (AEDAT DVS128 special events,
    /// EVT 2.0 trigger and extension words); see [`skipped_what`] for what they are.
    fn skipped(&self) -> u64 {
        0
    }
}

/// What [`EventReader::skipped`] counts for a format (for `events info`).
pub fn skipped_what(format: Format) -> &'static str {
    match format {
        Format::Aedat2 => {
            "special events (DVS128 address bit 31 or 15 set: jAER's special, sync and external \
             input events)"
        }
        Format::Evt2 => "EXT_TRIGGER, OTHERS and CONTINUED words",
        _ => "non-event records",
    }
}

/// How the AEDAT 2.0 32-bit address is read (it depends on the sensor that wrote it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AedatChip {
    /// The raw 32-bit address as a 1-D address.
    #[default]
    Raw,
    /// DVS128, as jAER's DVS128 extractor reads it: `x = 127 − bits 1–7`, `y = bits 8–14`,
    /// bit 0 = 1 is OFF (`p = 0`); an address with bit 31 or 15 set is a special event (skipped,
    /// counted by [`EventReader::skipped`]).
    Dvs128,
}

/// How to open a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// AEDAT 2.0 address layout.
    pub aedat_chip: AedatChip,
    /// SHD: which sample (default 0).
    pub sample: Option<u64>,
    /// Sort all events by time first (loads the whole stream into memory); otherwise time
    /// going backwards is an error naming the event.
    pub sort: bool,
}

const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Refuse a directory given as an event file (opening one succeeds on Linux; reading it fails
/// with an I/O error that would not say what to do).
pub(crate) fn not_a_directory(path: &Path, what: &str) -> Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        let hint = if what == "OUT" {
            "name the output file, e.g. DIR/events.npy".to_string()
        } else {
            format!(
                "name a file inside it, e.g. {}/spikes_<population>.npy (ls {0} lists them)",
                path.display()
            )
        };
        let allowed = if what == "OUT" {
            "is a directory: the output must be a file (.npy or .aedat)"
        } else {
            "is a directory, not an event file (.npy, .aedat, .raw, .bin, .h5)"
        };
        return Err(Error::input(what, "", allowed, hint).in_file(path));
    }
    Ok(())
}

/// Detect the format of `path` from its first bytes (and extension for headerless formats).
pub fn detect(path: &Path) -> Result<Format> {
    not_a_directory(path, "event file")?;
    let mut head = [0u8; 16];
    let mut f = File::open(path).map_err(|e| open_error(path, e))?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    let head = &head[..n];
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if head.starts_with(npy::MAGIC) {
        return npy::detect_kind(path);
    }
    if head.starts_with(b"#!AER-DAT") || ext == "aedat" {
        return Ok(Format::Aedat2);
    }
    if head.starts_with(HDF5_MAGIC) {
        return Ok(Format::ShdHdf5);
    }
    if head.starts_with(b"%") || ext == "raw" {
        return Ok(Format::Evt2);
    }
    if ext == "bin" {
        return Ok(Format::NMnist);
    }
    Err(Error::input(
        "format",
        format!("first bytes {:02x?}", &head[..n.min(8)]),
        "not a format Eligo recognizes: .npy (Eligo or tonic), AEDAT 2.0, Prophesee EVT 2.0 .raw, \
         N-MNIST .bin, SHD .h5",
        "name the format with --format (npy, tonic, aedat, evt2, nmnist, shd)",
    )
    .in_file(path))
}

pub(crate) fn open_error(path: &Path, e: std::io::Error) -> Error {
    Error::input(
        "",
        "",
        format!("cannot open the event file: {e}"),
        "check the path",
    )
    .in_file(path)
}

/// Open `path` for streaming, detecting the format unless `opts.format` is given.
pub fn open(path: &Path, opts: &ReadOptions) -> Result<Box<dyn EventReader>> {
    not_a_directory(path, "event file")?;
    let format = match opts.format {
        Some(f) => f,
        None => detect(path)?,
    };
    let file = || -> Result<ByteSource> { ByteSource::open(path) };
    let reader: Box<dyn EventReader> = match format {
        Format::EligoNpy | Format::TonicNpy => Box::new(npy::Reader::new(file()?)?),
        Format::Aedat2 => Box::new(aedat::Reader::new(file()?, opts.aedat_chip)?),
        Format::Evt2 => Box::new(evt2::Reader::new(file()?)?),
        Format::NMnist => Box::new(nmnist::Reader::new(file()?)?),
        Format::ShdHdf5 => open_shd(path, opts)?,
    };
    if opts.sort {
        Ok(Box::new(Sorted::new(reader)?))
    } else {
        Ok(reader)
    }
}

#[cfg(feature = "hdf5")]
fn open_shd(path: &Path, opts: &ReadOptions) -> Result<Box<dyn EventReader>> {
    Ok(Box::new(shd::Reader::open(path, opts.sample.unwrap_or(0))?))
}

#[cfg(not(feature = "hdf5"))]
fn open_shd(path: &Path, _opts: &ReadOptions) -> Result<Box<dyn EventReader>> {
    Err(Error::input(
        "format",
        "HDF5",
        "this eligo was built without HDF5 support",
        "rebuild with `cargo build --release --features hdf5` (needs the system HDF5 library, \
         e.g. `apt-get install libhdf5-dev`), or convert the file with tonic to .npy",
    )
    .in_file(path))
}

/// Read a whole stream into memory (tests, small files). Checks time order like [`Checked`].
pub fn read_all(path: &Path, opts: &ReadOptions) -> Result<Vec<AeEvent>> {
    let mut r = Checked::new(open(path, opts)?, path);
    let mut all = Vec::new();
    let mut chunk = Vec::new();
    while r.next_chunk(&mut chunk)? {
        all.extend_from_slice(&chunk);
    }
    Ok(all)
}

/// Wraps a reader and refuses time going backwards, naming the event index.
pub struct Checked {
    inner: Box<dyn EventReader>,
    path: PathBuf,
    /// Events yielded so far.
    count: u64,
    last_t: u64,
}

impl Checked {
    /// Wrap `inner`, read from `path` (for messages).
    pub fn new(inner: Box<dyn EventReader>, path: &Path) -> Self {
        Checked {
            inner,
            path: path.to_path_buf(),
            count: 0,
            last_t: 0,
        }
    }

    /// Events yielded so far (the index of the next one).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl EventReader for Checked {
    fn info(&self) -> &StreamInfo {
        self.inner.info()
    }

    fn skipped(&self) -> u64 {
        self.inner.skipped()
    }

    fn next_chunk(&mut self, out: &mut Vec<AeEvent>) -> Result<bool> {
        if !self.inner.next_chunk(out)? {
            return Ok(false);
        }
        // branch-free scan first: the common case is a sorted chunk
        let mut prev = self.last_t;
        let mut bad = false;
        for e in out.iter() {
            bad |= e.t < prev;
            prev = e.t;
        }
        if bad {
            let mut prev = self.last_t;
            for (i, e) in out.iter().enumerate() {
                if e.t < prev {
                    return Err(Error::input(
                        format!("event {}", self.count + i as u64),
                        format!("t = {} µs", e.t),
                        format!(
                            "timestamps must not go backwards; the event before has t = {prev} µs"
                        ),
                        "pass --sort to sort the events by time (loads the whole file into memory)",
                    )
                    .in_file(&self.path));
                }
                prev = e.t;
            }
        }
        self.last_t = prev;
        self.count += out.len() as u64;
        Ok(true)
    }
}

/// An in-memory reader over events (tests, sorted data, conversions).
pub struct VecReader {
    info: StreamInfo,
    events: Vec<AeEvent>,
    pos: usize,
}

impl VecReader {
    /// Serve `events` with `info`.
    pub fn new(info: StreamInfo, events: Vec<AeEvent>) -> Self {
        VecReader {
            info,
            events,
            pos: 0,
        }
    }
}

impl EventReader for VecReader {
    fn info(&self) -> &StreamInfo {
        &self.info
    }
    fn next_chunk(&mut self, out: &mut Vec<AeEvent>) -> Result<bool> {
        out.clear();
        let end = (self.pos + CHUNK).min(self.events.len());
        out.extend_from_slice(&self.events[self.pos..end]);
        self.pos = end;
        Ok(!out.is_empty())
    }
}
