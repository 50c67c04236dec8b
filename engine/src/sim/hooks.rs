//! The learning side of [`Simulation`]'s API: attaching a rule or a teacher, the sequence and
//! batch hooks, gradients, weights and biases.

use eligo_plugin::OutputKind;

use super::learning::Diagnostics;
use super::simulation::Simulation;
use crate::error::{Error, Result};
use crate::neuron::{Block, ModelSpec};
use crate::optim::Teacher;
use crate::plugin::RuleInstance;

impl Simulation {
    /// Let `rule` see every step from now on (and change weights). With several threads the
    /// rule runs on one of them after every part has delivered the step (see
    /// `Simulation::run`); results are the same for any thread count.
    pub fn set_rule(&mut self, rule: RuleInstance) -> Result<()> {
        // the rule may change any weight from now on: delivery reads the weight arrays
        self.routes.uniform_w.fill(None);
        self.learn.grads = match rule.plugin().output {
            OutputKind::Gradient => self
                .net
                .projections
                .iter()
                .map(|p| vec![0.0; p.len()])
                .collect(),
            OutputKind::Direct => self.net.projections.iter().map(|_| Vec::new()).collect(),
        };
        self.learn.bias_grads = self
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
        self.learn.rule = Some(rule);
        Ok(())
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

    /// The attached rule.
    pub fn rule(&self) -> Option<&RuleInstance> {
        self.learn.rule.as_ref()
    }

    /// Gradients accumulated by a gradient rule, one buffer per projection.
    pub fn grads(&self) -> &[Vec<f32>] {
        &self.learn.grads
    }

    /// Apply the accumulated gradients with `opt` (one group per projection), then zero them.
    /// An update that would make a weight non-finite is refused (see [`crate::optim::Optimizer::step`]).
    pub fn apply_gradients(&mut self, opt: &mut crate::optim::Optimizer) -> Result<()> {
        if self.learn.grads.iter().all(Vec::is_empty) {
            return Ok(());
        }
        self.routes.uniform_w.fill(None);
        let grads: Vec<&[f32]> = self.learn.grads.iter().map(Vec::as_slice).collect();
        let mut params = self.net.weights_mut();
        if let Err(e) = opt.step(&mut params, &grads) {
            let name = format!("projection '{}'", self.net.projections[e.group].name);
            return Err(e.error(&name));
        }
        for g in &mut self.learn.grads {
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

    /// Tell the rule a sequence starts (snapshots the plastic weights).
    pub fn begin_sequence(&mut self) -> Result<()> {
        match &mut self.learn.rule {
            Some(r) => r.sequence_start(&self.net),
            None => Ok(()),
        }
    }

    /// Tell the rule the sequence ended (gradient rules compute their gradients here).
    pub fn end_sequence(&mut self, steps: u64) -> Result<()> {
        let Some(r) = &mut self.learn.rule else {
            return Ok(());
        };
        r.sequence_end(
            &mut self.net,
            steps,
            &self.learn.errors,
            &mut self.learn.grads,
            &mut self.learn.bias_grads,
        )?;
        let d = r.diagnostics(eligo_plugin::abi::SCOPE_SEQUENCE)?;
        self.learn.diagnostics.add_sequence(&d);
        Ok(())
    }

    /// The attached rule's diagnostics since the last [`Simulation::clear_diagnostics`].
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.learn.diagnostics
    }

    /// Forget the diagnostics collected so far (a new batch).
    pub fn clear_diagnostics(&mut self) {
        self.learn.diagnostics = Diagnostics::default();
    }

    /// Spikes of every neuron since the last reset, per population (counted while a rule is
    /// attached).
    pub fn neuron_spike_counts(&self) -> &[Vec<u32>] {
        &self.learn.neuron_counts
    }

    /// End of a batch of `sequences` sequences of `steps` steps, whose spikes per neuron were
    /// `counts` (summed over the batch): the rule adds its batch-level terms to the gradients.
    pub fn end_batch(&mut self, sequences: u64, steps: u64, counts: &[Vec<u64>]) -> Result<()> {
        let Some(r) = &mut self.learn.rule else {
            return Ok(());
        };
        let denom = (sequences.max(1) * steps.max(1)) as f64;
        let rates: Vec<Vec<f32>> = counts
            .iter()
            .map(|c| c.iter().map(|&n| (n as f64 / denom) as f32).collect())
            .collect();
        r.batch_end(
            &mut self.net,
            sequences,
            steps,
            &rates,
            &mut self.learn.grads,
            &mut self.learn.bias_grads,
        )?;
        self.learn.diagnostics.batch = r.diagnostics(eligo_plugin::abi::SCOPE_BATCH)?;
        Ok(())
    }

    /// Restore the attached rule's state (from a checkpoint).
    pub fn load_rule_state(&mut self, bytes: &[u8]) -> Result<()> {
        match &mut self.learn.rule {
            Some(r) => r.load_state(bytes),
            None => Ok(()),
        }
    }

    /// Replace the weights of projection `j` (same length; the structure never changes).
    pub fn set_weights(&mut self, j: usize, w: &[f32]) {
        self.routes.uniform_w[j] = None;
        self.net.projections[j].weights.copy_from_slice(w);
    }

    /// Bias gradients of readout populations accumulated by a gradient rule.
    pub fn bias_grads(&self) -> &[Vec<f32>] {
        &self.learn.bias_grads
    }

    /// Zero the accumulated weight and bias gradients.
    pub fn zero_grads(&mut self) {
        for g in self
            .learn
            .grads
            .iter_mut()
            .chain(self.learn.bias_grads.iter_mut())
        {
            g.fill(0.0);
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
