//! Opening a data set: which reader a path needs, and what the readers share.
//!
//! | path | layout | reader |
//! |---|---|---|
//! | folder with `labels.csv` or `labels.json` | labeled recordings | [`super::manifest`] |
//! | a `*.csv` / `*.json` file | the same, the manifest named directly | [`super::manifest`] |
//! | folder with `Train/` and/or `Test/` | N-MNIST as distributed | [`super::nmnist`] |
//! | a `.h5` / `.hdf5` file | SHD / SSC, one file, no split | [`super::shd`] |
//! | folder with `*train*.h5` and `*test*.h5` | SHD / SSC, split from the file | [`super::shd`] |
//! | a `.npz` file | dense arrays | [`super::dense`] |

use std::path::{Path, PathBuf};

use super::{DataSpec, Record, Source};
use crate::error::{Error, Result};

/// Open the data set at `spec.path`, detecting its layout (see the module docs).
pub fn open(spec: &DataSpec) -> Result<Box<dyn Source>> {
    let path = &spec.path;
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::input(
            "--data",
            path.display(),
            format!("cannot open the data set: {e}"),
            "name a folder (labels.csv, Train/Test, *.h5) or a .csv, .json, .h5 or .npz file",
        )
    })?;
    if meta.is_dir() {
        return open_dir(path, spec);
    }
    let ext = extension(path);
    match ext.as_str() {
        "csv" | "json" => Ok(Box::new(super::manifest::Manifest::open(path, spec)?)),
        "npz" => Ok(Box::new(super::dense::Dense::open(path, spec)?)),
        "h5" | "hdf5" => super::shd::open_files(vec![(path.clone(), None)], path, spec),
        _ => Err(Error::input(
            "--data",
            path.display(),
            "not a data set Eligo reads: a folder, or a labels file (.csv, .json), an SHD/SSC \
             file (.h5) or dense arrays (.npz)",
            "a single event recording is not a data set: list it in a labels.csv (file,label)",
        )),
    }
}

fn open_dir(dir: &Path, spec: &DataSpec) -> Result<Box<dyn Source>> {
    let csv = dir.join("labels.csv");
    let json = dir.join("labels.json");
    match (csv.is_file(), json.is_file()) {
        (true, true) => {
            return Err(Error::input(
                "--data",
                dir.display(),
                "holds both labels.csv and labels.json: which one lists the samples?",
                format!("name the manifest itself, e.g. --data {}", csv.display()),
            ));
        }
        (true, false) => return Ok(Box::new(super::manifest::Manifest::open(&csv, spec)?)),
        (false, true) => return Ok(Box::new(super::manifest::Manifest::open(&json, spec)?)),
        _ => {}
    }
    if super::nmnist::is_layout(dir) {
        return Ok(Box::new(super::nmnist::NMnist::open(dir, spec)?));
    }
    let files = list(dir)?;
    let h5: Vec<&PathBuf> = files
        .iter()
        .filter(|p| matches!(extension(p).as_str(), "h5" | "hdf5"))
        .collect();
    if !h5.is_empty() {
        return super::shd::open_dir(dir, &h5, spec);
    }
    Err(Error::input(
        "--data",
        dir.display(),
        "is a folder without a data-set layout Eligo knows: labels.csv or labels.json \
         (file,label[,split]), Train/<digit>/*.bin and Test/<digit>/*.bin (N-MNIST), or \
         *train*.h5 and *test*.h5 (SHD/SSC)",
        "write a labels.csv next to the recordings (header file,label,split) and pass the folder",
    ))
}

/// The lowercase extension of `path` (empty without one).
pub(super) fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The entries of `dir`, sorted by name (so that every machine lists them in one order).
pub(super) fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for e in rd {
        out.push(e.map_err(|e| Error::io(dir, e))?.path());
    }
    out.sort();
    Ok(out)
}

/// An error about sample `i` of a data set (`what` names it: a file, `FILE sample K`).
pub(super) fn bad_sample(
    file: &Path,
    sample: impl std::fmt::Display,
    value: impl std::fmt::Display,
    allowed: impl Into<String>,
    hint: impl Into<String>,
) -> Error {
    Error::input(format!("sample {sample}"), value, allowed, hint).in_file(file)
}

/// The record of `(step, channel)` spikes read from an event recording: its length is one past
/// its last spike, and a channel at or past `channels` (when declared) is an error naming the
/// sample.
pub(super) fn event_record(
    name: String,
    input: Vec<(u64, u32)>,
    label: Option<usize>,
    channels: Option<u32>,
    file: &Path,
    sample: impl std::fmt::Display,
) -> Result<Record> {
    if let Some(c) = channels
        && let Some(&(step, ch)) = input.iter().find(|&&(_, ch)| ch >= c)
    {
        return Err(bad_sample(
            file,
            sample,
            format!("channel {ch} at step {step}"),
            format!("the data set has {c} input channels (0..{})", c - 1),
            "check the address map (--width/--height, --pool) or the recording",
        ));
    }
    let steps = input.last().map_or(0, |&(s, _)| s + 1);
    Ok(Record {
        name,
        input,
        steps,
        label,
        targets: None,
    })
}

/// Refuse an empty data set, naming where it was looked for.
pub(super) fn not_empty(n: u64, file: &Path, what: &str) -> Result<()> {
    if n == 0 {
        return Err(Error::input(
            "",
            "",
            format!("the data set has no samples: {what}"),
            "a data set needs at least one labeled sample",
        )
        .in_file(file));
    }
    Ok(())
}

/// Refuse `i >= n` (a caller's bug or a stale index, but never a panic).
pub(super) fn in_range(i: u64, n: u64, file: &Path) -> Result<()> {
    if i >= n {
        return Err(
            Error::input("sample", i, format!("the data set has samples 0..{n}"), "").in_file(file),
        );
    }
    Ok(())
}
