//! What BPTT needs to know of the network: its recurrent (LIF/ALIF) neurons numbered across
//! populations, the readout, the projections on the gradient path and the plastic ones.

use eligo_plugin::rows::RowPieces;
use eligo_plugin::{Layout, ModelKind, Var};

/// A recurrent (LIF or ALIF) population.
pub struct Rec {
    /// Population index.
    pub pop: usize,
    /// Index of its first neuron among all recurrent neurons.
    pub offset: usize,
    /// Size.
    pub n: usize,
    /// Its pseudo-derivatives, read at every step.
    pub psi: Var,
}

/// Where a projection ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Post {
    /// Recurrent neurons from this index on.
    Rec(usize),
    /// The readout.
    Readout,
}

/// A projection BPTT reads: on the gradient path, plastic, or both.
pub struct Proj {
    /// Projection index.
    pub index: usize,
    /// Presynaptic population.
    pub pre: usize,
    /// First presynaptic neuron among the recurrent neurons, if the source is recurrent.
    pub pre_rec: Option<usize>,
    /// Postsynaptic side.
    pub post: Post,
    /// The host lets rules change it: BPTT computes its gradient.
    pub plastic: bool,
    /// Row offsets.
    pub indptr: Vec<u32>,
    /// Targets.
    pub targets: Vec<u32>,
    /// The rows' pieces (runs of consecutive targets) if every row is strictly increasing.
    pub pieces: Option<RowPieces>,
}

impl Proj {
    /// On the gradient path: from recurrent neurons to recurrent neurons or the readout.
    pub fn on_path(&self) -> bool {
        self.pre_rec.is_some()
    }
}

/// The network as BPTT sees it.
pub struct Net {
    /// Recurrent populations.
    pub rec: Vec<Rec>,
    /// Membrane decay per step, per recurrent neuron.
    pub alpha: Vec<f32>,
    /// Adaptation decay per step, per recurrent neuron.
    pub rho: Vec<f32>,
    /// Adaptation strength, per recurrent neuron (0 for LIF).
    pub beta: Vec<f32>,
    /// Threshold, per recurrent neuron.
    pub v_th: Vec<f32>,
    /// Readout population index.
    pub readout: usize,
    /// Number of outputs.
    pub n_out: usize,
    /// Readout decay per step.
    pub kappa: f32,
    /// Projections on the gradient path or plastic.
    pub projs: Vec<Proj>,
    /// Per population: its spikes are presynaptic to a plastic projection.
    pub recorded: Vec<bool>,
}

/// Constant `name` of population `p` (one value for all neurons), or why not.
fn constant(layout: &Layout, p: usize, name: &str) -> Result<f64, String> {
    let pop = layout.population(p);
    pop.constant_value(name).ok_or_else(|| {
        format!(
            "population '{}' (model {}) has no constant '{name}'",
            pop.name(),
            pop.model()
        )
    })
}

impl Net {
    /// Number of recurrent neurons.
    pub fn n_rec(&self) -> usize {
        self.alpha.len()
    }

    /// Read the layout; refuse networks whose gradient BPTT cannot compute exactly, saying why.
    pub fn new(layout: &Layout) -> Result<Net, String> {
        let n_pops = layout.populations().len();
        let readouts: Vec<usize> = (0..n_pops)
            .filter(|&p| layout.population(p).kind() == ModelKind::Readout)
            .collect();
        let [readout] = readouts[..] else {
            return Err(format!(
                "BPTT needs exactly one readout population, the network has {}",
                readouts.len()
            ));
        };
        let n_out = layout.population(readout).size();
        let kappa = constant(layout, readout, "kappa")? as f32;
        let mut net = Net {
            rec: Vec::new(),
            alpha: Vec::new(),
            rho: Vec::new(),
            beta: Vec::new(),
            v_th: Vec::new(),
            readout,
            n_out,
            kappa,
            projs: Vec::new(),
            recorded: vec![false; n_pops],
        };
        for p in 0..n_pops {
            let pop = layout.population(p);
            if !matches!(pop.kind(), ModelKind::Lif | ModelKind::Alif) {
                continue;
            }
            let n = pop.size();
            let psi = pop
                .variable("psi")
                .ok_or_else(|| format!("population '{}' exposes no psi", pop.name()))?;
            net.rec.push(Rec {
                pop: p,
                offset: net.alpha.len(),
                n,
                psi,
            });
            // the model's own (f32) constants: BPTT runs in f32 like the forward pass
            let alpha = constant(layout, p, "alpha")? as f32;
            let v_th = constant(layout, p, "v_th")? as f32;
            let rho = pop.constant_value("rho").unwrap_or(0.0) as f32;
            net.alpha.extend(std::iter::repeat_n(alpha, n));
            net.rho.extend(std::iter::repeat_n(rho, n));
            net.v_th.extend(std::iter::repeat_n(v_th, n));
            match pop.constant_per_neuron("beta") {
                Some(b) => net.beta.extend(b.iter().map(|&x| x as f32)),
                None => net.beta.extend(std::iter::repeat_n(0.0, n)),
            }
        }
        if net.rec.is_empty() {
            return Err(
                "BPTT needs a LIF or ALIF population to train, the network has none".into(),
            );
        }
        let rec_offset = |p: usize| net.rec.iter().find(|r| r.pop == p).map(|r| r.offset);
        let mut projs = Vec::new();
        for j in 0..layout.projections().len() {
            let pr = layout.projection(j);
            let pre_kind = layout.population(pr.pre()).kind();
            let post_name = layout.population(pr.post()).name();
            let pre_rec = rec_offset(pr.pre());
            let post = match (rec_offset(pr.post()), pr.post() == readout) {
                (Some(o), _) => Some(Post::Rec(o)),
                (None, true) => Some(Post::Readout),
                (None, false) => None,
            };
            if post.is_some() && pre_kind == ModelKind::LifExp {
                return Err(format!(
                    "projection '{}' reaches '{post_name}' from a lif_exp population: BPTT follows gradients only through LIF/ALIF populations; drop it or make its source a spike source",
                    pr.name()
                ));
            }
            if pr.plastic() && post.is_none() {
                return Err(format!(
                    "plastic projection '{}' ends on population '{post_name}', which is neither LIF/ALIF nor the readout; make it non-plastic ([host] plastic = [...])",
                    pr.name()
                ));
            }
            if pr.plastic() && post == Some(Post::Readout) && pre_rec.is_none() {
                return Err(format!(
                    "readout projection '{}' must come from a LIF/ALIF population",
                    pr.name()
                ));
            }
            let Some(post) = post else { continue };
            let on_path = pre_rec.is_some();
            if !(on_path || pr.plastic()) {
                continue;
            }
            if pr.delays().iter().any(|&d| d != 1) {
                return Err(format!(
                    "projection '{}' has delays other than 1 step; BPTT here needs delay_steps = 1 on every plastic projection and every projection from LIF/ALIF neurons to LIF/ALIF neurons or the readout",
                    pr.name()
                ));
            }
            if pr.plastic() {
                net.recorded[pr.pre()] = true;
            }
            projs.push(Proj {
                index: j,
                pre: pr.pre(),
                pre_rec,
                post,
                plastic: pr.plastic(),
                indptr: pr.indptr().to_vec(),
                targets: pr.targets().to_vec(),
                pieces: RowPieces::new(pr.indptr(), pr.targets()),
            });
        }
        net.projs = projs;
        Ok(net)
    }
}
