//! Dense `.npz` data sets (as `numpy.savez` writes them): reader.
//!
//! | array | shape | dtype | content |
//! |---|---|---|---|
//! | `inputs` | (samples, steps, channels) | bool, (u)int8..64, float32/64 | spike counts or rates per step |
//! | `targets` | (samples, steps, outputs) | any of the above | target series (regression) |
//! | `labels` | (samples,) | (u)int8..64 | class of each sample |
//! | `split` | (samples,) | (u)int8..64 | 0 train, 1 validation, 2 test, -1 unassigned (optional) |
//!
//! `inputs` and one of `targets` / `labels` are required. An input value `v` becomes, in its
//! step and channel: `v >= 1` one spike (a count is clipped: a neuron spikes at most once a
//! step), `0 < v < 1` a spike with probability `v`, drawn from
//! [`crate::rng::splitmix64`] seeded by (seed, sample, step, channel) — so a sample reads the
//! same whatever the order or the thread — and `v = 0` none; a negative or NaN value is an error
//! naming the sample, step and channel. One step of the array is one step of the run (`dt` is
//! the run's; the array has no time of its own).
//!
//! Memory: `labels` and `split` are read when the data set is opened (one value a sample);
//! `inputs` and `targets` one sample at a time, straight from the file at the sample's offset
//! inside the archive (a stored member, as `numpy.savez` writes). A compressed member
//! (`numpy.savez_compressed`) cannot be read at an offset: it is inflated into memory when the
//! data set is opened if its size is at most a quarter of the memory limit
//! ([`crate::limits::memory_limit`]), else refused with a hint to write it with `numpy.savez`.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::open::{bad_sample, in_range, not_empty};
use super::{DataSpec, Record, Source};
use crate::error::{Error, Result, num};
use crate::rng::splitmix64;
use crate::task::Split;

/// Largest sample (`steps × channels` or `steps × outputs` values) read at once: 2^28 values.
pub const MAX_SAMPLE_VALUES: u64 = 1 << 28;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    Unsigned,
    Signed,
    Float,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Dtype {
    kind: Kind,
    size: usize,
}

impl Dtype {
    /// A little-endian (or single-byte) numeric dtype string: `|u1`, `<f4`, `|b1`, ...
    fn parse(s: &str) -> Option<Self> {
        let (endian, rest) = s.split_at_checked(1)?;
        let (kind, size) = rest.split_at_checked(1)?;
        let size: usize = size.parse().ok()?;
        let kind = match (kind, size) {
            ("b" | "?", 1) => Kind::Bool,
            ("u", 1 | 2 | 4 | 8) => Kind::Unsigned,
            ("i", 1 | 2 | 4 | 8) => Kind::Signed,
            ("f", 4 | 8) => Kind::Float,
            _ => return None,
        };
        let ok = match endian {
            "<" | "=" => true,
            "|" => size == 1,
            ">" => size == 1,
            _ => false,
        };
        ok.then_some(Dtype { kind, size })
    }

    /// The value at `b` (exactly `size` bytes).
    fn value(self, b: &[u8]) -> f64 {
        let mut w = [0u8; 8];
        w[..self.size].copy_from_slice(b);
        let u = u64::from_le_bytes(w);
        match self.kind {
            Kind::Bool => f64::from(u8::from(u != 0)),
            Kind::Unsigned => u as f64,
            Kind::Signed => {
                let shift = 64 - 8 * self.size as u32;
                (((u << shift) as i64) >> shift) as f64
            }
            Kind::Float if self.size == 4 => f64::from(f32::from_bits(u as u32)),
            Kind::Float => f64::from_bits(u),
        }
    }
}

/// Where a member's values are.
enum Data {
    /// At this byte offset in the archive file (a stored member).
    Stored(u64),
    /// Inflated into memory (a compressed member).
    Memory(Vec<u8>),
}

struct Member {
    name: &'static str,
    dtype: Dtype,
    shape: Vec<u64>,
    data: Data,
}

struct Counting<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

/// A dense `.npz` data set.
pub struct Dense {
    path: PathBuf,
    file: Mutex<std::fs::File>,
    inputs: Member,
    targets: Option<Member>,
    labels: Option<Vec<usize>>,
    split: Option<Vec<Option<Split>>>,
    seed: u64,
}

const HINT: &str =
    "write the data set with numpy.savez(path, inputs=..., labels=...) (docs/data.md)";

fn bad(
    path: &Path,
    field: &str,
    value: impl std::fmt::Display,
    allowed: impl Into<String>,
) -> Error {
    Error::input(field, value, allowed, HINT).in_file(path)
}

fn shape_str(s: &[u64]) -> String {
    let v: Vec<String> = s.iter().map(u64::to_string).collect();
    let comma = if v.len() == 1 { "," } else { "" };
    format!("shape ({}{comma})", v.join(", "))
}

/// Open member `name.npy`: its header, and where its values are.
fn member(
    zip: &mut zip::ZipArchive<std::fs::File>,
    path: &Path,
    name: &'static str,
    budget: &Option<(u64, String)>,
    file_len: u64,
) -> Result<Option<Member>> {
    let field = format!("{name}.npy");
    let mut entry = match zip.by_name(&field) {
        Ok(e) => e,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(bad(path, &field, "unreadable", e.to_string())),
    };
    let stored = entry.compression() == zip::CompressionMethod::Stored;
    let size = entry.size();
    if !stored
        && let Some((limit, from)) = budget
        && size > limit / 4
    {
        return Err(Error::input(
            field,
            format!("compressed, {} inflated", crate::limits::human_bytes(size)),
            format!(
                "a compressed member is read whole, and it is larger than a quarter of the \
                     memory limit ({}, {from})",
                crate::limits::human_bytes(*limit)
            ),
            "write the data set with numpy.savez (not savez_compressed): a stored member \
                 is read one sample at a time",
        )
        .in_file(path));
    }
    let data_start = entry.data_start();
    let mut counting = Counting {
        inner: (&mut entry).take(crate::io::npy::MAX_PREFIX_BYTES),
        n: 0,
    };
    let header = npyz::NpyHeader::from_reader(&mut counting)
        .map_err(|e| bad(path, &field, "", format!("not a readable .npy header: {e}")))?;
    let header_len = counting.n;
    let descr = match header.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => other.descr().to_string(),
    };
    let Some(dtype) = Dtype::parse(&descr) else {
        return Err(bad(
            path,
            &field,
            format!("dtype {descr}"),
            "allowed: bool, (u)int8/16/32/64, float32/64, little-endian",
        ));
    };
    if header.order() == npyz::Order::Fortran && header.shape().len() > 1 {
        return Err(bad(
            path,
            &field,
            "Fortran order",
            "samples must be stored one after the other (C order)",
        ));
    }
    let shape = header.shape().to_vec();
    let values = shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .and_then(|v| v.checked_mul(dtype.size as u64));
    let Some(bytes) = values.filter(|&b| b.checked_add(header_len).is_some_and(|t| t <= size))
    else {
        return Err(bad(
            path,
            &field,
            format!("{} of {descr}, {size} bytes", shape_str(&shape)),
            "the member is shorter than its header says (a truncated file?)",
        ));
    };
    let data = match (stored, data_start) {
        (true, Some(start)) => {
            if start + header_len + bytes > file_len {
                return Err(bad(
                    path,
                    &field,
                    format!("{} of {descr}", shape_str(&shape)),
                    format!(
                        "the archive ends before the member's data does ({file_len} bytes): a \
                         truncated file?"
                    ),
                ));
            }
            Data::Stored(start + header_len)
        }
        _ => {
            let mut buf = Vec::new();
            entry
                .by_ref()
                .take(bytes)
                .read_to_end(&mut buf)
                .map_err(|e| bad(path, &field, "", format!("cannot inflate it: {e}")))?;
            if (buf.len() as u64) < bytes {
                return Err(bad(path, &field, "", "the member is truncated"));
            }
            Data::Memory(buf)
        }
    };
    Ok(Some(Member {
        name,
        dtype,
        shape,
        data,
    }))
}

impl Dense {
    /// Open the archive, check the arrays' shapes and dtypes, read the labels and splits.
    pub fn open(path: &Path, spec: &DataSpec) -> Result<Self> {
        Dense::open_within(path, spec, &crate::limits::memory_limit()?)
    }

    /// [`Dense::open`] with the memory limit given (bytes, where the number came from).
    pub(super) fn open_within(
        path: &Path,
        spec: &DataSpec,
        budget: &Option<(u64, String)>,
    ) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut zip = zip::ZipArchive::new(file)
            .map_err(|e| bad(path, "", "", format!("not a readable .npz archive: {e}")))?;
        let Some(inputs) = member(&mut zip, path, "inputs", budget, file_len)? else {
            return Err(bad(
                path,
                "inputs.npy",
                "missing",
                "a dense data set has an array 'inputs' (samples, steps, channels)",
            ));
        };
        if inputs.shape.len() != 3 {
            return Err(bad(
                path,
                "inputs.npy",
                shape_str(&inputs.shape),
                "must be 3-D: (samples, steps, channels)",
            ));
        }
        let (n, steps, channels) = (inputs.shape[0], inputs.shape[1], inputs.shape[2]);
        not_empty(n, path, "inputs has 0 samples")?;
        if steps.saturating_mul(channels) > MAX_SAMPLE_VALUES || channels > u64::from(u32::MAX) {
            return Err(bad(
                path,
                "inputs.npy",
                shape_str(&inputs.shape),
                format!(
                    "one sample may have at most {MAX_SAMPLE_VALUES} values (steps x channels)"
                ),
            ));
        }
        let targets = member(&mut zip, path, "targets", budget, file_len)?;
        if let Some(t) = &targets
            && (t.shape.len() != 3
                || t.shape[0] != n
                || t.shape[1] != steps
                || t.shape[2].saturating_mul(steps) > MAX_SAMPLE_VALUES)
        {
            return Err(bad(
                path,
                "targets.npy",
                shape_str(&t.shape),
                format!(
                    "must be (samples, steps, outputs) with the samples and steps of inputs: \
                     ({n}, {steps}, outputs)"
                ),
            ));
        }
        let labels = member(&mut zip, path, "labels", budget, file_len)?;
        let split = member(&mut zip, path, "split", budget, file_len)?;
        let mut d = Dense {
            path: path.to_path_buf(),
            file: Mutex::new(zip.into_inner()),
            inputs,
            targets,
            labels: None,
            split: None,
            seed: spec.read.seed,
        };
        if let Some(m) = labels {
            let v = d.whole(&m, n)?;
            let mut labels = Vec::with_capacity(v.len());
            for (k, &l) in v.iter().enumerate() {
                if !(l >= 0.0 && l.fract() == 0.0 && m.dtype.kind != Kind::Float) {
                    return Err(bad_sample(
                        path,
                        k,
                        format!("label {}", num(l)),
                        format!(
                            "labels.npy: a label is a class number 0, 1, 2, ... (an integer \
                             dtype; the array has {})",
                            m_kind(&m)
                        ),
                        "",
                    ));
                }
                labels.push(l as usize);
            }
            d.labels = Some(labels);
        }
        if d.labels.is_none() && d.targets.is_none() {
            return Err(bad(
                path,
                "labels.npy",
                "missing",
                "a dense data set has 'labels' (samples,) or 'targets' (samples, steps, outputs)",
            ));
        }
        if let Some(m) = split {
            let v = d.whole(&m, n)?;
            let mut split = Vec::with_capacity(v.len());
            for (k, &s) in v.iter().enumerate() {
                split.push(match s {
                    -1.0 => None,
                    0.0 => Some(Split::Train),
                    1.0 => Some(Split::Validation),
                    2.0 => Some(Split::Test),
                    other => {
                        return Err(bad_sample(
                            path,
                            k,
                            format!("split {}", num(other)),
                            "split.npy: 0 train, 1 validation, 2 test, -1 unassigned",
                            "",
                        ));
                    }
                });
            }
            d.split = Some(split);
        }
        Ok(d)
    }

    /// All values of a 1-D member of `n` entries.
    fn whole(&self, m: &Member, n: u64) -> Result<Vec<f64>> {
        if m.shape != [n] {
            return Err(bad(
                &self.path,
                &format!("{}.npy", m.name),
                shape_str(&m.shape),
                format!("must be ({n},): one value per sample of inputs"),
            ));
        }
        let bytes = self.bytes(m, 0, n * m.dtype.size as u64)?;
        Ok(bytes
            .chunks_exact(m.dtype.size)
            .map(|b| m.dtype.value(b))
            .collect())
    }

    /// `len` bytes of member `m`'s values from byte `at` on.
    fn bytes(&self, m: &Member, at: u64, len: u64) -> Result<Vec<u8>> {
        match &m.data {
            Data::Memory(v) => Ok(v[at as usize..(at + len) as usize].to_vec()),
            Data::Stored(off) => {
                let mut buf = vec![0u8; len as usize];
                let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
                f.seek(SeekFrom::Start(off + at))
                    .and_then(|_| f.read_exact(&mut buf))
                    .map_err(|e| {
                        bad(
                            &self.path,
                            &format!("{}.npy", m.name),
                            "",
                            format!("cannot read it: {e} (was the file changed while in use?)"),
                        )
                    })?;
                Ok(buf)
            }
        }
    }

    /// The values of sample `i` of a 3-D member.
    fn sample(&self, m: &Member, i: u64) -> Result<Vec<f64>> {
        let per = m.shape[1] * m.shape[2] * m.dtype.size as u64;
        let bytes = self.bytes(m, i * per, per)?;
        Ok(bytes
            .chunks_exact(m.dtype.size)
            .map(|b| m.dtype.value(b))
            .collect())
    }
}

fn m_kind(m: &Member) -> &'static str {
    match m.dtype.kind {
        Kind::Bool => "bool",
        Kind::Unsigned => "unsigned integers",
        Kind::Signed => "integers",
        Kind::Float => "floats",
    }
}

/// A uniform draw in [0, 1) for (seed, sample, step, channel): 53 bits of a splitmix64 chain.
pub fn uniform(seed: u64, sample: u64, step: u64, channel: u64) -> f64 {
    let h = splitmix64(splitmix64(splitmix64(splitmix64(seed) ^ sample) ^ step) ^ channel);
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl Source for Dense {
    fn describe(&self) -> String {
        format!(
            "dense arrays {} ({} samples, {} steps, {} channels)",
            self.path.display(),
            self.inputs.shape[0],
            self.inputs.shape[1],
            self.inputs.shape[2]
        )
    }
    fn len(&self) -> u64 {
        self.inputs.shape[0]
    }
    fn split_of(&self, i: u64) -> Option<Split> {
        self.split.as_ref()?.get(i as usize).copied().flatten()
    }
    fn channels(&self) -> Option<u32> {
        Some(self.inputs.shape[2] as u32)
    }
    fn classes(&self) -> Option<usize> {
        self.labels.as_ref()?.iter().max().map(|m| m + 1)
    }
    fn label_of(&self, i: u64) -> Option<usize> {
        self.labels.as_ref()?.get(i as usize).copied()
    }
    fn read(&self, i: u64) -> Result<Record> {
        in_range(i, self.len(), &self.path)?;
        let (steps, channels) = (self.inputs.shape[1], self.inputs.shape[2]);
        let m = &self.inputs;
        let per = steps * channels * m.dtype.size as u64;
        let bytes = self.bytes(m, i * per, per)?;
        let mut input = Vec::new();
        // most values of a spike array are 0: all-zero bytes are skipped before decoding
        for (k, b) in bytes.chunks_exact(m.dtype.size).enumerate() {
            if b.iter().all(|&x| x == 0) {
                continue;
            }
            let x = m.dtype.value(b);
            if x == 0.0 {
                continue;
            }
            let (t, c) = (k as u64 / channels, k as u64 % channels);
            let spike = if x >= 1.0 {
                true
            } else if x > 0.0 {
                uniform(self.seed, i, t, c) < x
            } else {
                return Err(bad_sample(
                    &self.path,
                    i,
                    format!("inputs[{i}, {t}, {c}] = {}", num(x)),
                    "inputs.npy: an input is a spike count (>= 0) or a rate in [0, 1]",
                    "",
                ));
            };
            if spike {
                input.push((t, c as u32));
            }
        }
        let targets = match &self.targets {
            None => None,
            Some(m) => {
                let v = self.sample(m, i)?;
                if let Some(k) = v.iter().position(|x| !x.is_finite()) {
                    let outs = m.shape[2];
                    return Err(bad_sample(
                        &self.path,
                        i,
                        format!(
                            "targets[{i}, {}, {}] = {}",
                            k as u64 / outs,
                            k as u64 % outs,
                            v[k]
                        ),
                        "targets.npy: targets must be finite",
                        "",
                    ));
                }
                Some((
                    m.shape[2] as usize,
                    v.into_iter().map(|x| x as f32).collect(),
                ))
            }
        };
        Ok(Record {
            name: format!("{} sample {i}", self.path.display()),
            input,
            steps,
            label: self.label_of(i),
            targets,
        })
    }
}
