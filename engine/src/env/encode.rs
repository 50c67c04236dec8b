//! Population coding: a real-valued observation into spikes of input neurons.
//!
//! Each observation dimension `d` has `M` input neurons (default [`DEFAULT_NEURONS`] = 10) with
//! Gaussian tuning curves whose centres are evenly spaced over the dimension's range
//! `[lo_d, hi_d]`, the width the spacing:
//!
//! ```text
//! c_di    = lo_d + i (hi_d - lo_d) / (M - 1),   i = 0..M
//! sigma_d = (hi_d - lo_d) / (M - 1)
//! rate_di = r_max exp(-(x_d - c_di)^2 / (2 sigma_d^2))          (Hz)
//! ```
//!
//! `x_d` is clamped to `[lo_d, hi_d]` first, so a value beyond the range (CartPole's
//! velocities are unbounded) drives the edge neuron at `r_max`, as the range's end would.
//! Neuron `i` of dimension `d` is input `d M + i`.
//!
//! | parameter | default | unit | meaning |
//! |---|---|---|---|
//! | `neurons` | 10 | | `M`, neurons per dimension (at least 2) |
//! | `rate_hz` | 200 | Hz | `r_max`, the rate at a tuning curve's centre |
//! | `dt_ms` | 1 | ms | the network's step |
//!
//! Spikes: in every network step each neuron spikes with probability `rate dt` (capped at
//! 1), a Bernoulli draw from a generator that is a pure function of (environment seed,
//! episode, agent step) ([`super::rng`], stream [`super::STREAM_ENCODE`]), drawn in the
//! order (step, input) whatever the rates, so an episode's spikes replay bit for bit.
//!
//! Rate coding ([`RateCode`], for many dimensions already scaled, e.g. the pixels of a frame):
//! one input per dimension, `rate_d = r_max (x_d - lo_d) / (hi_d - lo_d)` with `x_d` clamped
//! to `[lo_d, hi_d]` (NaN: 0 Hz), the same Bernoulli draws. [`Encoder`] is either code.
//!
//! Why 200 Hz: a dimension's `M` rates sum to about `sqrt(2 pi) r_max = 2.5 r_max` at any
//! value inside the range, so with 10 network steps of 1 ms per agent step (CartPole) each
//! dimension sends about 5 spikes per agent step; at 100 Hz, 2.5, too few to tell neighbouring
//! values apart within one step.

use rand::RngExt;

use crate::error::{Error, Result};

/// Neurons per dimension unless given.
pub const DEFAULT_NEURONS: usize = 10;
/// Peak rate (Hz) unless given.
pub const DEFAULT_RATE_HZ: f64 = 200.0;

/// A population code (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationCode {
    ranges: Vec<(f64, f64)>,
    neurons: usize,
    rate_hz: f64,
    dt_ms: f64,
}

impl PopulationCode {
    /// A code for one dimension per entry of `ranges` (`(lo, hi)`, finite, `lo < hi`), with
    /// `neurons` per dimension (>= 2), peak rate `rate_hz` (finite, >= 0) and network step
    /// `dt_ms` (> 0).
    pub fn new(ranges: &[(f64, f64)], neurons: usize, rate_hz: f64, dt_ms: f64) -> Result<Self> {
        for (d, &(lo, hi)) in ranges.iter().enumerate() {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(Error::input(
                    format!("ranges[{d}]"),
                    format!("({lo}, {hi})"),
                    "a range is (lo, hi) with finite lo < hi",
                    "give the interval the dimension's values usually lie in",
                ));
            }
        }
        if ranges.is_empty() {
            return Err(Error::input("ranges", "[]", "at least one dimension", ""));
        }
        if neurons < 2 {
            return Err(Error::input(
                "neurons",
                neurons,
                "at least 2 neurons per dimension (the centres span the range)",
                format!("try {DEFAULT_NEURONS}"),
            ));
        }
        if !(rate_hz.is_finite() && rate_hz >= 0.0) {
            return Err(Error::input(
                "rate_hz",
                rate_hz,
                "a finite rate >= 0 Hz",
                format!("try {DEFAULT_RATE_HZ}"),
            ));
        }
        if !(dt_ms.is_finite() && dt_ms > 0.0) {
            return Err(Error::input(
                "dt_ms",
                dt_ms,
                "a finite step > 0 ms",
                "the networks of the environments use 1",
            ));
        }
        Ok(PopulationCode {
            ranges: ranges.to_vec(),
            neurons,
            rate_hz,
            dt_ms,
        })
    }

    /// Input neurons: dimensions times neurons per dimension.
    pub fn inputs(&self) -> usize {
        self.ranges.len() * self.neurons
    }

    /// Observation dimensions.
    pub fn dims(&self) -> usize {
        self.ranges.len()
    }

    /// Neurons per dimension.
    pub fn neurons(&self) -> usize {
        self.neurons
    }

    /// The rates (Hz) of every input for observation `x` (one value per dimension), input
    /// `d M + i` at index `d M + i`.
    pub fn rates(&self, x: &[f64]) -> Vec<f64> {
        debug_assert_eq!(x.len(), self.ranges.len());
        let m = self.neurons;
        let mut out = Vec::with_capacity(self.inputs());
        for (&(lo, hi), &v) in self.ranges.iter().zip(x) {
            let spacing = (hi - lo) / (m - 1) as f64;
            // NaN goes to the centre of the range rather than silencing the dimension
            let v = if v.is_nan() {
                0.5 * (lo + hi)
            } else {
                v.clamp(lo, hi)
            };
            for i in 0..m {
                let c = lo + i as f64 * spacing;
                let z = (v - c) / spacing;
                out.push(self.rate_hz * (-0.5 * z * z).exp());
            }
        }
        out
    }

    /// Spikes of `k` network steps for observation `x`: `(step 0..k, input)`, ascending by step
    /// then input, appended to `out`. `rng` is the agent step's generator ([`super::rng`]).
    pub fn spikes(&self, x: &[f64], k: u64, rng: &mut impl rand::Rng, out: &mut Vec<(u64, u32)>) {
        bernoulli(&self.rates(x), self.dt_ms, k, rng, out);
    }
}

/// Spikes of `k` steps of inputs firing at `rates` (Hz): in each step, input `i` spikes if a
/// uniform draw is below `rate_i dt` (capped at 1), drawn in the order (step, input).
fn bernoulli(
    rates: &[f64],
    dt_ms: f64,
    k: u64,
    rng: &mut impl rand::Rng,
    out: &mut Vec<(u64, u32)>,
) {
    let p: Vec<f64> = rates.iter().map(|r| (r * dt_ms * 1e-3).min(1.0)).collect();
    for t in 0..k {
        for (i, &p) in p.iter().enumerate() {
            // one draw per (step, input) whatever p, so a rate never shifts later draws
            let u: f64 = rng.random();
            if u < p {
                out.push((t, i as u32));
            }
        }
    }
}

/// A rate code: one input per dimension, its rate linear in the value (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct RateCode {
    ranges: Vec<(f64, f64)>,
    rate_hz: f64,
    dt_ms: f64,
}

impl RateCode {
    /// A code for one dimension per entry of `ranges`, checked as [`PopulationCode::new`]'s.
    pub fn new(ranges: &[(f64, f64)], rate_hz: f64, dt_ms: f64) -> Result<Self> {
        PopulationCode::new(ranges, 2, rate_hz, dt_ms)?;
        Ok(RateCode {
            ranges: ranges.to_vec(),
            rate_hz,
            dt_ms,
        })
    }

    /// The rate (Hz) of every input (one per dimension) for observation `x`.
    pub fn rates(&self, x: &[f64]) -> Vec<f64> {
        debug_assert_eq!(x.len(), self.ranges.len());
        (self.ranges.iter().zip(x))
            .map(|(&(lo, hi), &v)| match v.is_nan() {
                true => 0.0,
                false => self.rate_hz * (v.clamp(lo, hi) - lo) / (hi - lo),
            })
            .collect()
    }
}

/// An observation encoder: a population code or a rate code.
#[derive(Debug, Clone, PartialEq)]
pub enum Encoder {
    /// [`PopulationCode`].
    Population(PopulationCode),
    /// [`RateCode`].
    Rate(RateCode),
}

impl Encoder {
    /// Input neurons.
    pub fn inputs(&self) -> usize {
        match self {
            Encoder::Population(c) => c.inputs(),
            Encoder::Rate(c) => c.ranges.len(),
        }
    }

    /// Observation dimensions.
    pub fn dims(&self) -> usize {
        match self {
            Encoder::Population(c) => c.dims(),
            Encoder::Rate(c) => c.ranges.len(),
        }
    }

    /// The rates (Hz) of every input for observation `x`.
    pub fn rates(&self, x: &[f64]) -> Vec<f64> {
        match self {
            Encoder::Population(c) => c.rates(x),
            Encoder::Rate(c) => c.rates(x),
        }
    }

    /// Spikes of `k` network steps for `x`, as [`PopulationCode::spikes`].
    pub fn spikes(&self, x: &[f64], k: u64, rng: &mut impl rand::Rng, out: &mut Vec<(u64, u32)>) {
        let dt_ms = match self {
            Encoder::Population(c) => c.dt_ms,
            Encoder::Rate(c) => c.dt_ms,
        };
        bernoulli(&self.rates(x), dt_ms, k, rng, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{STREAM_ENCODE, rng};

    fn code() -> PopulationCode {
        PopulationCode::new(&[(-1.0, 1.0), (0.0, 9.0)], 10, 200.0, 1.0).unwrap()
    }

    /// Rates by the closed form: at a centre the peak, one spacing away exp(-1/2), and
    /// clamping beyond the range.
    #[test]
    fn rates_are_the_gaussian_tuning_curves() {
        let c = code();
        assert_eq!(c.inputs(), 20);
        // dimension 1: centres 0, 1, ..., 9, sigma 1; x = 3 is neuron 3's centre
        let r = c.rates(&[-1.0, 3.0]);
        assert_eq!(r[10 + 3], 200.0);
        for (i, &ri) in r[10..].iter().enumerate() {
            let d = i as f64 - 3.0;
            let want = 200.0 * (-d * d / 2.0).exp();
            assert!(
                (ri - want).abs() <= 1e-12 * 200.0,
                "neuron {i}: {ri} vs {want}"
            );
        }
        assert!((r[12] - 200.0 * (-0.5f64).exp()).abs() < 1e-12);
        // dimension 0 at lo: neuron 0 at the peak, neuron 9 (9 spacings away) nearly silent
        assert_eq!(r[0], 200.0);
        assert!((r[9] - 200.0 * (-40.5f64).exp()).abs() < 1e-20);
        // x = 2.5, between centres 2 and 3: both at exp(-1/8)
        let r = c.rates(&[0.0, 2.5]);
        let half = 200.0 * (-0.125f64).exp();
        assert!((r[12] - half).abs() < 1e-12 && (r[13] - half).abs() < 1e-12);
        // beyond the range: as at its ends
        assert_eq!(c.rates(&[-7.0, 100.0]), c.rates(&[-1.0, 9.0]));
    }

    /// The spikes are a pure function of (seed, episode, agent step); another agent step draws
    /// others; the counts follow the rates.
    #[test]
    fn spikes_are_deterministic_and_follow_the_rates() {
        let c = code();
        let x = [0.3, 4.2];
        let run = |seed, ep, n| {
            let mut out = Vec::new();
            c.spikes(&x, 1000, &mut rng(seed, STREAM_ENCODE, ep, n), &mut out);
            out
        };
        let a = run(1, 2, 3);
        assert_eq!(a, run(1, 2, 3));
        assert_ne!(a, run(1, 2, 4));
        assert_ne!(a, run(1, 3, 3));
        assert_ne!(a, run(2, 2, 3));
        assert!(a.windows(2).all(|w| w[0] < w[1]), "ascending (step, input)");
        let rates = c.rates(&x);
        for (i, &r) in rates.iter().enumerate() {
            let n = a.iter().filter(|s| s.1 == i as u32).count() as f64;
            let mean = r * 1e-3 * 1000.0;
            // 5 standard deviations of a binomial count over 1000 steps
            let sd = (1000.0 * (r * 1e-3) * (1.0 - r * 1e-3)).sqrt();
            assert!(
                (n - mean).abs() <= 5.0 * sd + 1.0,
                "input {i}: {n} spikes, rate {r}"
            );
        }
    }

    /// The rate code by its closed form: linear over the range, clamped, NaN silent; its
    /// spikes are the population code's draws for the same rates.
    #[test]
    fn the_rate_code_is_linear_in_the_value() {
        let c = RateCode::new(&[(0.0, 1.0), (-2.0, 2.0)], 100.0, 1.0).unwrap();
        assert_eq!(c.rates(&[0.25, 1.0]), [25.0, 75.0]);
        assert_eq!(c.rates(&[-3.0, 9.0]), [0.0, 100.0]);
        assert_eq!(c.rates(&[f64::NAN, -2.0]), [0.0, 0.0]);
        let e = Encoder::Rate(c);
        assert_eq!((e.inputs(), e.dims()), (2, 2));
        let mut out = Vec::new();
        e.spikes(
            &[1.0, 2.0],
            1000,
            &mut rng(1, STREAM_ENCODE, 0, 0),
            &mut out,
        );
        // at 100 Hz and 1 ms, p = 0.1 per step: about 100 of 1000 per input
        for i in 0..2u32 {
            let n = out.iter().filter(|s| s.1 == i).count() as f64;
            assert!((n - 100.0).abs() < 5.0 * 90f64.sqrt(), "input {i}: {n}");
        }
        assert!(RateCode::new(&[(1.0, 0.0)], 100.0, 1.0).is_err());
    }

    #[test]
    fn bad_parameters_are_input_errors() {
        assert!(PopulationCode::new(&[(1.0, 1.0)], 10, 100.0, 1.0).is_err());
        assert!(PopulationCode::new(&[(0.0, f64::INFINITY)], 10, 100.0, 1.0).is_err());
        assert!(PopulationCode::new(&[], 10, 100.0, 1.0).is_err());
        assert!(PopulationCode::new(&[(0.0, 1.0)], 1, 100.0, 1.0).is_err());
        assert!(PopulationCode::new(&[(0.0, 1.0)], 10, -1.0, 1.0).is_err());
        assert!(PopulationCode::new(&[(0.0, 1.0)], 10, 100.0, 0.0).is_err());
    }
}
