//! `--rule`, `--rule-config`, `--plugin-dir`: attaching a learning-rule plugin to a run.

use std::path::PathBuf;

use anyhow::Result;
use eligo_engine::io::npy;
use eligo_engine::optim::Optimizer;
use eligo_engine::plugin::{RuleInstance, config, loader};
use eligo_engine::prelude::*;
use serde_json::{Value, json};

/// Learning-rule options of `simulate` and `grad`.
#[derive(clap::Args, Clone, Default)]
pub struct RuleArgs {
    /// Learning rule: a plugin name (see `eligo plugins`) or the path of a plugin library.
    #[arg(long)]
    pub rule: Option<String>,
    /// The rule's parameters and host options (TOML; see docs/writing-a-rule.md).
    #[arg(long, requires = "rule")]
    pub rule_config: Option<PathBuf>,
    /// Extra directory to look for plugins in (searched first; repeatable).
    #[arg(long)]
    pub plugin_dir: Vec<PathBuf>,
    /// Any parameter of the rule, e.g. --param a_plus=0.01 (repeatable; wins over
    /// --rule-config).
    #[arg(long, value_name = "NAME=VALUE", requires = "rule")]
    pub param: Vec<String>,
    /// A modulator channel for the rule (a reward, a neuromodulator trace): a 1-D float .npy
    /// with one value per step of the run, read by the rule at each step (repeatable).
    #[arg(long, value_name = "NAME=FILE.npy", requires = "rule")]
    pub modulator: Vec<String>,
}

/// Load, configure and attach the rule, if one was asked for; returns the optimizer that
/// applies a gradient rule's output.
pub fn attach(args: &RuleArgs, sim: &mut Simulation, seq_len: u64) -> Result<Option<Optimizer>> {
    let Some(rule) = &args.rule else {
        return Ok(None);
    };
    let plugin = loader::find(rule, &args.plugin_dir)?;
    let mut cfg = match &args.rule_config {
        Some(p) => config::load(p, &plugin)?,
        None => config::defaults(&plugin),
    };
    for p in eligo_engine::train::setup::parse_params(&args.param)? {
        eligo_engine::train::setup::set_named(&plugin, &mut cfg.values, &p)?;
    }
    let in_file = |e: Error| match &args.rule_config {
        Some(p) => e.in_file(p),
        None => e,
    };
    let optimizer = cfg
        .host
        .build_optimizer(sim.network(), &[])
        .map_err(in_file)?;
    for m in &args.modulator {
        add_modulator(sim, m, seq_len)?;
    }
    let inst = RuleInstance::with_modulators(
        plugin,
        sim.network(),
        &cfg.values,
        cfg.host,
        seq_len,
        sim.modulator_names(),
    )
    .map_err(in_file)?;
    sim.set_rule(inst)?;
    Ok(Some(optimizer))
}

/// `--modulator NAME=FILE.npy`: a channel with one value per step of the `steps`-step run.
fn add_modulator(sim: &mut Simulation, arg: &str, steps: u64) -> Result<()> {
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
    if shape.len() != 1 || shape[0] != steps {
        return Err(Error::input(
            "--modulator",
            path.display(),
            format!("has shape {shape:?}; the run has {steps} steps, so it needs shape [{steps}] (one value per step)"),
            hint,
        )
        .into());
    }
    let k = sim
        .add_modulator(name)
        .map_err(|e| e.under("--modulator"))?;
    sim.set_modulator_series(k, Some(values));
    Ok(())
}

/// What the summary says about the rule.
pub fn summary(sim: &Simulation, initial: &[Vec<f32>]) -> Value {
    let Some(r) = sim.rule() else {
        return Value::Null;
    };
    let p = r.plugin();
    let net = sim.network();
    let projections: Vec<Value> = net
        .projections
        .iter()
        .zip(initial)
        .map(|(proj, w0)| {
            let mean = |w: &[f32]| w.iter().map(|x| f64::from(*x)).sum::<f64>() / w.len().max(1) as f64;
            json!({"name": proj.name, "mean_weight_before": mean(w0), "mean_weight_after": mean(&proj.weights)})
        })
        .collect();
    let grads: Vec<f64> = sim
        .grads()
        .iter()
        .map(|g| g.iter().map(|x| f64::from(x.abs())).sum())
        .collect();
    json!({
        "name": p.name, "version": p.version,
        "path": p.path.as_ref().map(|x| x.display().to_string()),
        "changes_applied": r.changes_applied(),
        "diagnostics": sim.diagnostics().values().into_iter().map(|(k, v)| (k, json!(v))).collect::<serde_json::Map<String, Value>>(),
        "projections": projections,
        "gradient_l1": grads,
    })
}
