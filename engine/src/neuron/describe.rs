//! What a model tells recorders and learning rules about itself: its per-neuron state variables
//! and its constants. Each model declares both in its own file (`VARIABLES` and `constants`);
//! this module only dispatches on the model.

use super::{Block, ModelSpec, alif, lif, lif_exp, readout, source};

/// A per-neuron state variable (e.g. `v`, `psi`, `i_ex`), as recorders and rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    /// Name, as written in a recorder or asked for by a rule.
    pub name: &'static str,
    /// Unit (empty: dimensionless or arbitrary units).
    pub unit: &'static str,
    /// One-line description.
    pub doc: &'static str,
}

/// A constant the model computes with: one value for all neurons, or one per neuron.
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// Name.
    pub name: &'static str,
    /// Unit (empty: dimensionless).
    pub unit: &'static str,
    /// One-line description.
    pub doc: &'static str,
    /// The value (models compute in `f32`; the value is widened exactly).
    pub values: Vec<f64>,
}

impl Constant {
    /// A constant with one value for all neurons.
    pub fn one(name: &'static str, unit: &'static str, doc: &'static str, v: f64) -> Self {
        Constant {
            name,
            unit,
            doc,
            values: vec![v],
        }
    }
}

impl ModelSpec {
    /// The state variables the model exposes, in table order.
    pub fn state_variables(&self) -> &'static [Variable] {
        match self {
            ModelSpec::Lif(_) => lif::VARIABLES,
            ModelSpec::Alif(_) => alif::VARIABLES,
            ModelSpec::LifExp(_) => lif_exp::VARIABLES,
            ModelSpec::Readout(_) => readout::VARIABLES,
            _ => &[],
        }
    }

    /// Names of the state variables a recorder may sample.
    pub fn variables(&self) -> Vec<&'static str> {
        self.state_variables().iter().map(|v| v.name).collect()
    }

    /// The model's constants for step `dt_ms` and `size` neurons (parameters validated).
    pub fn constants(&self, dt_ms: f64, size: u32) -> Vec<Constant> {
        let ok = "validated before";
        match self {
            ModelSpec::Lif(p) => lif::constants(p, &p.derive(dt_ms).expect(ok)),
            ModelSpec::Alif(p) => alif::constants(p, &p.derive(dt_ms).expect(ok), size),
            ModelSpec::LifExp(p) => lif_exp::constants(p, &p.derive(dt_ms).expect(ok)),
            ModelSpec::Readout(p) => readout::constants(p, p.derive(dt_ms).expect(ok)),
            ModelSpec::Poisson(p) => source::poisson_constants(p, dt_ms),
            ModelSpec::SpikeTimes(_) | ModelSpec::External => Vec::new(),
        }
    }

    /// True if the population emits spikes.
    pub fn spiking(&self) -> bool {
        !matches!(self, ModelSpec::Readout(_))
    }
}

impl Block {
    /// Variable `k` (index into the model's [`ModelSpec::state_variables`]) of every neuron of
    /// the block, when the model stores it as an array.
    pub fn state_slice(&self, k: usize) -> Option<&[f32]> {
        match self {
            Block::Lif(b) => b.state_slice(k),
            Block::Alif(b) => b.state_slice(k),
            Block::LifExp(b) => b.state_slice(k),
            Block::Readout(b) => b.state_slice(k),
            _ => None,
        }
    }

    /// Variable `k` of neuron `i` (block-relative), stored or derived (e.g. `lif_exp`'s `v`).
    pub fn state_value(&self, k: usize, i: usize) -> f32 {
        match self {
            Block::LifExp(b) => b.state_value(k, i),
            Block::Readout(b) => b.state_value(k, i),
            _ => self.state_slice(k).map_or(0.0, |s| s[i]),
        }
    }

    /// Append variable `k` of every neuron of the block to `out`.
    pub fn extend_state(&self, k: usize, n: usize, out: &mut Vec<f32>) {
        match self.state_slice(k) {
            Some(s) => out.extend_from_slice(s),
            None => out.extend((0..n).map(|i| self.state_value(k, i))),
        }
    }

    /// The table of the block's model.
    fn table(&self) -> &'static [Variable] {
        match self {
            Block::Lif(_) => lif::VARIABLES,
            Block::Alif(_) => alif::VARIABLES,
            Block::LifExp(_) => lif_exp::VARIABLES,
            Block::Readout(_) => readout::VARIABLES,
            _ => &[],
        }
    }

    /// Value of state variable `var` of neuron `i` (block-relative), if the model has it.
    pub fn var(&self, var: &str, i: usize) -> Option<f32> {
        let k = self.table().iter().position(|v| v.name == var)?;
        Some(self.state_value(k, i))
    }
}
