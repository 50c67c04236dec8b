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
pub mod online_net;
pub mod rows;
mod views;

pub use abi::Change;
pub use views::{Batch, Grads, Layout, ModelKind, Population, Projection, Sequence, Step, Var};

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

/// How a rule's output is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Gradients of a loss, accumulated into buffers laid out like the weights; the host's
    /// optimizer applies them after each batch.
    Gradient,
    /// Direct weight changes, reported after each step as a list of [`Change`]s that the host
    /// applies at once (with its bounds).
    Direct,
}

impl OutputKind {
    /// The ABI value ([`abi::OUTPUT_GRADIENT`] or [`abi::OUTPUT_DIRECT`]).
    pub fn raw(self) -> u32 {
        match self {
            OutputKind::Gradient => abi::OUTPUT_GRADIENT,
            OutputKind::Direct => abi::OUTPUT_DIRECT,
        }
    }

    /// The kind of an ABI value, if it is one this crate knows.
    pub fn from_raw(k: u32) -> Option<Self> {
        match k {
            abi::OUTPUT_GRADIENT => Some(OutputKind::Gradient),
            abi::OUTPUT_DIRECT => Some(OutputKind::Direct),
            _ => None,
        }
    }
}

/// What kind of value a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A number in `[min, max]`.
    Number,
    /// One of several names.
    Choice,
    /// Free text.
    String,
    /// The name of a population (checked by the host against the network).
    Population,
    /// The name of a projection (checked by the host against the network).
    Projection,
    /// The name of a modulator channel of the run (checked by the host).
    Modulator,
}

impl ParamKind {
    /// The ABI value (`abi::PARAM_*`).
    pub fn raw(self) -> u32 {
        match self {
            ParamKind::Number => abi::PARAM_NUMBER,
            ParamKind::Choice => abi::PARAM_CHOICE,
            ParamKind::String => abi::PARAM_STRING,
            ParamKind::Population => abi::PARAM_POPULATION,
            ParamKind::Projection => abi::PARAM_PROJECTION,
            ParamKind::Modulator => abi::PARAM_MODULATOR,
        }
    }

    /// The kind of an ABI value, if it is one this crate knows.
    pub fn from_raw(k: u32) -> Option<Self> {
        Some(match k {
            abi::PARAM_NUMBER => ParamKind::Number,
            abi::PARAM_CHOICE => ParamKind::Choice,
            abi::PARAM_STRING => ParamKind::String,
            abi::PARAM_POPULATION => ParamKind::Population,
            abi::PARAM_PROJECTION => ParamKind::Projection,
            abi::PARAM_MODULATOR => ParamKind::Modulator,
            _ => return None,
        })
    }
}

/// A parameter of a rule: a number in `[min, max]`, one of several named choices, a string, or
/// the name of a population, projection or modulator channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Name as written in the rule config.
    pub name: &'static str,
    /// What kind of value it takes.
    pub kind: ParamKind,
    /// Unit (may be empty).
    pub unit: &'static str,
    /// One-line description.
    pub doc: &'static str,
    /// Default value of a number (for a choice, the index of the default name).
    pub default: f64,
    /// Smallest allowed number.
    pub min: f64,
    /// Largest allowed number.
    pub max: f64,
    /// For a choice parameter, the allowed names.
    pub choices: Option<&'static [&'static str]>,
    /// Default of a string or name parameter (empty: the user must give one).
    pub default_text: &'static str,
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
            kind: ParamKind::Number,
            unit,
            doc,
            default,
            min,
            max,
            choices: None,
            default_text: "",
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
            kind: ParamKind::Choice,
            unit: "",
            doc,
            default: d as f64,
            min: 0.0,
            max: (choices.len().max(1) - 1) as f64,
            choices: Some(choices),
            default_text: "",
        }
    }

    fn text(name: &'static str, kind: ParamKind, doc: &'static str, default: &'static str) -> Self {
        Param {
            name,
            kind,
            unit: "",
            doc,
            default: 0.0,
            min: 0.0,
            max: 0.0,
            choices: None,
            default_text: default,
        }
    }

    /// A free-text parameter (`default` may be empty).
    pub fn string(name: &'static str, doc: &'static str, default: &'static str) -> Self {
        Param::text(name, ParamKind::String, doc, default)
    }

    /// The name of a population; the host checks it against the network and passes its index
    /// too ([`ParamValues::population`]). An empty `default` makes it required.
    pub fn population(name: &'static str, doc: &'static str, default: &'static str) -> Self {
        Param::text(name, ParamKind::Population, doc, default)
    }

    /// The name of a projection, checked like [`Param::population`].
    pub fn projection(name: &'static str, doc: &'static str, default: &'static str) -> Self {
        Param::text(name, ParamKind::Projection, doc, default)
    }

    /// The name of a modulator channel of the run (a reward, a neuromodulator trace, ...),
    /// checked like [`Param::population`]; read its value at each step with
    /// [`Step::modulator`] and the index from [`ParamValues::modulator`].
    pub fn modulator(name: &'static str, doc: &'static str, default: &'static str) -> Self {
        Param::text(name, ParamKind::Modulator, doc, default)
    }
}

/// Parameter values handed to [`Rule::create`], already checked by the host against the table
/// (and names against the network).
#[derive(Debug, Clone)]
pub struct ParamValues {
    names: Vec<&'static str>,
    kinds: Vec<ParamKind>,
    numbers: Vec<f64>,
    texts: Vec<String>,
}

impl ParamValues {
    fn find(&self, name: &str, kind: &[ParamKind], what: &str) -> usize {
        match self.names.iter().position(|n| *n == name) {
            Some(i) if kind.contains(&self.kinds[i]) => i,
            Some(i) => panic!(
                "rule asked for {what} parameter '{name}', which its table declares as {:?}",
                self.kinds[i]
            ),
            None => panic!("rule asked for parameter '{name}', which is not in its table"),
        }
    }

    /// Value of a number parameter (the index for a choice or a name). Panics on a name not in
    /// the table: that is a bug in the rule, caught at the boundary and reported.
    pub fn get(&self, name: &str) -> f64 {
        match self.names.iter().position(|n| *n == name) {
            Some(i) => self.numbers[i],
            None => panic!("rule asked for parameter '{name}', which is not in its table"),
        }
    }

    /// Name of the chosen value of a choice parameter.
    pub fn choice(&self, name: &str) -> &str {
        &self.texts[self.find(name, &[ParamKind::Choice], "choice")]
    }

    /// Text of a string (or name, or choice) parameter.
    pub fn text(&self, name: &str) -> &str {
        match self.names.iter().position(|n| *n == name) {
            Some(i) => &self.texts[i],
            None => panic!("rule asked for parameter '{name}', which is not in its table"),
        }
    }

    /// Index of the population named by a population parameter.
    pub fn population(&self, name: &str) -> usize {
        self.numbers[self.find(name, &[ParamKind::Population], "population")] as usize
    }

    /// Index of the projection named by a projection parameter.
    pub fn projection(&self, name: &str) -> usize {
        self.numbers[self.find(name, &[ParamKind::Projection], "projection")] as usize
    }

    /// Index of the modulator channel named by a modulator parameter.
    pub fn modulator(&self, name: &str) -> usize {
        self.numbers[self.find(name, &[ParamKind::Modulator], "modulator")] as usize
    }
}

/// When the host collects a rule's diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// After each sequence (training: averaged over the batch's sequences).
    Sequence,
    /// After each batch (`simulate`: once, at the end of the run).
    Batch,
}

/// Named scalars a rule reports from [`Rule::diagnostics`]; the host writes them to
/// `metrics.jsonl` (training, one record per iteration) and `summary.json`.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub(crate) entries: Vec<(String, f64)>,
}

impl Diagnostics {
    /// Report `value` under `name` (a later value of the same name replaces it).
    pub fn put(&mut self, name: &str, value: f64) {
        match self.entries.iter_mut().find(|(n, _)| n == name) {
            Some(e) => e.1 = value,
            None => self.entries.push((name.to_string(), value)),
        }
    }
}

/// A learning rule. See the crate docs for an example and `docs/writing-a-rule.md` for a guide.
///
/// The host calls the hooks in this order:
/// 1. [`Rule::create`], once; ask for the state variables you read here
///    ([`Population::variable`]);
/// 2. for each batch (in `simulate`, one batch of one sequence):
///    1. for each sequence: [`Rule::on_sequence_start`]; [`Rule::on_step`] for every step
///       (then [`Rule::changes`] for a direct rule); [`Rule::on_sequence_end`]; then
///       [`Rule::diagnostics`] with [`Scope::Sequence`];
///    2. [`Rule::on_batch_end`], then [`Rule::diagnostics`] with [`Scope::Batch`];
///    3. between batches, [`Rule::save_state`] / [`Rule::load_state`] for checkpoints;
/// 3. the instance is dropped.
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

    /// End of a step: this step's spikes, the state variables asked for in `create`, the
    /// modulator channels and (training) the readout error.
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

    /// Report diagnostics (named scalars such as a mean trace or the number of changes) for the
    /// sequence or batch that just ended; called after [`Rule::on_sequence_end`] and after
    /// [`Rule::on_batch_end`].
    fn diagnostics(&mut self, _scope: Scope, _out: &mut Diagnostics) {}

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
        use std::mem::size_of;
        assert_eq!((abi::ABI_MAJOR, abi::ABI_MINOR), (2, 0));
        let sizes = [
            size_of::<abi::Descriptor>(),
            size_of::<abi::BatchView>(),
            size_of::<abi::View<f32>>(),
            size_of::<abi::Change>(),
            size_of::<abi::ParamInfo>(),
            size_of::<abi::ParamValue>(),
            size_of::<abi::PopulationInfo>(),
            size_of::<abi::VariableInfo>(),
            size_of::<abi::ConstantInfo>(),
            size_of::<abi::ProjectionInfo>(),
            size_of::<abi::Layout>(),
            size_of::<abi::StepView>(),
            size_of::<abi::StateRequest>(),
            size_of::<abi::Diagnostic>(),
        ];
        assert_eq!(
            sizes,
            [152, 48, 16, 12, 72, 16, 64, 24, 40, 72, 72, 72, 8, 16]
        );
        assert_eq!(abi::ENTRY_SYMBOL, "eligo_plugin_entry");
    }

    #[test]
    fn unknown_kinds_are_values_not_undefined_behaviour() {
        // a population of a model newer than this crate: its kind is reported, not trusted
        let name = c"future";
        let info = abi::PopulationInfo {
            name: name.as_ptr(),
            model: name.as_ptr(),
            kind: 99,
            size: 3,
            spiking: 1,
            reserved: 0,
            variables: abi::View::of(&[]),
            constants: abi::View::of(&[]),
        };
        let pops = [info];
        let raw = abi::Layout {
            dt_ms: 1.0,
            seq_len: 0,
            populations: abi::View::of(&pops),
            projections: abi::View::of(&[]),
            seed: 0,
            modulators: abi::View::of(&[]),
        };
        // SAFETY: every view points into locals that outlive `layout`.
        let layout = unsafe { Layout::from_raw(&raw) };
        let p = layout.population(0);
        assert_eq!(p.kind(), ModelKind::Other(99));
        assert_eq!((p.model(), p.size()), ("future", 3));
        assert!(p.variable("v").is_none() && p.constant("alpha").is_none());
        assert_eq!(ModelKind::from_raw(abi::MODEL_LIF_EXP), ModelKind::LifExp);
        assert_eq!(OutputKind::from_raw(7), None);
        assert_eq!(ParamKind::from_raw(9), None);
    }

    #[test]
    fn choice_params() {
        let p = Param::choice("mode", "", &["event", "online"], "online");
        assert_eq!((p.default, p.max), (1.0, 1.0));
    }
}
