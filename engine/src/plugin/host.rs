//! A rule instance on a network: builds the layout it sees, calls its hooks with views of the
//! engine's arrays, applies its direct changes (with the host's bounds) and checks its output.

use std::ffi::CString;

use eligo_plugin::abi::{
    self, BatchView, Change, ConstantInfo, Grads, Layout, ParamValue, PopulationInfo,
    PopulationStep, ProjectionInfo, STATUS_OK, SequenceView, State, StateRequest, Status, StepView,
    VariableInfo, View, ViewMut,
};
use eligo_plugin::{OutputKind, ParamKind};

use super::config::{HostOptions, RuleValues};
use super::loader::Plugin;
use crate::error::{Error, Result, did_you_mean};
use crate::network::{Delays, Network};
use crate::neuron::{Constant, ModelSpec};
use crate::optim::constrain;

/// What the step loop hands to a hook: this step's spikes and neuron state per population.
pub struct StepData<'a> {
    /// Step index.
    pub step: u64,
    /// Spikes of each population (indices within the population, ascending).
    pub spikes: &'a [Vec<u32>],
    /// Every population's state variables, flat: population `p`'s variables (in its model's
    /// order) are `state[state_at[p]..state_at[p + 1]]`, each every neuron's value for the
    /// variables some attached rule requested (empty slices for the others). Both are empty
    /// when no rule reads any state.
    pub state: &'a [&'a [f32]],
    /// Where each population's variables start in `state` (and the total).
    pub state_at: &'a [usize],
    /// Readout error of this step (training), else empty.
    pub error: &'a [f32],
    /// This step's value of every modulator channel.
    pub modulators: &'a [f32],
}

/// A rule running on one network.
pub struct RuleInstance {
    plugin: Plugin,
    state: State,
    opts: HostOptions,
    plastic: Vec<bool>,
    /// The state variables the rule reads at every step.
    requests: Vec<StateRequest>,
    /// Weights of plastic projections when the sequence started, to restore after a failure.
    snapshot: Vec<Option<Vec<f32>>>,
    /// Initial signs, for `sign = "keep"`.
    signs: Vec<Vec<bool>>,
    changes_applied: u64,
    /// The views handed to `on_step`, refilled every step (no allocation after the first).
    views: StepViews,
}

/// Buffers of raw views for one hook call. The pointers in them are only dereferenced by the
/// rule during the call that filled them.
#[derive(Default)]
struct StepViews {
    state: Vec<View<f32>>,
    pops: Vec<PopulationStep>,
    weights: Vec<View<f32>>,
    grads: Vec<ViewMut<f32>>,
    biases: Vec<ViewMut<f32>>,
}

/// A C string of `s` (a NUL inside becomes a space).
fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// The ABI kind of a model.
fn model_kind(m: &ModelSpec) -> u32 {
    match m {
        ModelSpec::Lif(_) => abi::MODEL_LIF,
        ModelSpec::Alif(_) => abi::MODEL_ALIF,
        ModelSpec::LifExp(_) => abi::MODEL_LIF_EXP,
        ModelSpec::Readout(_) => abi::MODEL_READOUT,
        _ => abi::MODEL_SOURCE,
    }
}

/// Everything the raw layout points into; lives for the duration of `create`. The fields
/// with a leading underscore are only pointed into, never read.
struct LayoutData {
    _strings: Vec<CString>,
    _constants: Vec<Vec<Constant>>,
    _variables: Vec<Vec<VariableInfo>>,
    _constant_infos: Vec<Vec<ConstantInfo>>,
    populations: Vec<PopulationInfo>,
    _uniform: Vec<[u16; 1]>,
    projections: Vec<ProjectionInfo>,
    modulators: Vec<*const std::ffi::c_char>,
}

impl LayoutData {
    /// The description of `net` for a rule: each model's variables and constants as the model
    /// declares them (see `neuron::describe`), the projections, the modulator channels.
    fn new(net: &Network, plastic: &[bool], modulators: &[String]) -> Self {
        let mut strings: Vec<CString> = Vec::new();
        // a CString's heap buffer does not move when the vector grows
        let mut c = |s: &str| {
            strings.push(c_string(s));
            strings.last().map_or(std::ptr::null(), |x| x.as_ptr())
        };
        let constants: Vec<Vec<Constant>> = net
            .populations
            .iter()
            .map(|p| p.model.constants(net.dt_ms, p.size))
            .collect();
        let variables: Vec<Vec<VariableInfo>> = net
            .populations
            .iter()
            .map(|p| {
                p.model
                    .state_variables()
                    .iter()
                    .map(|v| VariableInfo {
                        name: c(v.name),
                        unit: c(v.unit),
                        doc: c(v.doc),
                    })
                    .collect()
            })
            .collect();
        let constant_infos: Vec<Vec<ConstantInfo>> = constants
            .iter()
            .map(|cs| {
                cs.iter()
                    .map(|k| ConstantInfo {
                        name: c(k.name),
                        unit: c(k.unit),
                        doc: c(k.doc),
                        values: View::of(&k.values),
                    })
                    .collect()
            })
            .collect();
        let populations = net
            .populations
            .iter()
            .enumerate()
            .map(|(i, p)| PopulationInfo {
                name: c(&p.name),
                model: c(p.model.name()),
                kind: model_kind(&p.model),
                size: p.size,
                spiking: u32::from(p.model.spiking()),
                reserved: 0,
                variables: View::of(&variables[i]),
                constants: View::of(&constant_infos[i]),
            })
            .collect();
        let uniform: Vec<[u16; 1]> = net.projections.iter().map(|p| [p.delays.max()]).collect();
        let projections = net
            .projections
            .iter()
            .enumerate()
            .map(|(j, p)| ProjectionInfo {
                name: c(&p.name),
                pre: p.pre as u32,
                post: p.post as u32,
                indptr: View::of(&p.indptr),
                targets: View::of(&p.targets),
                delays: match &p.delays {
                    Delays::Uniform(_) => View::of(&uniform[j]),
                    Delays::PerSynapse(d) => View::of(d),
                },
                plastic: u32::from(plastic[j]),
            })
            .collect();
        let modulators = modulators.iter().map(|m| c(m)).collect();
        LayoutData {
            _strings: strings,
            _constants: constants,
            _variables: variables,
            _constant_infos: constant_infos,
            populations,
            _uniform: uniform,
            projections,
            modulators,
        }
    }
}

/// The parameter values as the rule gets them: names resolved to indices in `net` (and the
/// run's modulator channels), with did-you-mean on a wrong name.
fn resolve_params(
    plugin: &Plugin,
    net: &Network,
    values: &RuleValues,
    modulators: &[String],
) -> Result<Vec<f64>> {
    let mut numbers = values.numbers.clone();
    for (i, p) in plugin.params.iter().enumerate() {
        let text = values.texts[i].as_str();
        let (what, names): (&str, Vec<&str>) = match p.kind {
            ParamKind::Population => (
                "population",
                net.populations.iter().map(|x| x.name.as_str()).collect(),
            ),
            ParamKind::Projection => (
                "projection",
                net.projections.iter().map(|x| x.name.as_str()).collect(),
            ),
            ParamKind::Modulator => (
                "modulator channel",
                modulators.iter().map(String::as_str).collect(),
            ),
            _ => continue,
        };
        let field = format!("rule '{}': {}", plugin.name, p.name);
        if text.is_empty() {
            return Err(Error::input(
                field,
                "(none)",
                format!("the rule needs {} name here ({})", what, p.doc),
                format!(
                    "give it in the --rule-config file ({} = \"...\") or with --param {}=NAME; {what}s: {}",
                    p.name,
                    p.name,
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        }
        match names.iter().position(|n| *n == text) {
            Some(k) => numbers[i] = k as f64,
            None => {
                let hint = did_you_mean(text, &names);
                let hint = if hint.is_empty() && p.kind == ParamKind::Modulator {
                    format!(
                        "give the channel with --modulator {text}=FILE.npy, or use a task that provides it"
                    )
                } else {
                    hint
                };
                return Err(Error::input(
                    field,
                    format!("'{text}'"),
                    format!(
                        "no {what} has this name; {what}s: {}",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                    hint,
                ));
            }
        }
    }
    Ok(numbers)
}

impl RuleInstance {
    /// Create the rule for `net` with parameter values `values`, without modulator channels.
    pub fn new(
        plugin: Plugin,
        net: &Network,
        values: &RuleValues,
        opts: HostOptions,
        seq_len: u64,
    ) -> Result<Self> {
        Self::with_modulators(plugin, net, values, opts, seq_len, &[])
    }

    /// Create the rule for `net` with parameter values `values` (in table order), in a run
    /// whose modulator channels are `modulators`.
    pub fn with_modulators(
        plugin: Plugin,
        net: &Network,
        values: &RuleValues,
        opts: HostOptions,
        seq_len: u64,
        modulators: &[String],
    ) -> Result<Self> {
        let plastic = opts.plastic_mask(net)?;
        let numbers = resolve_params(&plugin, net, values, modulators)?;
        let texts: Vec<CString> = values.texts.iter().map(|t| c_string(t)).collect();
        let raw_values: Vec<ParamValue> = numbers
            .iter()
            .zip(&texts)
            .map(|(&number, t)| ParamValue {
                number,
                text: t.as_ptr(),
            })
            .collect();
        let data = LayoutData::new(net, &plastic, modulators);
        let layout = Layout {
            dt_ms: net.dt_ms,
            seq_len,
            populations: View::of(&data.populations),
            projections: View::of(&data.projections),
            seed: net.seed,
            modulators: View::of(&data.modulators),
        };
        let mut state: State = std::ptr::null_mut();
        let status = (plugin.desc.create)(&layout, View::of(&raw_values), &mut state);
        drop(data);
        if status != STATUS_OK {
            // the rule refused what the user gave it (its parameters, on this network): input
            let what = if status == abi::STATUS_PANIC {
                "panicked in create"
            } else {
                "refused its parameters in create"
            };
            return Err(Error::input(
                format!("rule '{}'", plugin.name),
                "",
                format!("{what}: {}", plugin.last_error()),
                "change the rule's parameters in its --rule-config file; `eligo plugins` lists each with its range",
            ));
        }
        // only direct rules change weights inside a run; gradient rules go through the optimizer
        let direct = plugin.output == OutputKind::Direct;
        let signs = net
            .projections
            .iter()
            .map(|p| {
                if direct && opts.keep_sign {
                    p.weights.iter().map(|w| *w >= 0.0).collect()
                } else {
                    Vec::new()
                }
            })
            .collect();
        let mut inst = RuleInstance {
            plugin,
            state,
            opts,
            plastic,
            requests: Vec::new(),
            snapshot: Vec::new(),
            signs,
            changes_applied: 0,
            views: StepViews::default(),
        };
        inst.requests = inst.read_requests(net)?;
        Ok(inst)
    }

    /// Ask the rule which state variables it reads, and check that each exists.
    fn read_requests(&self, net: &Network) -> Result<Vec<StateRequest>> {
        let mut out = View::<StateRequest> {
            ptr: std::ptr::null(),
            len: 0,
        };
        let status = (self.plugin.desc.state_requests)(self.state, &mut out);
        check(&self.plugin, status, "state_requests", None)?;
        // SAFETY: the rule returns a view of its own buffer, valid until its next call.
        let reqs = unsafe { view_slice(out) }.to_vec();
        for r in &reqs {
            let ok = net
                .populations
                .get(r.population as usize)
                .is_some_and(|p| (r.variable as usize) < p.model.state_variables().len());
            if !ok {
                return Err(rule_error(
                    &self.plugin.name,
                    "state_requests",
                    None,
                    &format!(
                        "asked for variable {} of population {}, which does not exist",
                        r.variable, r.population
                    ),
                ));
            }
        }
        Ok(reqs)
    }

    /// The state variables the rule reads at every step.
    pub fn requests(&self) -> &[StateRequest] {
        &self.requests
    }

    /// The rule's diagnostics for the sequence or batch that just ended (`scope`: a
    /// `SCOPE_*`), in the order the rule reported them.
    pub fn diagnostics(&mut self, scope: u32) -> Result<Vec<(String, f64)>> {
        let mut out = View::<abi::Diagnostic> {
            ptr: std::ptr::null(),
            len: 0,
        };
        let status = (self.plugin.desc.take_diagnostics)(self.state, scope, &mut out);
        check(&self.plugin, status, "take_diagnostics", None)?;
        // SAFETY: the rule returns a view of its own buffer, valid until its next call.
        let d = unsafe { view_slice(out) };
        Ok(d.iter()
            .map(|x| {
                let name = if x.name.is_null() {
                    String::new()
                } else {
                    // SAFETY: the rule passes NUL-terminated names valid until its next call.
                    unsafe { std::ffi::CStr::from_ptr(x.name) }
                        .to_string_lossy()
                        .into_owned()
                };
                (name, x.value)
            })
            .collect())
    }

    /// Per projection of the network: whether the rule may change it (`[host] plastic`).
    pub fn plastic(&self) -> &[bool] {
        &self.plastic
    }

    /// The host options the rule runs under.
    pub fn host_options(&self) -> &HostOptions {
        &self.opts
    }

    /// The plugin.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// Number of direct changes applied so far.
    pub fn changes_applied(&self) -> u64 {
        self.changes_applied
    }

    /// A sequence starts: snapshot the plastic weights (direct rules: the only ones that change
    /// weights during a sequence) and tell the rule.
    pub fn sequence_start(&mut self, net: &Network) -> Result<()> {
        let direct = self.plugin.output == OutputKind::Direct;
        self.snapshot = net
            .projections
            .iter()
            .zip(&self.plastic)
            .map(|(p, &pl)| (pl && direct).then(|| p.weights.clone()))
            .collect();
        let status = (self.plugin.desc.on_sequence_start)(self.state);
        check(&self.plugin, status, "on_sequence_start", None)
    }

    /// Restore the weights of the last sequence start (after a failure).
    pub fn restore(&self, net: &mut Network) {
        for (p, s) in net.projections.iter_mut().zip(&self.snapshot) {
            if let Some(w) = s {
                p.weights.copy_from_slice(w);
            }
        }
    }

    /// End of a step: call the rule, then apply its direct changes. On failure the weights are
    /// restored to the sequence start and the error names rule, hook, step and message.
    pub fn step(
        &mut self,
        net: &mut Network,
        data: &StepData,
        grads: &mut [Vec<f32>],
        bias_grads: &mut [Vec<f32>],
    ) -> Result<()> {
        let r = self.step_inner(net, data, grads, bias_grads);
        if r.is_err() {
            self.restore(net);
        }
        r
    }

    fn step_inner(
        &mut self,
        net: &mut Network,
        data: &StepData,
        grads: &mut [Vec<f32>],
        bias_grads: &mut [Vec<f32>],
    ) -> Result<()> {
        let v = &mut self.views;
        v.state.clear();
        v.state.extend(data.state.iter().map(|x| View::of(x)));
        v.pops.clear();
        // `data.state` is empty when no rule reads any state: then so are the views
        let none: &[View<f32>] = &[];
        v.pops
            .extend((0..net.populations.len()).map(|i| PopulationStep {
                spikes: View::of(&data.spikes[i]),
                state: View::of(match data.state_at.get(i..i + 2) {
                    Some(&[a, b]) => &v.state[a..b],
                    _ => none,
                }),
            }));
        v.weights.clear();
        v.weights
            .extend(net.projections.iter().map(|p| View::of(&p.weights)));
        v.grads.clear();
        v.grads.extend(grads.iter_mut().map(|g| ViewMut::of(g)));
        v.biases.clear();
        v.biases
            .extend(bias_grads.iter_mut().map(|g| ViewMut::of(g)));
        let view = StepView {
            step: data.step,
            populations: View::of(&v.pops),
            weights: View::of(&v.weights),
            error: View::of(data.error),
            modulators: View::of(data.modulators),
        };
        let grads_view = Grads {
            weights: View::of(&v.grads),
            biases: View::of(&v.biases),
        };
        let status = (self.plugin.desc.on_step)(self.state, &view, &grads_view);
        check(&self.plugin, status, "on_step", Some(data.step))?;
        if self.plugin.output == OutputKind::Direct {
            let mut out = View::<Change> {
                ptr: std::ptr::null(),
                len: 0,
            };
            let status = (self.plugin.desc.take_changes)(self.state, &mut out);
            check(&self.plugin, status, "take_changes", Some(data.step))?;
            // SAFETY: the rule returns a view of its own buffer, valid until its next call.
            let changes = unsafe { view_slice(out) };
            self.apply(net, changes, data.step)?;
        }
        Ok(())
    }

    /// Apply direct changes: refuse non-finite ones or ones naming a missing synapse or a
    /// non-plastic projection; clip to the host's bounds and sign constraint.
    fn apply(&mut self, net: &mut Network, changes: &[Change], step: u64) -> Result<()> {
        let rule = &self.plugin.name;
        for c in changes {
            let j = c.projection as usize;
            let Some(p) = net.projections.get_mut(j) else {
                return Err(rule_error(
                    rule,
                    "on_step",
                    Some(step),
                    &format!(
                        "changed projection {j}, the network has {}",
                        self.plastic.len()
                    ),
                ));
            };
            if !self.plastic[j] {
                return Err(rule_error(
                    rule,
                    "on_step",
                    Some(step),
                    &format!("changed projection '{}', which is not plastic", p.name),
                ));
            }
            let s = c.synapse as usize;
            if s >= p.weights.len() {
                return Err(rule_error(
                    rule,
                    "on_step",
                    Some(step),
                    &format!(
                        "changed synapse {s} of projection '{}', which has {}",
                        p.name,
                        p.weights.len()
                    ),
                ));
            }
            if !c.delta.is_finite() {
                return Err(rule_error(
                    rule,
                    "on_step",
                    Some(step),
                    &format!(
                        "produced a non-finite change ({}) for projection '{}', synapse {s}",
                        c.delta, p.name
                    ),
                ));
            }
            let sign = self.opts.keep_sign.then(|| self.signs[j][s]);
            p.weights[s] = constrain(
                p.weights[s] + c.delta,
                self.opts.w_min,
                self.opts.w_max,
                sign,
            );
        }
        self.changes_applied += changes.len() as u64;
        Ok(())
    }

    /// End of a sequence: call the rule and check its gradients.
    pub fn sequence_end(
        &mut self,
        net: &mut Network,
        steps: u64,
        errors: &[f32],
        grads: &mut [Vec<f32>],
        bias_grads: &mut [Vec<f32>],
    ) -> Result<()> {
        let weights = weight_views(net);
        let view = SequenceView {
            steps,
            weights: View::of(&weights),
            errors: View::of(errors),
        };
        let hook = self.plugin.desc.on_sequence_end;
        self.gradient_hook(
            net,
            "on_sequence_end",
            steps,
            grads,
            bias_grads,
            |state, gv| hook(state, &view, gv),
        )
    }

    /// End of a batch: `rates[p][i]` is neuron `i` of population `p`'s mean number of spikes per
    /// step over the batch. Checks the gradients afterwards like `sequence_end`.
    pub fn batch_end(
        &mut self,
        net: &mut Network,
        sequences: u64,
        steps: u64,
        rates: &[Vec<f32>],
        grads: &mut [Vec<f32>],
        bias_grads: &mut [Vec<f32>],
    ) -> Result<()> {
        let weights = weight_views(net);
        let r: Vec<View<f32>> = rates.iter().map(|r| View::of(r)).collect();
        let view = BatchView {
            sequences,
            steps,
            rates: View::of(&r),
            weights: View::of(&weights),
        };
        let hook = self.plugin.desc.on_batch_end;
        self.gradient_hook(
            net,
            "on_batch_end",
            steps,
            grads,
            bias_grads,
            |state, gv| hook(state, &view, gv),
        )
    }

    /// Call a hook that adds into the gradient buffers; then check its status and that every
    /// gradient is finite. On failure the weights go back to the sequence start.
    fn gradient_hook(
        &mut self,
        net: &mut Network,
        name: &str,
        steps: u64,
        grads: &mut [Vec<f32>],
        bias_grads: &mut [Vec<f32>],
        call: impl FnOnce(State, &Grads) -> Status,
    ) -> Result<()> {
        let status = {
            let g = mut_views(grads);
            let b = mut_views(bias_grads);
            let gv = Grads {
                weights: View::of(&g),
                biases: View::of(&b),
            };
            call(self.state, &gv)
        };
        let r = check(&self.plugin, status, name, None)
            .and_then(|()| check_finite(&self.plugin.name, name, net, grads, steps));
        if r.is_err() {
            self.restore(net);
        }
        r
    }

    /// The rule's own state as bytes.
    pub fn save_state(&self) -> Result<Vec<u8>> {
        let mut out = View::<u8> {
            ptr: std::ptr::null(),
            len: 0,
        };
        let status = (self.plugin.desc.save_state)(self.state, &mut out);
        check(&self.plugin, status, "save_state", None)?;
        // SAFETY: the rule returns a view of its own buffer, valid until its next call.
        Ok(unsafe { view_slice(out) }.to_vec())
    }

    /// Restore the rule's state.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        let status = (self.plugin.desc.load_state)(self.state, View::of(bytes));
        check(&self.plugin, status, "load_state", None)
    }
}

// SAFETY: the plugin contract (docs/writing-a-rule.md, "Errors and safety") lets an instance be
// called from any thread, one call at a time; `RuleInstance` owns its state pointer exclusively
// and `&mut self` on every call serializes them. The descriptor is immutable static data.
unsafe impl Send for RuleInstance {}

impl Drop for RuleInstance {
    fn drop(&mut self) {
        (self.plugin.desc.destroy)(self.state);
    }
}

/// # Safety
/// `v` must be valid for reading `len` values now.
unsafe fn view_slice<'a, T>(v: View<T>) -> &'a [T] {
    if v.len == 0 || v.ptr.is_null() {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(v.ptr, v.len) }
    }
}

/// Views of every projection's weights, in projection order.
fn weight_views(net: &Network) -> Vec<View<f32>> {
    net.projections
        .iter()
        .map(|p| View::of(&p.weights))
        .collect()
}

/// Mutable views of gradient buffers.
fn mut_views(bufs: &mut [Vec<f32>]) -> Vec<ViewMut<f32>> {
    bufs.iter_mut().map(|g| ViewMut::of(g)).collect()
}

fn check_finite(
    rule: &str,
    hook: &str,
    net: &Network,
    grads: &[Vec<f32>],
    steps: u64,
) -> Result<()> {
    for (j, g) in grads.iter().enumerate() {
        if let Some(k) = g.iter().position(|x| !x.is_finite()) {
            return Err(rule_error(
                rule,
                hook,
                Some(steps),
                &format!(
                    "produced a non-finite gradient ({}) for projection '{}', synapse {k}",
                    g[k], net.projections[j].name
                ),
            ));
        }
    }
    Ok(())
}

fn rule_error(rule: &str, hook: &str, step: Option<u64>, msg: &str) -> Error {
    let at = step.map(|s| format!(" at step {s}")).unwrap_or_default();
    Error::Rule(format!("rule '{rule}' failed in {hook}{at}: {msg}"))
}

fn check(p: &Plugin, status: Status, hook: &str, step: Option<u64>) -> Result<()> {
    if status == STATUS_OK {
        Ok(())
    } else {
        Err(rule_error(&p.name, hook, step, &p.last_error()))
    }
}
