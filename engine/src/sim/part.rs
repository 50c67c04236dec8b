//! A thread's share of the network (its neurons' state and input ring) and the slots through
//! which the threads of a multi-threaded run exchange each step's spikes.

use std::sync::Mutex;

use crate::neuron::Block;

/// One probe column owned by a part: (block index, index in block).
#[derive(Debug, Clone, Copy)]
pub(super) struct Column {
    pub(super) block: usize,
    pub(super) i: usize,
    pub(super) var: usize,
}

/// A thread's share: neurons `lo..hi` with their state and input buffer.
pub(super) struct Part {
    pub(super) lo: u32,
    pub(super) n: usize,
    /// `(population, first gid, length, state)` in gid order.
    pub(super) blocks: Vec<(usize, u32, u32, Block)>,
    /// `R` slots × 2 channels × `n` neurons (on huge pages where the kernel allows,
    /// [`super::huge`]).
    pub(super) ring: Vec<f32>,
    pub(super) spikes: Vec<u32>,
    pub(super) events: u64,
    pub(super) pop_spikes: Vec<u64>,
    pub(super) columns: Vec<Column>,
    pub(super) vars: Vec<String>,
    pub(super) samples: Vec<f32>,
}

impl Part {
    /// Neurons `lo..lo + n` of a network of `n_pops` populations with `r` ring slots, no
    /// block yet.
    pub(super) fn new(lo: u32, n: usize, r: usize, n_pops: usize) -> Self {
        Part {
            lo,
            n,
            blocks: Vec::new(),
            ring: super::huge::zeroed(r * 2 * n),
            spikes: Vec::new(),
            events: 0,
            pop_spikes: vec![0; n_pops],
            columns: Vec::new(),
            vars: Vec::new(),
            samples: Vec::new(),
        }
    }

    /// Sample `var` of neuron `gid` (one of this part's) every step: the new column's index.
    pub(super) fn add_column(&mut self, gid: u32, var: &str) -> usize {
        let bi = self
            .blocks
            .iter()
            .position(|(_, g0, len, _)| *g0 <= gid && gid < *g0 + *len)
            .expect("every neuron belongs to a block");
        let var = match self.vars.iter().position(|v| *v == var) {
            Some(v) => v,
            None => {
                self.vars.push(var.to_string());
                self.vars.len() - 1
            }
        };
        self.columns.push(Column {
            block: bi,
            i: (gid - self.blocks[bi].1) as usize,
            var,
        });
        self.columns.len() - 1
    }

    pub(super) fn update(&mut self, t: u64, r: usize) {
        let n = self.n;
        let slot = &mut self.ring[(t % r as u64) as usize * 2 * n..][..2 * n];
        let (exc, inh) = slot.split_at_mut(n);
        self.spikes.clear();
        for (pop, gid0, _, block) in &mut self.blocks {
            let off = (*gid0 - self.lo) as usize;
            let before = self.spikes.len();
            block.update(t, &mut exc[off..], &mut inh[off..], *gid0, &mut self.spikes);
            self.pop_spikes[*pop] += (self.spikes.len() - before) as u64;
        }
        for c in &self.columns {
            let v = self.blocks[c.block].3.var(&self.vars[c.var], c.i);
            self.samples.push(v.unwrap_or(f32::NAN));
        }
    }
}

/// The double-buffered spike slots of a multi-threaded run: thread `k` publishes step `t`'s
/// spikes into `[t % 2][k]`; after the barrier every thread gathers all of them in thread
/// (= global id) order.
pub(super) struct Slots([Vec<Mutex<Vec<u32>>>; 2]);

impl Slots {
    pub(super) fn new(k: usize) -> Self {
        Slots(std::array::from_fn(|_| {
            (0..k).map(|_| Mutex::new(Vec::new())).collect()
        }))
    }

    /// Swap thread `k`'s spikes of step `t` into its slot.
    pub(super) fn publish(&self, t: u64, k: usize, spikes: &mut Vec<u32>) {
        let mut slot = self.0[(t & 1) as usize][k].lock().expect("no panics");
        std::mem::swap(&mut *slot, spikes);
    }

    /// Every thread's spikes of step `t` into `all`.
    pub(super) fn gather(&self, t: u64, all: &mut Vec<u32>) {
        all.clear();
        for s in &self.0[(t & 1) as usize] {
            all.extend_from_slice(&s.lock().expect("no panics"));
        }
    }
}

/// Lock a part (a poisoned lock only means another thread panicked; the panic is reported).
pub(super) fn lock_part(m: &Mutex<Part>) -> std::sync::MutexGuard<'_, Part> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
