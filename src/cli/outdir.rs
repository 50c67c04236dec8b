//! The `--out` directory of a run: created when the run starts, removed again when the run
//! fails before anything was left in it (a failed run leaves no empty directory behind).

use std::path::{Path, PathBuf};

use eligo_engine::Error;

/// The output directory; on drop, the directories this run created are removed if empty.
pub struct OutDir {
    /// The directories `create` made, outermost first.
    created: Vec<PathBuf>,
}

impl OutDir {
    /// Create `dir` and its missing parents.
    pub fn create(dir: &Path) -> Result<OutDir, Error> {
        let mut created: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        created.reverse();
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::input(
                "--out",
                dir.display(),
                format!("cannot create the output directory: {e}"),
                "choose a writable directory",
            )
        })?;
        Ok(OutDir { created })
    }

    /// The run succeeded: keep the directories even if it wrote nothing into them.
    pub fn keep(mut self) {
        self.created.clear();
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        // `remove_dir` removes only an empty directory: whatever a run wrote stays, and a
        // directory that existed before the run is not in the list
        for d in self.created.iter().rev() {
            if std::fs::remove_dir(d).is_err() {
                break;
            }
        }
    }
}
