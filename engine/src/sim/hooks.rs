//! The learning side of [`Simulation`]'s API: attaching rules or a teacher, the sequence and
//! batch hooks, gradients, weights and biases.

use eligo_plugin::OutputKind;

use super::learning::{Attached, Diagnostics, NO_DIAGNOSTICS};
use super::simulation::Simulation;
use crate::error::{Error, Result};
use crate::neuron::{Block, ModelSpec};
use crate::optim::Teacher;
use crate::plugin::RuleInstance;

impl Simulation {
    /// Let `rule` see every step from now on (and change weights), in place of any rule
    /// attached before. With several threads the rule runs on one of them after every part
    /// has delivered the step (see `Simulation::run`); results are the same for any thread
    /// count.
    pub fn set_rule(&mut self, rule: RuleInstance) -> Result<()> {
        self.learn.rules.clear();
        self.learn.clear_wanted();
        self.add_rule(rule)
    }

    /// Attach `rule` after the rules attached so far: it sees every step after them, with its
    /// own gradient buffers and diagnostics. No projection may be plastic for two rules: an
    /// overlap is refused naming both rules and the projection.
    pub fn add_rule(&mut self, rule: RuleInstance) -> Result<()> {
        let k = self.learn.rules.len();
        for (i, other) in self.learn.rules.iter().enumerate() {
            let both = other
                .inst
                .plastic()
                .iter()
                .zip(rule.plastic())
                .position(|(a, b)| *a && *b);
            if let Some(j) = both {
                let all = other.inst.host_options().plastic.is_none()
                    || rule.host_options().plastic.is_none();
                let hint = if all {
                    "a rule without `[host] plastic` changes every projection: set `[host] plastic = [\"...\"]` in each rule config to the projections that rule learns"
                } else {
                    "remove the projection from one rule's `[host] plastic` list"
                };
                return Err(Error::input(
                    "host.plastic",
                    format!("'{}'", self.net.projections[j].name),
                    format!(
                        "this projection is plastic for both rule {} ('{}') and rule {} ('{}'); each projection may be learned by one rule only",
                        i + 1,
                        other.inst.plugin().name,
                        k + 1,
                        rule.plugin().name
                    ),
                    hint,
                ));
            }
        }
        // the rule may change any weight from now on: delivery reads the weight arrays
        self.routes.uniform_w.fill(None);
        let grads = match rule.plugin().output {
            OutputKind::Gradient => self
                .net
                .projections
                .iter()
                .map(|p| vec![0.0; p.len()])
                .collect(),
            OutputKind::Direct => self.net.projections.iter().map(|_| Vec::new()).collect(),
        };
        let bias_grads = self
            .net
            .populations
            .iter()
            .map(|p| match (&p.model, rule.plugin().output) {
                (ModelSpec::Readout(_), OutputKind::Gradient) => vec![0.0; p.size as usize],
                _ => Vec::new(),
            })
            .collect();
        self.learn.neuron_counts = self
            .net
            .populations
            .iter()
            .map(|p| vec![0; p.size as usize])
            .collect();
        let n_vars: Vec<usize> = self
            .net
            .populations
            .iter()
            .map(|p| p.model.state_variables().len())
            .collect();
        self.learn.want(rule.requests(), &n_vars);
        self.learn.rules.push(Attached {
            inst: rule,
            grads,
            bias_grads,
            diagnostics: Diagnostics::default(),
        });
        Ok(())
    }

    /// The attached rules, in attach order.
    pub fn rules(&self) -> impl ExactSizeIterator<Item = &RuleInstance> {
        self.learn.rules.iter().map(|a| &a.inst)
    }

    /// Add modulator channel `name` (before the rules that read it are created: they see the
    /// channels of [`Simulation::modulator_names`]); returns its index.
    pub fn add_modulator(&mut self, name: &str) -> Result<usize> {
        self.learn.modulators.add(name)
    }

    /// The modulator channels' names.
    pub fn modulator_names(&self) -> &[String] {
        &self.learn.modulators.names
    }

    /// Give modulator channel `k` a value per step of each sequence from now on (`None`: set
    /// step by step with [`Simulation::set_modulator`]).
    pub fn set_modulator_series(&mut self, k: usize, values: Option<Vec<f32>>) {
        self.learn.modulators.set_series(k, values);
    }

    /// Set modulator channel `k`'s value from the next step on (closed loops).
    pub fn set_modulator(&mut self, k: usize, value: f32) {
        self.learn.modulators.set(k, value);
    }

    /// The first attached rule.
    pub fn rule(&self) -> Option<&RuleInstance> {
        self.learn.rules.first().map(|a| &a.inst)
    }

    /// Gradients accumulated by the first attached rule (a gradient rule), one buffer per
    /// projection; see [`Simulation::rule_grads`].
    pub fn grads(&self) -> &[Vec<f32>] {
        self.rule_grads(0)
    }

    /// Gradients accumulated by rule `k` (attach order), one buffer per projection (empty
    /// buffers for a direct rule; nothing if there is no rule `k`).
    pub fn rule_grads(&self, k: usize) -> &[Vec<f32>] {
        self.learn.rules.get(k).map_or(&[], |a| &a.grads)
    }

    /// Apply the first rule's accumulated gradients with `opt`; see
    /// [`Simulation::apply_rule_gradients`].
    pub fn apply_gradients(&mut self, opt: &mut crate::optim::Optimizer) -> Result<()> {
        self.apply_rule_gradients(0, opt)
    }

    /// Apply rule `k`'s accumulated gradients with `opt` (built for the rule by
    /// [`crate::plugin::HostOptions::build_optimizer`]: one group per projection), then zero
    /// them. The projections another rule learns are left out of the update (neither
    /// stepped nor clipped), so each rule's optimizer touches only its own and the unlearned
    /// ones, as with one rule. An update that would make a weight non-finite is refused (see
    /// [`crate::optim::Optimizer::step`]).
    pub fn apply_rule_gradients(
        &mut self,
        k: usize,
        opt: &mut crate::optim::Optimizer,
    ) -> Result<()> {
        let Some(a) = self.learn.rules.get(k) else {
            return Ok(());
        };
        if a.grads.iter().all(Vec::is_empty) {
            return Ok(());
        }
        let others: Vec<bool> = (0..self.net.projections.len())
            .map(|j| {
                self.learn
                    .rules
                    .iter()
                    .enumerate()
                    .any(|(i, r)| i != k && r.inst.plastic()[j])
            })
            .collect();
        self.routes.uniform_w.fill(None);
        let a = &mut self.learn.rules[k];
        let grads: Vec<&[f32]> = a
            .grads
            .iter()
            .zip(&others)
            .map(|(g, &o)| if o { &[][..] } else { g.as_slice() })
            .collect();
        let mut params: Vec<&mut [f32]> = self
            .net
            .weights_mut()
            .into_iter()
            .zip(&others)
            .map(|(w, &o)| if o { &mut [][..] } else { w })
            .collect();
        if let Err(e) = opt.step(&mut params, &grads) {
            let name = format!("projection '{}'", self.net.projections[e.group].name);
            return Err(e.error(&name));
        }
        for g in &mut a.grads {
            g.fill(0.0);
        }
        Ok(())
    }

    /// One sequence of `steps` with the attached rule and teacher — the one front door for it
    /// (trainer, `simulate`, `grad`, benches, tests): `begin_sequence`, `run`, `end_sequence`;
    /// then the sequence's spikes per neuron are added into `counts` (resized to the network's
    /// shape), if given, for the batch's regularizer.
    pub fn run_sequence(&mut self, steps: u64, counts: Option<&mut Vec<Vec<u64>>>) -> Result<()> {
        self.begin_sequence()?;
        self.run(steps, None)?;
        self.end_sequence(steps)?;
        if let Some(counts) = counts {
            self.add_spike_counts(counts);
        }
        Ok(())
    }

    /// Add this sequence's spikes per neuron (counted while a rule is attached) into `counts`,
    /// grown (never shrunk) to one row per population and one entry per counted neuron.
    pub fn add_spike_counts(&self, counts: &mut Vec<Vec<u64>>) {
        let c = self.neuron_spike_counts();
        if counts.len() < c.len() {
            counts.resize(c.len(), Vec::new());
        }
        for (acc, c) in counts.iter_mut().zip(c) {
            if acc.len() < c.len() {
                acc.resize(c.len(), 0);
            }
            for (a, &x) in acc.iter_mut().zip(c) {
                *a += u64::from(x);
            }
        }
    }

    /// End a batch of the one sequence just run (`steps` long): the rule sees its spike counts.
    pub fn end_batch_of_one(&mut self, steps: u64) -> Result<()> {
        let mut counts = Vec::new();
        self.add_spike_counts(&mut counts);
        self.end_batch(1, steps, &counts)
    }

    /// Tell the rules a sequence starts (each snapshots its plastic weights).
    pub fn begin_sequence(&mut self) -> Result<()> {
        for a in &mut self.learn.rules {
            a.inst.sequence_start(&self.net)?;
        }
        Ok(())
    }

    /// Tell the rules, in attach order, the sequence ended (gradient rules compute their
    /// gradients here).
    pub fn end_sequence(&mut self, steps: u64) -> Result<()> {
        for a in &mut self.learn.rules {
            a.inst.sequence_end(
                &mut self.net,
                steps,
                &self.learn.errors,
                &mut a.grads,
                &mut a.bias_grads,
            )?;
            let d = a.inst.diagnostics(eligo_plugin::abi::SCOPE_SEQUENCE)?;
            a.diagnostics.add_sequence(&d);
        }
        Ok(())
    }

    /// The first attached rule's diagnostics since the last
    /// [`Simulation::clear_diagnostics`]; see [`Simulation::rule_diagnostics`].
    pub fn diagnostics(&self) -> &Diagnostics {
        self.rule_diagnostics(0)
    }

    /// Rule `k`'s (attach order) diagnostics since the last [`Simulation::clear_diagnostics`]
    /// (none if there is no rule `k`).
    pub fn rule_diagnostics(&self, k: usize) -> &Diagnostics {
        self.learn
            .rules
            .get(k)
            .map_or(&NO_DIAGNOSTICS, |a| &a.diagnostics)
    }

    /// Forget the diagnostics collected so far, of every rule (a new batch).
    pub fn clear_diagnostics(&mut self) {
        for a in &mut self.learn.rules {
            a.diagnostics = Diagnostics::default();
        }
    }

    /// Spikes of every neuron since the last reset, per population (counted while a rule is
    /// attached).
    pub fn neuron_spike_counts(&self) -> &[Vec<u32>] {
        &self.learn.neuron_counts
    }

    /// End of a batch of `sequences` sequences of `steps` steps, whose spikes per neuron were
    /// `counts` (summed over the batch): each rule, in attach order, adds its batch-level terms
    /// to its gradients.
    pub fn end_batch(&mut self, sequences: u64, steps: u64, counts: &[Vec<u64>]) -> Result<()> {
        if self.learn.rules.is_empty() {
            return Ok(());
        }
        let denom = (sequences.max(1) * steps.max(1)) as f64;
        let rates: Vec<Vec<f32>> = counts
            .iter()
            .map(|c| c.iter().map(|&n| (n as f64 / denom) as f32).collect())
            .collect();
        for a in &mut self.learn.rules {
            a.inst.batch_end(
                &mut self.net,
                sequences,
                steps,
                &rates,
                &mut a.grads,
                &mut a.bias_grads,
            )?;
            a.diagnostics.batch = a.inst.diagnostics(eligo_plugin::abi::SCOPE_BATCH)?;
        }
        Ok(())
    }

    /// Restore the first attached rule's state (from a checkpoint); see
    /// [`Simulation::load_rule_states`].
    pub fn load_rule_state(&mut self, bytes: &[u8]) -> Result<()> {
        match self.learn.rules.first_mut() {
            Some(a) => a.inst.load_state(bytes),
            None => Ok(()),
        }
    }

    /// Every attached rule's own state, in attach order (for a checkpoint).
    pub fn save_rule_states(&self) -> Result<Vec<Vec<u8>>> {
        self.learn
            .rules
            .iter()
            .map(|a| a.inst.save_state())
            .collect()
    }

    /// Restore every attached rule's state from [`Simulation::save_rule_states`]' output: one
    /// entry per rule, in attach order.
    pub fn load_rule_states(&mut self, states: &[Vec<u8>]) -> Result<()> {
        if states.len() != self.learn.rules.len() {
            return Err(Error::input(
                "rule states",
                states.len(),
                format!(
                    "the run has {} rules; a checkpoint holds one state per rule",
                    self.learn.rules.len()
                ),
                "resume with the same rules in the same order",
            ));
        }
        for (a, s) in self.learn.rules.iter_mut().zip(states) {
            a.inst.load_state(s)?;
        }
        Ok(())
    }

    /// Replace the weights of projection `j` (same length; the structure never changes).
    pub fn set_weights(&mut self, j: usize, w: &[f32]) {
        self.routes.uniform_w[j] = None;
        self.net.projections[j].weights.copy_from_slice(w);
    }

    /// Bias gradients of readout populations accumulated by the first attached rule (a
    /// gradient rule); see [`Simulation::rule_bias_grads`].
    pub fn bias_grads(&self) -> &[Vec<f32>] {
        self.rule_bias_grads(0)
    }

    /// Bias gradients per population accumulated by rule `k` (attach order; empty buffers for
    /// non-readouts and direct rules; nothing if there is no rule `k`).
    pub fn rule_bias_grads(&self, k: usize) -> &[Vec<f32>] {
        self.learn.rules.get(k).map_or(&[], |a| &a.bias_grads)
    }

    /// Replace rule `k`'s accumulated weight and bias gradients and its diagnostics with
    /// another copy's (a training lane run by another process: its results swapped in). The
    /// arrays must have the lengths of this simulation's.
    pub fn set_rule_results(
        &mut self,
        k: usize,
        grads: Vec<Vec<f32>>,
        bias_grads: Vec<Vec<f32>>,
        diagnostics: Diagnostics,
    ) -> Result<()> {
        let bad = |what: &str| {
            Error::input(
                "gradients",
                what,
                "another rank's gradients do not fit this network",
                "run the same eligo and the same arguments on every rank",
            )
        };
        let a = self
            .learn
            .rules
            .get_mut(k)
            .ok_or_else(|| bad("no such rule"))?;
        let same = |x: &[Vec<f32>], y: &[Vec<f32>]| {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| a.len() == b.len())
        };
        if !same(&a.grads, &grads) || !same(&a.bias_grads, &bias_grads) {
            return Err(bad("lengths"));
        }
        a.grads = grads;
        a.bias_grads = bias_grads;
        a.diagnostics = diagnostics;
        Ok(())
    }

    /// Zero every rule's accumulated weight and bias gradients.
    pub fn zero_grads(&mut self) {
        for a in &mut self.learn.rules {
            for g in a.grads.iter_mut().chain(a.bias_grads.iter_mut()) {
                g.fill(0.0);
            }
        }
    }

    /// Compute the readout error of every step with `teacher` (training), or stop (`None`).
    /// Errors are passed to the rule at each step and kept for the end of the sequence.
    pub fn set_teacher(&mut self, teacher: Option<Teacher>) -> Result<()> {
        if let Some(t) = &teacher {
            let ok = self.net.populations.get(t.population).is_some_and(|p| {
                matches!(p.model, ModelSpec::Readout(_)) && p.size as usize == t.n_out
            });
            if !ok {
                return Err(Error::input(
                    "teacher.population",
                    t.population,
                    format!("must be a readout population of {} neurons", t.n_out),
                    "",
                ));
            }
            if self.parts.len() != 1 {
                return Err(Error::input(
                    "--threads",
                    self.parts.len(),
                    "training runs each sequence on one thread",
                    "",
                ));
            }
        }
        self.learn.teacher = teacher;
        self.learn.errors.clear();
        Ok(())
    }

    /// The teacher (with the loss accumulated so far).
    pub fn teacher(&self) -> Option<&Teacher> {
        self.learn.teacher.as_ref()
    }

    /// Readout errors of the steps simulated since the teacher was set (`steps × n_out`).
    pub fn errors(&self) -> &[f32] {
        &self.learn.errors
    }

    /// Set the biases of readout population `pop` (one per neuron).
    pub fn set_biases(&mut self, pop: usize, b: &[f32]) {
        let start = self.net.populations[pop].start;
        for part in &mut self.parts {
            for (p, g0, len, blk) in &mut part.blocks {
                if *p == pop
                    && let Block::Readout(r) = blk
                {
                    let lo = (*g0 - start) as usize;
                    r.b.copy_from_slice(&b[lo..lo + *len as usize]);
                }
            }
        }
    }
}
