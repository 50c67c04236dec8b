//! The network as on-chip e-prop sees it: recurrent LIF/ALIF populations, one readout, the
//! plastic projections and the feedback weights `B` (read exactly as the `eprop` rule reads
//! them, so that with every simplification off both compute the same numbers).

use eligo_plugin::{Layout, ModelKind, Step};

/// A recurrent (LIF or ALIF) population.
pub struct Rec {
    /// Population index.
    pub pop: usize,
    /// Size.
    pub n: usize,
    /// Membrane decay per step `exp(-dt / tau_m)`.
    pub alpha: f64,
    /// Adaptation decay per step `exp(-dt / tau_a)` (0 for LIF).
    pub rho: f64,
    /// Per-neuron adaptation strength (0 for LIF neurons).
    pub beta: Vec<f64>,
    /// Largest pseudo-derivative `gamma_pd / v_th`.
    pub psi_max: f64,
    /// Feedback weights `B[j * n_out + k]`.
    pub b: Vec<f64>,
    /// Its pseudo-derivatives, read at every step.
    pub psi: eligo_plugin::Var,
}

/// A projection into a recurrent population or the readout.
pub struct Proj {
    /// Projection index.
    pub index: usize,
    /// True if the host lets the rule change it.
    pub plastic: bool,
    /// Presynaptic population.
    pub pre: usize,
    /// Index into `Net::rec` of the post population, or `None` for the readout.
    pub post_rec: Option<usize>,
    /// Row offsets.
    pub indptr: Vec<u32>,
    /// Targets.
    pub targets: Vec<u32>,
}

/// The network.
pub struct Net {
    /// Recurrent populations.
    pub rec: Vec<Rec>,
    /// Number of outputs.
    pub n_out: usize,
    /// Readout decay per step `exp(-dt / tau_out)`.
    pub kappa: f64,
    /// Plastic projections (and frozen ones into the readout, which define `B = Wout^T`).
    pub projs: Vec<Proj>,
    /// `B = Wout^T` at every step (else fixed random `B`).
    pub symmetric: bool,
}

/// Standard normal by Box-Muller over SplitMix64: the `eprop` rule's draw of `B`.
fn normal(state: &mut u64) -> f64 {
    let mut next = || {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        crate::fixed::mix(state.wrapping_sub(0x9E37_79B9_7F4A_7C15))
    };
    let u1 = ((next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let u2 = (next() >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

impl Net {
    /// Read the layout; refuse what on-chip e-prop cannot handle, saying why.
    pub fn new(layout: &Layout, symmetric: bool, scale: f64) -> Result<Net, String> {
        let readouts: Vec<usize> = (0..layout.populations().len())
            .filter(|&p| layout.population(p).kind() == ModelKind::Readout)
            .collect();
        let [readout] = readouts[..] else {
            return Err(format!(
                "on-chip e-prop needs exactly one readout population, the network has {}",
                readouts.len()
            ));
        };
        let dt = layout.dt_ms();
        let constant = |p: usize, name: &str| -> Result<f64, String> {
            let pop = layout.population(p);
            pop.constant_value(name).ok_or_else(|| {
                let (n, m) = (pop.name(), pop.model());
                format!("population '{n}' (model {m}) has no constant '{name}'")
            })
        };
        let decay = |p: usize, tau: &str| constant(p, tau).map(|t| (-dt / t).exp());
        let n_out = layout.population(readout).size();
        let mut rec = Vec::new();
        for p in 0..layout.populations().len() {
            let pop = layout.population(p);
            if !matches!(pop.kind(), ModelKind::Lif | ModelKind::Alif) {
                continue;
            }
            let psi = pop
                .variable("psi")
                .ok_or_else(|| format!("population '{}' exposes no psi", pop.name()))?;
            rec.push(Rec {
                pop: p,
                n: pop.size(),
                alpha: decay(p, "tau_m_ms")?,
                rho: match pop.kind() {
                    ModelKind::Alif => decay(p, "tau_a_ms")?,
                    _ => 0.0,
                },
                beta: pop
                    .constant_per_neuron("beta")
                    .unwrap_or_else(|| vec![0.0; pop.size()]),
                psi_max: constant(p, "gamma_pd")? / constant(p, "v_th")?,
                b: vec![0.0; pop.size() * n_out],
                psi,
            });
        }
        let mut seed = layout.seed() ^ 0xE960_0000_0000_0001;
        for b in rec.iter_mut().flat_map(|r| r.b.iter_mut()) {
            if !symmetric {
                *b = scale * normal(&mut seed);
            }
        }
        let mut projs = Vec::new();
        for j in 0..layout.projections().len() {
            let pr = layout.projection(j);
            if !pr.plastic() && pr.post() != readout {
                continue;
            }
            let post_rec = rec.iter().position(|r| r.pop == pr.post());
            let name = pr.name();
            if post_rec.is_none() && pr.post() != readout {
                return Err(format!(
                    "plastic projection '{name}' ends on population '{}', which is neither LIF/ALIF nor the readout; make it non-plastic ([host] plastic = [...])",
                    layout.population(pr.post()).name()
                ));
            }
            let pre_kind = layout.population(pr.pre()).kind();
            if pr.post() == readout && !matches!(pre_kind, ModelKind::Lif | ModelKind::Alif) {
                return Err(format!(
                    "readout projection '{name}' must come from a LIF/ALIF population"
                ));
            }
            if pr.delays().iter().any(|&d| d != 1) {
                return Err(format!(
                    "plastic projection '{name}' has delays other than 1 step; on-chip e-prop needs delay_steps = 1"
                ));
            }
            projs.push(Proj {
                index: j,
                plastic: pr.plastic(),
                pre: pr.pre(),
                post_rec,
                indptr: pr.indptr().to_vec(),
                targets: pr.targets().to_vec(),
            });
        }
        let kappa = decay(readout, "tau_out_ms")?;
        Ok(Net {
            rec,
            n_out,
            kappa,
            projs,
            symmetric,
        })
    }

    /// `B = Wout^T` for this step (symmetric feedback): the sum of `Wout_kj` over the readout
    /// projections, in `f64`.
    pub fn update_feedback(&mut self, step: &Step) {
        if !self.symmetric {
            return;
        }
        for r in &mut self.rec {
            r.b.fill(0.0);
        }
        for p in self.projs.iter().filter(|p| p.post_rec.is_none()) {
            let Some(r) = self.rec.iter_mut().find(|r| r.pop == p.pre) else {
                continue;
            };
            let w = step.weights(p.index);
            for j in 0..r.n {
                for s in p.indptr[j] as usize..p.indptr[j + 1] as usize {
                    r.b[j * self.n_out + p.targets[s] as usize] += f64::from(w[s]);
                }
            }
        }
    }
}
