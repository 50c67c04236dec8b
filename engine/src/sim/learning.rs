//! Learning inside the step loop: the attached rule, the teacher (the readout error of each
//! step), and the gradient buffers and spike counts they fill. A rule sees every population's
//! state whatever the thread count; teachers (training) run in single-thread simulations, as
//! training runs sequences in parallel instead.

use eligo_plugin::OutputKind;

use super::simulation::Simulation;
use crate::error::{Error, Result};
use crate::network::Network;
use crate::neuron::{Block, ModelSpec};
use crate::plugin::{RuleInstance, StepData};
use crate::train::Teacher;

/// The learning state of a simulation.
pub(super) struct Learning {
    /// A learning rule seeing every step.
    pub rule: Option<RuleInstance>,
    /// Gradient buffers of a gradient rule, one per projection (empty for direct rules).
    pub grads: Vec<Vec<f32>>,
    /// Spikes of the current step per population (rule hook).
    pub pop_spikes: Vec<Vec<u32>>,
    /// Computes each step's readout error when training.
    pub teacher: Option<Teacher>,
    /// Readout errors of every step of the sequence (`steps × n_out`).
    pub errors: Vec<f32>,
    /// Bias gradients per population (readouts) of a gradient rule.
    pub bias_grads: Vec<Vec<f32>>,
    /// Spikes of every neuron since the last reset, per population (when a rule is attached).
    pub neuron_counts: Vec<Vec<u32>>,
    /// `psi` and `v` of populations split over threads, gathered for the rule each step.
    split_psi: Vec<Vec<f32>>,
    split_v: Vec<Vec<f32>>,
}

impl Learning {
    /// Nothing attached, for `n_pops` populations.
    pub fn new(n_pops: usize) -> Self {
        Learning {
            rule: None,
            grads: Vec::new(),
            pop_spikes: vec![Vec::new(); n_pops],
            teacher: None,
            errors: Vec::new(),
            bias_grads: vec![Vec::new(); n_pops],
            neuron_counts: vec![Vec::new(); n_pops],
            split_psi: vec![Vec::new(); n_pops],
            split_v: vec![Vec::new(); n_pops],
        }
    }

    /// True if a rule or a teacher needs the step hook.
    pub fn active(&self) -> bool {
        self.rule.is_some() || self.teacher.is_some()
    }

    /// A new sequence: errors, spike counts and the loss so far are cleared.
    pub fn reset(&mut self) {
        self.errors.clear();
        for c in &mut self.neuron_counts {
            c.fill(0);
        }
        if let Some(t) = &mut self.teacher {
            t.value = 0.0;
            t.window_sum.fill(0.0);
        }
    }

    /// After step `t` (its `spikes`, ascending global ids): the teacher computes the readout
    /// error from the readouts' `y`, then the rule sees the step. `parts` are the threads'
    /// blocks in thread (= global id) order; `starts` the populations' first global ids (and
    /// the total).
    pub fn step(
        &mut self,
        t: u64,
        spikes: &[u32],
        parts: &[&[(usize, u32, u32, Block)]],
        starts: &[u32],
        net: &mut Network,
    ) -> Result<()> {
        let blocks = || parts.iter().flat_map(|b| b.iter());
        let mut err: &[f32] = &[];
        if let Some(teacher) = &mut self.teacher {
            let n = teacher.n_out;
            let at = self.errors.len();
            self.errors.resize(at + n, 0.0);
            let mut y = [0.0f32; 64];
            let mut y_big = Vec::new();
            let y: &mut [f32] = if n <= 64 {
                &mut y[..n]
            } else {
                y_big.resize(n, 0.0);
                &mut y_big
            };
            for (p, g0, len, b) in blocks() {
                if *p == teacher.population {
                    let lo = (*g0 - starts[*p]) as usize;
                    for i in 0..*len as usize {
                        y[lo + i] = b.var("y", i).unwrap_or(0.0);
                    }
                }
            }
            teacher.error(t, y, &mut self.errors[at..at + n]);
            err = &self.errors[at..at + n];
        }
        if let Some(rule) = &mut self.rule {
            for (p, list) in self.pop_spikes.iter_mut().enumerate() {
                let (lo, hi) = (starts[p], starts[p + 1]);
                list.clear();
                list.extend(
                    spikes
                        .iter()
                        .filter(|&&g| g >= lo && g < hi)
                        .map(|g| g - lo),
                );
                for &i in list.iter() {
                    self.neuron_counts[p][i as usize] += 1;
                }
            }
            let n_pops = self.pop_spikes.len();
            let mut psi: Vec<&[f32]> = vec![&[]; n_pops];
            let mut v: Vec<&[f32]> = vec![&[]; n_pops];
            // a population split over threads is gathered into one row (in id order)
            let mut pieces = vec![0usize; n_pops];
            for (p, _, _, _) in blocks() {
                pieces[*p] += 1;
            }
            for (p, buf) in self.split_psi.iter_mut().enumerate() {
                buf.clear();
                self.split_v[p].clear();
                if pieces[p] > 1 {
                    for (q, _, _, b) in blocks().filter(|(q, ..)| *q == p) {
                        debug_assert_eq!(*q, p);
                        buf.extend_from_slice(b.psi().unwrap_or(&[]));
                        self.split_v[p].extend_from_slice(membrane(b));
                    }
                }
            }
            for (p, _, _, b) in blocks() {
                if pieces[*p] == 1 {
                    psi[*p] = b.psi().unwrap_or(&[]);
                    v[*p] = membrane(b);
                }
            }
            for p in 0..n_pops {
                if pieces[p] > 1 {
                    psi[p] = &self.split_psi[p];
                    v[p] = &self.split_v[p];
                }
            }
            let data = StepData {
                step: t,
                spikes: &self.pop_spikes,
                psi: &psi,
                v: &v,
                error: err,
            };
            rule.step(net, &data, &mut self.grads, &mut self.bias_grads)?;
        }
        Ok(())
    }
}

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
        self.learn.rule = Some(rule);
        Ok(())
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
    /// An update that would make a weight non-finite is refused (see [`crate::train::Optimizer::step`]).
    pub fn apply_gradients(&mut self, opt: &mut crate::train::Optimizer) -> Result<()> {
        if self.learn.grads.iter().all(Vec::is_empty) {
            return Ok(());
        }
        self.routes.uniform_w.fill(None);
        let grads: Vec<&[f32]> = self.learn.grads.iter().map(Vec::as_slice).collect();
        let mut params: Vec<&mut [f32]> = self
            .net
            .projections
            .iter_mut()
            .map(|p| p.weights.as_mut_slice())
            .collect();
        if let Err(e) = opt.step(&mut params, &grads) {
            let name = format!("projection '{}'", self.net.projections[e.group].name);
            return Err(e.error(&name));
        }
        for g in &mut self.learn.grads {
            g.fill(0.0);
        }
        Ok(())
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
        match &mut self.learn.rule {
            Some(r) => r.sequence_end(
                &mut self.net,
                steps,
                &self.learn.errors,
                &mut self.learn.grads,
                &mut self.learn.bias_grads,
            ),
            None => Ok(()),
        }
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
        )
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

/// The membrane potentials of a block (empty for neurons without one).
fn membrane(b: &Block) -> &[f32] {
    match b {
        Block::Lif(x) => &x.v,
        Block::Alif(x) => &x.v,
        _ => &[],
    }
}
