//! # eligo-plugin
//!
//! Write an Eligo learning rule as a shared library. Implement [`Rule`] for a type, call
//! [`export_rule!`] once, build the crate as a `cdylib`, and run it with
//! `eligo simulate net.toml --rule path/to/libmyrule.so`. This crate holds the whole contract
//! between the host and a rule: the `#[repr(C)]` [`abi`] (versioned, checked at load time), and
//! the safe views rule authors use. It depends on nothing, so a rule builds in seconds.
//!
//! ```
//! use eligo_plugin::{Change, Layout, OutputKind, Param, ParamValues, Rule, Step, Grads};
//!
//! /// Every presynaptic spike strengthens its outgoing synapses by `eta`.
//! struct PreBoost { eta: f32, plastic: Vec<usize>, changes: Vec<Change> }
//!
//! impl Rule for PreBoost {
//!     const NAME: &'static str = "pre_boost";
//!     const VERSION: &'static str = "0.1.0";
//!     const OUTPUT: OutputKind = OutputKind::Direct;
//!     fn params() -> Vec<Param> {
//!         vec![Param::number("eta", "", "increase per presynaptic spike", 0.01, 0.0, 1.0)]
//!     }
//!     fn create(layout: &Layout, p: &ParamValues) -> Result<Self, String> {
//!         let plastic = (0..layout.projections().len())
//!             .filter(|&j| layout.projection(j).plastic()).collect();
//!         Ok(PreBoost { eta: p.get("eta") as f32, plastic, changes: vec![] })
//!     }
//!     fn on_step(&mut self, step: &Step, _: &mut Grads) -> Result<(), String> {
//!         self.changes.clear();
//!         Ok(())
//!     }
//!     fn changes(&self) -> &[Change] { &self.changes }
//! }
//! eligo_plugin::export_rule!(PreBoost);
//! ```
#![deny(missing_docs)]

pub mod abi;

/// The README's example, compiled and run as a doc test so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;
mod glue;
pub mod rows;
mod views;

pub use abi::{Change, ModelKind, OutputKind};
pub use views::{Batch, Grads, Layout, Population, PopulationStep, Projection, Sequence, Step};

#[doc(hidden)]
pub use glue::descriptor;

/// `eligo-plugin X.Y.Z; rustc A.B.C (...)`: recorded in every library and shown by the host
/// when versions disagree.
pub const BUILD_SIGNATURE: &str = concat!(
    "eligo-plugin ",
    env!("CARGO_PKG_VERSION"),
    "; ",
    env!("ELIGO_RUSTC_VERSION")
);

/// A parameter of a rule: a number in `[min, max]`, or one of several named choices.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Name as written in the rule config.
    pub name: &'static str,
    /// Unit (may be empty).
    pub unit: &'static str,
    /// One-line description.
    pub doc: &'static str,
    /// Default value (for a choice, the index of the default name).
    pub default: f64,
    /// Smallest allowed value.
    pub min: f64,
    /// Largest allowed value.
    pub max: f64,
    /// For a choice parameter, the allowed names.
    pub choices: Option<&'static [&'static str]>,
}

impl Param {
    /// A number parameter.
    pub fn number(
        name: &'static str,
        unit: &'static str,
        doc: &'static str,
        default: f64,
        min: f64,
        max: f64,
    ) -> Self {
        Param {
            name,
            unit,
            doc,
            default,
            min,
            max,
            choices: None,
        }
    }

    /// A choice parameter; `default` is one of `choices`.
    pub fn choice(
        name: &'static str,
        doc: &'static str,
        choices: &'static [&'static str],
        default: &'static str,
    ) -> Self {
        let d = choices.iter().position(|c| *c == default).unwrap_or(0);
        Param {
            name,
            unit: "",
            doc,
            default: d as f64,
            min: 0.0,
            max: (choices.len().max(1) - 1) as f64,
            choices: Some(choices),
        }
    }
}

/// Parameter values handed to [`Rule::create`], already checked by the host against the table.
#[derive(Debug, Clone)]
pub struct ParamValues {
    names: Vec<&'static str>,
    values: Vec<f64>,
    choices: Vec<Option<&'static [&'static str]>>,
}

impl ParamValues {
    /// Value of a number parameter (the index for a choice). Panics on a name not in the table:
    /// that is a bug in the rule, caught at the boundary and reported.
    pub fn get(&self, name: &str) -> f64 {
        match self.names.iter().position(|n| *n == name) {
            Some(i) => self.values[i],
            None => panic!("rule asked for parameter '{name}', which is not in its table"),
        }
    }

    /// Name of the chosen value of a choice parameter.
    pub fn choice(&self, name: &str) -> &'static str {
        let i = self.names.iter().position(|n| *n == name);
        match i.and_then(|i| self.choices[i].map(|c| (c, self.values[i] as usize))) {
            Some((c, k)) => c[k.min(c.len() - 1)],
            None => panic!("rule asked for choice parameter '{name}', which is not in its table"),
        }
    }
}

/// A learning rule. See the crate docs for an example and `docs/writing-a-rule.md` for a guide.
///
/// Hooks run once per step with all of the step's spikes, never once per synapse: loops over
/// synapses belong inside the rule. Return `Err` with a message for a user-facing failure; a
/// panic is caught at the boundary and reported too, with the weights left as they were.
pub trait Rule: Sized + 'static {
    /// Name, e.g. `stdp`.
    const NAME: &'static str;
    /// Version of the rule.
    const VERSION: &'static str;
    /// Gradients (applied by the host's optimizer after each batch) or direct changes.
    const OUTPUT: OutputKind;

    /// The parameter table.
    fn params() -> Vec<Param>;

    /// Build an instance for a network.
    fn create(layout: &Layout, params: &ParamValues) -> Result<Self, String>;

    /// A sequence (a simulation run, or one training sample) starts.
    fn on_sequence_start(&mut self) -> Result<(), String> {
        Ok(())
    }

    /// End of a step: this step's spikes, neuron state and (training) readout error.
    fn on_step(&mut self, step: &Step, grads: &mut Grads) -> Result<(), String>;

    /// End of a sequence (where event-driven rules compute their gradients).
    fn on_sequence_end(&mut self, _seq: &Sequence, _grads: &mut Grads) -> Result<(), String> {
        Ok(())
    }

    /// End of a batch of sequences, before the host applies the gradients: batch-level terms
    /// (e.g. a firing-rate regularizer that needs the rates over the whole batch).
    fn on_batch_end(&mut self, _batch: &Batch, _grads: &mut Grads) -> Result<(), String> {
        Ok(())
    }

    /// Direct changes of the last step ([`OutputKind::Direct`] rules).
    fn changes(&self) -> &[Change] {
        &[]
    }

    /// The rule's own state as bytes, for checkpoints.
    fn save_state(&self) -> Vec<u8> {
        Vec::new()
    }

    /// Restore what [`Rule::save_state`] wrote.
    fn load_state(&mut self, _bytes: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

/// Export `$rule` (a type implementing [`Rule`]) as this library's Eligo plugin.
#[macro_export]
macro_rules! export_rule {
    ($rule:ty) => {
        /// Entry point of this Eligo plugin.
        #[unsafe(no_mangle)]
        pub extern "C" fn eligo_plugin_entry() -> *const $crate::abi::Descriptor {
            static DESCRIPTOR: ::std::sync::OnceLock<&'static $crate::abi::Descriptor> =
                ::std::sync::OnceLock::new();
            *DESCRIPTOR.get_or_init($crate::descriptor::<$rule>)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_version_and_layout_are_pinned() {
        // Changing any of these breaks every built plugin: bump ABI_MAJOR (or, for appended
        // fields, ABI_MINOR) and update this test on purpose.
        assert_eq!((abi::ABI_MAJOR, abi::ABI_MINOR), (1, 1));
        assert_eq!(std::mem::size_of::<abi::Descriptor>(), 136);
        assert_eq!(abi::descriptor_size(0), 128);
        assert_eq!(std::mem::size_of::<abi::BatchView>(), 48);
        assert_eq!(std::mem::size_of::<abi::View<f32>>(), 16);
        assert_eq!(std::mem::size_of::<abi::Change>(), 12);
        assert_eq!(std::mem::size_of::<abi::ParamInfo>(), 56);
        assert_eq!(std::mem::size_of::<abi::PopulationInfo>(), 72);
        assert_eq!(std::mem::size_of::<abi::ProjectionInfo>(), 72);
        assert_eq!(std::mem::size_of::<abi::StepView>(), 56);
        assert_eq!(abi::ENTRY_SYMBOL, "eligo_plugin_entry");
    }

    #[test]
    fn choice_params() {
        let p = Param::choice("mode", "", &["event", "online"], "online");
        assert_eq!((p.default, p.max), (1.0, 1.0));
    }
}
