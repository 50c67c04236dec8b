//! Event-driven e-prop: record spikes and pseudo-derivatives during the sequence, then one
//! backward pass per neuron and one pass over the recorded spikes' rows.

use eligo_plugin::rows::Piece;
use eligo_plugin::{Grads, Step};

use crate::net::{Net, Proj, Rec};
use crate::reg::Reg;

/// Recording of one sequence.
pub struct Event {
    /// Per recurrent population: `psi[t * n + j]`.
    psi: Vec<Vec<f32>>,
    /// Spikes `(step, neuron)` of every population that is presynaptic to a plastic projection.
    spikes: Vec<Vec<(u64, u32)>>,
    steps: u64,
}

impl Event {
    /// Empty recording for `net`.
    pub fn new(net: &Net) -> Self {
        let n_pops = net
            .projs
            .iter()
            .map(|p| p.pre + 1)
            .chain(net.rec.iter().map(|r| r.pop + 1))
            .max()
            .unwrap_or(0);
        Event {
            psi: vec![Vec::new(); net.rec.len()],
            spikes: vec![Vec::new(); n_pops],
            steps: 0,
        }
    }

    /// Steps recorded since the last reset.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Forget the last sequence.
    pub fn reset(&mut self) {
        self.psi.iter_mut().for_each(Vec::clear);
        self.spikes.iter_mut().for_each(Vec::clear);
        self.steps = 0;
    }

    /// Record one step.
    pub fn record(&mut self, net: &Net, step: &Step) {
        let t = step.step();
        for (r, psi) in net.rec.iter().zip(&mut self.psi) {
            psi.extend_from_slice(step.state(r.psi));
        }
        for (p, list) in self.spikes.iter_mut().enumerate() {
            if net.projs.iter().any(|q| q.pre == p) {
                list.extend(step.spikes(p).iter().map(|&i| (t, i)));
            }
        }
        self.steps += 1;
    }

    /// Backward pass and gradients, in one sweep from the last step to the first: at step `t`
    /// the adjoints of step `t + 1` are at hand, so the spikes emitted at `t` are applied then.
    /// Memory: the recorded `psi` (steps x neurons) and spikes; adjoints are one row each.
    /// `errors` are the readout errors of every step (the host's, or reward-based e-prop's);
    /// at each step of `restarts` (ascending) the traces restart: nothing of what comes later
    /// flows back past it (docs/eprop.md §14.4).
    pub fn finish(
        &mut self,
        net: &Net,
        errors: &[f32],
        restarts: &[u64],
        grads: &mut Grads,
        mut reg: Option<&mut Reg>,
    ) -> Result<(), String> {
        let t_len = self.steps as usize;
        let n_out = net.n_out;
        let mut restarts = restarts.iter().rev().peekable();
        if errors.len() != t_len * n_out {
            return Err(format!(
                "expected {} readout errors ({} steps x {n_out}), got {}",
                t_len * n_out,
                t_len,
                errors.len()
            ));
        }
        // readout biases: dE/db = sum_t err(t)
        let b = grads.biases(net.readout);
        if !b.is_empty() {
            for t in 0..t_len {
                for k in 0..n_out {
                    b[k] += errors[t * n_out + k];
                }
            }
        }
        // adjoint rows at t + 1: Ek (readout), and per recurrent population lam_v, lam_a for the
        // task signal and (regularizer) for the unit signal
        let mut ek = vec![0.0f64; n_out];
        let mut lv: Vec<Vec<f64>> = net.rec.iter().map(|r| vec![0.0; r.n]).collect();
        let mut la = lv.clone();
        // lam_v(t + 1) in f32, what the gradients add (converted once per neuron and step, not
        // once per synapse)
        let mut lv32: Vec<Vec<f32>> = net.rec.iter().map(|r| vec![0.0; r.n]).collect();
        let mut lk_scratch = vec![0.0f64; net.rec.iter().map(|r| r.n).max().unwrap_or(0)];
        let with_reg = reg.is_some();
        let mut pv = if with_reg { lv.clone() } else { Vec::new() };
        let mut pa = pv.clone();
        // per presynaptic population, how many of its recorded spikes are still to apply
        let mut left: Vec<usize> = self.spikes.iter().map(Vec::len).collect();
        for t in (0..t_len).rev() {
            // 1. spikes emitted at t reach v(t + 1): they take the adjoints of t + 1
            if t + 1 < t_len {
                for (pop, list) in self.spikes.iter().enumerate() {
                    while left[pop] > 0 && list[left[pop] - 1].0 as usize == t {
                        left[pop] -= 1;
                        let i = list[left[pop]].1 as usize;
                        for pr in net.projs.iter().filter(|p| p.pre == pop && p.plastic) {
                            let row = pr.indptr[i] as usize..pr.indptr[i + 1] as usize;
                            let g = grads.weights(pr.index);
                            match pr.post_rec {
                                Some(ri) => {
                                    let aux = reg
                                        .as_deref_mut()
                                        .map(|reg| (&mut reg.aux[pr.slot][..], &pv[ri][..]));
                                    add_row(pr, i, g, &lv32[ri], aux);
                                }
                                None if !g.is_empty() => {
                                    for s in row {
                                        g[s] += ek[pr.targets[s] as usize] as f32;
                                    }
                                }
                                None => {}
                            }
                        }
                    }
                }
            } else {
                // spikes of the last step reach nothing inside the sequence
                for (pop, list) in self.spikes.iter().enumerate() {
                    while left[pop] > 0 && list[left[pop] - 1].0 as usize == t {
                        left[pop] -= 1;
                    }
                }
            }
            // traces restart at t + 1: the adjoints of t + 1 took the spikes of t (they enter
            // v(t + 1) as the unroll's first input), and reach no further back
            if restarts.next_if(|&&r| r as usize == t + 1).is_some() {
                ek.fill(0.0);
                for row in lv
                    .iter_mut()
                    .chain(la.iter_mut())
                    .chain(pv.iter_mut())
                    .chain(pa.iter_mut())
                {
                    row.fill(0.0);
                }
            }
            // 2. adjoints of t from those of t + 1 (docs/eprop.md §7.3):
            //    Lk(t) = B Ek(t + 1)
            //    lam_a(t) = -beta psi Lk + (rho - psi beta) lam_a(t + 1)
            //    lam_v(t) = psi Lk + psi lam_a(t + 1) + alpha lam_v(t + 1)
            for (ri, (r, psi)) in net.rec.iter().zip(&self.psi).enumerate() {
                let reg_rows = if with_reg {
                    Some((&mut pv[ri][..], &mut pa[ri][..]))
                } else {
                    None
                };
                adjoint_step(
                    r,
                    &psi[t * r.n..(t + 1) * r.n],
                    &ek,
                    (&mut lv[ri], &mut la[ri], &mut lv32[ri]),
                    reg_rows,
                    &mut lk_scratch,
                );
            }
            // 3. Ek(t) = err(t) + kappa Ek(t + 1)
            for k in 0..n_out {
                ek[k] = f64::from(errors[t * n_out + k]) + net.kappa * ek[k];
            }
        }
        Ok(())
    }
}

/// A spike of presynaptic neuron `i` on its row of `pr`: `g[s] += lv[j]` (the loss) and
/// `aux[s] += pv[j]` (the regularizer) for each synapse `s` with target `j`, in one pass over
/// the row; runs of consecutive targets as slices (all-to-all rows are one or two runs).
/// Profile of `eligo train --task sine-waves --threads 1` (perf): `finish` was 52 % of the
/// samples with a gather per synapse.
fn add_row(pr: &Proj, i: usize, g: &mut [f32], lv: &[f32], mut aux: Option<(&mut [f64], &[f64])>) {
    let row = pr.indptr[i] as usize..pr.indptr[i + 1] as usize;
    let mut piece = |p: Piece| match p {
        Piece::Run { at, first, len } => {
            let (s, j) = (at, first as usize);
            if !g.is_empty() {
                add_into(&mut g[s..s + len], &lv[j..j + len]);
            }
            if let Some((aux, pv)) = aux.as_mut() {
                add_into(&mut aux[s..s + len], &pv[j..j + len]);
            }
        }
        Piece::Scattered(r) => match (g.is_empty(), aux.as_mut()) {
            (false, Some((aux, pv))) => {
                for s in r {
                    let j = pr.targets[s] as usize;
                    g[s] += lv[j];
                    aux[s] += pv[j];
                }
            }
            (false, None) => {
                for s in r {
                    g[s] += lv[pr.targets[s] as usize];
                }
            }
            (true, Some((aux, pv))) => {
                for s in r {
                    aux[s] += pv[pr.targets[s] as usize];
                }
            }
            (true, None) => {}
        },
    };
    match &pr.pieces {
        Some(pieces) => pieces.for_each(i, row, &mut piece),
        None => piece(Piece::Scattered(row)),
    }
}

/// `x += y` elementwise: a separate function so that the compiler sees two distinct slices of
/// one length and vectorizes (inside `add_row`'s closure it reloaded the pointers per element).
#[inline(never)]
fn add_into<T: Copy + std::ops::AddAssign>(x: &mut [T], y: &[T]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += *b;
    }
}

/// One step back of the adjoints of population `r` (`finish`, step 2), on rows of one length so
/// that the loop vectorizes (the profile of `eligo train --task sine-waves` had this loop at
/// 25 % with indexing through the per-population vectors); `lv32` gets `lam_v` in f32.
fn adjoint_step(
    r: &Rec,
    psi: &[f32],
    ek: &[f64],
    (lv, la, lv32): (&mut [f64], &mut [f64], &mut [f32]),
    reg: Option<(&mut [f64], &mut [f64])>,
    lk: &mut [f64],
) {
    let n = r.n;
    let n_out = ek.len();
    let (psi, beta, b) = (&psi[..n], &r.beta[..n], &r.b[..n * n_out]);
    let (lv, la, lv32) = (&mut lv[..n], &mut la[..n], &mut lv32[..n]);
    let (alpha, rho) = (r.alpha, r.rho);
    // Lk = B Ek, summed over k in order from -0.0 (as `Iterator::sum`), k outermost so that
    // the loops over j vectorize
    let lk = &mut lk[..n];
    lk.fill(-0.0);
    for (k, &e) in ek.iter().enumerate() {
        for j in 0..n {
            lk[j] += b[j * n_out + k] * e;
        }
    }
    for j in 0..n {
        let p = f64::from(psi[j]);
        let a_next = la[j];
        lv[j] = p * lk[j] + p * a_next + alpha * lv[j];
        la[j] = -beta[j] * p * lk[j] + (rho - p * beta[j]) * a_next;
        lv32[j] = lv[j] as f32;
    }
    if let Some((pv, pa)) = reg {
        // the regularizer's signal: 1, unfiltered by kappa
        let (pv, pa) = (&mut pv[..n], &mut pa[..n]);
        for j in 0..n {
            let p = f64::from(psi[j]);
            let a_next = pa[j];
            pv[j] = p + p * a_next + alpha * pv[j];
            pa[j] = -beta[j] * p + (rho - p * beta[j]) * a_next;
        }
    }
}
