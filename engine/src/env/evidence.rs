//! `evidence` (with `--reward`) — the evidence-accumulation task ([`crate::task::evidence`],
//! Bellec et al. 2020, NC Fig. 3) as a reward task: the agent sees the trial's cues, delay and
//! recall cue, then chooses left (action 0) or right (action 1); reward +1 if the choice is the
//! side that got more cues, −1 if not, and the episode ends (terminal).
//!
//! Episode `e` is training sample `e` of the task ([`Evidence::generate`], `Split::Train`),
//! seeded with the environment's seed: the same input spikes and label. The trial (2250 ms,
//! or shorter with `scale` < 1 as the task shrinks it) is shown agent step by agent step, `K`
//! network steps each ([`AGENT_STEPS`] = 50 by default: 45 agent steps at scale 1); when `K`
//! does not divide the trial, silent steps are put *before* it, so the recall cue always ends
//! with the last agent step, whose readout the choice is read from. [`Env::acts`] is false
//! until that last agent step; every step before it pays 0.
//!
//! Inputs are the task's 40 (left, right, recall, noise; 10 each), no encoder. Network: the
//! task's (50 LIF + 50 ALIF) with 3 outputs (logits left, right; value) and a slower readout,
//! `tau_out` [`TAU_OUT_MS`] = 100 ms (the task's is 20 ms), with initial weights
//! `N(0, 0.04 / n_rec)` ([`READOUT_STD_SCALE`], the task's `N(0, 1 / n_rec)`).

use super::{End, Env, EnvOptions, Outcome};
use crate::error::Result;
use crate::network::{NetworkSpec, WeightDist};
use crate::neuron::ModelSpec;
use crate::task::evidence::Evidence;
use crate::task::{Split, Task, TaskOptions};

/// Network steps (1 ms) per agent step.
pub const AGENT_STEPS: u64 = 50;

/// The readout's time constant (ms). The choice is read at one step, so the readout averages
/// the last ~100 ms of the recall cue, as the supervised task's loss averages its last 150 ms;
/// with the supervised task's 20 ms the runs of docs/results.md learned less (peaks near 88 %
/// correct, falling back to about 80 %). 150 ms with the task's readout weights made the
/// initial logits so large that the policy was deterministic from the start and did not learn.
pub const TAU_OUT_MS: f64 = 100.0;

/// The readout's initial weights are `N(0, (READOUT_STD_SCALE)^2 / n_rec)`: 20 ms / 100 ms of
/// the task's `N(0, 1 / n_rec)`.
pub const READOUT_STD_SCALE: f64 = 0.2;

/// The evidence-accumulation reward task (see the module docs).
#[derive(Debug, Clone)]
pub struct EvidenceReward {
    task: Evidence,
    /// The current trial's input spikes `(step, input)` ascending by step, and its label.
    input: Vec<(u64, u32)>,
    label: usize,
    /// Next spike of `input` to show.
    next: usize,
    /// Silent steps before the trial: fixed by the first `encode` (its `k`).
    pad: Option<u64>,
    /// Network steps shown so far (padding included).
    shown: u64,
    done: bool,
}

impl EvidenceReward {
    /// The task with `opts.seed`, shortened by `opts.scale` as [`Evidence`] is; reset to
    /// episode 0.
    pub fn new(opts: &EnvOptions) -> Self {
        let task = Evidence::new(
            &TaskOptions {
                seed: opts.seed,
                scale: opts.scale,
            },
            false,
        );
        let mut env = EvidenceReward {
            task,
            input: Vec::new(),
            label: 0,
            next: 0,
            pad: None,
            shown: 0,
            done: false,
        };
        env.reset(0).expect("the evidence task resets without fail");
        env
    }

    /// The current trial's label: 0 left, 1 right (the rewarded action).
    pub fn label(&self) -> usize {
        self.label
    }

    /// Network steps of a trial, without padding.
    pub fn trial_steps(&self) -> u64 {
        self.task.steps()
    }
}

impl Env for EvidenceReward {
    fn name(&self) -> &str {
        "evidence"
    }

    fn inputs(&self) -> usize {
        40
    }

    fn actions(&self) -> usize {
        2
    }

    fn reset(&mut self, episode: u64) -> Result<()> {
        let s = self.task.generate(Split::Train, episode);
        self.input = s.input;
        self.label = s.label.unwrap_or(0);
        self.next = 0;
        self.pad = None;
        self.shown = 0;
        self.done = false;
        Ok(())
    }

    fn encode(&mut self, k: u64, out: &mut Vec<(u64, u32)>) {
        let steps = self.task.steps();
        let pad = *self.pad.get_or_insert((k - steps % k) % k);
        let end = self.shown + k;
        while let Some(&(t, i)) = self.input.get(self.next) {
            let at = t + pad;
            if at >= end {
                break;
            }
            out.push((at - self.shown, i));
            self.next += 1;
        }
        self.shown = end;
    }

    fn acts(&self) -> bool {
        !self.done
            && self
                .pad
                .is_some_and(|pad| self.shown >= pad + self.task.steps())
    }

    /// An action while [`Env::acts`] is false is ignored; `None` when it is true (never asked
    /// for) counts as a wrong choice.
    fn step(&mut self, action: Option<usize>) -> Result<Outcome> {
        if !self.acts() {
            return Ok(Outcome {
                reward: 0.0,
                end: End::Running,
            });
        }
        self.done = true;
        Ok(Outcome {
            reward: if action == Some(self.label) {
                1.0
            } else {
                -1.0
            },
            end: End::Terminal,
        })
    }

    fn agent_steps(&self) -> u64 {
        AGENT_STEPS
    }

    /// Every episode has the same length: the (padded) trial, then the choice.
    fn max_agent_steps(&self, k: u64) -> Option<u64> {
        Some(self.task.steps().div_ceil(k))
    }

    fn network(&self, seed: u64) -> NetworkSpec {
        let mut spec = self.task.network(seed);
        for p in &mut spec.populations {
            if p.name == "out" {
                p.size = 3;
                if let ModelSpec::Readout(r) = &mut p.model {
                    r.tau_out_ms = TAU_OUT_MS;
                }
            }
        }
        // a 5x slower filter sums about 5x more spikes: the readout's weights 5x smaller keep
        // the initial logits and value at the task's scale
        let n_rec = spec
            .populations
            .iter()
            .find(|p| p.name == "rec")
            .map_or(1, |p| p.size);
        if let Some(out) = (spec.projections.iter_mut()).find(|p| p.from == "rec" && p.to == "out")
        {
            out.weight = WeightDist::Normal {
                mean: 0.0,
                std: READOUT_STD_SCALE / f64::from(n_rec).sqrt(),
            };
        }
        spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(scale: f64) -> EvidenceReward {
        EvidenceReward::new(&EnvOptions { seed: 9, scale })
    }

    /// Runs episode `e` to its end with `choice(label)`; returns the agent steps, the shown
    /// spikes in trial time and the final outcome.
    fn run(
        env: &mut EvidenceReward,
        e: u64,
        k: u64,
        choice: impl Fn(usize) -> usize,
    ) -> (u64, Vec<(u64, u32)>, Outcome) {
        env.reset(e).unwrap();
        let pad = (k - env.trial_steps() % k) % k;
        let mut spikes = Vec::new();
        for n in 0.. {
            let mut chunk = Vec::new();
            env.encode(k, &mut chunk);
            assert!(chunk.iter().all(|&(t, _)| t < k));
            spikes.extend(chunk.iter().map(|&(t, i)| (n * k + t - pad, i)));
            if !env.acts() {
                let o = env.step(None).unwrap();
                assert_eq!(
                    o,
                    Outcome {
                        reward: 0.0,
                        end: End::Running
                    }
                );
                continue;
            }
            let o = env.step(Some(choice(env.label()))).unwrap();
            return (n + 1, spikes, o);
        }
        unreachable!()
    }

    /// The episode shows exactly the task's sample, acts only at its last agent step, and
    /// pays +1 for the label, −1 for the other side.
    #[test]
    fn acts_at_the_end_and_rewards_by_label() {
        for (scale, k) in [(1.0, AGENT_STEPS), (0.1, AGENT_STEPS), (0.1, 7)] {
            let mut e = env(scale);
            let task = Evidence::new(&TaskOptions { seed: 9, scale }, false);
            let steps = task.steps();
            let mut labels = [0; 2];
            for ep in 0..20 {
                let sample = task.generate(Split::Train, ep);
                let label = sample.label.unwrap();
                labels[label] += 1;
                let (n, spikes, o) = run(&mut e, ep, k, |l| l);
                assert_eq!(n, steps.div_ceil(k), "scale {scale} k {k}");
                assert_eq!(e.max_agent_steps(k), Some(n), "the longest episode");
                assert_eq!(spikes, sample.input, "the trial's spikes, in order");
                assert_eq!(
                    o,
                    Outcome {
                        reward: 1.0,
                        end: End::Terminal
                    }
                );
                let (_, _, o) = run(&mut e, ep, k, |l| 1 - l);
                assert_eq!(
                    o,
                    Outcome {
                        reward: -1.0,
                        end: End::Terminal
                    }
                );
                assert!(!e.acts(), "done after the choice");
            }
            assert!(labels[0] > 0 && labels[1] > 0);
        }
        assert_eq!(env(1.0).trial_steps(), 45 * AGENT_STEPS);
    }

    #[test]
    fn network_has_three_outputs() {
        let spec = env(1.0).network(2);
        let sizes: Vec<(&str, u32)> = spec
            .populations
            .iter()
            .map(|p| (p.name.as_str(), p.size))
            .collect();
        assert_eq!(sizes, [("in", 40), ("rec", 100), ("out", 3)]);
        let out = spec.populations.iter().find(|p| p.name == "out").unwrap();
        assert!(
            matches!(&out.model, ModelSpec::Readout(r) if r.tau_out_ms == 100.0),
            "{:?}",
            out.model
        );
        let w = spec
            .projections
            .iter()
            .find(|p| p.from == "rec" && p.to == "out")
            .unwrap();
        // 0.2 / sqrt(100)
        assert_eq!(
            w.weight,
            WeightDist::Normal {
                mean: 0.0,
                std: 0.02
            }
        );
    }
}
