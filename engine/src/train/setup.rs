//! From what a user asks for (a task, a rule, parameters, a rule config, batch, learning rate,
//! threads, seed) to a ready [`Trainer`] and the settings its checkpoints record: the one place
//! where the layers of defaults are merged, for every front end.
//!
//! Rule parameters, each layer replacing the one before where it names a parameter:
//! 1. the rule's own defaults (its parameter table);
//! 2. the task's proposals ([`crate::task::Defaults::rule_params`], e.g. `c_reg = 150` for
//!    pattern generation), applied only to rules that declare a parameter of that name;
//! 3. a front end's defaults for parameters the rule may not have (`train`'s `--feedback
//!    random`, `--mode event`), applied only where declared and the value is one the rule
//!    accepts (`stdp`'s `mode` is `additive` or `multiplicative`: it keeps its own default);
//! 4. the rule config file, for the parameters it names; its `[host]` table replaces the host
//!    options, and its `[optimizer]` `kind` and `lr` replace the task's only where given;
//! 5. the parameters the user named (`--param NAME=VALUE`, and the e-prop aliases
//!    `--feedback`, `--mode`), which must be parameters of the rule.
//!
//! The learning rate is then `lr` if given.
//!
//! Several rules ([`RunSpec::more_rules`]): each rule goes through these layers on its own
//! (the task's proposals and the front end's defaults reach every rule that declares the
//! parameter; a user's parameter names its rule, `RULE.NAME=VALUE`, see [`route_params`]), and
//! each has its own optimizer: its rule config's `[optimizer]` `kind` and `lr` where given, else
//! the task's, and `lr` if given for every rule.

use std::path::PathBuf;

use super::checkpoint::{self, Settings};
use super::trainer::{TrainConfig, TrainRule, Trainer};
use crate::data::{self, task::DataTask};
use crate::error::{Error, Result, did_you_mean};
use crate::plugin::config::{RuleConfig, RuleValues};
use crate::plugin::{Plugin, config, loader};
use crate::task::{self, Task, TaskOptions};

/// One rule parameter given by the user.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSetting {
    /// How the user wrote it, for messages (e.g. `--param c_reg`, `--feedback`).
    pub field: String,
    /// The parameter's name.
    pub name: String,
    /// Its value: a number, or one of a choice parameter's names.
    pub value: String,
    /// Apply only if the rule declares the parameter (a front end's default, like `train`'s
    /// `--feedback random`), instead of refusing a rule without it.
    pub if_declared: bool,
}

/// What a user asks a training run to be.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Task name (see [`task::by_name`]).
    pub task: String,
    /// Task scale (sequence length factor, `(0, 1]`).
    pub scale: f64,
    /// Seed of the initial weights and of the data.
    pub seed: u64,
    /// Rule: a plugin name or a library path.
    pub rule: String,
    /// Extra plugin directories (searched first).
    pub plugin_dirs: Vec<PathBuf>,
    /// Rule parameters given by the user, applied in order.
    pub params: Vec<ParamSetting>,
    /// A rule config file (TOML).
    pub rule_config: Option<PathBuf>,
    /// Sequences per batch (default: the task's).
    pub batch: Option<usize>,
    /// Learning rate (default: the task's, or the rule config's `[optimizer] lr`).
    pub lr: Option<f64>,
    /// Worker threads (>= 1).
    pub threads: usize,
    /// Further rules after `rule` (with `rule_config`), in attach order, each on its own
    /// projections (`[host] plastic` in each rule config).
    pub more_rules: Vec<RuleChoice>,
    /// Train the user's network on a data set instead of `task` (which is then ignored).
    pub data: Option<DataChoice>,
    /// Recorded activity replayed as a population's own spikes in every sequence
    /// (`--clamp-events FILE --population P`), in order.
    pub clamps: Vec<ClampChoice>,
}

/// A network and a data set to train it on.
#[derive(Debug, Clone, PartialEq)]
pub struct DataChoice {
    /// The network description (TOML, as `eligo simulate` reads it).
    pub net: PathBuf,
    /// The data set: a folder, a manifest, an HDF5 or `.npz` file.
    pub data: PathBuf,
    /// The data config (TOML), if any.
    pub config: Option<PathBuf>,
}

/// An event file clamped onto a population in every sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct ClampChoice {
    /// The event file (any format `eligo events` reads).
    pub file: PathBuf,
    /// The population whose spikes it replaces.
    pub population: String,
}

/// A further rule of a run: a plugin name or library path, and its rule config file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleChoice {
    /// A plugin name or a library path.
    pub rule: String,
    /// Its rule config file (TOML).
    pub rule_config: Option<PathBuf>,
}

/// A rule after the layers of defaults: its configuration and the top-level keys its rule
/// config file gave.
pub(super) struct Configured {
    pub(super) rc: RuleConfig,
    /// The rule config file's tables as given (to tell a given `[optimizer]` key from a default).
    pub(super) given: toml::Table,
}

impl RunSpec {
    /// Load the rule, merge the defaults and build the trainer; returns it with the run's
    /// settings (for its checkpoints) and the plugin.
    pub fn build(&self) -> Result<(Trainer, Settings, Plugin)> {
        let (task, data_settings) = self.task()?;
        let d = task.defaults();
        let choices: Vec<(&str, Option<&std::path::Path>)> =
            std::iter::once((self.rule.as_str(), self.rule_config.as_deref()))
                .chain(
                    self.more_rules
                        .iter()
                        .map(|c| (c.rule.as_str(), c.rule_config.as_deref())),
                )
                .collect();
        let plugins: Vec<Plugin> = choices
            .iter()
            .map(|(rule, _)| loader::find(rule, &self.plugin_dirs))
            .collect::<Result<_>>()?;
        let names: Vec<&str> = plugins.iter().map(|p| p.name.as_str()).collect();
        let routed = route_params(&self.params, &names)?;
        let mut configured = Vec::with_capacity(plugins.len());
        for ((plugin, (_, file)), params) in plugins.iter().zip(&choices).zip(&routed) {
            configured.push(configure(plugin, &d.rule_params, params, *file)?);
        }
        // the optimizer of a rule: the task's method and rate unless its rule config gives
        // them; `lr` wins for every rule
        let optimizer_of = |c: &Configured| {
            let opt_given = |key: &str| {
                c.given
                    .get("optimizer")
                    .and_then(|o| o.as_table())
                    .is_some_and(|o| o.contains_key(key))
            };
            let method = if opt_given("kind") {
                c.rc.host.optimizer.method
            } else {
                d.method
            };
            let lr = self.lr.unwrap_or(if opt_given("lr") {
                c.rc.host.optimizer.lr
            } else {
                d.lr
            });
            (method, lr)
        };
        let (method, lr) = optimizer_of(&configured[0]);
        let cfg = TrainConfig {
            batch: self.batch.unwrap_or(d.batch),
            threads: self.threads,
            method,
            lr,
            seed: self.seed,
        };
        for c in &configured {
            let (_, lr) = optimizer_of(c);
            if !(lr.is_finite() && lr >= 0.0) {
                return Err(Error::input("--lr", lr, "must be a finite number >= 0", ""));
            }
        }
        let name = task.name();
        if plugins.len() == 1 {
            let rc = &configured[0].rc;
            let plugin = plugins.into_iter().next().expect("one rule");
            let mut tr = Trainer::new(task, &plugin, &rc.values, &rc.host, cfg.clone())
                .map_err(|e| config::in_rule_config(e, self.rule_config.as_deref()))?;
            let mut settings =
                checkpoint::settings(name, self.scale, &plugin, &rc.values, &rc.host, &cfg);
            settings.extend(data_settings);
            self.add_clamps(&mut tr, &mut settings)?;
            return Ok((tr, settings, plugin));
        }
        let rules: Vec<TrainRule> = plugins
            .iter()
            .zip(&configured)
            .map(|(plugin, c)| {
                let mut host = c.rc.host.clone();
                (host.optimizer.method, host.optimizer.lr) = optimizer_of(c);
                TrainRule {
                    plugin: plugin.clone(),
                    values: c.rc.values.clone(),
                    host,
                }
            })
            .collect();
        let mut settings = checkpoint::settings_of_rules(name, self.scale, &rules, &cfg);
        settings.extend(data_settings);
        let mut tr = Trainer::with_rules(task, &rules, cfg)?;
        self.add_clamps(&mut tr, &mut settings)?;
        let first = plugins.into_iter().next().expect("several rules");
        Ok((tr, settings, first))
    }
}

impl RunSpec {
    /// The task: a built-in one, or the data set with the user's network; and the settings
    /// that name the data (for checkpoints).
    fn task(&self) -> Result<(Box<dyn Task>, Settings)> {
        let Some(d) = &self.data else {
            let task = task::by_name(
                &self.task,
                &TaskOptions {
                    seed: self.seed,
                    scale: self.scale,
                },
            )?;
            return Ok((task, Settings::new()));
        };
        let net = crate::io::config::load(&d.net)?.network;
        let cfg = match &d.config {
            Some(p) => data::config::load(p)?,
            None => data::config::DataConfig::default(),
        };
        let dataset = cfg.open(&d.data, net.dt_ms, self.seed)?;
        let batch = self.batch.unwrap_or(32);
        let task = DataTask::new(net, dataset, &cfg, self.seed, batch)?;
        let mut s = Settings::new();
        s.insert("data".into(), d.data.display().to_string());
        s.insert("data.set".into(), task.data().describe());
        if let Some(p) = &d.config {
            let bytes = std::fs::read(p).map_err(|e| Error::Io {
                path: p.clone(),
                source: e,
            })?;
            s.insert("data.config".into(), checkpoint::file_digest(&bytes));
        }
        Ok((Box::new(task), s))
    }

    /// Load the clamped recordings and attach them to the trainer; each file's digest goes into
    /// the settings.
    fn add_clamps(&self, tr: &mut Trainer, settings: &mut Settings) -> Result<()> {
        for (k, c) in self.clamps.iter().enumerate() {
            let net = tr.network();
            let pop = net.population(&c.population).ok_or_else(|| {
                let names: Vec<&str> = net.populations.iter().map(|p| p.name.as_str()).collect();
                Error::input(
                    "--population",
                    &c.population,
                    format!(
                        "the network has no such population; its populations: {}",
                        names.join(", ")
                    ),
                    did_you_mean(&c.population, &names),
                )
            })?;
            let size = net.populations[pop].size;
            let dt_us = crate::io::events::dt_us(net.dt_ms)?;
            let opts = crate::io::events::replay::ReplayOptions::default();
            let spikes = crate::io::events::replay::load_steps(
                &c.file,
                &opts,
                dt_us,
                Some((&c.population, size)),
            )?;
            let bytes = std::fs::read(&c.file).map_err(|e| Error::Io {
                path: c.file.clone(),
                source: e,
            })?;
            settings.insert(
                format!("clamp.{}", k + 1),
                format!("{} {}", c.population, checkpoint::file_digest(&bytes)),
            );
            tr.add_clamp(pop, spikes);
        }
        Ok(())
    }
}

/// Layers 1-5 (see the module docs) for one rule: `params` are the user's parameters routed
/// to it (and the front end's defaults), `file` its rule config.
pub(super) fn configure(
    plugin: &Plugin,
    rule_params: &[(&str, f64)],
    params: &[ParamSetting],
    file: Option<&std::path::Path>,
) -> Result<Configured> {
    let mut rc = config::defaults(plugin);
    for (name, value) in rule_params {
        config::set_param(plugin, &mut rc.values, name, name, &format!("{value:?}"))?;
    }
    // a front end's defaults (e.g. `--feedback random`) come before the rule config; one
    // the rule's parameter of that name refuses is not the user's, so it is left out
    // (`set_param` writes nothing then)
    for p in params.iter().filter(|p| p.if_declared) {
        let _ = config::set_param(plugin, &mut rc.values, &p.field, &p.name, &p.value);
    }
    let mut given = toml::Table::new();
    if let Some(p) = file {
        let loaded = config::load(p, plugin)?;
        let text = std::fs::read_to_string(p).map_err(|e| Error::Io {
            path: p.to_path_buf(),
            source: e,
        })?;
        given = text.parse().unwrap_or_default();
        for (i, q) in plugin.params.iter().enumerate() {
            if given.contains_key(&q.name) {
                rc.values.copy_from(&loaded.values, i);
            }
        }
        rc.host = loaded.host;
    }
    // what the user named on the command line wins
    for p in params.iter().filter(|p| !p.if_declared) {
        set_named(plugin, &mut rc.values, p)?;
    }
    Ok(Configured { rc, given })
}

/// Which rule (index into `names`) a `--param` selector names: a position 1.. or a unique
/// rule name; `None` if it is neither (the selector is then part of the parameter's name).
fn select(sel: &str, names: &[&str]) -> Option<std::result::Result<usize, String>> {
    if let Ok(k) = sel.parse::<usize>() {
        return (1..=names.len())
            .contains(&k)
            .then_some(Ok(k - 1))
            .or(Some(Err(format!(
                "there is no rule {k}; the run has {} rules",
                names.len()
            ))));
    }
    let hits: Vec<usize> = (0..names.len()).filter(|&i| names[i] == sel).collect();
    match hits[..] {
        [] => None,
        [k] => Some(Ok(k)),
        _ => Some(Err(format!(
            "{} rules are named '{sel}'; name the rule by its position instead",
            hits.len()
        ))),
    }
}

/// The parameters of each rule of a run whose rules are `names` (attach order): `NAME=VALUE`
/// with one rule, `RULE.NAME=VALUE` (RULE a rule's name, if unique, or its position 1, 2, ...)
/// with any number, the selector removed. A front end's default (`if_declared`) goes to every
/// rule (each takes it only if it declares the parameter).
pub fn route_params(params: &[ParamSetting], names: &[&str]) -> Result<Vec<Vec<ParamSetting>>> {
    let mut out = vec![Vec::new(); names.len()];
    for p in params {
        if p.if_declared {
            for o in &mut out {
                o.push(p.clone());
            }
            continue;
        }
        let mut p = p.clone();
        let target = match p.name.split_once('.') {
            Some((sel, name)) => match select(sel, names) {
                Some(Ok(k)) => {
                    p.name = name.to_string();
                    Some(k)
                }
                Some(Err(why)) => {
                    return Err(Error::input(
                        p.field.clone(),
                        sel,
                        why,
                        "write --param RULE.NAME=VALUE, RULE a rule's name or position (1, 2, ...)",
                    ));
                }
                None => None,
            },
            None => None,
        };
        let k = match (target, names.len()) {
            (Some(k), _) => k,
            (None, 1) => 0,
            (None, n) => {
                return Err(Error::input(
                    p.field.clone(),
                    &p.name,
                    format!(
                        "the run has {n} rules ({}): say which one",
                        names.join(", ")
                    ),
                    format!(
                        "write --param RULE.{}=VALUE, RULE a rule's name (if unique) or its position 1..{n}",
                        p.name
                    ),
                ));
            }
        };
        out[k].push(p);
    }
    Ok(out)
}

/// Set a parameter the user named, which the rule must declare (did-you-mean otherwise).
pub fn set_named(plugin: &Plugin, values: &mut RuleValues, p: &ParamSetting) -> Result<()> {
    if config::set_param(plugin, values, &p.field, &p.name, &p.value)? {
        return Ok(());
    }
    let names: Vec<&str> = plugin.params.iter().map(|q| q.name.as_str()).collect();
    Err(Error::input(
        p.field.clone(),
        &p.name,
        format!(
            "rule '{}' has no parameter of this name; its parameters: {}",
            plugin.name,
            names.join(", ")
        ),
        did_you_mean(&p.name, &names),
    ))
}

/// `NAME=VALUE` arguments of `--param` as settings the rule must declare.
pub fn parse_params(args: &[String]) -> Result<Vec<ParamSetting>> {
    args.iter()
        .map(|a| {
            let (name, value) = a.split_once('=').ok_or_else(|| {
                Error::input(
                    "--param",
                    a,
                    "must be NAME=VALUE",
                    "e.g. --param c_reg=2; `eligo plugins` lists each rule's parameters",
                )
            })?;
            Ok(ParamSetting {
                field: format!("--param {}", name.trim()),
                name: name.trim().into(),
                value: value.trim().into(),
                if_declared: false,
            })
        })
        .collect()
}

/// The rule parameters of a training run as a user gives them: e-prop's `feedback` and `mode`
/// (given, they must be parameters of the rule; left out, `train`'s defaults `random` and
/// `event` apply only to rules that declare them and accept the value), then every
/// `NAME=VALUE` of `param` (see [`parse_params`]). `eligo train --feedback --mode --param` and
/// Python's `eligo.train(feedback=, mode=, params=)` both call this.
pub fn train_params(
    param: &[String],
    feedback: Option<&str>,
    mode: Option<&str>,
) -> Result<Vec<ParamSetting>> {
    let mut params = Vec::new();
    for (flag, name, value, default) in [
        ("--feedback", "feedback", feedback, "random"),
        ("--mode", "mode", mode, "event"),
    ] {
        let (value, if_declared) = value.map_or((default, true), |v| (v, false));
        params.push(ParamSetting {
            field: flag.into(),
            name: name.into(),
            value: value.into(),
            if_declared,
        });
    }
    params.extend(parse_params(param)?);
    Ok(params)
}
