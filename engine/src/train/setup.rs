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

use std::path::PathBuf;

use super::checkpoint::{self, Settings};
use super::trainer::{TrainConfig, Trainer};
use crate::error::{Error, Result, did_you_mean};
use crate::plugin::config::RuleValues;
use crate::plugin::{Plugin, config, loader};
use crate::task::{self, TaskOptions};

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
}

impl RunSpec {
    /// Load the rule, merge the defaults and build the trainer; returns it with the run's
    /// settings (for its checkpoints) and the plugin.
    pub fn build(&self) -> Result<(Trainer, Settings, Plugin)> {
        let task = task::by_name(
            &self.task,
            &TaskOptions {
                seed: self.seed,
                scale: self.scale,
            },
        )?;
        let d = task.defaults();
        let plugin = loader::find(&self.rule, &self.plugin_dirs)?;
        let mut rc = config::defaults(&plugin);
        for (name, value) in &d.rule_params {
            config::set_param(&plugin, &mut rc.values, name, name, &format!("{value:?}"))?;
        }
        // a front end's defaults (e.g. `--feedback random`) come before the rule config; one
        // the rule's parameter of that name refuses is not the user's, so it is left out
        // (`set_param` writes nothing then)
        for p in self.params.iter().filter(|p| p.if_declared) {
            let _ = config::set_param(&plugin, &mut rc.values, &p.field, &p.name, &p.value);
        }
        let mut given = toml::Table::new();
        if let Some(p) = &self.rule_config {
            let file = config::load(p, &plugin)?;
            let text = std::fs::read_to_string(p).map_err(|e| Error::Io {
                path: p.clone(),
                source: e,
            })?;
            given = text.parse().unwrap_or_default();
            for (i, q) in plugin.params.iter().enumerate() {
                if given.contains_key(&q.name) {
                    rc.values.copy_from(&file.values, i);
                }
            }
            rc.host = file.host;
        }
        // what the user named on the command line wins
        for p in self.params.iter().filter(|p| !p.if_declared) {
            set_named(&plugin, &mut rc.values, p)?;
        }
        let opt_given = |key: &str| {
            given
                .get("optimizer")
                .and_then(|o| o.as_table())
                .is_some_and(|o| o.contains_key(key))
        };
        let cfg = TrainConfig {
            batch: self.batch.unwrap_or(d.batch),
            threads: self.threads,
            method: if opt_given("kind") {
                rc.host.optimizer.method
            } else {
                d.method
            },
            lr: self.lr.unwrap_or(if opt_given("lr") {
                rc.host.optimizer.lr
            } else {
                d.lr
            }),
            seed: self.seed,
        };
        if !(cfg.lr.is_finite() && cfg.lr >= 0.0) {
            return Err(Error::input(
                "--lr",
                cfg.lr,
                "must be a finite number >= 0",
                "",
            ));
        }
        let name = task.name();
        let tr = Trainer::new(task, &plugin, &rc.values, &rc.host, cfg.clone())
            .map_err(|e| config::in_rule_config(e, self.rule_config.as_deref()))?;
        let settings = checkpoint::settings(name, self.scale, &plugin, &rc.values, &rc.host, &cfg);
        Ok((tr, settings, plugin))
    }
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
