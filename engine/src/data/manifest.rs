//! Labeled event recordings listed in a manifest: reader.
//!
//! Layout: a folder with `labels.csv` or `labels.json` (or the manifest file named directly),
//! one row per sample, in the order the data set has its samples; `file` is relative to the
//! manifest's folder and may be any event format Eligo reads (Eligo/tonic `.npy`, AEDAT 2.0,
//! EVT 2.0, N-MNIST `.bin`):
//!
//! ```text
//! file,label,split
//! rec/0001.npy,3,train
//! rec/0002.npy,7,test
//! rec/0003.npy,7,
//! ```
//!
//! | column | required | values |
//! |---|---|---|
//! | `file` | yes | a path relative to the manifest |
//! | `label` | yes | a class, an integer `0, 1, ...` |
//! | `split` | no | `train`, `validation`, `test`, or empty (assigned by the split rule) |
//!
//! CSV: the first line is the header naming the columns (any order, other columns ignored);
//! blank lines and lines starting with `#` are skipped; fields are not quoted (a `"` is an
//! error). JSON: a list of objects `{"file": ..., "label": ..., "split": ...}`, or an object
//! `{"classes": N, "channels": C, "samples": [...]}` that also declares the number of classes
//! (every label must be below it) and of input channels (every spike's channel must be below it;
//! both keys optional). Every file is checked to exist when the data set is opened; a recording is
//! read (and binned) only when its sample is asked for.

use std::path::{Path, PathBuf};

use super::open::{bad_sample, event_record, in_range, not_empty};
use super::{DataSpec, ReadSettings, Record, Source};
use crate::error::{Error, Result, did_you_mean};
use crate::io::events::replay::load_steps;
use crate::task::Split;

/// Largest manifest read, in bytes (about 10 million rows).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 30;

const SPLITS: &[&str] = &["train", "validation", "test"];

#[derive(Debug, Clone)]
struct Row {
    file: PathBuf,
    label: usize,
    split: Option<Split>,
}

/// A manifest and the recordings it lists.
pub struct Manifest {
    path: PathBuf,
    rows: Vec<Row>,
    classes: Option<usize>,
    channels: Option<u32>,
    read: ReadSettings,
}

/// Parse a split name (`None` for an empty field).
pub(super) fn parse_split(s: &str) -> std::result::Result<Option<Split>, String> {
    match s.trim() {
        "" => Ok(None),
        "train" => Ok(Some(Split::Train)),
        "validation" => Ok(Some(Split::Validation)),
        "test" => Ok(Some(Split::Test)),
        other => Err(did_you_mean(other, SPLITS)),
    }
}

fn parse_label(s: &str) -> Option<usize> {
    s.trim().parse().ok()
}

impl Manifest {
    /// Read the manifest at `path` and check that every file it lists exists.
    pub fn open(path: &Path, spec: &DataSpec) -> Result<Self> {
        let size = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        if size > MAX_MANIFEST_BYTES {
            return Err(Error::input(
                "",
                format!("{size} bytes"),
                format!("a labels file may have at most {MAX_MANIFEST_BYTES} bytes"),
                "split the data set into several folders",
            )
            .in_file(path));
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let is_json = super::open::extension(path) == "json";
        let (rows, classes, channels) = if is_json {
            parse_json(&text, path)?
        } else {
            (parse_csv(&text, path)?, None, None)
        };
        not_empty(
            rows.len() as u64,
            path,
            "the labels file lists no recording",
        )?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut out = Vec::with_capacity(rows.len());
        for (place, file, label, split) in rows {
            let full = dir.join(&file);
            if !full.is_file() {
                return Err(Error::input(
                    place,
                    format!("file {file}"),
                    format!("{} does not exist or is not a file", full.display()),
                    "file names are relative to the labels file's folder",
                )
                .in_file(path));
            }
            if let Some(c) = classes
                && label >= c
            {
                return Err(Error::input(
                    place,
                    format!("label {label}"),
                    format!("the labels file declares {c} classes: labels 0..{}", c - 1),
                    "fix the label or the declared classes",
                )
                .in_file(path));
            }
            out.push(Row {
                file: full,
                label,
                split,
            });
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            rows: out,
            classes,
            channels,
            read: spec.read.clone(),
        })
    }
}

type Parsed = (String, String, usize, Option<Split>);

fn parse_csv(text: &str, path: &Path) -> Result<Vec<Parsed>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let Some((_, header)) = lines.next() else {
        return Err(Error::input(
            "",
            "",
            "the labels file is empty: it needs a header line file,label[,split] and one row \
             per recording",
            "",
        )
        .in_file(path));
    };
    let cols: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| cols.iter().position(|c| c == name);
    let (Some(file_col), Some(label_col)) = (col("file"), col("label")) else {
        return Err(Error::input(
            "line 1",
            format!("'{}'", header.trim()),
            "the first line is the header and must name the columns file and label (and \
             optionally split)",
            "e.g. file,label,split",
        )
        .in_file(path));
    };
    let split_col = col("split");
    let mut rows = Vec::new();
    for (no, line) in lines {
        let place = format!("line {}", no + 1);
        if line.contains('"') {
            return Err(Error::input(
                place,
                format!("'{}'", line.trim()),
                "fields are not quoted in a labels file",
                "rename files with commas or quotes",
            )
            .in_file(path));
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let get = |c: usize| fields.get(c).copied().unwrap_or("");
        let file = get(file_col);
        if file.is_empty() {
            return Err(Error::input(
                place,
                format!("'{}'", line.trim()),
                "the row names no file",
                "",
            )
            .in_file(path));
        }
        let label_s = get(label_col);
        let Some(label) = parse_label(label_s) else {
            return Err(Error::input(
                place,
                format!("label '{label_s}' of {file}"),
                if label_s.is_empty() {
                    "the row has no label: every recording needs its class"
                } else {
                    "a label is a class number 0, 1, 2, ..."
                },
                "",
            )
            .in_file(path));
        };
        let split_s = split_col.map_or("", get);
        let split = parse_split(split_s).map_err(|hint| {
            Error::input(
                place.clone(),
                format!("split '{split_s}' of {file}"),
                "allowed: train, validation, test, or empty",
                hint,
            )
            .in_file(path)
        })?;
        rows.push((place, file.to_string(), label, split));
    }
    Ok(rows)
}

type Declared = (Vec<Parsed>, Option<usize>, Option<u32>);

fn parse_json(text: &str, path: &Path) -> Result<Declared> {
    let bad = |field: String, value: String, allowed: &str| {
        Error::input(field, value, allowed.to_string(), "").in_file(path)
    };
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        bad(
            String::new(),
            String::new(),
            &format!("not valid JSON: {e}"),
        )
    })?;
    const SHAPE: &str = "a labels.json is a list of {\"file\", \"label\", \"split\"} objects, or \
                         {\"classes\": N, \"channels\": C, \"samples\": [...]}";
    let (list, classes, channels) = match &v {
        serde_json::Value::Array(a) => (a, None, None),
        serde_json::Value::Object(o) => {
            let Some(serde_json::Value::Array(a)) = o.get("samples") else {
                return Err(bad("samples".into(), "missing".into(), SHAPE));
            };
            let classes = match o.get("classes") {
                None => None,
                Some(c) => match c.as_u64() {
                    Some(n) if n >= 1 => Some(n as usize),
                    _ => return Err(bad("classes".into(), c.to_string(), "a whole number >= 1")),
                },
            };
            let channels = match o.get("channels") {
                None => None,
                Some(c) => match c.as_u64() {
                    Some(n) if (1..=u64::from(u32::MAX)).contains(&n) => Some(n as u32),
                    _ => {
                        return Err(bad(
                            "channels".into(),
                            c.to_string(),
                            "a whole number from 1 to 2^32 - 1",
                        ));
                    }
                },
            };
            (a, classes, channels)
        }
        _ => return Err(bad(String::new(), String::new(), SHAPE)),
    };
    let mut rows = Vec::with_capacity(list.len());
    for (k, item) in list.iter().enumerate() {
        let place = format!("samples[{k}]");
        let Some(o) = item.as_object() else {
            return Err(bad(place, item.to_string(), SHAPE));
        };
        let Some(file) = o.get("file").and_then(|f| f.as_str()) else {
            return Err(bad(
                format!("{place}.file"),
                "missing".into(),
                "every sample names its recording (a string)",
            ));
        };
        let label = match o.get("label") {
            Some(l) => l.as_u64().map(|l| l as usize).ok_or_else(|| {
                bad(
                    format!("{place}.label"),
                    format!("{l} ({file})"),
                    "a label is a class number 0, 1, 2, ...",
                )
            })?,
            None => {
                return Err(bad(
                    format!("{place}.label"),
                    format!("missing ({file})"),
                    "every recording needs its class",
                ));
            }
        };
        let split = match o.get("split") {
            None | Some(serde_json::Value::Null) => None,
            Some(s) => {
                let text = s.as_str().unwrap_or("?");
                parse_split(text).map_err(|hint| {
                    Error::input(
                        format!("{place}.split"),
                        format!("{s} ({file})"),
                        "allowed: train, validation, test, or null",
                        hint,
                    )
                    .in_file(path)
                })?
            }
        };
        rows.push((place, file.to_string(), label, split));
    }
    Ok((rows, classes, channels))
}

impl Source for Manifest {
    fn describe(&self) -> String {
        format!(
            "labeled recordings {} ({} samples)",
            self.path.display(),
            self.rows.len()
        )
    }
    fn len(&self) -> u64 {
        self.rows.len() as u64
    }
    fn split_of(&self, i: u64) -> Option<Split> {
        self.rows.get(i as usize).and_then(|r| r.split)
    }
    fn channels(&self) -> Option<u32> {
        self.channels
    }
    fn classes(&self) -> Option<usize> {
        self.classes
            .or_else(|| self.rows.iter().map(|r| r.label).max().map(|m| m + 1))
    }
    fn label_of(&self, i: u64) -> Option<usize> {
        self.rows.get(i as usize).map(|r| r.label)
    }
    fn read(&self, i: u64) -> Result<Record> {
        in_range(i, self.len(), &self.path)?;
        let row = &self.rows[i as usize];
        let input = load_steps(&row.file, &self.read.replay, self.read.dt_us, None).map_err(
            |e| match e {
                Error::Io { .. } => bad_sample(
                    &self.path,
                    i,
                    row.file.display(),
                    format!("cannot read the recording: {e}"),
                    "",
                ),
                other => other,
            },
        )?;
        event_record(
            row.file.display().to_string(),
            input,
            Some(row.label),
            self.channels,
            &row.file,
            i,
        )
    }
}
