//! Connection rules and weight distributions, all drawn from a seeded generator.
//!
//! | rule                | parameters      | meaning                                                   |
//! |---------------------|-----------------|-----------------------------------------------------------|
//! | `all_to_all`        |                 | every pre to every post                                   |
//! | `fixed_probability` | `p` in [0, 1]   | each pair independently with probability `p`              |
//! | `fixed_indegree`    | `k`             | each post gets `k` sources drawn uniformly (with repeats) |
//! | `fixed_outdegree`   | `k`             | each pre gets `k` targets drawn uniformly (with repeats)  |
//! | `fixed_total_number`| `n`             | `n` pairs drawn uniformly among all (with repeats), as NEST's rule |
//! | `list`              | `pairs`, optional `weights`, `delay_steps` | explicit synapses              |
//!
//! Self-connections (`pre == post` within one population) are left out unless `allow_autapses`
//! (`fixed_total_number` then redraws the pair).
//! Weights: `constant` (`value`), `normal` (`mean`, `std`; optional `min`, `max`: a draw outside
//! `[min, max]` is redrawn, as NEST's `redraw`, e.g. a sign constraint), `uniform` (`low`,
//! `high`).
//! Delays ([`Delay`]): one for the projection, or per synapse normal (`mean`, `std`, in steps)
//! redrawn below one step and rounded to the nearest step, as NEST draws
//! `redraw(normal(mean, std), min = dt)` in ms and rounds to the grid. Per synapse, the weight is
//! drawn first, then the delay.
//! `fixed_probability` walks each row with geometric skips, so its cost is proportional to the
//! number of synapses made, not to `n_pre * n_post`.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Normal};

use crate::error::{Error, Result};

/// How pairs are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectRule {
    /// Every pair.
    AllToAll,
    /// Each pair with probability `p`.
    FixedProbability {
        /// Connection probability.
        p: f64,
    },
    /// `k` sources per target.
    FixedIndegree {
        /// In-degree.
        k: u32,
    },
    /// `k` targets per source.
    FixedOutdegree {
        /// Out-degree.
        k: u32,
    },
    /// `n` pairs, each pre and post drawn uniformly and independently (multapses allowed):
    /// the in-degree of a target is binomial `(n, 1 / n_post)`.
    FixedTotalNumber {
        /// Number of synapses.
        n: u64,
    },
    /// Explicit `(pre, post)` pairs with optional per-synapse weights and delays.
    List {
        /// Pairs.
        pairs: Vec<(u32, u32)>,
        /// Weights, one per pair (overrides the weight distribution).
        weights: Option<Vec<f32>>,
        /// Delays in steps, one per pair (overrides the projection's delay).
        delay_steps: Option<Vec<u16>>,
    },
}

/// Weight distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WeightDist {
    /// Every weight the same.
    Constant(f64),
    /// Normal with mean and standard deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation (>= 0).
        std: f64,
    },
    /// Normal with mean and standard deviation, redrawn until in `[min, max]`.
    BoundedNormal {
        /// Mean of the normal before redrawing.
        mean: f64,
        /// Standard deviation (> 0).
        std: f64,
        /// Smallest value kept.
        min: f64,
        /// Largest value kept.
        max: f64,
    },
    /// Uniform in `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound (> low).
        high: f64,
    },
}

impl WeightDist {
    /// Validate the distribution's parameters.
    pub fn validate(&self) -> Result<()> {
        // weights are stored as f32: every parameter, and every draw, must be finite there
        let fin = |name: &str, v: f64| crate::limits::fits_f32(name, v).map(drop);
        match *self {
            WeightDist::Constant(v) => fin("value", v),
            WeightDist::Normal { mean, std } => {
                fin("mean", mean)?;
                fin("std", std)?;
                if std < 0.0 {
                    return Err(Error::input("std", std, "must be >= 0", ""));
                }
                // a draw beyond 10 standard deviations has probability below 1e-23
                if mean.abs() + 10.0 * std > f64::from(f32::MAX) {
                    return Err(Error::input(
                        "std",
                        std,
                        format!(
                            "|mean| + 10 std must be at most 3.4e38 (weights are 32-bit floats); \
                             mean = {mean}"
                        ),
                        "",
                    ));
                }
                Ok(())
            }
            WeightDist::BoundedNormal {
                mean,
                std,
                min,
                max,
            } => {
                WeightDist::Normal { mean, std }.validate()?;
                if min.is_nan() || max.is_nan() || min > max {
                    return Err(Error::input(
                        "max",
                        max,
                        format!("must be a number at least min = {min}"),
                        "",
                    ));
                }
                // redrawing must end: at least ~1 draw in 1000 kept
                if std == 0.0 && !(min..=max).contains(&mean)
                    || std > 0.0 && normal_mass(mean, std, min, max) < 1e-3
                {
                    return Err(Error::input(
                        "min",
                        format!("[{min}, {max}]"),
                        format!(
                            "the normal (mean {mean}, std {std}) must put at least 0.1 % of its \
                             mass in [min, max]: draws outside are redrawn"
                        ),
                        "widen [min, max] or move the mean into it",
                    ));
                }
                Ok(())
            }
            WeightDist::Uniform { low, high } => {
                fin("low", low)?;
                fin("high", high)?;
                if high <= low {
                    return Err(Error::input(
                        "high",
                        high,
                        format!("must be greater than low = {low}"),
                        "",
                    ));
                }
                Ok(())
            }
        }
    }

    /// The mean of the distribution.
    pub fn mean(&self) -> f64 {
        match *self {
            WeightDist::Constant(v) => v,
            WeightDist::Normal { mean, .. } | WeightDist::BoundedNormal { mean, .. } => mean,
            WeightDist::Uniform { low, high } => 0.5 * (low + high),
        }
    }

    /// Draw one value.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f32 {
        match *self {
            WeightDist::Constant(v) => v as f32,
            WeightDist::Normal { mean, std } => {
                if std == 0.0 {
                    mean as f32
                } else {
                    Normal::new(mean, std).expect("validated").sample(rng) as f32
                }
            }
            WeightDist::BoundedNormal {
                mean,
                std,
                min,
                max,
            } => {
                if std == 0.0 {
                    return mean as f32;
                }
                let d = Normal::new(mean, std).expect("validated");
                loop {
                    let x = d.sample(rng);
                    if (min..=max).contains(&x) {
                        return x as f32;
                    }
                }
            }
            WeightDist::Uniform { low, high } => rng.random_range(low..high) as f32,
        }
    }
}

/// The mass of the normal `(mean, std > 0)` in `[min, max]`.
fn normal_mass(mean: f64, std: f64, min: f64, max: f64) -> f64 {
    let z = |x: f64| (x - mean) / (std * std::f64::consts::SQRT_2);
    0.5 * (libm::erf(z(max)) - libm::erf(z(min)))
}

/// The delay of each synapse of a projection, in steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Delay {
    /// Every synapse the same (>= 1).
    Fixed(u16),
    /// Normal (`mean`, `std` in steps), redrawn while below 1 step, rounded to the nearest step.
    Normal {
        /// Mean (steps).
        mean: f64,
        /// Standard deviation (steps, >= 0).
        std: f64,
    },
}

impl Delay {
    /// The normal delay of `mean_ms`, `std_ms` at step `dt_ms`, validated: `mean_ms` at least one
    /// step (so that redrawing below one step ends quickly), the largest likely draw
    /// (`mean + 10 std`) at most 65535 steps.
    pub fn normal_ms(mean_ms: f64, std_ms: f64, dt_ms: f64) -> Result<Delay> {
        if !mean_ms.is_finite() || mean_ms < dt_ms {
            return Err(Error::input(
                "mean",
                mean_ms,
                format!("the mean delay (ms) must be at least one step, dt = {dt_ms} ms"),
                format!("try mean = {dt_ms}"),
            ));
        }
        if !std_ms.is_finite() || std_ms < 0.0 {
            return Err(Error::input(
                "std",
                std_ms,
                "must be a number >= 0 (ms)",
                "",
            ));
        }
        let (mean, std) = (mean_ms / dt_ms, std_ms / dt_ms);
        if mean + 10.0 * std > f64::from(u16::MAX) {
            return Err(Error::input(
                "std",
                std_ms,
                format!(
                    "mean + 10 std must be at most 65535 steps of dt = {dt_ms} ms (delays are \
                     16-bit step counts); mean = {mean_ms} ms"
                ),
                "",
            ));
        }
        Ok(Delay::Normal { mean, std })
    }

    /// Draw one delay (no draw for a fixed delay).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u16 {
        match *self {
            Delay::Fixed(d) => d,
            Delay::Normal { mean, std } => {
                if std == 0.0 {
                    return mean.round().clamp(1.0, 65535.0) as u16;
                }
                let d = Normal::new(mean, std).expect("validated");
                loop {
                    let x: f64 = d.sample(rng);
                    if x >= 1.0 {
                        return x.round().min(65535.0) as u16;
                    }
                }
            }
        }
    }
}

impl ConnectRule {
    /// Validate against the population sizes.
    pub fn validate(&self, n_pre: u32, n_post: u32) -> Result<()> {
        match self {
            ConnectRule::FixedProbability { p } if !(0.0..=1.0).contains(p) => {
                Err(Error::input("p", p, "must be a probability in [0, 1]", ""))
            }
            ConnectRule::List {
                pairs,
                weights,
                delay_steps,
            } => {
                for (k, &(i, j)) in pairs.iter().enumerate() {
                    if i >= n_pre || j >= n_post {
                        return Err(Error::input(
                            format!("pairs[{k}]"),
                            format!("[{i}, {j}]"),
                            format!(
                                "pre must be below {n_pre} and post below {n_post} (population sizes)"
                            ),
                            "",
                        ));
                    }
                }
                let check_len = |name: &str, len: usize| {
                    if len != pairs.len() {
                        Err(Error::input(
                            name,
                            format!("{len} entries"),
                            format!("must have one entry per pair ({})", pairs.len()),
                            "",
                        ))
                    } else {
                        Ok(())
                    }
                };
                if let Some(w) = weights {
                    check_len("weights", w.len())?;
                    if let Some(k) = w.iter().position(|w| !w.is_finite()) {
                        return Err(Error::input(
                            format!("weights[{k}]"),
                            w[k],
                            "must be finite",
                            "",
                        ));
                    }
                }
                if let Some(d) = delay_steps {
                    check_len("delay_steps_list", d.len())?;
                    if let Some(k) = d.iter().position(|&d| d < 1) {
                        return Err(Error::input(
                            format!("delay_steps_list[{k}]"),
                            d[k],
                            "a delay must be at least 1 step",
                            "spikes of step t reach their targets at t + delay",
                        ));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Draw the synapses as `(pre, post, weight, delay)`, in draw order (see
    /// [`ConnectRule::draw_each`]).
    pub fn draw<R: Rng + ?Sized>(
        &self,
        sizes: (u32, u32),
        no_self: bool,
        weight: &WeightDist,
        delay: Delay,
        keep: std::ops::Range<u32>,
        rng: &mut R,
    ) -> Vec<(u32, u32, f32, u16)> {
        let mut out = Vec::new();
        self.draw_each(
            sizes,
            no_self,
            weight,
            delay,
            keep,
            rng,
            &mut |i, j, w, d| out.push((i, j, w, d)),
        );
        out
    }

    /// The order in which [`ConnectRule::draw_each`] hands out synapses.
    pub fn order(&self) -> DrawOrder {
        match self {
            ConnectRule::AllToAll | ConnectRule::FixedProbability { .. } => DrawOrder::Sorted,
            ConnectRule::FixedOutdegree { .. } => DrawOrder::Rows,
            ConnectRule::FixedIndegree { .. } => DrawOrder::ByTarget,
            ConnectRule::FixedTotalNumber { .. } | ConnectRule::List { .. } => DrawOrder::Any,
        }
    }

    /// Draw the synapses, handing each `(pre, post, weight, delay)` to `emit`. `no_self` leaves
    /// out `pre == post`. Only synapses onto targets `keep` (indices in the postsynaptic
    /// population) are handed out: every draw is still made, in the same order, so the synapses
    /// kept are exactly those of the whole projection that end in `keep` (how an MPI rank builds
    /// only its part). `fixed_indegree` draws target by target, so it stops at `keep.end`.
    #[allow(clippy::too_many_arguments)]
    pub fn draw_each<R: Rng + ?Sized>(
        &self,
        (n_pre, n_post): (u32, u32),
        no_self: bool,
        weight: &WeightDist,
        delay: Delay,
        keep: std::ops::Range<u32>,
        rng: &mut R,
        emit: &mut impl FnMut(u32, u32, f32, u16),
    ) {
        let skip = |i: u32, j: u32| no_self && i == j;
        // the weight, then the delay, is drawn whether the synapse is kept or not
        let mut push = |i: u32, j: u32, rng: &mut R| {
            let w = weight.sample(rng);
            let d = delay.sample(rng);
            if keep.contains(&j) {
                emit(i, j, w, d);
            }
        };
        match self {
            ConnectRule::AllToAll => {
                for i in 0..n_pre {
                    for j in (0..n_post).filter(|&j| !skip(i, j)) {
                        push(i, j, rng);
                    }
                }
            }
            ConnectRule::FixedProbability { p } => {
                if *p >= 1.0 {
                    return ConnectRule::AllToAll.draw_each(
                        (n_pre, n_post),
                        no_self,
                        weight,
                        delay,
                        keep,
                        rng,
                        emit,
                    );
                }
                if *p <= 0.0 {
                    return;
                }
                // j walks the row: the gap to the next synapse is geometric, drawn by inversion
                // (floor(ln U / ln(1-p)), U in (0, 1]). rand_distr's Geometric took 35 % of the
                // build of `eligo bench cuba --neurons 40000` (perf); this is 5x cheaper.
                let ln_q = (-p).ln_1p();
                let gap = |rng: &mut R| {
                    let u = 1.0 - rng.random::<f64>();
                    (u.ln() / ln_q).min(1e18) as u64
                };
                for i in 0..n_pre {
                    let mut j = gap(rng);
                    while j < u64::from(n_post) {
                        if !skip(i, j as u32) {
                            push(i, j as u32, rng);
                        }
                        j += 1 + gap(rng);
                    }
                }
            }
            ConnectRule::FixedIndegree { k } => {
                // nothing drawn for a later target is kept
                for j in 0..n_post.min(keep.end) {
                    let mut made = 0;
                    while made < *k {
                        let i = rng.random_range(0..n_pre);
                        if skip(i, j) {
                            if n_pre == 1 {
                                break;
                            }
                            continue;
                        }
                        push(i, j, rng);
                        made += 1;
                    }
                }
            }
            ConnectRule::FixedOutdegree { k } => {
                for i in 0..n_pre {
                    let mut made = 0;
                    while made < *k {
                        let j = rng.random_range(0..n_post);
                        if skip(i, j) {
                            if n_post == 1 {
                                break;
                            }
                            continue;
                        }
                        push(i, j, rng);
                        made += 1;
                    }
                }
            }
            ConnectRule::FixedTotalNumber { n } => {
                if n_pre == 0 || n_post == 0 || no_self && n_pre.max(n_post) == 1 {
                    return;
                }
                let mut made = 0;
                while made < *n {
                    let i = rng.random_range(0..n_pre);
                    let j = rng.random_range(0..n_post);
                    if skip(i, j) {
                        continue;
                    }
                    push(i, j, rng);
                    made += 1;
                }
            }
            ConnectRule::List {
                pairs,
                weights,
                delay_steps,
            } => {
                for (k, &(i, j)) in pairs.iter().enumerate() {
                    let w = weights
                        .as_ref()
                        .map_or_else(|| weight.sample(rng), |w| w[k]);
                    let d = delay_steps
                        .as_ref()
                        .map_or_else(|| delay.sample(rng), |d| d[k]);
                    if keep.contains(&j) {
                        emit(i, j, w, d);
                    }
                }
            }
        }
    }
}

/// The order in which a rule's synapses are drawn, which decides how they are laid out as rows
/// (`network::csr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrawOrder {
    /// By presynaptic neuron, targets ascending within a row: appended as they come.
    Sorted,
    /// By presynaptic neuron, targets in any order: appended, each row then sorted.
    Rows,
    /// By target, ascending: counted, then placed (each row's targets come ascending).
    ByTarget,
    /// Any: counted, placed, each row then sorted.
    Any,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn degrees(syn: &[(u32, u32, f32, u16)], n_pre: usize, n_post: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut out, mut inn) = (vec![0.0; n_pre], vec![0.0; n_post]);
        for s in syn {
            out[s.0 as usize] += 1.0;
            inn[s.1 as usize] += 1.0;
        }
        (out, inn)
    }

    fn mean_var(x: &[f64]) -> (f64, f64) {
        let m = x.iter().sum::<f64>() / x.len() as f64;
        let v = x.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (x.len() as f64 - 1.0);
        (m, v)
    }

    #[test]
    fn fixed_probability_degrees_are_binomial() {
        let (n_pre, n_post, p) = (1500u32, 1200u32, 0.05);
        for seed in 0..3 {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let syn = ConnectRule::FixedProbability { p }.draw(
                (n_pre, n_post),
                false,
                &WeightDist::Constant(1.0),
                Delay::Fixed(1),
                0..u32::MAX,
                &mut rng,
            );
            let (out, inn) = degrees(&syn, n_pre as usize, n_post as usize);
            for (deg, n_other) in [(&out, n_post), (&inn, n_pre)] {
                let (m, v) = mean_var(deg);
                let want_m = n_other as f64 * p;
                let want_v = want_m * (1.0 - p);
                let se_m = (want_v / deg.len() as f64).sqrt();
                assert!((m - want_m).abs() < 4.0 * se_m, "mean {m} vs {want_m}");
                // standard error of a sample variance ~ v * sqrt(2 / (n - 1)) (near-normal)
                let se_v = want_v * (2.0 / (deg.len() as f64 - 1.0)).sqrt();
                assert!((v - want_v).abs() < 4.0 * se_v, "var {v} vs {want_v}");
            }
        }
    }

    #[test]
    fn fixed_indegree_exact_in_binomial_out() {
        let (n_pre, n_post, k) = (800u32, 1000u32, 40u32);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let syn = ConnectRule::FixedIndegree { k }.draw(
            (n_pre, n_post),
            true,
            &WeightDist::Constant(1.0),
            Delay::Fixed(1),
            0..u32::MAX,
            &mut rng,
        );
        let (out, inn) = degrees(&syn, n_pre as usize, n_post as usize);
        assert!(inn.iter().all(|&d| d == k as f64));
        assert!(syn.iter().all(|s| s.0 != s.1), "autapse made");
        // each of the n_post * k draws picks a given pre with prob ~1/(n_pre - 1)
        let q = 1.0 / (n_pre as f64 - 1.0);
        let draws = n_post as f64 * k as f64;
        let (m, v) = mean_var(&out);
        let want_m = draws / n_pre as f64;
        let want_v = draws * q * (1.0 - q);
        assert!((m - want_m).abs() < 1e-9, "total is fixed");
        let se_v = want_v * (2.0 / (out.len() as f64 - 1.0)).sqrt();
        assert!((v - want_v).abs() < 4.0 * se_v, "var {v} vs {want_v}");
    }

    #[test]
    fn weights_follow_their_distribution() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let syn = ConnectRule::AllToAll.draw(
            (100, 100),
            false,
            &WeightDist::Normal {
                mean: 0.5,
                std: 0.2,
            },
            Delay::Fixed(1),
            0..u32::MAX,
            &mut rng,
        );
        let w: Vec<f64> = syn.iter().map(|s| s.2 as f64).collect();
        let (m, v) = mean_var(&w);
        assert!((m - 0.5).abs() < 4.0 * 0.2 / 100.0);
        assert!((v.sqrt() - 0.2).abs() < 0.01);
    }

    #[test]
    fn fixed_total_number_degrees_are_binomial() {
        // each of the n pairs picks a given post with probability 1 / n_post (and a given pre
        // with 1 / n_pre): in-degrees binomial (n, 1 / n_post), out-degrees (n, 1 / n_pre)
        let (n_pre, n_post, n) = (700u32, 900u32, 60_000u64);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
        let syn = ConnectRule::FixedTotalNumber { n }.draw(
            (n_pre, n_post),
            false,
            &WeightDist::Constant(1.0),
            Delay::Fixed(1),
            0..u32::MAX,
            &mut rng,
        );
        assert_eq!(syn.len() as u64, n);
        let (out, inn) = degrees(&syn, n_pre as usize, n_post as usize);
        for (deg, n_side) in [(&inn, n_post), (&out, n_pre)] {
            let q = 1.0 / f64::from(n_side);
            let (m, v) = mean_var(deg);
            assert!(
                (m - n as f64 * q).abs() < 1e-9,
                "the mean is fixed by the total"
            );
            let want_v = n as f64 * q * (1.0 - q);
            let se_v = want_v * (2.0 / (deg.len() as f64 - 1.0)).sqrt();
            assert!((v - want_v).abs() < 4.0 * se_v, "var {v} vs {want_v}");
        }
        // without autapses every drawn pair with pre == post is redrawn
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let syn = ConnectRule::FixedTotalNumber { n: 5000 }.draw(
            (30, 30),
            true,
            &WeightDist::Constant(1.0),
            Delay::Fixed(1),
            0..u32::MAX,
            &mut rng,
        );
        assert_eq!(syn.len(), 5000);
        assert!(syn.iter().all(|s| s.0 != s.1));
    }

    /// Standard normal distribution function.
    fn phi(x: f64) -> f64 {
        0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
    }

    #[test]
    fn normal_delays_match_the_redrawn_rounded_normal() {
        // P(d = k) = P(round(x) = k | x >= 1), x ~ N(mean, std): the closed form summed over k
        for (mean_ms, std_ms) in [(1.5, 0.75), (0.75, 0.375), (0.2, 0.15)] {
            let delay = Delay::normal_ms(mean_ms, std_ms, 0.1).unwrap();
            let Delay::Normal { mean, std } = delay else {
                panic!("normal")
            };
            let cdf = |x: f64| phi((x - mean) / std);
            let kept = 1.0 - cdf(1.0);
            let p = |k: u32| {
                let lo = if k == 1 { 1.0 } else { f64::from(k) - 0.5 };
                (cdf(f64::from(k) + 0.5) - cdf(lo)) / kept
            };
            let (want_m, want_m2) = (1..400).fold((0.0, 0.0), |(a, b), k| {
                (a + f64::from(k) * p(k), b + f64::from(k * k) * p(k))
            });
            let want_v = want_m2 - want_m * want_m;
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
            let n = 100_000;
            let d: Vec<f64> = (0..n).map(|_| f64::from(delay.sample(&mut rng))).collect();
            assert!(d.iter().all(|&d| d >= 1.0));
            let (m, v) = mean_var(&d);
            assert!(
                (m - want_m).abs() < 4.0 * (want_v / n as f64).sqrt(),
                "{mean_ms} ms: mean {m} vs {want_m} steps"
            );
            assert!((v / want_v - 1.0).abs() < 0.03, "var {v} vs {want_v}");
            // and the share of 1-step delays
            let ones = d.iter().filter(|&&d| d == 1.0).count() as f64 / n as f64;
            assert!((ones - p(1)).abs() < 4.0 * (p(1) / n as f64).sqrt() + 1e-9);
        }
    }

    #[test]
    fn bounded_normal_is_the_truncated_normal() {
        // E[x | x >= 0], x ~ N(mu, s): mu + s phi(a) / (1 - Phi(a)), a = -mu / s
        let (mu, s) = (0.5, 1.0);
        let w = WeightDist::BoundedNormal {
            mean: mu,
            std: s,
            min: 0.0,
            max: f64::INFINITY,
        };
        w.validate().unwrap();
        let a = -mu / s;
        let dens = (-0.5 * a * a).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let want = mu + s * dens / (1.0 - phi(a));
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(8);
        let x: Vec<f64> = (0..100_000)
            .map(|_| f64::from(w.sample(&mut rng)))
            .collect();
        assert!(x.iter().all(|&x| x >= 0.0));
        let (m, v) = mean_var(&x);
        assert!(
            (m - want).abs() < 4.0 * (v / x.len() as f64).sqrt(),
            "{m} vs {want}"
        );
        // a sign constraint on an inhibitory weight keeps every draw <= 0
        let inh = WeightDist::BoundedNormal {
            mean: -2.0,
            std: 0.2,
            min: f64::NEG_INFINITY,
            max: 0.0,
        };
        assert!((0..1000).all(|_| inh.sample(&mut rng) <= 0.0));
    }

    #[test]
    fn kept_synapses_are_those_of_the_whole_projection() {
        // a part (`keep`) gets exactly the whole projection's synapses onto its targets, with
        // the same weights and per-synapse delays
        let w = WeightDist::Normal {
            mean: 1.0,
            std: 0.3,
        };
        let delay = Delay::normal_ms(1.5, 0.75, 0.1).unwrap();
        for rule in [
            ConnectRule::FixedTotalNumber { n: 3000 },
            ConnectRule::FixedProbability { p: 0.1 },
            ConnectRule::FixedIndegree { k: 7 },
        ] {
            let draw = |keep| {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
                rule.draw((120, 150), true, &w, delay, keep, &mut rng)
            };
            let all = draw(0..u32::MAX);
            let part = draw(40..90);
            let want: Vec<_> = all.iter().filter(|s| (40..90).contains(&s.1)).collect();
            assert!(!want.is_empty());
            assert_eq!(part.iter().collect::<Vec<_>>(), want, "{rule:?}");
        }
    }

    #[test]
    fn bad_delays_and_bounds_are_refused() {
        let e = Delay::normal_ms(0.05, 0.1, 0.1).unwrap_err().to_string();
        assert!(
            e.contains("mean") && e.contains("0.05") && e.contains("at least one step"),
            "{e}"
        );
        let e = Delay::normal_ms(1.5, -1.0, 0.1).unwrap_err().to_string();
        assert!(e.contains("std") && e.contains(">= 0"), "{e}");
        let e = Delay::normal_ms(1.5, 1000.0, 0.1).unwrap_err().to_string();
        assert!(e.contains("65535"), "{e}");
        let far = WeightDist::BoundedNormal {
            mean: 0.0,
            std: 1.0,
            min: 10.0,
            max: f64::INFINITY,
        };
        let e = far.validate().unwrap_err().to_string();
        assert!(
            e.contains("min") && e.contains("[10, inf]") && e.contains("redrawn"),
            "{e}"
        );
    }

    #[test]
    fn bad_probability_and_pairs() {
        assert!(
            ConnectRule::FixedProbability { p: 1.5 }
                .validate(3, 3)
                .unwrap_err()
                .to_string()
                .contains("[0, 1]")
        );
        let r = ConnectRule::List {
            pairs: vec![(0, 5)],
            weights: None,
            delay_steps: None,
        };
        assert!(r.validate(3, 3).is_err());
    }
}
