//! Tasks: seeded generators of input spike trains and targets, with the network and the
//! training settings of the paper that introduced them as defaults.
//!
//! A task is stateless: sample `i` of a split is a pure function of (task seed, split, `i`), so
//! training can resume at any iteration and run on any number of threads with the same data.
//! Steps are engine steps (dt = 1 ms); input spikes are emitted by the `in` population at the
//! given step and reach the network one step later.

pub mod digits;
pub mod evidence;
pub mod pattern;
pub mod reward_patterns;
pub mod sine_waves;
pub mod store_recall;

use crate::error::{Error, Result, did_you_mean};
use crate::network::{ConnectRule, NetworkSpec, PopulationSpec, ProjectionSpec, WeightDist};
use crate::neuron::{ModelSpec, ReadoutParams};
use crate::optim::{Loss, Method};
use crate::rng::splitmix64;

/// Which part of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Training samples.
    Train = 0,
    /// Validation samples (early stopping).
    Validation = 1,
    /// Held-out test samples (final result).
    Test = 2,
}

/// Regression or classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Mean squared error; the result is the normalized MSE.
    Regression,
    /// Cross-entropy; the result is the error rate.
    Classification,
}

/// One sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Input spikes `(step, input neuron)`.
    pub input: Vec<(u64, u32)>,
    /// What the readout must do.
    pub loss: Loss,
    /// Class label (classification).
    pub label: Option<usize>,
    /// One series per modulator channel of the task ([`Task::modulators`], same order), a
    /// value per step; empty for tasks without channels.
    pub modulators: Vec<Vec<f32>>,
}

/// Training settings a task recommends (the paper's, where it gives them).
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    /// Optimizer.
    pub method: Method,
    /// Learning rate.
    pub lr: f64,
    /// Sequences per batch.
    pub batch: usize,
    /// Maximum number of iterations (batches).
    pub iterations: u64,
    /// Values the task proposes for rule parameters, by name (e.g. the firing-rate
    /// regularizer's `c_reg` and `f_target_hz`, random feedback's `random_scale`): the host
    /// applies each only to a rule that declares a parameter of that name, so a task names no
    /// particular rule.
    pub rule_params: Vec<(&'static str, f64)>,
    /// Stop when the validation error falls below this (classification).
    pub stop_below_error: Option<f64>,
    /// Validate every this many iterations.
    pub eval_every: u64,
}

/// A task.
pub trait Task: Send + Sync {
    /// Name (as given to `--task`).
    fn name(&self) -> &'static str;
    /// Regression or classification.
    fn kind(&self) -> Kind;
    /// Steps per sequence.
    fn steps(&self) -> u64;
    /// The network: populations `in` (an `external` source), the recurrent population(s) and
    /// one readout `out`; weights drawn from `seed`.
    fn network(&self, seed: u64) -> NetworkSpec;
    /// Sample `index` of `split`.
    fn sample(&self, split: Split, index: u64) -> Result<Sample>;
    /// Recommended training settings.
    fn defaults(&self) -> Defaults;
    /// Validation sequences per check for mini-batches of `batch`: two batches, at least 128,
    /// so that the stopping test is not decided by noise.
    fn validation_sequences(&self, batch: usize) -> usize {
        (2 * batch).max(128)
    }
    /// Held-out sequences of the final test for mini-batches of `batch`: four batches, at
    /// least 256.
    fn test_sequences(&self, batch: usize) -> usize {
        (4 * batch).max(256)
    }
    /// Names of the modulator channels the task fills (e.g. `reward`); every sample carries
    /// one series per channel in [`Sample::modulators`]. Training adds them to each lane's
    /// simulation before the rule is created, so rules find them by name.
    fn modulators(&self) -> &[&'static str] {
        &[]
    }
    /// The population the samples' input spikes are clamped onto (an `external` one).
    fn input_population(&self) -> &str {
        "in"
    }
    /// The readout population the loss is computed on; `None`: the network's only readout.
    fn readout_population(&self) -> Option<&str> {
        None
    }
    /// Iterations per epoch for mini-batches of `batch`, for a task with a finite training set
    /// (a data set): the run then validates at the end of every epoch and reports per-epoch
    /// metrics. `None` for the built-in generators, which never run out of samples.
    fn epoch_iterations(&self, _batch: usize) -> Option<u64> {
        None
    }
    /// What a plot of a sample marks: named groups of input neurons and named time windows
    /// every sample shares (e.g. the cue windows). A sample's decision window is its loss's
    /// (`Loss::CrossEntropy { from, to }`), not repeated here. Default: nothing to mark.
    fn layout(&self) -> Layout {
        Layout::default()
    }
}

/// The marks of a task's samples for plots ([`Task::layout`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layout {
    /// Groups of input neurons, `(name, first..end)` in population-local indices, in order.
    pub input_groups: Vec<(String, std::ops::Range<u32>)>,
    /// Time windows of every sample, `(name, first step..end step)`; windows of one name
    /// (e.g. the seven cues) share a legend entry.
    pub windows: Vec<(String, std::ops::Range<u64>)>,
}

/// The tasks `--task` knows.
pub const TASKS: &[&str] = &[
    "evidence",
    "evidence-lif",
    "pattern",
    "store-recall",
    "sine-waves",
    "digits",
    "reward_patterns",
];

/// Options every task takes.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskOptions {
    /// Seed of the data.
    pub seed: u64,
    /// Scale the task down for quick tests (fewer steps / smaller networks), 1 = the paper's.
    pub scale: f64,
}

/// The task called `name`. `opts.scale` must be in (0, 1]: the tasks only shrink (each keeps
/// a few steps per phase at the smallest scales).
pub fn by_name(name: &str, opts: &TaskOptions) -> Result<Box<dyn Task>> {
    if !(opts.scale > 0.0 && opts.scale <= 1.0) {
        return Err(Error::input(
            "--scale",
            opts.scale,
            "must be a number in (0, 1]: 1 is the paper's task, smaller values shorten it",
            "try --scale 0.1 for a quick run",
        ));
    }
    match name {
        "evidence" => Ok(Box::new(evidence::Evidence::new(opts, false))),
        "evidence-lif" => Ok(Box::new(evidence::Evidence::new(opts, true))),
        "pattern" => Ok(Box::new(pattern::Pattern::new(opts))),
        "store-recall" => Ok(Box::new(store_recall::StoreRecall::new(opts))),
        "sine-waves" => Ok(Box::new(sine_waves::SineWaves::new(opts))),
        "digits" => Ok(Box::new(digits::Digits::new(opts)?)),
        "reward_patterns" => Ok(Box::new(reward_patterns::RewardPatterns::new(opts))),
        other => Err(Error::input(
            "--task",
            other,
            format!("unknown task; tasks: {}", TASKS.join(", ")),
            did_you_mean(other, TASKS),
        )),
    }
}

/// A task network: `in` (external, `n_in`), `rec` (`model`, `n_rec`), readout `out` (`n_out`,
/// `tau_out_ms`); all-to-all with delay 1, no self-connections; weights `N(0, w_scale^2 / n_in)`,
/// `N(0, w_scale^2 / n_rec)`, `N(0, w_scale^2 / n_rec)`.
pub fn task_network(
    seed: u64,
    n_in: u32,
    (n_rec, model): (u32, ModelSpec),
    (n_out, tau_out_ms): (u32, f64),
    w_scale: f64,
) -> NetworkSpec {
    let normal = |n: u32| WeightDist::Normal {
        mean: 0.0,
        std: w_scale / f64::from(n).sqrt(),
    };
    let proj = |from: &str, to: &str, w| ProjectionSpec::new(from, to, ConnectRule::AllToAll, w);
    NetworkSpec {
        dt_ms: 1.0,
        seed,
        populations: vec![
            PopulationSpec {
                name: "in".into(),
                size: n_in,
                model: ModelSpec::External,
                v_init: None,
            },
            PopulationSpec {
                name: "rec".into(),
                size: n_rec,
                model,
                v_init: None,
            },
            PopulationSpec {
                name: "out".into(),
                size: n_out,
                model: ModelSpec::Readout(ReadoutParams {
                    tau_out_ms,
                    bias: 0.0,
                }),
                v_init: None,
            },
        ],
        projections: vec![
            proj("in", "rec", normal(n_in)),
            proj("rec", "rec", normal(n_rec)),
            proj("rec", "out", normal(n_rec)),
        ],
    }
}

/// A generator for sample `index` of `split` of a task seeded with `seed`.
pub fn sample_rng(seed: u64, split: Split, index: u64) -> rand_xoshiro::Xoshiro256PlusPlus {
    use rand::SeedableRng;
    rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(splitmix64(
        splitmix64(seed ^ 0x7A5C_0000) ^ ((split as u64) << 56) ^ index,
    ))
}
