//! `eligo._eligo.CartPole`, `encode`, `rates`: the engine's environments (`env::cartpole`) and
//! its population-coding encoder (`env::encode`), so Python steps the same CartPole-v1 the
//! training run drives and codes observations into the same spikes.

use eligo_engine::env::cartpole;
use eligo_engine::env::encode::{DEFAULT_NEURONS, DEFAULT_RATE_HZ, PopulationCode};
use eligo_engine::env::{Env, STREAM_ENCODE, rng};
use eligo_engine::prelude::*;
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;

use crate::to_py;

/// `(step, input)` spikes as two arrays.
type SpikeArrays<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u32>>);

fn spike_arrays(py: Python<'_>, spikes: Vec<(u64, u32)>) -> SpikeArrays<'_> {
    let (t, i): (Vec<u64>, Vec<u32>) = spikes.into_iter().unzip();
    (t.into_pyarray(py), i.into_pyarray(py))
}

/// Gymnasium's CartPole-v1 in the engine.
///
/// ``CartPole(seed=0)``; ``reset(episode=0)`` returns the observation (float32[4]) of episode
/// ``episode``'s initial state (Gymnasium's after ``reset(seed=episode_seed(seed, episode))``:
/// each variable uniform in [-0.05, 0.05) from NumPy's generator, bit for bit); ``step(action)`` (0 push left, 1 push right; anything else raises
/// :class:`eligo.InputError`) returns ``(obs, reward, terminated, truncated)`` as Gymnasium's
/// ``step`` without ``info``; ``state`` gets or sets the float64 state (x, x_dot, theta,
/// theta_dot), as ``env.unwrapped.state`` in Gymnasium (setting it leaves the time limit's step
/// count alone); ``observation`` is the state as float32; ``elapsed`` the steps since the reset.
/// ``encode(steps=None)`` gives the spikes ``(step, input)`` of the next agent step
/// (``agent_steps`` network steps unless given) of the current observation, by the population
/// code the training run uses (``inputs`` = 40 neurons; see :func:`encode`).
#[pyclass(module = "eligo._eligo")]
pub struct CartPole {
    env: cartpole::CartPole,
}

#[pymethods]
impl CartPole {
    #[new]
    #[pyo3(signature = (seed = 0))]
    fn new(seed: u64) -> Self {
        CartPole {
            env: cartpole::CartPole::new(seed),
        }
    }

    #[pyo3(signature = (episode = 0))]
    fn reset<'py>(&mut self, py: Python<'py>, episode: u64) -> Bound<'py, PyArray1<f32>> {
        // the engine's CartPole never fails to reset
        let _ = self.env.reset(episode);
        self.env.observation().to_vec().into_pyarray(py)
    }

    fn step<'py>(
        &mut self,
        py: Python<'py>,
        action: i64,
    ) -> PyResult<(Bound<'py, PyArray1<f32>>, f64, bool, bool)> {
        if !(action == 0 || action == 1) {
            return Err(to_py(
                py,
                Error::input(
                    "action",
                    action,
                    "CartPole's actions are 0 (push left) and 1 (push right)",
                    "",
                ),
            ));
        }
        let s = self.env.gym_step(action as usize);
        Ok((
            s.obs.to_vec().into_pyarray(py),
            s.reward,
            s.terminated,
            s.truncated,
        ))
    }

    #[getter]
    fn get_state<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.env.state().to_vec().into_pyarray(py)
    }

    #[setter]
    fn set_state(&mut self, py: Python<'_>, state: Vec<f64>) -> PyResult<()> {
        let s: [f64; 4] = state.as_slice().try_into().map_err(|_| {
            to_py(
                py,
                Error::input(
                    "state",
                    format!("{} values", state.len()),
                    "4 values: x, x_dot, theta, theta_dot",
                    "",
                ),
            )
        })?;
        self.env.set_state(s);
        Ok(())
    }

    #[getter]
    fn observation<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        self.env.observation().to_vec().into_pyarray(py)
    }

    #[getter]
    fn elapsed(&self) -> u64 {
        self.env.elapsed()
    }

    #[getter]
    fn inputs(&self) -> usize {
        self.env.inputs()
    }

    #[getter]
    fn agent_steps(&self) -> u64 {
        self.env.agent_steps()
    }

    #[pyo3(signature = (steps = None))]
    fn encode<'py>(&mut self, py: Python<'py>, steps: Option<u64>) -> SpikeArrays<'py> {
        let mut out = Vec::new();
        let k = steps.unwrap_or_else(|| self.env.agent_steps());
        self.env.encode(k, &mut out);
        spike_arrays(py, out)
    }
}

fn code(
    py: Python<'_>,
    ranges: &[(f64, f64)],
    neurons: usize,
    rate_hz: f64,
    dt_ms: f64,
) -> PyResult<PopulationCode> {
    PopulationCode::new(ranges, neurons, rate_hz, dt_ms).map_err(|e| to_py(py, e))
}

fn check_len(py: Python<'_>, values: &[f64], ranges: &[(f64, f64)]) -> PyResult<()> {
    if values.len() == ranges.len() {
        return Ok(());
    }
    Err(to_py(
        py,
        Error::input(
            "values",
            format!("{} values", values.len()),
            format!("one value per range ({})", ranges.len()),
            "",
        ),
    ))
}

/// The most (step, input) draws of one `encode` call (at most 1.2 GB of spikes).
const MAX_DRAWS: u64 = 100_000_000;

/// The spikes of `steps` network steps for `values` (see `eligo.envs.encode`).
#[pyfunction]
#[pyo3(signature = (values, ranges, *, neurons = DEFAULT_NEURONS, rate_hz = DEFAULT_RATE_HZ,
    dt_ms = 1.0, steps = 1, seed = 0, episode = 0, agent_step = 0))]
#[allow(clippy::too_many_arguments)]
pub fn encode<'py>(
    py: Python<'py>,
    values: Vec<f64>,
    ranges: Vec<(f64, f64)>,
    neurons: usize,
    rate_hz: f64,
    dt_ms: f64,
    steps: u64,
    seed: u64,
    episode: u64,
    agent_step: u64,
) -> PyResult<SpikeArrays<'py>> {
    let c = code(py, &ranges, neurons, rate_hz, dt_ms)?;
    check_len(py, &values, &ranges)?;
    // every (step, input) is a draw and may be a 12-byte spike: bound the work and memory
    let draws = steps.saturating_mul(c.inputs() as u64);
    if draws > MAX_DRAWS {
        return Err(to_py(
            py,
            Error::input(
                "steps",
                steps,
                format!(
                    "at most {} steps for {} inputs ({MAX_DRAWS} draws)",
                    MAX_DRAWS / c.inputs() as u64,
                    c.inputs()
                ),
                "encode one agent step at a time (agent_step= numbers them)",
            ),
        ));
    }
    let mut out = Vec::new();
    c.spikes(
        &values,
        steps,
        &mut rng(seed, STREAM_ENCODE, episode, agent_step),
        &mut out,
    );
    Ok(spike_arrays(py, out))
}

/// The rates (Hz) of every input for `values` (see `eligo.envs.rates`).
#[pyfunction]
#[pyo3(signature = (values, ranges, *, neurons = DEFAULT_NEURONS, rate_hz = DEFAULT_RATE_HZ))]
pub fn rates<'py>(
    py: Python<'py>,
    values: Vec<f64>,
    ranges: Vec<(f64, f64)>,
    neurons: usize,
    rate_hz: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let c = code(py, &ranges, neurons, rate_hz, 1.0)?;
    check_len(py, &values, &ranges)?;
    Ok(c.rates(&values).into_pyarray(py))
}

/// The seed `reset(seed=...)` gets for episode `episode` of a run seeded with `seed` (see
/// `eligo.envs.episode_seed`).
#[pyfunction]
pub fn episode_seed(seed: u64, episode: u64) -> u64 {
    eligo_engine::env::gym_seed::episode_seed(seed, episode)
}
