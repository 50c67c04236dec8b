//! `alif` — adaptive-threshold LIF of the LSNN (Bellec et al. 2018, 2020).
//!
//! Same membrane as [`lif`](super::lif) plus a threshold that rises after each spike and relaxes
//! with `tau_a`. One step of `dt` (convention A, docs/eprop.md §2.4 and §3.2):
//!
//! ```text
//! alpha = exp(-dt / tau_m)        rho = exp(-dt / tau_a)
//! v(t)  = alpha v(t-1) + I(t) - v_th z(t-1)
//! a(t)  = rho a(t-1) + z(t-1)
//! A(t)  = v_th + beta a(t)                          (per-neuron beta; beta = 0 is a LIF neuron)
//! z(t)  = 1 if (v(t) - A(t)) / v_th > 0 and not refractory
//! psi(t)= gamma_pd / v_th * max(0, 1 - |v(t) - A(t)| / v_th), 0 while refractory
//! ```
//! The reset subtracts the *baseline* threshold `v_th`. A population mixing LIF and ALIF neurons
//! is one `alif` population with `beta = 0` for its LIF part (see `n_lif`).
//!
//! | parameter  | default | unit  | meaning                                              |
//! |------------|---------|-------|------------------------------------------------------|
//! | `tau_m_ms` | 20.0    | ms    | membrane time constant                               |
//! | `tau_a_ms` | 2000.0  | ms    | adaptation time constant                             |
//! | `v_th`     | 0.6     | a.u.  | baseline threshold (and reset amount)                |
//! | `beta`     | 0.0174  | a.u.  | threshold increase per unit of adaptation            |
//! | `n_lif`    | 0       | count | the first `n_lif` neurons get `beta = 0` (LSNN mix)  |
//! | `t_ref_ms` | 5 steps | ms    | minimum interval between two spikes (0, 1 step: none) |
//! | `n_ref`    |         | steps | alias of `t_ref_ms` in steps (give one of them)      |
//! | `gamma_pd` | 0.3     | 1     | height of the triangular pseudo-derivative           |
//!
//! The refractory period is `t_ref_ms` (ms), or `n_ref` (steps) as an alias, as in
//! [`lif`](super::lif): both given is an error, a `t_ref_ms` off the step grid too, neither is
//! 5 steps.
//!
//! State: `v`, `a`, `z`, refractory counter, `psi`, per-neuron `beta`.
//!
//! References: G. Bellec et al., Nat. Commun. 11:3625 (2020); G. Bellec et al., "Long short-term
//! memory and learning-to-learn in networks of spiking neurons", NeurIPS 2018.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, finite, positive};
use crate::neuron::lif::{LifConsts, LifParams};
use crate::neuron::{Constant, Variable};

/// Parameters of [`alif`](self).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlifParams {
    /// Membrane time constant (ms).
    pub tau_m_ms: f64,
    /// Adaptation time constant (ms).
    pub tau_a_ms: f64,
    /// Baseline threshold.
    pub v_th: f64,
    /// Adaptation strength.
    pub beta: f64,
    /// Number of leading neurons without adaptation.
    pub n_lif: usize,
    /// Refractory period (ms), a whole number of steps; see [`LifParams::t_ref_ms`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_ref_ms: Option<f64>,
    /// The refractory period in steps, an alias of `t_ref_ms` (give at most one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_ref: Option<u32>,
    /// Pseudo-derivative height.
    pub gamma_pd: f64,
}

impl Default for AlifParams {
    fn default() -> Self {
        AlifParams {
            tau_m_ms: 20.0,
            tau_a_ms: 2000.0,
            v_th: 0.6,
            beta: 0.0174,
            n_lif: 0,
            t_ref_ms: None,
            n_ref: None,
            gamma_pd: 0.3,
        }
    }
}

/// The state variables an ALIF population exposes to recorders and rules.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "v",
        unit: "",
        doc: "membrane potential after the step",
    },
    Variable {
        name: "a",
        unit: "",
        doc: "threshold adaptation (threshold = v_th + beta a)",
    },
    Variable {
        name: "psi",
        unit: "",
        doc: "pseudo-derivative dz/dv of the step (0 while refractory)",
    },
];

/// The constants an ALIF population of `size` neurons computes with.
pub fn constants(p: &AlifParams, c: &AlifConsts, size: u32) -> Vec<Constant> {
    let l = &c.lif;
    // the first n_lif neurons do not adapt (as `ModelSpec::block` builds them)
    let beta = (0..size as usize)
        .map(|i| {
            if i < p.n_lif {
                0.0
            } else {
                f64::from(p.beta as f32)
            }
        })
        .collect();
    vec![
        Constant::one("tau_m_ms", "ms", "membrane time constant", p.tau_m_ms),
        Constant::one("tau_a_ms", "ms", "adaptation time constant", p.tau_a_ms),
        Constant::one(
            "alpha",
            "",
            "membrane decay per step exp(-dt/tau_m)",
            l.alpha.into(),
        ),
        Constant::one(
            "rho",
            "",
            "adaptation decay per step exp(-dt/tau_a)",
            c.rho.into(),
        ),
        Constant::one("v_th", "", "baseline threshold", l.v_th.into()),
        Constant::one("n_ref", "steps", "refractory steps", l.n_ref.into()),
        Constant::one(
            "gamma_pd",
            "",
            "pseudo-derivative height",
            l.gamma_pd.into(),
        ),
        Constant {
            name: "beta",
            unit: "",
            doc: "adaptation strength of each neuron",
            values: beta,
        },
    ]
}

/// Derived constants of an ALIF population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlifConsts {
    /// Membrane constants shared with LIF.
    pub lif: LifConsts,
    /// Adaptation decay per step, `exp(-dt/tau_a)`.
    pub rho: f32,
}

impl AlifParams {
    /// Validate and derive the propagators for step `dt_ms`.
    pub fn derive(&self, dt_ms: f64) -> Result<AlifConsts> {
        positive("tau_a_ms", self.tau_a_ms, "ms")?;
        finite("beta", self.beta)?;
        crate::limits::fits_f32("beta", self.beta)?;
        if self.beta < 0.0 {
            return Err(Error::input(
                "beta",
                self.beta,
                "must be >= 0",
                "use 0 for a neuron without adaptation",
            ));
        }
        let lif = LifParams {
            tau_m_ms: self.tau_m_ms,
            v_th: self.v_th,
            t_ref_ms: self.t_ref_ms,
            n_ref: self.n_ref,
            gamma_pd: self.gamma_pd,
        }
        .derive(dt_ms)?;
        Ok(AlifConsts {
            lif,
            rho: (-dt_ms / self.tau_a_ms).exp() as f32,
        })
    }
}

/// State of a block of ALIF neurons.
#[derive(Debug, Clone)]
pub struct Alif {
    /// Constants.
    pub c: AlifConsts,
    /// Per-neuron adaptation strength.
    pub beta: Vec<f32>,
    /// Membrane potential.
    pub v: Vec<f32>,
    /// Threshold adaptation variable.
    pub a: Vec<f32>,
    /// Spike of the previous step.
    pub z: Vec<f32>,
    /// Remaining blocked steps.
    pub refr: Vec<u32>,
    /// Pseudo-derivative of this step.
    pub psi: Vec<f32>,
}

impl Alif {
    /// Variable `k` of [`VARIABLES`] for every neuron.
    pub fn state_slice(&self, k: usize) -> Option<&[f32]> {
        match k {
            0 => Some(&self.v),
            1 => Some(&self.a),
            2 => Some(&self.psi),
            _ => None,
        }
    }

    /// `n` neurons at rest with the given per-neuron `beta`.
    pub fn new(c: AlifConsts, beta: Vec<f32>, v0: Option<&[f32]>) -> Self {
        let n = beta.len();
        Alif {
            c,
            beta,
            v: v0.map_or_else(|| vec![0.0; n], <[f32]>::to_vec),
            a: vec![0.0; n],
            z: vec![0.0; n],
            refr: vec![0; n],
            psi: vec![0.0; n],
        }
    }

    /// Advance one step; see [`Lif::update`](super::lif::Lif::update).
    pub fn update(&mut self, exc: &mut [f32], inh: &mut [f32], gid0: u32, spikes: &mut Vec<u32>) {
        let AlifConsts { lif, rho } = self.c;
        let n = self.v.len();
        let (exc, inh) = (&mut exc[..n], &mut inh[..n]);
        let (vs, zs, as_) = (&mut self.v[..n], &mut self.z[..n], &mut self.a[..n]);
        let (refr, psi, beta) = (&mut self.refr[..n], &mut self.psi[..n], &self.beta[..n]);
        // two passes as in `Lif::update`: the state without branches, then the spikes
        for i in 0..n {
            let input = exc[i] + inh[i];
            exc[i] = 0.0;
            inh[i] = 0.0;
            let z = zs[i];
            let v = lif.alpha * vs[i] + input - lif.v_th * z;
            let a = rho * as_[i] + z;
            vs[i] = v;
            as_[i] = a;
            let thr = lif.v_th + beta[i] * a;
            let blocked = refr[i] > 0;
            let dist = (v - thr) / lif.v_th;
            psi[i] = if blocked {
                0.0
            } else {
                lif.gamma_pd / lif.v_th * (1.0 - dist.abs()).max(0.0)
            };
            let spike = !blocked && dist > 0.0;
            zs[i] = if spike { 1.0 } else { 0.0 };
            refr[i] = if spike {
                lif.n_ref.saturating_sub(1)
            } else {
                refr[i].saturating_sub(1)
            };
        }
        super::lif::push_spikes(zs, gid0, spikes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_adaptation_decays_in_closed_form() {
        // One forced spike at step 0, then silence: a(t) = rho^(t-1) for t >= 1, and the
        // threshold A(t) = v_th + beta rho^(t-1).
        let p = AlifParams {
            beta: 2.0,
            tau_a_ms: 50.0,
            ..Default::default()
        };
        let c = p.derive(1.0).unwrap();
        let mut n = Alif::new(c, vec![2.0], None);
        let rho = (-1.0f64 / 50.0).exp();
        let mut spikes = vec![];
        n.update(&mut [1.0], &mut [0.0], 0, &mut spikes);
        assert_eq!(spikes, vec![0]);
        for t in 1..300 {
            spikes.clear();
            n.update(&mut [0.0], &mut [0.0], 0, &mut spikes);
            let want = rho.powi(t - 1);
            assert!((n.a[0] as f64 - want).abs() < 1e-5, "t={t}");
            assert!(spikes.is_empty());
        }
    }

    #[test]
    fn adaptation_raises_the_threshold() {
        // Same input to a LIF-like (beta = 0) and an adapting neuron: after the first spikes the
        // adapting one fires less.
        let p = AlifParams {
            beta: 1.0,
            t_ref_ms: Some(1.0),
            ..Default::default()
        };
        let c = p.derive(1.0).unwrap();
        let mut n = Alif::new(c, vec![0.0, 1.0], None);
        let mut counts = [0usize; 2];
        for _ in 0..1000 {
            let mut spikes = vec![];
            n.update(&mut [0.2, 0.2], &mut [0.0, 0.0], 0, &mut spikes);
            for s in spikes {
                counts[s as usize] += 1;
            }
        }
        assert!(counts[1] * 2 < counts[0], "{counts:?}");
    }

    #[test]
    fn negative_beta_is_refused() {
        let p = AlifParams {
            beta: -1.0,
            ..Default::default()
        };
        assert!(p.derive(1.0).unwrap_err().to_string().contains("beta"));
    }
}
