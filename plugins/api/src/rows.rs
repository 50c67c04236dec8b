//! Walking a CSR row in pieces: runs of consecutive targets, which a loop can treat as slices
//! (vectorized, no gathers), and scattered rest.
//!
//! Rows of all-to-all and dense projections are one run (or two, around a missing
//! self-connection); rows of sparse random projections are scattered. Every target of the row is
//! in exactly one piece, in row order, so a loop that adds into per-target buffers gives the same
//! result bit for bit whichever way the row is cut.

use std::ops::Range;

/// A piece of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Positions `at .. at + len` of the row have the targets `first .. first + len`.
    Run {
        /// Position of the first synapse (index into the row's arrays).
        at: usize,
        /// Its target.
        first: u32,
        /// Number of synapses.
        len: usize,
    },
    /// Positions whose targets are not consecutive.
    Scattered(Range<usize>),
}

/// Pieces shorter than this are not looked for (a scatter is as fast).
const MIN_RUN: usize = 8;

/// True if `targets` is strictly increasing (the rows of a projection without multapses):
/// [`for_each_piece`] needs it.
pub fn strictly_increasing(targets: &[u32]) -> bool {
    targets.windows(2).all(|w| w[0] < w[1])
}

/// Calls `f` for the pieces of the row `targets` (strictly increasing, see
/// [`strictly_increasing`]), positions counted from `offset`, in row order.
///
/// A range whose targets span exactly its length is a run; one that spans more than twice its
/// length or is short is scattered; otherwise it is cut after its first run (found by binary
/// search) if that is long enough, else halved. A row with one gap (all-to-all without
/// self-connections) is two runs found with `log2(len)` comparisons.
pub fn for_each_piece(targets: &[u32], offset: usize, f: &mut impl FnMut(Piece)) {
    let n = targets.len();
    if n == 0 {
        return;
    }
    let span = (targets[n - 1] - targets[0]) as usize;
    if span == n - 1 {
        f(Piece::Run {
            at: offset,
            first: targets[0],
            len: n,
        });
    } else if n < 2 * MIN_RUN || span > 2 * n {
        f(Piece::Scattered(offset..offset + n));
    } else {
        // the first run's length: `targets[m] - targets[0] == m` holds up to the first gap and
        // never after it (strictly increasing), so it is a binary search
        let (mut first, mut hi) = (1, n);
        while first < hi {
            let m = first + (hi - first) / 2;
            if (targets[m] - targets[0]) as usize == m {
                first = m + 1;
            } else {
                hi = m;
            }
        }
        let h = if first >= MIN_RUN { first } else { n / 2 };
        for_each_piece(&targets[..h], offset, f);
        for_each_piece(&targets[h..], offset + h, f);
    }
}

/// The pieces of every row of a CSR projection, found once (the search was 10 % of `eligo
/// train --task evidence` when repeated for every spike). Positions are absolute synapse
/// indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowPieces {
    /// Row `i`'s pieces are `pieces[ptr[i]..ptr[i + 1]]`.
    ptr: Vec<u32>,
    /// `(first position, length, first target)`; the target is `u32::MAX` for a scattered
    /// piece.
    pieces: Vec<(u32, u32, u32)>,
    /// Synapses in runs.
    in_runs: usize,
}

impl RowPieces {
    /// The pieces of the rows `indptr` / `targets` (CSR), or `None` if a row's targets are not
    /// strictly increasing.
    pub fn new(indptr: &[u32], targets: &[u32]) -> Option<Self> {
        let mut rp = RowPieces {
            ptr: vec![0],
            pieces: Vec::new(),
            in_runs: 0,
        };
        for w in indptr.windows(2) {
            let (a, b) = (w[0] as usize, w[1] as usize);
            if !strictly_increasing(&targets[a..b]) {
                return None;
            }
            for_each_piece(&targets[a..b], a, &mut |p| match p {
                Piece::Run { at, first, len } => {
                    rp.pieces.push((at as u32, len as u32, first));
                    rp.in_runs += len;
                }
                Piece::Scattered(r) => {
                    rp.pieces.push((r.start as u32, r.len() as u32, u32::MAX));
                }
            });
            rp.ptr.push(rp.pieces.len() as u32);
        }
        Some(rp)
    }

    /// Synapses in runs (over all rows).
    pub fn in_runs(&self) -> usize {
        self.in_runs
    }

    /// Bytes held by the tables (row offsets and pieces).
    pub fn bytes(&self) -> usize {
        self.ptr.len() * 4 + self.pieces.len() * 12
    }

    /// Calls `f` for the pieces of row `row` within the synapse positions `within` (a part of
    /// the row, e.g. one thread's), clipped to it, in row order; `at` and ranges are absolute.
    #[inline]
    pub fn for_each(&self, row: usize, within: Range<usize>, f: &mut impl FnMut(Piece)) {
        let span = self.ptr[row] as usize..self.ptr[row + 1] as usize;
        for &(at, len, first) in &self.pieces[span] {
            let (at, end) = (at as usize, (at + len) as usize);
            let (lo, hi) = (at.max(within.start), end.min(within.end));
            if lo >= hi {
                continue;
            }
            if first == u32::MAX {
                f(Piece::Scattered(lo..hi));
            } else {
                f(Piece::Run {
                    at: lo,
                    first: first + (lo - at) as u32,
                    len: hi - lo,
                });
            }
        }
    }
}

/// A projection's synapses by postsynaptic neuron (the transpose of its CSR rows), for rules
/// that act when a target spikes (STDP's potentiation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByTarget {
    /// For target `j`: `ptr[j]..ptr[j + 1]` indexes `synapse` and `source`.
    pub ptr: Vec<u32>,
    /// Synapse index (position in the projection's arrays).
    pub synapse: Vec<u32>,
    /// Presynaptic neuron of that synapse.
    pub source: Vec<u32>,
}

impl ByTarget {
    /// The synapses of the CSR rows `indptr` / `targets` (targets below `n_post`) grouped by
    /// target, in row order within a target (a counting sort).
    pub fn new(indptr: &[u32], targets: &[u32], n_post: usize) -> Self {
        let mut ptr = vec![0u32; n_post + 1];
        for &t in targets {
            ptr[t as usize + 1] += 1;
        }
        for k in 0..n_post {
            ptr[k + 1] += ptr[k];
        }
        let mut fill = ptr.clone();
        let mut synapse = vec![0u32; targets.len()];
        let mut source = vec![0u32; targets.len()];
        for (i, w) in indptr.windows(2).enumerate() {
            for s in w[0] as usize..w[1] as usize {
                let t = targets[s] as usize;
                synapse[fill[t] as usize] = s as u32;
                source[fill[t] as usize] = i as u32;
                fill[t] += 1;
            }
        }
        ByTarget {
            ptr,
            synapse,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByTarget;

    #[test]
    fn by_target_lists_every_synapse_of_each_target_in_row_order() {
        // rows: 0 -> {1, 2}, 1 -> {}, 2 -> {0, 2}
        let t = ByTarget::new(&[0, 2, 2, 4], &[1, 2, 0, 2], 3);
        assert_eq!(t.ptr, [0, 1, 2, 4]);
        assert_eq!(t.synapse, [2, 0, 1, 3]);
        assert_eq!(t.source, [2, 0, 0, 2]);
    }

    use super::*;

    /// Every position once, in order; runs really consecutive.
    fn check(targets: &[u32]) -> (usize, usize) {
        let (mut next, mut runs, mut run_len) = (0, 0, 0);
        for_each_piece(targets, 0, &mut |p| match p {
            Piece::Run { at, first, len } => {
                assert_eq!(at, next);
                for m in 0..len {
                    assert_eq!(targets[at + m], first + m as u32);
                }
                next += len;
                runs += 1;
                run_len += len;
            }
            Piece::Scattered(r) => {
                assert_eq!(r.start, next);
                assert!(!r.is_empty());
                next = r.end;
            }
        });
        assert_eq!(next, targets.len());
        (runs, run_len)
    }

    #[test]
    fn dense_rows_are_runs() {
        let full: Vec<u32> = (5..105).collect();
        assert_eq!(check(&full), (1, 100));
        // all-to-all without the self-connection of neuron 37: two runs, nothing scattered
        let gap: Vec<u32> = (0..100).filter(|&j| j != 37).collect();
        assert_eq!(check(&gap), (2, 99));
        for j in [0, 1, 50, 98, 99] {
            let gap: Vec<u32> = (0..100).filter(|&x| x != j).collect();
            let (runs, len) = check(&gap);
            assert!(
                runs <= 3 && len >= 99 - 2 * MIN_RUN,
                "gap {j}: {runs} runs, {len}"
            );
        }
    }

    #[test]
    fn sparse_and_odd_rows() {
        let sparse: Vec<u32> = (0..80).map(|k| 50 * k + 3).collect();
        assert_eq!(check(&sparse), (0, 0));
        assert_eq!(check(&[]), (0, 0));
        assert_eq!(check(&[7]), (1, 1));
        // pseudo-random dense-ish rows: the walk is always complete and in order
        let mut x = 12345u64;
        for _ in 0..200 {
            let mut row = Vec::new();
            for j in 0..300u32 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                if (x >> 33) % 10 < 8 {
                    row.push(j);
                }
            }
            check(&row);
        }
        assert!(strictly_increasing(&[1, 2, 5]));
        assert!(!strictly_increasing(&[1, 2, 2]));
    }

    #[test]
    fn row_pieces_clip_to_any_part_of_a_row() {
        // rows: all-to-all without self-connections (0..3), a sparse row, an empty row
        let mut targets: Vec<u32> = Vec::new();
        let mut indptr = vec![0u32];
        for i in 0..3u32 {
            targets.extend((0..40).filter(|&j| j != 10 + i));
            indptr.push(targets.len() as u32);
        }
        targets.extend([3, 50, 900]);
        indptr.push(targets.len() as u32);
        indptr.push(targets.len() as u32);
        let rp = RowPieces::new(&indptr, &targets).unwrap();
        assert_eq!(rp.in_runs(), 3 * 39);
        for row in 0..5 {
            let (a, b) = (indptr[row] as usize, indptr[row + 1] as usize);
            for lo in a..=b {
                for hi in lo..=b {
                    // every position of lo..hi once, in order, runs really consecutive
                    let mut next = lo;
                    rp.for_each(row, lo..hi, &mut |p| match p {
                        Piece::Run { at, first, len } => {
                            assert_eq!(at, next);
                            for m in 0..len {
                                assert_eq!(targets[at + m], first + m as u32);
                            }
                            next += len;
                        }
                        Piece::Scattered(r) => {
                            assert_eq!(r.start, next);
                            next = r.end;
                        }
                    });
                    assert_eq!(next, hi.max(lo), "row {row}, {lo}..{hi}");
                }
            }
        }
        assert_eq!(RowPieces::new(&[0, 2], &[4, 4]), None);
    }
}
