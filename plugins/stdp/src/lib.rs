//! `stdp` — pair-based spike-timing-dependent plasticity with exponential traces, working only
//! on spike events (no per-step or per-synapse loop when nothing spikes).
//!
//! For every plastic projection, each presynaptic neuron `i` keeps a trace `x_i` and each
//! postsynaptic neuron `j` a trace `y_j`, both decaying exponentially and incremented by 1 at
//! each of their spikes (all-to-all pairing). Traces are decayed lazily: a trace stores its value
//! and the step it was last brought up to date, so cost is proportional to spikes × fan-out.
//!
//! ```text
//! x_i(t) = sum over spikes t_i <= t of exp(-(t - t_i) / tau_plus)
//! y_j(t) = sum over spikes t_j <  t of exp(-(t - t_j) / tau_minus)
//! pre spike of i at t:   w_ji += -A_minus * y_j(t)          (additive)
//!                        w_ji += -A_minus * y_j(t) * w_ji     (multiplicative)
//! post spike of j at t:  w_ji += +A_plus  * x_i(t)          (additive)
//!                        w_ji += +A_plus  * x_i(t) * (w_max - w_ji)   (multiplicative)
//! then w_ji is clipped to [w_min, w_max]
//! ```
//! For one pair with lag `d = t_post - t_pre`: `dw = A_plus exp(-d/tau_plus)` if `d >= 0`,
//! `dw = -A_minus exp(d/tau_minus)` if `d < 0`. **Coincident spikes (d = 0) count as causal**:
//! within a step, presynaptic spikes enter `x` before potentiation is computed, postsynaptic
//! spikes enter `y` only after depression is computed. Spike times are the neurons' own (axonal
//! and dendritic delays are not taken into account).
//!
//! | parameter      | default | unit | meaning                                   |
//! |----------------|---------|------|-------------------------------------------|
//! | `a_plus`       | 0.01    | w    | potentiation amplitude                    |
//! | `a_minus`      | 0.0105  | w    | depression amplitude                      |
//! | `tau_plus_ms`  | 20      | ms   | presynaptic trace time constant           |
//! | `tau_minus_ms` | 20      | ms   | postsynaptic trace time constant          |
//! | `w_min`        | 0       | w    | lower bound                               |
//! | `w_max`        | 1       | w    | upper bound (and the multiplicative scale)|
//! | `mode`         | additive|      | `additive` or `multiplicative`            |
//!
//! References: G. Bi, M. Poo, J. Neurosci. 18:10464 (1998); S. Song, K. Miller, L. Abbott,
//! Nat. Neurosci. 3:919 (2000) (additive, traces); M. van Rossum, G. Bi, G. Turrigiano,
//! J. Neurosci. 20:8812 (2000) (multiplicative); A. Morrison, M. Diesmann, W. Gerstner,
//! Biol. Cybern. 98:459 (2008) (trace formulation).

use eligo_plugin::rows::ByTarget;
use eligo_plugin::{Change, Grads, Layout, OutputKind, Param, ParamValues, Rule, Step};

/// An exponentially decaying trace, brought up to date lazily.
#[derive(Debug, Clone, Copy, Default)]
struct Trace {
    value: f64,
    at: u64,
}

/// `decay^k` for small `k` from a table (the same values `powf` gives), `powf` beyond it.
/// `pow` took a third of the time of CUBA + STDP before (perf, `plugin_overhead` bench).
#[derive(Debug, Clone)]
struct Decay {
    base: f64,
    table: Vec<f64>,
}

impl Decay {
    fn new(base: f64) -> Self {
        Decay {
            base,
            table: (0..4096).map(|k| base.powf(k as f64)).collect(),
        }
    }
    #[inline]
    fn pow(&self, k: u64) -> f64 {
        match self.table.get(k as usize) {
            Some(x) => *x,
            None => self.base.powf(k as f64),
        }
    }
}

impl Trace {
    #[inline]
    fn at(&self, step: u64, decay: &Decay) -> f64 {
        if self.value == 0.0 {
            0.0
        } else {
            self.value * decay.pow(step - self.at)
        }
    }
    #[inline]
    fn bump(&mut self, step: u64, decay: &Decay) {
        self.value = self.at(step, decay) + 1.0;
        self.at = step;
    }
}

/// Per plastic projection: its populations, rows, and the transpose (post -> synapses).
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
    x: Vec<Trace>,
    y: Vec<Trace>,
}

/// Pair-based STDP (see the module docs).
pub struct Stdp {
    a_plus: f64,
    a_minus: f64,
    decay_plus: Decay,
    decay_minus: Decay,
    w_min: f32,
    w_max: f32,
    multiplicative: bool,
    projections: Vec<Plastic>,
    changes: Vec<Change>,
}

impl Stdp {
    fn clip(&self, w: f32) -> f32 {
        w.clamp(self.w_min, self.w_max)
    }
}

impl Rule for Stdp {
    const NAME: &'static str = "stdp";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const OUTPUT: OutputKind = OutputKind::Direct;

    fn params() -> Vec<Param> {
        vec![
            Param::number("a_plus", "w", "potentiation amplitude", 0.01, 0.0, 1e6),
            Param::number("a_minus", "w", "depression amplitude", 0.0105, 0.0, 1e6),
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
            Param::number("w_min", "w", "lower weight bound", 0.0, -1e12, 1e12),
            Param::number("w_max", "w", "upper weight bound", 1.0, -1e12, 1e12),
            Param::choice(
                "mode",
                "weight dependence",
                &["additive", "multiplicative"],
                "additive",
            ),
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
            if !pr.plastic() {
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
                indptr,
                targets,
                in_ptr: by_target.ptr,
                in_syn: by_target.synapse,
                in_pre: by_target.source,
                x: vec![Trace::default(); n_pre],
                y: vec![Trace::default(); n_post],
            });
        }
        Ok(Stdp {
            a_plus: p.get("a_plus"),
            a_minus: p.get("a_minus"),
            decay_plus: Decay::new((-dt / p.get("tau_plus_ms")).exp()),
            decay_minus: Decay::new((-dt / p.get("tau_minus_ms")).exp()),
            w_min,
            w_max,
            multiplicative: p.choice("mode") == "multiplicative",
            projections,
            changes: Vec::new(),
        })
    }

    fn on_sequence_start(&mut self) -> Result<(), String> {
        for pr in &mut self.projections {
            pr.x.fill(Trace::default());
            pr.y.fill(Trace::default());
        }
        Ok(())
    }

    fn on_step(&mut self, step: &Step, _grads: &mut Grads) -> Result<(), String> {
        self.changes.clear();
        let t = step.step();
        let mut projections = std::mem::take(&mut self.projections);
        for pr in &mut projections {
            let w = step.weights(pr.index as usize);
            let pre_spikes = step.spikes(pr.pre);
            let post_spikes = step.spikes(pr.post);
            for &i in pre_spikes {
                pr.x[i as usize].bump(t, &self.decay_plus);
            }
            // depression: pre spike meets the post traces (this step's post spikes not yet in)
            for &i in pre_spikes {
                let i = i as usize;
                for s in pr.indptr[i] as usize..pr.indptr[i + 1] as usize {
                    let y = pr.y[pr.targets[s] as usize].at(t, &self.decay_minus);
                    if y != 0.0 {
                        let w0 = w[s];
                        let w1 = self.ltd(w0, y);
                        self.changes.push(Change {
                            projection: pr.index,
                            synapse: s as u32,
                            delta: w1 - w0,
                        });
                    }
                }
            }
            // potentiation: post spike meets the pre traces (this step's pre spikes included)
            for &j in post_spikes {
                let j = j as usize;
                for k in pr.in_ptr[j] as usize..pr.in_ptr[j + 1] as usize {
                    let (s, i) = (pr.in_syn[k] as usize, pr.in_pre[k] as usize);
                    let x = pr.x[i].at(t, &self.decay_plus);
                    if x == 0.0 {
                        continue;
                    }
                    let mut w0 = w[s];
                    if pr.x[i].at == t {
                        // coincident pair: depression of this step came first
                        let y = pr.y[j].at(t, &self.decay_minus);
                        if y != 0.0 {
                            w0 = self.ltd(w0, y);
                        }
                    }
                    let w1 = self.clip(if self.multiplicative {
                        w0 + (self.a_plus * x) as f32 * (self.w_max - w0)
                    } else {
                        w0 + (self.a_plus * x) as f32
                    });
                    self.changes.push(Change {
                        projection: pr.index,
                        synapse: s as u32,
                        delta: w1 - w0,
                    });
                }
            }
            for &j in post_spikes {
                pr.y[j as usize].bump(t, &self.decay_minus);
            }
        }
        self.projections = projections;
        Ok(())
    }

    fn changes(&self) -> &[Change] {
        &self.changes
    }

    fn save_state(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for pr in &self.projections {
            for tr in pr.x.iter().chain(&pr.y) {
                out.extend_from_slice(&tr.value.to_le_bytes());
                out.extend_from_slice(&tr.at.to_le_bytes());
            }
        }
        out
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        let n: usize = self.projections.iter().map(|p| p.x.len() + p.y.len()).sum();
        if bytes.len() != n * 16 {
            return Err(format!(
                "state has {} bytes, this network needs {}",
                bytes.len(),
                n * 16
            ));
        }
        let mut chunks = bytes.chunks_exact(16);
        for pr in &mut self.projections {
            for tr in pr.x.iter_mut().chain(pr.y.iter_mut()) {
                let c = chunks.next().expect("length checked");
                tr.value = f64::from_le_bytes(c[..8].try_into().expect("8 bytes"));
                tr.at = u64::from_le_bytes(c[8..].try_into().expect("8 bytes"));
            }
        }
        Ok(())
    }
}

impl Stdp {
    fn ltd(&self, w0: f32, y: f64) -> f32 {
        self.clip(if self.multiplicative {
            w0 - (self.a_minus * y) as f32 * w0
        } else {
            w0 - (self.a_minus * y) as f32
        })
    }
}

eligo_plugin::export_rule!(Stdp);
