//! Event-driven e-prop: record spikes and pseudo-derivatives during the sequence, then one
//! backward pass per neuron and one pass over the recorded spikes' rows.

use eligo_plugin::{Grads, Sequence, Step};

use crate::net::{Net, Rec};
use crate::reg::Reg;

/// Recording of one sequence.
pub struct Event {
    /// Per recurrent population: `psi[t * n + j]`.
    psi: Vec<Vec<f32>>,
    /// Spikes `(step, neuron)` of every population that is presynaptic to a plastic projection.
    spikes: Vec<Vec<(u64, u32)>>,
    steps: u64,
}

impl Event {
    /// Empty recording for `net`.
    pub fn new(net: &Net) -> Self {
        let n_pops = net
            .projs
            .iter()
            .map(|p| p.pre + 1)
            .chain(net.rec.iter().map(|r| r.pop + 1))
            .max()
            .unwrap_or(0);
        Event {
            psi: vec![Vec::new(); net.rec.len()],
            spikes: vec![Vec::new(); n_pops],
            steps: 0,
        }
    }

    /// Forget the last sequence.
    pub fn reset(&mut self) {
        self.psi.iter_mut().for_each(Vec::clear);
        self.spikes.iter_mut().for_each(Vec::clear);
        self.steps = 0;
    }

    /// Record one step.
    pub fn record(&mut self, net: &Net, step: &Step) {
        let t = step.step();
        for (r, psi) in net.rec.iter().zip(&mut self.psi) {
            psi.extend_from_slice(step.population(r.pop).psi);
        }
        for (p, list) in self.spikes.iter_mut().enumerate() {
            if net.projs.iter().any(|q| q.pre == p) {
                list.extend(step.population(p).spikes.iter().map(|&i| (t, i)));
            }
        }
        self.steps += 1;
    }

    /// Backward pass and gradients.
    pub fn finish(
        &mut self,
        net: &Net,
        seq: &Sequence,
        grads: &mut Grads,
        mut reg: Option<&mut Reg>,
    ) -> Result<(), String> {
        let t_len = self.steps as usize;
        let n_out = net.n_out;
        let errors = seq.errors();
        if errors.len() != t_len * n_out {
            return Err(format!(
                "expected {} readout errors ({} steps x {n_out}), got {}",
                t_len * n_out,
                t_len,
                errors.len()
            ));
        }
        // Ek(t) = err(t) + kappa Ek(t+1), for t = T-1 .. 0, with Ek(T) = 0
        let mut ek = vec![0.0f64; (t_len + 1) * n_out];
        for t in (0..t_len).rev() {
            for k in 0..n_out {
                ek[t * n_out + k] =
                    f64::from(errors[t * n_out + k]) + net.kappa * ek[(t + 1) * n_out + k];
            }
        }
        // readout biases
        let b = grads.biases(net.readout);
        if !b.is_empty() {
            for t in 0..t_len {
                for k in 0..n_out {
                    b[k] += errors[t * n_out + k];
                }
            }
        }
        // adjoints lam_v per recurrent population (task), and of the unfiltered unit signal
        // for the regularizer
        let lam_v: Vec<Vec<f64>> = net
            .rec
            .iter()
            .zip(&self.psi)
            .map(|(r, psi)| {
                adjoint(r, psi, t_len, |t, j| {
                    (0..n_out)
                        .map(|k| r.b[j * n_out + k] * ek[(t + 1) * n_out + k])
                        .sum()
                })
            })
            .collect();
        let lam_reg: Option<Vec<Vec<f64>>> = reg.as_ref().map(|_| {
            net.rec
                .iter()
                .zip(&self.psi)
                .map(|(r, psi)| adjoint(r, psi, t_len, |_, _| 1.0))
                .collect()
        });
        // spikes x rows
        for (pi, pr) in net.projs.iter().enumerate() {
            let g = grads.weights(pr.index);
            for &(t, i) in &self.spikes[pr.pre] {
                let t1 = t as usize + 1;
                if t1 >= t_len {
                    continue;
                }
                let row = pr.indptr[i as usize] as usize..pr.indptr[i as usize + 1] as usize;
                match pr.post_rec {
                    Some(ri) => {
                        let n = net.rec[ri].n;
                        if !g.is_empty() {
                            let lv = &lam_v[ri][t1 * n..(t1 + 1) * n];
                            for s in row.clone() {
                                g[s] += lv[pr.targets[s] as usize] as f32;
                            }
                        }
                        if let (Some(lr), Some(reg)) = (&lam_reg, reg.as_deref_mut()) {
                            let lv = &lr[ri][t1 * n..(t1 + 1) * n];
                            let aux = &mut reg.aux[pi];
                            for s in row {
                                aux[s] += lv[pr.targets[s] as usize];
                            }
                        }
                    }
                    None if !g.is_empty() => {
                        let e = &ek[t1 * n_out..(t1 + 1) * n_out];
                        for s in row {
                            g[s] += e[pr.targets[s] as usize] as f32;
                        }
                    }
                    None => {}
                }
            }
        }
        Ok(())
    }
}

/// Backward pass of one recurrent population for a learning signal `lk(t, j)`: returns
/// `lam_v[t * n + j]` for `t` in `0..=T` (EPROP.md, event-driven form):
/// `lam_a(t) = -beta psi(t) lk(t) + (rho - psi(t) beta) lam_a(t+1)`,
/// `lam_v(t) = psi(t) lk(t) + psi(t) lam_a(t+1) + alpha lam_v(t+1)`.
fn adjoint(r: &Rec, psi: &[f32], t_len: usize, lk: impl Fn(usize, usize) -> f64) -> Vec<f64> {
    let n = r.n;
    let mut lv = vec![0.0f64; (t_len + 1) * n];
    let mut la = vec![0.0f64; n];
    for t in (0..t_len).rev() {
        for j in 0..n {
            let l = lk(t, j);
            let p = f64::from(psi[t * n + j]);
            let beta = r.beta[j];
            let la_next = la[j];
            lv[t * n + j] = p * l + p * la_next + r.alpha * lv[(t + 1) * n + j];
            la[j] = -beta * p * l + (r.rho - p * beta) * la_next;
        }
    }
    lv
}
