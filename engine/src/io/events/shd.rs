//! Spiking Heidelberg Digits / Spiking Speech Commands HDF5 files (feature `hdf5`): reader.
//!
//! Layout (B. Cramer et al., "The Heidelberg spiking data sets for the systematic evaluation of
//! spiking neural networks", IEEE TNNLS 2020; zenkelab.org/datasets):
//!
//! | dataset | shape, type | content |
//! |---|---|---|
//! | `spikes/times` | (samples,), variable-length floats | spike times of one sample, **seconds** |
//! | `spikes/units` | (samples,), variable-length ints | channel (0..699) of each spike |
//! | `labels` | (samples,), ints | class of each sample |
//! | `extra/...` | | speaker, keys, meta data (not read) |
//!
//! One file holds many samples; Eligo replays one (`--sample K`, default 0). Times become µs
//! rounded to the nearest µs (tonic truncates `t * 1e6`; the two differ by at most 1 µs on
//! values not exactly representable). A sample is read whole (its own size, a few thousand
//! spikes); the file's other samples are never loaded. Needs the system HDF5 library.

use std::path::Path;

use hdf5::types::VarLenArray;

use super::{AeEvent, CHUNK, EventReader, Format, StreamInfo};
use crate::error::{Error, Result};

const LAYOUT: &str = "the SHD layout has datasets spikes/times, spikes/units and labels";

/// Reader of one sample of an SHD file.
pub struct Reader {
    info: StreamInfo,
    events: Vec<AeEvent>,
    pos: usize,
}

fn h5_error(path: &Path, what: &str, e: hdf5::Error) -> Error {
    Error::input(
        what,
        "",
        format!("cannot read it: {e}; {LAYOUT}"),
        "is this an SHD/SSC file (not gzipped: gunzip shd_train.h5.gz first)?",
    )
    .in_file(path)
}

impl Reader {
    /// Open `path` and load sample `sample`.
    pub fn open(path: &Path, sample: u64) -> Result<Self> {
        // errors are reported through Eligo's messages, not printed by the library
        hdf5::silence_errors(true);
        let file = hdf5::File::open(path).map_err(|e| h5_error(path, "HDF5 file", e))?;
        let ds = |name: &str| {
            file.dataset(name)
                .map_err(|e| h5_error(path, &format!("dataset '{name}'"), e))
        };
        let times = ds("spikes/times")?;
        let units = ds("spikes/units")?;
        let n = times.shape().first().copied().unwrap_or(0) as u64;
        let n_units = units.shape().first().copied().unwrap_or(0) as u64;
        if n != n_units {
            return Err(Error::input(
                "spikes/units",
                format!("{n_units} samples"),
                format!("spikes/times has {n} samples: both must have one entry per sample"),
                "",
            )
            .in_file(path));
        }
        if sample >= n {
            return Err(Error::input(
                "--sample",
                sample,
                format!("the file holds samples 0..{n}"),
                "",
            )
            .in_file(path));
        }
        let k = sample as usize;
        let t: Vec<VarLenArray<f64>> = times
            .read_slice_1d(k..k + 1)
            .map_err(|e| h5_error(path, "dataset 'spikes/times'", e))?
            .to_vec();
        let u: Vec<VarLenArray<u32>> = units
            .read_slice_1d(k..k + 1)
            .map_err(|e| h5_error(path, "dataset 'spikes/units'", e))?
            .to_vec();
        let (t, u) = (t[0].as_slice(), u[0].as_slice());
        if t.len() != u.len() {
            return Err(Error::input(
                format!("sample {sample}"),
                format!("{} times, {} units", t.len(), u.len()),
                "each spike has one time and one unit",
                "",
            )
            .in_file(path));
        }
        let mut events = Vec::with_capacity(t.len());
        for (i, (&ts, &unit)) in t.iter().zip(u).enumerate() {
            let us = (ts * 1e6).round();
            if !(us.is_finite() && (0.0..1.8e19).contains(&us)) {
                return Err(Error::input(
                    format!("sample {sample} spike {i}"),
                    format!("t = {ts} s"),
                    "times must be finite and >= 0 s",
                    "",
                )
                .in_file(path));
            }
            events.push(AeEvent::addr(us as u64, unit));
        }
        let mut info = StreamInfo::new(Format::ShdHdf5, false, false);
        info.declared = Some(events.len() as u64);
        info.notes.push(("samples".into(), n.to_string()));
        info.notes.push(("sample".into(), sample.to_string()));
        if let Ok(labels) = file.dataset("labels")
            && let Ok(l) = labels.read_slice_1d::<i64, _>(k..k + 1)
        {
            info.notes.push(("label".into(), l[0].to_string()));
        }
        info.width = Some(700);
        Ok(Reader {
            info,
            events,
            pos: 0,
        })
    }
}

impl EventReader for Reader {
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
