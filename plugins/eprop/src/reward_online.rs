//! Reward-based e-prop, online (docs/eprop.md §14.3): per synapse the eligibility traces, the
//! `F_gamma`-filtered learning-signal-weighted eligibility, and the eligibility seen at the
//! last action; every agent step the TD error multiplies the filtered trace. Causal, nothing
//! stored over time: the form a chip would run, and the reference for the event form.
//!
//! At the first network step of agent step `n + 1` the host's channels tell `a_n`, `r_n`,
//! `done_n`; the rule then folds `X_n = g_n . B ebar(t_n - 1)` into `F` (and adds the entropy
//! term at once); `delta_n` needs `V_{n+1}`, read at the last network step of agent step
//! `n + 1`, where `scale * delta_n * F` is added to the gradient (at once after a terminal step).

use eligo_plugin::{Grads, Step};

use crate::net::Net;
use crate::online::Traces;
use crate::reg::Reg;
use crate::reward::{Log, Outcome, Reward};

/// Online reward-based e-prop state.
pub struct RewardOnline {
    traces: Vec<Traces>,
    /// Per projection: `ebar(t_n - 1)` per synapse (recurrent) or `zk(t_n)` per presynaptic
    /// neuron (readout), taken at the last action time `t_n`.
    snap: Vec<Vec<f32>>,
    /// Per projection, per synapse: `F_gamma` of the learning-signal-weighted eligibility.
    f: Vec<Vec<f64>>,
    /// `F_gamma` of the readout biases' `g`.
    f_bias: Vec<f64>,
    log: Log,
    /// The last outcome still waiting for the next value: `(r_n, V_n)`.
    pending: Option<(f64, f64)>,
}

impl RewardOnline {
    /// Zero state for `net`.
    pub fn new(net: &Net) -> Self {
        let traces = Traces::for_net(net);
        let snap = traces.iter().map(|t| vec![0.0; t.ebar.len()]).collect();
        let f = net
            .projs
            .iter()
            .map(|p| vec![0.0; p.targets.len()])
            .collect();
        RewardOnline {
            traces,
            snap,
            f,
            f_bias: vec![0.0; net.n_out],
            log: Log::default(),
            pending: None,
        }
    }

    /// Start of an episode.
    pub fn reset(&mut self) {
        for t in &mut self.traces {
            t.restart();
            t.prev.clear();
        }
        self.snap.iter_mut().for_each(|s| s.fill(0.0));
        self.f.iter_mut().for_each(|f| f.fill(0.0));
        self.f_bias.fill(0.0);
        self.log.clear();
        self.pending = None;
    }

    /// One network step.
    pub fn step(
        &mut self,
        net: &Net,
        rw: &Reward,
        step: &Step,
        grads: &mut Grads,
        mut reg: Option<&mut Reg>,
    ) -> Result<(), String> {
        if rw.restarts_at(step.step()) {
            self.traces.iter_mut().for_each(Traces::restart);
        }
        let (outcome, y) = rw.observe(step, &mut self.log)?;
        if let Some(o) = outcome {
            let n = self.log.outcomes.len() - 1;
            self.fold(net, rw, n, &o, grads);
            let v = self.log.ys[n][rw.n_act];
            match o.done {
                1 => self.apply(net, rw, o.reward - v, grads),
                _ => self.pending = Some((o.reward, v)),
            }
        }
        let kappa = net.kappa as f32;
        let at_action = y.is_some();
        for (pi, (pr, tr)) in net.projs.iter().zip(&mut self.traces).enumerate() {
            let snap = &mut self.snap[pi];
            match pr.post_rec {
                Some(ri) if pr.plastic => {
                    let r = &net.rec[ri];
                    let mut aux = reg.as_deref_mut().map(|r| &mut r.aux[pi]);
                    tr.advance_rec(pr, r, step.state(r.psi), kappa, |s, _, ebar, e| {
                        if at_action {
                            snap[s] = ebar;
                        }
                        if let Some(aux) = aux.as_deref_mut() {
                            aux[s] += f64::from(e);
                        }
                    });
                }
                None if pr.plastic => {
                    tr.advance_out(kappa);
                    if at_action {
                        snap.copy_from_slice(&tr.ebar);
                    }
                }
                _ => {}
            }
            tr.shift(step.spikes(pr.pre));
        }
        if let Some(y) = y
            && let Some((r, v)) = self.pending.take()
        {
            self.apply(net, rw, r + rw.gamma * y[rw.n_act] - v, grads);
        }
        Ok(())
    }

    /// Fold agent step `n`'s eligibility (seen at its action time) into `F`, and add its
    /// entropy term to the gradients.
    fn fold(&mut self, net: &Net, rw: &Reward, n: usize, o: &Outcome, grads: &mut Grads) {
        let (g, h) = rw.coefficients(&self.log.ys[n], o);
        let decay = if rw.starts_unroll(n as u64) {
            0.0
        } else {
            rw.gamma
        };
        let n_out = net.n_out;
        for (pi, pr) in net.projs.iter().enumerate() {
            if !pr.plastic {
                continue;
            }
            let (f, snap) = (&mut self.f[pi], &self.snap[pi]);
            let gw = grads.weights(pr.index);
            match pr.post_rec {
                Some(ri) => {
                    let b = &net.rec[ri].b;
                    let sig = |c: &[f64], j: usize| -> f64 {
                        (0..n_out).map(|k| b[j * n_out + k] * c[k]).sum()
                    };
                    let lg: Vec<f64> = (0..net.rec[ri].n).map(|j| sig(&g, j)).collect();
                    let lh: Vec<f64> = (0..net.rec[ri].n).map(|j| sig(&h, j)).collect();
                    for (s, &j) in pr.targets.iter().enumerate() {
                        let e = f64::from(snap[s]);
                        f[s] = decay * f[s] + lg[j as usize] * e;
                        if !gw.is_empty() {
                            gw[s] += (rw.scale * lh[j as usize] * e) as f32;
                        }
                    }
                }
                None => {
                    for i in 0..snap.len() {
                        let zk = f64::from(snap[i]);
                        for s in pr.indptr[i] as usize..pr.indptr[i + 1] as usize {
                            let k = pr.targets[s] as usize;
                            f[s] = decay * f[s] + g[k] * zk;
                            if !gw.is_empty() {
                                gw[s] += (rw.scale * h[k] * zk) as f32;
                            }
                        }
                    }
                }
            }
        }
        let b = grads.biases(net.readout);
        for k in 0..n_out {
            self.f_bias[k] = decay * self.f_bias[k] + g[k];
            if !b.is_empty() {
                b[k] += (rw.scale * h[k]) as f32;
            }
        }
    }

    /// `grad += scale * delta * F`.
    fn apply(&mut self, net: &Net, rw: &Reward, delta: f64, grads: &mut Grads) {
        let c = rw.scale * delta;
        for (pi, pr) in net.projs.iter().enumerate() {
            let gw = grads.weights(pr.index);
            if !pr.plastic || gw.is_empty() {
                continue;
            }
            for (g, &f) in gw.iter_mut().zip(&self.f[pi]) {
                *g += (c * f) as f32;
            }
        }
        let b = grads.biases(net.readout);
        if !b.is_empty() {
            for (g, &f) in b.iter_mut().zip(&self.f_bias) {
                *g += (c * f) as f32;
            }
        }
    }
}
