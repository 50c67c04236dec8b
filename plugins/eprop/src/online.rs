//! Online e-prop: per-synapse eligibility traces updated at every step, gradients accumulated
//! as the sequence runs (the form an on-chip learner stores; the reference for `event`).

use eligo_plugin::{Grads, Step};

use crate::net::{Net, Proj, Rec};
use crate::reg::Reg;

/// Traces of one plastic projection.
pub struct Traces {
    /// Presynaptic membrane trace per presynaptic neuron.
    pub eps_v: Vec<f32>,
    /// Adaptation eligibility per synapse.
    pub eps_a: Vec<f32>,
    /// kappa-filtered eligibility per synapse (or, for the readout, per presynaptic neuron the
    /// kappa-filtered spikes `zk`).
    pub ebar: Vec<f32>,
    /// Spikes of the presynaptic population in the previous step.
    pub prev: Vec<u32>,
}

impl Traces {
    /// Zero traces for every projection of `net`.
    pub fn for_net(net: &Net) -> Vec<Traces> {
        net.projs
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
            .collect()
    }

    /// Forget everything that depends on the weights (a sequence or an unroll starts); the
    /// last step's spikes stay, as they are the next step's input.
    pub fn restart(&mut self) {
        self.eps_v.fill(0.0);
        self.eps_a.fill(0.0);
        self.ebar.fill(0.0);
    }

    /// One step of a projection into recurrent population `r`: `eps_v(t) = alpha eps_v(t-1) +
    /// s(t-1)`, then per synapse `s` (target `j`) `visit(s, j, ebar(t-1), e(t))` before
    /// `ebar(t) = kappa ebar(t-1) + e(t)` and the adaptation trace's step.
    pub fn advance_rec(
        &mut self,
        pr: &Proj,
        r: &Rec,
        psi: &[f32],
        kappa: f32,
        mut visit: impl FnMut(usize, usize, f32, f32),
    ) {
        let alpha = r.alpha as f32;
        let rho = r.rho as f32;
        for x in &mut self.eps_v {
            *x *= alpha;
        }
        for &i in &self.prev {
            self.eps_v[i as usize] += 1.0;
        }
        for i in 0..self.eps_v.len() {
            let ev = self.eps_v[i];
            for s in pr.indptr[i] as usize..pr.indptr[i + 1] as usize {
                let j = pr.targets[s] as usize;
                let p = psi[j];
                let beta = r.beta[j] as f32;
                let e = p * (ev - beta * self.eps_a[s]);
                visit(s, j, self.ebar[s], e);
                self.ebar[s] = kappa * self.ebar[s] + e;
                self.eps_a[s] = p * ev + (rho - p * beta) * self.eps_a[s];
            }
        }
    }

    /// One step of a readout projection: `zk(t) = kappa zk(t-1) + z(t-1)` (in `ebar`).
    pub fn advance_out(&mut self, kappa: f32) {
        for x in &mut self.ebar {
            *x *= kappa;
        }
        for &i in &self.prev {
            self.ebar[i as usize] += 1.0;
        }
    }

    /// Keep this step's presynaptic spikes for the next step.
    pub fn shift(&mut self, spikes: &[u32]) {
        self.prev.clear();
        self.prev.extend_from_slice(spikes);
    }
}

/// Online e-prop state.
pub struct Online {
    traces: Vec<Traces>,
}

impl Online {
    /// Zero traces for `net`.
    pub fn new(net: &Net) -> Self {
        Online {
            traces: Traces::for_net(net),
        }
    }

    /// Start of a sequence.
    pub fn reset(&mut self) {
        for t in &mut self.traces {
            t.restart();
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
                    let psi = step.state(r.psi);
                    // L_j(t) = sum_k B_jk err_k(t)
                    let l: Vec<f32> = (0..r.n)
                        .map(|j| (0..n_out).map(|k| r.b[j * n_out + k] as f32 * err[k]).sum())
                        .collect();
                    let mut aux = reg.as_deref_mut().map(|r| &mut r.aux[pi]);
                    tr.advance_rec(pr, r, psi, kappa, |s, j, ebar, e| {
                        if !g.is_empty() {
                            g[s] += l[j] * ebar;
                        }
                        if let Some(aux) = aux.as_deref_mut() {
                            aux[s] += f64::from(e);
                        }
                    });
                }
                None => {
                    // zk(t) = kappa zk(t-1) + z(t-1); dE/dWout_kj += err_k(t) zk_j(t)
                    tr.advance_out(kappa);
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
            tr.shift(step.spikes(pr.pre));
        }
    }
}
