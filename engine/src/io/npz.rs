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
    /// The dtype as the file has it (`<f4`, `<u4`, ...).
    pub dtype: String,
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
    write_staged(path, arrays)?.commit()
}

/// [`write()`] without the rename: the archive is complete under its temporary name and goes into
/// place with the rest of its set ([`super::commit_all`]).
pub fn write_staged(path: &Path, arrays: &BTreeMap<String, Out>) -> Result<super::Staged> {
    super::write_staged(path, |w| {
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

/// Largest total of values [`read`] takes from one archive (2^28, 2 GiB as `f64`).
pub const READ_ALL_MAX_VALUES: u64 = 1 << 28;

/// Read every array of the `.npz` at `path` (at most [`READ_ALL_MAX_VALUES`] values in all).
/// Loaders that know what they need use [`Archive::get`], which reads only the asked members,
/// each bounded by the size it must have.
pub fn read(path: &Path) -> Result<BTreeMap<String, Array>> {
    let mut zip = Archive::open(path)?;
    let names: Vec<String> = zip
        .zip
        .file_names()
        .filter_map(|n| n.ok()?.strip_suffix(".npy").map(str::to_string))
        .collect();
    let mut out = BTreeMap::new();
    let mut left = READ_ALL_MAX_VALUES;
    for key in names {
        if let Some(a) = zip.get(&key, left)? {
            left = left.saturating_sub(a.data.len() as u64);
            out.insert(key, a);
        }
    }
    Ok(out)
}

/// An open `.npz` archive, read member by member.
pub struct Archive<R = std::fs::File> {
    zip: zip::ZipArchive<R>,
    path: std::path::PathBuf,
}

impl Archive {
    /// Open the `.npz` at `path` (reads its directory only).
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| {
            Error::input(
                "",
                "",
                format!("cannot open the file: {e}"),
                "check the path",
            )
            .in_file(path)
        })?;
        Archive::new(file, path)
    }
}

impl<R: Read + std::io::Seek> Archive<R> {
    /// Read the archive from `reader`; errors name `path`.
    pub fn new(reader: R, path: &Path) -> Result<Self> {
        let zip = zip::ZipArchive::new(reader).map_err(|e| {
            Error::input(
                "",
                "",
                format!("not a readable .npz archive: {e}"),
                "write it with numpy.savez (or eligo itself)",
            )
            .in_file(path)
        })?;
        Ok(Archive {
            zip,
            path: path.to_path_buf(),
        })
    }

    /// The names of the arrays in the archive (members `NAME.npy`, in directory order); reads
    /// nothing but the directory.
    pub fn names(&self) -> Vec<String> {
        self.zip
            .file_names()
            .filter_map(|m| m.ok())
            .map(|m| m.strip_suffix(".npy").unwrap_or(&m).to_string())
            .collect()
    }

    /// Whether the archive has the array `name` (member `name.npy`).
    pub fn contains(&self, name: &str) -> bool {
        self.zip.index_for_name(&format!("{name}.npy")).is_some()
    }

    /// The raw bytes of member `name.npy` (`None` if absent), which must hold at most `max_len`
    /// values: the declared uncompressed size and the bytes really inflated are both bounded by
    /// [`member_bound`], so a member that inflates beyond it costs no more than the bound.
    pub fn bytes(&mut self, name: &str, max_len: u64) -> Result<Option<Vec<u8>>> {
        let member = format!("{name}.npy");
        let bound = member_bound(max_len);
        let path = &self.path;
        let err = |value: String, allowed: String| {
            Error::input(
                member.clone(),
                value,
                allowed,
                "the weights and data must match the network they are loaded into",
            )
            .in_file(path)
        };
        let mut entry = match self.zip.by_name(&member) {
            Ok(e) => e,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(err("unreadable".into(), e.to_string())),
        };
        let too_big = |size: String| {
            err(
                size,
                format!(
                    "at most {bound} bytes (a header and {max_len} values of up to 8 bytes) are needed here"
                ),
            )
        };
        if entry.size() > bound {
            return Err(too_big(format!("{} bytes uncompressed", entry.size())));
        }
        // no capacity from the declared size: it can lie
        let mut bytes = Vec::new();
        entry
            .by_ref()
            .take(bound + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                err(
                    format!("{} bytes declared", entry.size()),
                    format!("unreadable (a damaged file, or a member larger than declared): {e}"),
                )
            })?;
        if bytes.len() as u64 > bound {
            return Err(too_big(format!(
                "more than {bound} bytes uncompressed (its declared size {} is wrong)",
                entry.size()
            )));
        }
        Ok(Some(bytes))
    }

    /// Array `name` (member `name.npy`; `None` if absent) in C order (Fortran-order members are
    /// transposed on read). The member's bytes are bounded by [`member_bound`]`(max_len)`; its
    /// shape is the caller's to check.
    pub fn get(&mut self, name: &str, max_len: u64) -> Result<Option<Array>> {
        let Some(bytes) = self.bytes(name, max_len)? else {
            return Ok(None);
        };
        let bad = |what: String| {
            Error::input(
                format!("{name}.npy"),
                "",
                what,
                "write it with numpy.savez (or eligo itself)",
            )
            .in_file(&self.path)
        };
        let npy = super::npy::Npy::parse(&bytes).map_err(bad)?;
        let dtype = npy.dtype();
        fn wide<T: npyz::Deserialize + Clone + Into<f64>>(
            npy: super::npy::Npy<'_>,
        ) -> std::result::Result<(Vec<u64>, Vec<f64>), String> {
            npy.values::<T>()
                .map(|(s, v)| (s, v.into_iter().map(Into::into).collect()))
        }
        let (shape, data) = match dtype.as_str() {
            "<f4" => wide::<f32>(npy),
            "<f8" => wide::<f64>(npy),
            "<u4" => wide::<u32>(npy),
            "<i4" => wide::<i32>(npy),
            // 64-bit integers: exact up to 2^53, far beyond any size or index of a network
            "<u8" => npy
                .values::<u64>()
                .map(|(s, v)| (s, v.into_iter().map(|x| x as f64).collect())),
            "<i8" => npy
                .values::<i64>()
                .map(|(s, v)| (s, v.into_iter().map(|x| x as f64).collect())),
            other => Err(format!(
                "dtype {other}; allowed: float32, float64, (u)int32, (u)int64 (little-endian)"
            )),
        }
        .map_err(bad)?;
        Ok(Some(Array { shape, dtype, data }))
    }
}

/// The most bytes a `.npy` member of at most `max_len` values may take: the longest header
/// NumPy writes and 8 bytes a value.
pub fn member_bound(max_len: u64) -> u64 {
    max_len
        .saturating_mul(8)
        .saturating_add(super::npy::MAX_PREFIX_BYTES)
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
