//! Online OTPE: per synapse the neuron-local sensitivities `eps_v`, `eps_a` of `v_j`, `a_j` to
//! `W_ji` and the postsynaptic estimate `r_hat` (`e` filtered by the readout's leak), per
//! neuron the last step's `psi`; every step adds `L_j(t) r_hat_ji(t-1)` (cost synapses x
//! steps). The reference for `event`.

use eligo_plugin::{Grads, Step};

use eligo_plugin::online_net::Net;

/// Online OTPE state.
pub struct Online {
    /// Per entry of `Net::projs` into a LIF/ALIF population: `eps_v` per synapse.
    eps_v: Vec<Vec<f32>>,
    /// Same, `eps_a` per synapse (empty unless the population adapts).
    eps_a: Vec<Vec<f32>>,
    /// Same, `r_hat` per synapse.
    r_hat: Vec<Vec<f32>>,
    /// Per entry of `Net::projs` into the readout: `zk` per presynaptic neuron.
    zk: Vec<Vec<f64>>,
    /// Per entry of `Net::projs`: `x_i(t) = s_i(t-1)`, 1 or 0 per presynaptic neuron.
    x: Vec<Vec<f32>>,
    /// Per LIF/ALIF population: `psi(t-1)`.
    psi_prev: Vec<Vec<f32>>,
}

impl Online {
    /// Zero state for `net`.
    pub fn new(net: &Net) -> Self {
        let per_syn = |adapt: bool| {
            move |p: &eligo_plugin::online_net::Proj| match p.post_rec {
                Some(ri) if !adapt || net.rec[ri].adapts => vec![0.0; p.targets.len()],
                _ => Vec::new(),
            }
        };
        Online {
            eps_v: net.projs.iter().map(per_syn(false)).collect(),
            eps_a: net.projs.iter().map(per_syn(true)).collect(),
            r_hat: net.projs.iter().map(per_syn(false)).collect(),
            zk: net
                .projs
                .iter()
                .map(|p| vec![0.0; p.indptr.len() - 1])
                .collect(),
            x: net
                .projs
                .iter()
                .map(|p| vec![0.0; p.indptr.len() - 1])
                .collect(),
            psi_prev: net.rec.iter().map(|r| vec![0.0; r.n]).collect(),
        }
    }

    /// Start of a sequence.
    pub fn reset(&mut self) {
        for v in self
            .eps_v
            .iter_mut()
            .chain(&mut self.eps_a)
            .chain(&mut self.r_hat)
            .chain(&mut self.x)
        {
            v.fill(0.0);
        }
        self.zk.iter_mut().for_each(|v| v.fill(0.0));
        self.psi_prev.iter_mut().for_each(|p| p.fill(0.0));
    }

    /// One step `t`: `e(t-1) = psi(t-1) (eps_v(t-1) - beta eps_a(t-1))`, `r_hat(t-1) = kappa
    /// r_hat(t-2) + e(t-1)`, and `err(t)` pairs with `r_hat(t-1)`; then `eps_v(t) = alpha eps_v(t-1) + x(t) - v_th e(t-1)`, `eps_a(t) = rho eps_a(t-1) +
    /// e(t-1)`.
    pub fn step(&mut self, net: &Net, step: &Step, grads: &mut Grads) {
        let err: Vec<f64> = step.error().iter().map(|&e| f64::from(e)).collect();
        let b = grads.biases(net.readout);
        if !b.is_empty() {
            for (bk, &e) in b.iter_mut().zip(step.error()) {
                *bk += e;
            }
        }
        let fb = net.feedback(|j| step.weights(j));
        let l: Vec<Vec<f32>> = net
            .rec
            .iter()
            .enumerate()
            .map(|(ri, r)| {
                let mut l = vec![0.0; r.n];
                net.signal(&fb[ri], &err, &mut l);
                l.into_iter().map(|x| x as f32).collect()
            })
            .collect();
        for (pi, pr) in net.projs.iter().enumerate() {
            let g = if pr.plastic {
                grads.weights(pr.index)
            } else {
                &mut []
            };
            match pr.post_rec {
                Some(ri) => {
                    let r = &net.rec[ri];
                    let (eps_v, eps_a) = (&mut self.eps_v[pi], &mut self.eps_a[pi]);
                    let r_hat = &mut self.r_hat[pi];
                    let kappa = net.kappa as f32;
                    let (psi, x, l) = (&self.psi_prev[ri], &self.x[pi], &l[ri]);
                    let (alpha, rho, v_th) = (r.alpha as f32, r.rho as f32, r.v_th as f32);
                    for i in 0..x.len() {
                        for s in pr.indptr[i] as usize..pr.indptr[i + 1] as usize {
                            let j = pr.targets[s] as usize;
                            let a = if r.adapts { eps_a[s] } else { 0.0 };
                            let e = psi[j] * (eps_v[s] - r.beta[j] as f32 * a);
                            r_hat[s] = kappa * r_hat[s] + e;
                            if !g.is_empty() {
                                g[s] += l[j] * r_hat[s];
                            }
                            eps_v[s] = alpha * eps_v[s] + x[i] - v_th * e;
                            if r.adapts {
                                eps_a[s] = rho * a + e;
                            }
                        }
                    }
                }
                None => {
                    // readout: zk(t) = kappa zk(t-1) + z(t-1); dE/dWout_kj += err_k(t) zk_j(t)
                    let zk = &mut self.zk[pi];
                    for (z, &x) in zk.iter_mut().zip(&self.x[pi]) {
                        *z = net.kappa * *z + f64::from(x);
                    }
                    if !g.is_empty() {
                        for (i, &z) in zk.iter().enumerate() {
                            for s in pr.indptr[i] as usize..pr.indptr[i + 1] as usize {
                                g[s] += (err[pr.targets[s] as usize] * z) as f32;
                            }
                        }
                    }
                }
            }
            let x = &mut self.x[pi];
            x.fill(0.0);
            for &i in step.spikes(pr.pre) {
                x[i as usize] = 1.0;
            }
        }
        for (r, p) in net.rec.iter().zip(&mut self.psi_prev) {
            p.copy_from_slice(step.state(r.psi));
        }
    }
}
