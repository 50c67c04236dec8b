//! Splitting the neurons over threads.
//!
//! Thread `k` owns the contiguous global-id range `bounds[k]..bounds[k+1]`: those neurons' state,
//! their input ring buffer, and — through [`RowSplits`] — the synapses that end on them. Spike
//! sources are never split. Because ranges are contiguous and ordered, the concatenation of the
//! threads' spike lists is ascending in global id for every thread count, and each target's
//! inputs are summed in the same order: results are bit-identical for any `K`.

use crate::network::{Network, Projection};

/// Global-id boundaries of `k` threads (`k + 1` entries, non-decreasing).
pub fn bounds(net: &Network, k: usize) -> Vec<u32> {
    crate::network::split_ids(&net.populations, 0, net.n_neurons(), k)
}

/// For one projection: where each thread's part of each row starts. Entry `row * (k+1) + t` is
/// the first synapse of row `row` whose target belongs to thread `t`; entry `row * (k+1) + k` is
/// the row's end.
#[derive(Debug, Clone)]
pub struct RowSplits {
    /// `n_pre * (k + 1)` offsets.
    pub at: Vec<u32>,
    /// `k + 1`.
    pub stride: usize,
}

impl RowSplits {
    /// Compute the splits of `proj`, whose targets start at global id `post_start`.
    pub fn new(proj: &Projection, post_start: u32, bounds: &[u32]) -> Self {
        let stride = bounds.len();
        let k = stride - 1;
        let mut at = Vec::with_capacity(proj.n_pre() * stride);
        for row in 0..proj.n_pre() {
            let r = proj.row(row);
            let targets = &proj.targets[r.clone()];
            for &b in &bounds[..k] {
                let local = i64::from(b) - i64::from(post_start);
                let first = targets.partition_point(|&t| i64::from(t) < local);
                at.push((r.start + first) as u32);
            }
            at.push(r.end as u32);
        }
        RowSplits { at, stride }
    }

    /// Synapse range of thread `t` in row `row`.
    #[inline]
    pub fn range(&self, row: usize, t: usize) -> std::ops::Range<usize> {
        let i = row * self.stride + t;
        self.at[i] as usize..self.at[i + 1] as usize
    }
}
