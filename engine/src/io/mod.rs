//! File formats: network descriptions (TOML), spike and state outputs (.npy), atomic writes.
//!
//! `io` is used from above and never uses the layers above it: what goes in a file is decided by
//! the caller, how bytes are written is decided here.

pub mod config;
pub mod events;
pub mod nir;
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
    write_staged(path, write)?.commit()
}

/// [`write_atomic`] without the rename: the file is complete and synced under its temporary
/// name, and goes into place with the others of its set ([`commit_all`]).
pub fn write_staged(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<Staged> {
    let staged = Staged::new(path);
    let result = (|| {
        let mut w = BufWriter::new(File::create(&staged.tmp)?);
        write(&mut w)?;
        w.flush()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    // on error `staged` is dropped, which removes the temporary file
    result.map_err(|e| Error::io(path, e))?;
    Ok(staged)
}

/// A file written completely (flushed and synced) under its temporary name ([`tmp_name`]),
/// waiting to be renamed into place by [`Staged::commit`] or [`commit_all`]. Dropping it
/// removes the temporary file, so an error anywhere in a run leaves no file behind.
#[must_use = "a staged file is removed when dropped; commit it"]
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    live: bool,
}

impl Staged {
    /// A staged file for `path` (its temporary name is [`tmp_name`]`(path)`); whatever is at
    /// the temporary name is removed when this is dropped uncommitted.
    pub fn new(path: &Path) -> Self {
        Staged {
            tmp: tmp_name(path),
            path: path.to_path_buf(),
            live: true,
        }
    }

    /// The final name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary name the file is written under.
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// Rename the file into place.
    pub fn commit(mut self) -> Result<()> {
        self.live = false;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| {
            let _ = std::fs::remove_file(&self.tmp);
            Error::io(&self.path, e)
        })
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.live {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Rename a set of complete files into place, in order (put the file that marks the set as
/// complete, e.g. a summary, last). If one rename fails, the files of the set already renamed
/// are removed again and the remaining temporary files too: the set is in place whole or not
/// at all.
pub fn commit_all(files: Vec<Staged>) -> Result<()> {
    let mut placed: Vec<PathBuf> = Vec::with_capacity(files.len());
    let mut rest = files.into_iter();
    for f in rest.by_ref() {
        let path = f.path.clone();
        if let Err(e) = f.commit() {
            for p in &placed {
                let _ = std::fs::remove_file(p);
            }
            // dropping `rest` removes the temporary files not yet renamed
            drop(rest);
            return Err(e);
        }
        placed.push(path);
    }
    Ok(())
}

/// The temporary name used while writing `path`: `.NAME.tmp` in the same directory.
pub fn tmp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_committed_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let stage = |name: &str| write_staged(&d.join(name), |w| w.write_all(b"x")).unwrap();
        // complete set: every file in place, in order, no temporary left
        commit_all(vec![stage("a"), stage("b")]).unwrap();
        assert!(d.join("a").is_file() && d.join("b").is_file());
        // the rename of the second fails (its final name is a directory that is not empty):
        // the first is taken out of place again and no temporary is left
        std::fs::create_dir(d.join("busy")).unwrap();
        std::fs::write(d.join("busy/f"), "").unwrap();
        let set = vec![stage("c"), stage("busy"), stage("e")];
        assert!(commit_all(set).is_err());
        assert!(!d.join("c").exists() && !d.join("e").exists());
        for n in ["c", "busy", "e"] {
            assert!(!tmp_name(&d.join(n)).exists(), "{n}");
        }
        // dropped uncommitted: nothing is left
        let s = stage("f");
        assert!(s.tmp().is_file());
        drop(s);
        assert!(!tmp_name(&d.join("f")).exists() && !d.join("f").exists());
    }
}
