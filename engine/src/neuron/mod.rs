//! Neuron models and spike sources, one per file, each with its datasheet.
//!
//! A population's model is a [`ModelSpec`] (validated parameters); at simulation time a
//! population is cut into [`Block`]s, one per thread that owns part of it, holding the state as
//! structure-of-arrays.

pub mod alif;
mod describe;
pub mod drive;
pub mod lif;
pub mod lif_exp;
pub mod readout;
pub mod source;

pub use alif::{Alif, AlifParams};
pub use describe::{Constant, Variable};
pub use lif::{Lif, LifParams};
pub use lif_exp::{LifExp, LifExpParams};
pub use readout::{Readout, ReadoutParams};
pub use source::{Poisson, PoissonParams, SpikeFeed, SpikeTimes, SpikeTimesParams};

use crate::error::{Result, num};

/// The names of the models, as written in a network description.
pub const MODEL_NAMES: &[&str] = &[
    "lif",
    "alif",
    "lif_exp",
    "readout",
    "poisson",
    "spike_times",
    "external",
];

/// A population's model with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    /// See [`lif`].
    Lif(LifParams),
    /// See [`alif`].
    Alif(AlifParams),
    /// See [`lif_exp`].
    LifExp(LifExpParams),
    /// See [`readout`].
    Readout(ReadoutParams),
    /// See [`source`].
    Poisson(PoissonParams),
    /// See [`source`].
    SpikeTimes(SpikeTimesParams),
    /// Spikes pushed from outside through a [`SpikeFeed`] (replay).
    External,
}

impl ModelSpec {
    /// The model's name.
    pub fn name(&self) -> &'static str {
        match self {
            ModelSpec::Lif(_) => "lif",
            ModelSpec::Alif(_) => "alif",
            ModelSpec::LifExp(_) => "lif_exp",
            ModelSpec::Readout(_) => "readout",
            ModelSpec::Poisson(_) => "poisson",
            ModelSpec::SpikeTimes(_) => "spike_times",
            ModelSpec::External => "external",
        }
    }

    /// True for spike sources (no inputs, never split across threads).
    pub fn is_source(&self) -> bool {
        matches!(
            self,
            ModelSpec::Poisson(_) | ModelSpec::SpikeTimes(_) | ModelSpec::External
        )
    }

    /// Validate the parameters against `dt_ms` and the population size.
    pub fn validate(&self, dt_ms: f64, size: u32) -> Result<()> {
        match self {
            ModelSpec::Lif(p) => p.derive(dt_ms).map(drop),
            ModelSpec::Alif(p) => {
                p.derive(dt_ms)?;
                if p.n_lif > size as usize {
                    return Err(crate::Error::input(
                        "n_lif",
                        p.n_lif,
                        format!("must be at most the population size {size}"),
                        "",
                    ));
                }
                Ok(())
            }
            ModelSpec::LifExp(p) => p.derive(dt_ms).map(drop),
            ModelSpec::Readout(p) => p.derive(dt_ms).map(drop),
            ModelSpec::Poisson(p) => Poisson::probability(p, dt_ms).map(drop),
            ModelSpec::SpikeTimes(p) => {
                for (k, &(i, t)) in p.times_ms.iter().enumerate() {
                    if i >= size {
                        return Err(crate::Error::input(
                            format!("times_ms[{k}]"),
                            format!("[{i}, {t}]"),
                            format!("neuron index must be below the population size {size}"),
                            "",
                        ));
                    }
                    steps_of(t, dt_ms).map_err(|e| e.under(&format!("times_ms[{k}]")))?;
                }
                Ok(())
            }
            ModelSpec::External => Ok(()),
        }
    }

    /// State for neurons `lo..hi` of a population; `v0` optional initial potentials of that
    /// range; `key` the population's random stream key. Parameters must have been validated.
    pub fn block(&self, dt_ms: f64, lo: u32, hi: u32, v0: Option<&[f32]>, key: u64) -> Block {
        let n = (hi - lo) as usize;
        let ok = "validated before";
        match self {
            ModelSpec::Lif(p) => Block::Lif(Lif::new(p.derive(dt_ms).expect(ok), n, v0)),
            ModelSpec::Alif(p) => {
                let beta = (lo..hi)
                    .map(|i| {
                        if (i as usize) < p.n_lif {
                            0.0
                        } else {
                            p.beta as f32
                        }
                    })
                    .collect();
                let mut a = Alif::new(p.derive(dt_ms).expect(ok), beta, None);
                if let Some(v0) = v0 {
                    a.v.copy_from_slice(v0);
                }
                Block::Alif(a)
            }
            ModelSpec::LifExp(p) => {
                let mut b = LifExp::new(p.derive(dt_ms).expect(ok), n, v0);
                b.drive = p.drive(dt_ms, key, lo).expect(ok);
                Block::LifExp(b)
            }
            ModelSpec::Readout(p) => {
                Block::Readout(Readout::new(p.derive(dt_ms).expect(ok), n, p.bias as f32))
            }
            ModelSpec::Poisson(p) => Block::Poisson(Poisson::new(
                Poisson::probability(p, dt_ms).expect(ok),
                key,
                lo,
                hi - lo,
            )),
            ModelSpec::SpikeTimes(p) => Block::SpikeTimes(SpikeTimes::new(
                p.times_ms
                    .iter()
                    .filter(|(i, _)| (lo..hi).contains(i))
                    .map(|&(i, t)| (steps_of(t, dt_ms).expect(ok), i - lo))
                    .collect(),
            )),
            ModelSpec::External => {
                Block::External(source::External::new(Box::new(NoFeed), hi - lo))
            }
        }
    }
}

/// Convert a time in ms to a whole number of steps, refusing times off the grid, negative, or
/// of more than [`MAX_STEPS`](crate::limits::MAX_STEPS) steps (so the conversion never
/// saturates and no run is endless).
pub fn steps_of(t_ms: f64, dt_ms: f64) -> Result<u64> {
    let s = t_ms / dt_ms;
    if !(t_ms.is_finite() && t_ms >= 0.0) || (s - s.round()).abs() > 1e-6 {
        return Err(crate::Error::input(
            "",
            num(t_ms),
            format!(
                "a time must be >= 0 ms and a whole multiple of dt = {} ms",
                num(dt_ms)
            ),
            "",
        ));
    }
    // also catches the inf of a tiny dt (inf is not in the range)
    if !(0.0..=crate::limits::MAX_STEPS as f64).contains(&s) {
        return Err(crate::Error::input(
            "",
            num(t_ms),
            format!(
                "that is {} steps of dt = {} ms, more than the limit of 2^32 = {} steps",
                num(s),
                num(dt_ms),
                crate::limits::MAX_STEPS
            ),
            "use a shorter time or a larger dt_ms",
        ));
    }
    Ok(s.round() as u64)
}

/// A model's refractory period in steps, from `t_ref_ms` (ms) or its alias `n_ref` (steps);
/// `None` when neither is given (the model's default applies). Giving both, a negative or
/// non-finite time, a time that is not a whole number of steps of `dt_ms` (within 1e-6 of a
/// step: times are never rounded to the grid) or more than `max` steps is an input error.
pub fn refractory_steps(
    t_ref_ms: Option<f64>,
    n_ref: Option<u32>,
    dt_ms: f64,
    max: u32,
) -> Result<Option<u32>> {
    let t = match (t_ref_ms, n_ref) {
        (None, None) => return Ok(None),
        (Some(t), Some(n)) => {
            return Err(crate::Error::input(
                "t_ref_ms",
                num(t),
                format!(
                    "the refractory period is given twice: t_ref_ms (ms) and its alias n_ref = \
                     {n} (steps); give one of them"
                ),
                "drop n_ref, or drop t_ref_ms",
            ));
        }
        (None, Some(n)) if n > max => {
            return Err(crate::Error::input(
                "n_ref",
                n,
                format!("at most {max} steps"),
                "",
            ));
        }
        (None, Some(n)) => return Ok(Some(n)),
        (Some(t), None) => t,
    };
    if !(t.is_finite() && t >= 0.0) {
        return Err(crate::Error::input(
            "t_ref_ms",
            num(t),
            "must be a finite number >= 0 ms",
            "",
        ));
    }
    let steps = t / dt_ms;
    if (steps - steps.round()).abs() > 1e-6 {
        let (lo, hi) = (steps.floor(), steps.ceil());
        return Err(crate::Error::input(
            "t_ref_ms",
            num(t),
            format!(
                "must be a whole number of steps of dt = {dt} ms: 0, {dt}, {}, {} .. ms",
                num(2.0 * dt_ms),
                num(3.0 * dt_ms),
                dt = num(dt_ms)
            ),
            format!(
                "try t_ref_ms = {} or {}, or n_ref = {} or {} steps",
                num(lo * dt_ms),
                num(hi * dt_ms),
                lo,
                hi
            ),
        ));
    }
    if steps.round() > f64::from(max) {
        return Err(crate::Error::input(
            "t_ref_ms",
            num(t),
            format!(
                "that is {:e} steps of dt = {} ms; at most {max} steps",
                steps.round(),
                num(dt_ms)
            ),
            "",
        ));
    }
    Ok(Some(steps.round() as u32))
}

struct NoFeed;
impl SpikeFeed for NoFeed {
    fn spikes_at(&mut self, _step: u64, _out: &mut Vec<u32>) {}
}

/// The state of a contiguous block of one population's neurons.
#[derive(Debug)]
pub enum Block {
    /// LIF neurons.
    Lif(Lif),
    /// ALIF neurons.
    Alif(Alif),
    /// Current-based LIF with exponential currents.
    LifExp(LifExp),
    /// Readouts.
    Readout(Readout),
    /// Poisson source.
    Poisson(Poisson),
    /// Explicit spike times.
    SpikeTimes(SpikeTimes),
    /// Externally fed source.
    External(source::External),
}

impl Block {
    /// Advance one step. `exc`/`inh` are this step's inputs (zeroed here); spikes are pushed as
    /// global ids `gid0 + i`, ascending.
    #[inline]
    pub fn update(
        &mut self,
        step: u64,
        exc: &mut [f32],
        inh: &mut [f32],
        gid0: u32,
        spikes: &mut Vec<u32>,
    ) {
        match self {
            Block::Lif(b) => b.update(exc, inh, gid0, spikes),
            Block::Alif(b) => b.update(exc, inh, gid0, spikes),
            Block::LifExp(b) => {
                if let Some(d) = &b.drive {
                    d.add(step, &mut exc[..b.u.len()]);
                }
                b.update(exc, inh, gid0, spikes)
            }
            Block::Readout(b) => b.update(exc, inh),
            Block::Poisson(b) => b.update(step, gid0, spikes),
            Block::SpikeTimes(b) => b.update(step, gid0, spikes),
            Block::External(b) => b.update(step, gid0, spikes),
        }
    }

    /// Replace the feed of an external source block; false if this is not one.
    pub fn set_feed(&mut self, feed: Box<dyn SpikeFeed>) -> bool {
        match self {
            Block::External(b) => {
                b.feed = feed;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_of_messages_print_short_numbers() {
        // 0.1 + 0.2 prints as 0.30000000000000004 with `{}`; messages show 0.3
        let dt = 0.1 + 0.2;
        let e = steps_of(1.0, dt).unwrap_err().to_string();
        assert!(e.contains("whole multiple of dt = 0.3 ms"), "{e}");
        let e = steps_of(0.35000000000000003, 0.1).unwrap_err().to_string();
        assert!(e.starts_with("0.35:"), "{e}");
        // 1.5e9 ms of (0.1 + 0.2)-ms steps is 4999999999.999999 steps as a float
        let e = steps_of(1.5e9, dt).unwrap_err().to_string();
        assert!(e.contains("that is 5000000000 steps of dt = 0.3 ms"), "{e}");
        assert!(!e.contains("9999") && !e.contains("0004"), "{e}");
        assert_eq!(steps_of(0.3, 0.1).unwrap(), 3);
    }
}
