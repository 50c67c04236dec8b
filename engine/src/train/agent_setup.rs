//! From what a user asks of a closed-loop run (an environment, a rule, its parameters, episodes
//! per batch, agent steps) to a ready [`AgentTrainer`] and the settings its checkpoints record —
//! for every front end (`eligo train --reward`).
//!
//! The rule's parameters are merged as for a task's run ([`super::setup`]: the rule's defaults,
//! `train`'s `--feedback random` and `--mode event` where declared, the rule config, the user's
//! `--param`s), then the host sets what the protocol fixes (docs/eprop.md), on rules that
//! declare them: `learning = "reward"`, `agent_steps` = K and `scale` = 1 / B. A gradient rule
//! without a `learning` parameter (the supervised e-prop of an older build, BPTT) is refused: it
//! does not learn from the reward.

use std::path::PathBuf;

use super::agent::{AgentConfig, AgentTrainer};
use super::checkpoint::{self, Settings};
use super::setup::{ParamSetting, configure};
use super::trainer::{TrainConfig, TrainRule};
use crate::env::{self, EnvOptions};
use crate::error::{Error, Result};
use crate::plugin::config;
use crate::plugin::{Plugin, loader};
use eligo_plugin::OutputKind;

/// Episodes per batch unless given.
pub const DEFAULT_BATCH: usize = 8;
/// Learning rate unless given (here or in the rule config): the one that solved CartPole-v1
/// (docs/closed-loop.md).
pub const DEFAULT_LR: f64 = 0.002;
/// The host's cap on an episode's agent steps unless given (an environment's own time limit,
/// e.g. CartPole-v1's 500, ends it earlier).
pub const DEFAULT_MAX_AGENT_STEPS: u64 = 10_000;

/// The parameters the host sets: the user may not.
const HOST_SET: [(&str, &str); 3] = [
    ("learning", "--reward"),
    ("agent_steps", "--agent-steps"),
    ("scale", "--episodes-per-batch"),
];

/// A rule a closed loop can train with: a direct rule (which reads its channel itself, as
/// `rstdp` its `reward`), or a gradient rule with reward-based learning (a parameter
/// `learning`, as `eprop`).
pub fn check_reward_rule(plugin: &Plugin) -> Result<()> {
    let declares = plugin.params.iter().any(|q| q.name == "learning");
    if plugin.output == OutputKind::Gradient && !declares {
        return Err(Error::input(
            "--rule",
            &plugin.name,
            "is a gradient rule without reward-based learning (it has no parameter 'learning'), so it cannot learn from an environment's reward",
            "use --rule eprop (learning = \"reward\"), or a reward-modulated direct rule such as rstdp",
        ));
    }
    Ok(())
}

/// What a user asks a closed-loop training run to be.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSpec {
    /// Environment name (see [`env::NAMES`]).
    pub env: String,
    /// Environment scale (1: as published).
    pub scale: f64,
    /// Seed of the weights, the environment and the actions.
    pub seed: u64,
    /// Rule: a plugin name or a library path.
    pub rule: String,
    /// Extra plugin directories (searched first).
    pub plugin_dirs: Vec<PathBuf>,
    /// The user's rule parameters (see [`super::setup::train_params`]).
    pub params: Vec<ParamSetting>,
    /// The rule config (TOML), if any.
    pub rule_config: Option<PathBuf>,
    /// Episodes per batch ([`DEFAULT_BATCH`] if not given).
    pub batch: Option<usize>,
    /// Learning rate (the rule config's, else [`DEFAULT_LR`], if not given).
    pub lr: Option<f64>,
    /// Worker threads.
    pub threads: usize,
    /// Network steps per agent step (the environment's if not given).
    pub agent_steps: Option<u64>,
    /// The most agent steps of an episode ([`DEFAULT_MAX_AGENT_STEPS`] if not given).
    pub max_agent_steps: Option<u64>,
}

impl AgentSpec {
    /// Load the environment and the rule, merge the parameters and build the trainer; returns
    /// it with the run's settings (every rule parameter, the optimizer, K, the cap).
    pub fn build(&self) -> Result<(AgentTrainer, Settings)> {
        let opts = EnvOptions {
            seed: self.seed,
            scale: self.scale,
        };
        self.build_on(&mut || env::by_name(&self.env, &opts))
    }

    /// [`AgentSpec::build`] on the environments `make_env` makes (one per lane) instead of the
    /// built-in one named `env`: e.g. a Gymnasium environment driven from Python. The run's
    /// settings name the environment by its [`env::Env::name`].
    pub fn build_on(
        &self,
        make_env: &mut dyn FnMut() -> Result<Box<dyn env::Env>>,
    ) -> Result<(AgentTrainer, Settings)> {
        let batch = self.batch.unwrap_or(DEFAULT_BATCH);
        if batch == 0 {
            return Err(Error::input(
                "--episodes-per-batch",
                0,
                "must be at least 1",
                format!("leave it out for {DEFAULT_BATCH}"),
            ));
        }
        if self.agent_steps == Some(0) {
            return Err(Error::input(
                "--agent-steps",
                0,
                "an agent step needs at least one network step",
                "leave it out for the environment's",
            ));
        }
        let max_agent_steps = self.max_agent_steps.unwrap_or(DEFAULT_MAX_AGENT_STEPS);
        if max_agent_steps == 0 {
            return Err(Error::input(
                "--max-agent-steps",
                0,
                "an episode needs at least one agent step",
                format!("leave it out for {DEFAULT_MAX_AGENT_STEPS}"),
            ));
        }
        for p in self.params.iter().filter(|p| !p.if_declared) {
            if let Some((_, flag)) = HOST_SET.iter().find(|(n, _)| *n == p.name) {
                return Err(Error::input(
                    p.field.clone(),
                    &p.name,
                    format!("is set by the closed-loop run (from {flag}), not by a parameter"),
                    format!("use {flag}"),
                ));
            }
        }
        let probe = make_env()?;
        let k = self.agent_steps.unwrap_or(probe.agent_steps());
        let plugin = loader::find(&self.rule, &self.plugin_dirs)?;
        let c = configure(&plugin, &[], &self.params, self.rule_config.as_deref())?;
        let mut rc = c.rc;
        check_reward_rule(&plugin)?;
        let declares = |name: &str| plugin.params.iter().any(|q| q.name == name);
        let scale = format!("{:?}", 1.0 / batch as f64);
        let host_values = [
            ("learning", "reward".to_string()),
            ("agent_steps", k.to_string()),
            ("scale", scale),
        ];
        for ((name, value), (_, flag)) in host_values.iter().zip(HOST_SET) {
            if declares(name) {
                config::set_param(&plugin, &mut rc.values, flag, name, value)?;
            }
        }
        let opt_given = |key: &str| {
            c.given
                .get("optimizer")
                .and_then(|o| o.as_table())
                .is_some_and(|o| o.contains_key(key))
        };
        if !opt_given("kind") {
            rc.host.optimizer.method = crate::optim::Method::adam();
        }
        let lr = self.lr.unwrap_or(if opt_given("lr") {
            rc.host.optimizer.lr
        } else {
            DEFAULT_LR
        });
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(Error::input(
                "--lr",
                lr,
                "must be a finite number >= 0",
                format!("leave it out for {DEFAULT_LR}"),
            ));
        }
        rc.host.optimizer.lr = lr;
        let cfg = AgentConfig {
            batch,
            threads: self.threads,
            seed: self.seed,
            agent_steps: k,
            max_agent_steps,
        };
        let tcfg = TrainConfig {
            batch,
            threads: self.threads,
            method: rc.host.optimizer.method,
            lr,
            seed: self.seed,
        };
        let mut settings = checkpoint::settings(
            probe.name(),
            self.scale,
            &plugin,
            &rc.values,
            &rc.host,
            &tcfg,
        );
        settings.insert("reward".into(), "true".into());
        settings.insert("agent_steps".into(), k.to_string());
        settings.insert("max_agent_steps".into(), max_agent_steps.to_string());
        let rule = TrainRule {
            plugin,
            values: rc.values,
            host: rc.host,
        };
        let mut first = Some(probe);
        let mut make = || -> Result<Box<dyn env::Env>> {
            match first.take() {
                Some(e) => Ok(e),
                None => make_env(),
            }
        };
        let tr = AgentTrainer::new(&mut make, &rule, cfg)
            .map_err(|e| config::in_rule_config(e, self.rule_config.as_deref()))?;
        Ok((tr, settings))
    }
}
