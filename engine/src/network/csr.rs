//! A projection's synapses laid out as compressed sparse rows straight from its connection
//! rule's draws, without a list of `(pre, post, weight, delay)` triples or a sort of them.
//!
//! How depends on the order the rule draws in ([`DrawOrder`]):
//! - `Sorted` (`all_to_all`, `fixed_probability`): rows come in order, targets ascending, so
//!   each synapse is appended to the final arrays as it is drawn (one pass, no transient).
//! - `Rows` (`fixed_outdegree`): appended the same way, then each row sorted by target.
//! - `ByTarget`, `Any` (`fixed_indegree`, `fixed_total_number`, `list`): the first pass counts
//!   each row's synapses and keeps the draws (up to [`PLACE_BUFFER`] synapses, 14 bytes each),
//!   then each synapse goes into its row's next free slot (draw order within a row, so the rows
//!   of `fixed_indegree` come out with ascending targets), `Any` then sorts each row by target.
//!   A projection beyond the buffer is drawn a second time from the same stream (the generator
//!   is cloned) instead. Transient memory: the kept draws and one 4-byte cursor per
//!   presynaptic neuron.
//!
//! Every way gives exactly what [`Projection::from_triples`] makes of the rule's
//! [`ConnectRule::draw`] (rows by pre, targets ascending, repeated pairs in draw order; one
//! delay for the projection when all its synapses share it), which the tests check.

use rand_xoshiro::Xoshiro256PlusPlus;

use super::connect::{ConnectRule, Delay, DrawOrder, WeightDist};
use super::projection::{Delays, Projection, Receptor};

/// A rule's draw, everything [`ConnectRule::draw_each`] takes.
pub struct Draw<'a> {
    /// The rule.
    pub rule: &'a ConnectRule,
    /// Presynaptic and postsynaptic population sizes.
    pub sizes: (u32, u32),
    /// Leave out `pre == post`.
    pub no_self: bool,
    /// Weight distribution.
    pub weight: &'a WeightDist,
    /// Delay of each synapse.
    pub delay: Delay,
    /// Targets kept (indices in the postsynaptic population).
    pub keep: std::ops::Range<u32>,
}

/// The rows of a projection before it is named.
pub struct Rows {
    indptr: Vec<u32>,
    targets: Vec<u32>,
    weights: Vec<f32>,
    delays: Delays,
}

impl Rows {
    /// The projection `name` from population `pre` to `post`.
    pub fn into_projection(
        self,
        name: String,
        (pre, post): (usize, usize),
        receptor: Receptor,
    ) -> Projection {
        Projection {
            name,
            pre,
            post,
            receptor,
            indptr: self.indptr,
            targets: self.targets,
            weights: self.weights,
            delays: self.delays,
        }
    }
}

/// Draw `d` from `rng` into rows. `Err(n)`: the projection would hold `n > u32::MAX`
/// synapses.
pub fn draw_rows(d: &Draw, rng: Xoshiro256PlusPlus) -> Result<Rows, u64> {
    draw_rows_keeping(d, rng, PLACE_BUFFER)
}

/// [`draw_rows`] keeping at most `buffer` draws of a rule drawn by target.
fn draw_rows_keeping(d: &Draw, rng: Xoshiro256PlusPlus, buffer: usize) -> Result<Rows, u64> {
    match d.rule.order() {
        DrawOrder::Sorted => append(d, rng, false),
        DrawOrder::Rows => append(d, rng, true),
        DrawOrder::ByTarget => place(d, rng, false, buffer),
        DrawOrder::Any => place(d, rng, true, buffer),
    }
}

/// Per-synapse delays while they are all equal: only the first is kept.
struct DelayCol {
    first: Option<u16>,
    per: Vec<u16>,
}

impl DelayCol {
    fn new() -> Self {
        DelayCol {
            first: None,
            per: Vec::new(),
        }
    }

    /// Record the delay of synapse `n` (all earlier ones recorded).
    #[inline]
    fn push(&mut self, n: usize, d: u16, reserve: usize) {
        match self.first {
            None => self.first = Some(d),
            Some(f) if self.per.is_empty() && d == f => {}
            Some(f) => {
                if self.per.is_empty() {
                    self.per.reserve(reserve.max(n + 1));
                    self.per.resize(n, f);
                }
                self.per.push(d);
            }
        }
    }

    fn finish(self) -> Delays {
        if self.per.is_empty() {
            Delays::Uniform(self.first.unwrap_or(1))
        } else {
            Delays::PerSynapse(self.per)
        }
    }
}

/// The synapses expected from `d`, with room for a fluctuation of 8 standard deviations.
fn expected(d: &Draw) -> usize {
    let (n_pre, n_post) = d.sizes;
    let all = d.rule.expected_synapses(n_pre, n_post, d.no_self);
    let kept =
        f64::from(d.keep.end.min(n_post).saturating_sub(d.keep.start)) / f64::from(n_post.max(1));
    let n = all * kept;
    (n + 8.0 * n.sqrt() + 16.0).min(f64::from(u32::MAX)) as usize
}

/// `Sorted` and `Rows`: append in draw order; `sort` each row by target after.
fn append(d: &Draw, mut rng: Xoshiro256PlusPlus, sort: bool) -> Result<Rows, u64> {
    let n_pre = d.sizes.0 as usize;
    let cap = expected(d);
    let mut indptr: Vec<u32> = Vec::with_capacity(n_pre + 1);
    indptr.push(0);
    let mut targets: Vec<u32> = Vec::with_capacity(cap);
    let mut weights: Vec<f32> = Vec::with_capacity(cap);
    let mut delays = DelayCol::new();
    let mut total = 0u64;
    d.rule.draw_each(
        d.sizes,
        d.no_self,
        d.weight,
        d.delay,
        d.keep.clone(),
        &mut rng,
        &mut |i, j, w, dl| {
            total += 1;
            if total > u64::from(u32::MAX) {
                return;
            }
            // rows before and up to `i` start here
            while indptr.len() <= i as usize {
                indptr.push(targets.len() as u32);
            }
            delays.push(targets.len(), dl, cap);
            targets.push(j);
            weights.push(w);
        },
    );
    if total > u64::from(u32::MAX) {
        return Err(total);
    }
    indptr.resize(n_pre + 1, targets.len() as u32);
    let mut delays = delays.finish();
    if sort {
        sort_rows(&indptr, &mut targets, &mut weights, &mut delays);
    }
    Ok(Rows {
        indptr,
        targets,
        weights,
        delays,
    })
}

/// The most synapses `place` keeps from its first pass (14 bytes each: 0.9 GB) to place them
/// without drawing again; a larger projection is drawn twice.
pub const PLACE_BUFFER: usize = 1 << 26;

/// `ByTarget` and `Any`: count each row's synapses while keeping the first `buffer` draws, then place each synapse in its row, from the kept draws if they are all of them,
/// else from a second draw of the same stream; `sort` each row by target after.
fn place(d: &Draw, rng: Xoshiro256PlusPlus, sort: bool, buffer: usize) -> Result<Rows, u64> {
    let n_pre = d.sizes.0 as usize;
    let mut count = vec![0u32; n_pre + 1];
    let mut delays = DelayCol::new();
    let mut total = 0u64;
    let mut uniform = true;
    let cap = expected(d).min(buffer);
    let mut kept: (Vec<u32>, Vec<u32>, Vec<f32>, Vec<u16>) = (
        Vec::with_capacity(cap),
        Vec::with_capacity(cap),
        Vec::with_capacity(cap),
        Vec::new(),
    );
    d.rule.draw_each(
        d.sizes,
        d.no_self,
        d.weight,
        d.delay,
        d.keep.clone(),
        &mut rng.clone(),
        &mut |i, j, w, dl| {
            total += 1;
            if total <= u64::from(u32::MAX) {
                count[i as usize + 1] += 1;
                // whether every delay is the same (a second pass draws the values again)
                match delays.first {
                    None => delays.first = Some(dl),
                    Some(f) => uniform &= dl == f,
                }
            }
            if total <= buffer as u64 {
                kept.0.push(i);
                kept.1.push(j);
                kept.2.push(w);
                kept.3.push(dl);
            } else if !kept.0.is_empty() {
                kept = Default::default();
            }
        },
    );
    if total > u64::from(u32::MAX) {
        return Err(total);
    }
    for i in 0..n_pre {
        count[i + 1] += count[i];
    }
    let indptr = count;
    let n = total as usize;
    let mut targets = vec![0u32; n];
    let mut weights = vec![0f32; n];
    let mut per = if uniform { Vec::new() } else { vec![0u16; n] };
    let mut next: Vec<u32> = indptr[..n_pre].to_vec();
    let mut put = |i: u32, j: u32, w: f32, dl: u16| {
        let at = next[i as usize] as usize;
        next[i as usize] += 1;
        targets[at] = j;
        weights[at] = w;
        if !uniform {
            per[at] = dl;
        }
    };
    if kept.0.len() == n {
        for s in 0..n {
            put(kept.0[s], kept.1[s], kept.2[s], kept.3[s]);
        }
    } else {
        d.rule.draw_each(
            d.sizes,
            d.no_self,
            d.weight,
            d.delay,
            d.keep.clone(),
            &mut rng.clone(),
            &mut put,
        );
    }
    drop((next, kept));
    let mut delays = if uniform {
        Delays::Uniform(delays.first.unwrap_or(1))
    } else {
        Delays::PerSynapse(per)
    };
    if sort {
        sort_rows(&indptr, &mut targets, &mut weights, &mut delays);
    }
    Ok(Rows {
        indptr,
        targets,
        weights,
        delays,
    })
}

/// Sort every row by target, stably (repeated pairs keep their order), weights and delays
/// along.
fn sort_rows(indptr: &[u32], targets: &mut [u32], weights: &mut [f32], delays: &mut Delays) {
    let mut per = match delays {
        Delays::PerSynapse(v) => Some(v.as_mut_slice()),
        Delays::Uniform(_) => None,
    };
    let mut row: Vec<(u32, f32, u16)> = Vec::new();
    for r in indptr.windows(2) {
        let (a, b) = (r[0] as usize, r[1] as usize);
        if targets[a..b].is_sorted() {
            continue;
        }
        row.clear();
        row.extend((a..b).map(|s| (targets[s], weights[s], per.as_ref().map_or(0, |p| p[s]))));
        row.sort_by_key(|s| s.0);
        for (k, &(t, w, dl)) in row.iter().enumerate() {
            targets[a + k] = t;
            weights[a + k] = w;
            if let Some(p) = per.as_mut() {
                p[a + k] = dl;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Every rule, with and without autapses, per-synapse and fixed delays, whole and in
    /// parts: the rows equal what sorting the rule's triples gives.
    #[test]
    fn rows_equal_the_sorted_triples() {
        let pairs: Vec<(u32, u32)> = (0..300u32).map(|k| (k * 7 % 40, k * 13 % 50)).collect();
        let rules = [
            ConnectRule::AllToAll,
            ConnectRule::FixedProbability { p: 0.1 },
            ConnectRule::FixedProbability { p: 1.0 },
            ConnectRule::FixedIndegree { k: 9 },
            ConnectRule::FixedOutdegree { k: 11 },
            ConnectRule::FixedTotalNumber { n: 2000 },
            ConnectRule::List {
                pairs: pairs.clone(),
                weights: None,
                delay_steps: None,
            },
            ConnectRule::List {
                pairs,
                weights: Some((0..300).map(|k| k as f32).collect()),
                delay_steps: Some((0..300).map(|k| 1 + k % 3).collect()),
            },
        ];
        let weights = [
            WeightDist::Constant(0.5),
            WeightDist::Normal {
                mean: 1.0,
                std: 0.3,
            },
        ];
        let delays = [Delay::Fixed(3), Delay::normal_ms(1.5, 0.75, 0.1).unwrap()];
        let mut checked = 0;
        for rule in &rules {
            for weight in &weights {
                for &delay in &delays {
                    for no_self in [false, true] {
                        for keep in [0..u32::MAX, 10..35, 0..0] {
                            let (sizes, seed) = ((40, 50), 17);
                            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
                            let syn =
                                rule.draw(sizes, no_self, weight, delay, keep.clone(), &mut rng);
                            let want = Projection::from_triples(
                                "p".into(),
                                (0, 1),
                                40,
                                Receptor::Exc,
                                syn,
                            );
                            let d = Draw {
                                rule,
                                sizes,
                                no_self,
                                weight,
                                delay,
                                keep: keep.clone(),
                            };
                            // kept draws, and a second pass past a small buffer
                            for buffer in [PLACE_BUFFER, 7] {
                                let rng = Xoshiro256PlusPlus::seed_from_u64(seed);
                                let got = draw_rows_keeping(&d, rng, buffer)
                                    .ok()
                                    .unwrap()
                                    .into_projection("p".into(), (0, 1), Receptor::Exc);
                                assert_eq!(got, want, "{rule:?} {weight:?} {delay:?} {keep:?}");
                            }
                            checked += usize::from(!want.is_empty());
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 128, "every draw but the empty parts has synapses");
    }
}
