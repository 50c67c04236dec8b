//! `eprop_chip` — on-chip e-prop: online e-prop (Bellec et al. 2020) as neuromorphic hardware
//! runs it, one parameter per simplification so that each one's cost can be measured alone.
//! With every simplification off it computes, operation for operation, the `eprop` rule's
//! `online` form (plugins/eprop, `online.rs`) and applies plain SGD at the end of each sequence.
//!
//! Per step `t`, presynaptic `i`, postsynaptic `j` (delay 1 step, as `eprop`):
//! ```text
//! filtered: eps_v_i(t) = Q_v(alpha eps_v_i(t-1) + z_i(t-1))      raw: eps_v_i(t) = z_i(t-1)
//! e_ji(t)     = psi_j(t) (eps_v_i(t) - beta_j eps_a_ji(t))
//! ebar_ji(t)  = Q_e(kappa ebar_ji(t-1) + e_ji(t))
//! eps_a_ji(t+1) = Q_a(psi_j(t) eps_v_i(t) + (rho - psi_j(t) beta_j) eps_a_ji(t))   (ALIF)
//! zk_j(t)     = Q_z(kappa zk_j(t-1) + z_j(t-1))                   (readout's presynaptic trace)
//! s_k(t)      = err_k(t) (analog)  or  SD(err_k)(t) in {-c, 0, +c} (spikes)
//! L_j(t)      = sum_k B_jk s_k(t)
//! g_ji       += L_j(t) ebar_ji(t-1),     g_kj += s_k(t) zk_j(t)
//! end of each sequence:  w <- C(Q_w(w - eta g)),  g <- 0
//! ```
//! - `trace = raw` (truncated traces) drops the membrane low-pass of the presynaptic trace; the
//!   readout filter `kappa` (of `ebar` and `zk`) is kept.
//! - `signal = spikes`: each output's error goes out on a positive and a negative channel,
//!   rate coded by a sigma-delta modulator (`fixed::SigmaDelta`): at most one spike per channel
//!   per step (max rate `1/dt`), each spike worth `c = signal_scale`; for `|err| <= c` the
//!   running sum of `s` stays within `c/2` of that of `err`. It replaces `err` in every update.
//! - `Q_w` (`weight_bits`), `Q_v, Q_a, Q_e, Q_z` (`trace_bits`): two's-complement fixed point
//!   on `[-R, R)` in steps of `R 2^-(bits-1)`, `R` a power of two (`fixed.rs`), saturating, with
//!   `rounding` nearest (ties away from 0) or stochastic (unbiased; draws hashed from the run
//!   seed, the sequence count, step, array and index: the same for any thread count). Ranges,
//!   per projection: `Q_w` the smallest power of two above `2 max|w|` of its weights at the
//!   run's first step; `Q_v` above `vmax = 1/(1-alpha)` (raw: 1); `Q_a` above
//!   `amax = psi_max vmax/(1-rho)`; `Q_e` above `psi_max max(vmax, beta_max amax)/(1-kappa)`;
//!   `Q_z` above `1/(1-kappa)`; `psi_max = gamma_pd/v_th` (worst-case bounds, so no trace
//!   saturates while `rho >= psi beta`).
//! - `sign_constrained`: `C` clips each weight at 0 on the side of its initial sign (`w >= 0`
//!   stays `>= 0`, `w < 0` stays `<= 0`); else `C` is the identity.
//!
//! The weights change only at the last step of each sequence (`Direct` output), by
//! `w_new - w`: one lane (`--batch 1`, sample-by-sample learning as on chip) keeps them on the
//! grid; several lanes' changes are added by the host (plain SGD on the batch's summed
//! gradient). A direct rule has no gradient buffers, so `g` shows only through the update; the
//! readout biases are not learned. Rule name `eprop_chip` (`--rule eprop_chip`).
//!
//! | parameter | default | unit | meaning |
//! |---|---|---|---|
//! | `eta` | 0.001 | w per gradient unit | SGD step at each sequence end |
//! | `feedback` | symmetric | | `symmetric` (`B = Wout^T`) or `random` (fixed, as `eprop`) |
//! | `random_scale` | 1 | | std of the random `B` |
//! | `trace` | filtered | | `filtered` or `raw` |
//! | `signal` | analog | | `analog` or `spikes` |
//! | `signal_scale` | 1 | error units per spike | `c` |
//! | `weight_bits`, `trace_bits` | 0 | bits | 0 (float) or 2..24 |
//! | `rounding` | nearest | | `nearest` or `stochastic` |
//! | `sign_constrained` | "false" | | `"true"`: weights keep the sign they start with |
//!
//! State: per synapse `eps_a`, `ebar`, `g` (and its weight's initial sign); per presynaptic
//! neuron and projection `eps_v` or `zk`; per output a sigma-delta accumulator.
//!
//! References: G. Bellec et al., "A solution to the learning dilemma for recurrent networks of
//! spiking neurons", Nat. Commun. 11:3625 (2020); C. Frenkel, G. Indiveri, "ReckOn: a 28nm
//! sub-mm2 task-agnostic spiking recurrent neural network processor enabling on-chip learning
//! over second-long timescales", ISSCC 2022; A. Rostami et al., "E-prop on SpiNNaker 2:
//! exploring online learning in spiking RNNs on neuromorphic hardware", Front. Neurosci. 16
//! (2022).

pub mod fixed;
mod net;

use eligo_plugin::{
    Change, Diagnostics, Grads, Layout, OutputKind, Param, ParamValues, Rule, Scope, Sequence, Step,
};
use fixed::{Grid, SigmaDelta, pow2_above, uniform};
use net::Net;

/// Per projection: traces, gradient, grids.
struct Slot {
    eps_v: Vec<f32>,
    eps_a: Vec<f32>,
    ebar: Vec<f32>,
    g: Vec<f32>,
    prev: Vec<u32>,
    /// `Q_v` (or `Q_z` for the readout), `Q_a`, `Q_e`.
    qv: Grid,
    qa: Grid,
    qe: Grid,
    /// `Q_w` (set at the run's first step) and the initial signs (`w >= 0`).
    qw: Grid,
    w_range: f64,
    sign: Vec<bool>,
}

/// The on-chip e-prop rule (see the module docs).
pub struct EpropChip {
    net: Net,
    slots: Vec<Slot>,
    eta: f32,
    raw: bool,
    spikes: bool,
    scale: f32,
    weight_bits: u32,
    stochastic: bool,
    sign_constrained: bool,
    seq_len: u64,
    seed: u64,
    coders: Vec<SigmaDelta>,
    s: Vec<f32>,
    /// Sequences started (a key of the stochastic draws) and whether the ranges are set.
    sequences: u64,
    started: bool,
    signal_spikes: f64,
    changes: Vec<Change>,
}

fn bits(p: &ParamValues, name: &str) -> Result<u32, String> {
    let b = p.get(name);
    if b.fract() != 0.0 || b == 1.0 {
        return Err(format!(
            "{name} = {b}: allowed 0 (float) or a whole number of bits from 2 to 24"
        ));
    }
    Ok(b as u32)
}

impl EpropChip {
    /// The draw for `(array, slot)` at this step: a key per index follows by adding it.
    fn key(&self, step: u64, array: u64, slot: usize) -> Option<u64> {
        let k = fixed::mix(fixed::mix(self.seed ^ self.sequences) ^ step);
        self.stochastic
            .then(|| fixed::mix(k ^ (array << 32 | slot as u64)))
    }

    /// The weight update at the end of a sequence, as changes.
    fn update(&mut self, step: &Step) {
        self.changes.clear();
        let t = step.step();
        let keys: Vec<Option<u64>> = (0..self.slots.len()).map(|j| self.key(t, 4, j)).collect();
        for (slot, (pr, sl)) in self.net.projs.iter().zip(&mut self.slots).enumerate() {
            if !pr.plastic {
                continue;
            }
            let w = step.weights(pr.index);
            let k = keys[slot];
            for (s, (&w0, g)) in w.iter().zip(&mut sl.g).enumerate() {
                let u = k.map(|k| uniform(k.wrapping_add(s as u64)));
                let mut w1 = sl.qw.put(w0 - self.eta * *g, u);
                if self.sign_constrained {
                    w1 = if sl.sign[s] { w1.max(0.0) } else { w1.min(0.0) };
                }
                *g = 0.0;
                if w1 != w0 {
                    self.changes.push(Change {
                        projection: pr.index as u32,
                        synapse: s as u32,
                        delta: delta_to(w0, w1),
                    });
                }
            }
        }
    }

    /// At the run's first step: the weights' ranges and signs.
    fn start(&mut self, step: &Step) {
        for (pr, sl) in self.net.projs.iter().zip(&mut self.slots) {
            let w = step.weights(pr.index);
            let max = w.iter().fold(0.0f64, |m, &x| m.max(f64::from(x.abs())));
            sl.w_range = pow2_above(2.0 * max);
            sl.qw = Grid::new(self.weight_bits, sl.w_range);
            sl.sign = w.iter().map(|&x| x >= 0.0).collect();
        }
        self.started = true;
    }
}

/// A change `d` with `w + d == target` in `f32` (how the host applies it), the plain difference
/// when it is exact (always when `target` is within a factor 2 of `w`), else a neighbour.
fn delta_to(w: f32, target: f32) -> f32 {
    let d = target - w;
    [d, d.next_up(), d.next_down()]
        .into_iter()
        .find(|&d| w + d == target)
        .unwrap_or(d)
}

impl Rule for EpropChip {
    const NAME: &'static str = "eprop_chip";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const OUTPUT: OutputKind = OutputKind::Direct;

    fn params() -> Vec<Param> {
        let onoff: &[&str] = &["false", "true"];
        vec![
            Param::number("eta", "w", "SGD step per unit gradient", 1e-3, 0.0, 1e6),
            Param::choice(
                "feedback",
                "learning-signal weights B (eligo train's default: random)",
                &["symmetric", "random"],
                "symmetric",
            ),
            Param::number("random_scale", "", "std of random B", 1.0, 0.0, 1e6),
            Param::choice(
                "trace",
                "presynaptic trace: filtered (z-bar) or raw z",
                &["filtered", "raw"],
                "filtered",
            ),
            Param::choice(
                "signal",
                "learning signal: analog or sigma-delta spikes",
                &["analog", "spikes"],
                "analog",
            ),
            Param::number("signal_scale", "err", "error per spike", 1.0, 1e-12, 1e12),
            Param::number("weight_bits", "bits", "0: float", 0.0, 0.0, 24.0),
            Param::number("trace_bits", "bits", "0: float", 0.0, 0.0, 24.0),
            Param::choice(
                "rounding",
                "fixed point",
                &["nearest", "stochastic"],
                "nearest",
            ),
            Param::choice("sign_constrained", "keep initial signs", onoff, "false"),
        ]
    }

    fn create(layout: &Layout, p: &ParamValues) -> Result<Self, String> {
        let net = Net::new(
            layout,
            p.choice("feedback") == "symmetric",
            p.get("random_scale"),
        )?;
        if layout.seq_len() == 0 {
            return Err("on-chip e-prop updates the weights at the last step of each sequence and needs the sequence length, which this run does not give".into());
        }
        let (weight_bits, tb) = (bits(p, "weight_bits")?, bits(p, "trace_bits")?);
        let raw = p.choice("trace") == "raw";
        let kappa = net.kappa;
        let slots = net
            .projs
            .iter()
            .map(|pr| {
                let n_pre = pr.indptr.len() - 1;
                let n_syn = pr.targets.len();
                let (qv, qa, qe, per_syn) = match pr.post_rec {
                    Some(ri) => {
                        let r = &net.rec[ri];
                        let vmax = if raw { 1.0 } else { 1.0 / (1.0 - r.alpha) };
                        let amax = r.psi_max * vmax / (1.0 - r.rho);
                        let bmax = r.beta.iter().fold(0.0f64, |m, &b| m.max(b));
                        let emax = r.psi_max * vmax.max(bmax * amax) / (1.0 - kappa);
                        let g = |x: f64| Grid::new(tb, pow2_above(x));
                        (g(vmax), g(amax), g(emax), n_syn)
                    }
                    None => (
                        Grid::new(tb, pow2_above(1.0 / (1.0 - kappa))),
                        Grid::FLOAT,
                        Grid::FLOAT,
                        0,
                    ),
                };
                Slot {
                    eps_v: vec![0.0; n_pre],
                    eps_a: vec![0.0; per_syn],
                    ebar: vec![0.0; per_syn],
                    g: vec![0.0; n_syn],
                    prev: Vec::new(),
                    qv,
                    qa,
                    qe,
                    qw: Grid::FLOAT,
                    w_range: 0.0,
                    sign: Vec::new(),
                }
            })
            .collect();
        Ok(EpropChip {
            coders: vec![SigmaDelta::default(); net.n_out],
            s: vec![0.0; net.n_out],
            net,
            slots,
            eta: p.get("eta") as f32,
            raw,
            spikes: p.choice("signal") == "spikes",
            scale: p.get("signal_scale") as f32,
            weight_bits,
            stochastic: p.choice("rounding") == "stochastic",
            sign_constrained: p.choice("sign_constrained") == "true",
            seq_len: layout.seq_len(),
            seed: layout.seed(),
            sequences: 0,
            started: false,
            signal_spikes: 0.0,
            changes: Vec::new(),
        })
    }

    fn on_sequence_start(&mut self) -> Result<(), String> {
        for sl in &mut self.slots {
            for v in [&mut sl.eps_v, &mut sl.eps_a, &mut sl.ebar, &mut sl.g] {
                v.fill(0.0);
            }
            sl.prev.clear();
        }
        self.coders.fill(SigmaDelta::default());
        self.sequences += 1;
        self.signal_spikes = 0.0;
        Ok(())
    }

    fn on_step(&mut self, step: &Step, _grads: &mut Grads) -> Result<(), String> {
        self.changes.clear();
        let err = step.error();
        let n_out = self.net.n_out;
        if err.len() != n_out {
            return Err(format!(
                "on-chip e-prop needs the readout error of every step ({n_out} values), got {}: train with a teacher",
                err.len()
            ));
        }
        if !self.started {
            self.start(step);
        }
        self.net.update_feedback(step);
        for k in 0..n_out {
            self.s[k] = match self.spikes {
                true => self.coders[k].code(err[k], self.scale),
                false => err[k],
            };
            self.signal_spikes += f64::from(u8::from(self.s[k] != 0.0 && self.spikes));
        }
        let t = step.step();
        let kappa = self.net.kappa as f32;
        for slot in 0..self.slots.len() {
            let pr = &self.net.projs[slot];
            if !pr.plastic {
                continue;
            }
            let keys = [0, 1, 2, 3].map(|a| self.key(t, a, slot));
            let sl = &mut self.slots[slot];
            let s = &self.s;
            let decay = match pr.post_rec {
                Some(ri) if !self.raw => self.net.rec[ri].alpha as f32,
                Some(_) => 0.0,
                None => kappa,
            };
            for x in &mut sl.eps_v {
                *x *= decay;
            }
            for &i in &sl.prev {
                sl.eps_v[i as usize] += 1.0;
            }
            if sl.qv.step != 0.0 {
                for (i, x) in sl.eps_v.iter_mut().enumerate() {
                    *x = sl
                        .qv
                        .put(*x, keys[0].map(|k| uniform(k.wrapping_add(i as u64))));
                }
            }
            match pr.post_rec {
                Some(ri) => {
                    let r = &self.net.rec[ri];
                    let psi = step.state(r.psi);
                    let l: Vec<f32> = (0..r.n)
                        .map(|j| (0..n_out).map(|k| r.b[j * n_out + k] as f32 * s[k]).sum())
                        .collect();
                    let rho = r.rho as f32;
                    for i in 0..sl.eps_v.len() {
                        let ev = sl.eps_v[i];
                        for syn in pr.indptr[i] as usize..pr.indptr[i + 1] as usize {
                            let j = pr.targets[syn] as usize;
                            let (p, beta) = (psi[j], r.beta[j] as f32);
                            let e = p * (ev - beta * sl.eps_a[syn]);
                            sl.g[syn] += l[j] * sl.ebar[syn];
                            let u = |a: usize| keys[a].map(|k| uniform(k.wrapping_add(syn as u64)));
                            sl.ebar[syn] = sl.qe.put(kappa * sl.ebar[syn] + e, u(1));
                            let a = p * ev + (rho - p * beta) * sl.eps_a[syn];
                            sl.eps_a[syn] = sl.qa.put(a, u(2));
                        }
                    }
                }
                None => {
                    for i in 0..sl.eps_v.len() {
                        let zk = sl.eps_v[i];
                        for syn in pr.indptr[i] as usize..pr.indptr[i + 1] as usize {
                            sl.g[syn] += s[pr.targets[syn] as usize] * zk;
                        }
                    }
                }
            }
            sl.prev.clear();
            sl.prev.extend_from_slice(step.spikes(pr.pre));
        }
        if t + 1 == self.seq_len {
            self.update(step);
        }
        Ok(())
    }

    fn on_sequence_end(&mut self, seq: &Sequence, _grads: &mut Grads) -> Result<(), String> {
        if seq.steps() != self.seq_len {
            return Err(format!(
                "the sequence had {} steps, the rule was built for {}: the weights were not updated",
                seq.steps(),
                self.seq_len
            ));
        }
        Ok(())
    }

    fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// `signal_spikes`: error spikes sent per sequence (`signal = spikes`).
    fn diagnostics(&mut self, scope: Scope, out: &mut Diagnostics) {
        if scope == Scope::Sequence && self.spikes {
            out.put("signal_spikes", self.signal_spikes);
        }
    }

    /// Sequences run, then per projection the weight range and initial signs (empty before the
    /// first step).
    fn save_state(&self) -> Vec<u8> {
        let mut out = self.sequences.to_le_bytes().to_vec();
        if self.started {
            for sl in &self.slots {
                out.extend_from_slice(&sl.w_range.to_le_bytes());
                out.extend(sl.sign.iter().map(|&b| u8::from(b)));
            }
        }
        out
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        let bad = || "on-chip e-prop state does not fit this network".to_string();
        let (head, mut rest) = bytes.split_at_checked(8).ok_or_else(bad)?;
        self.sequences = u64::from_le_bytes(head.try_into().map_err(|_| bad())?);
        self.started = !rest.is_empty();
        if !self.started {
            return Ok(());
        }
        for sl in &mut self.slots {
            let n = sl.g.len();
            let (r, s) = rest.split_at_checked(8).ok_or_else(bad)?;
            let (s, tail) = s.split_at_checked(n).ok_or_else(bad)?;
            sl.w_range = f64::from_le_bytes(r.try_into().map_err(|_| bad())?);
            sl.qw = Grid::new(self.weight_bits, sl.w_range);
            sl.sign = s.iter().map(|&b| b != 0).collect();
            rest = tail;
        }
        if rest.is_empty() { Ok(()) } else { Err(bad()) }
    }
}

eligo_plugin::export_rule!(EpropChip);
