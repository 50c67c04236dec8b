//! `eligo._eligo.train_agent`: a closed-loop, reward-based training run exactly as `eligo train
//! --reward` builds and runs it (the engine's `AgentSpec`, `AgentRun`, `AgentSchedule`), on a
//! built-in environment or on Gymnasium environments made by a Python factory (`gym_env.rs`).
//! Iterations run with the GIL released (the environments take it for their calls); after
//! each, a Python callable gets the iteration's `metrics.jsonl` line and Python's signal
//! handlers run (Ctrl-C), either of which stops the run with a checkpoint, as the CLI on a
//! signal (`train.rs`'s `Watch`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use eligo_engine::env::Env;
use eligo_engine::env::encode::{Encoder, PopulationCode, RateCode};
use eligo_engine::prelude::*;
use eligo_engine::train::agent::AgentTrainer;
use eligo_engine::train::agent_run::{
    AgentEnding, AgentIteration, AgentObserver, AgentOutcome, AgentRun, AgentSchedule,
};
use eligo_engine::train::agent_setup::AgentSpec;
use eligo_engine::train::setup::{ParamSetting, train_params};
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::gym_env::{GymEnv, GymShape, PyErrSlot};
use crate::to_py;
use crate::train::{Watch, weights_dict};

impl AgentObserver for Watch {
    fn on_iteration(&mut self, it: &AgentIteration) {
        self.report(it.json());
    }

    fn stop_requested(&mut self) -> bool {
        self.poll()
    }
}

/// The Gymnasium side of a run: the factory of each lane's environment and how it is coded.
/// (`ranges`: one `(lo, hi)` per observation value; `encoding`: "population" or "rate".)
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub struct GymSpec {
    factory: Py<PyAny>,
    flatten: Py<PyAny>,
    name: String,
    ranges: Vec<(f64, f64)>,
    encoding: String,
    neurons: usize,
    rate_hz: f64,
    actions: usize,
    start: i64,
    hidden: u32,
}

/// A finished (or stopped) closed-loop run.
#[pyclass(module = "eligo._eligo")]
pub struct AgentTrainRun {
    /// Lock for `Sync` (uncontended: the GIL serializes the calls).
    run: Mutex<AgentRun>,
    outcome: AgentOutcome,
    overridden: Vec<String>,
    error: Option<PyErr>,
}

fn encoder(py: Python<'_>, g: &GymSpec) -> PyResult<Encoder> {
    let dt_ms = 1.0;
    let code = match g.encoding.as_str() {
        "population" => {
            PopulationCode::new(&g.ranges, g.neurons, g.rate_hz, dt_ms).map(Encoder::Population)
        }
        "rate" => RateCode::new(&g.ranges, g.rate_hz, dt_ms).map(Encoder::Rate),
        other => Err(Error::input(
            "encoding",
            other,
            "\"population\" (Gaussian tuning curves, `neurons` per value) or \"rate\" (one input per value, rate linear in it)",
            "population for a few values (CartPole), rate for many (pixels)",
        )),
    };
    code.map_err(|e| to_py(py, e))
}

/// Run `eligo train --reward` with these settings (as `eligo.train_agent` documents them) on
/// `builtin` (an engine environment's name) or on `gym`'s environments, writing into `out`.
#[pyfunction]
#[pyo3(signature = (*, builtin, gym, scale, rule, rule_config, params, feedback, mode, form,
    gamma, plugin_dir, out, resume, resume_override, iterations, batch, lr, threads, seed,
    agent_steps, max_agent_steps, checkpoint_every, target_return, on_iteration))]
#[allow(clippy::too_many_arguments)]
pub fn train_agent(
    py: Python<'_>,
    builtin: Option<String>,
    gym: Option<GymSpec>,
    scale: f64,
    rule: String,
    rule_config: Option<PathBuf>,
    params: Vec<String>,
    feedback: Option<String>,
    mode: Option<String>,
    form: Option<String>,
    gamma: Option<f64>,
    plugin_dir: Vec<PathBuf>,
    out: PathBuf,
    resume: bool,
    resume_override: Vec<String>,
    iterations: u64,
    batch: Option<usize>,
    lr: Option<f64>,
    threads: Option<usize>,
    seed: u64,
    agent_steps: Option<u64>,
    max_agent_steps: Option<u64>,
    checkpoint_every: u64,
    target_return: Option<f64>,
    on_iteration: Py<PyAny>,
) -> PyResult<AgentTrainRun> {
    let err = |e: Error| to_py(py, e);
    let mut params = train_params(&params, feedback.as_deref(), mode.as_deref()).map_err(err)?;
    for (field, name, value) in [
        ("form", "form", form),
        ("gamma", "gamma", gamma.map(|g| format!("{g:?}"))),
    ] {
        if let Some(value) = value {
            params.push(ParamSetting {
                field: field.into(),
                name: name.into(),
                value,
                if_declared: false,
            });
        }
    }
    let spec = AgentSpec {
        env: builtin.clone().unwrap_or_default(),
        scale,
        seed,
        rule,
        plugin_dirs: plugin_dir,
        params,
        rule_config,
        batch,
        lr,
        threads: eligo_engine::limits::threads("threads", threads).map_err(err)?,
        agent_steps,
        max_agent_steps,
    };
    let errors = PyErrSlot::default();
    // an exception of the environment's own is raised as itself, else the engine's error
    let fail = |e: Error| -> PyErr {
        let kept = errors.lock().unwrap_or_else(|p| p.into_inner()).take();
        kept.unwrap_or_else(|| to_py(py, e))
    };
    let built = match gym {
        Some(g) => {
            let shape = GymShape {
                name: g.name.clone(),
                code: encoder(py, &g)?,
                actions: g.actions,
                start: g.start,
                hidden: g.hidden,
                agent_steps: eligo_engine::env::cartpole::AGENT_STEPS,
                seed,
                flatten: Arc::new(g.flatten),
                errors: errors.clone(),
            };
            let factory = g.factory;
            let mut make = || -> Result<Box<dyn Env>> {
                Python::attach(|py| match factory.call0(py) {
                    Ok(env) => Ok(Box::new(GymEnv::new(env, shape.clone())) as Box<dyn Env>),
                    Err(e) => {
                        let text = e.to_string();
                        let mut slot = errors.lock().unwrap_or_else(|p| p.into_inner());
                        slot.get_or_insert(e);
                        Err(Error::Rule(format!(
                            "making environment '{}': {text}",
                            shape.name
                        )))
                    }
                })
            };
            py.detach(|| spec.build_on(&mut make))
        }
        None => py.detach(|| spec.build()),
    };
    let (tr, settings): (AgentTrainer, _) = built.map_err(fail)?;
    let schedule = AgentSchedule {
        iterations,
        checkpoint_every,
        target_return,
    };
    let (mut run, overridden) = match resume {
        true => py
            .detach(|| AgentRun::resume(tr, &out, settings, &resume_override))
            .map_err(fail)?,
        false => (AgentRun::new(tr, &out, settings), Vec::new()),
    };
    let mut watch = Watch::new(on_iteration);
    let outcome = py.detach(|| run.run(&schedule, &mut watch)).map_err(fail)?;
    Ok(AgentTrainRun {
        run: Mutex::new(run),
        outcome,
        overridden,
        error: watch.error.take(),
    })
}

impl AgentTrainRun {
    fn run(&self) -> MutexGuard<'_, AgentRun> {
        self.run.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl AgentTrainRun {
    /// The exception that stopped the run from Python (the callback's, or KeyboardInterrupt),
    /// once; None if there was none.
    fn take_error(&mut self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.error.take().map(|e| e.into_value(py).into_any())
    }

    /// Why the run ended: ("finished" | "reached" | "interrupted", the iteration it ended at
    /// or, for "reached", the episode at which the moving average reached the target).
    #[getter]
    fn ending(&self) -> (&'static str, u64) {
        match self.outcome.ending {
            AgentEnding::Finished => ("finished", self.outcome.iterations),
            AgentEnding::Reached(e) => ("reached", e),
            AgentEnding::Interrupted(it) => ("interrupted", it),
        }
    }

    /// Iterations done in all.
    #[getter]
    fn iterations(&self) -> u64 {
        self.outcome.iterations
    }

    /// The settings `resume_override` let differ from the checkpoint's.
    #[getter]
    fn overridden(&self) -> Vec<String> {
        self.overridden.clone()
    }

    /// `summary.json`'s keys that the run decides (JSON text; no wall time or plots).
    fn summary(&self) -> String {
        self.run().summary(&self.outcome).to_string()
    }

    /// The `metrics.jsonl` lines of every iteration done (resumed ones included).
    fn history(&self) -> Vec<String> {
        self.run().history().to_vec()
    }

    /// Every episode's return (float64, episode order; `returns.npy`).
    fn returns<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.run().returns().to_vec().into_pyarray(py)
    }

    /// The arrays of `weights.npz` as NumPy arrays.
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let run = self.run();
        let tr = run.trainer();
        weights_dict(py, tr.network(), tr.biases())
    }
}
