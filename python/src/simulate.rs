//! `eligo._eligo.simulate`: a whole run, as `eligo simulate` runs it, results held in memory.

use std::time::{Duration, Instant};

use eligo_engine::prelude::*;
use numpy::{IntoPyArray, PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::network::Network;
use crate::to_py;

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
pub fn simulate<'py>(
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
