//! A projection: the synapses from one population to another, as compressed sparse rows by
//! presynaptic neuron (row `i` lists the targets of neuron `i`, ascending).
//!
//! Rows sorted by target let a thread that owns a contiguous range of target neurons find its
//! part of every row as one contiguous sub-range (see `sim::partition`). Weights are one `f32`
//! array in row order: the layout learning rules and weight files use.

/// Which input channel of the target a projection feeds (matters for `lif_exp`; the e-prop
/// neurons sum both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receptor {
    /// Excitatory channel (0).
    Exc = 0,
    /// Inhibitory channel (1).
    Inh = 1,
}

/// Transmission delays of a projection, in steps (each >= 1).
#[derive(Debug, Clone, PartialEq)]
pub enum Delays {
    /// Every synapse has the same delay: no per-synapse storage.
    Uniform(u16),
    /// One delay per synapse, in row order.
    PerSynapse(Vec<u16>),
}

impl Delays {
    /// The largest delay.
    pub fn max(&self) -> u16 {
        match self {
            Delays::Uniform(d) => *d,
            Delays::PerSynapse(v) => v.iter().copied().max().unwrap_or(1),
        }
    }

    /// The smallest delay of a synapse (`None`: one per synapse and no synapse).
    pub fn min(&self) -> Option<u16> {
        match self {
            Delays::Uniform(d) => Some(*d),
            Delays::PerSynapse(v) => v.iter().copied().min(),
        }
    }
}

/// The synapses from population `pre` to population `post`.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// Name used in messages and output files (`pre->post` unless given).
    pub name: String,
    /// Index of the presynaptic population.
    pub pre: usize,
    /// Index of the postsynaptic population.
    pub post: usize,
    /// Input channel at the target.
    pub receptor: Receptor,
    /// Row offsets, `n_pre + 1` entries.
    pub indptr: Vec<u32>,
    /// Target index within the post population, per synapse; ascending within a row.
    pub targets: Vec<u32>,
    /// Weight per synapse.
    pub weights: Vec<f32>,
    /// Delay(s) in steps.
    pub delays: Delays,
}

impl Projection {
    /// Number of synapses.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// True if there is no synapse.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Number of presynaptic neurons (rows).
    pub fn n_pre(&self) -> usize {
        self.indptr.len() - 1
    }

    /// The synapse index range of row `i`.
    pub fn row(&self, i: usize) -> std::ops::Range<usize> {
        self.indptr[i] as usize..self.indptr[i + 1] as usize
    }

    /// Build from `(pre, post, weight, delay)` tuples in any order; rows end up sorted by
    /// target (stable for repeated pairs).
    pub fn from_triples(
        name: String,
        (pre, post): (usize, usize),
        n_pre: usize,
        receptor: Receptor,
        mut syn: Vec<(u32, u32, f32, u16)>,
    ) -> Projection {
        syn.sort_by_key(|s| (s.0, s.1));
        let mut indptr = vec![0u32; n_pre + 1];
        for s in &syn {
            indptr[s.0 as usize + 1] += 1;
        }
        for i in 0..n_pre {
            indptr[i + 1] += indptr[i];
        }
        let d0 = syn.first().map_or(1, |s| s.3);
        let delays = if syn.iter().all(|s| s.3 == d0) {
            Delays::Uniform(d0)
        } else {
            Delays::PerSynapse(syn.iter().map(|s| s.3).collect())
        };
        Projection {
            name,
            pre,
            post,
            receptor,
            indptr,
            targets: syn.iter().map(|s| s.1).collect(),
            weights: syn.iter().map(|s| s.2).collect(),
            delays,
        }
    }

    /// Bytes used by the synapse arrays (row offsets, targets, weights, delays).
    pub fn bytes(&self) -> usize {
        let d = match &self.delays {
            Delays::Uniform(_) => 0,
            Delays::PerSynapse(v) => v.len() * 2,
        };
        self.indptr.len() * 4 + self.targets.len() * 8 + d
    }
}
