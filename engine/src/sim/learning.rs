//! Learning inside the step loop: the attached rule, the teacher (the readout error of each
//! step), and the gradient buffers and spike counts they fill. A rule sees every population's
//! state whatever the thread count; teachers (training) run in single-thread simulations, as
//! training runs sequences in parallel instead.

use crate::error::Result;
use crate::network::Network;
use crate::neuron::Block;
use crate::optim::Teacher;
use crate::plugin::{RuleInstance, StepData};

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

/// The membrane potentials of a block (empty for neurons without one).
fn membrane(b: &Block) -> &[f32] {
    match b {
        Block::Lif(x) => &x.v,
        Block::Alif(x) => &x.v,
        _ => &[],
    }
}
