//! `--rule`, `--rule-config`, `--plugin-dir`, `--param`, `--modulator`: the learning rules of a
//! run as the command line asks for them (attached by `eligo_engine::train::rules`), and what
//! the summary says of them.

use std::path::PathBuf;

use anyhow::Result;
use eligo_engine::io::npy;
use eligo_engine::network::Network;
use eligo_engine::plugin::RuleInstance;
use eligo_engine::prelude::*;
use eligo_engine::train::rules::RuleRequest;
use serde_json::{Value, json};

/// Learning-rule options of `simulate` and `grad`.
#[derive(clap::Args, Clone, Default)]
pub struct RuleArgs {
    /// Learning rule: a plugin name (see `eligo plugins`) or the path of a plugin library.
    /// Repeat for several rules, each on its own projections (`[host] plastic` in each rule
    /// config). Default: the network description's `[[rule]]` tables.
    #[arg(long)]
    pub rule: Vec<String>,
    /// The rule's parameters and host options (TOML; see docs/writing-a-rule.md). With several
    /// --rule: one per rule, in the same order.
    #[arg(long, requires = "rule")]
    pub rule_config: Vec<PathBuf>,
    /// Extra directory to look for plugins in (searched first; repeatable).
    #[arg(long)]
    pub plugin_dir: Vec<PathBuf>,
    /// Any parameter of the rule, e.g. --param a_plus=0.01 (repeatable; wins over the rule
    /// config). With several rules, name the rule: RULE.NAME=VALUE, RULE its name or its
    /// position (1, 2, ...), e.g. --param 2.a_plus=0.01.
    #[arg(long, value_name = "[RULE.]NAME=VALUE")]
    pub param: Vec<String>,
    /// A modulator channel for the rules (a reward, a neuromodulator trace): a 1-D float .npy
    /// with one value per step of the run, read by the rules at each step (repeatable).
    #[arg(long, value_name = "NAME=FILE.npy")]
    pub modulator: Vec<String>,
}

pub use eligo_engine::train::rules::check_config_count;

impl RuleArgs {
    /// The engine's request: `--modulator` files read, one value per step of the
    /// `steps`-step run.
    pub fn request(&self, steps: u64) -> Result<RuleRequest> {
        Ok(RuleRequest {
            rule: self.rule.clone(),
            rule_config: self.rule_config.clone(),
            plugin_dir: self.plugin_dir.clone(),
            param: self.param.clone(),
            modulator: self
                .modulator
                .iter()
                .map(|m| read_modulator(m, steps))
                .collect::<Result<_>>()?,
        })
    }
}

/// `--modulator NAME=FILE.npy` read: the channel's name and its value at every step of the
/// `steps`-step run.
pub fn read_modulator(arg: &str, steps: u64) -> Result<(String, Vec<f32>)> {
    let Some((name, path)) = arg.split_once('=') else {
        return Err(Error::input(
            "--modulator",
            arg,
            "must be NAME=FILE.npy",
            "e.g. --modulator reward=reward.npy",
        )
        .into());
    };
    let path = std::path::Path::new(path);
    let hint = "save a 1-D float32 array with one value per step of the run (numpy.save)";
    let (shape, values) = npy::read_floats(path, "--modulator", steps, hint)?;
    eligo_engine::train::rules::check_modulator(
        &path.display().to_string(),
        &shape,
        &values,
        steps,
    )?;
    Ok((name.to_string(), values))
}

/// What the summary says about rule `k` (attach order).
fn rule_summary(
    sim: &Simulation,
    net: &Network,
    k: usize,
    r: &RuleInstance,
    initial: &[Vec<f32>],
) -> Value {
    let p = r.plugin();
    let projections: Vec<Value> = net
        .projections
        .iter()
        .zip(initial)
        .map(|(proj, w0)| {
            let mean = |w: &[f32]| w.iter().map(|x| f64::from(*x)).sum::<f64>() / w.len().max(1) as f64;
            json!({"name": proj.name, "mean_weight_before": mean(w0), "mean_weight_after": mean(&proj.weights)})
        })
        .collect();
    let plastic: Vec<&str> = net
        .projections
        .iter()
        .zip(r.plastic())
        .filter(|(_, on)| **on)
        .map(|(proj, _)| proj.name.as_str())
        .collect();
    let grads: Vec<f64> = sim
        .rule_grads(k)
        .iter()
        .map(|g| g.iter().map(|x| f64::from(x.abs())).sum())
        .collect();
    json!({
        "name": p.name, "version": p.version,
        "path": p.path.as_ref().map(|x| x.display().to_string()),
        "plastic": plastic,
        "changes_applied": r.changes_applied(),
        "diagnostics": sim.rule_diagnostics(k).values().into_iter().map(|(k, v)| (k, json!(v))).collect::<serde_json::Map<String, Value>>(),
        "projections": projections,
        "gradient_l1": grads,
    })
}

/// What the summary says about the rules: one object per rule, in attach order (`rules`), and
/// the first of them as `rule` (null without rules), as before several rules were possible.
/// `net`: the network as run (over several ranks: every rank's synapses, assembled).
pub fn summary(sim: &Simulation, net: &Network, initial: &[Vec<f32>]) -> (Value, Value) {
    let all: Vec<Value> = sim
        .rules()
        .enumerate()
        .map(|(k, r)| rule_summary(sim, net, k, r, initial))
        .collect();
    (
        all.first().cloned().unwrap_or(Value::Null),
        Value::Array(all),
    )
}
