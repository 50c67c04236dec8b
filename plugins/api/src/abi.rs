//! The `#[repr(C)]` boundary between the Eligo host and a rule library.
//!
//! A rule library exports one symbol, [`ENTRY_SYMBOL`], an `extern "C" fn() -> *const
//! Descriptor`. The host checks `abi_major` (must equal its own), `abi_minor` (the host must know
//! at least as much), and `struct_size` before it calls anything else. Fields are only ever
//! appended (minor bump); any other change bumps the major version.
//!
//! All views are pointer + length pairs valid for the duration of the call only. Memory is
//! freed by the side that allocated it: the rule's state by `destroy`, the host's arrays by the
//! host. Every function returns a [`Status`]; after a failure, `last_error` gives the message.

use std::ffi::{c_char, c_void};

/// Major version of the ABI: a library with another major is refused.
pub const ABI_MAJOR: u32 = 2;
/// Minor version: grows when fields are appended; a host accepts libraries with a minor up to
/// its own.
pub const ABI_MINOR: u32 = 0;
/// Name of the exported entry function.
pub const ENTRY_SYMBOL: &str = "eligo_plugin_entry";

/// Outcome of a call.
pub type Status = i32;
/// Success.
pub const STATUS_OK: Status = 0;
/// The rule returned an error (message in `last_error`).
pub const STATUS_ERROR: Status = 1;
/// The rule panicked (message in `last_error`).
pub const STATUS_PANIC: Status = 2;

/// Read-only view of `len` values.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct View<T> {
    /// First element (may dangle when `len == 0`).
    pub ptr: *const T,
    /// Number of elements.
    pub len: usize,
}

/// Mutable view of `len` values.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ViewMut<T> {
    /// First element (may dangle when `len == 0`).
    pub ptr: *mut T,
    /// Number of elements.
    pub len: usize,
}

/// How a rule's output is used ([`Descriptor::output`]): gradients of a loss, accumulated into
/// buffers laid out like the weights, which the host's optimizer applies after each batch.
pub const OUTPUT_GRADIENT: u32 = 0;
/// Direct weight changes, reported after each step as a list of [`Change`]s that the host applies
/// at once (with its bounds).
pub const OUTPUT_DIRECT: u32 = 1;

/// Kinds of parameter ([`ParamInfo::kind`]): a number in `[min, max]`.
pub const PARAM_NUMBER: u32 = 0;
/// One of several names (`choices`); the value's `number` is the index, `text` the name.
pub const PARAM_CHOICE: u32 = 1;
/// Free text.
pub const PARAM_STRING: u32 = 2;
/// The name of a population of the network; `number` is its index.
pub const PARAM_POPULATION: u32 = 3;
/// The name of a projection of the network; `number` is its index.
pub const PARAM_PROJECTION: u32 = 4;
/// The name of a modulator channel of the run ([`Layout::modulators`]); `number` is its index.
pub const PARAM_MODULATOR: u32 = 5;

/// One entry of a rule's parameter table.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ParamInfo {
    /// Name (NUL-terminated).
    pub name: *const c_char,
    /// Unit, e.g. `ms` (NUL-terminated, may be empty).
    pub unit: *const c_char,
    /// One-line description (NUL-terminated).
    pub doc: *const c_char,
    /// One of the `PARAM_*` constants. A host refuses a library with a kind it does not know.
    pub kind: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Default value of a number (for a choice, the index of the default name).
    pub default: f64,
    /// Smallest allowed number.
    pub min: f64,
    /// Largest allowed number.
    pub max: f64,
    /// For a choice parameter, the names separated by `|`; else null.
    pub choices: *const c_char,
    /// Default text of a string or name parameter (NUL-terminated; empty: the user must give
    /// one); null for numbers and choices.
    pub default_text: *const c_char,
}

/// The value of one parameter, as the host passes it to `create` (in table order).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ParamValue {
    /// The number; for a choice the index of the name, for a population, projection or
    /// modulator name its index; 0 for a string.
    pub number: f64,
    /// The text of a string, choice or name (NUL-terminated); empty for a number.
    pub text: *const c_char,
}

/// Model kinds ([`PopulationInfo::kind`]), a hint for rules written against known models; the
/// model's name is what identifies it. New models get new values in a minor version: a rule
/// must treat a value it does not know as "some other model", never assume it is one of these.
pub const MODEL_LIF: u32 = 0;
/// e-prop ALIF.
pub const MODEL_ALIF: u32 = 1;
/// Current-based LIF with exponential currents.
pub const MODEL_LIF_EXP: u32 = 2;
/// Leaky readout.
pub const MODEL_READOUT: u32 = 3;
/// A spike source (Poisson, spike times, external, clamped).
pub const MODEL_SOURCE: u32 = 4;

/// A per-neuron state variable a model exposes (e.g. `v`, `psi`, `i_ex`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VariableInfo {
    /// Name (NUL-terminated).
    pub name: *const c_char,
    /// Unit (NUL-terminated, may be empty).
    pub unit: *const c_char,
    /// One-line description (NUL-terminated).
    pub doc: *const c_char,
}

/// A constant of a model (e.g. `alpha`, `v_th`, `beta`): one value for every neuron, or one per
/// neuron.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ConstantInfo {
    /// Name (NUL-terminated).
    pub name: *const c_char,
    /// Unit (NUL-terminated, may be empty).
    pub unit: *const c_char,
    /// One-line description (NUL-terminated).
    pub doc: *const c_char,
    /// The value the model computes with (its `f32` values widened exactly): length 1 (all
    /// neurons) or the population size.
    pub values: View<f64>,
}

/// A population as the host tells it, the same way for every model.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PopulationInfo {
    /// Name (NUL-terminated).
    pub name: *const c_char,
    /// Model name as written in a network description, e.g. `lif_exp` (NUL-terminated).
    pub model: *const c_char,
    /// One of the `MODEL_*` constants, or a value this library does not know.
    pub kind: u32,
    /// Number of neurons.
    pub size: u32,
    /// 1 if the population emits spikes (0 for readouts).
    pub spiking: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Per-neuron state variables the model exposes; a rule asks for the ones it reads when it
    /// is created ([`Descriptor::state_requests`]) and sees them at every step.
    pub variables: View<VariableInfo>,
    /// The model's constants.
    pub constants: View<ConstantInfo>,
}

/// A projection as the host tells it: compressed rows by presynaptic neuron.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ProjectionInfo {
    /// Name (NUL-terminated).
    pub name: *const c_char,
    /// Presynaptic population index.
    pub pre: u32,
    /// Postsynaptic population index.
    pub post: u32,
    /// Row offsets (`n_pre + 1`).
    pub indptr: View<u32>,
    /// Targets (post index within its population), ascending within a row.
    pub targets: View<u32>,
    /// Delay of each synapse in steps, or one value for all.
    pub delays: View<u16>,
    /// True if the host lets rules change this projection.
    pub plastic: u32,
}

/// The network a rule instance works on.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Time step (ms).
    pub dt_ms: f64,
    /// Steps per sequence when known (training), else 0.
    pub seq_len: u64,
    /// Populations.
    pub populations: View<PopulationInfo>,
    /// Projections.
    pub projections: View<ProjectionInfo>,
    /// Seed for the rule's own random draws.
    pub seed: u64,
    /// Names of the run's modulator channels (NUL-terminated), in the order of
    /// [`StepView::modulators`].
    pub modulators: View<*const c_char>,
}

/// One population during one step.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PopulationStep {
    /// Indices (within the population) of the neurons that spiked in this step, ascending.
    pub spikes: View<u32>,
    /// One entry per variable of [`PopulationInfo::variables`]: every neuron's value after the
    /// step for the variables the rule requested, empty for the others.
    pub state: View<View<f32>>,
}

/// What a rule sees at the end of step `step`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct StepView {
    /// Step index within the run (or sequence).
    pub step: u64,
    /// One entry per population.
    pub populations: View<PopulationStep>,
    /// Current weights of every projection.
    pub weights: View<View<f32>>,
    /// Readout error of this step when training (`y - y*` or `pi - pi*`, all readouts in
    /// population order), else empty.
    pub error: View<f32>,
    /// This step's value of every modulator channel, in [`Layout::modulators`] order.
    pub modulators: View<f32>,
}

/// What a rule sees at the end of a sequence.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SequenceView {
    /// Number of steps of the sequence.
    pub steps: u64,
    /// Current weights of every projection.
    pub weights: View<View<f32>>,
    /// Readout errors of every step, `steps × n_readout`, when training, else empty.
    pub errors: View<f32>,
}

/// What a rule sees at the end of a batch of sequences.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct BatchView {
    /// Number of sequences in the batch.
    pub sequences: u64,
    /// Steps per sequence.
    pub steps: u64,
    /// Per population: each neuron's mean number of spikes per step over the whole batch
    /// (empty for populations that do not spike).
    pub rates: View<View<f32>>,
    /// Current weights of every projection.
    pub weights: View<View<f32>>,
}

/// Gradient buffers a rule adds into (zeroed by the host before each batch).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Grads {
    /// One per projection, laid out like its weights.
    pub weights: View<ViewMut<f32>>,
    /// One per population: readout biases (empty for other populations).
    pub biases: View<ViewMut<f32>>,
}

/// A direct weight change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    /// Projection index.
    pub projection: u32,
    /// Synapse index within the projection.
    pub synapse: u32,
    /// Amount added to the weight.
    pub delta: f32,
}

/// A variable a rule reads at every step: variable `variable` of population `population`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateRequest {
    /// Population index.
    pub population: u32,
    /// Index into the population's [`PopulationInfo::variables`].
    pub variable: u32,
}

/// A named scalar a rule reports (a diagnostic).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Diagnostic {
    /// Name (NUL-terminated).
    pub name: *const c_char,
    /// Value.
    pub value: f64,
}

/// Scopes of [`Descriptor::take_diagnostics`]: called after each `on_sequence_end`.
pub const SCOPE_SEQUENCE: u32 = 0;
/// Called after each `on_batch_end`.
pub const SCOPE_BATCH: u32 = 1;

/// Opaque rule state.
pub type State = *mut c_void;

/// The table a rule library exports.
///
/// The lifecycle of an instance: `create` (then `state_requests`) → for each batch: for each
/// sequence: `on_sequence_start` → `on_step` (then `take_changes`) for every step →
/// `on_sequence_end` (then `take_diagnostics(SCOPE_SEQUENCE)`) → `on_batch_end` (then
/// `take_diagnostics(SCOPE_BATCH)`); `save_state` / `load_state` between batches (checkpoints);
/// `destroy`.
#[repr(C)]
pub struct Descriptor {
    /// Must equal the host's [`ABI_MAJOR`].
    pub abi_major: u32,
    /// At most the host's [`ABI_MINOR`].
    pub abi_minor: u32,
    /// `size_of::<Descriptor>()` as the library was built.
    pub struct_size: u32,
    /// How the output is used: [`OUTPUT_GRADIENT`] or [`OUTPUT_DIRECT`].
    pub output: u32,
    /// "eligo-plugin X.Y.Z; rustc ..." (NUL-terminated).
    pub build_signature: *const c_char,
    /// Rule name (NUL-terminated).
    pub name: *const c_char,
    /// Rule version (NUL-terminated).
    pub version: *const c_char,
    /// Parameter table.
    pub params: View<ParamInfo>,
    /// Message of the last failure on this thread (NUL-terminated, valid until the next call).
    pub last_error: extern "C" fn() -> *const c_char,
    /// Create an instance for `layout` with parameter values in table order.
    pub create:
        extern "C" fn(layout: *const Layout, params: View<ParamValue>, out: *mut State) -> Status,
    /// Destroy an instance.
    pub destroy: extern "C" fn(state: State),
    /// The state variables the instance reads at every step (rule-owned, valid until the next
    /// call); asked once, after `create`.
    pub state_requests: extern "C" fn(state: State, out: *mut View<StateRequest>) -> Status,
    /// A sequence (or run) starts: reset per-sequence traces.
    pub on_sequence_start: extern "C" fn(state: State) -> Status,
    /// End of a step.
    pub on_step: extern "C" fn(state: State, view: *const StepView, grads: *const Grads) -> Status,
    /// End of a sequence.
    pub on_sequence_end:
        extern "C" fn(state: State, view: *const SequenceView, grads: *const Grads) -> Status,
    /// End of a batch, before the host applies the gradients: batch-level terms such as
    /// firing-rate regularization.
    pub on_batch_end:
        extern "C" fn(state: State, view: *const BatchView, grads: *const Grads) -> Status,
    /// Direct changes of the last step (rule-owned, valid until the next call).
    pub take_changes: extern "C" fn(state: State, out: *mut View<Change>) -> Status,
    /// The diagnostics of the sequence or batch that just ended (`scope`: a `SCOPE_*`;
    /// rule-owned, valid until the next call).
    pub take_diagnostics:
        extern "C" fn(state: State, scope: u32, out: *mut View<Diagnostic>) -> Status,
    /// Serialize the rule's own state (rule-owned bytes, valid until the next call).
    pub save_state: extern "C" fn(state: State, out: *mut View<u8>) -> Status,
    /// Restore state written by `save_state`.
    pub load_state: extern "C" fn(state: State, bytes: View<u8>) -> Status,
}

/// Size of the descriptor of each minor version: a library of minor `m` has at least this.
pub fn descriptor_size(_minor: u32) -> usize {
    std::mem::size_of::<Descriptor>()
}

// SAFETY: a descriptor is immutable static data (pointers to static strings and tables, and
// function pointers); sharing it between threads cannot race.
unsafe impl Sync for Descriptor {}
// SAFETY: as above; the parameter table is static and read-only.
unsafe impl Sync for ParamInfo {}

impl std::fmt::Debug for Descriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Descriptor")
            .field("abi_major", &self.abi_major)
            .field("abi_minor", &self.abi_minor)
            .field("struct_size", &self.struct_size)
            .field("output", &self.output)
            .finish_non_exhaustive()
    }
}
