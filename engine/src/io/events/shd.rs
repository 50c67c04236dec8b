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
//! One file holds many samples; Eligo replays one (`--sample K`, default 0). Times become µs as
//! tonic computes them ([`time_us`]): `times * 1e6` in float32 (the published files store
//! float16 seconds; NumPy multiplies them in float32), then truncated toward zero, so every
//! spike lands on the µs tonic gives it. A sample is read whole (its own size, a few thousand
//! spikes); the file's other samples are never loaded. The reader needs the system HDF5 library
//! (feature `hdf5`); [`time_us`] does not.

#[cfg(feature = "hdf5")]
use std::path::Path;

#[cfg(feature = "hdf5")]
use hdf5::types::VarLenArray;

#[cfg(feature = "hdf5")]
use super::{AeEvent, CHUNK, EventReader, Format, StreamInfo};
#[cfg(feature = "hdf5")]
use crate::error::{Error, Result};

/// A spike time in seconds as whole µs, the way tonic's SHD loader computes it:
/// `(times * 1e6).astype(int)` on the file's float16 times, which NumPy multiplies in float32
/// (one rounding of the exact product to float32), then truncates toward zero. A time that is
/// not exactly a float32 (a float64 file) is multiplied in float64, as NumPy would. `None` for
/// a time that is not finite, negative, or at or past 2^64 µs.
///
/// ```
/// use eligo_engine::io::events::shd::time_us;
/// assert_eq!(time_us(0.5), Some(500_000));
/// // the float16 nearest 0.0009975 s is 0.00099754333... s: 997.54 µs, truncated
/// assert_eq!(time_us(1046.0 * 2f64.powi(-20)), Some(997));
/// assert_eq!(time_us(-1.0), None);
/// ```
pub fn time_us(seconds: f64) -> Option<u64> {
    let single = seconds as f32;
    let us = if f64::from(single) == seconds {
        f64::from(single * 1e6f32)
    } else {
        seconds * 1e6
    };
    // 2^64 as f64 is exact; `as u64` of a value below it, truncated, is exact too
    (0.0..18_446_744_073_709_551_616.0)
        .contains(&us)
        .then(|| us.trunc() as u64)
}

#[cfg(feature = "hdf5")]
const LAYOUT: &str = "the SHD layout has datasets spikes/times, spikes/units and labels";

/// Reader of one sample of an SHD file.
#[cfg(feature = "hdf5")]
pub struct Reader {
    info: StreamInfo,
    events: Vec<AeEvent>,
    pos: usize,
}

#[cfg(feature = "hdf5")]
fn h5_error(path: &Path, what: &str, e: hdf5::Error) -> Error {
    Error::input(
        what,
        "",
        format!("cannot read it: {e}; {LAYOUT}"),
        "is this an SHD/SSC file (not gzipped: gunzip shd_train.h5.gz first)?",
    )
    .in_file(path)
}

#[cfg(feature = "hdf5")]
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
            let Some(us) = time_us(ts) else {
                return Err(Error::input(
                    format!("sample {sample} spike {i}"),
                    format!("t = {ts} s"),
                    "times must be finite, >= 0 s and below 2^64 µs",
                    "",
                )
                .in_file(path));
            };
            events.push(AeEvent::addr(us, unit));
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

#[cfg(feature = "hdf5")]
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

#[cfg(test)]
mod tests {
    use super::time_us;

    /// A float16 bit pattern as the exact value it stands for: `m * 2^e`.
    fn f16_parts(h: u16) -> (u64, i32) {
        let (exp, frac) = (i32::from(h >> 10 & 0x1F), u64::from(h & 0x3FF));
        if exp == 0 {
            (frac, -24)
        } else {
            (1024 + frac, exp - 25)
        }
    }

    /// tonic's µs of `m * 2^e` seconds, in integers: the exact product `m * 15625 * 2^(e + 6)`
    /// rounded once to float32 (24 significant bits, ties to even), then truncated.
    fn tonic_us(m: u64, e: i32) -> u64 {
        let mut n = m * 15625;
        let k = e + 6;
        let bits = 64 - n.leading_zeros() as i32;
        if bits > 24 {
            let s = bits - 24;
            let (mut q, r, half) = (n >> s, n & ((1 << s) - 1), 1u64 << (s - 1));
            if r > half || (r == half && q & 1 == 1) {
                q += 1;
            }
            n = q << s;
        }
        if k >= 0 { n << k } else { n >> -k }
    }

    /// Every positive float16 time below 2 s (the published SHD layout: `spikes/times` holds
    /// float16 seconds): the µs are tonic's, and about half of them are below the rounded value.
    #[test]
    fn float16_times_truncate_like_tonic() {
        let mut below_rounded = 0;
        let mut n = 0;
        for h in 0u16..0x4000 {
            let (m, e) = f16_parts(h);
            let seconds = m as f64 * 2f64.powi(e);
            let want = tonic_us(m, e);
            assert_eq!(
                time_us(seconds),
                Some(want),
                "float16 0x{h:04x} = {seconds} s"
            );
            below_rounded += usize::from(((seconds * 1e6).round() as u64) > want);
            n += 1;
        }
        assert!(below_rounded > n / 3, "{below_rounded} of {n}");
        // 0x1416 = 1046 * 2^-20 s = 997.54 µs: tonic gives 997 (rounding would give 998)
        assert_eq!(f16_parts(0x1416), (1046, -20));
        assert_eq!(time_us(1046.0 * 2f64.powi(-20)), Some(997));
        assert_eq!(time_us(f64::NAN), None);
        assert_eq!(time_us(f64::INFINITY), None);
        assert_eq!(time_us(-0.5), None);
        assert_eq!(time_us(1e300), None);
    }
}
