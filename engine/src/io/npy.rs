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

/// Read events written by [`write_events`].
pub fn read_events(path: &Path) -> Result<Vec<Event>> {
    let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
    let f = npyz::NpyFile::new(&bytes[..]).map_err(|e| crate::Error::io(path, e))?;
    f.into_vec::<Event>().map_err(|e| crate::Error::io(path, e))
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
