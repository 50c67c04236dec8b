//! File formats: network descriptions (TOML), spike and state outputs (.npy), atomic writes.
//!
//! `io` is used from above and never uses the layers above it: what goes in a file is decided by
//! the caller, how bytes are written is decided here.

pub mod config;
pub mod events;
pub mod npy;
pub mod npz;
pub mod weights;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Write `path` atomically: `write` fills a temporary file beside it, which is renamed over
/// `path` only when everything was written and flushed. A crash or error leaves no partial file.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = tmp_name(path);
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        write(&mut w)?;
        w.flush()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// The temporary name used while writing `path`: `.NAME.tmp` in the same directory.
pub fn tmp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}
