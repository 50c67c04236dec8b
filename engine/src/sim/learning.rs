//! Learning inside the step loop: the attached rules, the teacher (the readout error of each
//! step), and the gradient buffers and spike counts they fill. A rule sees every population's
//! state whatever the thread count; teachers (training) run in single-thread simulations, as
//! training runs sequences in parallel instead.
//!
//! Several rules may be attached, each on its own projections (no projection is plastic for
//! two rules): each has its own gradient buffers and diagnostics, and every rule sees every
//! step, in attach order, its direct changes applied right after its hook (so a later rule's
//! hook sees an earlier rule's changes of this step in the weights).

use super::modulators::Modulators;
use crate::error::Result;
use crate::network::Network;
use crate::neuron::Block;
use crate::optim::Teacher;
use crate::plugin::{RuleInstance, StepData};

/// A rule attached to a simulation with what it fills.
pub(super) struct Attached {
    /// The rule.
    pub inst: RuleInstance,
    /// Gradient buffers of a gradient rule, one per projection (empty for direct rules).
    pub grads: Vec<Vec<f32>>,
    /// Bias gradients per population (readouts) of a gradient rule.
    pub bias_grads: Vec<Vec<f32>>,
    /// What the rule reported.
    pub diagnostics: Diagnostics,
}

/// The learning state of a simulation.
pub(super) struct Learning {
    /// The learning rules seeing every step, in attach order.
    pub rules: Vec<Attached>,
    /// Spikes of the current step per population (rule hook).
    pub pop_spikes: Vec<Vec<u32>>,
    /// Computes each step's readout error when training.
    pub teacher: Option<Teacher>,
    /// Readout errors of every step of the sequence (`steps × n_out`).
    pub errors: Vec<f32>,
    /// Spikes of every neuron since the last reset, per population (when a rule is attached).
    pub neuron_counts: Vec<Vec<u32>>,
    /// Per population and state variable: whether some attached rule reads it.
    pub wanted: Vec<Vec<bool>>,
    /// True if some rule reads some state variable.
    any_wanted: bool,
    /// Where each population's variables start in the flat state of a step (and the total).
    state_at: Vec<usize>,
    /// Blocks per population (reused each step).
    pieces: Vec<usize>,
    /// Variables gathered for the rule each step (populations split over threads, derived
    /// variables), per population and variable.
    gathered: Vec<Vec<Vec<f32>>>,
    /// The modulator channels.
    pub modulators: Modulators,
}

/// No diagnostics (no rule attached).
pub(super) static NO_DIAGNOSTICS: Diagnostics = Diagnostics {
    sequence_sums: Vec::new(),
    sequences: 0,
    batch: Vec::new(),
};

/// A rule's diagnostics over a batch: per-sequence values summed over the sequences run since
/// the last clear, and the last batch's values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics {
    /// Sums of the per-sequence values, by name in the order first reported.
    pub sequence_sums: Vec<(String, f64)>,
    /// Sequences whose values were added.
    pub sequences: u64,
    /// Values reported at the end of the batch.
    pub batch: Vec<(String, f64)>,
}

impl Diagnostics {
    /// Add one sequence's values.
    pub fn add_sequence(&mut self, values: &[(String, f64)]) {
        self.sequences += 1;
        for (n, v) in values {
            match self.sequence_sums.iter_mut().find(|(m, _)| m == n) {
                Some(e) => e.1 += v,
                None => self.sequence_sums.push((n.clone(), *v)),
            }
        }
    }

    /// Every value: per-sequence ones as means over the sequences, then the batch's.
    pub fn values(&self) -> Vec<(String, f64)> {
        let n = self.sequences.max(1) as f64;
        self.sequence_sums
            .iter()
            .map(|(k, v)| (k.clone(), v / n))
            .chain(self.batch.iter().cloned())
            .collect()
    }
}

impl Learning {
    /// Nothing attached, for `n_pops` populations.
    pub fn new(n_pops: usize) -> Self {
        Learning {
            rules: Vec::new(),
            pop_spikes: vec![Vec::new(); n_pops],
            teacher: None,
            errors: Vec::new(),
            neuron_counts: vec![Vec::new(); n_pops],
            wanted: vec![Vec::new(); n_pops],
            any_wanted: false,
            state_at: Vec::new(),
            pieces: Vec::new(),
            gathered: vec![Vec::new(); n_pops],
            modulators: Modulators::default(),
        }
    }

    /// Read, from now on, the state variables `requests` (of an attached rule) as well as those
    /// read so far (the union over the rules), on a network whose populations have `n_vars[p]`
    /// variables each.
    pub fn want(&mut self, requests: &[eligo_plugin::abi::StateRequest], n_vars: &[usize]) {
        for (p, &n) in n_vars.iter().enumerate() {
            self.wanted[p].resize(n, false);
            self.gathered[p].resize(n, Vec::new());
        }
        for r in requests {
            self.wanted[r.population as usize][r.variable as usize] = true;
        }
        self.any_wanted = self.wanted.iter().flatten().any(|&w| w);
        self.state_at = std::iter::once(0)
            .chain(self.wanted.iter().scan(0, |at, v| {
                *at += v.len();
                Some(*at)
            }))
            .collect();
    }

    /// Forget which state variables the rules read (before the rules are replaced).
    pub fn clear_wanted(&mut self) {
        for w in &mut self.wanted {
            w.fill(false);
        }
    }

    /// True if a rule or a teacher needs the step hook.
    /// Why the attached rules cannot run over several processes (`None`: they can). A rank
    /// holds only its neurons' state and the synapses onto them, and sees every spike: a rule
    /// that reads only spikes and changes its synapses directly gets exactly what it would in
    /// one process; one that reads state variables, needs a teacher or accumulates gradients
    /// does not yet.
    pub fn over_ranks(&self) -> Option<String> {
        if self.teacher.is_some() {
            return Some("a readout teacher".into());
        }
        if self.any_wanted {
            return Some("a rule that reads state variables".into());
        }
        self.rules
            .iter()
            .find(|a| a.inst.plugin().output != eligo_plugin::OutputKind::Direct)
            .map(|a| format!("the gradient rule '{}'", a.inst.plugin().name))
    }

    pub fn active(&self) -> bool {
        !self.rules.is_empty() || self.teacher.is_some()
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
    /// error from the readouts' `y`, then each rule sees the step, in attach order. If one
    /// fails, every rule's plastic weights go back to the sequence start. `parts` are the threads'
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
        let taught = self.teach(t, parts, starts);
        if self.rules.is_empty() {
            return Ok(());
        }
        self.modulators.advance(t);
        self.split_spikes(spikes, starts);
        self.gather(parts);
        let state = if self.any_wanted {
            state_views(&self.wanted, &self.gathered, parts)
        } else {
            // no allocation when no rule reads any state (e.g. STDP)
            Vec::new()
        };
        let state_at: &[usize] = if self.any_wanted { &self.state_at } else { &[] };
        let n_out = self.teacher.as_ref().map_or(0, |t| t.n_out);
        let err = if taught {
            &self.errors[self.errors.len() - n_out..]
        } else {
            &[]
        };
        let data = StepData {
            step: t,
            spikes: &self.pop_spikes,
            state: &state,
            state_at,
            error: err,
            modulators: &self.modulators.current,
        };
        let mut failed = None;
        for a in &mut self.rules {
            if let Err(e) = a.inst.step(net, &data, &mut a.grads, &mut a.bias_grads) {
                failed = Some(e);
                break;
            }
        }
        if let Some(e) = failed {
            for a in &self.rules {
                a.inst.restore(net);
            }
            return Err(e);
        }
        Ok(())
    }

    /// The teacher's readout error of step `t` (appended to `errors`), from the readouts' `y`;
    /// false without a teacher.
    fn teach(&mut self, t: u64, parts: &[&[(usize, u32, u32, Block)]], starts: &[u32]) -> bool {
        let Some(teacher) = &mut self.teacher else {
            return false;
        };
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
        for (p, g0, len, b) in parts.iter().flat_map(|b| b.iter()) {
            if *p == teacher.population {
                let lo = (*g0 - starts[*p]) as usize;
                for i in 0..*len as usize {
                    y[lo + i] = b.var("y", i).unwrap_or(0.0);
                }
            }
        }
        teacher.error(t, y, &mut self.errors[at..at + n]);
        true
    }

    /// This step's spikes per population (population-local indices), counted per neuron.
    fn split_spikes(&mut self, spikes: &[u32], starts: &[u32]) {
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
    }

    /// Copy into `gathered` the wanted variables that cannot be lent straight from a block: a
    /// variable is lent when one block holds the whole population and stores it as an array;
    /// else it is gathered (in id order). Nothing to do when no rule reads any state.
    fn gather(&mut self, parts: &[&[(usize, u32, u32, Block)]]) {
        if !self.any_wanted {
            return;
        }
        let blocks = || parts.iter().flat_map(|b| b.iter());
        let pieces = &mut self.pieces;
        pieces.clear();
        pieces.resize(self.wanted.len(), 0);
        for (p, _, _, _) in blocks() {
            pieces[*p] += 1;
        }
        for (p, vars) in self.wanted.iter().enumerate() {
            for (k, &w) in vars.iter().enumerate() {
                let buf = &mut self.gathered[p][k];
                buf.clear();
                let direct = pieces[p] == 1
                    && blocks().any(|(q, _, _, b)| *q == p && b.state_slice(k).is_some());
                if w && !direct {
                    for (_, _, len, b) in blocks().filter(|(q, ..)| *q == p) {
                        b.extend_state(k, *len as usize, buf);
                    }
                }
            }
        }
    }
}

/// The `wanted` variables of every population, flat in population then variable order, lent
/// from the blocks or taken from `gathered` (see [`Learning::gather`]); one allocation.
fn state_views<'a>(
    wanted: &[Vec<bool>],
    gathered: &'a [Vec<Vec<f32>>],
    parts: &[&'a [(usize, u32, u32, Block)]],
) -> Vec<&'a [f32]> {
    let mut state: Vec<&[f32]> = Vec::with_capacity(wanted.iter().map(Vec::len).sum());
    for (p, vars) in wanted.iter().enumerate() {
        for (k, &w) in vars.iter().enumerate() {
            state.push(if !w {
                &[]
            } else if gathered[p][k].is_empty() {
                parts
                    .iter()
                    .flat_map(|b| b.iter())
                    .find(|(q, ..)| *q == p)
                    .and_then(|(_, _, _, b)| b.state_slice(k))
                    .unwrap_or(&[])
            } else {
                &gathered[p][k]
            });
        }
    }
    state
}
