//! `eligo._eligo.simulate`: a whole run, as `eligo simulate` runs it, results held in memory.

use std::time::{Duration, Instant};

use eligo_engine::prelude::*;
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::network::Network;
use crate::{inputs, to_py};

/// Most steps per piece of a run (1 s of simulated time at 0.1 ms).
const CHUNK_STEPS: u64 = 10_000;

/// Steps of the first piece, before the pace of the network is known.
const FIRST_PIECE_STEPS: u64 = 100;

/// Wall time of a piece: Python's signal handlers (Ctrl-C) run between pieces, so a
/// KeyboardInterrupt comes within about this long (results do not depend on the cut).
const POLL_SECONDS: f64 = 0.025;

/// The next piece after `n` steps took `took`, to take about `poll_s` of wall time (as the
/// CLI's `simulate` cuts a run: results do not depend on the cut).
pub(crate) fn next_piece(n: u64, took: Duration, poll_s: f64) -> u64 {
    let per_step = took.as_secs_f64() / n as f64;
    if per_step <= 0.0 {
        return CHUNK_STEPS;
    }
    ((poll_s / per_step) as u64).clamp(1, CHUNK_STEPS)
}

/// Run `net` for `duration_ms` (None: the description's) on `threads` threads (None: every
/// core; more than the cores are capped, results are the same for any count), recording what
/// `record` names (None: the description's recorders; see [`inputs::record_spec`]), with
/// `inputs` (population name, `t` µs, `addr`) replayed as those populations' spikes.
///
/// Returns the dict of [`inputs::result`].
#[pyfunction]
#[pyo3(signature = (net, duration_ms=None, threads=None, record=None, inputs=Vec::new()))]
pub fn simulate<'py>(
    py: Python<'py>,
    net: &Network,
    duration_ms: Option<f64>,
    threads: Option<usize>,
    record: Option<Bound<'py, PyAny>>,
    inputs: Vec<(
        String,
        PyReadonlyArray1<'py, u64>,
        PyReadonlyArray1<'py, u32>,
    )>,
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
    let threads = inputs::threads(threads).map_err(err)?;
    let mut cfg = net.cfg.clone();
    cfg.steps = steps;
    let from_python = record.as_ref().is_some_and(|r| !r.is_none());
    cfg.record = inputs::record_spec(&net.net, &net.cfg, record.as_ref()).map_err(err)?;
    // the same bounds as the CLI's: memory of the network and the state recorders, whose
    // samples are all held here
    cfg.estimate(threads).map_err(in_file)?;
    inputs::check_memory(&cfg, threads, steps).map_err(in_file)?;
    let opts = SimOptions {
        threads,
        record: cfg.record.clone(),
    };
    let mut sim = Simulation::new(net.net.clone(), &opts)
        .map_err(|e| in_file(inputs::python_field(e, from_python)))?;
    for (pop, t, addr) in inputs {
        inputs::clamp(&mut sim, &pop, t, addr).map_err(err)?;
    }
    let mut rec = inputs::Recordings::new(&sim, &cfg.record.spikes);

    let t0 = Instant::now();
    sim.begin_sequence().map_err(err)?;
    let mut done = 0;
    let mut piece = FIRST_PIECE_STEPS;
    while done < steps {
        let n = piece.min(steps - done);
        let t_piece = Instant::now();
        py.detach(|| sim.run(n, None)).map_err(err)?;
        piece = next_piece(n, t_piece.elapsed(), POLL_SECONDS);
        done += n;
        for (t, g) in sim.take_spikes() {
            rec.push(t, g);
        }
        rec.take_samples(&mut sim);
        py.check_signals()?;
    }
    sim.end_sequence(steps).map_err(err)?;
    sim.end_batch_of_one(steps).map_err(err)?;
    let wall_s = t0.elapsed().as_secs_f64();
    inputs::result(py, &sim, &mut rec, true, threads, wall_s)
}
