//! `eligo._eligo.events_*`: event files read, written and described by the engine's
//! `io::events` (what `eligo events info|convert` and the replay flags use).

use std::path::PathBuf;

use eligo_engine::io::events::{self, AeEvent, EventReader, Format, Requested};
use eligo_engine::prelude::*;
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::to_py;

/// The options of `eligo events` as keyword arguments (see `eligo.events.read`).
#[derive(FromPyObject, Default)]
#[pyo3(from_item_all)]
pub struct Options {
    format: Option<String>,
    aedat_chip: Option<String>,
    sample: Option<u64>,
    sort: bool,
    width: Option<u32>,
    height: Option<u32>,
    pool: Option<String>,
    merge_polarity: bool,
    map_table: Option<PathBuf>,
    t_start_us: Option<String>,
    time_scale: Option<String>,
}

impl Options {
    fn request(self) -> Requested {
        Requested {
            format: self.format,
            aedat_chip: self.aedat_chip,
            sample: self.sample,
            sort: self.sort,
            width: self.width,
            height: self.height,
            pool: self.pool,
            merge_polarity: self.merge_polarity,
            map_table: self.map_table,
            t_start_us: self.t_start_us,
            time_scale: self.time_scale,
        }
    }
}

/// Bytes of a packed record: `t <u8, x <u4` (1-D), `+ p |u1` (polarity), `t, x, y <u2, p`
/// (2-D).
fn record(e: &AeEvent, y: bool, p: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(&e.t.to_le_bytes());
    out.extend_from_slice(&e.x.to_le_bytes());
    if y {
        out.extend_from_slice(&e.y.to_le_bytes());
    }
    if p {
        out.push(e.p);
    }
}

/// Read `path` with `opts`. Without a map option, the events as the file holds them:
/// `(records, "1d" | "1d_p" | "2d")`, records packed `t, addr[, p]` or `t, x, y, p`; with
/// one, what `eligo events convert` writes (`t, addr[, p]`, "1d" or "1d_p").
#[pyfunction]
pub fn events_read<'py>(
    py: Python<'py>,
    path: PathBuf,
    opts: Options,
    mapped: bool,
) -> PyResult<(Bound<'py, PyAny>, &'static str)> {
    let err = |e: Error| to_py(py, e);
    let req = opts.request();
    let map = mapped || req.maps();
    let (bytes, layout) = py
        .detach(|| -> eligo_engine::Result<(Vec<u8>, &'static str)> {
            let (events, y, p) = if map {
                let (ev, c) = events::read_mapped(&path, &req.replay_options()?)?;
                (ev, false, c.with_p)
            } else {
                // events::read_all's loop, keeping the stream's description
                let ro = req.read_options()?;
                let mut r = events::Checked::new(events::open(&path, &ro)?, &path);
                let info = r.info().clone();
                let (mut all, mut chunk) = (Vec::new(), Vec::new());
                while r.next_chunk(&mut chunk)? {
                    all.extend_from_slice(&chunk);
                }
                (all, info.has_y, info.has_p || info.has_y)
            };
            let size = 12 + if y { 2 } else { 0 } + usize::from(p);
            let mut out = Vec::with_capacity(events.len() * size);
            for e in &events {
                record(e, y, p, &mut out);
            }
            let layout = match (y, p) {
                (true, _) => "2d",
                (false, true) => "1d_p",
                (false, false) => "1d",
            };
            Ok((out, layout))
        })
        .map_err(err)?;
    Ok((bytes.into_pyarray(py).into_any(), layout))
}

/// Write 1-D events (`t` µs, `addr`, optional `p`) to `path`: Eligo `.npy` or AEDAT 2.0
/// (`to`, else the extension). Returns the events written.
#[pyfunction]
#[pyo3(signature = (path, t, addr, p=None, to=None))]
pub fn events_write(
    py: Python<'_>,
    path: PathBuf,
    t: PyReadonlyArray1<'_, u64>,
    addr: PyReadonlyArray1<'_, u32>,
    p: Option<PyReadonlyArray1<'_, u8>>,
    to: Option<String>,
) -> PyResult<u64> {
    let err = |e: Error| to_py(py, e);
    let (t, addr) = (t.as_slice()?, addr.as_slice()?);
    let p = p.as_ref().map(|p| p.as_slice()).transpose()?;
    let events: Vec<AeEvent> = (0..t.len())
        .map(|k| AeEvent {
            t: t[k],
            x: addr[k],
            y: 0,
            p: p.map_or(0, |p| p[k]),
        })
        .collect();
    let to = to.as_deref().map(Format::parse).transpose().map_err(err)?;
    py.detach(|| events::write_events(&path, &events, p.is_some(), to))
        .map_err(err)
}

/// `eligo events info --json` for `path` (with `dt_ms`: the binning too), as JSON text.
#[pyfunction]
#[pyo3(signature = (path, opts, dt_ms=None))]
pub fn events_info(
    py: Python<'_>,
    path: PathBuf,
    opts: Options,
    dt_ms: Option<f64>,
) -> PyResult<String> {
    let err = |e: Error| to_py(py, e);
    let req = opts.request();
    let (_, json) = py
        .detach(|| events::info_json(&path, &req.replay_options()?, dt_ms))
        .map_err(err)?;
    Ok(json.to_string())
}
