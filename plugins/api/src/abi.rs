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
pub const ABI_MAJOR: u32 = 1;
/// Minor version: grows when fields are appended; a host accepts libraries with a minor up to
/// its own.
pub const ABI_MINOR: u32 = 1;
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

/// How a rule's output is used.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Gradients of a loss, accumulated into buffers laid out like the weights; the host's
    /// optimizer applies them after each batch.
    Gradient = 0,
    /// Direct weight changes, reported after each step as a list of [`Change`]s that the host
    /// applies at once (with its bounds).
    Direct = 1,
}

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
    /// Default value.
    pub default: f64,
    /// Smallest allowed value.
    pub min: f64,
    /// Largest allowed value.
    pub max: f64,
    /// For a choice parameter, the names separated by `|` (the value is the index); null for a
    /// number.
    pub choices: *const c_char,
}

/// Neuron model kinds, as the host tells them.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// e-prop LIF.
    Lif = 0,
    /// e-prop ALIF.
    Alif = 1,
    /// Current-based LIF with exponential currents.
    LifExp = 2,
    /// Leaky readout.
    Readout = 3,
    /// A spike source (Poisson, spike times, external, clamped).
    Source = 4,
}

/// A population as the host tells it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PopulationInfo {
    /// Name (NUL-terminated).
    pub name: *const c_char,
    /// Model.
    pub kind: ModelKind,
    /// Number of neurons.
    pub size: u32,
    /// Membrane decay per step `exp(-dt/tau_m)` (lif, alif, lif_exp), else 0.
    pub alpha: f64,
    /// Adaptation decay per step `exp(-dt/tau_a)` (alif), else 0.
    pub rho: f64,
    /// Readout decay per step `exp(-dt/tau_out)` (readout), else 0.
    pub kappa: f64,
    /// Threshold (lif, alif).
    pub v_th: f64,
    /// Refractory steps.
    pub n_ref: u32,
    /// Per-neuron adaptation strength (alif), else empty.
    pub beta: View<f32>,
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
}

/// One population during one step.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PopulationStep {
    /// Indices (within the population) of the neurons that spiked in this step, ascending.
    pub spikes: View<u32>,
    /// Pseudo-derivative of every neuron (lif, alif), else empty.
    pub psi: View<f32>,
    /// Membrane potential, or readout output `y`, of every neuron, else empty.
    pub v: View<f32>,
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

/// What a rule sees at the end of a batch of sequences (ABI 1.1).
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

/// Opaque rule state.
pub type State = *mut c_void;

/// The table a rule library exports.
#[repr(C)]
pub struct Descriptor {
    /// Must equal the host's [`ABI_MAJOR`].
    pub abi_major: u32,
    /// At most the host's [`ABI_MINOR`].
    pub abi_minor: u32,
    /// `size_of::<Descriptor>()` as the library was built.
    pub struct_size: u32,
    /// How the output is used.
    pub output: OutputKind,
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
    pub create: extern "C" fn(layout: *const Layout, params: View<f64>, out: *mut State) -> Status,
    /// Destroy an instance.
    pub destroy: extern "C" fn(state: State),
    /// A sequence (or run) starts: reset per-sequence traces.
    pub on_sequence_start: extern "C" fn(state: State) -> Status,
    /// End of a step.
    pub on_step: extern "C" fn(state: State, view: *const StepView, grads: *const Grads) -> Status,
    /// End of a sequence.
    pub on_sequence_end:
        extern "C" fn(state: State, view: *const SequenceView, grads: *const Grads) -> Status,
    /// Direct changes of the last step (rule-owned, valid until the next call).
    pub take_changes: extern "C" fn(state: State, out: *mut View<Change>) -> Status,
    /// Serialize the rule's own state (rule-owned bytes, valid until the next call).
    pub save_state: extern "C" fn(state: State, out: *mut View<u8>) -> Status,
    /// Restore state written by `save_state`.
    pub load_state: extern "C" fn(state: State, bytes: View<u8>) -> Status,
    /// End of a batch, before the host applies the gradients (ABI 1.1): batch-level terms
    /// such as firing-rate regularization.
    pub on_batch_end:
        extern "C" fn(state: State, view: *const BatchView, grads: *const Grads) -> Status,
}

/// Size of the descriptor of each minor version: a library of minor `m` has at least this.
pub fn descriptor_size(minor: u32) -> usize {
    match minor {
        0 => 128,
        _ => std::mem::size_of::<Descriptor>(),
    }
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
