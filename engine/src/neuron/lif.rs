//! `lif` — discrete-time leaky integrate-and-fire neuron of e-prop (Bellec et al. 2020).
//!
//! The NC (Nature Communications) convention, without a `(1 - alpha)` input factor. One step of
//! `dt`:
//!
//! ```text
//! alpha   = exp(-dt / tau_m)
//! v(t)    = alpha v(t-1) + I(t) - v_th z(t-1)          I(t): input arriving at step t
//! n_ref   = t_ref / dt            (refractory period in steps)
//! blocked = refractory counter > 0 (a spike at t0 blocks steps t0+1 .. t0+n_ref-1)
//! z(t)    = 1 if (v(t) - v_th) / v_th > 0 and not blocked, else 0
//! psi(t)  = gamma_pd / v_th * max(0, 1 - |v(t) - v_th| / v_th), 0 while blocked
//! ```
//! The reset subtracts the threshold one step after the spike; `v` keeps integrating while
//! refractory (only the spike is masked). Initial state `v = 0`, `z = 0`.
//!
//! | parameter  | default | unit | meaning                                          |
//! |------------|---------|------|--------------------------------------------------|
//! | `tau_m_ms` | 20.0    | ms   | membrane time constant                           |
//! | `v_th`     | 0.6     | a.u. | threshold (and the size of the reset)            |
//! | `t_ref_ms` | 5 steps | ms   | minimum interval between two spikes (0, 1 step: none) |
//! | `n_ref`    |         | steps| alias of `t_ref_ms` in steps (give one of them)  |
//! | `gamma_pd` | 0.3     | 1    | height of the triangular pseudo-derivative       |
//!
//! The refractory period is `t_ref_ms` (ms), or `n_ref` (steps) as an alias; giving both is an
//! error, and so is a `t_ref_ms` off the step grid (no rounding). Given neither, it is 5 steps
//! (5 ms at `dt` = 1 ms), whatever `dt`.
//!
//! State: `v`, `z` (last step's spike), refractory counter, `psi` (read by learning rules).
//! Reads both input channels (excitatory and inhibitory are summed).
//!
//! Reference: G. Bellec et al., "A solution to the learning dilemma for recurrent networks of
//! spiking neurons", Nat. Commun. 11:3625 (2020), Methods; docs/eprop.md §3.

use serde::{Deserialize, Serialize};

use super::{Constant, Variable};
use crate::error::{Error, Result, positive};

/// The refractory period in steps of a `lif` or `alif` population that gives neither `t_ref_ms`
/// nor `n_ref` (steps, not ms, so that a network written before `t_ref_ms` existed keeps its
/// dynamics at any `dt`).
pub const DEFAULT_N_REF: u32 = 5;

/// Parameters of [`lif`](self), as written in a network description.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifParams {
    /// Membrane time constant (ms).
    pub tau_m_ms: f64,
    /// Threshold and reset amount (arbitrary units, same as weights).
    pub v_th: f64,
    /// Refractory period (ms): minimum interval between spikes (0 or one step: none); a whole
    /// number of steps. `None` and no `n_ref`: [`DEFAULT_N_REF`] steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_ref_ms: Option<f64>,
    /// The refractory period in steps, an alias of `t_ref_ms` (give at most one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_ref: Option<u32>,
    /// Pseudo-derivative height (dimensionless).
    pub gamma_pd: f64,
}

impl Default for LifParams {
    fn default() -> Self {
        LifParams {
            tau_m_ms: 20.0,
            v_th: 0.6,
            t_ref_ms: None,
            n_ref: None,
            gamma_pd: 0.3,
        }
    }
}

impl LifParams {
    /// Validate and derive the propagators for step `dt_ms`.
    pub fn derive(&self, dt_ms: f64) -> Result<LifConsts> {
        positive("tau_m_ms", self.tau_m_ms, "ms")?;
        positive("v_th", self.v_th, "")?;
        crate::limits::fits_f32("v_th", self.v_th)?;
        crate::limits::fits_f32("gamma_pd", self.gamma_pd)?;
        if !(self.gamma_pd.is_finite() && self.gamma_pd >= 0.0) {
            return Err(Error::input(
                "gamma_pd",
                self.gamma_pd,
                "must be a finite number >= 0",
                "the paper uses 0.3",
            ));
        }
        Ok(LifConsts {
            alpha: (-dt_ms / self.tau_m_ms).exp() as f32,
            v_th: self.v_th as f32,
            n_ref: super::refractory_steps(self.t_ref_ms, self.n_ref, dt_ms, u32::MAX)?
                .unwrap_or(DEFAULT_N_REF),
            gamma_pd: self.gamma_pd as f32,
        })
    }
}

/// The state variables a LIF population exposes to recorders and rules.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "v",
        unit: "",
        doc: "membrane potential after the step",
    },
    Variable {
        name: "psi",
        unit: "",
        doc: "pseudo-derivative dz/dv of the step (0 while refractory)",
    },
];

/// The constants a LIF population computes with.
pub fn constants(p: &LifParams, c: &LifConsts) -> Vec<Constant> {
    vec![
        Constant::one("tau_m_ms", "ms", "membrane time constant", p.tau_m_ms),
        Constant::one(
            "alpha",
            "",
            "membrane decay per step exp(-dt/tau_m)",
            c.alpha.into(),
        ),
        Constant::one("v_th", "", "threshold (and reset)", c.v_th.into()),
        Constant::one("n_ref", "steps", "refractory steps", c.n_ref.into()),
        Constant::one(
            "gamma_pd",
            "",
            "pseudo-derivative height",
            c.gamma_pd.into(),
        ),
    ]
}

/// Derived constants of a LIF population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LifConsts {
    /// Membrane decay per step, `exp(-dt/tau_m)`.
    pub alpha: f32,
    /// Threshold.
    pub v_th: f32,
    /// Refractory steps.
    pub n_ref: u32,
    /// Pseudo-derivative height.
    pub gamma_pd: f32,
}

/// State of a block of LIF neurons (structure of arrays).
#[derive(Debug, Clone)]
pub struct Lif {
    /// Constants.
    pub c: LifConsts,
    /// Membrane potential.
    pub v: Vec<f32>,
    /// Spike of the previous step (0 or 1).
    pub z: Vec<f32>,
    /// Remaining blocked steps.
    pub refr: Vec<u32>,
    /// Pseudo-derivative of this step.
    pub psi: Vec<f32>,
}

impl Lif {
    /// Variable `k` of [`VARIABLES`] for every neuron.
    pub fn state_slice(&self, k: usize) -> Option<&[f32]> {
        match k {
            0 => Some(&self.v),
            1 => Some(&self.psi),
            _ => None,
        }
    }

    /// `n` neurons at rest, or with the given initial potentials.
    pub fn new(c: LifConsts, n: usize, v0: Option<&[f32]>) -> Self {
        Lif {
            c,
            v: v0.map_or_else(|| vec![0.0; n], <[f32]>::to_vec),
            z: vec![0.0; n],
            refr: vec![0; n],
            psi: vec![0.0; n],
        }
    }

    /// Advance one step. `input` holds this step's summed input and is zeroed; spikes are pushed
    /// as `gid0 + i`.
    pub fn update(&mut self, exc: &mut [f32], inh: &mut [f32], gid0: u32, spikes: &mut Vec<u32>) {
        let LifConsts {
            alpha,
            v_th,
            n_ref,
            gamma_pd,
        } = self.c;
        let n = self.v.len();
        let (exc, inh) = (&mut exc[..n], &mut inh[..n]);
        let (vs, zs) = (&mut self.v[..n], &mut self.z[..n]);
        let (refr, psi) = (&mut self.refr[..n], &mut self.psi[..n]);
        // two passes: the state without branches (vectorized), then the spikes; `perf` on
        // `eligo train --task sine-waves` had the one-pass loop at 15 % of the samples
        for i in 0..n {
            let input = exc[i] + inh[i];
            exc[i] = 0.0;
            inh[i] = 0.0;
            let v = alpha * vs[i] + input - v_th * zs[i];
            vs[i] = v;
            let blocked = refr[i] > 0;
            let dist = (v - v_th) / v_th;
            psi[i] = if blocked {
                0.0
            } else {
                gamma_pd / v_th * (1.0 - dist.abs()).max(0.0)
            };
            let spike = !blocked && dist > 0.0;
            zs[i] = if spike { 1.0 } else { 0.0 };
            refr[i] = if spike {
                n_ref.saturating_sub(1)
            } else {
                refr[i].saturating_sub(1)
            };
        }
        push_spikes(zs, gid0, spikes);
    }
}

/// Append `gid0 + i` for every `z[i] != 0` (ascending), 32 neurons per mask: the plain loop
/// branched on every neuron (a third of `Lif::update`'s samples, mostly mispredictions).
pub(crate) fn push_spikes(z: &[f32], gid0: u32, spikes: &mut Vec<u32>) {
    for (c, chunk) in z.chunks(32).enumerate() {
        let mut mask = 0u32;
        for (k, &x) in chunk.iter().enumerate() {
            mask |= u32::from(x != 0.0) << k;
        }
        while mask != 0 {
            spikes.push(gid0 + 32 * c as u32 + mask.trailing_zeros());
            mask &= mask - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lif: &mut Lif, inputs: &[f32]) -> (Vec<f32>, Vec<bool>) {
        let (mut vs, mut zs) = (vec![], vec![]);
        for &x in inputs {
            let mut spikes = vec![];
            lif.update(&mut [x], &mut [0.0], 0, &mut spikes);
            vs.push(lif.v[0]);
            zs.push(!spikes.is_empty());
        }
        (vs, zs)
    }

    #[test]
    fn constant_input_matches_closed_form() {
        // Below threshold: v(t) = I (1 - alpha^(t+1)) / (1 - alpha).
        let p = LifParams {
            v_th: 100.0,
            ..Default::default()
        };
        let c = p.derive(1.0).unwrap();
        let mut lif = Lif::new(c, 1, None);
        let i = 0.7f64;
        let (vs, zs) = run(&mut lif, &vec![i as f32; 200]);
        let a = (-1.0f64 / 20.0).exp();
        for (t, v) in vs.iter().enumerate() {
            let want = i * (1.0 - a.powi(t as i32 + 1)) / (1.0 - a);
            assert!(
                (*v as f64 - want).abs() <= 1e-5 * want.abs().max(1.0),
                "t={t}"
            );
        }
        assert!(zs.iter().all(|z| !z));
    }

    #[test]
    fn pulse_decays_and_reset_and_refractory() {
        let c = LifParams::default().derive(1.0).unwrap();
        let a = (-1.0f64 / 20.0).exp();
        // A single pulse of 1.0 at step 0 spikes at step 0 (1.0 > 0.6); the reset subtracts 0.6
        // at step 1; no spike is possible before step n_ref = 5.
        let mut lif = Lif::new(c, 1, None);
        let mut inputs = vec![0.0f32; 30];
        inputs[0] = 1.0;
        inputs[2] = 5.0; // strong input during the refractory period must not spike
        let (vs, zs) = run(&mut lif, &inputs);
        assert!(zs[0]);
        let mut want = 1.0f64;
        for t in 1..=5 {
            want = a * want + inputs[t] as f64 - if t == 1 { 0.6 } else { 0.0 };
            assert!(
                (vs[t] as f64 - want).abs() < 1e-5,
                "t={t}: {} vs {want}",
                vs[t]
            );
        }
        assert!(!zs[1..5].iter().any(|z| *z), "blocked steps 1..4 spiked");
        // step 5 is free again: v is still far above threshold there
        assert!(vs[5] > 0.6 && zs[5]);
        // psi is zero while refractory and the triangle elsewhere
        let mut lif = Lif::new(c, 1, None);
        run(&mut lif, &[0.45]);
        let want = 0.3 / 0.6 * (1.0 - (0.45f32 - 0.6).abs() / 0.6);
        assert!((lif.psi[0] - want).abs() < 1e-6);
    }

    #[test]
    fn strict_threshold() {
        let c = LifParams::default().derive(1.0).unwrap();
        let mut lif = Lif::new(c, 1, None);
        let (_, zs) = run(&mut lif, &[0.6]);
        assert!(!zs[0], "v == v_th must not spike");
    }

    #[test]
    fn t_ref_ms_or_n_ref() {
        // t_ref_ms is n_ref steps of dt; neither: 5 steps at any dt (as before t_ref_ms existed)
        let with = |t_ref_ms, n_ref| LifParams {
            t_ref_ms,
            n_ref,
            ..Default::default()
        };
        assert_eq!(with(Some(1.5), None).derive(0.5).unwrap().n_ref, 3);
        assert_eq!(
            with(Some(1.5), None).derive(0.5).unwrap(),
            with(None, Some(3)).derive(0.5).unwrap()
        );
        assert_eq!(with(None, None).derive(0.5).unwrap().n_ref, 5);
        assert_eq!(with(None, None).derive(1.0).unwrap().n_ref, 5);
        assert_eq!(with(Some(0.0), None).derive(1.0).unwrap().n_ref, 0);
        let e = with(Some(2.0), Some(2))
            .derive(1.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t_ref_ms") && e.contains("given twice"), "{e}");
        let e = with(Some(1.25), None).derive(0.5).unwrap_err().to_string();
        assert!(e.contains("whole number of steps of dt = 0.5 ms"), "{e}");
        assert!(e.contains("try t_ref_ms = 1 or 1.5"), "{e}");
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let e = with(Some(bad), None).derive(1.0).unwrap_err().to_string();
            assert!(e.contains("finite number >= 0 ms"), "{e}");
        }
        let e = with(Some(1e10), None).derive(1.0).unwrap_err().to_string();
        assert!(e.contains("at most 4294967295 steps"), "{e}");
    }

    #[test]
    fn bad_params() {
        let p = LifParams {
            tau_m_ms: f64::NAN,
            ..Default::default()
        };
        let e = p.derive(1.0).unwrap_err().to_string();
        assert!(e.contains("tau_m_ms") && e.contains("NaN"), "{e}");
        let p = LifParams {
            tau_m_ms: -3.0,
            ..Default::default()
        };
        assert!(p.derive(1.0).is_err());
    }
}
