//! Event-driven e-prop: record spikes and pseudo-derivatives during the sequence, then one
//! backward pass per neuron and one pass over the recorded spikes' rows.

use eligo_plugin::{Grads, Sequence, Step};

use crate::net::Net;
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

    /// Backward pass and gradients, in one sweep from the last step to the first: at step `t`
    /// the adjoints of step `t + 1` are at hand, so the spikes emitted at `t` are applied then.
    /// Memory: the recorded `psi` (steps x neurons) and spikes; adjoints are one row each.
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
        // readout biases: dE/db = sum_t err(t)
        let b = grads.biases(net.readout);
        if !b.is_empty() {
            for t in 0..t_len {
                for k in 0..n_out {
                    b[k] += errors[t * n_out + k];
                }
            }
        }
        // adjoint rows at t + 1: Ek (readout), and per recurrent population lam_v, lam_a for the
        // task signal and (regularizer) for the unit signal
        let mut ek = vec![0.0f64; n_out];
        let mut lv: Vec<Vec<f64>> = net.rec.iter().map(|r| vec![0.0; r.n]).collect();
        let mut la = lv.clone();
        // lam_v(t + 1) in f32, what the gradients add (converted once per neuron and step, not
        // once per synapse)
        let mut lv32: Vec<Vec<f32>> = net.rec.iter().map(|r| vec![0.0; r.n]).collect();
        let with_reg = reg.is_some();
        let mut pv = if with_reg { lv.clone() } else { Vec::new() };
        let mut pa = pv.clone();
        // per presynaptic population, how many of its recorded spikes are still to apply
        let mut left: Vec<usize> = self.spikes.iter().map(Vec::len).collect();
        for t in (0..t_len).rev() {
            // 1. spikes emitted at t reach v(t + 1): they take the adjoints of t + 1
            if t + 1 < t_len {
                for (pop, list) in self.spikes.iter().enumerate() {
                    while left[pop] > 0 && list[left[pop] - 1].0 as usize == t {
                        left[pop] -= 1;
                        let i = list[left[pop]].1 as usize;
                        for pr in net.projs.iter().filter(|p| p.pre == pop && p.plastic) {
                            let row = pr.indptr[i] as usize..pr.indptr[i + 1] as usize;
                            let g = grads.weights(pr.index);
                            match pr.post_rec {
                                Some(ri) => {
                                    let (lv, targets) = (&lv32[ri], &pr.targets);
                                    match (g.is_empty(), reg.as_deref_mut()) {
                                        // one pass over the row for the loss and the
                                        // regularizer (profile of `eligo train --task
                                        // sine-waves`: two passes were 40 % of finish)
                                        (false, Some(reg)) => {
                                            let (aux, pv) = (&mut reg.aux[pr.slot], &pv[ri]);
                                            for s in row {
                                                let j = targets[s] as usize;
                                                g[s] += lv[j];
                                                aux[s] += pv[j];
                                            }
                                        }
                                        (false, None) => {
                                            for s in row {
                                                g[s] += lv[targets[s] as usize];
                                            }
                                        }
                                        (true, Some(reg)) => {
                                            let (aux, pv) = (&mut reg.aux[pr.slot], &pv[ri]);
                                            for s in row {
                                                aux[s] += pv[targets[s] as usize];
                                            }
                                        }
                                        (true, None) => {}
                                    }
                                }
                                None if !g.is_empty() => {
                                    for s in row {
                                        g[s] += ek[pr.targets[s] as usize] as f32;
                                    }
                                }
                                None => {}
                            }
                        }
                    }
                }
            } else {
                // spikes of the last step reach nothing inside the sequence
                for (pop, list) in self.spikes.iter().enumerate() {
                    while left[pop] > 0 && list[left[pop] - 1].0 as usize == t {
                        left[pop] -= 1;
                    }
                }
            }
            // 2. adjoints of t from those of t + 1 (EPROP.md, event-driven form):
            //    Lk(t) = B Ek(t + 1)
            //    lam_a(t) = -beta psi Lk + (rho - psi beta) lam_a(t + 1)
            //    lam_v(t) = psi Lk + psi lam_a(t + 1) + alpha lam_v(t + 1)
            for (ri, (r, psi)) in net.rec.iter().zip(&self.psi).enumerate() {
                let psi = &psi[t * r.n..(t + 1) * r.n];
                for j in 0..r.n {
                    let lk: f64 = (0..n_out).map(|k| r.b[j * n_out + k] * ek[k]).sum();
                    let p = f64::from(psi[j]);
                    let beta = r.beta[j];
                    let a_next = la[ri][j];
                    lv[ri][j] = p * lk + p * a_next + r.alpha * lv[ri][j];
                    la[ri][j] = -beta * p * lk + (r.rho - p * beta) * a_next;
                    if with_reg {
                        // the regularizer's signal: 1, unfiltered by kappa
                        let a_next = pa[ri][j];
                        pv[ri][j] = p + p * a_next + r.alpha * pv[ri][j];
                        pa[ri][j] = -beta * p + (r.rho - p * beta) * a_next;
                    }
                }
            }
            for (a, b) in lv32.iter_mut().zip(&lv) {
                for (x, y) in a.iter_mut().zip(b) {
                    *x = *y as f32;
                }
            }
            // 3. Ek(t) = err(t) + kappa Ek(t + 1)
            for k in 0..n_out {
                ek[k] = f64::from(errors[t * n_out + k]) + net.kappa * ek[k];
            }
        }
        Ok(())
    }
}
