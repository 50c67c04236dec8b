//! NumPy `.npz` archives (a zip of `.npy` files, as `numpy.savez` writes and `numpy.load`
//! reads): named arrays of `f32`, `u32`, `i64`, `u64` and `f64`.
//!
//! Reading accepts stored and deflated entries (`savez_compressed`); writing stores entries
//! uncompressed, to a temporary name renamed at the end.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::path::Path;

use npyz::WriterBuilder;

use crate::error::{Error, Result};

/// One array: its shape and values (converted to `f64` for numbers read from files).
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Shape.
    pub shape: Vec<u64>,
    /// Values, row-major.
    pub data: Vec<f64>,
}

/// An array to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    /// `<f4`.
    F32(Vec<u64>, Vec<f32>),
    /// `<u4`.
    U32(Vec<u64>, Vec<u32>),
    /// `<u8`.
    U64(Vec<u64>, Vec<u64>),
    /// `<f8`.
    F64(Vec<u64>, Vec<f64>),
}

fn npy_bytes<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
    shape: &[u64],
    data: &[T],
) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    {
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut buf)
            .begin_nd()?;
        w.extend(data.iter().copied())?;
        w.finish()?;
    }
    Ok(buf)
}

/// Write `arrays` (name -> array) to `path` atomically.
pub fn write(path: &Path, arrays: &BTreeMap<String, Out>) -> Result<()> {
    super::write_atomic(path, |w| {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored)
                .large_file(false);
            for (name, a) in arrays {
                let bytes = match a {
                    Out::F32(s, d) => npy_bytes(s, d)?,
                    Out::U32(s, d) => npy_bytes(s, d)?,
                    Out::U64(s, d) => npy_bytes(s, d)?,
                    Out::F64(s, d) => npy_bytes(s, d)?,
                };
                zip.start_file(format!("{name}.npy"), opts)
                    .map_err(std::io::Error::other)?;
                zip.write_all(&bytes)?;
            }
            zip.finish().map_err(std::io::Error::other)?;
        }
        w.write_all(buf.get_ref())
    })
}

/// Read every array of the `.npz` at `path`.
pub fn read(path: &Path) -> Result<BTreeMap<String, Array>> {
    let bad = |what: String| {
        Error::input(
            "",
            "",
            format!("not a readable .npz archive: {what}"),
            "write it with numpy.savez (or eligo itself)",
        )
        .in_file(path)
    };
    let file = std::fs::File::open(path).map_err(|e| {
        Error::input(
            "",
            "",
            format!("cannot open the file: {e}"),
            "check the path",
        )
        .in_file(path)
    })?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    let mut out = BTreeMap::new();
    for k in 0..zip.len() {
        let mut entry = zip.by_index(k).map_err(|e| bad(e.to_string()))?;
        let name = entry.name().map_err(|e| bad(e.to_string()))?.to_string();
        let Some(key) = name.strip_suffix(".npy") else {
            continue;
        };
        // bounded: never trust the declared size beyond what the entry really holds
        let mut bytes = Vec::new();
        entry
            .by_ref()
            .take(1 << 34)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("entry {name}: {e}")))?;
        let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| bad(format!("entry {name}: {e}")))?;
        let shape = npy.shape().to_vec();
        let type_str = match npy.dtype() {
            npyz::DType::Plain(t) => t.to_string(),
            other => {
                return Err(bad(format!(
                    "entry {name} has dtype {other:?}; numeric arrays only"
                )));
            }
        };
        let data: Vec<f64> = match type_str.as_str() {
            "<f4" => npy
                .into_vec::<f32>()
                .map(|v| v.into_iter().map(f64::from).collect()),
            "<f8" => npy.into_vec::<f64>(),
            "<u4" => npy
                .into_vec::<u32>()
                .map(|v| v.into_iter().map(f64::from).collect()),
            "<i4" => npy
                .into_vec::<i32>()
                .map(|v| v.into_iter().map(f64::from).collect()),
            "<u8" => npy
                .into_vec::<u64>()
                .map(|v| v.into_iter().map(|x| x as f64).collect()),
            "<i8" => npy
                .into_vec::<i64>()
                .map(|v| v.into_iter().map(|x| x as f64).collect()),
            other => {
                return Err(bad(format!(
                    "entry {name} has dtype {other}; allowed: float32, float64, (u)int32, (u)int64"
                )));
            }
        }
        .map_err(|e| bad(format!("entry {name}: {e}")))?;
        out.insert(key.to_string(), Array { shape, data });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npz");
        let mut m = BTreeMap::new();
        m.insert(
            "x->y/data".to_string(),
            Out::F32(vec![3], vec![1.5, -2.0, 0.25]),
        );
        m.insert("x->y/indptr".to_string(), Out::U32(vec![2], vec![0, 3]));
        m.insert("loss".to_string(), Out::F64(vec![], vec![0.125]));
        write(&p, &m).unwrap();
        let r = read(&p).unwrap();
        assert_eq!(r["x->y/data"].data, vec![1.5, -2.0, 0.25]);
        assert_eq!(r["x->y/indptr"].shape, vec![2]);
        assert_eq!(r["loss"].data, vec![0.125]);
    }

    #[test]
    fn garbage_is_an_input_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npz");
        std::fs::write(&p, b"PK\x03\x04 not really").unwrap();
        let e = read(&p).unwrap_err();
        assert!(e.is_input() && e.to_string().contains("a.npz"), "{e}");
    }
}
