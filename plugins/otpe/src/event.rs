//! Event-driven OTPE: record `psi` and the presynaptic spikes during the sequence, then one
//! backward sweep per neuron through its own state only (the adjoint of its local
//! dynamics, with `S_j(t) = sum_k B_jk Ek_k(t+1)`, `Ek_k(t) = err_k(t) + kappa Ek_k(t+1)` (the
//! error filtered back through the readout's leak, which is what the postsynaptic estimate
//! `r_hat` does forward):
//!
//! ```text
//! dz_j(t)    = S_j(t) - v_th lam_v_j(t+1) + lam_a_j(t+1)
//! lam_v_j(t) = psi_j(t) dz_j(t) + alpha lam_v_j(t+1)
//! lam_a_j(t) = -beta_j psi_j(t) dz_j(t) + rho lam_a_j(t+1)
//! ```
//! in which a spike of `i` at `t` adds `lam_v_j(t+1)` to `dE/dW_ji` (and `Ek_k(t+1)` to
//! `dE/dWout_kj`). Cost: neurons x steps + spikes x fan-out.

use eligo_plugin::{Grads, Sequence, Step};

use eligo_plugin::online_net::Net;

/// Recording of one sequence.
pub struct Event {
    /// Per LIF/ALIF population: `psi[t * n + j]`.
    psi: Vec<Vec<f32>>,
    /// Per population presynaptic to a plastic projection (`pres`): its spikes, step by step.
    spikes: Vec<Vec<u32>>,
    /// `ptr[t]..ptr[t + 1]` indexes the spikes of step `t` (one list per entry of `pres`).
    ptr: Vec<Vec<usize>>,
    pres: Vec<usize>,
    steps: usize,
}

impl Event {
    /// Empty recording for `net`.
    pub fn new(net: &Net) -> Self {
        let pres = net.spiking_pres();
        Event {
            psi: vec![Vec::new(); net.rec.len()],
            spikes: vec![Vec::new(); pres.len()],
            ptr: vec![vec![0]; pres.len()],
            pres,
            steps: 0,
        }
    }

    /// Forget the last sequence.
    pub fn reset(&mut self) {
        self.psi.iter_mut().for_each(Vec::clear);
        self.spikes.iter_mut().for_each(Vec::clear);
        for p in &mut self.ptr {
            p.truncate(1);
        }
        self.steps = 0;
    }

    /// Record one step.
    pub fn record(&mut self, net: &Net, step: &Step) {
        for (r, psi) in net.rec.iter().zip(&mut self.psi) {
            psi.extend_from_slice(step.state(r.psi));
        }
        for (k, &p) in self.pres.iter().enumerate() {
            self.spikes[k].extend_from_slice(step.spikes(p));
            self.ptr[k].push(self.spikes[k].len());
        }
        self.steps += 1;
    }

    /// The backward sweep from the last step to the first; at step `t` the adjoints of
    /// `t + 1` are at hand, so the spikes emitted at `t` are applied then.
    pub fn finish(&self, net: &Net, seq: &Sequence, grads: &mut Grads) -> Result<(), String> {
        let (t_len, n_out) = (self.steps, net.n_out);
        let errors = seq.errors();
        if errors.len() != t_len * n_out {
            return Err(format!(
                "expected {} readout errors ({t_len} steps x {n_out}), got {}",
                t_len * n_out,
                errors.len()
            ));
        }
        let b = grads.biases(net.readout);
        if !b.is_empty() {
            for t in 0..t_len {
                for k in 0..n_out {
                    b[k] += errors[t * n_out + k];
                }
            }
        }
        let fb = net.feedback(|j| seq.weights(j));
        let err = |t: usize| -> Vec<f64> {
            errors[t * n_out..(t + 1) * n_out]
                .iter()
                .map(|&e| f64::from(e))
                .collect()
        };
        // adjoints at t + 1: Ek (readout) and lam_v (also in f32), lam_a per LIF/ALIF
        // population
        let mut ek = vec![0.0f64; n_out];
        let mut ek32 = vec![0.0f32; n_out];
        let mut lam: Vec<Vec<f64>> = net.rec.iter().map(|r| vec![0.0; r.n]).collect();
        let mut lam_a = lam.clone();
        let mut lam32: Vec<Vec<f32>> = net.rec.iter().map(|r| vec![0.0; r.n]).collect();
        let mut s = vec![0.0f64; net.rec.iter().map(|r| r.n).max().unwrap_or(0)];
        for t in (0..t_len).rev() {
            // 1. spikes emitted at t reach v(t + 1) and r(t + 1)
            if t + 1 < t_len {
                for (k, &pop) in self.pres.iter().enumerate() {
                    for &i in &self.spikes[k][self.ptr[k][t]..self.ptr[k][t + 1]] {
                        let i = i as usize;
                        for pr in net.projs.iter().filter(|p| p.pre == pop && p.plastic) {
                            let g = grads.weights(pr.index);
                            if g.is_empty() {
                                continue;
                            }
                            let add: &[f32] = match pr.post_rec {
                                Some(ri) => &lam32[ri],
                                None => &ek32,
                            };
                            for s in pr.indptr[i] as usize..pr.indptr[i + 1] as usize {
                                g[s] += add[pr.targets[s] as usize];
                            }
                        }
                    }
                }
            }
            // 2. lam_v(t), lam_a(t) from those of t + 1, S(t) = B Ek(t + 1) (0 at the end)
            for (ri, r) in net.rec.iter().enumerate() {
                let s = &mut s[..r.n];
                net.signal(&fb[ri], &ek, s);
                let psi = &self.psi[ri][t * r.n..(t + 1) * r.n];
                let (lv, la) = (&mut lam[ri][..r.n], &mut lam_a[ri][..r.n]);
                for j in 0..r.n {
                    let p = f64::from(psi[j]);
                    let dz = s[j] - r.v_th * lv[j] + la[j];
                    lv[j] = p * dz + r.alpha * lv[j];
                    la[j] = -r.beta[j] * p * dz + r.rho * la[j];
                    lam32[ri][j] = lv[j] as f32;
                }
            }
            // 3. Ek(t) = err(t) + kappa Ek(t + 1)
            for (k, e) in err(t).into_iter().enumerate() {
                ek[k] = e + net.kappa * ek[k];
                ek32[k] = ek[k] as f32;
            }
        }
        Ok(())
    }
}
