//! The closed-loop trainer: batches of episodes of an environment ([`crate::env::Env`]) in
//! parallel lanes, the rule's gradients (or a direct rule's weight changes) summed in lane
//! order, the optimizer applied once per batch — the reward-based counterpart of
//! [`super::trainer`], with the same lanes.
//!
//! A batch of `B` episodes is spread over `L = min(B, 16)` lanes; episode `b` of iteration `i`
//! is the environment's episode `i * B + b` and runs in lane `b % L`. Each lane owns a
//! simulation with the rule attached and its own instance of the environment. Threads take
//! whole lanes, so every result is bit-identical for any thread count. Per episode (the
//! protocol between host and rule, docs/eprop.md):
//!
//! 1. reset the simulation and the environment, set the modulator channels `action` = -1,
//!    `reward` = 0, `done` = 0, begin the sequence;
//! 2. per agent step `n` (network steps `[nK, (n+1)K)`): clamp the environment's encoded
//!    observation onto the input population, run `K` steps, read the readout `y` at the last
//!    step; if the environment acts, sample the action from `softmax(y[0..A])` with a
//!    generator that is a pure function of (seed, episode, agent step); step the environment
//!    and set `action` (or -1), `reward`, `done` (0 running, 1 terminal, 2 truncated), which
//!    the rule reads at the next network step;
//! 3. a terminal step: one more network step; a truncated one (by the environment, or by the
//!    host's cap of `max_agent_steps`): one more agent step with the final observation, so the
//!    rule reads the bootstrap value at its last step; then end the sequence.
//!
//! After all episodes, every lane's rule ends the batch with the spike counts of all episodes
//! (`sequences = 1`, `steps` = the network steps of the whole batch: rates per neuron per step
//! over the batch), and the gradients are summed in lane order into one optimizer step of the
//! master weights and readout biases.

use std::sync::Mutex;

mod checks;
mod episode;

use super::trainer::{DirectBounds, TrainRule, apply_direct};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::network::Network;
use crate::neuron::ModelSpec;
use crate::optim::Optimizer;
use crate::plugin::RuleInstance;
use crate::sim::{SimOptions, Simulation};
use checks::{check_memory, find_pops};
use eligo_plugin::OutputKind;
pub use episode::sample_action;
use episode::{LaneOut, Loop};

/// The most lanes a batch runs in (as [`super::trainer`]).
const MAX_LANES: usize = 16;

/// The modulator channels the host sets for the rule, in this order.
pub const CHANNELS: [&str; 3] = ["action", "reward", "done"];

/// Settings of a closed-loop training run.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// Episodes per batch (`B`).
    pub batch: usize,
    /// Worker threads.
    pub threads: usize,
    /// Seed of the network's initial weights and of the action sampling.
    pub seed: u64,
    /// Network steps per agent step (`K`).
    pub agent_steps: u64,
    /// The most agent steps of an episode; a longer one is truncated there.
    pub max_agent_steps: u64,
}

/// What one batch of episodes measured.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentMetrics {
    /// Each episode's return (sum of its rewards), in episode order.
    pub returns: Vec<f64>,
    /// Each episode's length in agent steps, in episode order.
    pub lengths: Vec<u64>,
    /// Network steps of the whole batch.
    pub steps: u64,
    /// Mean firing rate of the recurrent neurons over the batch (Hz).
    pub rate_hz: f64,
    /// The rule's per-sequence diagnostics as their means over the episodes, then its
    /// per-batch ones as their means over the lanes.
    pub diagnostics: Vec<(String, f64)>,
}

/// How the batch reaches the master weights.
enum Learner {
    Gradient,
    Direct(DirectBounds),
}

/// One lane: a simulation with the rule attached, and its environment.
struct Lane {
    sim: Simulation,
    env: Box<dyn Env>,
}

/// Training state of a closed loop: master weights, optimizer, lanes.
pub struct AgentTrainer {
    cfg: AgentConfig,
    net: Network,
    name: String,
    actions: usize,
    input: usize,
    readout: usize,
    rec: Vec<usize>,
    biases: Vec<f32>,
    opts: Vec<Optimizer>,
    learner: Learner,
    lanes: Vec<Lane>,
    rule_name: String,
    /// Iterations (batches) done.
    pub iteration: u64,
}

impl AgentTrainer {
    /// Build the environment's network (seed `cfg.seed`), one lane per `min(B, 16)` with an
    /// environment from `make_env` and an instance of `rule` (its host options' optimizer), and
    /// the optimizer of the weights and readout biases.
    pub fn new(
        make_env: &mut dyn FnMut() -> Result<Box<dyn Env>>,
        rule: &TrainRule,
        cfg: AgentConfig,
    ) -> Result<Self> {
        if cfg.batch == 0 || cfg.threads == 0 {
            return Err(Error::input(
                "--batch",
                cfg.batch,
                "episodes per batch and threads must be at least 1",
                "",
            ));
        }
        if cfg.agent_steps == 0 || cfg.max_agent_steps == 0 {
            return Err(Error::input(
                "--agent-steps",
                cfg.agent_steps,
                "an agent step and an episode need at least one network step",
                "",
            ));
        }
        let env = make_env()?;
        let spec = env.network(cfg.seed);
        // the longest episode: the cap (or the environment's own limit, if smaller), plus the
        // bootstrap agent step of a truncated one
        let longest = env
            .max_agent_steps(cfg.agent_steps)
            .map_or(cfg.max_agent_steps, |n| n.min(cfg.max_agent_steps));
        let seq_len = longest
            .checked_add(1)
            .and_then(|n| n.checked_mul(cfg.agent_steps))
            .filter(|&n| n <= crate::limits::MAX_STEPS)
            .ok_or_else(|| {
                Error::input(
                    "--agent-steps",
                    cfg.agent_steps,
                    format!(
                        "episodes of up to {} agent steps of this many network steps exceed the {} steps a sequence may have",
                        cfg.max_agent_steps,
                        crate::limits::MAX_STEPS
                    ),
                    "use fewer network steps per agent step",
                )
            })?;
        let n_lanes = cfg.batch.min(MAX_LANES);
        check_memory(&spec, n_lanes, seq_len)?;
        let net = spec.build()?;
        let (input, readout, rec) = find_pops(&net, env.as_ref())?;
        let bias = match &net.populations[readout].model {
            ModelSpec::Readout(r) => r.bias as f32,
            _ => 0.0,
        };
        let biases = vec![bias; net.populations[readout].size as usize];
        let mut lanes = Vec::with_capacity(n_lanes);
        let mut first = Some(env);
        for _ in 0..n_lanes {
            let mut sim = Simulation::new(net.clone(), &SimOptions::default())?;
            // the channels exist before the rule is created (it finds them by name)
            for c in CHANNELS {
                sim.add_modulator(c)?;
            }
            let inst = RuleInstance::with_modulators(
                rule.plugin.clone(),
                &net,
                &rule.values,
                rule.host.clone(),
                seq_len,
                sim.modulator_names(),
            )?;
            sim.add_rule(inst)?;
            let env = match first.take() {
                Some(e) => e,
                None => make_env()?,
            };
            lanes.push(Lane { sim, env });
        }
        let env = &lanes[0].env;
        let (name, actions) = (env.name().to_string(), env.actions());
        let opts = vec![rule.host.build_optimizer(&net, &[biases.len()])?];
        let learner = match rule.plugin.output {
            OutputKind::Gradient => Learner::Gradient,
            OutputKind::Direct => Learner::Direct(DirectBounds::new(
                &rule.host,
                &net,
                &rule.host.plastic_mask(&net)?,
            )),
        };
        Ok(AgentTrainer {
            cfg,
            net,
            name,
            actions,
            input,
            readout,
            rec,
            biases,
            opts,
            learner,
            lanes,
            rule_name: rule.plugin.name.clone(),
            iteration: 0,
        })
    }

    /// The run's settings.
    pub fn config(&self) -> &AgentConfig {
        &self.cfg
    }
    /// The environment's name.
    pub fn env_name(&self) -> &str {
        &self.name
    }
    /// The rule's name.
    pub fn rule_name(&self) -> &str {
        &self.rule_name
    }
    /// The master network (current weights).
    pub fn network(&self) -> &Network {
        &self.net
    }
    /// Current readout biases.
    pub fn biases(&self) -> &[f32] {
        &self.biases
    }
    /// The optimizer (one).
    pub fn optimizers(&self) -> &[Optimizer] {
        &self.opts
    }
    /// True for a gradient rule (the optimizer steps once per iteration).
    pub fn has_gradient_rule(&self) -> bool {
        matches!(self.learner, Learner::Gradient)
    }
    /// Number of lanes.
    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// Rule states of every lane, in lane order (for checkpoints).
    pub fn rule_states(&self) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::with_capacity(self.lanes.len());
        for l in &self.lanes {
            out.extend(l.sim.save_rule_states()?);
        }
        Ok(out)
    }

    /// Restore weights, biases, optimizer, lanes' rule states and iteration (a checkpoint's).
    pub fn restore(&mut self, parts: super::checkpoint::Parts, iteration: u64) -> Result<()> {
        if parts.rule_states.len() != self.lanes.len() {
            return Err(Error::input(
                "rules",
                parts.rule_states.len(),
                format!(
                    "the checkpoint has rule states for this many lanes, this run has {}",
                    self.lanes.len()
                ),
                "resume with the same episodes per batch",
            ));
        }
        for (l, s) in self.lanes.iter_mut().zip(&parts.rule_states) {
            l.sim.load_rule_states(std::slice::from_ref(s))?;
        }
        for (p, q) in self.net.projections.iter_mut().zip(&parts.net.projections) {
            p.weights.copy_from_slice(&q.weights);
        }
        self.biases.copy_from_slice(&parts.biases);
        self.opts = parts.optimizers;
        self.iteration = iteration;
        Ok(())
    }

    /// One iteration: a batch of episodes, then one update. Returns what the batch measured.
    pub fn step(&mut self) -> Result<AgentMetrics> {
        let b = self.cfg.batch;
        for lane in &mut self.lanes {
            for (j, p) in self.net.projections.iter().enumerate() {
                lane.sim.set_weights(j, &p.weights);
            }
            lane.sim.set_biases(self.readout, &self.biases);
            lane.sim.zero_grads();
            lane.sim.clear_diagnostics();
        }
        let first = self.iteration * b as u64;
        let episodes = self.run_lanes(first)?;
        let mut counts: Vec<Vec<u64>> = (self.net.populations.iter())
            .map(|p| vec![0; p.size as usize])
            .collect();
        let (mut returns, mut lengths) = (vec![0.0; b], vec![0; b]);
        let mut steps = 0u64;
        for (lane_counts, eps) in &episodes {
            for (c, lc) in counts.iter_mut().zip(lane_counts) {
                for (a, x) in c.iter_mut().zip(lc) {
                    *a += x;
                }
            }
            for e in eps {
                returns[e.index] = e.ret;
                lengths[e.index] = e.length;
                steps += e.steps;
            }
        }
        for lane in &mut self.lanes {
            lane.sim.end_batch(1, steps, &counts)?;
        }
        match &self.learner {
            Learner::Gradient => self.apply_gradients()?,
            Learner::Direct(d) => {
                let lanes: Vec<&Network> = self.lanes.iter().map(|l| l.sim.network()).collect();
                apply_direct(
                    d,
                    &lanes,
                    &mut self.net,
                    &self.rule_name,
                    self.iteration + 1,
                )?;
            }
        }
        self.iteration += 1;
        let neurons: u64 = self
            .rec
            .iter()
            .map(|&p| u64::from(self.net.populations[p].size))
            .sum();
        let spikes: u64 = self
            .rec
            .iter()
            .map(|&p| counts[p].iter().sum::<u64>())
            .sum();
        Ok(AgentMetrics {
            returns,
            lengths,
            steps,
            rate_hz: spikes as f64
                / neurons.max(1) as f64
                / (steps.max(1) as f64 * self.net.dt_ms * 1e-3),
            diagnostics: self.diagnostics(),
        })
    }

    /// The lanes' gradients summed in lane order, then one optimizer step.
    fn apply_gradients(&mut self) -> Result<()> {
        let mut grads: Vec<Vec<f32>> = self
            .net
            .projections
            .iter()
            .map(|p| vec![0.0; p.len()])
            .collect();
        let mut bias_grad = vec![0.0f32; self.biases.len()];
        for lane in &self.lanes {
            for (g, lg) in grads.iter_mut().zip(lane.sim.rule_grads(0)) {
                if lg.len() == g.len() {
                    for (a, x) in g.iter_mut().zip(lg) {
                        *a += x;
                    }
                }
            }
            let lb = &lane.sim.rule_bias_grads(0)[self.readout];
            if lb.len() == bias_grad.len() {
                for (a, x) in bias_grad.iter_mut().zip(lb) {
                    *a += x;
                }
            }
        }
        let mut params: Vec<&mut [f32]> = self.net.weights_mut();
        params.push(&mut self.biases);
        let mut g: Vec<&[f32]> = grads.iter().map(Vec::as_slice).collect();
        g.push(&bias_grad);
        if let Err(e) = self.opts[0].step(&mut params, &g) {
            let what = match self.net.projections.get(e.group) {
                Some(p) => format!("projection '{}'", p.name),
                None => "the readout biases".to_string(),
            };
            return Err(e.error(&format!("{what} in iteration {}", self.iteration + 1)));
        }
        Ok(())
    }

    /// The rule's diagnostics over the lanes of the batch just run (as the supervised
    /// trainer's: per-sequence values averaged over the episodes, per-batch over the lanes).
    fn diagnostics(&self) -> Vec<(String, f64)> {
        crate::train::trainer::lane_diagnostics(
            self.lanes.iter().map(|l| l.sim.rule_diagnostics(0)),
        )
    }

    /// Run the batch's episodes (`first + b`, `b` in `0..B`) on the lanes in parallel: per
    /// lane, its per-neuron spike counts and its episodes, in order.
    fn run_lanes(&mut self, first: u64) -> Result<Vec<LaneOut>> {
        let n_lanes = self.lanes.len();
        let b = self.cfg.batch;
        let loop_ = Loop {
            seed: self.cfg.seed,
            k: self.cfg.agent_steps,
            max_agent_steps: self.cfg.max_agent_steps,
            actions: self.actions,
            input: self.input,
            readout: self.readout,
        };
        let results: Vec<Mutex<Option<Result<LaneOut>>>> =
            (0..n_lanes).map(|_| Mutex::new(None)).collect();
        let work = |l: usize, lane: &mut Lane| -> Result<LaneOut> {
            let mut counts = Vec::new();
            let mut eps = Vec::new();
            for index in (l..b).step_by(n_lanes) {
                eps.push(loop_.episode(lane, index, first + index as u64, &mut counts)?);
            }
            Ok((counts, eps))
        };
        let per_thread = n_lanes.div_ceil(self.cfg.threads.max(1));
        std::thread::scope(|sc| {
            for (c, chunk) in self.lanes.chunks_mut(per_thread).enumerate() {
                let (results, work) = (&results, &work);
                sc.spawn(move || {
                    for (k, lane) in chunk.iter_mut().enumerate() {
                        let l = c * per_thread + k;
                        *results[l].lock().expect("no poison") = Some(work(l, lane));
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|r| r.into_inner().expect("no poison").expect("every lane ran"))
            .collect()
    }
}

impl super::checkpoint::Checkpointed for AgentTrainer {
    fn network(&self) -> &Network {
        &self.net
    }
    fn biases(&self) -> &[f32] {
        &self.biases
    }
    fn optimizers(&self) -> &[Optimizer] {
        &self.opts
    }
    fn rule_states(&self) -> Result<Vec<Vec<u8>>> {
        AgentTrainer::rule_states(self)
    }
}
