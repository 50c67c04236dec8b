//! The backward pass of BPTT on plain arrays, generic over the float type: the plugin runs it
//! in `f32` on the engine's recordings, tests run it in `f64` on their own trajectories.
//!
//! Engine convention (every projection on the gradient path has a delay of 1 step), for
//! recurrent neuron `j` at step `t = 0 .. T-1`, all state 0 before step 0:
//!
//! ```text
//! v_j(t) = alpha_j v_j(t-1) + sum_i Win_ji s_i(t-1) + sum_i Wrec_ji z_i(t-1) - v_th_j z_j(t-1)
//! a_j(t) = rho_j a_j(t-1) + z_j(t-1)          z_j(t) = f(v_j(t) - v_th_j - beta_j a_j(t))
//! r_k(t) = kappa r_k(t-1) + sum_j Wout_kj z_j(t-1)      y_k(t) = r_k(t) + b_k
//! ```
//! with `dz_j(t)/dv_j(t) := psi_j(t)` and `dz_j(t)/da_j(t) := -beta_j psi_j(t)`. Given
//! `err_k(t) = dE/dy_k(t)` and, optionally, a constant `inject_j = dE/dz_j(t)` added at every
//! step (the firing-rate regularizer), [`backward`] computes, for `t = T-1 .. 0`
//! (every quantity at step `T` is 0):
//!
//! ```text
//! Ek_k(t)  = err_k(t) + kappa Ek_k(t+1)                                  (= dE/dr_k(t))
//! dz_j(t)  = inject_j + sum_k Wout_kj Ek_k(t+1)                          readout
//!          + sum_i Wrec_ij dv_i(t+1) - v_th_j dv_j(t+1)                  recurrence, reset
//!          + da_j(t+1)                                                   adaptation
//! dv_j(t)  = alpha_j dv_j(t+1) + psi_j(t) dz_j(t)
//! da_j(t)  = rho_j da_j(t+1) - beta_j psi_j(t) dz_j(t)
//! ```
//! and [`accumulate`] turns them into weight gradients: a presynaptic value `x_i(t)` (a spike,
//! or a soft `z`) adds `x_i(t) dv_j(t+1)` to `dE/dW_ji`, or `x_i(t) Ek_k(t+1)` to
//! `dE/dWout_ki`. (`dE/db_k = sum_t err_k(t)` needs no backward pass.)
//!
//! Options:
//! - `stop_z_gradients`: drop the recurrence and reset lines of `dz` (the gradient stops at
//!   `z(t-1)` in the recurrent input and in the reset, not in the adaptation): the authors'
//!   autodiff form of e-prop, equal to symmetric e-prop.
//! - `truncation = K > 0`: the sequence is cut into windows `[0, K), [K, 2K), ...` and no
//!   gradient flows from one window into an earlier one, i.e. every adjoint at step `t+1` is
//!   taken as 0 when `t+1` is a multiple of `K` — exactly what running the windows one after
//!   the other with the state `(v, a, z, r)` carried over but detached gives. Weights used at
//!   the first step of a window still get their gradient there (the presynaptic activity of
//!   the previous window is a constant). The readout filter is cut too.
//!
//! ```
//! use eligo_bptt::backward::{Activity, Network, Options, Path, accumulate, backward};
//!
//! // one input -> one LIF neuron -> one readout, 3 steps; the neuron is near threshold at
//! // step 1, and the loss only looks at y(2)
//! let w_out = [2.0f64];
//! let out = [Path { pre: 0, post: 0, indptr: &[0, 1][..], targets: &[0][..], weights: &w_out[..], pieces: None }];
//! let net = Network {
//!     alpha: &[0.9], rho: &[0.0], beta: &[0.0], v_th: &[0.6],
//!     kappa: 0.8, n_out: 1, recurrent: &[], readout: &out,
//! };
//! let psi = [0.0, 0.4, 0.0]; // psi(t), steps x neurons
//! let err = [0.0, 0.0, 1.0]; // dE/dy(t), steps x outputs
//! let adj = backward(&net, &psi, Some(&err), None, &Options::default());
//! // dE/dz(1) = Wout Ek(2) = 2, so dE/dv(1) = psi(1) * 2 = 0.8
//! assert!((adj.dv[1] - 0.8).abs() < 1e-12);
//! // an input spike at step 0 reached v(1): dE/dWin = dv(1)
//! let mut input = Activity::default();
//! input.push_step([(0u32, 1.0)]);
//! input.push_step([]);
//! input.push_step([]);
//! let mut g = [0.0];
//! accumulate(&mut g, &[0, 1], &[0], &input, &adj.dv, 1, 0);
//! assert!((g[0] - 0.8).abs() < 1e-12);
//! ```

use std::ops::{Add, AddAssign, Mul, Neg, Range, Sub};

use eligo_plugin::rows::{Piece, RowPieces};

/// The float types the backward pass runs in (`f32`, `f64`).
pub trait Real:
    Copy
    + PartialEq
    + Default
    + std::fmt::Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + 'static
{
    /// Zero.
    const ZERO: Self;
    /// Conversion from `f64` (rounded for `f32`).
    fn of(x: f64) -> Self;
    /// Conversion to `f64`.
    fn to_f64(self) -> f64;
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    fn of(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    fn of(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}

/// A projection on the gradient path, in compressed rows by presynaptic neuron.
#[derive(Debug, Clone, Copy)]
pub struct Path<'a, F> {
    /// Index of the first presynaptic neuron among all recurrent neurons.
    pub pre: usize,
    /// Index of the first postsynaptic neuron among all recurrent neurons (0 for the readout).
    pub post: usize,
    /// Row offsets, `n_pre + 1`.
    pub indptr: &'a [u32],
    /// Target of each synapse, relative to `post`.
    pub targets: &'a [u32],
    /// Weight of each synapse.
    pub weights: &'a [F],
    /// The rows' pieces ([`RowPieces`]), if rows are strictly increasing: runs of consecutive
    /// targets are then summed as dot products of slices (vectorized); `None`: a gather per
    /// synapse.
    pub pieces: Option<&'a RowPieces>,
}

/// The network as the backward pass sees it: every recurrent (LIF/ALIF) neuron numbered
/// `0 .. n_rec` across populations, per-neuron constants, and the projections among them
/// and to the readout.
#[derive(Debug, Clone, Copy)]
pub struct Network<'a, F> {
    /// Membrane decay per step, per neuron.
    pub alpha: &'a [F],
    /// Adaptation decay per step, per neuron (anything for `beta = 0`).
    pub rho: &'a [F],
    /// Adaptation strength, per neuron (0: LIF).
    pub beta: &'a [F],
    /// Threshold (and reset amount), per neuron.
    pub v_th: &'a [F],
    /// Readout decay per step.
    pub kappa: F,
    /// Number of readout neurons.
    pub n_out: usize,
    /// Projections from recurrent to recurrent neurons (plastic or not).
    pub recurrent: &'a [Path<'a, F>],
    /// Projections from recurrent neurons to the readout (plastic or not).
    pub readout: &'a [Path<'a, F>],
}

impl<F> Network<'_, F> {
    /// Number of recurrent neurons.
    pub fn n_rec(&self) -> usize {
        self.alpha.len()
    }
}

/// What to stop and where to cut.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Stop the gradient at `z(t-1)` in the recurrent input and the reset (not in the
    /// adaptation): e-prop.
    pub stop_z_gradients: bool,
    /// Window length of truncated BPTT in steps; 0: the whole sequence.
    pub truncation: usize,
}

/// Adjoints of one sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjoints<F> {
    /// `dv[t * n_rec + j] = dE/dv_j(t)`.
    pub dv: Vec<F>,
    /// `ek[t * n_out + k] = dE/dr_k(t)` (all zero without errors).
    pub ek: Vec<F>,
}

/// Backward pass over `T = psi.len() / n_rec` steps (see the module docs for the equations).
///
/// `psi` is `T × n_rec`, `errors` (`dE/dy`) is `T × n_out` (`None`: no loss through the
/// readout), `inject` (`None`: zero) is `n_rec` values added to `dE/dz_j(t)` at every step.
///
/// # Panics
/// If the shapes disagree.
pub fn backward<F: Real>(
    net: &Network<F>,
    psi: &[F],
    errors: Option<&[F]>,
    inject: Option<&[F]>,
    opts: &Options,
) -> Adjoints<F> {
    let n = net.n_rec();
    let n_out = net.n_out;
    assert!(
        net.rho.len() == n && net.beta.len() == n && net.v_th.len() == n,
        "per-neuron constants must all have n_rec = {n} values"
    );
    let t_len = psi.len().checked_div(n).unwrap_or(0);
    assert_eq!(psi.len(), t_len * n, "psi must be steps x n_rec");
    if let Some(e) = errors {
        assert_eq!(e.len(), t_len * n_out, "errors must be steps x n_out");
    }
    if let Some(r) = inject {
        assert_eq!(r.len(), n, "inject must have n_rec values");
    }
    let mut dv = vec![F::ZERO; t_len * n];
    let mut ek = vec![F::ZERO; t_len * n_out];
    // adjoints of step t+1 (0 at t+1 = T)
    let mut dv_next = vec![F::ZERO; n];
    let mut da_next = vec![F::ZERO; n];
    let mut ek_next = vec![F::ZERO; n_out];
    let mut dz = vec![F::ZERO; n];
    for t in (0..t_len).rev() {
        if opts.truncation > 0 && (t + 1) % opts.truncation == 0 {
            // step t+1 starts a window: nothing flows back across the boundary
            dv_next.fill(F::ZERO);
            da_next.fill(F::ZERO);
            ek_next.fill(F::ZERO);
        }
        match inject {
            Some(r) => dz.copy_from_slice(r),
            None => dz.fill(F::ZERO),
        }
        if errors.is_some() {
            for p in net.readout {
                add_rows(&mut dz[p.pre..], p, &ek_next);
            }
        }
        if !opts.stop_z_gradients {
            for p in net.recurrent {
                add_rows(&mut dz[p.pre..], p, &dv_next[p.post..]);
            }
            for j in 0..n {
                dz[j] += -(net.v_th[j] * dv_next[j]);
            }
        }
        let row = &psi[t * n..(t + 1) * n];
        let dv_t = &mut dv[t * n..(t + 1) * n];
        for j in 0..n {
            let g = row[j] * (dz[j] + da_next[j]);
            dv_t[j] = net.alpha[j] * dv_next[j] + g;
            da_next[j] = net.rho[j] * da_next[j] - net.beta[j] * g;
        }
        dv_next.copy_from_slice(dv_t);
        if let Some(e) = errors {
            let ek_t = &mut ek[t * n_out..(t + 1) * n_out];
            for k in 0..n_out {
                ek_t[k] = e[t * n_out + k] + net.kappa * ek_next[k];
            }
            ek_next.copy_from_slice(ek_t);
        }
    }
    Adjoints { dv, ek }
}

/// `acc[i] += sum_{s in row i} w[s] adj[target(s)]` for every presynaptic neuron `i` of `p`.
/// With row pieces, a run is a dot product of two slices in 8 partial sums (the profile of
/// `eligo train --task evidence --rule bptt`: this loop, one gather and one dependent add per
/// synapse, was 74 % of an iteration); the sum's rounding then differs from a left-to-right sum.
fn add_rows<F: Real>(acc: &mut [F], p: &Path<F>, adj: &[F]) {
    for (i, a) in acc
        .iter_mut()
        .take(p.indptr.len().saturating_sub(1))
        .enumerate()
    {
        let row = p.indptr[i] as usize..p.indptr[i + 1] as usize;
        let gather = |r: Range<usize>| {
            let mut sum = F::ZERO;
            for s in r {
                sum += p.weights[s] * adj[p.targets[s] as usize];
            }
            sum
        };
        *a += match p.pieces {
            None => gather(row),
            Some(pieces) => {
                let mut sum = F::ZERO;
                pieces.for_each(i, row, &mut |piece| {
                    sum += match piece {
                        Piece::Run { at, first, len } => {
                            let j = first as usize;
                            dot(&p.weights[at..at + len], &adj[j..j + len])
                        }
                        Piece::Scattered(r) => gather(r),
                    }
                });
                sum
            }
        };
    }
}

/// `sum_m x[m] y[m]` in 8 partial sums (so that it vectorizes), then added up.
#[inline(never)]
fn dot<F: Real>(x: &[F], y: &[F]) -> F {
    let mut part = [F::ZERO; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for k in 0..8 {
            part[k] += a[k] * b[k];
        }
    }
    for (k, (a, b)) in xr.iter().zip(yr).enumerate() {
        part[k] += *a * *b;
    }
    let mut sum = F::ZERO;
    for v in part {
        sum += v;
    }
    sum
}

/// Presynaptic activity of one population over a sequence: for each step the nonzero entries
/// `(neuron, value)` — spikes with value 1, or any real-valued `z`.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity<F> {
    /// `starts[t] .. starts[t+1]` are the entries of step `t`.
    pub starts: Vec<usize>,
    /// Neuron of each entry (within its population).
    pub neurons: Vec<u32>,
    /// Value of each entry.
    pub values: Vec<F>,
}

impl<F> Default for Activity<F> {
    fn default() -> Self {
        Activity {
            starts: vec![0],
            neurons: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl<F: Real> Activity<F> {
    /// Forget every step.
    pub fn clear(&mut self) {
        self.starts.truncate(1);
        self.neurons.clear();
        self.values.clear();
    }

    /// Append the entries of the next step.
    pub fn push_step(&mut self, entries: impl IntoIterator<Item = (u32, F)>) {
        for (i, x) in entries {
            self.neurons.push(i);
            self.values.push(x);
        }
        self.starts.push(self.neurons.len());
    }

    /// Number of steps recorded.
    pub fn steps(&self) -> usize {
        self.starts.len() - 1
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.starts.capacity() * std::mem::size_of::<usize>()
            + self.neurons.capacity() * 4
            + self.values.capacity() * std::mem::size_of::<F>()
    }
}

/// Add the gradient of one projection: for every synapse `s` of row `i` (rows by presynaptic
/// neuron, like the weights), `grad[s] += sum_t x_i(t) adj[(t+1) * stride + offset +
/// target(s)]`. Use `adj = dv, stride = n_rec, offset =` the first postsynaptic neuron for a
/// projection into recurrent neurons, and `adj = ek, stride = n_out, offset = 0` for the
/// readout.
///
/// # Panics
/// If `grad` is shorter than the synapses, or an entry addresses a missing row.
pub fn accumulate<F: Real>(
    grad: &mut [F],
    indptr: &[u32],
    targets: &[u32],
    pre: &Activity<F>,
    adj: &[F],
    stride: usize,
    offset: usize,
) {
    if stride == 0 {
        return;
    }
    let t_len = adj.len() / stride;
    for t in 0..pre.steps().min(t_len.saturating_sub(1)) {
        let a = &adj[(t + 1) * stride + offset..(t + 2) * stride];
        for e in pre.starts[t]..pre.starts[t + 1] {
            let (i, x) = (pre.neurons[e] as usize, pre.values[e]);
            for s in indptr[i] as usize..indptr[i + 1] as usize {
                grad[s] += x * a[targets[s] as usize];
            }
        }
    }
}
