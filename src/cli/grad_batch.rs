//! `eligo grad --batch-inputs`: the input list (a folder or a manifest). The batch run itself
//! is the engine's (`eligo_engine::train::grad`), the training run's own: the gradients are
//! those of a training iteration over the same samples, bit for bit.

use std::path::{Path, PathBuf};

use anyhow::Result;
use eligo_engine::prelude::*;
pub use eligo_engine::train::grad::MAX_SEQUENCES;

/// The target a manifest line gives its sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A class (classification over `--window-ms`).
    Class(usize),
    /// A `[steps, n_out]` float `.npy` (regression).
    Targets(PathBuf),
}

/// One sequence of the batch: its input event file and, from a manifest, its own target.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Eligo event `.npy`.
    pub input: PathBuf,
    /// The manifest's target for it (else `--targets`/`--class`).
    pub target: Option<Target>,
}

/// The sequences `path` lists: a folder's `.npy` files in file-name order, or a manifest's
/// lines (`INPUT[,TARGET]`, see `eligo grad --help`).
pub fn entries(path: &Path) -> Result<Vec<Entry>> {
    let bad = |msg: String, hint: &str| Error::input("--batch-inputs", path.display(), msg, hint);
    let meta = std::fs::metadata(path).map_err(|e| {
        bad(
            format!("cannot read it: {e}"),
            "give a folder of input .npy files or a manifest listing them",
        )
    })?;
    let list = if meta.is_dir() {
        folder(path).map_err(|e| bad(format!("cannot list the folder: {e}"), ""))?
    } else {
        manifest(path)?
    };
    if list.is_empty() {
        return Err(bad(
            match meta.is_dir() {
                true => "the folder holds no .npy file".into(),
                false => "the manifest lists no sequence".into(),
            },
            "a batch needs at least one input event file (.npy)",
        )
        .into());
    }
    if list.len() > MAX_SEQUENCES {
        return Err(bad(
            format!("lists {} sequences, at most {MAX_SEQUENCES}", list.len()),
            "split the batch",
        )
        .into());
    }
    Ok(list)
}

/// Every `.npy` file of `dir`, sorted by file name.
fn folder(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_file() && p.extension().is_some_and(|x| x == "npy") {
            files.push(p);
        }
        if files.len() > MAX_SEQUENCES {
            break;
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files
        .into_iter()
        .map(|input| Entry {
            input,
            target: None,
        })
        .collect())
}

/// A manifest: one sequence per line, `INPUT` or `INPUT,TARGET` (a class number or a targets
/// `.npy`), paths relative to the manifest's folder; blank lines and `#` comments skipped, and
/// a first line whose first field is `file` (a CSV header).
fn manifest(path: &Path) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            "--batch-inputs",
            path.display(),
            format!("cannot read the manifest: {e}"),
            "one input .npy per line, optionally followed by ,CLASS or ,TARGETS.npy",
        )
    })?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split(',').map(str::trim);
        let input = fields.next().unwrap_or("");
        if n == 0 && input == "file" {
            continue;
        }
        let target = fields.next().filter(|t| !t.is_empty());
        if fields.next().is_some() || input.is_empty() {
            return Err(Error::input(
                format!("line {}", n + 1),
                line,
                "must be INPUT or INPUT,TARGET (TARGET a class number or a targets .npy)",
                "e.g. seq0.npy,3",
            )
            .in_file(path)
            .into());
        }
        let target = target.map(|t| match t.parse::<usize>() {
            Ok(c) => Target::Class(c),
            Err(_) => Target::Targets(dir.join(t)),
        });
        out.push(Entry {
            input: dir.join(input),
            target,
        });
        if out.len() > MAX_SEQUENCES {
            break;
        }
    }
    Ok(out)
}
