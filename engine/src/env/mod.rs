//! Environments for reward-based learning: the small interface a closed-loop training run
//! drives (`eligo train --task cartpole --reward`), and the Rust-native environments.
//!
//! An *episode* is one sequence of the network. It is cut into *agent steps* of `K` network
//! steps each. Per agent step the training run:
//! 1. asks the environment for the input spikes of the next `K` network steps ([`Env::encode`]:
//!    the observation coded into spikes of the input population, by the environment's
//!    documented encoder);
//! 2. runs the network `K` steps;
//! 3. if [`Env::acts`], reads the policy readout at the agent step's last network step and
//!    samples the action from `softmax(y_pi)` with a seeded generator; else no action;
//! 4. calls [`Env::step`] with the action and passes the [`Outcome`] (reward, end of
//!    episode) to the rule through the modulator channels `action`, `reward` and `done`.
//!
//! Every episode is a pure function of (environment seed, episode index) and the actions
//! taken: [`Env::reset`] takes the episode index, never hidden random state, so a run resumes
//! and splits over threads without changing a bit.

pub mod cartpole;
pub mod encode;
pub mod evidence;
pub mod gym_seed;

use crate::error::{Error, Result, did_you_mean};
use crate::rng::splitmix64;

/// How an agent step ended the episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The episode goes on.
    Running,
    /// A terminal state: its value is 0 (no bootstrap).
    Terminal,
    /// Cut off by a time limit: the state's value is bootstrapped from the value readout.
    Truncated,
}

impl End {
    /// The value of the `done` modulator channel: 0 running, 1 terminal, 2 truncated.
    pub fn code(self) -> f32 {
        match self {
            End::Running => 0.0,
            End::Terminal => 1.0,
            End::Truncated => 2.0,
        }
    }
}

/// What one agent step of the environment returned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// The reward for this agent step.
    pub reward: f64,
    /// Whether and how the episode ended.
    pub end: End,
}

/// An environment the training run drives (see the module docs).
pub trait Env: Send {
    /// Name, as in `--task NAME` (a Gymnasium environment driven from Python: `gym:ID`).
    fn name(&self) -> &str;
    /// Number of input neurons the encoder drives.
    fn inputs(&self) -> usize;
    /// Number of discrete actions.
    fn actions(&self) -> usize;
    /// Start episode `episode`: its initial state is a pure function of the environment's
    /// seed and `episode`. An error (an environment outside the engine failed) ends the run.
    fn reset(&mut self, episode: u64) -> Result<()>;
    /// The input spikes of the next agent step of `k` network steps: `(step within the agent
    /// step, 0..k; input neuron)`, ascending by step. Appends to `out`.
    fn encode(&mut self, k: u64, out: &mut Vec<(u64, u32)>);
    /// Whether the agent chooses an action at the end of this agent step (`false`: the step is
    /// taken with `None`, e.g. while the evidence task shows its cues).
    fn acts(&self) -> bool;
    /// Apply `action` (`None` when [`Env::acts`] was false) and advance one agent step. An
    /// error ends the run.
    fn step(&mut self, action: Option<usize>) -> Result<Outcome>;
    /// Network steps per agent step (`K`) the environment is made for.
    fn agent_steps(&self) -> u64;
    /// The most agent steps an episode of agent steps of `k` network steps can have (its own
    /// time limit or fixed length), or `None` if it has none. The host sizes its per-episode
    /// memory by the smaller of this and its cap (`--max-agent-steps`).
    fn max_agent_steps(&self, _k: u64) -> Option<u64> {
        None
    }
    /// The default network: input population `in` ([`Env::inputs`] sources), recurrent `rec`,
    /// and one readout `out` of [`Env::actions`] + 1 outputs: the policy logits, then the value.
    fn network(&self, seed: u64) -> crate::network::NetworkSpec;
}

/// The default network of an environment with `inputs` encoder inputs and `actions` actions:
/// input population `in`, `hidden` LIF neurons `rec` (`tau_m` 20 ms, `v_th` 0.6, 5 ms
/// refractory, `gamma_pd` 0.3), one readout `out` of `actions + 1` outputs (`tau_out` 5 ms);
/// weights `N(0, 0.5^2 / fan-in)` from `seed` (CartPole's, docs/envs.md).
pub fn agent_network(
    seed: u64,
    inputs: u32,
    actions: u32,
    hidden: u32,
) -> crate::network::NetworkSpec {
    use crate::neuron::{LifParams, ModelSpec};
    let rec = ModelSpec::Lif(LifParams {
        tau_m_ms: 20.0,
        v_th: 0.6,
        t_ref_ms: Some(5.0),
        n_ref: None,
        gamma_pd: 0.3,
    });
    crate::task::task_network(seed, inputs, (hidden, rec), (actions + 1, 5.0), 0.5)
}

/// Options every environment takes.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvOptions {
    /// Seed of every episode's initial state and of the encoder's spikes.
    pub seed: u64,
    /// Size of the episode (1: as published; smaller for tests), where the environment has one.
    pub scale: f64,
}

/// The names `--task` accepts for environments.
pub const NAMES: &[&str] = &["cartpole", "evidence"];

/// The environment called `name`. `opts.scale` must be in (0, 1] (only the evidence task has
/// a size; CartPole ignores it).
pub fn by_name(name: &str, opts: &EnvOptions) -> Result<Box<dyn Env>> {
    if !(opts.scale > 0.0 && opts.scale <= 1.0) {
        return Err(Error::input(
            "--scale",
            opts.scale,
            "must be a number in (0, 1]: 1 is the published task, smaller values shorten it",
            "try --scale 0.1 for a quick run",
        ));
    }
    match name {
        "cartpole" => Ok(Box::new(cartpole::CartPole::new(opts.seed))),
        "evidence" => Ok(Box::new(evidence::EvidenceReward::new(opts))),
        other => Err(Error::input(
            "--task",
            other,
            format!(
                "no environment '{other}'; environments: {}",
                NAMES.join(", ")
            ),
            did_you_mean(other, NAMES),
        )),
    }
}

/// The random stream of an environment's episode resets ([`rng`]; CartPole resets as
/// Gymnasium instead, [`gym_seed`]).
pub const STREAM_RESET: u64 = 1;
/// The random stream of the encoders' spikes ([`rng`]).
pub const STREAM_ENCODE: u64 = 2;

/// A generator for draw `stream` of agent step `agent_step` of episode `episode` of an
/// environment seeded with `seed`: a pure function of the four, so an episode replays the same
/// on any thread, in any order and after a resume. Streams keep the reset and the encoder
/// independent of each other.
pub fn rng(
    seed: u64,
    stream: u64,
    episode: u64,
    agent_step: u64,
) -> rand_xoshiro::Xoshiro256PlusPlus {
    use rand::SeedableRng;
    let base = splitmix64(splitmix64(seed ^ 0xE4F1_0000) ^ (stream << 56));
    rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(splitmix64(
        splitmix64(base ^ episode) ^ agent_step,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_name_knows_every_name_and_refuses_others() {
        let opts = EnvOptions {
            seed: 1,
            scale: 1.0,
        };
        for &name in NAMES {
            let env = by_name(name, &opts).unwrap();
            assert_eq!(env.name(), name);
            let spec = env.network(0);
            let size = |p: &str| spec.populations.iter().find(|q| q.name == p).unwrap().size;
            assert_eq!(size("in") as usize, env.inputs());
            assert_eq!(size("out") as usize, env.actions() + 1);
        }
        let err = by_name("cartpol", &opts).err().unwrap().to_string();
        assert!(err.contains("cartpole"), "{err}");
        for scale in [0.0, 1.5, f64::NAN] {
            let err = by_name("evidence", &EnvOptions { seed: 1, scale });
            assert!(matches!(err, Err(Error::Input(_))), "scale {scale}");
        }
    }
}
