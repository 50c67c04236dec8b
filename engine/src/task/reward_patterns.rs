//! `reward_patterns` — a reward-driven go/no-go task for three-factor rules (reward-modulated
//! STDP): one of two fixed input spike patterns is rewarded, and the network should come to
//! respond more strongly to it than to the other.
//!
//! # What
//! Two fixed ("frozen") input patterns, A and B, drawn once from the task seed. Every sample
//! shows one of them for the whole sequence, chosen from (task seed, split, index) with
//! probability 1/2 each. The task fills one modulator channel, `reward`: `+1` at every step of a
//! sequence showing A (the rewarded pattern), `-1` at every step of one showing B. A rule such
//! as `rstdp` then strengthens the synapses whose pairings drove the response to A and weakens
//! those that drove the response to B.
//!
//! # Layout
//! - Input `in`: 20 neurons in two groups of 10. Pattern A: neurons 0-9 spike with probability
//!   `P_IN` = 0.05 per 1-ms step (50 Hz), drawn once; pattern B: neurons 10-19 the same way
//!   (another draw). The other group is silent.
//! - Sequences of `STEPS` = 100 steps (any `--scale` gives the same: the task is already tiny).
//! - `rec`: 10 LIF neurons (`tau_m` 20 ms, `v_th` 0.6, 2 refractory steps), all-to-all from
//!   `in` with weights `U(0, 0.2)`; no recurrent weights.
//! - Readout `out` (2 neurons, 20 ms): a fixed go/no-go decision, not learned. `out[0]` ("go")
//!   sums the spikes of `rec` (weight `1 / n_rec` each); `out[1]` ("no-go") sums the spikes of
//!   `in` (weight `NOGO_W` = 0.02 each): "go" wins when `rec` fires more than about one spike
//!   per five input spikes, about the initial networks' typical response.
//! - Label: 0 (go) for A, 1 (no-go) for B; loss `Loss::CrossEntropy` over the whole sequence.
//!   The error rate the trainer reports is the fraction of samples where the readout says "go"
//!   to B or "no-go" to A: it falls as the response to A grows and the response to B shrinks.
//!   (The readout's own weights are not plastic for a rule that needs postsynaptic spikes, and
//!   a direct rule leaves the readout bias alone.)
//!
//! # Training defaults and what they give
//! Batch 4, 40 iterations, validation (every 10 iterations) on 32 and test on 64 sequences; the
//! rule parameters the task proposes are `w_max` = 0.5 (room for the rewarded synapses to grow)
//! and `eta` = 1e-4. The optimizer settings are unused by direct rules.
//!
//! Measured with `rstdp` (`eligo train --task reward_patterns --rule rstdp --seed S`): the
//! initial networks of seeds 1-4 (`--param eta=0`) have validation errors 0.56, 1.0, 0.38 and
//! 1.0 (they answer B at least as strongly as A: seed 1 fires 10 spikes to A, 17 to B); after 5
//! iterations the test errors are 0, 0, 0.52 and 0 (seed 1: 44 spikes to A, 2 to B), after 20
//! iterations 0 for all four.
//!
//! # References
//! - E. Izhikevich, Cereb. Cortex 17:2443 (2007) (one rewarded pattern among others, reward
//!   gating an eligibility trace).
//! - N. Frémaux, W. Gerstner, Front. Neural Circuits 9:85 (2016).

use rand::RngExt;

use super::{Defaults, Kind, Sample, Split, Task, TaskOptions, sample_rng};
use crate::network::{ConnectRule, NetworkSpec, PopulationSpec, ProjectionSpec, WeightDist};
use crate::neuron::{LifParams, ModelSpec, ReadoutParams};
use crate::optim::{Loss, Method};

/// Input neurons (two groups of `N_IN / 2`).
pub const N_IN: u32 = 20;
/// Recurrent (LIF) neurons.
pub const N_REC: u32 = 10;
/// Steps per sequence.
pub const STEPS: u64 = 100;
/// Spike probability per step of an active input neuron (50 Hz).
pub const P_IN: f64 = 0.05;
/// Weight of each input spike on the "no-go" readout.
pub const NOGO_W: f32 = 0.02;
/// The channel the task fills.
pub const CHANNELS: &[&str] = &["reward"];

/// The reward-patterns task.
#[derive(Debug, Clone)]
pub struct RewardPatterns {
    seed: u64,
    /// Patterns A and B: `(step, input neuron)`.
    patterns: [Vec<(u64, u32)>; 2],
}

impl RewardPatterns {
    /// The task: both patterns drawn from `opts.seed` (`opts.scale` is ignored).
    pub fn new(opts: &TaskOptions) -> Self {
        // one generator per task seed (not per sample): the patterns are frozen
        let mut rng = sample_rng(opts.seed, Split::Train, u64::MAX);
        let half = N_IN / 2;
        let mut draw = |first: u32| {
            let mut p = Vec::new();
            for t in 0..STEPS {
                for i in first..first + half {
                    if rng.random_bool(P_IN) {
                        p.push((t, i));
                    }
                }
            }
            p
        };
        let a = draw(0);
        let b = draw(half);
        RewardPatterns {
            seed: opts.seed,
            patterns: [a, b],
        }
    }

    /// Pattern `k` (0 = A, rewarded; 1 = B).
    pub fn pattern(&self, k: usize) -> &[(u64, u32)] {
        &self.patterns[k]
    }

    /// Which pattern sample `index` of `split` shows.
    pub fn shown(&self, split: Split, index: u64) -> usize {
        usize::from(sample_rng(self.seed, split, index).random_bool(0.5))
    }

    /// Sample `index` of `split` (the task's [`Task::sample`], which cannot fail).
    pub fn generate(&self, split: Split, index: u64) -> Sample {
        let k = self.shown(split, index);
        let reward = if k == 0 { 1.0 } else { -1.0 };
        Sample {
            input: self.patterns[k].clone(),
            loss: Loss::CrossEntropy {
                class: k,
                from: 0,
                to: STEPS,
            },
            label: Some(k),
            modulators: vec![vec![reward; STEPS as usize]],
        }
    }
}

impl Task for RewardPatterns {
    fn name(&self) -> &'static str {
        "reward_patterns"
    }

    fn kind(&self) -> Kind {
        Kind::Classification
    }

    fn steps(&self) -> u64 {
        STEPS
    }

    fn network(&self, seed: u64) -> NetworkSpec {
        let pop = |name: &str, size, model| PopulationSpec {
            name: name.into(),
            size,
            model,
            v_init: None,
        };
        let list = |pairs: Vec<(u32, u32)>, w: f32| ConnectRule::List {
            weights: Some(vec![w; pairs.len()]),
            pairs,
            delay_steps: None,
        };
        NetworkSpec {
            dt_ms: 1.0,
            seed,
            populations: vec![
                pop("in", N_IN, ModelSpec::External),
                pop(
                    "rec",
                    N_REC,
                    ModelSpec::Lif(LifParams {
                        tau_m_ms: 20.0,
                        v_th: 0.6,
                        t_ref_ms: Some(2.0),
                        n_ref: None,
                        gamma_pd: 0.3,
                    }),
                ),
                pop(
                    "out",
                    2,
                    ModelSpec::Readout(ReadoutParams {
                        tau_out_ms: 20.0,
                        bias: 0.0,
                    }),
                ),
            ],
            projections: vec![
                ProjectionSpec::new(
                    "in",
                    "rec",
                    ConnectRule::AllToAll,
                    WeightDist::Uniform {
                        low: 0.0,
                        high: 0.1,
                    },
                ),
                ProjectionSpec::new(
                    "rec",
                    "out",
                    list((0..N_REC).map(|i| (i, 0)).collect(), 1.0 / N_REC as f32),
                    WeightDist::Constant(0.0),
                ),
                ProjectionSpec::new(
                    "in",
                    "out",
                    list((0..N_IN).map(|i| (i, 1)).collect(), NOGO_W),
                    WeightDist::Constant(0.0),
                ),
            ],
        }
    }

    fn sample(&self, split: Split, index: u64) -> crate::error::Result<Sample> {
        Ok(self.generate(split, index))
    }

    fn modulators(&self) -> &[&'static str] {
        CHANNELS
    }

    fn defaults(&self) -> Defaults {
        Defaults {
            method: Method::Sgd,
            lr: 0.0,
            batch: 4,
            iterations: 40,
            rule_params: vec![("w_max", 0.5), ("eta", 0.0001)],
            stop_below_error: None,
            eval_every: 10,
        }
    }

    fn validation_sequences(&self, _batch: usize) -> usize {
        32
    }

    fn test_sequences(&self, _batch: usize) -> usize {
        64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(seed: u64) -> RewardPatterns {
        RewardPatterns::new(&TaskOptions { seed, scale: 1.0 })
    }

    #[test]
    fn patterns_samples_and_reward() {
        let t = task(3);
        // A on neurons 0-9, B on 10-19, each about 10 x 100 x 0.05 = 50 spikes
        for (k, range) in [(0usize, 0..10u32), (1, 10..20)] {
            let p = t.pattern(k);
            assert!(p.iter().all(|&(s, i)| s < STEPS && range.contains(&i)));
            assert!((25..=75).contains(&p.len()), "{}", p.len());
        }
        let mut seen = [0usize; 2];
        for i in 0..200 {
            let s = t.generate(Split::Train, i);
            let k = s.label.unwrap();
            seen[k] += 1;
            assert_eq!(s.input, t.pattern(k));
            let want = if k == 0 { 1.0 } else { -1.0 };
            assert_eq!(s.modulators, vec![vec![want; STEPS as usize]]);
            // a pure function of (seed, split, index)
            assert_eq!(s, t.generate(Split::Train, i));
        }
        assert!(seen[0] > 70 && seen[1] > 70, "{seen:?}");
        assert_eq!(t.modulators(), ["reward"]);
        assert_ne!(task(4).pattern(0), t.pattern(0));
        // the network builds and has the go/no-go readout wiring
        let net = t.network(1).build().unwrap();
        assert_eq!(net.projections.len(), 3);
    }
}
