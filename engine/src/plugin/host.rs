//! A rule instance on a network: builds the layout it sees, calls its hooks with views of the
//! engine's arrays, applies its direct changes (with the host's bounds) and checks its output.

use std::ffi::CString;

use eligo_plugin::abi::{
    self, BatchView, Change, Grads, Layout, ModelKind, PopulationInfo, PopulationStep,
    ProjectionInfo, STATUS_OK, SequenceView, State, Status, StepView, View, ViewMut,
};

use super::config::HostOptions;
use super::loader::Plugin;
use crate::error::{Error, Result};
use crate::network::{Delays, Network};
use crate::neuron::ModelSpec;
use crate::optim::constrain;

/// What the step loop hands to a hook: this step's spikes and neuron state per population.
pub struct StepData<'a> {
    /// Step index.
    pub step: u64,
    /// Spikes of each population (indices within the population, ascending).
    pub spikes: &'a [Vec<u32>],
    /// Pseudo-derivatives per population (empty slices where none).
    pub psi: &'a [&'a [f32]],
    /// Membrane potentials per population (empty slices where none).
    pub v: &'a [&'a [f32]],
    /// Readout error of this step (training), else empty.
    pub error: &'a [f32],
}

/// A rule running on one network.
pub struct RuleInstance {
    plugin: Plugin,
    state: State,
    opts: HostOptions,
    plastic: Vec<bool>,
    /// Weights of plastic projections when the sequence started, to restore after a failure.
    snapshot: Vec<Option<Vec<f32>>>,
    /// Initial signs, for `sign = "keep"`.
    signs: Vec<Vec<bool>>,
    changes_applied: u64,
}

fn population_info(net: &Network, names: &[CString], betas: &[Vec<f32>]) -> Vec<PopulationInfo> {
    let dt = net.dt_ms;
    net.populations
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut info = PopulationInfo {
                name: names[i].as_ptr(),
                kind: ModelKind::Source,
                size: p.size,
                alpha: 0.0,
                rho: 0.0,
                kappa: 0.0,
                v_th: 0.0,
                n_ref: 0,
                beta: View::of(&betas[i]),
            };
            match &p.model {
                ModelSpec::Lif(m) => {
                    info.kind = ModelKind::Lif;
                    info.alpha = (-dt / m.tau_m_ms).exp();
                    info.v_th = m.v_th;
                    info.n_ref = m.n_ref;
                }
                ModelSpec::Alif(m) => {
                    info.kind = ModelKind::Alif;
                    info.alpha = (-dt / m.tau_m_ms).exp();
                    info.rho = (-dt / m.tau_a_ms).exp();
                    info.v_th = m.v_th;
                    info.n_ref = m.n_ref;
                }
                ModelSpec::LifExp(m) => {
                    info.kind = ModelKind::LifExp;
                    info.alpha = (-dt / m.tau_m_ms).exp();
                    info.v_th = m.v_th_mv;
                    info.n_ref = (m.t_ref_ms / dt).round() as u32;
                }
                ModelSpec::Readout(m) => {
                    info.kind = ModelKind::Readout;
                    info.kappa = (-dt / m.tau_out_ms).exp();
                }
                _ => {}
            }
            info
        })
        .collect()
}

impl RuleInstance {
    /// Create the rule for `net` with parameter values `params` (in table order).
    pub fn new(
        plugin: Plugin,
        net: &Network,
        params: &[f64],
        opts: HostOptions,
        seq_len: u64,
    ) -> Result<Self> {
        let plastic = opts.plastic_mask(net)?;
        let pop_names: Vec<CString> = net
            .populations
            .iter()
            .map(|p| CString::new(p.name.replace('\0', " ")).unwrap_or_default())
            .collect();
        let proj_names: Vec<CString> = net
            .projections
            .iter()
            .map(|p| CString::new(p.name.replace('\0', " ")).unwrap_or_default())
            .collect();
        let betas: Vec<Vec<f32>> = net
            .populations
            .iter()
            .map(|p| match &p.model {
                ModelSpec::Alif(m) => (0..p.size as usize)
                    .map(|i| if i < m.n_lif { 0.0 } else { m.beta as f32 })
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let pops = population_info(net, &pop_names, &betas);
        let uniform: Vec<[u16; 1]> = net.projections.iter().map(|p| [p.delays.max()]).collect();
        let projs: Vec<ProjectionInfo> = net
            .projections
            .iter()
            .enumerate()
            .map(|(j, p)| ProjectionInfo {
                name: proj_names[j].as_ptr(),
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
        let layout = Layout {
            dt_ms: net.dt_ms,
            seq_len,
            populations: View::of(&pops),
            projections: View::of(&projs),
            seed: net.seed,
        };
        let mut state: State = std::ptr::null_mut();
        let status = (plugin.desc.create)(&layout, View::of(params), &mut state);
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
        let direct = plugin.output == abi::OutputKind::Direct;
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
        Ok(RuleInstance {
            plugin,
            state,
            opts,
            plastic,
            snapshot: Vec::new(),
            signs,
            changes_applied: 0,
        })
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
        let direct = self.plugin.output == abi::OutputKind::Direct;
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
        let pops: Vec<PopulationStep> = (0..net.populations.len())
            .map(|i| PopulationStep {
                spikes: View::of(&data.spikes[i]),
                psi: View::of(data.psi[i]),
                v: View::of(data.v[i]),
            })
            .collect();
        let weights = weight_views(net);
        let view = StepView {
            step: data.step,
            populations: View::of(&pops),
            weights: View::of(&weights),
            error: View::of(data.error),
        };
        let g = mut_views(grads);
        let b = mut_views(bias_grads);
        let grads_view = Grads {
            weights: View::of(&g),
            biases: View::of(&b),
        };
        let status = (self.plugin.desc.on_step)(self.state, &view, &grads_view);
        check(&self.plugin, status, "on_step", Some(data.step))?;
        if self.plugin.output == abi::OutputKind::Direct {
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
