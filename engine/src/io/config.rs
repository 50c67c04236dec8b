//! Network description files (TOML).
//!
//! ```toml
//! dt_ms = 1.0            # time step (ms)
//! duration_ms = 1000.0   # simulated time (ms), a whole number of steps
//! seed = 42              # seed of every random draw
//!
//! [[population]]
//! name = "input"
//! model = "poisson"      # lif | alif | lif_exp | readout | poisson | spike_times | external
//! size = 100
//! rate_hz = 20.0         # the model's parameters sit beside name/model/size
//!
//! [[population]]
//! name = "rec"
//! model = "lif"
//! size = 200
//! tau_m_ms = 20.0
//! t_ref_ms = 2.0         # refractory period (ms, whole steps; or n_ref in steps, not both)
//! v_init = { kind = "uniform", low = 0.0, high = 0.5 }   # optional
//!
//! [[projection]]
//! from = "input"
//! to = "rec"
//! rule = "fixed_probability"   # all_to_all | fixed_probability (p) | fixed_indegree (k)
//! p = 0.1                      # | fixed_outdegree (k) | fixed_total_number (n)
//!                              # | list (pairs, weights?, delay_steps?)
//! weight = { kind = "normal", mean = 0.1, std = 0.02 }   # or a number; normal takes optional
//!                              # min, max: draws outside are redrawn (e.g. min = 0.0)
//! delay_steps = 1              # or delay_ms; >= 1 step; or per synapse
//! # delay_ms = { kind = "normal", mean = 1.5, std = 0.75 }  (redrawn below dt, rounded to steps)
//! # receptor = "exc" | "inh"   (default: by the sign of the mean weight)
//! # allow_autapses = false
//!
//! [[recorder]]
//! population = "rec"
//! kind = "spikes"              # or "state" with variable = "v" and neurons = [0, 1]
//!
//! [[recorder]]
//! kind = "weights"             # weights_<projection>.npy: samples x synapses (f32)
//! projection = "rec->rec"      # or a list: ["input->rec", "rec->rec"]
//! every_ms = 10.0              # one row after each 10 ms: rows at t = 10, 20, .. ms
//! [[rule]]                     # learning rules for `eligo simulate`/`grad` without --rule
//! rule = "stdp"                # a plugin name or library path (relative to this file)
//! config = "stdp_exc.toml"     # its rule config (relative to this file), or instead the
//! # a_plus = 0.01             #   rule's parameters inline, with [rule.host]/[rule.optimizer]
//! ```
//!
//! A `weights` recorder writes `weights_<projection>.npy` for each listed projection: float32,
//! shape `(floor(duration_ms / every_ms), synapses)`, row `k` the weights at `t = (k + 1) *
//! every_ms` (the drawn weights at `t = 0` are not a row: without a rule every row equals
//! them), columns in the order of `weights.npz`'s `P/data` (CSR by presynaptic neuron). A row
//! at the end of the run is taken after a gradient rule's optimizer step, so when `every_ms`
//! divides the duration the last row equals `weights.npz`. `every_ms` is a whole number of
//! steps, at least one, at most the duration; a projection has at most one recorder. The rows
//! stream to disk (1 MiB buffer per file); the files' size (4 bytes x rows x synapses) is
//! checked against the free disk space before the run. `simulate` ends a piece of its run at
//! each sample, so a tiny `every_ms` (a few steps) also costs a restart of the worker threads
//! (tens of µs) per sample.
//!
//! Every error names the file, the field, the value, what is allowed and what to try.

use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::{Table, Value};

use crate::error::{Error, Result, did_you_mean};
use crate::network::{
    ConnectRule, NetworkSpec, PopulationSpec, ProjectionSpec, Receptor, WeightDist,
};
use crate::neuron::{MODEL_NAMES, ModelSpec};
use crate::sim::{RecordSpec, StateProbe, WeightProbe};

/// A parsed network description: the network, how long to run it and what to record.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The file it came from.
    pub file: Option<PathBuf>,
    /// The network.
    pub network: NetworkSpec,
    /// Number of steps to simulate.
    pub steps: u64,
    /// What to record (population indices).
    pub record: RecordSpec,
    /// Weight recorders (projection indices), in the order of the file.
    pub weights: Vec<WeightProbe>,
    /// Learning rules of the `[[rule]]` tables, in file order.
    pub rules: Vec<RuleSpec>,
    /// The `[nir]` table of a network imported from a NIR file (`eligo nir import`): where it
    /// came from and how it was discretized, read by `eligo nir export` only (docs/nir.md).
    pub nir: Option<Table>,
}

/// A `[[rule]]` table: a learning rule with its configuration, either a rule config file or
/// the same fields inline (checked against the rule's parameters when it is loaded).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    /// Where it is in the file, for messages (`rule[0]`).
    pub at: String,
    /// A plugin name or library path (relative paths resolved against the file by [`load`]).
    pub rule: String,
    /// A rule config file (relative paths resolved against the file by [`load`]).
    pub config: Option<PathBuf>,
    /// Inline rule config: the rule's parameters and `host`/`optimizer` tables.
    pub inline: Table,
}

/// Read and validate a description file. Does not draw the network yet.
pub fn load(path: &Path) -> Result<SimConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            "",
            "",
            format!("cannot read the file: {e}"),
            "check the path",
        )
        .in_file(path)
    })?;
    let mut c = parse(&text).map_err(|e| e.in_file(path))?;
    c.file = Some(path.to_path_buf());
    let dir = path.parent().unwrap_or(Path::new(""));
    for r in &mut c.rules {
        let is_path = r.rule.contains(std::path::MAIN_SEPARATOR)
            || r.rule.ends_with(std::env::consts::DLL_SUFFIX);
        if is_path && Path::new(&r.rule).is_relative() {
            r.rule = dir.join(&r.rule).display().to_string();
        }
        if let Some(f) = &mut r.config
            && f.is_relative()
        {
            *f = dir.join(&*f);
        }
    }
    Ok(c)
}

/// Parse a description from TOML text.
pub fn parse(text: &str) -> Result<SimConfig> {
    let table: Table = text.parse().map_err(|e: toml::de::Error| {
        Error::input(
            "(file)",
            "",
            format!("not valid TOML: {}", e.to_string().trim_end()),
            "see the example in data/example_net.toml",
        )
    })?;
    parse_table(table)
}

/// Parse a description already read into a table (the TOML's, or one built from another
/// format such as a Python dict): the same fields and checks as [`parse`].
pub fn parse_table(table: Table) -> Result<SimConfig> {
    let mut t = Fields::new(table, "");
    let dt_ms = t.f64_or("dt_ms", 1.0)?;
    crate::error::positive("dt_ms", dt_ms, "ms")?;
    let duration_ms = t.f64_or("duration_ms", 1000.0)?;
    let steps = crate::neuron::steps_of(duration_ms, dt_ms).map_err(|e| e.under("duration_ms"))?;
    let seed = t.u64_or("seed", 0)?;
    let pops = t.array_of_tables("population")?;
    let projs = t.array_of_tables("projection")?;
    let recs = t.array_of_tables("recorder")?;
    let rule_tables = t.array_of_tables("rule")?;
    let nir = nir_table(&mut t)?;
    t.finish(&[
        "dt_ms",
        "duration_ms",
        "seed",
        "population",
        "projection",
        "recorder",
        "rule",
        "nir",
    ])?;

    let populations = pops
        .into_iter()
        .enumerate()
        .map(|(i, p)| population(p, &format!("population[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    let projections = projs
        .into_iter()
        .enumerate()
        .map(|(i, p)| projection(p, &format!("projection[{i}]"), dt_ms))
        .collect::<Result<Vec<_>>>()?;
    let network = NetworkSpec {
        dt_ms,
        seed,
        populations,
        projections,
    };
    // before a recorder lists its neurons: a network that cannot fit is refused here
    network.estimate(1)?.check(crate::limits::memory_limit()?)?;
    let mut record = RecordSpec::default();
    let mut weights = Vec::new();
    for (i, r) in recs.into_iter().enumerate() {
        let at = format!("recorder[{i}]");
        if r.get("kind").and_then(Value::as_str) == Some("weights") {
            weight_recorder(r, &at, &network, steps, &mut weights)?;
        } else {
            recorder(r, &at, &network.populations, &mut record)?;
        }
    }
    let rules = rule_tables
        .into_iter()
        .enumerate()
        .map(|(i, r)| rule_spec(r, &format!("rule[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    let c = SimConfig {
        file: None,
        network,
        steps,
        record,
        weights,
        rules,
        nir,
    };
    c.estimate(1)?.check(crate::limits::memory_limit()?)?;
    Ok(c)
}

/// The optional `[nir]` table: `source` (the NIR file, a string), `discretization` (`euler` or
/// `exact`) and `version` (the file's NIR version), nothing else.
fn nir_table(t: &mut Fields) -> Result<Option<Table>> {
    let Some(v) = t.take("nir") else {
        return Ok(None);
    };
    let Value::Table(nir) = v else {
        return Err(Error::input(
            "nir",
            v,
            "must be a table: [nir] with source, discretization, version",
            "",
        ));
    };
    let mut f = Fields::new(nir.clone(), "nir");
    for k in ["source", "version"] {
        if f.t.contains_key(k) {
            f.string(k)?;
        }
    }
    let d = f.string_or("discretization", "euler")?;
    if d != "euler" && d != "exact" {
        return Err(Error::input(
            "nir.discretization",
            format!("'{d}'"),
            "allowed: euler, exact",
            "",
        ));
    }
    f.finish(&["source", "discretization", "version"])?;
    Ok(Some(nir))
}

/// One `[[recorder]]` table, added to `record` (spike recorders and state probes keep the
/// order of the file within their kind).
fn recorder(
    table: Table,
    at: &str,
    populations: &[PopulationSpec],
    record: &mut RecordSpec,
) -> Result<()> {
    let names: Vec<&str> = populations.iter().map(|p| p.name.as_str()).collect();
    let mut f = Fields::new(table, at);
    let pop_name = f.string("population")?;
    let pop = names.iter().position(|n| *n == pop_name).ok_or_else(|| {
        Error::input(
            format!("{at}.population"),
            format!("'{pop_name}'"),
            format!(
                "no population has this name; populations: {}",
                names.join(", ")
            ),
            did_you_mean(&pop_name, &names),
        )
    })?;
    let kind = f.string_or("kind", "spikes")?;
    match kind.as_str() {
        "spikes" => {
            f.finish(&["population", "kind"])?;
            record.spikes.push(pop);
        }
        "state" => {
            let var = f.string("variable")?;
            let size = populations[pop].size;
            let neurons = match f.take("neurons") {
                None => (0..size).collect(),
                Some(v) => u32_list(v, &format!("{at}.neurons"))?,
            };
            f.finish(&["population", "kind", "variable", "neurons"])?;
            record.state.push(StateProbe {
                population: pop,
                var,
                neurons,
            });
        }
        other => {
            return Err(Error::input(
                format!("{at}.kind"),
                format!("'{other}'"),
                "allowed: spikes, state, weights",
                did_you_mean(other, &["spikes", "state", "weights"]),
            ));
        }
    }
    Ok(())
}

/// One `[[recorder]] kind = "weights"` table: a [`WeightProbe`] per listed projection, added to
/// `weights`. `every_ms` must be a whole, positive number of steps, at most the duration (so
/// the file has at least one row); a projection is recorded at most once (one file each).
fn weight_recorder(
    table: Table,
    at: &str,
    network: &NetworkSpec,
    steps: u64,
    weights: &mut Vec<WeightProbe>,
) -> Result<()> {
    let names: Vec<String> = network
        .projections
        .iter()
        .map(|s| {
            s.name
                .clone()
                .unwrap_or_else(|| format!("{}->{}", s.from, s.to))
        })
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut f = Fields::new(table, at);
    // the caller dispatched on it
    f.take("kind");
    let list = match f.need("projection")? {
        Value::Array(a) => a
            .into_iter()
            .enumerate()
            .map(|(k, v)| as_string(v, &format!("{at}.projection[{k}]")))
            .collect::<Result<Vec<_>>>()?,
        v => vec![as_string(v, &format!("{at}.projection"))?],
    };
    let every_ms = f.f64("every_ms")?;
    f.finish(&["kind", "projection", "every_ms"])?;
    let field = format!("{at}.every_ms");
    let every_steps =
        crate::neuron::steps_of(every_ms, network.dt_ms).map_err(|e| e.under(&field))?;
    if every_steps == 0 || every_steps > steps {
        return Err(Error::input(
            field,
            every_ms,
            format!(
                "must be a whole, positive number of steps (dt = {} ms), at most the duration \
                 ({} ms)",
                network.dt_ms,
                steps as f64 * network.dt_ms
            ),
            format!(
                "try every_ms = {}",
                network.dt_ms * steps.clamp(1, 100) as f64
            ),
        ));
    }
    if list.is_empty() {
        return Err(Error::input(
            format!("{at}.projection"),
            "[]",
            "name at least one projection",
            format!("projections: {}", names.join(", ")),
        ));
    }
    for name in list {
        let projection = names.iter().position(|n| *n == name).ok_or_else(|| {
            Error::input(
                format!("{at}.projection"),
                format!("'{name}'"),
                format!(
                    "no projection has this name; projections: {}",
                    names.join(", ")
                ),
                did_you_mean(&name, &names),
            )
        })?;
        if weights.iter().any(|w| w.projection == projection) {
            return Err(Error::input(
                format!("{at}.projection"),
                format!("'{name}'"),
                "each projection is recorded once (it has one file, weights_<projection>.npy)",
                "remove the second recorder of it",
            ));
        }
        weights.push(WeightProbe {
            projection,
            every_steps,
        });
    }
    Ok(())
}

/// Bytes a weight recorder's writer buffers before writing (the rows go to disk straight from
/// the network's weight arrays).
pub const WEIGHT_RECORDER_BUFFER_BYTES: u64 = 1 << 20;

/// One `[[rule]]` table.
fn rule_spec(table: Table, at: &str) -> Result<RuleSpec> {
    let mut f = Fields::new(table, at);
    let rule = f.string("rule")?;
    let config = match f.take("config") {
        None => None,
        Some(v) => Some(PathBuf::from(as_string(v, &format!("{at}.config"))?)),
    };
    let inline = f.rest();
    if config.is_some()
        && let Some(k) = inline.keys().next()
    {
        return Err(Error::input(
            format!("{at}.{k}"),
            "",
            "a [[rule]] takes either `config = \"FILE.toml\"` or its parameters inline, not both",
            "move the inline fields into the rule config file, or drop `config`",
        ));
    }
    Ok(RuleSpec {
        at: at.to_string(),
        rule,
        config,
        inline,
    })
}

/// Steps of state samples a recorder holds in memory between writes (`eligo simulate` writes
/// them out every 10 000 steps).
pub const RECORD_CHUNK_STEPS: u64 = 10_000;

impl SimConfig {
    /// The memory estimate of the network (see [`NetworkSpec::estimate`]) plus the state
    /// recorders' buffers: 4 bytes per sample of up to [`RECORD_CHUNK_STEPS`] steps, and
    /// [`WEIGHT_RECORDER_BUFFER_BYTES`] per weight recorder file.
    pub fn estimate(&self, threads: usize) -> Result<crate::network::Estimate> {
        let cols: u64 = self
            .record
            .state
            .iter()
            .map(|p| p.neurons.len() as u64)
            .sum();
        let rows = self.steps.min(RECORD_CHUNK_STEPS);
        Ok(self.network.estimate(threads)?.with_recorders(
            cols.saturating_mul(4 * (rows + 1)).saturating_add(
                (self.weights.len() as u64).saturating_mul(WEIGHT_RECORDER_BUFFER_BYTES),
            ),
        ))
    }

    /// Bytes of the state trace files (`steps x neurons` 32-bit floats each) and of the weight
    /// recorder files (`samples x synapses` 32-bit floats each, synapses as the network
    /// description expects them); spike files depend on the activity and are not counted.
    pub fn output_bytes(&self) -> u64 {
        let state = self
            .record
            .state
            .iter()
            .map(|p| (p.neurons.len() as u64).saturating_mul(self.steps.saturating_mul(4)));
        let weights = self.weights.iter().map(|w| {
            let rows = self.steps / w.every_steps;
            self.expected_synapses(w.projection)
                .saturating_mul(rows.saturating_mul(4))
        });
        state.chain(weights).fold(0, u64::saturating_add)
    }

    /// Synapses projection `j` of the description makes (expected, rounded up, for a random
    /// rule).
    fn expected_synapses(&self, j: usize) -> u64 {
        let net = &self.network;
        let s = &net.projections[j];
        let size_of = |name: &str| {
            net.populations
                .iter()
                .find(|p| p.name == name)
                .map_or(0, |p| p.size)
        };
        s.rule
            .expected_synapses(
                size_of(&s.from),
                size_of(&s.to),
                s.from == s.to && !s.allow_autapses,
            )
            .ceil() as u64
    }
}

fn population(table: Table, at: &str) -> Result<PopulationSpec> {
    let mut f = Fields::new(table, at);
    let name = f.string("name")?;
    let at = format!("{at} '{name}'");
    f.at = at.clone();
    let size = f.u64("size")?;
    let size = u32::try_from(size)
        .map_err(|_| Error::input(format!("{at}.size"), size, "must be at most 4294967295", ""))?;
    let model = f.string("model")?;
    let v_init = match f.take("v_init") {
        None => None,
        Some(v) => Some(weight_dist(v, &format!("{at}.v_init"))?),
    };
    let rest = Value::Table(f.rest());
    fn params<T: serde::de::DeserializeOwned + Serialize + Default>(
        rest: Value,
        at: &str,
        model: &str,
    ) -> Result<T> {
        let mut allowed: Vec<String> = match Value::try_from(T::default()) {
            Ok(Value::Table(t)) => t.keys().cloned().collect(),
            _ => Vec::new(),
        };
        // optional fields (unset in the defaults, so not serialized above)
        if matches!(model, "lif" | "alif" | "lif_exp") {
            for k in ["t_ref_ms", "n_ref"] {
                if !allowed.iter().any(|a| a == k) {
                    allowed.push(k.into());
                }
            }
        }
        if let Value::Table(t) = &rest {
            for k in t.keys() {
                if !allowed.contains(k) {
                    let mut all: Vec<&str> = vec!["name", "model", "size", "v_init"];
                    all.extend(allowed.iter().map(String::as_str));
                    return Err(Error::input(
                        format!("{at}.{k}"),
                        "",
                        format!(
                            "unknown field for model '{model}'; allowed: {}",
                            all.join(", ")
                        ),
                        did_you_mean(k, &all),
                    ));
                }
            }
        }
        // the path of the failing value (`tau_m_ms`, `times_ms[0]`) goes into the field name
        serde_path_to_error::deserialize(rest).map_err(|e| {
            let path = e.path().to_string();
            let msg = e.into_inner().message().trim_end().to_string();
            if path == "." {
                Error::input(at, "", msg, "")
            } else {
                Error::input(format!("{at}.{path}"), "", msg, "")
            }
        })
    }
    let model = match model.as_str() {
        "lif" => ModelSpec::Lif(params(rest, &at, &model)?),
        "alif" => ModelSpec::Alif(params(rest, &at, &model)?),
        "lif_exp" => ModelSpec::LifExp(params(rest, &at, &model)?),
        "readout" => ModelSpec::Readout(params(rest, &at, &model)?),
        "poisson" => ModelSpec::Poisson(params(rest, &at, &model)?),
        "spike_times" => ModelSpec::SpikeTimes(params(rest, &at, &model)?),
        "external" => {
            params::<crate::neuron::source::NoParams>(rest, &at, &model)?;
            ModelSpec::External
        }
        other => {
            return Err(Error::input(
                format!("{at}.model"),
                format!("'{other}'"),
                format!("unknown model; allowed: {}", MODEL_NAMES.join(", ")),
                did_you_mean(other, MODEL_NAMES),
            ));
        }
    };
    Ok(PopulationSpec {
        name,
        size,
        model,
        v_init,
    })
}

const RULES: &[&str] = &[
    "all_to_all",
    "fixed_probability",
    "fixed_indegree",
    "fixed_total_number",
    "fixed_outdegree",
    "list",
];

/// Every field a `[[projection]]` table may hold, in the order the errors list them.
const PROJECTION_FIELDS: &[&str] = &[
    "name",
    "from",
    "to",
    "rule",
    "p",
    "k",
    "n",
    "pairs",
    "weights",
    "delay_steps_list",
    "weight",
    "delay_steps",
    "delay_ms",
    "receptor",
    "allow_autapses",
];

/// One `[[projection]]` table. Fields are read in a fixed order (name, ends, rule, weight,
/// delay, receptor, autapses), so the first of several mistakes is the one reported.
fn projection(table: Table, at: &str, dt_ms: f64) -> Result<ProjectionSpec> {
    let mut f = Fields::new(table, at);
    let name = match f.take("name") {
        None => None,
        Some(v) => Some(as_string(v, &format!("{at}.name"))?),
    };
    let from = f.string("from")?;
    let to = f.string("to")?;
    let at = format!(
        "{at} '{}'",
        name.clone().unwrap_or_else(|| format!("{from}->{to}"))
    );
    f.at = at.clone();
    let rule = connect_rule(&mut f, &at)?;
    let weight = projection_weight(&mut f, &at, &rule)?;
    let delay_normal_ms = delay_normal(&mut f, &at, dt_ms)?;
    let delay_steps = projection_delay(&mut f, &at, dt_ms)?;
    let receptor = projection_receptor(&mut f, &at)?;
    let allow_autapses = match f.take("allow_autapses") {
        None => false,
        Some(Value::Boolean(b)) => b,
        Some(v) => {
            return Err(Error::input(
                format!("{at}.allow_autapses"),
                v,
                "must be true or false",
                "",
            ));
        }
    };
    f.finish(PROJECTION_FIELDS)?;
    Ok(ProjectionSpec {
        name,
        from,
        to,
        rule,
        weight,
        delay_steps,
        delay_normal_ms,
        receptor,
        allow_autapses,
    })
}

/// `delay_ms = { kind = "normal", mean = .., std = .. }` (ms), validated against `dt_ms`; any
/// other `delay_ms` is left for [`projection_delay`].
fn delay_normal(f: &mut Fields, at: &str, dt_ms: f64) -> Result<Option<(f64, f64)>> {
    let path = format!("{at}.delay_ms");
    let t = match f.take("delay_ms") {
        Some(Value::Table(t)) => t,
        Some(v) => {
            f.t.insert("delay_ms".into(), v);
            return Ok(None);
        }
        None => return Ok(None),
    };
    if f.t.contains_key("delay_steps") {
        return Err(Error::input(
            &path,
            "",
            "give either delay_steps or delay_ms, not both",
            "",
        ));
    }
    let mut g = Fields::new(t, &path);
    let kind = g.string("kind")?;
    if kind != "normal" {
        return Err(Error::input(
            format!("{path}.kind"),
            format!("'{kind}'"),
            "a per-synapse delay distribution must be kind = \"normal\"",
            "or give one delay for the projection: delay_ms = 1.5",
        ));
    }
    let (mean, std) = (g.f64("mean")?, g.f64("std")?);
    g.finish(&["kind", "mean", "std"])?;
    crate::network::Delay::normal_ms(mean, std, dt_ms).map_err(|e| e.under(&path))?;
    Ok(Some((mean, std)))
}

/// The projection's `rule` and the fields that rule reads (`p`, `k` or the lists).
fn connect_rule(f: &mut Fields, at: &str) -> Result<ConnectRule> {
    let rule_name = f.string("rule")?;
    Ok(match rule_name.as_str() {
        "all_to_all" => ConnectRule::AllToAll,
        "fixed_probability" => ConnectRule::FixedProbability { p: f.f64("p")? },
        "fixed_indegree" => ConnectRule::FixedIndegree { k: f.u32("k")? },
        "fixed_outdegree" => ConnectRule::FixedOutdegree { k: f.u32("k")? },
        "fixed_total_number" => ConnectRule::FixedTotalNumber { n: f.u64("n")? },
        "list" => ConnectRule::List {
            pairs: list_pairs(f, at)?,
            weights: list_weights(f, at)?,
            delay_steps: list_delays(f, at)?,
        },
        other => {
            return Err(Error::input(
                format!("{at}.rule"),
                format!("'{other}'"),
                format!("unknown connection rule; allowed: {}", RULES.join(", ")),
                did_you_mean(other, RULES),
            ));
        }
    })
}

/// `pairs = [[pre, post], ...]` of rule `list` (required).
fn list_pairs(f: &mut Fields, at: &str) -> Result<Vec<(u32, u32)>> {
    match f.take("pairs") {
        Some(Value::Array(a)) => a
            .into_iter()
            .enumerate()
            .map(|(k, v)| {
                let l = u32_list(v, &format!("{at}.pairs[{k}]"))?;
                if l.len() == 2 {
                    Ok((l[0], l[1]))
                } else {
                    Err(Error::input(
                        format!("{at}.pairs[{k}]"),
                        format!("{l:?}"),
                        "each pair is [pre, post]",
                        "",
                    ))
                }
            })
            .collect(),
        other => Err(Error::input(
            format!("{at}.pairs"),
            other.map_or("missing".into(), |v| v.to_string()),
            "rule 'list' needs pairs = [[pre, post], ...]",
            "",
        )),
    }
}

/// `weights = [...]` of rule `list` (optional), one per pair, each representable as f32.
fn list_weights(f: &mut Fields, at: &str) -> Result<Option<Vec<f32>>> {
    let Some(v) = f.take("weights") else {
        return Ok(None);
    };
    f64_list(v, &format!("{at}.weights"))?
        .into_iter()
        .enumerate()
        .map(|(k, w)| crate::limits::fits_f32(&format!("{at}.weights[{k}]"), w).map(|w| w as f32))
        .collect::<Result<_>>()
        .map(Some)
}

/// `delay_steps_list = [...]` of rule `list` (optional), each delay in 1..=65535 steps.
fn list_delays(f: &mut Fields, at: &str) -> Result<Option<Vec<u16>>> {
    let Some(v) = f.take("delay_steps_list") else {
        return Ok(None);
    };
    u32_list(v, &format!("{at}.delay_steps_list"))?
        .into_iter()
        .enumerate()
        .map(|(k, d)| {
            u16::try_from(d).ok().filter(|&d| d >= 1).ok_or_else(|| {
                Error::input(
                    format!("{at}.delay_steps_list[{k}]"),
                    d,
                    "a delay must be between 1 and 65535 steps",
                    "spikes of step t reach their targets at t + delay",
                )
            })
        })
        .collect::<Result<_>>()
        .map(Some)
}

/// The projection's `weight`: required, except under rule `list` with its own `weights`.
fn projection_weight(f: &mut Fields, at: &str, rule: &ConnectRule) -> Result<WeightDist> {
    match f.take("weight") {
        None if matches!(
            rule,
            ConnectRule::List {
                weights: Some(_),
                ..
            }
        ) =>
        {
            Ok(WeightDist::Constant(0.0))
        }
        None => Err(Error::input(
            format!("{at}.weight"),
            "missing",
            "a weight is required: a number or { kind = \"normal\", mean = .., std = .. }",
            "",
        )),
        Some(v) => weight_dist(v, &format!("{at}.weight")),
    }
}

/// The projection's delay from `delay_steps` or `delay_ms` (at most one of them; default 1
/// step), in 1..=65535 steps.
fn projection_delay(f: &mut Fields, at: &str, dt_ms: f64) -> Result<u16> {
    match (f.take("delay_steps"), f.take("delay_ms")) {
        (Some(_), Some(_)) => Err(Error::input(
            format!("{at}.delay_ms"),
            "",
            "give either delay_steps or delay_ms, not both",
            "",
        )),
        (Some(v), None) => {
            let d = as_i64(v, &format!("{at}.delay_steps"))?;
            if d < 1 || d > i64::from(u16::MAX) {
                return Err(Error::input(
                    format!("{at}.delay_steps"),
                    d,
                    "a delay must be between 1 and 65535 steps",
                    "spikes of step t reach their targets at t + delay_steps",
                ));
            }
            Ok(d as u16)
        }
        (None, Some(v)) => {
            let ms = as_f64(v, &format!("{at}.delay_ms"))?;
            let d = crate::neuron::steps_of(ms, dt_ms)
                .map_err(|e| e.under(&format!("{at}.delay_ms")))?;
            if d < 1 || d > u64::from(u16::MAX) {
                return Err(Error::input(
                    format!("{at}.delay_ms"),
                    crate::limits::num(ms),
                    format!(
                        "a delay must be between 1 and 65535 steps of dt = {} ms",
                        crate::limits::num(dt_ms)
                    ),
                    format!("try delay_ms = {}", crate::limits::num(dt_ms)),
                ));
            }
            Ok(d as u16)
        }
        (None, None) => Ok(1),
    }
}

/// The projection's optional `receptor` (`exc` or `inh`).
fn projection_receptor(f: &mut Fields, at: &str) -> Result<Option<Receptor>> {
    let Some(v) = f.take("receptor") else {
        return Ok(None);
    };
    match as_string(v, &format!("{at}.receptor"))?.as_str() {
        "exc" => Ok(Some(Receptor::Exc)),
        "inh" => Ok(Some(Receptor::Inh)),
        other => Err(Error::input(
            format!("{at}.receptor"),
            format!("'{other}'"),
            "allowed: exc, inh",
            "",
        )),
    }
}

/// A weight (or initial value) distribution: a number or `{ kind = ..., ... }`.
fn weight_dist(v: Value, at: &str) -> Result<WeightDist> {
    let d = match v {
        Value::Float(_) | Value::Integer(_) => {
            WeightDist::Constant(crate::limits::fits_f32(at, as_f64(v, at)?)?)
        }
        Value::Table(t) => {
            let mut f = Fields::new(t, at);
            let kind = f.string("kind")?;
            let d = match kind.as_str() {
                "constant" => WeightDist::Constant(f.f64("value")?),
                "normal" => {
                    let (mean, std) = (f.f64("mean")?, f.f64("std")?);
                    match (f.take("min"), f.take("max")) {
                        (None, None) => WeightDist::Normal { mean, std },
                        (lo, hi) => WeightDist::BoundedNormal {
                            mean,
                            std,
                            min: lo.map_or(Ok(f64::NEG_INFINITY), |v| {
                                as_f64(v, &format!("{at}.min"))
                            })?,
                            max: hi
                                .map_or(Ok(f64::INFINITY), |v| as_f64(v, &format!("{at}.max")))?,
                        },
                    }
                }
                "uniform" => WeightDist::Uniform {
                    low: f.f64("low")?,
                    high: f.f64("high")?,
                },
                other => {
                    return Err(Error::input(
                        format!("{at}.kind"),
                        format!("'{other}'"),
                        "allowed: constant, normal, uniform",
                        did_you_mean(other, &["constant", "normal", "uniform"]),
                    ));
                }
            };
            f.finish(&["kind", "value", "mean", "std", "min", "max", "low", "high"])?;
            d
        }
        other => {
            return Err(Error::input(
                at,
                other,
                "must be a number or a table like { kind = \"normal\", mean = 0.1, std = 0.02 }",
                "",
            ));
        }
    };
    d.validate().map_err(|e| e.under(at))?;
    Ok(d)
}

/// Fields of a TOML table, taken one by one; `finish` refuses whatever is left.
struct Fields {
    t: Table,
    at: String,
}

impl Fields {
    fn new(t: Table, at: &str) -> Self {
        Fields {
            t,
            at: at.to_string(),
        }
    }
    fn path(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.at)
        }
    }
    fn take(&mut self, key: &str) -> Option<Value> {
        self.t.remove(key)
    }
    fn need(&mut self, key: &str) -> Result<Value> {
        let path = self.path(key);
        self.take(key)
            .ok_or_else(|| Error::input(path, "missing", "this field is required", ""))
    }
    fn string(&mut self, key: &str) -> Result<String> {
        let v = self.need(key)?;
        as_string(v, &self.path(key))
    }
    fn string_or(&mut self, key: &str, default: &str) -> Result<String> {
        match self.take(key) {
            None => Ok(default.to_string()),
            Some(v) => as_string(v, &self.path(key)),
        }
    }
    fn f64(&mut self, key: &str) -> Result<f64> {
        let v = self.need(key)?;
        as_f64(v, &self.path(key))
    }
    fn f64_or(&mut self, key: &str, default: f64) -> Result<f64> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => as_f64(v, &self.path(key)),
        }
    }
    fn u64(&mut self, key: &str) -> Result<u64> {
        let v = self.need(key)?;
        let path = self.path(key);
        let i = as_i64(v, &path)?;
        u64::try_from(i).map_err(|_| Error::input(path, i, "must be a whole number >= 0", ""))
    }
    fn u32(&mut self, key: &str) -> Result<u32> {
        let v = self.u64(key)?;
        u32::try_from(v)
            .map_err(|_| Error::input(self.path(key), v, "must be at most 4294967295", ""))
    }
    fn u64_or(&mut self, key: &str, default: u64) -> Result<u64> {
        if self.t.contains_key(key) {
            self.u64(key)
        } else {
            Ok(default)
        }
    }
    fn array_of_tables(&mut self, key: &str) -> Result<Vec<Table>> {
        match self.take(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Table(t) => Ok(t),
                    other => Err(Error::input(
                        format!("{}[{i}]", self.path(key)),
                        other,
                        format!("must be a table: write [[{key}]]"),
                        "",
                    )),
                })
                .collect(),
            Some(other) => Err(Error::input(
                self.path(key),
                other,
                format!("must be a list of tables: write [[{key}]]"),
                "",
            )),
        }
    }
    fn rest(self) -> Table {
        self.t
    }
    fn finish(self, known: &[&str]) -> Result<()> {
        if let Some(k) = self.t.keys().next() {
            return Err(Error::input(
                self.path(k),
                "",
                format!("unknown field; allowed here: {}", known.join(", ")),
                did_you_mean(k, known),
            ));
        }
        Ok(())
    }
}

fn as_string(v: Value, at: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(Error::input(at, other, "must be a string", "")),
    }
}

fn as_f64(v: Value, at: &str) -> Result<f64> {
    match v {
        Value::Float(x) => Ok(x),
        Value::Integer(i) => Ok(i as f64),
        other => Err(Error::input(at, other, "must be a number", "")),
    }
}

fn as_i64(v: Value, at: &str) -> Result<i64> {
    match v {
        Value::Integer(i) => Ok(i),
        // TOML keeps 1e8 a float: refused everywhere a count is read, with the spelling to use
        Value::Float(x) if x.fract() == 0.0 && x.abs() < 9.2e18 => Err(Error::input(
            at,
            x,
            "must be a whole number written without a decimal point or exponent",
            format!("write {}", x as i64),
        )),
        other => Err(Error::input(at, other, "must be a whole number", "")),
    }
}

fn u32_list(v: Value, at: &str) -> Result<Vec<u32>> {
    match v {
        Value::Array(a) => a
            .into_iter()
            .enumerate()
            .map(|(k, x)| {
                let p = format!("{at}[{k}]");
                let i = as_i64(x, &p)?;
                u32::try_from(i)
                    .map_err(|_| Error::input(p, i, "must be a whole number in 0..=4294967295", ""))
            })
            .collect(),
        other => Err(Error::input(
            at,
            other,
            "must be a list of whole numbers",
            "",
        )),
    }
}

fn f64_list(v: Value, at: &str) -> Result<Vec<f64>> {
    match v {
        Value::Array(a) => a
            .into_iter()
            .enumerate()
            .map(|(k, x)| as_f64(x, &format!("{at}[{k}]")))
            .collect(),
        other => Err(Error::input(at, other, "must be a list of numbers", "")),
    }
}
