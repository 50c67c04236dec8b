//! `bptt` — backpropagation through time for LIF and ALIF (LSNN) networks: the exact gradient
//! (with the pseudo-derivative) of the readout loss and the firing-rate regularizer for input,
//! recurrent and readout weights and readout biases. The baseline e-prop is measured against.
//!
//! Engine convention (every projection on the gradient path has delay 1 step), recurrent
//! neuron `j`, readout `k`, step `t = 0 .. T-1`, everything 0 before step 0:
//!
//! ```text
//! v_j(t) = alpha v_j(t-1) + sum_i Win_ji s_i(t-1) + sum_i Wrec_ji z_i(t-1) - v_th z_j(t-1)
//! a_j(t) = rho a_j(t-1) + z_j(t-1)          A_j(t) = v_th + beta_j a_j(t)   (beta_j = 0: LIF)
//! z_j(t) = H((v_j(t) - A_j(t)) / v_th), 0 while refractory
//! psi_j(t) = gamma_pd / v_th max(0, 1 - |v_j(t) - A_j(t)| / v_th), 0 while refractory
//! r_k(t) = kappa r_k(t-1) + sum_j Wout_kj z_j(t-1)          y_k(t) = r_k(t) + b_k
//! E = loss(y) (the host gives err_k(t) = dE/dy_k(t))  +  c_reg sum_j (f_j - f_target)^2
//! ```
//! Backward pass (`dz/dv := psi`, `dz/da := -beta psi`; every quantity at step `T` is 0):
//!
//! ```text
//! Ek_k(t) = err_k(t) + kappa Ek_k(t+1)
//! dz_j(t) = sum_k Wout_kj Ek_k(t+1) + sum_i Wrec_ij dv_i(t+1) - v_th dv_j(t+1) + da_j(t+1) + r_j
//! dv_j(t) = alpha dv_j(t+1) + psi_j(t) dz_j(t)
//! da_j(t) = rho da_j(t+1) - beta_j psi_j(t) dz_j(t)
//! dE/dWin_ji  = sum_t dv_j(t+1) s_i(t)      dE/dWrec_ji = sum_t dv_j(t+1) z_i(t)
//! dE/dWout_kj = sum_t Ek_k(t+1) z_j(t)      dE/db_k     = sum_t err_k(t)
//! ```
//! with `r_j = 2 c_reg (f_j - f_target) / (T n_batch)` = `dE_reg/dz_j(t)`, `f_j` = neuron `j`'s
//! mean spikes per step over the batch. The recursion is [`backward::backward`], generic over
//! the float type; this rule runs it in `f32`.
//!
//! With `stop_z_gradients = "yes"` the `Wrec` and `-v_th` terms of `dz` are dropped (the
//! gradient stops at `z(t-1)` in the recurrent input and the reset, not in the adaptation
//! update): the authors' autodiff form of e-prop, equal to symmetric e-prop. Plain BPTT differs
//! from it even without recurrent weights, through the reset.
//!
//! Truncation `K > 0`: the sequence is cut into windows `[0, K), [K, 2K), ...` and gradients do
//! not flow back across window boundaries — the adjoints `dv, da, Ek` of step `t+1` are taken
//! as 0 when `t+1` is a multiple of `K`. This is exactly chunked truncated BPTT: the windows run
//! one after the other with the state `v, a, z, r` carried over but detached (a constant), so
//! a weight used at a window's first step still gets its gradient there. The readout filter is
//! cut like the neurons. `K >= T` is full BPTT.
//!
//! Regularizer: `E_reg` needs the rates of the whole batch, known only in `on_batch_end`. The
//! backward pass is linear in what is injected, so each sequence's loss gradient is computed
//! at its end, and the sequence's recording (`psi`, spikes) is kept until the batch ends, where
//! a second backward pass per sequence injects `r_j` (no readout error). Exact, for plain and
//! stopped gradients and any truncation. Memory, only with `c_reg > 0`: per sequence of the
//! batch 4 B × T × n_rec (`psi`) + 8 B per spike of every population presynaptic to a plastic
//! projection + 8 B per step and such population. Weights of the batch are read in
//! `on_batch_end` (the host changes them only after it).
//!
//! Working memory per sequence: `psi` and `dv` (4 B × T × n_rec each), `Ek` (4 B × T × n_out),
//! the spikes as above, and a copy of the weights on the gradient path (4 B per synapse).
//! Cost: steps × (synapses on the gradient path + neurons) for the backward pass (the
//! recurrent synapses drop out with stopped gradients) + spikes × fan-out for the gradients.
//!
//! | parameter          | default | unit  | meaning                                              |
//! |--------------------|---------|-------|------------------------------------------------------|
//! | `stop_z_gradients` | no      |       | `yes`: stop the gradient at `z(t-1)` in the recurrent input and the reset (e-prop) |
//! | `truncation`       | 0       | steps | window length of truncated BPTT; 0: the whole sequence |
//! | `c_reg`            | 0       |       | firing-rate regularization strength (0: off)          |
//! | `f_target_hz`      | 10      | Hz    | target rate of the regularizer                        |
//!
//! Reads, per step: the pseudo-derivatives of every LIF/ALIF population, the spikes of every
//! population presynaptic to a plastic projection, the weights (at the sequence's first step)
//! and, at the sequence end, the readout errors of all steps. Writes gradients of every plastic
//! projection (into LIF/ALIF populations, or LIF/ALIF to the readout) and of the readout
//! biases. Refuses networks with more or less than one readout, delays other than 1 step on
//! the gradient path or on plastic projections, or lif_exp populations feeding the network.
//!
//! References: P. J. Werbos, "Backpropagation through time: what it does and how to do it",
//! Proc. IEEE 78:1550 (1990); R. J. Williams and J. Peng, "An efficient gradient-based
//! algorithm for on-line training of recurrent network trajectories", Neural Comput. 2:490
//! (1990) (truncation); G. Bellec et al., "A solution to the learning dilemma for recurrent
//! networks of spiking neurons", Nat. Commun. 11:3625 (2020) (network, pseudo-derivative,
//! stopped gradients); docs/eprop.md §8.

pub mod backward;
mod net;

use eligo_plugin::{Batch, Grads, Layout, OutputKind, Param, ParamValues, Rule, Sequence, Step};

use backward::{Activity, Adjoints, Network, Options, Path};
use net::{Net, Post};

/// The BPTT rule (see the crate docs).
pub struct Bptt {
    net: Net,
    opts: Options,
    c_reg: f64,
    /// Target rate in spikes per step.
    f_target: f64,
    /// The running sequence.
    seq: Recording,
    /// Per entry of `net.projs`: its weights at the sequence's first step (gradient path only).
    weights: Vec<Vec<f32>>,
    /// Finished sequences of this batch, kept for the regularizer.
    batch: Vec<Recording>,
}

/// What the backward pass needs of one sequence.
#[derive(Default)]
struct Recording {
    steps: usize,
    /// `psi[t * n_rec + j]`.
    psi: Vec<f32>,
    /// Per population (empty unless recorded): its spikes.
    spikes: Vec<Activity<f32>>,
}

impl Recording {
    fn new(net: &Net) -> Self {
        Recording {
            steps: 0,
            psi: Vec::new(),
            spikes: vec![Activity::default(); net.recorded.len()],
        }
    }

    fn clear(&mut self) {
        self.steps = 0;
        self.psi.clear();
        self.spikes.iter_mut().for_each(Activity::clear);
    }
}

/// Projections on the gradient path: (recurrent, readout).
type Paths<'a> = (Vec<Path<'a, f32>>, Vec<Path<'a, f32>>);

/// The gradient-path projections with the weights `w(entry of net.projs)`.
fn paths<'a>(net: &'a Net, w: impl Fn(usize) -> &'a [f32]) -> Result<Paths<'a>, String> {
    let (mut rec, mut out) = (Vec::new(), Vec::new());
    for (e, p) in net.projs.iter().enumerate() {
        let Some(pre) = p.pre_rec else { continue };
        let weights = w(e);
        if weights.len() != p.targets.len() {
            return Err(format!(
                "the host gave {} weights for projection {}, which has {} synapses",
                weights.len(),
                p.index,
                p.targets.len()
            ));
        }
        let (post, list) = match p.post {
            Post::Rec(o) => (o, &mut rec),
            Post::Readout => (0, &mut out),
        };
        list.push(Path {
            pre,
            post,
            indptr: &p.indptr,
            targets: &p.targets,
            weights,
            pieces: p.pieces.as_ref(),
        });
    }
    Ok((rec, out))
}

impl Bptt {
    fn network<'a>(
        &'a self,
        rec: &'a [Path<'a, f32>],
        out: &'a [Path<'a, f32>],
    ) -> Network<'a, f32> {
        Network {
            alpha: &self.net.alpha,
            rho: &self.net.rho,
            beta: &self.net.beta,
            v_th: &self.net.v_th,
            kappa: self.net.kappa,
            n_out: self.net.n_out,
            recurrent: rec,
            readout: out,
        }
    }
}

/// Add the gradients of every plastic projection (the readout's only if `readout`).
fn add_gradients(
    net: &Net,
    rec: &Recording,
    adj: &Adjoints<f32>,
    grads: &mut Grads,
    readout: bool,
) -> Result<(), String> {
    for p in net.projs.iter().filter(|p| p.plastic) {
        let g = grads.weights(p.index);
        if g.is_empty() {
            continue;
        }
        if g.len() != p.targets.len() {
            return Err(format!(
                "the host gave a gradient buffer of {} for projection {}, which has {} synapses",
                g.len(),
                p.index,
                p.targets.len()
            ));
        }
        let pre = &rec.spikes[p.pre];
        match p.post {
            Post::Rec(o) => {
                backward::accumulate(g, &p.indptr, &p.targets, pre, &adj.dv, net.n_rec(), o)
            }
            Post::Readout if readout => {
                backward::accumulate(g, &p.indptr, &p.targets, pre, &adj.ek, net.n_out, 0);
            }
            Post::Readout => {}
        }
    }
    Ok(())
}

impl Rule for Bptt {
    const NAME: &'static str = "bptt";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const OUTPUT: OutputKind = OutputKind::Gradient;

    fn params() -> Vec<Param> {
        vec![
            Param::choice(
                "stop_z_gradients",
                "yes: stop the gradient at z(t-1) in the recurrent input and the reset, not in the adaptation (e-prop)",
                &["no", "yes"],
                "no",
            ),
            Param::number(
                "truncation",
                "steps",
                "window length of truncated BPTT (a whole number); 0: the whole sequence",
                0.0,
                0.0,
                1e12,
            ),
            Param::number(
                "c_reg",
                "",
                "firing-rate regularization strength",
                0.0,
                0.0,
                1e12,
            ),
            Param::number(
                "f_target_hz",
                "Hz",
                "target rate of the regularizer",
                10.0,
                0.0,
                1e6,
            ),
        ]
    }

    fn create(layout: &Layout, p: &ParamValues) -> Result<Self, String> {
        let truncation = p.get("truncation");
        if truncation.fract() != 0.0 {
            return Err(format!(
                "truncation = {truncation} is not a whole number of steps; use e.g. {}",
                truncation.round()
            ));
        }
        let net = Net::new(layout)?;
        let seq = Recording::new(&net);
        let weights = vec![Vec::new(); net.projs.len()];
        Ok(Bptt {
            opts: Options {
                stop_z_gradients: p.choice("stop_z_gradients") == "yes",
                truncation: truncation as usize,
            },
            c_reg: p.get("c_reg"),
            f_target: p.get("f_target_hz") * layout.dt_ms() * 1e-3,
            seq,
            weights,
            batch: Vec::new(),
            net,
        })
    }

    fn on_sequence_start(&mut self) -> Result<(), String> {
        self.seq.clear();
        Ok(())
    }

    fn on_step(&mut self, step: &Step, _grads: &mut Grads) -> Result<(), String> {
        let net = &self.net;
        if step.error().len() != net.n_out {
            return Err(format!(
                "BPTT needs the readout error of every step ({} values), got {}: train with a teacher",
                net.n_out,
                step.error().len()
            ));
        }
        if self.seq.steps == 0 {
            // weights change only between batches: those of the first step are the sequence's
            for (p, w) in net.projs.iter().zip(&mut self.weights) {
                if p.on_path() {
                    w.clear();
                    w.extend_from_slice(step.weights(p.index));
                }
            }
        }
        for r in &net.rec {
            let psi = step.state(r.psi);
            if psi.len() != r.n {
                return Err(format!(
                    "the host gave {} pseudo-derivatives for population {} of {} neurons",
                    psi.len(),
                    r.pop,
                    r.n
                ));
            }
            self.seq.psi.extend_from_slice(psi);
        }
        for (p, act) in self.seq.spikes.iter_mut().enumerate() {
            if net.recorded[p] {
                act.push_step(step.spikes(p).iter().map(|&i| (i, 1.0)));
            }
        }
        self.seq.steps += 1;
        Ok(())
    }

    fn on_sequence_end(&mut self, seq: &Sequence, grads: &mut Grads) -> Result<(), String> {
        let (t_len, n_out) = (self.seq.steps, self.net.n_out);
        let errors = seq.errors();
        if errors.len() != t_len * n_out {
            return Err(format!(
                "BPTT needs the readout errors of all {t_len} steps ({} values), got {}: train with a teacher",
                t_len * n_out,
                errors.len()
            ));
        }
        let b = grads.biases(self.net.readout);
        if !b.is_empty() {
            for row in errors.chunks_exact(n_out.max(1)) {
                for (b, e) in b.iter_mut().zip(row) {
                    *b += e;
                }
            }
        }
        if t_len > 0 {
            let (rec, out) = paths(&self.net, |e| &self.weights[e])?;
            let adj = backward::backward(
                &self.network(&rec, &out),
                &self.seq.psi,
                Some(errors),
                None,
                &self.opts,
            );
            add_gradients(&self.net, &self.seq, &adj, grads, true)?;
        }
        if self.c_reg > 0.0 {
            let next = Recording::new(&self.net);
            self.batch.push(std::mem::replace(&mut self.seq, next));
        } else {
            self.seq.clear();
        }
        Ok(())
    }

    fn on_batch_end(&mut self, batch: &Batch, grads: &mut Grads) -> Result<(), String> {
        if self.c_reg <= 0.0 || self.batch.is_empty() {
            self.batch.clear();
            return Ok(());
        }
        let denom = (batch.steps() * batch.sequences()) as f64;
        if denom <= 0.0 {
            return Err(format!(
                "the host ended a batch of {} sequences of {} steps: no rates to regularize",
                batch.sequences(),
                batch.steps()
            ));
        }
        // r_j = dE_reg/dz_j(t), the same at every step of every sequence
        let mut r = vec![0.0f32; self.net.n_rec()];
        for rec in &self.net.rec {
            let rates = batch.rates(rec.pop);
            if rates.len() != rec.n {
                return Err(format!(
                    "the host gave {} rates for population {} of {} neurons",
                    rates.len(),
                    rec.pop,
                    rec.n
                ));
            }
            for (rj, &f) in r[rec.offset..rec.offset + rec.n].iter_mut().zip(rates) {
                *rj = (2.0 * self.c_reg * (f64::from(f) - self.f_target) / denom) as f32;
            }
        }
        let sequences = std::mem::take(&mut self.batch);
        let (rec, out) = paths(&self.net, |e| batch.weights(self.net.projs[e].index))?;
        let network = self.network(&rec, &out);
        for s in &sequences {
            let adj = backward::backward(&network, &s.psi, None, Some(&r), &self.opts);
            add_gradients(&self.net, s, &adj, grads, false)?;
        }
        Ok(())
    }
}

eligo_plugin::export_rule!(Bptt);
