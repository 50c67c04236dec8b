//! `--rule`, `--rule-config`, `--plugin-dir`, `--param`, `--modulator`: attaching learning-rule
//! plugins to a run — one or several, from the command line or the network description's
//! `[[rule]]` tables.

use std::path::{Path, PathBuf};

use anyhow::Result;
use eligo_engine::io::config::RuleSpec;
use eligo_engine::io::npy;
use eligo_engine::optim::Optimizer;
use eligo_engine::plugin::{RuleInstance, config, loader};
use eligo_engine::prelude::*;
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

/// A rule to attach: its plugin and configuration, and the file errors in the configuration
/// point at.
pub struct Chosen {
    /// The plugin.
    pub plugin: eligo_engine::plugin::Plugin,
    /// Its parameter values and host options.
    pub cfg: config::RuleConfig,
    /// The rule config file (or the network description holding its `[[rule]]` table).
    pub file: Option<PathBuf>,
}

/// One `--rule-config` per `--rule`, or none.
pub fn check_config_count(rules: &[String], configs: &[PathBuf]) -> Result<()> {
    if !configs.is_empty() && configs.len() != rules.len() {
        return Err(Error::input(
            "--rule-config",
            format!("{} given for {} --rule", configs.len(), rules.len()),
            "give one --rule-config per --rule, in the same order, or none (every rule then takes its defaults)",
            "e.g. --rule stdp --rule-config a.toml --rule stdp --rule-config b.toml",
        )
        .into());
    }
    Ok(())
}

/// The rules the command line names (or, if none, the network description's `[[rule]]`
/// tables), loaded and configured.
fn choose(args: &RuleArgs, file_rules: &[RuleSpec], net_file: &Path) -> Result<Vec<Chosen>> {
    check_config_count(&args.rule, &args.rule_config)?;
    if !args.rule.is_empty() {
        return args
            .rule
            .iter()
            .enumerate()
            .map(|(k, rule)| {
                let plugin = loader::find(rule, &args.plugin_dir)?;
                let file = args.rule_config.get(k).cloned();
                let cfg = match &file {
                    Some(p) => config::load(p, &plugin)?,
                    None => config::defaults(&plugin),
                };
                Ok(Chosen { plugin, cfg, file })
            })
            .collect();
    }
    file_rules
        .iter()
        .map(|r| {
            let plugin = loader::find(&r.rule, &args.plugin_dir)
                .map_err(|e| e.under(&format!("{}.rule", r.at)).in_file(net_file))?;
            let (cfg, file) = match &r.config {
                Some(p) => (
                    config::load(p, &plugin).map_err(|e| e.under(&r.at).in_file(net_file))?,
                    Some(p.clone()),
                ),
                None => {
                    let text = toml::to_string(&r.inline).unwrap_or_default();
                    let cfg = config::parse(&text, &plugin)
                        .map_err(|e| e.under(&r.at).in_file(net_file))?;
                    (cfg, Some(net_file.to_path_buf()))
                }
            };
            Ok(Chosen { plugin, cfg, file })
        })
        .collect()
}

/// Apply `--param` to the chosen rules: `NAME=VALUE` with one rule, `RULE.NAME=VALUE` (RULE a
/// rule's name or position) with any number (see `eligo_engine::train::setup::route_params`).
fn apply_params(args: &RuleArgs, chosen: &mut [Chosen]) -> Result<()> {
    let names: Vec<String> = chosen.iter().map(|c| c.plugin.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let params = eligo_engine::train::setup::parse_params(&args.param)?;
    let routed = eligo_engine::train::setup::route_params(&params, &names)?;
    for (c, params) in chosen.iter_mut().zip(routed) {
        for p in &params {
            eligo_engine::train::setup::set_named(&c.plugin, &mut c.cfg.values, p)?;
        }
    }
    Ok(())
}

/// The rules the command line names or, if none, the network description's (`file_rules`,
/// from `net_file`), loaded, with their rule configs and `--param` applied.
pub fn configured(
    args: &RuleArgs,
    file_rules: &[RuleSpec],
    net_file: &Path,
) -> Result<Vec<Chosen>> {
    let mut chosen = choose(args, file_rules, net_file)?;
    if !chosen.is_empty() {
        apply_params(args, &mut chosen)?;
    }
    Ok(chosen)
}

/// Load, configure and attach the rules the command line names or, if none, the network
/// description's (`file_rules`, from `net_file`); returns one optimizer per rule, in attach
/// order, to apply a gradient rule's output.
pub fn attach(
    args: &RuleArgs,
    sim: &mut Simulation,
    seq_len: u64,
    file_rules: &[RuleSpec],
    net_file: &Path,
) -> Result<Vec<Optimizer>> {
    let chosen = configured(args, file_rules, net_file)?;
    attach_chosen(args, sim, seq_len, chosen)
}

/// Attach `chosen` (from [`configured`]) and `args`' modulator channels to `sim`; as
/// [`attach`].
pub fn attach_chosen(
    args: &RuleArgs,
    sim: &mut Simulation,
    seq_len: u64,
    chosen: Vec<Chosen>,
) -> Result<Vec<Optimizer>> {
    if chosen.is_empty() {
        let given = if !args.param.is_empty() {
            Some("--param")
        } else if !args.modulator.is_empty() {
            Some("--modulator")
        } else {
            None
        };
        if let Some(flag) = given {
            return Err(Error::input(
                flag,
                "",
                "is for a learning rule, and the run has none",
                "name one with --rule, or add a [[rule]] table to the network description",
            )
            .into());
        }
        return Ok(Vec::new());
    }
    for m in &args.modulator {
        add_modulator(sim, m, seq_len)?;
    }
    let mut optimizers = Vec::with_capacity(chosen.len());
    for c in chosen {
        let in_file = |e: Error| match &c.file {
            Some(p) => e.in_file(p),
            None => e,
        };
        optimizers.push(
            c.cfg
                .host
                .build_optimizer(sim.network(), &[])
                .map_err(in_file)?,
        );
        let inst = RuleInstance::with_modulators(
            c.plugin,
            sim.network(),
            &c.cfg.values,
            c.cfg.host,
            seq_len,
            sim.modulator_names(),
        )
        .map_err(in_file)?;
        sim.add_rule(inst)?;
    }
    Ok(optimizers)
}

/// `--modulator NAME=FILE.npy`: a channel with one value per step of the `steps`-step run.
fn add_modulator(sim: &mut Simulation, arg: &str, steps: u64) -> Result<()> {
    let (name, values) = read_modulator(arg, steps)?;
    let k = sim
        .add_modulator(&name)
        .map_err(|e| e.under("--modulator"))?;
    sim.set_modulator_series(k, Some(values));
    Ok(())
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
    if shape.len() != 1 || shape[0] != steps {
        return Err(Error::input(
            "--modulator",
            path.display(),
            format!("has shape {shape:?}; the run has {steps} steps, so it needs shape [{steps}] (one value per step)"),
            hint,
        )
        .into());
    }
    Ok((name.to_string(), values))
}

/// What the summary says about rule `k` (attach order).
fn rule_summary(sim: &Simulation, k: usize, r: &RuleInstance, initial: &[Vec<f32>]) -> Value {
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
pub fn summary(sim: &Simulation, initial: &[Vec<f32>]) -> (Value, Value) {
    let all: Vec<Value> = sim
        .rules()
        .enumerate()
        .map(|(k, r)| rule_summary(sim, k, r, initial))
        .collect();
    (
        all.first().cloned().unwrap_or(Value::Null),
        Value::Array(all),
    )
}
