//! Choosing and attaching learning rules to a simulation, for every front end (the CLI's
//! `simulate` and `grad`, the Python package): the rules a request names or, if none, the
//! network description's `[[rule]]` tables, loaded, configured, their named parameters set,
//! and attached with the request's modulator channels.
//!
//! Error messages name the command line's flags (`--rule-config`, `--param`, `--modulator`);
//! the Python package passes its keyword arguments through the same request.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::config::RuleSpec;
use crate::optim::Optimizer;
use crate::plugin::{Plugin, RuleInstance, config, loader};
use crate::sim::Simulation;

/// The rules of a run as a user asked for them.
#[derive(Clone, Debug, Default)]
pub struct RuleRequest {
    /// Plugin names (see `eligo plugins`) or library paths; empty: the description's rules.
    pub rule: Vec<String>,
    /// One rule config (TOML) per rule, in the same order, or none.
    pub rule_config: Vec<PathBuf>,
    /// Extra plugin directories, searched first.
    pub plugin_dir: Vec<PathBuf>,
    /// `NAME=VALUE` or `RULE.NAME=VALUE` parameter settings (win over the rule configs).
    pub param: Vec<String>,
    /// Modulator channels: name and one value per step of the run.
    pub modulator: Vec<(String, Vec<f32>)>,
}

/// A rule to attach: its plugin and configuration, and the file errors in the configuration
/// point at.
pub struct Chosen {
    /// The plugin.
    pub plugin: Plugin,
    /// Its parameter values and host options.
    pub cfg: config::RuleConfig,
    /// The rule config file (or the network description holding its `[[rule]]` table).
    pub file: Option<PathBuf>,
}

/// One rule config per rule, or none.
pub fn check_config_count(rules: &[String], configs: &[PathBuf]) -> Result<()> {
    if !configs.is_empty() && configs.len() != rules.len() {
        return Err(Error::input(
            "--rule-config",
            format!("{} given for {} --rule", configs.len(), rules.len()),
            "give one --rule-config per --rule, in the same order, or none (every rule then takes its defaults)",
            "e.g. --rule stdp --rule-config a.toml --rule stdp --rule-config b.toml",
        ));
    }
    Ok(())
}

/// The rules `req` names (or, if none, the description's `file_rules`, read from `net_file`),
/// loaded and configured.
fn choose(
    req: &RuleRequest,
    file_rules: &[RuleSpec],
    net_file: Option<&Path>,
) -> Result<Vec<Chosen>> {
    check_config_count(&req.rule, &req.rule_config)?;
    let in_net = |e: Error| match net_file {
        Some(f) => e.in_file(f),
        None => e,
    };
    if !req.rule.is_empty() {
        return req
            .rule
            .iter()
            .enumerate()
            .map(|(k, rule)| {
                let plugin = loader::find(rule, &req.plugin_dir)?;
                let file = req.rule_config.get(k).cloned();
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
            let plugin = loader::find(&r.rule, &req.plugin_dir)
                .map_err(|e| in_net(e.under(&format!("{}.rule", r.at))))?;
            let (cfg, file) = match &r.config {
                Some(p) => (
                    config::load(p, &plugin).map_err(|e| in_net(e.under(&r.at)))?,
                    Some(p.clone()),
                ),
                None => {
                    let text = toml::to_string(&r.inline).unwrap_or_default();
                    let cfg = config::parse(&text, &plugin).map_err(|e| in_net(e.under(&r.at)))?;
                    (cfg, net_file.map(Path::to_path_buf))
                }
            };
            Ok(Chosen { plugin, cfg, file })
        })
        .collect()
}

/// Apply `req.param` to the chosen rules: `NAME=VALUE` with one rule, `RULE.NAME=VALUE` (RULE
/// a rule's name or position) with any number (see [`super::setup::route_params`]).
fn apply_params(req: &RuleRequest, chosen: &mut [Chosen]) -> Result<()> {
    let names: Vec<String> = chosen.iter().map(|c| c.plugin.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let params = super::setup::parse_params(&req.param)?;
    let routed = super::setup::route_params(&params, &names)?;
    for (c, params) in chosen.iter_mut().zip(routed) {
        for p in &params {
            super::setup::set_named(&c.plugin, &mut c.cfg.values, p)?;
        }
    }
    Ok(())
}

/// The rules `req` names or, if none, the description's (`file_rules`, from `net_file`),
/// loaded, with their rule configs and parameters applied.
pub fn configured(
    req: &RuleRequest,
    file_rules: &[RuleSpec],
    net_file: Option<&Path>,
) -> Result<Vec<Chosen>> {
    let mut chosen = choose(req, file_rules, net_file)?;
    if !chosen.is_empty() {
        apply_params(req, &mut chosen)?;
    }
    Ok(chosen)
}

/// Load, configure and attach the rules of `req` (as [`configured`]) to `sim`, whose
/// sequences are `seq_len` steps; returns one optimizer per rule, in attach order, to apply a
/// gradient rule's output.
pub fn attach(
    req: &RuleRequest,
    sim: &mut Simulation,
    seq_len: u64,
    file_rules: &[RuleSpec],
    net_file: Option<&Path>,
) -> Result<Vec<Optimizer>> {
    let chosen = configured(req, file_rules, net_file)?;
    attach_chosen(req, sim, seq_len, chosen)
}

/// Attach `chosen` (from [`configured`]) and `req`'s modulator channels to `sim`; as
/// [`attach`]. Parameters or modulators without any rule are refused.
pub fn attach_chosen(
    req: &RuleRequest,
    sim: &mut Simulation,
    seq_len: u64,
    chosen: Vec<Chosen>,
) -> Result<Vec<Optimizer>> {
    if chosen.is_empty() {
        let given = if !req.param.is_empty() {
            Some("--param")
        } else if !req.modulator.is_empty() {
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
            ));
        }
        return Ok(Vec::new());
    }
    for (name, values) in &req.modulator {
        let k = sim
            .add_modulator(name)
            .map_err(|e| e.under("--modulator"))?;
        sim.set_modulator_series(k, Some(values.clone()));
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

/// A modulator channel's series from `source` (its file, or how the caller names it): shape
/// `shape` must be `[steps]`, one value per step of the run, every value finite.
pub fn check_modulator(source: &str, shape: &[u64], values: &[f32], steps: u64) -> Result<()> {
    let hint = "save a 1-D float32 array with one value per step of the run (numpy.save)";
    if shape.len() != 1 || shape[0] != steps {
        return Err(Error::input(
            "--modulator",
            source,
            format!(
                "has shape {shape:?}; the run has {steps} steps, so it needs shape [{steps}] (one value per step)"
            ),
            hint,
        ));
    }
    if let Some(k) = values.iter().position(|x| !x.is_finite()) {
        return Err(Error::input(
            "--modulator",
            source,
            format!(
                "entry {k} is {}; the values must be finite float32 numbers",
                values[k]
            ),
            hint,
        ));
    }
    Ok(())
}
