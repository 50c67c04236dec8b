//! `sine-waves` — NEST 3.10's e-prop regression example
//! (`pynest/examples/eprop_plasticity/eprop_supervised_regression_sine-waves.py`, `eprop_iaf`),
//! mapped onto Eligo's neurons so that the two can be compared run for run.
//!
//! # What
//! 100 input neurons replay one frozen Poisson pattern (`p = 0.05` per step, the same every
//! iteration) into 100 recurrent LIF neurons; one leaky readout learns a 1-s target, a sum of 4
//! sines. Batch 1, gradient descent, 200 iterations (NEST's `n_iter`; the TF reference runs
//! 2000). The loss printed per iteration is NEST's `0.5 sum_t (y - y*)^2`.
//!
//! # Target (NEST's `generate_superimposed_sines`, copied in its arithmetic)
//! `s(t) = sum_c A_c sin(phi_c + 2 pi n_c t / (T - 1))`, `t = 0 .. T - 1`, `T = 1000` steps,
//! periods `P_c = 1000, 500, 333, 200` steps and `n_c = T div P_c = 1, 2, 3, 5` cycles (numpy's
//! `linspace` includes its end point, hence `T - 1`); `y* = (s - s(0)) / max |s - s(0)|`.
//! `A_c` and `phi_c` are the values NEST's script draws with `np.random.seed(1)` (after the
//! weights and the input), so the target is NEST's own:
//! `A = (0.92654, 0.64483, 1.84574, 1.85580)`, `phi = (5.12541, 1.26870, 0.32480, 4.98464)`.
//! The frozen input and the initial weights are drawn from the task seed with NEST's
//! distributions (the same statistics, not NEST's numpy stream).
//!
//! # Conversions from NEST's `eprop_iaf` (C_m 1 pF, E_L 0, V_th 0.03 mV, tau_m 30 ms, t_ref 0)
//! | NEST | value | Eligo | value | why |
//! | --- | --- | --- | --- | --- |
//! | `v = alpha v + z_in + (tau_m/C_m)(1-alpha) I` | no current input | `lif`: `v = alpha v + W x - v_th z(t-1)` | | spikes enter unscaled in both; `I_e = 0` |
//! | `V_th` | 0.03 mV | `v_th` | 0.03 | same units as the weights |
//! | reset `v -= V_th` at the spike | | `- v_th z(t-1)` one step later | | NEST's reset decays by `alpha` once more (0.967 `V_th` instead of `V_th`) |
//! | `t_ref` | 0 | `t_ref_ms` | 0 | |
//! | surrogate `piecewise_linear`, height 10, width 1/33.3 | | `gamma_pd / v_th`, width `v_th` | `gamma_pd = 0.3` | height `0.3 / 0.03 = 10`; width 0.03 vs 0.03003 |
//! | W_in, W_rec `N(0,1)/sqrt(100) (1 - kappa)` | std 0.003 | `N(0, (0.03)^2 / n)` | std 0.003 | `1 - kappa = 0.03` |
//! | W_out `N(0,1)/sqrt(100) (1 - kappa)` | std 0.003 | | std 0.003 | |
//! | feedback `N(0,1)/sqrt(100) (1 - kappa)` | std 0.003 | `random_feedback_scale` | 0.003 | |
//! | readout `tau_m` 30 ms, `y = v` | | `tau_out_ms` 30, bias 0 | | |
//! | `kappa` (eligibility filter) | 0.97 | `exp(-1/tau_out)` | 0.96722 | our ebar uses the readout's kappa |
//! | `c_reg = 300 / 1000`, online rate (kappa_reg 0.97) | 0.3 | `c_reg * 2 / T` per step | `c_reg = 150` | `150 * 2 / 1000 = 0.3`; ours uses the sequence's mean rate |
//! | `f_target` | 10 Hz | `f_target_hz` | 10 | |
//! | gradient descent, `eta = 1e-4 (1 - kappa)^2` | 9e-8 | `Method::Sgd`, `lr` | 9e-8 | same weight units, same gradient `sum_t L ebar` |
//! | `batch_size` 1, `Wmin/Wmax` +-100 | | batch 1, no bounds | | never reached |
//! | weight change at each presynaptic spike | | once per sequence | | at `eta` 9e-8 the within-sequence drift is negligible |
//! | no neuron reset between iterations | | state reset to 0 each sequence | | |
//! | input spike `t` reaches `rec` at `t + 1` (parrot + 1-step synapse) | | `in -> rec` delay 1 | | |
//!
//! Because weights, threshold and feedback all carry NEST's `(1 - kappa) = 0.03` factor, the
//! voltages, pseudo-derivatives (`psi <= 10`), learning signals and gradients are numerically
//! NEST's, so NEST's learning rate 9e-8 applies unchanged.
//!
//! `scale < 1` shortens the sequence to `round(1000 scale)` steps (at least 50) with the same
//! number of cycles per sequence.
//!
//! # References
//! - NEST 3.10, `eprop_supervised_regression_sine-waves.py`, `models/eprop_iaf.cpp`.
//! - docs/eprop.md §10.5 and §11; Bellec et al. 2020 (the TF reference).

use super::pattern::{frozen_poisson, normalized_sum};
use super::task_network;
use super::{Defaults, Kind, Sample, Split, Task, TaskOptions, sample_rng};
use crate::network::NetworkSpec;
use crate::neuron::{LifParams, ModelSpec};
use crate::optim::{Loss, Method};

/// NEST's `1 - kappa`: the factor on every weight of the example.
pub const SCALE: f64 = 1.0 - 0.97;
/// Amplitudes NEST's script draws with numpy seed 1.
pub const AMPLITUDES: [f64; 4] = [
    0.926_542_533_128_919_2,
    0.644_829_382_795_662_6,
    1.845_737_529_254_157_8,
    1.855_797_414_118_124_4,
];
/// Phases NEST's script draws with numpy seed 1.
pub const PHASES: [f64; 4] = [
    5.125_405_926_614_921,
    1.268_701_526_418_772,
    0.324_801_825_425_209_74,
    4.984_642_119_205_695,
];
/// Periods in steps.
pub const PERIODS: [u64; 4] = [1000, 500, 333, 200];

/// The sine-wave task.
#[derive(Debug, Clone)]
pub struct SineWaves {
    steps: u64,
    input: Vec<(u64, u32)>,
    target: Vec<f32>,
}

impl SineWaves {
    /// The task; the frozen input is drawn from `opts.seed`.
    pub fn new(opts: &TaskOptions) -> Self {
        let steps = ((1000.0 * opts.scale.clamp(0.0, 1.0)).round() as u64).max(50);
        let mut rng = sample_rng(opts.seed, Split::Train, u64::MAX);
        let input = frozen_poisson(&mut rng, steps, 100, 0.05);
        let target = normalized_sum(
            |t| {
                (0..4)
                    .map(|c| {
                        let cycles = (1000 / PERIODS[c]) as f64;
                        let x = PHASES[c]
                            + std::f64::consts::TAU * cycles * t as f64 / (steps - 1) as f64;
                        AMPLITUDES[c] * x.sin()
                    })
                    .sum()
            },
            steps,
        );
        SineWaves {
            steps,
            input,
            target,
        }
    }

    /// The target `y*(t)`.
    pub fn target(&self) -> &[f32] {
        &self.target
    }

    /// Sample `index` of `split` (the task's [`Task::sample`], which cannot fail).
    pub fn generate(&self, _split: Split, _index: u64) -> Sample {
        Sample {
            input: self.input.clone(),
            loss: Loss::Mse {
                targets: self.target.clone(),
            },
            label: None,
            modulators: Vec::new(),
        }
    }
}

impl Task for SineWaves {
    fn name(&self) -> &'static str {
        "sine-waves"
    }

    fn kind(&self) -> Kind {
        Kind::Regression
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn network(&self, seed: u64) -> NetworkSpec {
        task_network(
            seed,
            100,
            (
                100,
                ModelSpec::Lif(LifParams {
                    tau_m_ms: 30.0,
                    v_th: 0.03,
                    t_ref_ms: Some(0.0),
                    n_ref: None,
                    gamma_pd: 0.3,
                }),
            ),
            (1, 30.0),
            SCALE,
        )
    }

    fn sample(&self, split: Split, index: u64) -> crate::error::Result<Sample> {
        Ok(self.generate(split, index))
    }

    fn defaults(&self) -> Defaults {
        Defaults {
            method: Method::Sgd,
            lr: 1e-4 * SCALE * SCALE,
            batch: 1,
            iterations: 200,
            rule_params: vec![
                ("c_reg", 150.0),
                ("f_target_hz", 10.0),
                ("random_scale", SCALE / 10.0),
            ],
            stop_below_error: None,
            eval_every: 50,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nest_target_and_frozen_input() {
        let t = SineWaves::new(&TaskOptions {
            seed: 1,
            scale: 1.0,
        });
        let y = t.target();
        assert_eq!(y.len(), 1000);
        assert_eq!(y[0], 0.0);
        let max = y.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((max - 1.0).abs() < 1e-6);
        // NEST's target with numpy seed 1, computed with numpy: y*[250], y*[500], y*[999]
        for (i, want) in [(250, -0.009_162_766), (500, 0.829_790_4), (999, 0.0)] {
            assert!((y[i] - want).abs() < 1e-5, "y*[{i}] = {} vs {want}", y[i]);
        }
        let n = t.input.len() as f64;
        let want = 100.0 * 1000.0 * 0.05;
        assert!((n - want).abs() < 4.0 * (want * 0.95).sqrt(), "{n}");
        assert_eq!(
            t.generate(Split::Train, 0),
            t.generate(Split::Validation, 8)
        );
        let d = t.defaults();
        assert!((d.lr - 9e-8).abs() < 1e-20);
        let scale = d
            .rule_params
            .iter()
            .find(|(n, _)| *n == "random_scale")
            .unwrap()
            .1;
        assert!((scale - 0.003).abs() < 1e-15);
    }
}
