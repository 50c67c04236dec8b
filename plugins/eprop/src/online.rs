//! Online e-prop: per-synapse eligibility traces updated at every step, gradients accumulated
//! as the sequence runs (the form an on-chip learner stores; the reference for `event`).

use eligo_plugin::{Grads, Step};

use crate::net::Net;
use crate::reg::Reg;

/// Traces of one plastic projection.
struct Traces {
    /// Presynaptic membrane trace per presynaptic neuron.
    eps_v: Vec<f32>,
    /// Adaptation eligibility per synapse.
    eps_a: Vec<f32>,
    /// kappa-filtered eligibility per synapse (or, for the readout, per presynaptic neuron the
    /// kappa-filtered spikes `zk`).
    ebar: Vec<f32>,
    /// Spikes of the presynaptic population in the previous step.
    prev: Vec<u32>,
}

/// Online e-prop state.
pub struct Online {
    traces: Vec<Traces>,
}

impl Online {
    /// Zero traces for `net`.
    pub fn new(net: &Net) -> Self {
        let traces = net
            .projs
            .iter()
            .map(|p| {
                let n_pre = p.indptr.len() - 1;
                let n_syn = p.targets.len();
                Traces {
                    eps_v: vec![0.0; n_pre],
                    eps_a: vec![0.0; if p.post_rec.is_some() { n_syn } else { 0 }],
                    ebar: vec![0.0; if p.post_rec.is_some() { n_syn } else { n_pre }],
                    prev: Vec::new(),
                }
            })
            .collect();
        Online { traces }
    }

    /// Start of a sequence.
    pub fn reset(&mut self) {
        for t in &mut self.traces {
            t.eps_v.fill(0.0);
            t.eps_a.fill(0.0);
            t.ebar.fill(0.0);
            t.prev.clear();
        }
    }

    /// One step: advance every trace and accumulate `L(t) ebar(t-1)` and `err(t) zk(t)`.
    pub fn step(&mut self, net: &Net, step: &Step, grads: &mut Grads, mut reg: Option<&mut Reg>) {
        let err = step.error();
        let n_out = net.n_out;
        let kappa = net.kappa as f32;
        let b = grads.biases(net.readout);
        if !b.is_empty() {
            for k in 0..n_out {
                b[k] += err[k];
            }
        }
        for (pi, (pr, tr)) in net.projs.iter().zip(&mut self.traces).enumerate() {
            if !pr.plastic {
                continue;
            }
            let g = grads.weights(pr.index);
            match pr.post_rec {
                Some(ri) => {
                    let r = &net.rec[ri];
                    let alpha = r.alpha as f32;
                    let rho = r.rho as f32;
                    // eps_v(t) = alpha eps_v(t-1) + s(t-1)
                    for x in &mut tr.eps_v {
                        *x *= alpha;
                    }
                    for &i in &tr.prev {
                        tr.eps_v[i as usize] += 1.0;
                    }
                    let psi = step.state(r.psi);
                    // L_j(t) = sum_k B_jk err_k(t)
                    let l: Vec<f32> = (0..r.n)
                        .map(|j| (0..n_out).map(|k| r.b[j * n_out + k] as f32 * err[k]).sum())
                        .collect();
                    let mut aux = reg.as_deref_mut().map(|r| &mut r.aux[pi]);
                    for i in 0..tr.eps_v.len() {
                        let ev = tr.eps_v[i];
                        for s in pr.indptr[i] as usize..pr.indptr[i + 1] as usize {
                            let j = pr.targets[s] as usize;
                            if !g.is_empty() {
                                g[s] += l[j] * tr.ebar[s];
                            }
                            let p = psi[j];
                            let beta = r.beta[j] as f32;
                            let e = p * (ev - beta * tr.eps_a[s]);
                            if let Some(aux) = aux.as_deref_mut() {
                                aux[s] += f64::from(e);
                            }
                            tr.ebar[s] = kappa * tr.ebar[s] + e;
                            tr.eps_a[s] = p * ev + (rho - p * beta) * tr.eps_a[s];
                        }
                    }
                }
                None => {
                    // zk(t) = kappa zk(t-1) + z(t-1); dE/dWout_kj += err_k(t) zk_j(t)
                    for x in &mut tr.ebar {
                        *x *= kappa;
                    }
                    for &i in &tr.prev {
                        tr.ebar[i as usize] += 1.0;
                    }
                    if !g.is_empty() {
                        for i in 0..tr.ebar.len() {
                            let zk = tr.ebar[i];
                            for s in pr.indptr[i] as usize..pr.indptr[i + 1] as usize {
                                g[s] += err[pr.targets[s] as usize] * zk;
                            }
                        }
                    }
                }
            }
            tr.prev.clear();
            tr.prev.extend_from_slice(step.spikes(pr.pre));
        }
    }
}
