//! Modulator channels: named per-step signals (a reward, a neuromodulator trace, a task phase)
//! that learning rules read at every step — the third factor of three-factor rules.
//!
//! A channel's value at step `t` of a sequence comes from a series set for the sequence (by a
//! task, a file given with `--modulator NAME=FILE.npy`, or a caller), or, without a series, is
//! the last value set step by step (a closed loop: an environment or the Python bindings set it
//! before each step). Past the end of its series a channel reads 0.

use crate::error::{Error, Result};

/// The modulator channels of a simulation.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Modulators {
    /// Channel names, in the order rules see them.
    pub names: Vec<String>,
    /// Per channel: a value for each step of the sequence, if set.
    series: Vec<Option<Vec<f32>>>,
    /// This step's value of each channel.
    pub current: Vec<f32>,
}

impl Modulators {
    /// Add channel `name`; returns its index. Names are unique.
    pub fn add(&mut self, name: &str) -> Result<usize> {
        if name.is_empty() || self.names.iter().any(|n| n == name) {
            return Err(Error::input(
                "modulator",
                format!("'{name}'"),
                if name.is_empty() {
                    "a modulator channel needs a name".to_string()
                } else {
                    "this channel is already defined; every channel needs its own name".to_string()
                },
                "",
            ));
        }
        self.names.push(name.to_string());
        self.series.push(None);
        self.current.push(0.0);
        Ok(self.names.len() - 1)
    }

    /// The index of channel `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Give channel `k` a value for every step of the sequence (`None`: values set step by
    /// step with [`Modulators::set`]).
    pub fn set_series(&mut self, k: usize, values: Option<Vec<f32>>) {
        self.series[k] = values;
    }

    /// Set channel `k`'s value from now on (a channel without a series keeps it).
    pub fn set(&mut self, k: usize, value: f32) {
        self.current[k] = value;
    }

    /// Before step `t` is shown to the rules: channels with a series take their value at `t`.
    #[inline]
    pub fn advance(&mut self, t: u64) {
        for (c, s) in self.current.iter_mut().zip(&self.series) {
            if let Some(s) = s {
                *c = usize::try_from(t)
                    .ok()
                    .and_then(|t| s.get(t))
                    .copied()
                    .unwrap_or(0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_and_held_values() {
        let mut m = Modulators::default();
        let r = m.add("reward").unwrap();
        let d = m.add("dopamine").unwrap();
        assert!(m.add("reward").is_err());
        m.set_series(r, Some(vec![1.0, 2.0]));
        m.set(d, 0.5);
        m.advance(1);
        assert_eq!(m.current, [2.0, 0.5]);
        m.advance(2); // past the end of the series
        assert_eq!(m.current, [0.0, 0.5]);
        assert_eq!(m.index("dopamine"), Some(1));
    }
}
