//! The network as an online gradient rule that takes the readout error sees it (the OTTT,
//! OSTL and OTPE plugins share it): its LIF/ALIF populations with their decays, adaptation
//! and threshold, the readout, the plastic projections, and the readout weights that carry
//! the error back (`B = Wout^T`). A rule that needs less simply ignores the fields.

use crate::{Layout, ModelKind};

/// A LIF or ALIF population.
pub struct Rec {
    /// Population index.
    pub pop: usize,
    /// Size.
    pub n: usize,
    /// Membrane decay per step, `exp(-dt/tau_m)` in f64.
    pub alpha: f64,
    /// Adaptation decay per step, `exp(-dt/tau_a)` (0 for LIF).
    pub rho: f64,
    /// Per-neuron adaptation strength (0 for LIF neurons).
    pub beta: Vec<f64>,
    /// True if some neuron adapts (`beta != 0`): the adaptation trace is kept.
    pub adapts: bool,
    /// Threshold (the reset subtracts it), one value for the population.
    pub v_th: f64,
    /// Its pseudo-derivatives, read at every step.
    pub psi: crate::Var,
}

/// A projection into a LIF/ALIF population or the readout.
pub struct Proj {
    /// Projection index.
    pub index: usize,
    /// True if the host lets the rule change it (gradients are written only then).
    pub plastic: bool,
    /// Presynaptic population.
    pub pre: usize,
    /// Index into `Net::rec` of the post population, or `None` for the readout.
    pub post_rec: Option<usize>,
    /// Row offsets (CSR by presynaptic neuron).
    pub indptr: Vec<u32>,
    /// Targets.
    pub targets: Vec<u32>,
}

/// The network as the rule sees it.
pub struct Net {
    /// LIF/ALIF populations.
    pub rec: Vec<Rec>,
    /// Readout population index.
    pub readout: usize,
    /// Number of outputs.
    pub n_out: usize,
    /// Readout decay per step, `exp(-dt/tau_out)` in f64.
    pub kappa: f64,
    /// Projections into LIF/ALIF populations (plastic ones) or the readout (all: they define
    /// `B`).
    pub projs: Vec<Proj>,
}

impl Net {
    /// Refuse a step without one readout error per output (a run without a teacher), naming
    /// `rule`.
    pub fn check_error(&self, step: &crate::Step, rule: &str) -> Result<(), String> {
        if step.error().len() != self.n_out {
            return Err(format!(
                "{rule} needs the readout error of every step ({} values), got {}: train with a teacher",
                self.n_out,
                step.error().len()
            ));
        }
        Ok(())
    }

    /// Read the layout; refuse networks the rule cannot handle, saying why.
    pub fn new(layout: &Layout, rule: &str) -> Result<Net, String> {
        let readouts: Vec<usize> = (0..layout.populations().len())
            .filter(|&p| layout.population(p).kind() == ModelKind::Readout)
            .collect();
        let [readout] = readouts[..] else {
            return Err(format!(
                "{rule} needs exactly one readout population, the network has {}",
                readouts.len()
            ));
        };
        let dt = layout.dt_ms();
        let constant = |p: usize, name: &str| -> Result<f64, String> {
            let pop = layout.population(p);
            pop.constant_value(name).ok_or_else(|| {
                format!(
                    "population '{}' (model {}) has no constant '{name}'",
                    pop.name(),
                    pop.model()
                )
            })
        };
        let kappa = (-dt / constant(readout, "tau_out_ms")?).exp();
        let mut rec = Vec::new();
        for p in 0..layout.populations().len() {
            let pop = layout.population(p);
            if matches!(pop.kind(), ModelKind::Lif | ModelKind::Alif) {
                let psi = pop
                    .variable("psi")
                    .ok_or_else(|| format!("population '{}' exposes no psi", pop.name()))?;
                let rho = match pop.kind() {
                    ModelKind::Alif => (-dt / constant(p, "tau_a_ms")?).exp(),
                    _ => 0.0,
                };
                let beta = pop
                    .constant_per_neuron("beta")
                    .unwrap_or_else(|| vec![0.0; pop.size()]);
                rec.push(Rec {
                    pop: p,
                    n: pop.size(),
                    alpha: (-dt / constant(p, "tau_m_ms")?).exp(),
                    rho,
                    adapts: beta.iter().any(|&b| b != 0.0),
                    beta,
                    v_th: constant(p, "v_th")?,
                    psi,
                });
            }
        }
        let mut projs = Vec::new();
        for j in 0..layout.projections().len() {
            let pr = layout.projection(j);
            if !pr.plastic() && pr.post() != readout {
                continue;
            }
            let post_rec = rec.iter().position(|r| r.pop == pr.post());
            if post_rec.is_none() && pr.post() != readout {
                return Err(format!(
                    "plastic projection '{}' ends on population '{}', which is neither LIF/ALIF nor the readout; make it non-plastic ([host] plastic = [...])",
                    pr.name(),
                    layout.population(pr.post()).name()
                ));
            }
            let pre_kind = layout.population(pr.pre()).kind();
            if pr.post() == readout && !matches!(pre_kind, ModelKind::Lif | ModelKind::Alif) {
                return Err(format!(
                    "readout projection '{}' must come from a LIF/ALIF population",
                    pr.name()
                ));
            }
            if pr.delays().iter().any(|&d| d != 1) {
                return Err(format!(
                    "projection '{}' has delays other than 1 step; {rule} here needs delay_steps = 1",
                    pr.name()
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
        Ok(Net {
            rec,
            readout,
            n_out: layout.population(readout).size(),
            kappa,
            projs,
        })
    }

    /// `B = Wout^T` per LIF/ALIF population from the readout weights `w(projection)`:
    /// `[j * n_out + k]` = sum of `Wout_kj` over the readout projections.
    pub fn feedback<'w>(&self, w: impl Fn(usize) -> &'w [f32]) -> Vec<Vec<f64>> {
        let mut b: Vec<Vec<f64>> = self
            .rec
            .iter()
            .map(|r| vec![0.0; r.n * self.n_out])
            .collect();
        for p in self.projs.iter().filter(|p| p.post_rec.is_none()) {
            let Some(ri) = self.rec.iter().position(|r| r.pop == p.pre) else {
                continue;
            };
            let w = w(p.index);
            for j in 0..self.rec[ri].n {
                for s in p.indptr[j] as usize..p.indptr[j + 1] as usize {
                    b[ri][j * self.n_out + p.targets[s] as usize] += f64::from(w[s]);
                }
            }
        }
        b
    }

    /// The learning signal of population `ri` for one error row: `L_j = sum_k B_jk err_k`.
    pub fn signal(&self, b: &[f64], err: &[f64], out: &mut [f64]) {
        let n_out = self.n_out;
        for (j, l) in out.iter_mut().enumerate() {
            *l = (0..n_out).map(|k| b[j * n_out + k] * err[k]).sum();
        }
    }

    /// Every population that is presynaptic to a plastic projection.
    pub fn spiking_pres(&self) -> Vec<usize> {
        let mut pres: Vec<usize> = self
            .projs
            .iter()
            .filter(|p| p.plastic)
            .map(|p| p.pre)
            .collect();
        pres.sort_unstable();
        pres.dedup();
        pres
    }
}
