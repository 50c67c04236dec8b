//! `readout` — leaky integrator without spikes, with a bias added after the filter (e-prop's
//! output neurons).
//!
//! ```text
//! kappa = exp(-dt / tau_out)
//! r(t)  = kappa r(t-1) + I(t)          I(t): weighted spikes arriving at step t
//! y(t)  = r(t) + b
//! ```
//!
//! | parameter    | default | unit | meaning                     |
//! |--------------|---------|------|-----------------------------|
//! | `tau_out_ms` | 20.0    | ms   | output filter time constant |
//! | `bias`       | 0.0     | a.u. | bias `b`, same for all      |
//!
//! State: `r`, per-neuron bias `b`; the output `y` is derived. Never spikes.
//!
//! Reference: G. Bellec et al., Nat. Commun. 11:3625 (2020), Methods ("readout").

use serde::{Deserialize, Serialize};

use crate::error::{Result, finite, positive};
use crate::neuron::{Constant, Variable};

/// Parameters of [`readout`](self).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReadoutParams {
    /// Output filter time constant (ms).
    pub tau_out_ms: f64,
    /// Bias added after the filter.
    pub bias: f64,
}

impl Default for ReadoutParams {
    fn default() -> Self {
        ReadoutParams {
            tau_out_ms: 20.0,
            bias: 0.0,
        }
    }
}

impl ReadoutParams {
    /// Validate; returns `kappa` for step `dt_ms`.
    pub fn derive(&self, dt_ms: f64) -> Result<f32> {
        positive("tau_out_ms", self.tau_out_ms, "ms")?;
        finite("bias", self.bias)?;
        crate::limits::fits_f32("bias", self.bias)?;
        Ok((-dt_ms / self.tau_out_ms).exp() as f32)
    }
}

/// The state variables a readout population exposes to recorders and rules.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "y",
        unit: "",
        doc: "output y = r + b after the step",
    },
    Variable {
        name: "r",
        unit: "",
        doc: "filtered input",
    },
];

/// The constants a readout population computes with (`kappa` from `derive`).
pub fn constants(p: &ReadoutParams, kappa: f32) -> Vec<Constant> {
    vec![
        Constant::one(
            "tau_out_ms",
            "ms",
            "output filter time constant",
            p.tau_out_ms,
        ),
        Constant::one(
            "kappa",
            "",
            "filter decay per step exp(-dt/tau_out)",
            kappa.into(),
        ),
    ]
}

/// State of a block of readout neurons.
#[derive(Debug, Clone)]
pub struct Readout {
    /// Filter decay per step.
    pub kappa: f32,
    /// Filtered input.
    pub r: Vec<f32>,
    /// Per-neuron bias.
    pub b: Vec<f32>,
}

impl Readout {
    /// Variable `k` of [`VARIABLES`] for every neuron, when stored (`y` is derived).
    pub fn state_slice(&self, k: usize) -> Option<&[f32]> {
        (k == 1).then_some(self.r.as_slice())
    }

    /// Variable `k` of [`VARIABLES`] of neuron `i`.
    pub fn state_value(&self, k: usize, i: usize) -> f32 {
        match k {
            0 => self.y(i),
            1 => self.r[i],
            _ => 0.0,
        }
    }

    /// `n` readouts at rest with bias `bias`.
    pub fn new(kappa: f32, n: usize, bias: f32) -> Self {
        Readout {
            kappa,
            r: vec![0.0; n],
            b: vec![bias; n],
        }
    }

    /// Output `y = r + b` of neuron `i`.
    pub fn y(&self, i: usize) -> f32 {
        self.r[i] + self.b[i]
    }

    /// Advance one step; inputs are zeroed.
    pub fn update(&mut self, exc: &mut [f32], inh: &mut [f32]) {
        let n = self.r.len();
        for ((r, e), i) in self.r.iter_mut().zip(&mut exc[..n]).zip(&mut inh[..n]) {
            *r = self.kappa * *r + *e + *i;
            *e = 0.0;
            *i = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impulse_response_is_kappa_powers_plus_bias() {
        let p = ReadoutParams {
            tau_out_ms: 30.0,
            bias: 0.25,
        };
        let kappa = p.derive(1.0).unwrap();
        let mut r = Readout::new(kappa, 1, 0.25);
        r.update(&mut [2.0], &mut [0.0]);
        for t in 1..100 {
            r.update(&mut [0.0], &mut [0.0]);
            let want = 2.0 * (-(t as f64) / 30.0).exp() + 0.25;
            assert!((r.y(0) as f64 - want).abs() < 1e-5);
        }
    }
}
