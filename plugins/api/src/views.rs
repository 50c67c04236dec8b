//! Safe, borrowed views over the host's arrays, as rule code sees them.

use std::cell::RefCell;
use std::ffi::{CStr, c_char};
use std::marker::PhantomData;

use crate::abi::{self, View, ViewMut};

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

pub(crate) fn text<'a>(p: *const c_char) -> &'a str {
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
///
/// Asking a population for a state variable ([`Population::variable`]) while the rule is being
/// created is how a rule tells the host what it reads: the host then hands those variables (and
/// only those) to every step.
pub struct Layout<'a> {
    raw: &'a abi::Layout,
    requests: RefCell<Vec<abi::StateRequest>>,
}

impl<'a> Layout<'a> {
    /// Wrap a raw layout.
    ///
    /// # Safety
    /// Every view in `raw` must be valid for `'a`.
    pub unsafe fn from_raw(raw: &'a abi::Layout) -> Self {
        Layout {
            raw,
            requests: RefCell::new(Vec::new()),
        }
    }

    /// The state variables asked for so far, in the order first asked.
    pub fn requests(&self) -> Vec<abi::StateRequest> {
        self.requests.borrow().clone()
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

    /// All populations, raw.
    pub fn populations(&self) -> &'a [abi::PopulationInfo] {
        // SAFETY: see `from_raw`.
        unsafe { slice(self.raw.populations) }
    }

    /// Population `i`.
    pub fn population(&self, i: usize) -> Population<'_> {
        Population {
            raw: &self.populations()[i],
            index: i,
            requests: &self.requests,
        }
    }

    /// The index of the population called `name`.
    pub fn population_named(&self, name: &str) -> Option<usize> {
        self.populations().iter().position(|p| text(p.name) == name)
    }

    /// All projections, raw.
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

    /// The index of the projection called `name`.
    pub fn projection_named(&self, name: &str) -> Option<usize> {
        self.projections().iter().position(|p| text(p.name) == name)
    }

    /// Names of the run's modulator channels, in the order of [`Step::modulator`].
    pub fn modulators(&self) -> Vec<&'a str> {
        // SAFETY: see `from_raw`.
        unsafe { slice(self.raw.modulators) }
            .iter()
            .map(|&p| text(p))
            .collect()
    }

    /// The index of the modulator channel called `name`.
    pub fn modulator(&self, name: &str) -> Option<usize> {
        self.modulators().iter().position(|m| *m == name)
    }
}

/// A neuron model, as the host tells it. The name ([`Population::model`]) identifies the model;
/// the kind is a hint that an older rule may not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// e-prop LIF (`lif`).
    Lif,
    /// e-prop ALIF (`alif`).
    Alif,
    /// Current-based LIF with exponential currents (`lif_exp`).
    LifExp,
    /// Leaky readout (`readout`).
    Readout,
    /// A spike source.
    Source,
    /// A model this version of eligo-plugin does not know (its raw value).
    Other(u32),
}

impl ModelKind {
    /// The kind of a raw [`abi::PopulationInfo::kind`]; never fails.
    pub fn from_raw(k: u32) -> Self {
        match k {
            abi::MODEL_LIF => ModelKind::Lif,
            abi::MODEL_ALIF => ModelKind::Alif,
            abi::MODEL_LIF_EXP => ModelKind::LifExp,
            abi::MODEL_READOUT => ModelKind::Readout,
            abi::MODEL_SOURCE => ModelKind::Source,
            other => ModelKind::Other(other),
        }
    }
}

/// A handle on one state variable of one population, got from [`Population::variable`] while the
/// rule is created, and read at every step with [`Step::state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    /// Population index.
    pub population: usize,
    /// Index of the variable in the population's table.
    pub index: usize,
}

/// A population: its model, size, state variables and constants.
pub struct Population<'l> {
    raw: &'l abi::PopulationInfo,
    index: usize,
    requests: &'l RefCell<Vec<abi::StateRequest>>,
}

impl<'l> Population<'l> {
    /// Name.
    pub fn name(&self) -> &'l str {
        text(self.raw.name)
    }
    /// Model name, e.g. `lif_exp`.
    pub fn model(&self) -> &'l str {
        text(self.raw.model)
    }
    /// Model kind.
    pub fn kind(&self) -> ModelKind {
        ModelKind::from_raw(self.raw.kind)
    }
    /// Number of neurons.
    pub fn size(&self) -> usize {
        self.raw.size as usize
    }
    /// True if the population emits spikes.
    pub fn spiking(&self) -> bool {
        self.raw.spiking != 0
    }
    fn variable_infos(&self) -> &'l [abi::VariableInfo] {
        // SAFETY: host-provided view valid for the layout's lifetime.
        unsafe { slice(self.raw.variables) }
    }
    /// Names of the state variables the model exposes, in table order.
    pub fn variables(&self) -> Vec<&'l str> {
        self.variable_infos().iter().map(|v| text(v.name)).collect()
    }
    /// Unit of state variable `name`, if the model has it.
    pub fn variable_unit(&self, name: &str) -> Option<&'l str> {
        let v = self
            .variable_infos()
            .iter()
            .find(|v| text(v.name) == name)?;
        Some(text(v.unit))
    }
    /// Ask for state variable `name` (e.g. `v`): the host will hand every neuron's value to each
    /// step, read with [`Step::state`]. `None` if the model has no such variable.
    pub fn variable(&self, name: &str) -> Option<Var> {
        let k = self
            .variable_infos()
            .iter()
            .position(|v| text(v.name) == name)?;
        let req = abi::StateRequest {
            population: self.index as u32,
            variable: k as u32,
        };
        let mut r = self.requests.borrow_mut();
        if !r.contains(&req) {
            r.push(req);
        }
        Some(Var {
            population: self.index,
            index: k,
        })
    }
    fn constant_infos(&self) -> &'l [abi::ConstantInfo] {
        // SAFETY: host-provided view valid for the layout's lifetime.
        unsafe { slice(self.raw.constants) }
    }
    /// Names of the model's constants, in table order.
    pub fn constants(&self) -> Vec<&'l str> {
        self.constant_infos().iter().map(|c| text(c.name)).collect()
    }
    /// Constant `name`: one value (all neurons) or one per neuron; `None` if the model has none
    /// of this name.
    pub fn constant(&self, name: &str) -> Option<&'l [f64]> {
        let c = self
            .constant_infos()
            .iter()
            .find(|c| text(c.name) == name)?;
        // SAFETY: host-provided view valid for the layout's lifetime.
        Some(unsafe { slice(c.values) })
    }
    /// Constant `name` for every neuron (a single value repeated).
    pub fn constant_per_neuron(&self, name: &str) -> Option<Vec<f64>> {
        let c = self.constant(name)?;
        Some(match c {
            [x] => vec![*x; self.size()],
            _ => c.to_vec(),
        })
    }
    /// Constant `name` when it is one value for all neurons.
    pub fn constant_value(&self, name: &str) -> Option<f64> {
        match self.constant(name)? {
            [x] => Some(*x),
            _ => None,
        }
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
    /// Indices (within the population) of the neurons of population `i` that spiked in this
    /// step, ascending.
    pub fn spikes(&self, i: usize) -> &'a [u32] {
        // SAFETY: see `from_raw`.
        let p = unsafe { slice(self.raw.populations) }[i];
        // SAFETY: as above.
        unsafe { slice(p.spikes) }
    }
    /// Every neuron's value of a state variable after this step (asked for at create; empty if
    /// it was not).
    pub fn state(&self, var: Var) -> &'a [f32] {
        // SAFETY: see `from_raw`.
        let p = unsafe { slice(self.raw.populations) }[var.population];
        // SAFETY: as above.
        unsafe { slice(p.state) }
            .get(var.index)
            // SAFETY: as above.
            .map_or(&[], |v| unsafe { slice(*v) })
    }
    /// This step's value of modulator channel `k` ([`Layout::modulator`]); 0 if there is none.
    pub fn modulator(&self, k: usize) -> f32 {
        // SAFETY: see `from_raw`.
        unsafe { slice(self.raw.modulators) }
            .get(k)
            .copied()
            .unwrap_or(0.0)
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
