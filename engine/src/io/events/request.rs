//! The reading, mapping and `info` options of an event file as a user gives them (the
//! command line's flags, the Python package's keyword arguments), turned into the options the
//! readers take, and `eligo events info`'s statistics as JSON, for every front end.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::replay::{self, ReplayOptions};
use super::{
    AedatChip, BinPolicy, Format, MapSpec, ReadOptions, TimeMap, dt_us, parse_pool, read_table,
    skipped_what, stats,
};
use crate::error::{Error, Result};

/// Event-file options as text, named as the command line's flags (docs/events.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requested {
    /// `--format`: npy, tonic, aedat, evt2, nmnist, shd (None: detected).
    pub format: Option<String>,
    /// `--aedat-chip`: raw or dvs128 (None: raw).
    pub aedat_chip: Option<String>,
    /// `--sample`: the SHD sample (None: 0).
    pub sample: Option<u64>,
    /// `--sort`: sort by time first.
    pub sort: bool,
    /// `--width`: sensor width, overriding the file's.
    pub width: Option<u32>,
    /// `--height`: sensor height, overriding the file's.
    pub height: Option<u32>,
    /// `--pool`: N or NxM.
    pub pool: Option<String>,
    /// `--merge-polarity`.
    pub merge_polarity: bool,
    /// `--map-table`: one neuron index per line.
    pub map_table: Option<PathBuf>,
    /// `--t-start-us`: µs or `first`.
    pub t_start_us: Option<String>,
    /// `--time-scale`: N or N/D.
    pub time_scale: Option<String>,
}

impl Requested {
    /// How to open the file.
    pub fn read_options(&self) -> Result<ReadOptions> {
        let aedat_chip = match self.aedat_chip.as_deref().unwrap_or("raw") {
            "raw" => AedatChip::Raw,
            "dvs128" => AedatChip::Dvs128,
            other => {
                return Err(Error::input(
                    "--aedat-chip",
                    format!("'{other}'"),
                    "allowed: raw, dvs128",
                    crate::error::did_you_mean(other, &["raw", "dvs128"]),
                ));
            }
        };
        Ok(ReadOptions {
            format: self.format.as_deref().map(Format::parse).transpose()?,
            aedat_chip,
            sample: self.sample,
            sort: self.sort,
        })
    }

    /// How to open the file and map its events to neurons and its times to the clock (the
    /// clip policy).
    pub fn replay_options(&self) -> Result<ReplayOptions> {
        let (pool_x, pool_y) = match &self.pool {
            Some(p) => parse_pool(p)?,
            None => (1, 1),
        };
        let table = match &self.map_table {
            Some(p) => Some(read_table(p)?),
            None => None,
        };
        Ok(ReplayOptions {
            read: self.read_options()?,
            map: MapSpec {
                width: self.width,
                height: self.height,
                pool_x,
                pool_y,
                merge_polarity: self.merge_polarity,
                table,
                keep_polarity: false,
            },
            time: TimeMap::parse(self.t_start_us.as_deref(), self.time_scale.as_deref())?,
            policy: BinPolicy::Clip,
        })
    }

    /// True if any option maps addresses or times (the file's events are then neuron indices
    /// on the simulation's clock, as `eligo events convert` writes them).
    pub fn maps(&self) -> bool {
        self.width.is_some()
            || self.height.is_some()
            || self.pool.is_some()
            || self.merge_polarity
            || self.map_table.is_some()
            || self.t_start_us.is_some()
            || self.time_scale.is_some()
    }
}

/// `eligo events info --json`: what [`stats`] finds in `file`, and with `dt_ms` the binning
/// to that step after the map; also the statistics themselves (for the text report).
pub fn info_json(
    file: &Path,
    opts: &ReplayOptions,
    dt_ms: Option<f64>,
) -> Result<(super::Stats, Value)> {
    let s = stats(file, &opts.read)?;
    let span_s = match (s.t_range, s.events) {
        (Some((lo, hi)), n) if n > 0 => (hi - lo) as f64 * 1e-6,
        _ => 0.0,
    };
    let rate = if span_s > 0.0 {
        s.events as f64 / span_s
    } else {
        0.0
    };
    // the file's own fields where it names them (.npy); else the fields each event decodes to
    let (fields, field_types): (Vec<&str>, Option<Vec<&str>>) = if s.info.fields.is_empty() {
        let mut f = vec!["t", "x"];
        if s.info.has_y {
            f.push("y");
        }
        if s.info.has_p {
            f.push("p");
        }
        (f, None)
    } else {
        let (n, t) = s
            .info
            .fields
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .unzip();
        (n, Some(t))
    };
    let mut out = json!({
        "file": file.display().to_string(),
        "format": s.info.format.name(),
        "format_name": s.info.format.to_string(),
        "fields": fields,
        "field_types": field_types,
        "width": s.info.width,
        "height": s.info.height,
        "declared_events": s.info.declared,
        "events": s.events,
        "t_first_us": s.t_first,
        "t_last_us": s.t_last,
        "t_min_us": s.t_range.map(|r| r.0),
        "t_max_us": s.t_range.map(|r| r.1),
        "span_s": span_s,
        "rate_hz": rate,
        "x_min": s.x_range.map(|r| r.0),
        "x_max": s.x_range.map(|r| r.1),
        "y_min": s.y_range.filter(|_| s.info.has_y).map(|r| r.0),
        "y_max": s.y_range.filter(|_| s.info.has_y).map(|r| r.1),
        "polarity": s.info.has_p.then(|| json!({"0": s.polarity[0], "1": s.polarity[1], "other": s.polarity[2]})),
        "backwards": s.backwards,
        "skipped_records": s.non_events,
        "skipped_what": skipped_what(s.info.format),
        "first_backwards_event": s.first_backwards,
        "header": s.info.notes.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>(),
    });
    if let Some(dt_ms) = dt_ms {
        let dt = dt_us(dt_ms)?;
        let sc = replay::scan(file, opts, dt, None)?;
        out["binning"] = json!({
            "dt_ms": dt_ms,
            "map": sc.map,
            "spikes": sc.spikes,
            "merged_by_clip": sc.merged,
            "skipped_before_start": sc.skipped,
            "steps_with_spikes": sc.steps,
            "first_step": sc.step_range.map(|r| r.0),
            "last_step": sc.step_range.map(|r| r.1),
            "max_index": sc.max_index,
        });
    }
    Ok((s, out))
}
