//! `eligo._eligo.train`: a training run exactly as `eligo train` builds it (the engine's
//! `RunSpec`, `TrainingRun` and `Schedule`), its iterations run with the GIL released; after
//! each, a Python callable gets the iteration's `metrics.jsonl` line and Python's signal
//! handlers run (Ctrl-C, also every 0.05 s of the final test), either of which can stop the run
//! the way the CLI stops on a signal: the iteration under way finishes (or the final test is
//! left for a resume) and a checkpoint is written.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use eligo_engine::io::npz::Out;
use eligo_engine::prelude::*;
use eligo_engine::task::Split;
use eligo_engine::train::{
    ClampChoice, DataChoice, Ending, Iteration, Observer, Outcome, RuleChoice, RunSpec, Schedule,
    TrainingRun,
};
use numpy::{IntoPyArray, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::network::Network;
use crate::to_py;

/// The observer of a run from Python: calls `on_iteration(line)` after every iteration (it
/// returns whether to go on) and runs Python's signal handlers before and after every one
/// (also of a closed-loop run, `agent.rs`).
pub(crate) struct Watch {
    on_iteration: Py<PyAny>,
    /// What stopped the run from Python: the callback's exception or a signal handler's
    /// (KeyboardInterrupt), raised once the run has written its checkpoint.
    pub(crate) error: Option<PyErr>,
    /// The callback returned false.
    stop: bool,
}

impl Watch {
    pub(crate) fn new(on_iteration: Py<PyAny>) -> Self {
        Watch {
            on_iteration,
            error: None,
            stop: false,
        }
    }

    fn stopping(&self) -> bool {
        self.stop || self.error.is_some()
    }

    /// Hand an iteration's `metrics.jsonl` line to the callback, then run the signal handlers.
    pub(crate) fn report(&mut self, line: String) {
        if self.stopping() {
            return;
        }
        Python::attach(|py| {
            match self
                .on_iteration
                .call1(py, (line,))
                .and_then(|r| r.extract::<bool>(py))
            {
                Ok(go_on) => self.stop = !go_on,
                Err(e) => self.error = Some(e),
            }
            if let (None, Err(e)) = (&self.error, py.check_signals()) {
                self.error = Some(e);
            }
        });
    }

    /// Run the signal handlers; whether the run is to stop.
    pub(crate) fn poll(&mut self) -> bool {
        if !self.stopping() {
            Python::attach(|py| {
                if let Err(e) = py.check_signals() {
                    self.error = Some(e);
                }
            });
        }
        self.stopping()
    }
}

impl Observer for Watch {
    fn on_iteration(&mut self, it: &Iteration) {
        self.report(it.json());
    }

    fn stop_requested(&mut self) -> bool {
        self.poll()
    }
}

/// A finished (or stopped) training run: the trainer with its trained weights, and what the
/// run returned.
#[pyclass(module = "eligo._eligo")]
pub struct TrainRun {
    /// A Python object may be shared between threads, a run cannot: the lock makes it `Sync`
    /// (uncontended: the GIL already serializes the calls).
    run: Mutex<TrainingRun>,
    outcome: Outcome,
    /// Settings that differed from the resumed checkpoint's, accepted by `resume_override`.
    overridden: Vec<String>,
    error: Option<PyErr>,
}

/// Run `eligo train` with these settings (the CLI's flags, as `eligo.train` documents them),
/// writing into `out` (which must exist; with `resume`, the run to continue). `on_iteration`
/// gets each iteration's `metrics.jsonl` line and returns whether to go on.
#[pyfunction]
#[pyo3(signature = (*, task, net, data, data_config, epochs, clamp_events, rule, rule_config,
    params, feedback, mode, plugin_dir, out, resume, resume_override, iterations, batch, lr,
    threads, seed, scale, checkpoint_every, early_stop, on_iteration))]
#[allow(clippy::too_many_arguments)]
pub fn train(
    py: Python<'_>,
    task: String,
    net: Option<PathBuf>,
    data: Option<PathBuf>,
    data_config: Option<PathBuf>,
    epochs: Option<u64>,
    clamp_events: Vec<(PathBuf, String)>,
    rule: Vec<String>,
    rule_config: Vec<PathBuf>,
    params: Vec<String>,
    feedback: Option<String>,
    mode: Option<String>,
    plugin_dir: Vec<PathBuf>,
    out: PathBuf,
    resume: bool,
    resume_override: Vec<String>,
    iterations: Option<u64>,
    batch: Option<usize>,
    lr: Option<f64>,
    threads: Option<usize>,
    seed: u64,
    scale: f64,
    checkpoint_every: u64,
    early_stop: bool,
    on_iteration: Py<PyAny>,
) -> PyResult<TrainRun> {
    let err = |e: Error| to_py(py, e);
    let params =
        eligo_engine::train::setup::train_params(&params, feedback.as_deref(), mode.as_deref())
            .map_err(err)?;
    eligo_engine::train::rules::check_config_count(&rule, &rule_config).map_err(err)?;
    let Some(first) = rule.first() else {
        return Err(err(Error::input(
            "rule",
            "[]",
            "name at least one rule",
            "leave it out for e-prop (\"eprop\")",
        )));
    };
    let config = |k: usize| rule_config.get(k).cloned();
    let spec = RunSpec {
        task,
        scale,
        seed,
        rule: first.clone(),
        plugin_dirs: plugin_dir,
        params,
        rule_config: config(0),
        batch,
        lr,
        threads: eligo_engine::limits::threads("threads", threads).map_err(err)?,
        more_rules: (1..rule.len())
            .map(|k| RuleChoice {
                rule: rule[k].clone(),
                rule_config: config(k),
            })
            .collect(),
        data: net.map(|net| DataChoice {
            net,
            data: data.unwrap_or_default(),
            config: data_config,
        }),
        clamps: clamp_events
            .into_iter()
            .map(|(file, population)| ClampChoice { file, population })
            .collect(),
    };
    let (tr, settings, _) = py.detach(|| spec.build()).map_err(err)?;
    let schedule = Schedule {
        iterations: Schedule::iterations_for(&tr, iterations, epochs),
        checkpoint_every,
        early_stop,
    };
    let (mut run, overridden) = match resume {
        true => py
            .detach(|| TrainingRun::resume(tr, &out, settings, &resume_override))
            .map_err(err)?,
        false => (TrainingRun::new(tr, &out, settings), Vec::new()),
    };
    let mut watch = Watch::new(on_iteration);
    let outcome = py.detach(|| run.run(&schedule, &mut watch)).map_err(err)?;
    Ok(TrainRun {
        run: Mutex::new(run),
        outcome,
        overridden,
        error: watch.error,
    })
}

impl TrainRun {
    fn run(&self) -> MutexGuard<'_, TrainingRun> {
        // a panic while the lock was held leaves nothing half-changed that these readers see
        self.run.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl TrainRun {
    /// The exception that stopped the run from Python (the callback's, or KeyboardInterrupt),
    /// once; None if there was none.
    fn take_error(&mut self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.error.take().map(|e| e.into_value(py).into_any())
    }

    /// Why the run ended: ("finished" | "stopped_early" | "interrupted", the iteration it
    /// ended at).
    #[getter]
    fn ending(&self) -> (&'static str, u64) {
        match self.outcome.ending {
            Ending::Finished => ("finished", self.outcome.iterations),
            Ending::StoppedEarly(it) => ("stopped_early", it),
            Ending::Interrupted(it) => ("interrupted", it),
        }
    }

    /// The settings `resume_override` let differ from the checkpoint's.
    #[getter]
    fn overridden(&self) -> Vec<String> {
        self.overridden.clone()
    }

    /// `summary.json`'s keys that the run decides (JSON text; no wall time, plots or rates).
    fn summary(&self) -> String {
        self.run().summary(&self.outcome).to_string()
    }

    /// The `metrics.jsonl` lines of every iteration done (resumed ones included).
    fn history(&self) -> Vec<String> {
        self.run().history().to_vec()
    }

    /// The `epochs.jsonl` lines (a data set's run; empty for a built-in task).
    fn epochs(&self) -> Vec<String> {
        self.run().epochs()
    }

    /// The trained network (weights as trained; the readout biases, which the trainer keeps
    /// apart, are in `weights()`).
    fn network(&self) -> Network {
        let run = self.run();
        let tr = run.trainer();
        Network::trained(
            tr.task().network(tr.config().seed),
            tr.task().steps(),
            tr.network().clone(),
        )
    }

    /// The arrays of `weights.npz` (`P/indptr`, `P/indices`, `P/data` per projection, CSR by
    /// presynaptic neuron; `R/bias` per readout) as NumPy arrays the engine hands over.
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let run = self.run();
        let tr = run.trainer();
        weights_dict(py, tr.network(), tr.biases())
    }

    /// Run sample `index` of `split` ("train", "validation", "test") once with the trained
    /// weights, no learning, as `eligo train` does for its plots. Returns a dict: `spikes`
    /// (population -> packed `(t µs, addr)` records as uint8, the input and recurrent
    /// populations), `y` (float32 `steps x outputs`, the readout), `targets` (the same shape,
    /// regression; else empty), `label` (classification; else None), `steps`, `dt_ms`.
    fn sample<'py>(
        &mut self,
        py: Python<'py>,
        split: &str,
        index: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let split = match split {
            "train" => Split::Train,
            "validation" => Split::Validation,
            "test" => Split::Test,
            other => {
                return Err(to_py(
                    py,
                    Error::input(
                        "split",
                        other,
                        "one of train, validation, test",
                        "e.g. split=\"test\"",
                    ),
                ));
            }
        };
        let run = self.run.get_mut().unwrap_or_else(|p| p.into_inner());
        let tr = run.trainer_mut();
        let rec = py
            .detach(|| tr.record_sample(split, index))
            .map_err(|e| to_py(py, e))?;
        let tr = run.trainer();
        let net = tr.network();
        let (input, recurrent) = tr.sample_populations();
        let dt_us = net.dt_ms * 1000.0;
        let packed = |spikes: &[(u64, u32)]| {
            let mut buf = Vec::with_capacity(12 * spikes.len());
            for &(t, addr) in spikes {
                // simulate's conversion, so the times are its bits
                let t_us = (t as f64 * dt_us).round() as u64;
                buf.extend_from_slice(&t_us.to_le_bytes());
                buf.extend_from_slice(&addr.to_le_bytes());
            }
            buf.into_pyarray(py)
        };
        let spikes = PyDict::new(py);
        spikes.set_item(&net.populations[input].name, packed(&rec.input))?;
        for (&p, s) in recurrent.iter().zip(&rec.rec) {
            spikes.set_item(&net.populations[p].name, packed(s))?;
        }
        let d = PyDict::new(py);
        d.set_item("spikes", spikes)?;
        let shape = [rec.steps as usize, rec.n_out];
        d.set_item("y", rec.y.into_pyarray(py).reshape(shape)?)?;
        let targets = match rec.targets.is_empty() {
            true => rec.targets.into_pyarray(py).into_any(),
            false => rec.targets.into_pyarray(py).reshape(shape)?.into_any(),
        };
        d.set_item("targets", targets)?;
        d.set_item("label", rec.label)?;
        d.set_item("steps", rec.steps)?;
        d.set_item("dt_ms", net.dt_ms)?;
        Ok(d)
    }
}

/// The arrays of `weights.npz` of `net` with the readout biases `biases`, as NumPy arrays.
pub(crate) fn weights_dict<'py>(
    py: Python<'py>,
    net: &eligo_engine::network::Network,
    biases: &[f32],
) -> PyResult<Bound<'py, PyDict>> {
    let mut all = vec![Vec::new(); net.populations.len()];
    if let Some(r) = net.readout() {
        all[r] = biases.to_vec();
    }
    let d = PyDict::new(py);
    for (k, a) in eligo_engine::io::weights::arrays(net, &all, "") {
        match a {
            Out::F32(_, v) => d.set_item(k, v.into_pyarray(py))?,
            Out::U32(_, v) => d.set_item(k, v.into_pyarray(py))?,
            Out::U64(_, v) => d.set_item(k, v.into_pyarray(py))?,
            Out::F64(_, v) => d.set_item(k, v.into_pyarray(py))?,
        }
    }
    Ok(d)
}
