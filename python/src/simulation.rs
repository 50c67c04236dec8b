//! `eligo._eligo.Simulation`: one engine simulation driven step by step from Python (closed
//! loops): steps with the GIL released, spikes injected into and currents added to the next
//! step, modulator channels set, readouts, spikes and state read after each step, learning
//! rules attached as `eligo simulate --rule` attaches them.
//!
//! The hot path (`step(1)`) allocates nothing: the engine records every population's spikes
//! into a buffer that is read and cleared after each call (the last step's spikes, and the
//! recorded populations' spikes appended to their packed records).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use eligo_engine::network::Receptor;
use eligo_engine::optim::Optimizer;
use eligo_engine::prelude::*;
use eligo_engine::train::rules::{self, RuleRequest};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::inputs::{self, Recordings};
use crate::network::Network;
use crate::simulate::next_piece;
use crate::to_py;

/// Wall time of a piece of a long `step`/`run` call: Ctrl-C is seen between pieces, so a
/// closed loop gets control back within about this (the issue asks for 100 ms); a piece with
/// several threads restarts them (tens of µs, well under 1 % of this).
const POLL_SECONDS: f64 = 0.025;

/// Steps of the first piece of a long call, before the pace is known: small, so that even a
/// big network (a millisecond a step) sees Ctrl-C within about [`POLL_SECONDS`].
const FIRST_PIECE_STEPS: u64 = 10;

/// A simulation advanced step by step.
#[pyclass(module = "eligo._eligo")]
pub struct Simulation {
    /// The engine's simulation holds rule instances (foreign pointers), which are `Send` but
    /// not `Sync`: the lock makes the class shareable as Python requires; methods taking
    /// `&mut self` reach it without locking (`Mutex::get_mut`).
    sim: Mutex<eligo_engine::sim::Simulation>,
    rec: Recordings,
    /// Global ids of the last step's spikes, ascending.
    last: Vec<u32>,
    /// Per population: the neurons injected into for the next step.
    pending: Vec<Vec<u32>>,
    /// Per population: replaced by its injected or replayed spikes.
    clamped: Vec<bool>,
    optimizers: Vec<Optimizer>,
    /// Steps of the rules' sequence (what they were told when attached).
    seq_len: u64,
    finished: bool,
    /// Steps of the next piece of a long call, at the pace measured so far.
    piece: u64,
    threads: usize,
    wall_s: f64,
    scratch: Vec<f32>,
    file: Option<PathBuf>,
}

#[pymethods]
impl Simulation {
    /// See `eligo.Simulation`. `rules`: (name, ["NAME=VALUE", ...]) per rule; `rule_config`:
    /// one rule config (TOML) per rule, or none.
    #[new]
    #[pyo3(signature = (net, rules=Vec::new(), threads=Some(1), record=None, inputs=Vec::new(),
        modulators=Vec::new(), plugin_dir=Vec::new(), duration_ms=None, rule_config=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn new<'py>(
        py: Python<'py>,
        net: &Network,
        rules: Vec<(String, Vec<String>)>,
        threads: Option<usize>,
        record: Option<Bound<'py, PyAny>>,
        inputs: Vec<(
            String,
            PyReadonlyArray1<'py, u64>,
            PyReadonlyArray1<'py, u32>,
        )>,
        modulators: Vec<String>,
        plugin_dir: Vec<PathBuf>,
        duration_ms: Option<f64>,
        rule_config: Vec<PathBuf>,
    ) -> PyResult<Self> {
        let err = |e: Error| to_py(py, e);
        let in_file = |e: Error| match &net.cfg.file {
            Some(f) => err(e.in_file(f)),
            None => err(e),
        };
        let seq_len = match duration_ms {
            None => net.cfg.steps,
            Some(d) => eligo_engine::neuron::steps_of(d, net.net.dt_ms)
                .map_err(|e| err(e.under("duration_ms")))?,
        };
        let threads = inputs::threads(threads).map_err(err)?;
        let mut cfg = net.cfg.clone();
        let from_python = record.as_ref().is_some_and(|r| !r.is_none());
        cfg.record = inputs::record_spec(&net.net, &net.cfg, record.as_ref()).map_err(err)?;
        cfg.estimate(threads).map_err(in_file)?;
        // recordings grow with the steps run: bounded here for the rules' sequence
        inputs::check_memory(&cfg, threads, seq_len).map_err(in_file)?;
        let n_pops = net.net.populations.len();
        // every population's spikes go through the engine's buffer (the last step's spikes);
        // only the requested ones are kept
        let opts = SimOptions {
            threads,
            record: RecordSpec {
                spikes: (0..n_pops).collect(),
                state: cfg.record.state.clone(),
            },
        };
        let mut sim = eligo_engine::sim::Simulation::new(net.net.clone(), &opts)
            .map_err(|e| in_file(inputs::python_field(e, from_python)))?;
        let mut clamped = vec![false; n_pops];
        for (pop, t, addr) in inputs {
            clamped[inputs::clamp(&mut sim, &pop, t, addr).map_err(err)?] = true;
        }
        for (i, m) in modulators.iter().enumerate() {
            sim.add_modulator(m)
                .map_err(|e| err(e.under(&format!("modulators[{i}]"))))?;
        }
        let req = RuleRequest {
            rule: rules.iter().map(|r| r.0.clone()).collect(),
            rule_config,
            plugin_dir,
            // with one rule `NAME=VALUE`, with several `RULE.NAME=VALUE` (RULE its position)
            param: if rules.len() == 1 {
                rules[0].1.clone()
            } else {
                rules
                    .iter()
                    .enumerate()
                    .flat_map(|(k, r)| r.1.iter().map(move |p| format!("{}.{p}", k + 1)))
                    .collect()
            },
            ..RuleRequest::default()
        };
        let optimizers = py
            .detach(|| {
                // without `rules`, the description's [[rule]] tables (as `eligo simulate`)
                rules::attach(
                    &req,
                    &mut sim,
                    seq_len,
                    &net.cfg.rules,
                    net.cfg.file.as_deref(),
                )
            })
            .map_err(|e| err(modulator_hint(e)))?;
        sim.begin_sequence().map_err(err)?;
        let rec = Recordings::new(&sim, &cfg.record.spikes);
        Ok(Simulation {
            sim: Mutex::new(sim),
            rec,
            last: Vec::new(),
            pending: vec![Vec::new(); n_pops],
            clamped,
            optimizers,
            seq_len,
            finished: false,
            piece: FIRST_PIECE_STEPS,
            threads,
            wall_s: 0.0,
            scratch: Vec::new(),
            file: net.cfg.file.clone(),
        })
    }

    /// Simulate `n` steps (GIL released; Ctrl-C checked between pieces of a long call).
    #[pyo3(signature = (n=1))]
    fn step(&mut self, py: Python<'_>, n: u64) -> PyResult<()> {
        self.advance(py, n)
    }

    /// Simulate `ms` milliseconds (a whole number of steps).
    fn run(&mut self, py: Python<'_>, ms: f64) -> PyResult<()> {
        let n = eligo_engine::neuron::steps_of(ms, eng(&mut self.sim).network().dt_ms)
            .map_err(|e| to_py(py, e.under("ms")))?;
        self.advance(py, n)
    }

    /// Steps simulated so far.
    #[getter]
    fn steps(&mut self) -> u64 {
        eng(&mut self.sim).step()
    }

    /// Simulated time so far (ms).
    #[getter]
    fn t_ms(&mut self) -> f64 {
        eng(&mut self.sim).step() as f64 * eng(&mut self.sim).network().dt_ms
    }

    /// Time step (ms).
    #[getter]
    fn dt_ms(&mut self) -> f64 {
        eng(&mut self.sim).network().dt_ms
    }

    /// Worker threads.
    #[getter]
    fn threads(&mut self) -> usize {
        self.threads
    }

    /// The modulator channels' names.
    #[getter]
    fn modulators(&mut self) -> Vec<String> {
        eng(&mut self.sim).modulator_names().to_vec()
    }

    /// Make neurons `addrs` of population `pop` spike in the next step: the population is
    /// clamped from then on (its own dynamics bypassed; it emits only injected spikes).
    fn inject(
        &mut self,
        py: Python<'_>,
        pop: &str,
        addrs: PyReadonlyArray1<'_, u32>,
    ) -> PyResult<()> {
        let p = self.pop(py, "pop", pop)?;
        let size = eng(&mut self.sim).network().populations[p].size;
        let addrs = addrs.as_slice()?;
        if let Some(&bad) = addrs.iter().find(|&&a| a >= size) {
            return Err(to_py(
                py,
                Error::input(
                    "addrs",
                    bad,
                    format!("'{pop}' has {size} neurons: addresses 0 to {}", size - 1),
                    "",
                ),
            ));
        }
        self.pending[p].extend_from_slice(addrs);
        Ok(())
    }

    /// Add `values` (one per neuron of `pop`, or one for all) to the input of the next step, on the
    /// excitatory (`receptor="exc"`) or inhibitory channel; units of the weights onto `pop`.
    #[pyo3(signature = (pop, values, receptor="exc"))]
    fn inject_current(
        &mut self,
        py: Python<'_>,
        pop: &str,
        values: PyReadonlyArray1<'_, f32>,
        receptor: &str,
    ) -> PyResult<()> {
        let p = self.pop(py, "pop", pop)?;
        let receptor = match receptor {
            "exc" => Receptor::Exc,
            "inh" => Receptor::Inh,
            other => {
                return Err(to_py(
                    py,
                    Error::input(
                        "receptor",
                        format!("'{other}'"),
                        "allowed: exc, inh",
                        eligo_engine::error::did_you_mean(other, &["exc", "inh"]),
                    ),
                ));
            }
        };
        self.check_not_clamped(py, p)?;
        let sim = eng(&mut self.sim);
        let values = values.as_slice()?;
        let size = sim.network().populations[p].size as usize;
        let values = if values.len() == 1 && size > 1 {
            // one value for every neuron
            self.scratch.clear();
            self.scratch.resize(size, values[0]);
            &self.scratch[..]
        } else {
            values
        };
        sim.add_input(p, receptor, values).map_err(|e| to_py(py, e))
    }

    /// Set modulator channel `name` to `value` from the next step on.
    fn set_modulator(&mut self, py: Python<'_>, name: &str, value: f32) -> PyResult<()> {
        let names = eng(&mut self.sim).modulator_names();
        let Some(k) = names.iter().position(|n| n == name) else {
            let list: Vec<&str> = names.iter().map(String::as_str).collect();
            return Err(to_py(
                py,
                Error::input(
                    "name",
                    format!("'{name}'"),
                    if list.is_empty() {
                        "this simulation has no modulator channels".to_string()
                    } else {
                        format!("channels: {}", list.join(", "))
                    },
                    if list.is_empty() {
                        "name the channels when creating it: Simulation(net, modulators=[...])"
                            .to_string()
                    } else {
                        eligo_engine::error::did_you_mean(name, &list)
                    },
                ),
            ));
        };
        if !value.is_finite() {
            return Err(to_py(
                py,
                Error::input("value", value, "a modulator must be a finite number", ""),
            ));
        }
        eng(&mut self.sim).set_modulator(k, value);
        Ok(())
    }

    /// The current value of `var` of every neuron of `pop` (float32).
    fn state<'py>(
        &mut self,
        py: Python<'py>,
        pop: &str,
        var: &str,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let p = self.pop(py, "pop", pop)?;
        self.check_not_clamped(py, p)?;
        eng(&mut self.sim)
            .read_state(p, var, &mut self.scratch)
            .map_err(|e| to_py(py, e.under("var")))?;
        Ok(PyArray1::from_slice(py, &self.scratch))
    }

    /// The readouts' outputs `y` of `pop` after the last step (float32).
    fn readout<'py>(&mut self, py: Python<'py>, pop: &str) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let p = self.pop(py, "pop", pop)?;
        let model = &eng(&mut self.sim).network().populations[p].model;
        if !matches!(model, ModelSpec::Readout(_)) {
            return Err(to_py(
                py,
                Error::input(
                    "pop",
                    format!("'{pop}'"),
                    format!("is a {} population, not a readout", model.name()),
                    "use state(pop, var) for other populations",
                ),
            ));
        }
        self.state(py, pop, "y")
    }

    /// Addresses (ascending) of the neurons of `pop` that spiked in the last step (uint32).
    fn spikes<'py>(&mut self, py: Python<'py>, pop: &str) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let p = self.pop(py, "pop", pop)?;
        let q = &eng(&mut self.sim).network().populations[p];
        let lo = self.last.partition_point(|&g| g < q.start);
        let hi = self.last.partition_point(|&g| g < q.start + q.size);
        let addrs: Vec<u32> = self.last[lo..hi].iter().map(|g| g - q.start).collect();
        Ok(PyArray1::from_vec(py, addrs))
    }

    /// The live weights of `projection` (float32, a copy; the order of `weights.npz`'s
    /// `P/data`: CSR by presynaptic neuron).
    fn weights<'py>(
        &mut self,
        py: Python<'py>,
        projection: &str,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let net = eng(&mut self.sim).network();
        let j = inputs::projection(net, "projection", projection).map_err(|e| to_py(py, e))?;
        Ok(PyArray1::from_slice(py, &net.projections[j].weights))
    }

    /// What was recorded so far, as `simulate` returns it (copies; the run may go on).
    fn result<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        inputs::result(
            py,
            eng(&mut self.sim),
            &mut self.rec,
            false,
            self.threads,
            self.wall_s,
        )
    }

    /// End the rules' sequence as `eligo simulate` ends its run: the rules see the end of the
    /// sequence and of a batch of one, and a gradient rule's optimizer applies its gradients.
    /// No step after this.
    fn finish(&mut self, py: Python<'_>) -> PyResult<()> {
        self.check_open()?;
        self.finished = true;
        let steps = eng(&mut self.sim).step();
        let sim = eng(&mut self.sim);
        let optimizers = &mut self.optimizers;
        py.detach(|| {
            sim.end_sequence(steps)?;
            sim.end_batch_of_one(steps)?;
            for (k, opt) in optimizers.iter_mut().enumerate() {
                sim.apply_rule_gradients(k, opt)?;
            }
            Ok(())
        })
        .map_err(|e: Error| to_py(py, e))
    }

    /// The steps of the rules' sequence (`duration_ms` when created).
    #[getter]
    fn sequence_steps(&mut self) -> u64 {
        self.seq_len
    }

    /// The file of the network description (None for text).
    #[getter]
    fn file(&mut self) -> Option<String> {
        self.file.as_ref().map(|f| f.display().to_string())
    }
}

/// A rule asking for a modulator channel the simulation lacks: the engine's hint names the
/// CLI's `--modulator`; from Python the channel is named with `modulators=`.
fn modulator_hint(e: Error) -> Error {
    match e {
        Error::Input(mut ie) if ie.hint.contains("--modulator") => {
            ie.hint = format!(
                "name the channel: eligo.Simulation(net, rules=..., modulators=[{}]), then set \
                 it with set_modulator",
                ie.value
            );
            Error::Input(ie)
        }
        other => other,
    }
}

/// The engine's simulation behind its lock, reached through `&mut` (no locking).
fn eng(m: &mut Mutex<eligo_engine::sim::Simulation>) -> &mut eligo_engine::sim::Simulation {
    m.get_mut()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Simulation {
    fn pop(&mut self, py: Python<'_>, field: &str, name: &str) -> PyResult<usize> {
        // the common case first: a linear scan of a few names, no allocation
        let pops = &eng(&mut self.sim).network().populations;
        if let Some(p) = pops.iter().position(|p| p.name == name) {
            return Ok(p);
        }
        inputs::population(eng(&mut self.sim).network(), field, name).map_err(|e| to_py(py, e))
    }

    fn check_open(&self) -> PyResult<()> {
        if self.finished {
            return Err(PyRuntimeError::new_err(
                "this simulation is finished (Simulation.finish was called): create a new one",
            ));
        }
        Ok(())
    }

    fn check_not_clamped(&mut self, py: Python<'_>, p: usize) -> PyResult<()> {
        if self.clamped[p] {
            let name = &eng(&mut self.sim).network().populations[p].name;
            return Err(to_py(
                py,
                Error::input(
                    "pop",
                    format!("'{name}'"),
                    "this population is clamped (its spikes are injected or replayed): it has \
                     no inputs or state",
                    "",
                ),
            ));
        }
        Ok(())
    }

    /// Simulate `n` steps: pending injections first, then pieces of about 0.1 s of wall time
    /// with the GIL released, Python's signal handlers run between them; spikes read after
    /// each piece.
    fn advance(&mut self, py: Python<'_>, n: u64) -> PyResult<()> {
        self.check_open()?;
        if n == 0 {
            return Ok(());
        }
        let step = eng(&mut self.sim).step();
        for p in 0..self.pending.len() {
            if self.pending[p].is_empty() {
                continue;
            }
            let events: Vec<(u64, u32)> = self.pending[p].iter().map(|&a| (step, a)).collect();
            self.pending[p].clear();
            eng(&mut self.sim)
                .clamp(p, &events)
                .map_err(|e| to_py(py, e))?;
            self.clamped[p] = true;
        }
        let t0 = Instant::now();
        let mut done = 0;
        while done < n {
            let k = self.piece.min(n - done);
            let sim = eng(&mut self.sim);
            let t_piece = Instant::now();
            py.detach(|| sim.run(k, None)).map_err(|e| to_py(py, e))?;
            done += k;
            self.collect();
            if n > 1 {
                // the pace of long calls only: `step(1)` in a loop says nothing about it
                self.piece = next_piece(k, t_piece.elapsed(), POLL_SECONDS);
            }
            if done < n {
                py.check_signals()?;
            }
        }
        self.wall_s += t0.elapsed().as_secs_f64();
        Ok(())
    }

    /// Read the engine's spike buffer: the last step's spikes, the recorded populations'.
    fn collect(&mut self) {
        let last_step = eng(&mut self.sim).step() - 1;
        self.last.clear();
        for &(t, g) in eng(&mut self.sim).spikes() {
            if t == last_step {
                self.last.push(g);
            }
            self.rec.push(t, g);
        }
        eng(&mut self.sim).clear_spikes();
        self.rec.take_samples(eng(&mut self.sim));
    }
}
