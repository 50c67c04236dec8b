//! Firing-rate regularization (docs/eprop.md §4.3 and §5.3):
//! `E_reg = c_reg sum_j (f_j - f_target)^2`, `f_j` = mean spikes per step over batch and time,
//! whose e-prop gradient is `2 c_reg (f_j - f_target) / (T n_batch) sum_batch sum_t e_ji(t)`.
//! The rates are known only for the whole batch, so each sequence adds `sum_t e_ji(t)` into a
//! per-synapse buffer, and `on_batch_end` multiplies it by the neuron's factor.

use eligo_plugin::{Batch, Grads};

use crate::net::Net;

/// Regularizer state.
pub struct Reg {
    /// Strength.
    pub c_reg: f64,
    /// Target rate in spikes per step.
    pub f_target: f64,
    /// Per plastic projection (index into `Net::projs`): `sum_batch sum_t e_ji(t)` per synapse
    /// (empty for readout projections).
    pub aux: Vec<Vec<f64>>,
}

impl Reg {
    /// Zero buffers for `net`.
    pub fn new(net: &Net, c_reg: f64, f_target: f64) -> Self {
        let aux = net
            .projs
            .iter()
            .map(|p| {
                if p.post_rec.is_some() {
                    vec![0.0; p.targets.len()]
                } else {
                    Vec::new()
                }
            })
            .collect();
        Reg {
            c_reg,
            f_target,
            aux,
        }
    }

    /// Add the regularizer's gradient for this batch, then forget the batch.
    pub fn finish_batch(
        &mut self,
        net: &Net,
        batch: &Batch,
        grads: &mut Grads,
    ) -> Result<(), String> {
        let denom = (batch.steps() * batch.sequences()) as f64;
        for (pr, aux) in net.projs.iter().zip(&mut self.aux) {
            let Some(ri) = pr.post_rec else {
                continue;
            };
            let rec = &net.rec[ri];
            let rates = batch.rates(rec.pop);
            if rates.len() != rec.n {
                return Err(format!(
                    "the host gave {} rates for a population of {}",
                    rates.len(),
                    rec.n
                ));
            }
            let g = grads.weights(pr.index);
            if !g.is_empty() {
                for (s, a) in aux.iter().enumerate() {
                    let j = pr.targets[s] as usize;
                    let r = 2.0 * self.c_reg * (f64::from(rates[j]) - self.f_target) / denom;
                    g[s] += (r * a) as f32;
                }
            }
            aux.fill(0.0);
        }
        Ok(())
    }
}
