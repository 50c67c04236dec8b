//! `store-recall` — store and recall one bit, Bellec et al. 2019 (arXiv 1901.09049, e-prop 1;
//! the authors' 2019 `tutorial_store_recall.py`).
//!
//! # What
//! A sequence of 12 symbols of 200 ms each. Every symbol slot shows a random bit ("0" or "1");
//! one slot also shows the *store* cue, a later slot shows only the *recall* cue. During the
//! recall slot the network must output the bit that was shown together with the store cue; the
//! bits in between are distractors.
//!
//! # Layout
//! - 100 input neurons in 4 groups of 25: "0", "1", store, recall (group `g` = neurons
//!   `25 g .. 25 g + 25`). An active group fires Poisson at 50 Hz (`p = 0.05` per step);
//!   inactive groups are silent.
//! - Slot `k` spans `[200 k, 200 k + 200)` steps. Slot `k != r` shows bit `b_k ~ U{0, 1}`;
//!   slot `s` also shows store; slot `r` shows recall only. Label = `b_s`.
//! - Placement: delay `d = r - s ~ U{1, ..., 11}` (expected 6 slots, the authors' expected
//!   store -> recall delay of 6 steps), then `s ~ U{0, ..., 11 - d}`.
//! - Loss `Loss::CrossEntropy` over the recall slot `[200 r, 200 r + 200)`; prediction = argmax of
//!   the logits averaged over that slot. Chance: loss `ln 2 = 0.693`, error 50 %.
//!
//! # Network (convention A, converted from the authors' convention B; docs/eprop.md §2.4)
//! | name | value | meaning |
//! | --- | --- | --- |
//! | `n_rec` | 100 | 60 LIF (`n_lif` = 60) + 40 ALIF (40 %) |
//! | `tau_m_ms` | 20 ms | `alpha = exp(-1/20) = 0.951229` |
//! | `tau_a_ms` | 1200 ms | `rho = exp(-1/1200) = 0.999167` |
//! | `v_th` | 0.6151 | `v_th_B / (1 - alpha) = 0.03 / 0.048771` |
//! | `beta` | 0.02904 | `beta_B (1 - rho) / (1 - alpha) = 1.7 * 8.330e-4 / 0.048771` |
//! | `t_ref_ms` | 5 ms | refractory period, 5 steps (as the NC scripts; the 2019 value is not recorded) |
//! | `gamma_pd` | 0.3 | pseudo-derivative height |
//! | `tau_out_ms` | 20 ms | readout filter, 2 outputs |
//! | weights | `N(0, 1/n_in)`, `N(0, 1/n_rec)`, `N(0, 1/n_rec)` | no self-connections |
//!
//! `beta` is derived as docs/eprop.md §2.4 derives evidence accumulation's 0.0174 from 1.7 (there
//! with `tau_a` 2000 ms): in convention B, `a_B = rho a_B + (1 - rho) z` and the voltage is
//! `v_B = (1 - alpha) v_A`, so `A_B = v_th_B + beta_B a_B` becomes, in convention A units
//! (`a_A = a_B / (1 - rho)`, divide by `1 - alpha`),
//! `A_A = v_th_A + beta_B (1 - rho) / (1 - alpha) a_A`.
//!
//! # Training defaults
//! Adam 2e-3, batch 128, up to 300 iterations, stop when the validation error is below 5 %
//! ("solved": > 95 % correct), rate regularization `c_reg` 1 at 10 Hz, random feedback
//! `B ~ N(0, 1/n_rec)` (the 2019 script's `randn / sqrt(100)`).
//!
//! `scale < 1` shortens each symbol to `round(200 scale)` steps (at least 10); the sequence
//! keeps its 12 slots.
//!
//! # References
//! - Bellec et al., arXiv:1901.09049 (2019): store-recall, e-prop 1 converges in about 50
//!   iterations, BPTT in about 28.
//! - IGITUGraz/eligibility_propagation, commit f562a41, `tutorial_store_recall.py`.
//! - docs/eprop.md §2.4 (the conversion), §10.3 (this task) and §11 (the pseudo-derivative).

use rand::RngExt;

use super::task_network;
use super::{Defaults, Kind, Sample, Split, Task, TaskOptions, sample_rng};
use crate::network::NetworkSpec;
use crate::neuron::{AlifParams, ModelSpec};
use crate::optim::{Loss, Method};

/// Symbol slots per sequence.
pub const SLOTS: u64 = 12;
/// Input neurons per symbol group.
pub const GROUP: u32 = 25;
/// Spike probability of an active group per step (50 Hz).
pub const P_ACTIVE: f64 = 0.05;

/// The store-recall task.
#[derive(Debug, Clone)]
pub struct StoreRecall {
    seed: u64,
    slot_ms: u64,
}

/// Where the cues of one sequence are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Slot of the store cue.
    pub store: u64,
    /// Slot of the recall cue.
    pub recall: u64,
}

impl StoreRecall {
    /// The task.
    pub fn new(opts: &TaskOptions) -> Self {
        StoreRecall {
            seed: opts.seed,
            slot_ms: ((200.0 * opts.scale.clamp(0.0, 1.0)).round() as u64).max(10),
        }
    }

    /// Steps per symbol.
    pub fn slot_ms(&self) -> u64 {
        self.slot_ms
    }

    /// The sample with its layout.
    pub fn sample_with_layout(&self, split: Split, index: u64) -> (Sample, Layout) {
        let mut rng = sample_rng(self.seed, split, index);
        let delay = rng.random_range(1..SLOTS);
        let store = rng.random_range(0..SLOTS - delay);
        let recall = store + delay;
        let bits: Vec<u32> = (0..SLOTS)
            .map(|_| u32::from(rng.random_bool(0.5)))
            .collect();
        let label = bits[store as usize] as usize;
        let mut input = Vec::new();
        for k in 0..SLOTS {
            let mut groups = Vec::with_capacity(2);
            if k == recall {
                groups.push(3);
            } else {
                groups.push(bits[k as usize]);
                if k == store {
                    groups.push(2);
                }
            }
            for t in k * self.slot_ms..(k + 1) * self.slot_ms {
                for &g in &groups {
                    for i in g * GROUP..(g + 1) * GROUP {
                        if rng.random_bool(P_ACTIVE) {
                            input.push((t, i));
                        }
                    }
                }
            }
        }
        input.sort_unstable();
        let sample = Sample {
            input,
            loss: Loss::CrossEntropy {
                class: label,
                from: recall * self.slot_ms,
                to: (recall + 1) * self.slot_ms,
            },
            label: Some(label),
            modulators: Vec::new(),
        };
        (sample, Layout { store, recall })
    }

    /// Sample `index` of `split` (the task's [`Task::sample`], which cannot fail).
    pub fn generate(&self, split: Split, index: u64) -> Sample {
        self.sample_with_layout(split, index).0
    }
}

impl Task for StoreRecall {
    fn name(&self) -> &'static str {
        "store-recall"
    }

    fn kind(&self) -> Kind {
        Kind::Classification
    }

    fn steps(&self) -> u64 {
        SLOTS * self.slot_ms
    }

    fn network(&self, seed: u64) -> NetworkSpec {
        let alpha = (-1.0f64 / 20.0).exp();
        let rho = (-1.0f64 / 1200.0).exp();
        task_network(
            seed,
            4 * GROUP,
            (
                100,
                ModelSpec::Alif(AlifParams {
                    tau_m_ms: 20.0,
                    tau_a_ms: 1200.0,
                    v_th: 0.03 / (1.0 - alpha),
                    beta: 1.7 * (1.0 - rho) / (1.0 - alpha),
                    n_lif: 60,
                    t_ref_ms: Some(5.0),
                    n_ref: None,
                    gamma_pd: 0.3,
                }),
            ),
            (2, 20.0),
            1.0,
        )
    }

    fn sample(&self, split: Split, index: u64) -> crate::error::Result<Sample> {
        Ok(self.generate(split, index))
    }

    fn defaults(&self) -> Defaults {
        Defaults {
            method: Method::adam(),
            lr: 2e-3,
            batch: 128,
            iterations: 300,
            rule_params: vec![("c_reg", 1.0), ("f_target_hz", 10.0), ("random_scale", 0.1)],
            stop_below_error: Some(0.05),
            eval_every: 10,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_rates_labels() {
        let t = StoreRecall::new(&TaskOptions {
            seed: 9,
            scale: 1.0,
        });
        assert_eq!(t.steps(), 2400);
        let n = 400u64;
        let (mut ones, mut delay_sum, mut recall_spikes) = (0u64, 0u64, 0u64);
        for i in 0..n {
            let (s, l) = t.sample_with_layout(Split::Train, i);
            assert!(l.store < l.recall && l.recall < SLOTS);
            delay_sum += l.recall - l.store;
            let label = s.label.unwrap();
            ones += label as u64;
            let Loss::CrossEntropy { class, from, to } = s.loss else {
                panic!("cross-entropy")
            };
            assert_eq!(
                (class, from, to),
                (label, l.recall * 200, l.recall * 200 + 200)
            );
            let (mut bit_spikes, mut store_spikes) = ([0u64; 2], 0u64);
            for &(step, i) in &s.input {
                let (slot, g) = (step / 200, i / GROUP);
                match g {
                    3 => {
                        assert_eq!(slot, l.recall);
                        recall_spikes += 1;
                    }
                    2 => {
                        assert_eq!(slot, l.store);
                        store_spikes += 1;
                    }
                    _ => {
                        assert_ne!(slot, l.recall);
                        if slot == l.store {
                            bit_spikes[g as usize] += 1;
                        }
                    }
                }
            }
            // the store slot shows the label's symbol only
            assert!(bit_spikes[label] > 0 && bit_spikes[1 - label] == 0);
            assert!(store_spikes > 0);
        }
        // balanced labels: within 4 standard errors of n/2
        assert!((ones as f64 - 200.0).abs() < 4.0 * 10.0, "{ones}");
        // expected delay 6 slots; the delay is uniform on 1..=11 (variance 10)
        let mean = delay_sum as f64 / n as f64;
        assert!(
            (mean - 6.0).abs() < 4.0 * (10.0 / n as f64).sqrt(),
            "{mean}"
        );
        // recall group: 25 neurons x 200 steps x 0.05 per sample
        let want = n as f64 * 25.0 * 200.0 * P_ACTIVE;
        assert!(
            (recall_spikes as f64 - want).abs() < 4.0 * want.sqrt(),
            "{recall_spikes}"
        );
        // samples are functions of (seed, split, index)
        assert_eq!(t.generate(Split::Test, 3), t.generate(Split::Test, 3));
        assert_ne!(t.generate(Split::Test, 3), t.generate(Split::Validation, 3));
    }

    #[test]
    fn converted_parameters() {
        let t = StoreRecall::new(&TaskOptions {
            seed: 1,
            scale: 0.1,
        });
        assert_eq!(t.steps(), 12 * 20);
        let ModelSpec::Alif(p) = &t.network(1).populations[1].model else {
            panic!("alif")
        };
        assert!((p.v_th - 0.6151).abs() < 1e-3, "{}", p.v_th);
        assert!((p.beta - 0.02904).abs() < 1e-4, "{}", p.beta);
        assert_eq!(p.n_lif, 60);
    }
}
