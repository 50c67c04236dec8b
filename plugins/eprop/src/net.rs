//! What e-prop needs to know of the network: its recurrent populations, readout, plastic
//! projections and feedback weights.

use eligo_plugin::rows::RowPieces;
use eligo_plugin::{Layout, ModelKind, Step};

/// A recurrent (LIF or ALIF) population.
pub struct Rec {
    /// Population index.
    pub pop: usize,
    /// Size.
    pub n: usize,
    /// Membrane decay per step.
    pub alpha: f64,
    /// Adaptation decay per step.
    pub rho: f64,
    /// Per-neuron adaptation strength (0 for LIF neurons).
    pub beta: Vec<f64>,
    /// Feedback weights `B[j * n_out + k]`.
    pub b: Vec<f64>,
    /// Its pseudo-derivatives, read at every step.
    pub psi: eligo_plugin::Var,
}

/// A plastic projection with its rows.
pub struct Proj {
    /// Projection index.
    pub index: usize,
    /// Position in `Net::projs`.
    pub slot: usize,
    /// True if the host lets the rule change it (gradients are written only then).
    pub plastic: bool,
    /// Presynaptic population.
    pub pre: usize,
    /// Index into `Net::rec` of the post population, or `None` for the readout.
    pub post_rec: Option<usize>,
    /// Row offsets.
    pub indptr: Vec<u32>,
    /// Targets.
    pub targets: Vec<u32>,
    /// The rows' pieces if every row's targets are strictly increasing (no multapses): rows
    /// are then walked in runs ([`eligo_plugin::rows`]).
    pub pieces: Option<RowPieces>,
}

/// The network as e-prop sees it.
pub struct Net {
    /// Recurrent populations.
    pub rec: Vec<Rec>,
    /// Readout population index.
    pub readout: usize,
    /// Number of outputs.
    pub n_out: usize,
    /// Readout decay per step.
    pub kappa: f64,
    /// Plastic projections into recurrent populations or the readout.
    pub projs: Vec<Proj>,
    /// How `B` is set.
    pub feedback: Feedback,
}

/// The feedback variants (docs/eprop.md §6).
pub enum Feedback {
    /// `B = Wout^T` at every step.
    Symmetric,
    /// Fixed random `B`.
    Random,
    /// Kolen-Pollack: random start, same updates as `Wout^T`, decay per batch.
    Adaptive {
        /// Decay per batch (`lambda`).
        decay: f64,
        /// `B_0 - Wout_0^T`, taken at the first step.
        d0: Option<Vec<Vec<f64>>>,
        /// Batches completed.
        batches: u64,
    },
}

/// SplitMix64, for the random feedback weights (no dependency for ten lines).
fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Standard normal by Box-Muller.
fn normal(state: &mut u64) -> f64 {
    let u1 = ((splitmix(state) >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let u2 = (splitmix(state) >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

impl Net {
    /// Read the layout; refuse networks e-prop cannot handle, saying why.
    pub fn new(layout: &Layout, feedback: Feedback, scale: f64) -> Result<Net, String> {
        let readouts: Vec<usize> = (0..layout.populations().len())
            .filter(|&p| layout.population(p).kind() == ModelKind::Readout)
            .collect();
        let [readout] = readouts[..] else {
            return Err(format!(
                "e-prop needs exactly one readout population, the network has {}",
                readouts.len()
            ));
        };
        let n_out = layout.population(readout).size();
        // the exact propagators exp(-dt/tau) in f64 (the models' `alpha`, `rho` and `kappa`
        // constants are their f32 roundings): the backward recursion runs in f64
        let dt = layout.dt_ms();
        let decay = |p: usize, tau: &str| -> Result<f64, String> {
            let pop = layout.population(p);
            let t = pop.constant_value(tau).ok_or_else(|| {
                format!(
                    "population '{}' (model {}) has no constant '{tau}'",
                    pop.name(),
                    pop.model()
                )
            })?;
            Ok((-dt / t).exp())
        };
        let kappa = decay(readout, "tau_out_ms")?;
        let mut rec: Vec<Rec> = Vec::new();
        for p in 0..layout.populations().len() {
            let pop = layout.population(p);
            if matches!(pop.kind(), ModelKind::Lif | ModelKind::Alif) {
                let beta = pop
                    .constant_per_neuron("beta")
                    .unwrap_or_else(|| vec![0.0; pop.size()]);
                let rho = match pop.kind() {
                    ModelKind::Alif => decay(p, "tau_a_ms")?,
                    _ => 0.0,
                };
                let psi = pop
                    .variable("psi")
                    .ok_or_else(|| format!("population '{}' exposes no psi", pop.name()))?;
                rec.push(Rec {
                    pop: p,
                    n: pop.size(),
                    alpha: decay(p, "tau_m_ms")?,
                    rho,
                    beta,
                    b: vec![0.0; pop.size() * n_out],
                    psi,
                });
            }
        }
        let mut seed = layout.seed() ^ 0xE960_0000_0000_0001;
        for r in &mut rec {
            if !matches!(feedback, Feedback::Symmetric) {
                for b in &mut r.b {
                    *b = scale * normal(&mut seed);
                }
            }
        }
        let mut projs = Vec::new();
        for j in 0..layout.projections().len() {
            let pr = layout.projection(j);
            // frozen projections into the readout still define symmetric feedback
            if !pr.plastic() && pr.post() != readout {
                continue;
            }
            let post_rec = rec.iter().position(|r| r.pop == pr.post());
            let pre_kind = layout.population(pr.pre()).kind();
            if post_rec.is_none() && pr.post() != readout {
                return Err(format!(
                    "plastic projection '{}' ends on population '{}', which is neither LIF/ALIF nor the readout; make it non-plastic ([host] plastic = [...])",
                    pr.name(),
                    layout.population(pr.post()).name()
                ));
            }
            if pr.post() == readout && !matches!(pre_kind, ModelKind::Lif | ModelKind::Alif) {
                return Err(format!(
                    "readout projection '{}' must come from a LIF/ALIF population",
                    pr.name()
                ));
            }
            if pr.delays().iter().any(|&d| d != 1) {
                return Err(format!(
                    "plastic projection '{}' has delays other than 1 step; e-prop here needs delay_steps = 1",
                    pr.name()
                ));
            }
            projs.push(Proj {
                index: j,
                slot: projs.len(),
                plastic: pr.plastic(),
                pre: pr.pre(),
                post_rec,
                indptr: pr.indptr().to_vec(),
                targets: pr.targets().to_vec(),
                pieces: RowPieces::new(pr.indptr(), pr.targets()),
            });
        }
        Ok(Net {
            rec,
            readout,
            n_out,
            kappa,
            projs,
            feedback,
        })
    }

    /// Replace the drawn `B` by the `[n_rec, n_out]` matrix in the `.npy` file `path` (rows:
    /// the recurrent populations' neurons in population order; float32 or float64, C order).
    pub fn set_feedback(&mut self, path: &str) -> Result<(), String> {
        let n_rec: usize = self.rec.iter().map(|r| r.n).sum();
        let bad = |msg: String| format!("feedback_file '{path}': {msg}");
        let file =
            std::fs::File::open(path).map_err(|e| bad(format!("cannot read the file: {e}")))?;
        let npy = npyz::NpyFile::new(std::io::BufReader::new(file))
            .map_err(|e| bad(format!("not a .npy file: {e}")))?;
        let want = [n_rec as u64, self.n_out as u64];
        if npy.shape() != want {
            return Err(bad(format!(
                "has shape {:?}; B must be [n_rec, n_out] = {want:?} (the LIF/ALIF neurons in population order, one column per output)",
                npy.shape()
            )));
        }
        if npy.order() == npyz::Order::Fortran {
            return Err(bad(
                "is in Fortran order; save it in C order (numpy.ascontiguousarray)".into(),
            ));
        }
        let values: Vec<f64> = match npy.try_data::<f64>() {
            Ok(r) => r.collect::<std::io::Result<_>>(),
            Err(npy) => match npy.try_data::<f32>() {
                Ok(r) => r.map(|x| x.map(f64::from)).collect(),
                Err(npy) => {
                    return Err(bad(format!(
                        "has dtype {}; allowed: float32, float64",
                        npy.dtype().descr()
                    )));
                }
            },
        }
        .map_err(|e| bad(format!("cannot read the values: {e}")))?;
        if let Some(k) = values.iter().position(|x| !x.is_finite()) {
            return Err(bad(format!(
                "entry [{}, {}] is {}; B must be finite",
                k / self.n_out.max(1),
                k % self.n_out.max(1),
                values[k]
            )));
        }
        let mut rows = values.chunks_exact(self.n_out.max(1));
        for r in &mut self.rec {
            for (j, row) in rows.by_ref().take(r.n).enumerate() {
                r.b[j * self.n_out..(j + 1) * self.n_out].copy_from_slice(row);
            }
        }
        Ok(())
    }

    /// `Wout^T` per recurrent population: `[j * n_out + k]` = sum of `Wout_kj` over the
    /// readout projections.
    fn wout_t(&self, step: &Step) -> Vec<Vec<f64>> {
        let mut wt: Vec<Vec<f64>> = self
            .rec
            .iter()
            .map(|r| vec![0.0; r.n * self.n_out])
            .collect();
        for p in &self.projs {
            if p.post_rec.is_some() {
                continue;
            }
            let Some(ri) = self.rec.iter().position(|r| r.pop == p.pre) else {
                continue;
            };
            let w = step.weights(p.index);
            for j in 0..self.rec[ri].n {
                for s in p.indptr[j] as usize..p.indptr[j + 1] as usize {
                    wt[ri][j * self.n_out + p.targets[s] as usize] += f64::from(w[s]);
                }
            }
        }
        wt
    }

    /// Set `B` for this step: `Wout^T` (symmetric), unchanged (random), or, adaptive
    /// (Kolen-Pollack), `Wout^T + (1 - decay)^n (B_0 - Wout_0^T)` after `n` batches — what `B`
    /// becomes when it gets the same updates as `Wout^T` and both decay by `(1 - decay)` per
    /// batch.
    pub fn update_feedback(&mut self, step: &Step) {
        match &mut self.feedback {
            Feedback::Random => {}
            Feedback::Symmetric => {
                let wt = self.wout_t(step);
                for (r, w) in self.rec.iter_mut().zip(wt) {
                    r.b = w;
                }
            }
            Feedback::Adaptive { .. } => {
                let wt = self.wout_t(step);
                let Feedback::Adaptive { decay, d0, batches } = &mut self.feedback else {
                    unreachable!()
                };
                let d0 = d0.get_or_insert_with(|| {
                    self.rec
                        .iter()
                        .zip(&wt)
                        .map(|(r, w)| r.b.iter().zip(w).map(|(b, w)| b - w).collect())
                        .collect()
                });
                let f = (1.0 - *decay).powf(*batches as f64);
                for ((r, w), d) in self.rec.iter_mut().zip(wt).zip(d0.iter()) {
                    r.b = w.iter().zip(d).map(|(w, d)| w + f * d).collect();
                }
            }
        }
    }

    /// The adaptive feedback's state (batches done, `B_0 - Wout_0^T`) as bytes; empty otherwise.
    pub fn save(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Feedback::Adaptive { batches, d0, .. } = &self.feedback {
            out.extend_from_slice(&batches.to_le_bytes());
            for d in d0.iter().flatten() {
                out.extend_from_slice(&(d.len() as u64).to_le_bytes());
                for x in d {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        out
    }

    /// Restore what [`Net::save`] wrote.
    pub fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let Feedback::Adaptive { batches, d0, .. } = &mut self.feedback else {
            return Ok(());
        };
        let mut words = bytes
            .chunks_exact(8)
            .map(|c| c.try_into().expect("8 bytes"));
        let mut next = || {
            words
                .next()
                .ok_or("truncated adaptive-feedback state".to_string())
        };
        *batches = u64::from_le_bytes(next()?);
        if bytes.len() == 8 {
            *d0 = None;
            return Ok(());
        }
        let mut rows = Vec::new();
        for r in &self.rec {
            let len = u64::from_le_bytes(next()?) as usize;
            if len != r.b.len() {
                return Err(format!(
                    "feedback state for {len} weights, this network has {}",
                    r.b.len()
                ));
            }
            rows.push(
                (0..len)
                    .map(|_| next().map(f64::from_le_bytes))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        *d0 = Some(rows);
        Ok(())
    }

    /// A batch ended (the host updated the weights).
    pub fn batch_done(&mut self) {
        if let Feedback::Adaptive { batches, .. } = &mut self.feedback {
            *batches += 1;
        }
    }
}
