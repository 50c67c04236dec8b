//! The N-MNIST folder layout, as distributed (G. Orchard et al., Front. Neurosci. 2015): reader.
//!
//! ```text
//! DIR/Train/0/00002.bin ... DIR/Train/9/...   (60 000 recordings)
//! DIR/Test/0/00003.bin  ... DIR/Test/9/...    (10 000 recordings)
//! ```
//!
//! The label is the name of a recording's folder (a whole number), the split is `Train` →
//! train, `Test` → test (either may be missing). Samples are ordered `Train` before `Test`, then
//! by label, then by file name. Each `.bin` is read by [`crate::io::events::nmnist`] and mapped
//! by the sensor address map with polarity kept: `p·34·34 + y·34 + x`, 2 × 34 × 34 = 2312
//! channels (fewer with `--pool`, half with `--merge-polarity`; the sensor size can be changed
//! with `--width/--height`, e.g. for N-Caltech101).

use std::path::{Path, PathBuf};

use super::open::{event_record, in_range, list, not_empty};
use super::{DataSpec, ReadSettings, Record, Source};
use crate::error::{Error, Result};
use crate::io::events::replay::load_steps;
use crate::task::Split;

const SENSOR: u32 = 34;

/// The split folders, as distributed.
const PARTS: [(&str, Split); 2] = [("Train", Split::Train), ("Test", Split::Test)];

/// Whether `dir` looks like N-MNIST: it has a `Train` or `Test` folder.
pub(super) fn is_layout(dir: &Path) -> bool {
    PARTS.iter().any(|(name, _)| dir.join(name).is_dir())
}

/// An N-MNIST folder.
pub struct NMnist {
    dir: PathBuf,
    files: Vec<(PathBuf, usize, Split)>,
    channels: Option<u32>,
    classes: usize,
    read: ReadSettings,
}

impl NMnist {
    /// List the recordings under `dir` (their bytes are read one sample at a time).
    pub fn open(dir: &Path, spec: &DataSpec) -> Result<Self> {
        let mut files = Vec::new();
        for (part, split) in PARTS {
            let sub = dir.join(part);
            if !sub.is_dir() {
                continue;
            }
            let mut digits = Vec::new();
            for d in list(&sub)? {
                if !d.is_dir() {
                    continue;
                }
                let name = d.file_name().unwrap_or_default().to_string_lossy();
                let Ok(label) = name.parse::<usize>() else {
                    return Err(Error::input(
                        "folder",
                        format!("'{name}'"),
                        "the folders under Train/ and Test/ are the labels: whole numbers \
                         (0 to 9 for N-MNIST)",
                        "move other folders out of the data set",
                    )
                    .in_file(&sub));
                };
                digits.push((label, d));
            }
            digits.sort();
            for (label, d) in digits {
                for f in list(&d)? {
                    if f.is_file() && super::open::extension(&f) == "bin" {
                        files.push((f, label, split));
                    }
                }
            }
        }
        not_empty(
            files.len() as u64,
            dir,
            "no .bin recording under Train/<digit>/ or Test/<digit>/",
        )?;
        let classes = files.iter().map(|f| f.1).max().map_or(0, |m| m + 1);
        let map = &spec.read.replay.map;
        let channels = if map.table.is_some() {
            None
        } else {
            let w = map.width.unwrap_or(SENSOR).div_ceil(map.pool_x.max(1));
            let h = map.height.unwrap_or(SENSOR).div_ceil(map.pool_y.max(1));
            let pol = if map.merge_polarity { 1 } else { 2 };
            w.checked_mul(h).and_then(|c| c.checked_mul(pol))
        };
        Ok(NMnist {
            dir: dir.to_path_buf(),
            files,
            channels,
            classes,
            read: spec.read.clone(),
        })
    }
}

impl Source for NMnist {
    fn describe(&self) -> String {
        format!(
            "N-MNIST folder {} ({} samples)",
            self.dir.display(),
            self.files.len()
        )
    }
    fn len(&self) -> u64 {
        self.files.len() as u64
    }
    fn split_of(&self, i: u64) -> Option<Split> {
        self.files.get(i as usize).map(|f| f.2)
    }
    fn channels(&self) -> Option<u32> {
        self.channels
    }
    fn classes(&self) -> Option<usize> {
        Some(self.classes)
    }
    fn label_of(&self, i: u64) -> Option<usize> {
        self.files.get(i as usize).map(|f| f.1)
    }
    fn read(&self, i: u64) -> Result<Record> {
        in_range(i, self.len(), &self.dir)?;
        let (file, label, _) = &self.files[i as usize];
        let input = load_steps(file, &self.read.replay, self.read.dt_us, None)?;
        event_record(
            file.display().to_string(),
            input,
            Some(*label),
            self.channels,
            file,
            i,
        )
    }
}
