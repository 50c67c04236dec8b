//! Spike sources: `poisson` (independent Poisson trains), `spike_times` (explicit lists) and
//! `external` (events pushed by a [`SpikeFeed`], e.g. a replayed recording).
//!
//! Sources have no inputs; they emit spikes for step `t` during the update phase like neurons,
//! so their spikes reach targets at `t + delay`.
//!
//! `poisson`: each neuron spikes in a step with probability `rate_hz * dt` (a rate above
//! `1000 / dt_ms` Hz is refused). The draw is counter-based — a SplitMix64 hash of (seed,
//! population, neuron, step) — so a train does not depend on how neurons are split across
//! threads, and costs no per-neuron RNG state.
//!
//! | parameter  | default | unit | meaning                          |
//! |------------|---------|------|----------------------------------|
//! | `rate_hz`  | 10.0    | Hz   | rate of every neuron (`poisson`) |
//! | `times_ms` | []      | ms   | `[[neuron, t_ms], ...]` (`spike_times`); `t_ms` a multiple of dt |
//!
//! Reference: the counter-based RNG idea as in J. Salmon et al., "Parallel random numbers: as easy
//! as 1, 2, 3", SC'11 (we use SplitMix64's finalizer, S. Vigna).

use crate::rng::splitmix64;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::neuron::Constant;

/// Parameters of `poisson`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoissonParams {
    /// Rate of each neuron (Hz).
    pub rate_hz: f64,
}

impl Default for PoissonParams {
    fn default() -> Self {
        PoissonParams { rate_hz: 10.0 }
    }
}

/// Parameters of `spike_times`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpikeTimesParams {
    /// `[neuron, t_ms]` pairs.
    pub times_ms: Vec<(u32, f64)>,
}

/// `external` has no parameters.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// The constants of a Poisson source (rate validated).
pub fn poisson_constants(p: &PoissonParams, dt_ms: f64) -> Vec<Constant> {
    vec![
        Constant::one("rate_hz", "Hz", "firing rate", p.rate_hz),
        Constant::one(
            "p_spike",
            "",
            "probability of a spike per step",
            Poisson::probability(p, dt_ms).unwrap_or(0.0),
        ),
    ]
}

/// A Poisson source block.
#[derive(Debug, Clone)]
pub struct Poisson {
    /// Threshold on a 64-bit hash: spike if `hash < threshold`.
    threshold: u64,
    /// Stream key (seed and population).
    key: u64,
    /// Index within the population of this block's first neuron.
    first: u32,
    n: u32,
}

impl Poisson {
    /// Validate the rate for `dt_ms`.
    pub fn probability(p: &PoissonParams, dt_ms: f64) -> Result<f64> {
        if !(p.rate_hz.is_finite() && p.rate_hz >= 0.0) {
            return Err(Error::input(
                "rate_hz",
                p.rate_hz,
                "must be a finite number >= 0 Hz",
                "",
            ));
        }
        let prob = p.rate_hz * dt_ms * 1e-3;
        if prob > 1.0 {
            return Err(Error::input(
                "rate_hz",
                crate::limits::num(p.rate_hz),
                format!(
                    "at dt = {dt_ms} ms a neuron spikes at most once a step, so the rate must be \
                     at most 1000 / dt_ms = {} Hz",
                    1e3 / dt_ms
                ),
                "lower the rate or the time step",
            ));
        }
        Ok(prob)
    }

    /// A block of `n` neurons starting at index `first` of a population with stream `key`.
    pub fn new(prob: f64, key: u64, first: u32, n: u32) -> Self {
        let threshold = if prob >= 1.0 {
            u64::MAX
        } else {
            (prob * 2f64.powi(64)) as u64
        };
        Poisson {
            threshold,
            key,
            first,
            n,
        }
    }

    /// Emit this step's spikes.
    pub fn update(&mut self, step: u64, gid0: u32, spikes: &mut Vec<u32>) {
        let base = splitmix64(self.key ^ step.wrapping_mul(0xD1B5_4A32_D192_ED03));
        for i in 0..self.n {
            let h =
                splitmix64(base ^ u64::from(self.first + i).wrapping_mul(0xA24B_AED4_963E_E407));
            if h < self.threshold {
                spikes.push(gid0 + i);
            }
        }
    }
}

/// Pre-binned events: `(step, index within the block)`, sorted by step then index.
#[derive(Debug, Clone, Default)]
pub struct SpikeTimes {
    events: Vec<(u64, u32)>,
    next: usize,
}

impl SpikeTimes {
    /// Events for one block (indices relative to the block); sorts them.
    pub fn new(mut events: Vec<(u64, u32)>) -> Self {
        events.sort_unstable();
        events.dedup();
        SpikeTimes { events, next: 0 }
    }

    /// Emit this step's spikes.
    pub fn update(&mut self, step: u64, gid0: u32, spikes: &mut Vec<u32>) {
        while let Some(&(s, i)) = self.events.get(self.next) {
            if s > step {
                break;
            }
            if s == step {
                spikes.push(gid0 + i);
            }
            self.next += 1;
        }
    }
}

/// Hook for sources fed from outside the engine (event-file replay, a live sensor).
///
/// `spikes_at` is called once per step, in step order, and must push the *indices within the
/// population* of the neurons spiking at `step`, ascending and without duplicates.
pub trait SpikeFeed: Send {
    /// Push the spikes of `step`.
    fn spikes_at(&mut self, step: u64, out: &mut Vec<u32>);
}

/// An external source block (never split across threads).
pub struct External {
    /// The feed.
    pub feed: Box<dyn SpikeFeed>,
    scratch: Vec<u32>,
    n: u32,
}

impl std::fmt::Debug for External {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("External").field("n", &self.n).finish()
    }
}

impl External {
    /// Wrap a feed for a population of `n` neurons.
    pub fn new(feed: Box<dyn SpikeFeed>, n: u32) -> Self {
        External {
            feed,
            scratch: Vec::new(),
            n,
        }
    }

    /// Emit this step's spikes (indices outside the population are dropped).
    pub fn update(&mut self, step: u64, gid0: u32, spikes: &mut Vec<u32>) {
        self.scratch.clear();
        self.feed.spikes_at(step, &mut self.scratch);
        spikes.extend(
            self.scratch
                .iter()
                .filter(|&&i| i < self.n)
                .map(|i| gid0 + i),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_rate_within_four_standard_errors() {
        let prob = Poisson::probability(&PoissonParams { rate_hz: 40.0 }, 1.0).unwrap();
        let mut p = Poisson::new(prob, 7, 0, 200);
        let steps = 5000u64;
        let mut count = 0usize;
        for t in 0..steps {
            let mut s = vec![];
            p.update(t, 0, &mut s);
            count += s.len();
        }
        let n = 200.0 * steps as f64;
        let se = (n * prob * (1.0 - prob)).sqrt();
        assert!((count as f64 - n * prob).abs() < 4.0 * se, "{count}");
    }

    #[test]
    fn poisson_split_blocks_equal_whole() {
        let mut whole = Poisson::new(0.1, 3, 0, 10);
        let mut a = Poisson::new(0.1, 3, 0, 4);
        let mut b = Poisson::new(0.1, 3, 4, 6);
        for t in 0..500 {
            let (mut s1, mut s2) = (vec![], vec![]);
            whole.update(t, 100, &mut s1);
            a.update(t, 100, &mut s2);
            b.update(t, 104, &mut s2);
            assert_eq!(s1, s2);
        }
    }

    #[test]
    fn spike_times_emit_at_their_step() {
        let mut s = SpikeTimes::new(vec![(3, 1), (0, 0), (3, 0), (9, 2)]);
        let mut got = vec![];
        for t in 0..12 {
            let mut out = vec![];
            s.update(t, 10, &mut out);
            got.extend(out.into_iter().map(|g| (t, g)));
        }
        assert_eq!(got, vec![(0, 10), (3, 10), (3, 11), (9, 12)]);
    }
}
