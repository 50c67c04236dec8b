//! Delivery: step 3 of the step loop ([`super::simulation`]). Thread `k` walks its part of the
//! outgoing rows of every spike of step `t` and adds each weight into ring slot
//! `(t + delay) % R` of the target. Rows of dense projections are walked in runs of
//! consecutive targets ([`eligo_plugin::rows`]): a run is a slice add the compiler vectorizes,
//! the rest a scatter; each target gets the same additions in the same order either way.

use eligo_plugin::rows::{Piece, RowPieces};

use super::part::Part;
use super::partition::RowSplits;
use crate::network::{Delays, Network};

/// Read-only routing tables shared by all threads.
pub(super) struct Routes {
    /// First gid of each population, plus the total at the end.
    pub(super) starts: Vec<u32>,
    /// Outgoing projections of each population.
    pub(super) out: Vec<Vec<usize>>,
    /// Row splits of each projection.
    pub(super) splits: Vec<RowSplits>,
    /// Global id of each projection's first target.
    pub(super) post_start: Vec<u32>,
    /// Ring slots.
    pub(super) r: usize,
    /// Per projection: its one weight when all its weights are equal and nothing can change
    /// them (no rule attached, weights not set since): delivery then reads no weight array.
    pub(super) uniform_w: Vec<Option<f32>>,
    /// Per projection: its rows' pieces, if rows are walked in runs (every row's targets
    /// strictly increasing, and at least half of the synapses in runs); sparse random rows go
    /// straight to the scatter (the piece search was 4 % of `eligo bench cuba --neurons 4000`
    /// for nothing).
    pub(super) pieces: Vec<Option<RowPieces>>,
}

impl Routes {
    /// The tables of `net` split over threads at `bounds`.
    pub(super) fn new(net: &Network, bounds: &[u32]) -> Self {
        let mut starts: Vec<u32> = net.populations.iter().map(|p| p.start).collect();
        starts.push(net.n_neurons());
        let mut out = vec![Vec::new(); net.populations.len()];
        for (j, proj) in net.projections.iter().enumerate() {
            out[proj.pre].push(j);
        }
        let post_start: Vec<u32> = net
            .projections
            .iter()
            .map(|p| net.populations[p.post].start)
            .collect();
        let splits = net
            .projections
            .iter()
            .zip(&post_start)
            .map(|(p, &s)| RowSplits::new(p, s, bounds))
            .collect();
        Routes {
            starts,
            out,
            splits,
            post_start,
            r: usize::from(net.max_delay()) + 1,
            uniform_w: net.projections.iter().map(uniform_weight).collect(),
            pieces: net.projections.iter().map(row_pieces).collect(),
        }
    }

    /// Bytes held by the tables that grow with the synapses (row splits and pieces).
    pub(super) fn bytes(&self) -> usize {
        let splits: usize = self.splits.iter().map(|s| s.at.len() * 4).sum();
        let pieces: usize = self.pieces.iter().flatten().map(RowPieces::bytes).sum();
        splits + pieces
    }

    #[inline]
    pub(super) fn population_of(&self, gid: u32) -> usize {
        self.starts.partition_point(|&s| s <= gid) - 1
    }
}

/// Hint the CPU to fetch the cache line at `p`.
#[inline(always)]
fn prefetch<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86_64 baseline, and a prefetch never faults or changes
    // memory; `p` is a valid reference anyway.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (p as *const T).cast::<i8>(),
        );
    }
}

/// Spikes ahead whose row offsets (`LOOKAHEAD`) and rows (`LOOKAHEAD / 2`) are prefetched
/// while the current spike is delivered: a spike's rows are in random places, so without it
/// every row costs a cache miss. `eligo bench cuba --neurons 40000`, 1 thread: 0.31 s without,
/// 0.27 s with (4, 8 and 16 measure the same within noise).
const LOOKAHEAD: usize = 8;

/// Walk `k`'s part of the rows of `spikes` (emitted at step `t`) into its ring.
pub(super) fn deliver(
    part: &mut Part,
    k: usize,
    net: &Network,
    routes: &Routes,
    spikes: &[u32],
    t: u64,
) {
    let n = part.n;
    let r = routes.r as u64;
    // spikes come in ascending ids: one population cursor per lookahead distance
    let (mut far, mut near, mut here) = (0, 0, 0);
    let starts = &routes.starts;
    let locate = |s: u32, pop: &mut usize| {
        if s < starts[*pop] {
            *pop = routes.population_of(s);
        }
        while starts[*pop + 1] <= s {
            *pop += 1;
        }
        (*pop, (s - starts[*pop]) as usize)
    };
    for (si, &s) in spikes.iter().enumerate() {
        if let Some(&ahead) = spikes.get(si + LOOKAHEAD) {
            let (pop, row) = locate(ahead, &mut far);
            for &pj in &routes.out[pop] {
                prefetch(&routes.splits[pj].at[row * routes.splits[pj].stride + k]);
            }
        }
        if let Some(&ahead) = spikes.get(si + LOOKAHEAD / 2) {
            let (pop, row) = locate(ahead, &mut near);
            for &pj in &routes.out[pop] {
                let range = routes.splits[pj].range(row, k);
                if !range.is_empty() {
                    let proj = &net.projections[pj];
                    prefetch(&proj.targets[range.start]);
                    // a single-weight projection's weights are never read
                    if routes.uniform_w[pj].is_none() {
                        prefetch(&proj.weights[range.start]);
                    }
                    if let Delays::PerSynapse(ds) = &proj.delays {
                        prefetch(&ds[range.start]);
                    }
                }
            }
        }
        let (pop, row) = locate(s, &mut here);
        for &pj in &routes.out[pop] {
            let range = routes.splits[pj].range(row, k);
            if range.is_empty() {
                continue;
            }
            let proj = &net.projections[pj];
            part.events += range.len() as u64;
            // target gid - lo, as a wrapping offset (targets in this range are >= lo)
            let shift = routes.post_start[pj].wrapping_sub(part.lo);
            let ch = proj.receptor as usize * n;
            let (targets, weights) = (&proj.targets[..], &proj.weights[..]);
            match &proj.delays {
                Delays::Uniform(d) => {
                    let base = ((t + u64::from(*d)) % r) as usize * 2 * n + ch;
                    let buf = &mut part.ring[base..base + n];
                    // uniform weights: half the bytes of a row (in `perf record eligo bench
                    // cuba --neurons 4000 --time-ms 5000`, delivery went from 28 % of the
                    // samples to 16-24 %)
                    let w = routes.uniform_w[pj];
                    let mut piece = |p: Piece| match p {
                        Piece::Run { at, first, len } => {
                            let o = first.wrapping_add(shift) as usize;
                            match w {
                                Some(w) => add_const(&mut buf[o..o + len], w),
                                None => add_slice(&mut buf[o..o + len], &weights[at..at + len]),
                            }
                        }
                        Piece::Scattered(q) => match w {
                            Some(w) => scatter_const(buf, &targets[q], shift, w),
                            None => scatter(buf, &targets[q.clone()], shift, &weights[q]),
                        },
                    };
                    match &routes.pieces[pj] {
                        Some(pieces) => pieces.for_each(row, range, &mut piece),
                        None => piece(Piece::Scattered(range)),
                    }
                }
                Delays::PerSynapse(ds) => {
                    let (now, stride) = ((t % r) as usize, 2 * n);
                    let ring = &mut part.ring[ch..];
                    let (tg, w, d) = (&targets[range.clone()], &weights[range.clone()], &ds[range]);
                    scatter_delayed(ring, (now, routes.r), stride, (tg, w, d), shift);
                }
            }
        }
    }
}

/// Synapses ahead of the current one whose ring cells [`scatter_delayed`] prefetches: the
/// cells of a row are in random places of a ring of tens of MB (the full-scale
/// microcircuit: 77 169 neurons × 2 channels × R slots × 4 B). `eligo bench microcircuit
/// --scale 1.0 --threads 1`, CPU seconds of the timed 1000 ms on a loaded machine: 13.0
/// without, 11.3 with (bench/README.md, `perf`).
const RING_AHEAD: usize = 8;

/// `ring[slot(d) * stride + target - lo] += w` per synapse, `slot(d) = (now + d) % r`
/// (`1 <= d < r`, so one subtraction instead of a division), row order kept.
#[inline(never)]
fn scatter_delayed(
    ring: &mut [f32],
    (now, r): (usize, usize),
    stride: usize,
    (targets, weights, delays): (&[u32], &[f32], &[u16]),
    shift: u32,
) {
    let cell = |i: usize| {
        let mut slot = now + usize::from(delays[i]);
        if slot >= r {
            slot -= r;
        }
        slot * stride + targets[i].wrapping_add(shift) as usize
    };
    let m = targets.len().min(weights.len()).min(delays.len());
    for i in 0..m {
        if i + RING_AHEAD < m {
            prefetch(&ring[cell(i + RING_AHEAD)]);
        }
        ring[cell(i)] += weights[i];
    }
}

/// The one weight of a projection whose weights are all equal.
pub(super) fn uniform_weight(p: &crate::network::Projection) -> Option<f32> {
    let w0 = *p.weights.first()?;
    p.weights
        .iter()
        .all(|w| w.to_bits() == w0.to_bits())
        .then_some(w0)
}

/// `buf[m] += w[m]`: a run of consecutive targets.
#[inline(never)]
fn add_slice(buf: &mut [f32], w: &[f32]) {
    for (b, w) in buf.iter_mut().zip(w) {
        *b += *w;
    }
}

/// `buf[m] += w`: a run of consecutive targets with one weight.
#[inline(never)]
fn add_const(buf: &mut [f32], w: f32) {
    for b in buf {
        *b += w;
    }
}

/// `buf[target - lo] += w` per synapse (`shift` = `post_start - lo`, wrapping).
#[inline(never)]
fn scatter(buf: &mut [f32], targets: &[u32], shift: u32, w: &[f32]) {
    for (&tg, &w) in targets.iter().zip(w) {
        buf[tg.wrapping_add(shift) as usize] += w;
    }
}

/// `buf[target - lo] += w` per synapse, one weight.
#[inline(never)]
fn scatter_const(buf: &mut [f32], targets: &[u32], shift: u32, w: f32) {
    for &tg in targets {
        buf[tg.wrapping_add(shift) as usize] += w;
    }
}

/// The pieces of `p`'s rows if they are worth walking in runs (see [`Routes::pieces`]).
pub(super) fn row_pieces(p: &crate::network::Projection) -> Option<RowPieces> {
    RowPieces::new(&p.indptr, &p.targets).filter(|rp| 2 * rp.in_runs() >= p.targets.len())
}
