//! What `simulate` and `Simulation` take besides the network: the recorders (`record=`, the
//! `[[recorder]]` vocabulary), the replayed spikes (`inputs=`, as `eligo simulate
//! --clamp-events` replays a file), the thread count; and what both hand back (the result
//! dict `eligo.SimulationResult` wraps).

use eligo_engine::error::did_you_mean;
use eligo_engine::io::config::SimConfig;
use eligo_engine::prelude::*;
use numpy::{IntoPyArray, PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::to_py;

/// Packed records of `eligo simulate`'s `spikes_<pop>.npy`: `t` (`<u8`, µs), `addr` (`<u4`).
pub const SPIKE_RECORD_BYTES: usize = 12;

/// An `eligo.InputError` built in Python's half of the package, with the engine's layout.
#[pyfunction]
pub fn input_error(py: Python<'_>, field: &str, value: &str, allowed: &str, hint: &str) -> PyErr {
    to_py(py, Error::input(field, value, allowed, hint))
}

/// `threads` as `simulate` takes it: None every core, more than the cores capped, 0 refused.
pub fn threads(threads: Option<usize>) -> Result<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match threads {
        None => Ok(cores),
        Some(0) => Err(Error::input(
            "threads",
            0,
            format!("must be between 1 and the {cores} cores of this machine"),
            "leave it out (None) to use every core",
        )),
        Some(n) => Ok(n.min(cores)),
    }
}

/// Bound a run that holds its state traces in memory: the network plus `steps` samples (4
/// bytes each) of every state recorder's neurons, against the memory available (as the CLI
/// bounds a network; `ELIGO_MEMORY_LIMIT` overrides it).
pub fn check_memory(cfg: &SimConfig, threads: usize, steps: u64) -> Result<()> {
    let cols: u64 = cfg
        .record
        .state
        .iter()
        .map(|p| p.neurons.len() as u64)
        .sum();
    let est = cfg.network.estimate(threads)?;
    let traces = cols.saturating_mul(4).saturating_mul(steps);
    let Some((limit, source)) = eligo_engine::limits::memory_limit()? else {
        return Ok(());
    };
    if est.total_bytes.saturating_add(traces) <= limit {
        return Ok(());
    }
    if est.total_bytes > limit {
        return est.check(Some((limit, source)));
    }
    let human = eligo_engine::limits::human_bytes;
    Err(Error::input(
        "record['state']",
        format!("{cols} neurons x {steps} steps"),
        format!(
            "the state traces would hold {} in memory (4 bytes a sample), with the network's {} \
             more than the {} available ({source})",
            human(traces),
            human(est.total_bytes),
            human(limit)
        ),
        "record fewer neurons, shorten duration_ms, or run `eligo simulate`, which streams the \
         traces to disk",
    ))
}

/// The index of population `name` (`field` names the argument in the error).
pub fn population(net: &Network, field: &str, name: &str) -> Result<usize> {
    let names: Vec<&str> = net.populations.iter().map(|p| p.name.as_str()).collect();
    names.iter().position(|n| *n == name).ok_or_else(|| {
        Error::input(
            field,
            format!("'{name}'"),
            format!(
                "no population has this name; populations: {}",
                names.join(", ")
            ),
            did_you_mean(name, &names),
        )
    })
}

/// The index of projection `name`.
pub fn projection(net: &Network, field: &str, name: &str) -> Result<usize> {
    let names: Vec<&str> = net.projections.iter().map(|p| p.name.as_str()).collect();
    names.iter().position(|n| *n == name).ok_or_else(|| {
        Error::input(
            field,
            format!("'{name}'"),
            format!(
                "no projection has this name; projections: {}",
                names.join(", ")
            ),
            did_you_mean(name, &names),
        )
    })
}

fn bad_record(field: &str, value: &Bound<'_, PyAny>, allowed: &str) -> Error {
    let v = value
        .repr()
        .map_or_else(|_| "?".to_string(), |r| r.to_string());
    Error::input(
        field,
        v,
        allowed,
        "e.g. record={\"spikes\": [\"exc\"], \"state\": [(\"exc\", \"v\", [0, 1, 2])]}",
    )
}

fn names_of(field: &str, v: &Bound<'_, PyAny>) -> Result<Vec<String>> {
    if v.is_instance_of::<PyString>() {
        return Err(bad_record(field, v, "a list of population names"));
    }
    let list: Vec<Bound<'_, PyAny>> = v
        .try_iter()
        .and_then(|it| it.collect::<PyResult<_>>())
        .map_err(|_| bad_record(field, v, "a list of population names"))?;
    list.iter()
        .enumerate()
        .map(|(i, x)| {
            x.extract::<String>()
                .map_err(|_| bad_record(&format!("{field}[{i}]"), x, "a population name"))
        })
        .collect()
}

/// One state recorder: `(population, variable)`, `(population, variable, neurons)` or a dict
/// with the `[[recorder]]` keys `population`, `variable`, `neurons`.
fn state_probe(net: &Network, at: &str, v: &Bound<'_, PyAny>) -> Result<StateProbe> {
    let allowed = "(population, variable) or (population, variable, neurons), or a dict with \
                   population, variable and neurons";
    let (pop, var, neurons): (String, String, Option<Vec<u32>>) = if let Ok(d) = v.cast::<PyDict>()
    {
        for k in d.keys() {
            let k: String = k.extract().unwrap_or_default();
            if !["population", "variable", "neurons"].contains(&k.as_str()) {
                return Err(Error::input(
                    format!("{at}.{k}"),
                    "",
                    "unknown key; a state recorder has population, variable, neurons",
                    did_you_mean(&k, &["population", "variable", "neurons"]),
                ));
            }
        }
        let get = |k: &str| d.get_item(k).ok().flatten();
        let pop = get("population").and_then(|x| x.extract().ok());
        let var = get("variable").and_then(|x| x.extract().ok());
        let neurons = match get("neurons") {
            None => None,
            Some(n) if n.is_none() => None,
            Some(n) => Some(
                n.extract()
                    .map_err(|_| bad_record(&format!("{at}.neurons"), &n, "neuron indices"))?,
            ),
        };
        match (pop, var) {
            (Some(p), Some(v)) => (p, v, neurons),
            _ => return Err(bad_record(at, v, allowed)),
        }
    } else if let Ok(t) = v.extract::<(String, String)>() {
        (t.0, t.1, None)
    } else if let Ok(t) = v.extract::<(String, String, Option<Vec<u32>>)>() {
        t
    } else {
        return Err(bad_record(at, v, allowed));
    };
    let population = population(net, &format!("{at}.population"), &pop)?;
    let neurons = neurons.unwrap_or_else(|| (0..net.populations[population].size).collect());
    Ok(StateProbe {
        population,
        var,
        neurons,
    })
}

/// `record=`: None the description's recorders; a list of population names (their spikes);
/// or a dict with `spikes` (names) and `state` (state recorders), a missing key recording
/// nothing of its kind. Variables and neuron indices are checked by `Simulation::new`.
pub fn record_spec(
    net: &Network,
    cfg: &SimConfig,
    record: Option<&Bound<'_, PyAny>>,
) -> Result<RecordSpec> {
    let Some(r) = record.filter(|r| !r.is_none()) else {
        return Ok(cfg.record.clone());
    };
    let mut spec = RecordSpec::default();
    let (spikes, state) = if let Ok(d) = r.cast::<PyDict>() {
        for k in d.keys() {
            let k: String = k.extract().unwrap_or_default();
            if k != "spikes" && k != "state" {
                return Err(Error::input(
                    format!("record['{k}']"),
                    "",
                    "unknown key; allowed: spikes, state",
                    did_you_mean(&k, &["spikes", "state"]),
                ));
            }
        }
        (
            d.get_item("spikes").ok().flatten(),
            d.get_item("state").ok().flatten(),
        )
    } else if r.is_instance_of::<PyList>() || r.is_instance_of::<PyTuple>() {
        (Some(r.clone()), None)
    } else {
        return Err(bad_record(
            "record",
            r,
            "None (the description's recorders), a list of population names, or a dict with \
             spikes and state",
        ));
    };
    if let Some(s) = spikes {
        for (i, name) in names_of("record['spikes']", &s)?.iter().enumerate() {
            let p = population(net, &format!("record['spikes'][{i}]"), name)?;
            if !spec.spikes.contains(&p) {
                spec.spikes.push(p);
            }
        }
    }
    if let Some(s) = state {
        let list: Vec<Bound<'_, PyAny>> =
            s.try_iter()
                .and_then(|it| it.collect::<PyResult<_>>())
                .map_err(|_| bad_record("record['state']", &s, "a list of state recorders"))?;
        for (i, q) in list.iter().enumerate() {
            spec.state
                .push(state_probe(net, &format!("record['state'][{i}]"), q)?);
        }
    }
    Ok(spec)
}

/// The engine names a state recorder `recorder[i]` (the description's tables); from Python it
/// is `record['state'][i]`.
pub fn python_field(e: Error, from_python: bool) -> Error {
    match e {
        Error::Input(mut ie) if from_python && ie.field.starts_with("recorder[") => {
            ie.field = ie.field.replacen("recorder[", "record['state'][", 1);
            Error::Input(ie)
        }
        other => other,
    }
}

/// Replay `(t, addr)` (µs, index) as population `pop`'s spikes from the current step on, as
/// `eligo simulate --clamp-events` replays a file: an event lands in step `⌊t / dt_us⌋`,
/// several of one neuron in one step are one spike, events past the run are ignored. Times
/// must not go backwards; addresses must be below the population size.
pub fn clamp(
    sim: &mut Simulation,
    pop_name: &str,
    t: PyReadonlyArray1<'_, u64>,
    addr: PyReadonlyArray1<'_, u32>,
) -> Result<usize> {
    let field = format!("inputs['{pop_name}']");
    let pop = population(sim.network(), &field, pop_name)?;
    let dt = eligo_engine::io::events::dt_us(sim.network().dt_ms)?;
    let (Ok(t), Ok(addr)) = (t.as_slice(), addr.as_slice()) else {
        // the Python half passes contiguous arrays; a direct caller may not
        return Err(Error::input(
            &field,
            "a non-contiguous array",
            "contiguous arrays of t and addr",
            "np.ascontiguousarray(...)",
        ));
    };
    if t.len() != addr.len() {
        return Err(Error::input(
            format!("{field}.addr"),
            format!("{} addresses for {} times", addr.len(), t.len()),
            "one address per time",
            "",
        ));
    }
    if let Some(i) = t.windows(2).position(|w| w[1] < w[0]) {
        return Err(Error::input(
            format!("{field}.t[{}]", i + 1),
            format!("{} µs", t[i + 1]),
            format!(
                "times must not go backwards; the event before has t = {} µs",
                t[i]
            ),
            "sort the events by time first: ev[np.argsort(ev['t'], kind='stable')]",
        ));
    }
    let events: Vec<(u64, u32)> = t.iter().zip(addr).map(|(&t, &a)| (t / dt, a)).collect();
    sim.clamp(pop, &events).map_err(|e| e.under(&field))?;
    Ok(pop)
}

/// Where a run's recordings go while it runs: spikes of the recorded populations packed as
/// `spikes_<pop>.npy`'s records, state samples per probe.
pub struct Recordings {
    /// Per population: its packed records, if recorded.
    pub spikes: Vec<Option<Vec<u8>>>,
    /// Per probe: `steps x neurons` samples.
    pub state: Vec<Vec<f32>>,
    starts: Vec<u32>,
    dt_us: f64,
}

impl Recordings {
    /// For `sim`, recording the spikes of `recorded` (population indices).
    pub fn new(sim: &Simulation, recorded: &[usize]) -> Self {
        let net = sim.network();
        let mut spikes = vec![None; net.populations.len()];
        for &p in recorded {
            spikes[p] = Some(Vec::new());
        }
        Recordings {
            spikes,
            state: vec![Vec::new(); sim.probes().len()],
            starts: net.populations.iter().map(|p| p.start).collect(),
            dt_us: net.dt_ms * 1000.0,
        }
    }

    /// The population of global id `g`.
    #[inline]
    pub fn population_of(&self, g: u32) -> usize {
        self.starts.partition_point(|&s| s <= g) - 1
    }

    /// Append a spike of step `t`, global id `g`, if its population is recorded.
    #[inline]
    pub fn push(&mut self, t: u64, g: u32) {
        let p = self.population_of(g);
        if let Some(buf) = &mut self.spikes[p] {
            // the CLI's conversion (SpikeWriters::write), so the times are its bits
            let t_us = (t as f64 * self.dt_us).round() as u64;
            buf.extend_from_slice(&t_us.to_le_bytes());
            buf.extend_from_slice(&(g - self.starts[p]).to_le_bytes());
        }
    }

    /// Append the probes' samples taken since the last call.
    pub fn take_samples(&mut self, sim: &mut Simulation) {
        if self.state.is_empty() {
            return;
        }
        for (acc, rows) in self.state.iter_mut().zip(sim.take_probe_samples()) {
            acc.extend_from_slice(&rows);
        }
    }
}

/// The raw result `eligo.SimulationResult` wraps: `spikes` (population -> packed records),
/// `state` (`(population, variable)` -> float32 `steps x neurons`), `counters`, `rates_hz`,
/// `threads`, `wall_s`. `take` moves the recordings out (zero copy); else they are copied.
pub fn result<'py>(
    py: Python<'py>,
    sim: &Simulation,
    rec: &mut Recordings,
    take: bool,
    threads: usize,
    wall_s: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let netw = sim.network();
    let steps = sim.step() as usize;
    let out = PyDict::new(py);
    let spike_dict = PyDict::new(py);
    for (p, buf) in rec.spikes.iter_mut().enumerate() {
        if let Some(buf) = buf {
            debug_assert_eq!(buf.len() % SPIKE_RECORD_BYTES, 0);
            let arr = if take {
                std::mem::take(buf).into_pyarray(py)
            } else {
                PyArray1::from_slice(py, buf)
            };
            spike_dict.set_item(&netw.populations[p].name, arr)?;
        }
    }
    out.set_item("spikes", spike_dict)?;
    let state_dict = PyDict::new(py);
    for (probe, rows) in sim.probes().iter().zip(rec.state.iter_mut()) {
        let cols = probe.neurons.len();
        let arr: Bound<'_, PyArray1<f32>> = if take {
            std::mem::take(rows).into_pyarray(py)
        } else {
            PyArray1::from_slice(py, rows)
        };
        let arr = arr.reshape([steps, cols])?;
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
