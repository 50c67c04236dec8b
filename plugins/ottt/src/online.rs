//! Online OTTT: per presynaptic neuron the trace `a_hat`, per neuron the last step's `psi`;
//! every step adds `L_j(t) psi_j(t-1) a_hat_i(t-1)` to every synapse (cost synapses x steps,
//! no per-synapse state). The reference for `event`.

use eligo_plugin::{Grads, Step};

use eligo_plugin::online_net::Net;

/// Online OTTT state.
pub struct Online {
    /// Per entry of `Net::projs`: `a_hat` per presynaptic neuron (into a LIF/ALIF population,
    /// decay `alpha` of the post population) or `zk` (into the readout, decay `kappa`).
    traces: Vec<Vec<f64>>,
    /// Per entry of `Net::projs`: the presynaptic spikes of the previous step.
    prev: Vec<Vec<u32>>,
    /// Per LIF/ALIF population: `psi(t-1)`.
    psi_prev: Vec<Vec<f64>>,
}

impl Online {
    /// Zero state for `net`.
    pub fn new(net: &Net) -> Self {
        Online {
            traces: net
                .projs
                .iter()
                .map(|p| vec![0.0; p.indptr.len() - 1])
                .collect(),
            prev: vec![Vec::new(); net.projs.len()],
            psi_prev: net.rec.iter().map(|r| vec![0.0; r.n]).collect(),
        }
    }

    /// Start of a sequence.
    pub fn reset(&mut self) {
        self.traces.iter_mut().for_each(|t| t.fill(0.0));
        self.prev.iter_mut().for_each(Vec::clear);
        self.psi_prev.iter_mut().for_each(|p| p.fill(0.0));
    }

    /// One step `t`: the error `err(t)` pairs with `psi(t-1)` and `a_hat(t-1)` (the spike of
    /// `t-1` reached the readout at `t`); then `a_hat(t) = alpha a_hat(t-1) + s(t-1)`.
    pub fn step(&mut self, net: &Net, step: &Step, grads: &mut Grads) {
        let err: Vec<f64> = step.error().iter().map(|&e| f64::from(e)).collect();
        let b = grads.biases(net.readout);
        if !b.is_empty() {
            for (bk, &e) in b.iter_mut().zip(step.error()) {
                *bk += e;
            }
        }
        let fb = net.feedback(|j| step.weights(j));
        // u_j = L_j(t) psi_j(t-1), L_j(t) = sum_k B_jk err_k(t)
        let u: Vec<Vec<f64>> = net
            .rec
            .iter()
            .enumerate()
            .map(|(ri, r)| {
                let mut l = vec![0.0; r.n];
                net.signal(&fb[ri], &err, &mut l);
                l.iter()
                    .zip(&self.psi_prev[ri])
                    .map(|(l, p)| l * p)
                    .collect()
            })
            .collect();
        for (pi, pr) in net.projs.iter().enumerate() {
            let (trace, prev) = (&mut self.traces[pi], &mut self.prev[pi]);
            let decay = match pr.post_rec {
                Some(ri) => net.rec[ri].alpha,
                None => net.kappa,
            };
            if pr.post_rec.is_none() {
                // readout: zk(t) = kappa zk(t-1) + z(t-1) first, then err_k(t) zk_j(t)
                advance(trace, prev, decay);
            }
            let g = if pr.plastic {
                grads.weights(pr.index)
            } else {
                &mut []
            };
            if !g.is_empty() {
                for (i, &x) in trace.iter().enumerate() {
                    if x == 0.0 {
                        continue;
                    }
                    for s in pr.indptr[i] as usize..pr.indptr[i + 1] as usize {
                        let j = pr.targets[s] as usize;
                        g[s] += (x * match pr.post_rec {
                            Some(ri) => u[ri][j],
                            None => err[j],
                        }) as f32;
                    }
                }
            }
            if pr.post_rec.is_some() {
                advance(trace, prev, decay);
            }
            prev.clear();
            prev.extend_from_slice(step.spikes(pr.pre));
        }
        for (r, p) in net.rec.iter().zip(&mut self.psi_prev) {
            for (a, &b) in p.iter_mut().zip(step.state(r.psi)) {
                *a = f64::from(b);
            }
        }
    }
}

/// `x <- decay x + s` for the spikes `s`.
fn advance(x: &mut [f64], spikes: &[u32], decay: f64) {
    for v in x.iter_mut() {
        *v *= decay;
    }
    for &i in spikes {
        x[i as usize] += 1.0;
    }
}
