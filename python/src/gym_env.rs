//! A Gymnasium environment (a Python object) as an engine environment (`eligo_engine::env::Env`),
//! so `eligo.train_agent` drives it with the same closed-loop trainer as `eligo train --reward`.
//!
//! Per episode `e` of a run seeded with `seed`: `env.reset(seed=episode_seed(seed, e))`
//! (`eligo_engine::env::gym_seed`, the seed the engine's CartPole resets with); per agent step
//! the observation (flattened to float64) is coded into input spikes by the engine's encoder
//! (`env::encode`: the population or the rate code, generator of (seed, episode, agent step)),
//! and the sampled action `a` is passed as `env.step(a + start)` (`start`: the `Discrete`
//! space's first action). `terminated` ends the episode as a terminal state, else `truncated`
//! as a truncated one. Every call into Python takes the GIL (the training run has released
//! it); an exception ends the run and is kept in the shared slot, to be raised again by
//! `train_agent`.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use eligo_engine::env::encode::Encoder;
use eligo_engine::env::{End, Env, Outcome, STREAM_ENCODE, agent_network, gym_seed, rng};
use eligo_engine::network::NetworkSpec;
use eligo_engine::prelude::*;
use numpy::{PyArray1, PyArrayMethods};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::to_py;

/// The first Python exception any lane's environment raised.
pub(crate) type PyErrSlot = Arc<Mutex<Option<PyErr>>>;

/// What every lane's environment shares.
#[derive(Clone)]
pub(crate) struct GymShape {
    /// `gym:ID`, the run's task name.
    pub(crate) name: String,
    pub(crate) code: Encoder,
    pub(crate) actions: usize,
    /// Added to the action index before `step` (`Discrete.start`).
    pub(crate) start: i64,
    /// Recurrent LIF neurons of the default network.
    pub(crate) hidden: u32,
    /// Network steps per agent step the environment asks for unless the run gives them.
    pub(crate) agent_steps: u64,
    pub(crate) seed: u64,
    /// `obs -> numpy.ndarray` float64, one dimension.
    pub(crate) flatten: Arc<Py<PyAny>>,
    pub(crate) errors: PyErrSlot,
}

/// A lane thread's Python thread state, kept from its first call into the environment to the
/// thread's end. Without it each `Python::attach` of a thread Python did not start creates a
/// thread state and deletes it again (`PyGILState_Ensure` / `Release`), twice per agent step.
struct ThreadState {
    gil: ffi::PyGILState_STATE,
    saved: *mut ffi::PyThreadState,
}

impl Drop for ThreadState {
    fn drop(&mut self) {
        // SAFETY: runs at the end of the lane thread that made `self` in `keep_thread_state`,
        // which does not hold the GIL then (every `Python::attach` has returned); restoring
        // the state it saved and releasing its `PyGILState_Ensure` deletes the thread state.
        // The trainer joins its lane threads before `train_agent` returns, while the
        // interpreter runs.
        unsafe {
            ffi::PyEval_RestoreThread(self.saved);
            ffi::PyGILState_Release(self.gil);
        }
    }
}

thread_local! {
    static KEPT: RefCell<Option<ThreadState>> = const { RefCell::new(None) };
}

/// Give this (lane) thread a Python thread state that lasts until it ends, so the
/// environment's calls only take and release the GIL. Called before any `Python::attach` of
/// the thread's environment calls, never with the GIL held.
fn keep_thread_state() {
    KEPT.with(|k| {
        let mut k = k.borrow_mut();
        if k.is_none() {
            // SAFETY: this thread does not hold the GIL here (the callers run before their
            // `Python::attach`, on the trainer's lane threads, while `train_agent` has
            // released the GIL); `PyGILState_Ensure` makes the thread's state and takes the
            // GIL, `PyEval_SaveThread` releases the GIL and keeps the state, which `Drop`
            // restores and releases.
            unsafe {
                let gil = ffi::PyGILState_Ensure();
                let saved = ffi::PyEval_SaveThread();
                *k = Some(ThreadState { gil, saved });
            }
        }
    });
}

/// One lane's Gymnasium environment.
pub(crate) struct GymEnv {
    env: Py<PyAny>,
    shape: GymShape,
    episode: u64,
    elapsed: u64,
    obs: Vec<f64>,
}

impl GymEnv {
    pub(crate) fn new(env: Py<PyAny>, shape: GymShape) -> Self {
        let dims = shape.code.dims();
        GymEnv {
            env,
            shape,
            episode: 0,
            elapsed: 0,
            obs: vec![0.0; dims],
        }
    }

    /// Keep `e` (the first one of the run) and name it in the engine's error.
    fn fail(&self, what: &str, e: PyErr) -> Error {
        let text = e.to_string();
        let mut slot = self.shape.errors.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(e);
        Error::Rule(format!(
            "environment '{}' failed in {what} (episode {}, agent step {}): {text}",
            self.shape.name, self.episode, self.elapsed
        ))
    }

    fn read_obs(&mut self, py: Python<'_>, obs: &Bound<'_, PyAny>) -> PyResult<()> {
        let a = self.shape.flatten.bind(py).call1((obs,))?;
        let a = a.cast::<PyArray1<f64>>()?.readonly();
        let v = a.as_slice()?;
        if v.len() != self.obs.len() {
            return Err(to_py(
                py,
                Error::input(
                    "observation",
                    format!("{} values", v.len()),
                    format!(
                        "the encoder codes {} dimensions (the observation space's shape, or ranges)",
                        self.obs.len()
                    ),
                    "give one (lo, hi) range per observation value",
                ),
            ));
        }
        self.obs.copy_from_slice(v);
        Ok(())
    }
}

impl Env for GymEnv {
    fn name(&self) -> &str {
        &self.shape.name
    }

    fn inputs(&self) -> usize {
        self.shape.code.inputs()
    }

    fn actions(&self) -> usize {
        self.shape.actions
    }

    fn reset(&mut self, episode: u64) -> Result<()> {
        self.episode = episode;
        self.elapsed = 0;
        let seed = gym_seed::episode_seed(self.shape.seed, episode);
        keep_thread_state();
        Python::attach(|py| -> PyResult<()> {
            let kw = PyDict::new(py);
            kw.set_item("seed", seed)?;
            let r = self.env.bind(py).call_method("reset", (), Some(&kw))?;
            self.read_obs(py, &r.get_item(0)?)
        })
        .map_err(|e| self.fail("reset", e))
    }

    fn encode(&mut self, k: u64, out: &mut Vec<(u64, u32)>) {
        let mut r = rng(self.shape.seed, STREAM_ENCODE, self.episode, self.elapsed);
        self.shape.code.spikes(&self.obs, k, &mut r, out);
    }

    fn acts(&self) -> bool {
        true
    }

    fn step(&mut self, action: Option<usize>) -> Result<Outcome> {
        let a = action.unwrap_or(0) as i64 + self.shape.start;
        keep_thread_state();
        let out = Python::attach(|py| -> PyResult<Outcome> {
            let r = self.env.bind(py).call_method1("step", (a,))?;
            self.read_obs(py, &r.get_item(0)?)?;
            let reward: f64 = r.get_item(1)?.extract()?;
            let end = if r.get_item(2)?.is_truthy()? {
                End::Terminal
            } else if r.get_item(3)?.is_truthy()? {
                End::Truncated
            } else {
                End::Running
            };
            Ok(Outcome { reward, end })
        })
        .map_err(|e| self.fail("step", e))?;
        self.elapsed += 1;
        Ok(out)
    }

    fn agent_steps(&self) -> u64 {
        self.shape.agent_steps
    }

    fn network(&self, seed: u64) -> NetworkSpec {
        agent_network(
            seed,
            self.inputs() as u32,
            self.shape.actions as u32,
            self.shape.hidden,
        )
    }
}
