//! `eligo._eligo.grad`: the gradients of one batch, as `eligo grad` computes them (the
//! engine's `train::grad`), the arrays of its `.npz` returned instead of written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eligo_engine::io::npy::Event;
use eligo_engine::io::npz::{self, Out};
use eligo_engine::io::weights;
use eligo_engine::prelude::*;
use eligo_engine::train::grad as gradients;
use eligo_engine::train::rules::{self, RuleRequest};
use numpy::{IntoPyArray, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::network::Network;
use crate::to_py;

/// One sequence's input spikes: `t` (µs) and `addr`, contiguous.
type Spikes<'py> = (PyReadonlyArray1<'py, u64>, PyReadonlyArray1<'py, u32>);

/// Regression targets: shape and row-major float32 values.
type Values<'py> = (Vec<u64>, PyReadonlyArray1<'py, f32>);

/// The gradients of `rule` on `net` over `inputs` (one `(t, addr)` pair per sequence), each
/// with its target (`targets[k]`, else `classes[k]`, else none: an error). `batch`: compute
/// the sequences as one training batch (`--batch-inputs`), else the one sequence alone with
/// its spikes and errors (`--input`). `weights`: the bytes of an `.npz` (numpy.savez) in the
/// layout of `eligo grad --weights`. `modulator`: (name, shape, float32 values) triples.
///
/// Returns `(arrays, loss)`: name -> NumPy array, the members of `eligo grad`'s `.npz`.
#[pyfunction]
#[pyo3(signature = (net, inputs, batch, targets, classes, window_ms=None, rule=vec![],
    rule_config=vec![], plugin_dir=vec![], param=vec![], modulator=vec![], weights=None,
    feedback_matrix=None, input_population=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn grad<'py>(
    py: Python<'py>,
    net: &Network,
    inputs: Vec<Spikes<'py>>,
    batch: bool,
    targets: Vec<Option<Values<'py>>>,
    classes: Vec<Option<usize>>,
    window_ms: Option<String>,
    rule: Vec<String>,
    rule_config: Vec<PathBuf>,
    plugin_dir: Vec<PathBuf>,
    param: Vec<String>,
    modulator: Vec<(String, Vec<u64>, PyReadonlyArray1<'py, f32>)>,
    weights: Option<Vec<u8>>,
    feedback_matrix: Option<PathBuf>,
    input_population: Option<String>,
    threads: Option<usize>,
) -> PyResult<(Bound<'py, PyDict>, f64)> {
    let err = |e: Error| to_py(py, e);
    let file = net.cfg.file.as_deref();
    let steps = net.cfg.steps;
    let mut netw = net.net.clone();
    let mut biases = weights::default_biases(&netw);
    if let Some(bytes) = weights {
        let label = Path::new("weights");
        let zip = npz::Archive::new(std::io::Cursor::new(bytes), label).map_err(err)?;
        weights::load_from(zip, label, &mut netw, &mut biases).map_err(err)?;
    }
    let readout = gradients::readout(&netw, file).map_err(err)?;
    let n_out = netw.populations[readout].size as usize;
    let input_pop =
        gradients::input_population(&netw, input_population.as_deref(), file).map_err(err)?;
    if inputs.is_empty() || inputs.len() > gradients::MAX_SEQUENCES {
        return Err(err(Error::input(
            "inputs",
            format!("{} sequences", inputs.len()),
            format!("a batch holds 1 to {} sequences", gradients::MAX_SEQUENCES),
            "give one structured spike array (t, addr) or a list of them",
        )));
    }
    let mut binned = Vec::with_capacity(inputs.len());
    for (k, (t, addr)) in inputs.iter().enumerate() {
        let (t, addr) = (t.as_slice()?, addr.as_slice()?);
        let events: Vec<Event> = t
            .iter()
            .zip(addr)
            .map(|(&t, &addr)| Event { t, addr })
            .collect();
        let at = format!("inputs[{k}]");
        let b = gradients::bin_input(&events, None, &netw, input_pop, steps)
            .map_err(|e| err(e.under(&at)))?;
        binned.push(b);
    }
    let window = window_ms
        .as_deref()
        .map(|w| gradients::parse_window(w, netw.dt_ms, steps))
        .transpose()
        .map_err(err)?;
    let mut losses = Vec::with_capacity(binned.len());
    for k in 0..binned.len() {
        let target = match (targets.get(k).and_then(Option::as_ref), classes.get(k)) {
            (Some((shape, values)), _) => Some(gradients::Target::Values {
                shape: shape.clone(),
                values: values.as_slice()?.to_vec(),
                file: None,
            }),
            (None, Some(&Some(c))) => Some(gradients::Target::Class(c)),
            _ => None,
        };
        losses.push(gradients::loss(target.as_ref(), window, steps, n_out).map_err(err)?);
    }
    let mut series = Vec::with_capacity(modulator.len());
    for (name, shape, values) in &modulator {
        let values = values.as_slice()?.to_vec();
        let source = format!("modulators['{name}']");
        rules::check_modulator(&source, shape, &values, steps).map_err(err)?;
        series.push((name.clone(), values));
    }
    let req = RuleRequest {
        rule,
        rule_config,
        plugin_dir,
        param,
        modulator: series,
    };
    let mut chosen = gradients::choose_rules(&req, &net.cfg.rules, file).map_err(err)?;
    if let Some(b) = &feedback_matrix {
        gradients::use_feedback_matrix(b, &netw, readout, &mut chosen).map_err(err)?;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = match threads {
        None => cores,
        Some(0) => {
            return Err(err(Error::input(
                "threads",
                0,
                format!("must be between 1 and the {cores} cores of this machine"),
                "leave it out (None) to use every core",
            )));
        }
        Some(n) => n.min(cores),
    };
    let run = gradients::Run {
        spec: &net.cfg.network,
        net: netw,
        biases,
        steps,
        input: input_pop,
        readout,
        req: &req,
        chosen,
        batch,
        threads: if batch { threads } else { 1 },
    };
    let sequences: Vec<_> = binned.into_iter().zip(losses).collect();
    // Python's signal handlers (Ctrl-C) run between pieces of a one-sequence run
    let mut interrupt: Option<PyErr> = None;
    let res = py.detach(|| {
        gradients::run_with(run, sequences, &mut || {
            Python::attach(|py| py.check_signals()).map_err(|e| {
                interrupt = Some(e);
                Error::input("", "", "interrupted", "")
            })
        })
    });
    if let Some(e) = interrupt {
        return Err(e);
    }
    let out = res.map_err(err)?;
    Ok((arrays(py, out.arrays)?, out.loss))
}

/// The named arrays as NumPy arrays, each taking over the engine's buffer (no copy).
fn arrays<'py>(py: Python<'py>, arrays: BTreeMap<String, Out>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, a) in arrays {
        let item = match a {
            Out::F32(s, v) => shaped(v.into_pyarray(py), &s)?,
            Out::U32(s, v) => shaped(v.into_pyarray(py), &s)?,
            Out::U64(s, v) => shaped(v.into_pyarray(py), &s)?,
            Out::F64(s, v) => shaped(v.into_pyarray(py), &s)?,
        };
        d.set_item(name, item)?;
    }
    Ok(d)
}

/// `a` reshaped to `shape` (a view of the same buffer).
fn shaped<'py, T: numpy::Element>(
    a: Bound<'py, numpy::PyArray1<T>>,
    shape: &[u64],
) -> PyResult<Bound<'py, PyAny>> {
    if shape.len() == 1 {
        return Ok(a.into_any());
    }
    let dims: Vec<usize> = shape.iter().map(|&n| n as usize).collect();
    Ok(a.reshape(dims)?.into_any())
}
