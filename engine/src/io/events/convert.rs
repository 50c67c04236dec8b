//! `eligo events info` and `eligo events convert`, as library functions.
//!
//! [`stats`] reads a stream once (bounded memory) and reports count, time span, address ranges,
//! polarities and whether time ever goes backwards (it reports rather than refuses, since it is
//! the tool to find out). [`convert`] reads, checks time order, applies the time and address maps
//! and writes Eligo `.npy` or AEDAT 2.0; times stay in µs (no binning).

use std::path::Path;

use super::map::{AddressMap, MapSpec, TimeMap};
use super::replay::ReplayOptions;
use super::{AeEvent, Checked, EventReader, Format, ReadOptions, StreamInfo, aedat, npy, open};
use crate::error::{Error, Result};

/// What [`stats`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// The stream's description.
    pub info: StreamInfo,
    /// Events.
    pub events: u64,
    /// First and last timestamp (µs).
    pub t_first: Option<u64>,
    /// Last timestamp.
    pub t_last: Option<u64>,
    /// Smallest and largest timestamp.
    pub t_range: Option<(u64, u64)>,
    /// x (address) range.
    pub x_range: Option<(u32, u32)>,
    /// y range.
    pub y_range: Option<(u16, u16)>,
    /// Events per polarity value 0 and 1, and others.
    pub polarity: [u64; 3],
    /// Events whose time is before their predecessor's.
    pub backwards: u64,
    /// Index of the first such event.
    pub first_backwards: Option<u64>,
    /// Records that are not events, skipped by the reader (see [`super::skipped_what`]).
    pub non_events: u64,
}

fn minmax<T: Ord + Copy>(r: Option<(T, T)>, v: T) -> Option<(T, T)> {
    Some(r.map_or((v, v), |(a, b)| (a.min(v), b.max(v))))
}

/// Read `path` once and summarize it.
pub fn stats(path: &Path, opts: &ReadOptions) -> Result<Stats> {
    let mut r = open(path, opts)?;
    let mut s = Stats {
        info: r.info().clone(),
        events: 0,
        t_first: None,
        t_last: None,
        t_range: None,
        x_range: None,
        y_range: None,
        polarity: [0; 3],
        backwards: 0,
        first_backwards: None,
        non_events: 0,
    };
    let mut chunk = Vec::new();
    while r.next_chunk(&mut chunk)? {
        for e in &chunk {
            if let Some(last) = s.t_last
                && e.t < last
            {
                s.backwards += 1;
                s.first_backwards.get_or_insert(s.events);
            }
            s.t_first.get_or_insert(e.t);
            s.t_last = Some(e.t);
            s.t_range = minmax(s.t_range, e.t);
            s.x_range = minmax(s.x_range, e.x);
            s.y_range = minmax(s.y_range, e.y);
            s.polarity[usize::from(e.p.min(2))] += 1;
            s.events += 1;
        }
    }
    s.non_events = r.skipped();
    Ok(s)
}

/// The output format for `path`: `to` if given, else from the extension.
pub fn output_format(path: &Path, to: Option<Format>) -> Result<Format> {
    let f = match to {
        Some(f) => f,
        None => match path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref()
        {
            Some("npy") => Format::EligoNpy,
            Some("aedat" | "dat") => Format::Aedat2,
            other => {
                return Err(Error::input(
                    "OUT",
                    path.display(),
                    format!(
                        "cannot tell the output format from the extension {:?}: Eligo writes .npy \
                         and .aedat (AEDAT 2.0)",
                        other.unwrap_or("")
                    ),
                    "name it *.npy or *.aedat, or pass --to npy|aedat",
                ));
            }
        },
    };
    if !matches!(f, Format::EligoNpy | Format::Aedat2) {
        return Err(Error::input(
            "--to",
            f.name(),
            "Eligo writes npy (its own format) and aedat (AEDAT 2.0)",
            "",
        ));
    }
    Ok(f)
}

/// What [`convert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// Events read.
    pub read: u64,
    /// Events written.
    pub written: u64,
    /// Events before the start time (skipped).
    pub skipped: u64,
    /// The output format.
    pub format: Format,
    /// The address map used.
    pub map: String,
    /// The output carries a polarity field.
    pub with_p: bool,
}

enum Out {
    Npy(npy::Writer),
    Aedat(aedat::Writer),
}

impl Out {
    fn write(&mut self, events: &[AeEvent]) -> Result<()> {
        match self {
            Out::Npy(w) => w.write(events),
            Out::Aedat(w) => w.write(events),
        }
    }

    /// Complete the file; returns the events written.
    fn finish(self) -> Result<u64> {
        match self {
            Out::Npy(w) => w.finish(),
            Out::Aedat(w) => w.finish(),
        }
    }
}

/// Convert `input` to `output` (format `to`, or from the extension).
pub fn convert(
    input: &Path,
    output: &Path,
    to: Option<Format>,
    opts: &ReplayOptions,
) -> Result<Converted> {
    let format = output_format(output, to)?;
    check_output_path(input, output)?;
    let (mut r, layout) = Mapped::open(input, output, format, opts)?;
    let mut out = match format {
        Format::EligoNpy => Out::Npy(npy::Writer::create(output, r.m.with_p)?),
        _ => Out::Aedat(aedat::Writer::create_with(output, layout)?),
    };
    let mut mapped = Vec::<AeEvent>::new();
    let mut written = 0u64;
    while r.next(&mut mapped)? {
        out.write(&mapped)?;
        written += mapped.len() as u64;
    }
    out.finish()?;
    Ok(r.done(written, format))
}

/// What [`convert`] writes to an Eligo `.npy`, in memory: the mapped events (`x` the
/// address; `p` kept only where [`Converted::with_p`] says) and what was done.
pub fn read_mapped(input: &Path, opts: &ReplayOptions) -> Result<(Vec<AeEvent>, Converted)> {
    let format = Format::EligoNpy;
    let (mut r, _) = Mapped::open(input, Path::new(""), format, opts)?;
    let (mut all, mut mapped) = (Vec::new(), Vec::new());
    while r.next(&mut mapped)? {
        all.extend_from_slice(&mapped);
    }
    let n = all.len() as u64;
    Ok((all, r.done(n, format)))
}

/// Write 1-D `events` (`x` the address) to `output` as Eligo `.npy` (with a `p` field if
/// `with_p`) or AEDAT 2.0 raw addresses (format `to`, else from the extension), atomically;
/// returns the events written.
pub fn write_events(
    output: &Path,
    events: &[AeEvent],
    with_p: bool,
    to: Option<Format>,
) -> Result<u64> {
    let format = output_format(output, to)?;
    super::not_a_directory(output, "OUT")?;
    match format {
        Format::EligoNpy => npy::write(output, events, with_p),
        _ if with_p => Err(Error::input(
            "OUT",
            output.display(),
            "the events carry a polarity that AEDAT 2.0 raw addresses cannot hold",
            "write .npy, or fold polarity into the address (index = p*N + x) or drop it",
        )),
        _ => aedat::write(output, events),
    }
}

/// A stream read, checked for time order and mapped as [`convert`] maps it.
struct Mapped<'a> {
    r: Checked,
    m: Mapper<'a>,
    chunk: Vec<AeEvent>,
}

impl<'a> Mapped<'a> {
    /// Open `input` to be written as `format` to `output` (named in messages), with the
    /// AEDAT layout such an output takes.
    fn open(
        input: &'a Path,
        output: &Path,
        format: Format,
        opts: &ReplayOptions,
    ) -> Result<(Self, aedat::Layout)> {
        let reader = open(input, &opts.read)?;
        let info = reader.info().clone();
        let spec = map_spec(opts, &info, format, input, output)?;
        let map = AddressMap::new(&spec, &info).map_err(|e| e.in_file(input))?;
        let layout = aedat_layout(&map);
        let m = Mapper {
            time: opts.time,
            with_p: spec.keep_polarity,
            keep_xyp: format == Format::Aedat2 && layout == aedat::Layout::Dvs128,
            map,
            input,
            skipped: 0,
        };
        let r = Checked::new(reader, input);
        Ok((
            Mapped {
                r,
                m,
                chunk: Vec::new(),
            },
            layout,
        ))
    }

    /// The next chunk, mapped into `mapped`; false at the end.
    fn next(&mut self, mapped: &mut Vec<AeEvent>) -> Result<bool> {
        if !self.r.next_chunk(&mut self.chunk)? {
            return Ok(false);
        }
        let first = self.r.count() - self.chunk.len() as u64;
        self.m.map_chunk(&self.chunk, first, mapped)?;
        Ok(true)
    }

    fn done(self, written: u64, format: Format) -> Converted {
        let m = self.m;
        Converted {
            read: self.r.count(),
            written,
            skipped: m.skipped,
            format,
            map: if m.keep_xyp {
                "DVS128 pixel addresses (x, y, p kept; jAER's layout and chip line)".into()
            } else {
                m.map.describe()
            },
            with_p: m.with_p,
        }
    }
}

/// `output` must not be a directory nor the input itself.
fn check_output_path(input: &Path, output: &Path) -> Result<()> {
    super::not_a_directory(output, "OUT")?;
    if input.canonicalize().ok().is_some()
        && input.canonicalize().ok() == output.canonicalize().ok()
    {
        return Err(Error::input(
            "OUT",
            output.display(),
            "the output must be another file than the input",
            "",
        ));
    }
    Ok(())
}

/// The address map options for a stream `info` written as `format`: whether polarity is kept
/// as a field, refused where the output cannot hold it.
fn map_spec(
    opts: &ReplayOptions,
    info: &StreamInfo,
    format: Format,
    input: &Path,
    output: &Path,
) -> Result<MapSpec> {
    let mut spec = opts.map.clone();
    // a 1-D stream with polarity keeps it as a field when the output can hold one and no map
    // option says otherwise
    let one_d_p = !info.has_y && info.has_p && !spec.merge_polarity && spec.width.is_none();
    spec.keep_polarity = one_d_p && format == Format::EligoNpy;
    if one_d_p && format == Format::Aedat2 {
        return Err(Error::input(
            "OUT",
            output.display(),
            format!(
                "{} events carry a polarity that AEDAT 2.0 raw addresses cannot hold",
                info.format
            ),
            "write .npy, or fold polarity into the address with --width N (index = p*N + x) or \
             drop it with --merge-polarity",
        )
        .in_file(input));
    }
    Ok(spec)
}

/// How an AEDAT output writes addresses mapped by `map`.
fn aedat_layout(map: &AddressMap) -> aedat::Layout {
    // AEDAT has no field saying what an address means: a DVS128 pixel array is written in the
    // DVS128 layout (with jAER's chip line), so that it reads back as the same pixels; any other
    // mapped stream is written as neuron indices, with a header line saying so (the DVS128
    // reader refuses such a file instead of reading other pixels)
    let dvs128 = matches!(
        map,
        AddressMap::Sensor {
            w_in: 128,
            h_in: 128,
            px: 1,
            py: 1,
            polar: true,
            ..
        }
    );
    if dvs128 {
        aedat::Layout::Dvs128
    } else if *map == (AddressMap::Identity { pool: 1 }) {
        aedat::Layout::Raw
    } else {
        aedat::Layout::Indices(map.describe())
    }
}

/// The time and address maps applied to each event, with the count of events skipped.
struct Mapper<'a> {
    time: TimeMap,
    map: AddressMap,
    /// Write the polarity field.
    with_p: bool,
    /// Keep x, y and p as read (DVS128 pixels written as DVS128).
    keep_xyp: bool,
    input: &'a Path,
    /// Events before the start time.
    skipped: u64,
}

impl Mapper<'_> {
    /// Map `chunk` (whose first event has index `first` in the stream) into `mapped`.
    fn map_chunk(
        &mut self,
        chunk: &[AeEvent],
        first: u64,
        mapped: &mut Vec<AeEvent>,
    ) -> Result<()> {
        mapped.clear();
        for (k, e) in chunk.iter().enumerate() {
            let index = first + k as u64;
            let Some(t) = self
                .time
                .apply(index, e.t)
                .map_err(|e| e.in_file(self.input))?
            else {
                self.skipped += 1;
                continue;
            };
            let Some(i) = self.map.index(e) else {
                return Err(Error::input(
                    format!("event {index}"),
                    format!("t = {} µs, x = {}, y = {}, p = {}", e.t, e.x, e.y, e.p),
                    format!("outside the address map: {}", self.map.describe()),
                    "check --width/--height or the sensor layout (--aedat-chip)",
                )
                .in_file(self.input));
            };
            mapped.push(if self.keep_xyp {
                AeEvent { t, ..*e }
            } else {
                AeEvent {
                    t,
                    x: i,
                    y: 0,
                    p: if self.with_p { e.p } else { 0 },
                }
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::events::{MapSpec, read_all};

    #[test]
    fn npy_aedat_npy_is_lossless() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a.npy"),
            dir.path().join("b.aedat"),
            dir.path().join("c.npy"),
        );
        let ev: Vec<AeEvent> = (0..100_000u64)
            .map(|i| AeEvent::addr(i * 50_000 + i % 7, (i * 2_654_435_761 % (1 << 32)) as u32))
            .collect();
        npy::write(&a, &ev, false).unwrap();
        let o = ReplayOptions::default();
        convert(&a, &b, None, &o).unwrap();
        convert(&b, &c, None, &o).unwrap();
        assert_eq!(read_all(&c, &ReadOptions::default()).unwrap(), ev);
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
    }

    #[test]
    fn polarity_needs_a_decision_for_aedat() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.npy");
        npy::write(&a, &[AeEvent::xyp(1, 2, 0, 1)], true).unwrap();
        let o = ReplayOptions::default();
        let e = convert(&a, &dir.path().join("b.aedat"), None, &o).unwrap_err();
        assert!(e.to_string().contains("--merge-polarity"), "{e}");
        let o = ReplayOptions {
            map: MapSpec {
                width: Some(10),
                ..MapSpec::default()
            },
            ..ReplayOptions::default()
        };
        convert(&a, &dir.path().join("b.aedat"), None, &o).unwrap();
        let got = read_all(&dir.path().join("b.aedat"), &ReadOptions::default()).unwrap();
        assert_eq!(got, vec![AeEvent::addr(1, 12)]);
    }
}
