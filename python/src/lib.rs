//! `eligo._eligo`: the compiled half of the Python package `eligo` (its Python half, in
//! `python/eligo`, wraps these functions into the documented API and is what users import).
//!
//! Everything here is a thin layer over the engine, the same calls the CLI makes: a network
//! description is read by `eligo_engine::io::config` and drawn by `NetworkSpec::build`, a run is
//! an `eligo_engine::sim::Simulation` cut into pieces between which Python's signal handlers
//! run (Ctrl-C), with the GIL released while a piece simulates. Engine input errors become
//! `eligo.InputError` (a `ValueError`) carrying the engine's message and its parts.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eligo_engine::io::config::{self, SimConfig};
use eligo_engine::prelude::*;
use numpy::{IntoPyArray, PyArray1, PyArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

create_exception!(
    _eligo,
    InputError,
    PyValueError,
    "Bad input (network description, argument): the message names the file, the field, the \
     value, what is allowed and what to try; the attributes file, field, value, allowed and \
     hint hold those parts (file is None for text or values given in code)."
);

/// An engine error as a Python exception: input errors as [`InputError`] with their parts as
/// attributes, anything else (a rule failed, an I/O error) as `RuntimeError`.
fn to_py(py: Python<'_>, e: Error) -> PyErr {
    match e {
        Error::Input(ie) => {
            let err = InputError::new_err(ie.to_string());
            let v = err.value(py);
            let file = ie.file.as_ref().map(|f| f.display().to_string());
            // setting attributes on a fresh exception instance cannot fail but for memory
            let _ = v.setattr("file", file);
            let _ = v.setattr("field", &ie.field);
            let _ = v.setattr("value", &ie.value);
            let _ = v.setattr("allowed", &ie.allowed);
            let _ = v.setattr("hint", &ie.hint);
            err
        }
        other => PyRuntimeError::new_err(other.to_string()),
    }
}

/// A network description, read and drawn (every random connection and initial value fixed by
/// its seed).
#[pyclass(module = "eligo._eligo", frozen)]
struct Network {
    cfg: SimConfig,
    net: eligo_engine::network::Network,
}

#[pymethods]
impl Network {
    /// Read a description from a file (`from_file`) or TOML text (`from_text`) and draw it.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let cfg = config::load(&path).map_err(|e| to_py(py, e))?;
        Network::build(py, cfg, Some(path))
    }

    /// See [`Network::from_file`].
    #[staticmethod]
    fn from_text(py: Python<'_>, text: &str) -> PyResult<Self> {
        let cfg = config::parse(text).map_err(|e| to_py(py, e))?;
        Network::build(py, cfg, None)
    }

    /// Time step (ms).
    #[getter]
    fn dt_ms(&self) -> f64 {
        self.net.dt_ms
    }

    /// The description's `duration_ms`, as a whole number of steps times `dt_ms`.
    #[getter]
    fn duration_ms(&self) -> f64 {
        self.cfg.steps as f64 * self.net.dt_ms
    }

    /// Steps of the description's `duration_ms`.
    #[getter]
    fn steps(&self) -> u64 {
        self.cfg.steps
    }

    /// Seed of every random draw.
    #[getter]
    fn seed(&self) -> u64 {
        self.net.seed
    }

    /// The file it was read from (None for text).
    #[getter]
    fn file(&self) -> Option<String> {
        self.cfg.file.as_ref().map(|f| f.display().to_string())
    }

    /// Populations in global-id order: (name, size, model, first global id).
    #[getter]
    fn populations(&self) -> Vec<(String, u32, &'static str, u32)> {
        self.net
            .populations
            .iter()
            .map(|p| (p.name.clone(), p.size, p.model.name(), p.start))
            .collect()
    }

    /// Projections: (name, from, to, synapses drawn).
    #[getter]
    fn projections(&self) -> Vec<(String, String, String, usize)> {
        let pops = &self.net.populations;
        self.net
            .projections
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    pops[p.pre].name.clone(),
                    pops[p.post].name.clone(),
                    p.len(),
                )
            })
            .collect()
    }

    /// Names of the populations whose spikes the description records.
    #[getter]
    fn recorded(&self) -> Vec<String> {
        self.cfg
            .record
            .spikes
            .iter()
            .map(|&p| self.net.populations[p].name.clone())
            .collect()
    }
}

impl Network {
    fn build(py: Python<'_>, cfg: SimConfig, file: Option<PathBuf>) -> PyResult<Self> {
        let in_file = |e: Error| match &file {
            Some(f) => e.in_file(f),
            None => e,
        };
        if let Some(r) = cfg.rules.first() {
            return Err(to_py(
                py,
                in_file(Error::input(
                    &r.at,
                    &r.rule,
                    "a network without [[rule]] tables: learning rules are not available \
                     from Python yet",
                    "run it with `eligo simulate`, or remove the [[rule]] tables",
                )),
            ));
        }
        let spec = cfg.network.clone();
        let net = py
            .detach(|| spec.build())
            .map_err(|e| to_py(py, in_file(e)))?;
        Ok(Network { cfg, net })
    }
}

/// Most steps per piece of a run (1 s of simulated time at 0.1 ms).
const CHUNK_STEPS: u64 = 10_000;

/// Steps of the first piece, before the pace of the network is known.
const FIRST_PIECE_STEPS: u64 = 100;

/// Wall time of a piece: Python's signal handlers (Ctrl-C) run between pieces.
const POLL_SECONDS: f64 = 0.1;

/// The next piece after `n` steps took `took` (as the CLI's `simulate` cuts a run: results
/// do not depend on the cut).
fn next_piece(n: u64, took: Duration) -> u64 {
    let per_step = took.as_secs_f64() / n as f64;
    if per_step <= 0.0 {
        return CHUNK_STEPS;
    }
    ((POLL_SECONDS / per_step) as u64).clamp(1, CHUNK_STEPS)
}

/// Packed records of `eligo simulate`'s `spikes_<pop>.npy`: `t` (`<u8`, µs), `addr` (`<u4`).
const SPIKE_RECORD_BYTES: usize = 12;

/// Run `net` for `duration_ms` (None: the description's) on `threads` threads (None: every
/// core; more than the cores are capped, results are the same for any count).
///
/// Returns a dict: `spikes` (population name -> bytes-like uint8 array of packed
/// `(t, addr)` records, for the recorded populations), `state` (`(population, variable)` ->
/// float32 array `steps x neurons`), `counters` (`steps`, `events`, `spikes` per population),
/// `rates_hz` (mean rate of every spiking population), `threads`, `wall_s`.
#[pyfunction]
#[pyo3(signature = (net, duration_ms=None, threads=None))]
fn simulate<'py>(
    py: Python<'py>,
    net: &Network,
    duration_ms: Option<f64>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let err = |e: Error| to_py(py, e);
    let in_file = |e: Error| match &net.cfg.file {
        Some(f) => err(e.in_file(f)),
        None => err(e),
    };
    let steps = match duration_ms {
        None => net.cfg.steps,
        Some(d) => eligo_engine::neuron::steps_of(d, net.net.dt_ms)
            .map_err(|e| err(e.under("duration_ms")))?,
    };
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
    let mut cfg = net.cfg.clone();
    cfg.steps = steps;
    // the same bounds as the CLI's: memory of the network and the state recorders
    cfg.estimate(threads).map_err(in_file)?;
    let opts = SimOptions {
        threads,
        record: cfg.record.clone(),
    };
    let mut sim = Simulation::new(net.net.clone(), &opts).map_err(in_file)?;
    let n_pops = sim.network().populations.len();
    let starts: Vec<u32> = sim.network().populations.iter().map(|p| p.start).collect();
    let dt_us = sim.network().dt_ms * 1000.0;
    let mut spikes: Vec<Option<Vec<u8>>> = vec![None; n_pops];
    for &p in &cfg.record.spikes {
        spikes[p] = Some(Vec::new());
    }
    let mut state: Vec<Vec<f32>> = vec![Vec::new(); sim.probes().len()];

    let t0 = Instant::now();
    sim.begin_sequence().map_err(err)?;
    let mut done = 0;
    let mut piece = FIRST_PIECE_STEPS;
    while done < steps {
        let n = piece.min(steps - done);
        let t_piece = Instant::now();
        py.detach(|| sim.run(n, None)).map_err(err)?;
        piece = next_piece(n, t_piece.elapsed());
        done += n;
        for (t, g) in sim.take_spikes() {
            let p = starts.partition_point(|&s| s <= g) - 1;
            if let Some(buf) = &mut spikes[p] {
                // the CLI's conversion (SpikeWriters::write), so the times are its bits
                let t_us = (t as f64 * dt_us).round() as u64;
                buf.extend_from_slice(&t_us.to_le_bytes());
                buf.extend_from_slice(&(g - starts[p]).to_le_bytes());
            }
        }
        for (acc, rows) in state.iter_mut().zip(sim.take_probe_samples()) {
            acc.extend_from_slice(&rows);
        }
        py.check_signals()?;
    }
    sim.end_sequence(steps).map_err(err)?;
    sim.end_batch_of_one(steps).map_err(err)?;
    let wall_s = t0.elapsed().as_secs_f64();

    let netw = sim.network();
    let out = PyDict::new(py);
    let spike_dict = PyDict::new(py);
    for (p, buf) in spikes.into_iter().enumerate() {
        if let Some(buf) = buf {
            debug_assert_eq!(buf.len() % SPIKE_RECORD_BYTES, 0);
            spike_dict.set_item(&netw.populations[p].name, buf.into_pyarray(py))?;
        }
    }
    out.set_item("spikes", spike_dict)?;
    let state_dict = PyDict::new(py);
    for (probe, rows) in sim.probes().iter().zip(state) {
        let cols = probe.neurons.len();
        let arr: Bound<'_, PyArray1<f32>> = rows.into_pyarray(py);
        let arr = arr.reshape([done as usize, cols])?;
        let key = (netw.populations[probe.population].name.clone(), &probe.var);
        state_dict.set_item(key, arr)?;
    }
    out.set_item("state", state_dict)?;
    let c = sim.counters();
    let counters = PyDict::new(py);
    counters.set_item("steps", c.steps)?;
    counters.set_item("events", c.events)?;
    let per_pop = PyDict::new(py);
    let rates = PyDict::new(py);
    let seconds = c.steps as f64 * netw.dt_ms * 1e-3;
    for (p, &n) in netw.populations.iter().zip(&c.spikes) {
        per_pop.set_item(&p.name, n)?;
        if !matches!(p.model, ModelSpec::Readout(_)) {
            rates.set_item(&p.name, n as f64 / f64::from(p.size) / seconds)?;
        }
    }
    counters.set_item("spikes", per_pop)?;
    out.set_item("counters", counters)?;
    out.set_item("rates_hz", rates)?;
    out.set_item("threads", threads)?;
    out.set_item("wall_s", wall_s)?;
    Ok(out)
}

/// The compiled module.
#[pymodule]
fn _eligo(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InputError", m.py().get_type::<InputError>())?;
    m.add_class::<Network>()?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
