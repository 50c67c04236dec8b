//! An independent Poisson spike train into every neuron of a population (the background drive
//! of cortical models: thousands of external inputs, each firing at a few Hz, summed into one
//! train per neuron), added on the excitatory receptor before the neuron's update.
//!
//! ```text
//! each step t, neuron i:  k ~ Poisson(lambda),  lambda = rate_hz dt_ms / 1000
//!                         exc_i(t) += weight k
//! ```
//! This is what NEST's `poisson_generator` gives each of its targets (an independent train of
//! the generator's rate, delivered as one spike of multiplicity `k` per step): the count of a
//! step is exactly Poisson distributed, not capped at one spike as a Poisson *source neuron* is.
//!
//! | parameter | unit | meaning |
//! |---|---|---|
//! | `poisson_rate_hz` | Hz | rate of the summed train into each neuron (`K_ext nu_bg`) |
//! | `poisson_weight_mv` | model units (mV for `lif_exp`) | weight of each of its spikes |
//!
//! The count is drawn by inversion: `u` is a 64-bit hash of (population key, step, neuron index)
//! ([`crate::rng::splitmix64`], as the Poisson sources), and `k` the number of table entries
//! `floor(2^64 F(j))` (`F` the Poisson CDF, in `f64`) that are `<= u`. Every draw is a pure
//! function of its coordinates, so the drive is the same for any thread or rank count. Cost: one
//! hash and 8 comparisons without a branch per neuron and step, in blocks of 64 neurons that
//! the compiler vectorizes; the rest of the table only when `u` passes its first 8 entries.

use crate::error::{Error, Result};
use crate::rng::splitmix64;

/// The largest expected count per step the table is built for.
pub const MAX_LAMBDA: f64 = 1000.0;

/// Table entries compared without a branch for every draw (the rest only when all of these
/// are passed: for `lambda` = 1.7, the microcircuit's, one draw in 10^4).
const HEAD: usize = 8;

/// Neurons whose draws are hashed, then counted, then added in separate passes (each pass a
/// loop without branches, which the compiler vectorizes).
const CHUNK: usize = 64;

/// A Poisson drive for a block of neurons.
#[derive(Debug, Clone, PartialEq)]
pub struct PoissonDrive {
    /// `cdf[j] = floor(2^64 P(K <= j))`, up to the first entry that rounds to `2^64`.
    cdf: Vec<u64>,
    /// The first [`HEAD`] entries of `cdf`, padded with `u64::MAX`.
    head: [u64; HEAD],
    weight: f32,
    key: u64,
    first: u32,
}

impl PoissonDrive {
    /// Validate a rate for step `dt_ms`: the expected count per step.
    pub fn lambda(rate_hz: f64, dt_ms: f64) -> Result<f64> {
        if !(rate_hz.is_finite() && rate_hz >= 0.0) {
            return Err(Error::input(
                "poisson_rate_hz",
                rate_hz,
                "must be a finite number >= 0 Hz",
                "",
            ));
        }
        let lambda = rate_hz * dt_ms * 1e-3;
        if lambda > MAX_LAMBDA {
            return Err(Error::input(
                "poisson_rate_hz",
                crate::limits::num(rate_hz),
                format!(
                    "the expected count per step (rate x dt = {}) must be at most {MAX_LAMBDA}",
                    crate::limits::num(lambda)
                ),
                "lower the rate or the time step (or use a constant input, i_e_mv)",
            ));
        }
        Ok(lambda)
    }

    /// The drive of neurons `first..` of a population with stream `key`: `lambda` expected
    /// spikes of `weight` per neuron and step.
    pub fn new(lambda: f64, weight: f32, key: u64, first: u32) -> Self {
        let mut cdf = Vec::new();
        // P(K <= j), the terms from their logarithm (e^-lambda underflows for large lambda);
        // the table ends where the sum rounds to 1 or the terms fall below 2^-64 (e^-44.4)
        if lambda > 0.0 {
            let (mut j, mut sum, mut ln_fact) = (0u32, 0.0f64, 0.0f64);
            loop {
                let ln_p = -lambda + f64::from(j) * lambda.ln() - ln_fact;
                sum += ln_p.exp();
                let t = sum * 2f64.powi(64);
                if t >= 2f64.powi(64) || (f64::from(j) > lambda && ln_p < -45.0) {
                    break;
                }
                cdf.push(t as u64);
                j += 1;
                ln_fact += f64::from(j).ln();
            }
        }
        let mut head = [u64::MAX; HEAD];
        for (h, &c) in head.iter_mut().zip(&cdf) {
            *h = c;
        }
        PoissonDrive {
            cdf,
            head,
            weight,
            key: splitmix64(key ^ 0x5052_4956_4552_4956),
            first,
        }
    }

    /// The hash of step `step` every neuron's draw of that step starts from.
    #[inline]
    fn step_base(&self, step: u64) -> u64 {
        splitmix64(self.key ^ step.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }

    /// The uniform 64-bit draw of neuron `i` of the block, given its step's
    /// [`Self::step_base`].
    #[inline]
    fn hash(&self, base: u64, i: u32) -> u64 {
        splitmix64(base ^ u64::from(self.first + i).wrapping_mul(0xA24B_AED4_963E_E407))
    }

    /// The number of table entries among the first [`HEAD`] that are `<= u`, without a branch
    /// (a padding entry `u64::MAX` counts only for `u = u64::MAX`: [`Self::finish`] caps it).
    #[inline]
    fn head_count(&self, u: u64) -> u32 {
        self.head.iter().map(|&c| u32::from(c <= u)).sum()
    }

    /// The count from [`Self::head_count`] `k`: the rest of the table when every head entry
    /// was passed, capped at the table's length.
    #[inline]
    fn finish(&self, u: u64, k: u32) -> u32 {
        let mut k = k;
        if k as usize == HEAD && self.cdf.len() > HEAD {
            k += self.cdf[HEAD..].iter().take_while(|&&c| c <= u).count() as u32;
        }
        k.min(self.cdf.len() as u32)
    }

    /// This step's count for neuron `i` of the block.
    pub fn count(&self, step: u64, i: u32) -> u32 {
        let u = self.hash(self.step_base(step), i);
        self.finish(u, self.head_count(u))
    }

    /// Add step `step`'s drive to the excitatory inputs of the block's neurons.
    #[inline]
    pub fn add(&self, step: u64, exc: &mut [f32]) {
        let base = self.step_base(step);
        let (mut u, mut k) = ([0u64; CHUNK], [0u32; CHUNK]);
        for (c, block) in exc.chunks_mut(CHUNK).enumerate() {
            let (u, k) = (&mut u[..block.len()], &mut k[..block.len()]);
            let i0 = (c * CHUNK) as u32;
            for (j, x) in u.iter_mut().enumerate() {
                *x = self.hash(base, i0 + j as u32);
            }
            for (k, &u) in k.iter_mut().zip(u.iter()) {
                *k = self.head_count(u);
            }
            for ((x, &k), &u) in block.iter_mut().zip(k.iter()).zip(u.iter()) {
                *x += self.weight * self.finish(u, k) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Poisson probabilities written plainly: e^-l l^k / k!.
    fn pmf(l: f64, k: u32) -> f64 {
        let mut p = (-l).exp();
        for j in 1..=k {
            p *= l / f64::from(j);
        }
        p
    }

    #[test]
    fn counts_follow_the_poisson_law() {
        for lambda in [0.05, 1.68, 2.32, 12.0] {
            let d = PoissonDrive::new(lambda, 1.0, 7, 0);
            let n = 200_000u32;
            let mut hist = vec![0u64; 64];
            for s in 0..(n / 1000) {
                for i in 0..1000 {
                    let k = d.count(u64::from(s), i) as usize;
                    hist[k.min(63)] += 1;
                }
            }
            for (k, &h) in hist.iter().enumerate().take(30) {
                let want = pmf(lambda, k as u32) * f64::from(n);
                // 5 standard deviations of a binomial count, plus one for tiny cells
                let tol = 5.0 * want.sqrt() + 1.0;
                assert!(
                    (h as f64 - want).abs() <= tol,
                    "lambda {lambda}, k {k}: {h} vs {want:.1}"
                );
            }
        }
    }

    #[test]
    fn add_is_count_times_weight_and_independent_of_the_block_split() {
        let d = PoissonDrive::new(1.68, 0.5, 3, 0);
        let mut whole = vec![0.0f32; 100];
        d.add(9, &mut whole);
        // the same neurons as two blocks starting at index 0 and 37
        let (a, b) = (
            PoissonDrive::new(1.68, 0.5, 3, 0),
            PoissonDrive::new(1.68, 0.5, 3, 37),
        );
        let mut split = vec![0.0f32; 100];
        a.add(9, &mut split[..37]);
        b.add(9, &mut split[37..]);
        assert_eq!(whole, split);
        for (i, w) in whole.iter().enumerate() {
            assert_eq!(*w, 0.5 * d.count(9, i as u32) as f32);
        }
        assert!(whole.iter().any(|&w| w > 0.0) && whole.contains(&0.0));
    }

    #[test]
    fn the_branchless_count_is_the_plain_table_scan() {
        // tables shorter and longer than the head, and draws on, between and past the entries
        for lambda in [1e-9, 0.05, 1.68, 12.0, 800.0] {
            let d = PoissonDrive::new(lambda, 1.0, 5, 0);
            let plain = |u: u64| d.cdf.iter().filter(|&&c| c <= u).count() as u32;
            let mut us = vec![0, 1, u64::MAX - 1, u64::MAX];
            for &c in &d.cdf {
                us.extend([c.wrapping_sub(1), c, c.wrapping_add(1)]);
            }
            us.extend((0..10_000u64).map(splitmix64));
            for u in us {
                assert_eq!(
                    d.finish(u, d.head_count(u)),
                    plain(u),
                    "lambda {lambda}, u {u}"
                );
            }
        }
    }

    #[test]
    fn large_and_zero_rates() {
        let d = PoissonDrive::new(800.0, 1.0, 1, 0);
        let mean: f64 = (0..4000).map(|i| f64::from(d.count(1, i))).sum::<f64>() / 4000.0;
        // sd of the mean: sqrt(800 / 4000) = 0.45
        assert!((mean - 800.0).abs() < 2.5, "{mean}");
        let z = PoissonDrive::new(0.0, 1.0, 1, 0);
        assert!((0..1000).all(|i| z.count(5, i) == 0));
        assert!(PoissonDrive::lambda(2e7, 0.1).is_err());
        assert!(PoissonDrive::lambda(-1.0, 0.1).is_err());
        assert!(PoissonDrive::lambda(f64::NAN, 0.1).is_err());
    }
}
