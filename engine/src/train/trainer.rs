//! The trainer: batches of sequences in parallel, gradients (or a direct rule's weight changes)
//! summed in a fixed order, the optimizer (gradient rules only) applied once per batch.
//!
//! A batch of `B` sequences is spread over `L = min(B, 16)` *lanes*; sequence `b` runs in lane
//! `b % L`. Each lane owns a simulation and a rule instance, and accumulates its sequences'
//! gradients (a direct rule: weight changes) in order. Threads take whole lanes; the lanes'
//! gradients or changes are summed in lane order. So the result is bit-identical for any
//! number of threads. Per batch:
//!
//! 1. every lane: for each of its sequences, reset, clamp the sample's input, set the sample's
//!    modulator series (the task's channels, e.g. a reward), set the teacher, run, end the
//!    sequence (rules compute gradients), count spikes per neuron;
//! 2. the per-neuron spike counts of all lanes are added (integers: order-free) and every lane's
//!    rule ends the batch with the batch rates (regularizer);
//! 3. a gradient rule: weight and bias gradients are summed in lane order and the optimizer
//!    updates the master weights and readout biases; a `Direct` rule (which changes its lane's
//!    weights during the sequences): the master weights get the sum of the lanes' changes
//!    (`w_lane - w_master` per synapse, added in lane order in f64) on every synapse of a
//!    plastic projection that some lane changed, clipped to the host's `[w_min, w_max]` and
//!    sign constraint as each change within a lane was ([`constrain`]). No optimizer step runs
//!    for a direct rule (its state stays as built) and the readout biases do not change.
//!
//! The master weights are copied into every lane at the start of the next batch.
//!
//! Several rules ([`Trainer::with_rules`]), each on its own projections: every lane holds every
//! rule, in attach order. Step 3 then runs for each rule in attach order: a gradient rule's
//! gradients (summed in lane order) go through that rule's own optimizer, over the projections
//! it learns and the unlearned ones (another rule's projections are left out, neither stepped
//! nor decayed); the readout biases are trained by the first gradient rule (with its bias
//! gradients) and by no other; a direct rule's lane changes are summed into the master on its
//! own plastic projections only, as above.
//!
//! Evaluations (validation, test) run in as many lanes as there are threads, so they sum the
//! per-sample losses in sample order, never per lane: every reported number is the same for
//! any thread count.
//!
//! Samples are pure functions of (task seed, split, index), and sequence `b` of iteration `i`
//! is training sample `i * B + b`: resuming at iteration `i` needs no random state.

use std::sync::Mutex;

use crate::error::{Error, Result, did_you_mean};
use crate::network::Network;
use crate::neuron::ModelSpec;
use eligo_plugin::OutputKind;

use crate::optim::{Method, Optimizer, Teacher, constrain};
use crate::plugin::config::RuleValues;
use crate::plugin::{HostOptions, Plugin, RuleInstance};
use crate::sim::{Exchange, SimOptions, Simulation};
use crate::task::{Kind, Split, Task};

/// Settings of a training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Sequences per batch.
    pub batch: usize,
    /// Worker threads.
    pub threads: usize,
    /// Optimizer.
    pub method: Method,
    /// Learning rate of every plastic projection and of the readout biases.
    pub lr: f64,
    /// Seed of the network's initial weights.
    pub seed: u64,
}

/// What one batch (or one evaluation) measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// Mean loss per sequence.
    pub loss: f64,
    /// Error rate (classification) or normalized MSE (regression).
    pub error: f64,
    /// Mean firing rate of the recurrent neurons (Hz).
    pub rate_hz: f64,
    /// Sequences.
    pub sequences: usize,
    /// The rule's diagnostics (training batches only): each per-sequence value as its mean over
    /// the batch's sequences, then each per-batch value as its mean over the lanes (lane
    /// order, so the same for any thread count). Empty with several rules (see
    /// `rules_diagnostics`).
    pub diagnostics: Vec<(String, f64)>,
    /// With several rules: each rule's diagnostics (computed as `diagnostics`), keyed by the
    /// rule's name (`NAME#K`, K its position 1.., for a name several rules share), in attach
    /// order, rules without diagnostics left out. Empty with one rule.
    pub rules_diagnostics: Vec<(String, Vec<(String, f64)>)>,
}

/// Wall time of a piece of [`Trainer::evaluate_until`]: a front end's stop request waits at
/// most about this long (so that Ctrl-C in Python returns within 0.1 s; a piece costs one
/// spawn of the worker threads, some µs).
pub const EVAL_PIECE_SECONDS: f64 = 0.05;

/// A population and the recorded spikes `(step, index)` clamped onto it in every sequence.
type Clamp = (usize, Vec<(u64, u32)>);

/// A simulation with a rule (training) or without (evaluation).
pub(super) struct Lane {
    pub(super) sim: Simulation,
}

/// One rule of a training run: its plugin, parameter values and host options (whose
/// `[optimizer]` method and learning rate are the ones its optimizer uses).
#[derive(Clone)]
pub struct TrainRule {
    /// The plugin.
    pub plugin: Plugin,
    /// Its parameter values.
    pub values: RuleValues,
    /// Its host options.
    pub host: HostOptions,
}

/// How a rule's batch reaches the master weights.
enum Learner {
    /// A gradient rule: optimizer `opt` of [`Trainer::opts`]; `biases`: it trains the readout
    /// biases; `others`: per projection, learned by another rule (left out of its updates).
    Gradient {
        opt: usize,
        biases: bool,
        others: Vec<bool>,
    },
    /// A direct rule: its lanes' changes, within these bounds.
    Direct(DirectBounds),
}

/// What the host enforces on a direct rule's summed changes (the rule config's `[host]`).
pub(super) struct DirectBounds {
    /// Per projection: may the rule change it.
    plastic: Vec<bool>,
    w_min: f32,
    w_max: f32,
    /// Per projection, the initial weights' signs (`>= 0`) with `sign = "keep"`, else empty.
    signs: Vec<Vec<bool>>,
    keep_sign: bool,
}

impl DirectBounds {
    /// The bounds of `host` on `net` (its initial weights' signs, like every lane's rule
    /// instance), `plastic` the rule's mask.
    pub(super) fn new(host: &HostOptions, net: &Network, plastic: &[bool]) -> Self {
        DirectBounds {
            plastic: plastic.to_vec(),
            w_min: host.w_min,
            w_max: host.w_max,
            signs: net
                .projections
                .iter()
                .map(|p| match host.keep_sign {
                    true => p.weights.iter().map(|w| *w >= 0.0).collect(),
                    false => Vec::new(),
                })
                .collect(),
            keep_sign: host.keep_sign,
        }
    }
}

/// Training state: master weights, optimizer, lanes.
pub struct Trainer {
    task: Box<dyn Task>,
    cfg: TrainConfig,
    net: Network,
    readout: usize,
    rec: Vec<usize>,
    input: usize,
    biases: Vec<f32>,
    /// One optimizer per gradient rule, in attach order (one never-stepped optimizer when no
    /// rule is a gradient rule, as for a single direct rule).
    opts: Vec<Optimizer>,
    lanes: Vec<Lane>,
    eval: Vec<Lane>,
    /// Per rule, in attach order: how its batch reaches the master weights.
    learners: Vec<Learner>,
    /// The rules' names, in attach order, joined by `+`.
    rule_name: String,
    /// Recorded activity clamped onto populations in every sequence, after the sample's input
    /// (so a clamp of the input population replaces the sample's input).
    clamps: Vec<Clamp>,
    /// Iterations (batches) done.
    pub iteration: u64,
}

fn find_pops(net: &Network, task: &dyn Task) -> Result<(usize, usize, Vec<usize>)> {
    let input_name = task.input_population();
    let input = net.population(input_name).ok_or_else(|| {
        Error::input(
            "population",
            input_name,
            format!("the network has no population '{input_name}' to receive the input"),
            "name the input population in the data config (input = \"NAME\")",
        )
    })?;
    let readouts: Vec<usize> = net.readouts().collect();
    let readout = match task.readout_population() {
        Some(name) => match net.population(name) {
            Some(p) if readouts.contains(&p) => p,
            _ => {
                let names: Vec<&str> = readouts
                    .iter()
                    .map(|&p| net.populations[p].name.as_str())
                    .collect();
                return Err(Error::input(
                    "readout",
                    name,
                    format!(
                        "is not a readout population of the network; its readouts: {}",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                    did_you_mean(name, &names),
                ));
            }
        },
        None => {
            let [readout] = readouts[..] else {
                return Err(Error::input(
                    "population",
                    readouts.len(),
                    "a task network needs exactly one readout population",
                    "name the readout to train in the data config (readout = \"NAME\")",
                ));
            };
            readout
        }
    };
    let rec = (0..net.populations.len())
        .filter(|&p| {
            matches!(
                net.populations[p].model,
                ModelSpec::Lif(_) | ModelSpec::Alif(_)
            )
        })
        .collect();
    Ok((input, readout, rec))
}

impl Trainer {
    /// Build the network of `task`, the lanes with an instance of `plugin` each (parameter
    /// values `rule_values`, host options `host`), and the optimizer (`cfg`'s method and
    /// learning rate, the host's per-projection table).
    pub fn new(
        task: Box<dyn Task>,
        plugin: &Plugin,
        rule_values: &RuleValues,
        host: &HostOptions,
        cfg: TrainConfig,
    ) -> Result<Self> {
        // the task's (or the command line's) method and learning rate, the rule config's
        // per-projection table and bounds
        let mut host = host.clone();
        host.optimizer.method = cfg.method;
        host.optimizer.lr = cfg.lr;
        let rule = TrainRule {
            plugin: plugin.clone(),
            values: rule_values.clone(),
            host,
        };
        Self::with_rules(task, std::slice::from_ref(&rule), cfg)
    }

    /// Build the network of `task`, the lanes with an instance of every rule of `rules` each
    /// (attach order; no projection may be plastic for two rules), and one optimizer per
    /// gradient rule (its host options' method, learning rate and per-projection table; the
    /// first gradient rule's has one more group, the readout biases).
    pub fn with_rules(task: Box<dyn Task>, rules: &[TrainRule], cfg: TrainConfig) -> Result<Self> {
        if rules.is_empty() {
            return Err(Error::input(
                "rule",
                "",
                "a training run needs at least one rule",
                "name one with --rule",
            ));
        }
        if cfg.batch == 0 || cfg.threads == 0 {
            return Err(Error::input(
                "batch",
                cfg.batch,
                "batch and threads must be at least 1",
                "",
            ));
        }
        let net = task.network(cfg.seed).build()?;
        let (input, readout, rec) = find_pops(&net, task.as_ref())?;
        let bias = match &net.populations[readout].model {
            ModelSpec::Readout(r) => r.bias as f32,
            _ => 0.0,
        };
        let biases = vec![bias; net.populations[readout].size as usize];
        let n_lanes = cfg.batch.min(16);
        let mut lanes = Vec::with_capacity(n_lanes);
        for _ in 0..n_lanes {
            let mut sim = Simulation::new(net.clone(), &SimOptions::default())?;
            // the task's modulator channels exist before the rules are created (they find them
            // by name); each sample fills them (see `run_jobs`)
            for name in task.modulators() {
                sim.add_modulator(name)?;
            }
            for rule in rules {
                let r = RuleInstance::with_modulators(
                    rule.plugin.clone(),
                    &net,
                    &rule.values,
                    rule.host.clone(),
                    task.steps(),
                    sim.modulator_names(),
                )?;
                // refuses a projection plastic for two rules
                sim.add_rule(r)?;
            }
            lanes.push(Lane { sim });
        }
        let mut eval = Vec::new();
        for _ in 0..cfg.threads.min(16) {
            eval.push(Lane {
                sim: Simulation::new(net.clone(), &SimOptions::default())?,
            });
        }
        let masks: Vec<Vec<bool>> = rules
            .iter()
            .map(|r| r.host.plastic_mask(&net))
            .collect::<Result<_>>()?;
        let mut opts = Vec::new();
        let mut learners = Vec::with_capacity(rules.len());
        for (k, rule) in rules.iter().enumerate() {
            let host = &rule.host;
            learners.push(match rule.plugin.output {
                OutputKind::Direct => Learner::Direct(DirectBounds::new(host, &net, &masks[k])),
                OutputKind::Gradient => {
                    let biases_here = opts.is_empty();
                    let extra: &[usize] = if biases_here { &[biases.len()] } else { &[] };
                    opts.push(host.build_optimizer(&net, extra)?);
                    Learner::Gradient {
                        opt: opts.len() - 1,
                        biases: biases_here,
                        others: (0..net.projections.len())
                            .map(|j| (0..rules.len()).any(|i| i != k && masks[i][j]))
                            .collect(),
                    }
                }
            });
        }
        if opts.is_empty() {
            // no gradient rule: an optimizer that never steps, so checkpoints keep one layout
            opts.push(rules[0].host.build_optimizer(&net, &[biases.len()])?);
        }
        let rule_name = rules
            .iter()
            .map(|r| r.plugin.name.as_str())
            .collect::<Vec<_>>()
            .join("+");
        Ok(Trainer {
            task,
            cfg,
            net,
            readout,
            rec,
            input,
            biases,
            opts,
            lanes,
            eval,
            learners,
            rule_name,
            clamps: Vec::new(),
            iteration: 0,
        })
    }

    /// Replay `spikes` (`(step, index within the population)`) as population `pop`'s own in
    /// every sequence, training and evaluation alike: its dynamics are bypassed, downstream
    /// neurons and the rules see the recording (see [`Simulation::clamp`]).
    pub fn add_clamp(&mut self, pop: usize, spikes: Vec<(u64, u32)>) {
        self.clamps.push((pop, spikes));
    }

    /// The run's settings.
    pub fn config(&self) -> &TrainConfig {
        &self.cfg
    }

    /// The name of the rule being trained with (several rules: their names joined by `+`).
    pub fn rule_name(&self) -> &str {
        &self.rule_name
    }

    /// Number of rules (each lane holds every one).
    pub fn rule_count(&self) -> usize {
        self.learners.len()
    }

    /// The master network (current weights).
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Current readout biases.
    pub fn biases(&self) -> &[f32] {
        &self.biases
    }

    /// The task.
    pub fn task(&self) -> &dyn Task {
        self.task.as_ref()
    }

    /// The (first) optimizer (for checkpoints).
    pub fn optimizer(&self) -> &Optimizer {
        &self.opts[0]
    }

    /// Every optimizer, one per gradient rule in attach order (for checkpoints).
    pub fn optimizers(&self) -> &[Optimizer] {
        &self.opts
    }

    /// True if some rule is a gradient rule: the optimizers then step once per iteration;
    /// else they never step.
    pub fn has_gradient_rule(&self) -> bool {
        self.learners
            .iter()
            .any(|l| matches!(l, Learner::Gradient { .. }))
    }

    /// Restore weights, biases, optimizer state and iteration (from a checkpoint).
    pub fn restore(&mut self, net: &Network, biases: &[f32], opt: Optimizer, iteration: u64) {
        self.restore_all(net, biases, vec![opt], iteration);
    }

    /// [`Trainer::restore`] with every optimizer (as many as [`Trainer::optimizers`]).
    pub fn restore_all(
        &mut self,
        net: &Network,
        biases: &[f32],
        opts: Vec<Optimizer>,
        iteration: u64,
    ) {
        for (p, q) in self.net.projections.iter_mut().zip(&net.projections) {
            p.weights.copy_from_slice(&q.weights);
        }
        self.biases.copy_from_slice(biases);
        for (o, n) in self.opts.iter_mut().zip(opts) {
            *o = n;
        }
        self.iteration = iteration;
    }

    /// Number of training lanes (each with its own rule state).
    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// Rule states of every lane (for checkpoints): lane by lane, each lane's rules in attach
    /// order.
    pub fn rule_states(&self) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::with_capacity(self.lanes.len() * self.rule_count());
        for l in &self.lanes {
            out.extend(l.sim.save_rule_states()?);
        }
        Ok(out)
    }

    /// Over several ranks (every rank calls it): each lane's rule states as the rank that runs
    /// its sequences has them, on every rank, so that [`Trainer::rule_states`] lists what a
    /// single process would (before a checkpoint).
    pub fn swap_rule_states(&mut self, ex: &mut dyn Exchange) -> Result<()> {
        let owned = super::ranks::owned(self.lanes.len(), Some(&*ex))?;
        let states = self.rule_states()?;
        let per_lane = states.len() / self.lanes.len().max(1);
        let all = super::ranks::swap_rule_states(ex, states, per_lane, &owned)?;
        self.load_rule_states(&all)
    }

    /// Restore the lanes' rule states (as [`Trainer::rule_states`] lists them).
    pub fn load_rule_states(&mut self, states: &[Vec<u8>]) -> Result<()> {
        let per_lane = self.rule_count().max(1);
        if states.len() != self.lanes.len() * per_lane {
            if per_lane > 1 {
                return Err(Error::input(
                    "rules",
                    states.len(),
                    format!(
                        "the checkpoint has {} rule states, this run has {} lanes of {per_lane} rules",
                        states.len(),
                        self.lanes.len()
                    ),
                    "resume with the same batch size and rules",
                ));
            }
            return Err(Error::input(
                "rules",
                states.len(),
                format!(
                    "the checkpoint has rule states for {} lanes, this run has {}",
                    states.len(),
                    self.lanes.len()
                ),
                "resume with the same batch size",
            ));
        }
        for (l, s) in self.lanes.iter_mut().zip(states.chunks(per_lane)) {
            l.sim.load_rule_states(s)?;
        }
        Ok(())
    }

    fn sync(lane: &mut Lane, net: &Network, readout: usize, biases: &[f32]) {
        for (j, p) in net.projections.iter().enumerate() {
            lane.sim.set_weights(j, &p.weights);
        }
        lane.sim.set_biases(readout, biases);
    }

    /// Steps 1 and 2 of a batch (see the module docs) over `jobs`, the master weights copied
    /// into every lane first: the lanes' results and the per-neuron spike counts of the batch.
    ///
    /// Over several ranks (`ex`), each rank runs its own lanes ([`super::ranks::owned`]), the
    /// ranks swap the lanes' results, every rank ends the batch of its lanes and the ranks swap
    /// the lanes' gradients and diagnostics: afterwards every rank holds what every lane of a
    /// single process would, so the sums in lane order, and the weights, are the same bits.
    fn run_batch(
        &mut self,
        jobs: &[(Split, u64)],
        mut ex: Option<&mut dyn Exchange>,
    ) -> Result<(BatchResult, Vec<Vec<u64>>)> {
        let steps = self.task.steps();
        for lane in &mut self.lanes {
            Self::sync(lane, &self.net, self.readout, &self.biases);
            lane.sim.zero_grads();
            lane.sim.clear_diagnostics();
        }
        let owned = super::ranks::owned(self.lanes.len(), ex.as_deref())?;
        if ex.is_some()
            && self
                .learners
                .iter()
                .any(|l| matches!(l, Learner::Direct(_)))
        {
            return Err(Error::input(
                "rule",
                self.rule_name.clone(),
                "a rule that changes weights during the sequences does not train over several \
                 ranks yet",
                "train it on one rank (threads give the same results)",
            ));
        }
        // 1. the lanes run their sequences, keeping per-neuron spike counts
        let mut outs = self.count_sequences(jobs, owned.clone())?;
        if let Some(ex) = ex.as_deref_mut() {
            super::ranks::swap_lane_outs(ex, &mut outs, &owned)?;
        }
        let res = combine(outs.into_iter().flatten().collect(), jobs.len());
        // 2. batch rates: spike counts of every neuron over the batch
        let mut counts: Vec<Vec<u64>> = self
            .net
            .populations
            .iter()
            .map(|p| vec![0; p.size as usize])
            .collect();
        for lane_counts in &res.counts {
            for (c, lc) in counts.iter_mut().zip(lane_counts) {
                for (a, b) in c.iter_mut().zip(lc) {
                    *a += b;
                }
            }
        }
        for lane in &mut self.lanes[owned.clone()] {
            lane.sim.end_batch(jobs.len() as u64, steps, &counts)?;
        }
        if let Some(ex) = ex {
            super::ranks::swap_lane_gradients(ex, &mut self.lanes, &owned, self.learners.len())?;
        }
        Ok((res, counts))
    }

    /// The gradients a batch of `jobs` (split, sample index; sequence `b` in lane `b % L`)
    /// gives at the current master weights, summed as [`Trainer::step`] sums them before its
    /// optimizer step (`eligo grad --batch-inputs`). Nothing is updated: the master weights,
    /// biases, optimizers and iteration stay as they were; the lanes' rules have ended one
    /// batch (their state, e.g. adaptive feedback's batch count, moved on as in training). The
    /// jobs need not fill the configured batch: the losses are scaled for `jobs.len()`
    /// sequences and the lanes are the configured ones.
    pub fn batch_gradients(&mut self, jobs: &[(Split, u64)]) -> Result<BatchGradients> {
        let (res, _) = self.run_batch(jobs, None)?;
        let rules = (0..self.learners.len())
            .map(|k| self.summed_gradients(k))
            .collect();
        Ok(BatchGradients {
            rules,
            loss: res.loss,
            sample_losses: res.sample_losses,
        })
    }

    /// One training iteration (batch). Returns the batch's metrics.
    pub fn step(&mut self) -> Result<Metrics> {
        self.step_with(None)
    }

    /// [`Trainer::step`] as one rank of several (`ex`; every rank calls it): the batch's lanes
    /// are spread over the ranks, and every rank ends with the weights, optimizer state and
    /// metrics of a single-process step, bit for bit.
    pub fn step_with(&mut self, ex: Option<&mut dyn Exchange>) -> Result<Metrics> {
        let b = self.cfg.batch;
        let steps = self.task.steps();
        let jobs: Vec<(Split, u64)> = (0..b as u64)
            .map(|k| (Split::Train, self.iteration * b as u64 + k))
            .collect();
        let (res, counts) = self.run_batch(&jobs, ex)?;
        // 3. per rule, in attach order: a direct rule's lanes' changes in lane order; a gradient
        // rule's gradients in lane order, then its optimizer
        for k in 0..self.learners.len() {
            match &self.learners[k] {
                Learner::Direct(d) => {
                    let rule = self.lanes[0]
                        .sim
                        .rules()
                        .nth(k)
                        .map_or("", |r| r.plugin().name.as_str());
                    let lanes: Vec<&Network> = self.lanes.iter().map(|l| l.sim.network()).collect();
                    apply_direct(d, &lanes, &mut self.net, rule, self.iteration + 1)?;
                }
                Learner::Gradient { .. } => self.apply_gradients(k)?,
            }
        }
        self.iteration += 1;
        let rec_neurons: u64 = self
            .rec
            .iter()
            .map(|&p| u64::from(self.net.populations[p].size))
            .sum();
        let rec_spikes: u64 = self
            .rec
            .iter()
            .map(|&p| counts[p].iter().sum::<u64>())
            .sum();
        Ok(Metrics {
            loss: res.loss,
            error: self.error_measure(res.wrong, b, res.loss),
            rate_hz: rec_spikes as f64
                / rec_neurons.max(1) as f64
                / (b as f64 * steps as f64 * self.net.dt_ms * 1e-3),
            sequences: b,
            diagnostics: match self.rule_count() {
                1 => self.diagnostics(0),
                _ => Vec::new(),
            },
            rules_diagnostics: self.rules_diagnostics(),
        })
    }

    /// With several rules, each rule's diagnostics (see [`Metrics::rules_diagnostics`]).
    fn rules_diagnostics(&self) -> Vec<(String, Vec<(String, f64)>)> {
        if self.rule_count() < 2 {
            return Vec::new();
        }
        let names: Vec<&str> = self.lanes[0]
            .sim
            .rules()
            .map(|r| r.plugin().name.as_str())
            .collect();
        (0..names.len())
            .filter_map(|k| {
                let d = self.diagnostics(k);
                let shared = names.iter().filter(|n| **n == names[k]).count() > 1;
                let key = match shared {
                    true => format!("{}#{}", names[k], k + 1),
                    false => names[k].to_string(),
                };
                (!d.is_empty()).then_some((key, d))
            })
            .collect()
    }

    /// Rule `k`'s diagnostics over the lanes of the batch just run (see
    /// [`Metrics::diagnostics`]).
    fn diagnostics(&self, k: usize) -> Vec<(String, f64)> {
        lane_diagnostics(self.lanes.iter().map(|l| l.sim.rule_diagnostics(k)))
    }

    /// Gradient rule `k`'s weight and bias gradients summed over the lanes in lane order
    /// (`None` for a direct rule): per projection, the lanes' gradients of the projection's
    /// length (zeros if no lane has any); the readout biases' if the rule trains them, else
    /// zeros.
    fn summed_gradients(&self, k: usize) -> Option<RuleGradients> {
        let Learner::Gradient {
            biases: with_biases,
            ..
        } = &self.learners[k]
        else {
            return None;
        };
        let mut grads: Vec<Vec<f32>> = self
            .net
            .projections
            .iter()
            .map(|p| vec![0.0; p.len()])
            .collect();
        let mut bias_grad = vec![0.0f32; self.biases.len()];
        for lane in &self.lanes {
            for (g, lg) in grads.iter_mut().zip(lane.sim.rule_grads(k)) {
                if lg.len() == g.len() {
                    for (a, x) in g.iter_mut().zip(lg) {
                        *a += x;
                    }
                }
            }
            let lb = &lane.sim.rule_bias_grads(k)[self.readout];
            if *with_biases && lb.len() == bias_grad.len() {
                for (a, x) in bias_grad.iter_mut().zip(lb) {
                    *a += x;
                }
            }
        }
        Some(RuleGradients {
            weights: grads,
            biases: bias_grad,
        })
    }

    /// Gradient rule `k`'s step: the lanes' weight (and, if it trains them, bias) gradients
    /// summed in lane order, then one update by its optimizer of the master weights (another
    /// rule's projections left out) and readout biases.
    fn apply_gradients(&mut self, k: usize) -> Result<()> {
        let Some(RuleGradients {
            weights: grads,
            biases: bias_grad,
        }) = self.summed_gradients(k)
        else {
            return Ok(());
        };
        let Learner::Gradient {
            opt,
            biases: with_biases,
            others,
        } = &self.learners[k]
        else {
            return Ok(());
        };
        {
            let mut params: Vec<&mut [f32]> = self
                .net
                .weights_mut()
                .into_iter()
                .zip(others)
                .map(|(w, &o)| if o { &mut [][..] } else { w })
                .collect();
            let mut g: Vec<&[f32]> = grads
                .iter()
                .zip(others)
                .map(|(g, &o)| if o { &[][..] } else { g.as_slice() })
                .collect();
            if *with_biases {
                params.push(&mut self.biases);
                g.push(&bias_grad);
            }
            if let Err(e) = self.opts[*opt].step(&mut params, &g) {
                // the master weights are now partly updated: the run must stop here, before
                // anything (a checkpoint, the final weights) is written from them
                let what = match self.net.projections.get(e.group) {
                    Some(p) => format!("projection '{}'", p.name),
                    None => "the readout biases".to_string(),
                };
                return Err(e.error(&format!("{what} in iteration {}", self.iteration + 1)));
            }
        }
        Ok(())
    }

    fn error_measure(&self, wrong: usize, n: usize, _loss: f64) -> f64 {
        match self.task.kind() {
            Kind::Classification => wrong as f64 / n.max(1) as f64,
            Kind::Regression => f64::NAN,
        }
    }

    /// Run the training lanes `owned` over `jobs` (their share of them).
    fn count_sequences(
        &mut self,
        jobs: &[(Split, u64)],
        owned: std::ops::Range<usize>,
    ) -> Result<Vec<Option<LaneOut>>> {
        run_jobs(
            &mut self.lanes,
            self.cfg.threads,
            self.task.as_ref(),
            (self.input, self.readout, &self.clamps),
            jobs,
            jobs.len(),
            owned,
        )
    }

    /// Evaluate `n` samples of `split` (no learning). Returns loss, error rate or normalized
    /// MSE, and rate.
    pub fn evaluate(&mut self, split: Split, n: usize) -> Result<Metrics> {
        let jobs: Vec<(Split, u64)> = (0..n as u64).map(|k| (split, k)).collect();
        let res = self.evaluate_jobs(&jobs, n)?;
        self.eval_metrics(split, n, &res.sample_losses, res.wrong, &res.pop_spikes)
    }

    /// [`Trainer::evaluate`] in pieces of about [`EVAL_PIECE_SECONDS`] of wall time, asking
    /// `stop` before each piece (a front end's Ctrl-C, during the long final test): `None` if
    /// it said stop. The same bits as [`Trainer::evaluate`] whatever the pieces: every sample
    /// is scaled by the whole `n` and the per-sample losses are summed in sample order.
    pub fn evaluate_until(
        &mut self,
        split: Split,
        n: usize,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<Option<Metrics>> {
        let jobs: Vec<(Split, u64)> = (0..n as u64).map(|k| (split, k)).collect();
        let (mut losses, mut wrong, mut pop_spikes) = (Vec::with_capacity(n), 0, Vec::new());
        // the first piece one sample per lane, then as many as fill the wall time
        let mut piece = self.eval.len().max(1);
        let mut done = 0;
        while done < n {
            if stop() {
                return Ok(None);
            }
            let k = piece.min(n - done);
            let t0 = std::time::Instant::now();
            let res = self.evaluate_jobs(&jobs[done..done + k], n)?;
            let per_sample = t0.elapsed().as_secs_f64() / k as f64;
            if per_sample > 0.0 {
                piece = ((EVAL_PIECE_SECONDS / per_sample) as usize).max(1);
            }
            losses.extend_from_slice(&res.sample_losses);
            wrong += res.wrong;
            pop_spikes.resize(res.pop_spikes.len(), 0);
            for (a, b) in pop_spikes.iter_mut().zip(&res.pop_spikes) {
                *a += b;
            }
            done += k;
        }
        self.eval_metrics(split, n, &losses, wrong, &pop_spikes)
            .map(Some)
    }

    /// Run the evaluation lanes over `jobs`, each sample's loss scaled by `scale_n`.
    fn evaluate_jobs(&mut self, jobs: &[(Split, u64)], scale_n: usize) -> Result<BatchResult> {
        for lane in &mut self.eval {
            Self::sync(lane, &self.net, self.readout, &self.biases);
        }
        let n_lanes = self.eval.len();
        let outs = run_jobs(
            &mut self.eval,
            self.cfg.threads,
            self.task.as_ref(),
            (self.input, self.readout, &self.clamps),
            jobs,
            scale_n,
            0..n_lanes,
        )?;
        Ok(combine(outs.into_iter().flatten().collect(), jobs.len()))
    }

    /// The metrics of an evaluation of `n` samples of `split` from its per-sample losses (in
    /// sample order), its wrong answers and its spikes per population.
    fn eval_metrics(
        &self,
        split: Split,
        n: usize,
        sample_losses: &[f64],
        wrong: usize,
        pop_spikes: &[u64],
    ) -> Result<Metrics> {
        let steps = self.task.steps();
        // the per-sample losses in sample order: the evaluation lanes are as many as the
        // threads, so a per-lane sum would depend on the thread count
        let loss = sample_losses.iter().fold(0.0, |a, x| a + x);
        let spikes: u64 = self.rec.iter().map(|&p| pop_spikes[p]).sum();
        let neurons: u64 = self
            .rec
            .iter()
            .map(|&p| u64::from(self.net.populations[p].size))
            .sum();
        let error = match self.task.kind() {
            Kind::Classification => wrong as f64 / n.max(1) as f64,
            Kind::Regression => self.normalized_mse(split, n, loss)?,
        };
        Ok(Metrics {
            loss,
            error,
            rate_hz: spikes as f64
                / neurons.max(1) as f64
                / (n as f64 * steps as f64 * self.net.dt_ms * 1e-3),
            sequences: n,
            diagnostics: Vec::new(),
            rules_diagnostics: Vec::new(),
        })
    }

    /// The populations [`Trainer::record_sample`] records: the input population and the
    /// recurrent (LIF and ALIF) populations, in the order of [`Recording::rec`].
    pub fn sample_populations(&self) -> (usize, &[usize]) {
        (self.input, &self.rec)
    }

    /// Run sample `index` of `split` once (no learning) and record it: input spikes, the
    /// recurrent populations' spikes (population-local indices), and per step the readout
    /// outputs `y` and targets (regression) — for plots.
    pub fn record_sample(&mut self, split: Split, index: u64) -> Result<Recording> {
        let steps = self.task.steps();
        let s = self.task.sample(split, index)?;
        let net = self.net.clone();
        let n_out = net.populations[self.readout].size as usize;
        let opts = SimOptions {
            threads: 1,
            record: crate::sim::RecordSpec {
                spikes: std::iter::once(self.input)
                    .chain(self.rec.iter().copied())
                    .collect(),
                state: vec![crate::sim::StateProbe {
                    population: self.readout,
                    var: "y".into(),
                    neurons: (0..n_out as u32).collect(),
                }],
            },
        };
        let mut sim = Simulation::new(net, &opts)?;
        sim.set_biases(self.readout, &self.biases);
        sim.clamp(self.input, &s.input)?;
        for (p, spikes) in &self.clamps {
            sim.clamp(*p, spikes)?;
        }
        sim.run(steps, None)?;
        let targets = match &s.loss {
            crate::optim::Loss::Mse { targets } => targets.clone(),
            _ => Vec::new(),
        };
        Ok(Recording {
            steps,
            input: sim.population_spikes(self.input),
            rec: self.rec.iter().map(|&p| sim.population_spikes(p)).collect(),
            y: sim.probe_samples(0),
            n_out,
            targets,
            label: s.label,
        })
    }

    /// MSE divided by the targets' variance (over the evaluated samples).
    fn normalized_mse(&self, split: Split, n: usize, mean_loss: f64) -> Result<f64> {
        let (mut sum, mut sq, mut count) = (0.0f64, 0.0f64, 0.0f64);
        for k in 0..n as u64 {
            if let crate::optim::Loss::Mse { targets } = &self.task.sample(split, k)?.loss {
                for &t in targets {
                    sum += f64::from(t);
                    sq += f64::from(t) * f64::from(t);
                    count += 1.0;
                }
            }
        }
        let var = sq / count - (sum / count).powi(2);
        // mean_loss = 1/2 sum_t sum_k err^2 averaged over sequences
        let mse = 2.0 * mean_loss * n as f64 / count;
        Ok(mse / var)
    }
}

/// A gradient rule's gradients over one batch, summed in lane order (see
/// [`Trainer::batch_gradients`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleGradients {
    /// Per projection (network order), one value per synapse (CSR order).
    pub weights: Vec<Vec<f32>>,
    /// Per readout neuron: the readout biases' gradient if this rule trains them (the first
    /// gradient rule), else zeros.
    pub biases: Vec<f32>,
}

/// What [`Trainer::batch_gradients`] computed.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchGradients {
    /// Per rule, in attach order: its gradients, `None` for a direct rule.
    pub rules: Vec<Option<RuleGradients>>,
    /// Mean loss per sequence (each sequence's loss scaled by the batch size, summed in lane
    /// order, as [`Metrics::loss`] of a training batch).
    pub loss: f64,
    /// Each job's loss (scaled by the batch size), in job order.
    pub sample_losses: Vec<f64>,
}

/// What the lanes of one batch measured.
struct BatchResult {
    loss: f64,
    wrong: usize,
    /// Per lane, per population, per neuron (training lanes only).
    counts: Vec<Vec<Vec<u64>>>,
    /// Per population.
    pop_spikes: Vec<u64>,
    /// Per job, in job order (a sum over these is independent of the lane layout).
    sample_losses: Vec<f64>,
}

/// One recorded sample (see [`Trainer::record_sample`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// Steps.
    pub steps: u64,
    /// Input spikes `(step, neuron)`.
    pub input: Vec<(u64, u32)>,
    /// Spikes of each recurrent population `(step, neuron)`.
    pub rec: Vec<Vec<(u64, u32)>>,
    /// Readout outputs, `steps x n_out`.
    pub y: Vec<f32>,
    /// Number of outputs.
    pub n_out: usize,
    /// Targets `steps x n_out` (regression), else empty.
    pub targets: Vec<f32>,
    /// Label (classification).
    pub label: Option<usize>,
}

/// A direct rule's batch: on every synapse of a plastic projection that some lane changed, the
/// master weight `w` becomes `constrain(w + sum over lanes, in lane order, of (w_lane - w))`,
/// summed in f64 (so one lane's weights are taken exactly); untouched synapses keep their
/// weight. Nothing is written unless every result is finite (the sum of finite changes can still
/// overflow f32 when the host sets no bounds).
pub(super) fn apply_direct(
    d: &DirectBounds,
    lanes: &[&Network],
    net: &mut Network,
    rule: &str,
    iteration: u64,
) -> Result<()> {
    let mut updated: Vec<(usize, Vec<f32>)> = Vec::new();
    for (j, p) in net.projections.iter().enumerate() {
        if !d.plastic[j] {
            continue;
        }
        let mut sum: Vec<f64> = p.weights.iter().map(|&w| f64::from(w)).collect();
        let mut touched = vec![false; p.len()];
        for lane in lanes {
            let lw = &lane.projections[j].weights;
            for (s, (&wl, &w0)) in lw.iter().zip(&p.weights).enumerate() {
                if wl != w0 {
                    touched[s] = true;
                    sum[s] += f64::from(wl) - f64::from(w0);
                }
            }
        }
        let mut w = p.weights.clone();
        for (s, w) in w.iter_mut().enumerate() {
            if !touched[s] {
                continue;
            }
            let sign = d.keep_sign.then(|| d.signs[j][s]);
            *w = constrain(sum[s] as f32, d.w_min, d.w_max, sign);
            if !w.is_finite() {
                return Err(Error::Rule(format!(
                    "rule '{rule}' in iteration {iteration}: the sum of the {} lanes' changes made synapse {s} of projection '{}' {w}; nothing was written for this batch (set w_min and w_max in the rule config's [host] table)",
                    lanes.len(),
                    p.name
                )));
            }
        }
        updated.push((j, w));
    }
    for (j, w) in updated {
        net.projections[j].weights = w;
    }
    Ok(())
}

/// One rule's diagnostics over the lanes of a batch, in lane order: per-sequence values
/// averaged over all the lanes' sequences, per-batch values over the lanes.
pub(crate) fn lane_diagnostics<'a>(
    lanes: impl ExactSizeIterator<Item = &'a crate::sim::Diagnostics>,
) -> Vec<(String, f64)> {
    let n_lanes = lanes.len().max(1) as f64;
    let mut seq = crate::sim::Diagnostics::default();
    let mut batch: Vec<(String, f64)> = Vec::new();
    for d in lanes {
        for (name, sum) in &d.sequence_sums {
            match seq.sequence_sums.iter_mut().find(|(n, _)| n == name) {
                Some(e) => e.1 += sum,
                None => seq.sequence_sums.push((name.clone(), *sum)),
            }
        }
        seq.sequences += d.sequences;
        for (name, v) in &d.batch {
            match batch.iter_mut().find(|(n, _)| n == name) {
                Some(e) => e.1 += v,
                None => batch.push((name.clone(), *v)),
            }
        }
    }
    seq.batch = batch.into_iter().map(|(n, v)| (n, v / n_lanes)).collect();
    seq.values()
}

/// Run `jobs` (split, sample index) on `lanes` in parallel: sequence `b` in lane `b % L`, each
/// lane in order; `threads` take whole lanes. The loss is scaled for a batch of `jobs.len()`.
/// Per lane: summed loss, wrong predictions, per-neuron spike counts; summed in lane order.
/// One lane's part of a batch: summed loss, wrong predictions, per-neuron spike counts (per
/// population), spikes per population, `(job, loss)` of each of its sequences.
pub(super) type LaneOut = (f64, usize, Vec<Vec<u64>>, Vec<u64>, Vec<(usize, f64)>);

/// Only the lanes `owned` run (a rank's share, [`super::ranks`]); the others' entries are
/// `None`.
fn run_jobs(
    lanes: &mut [Lane],
    threads: usize,
    task: &dyn Task,
    (input, readout, clamps): (usize, usize, &[Clamp]),
    jobs: &[(Split, u64)],
    scale_n: usize,
    owned: std::ops::Range<usize>,
) -> Result<Vec<Option<LaneOut>>> {
    let n_lanes = lanes.len();
    let steps = task.steps();
    let results: Vec<Mutex<Option<Result<LaneOut>>>> =
        (0..n_lanes).map(|_| Mutex::new(None)).collect();
    let work = |l: usize, lane: &mut Lane| -> Result<LaneOut> {
        let sim = &mut lane.sim;
        let mut counts: Vec<Vec<u64>> = sim
            .network()
            .populations
            .iter()
            .map(|p| vec![0; p.size as usize])
            .collect();
        let (mut loss, mut wrong) = (0.0, 0usize);
        let mut pop_spikes = vec![0u64; counts.len()];
        let mut sample_losses = Vec::new();
        for (b, &(split, index)) in jobs.iter().enumerate() {
            if b % n_lanes != l {
                continue;
            }
            let s = task.sample(split, index)?;
            sim.reset();
            sim.clamp(input, &s.input)?;
            for (p, spikes) in clamps {
                sim.clamp(*p, spikes)?;
            }
            // the sample's series of the task's channels (the evaluation lanes have none: no
            // rule runs there); a channel the sample gives no series reads 0, never the last
            // sample's value
            for (c, name) in task.modulators().iter().enumerate() {
                if let Some(k) = sim.modulator_names().iter().position(|n| n == name) {
                    let series = s.modulators.get(c).cloned().unwrap_or_default();
                    sim.set_modulator_series(k, Some(series));
                }
            }
            let n_out = sim.network().populations[readout].size as usize;
            sim.set_teacher(Some(Teacher::new(readout, n_out, s.loss.clone(), scale_n)))?;
            // per neuron (counted while a rule is attached)
            sim.run_sequence(steps, Some(&mut counts))?;
            let t = sim.teacher().expect("set above");
            loss += t.value;
            sample_losses.push((b, t.value));
            if let Some(label) = s.label
                && t.prediction() != label
            {
                wrong += 1;
            }
            // per population (always)
            for (a, &n) in pop_spikes.iter_mut().zip(&sim.counters().spikes) {
                *a += n;
            }
        }
        Ok((loss, wrong, counts, pop_spikes, sample_losses))
    };
    let first = owned.start;
    let per_thread = owned.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|sc| {
        for (c, chunk) in lanes[owned].chunks_mut(per_thread).enumerate() {
            let (results, work) = (&results, &work);
            sc.spawn(move || {
                for (k, lane) in chunk.iter_mut().enumerate() {
                    let l = first + c * per_thread + k;
                    *results[l].lock().expect("no poison") = Some(work(l, lane));
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.into_inner().expect("no poison").transpose())
        .collect()
}

/// Every lane's [`LaneOut`], in lane order, as one batch of `n_batch` jobs.
fn combine(outs: Vec<LaneOut>, n_batch: usize) -> BatchResult {
    let mut out = BatchResult {
        loss: 0.0,
        wrong: 0,
        counts: Vec::with_capacity(outs.len()),
        pop_spikes: Vec::new(),
        sample_losses: vec![0.0; n_batch],
    };
    for (loss, wrong, counts, pop_spikes, sample_losses) in outs {
        out.loss += loss;
        out.wrong += wrong;
        out.counts.push(counts);
        for (b, x) in sample_losses {
            out.sample_losses[b] = x;
        }
        out.pop_spikes.resize(pop_spikes.len(), 0);
        for (a, b) in out.pop_spikes.iter_mut().zip(pop_spikes) {
            *a += b;
        }
    }
    out
}
