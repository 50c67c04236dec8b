//! The data config (`--data-config FILE`, TOML): how a data set meets a network.
//!
//! ```toml
//! input = "in"            # the population the input spikes are clamped onto (default "in")
//! readout = "out"         # the readout trained (default: the network's only readout)
//! loss = "ce"             # "ce" (labels) or "mse" (target series); default from the data
//! window_ms = [50, 100]   # the decision window of "ce", ms from the sequence start
//!                         # (default: every step of the sequence)
//! duration_ms = 100       # sequence length (default: the longest of the first 256
//!                         # training samples, in whole steps)
//! validation = 0.1        # fractions held out where the data set assigns no split
//! test = 0.2
//! prefetch = 64           # training samples read ahead on a background thread (0: none)
//! # how recordings become spikes, as `eligo events` has them:
//! width = 34  height = 34  pool = "2x2"  merge_polarity = true  map_table = "map.txt"
//! t_start_us = "first"  time_scale = "1000"
//! ```
//!
//! Sequences all have the run's length `duration_ms / dt`: a shorter sample is padded with
//! silence (and, for a target series, zero targets), a longer one is cropped (its later input
//! spikes and targets are dropped; `summary.json` counts them).

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::error::{Error, Result, did_you_mean};
use crate::io::events::replay::ReplayOptions;
use crate::io::events::{MapSpec, TimeMap, parse_pool, read_table};

/// Which loss a data set's readout is trained with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// Softmax cross-entropy against the label over the decision window.
    CrossEntropy,
    /// Squared error against the target series at every step.
    Mse,
}

/// A data config.
#[derive(Debug, Clone, PartialEq)]
pub struct DataConfig {
    /// The population receiving the input.
    pub input: String,
    /// The readout trained (`None`: the network's only readout).
    pub readout: Option<String>,
    /// The loss (`None`: `ce` for labels, `mse` for target series).
    pub loss: Option<LossKind>,
    /// Decision window `[from, to)` in ms (`None`: the whole sequence).
    pub window_ms: Option<(f64, f64)>,
    /// Sequence length in ms (`None`: from the data).
    pub duration_ms: Option<f64>,
    /// Validation fraction where the data set assigns no split.
    pub validation: f64,
    /// Test fraction where the data set assigns no split.
    pub test: f64,
    /// Training samples read ahead.
    pub prefetch: usize,
    /// How recordings become spikes.
    pub replay: ReplayOptions,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            input: "in".into(),
            readout: None,
            loss: None,
            window_ms: None,
            duration_ms: None,
            validation: 0.1,
            test: 0.2,
            prefetch: 64,
            replay: ReplayOptions::default(),
        }
    }
}

const KEYS: &[&str] = &[
    "input",
    "readout",
    "loss",
    "window_ms",
    "duration_ms",
    "validation",
    "test",
    "prefetch",
    "width",
    "height",
    "pool",
    "merge_polarity",
    "map_table",
    "t_start_us",
    "time_scale",
];

impl DataConfig {
    /// Open the data set at `path` as this config reads it, for a run with steps of `dt_ms`
    /// and data seed `seed` (the split rule's and the rate draws').
    pub fn open(&self, path: &Path, dt_ms: f64, seed: u64) -> Result<Box<dyn super::Dataset>> {
        let spec = super::DataSpec {
            path: path.to_path_buf(),
            read: super::ReadSettings {
                replay: self.replay.clone(),
                dt_us: crate::io::events::dt_us(dt_ms)?,
                seed,
            },
        };
        let rule = super::SplitRule {
            validation: self.validation,
            test: self.test,
            seed,
        };
        super::open_dataset(&spec, &rule)
    }
}

/// Read a data config file (relative `map_table` paths are resolved against it).
pub fn load(path: &Path) -> Result<DataConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            "",
            "",
            format!("cannot read the data config: {e}"),
            "check the path given to --data-config",
        )
        .in_file(path)
    })?;
    parse(&text, path.parent().unwrap_or(Path::new(""))).map_err(|e| e.in_file(path))
}

fn number(v: &Value, key: &str) -> Result<f64> {
    match v {
        Value::Float(x) => Ok(*x),
        Value::Integer(i) => Ok(*i as f64),
        other => Err(Error::input(key, other, "must be a number", "")),
    }
}

fn string<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v.as_str()
        .ok_or_else(|| Error::input(key, v, "must be a string", ""))
}

fn fraction(v: &Value, key: &str) -> Result<f64> {
    let x = number(v, key)?;
    if !(0.0..1.0).contains(&x) {
        return Err(Error::input(
            key,
            crate::error::num(x),
            "must be a fraction in [0, 1)",
            "e.g. 0.1 holds out a tenth of the unassigned samples",
        ));
    }
    Ok(x)
}

/// Parse a data config from TOML text; `dir` resolves a relative `map_table`.
pub fn parse(text: &str, dir: &Path) -> Result<DataConfig> {
    let table: Table = text.parse().map_err(|e: toml::de::Error| {
        Error::input(
            "(file)",
            "",
            format!("not valid TOML: {}", e.to_string().trim_end()),
            "see docs/data.md for the data config's fields",
        )
    })?;
    let mut c = DataConfig::default();
    let mut reading = Reading::default();
    for (k, v) in &table {
        match k.as_str() {
            "input" => c.input = string(v, k)?.to_string(),
            "readout" => c.readout = Some(string(v, k)?.to_string()),
            "loss" => {
                c.loss = Some(match string(v, k)? {
                    "ce" => LossKind::CrossEntropy,
                    "mse" => LossKind::Mse,
                    other => {
                        return Err(Error::input(
                            k,
                            format!("'{other}'"),
                            "allowed: ce (cross-entropy on labels), mse (target series)",
                            did_you_mean(other, &["ce", "mse"]),
                        ));
                    }
                })
            }
            "window_ms" => {
                let a = v.as_array().filter(|a| a.len() == 2).ok_or_else(|| {
                    Error::input(
                        k,
                        v,
                        "must be [from, to] in ms",
                        "e.g. window_ms = [50, 100]",
                    )
                })?;
                let (from, to) = (number(&a[0], k)?, number(&a[1], k)?);
                if !(from >= 0.0 && to > from && to.is_finite()) {
                    return Err(Error::input(
                        k,
                        format!("[{}, {}]", crate::error::num(from), crate::error::num(to)),
                        "must satisfy 0 <= from < to",
                        "e.g. window_ms = [50, 100]",
                    ));
                }
                c.window_ms = Some((from, to));
            }
            "duration_ms" => {
                let d = number(v, k)?;
                if !(d > 0.0 && d.is_finite()) {
                    return Err(Error::input(
                        k,
                        crate::error::num(d),
                        "must be a positive number of ms",
                        "",
                    ));
                }
                c.duration_ms = Some(d);
            }
            "validation" => c.validation = fraction(v, k)?,
            "test" => c.test = fraction(v, k)?,
            "prefetch" => {
                c.prefetch = v
                    .as_integer()
                    .filter(|n| (0..=1 << 16).contains(n))
                    .ok_or_else(|| Error::input(k, v, "must be a whole number in [0, 65536]", ""))?
                    as usize
            }
            _ if READ_KEYS.contains(&k.as_str()) => read_field(k, v, dir, &mut reading)?,
            other => {
                return Err(Error::input(
                    other,
                    "",
                    format!("unknown field; allowed: {}", KEYS.join(", ")),
                    did_you_mean(other, KEYS),
                ));
            }
        }
    }
    if c.validation + c.test >= 1.0 {
        return Err(Error::input(
            "validation",
            crate::error::num(c.validation),
            format!(
                "validation + test must leave training samples (test = {})",
                crate::error::num(c.test)
            ),
            "lower one of them",
        ));
    }
    let Reading {
        mut map,
        pool,
        t_start,
        scale,
    } = reading;
    if let Some(p) = &pool {
        (map.pool_x, map.pool_y) = parse_pool(p)?;
    }
    c.replay.map = map;
    c.replay.time = TimeMap::parse(t_start.as_deref(), scale.as_deref())?;
    Ok(c)
}

/// The event reading options of `eligo events`, as the data config gives them.
const READ_KEYS: &[&str] = &[
    "width",
    "height",
    "pool",
    "merge_polarity",
    "map_table",
    "t_start_us",
    "time_scale",
];

/// The reading options as given, before they are checked together.
#[derive(Default)]
struct Reading {
    map: MapSpec,
    pool: Option<String>,
    t_start: Option<String>,
    scale: Option<String>,
}

/// One of [`READ_KEYS`].
fn read_field(k: &str, v: &Value, dir: &Path, r: &mut Reading) -> Result<()> {
    match k {
        "width" | "height" => {
            let n = v
                .as_integer()
                .filter(|n| (1..=i64::from(u32::MAX)).contains(n))
                .ok_or_else(|| Error::input(k, v, "must be a positive whole number", ""))?
                as u32;
            match k {
                "width" => r.map.width = Some(n),
                _ => r.map.height = Some(n),
            }
        }
        "pool" => r.pool = Some(string(v, k)?.to_string()),
        "merge_polarity" => {
            r.map.merge_polarity = v
                .as_bool()
                .ok_or_else(|| Error::input(k, v, "must be true or false", ""))?
        }
        "map_table" => {
            let p = PathBuf::from(string(v, k)?);
            r.map.table = Some(read_table(&dir.join(p))?);
        }
        "t_start_us" => r.t_start = Some(string_or_int(v, k)?),
        "time_scale" => r.scale = Some(string_or_int(v, k)?),
        _ => unreachable!("READ_KEYS"),
    }
    Ok(())
}

fn string_or_int(v: &Value, key: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Integer(i) => Ok(i.to_string()),
        other => Err(Error::input(
            key,
            other,
            "must be a string or a whole number",
            "",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_fields() {
        let c = parse("", Path::new("")).unwrap();
        assert_eq!(c, DataConfig::default());
        let c = parse(
            "input = 'x'\nreadout = 'y'\nloss = 'mse'\nwindow_ms = [10, 20.5]\nduration_ms = 30\nvalidation = 0.25\ntest = 0\npool = '2x3'\ntime_scale = 1000",
            Path::new(""),
        )
        .unwrap();
        assert_eq!(c.input, "x");
        assert_eq!(c.readout.as_deref(), Some("y"));
        assert_eq!(c.loss, Some(LossKind::Mse));
        assert_eq!(c.window_ms, Some((10.0, 20.5)));
        assert_eq!(c.duration_ms, Some(30.0));
        assert_eq!((c.validation, c.test), (0.25, 0.0));
        assert_eq!((c.replay.map.pool_x, c.replay.map.pool_y), (2, 3));
        assert_eq!((c.replay.time.num, c.replay.time.den), (1000, 1));
    }

    #[test]
    fn bad_fields_are_named() {
        for (text, field) in [
            ("lose = 'ce'", "lose"),
            ("loss = 'bce'", "loss"),
            ("window_ms = [20, 10]", "window_ms"),
            ("window_ms = 3", "window_ms"),
            ("validation = 1.5", "validation"),
            ("validation = 0.6\ntest = 0.5", "validation"),
            ("duration_ms = -1", "duration_ms"),
            ("prefetch = -2", "prefetch"),
        ] {
            let e = parse(text, Path::new("")).unwrap_err();
            let Error::Input(i) = &e else {
                panic!("{text}: {e}")
            };
            assert_eq!(i.field, field, "{text}: {e}");
        }
    }
}
