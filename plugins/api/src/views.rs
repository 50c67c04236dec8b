//! Safe, borrowed views over the host's arrays, as rule code sees them.

use std::ffi::{CStr, c_char};
use std::marker::PhantomData;

use crate::abi::{self, ModelKind, View, ViewMut};

/// Borrow a view as a slice.
///
/// # Safety
/// `v.ptr` must point to `v.len` valid, initialized values that outlive `'a` and are not
/// mutated meanwhile (or `v.len == 0`).
pub(crate) unsafe fn slice<'a, T>(v: View<T>) -> &'a [T] {
    if v.len == 0 || v.ptr.is_null() {
        &[]
    } else {
        // SAFETY: guaranteed by the caller (the host upholds it for every view it passes).
        unsafe { std::slice::from_raw_parts(v.ptr, v.len) }
    }
}

/// Borrow a mutable view as a slice.
///
/// # Safety
/// As [`slice`], and nothing else may access the values during `'a`.
pub(crate) unsafe fn slice_mut<'a, T>(v: ViewMut<T>) -> &'a mut [T] {
    if v.len == 0 || v.ptr.is_null() {
        &mut []
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts_mut(v.ptr, v.len) }
    }
}

fn text<'a>(p: *const c_char) -> &'a str {
    if p.is_null() {
        return "";
    }
    // SAFETY: the host passes NUL-terminated strings that live as long as the layout.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
}

impl<T> View<T> {
    /// A view of a slice (for hosts and tests).
    pub fn of(s: &[T]) -> Self {
        View {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }
}

impl<T> ViewMut<T> {
    /// A mutable view of a slice (for hosts and tests).
    pub fn of(s: &mut [T]) -> Self {
        ViewMut {
            ptr: s.as_mut_ptr(),
            len: s.len(),
        }
    }
}

/// The network a rule instance works on.
pub struct Layout<'a> {
    raw: &'a abi::Layout,
}

impl<'a> Layout<'a> {
    /// Wrap a raw layout.
    ///
    /// # Safety
    /// Every view in `raw` must be valid for `'a`.
    pub unsafe fn from_raw(raw: &'a abi::Layout) -> Self {
        Layout { raw }
    }

    /// Time step (ms).
    pub fn dt_ms(&self) -> f64 {
        self.raw.dt_ms
    }

    /// Steps per sequence when known, else 0.
    pub fn seq_len(&self) -> u64 {
        self.raw.seq_len
    }

    /// Seed for the rule's random draws.
    pub fn seed(&self) -> u64 {
        self.raw.seed
    }

    /// All populations.
    pub fn populations(&self) -> &'a [abi::PopulationInfo] {
        // SAFETY: see `from_raw`.
        unsafe { slice(self.raw.populations) }
    }

    /// Population `i`.
    pub fn population(&self, i: usize) -> Population<'a> {
        Population {
            raw: &self.populations()[i],
        }
    }

    /// All projections.
    pub fn projections(&self) -> &'a [abi::ProjectionInfo] {
        // SAFETY: see `from_raw`.
        unsafe { slice(self.raw.projections) }
    }

    /// Projection `j`.
    pub fn projection(&self, j: usize) -> Projection<'a> {
        Projection {
            raw: &self.projections()[j],
        }
    }
}

/// A population.
pub struct Population<'a> {
    raw: &'a abi::PopulationInfo,
}

impl<'a> Population<'a> {
    /// Name.
    pub fn name(&self) -> &'a str {
        text(self.raw.name)
    }
    /// Model kind.
    pub fn kind(&self) -> ModelKind {
        self.raw.kind
    }
    /// Number of neurons.
    pub fn size(&self) -> usize {
        self.raw.size as usize
    }
    /// Membrane decay per step.
    pub fn alpha(&self) -> f64 {
        self.raw.alpha
    }
    /// Adaptation decay per step.
    pub fn rho(&self) -> f64 {
        self.raw.rho
    }
    /// Readout decay per step.
    pub fn kappa(&self) -> f64 {
        self.raw.kappa
    }
    /// Threshold.
    pub fn v_th(&self) -> f64 {
        self.raw.v_th
    }
    /// Refractory steps.
    pub fn n_ref(&self) -> u32 {
        self.raw.n_ref
    }
    /// Per-neuron adaptation strength (alif), else empty.
    pub fn beta(&self) -> &'a [f32] {
        // SAFETY: host-provided view valid for the layout's lifetime.
        unsafe { slice(self.raw.beta) }
    }
}

/// A projection (compressed rows by presynaptic neuron).
pub struct Projection<'a> {
    raw: &'a abi::ProjectionInfo,
}

impl<'a> Projection<'a> {
    /// Name.
    pub fn name(&self) -> &'a str {
        text(self.raw.name)
    }
    /// Presynaptic population index.
    pub fn pre(&self) -> usize {
        self.raw.pre as usize
    }
    /// Postsynaptic population index.
    pub fn post(&self) -> usize {
        self.raw.post as usize
    }
    /// Row offsets (`n_pre + 1`).
    pub fn indptr(&self) -> &'a [u32] {
        // SAFETY: host-provided view valid for the layout's lifetime.
        unsafe { slice(self.raw.indptr) }
    }
    /// Target of each synapse.
    pub fn targets(&self) -> &'a [u32] {
        // SAFETY: as above.
        unsafe { slice(self.raw.targets) }
    }
    /// Delay of each synapse (steps), or a single value for all.
    pub fn delays(&self) -> &'a [u16] {
        // SAFETY: as above.
        unsafe { slice(self.raw.delays) }
    }
    /// Number of synapses.
    pub fn len(&self) -> usize {
        self.raw.targets.len
    }
    /// True without synapses.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Synapse range of presynaptic neuron `i`.
    pub fn row(&self, i: usize) -> std::ops::Range<usize> {
        let p = self.indptr();
        p[i] as usize..p[i + 1] as usize
    }
    /// True if the host lets rules change this projection.
    pub fn plastic(&self) -> bool {
        self.raw.plastic != 0
    }
}

/// One population during a step.
pub struct PopulationStep<'a> {
    /// Indices of the neurons that spiked, ascending.
    pub spikes: &'a [u32],
    /// Pseudo-derivatives (lif, alif), else empty.
    pub psi: &'a [f32],
    /// Membrane potential or readout output, else empty.
    pub v: &'a [f32],
}

/// What a rule sees at the end of a step.
pub struct Step<'a> {
    raw: &'a abi::StepView,
}

impl<'a> Step<'a> {
    /// Wrap a raw view.
    ///
    /// # Safety
    /// Every view in `raw` must be valid for `'a`.
    pub unsafe fn from_raw(raw: &'a abi::StepView) -> Self {
        Step { raw }
    }
    /// Step index.
    pub fn step(&self) -> u64 {
        self.raw.step
    }
    /// Population `i` in this step.
    pub fn population(&self, i: usize) -> PopulationStep<'a> {
        // SAFETY: see `from_raw`.
        let p = unsafe { slice(self.raw.populations) }[i];
        // SAFETY: as above.
        unsafe {
            PopulationStep {
                spikes: slice(p.spikes),
                psi: slice(p.psi),
                v: slice(p.v),
            }
        }
    }
    /// Current weights of projection `j`.
    pub fn weights(&self, j: usize) -> &'a [f32] {
        // SAFETY: see `from_raw`.
        unsafe { slice(slice(self.raw.weights)[j]) }
    }
    /// Readout error of this step (training), else empty.
    pub fn error(&self) -> &'a [f32] {
        // SAFETY: see `from_raw`.
        unsafe { slice(self.raw.error) }
    }
}

/// What a rule sees at the end of a sequence.
pub struct Sequence<'a> {
    raw: &'a abi::SequenceView,
}

impl<'a> Sequence<'a> {
    /// Wrap a raw view.
    ///
    /// # Safety
    /// Every view in `raw` must be valid for `'a`.
    pub unsafe fn from_raw(raw: &'a abi::SequenceView) -> Self {
        Sequence { raw }
    }
    /// Number of steps.
    pub fn steps(&self) -> u64 {
        self.raw.steps
    }
    /// Current weights of projection `j`.
    pub fn weights(&self, j: usize) -> &'a [f32] {
        // SAFETY: see `from_raw`.
        unsafe { slice(slice(self.raw.weights)[j]) }
    }
    /// Readout errors, `steps × n_readout` (training), else empty.
    pub fn errors(&self) -> &'a [f32] {
        // SAFETY: see `from_raw`.
        unsafe { slice(self.raw.errors) }
    }
}

/// What a rule sees at the end of a batch.
pub struct Batch<'a> {
    raw: &'a abi::BatchView,
}

impl<'a> Batch<'a> {
    /// Wrap a raw view.
    ///
    /// # Safety
    /// Every view in `raw` must be valid for `'a`.
    pub unsafe fn from_raw(raw: &'a abi::BatchView) -> Self {
        Batch { raw }
    }
    /// Number of sequences in the batch.
    pub fn sequences(&self) -> u64 {
        self.raw.sequences
    }
    /// Steps per sequence.
    pub fn steps(&self) -> u64 {
        self.raw.steps
    }
    /// Mean spikes per step of each neuron of population `p` over the batch (empty if none).
    pub fn rates(&self, p: usize) -> &'a [f32] {
        // SAFETY: see `from_raw`.
        unsafe { slice(slice(self.raw.rates)[p]) }
    }
    /// Current weights of projection `j`.
    pub fn weights(&self, j: usize) -> &'a [f32] {
        // SAFETY: see `from_raw`.
        unsafe { slice(slice(self.raw.weights)[j]) }
    }
}

/// Gradient buffers to add into.
pub struct Grads<'a> {
    raw: &'a abi::Grads,
    _m: PhantomData<&'a mut f32>,
}

impl<'a> Grads<'a> {
    /// Wrap raw buffers.
    ///
    /// # Safety
    /// Every view in `raw` must be valid and exclusively ours for `'a`.
    pub unsafe fn from_raw(raw: &'a abi::Grads) -> Self {
        Grads {
            raw,
            _m: PhantomData,
        }
    }
    /// Gradient of projection `j`'s weights (empty when the host wants none).
    pub fn weights(&mut self, j: usize) -> &mut [f32] {
        // SAFETY: see `from_raw`; `&mut self` keeps two borrows of one buffer apart.
        unsafe { slice_mut(slice(self.raw.weights)[j]) }
    }
    /// Gradient of readout population `p`'s biases (empty for other populations).
    pub fn biases(&mut self, p: usize) -> &mut [f32] {
        // SAFETY: as above.
        unsafe { slice_mut(slice(self.raw.biases)[p]) }
    }
}
