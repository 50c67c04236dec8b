//! NumPy `.npy` outputs.
//!
//! Spike events use Eligo's event format: a structured array with fields `t` (`<u8`,
//! microseconds) and `addr` (`<u4`, neuron index within its population), sorted by time then
//! address — `numpy.load(f)["t"]` gives the times. State traces are 2-D `<f4` arrays
//! (steps × neurons).

use std::path::Path;

use npyz::WriterBuilder;

use crate::error::Result;

/// One address event.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, npyz::Serialize, npyz::Deserialize, npyz::AutoSerialize,
)]
pub struct Event {
    /// Time in microseconds.
    pub t: u64,
    /// Address (neuron index).
    pub addr: u32,
}

/// Write events to `path` atomically, streaming (see [`super::events::npy::Writer`]).
pub fn write_events(path: &Path, events: &[Event]) -> Result<()> {
    let mut w = super::events::npy::Writer::create(path, false)?;
    for e in events {
        w.push(e.t, e.addr, 0)?;
    }
    w.finish().map(drop)
}

/// Write a 2-D `f32` array (`rows × cols`, row-major) to `path` atomically.
pub fn write_f32_2d(path: &Path, rows: usize, cols: usize, data: &[f32]) -> Result<()> {
    assert_eq!(rows * cols, data.len(), "shape and data disagree");
    super::write_atomic(path, |w| {
        let mut out = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[rows as u64, cols as u64])
            .writer(w)
            .begin_nd()?;
        out.extend(data.iter().copied())?;
        out.finish()
    })
}

/// Read events written by [`write_events`] (any Eligo event `.npy`; the file must hold the
/// data its header declares).
pub fn read_events(path: &Path) -> Result<Vec<Event>> {
    let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
    let not_events = |e: String| crate::Error::io(path, std::io::Error::other(e));
    let a = Npy::parse(&bytes).map_err(not_events)?;
    a.values::<Event>().map(|(_, v)| v).map_err(not_events)
}

/// Longest `.npy` header dict accepted, in bytes: NumPy's own default `max_header_size`
/// (`numpy.load` refuses longer headers too).
pub const MAX_HEADER_BYTES: u64 = 10_000;

/// Bytes before the data of a `.npy` whose header is as long as allowed: magic (6), version (2),
/// header length (4 in format 2.0 and 3.0), the header.
pub const MAX_PREFIX_BYTES: u64 = 12 + MAX_HEADER_BYTES;

/// A `.npy` held in memory whose header was checked: the shape's product fits in memory and the
/// bytes hold all of the data the header declares — so reading the values allocates no more
/// than the input really holds (bound the input, and you bound the reader).
pub struct Npy<'a> {
    file: npyz::NpyFile<&'a [u8]>,
    shape: Vec<u64>,
}

impl<'a> Npy<'a> {
    /// Check the header of `bytes`. Errors say what is wrong in words, for the caller to put in
    /// an input error with its file and field.
    pub fn parse(bytes: &'a [u8]) -> std::result::Result<Self, String> {
        let prefix = match bytes {
            [b'\x93', b'N', b'U', b'M', b'P', b'Y', 1, _, a, b, ..] => {
                10 + u64::from(u16::from_le_bytes([*a, *b]))
            }
            [
                b'\x93',
                b'N',
                b'U',
                b'M',
                b'P',
                b'Y',
                2 | 3,
                _,
                a,
                b,
                c,
                d,
                ..,
            ] => 12 + u64::from(u32::from_le_bytes([*a, *b, *c, *d])),
            [b'\x93', b'N', b'U', b'M', b'P', b'Y', v, ..] => {
                return Err(format!(
                    "NumPy format version {v} is unknown (1.0, 2.0 and 3.0 are read)"
                ));
            }
            _ => return Err("not a .npy array (no NumPy magic at the start)".into()),
        };
        if prefix > MAX_PREFIX_BYTES {
            return Err(format!(
                "the header declares {prefix} bytes, more than the {MAX_HEADER_BYTES} NumPy allows"
            ));
        }
        let file = npyz::NpyFile::new(bytes).map_err(|e| format!("unreadable header: {e}"))?;
        let shape = file.shape().to_vec();
        let len = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .filter(|&n| usize::try_from(n).is_ok())
            .ok_or_else(|| format!("shape {shape:?} has more values than memory can address"))?;
        let item = file
            .dtype()
            .num_bytes()
            .ok_or_else(|| format!("dtype {:?} has no fixed size", file.dtype()))?;
        let have = bytes.len() as u64 - prefix.min(bytes.len() as u64);
        match len.checked_mul(item as u64) {
            Some(need) if need <= have => {}
            need => {
                return Err(format!(
                    "truncated: shape {shape:?} of {} needs {} bytes of data, the file holds {have}",
                    dtype_name(&file.dtype()),
                    need.map_or("more than 2^64".into(), |n| n.to_string())
                ));
            }
        }
        Ok(Npy { file, shape })
    }

    /// The shape, as the header says.
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// The dtype's type string (`<f4`, `|u1`, ...), or a description for structured dtypes.
    pub fn dtype(&self) -> String {
        dtype_name(&self.file.dtype())
    }

    /// The shape and the values in C (row-major) order: data stored in Fortran order (what
    /// NumPy writes for a transposed array such as `W.T`) is transposed on read, so `[i, j]`
    /// means the same as in NumPy either way.
    pub fn values<T: npyz::Deserialize + Clone>(
        self,
    ) -> std::result::Result<(Vec<u64>, Vec<T>), String> {
        let fortran = self.file.order() == npyz::Order::Fortran;
        let data = self
            .file
            .into_vec::<T>()
            .map_err(|e| format!("unreadable data: {e}"))?;
        let data = if fortran {
            fortran_to_c(&self.shape, data)
        } else {
            data
        };
        Ok((self.shape, data))
    }
}

fn dtype_name(d: &npyz::DType) -> String {
    match d {
        npyz::DType::Plain(t) => t.to_string(),
        other => format!("{other:?}"),
    }
}

/// `data` stored in Fortran order (first index fastest) rearranged to C order (last index
/// fastest) for `shape` (whose product is `data.len()`).
fn fortran_to_c<T: Clone>(shape: &[u64], data: Vec<T>) -> Vec<T> {
    if shape.len() < 2 || data.is_empty() {
        return data;
    }
    let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    // element [i0, i1, ..] sits at i0 + d0 * (i1 + d1 * (..)) in Fortran order
    let mut stride = vec![1usize; dims.len()];
    for k in 1..dims.len() {
        stride[k] = stride[k - 1] * dims[k - 1];
    }
    let mut out = Vec::with_capacity(data.len());
    let mut index = vec![0usize; dims.len()];
    let mut at = 0usize;
    for _ in 0..data.len() {
        out.push(data[at].clone());
        // the next C-order index: the last axis counts fastest
        for k in (0..dims.len()).rev() {
            index[k] += 1;
            at += stride[k];
            if index[k] < dims[k] {
                break;
            }
            at -= stride[k] * dims[k];
            index[k] = 0;
        }
    }
    out
}

/// Streaming writer of a 2-D `<f4` array whose shape is known up front (state traces: steps ×
/// neurons), written to a temporary name and renamed by [`F32RowsWriter::finish`]; dropping an
/// unfinished writer removes the temporary file.
pub struct F32RowsWriter {
    w: Option<std::io::BufWriter<std::fs::File>>,
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    want: u64,
    n: u64,
}

impl F32RowsWriter {
    /// Start writing a `rows × cols` array to `path`.
    pub fn create(path: &Path, rows: usize, cols: usize) -> Result<Self> {
        use std::io::Write;
        let tmp = super::tmp_name(path);
        // NumPy format 1.0: magic, version, header length, the dict padded to 64 bytes
        let dict =
            format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
        let total = (10 + dict.len() + 1).div_ceil(64) * 64;
        let mut header = Vec::with_capacity(total);
        header.extend_from_slice(b"\x93NUMPY\x01\x00");
        header.extend_from_slice(&((total - 10) as u16).to_le_bytes());
        header.extend_from_slice(dict.as_bytes());
        header.resize(total - 1, b' ');
        header.push(b'\n');
        let w = (|| {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
            w.write_all(&header)?;
            Ok(w)
        })()
        .map_err(|e| crate::error::Error::io(&tmp, e))?;
        Ok(F32RowsWriter {
            w: Some(w),
            path: path.to_path_buf(),
            tmp,
            want: (rows * cols) as u64,
            n: 0,
        })
    }

    /// Append values (whole rows, row-major).
    pub fn write(&mut self, values: &[f32]) -> Result<()> {
        use std::io::Write;
        let w = self.w.as_mut().expect("writer used after finish");
        for v in values {
            w.write_all(&v.to_le_bytes())
                .map_err(|e| crate::error::Error::io(&self.tmp, e))?;
        }
        self.n += values.len() as u64;
        Ok(())
    }

    /// Check the count, flush, sync and rename.
    pub fn finish(self) -> Result<()> {
        self.seal()?.commit()
    }

    /// Check the count, flush and sync, leaving the file under its temporary name for
    /// [`super::commit_all`] to rename with the rest of its set. On error nothing is left.
    pub fn seal(mut self) -> Result<super::Staged> {
        let w = self.w.take().expect("finish once");
        // from here the staged file owns the temporary name: dropping it removes the file
        let staged = super::Staged::new(&self.path);
        if self.n != self.want {
            drop(w);
            return Err(crate::error::Error::io(
                &self.path,
                std::io::Error::other(format!(
                    "{} values written, the shape needs {}",
                    self.n, self.want
                )),
            ));
        }
        w.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .map_err(|e| crate::error::Error::io(&self.path, e))?;
        Ok(staged)
    }
}

impl Drop for F32RowsWriter {
    fn drop(&mut self) {
        if self.w.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A float `.npy` file (`<f4` or `<f8`) of at most `max_values` values, read as (its shape,
/// row-major `f32` values; Fortran order is transposed): the file is refused unread if it is
/// bigger than such an array can be, and a non-finite value is refused. `field` (e.g.
/// `--targets`) and `hint` (how to make a good file) go into every error.
pub fn read_floats(
    path: &Path,
    field: &str,
    max_values: u64,
    hint: &str,
) -> Result<(Vec<u64>, Vec<f32>)> {
    use std::io::Read;
    let bad = |msg: String| crate::Error::input(field, path.display(), msg, hint);
    let bound = super::npz::member_bound(max_values);
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(bound + 1).read_to_end(&mut bytes))
        .map_err(|e| bad(format!("cannot read the file: {e}")))?;
    if bytes.len() as u64 > bound {
        return Err(bad(format!(
            "more than {bound} bytes, the most {max_values} float64 values take"
        )));
    }
    let f = Npy::parse(&bytes).map_err(|e| bad(format!("not a usable .npy: {e}")))?;
    let (shape, data): (Vec<u64>, Vec<f32>) = match f.dtype().as_str() {
        "<f4" => f.values::<f32>().map_err(bad)?,
        "<f8" => f
            .values::<f64>()
            .map(|(s, v)| (s, v.into_iter().map(|x| x as f32).collect()))
            .map_err(bad)?,
        other => return Err(bad(format!("dtype {other}; allowed: float32, float64"))),
    };
    if let Some(k) = data.iter().position(|x| !x.is_finite()) {
        return Err(bad(format!(
            "entry {k} is {}; the values must be finite float32 numbers",
            data[k]
        )));
    }
    Ok((shape, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.npy");
        let ev = vec![Event { t: 0, addr: 3 }, Event { t: 100, addr: 1 }];
        write_events(&p, &ev).unwrap();
        assert_eq!(read_events(&p).unwrap(), ev);
        // the header says what NumPy will see
        let bytes = std::fs::read(&p).unwrap();
        let header = String::from_utf8_lossy(&bytes[..128]);
        assert!(
            header.contains("'t', '<u8'") && header.contains("'addr', '<u4'"),
            "{header}"
        );
        assert!(!super::super::tmp_name(&p).exists());
    }

    #[test]
    fn streamed_rows_equal_a_whole_write_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.npy"), dir.path().join("b.npy"));
        let data: Vec<f32> = (0..15).map(|i| i as f32 * 0.5 - 3.0).collect();
        // 5 rows x 3 columns in chunks of 2, 2 and 1 rows, against npyz writing it whole
        let mut w = F32RowsWriter::create(&a, 5, 3).unwrap();
        for chunk in [&data[..6], &data[6..12], &data[12..]] {
            w.write(chunk).unwrap();
        }
        w.finish().unwrap();
        write_f32_2d(&b, 5, 3, &data).unwrap();
        let bytes = std::fs::read(&a).unwrap();
        let npy = npyz::NpyFile::new(bytes.as_slice()).unwrap();
        assert_eq!(npy.shape(), &[5, 3]);
        assert_eq!(npy.into_vec::<f32>().unwrap(), data);
        // the same values, byte for byte, after each header
        let payload = |p: &Path| {
            let bytes = std::fs::read(p).unwrap();
            let h = 10 + usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
            bytes[h..].to_vec()
        };
        assert_eq!(payload(&a), payload(&b));
        // too few values: an error, and neither the file nor its temporary is left
        let c = dir.path().join("c.npy");
        let mut w = F32RowsWriter::create(&c, 2, 2).unwrap();
        w.write(&[1.0]).unwrap();
        assert!(w.finish().is_err());
        assert!(!c.exists() && !super::super::tmp_name(&c).exists());
    }
}
