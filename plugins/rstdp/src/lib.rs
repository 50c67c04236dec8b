//! `rstdp` — reward-modulated STDP: pair-based STDP that does not change a weight itself but
//! an eligibility trace per synapse, which a third factor (a reward, a dopamine-like modulator
//! channel) turns into weight changes.
//!
//! For every plastic projection onto a spiking population, each presynaptic neuron `i` keeps a
//! trace `x_i`, each postsynaptic neuron `j` a trace `y_j` (as in `stdp`: decaying, +1 at each
//! spike, all-to-all pairing), and each synapse an eligibility trace `e_ji`. At every step `t`
//! (`dt` = the network's step), with `M(t)` the value of the modulator channel named by
//! `modulator`:
//!
//! ```text
//! x_i <- x_i exp(-dt/tau_plus)  + [i spiked at t]
//! y_j <- y_j exp(-dt/tau_minus)                        (this step's post spikes added last)
//! e_ji <- e_ji exp(-dt/tau_e)
//!         - A_minus * y_j   if i spiked at t           (post before pre: depression)
//!         + A_plus  * x_i   if j spiked at t           (pre before or with post: potentiation)
//! y_j <- y_j + [j spiked at t]
//! dw_ji = eta * dt * M(t) * e_ji ;  w_ji <- clip(w_ji + dw_ji, w_min, w_max)
//! ```
//! Without reward (`M = 0`) nothing changes; with `M > 0` the recent causal pairs are
//! strengthened and with `M < 0` weakened. The host's `[host]` bounds and sign constraint apply
//! on top of `[w_min, w_max]`. Coincident spikes count as causal, as in `stdp`. Every trace is
//! reset at the start of a sequence. Cost per step: one pass over the plastic synapses (the
//! eligibility decays), plus spikes × fan-out.
//!
//! | parameter      | default  | unit        | meaning                                     |
//! |----------------|----------|-------------|---------------------------------------------|
//! | `modulator`    | `reward` |             | the modulator channel that gates learning   |
//! | `eta`          | 0.001    | w / (ms·M)  | learning rate per unit of `M · e` and ms     |
//! | `a_plus`       | 1        | (e)         | eligibility increase of a causal pair       |
//! | `a_minus`      | 1        | (e)         | eligibility decrease of an acausal pair     |
//! | `tau_plus_ms`  | 20       | ms          | presynaptic trace time constant             |
//! | `tau_minus_ms` | 20       | ms          | postsynaptic trace time constant            |
//! | `tau_e_ms`     | 200      | ms          | eligibility trace time constant             |
//! | `w_min`        | 0        | w           | lower weight bound                          |
//! | `w_max`        | 1        | w           | upper weight bound                          |
//!
//! Diagnostics (per sequence, and at the end of each batch for the sequences since the last
//! batch): `mean_abs_eligibility` (mean over steps and synapses of `|e|`), `sum_dw` (sum of the
//! weight changes the rule asked for, after its own bounds), `mean_modulator` (mean `M` over
//! steps).
//!
//! References: E. Izhikevich, Cereb. Cortex 17:2443 (2007) (eligibility trace gated by
//! dopamine); N. Frémaux, W. Gerstner, Front. Neural Circuits 9:85 (2016) (three-factor rules);
//! R. Florian, Neural Comput. 19:1468 (2007).

use eligo_plugin::rows::ByTarget;
use eligo_plugin::{
    Change, Diagnostics, Grads, Layout, OutputKind, Param, ParamValues, Rule, Scope, Step,
};

/// Per plastic projection: its populations, rows, the transpose, and the traces.
struct Plastic {
    index: u32,
    pre: usize,
    post: usize,
    indptr: Vec<u32>,
    targets: Vec<u32>,
    /// For post neuron `j`: `in_ptr[j]..in_ptr[j+1]` indexes `in_syn` / `in_pre`.
    in_ptr: Vec<u32>,
    in_syn: Vec<u32>,
    in_pre: Vec<u32>,
    /// Presynaptic traces.
    x: Vec<f64>,
    /// Postsynaptic traces.
    y: Vec<f64>,
    /// Eligibility per synapse (laid out like the weights).
    e: Vec<f64>,
}

/// Running sums for the diagnostics.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    abs_e: f64,
    dw: f64,
    m: f64,
    steps: u64,
}

impl Stats {
    fn put(&self, out: &mut Diagnostics) {
        let n = self.steps.max(1) as f64;
        out.put("mean_abs_eligibility", self.abs_e / n);
        out.put("sum_dw", self.dw);
        out.put("mean_modulator", self.m / n);
    }
}

/// Reward-modulated STDP (see the module docs).
pub struct Rstdp {
    modulator: usize,
    /// `eta * dt`: the change per step and unit of `M * e`.
    eta_dt: f64,
    a_plus: f64,
    a_minus: f64,
    decay_plus: f64,
    decay_minus: f64,
    decay_e: f64,
    w_min: f32,
    w_max: f32,
    synapses: usize,
    projections: Vec<Plastic>,
    changes: Vec<Change>,
    sequence: Stats,
    batch: Stats,
}

impl Rule for Rstdp {
    const NAME: &'static str = "rstdp";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const OUTPUT: OutputKind = OutputKind::Direct;

    fn params() -> Vec<Param> {
        vec![
            Param::modulator(
                "modulator",
                "the modulator channel (reward) that gates learning",
                "reward",
            ),
            Param::number(
                "eta",
                "w/(ms*M)",
                "learning rate per unit of M*e and ms",
                0.001,
                0.0,
                1e6,
            ),
            Param::number("a_plus", "", "eligibility per causal pair", 1.0, 0.0, 1e6),
            Param::number("a_minus", "", "eligibility per acausal pair", 1.0, 0.0, 1e6),
            Param::number(
                "tau_plus_ms",
                "ms",
                "presynaptic trace time constant",
                20.0,
                1e-6,
                1e9,
            ),
            Param::number(
                "tau_minus_ms",
                "ms",
                "postsynaptic trace time constant",
                20.0,
                1e-6,
                1e9,
            ),
            Param::number(
                "tau_e_ms",
                "ms",
                "eligibility trace time constant",
                200.0,
                1e-6,
                1e9,
            ),
            Param::number("w_min", "w", "lower weight bound", 0.0, -1e12, 1e12),
            Param::number("w_max", "w", "upper weight bound", 1.0, -1e12, 1e12),
        ]
    }

    fn create(layout: &Layout, p: &ParamValues) -> Result<Self, String> {
        let dt = layout.dt_ms();
        let (w_min, w_max) = (p.get("w_min") as f32, p.get("w_max") as f32);
        if w_min > w_max {
            return Err(format!("w_min = {w_min} must not exceed w_max = {w_max}"));
        }
        let mut projections = Vec::new();
        for j in 0..layout.projections().len() {
            let pr = layout.projection(j);
            // a readout never spikes: no pair, no eligibility
            if !pr.plastic() || !layout.population(pr.post()).spiking() {
                continue;
            }
            let n_post = layout.population(pr.post()).size();
            let n_pre = layout.population(pr.pre()).size();
            let (indptr, targets) = (pr.indptr().to_vec(), pr.targets().to_vec());
            let by_target = ByTarget::new(&indptr, &targets, n_post);
            projections.push(Plastic {
                index: j as u32,
                pre: pr.pre(),
                post: pr.post(),
                e: vec![0.0; targets.len()],
                indptr,
                targets,
                in_ptr: by_target.ptr,
                in_syn: by_target.synapse,
                in_pre: by_target.source,
                x: vec![0.0; n_pre],
                y: vec![0.0; n_post],
            });
        }
        Ok(Rstdp {
            modulator: p.modulator("modulator"),
            eta_dt: p.get("eta") * dt,
            a_plus: p.get("a_plus"),
            a_minus: p.get("a_minus"),
            decay_plus: (-dt / p.get("tau_plus_ms")).exp(),
            decay_minus: (-dt / p.get("tau_minus_ms")).exp(),
            decay_e: (-dt / p.get("tau_e_ms")).exp(),
            w_min,
            w_max,
            synapses: projections.iter().map(|p| p.e.len()).sum(),
            projections,
            changes: Vec::new(),
            sequence: Stats::default(),
            batch: Stats::default(),
        })
    }

    fn on_sequence_start(&mut self) -> Result<(), String> {
        for pr in &mut self.projections {
            pr.x.fill(0.0);
            pr.y.fill(0.0);
            pr.e.fill(0.0);
        }
        self.sequence = Stats::default();
        Ok(())
    }

    fn on_step(&mut self, step: &Step, _grads: &mut Grads) -> Result<(), String> {
        self.changes.clear();
        let m = f64::from(step.modulator(self.modulator));
        let (mut abs_e, mut dw_sum) = (0.0f64, 0.0f64);
        for pr in &mut self.projections {
            let pre_spikes = step.spikes(pr.pre);
            let post_spikes = step.spikes(pr.post);
            for x in &mut pr.x {
                *x *= self.decay_plus;
            }
            for &i in pre_spikes {
                pr.x[i as usize] += 1.0;
            }
            for y in &mut pr.y {
                *y *= self.decay_minus;
            }
            for e in &mut pr.e {
                *e *= self.decay_e;
            }
            // depression: a pre spike meets the post traces (this step's post spikes not in)
            for &i in pre_spikes {
                let i = i as usize;
                for s in pr.indptr[i] as usize..pr.indptr[i + 1] as usize {
                    pr.e[s] -= self.a_minus * pr.y[pr.targets[s] as usize];
                }
            }
            // potentiation: a post spike meets the pre traces (this step's pre spikes in)
            for &j in post_spikes {
                let j = j as usize;
                for k in pr.in_ptr[j] as usize..pr.in_ptr[j + 1] as usize {
                    let (s, i) = (pr.in_syn[k] as usize, pr.in_pre[k] as usize);
                    pr.e[s] += self.a_plus * pr.x[i];
                }
            }
            for &j in post_spikes {
                pr.y[j as usize] += 1.0;
            }
            // the third factor turns eligibility into weight changes
            let w = step.weights(pr.index as usize);
            for (s, &e) in pr.e.iter().enumerate() {
                abs_e += e.abs();
                if m == 0.0 || e == 0.0 {
                    continue;
                }
                let w0 = w[s];
                let w1 = (w0 + (self.eta_dt * m * e) as f32).clamp(self.w_min, self.w_max);
                if w1 != w0 {
                    dw_sum += f64::from(w1 - w0);
                    self.changes.push(Change {
                        projection: pr.index,
                        synapse: s as u32,
                        delta: w1 - w0,
                    });
                }
            }
        }
        let abs_e = abs_e / self.synapses.max(1) as f64;
        for st in [&mut self.sequence, &mut self.batch] {
            st.abs_e += abs_e;
            st.dw += dw_sum;
            st.m += m;
            st.steps += 1;
        }
        Ok(())
    }

    fn changes(&self) -> &[Change] {
        &self.changes
    }

    fn diagnostics(&mut self, scope: Scope, out: &mut Diagnostics) {
        match scope {
            Scope::Sequence => self.sequence.put(out),
            Scope::Batch => {
                self.batch.put(out);
                self.batch = Stats::default();
            }
        }
    }

    fn save_state(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for pr in &self.projections {
            for v in pr.x.iter().chain(&pr.y).chain(&pr.e) {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        let n: usize = self
            .projections
            .iter()
            .map(|p| p.x.len() + p.y.len() + p.e.len())
            .sum();
        if bytes.len() != n * 8 {
            return Err(format!(
                "state has {} bytes, this network needs {}",
                bytes.len(),
                n * 8
            ));
        }
        let mut chunks = bytes.chunks_exact(8);
        for pr in &mut self.projections {
            for v in
                pr.x.iter_mut()
                    .chain(pr.y.iter_mut())
                    .chain(pr.e.iter_mut())
            {
                let c = chunks.next().expect("length checked");
                *v = f64::from_le_bytes(c.try_into().expect("8 bytes"));
            }
        }
        Ok(())
    }
}

eligo_plugin::export_rule!(Rstdp);
