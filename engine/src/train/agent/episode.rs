//! One episode of the closed loop (the protocol of the module docs of [`super`]): the
//! agent steps, the action drawn from the policy readout, the end of the episode.

use rand::{RngExt, SeedableRng};

use super::Lane;
use crate::env::{End, Env};
use crate::error::{Error, Result};
use crate::rng::splitmix64;
use crate::sim::Simulation;

/// The seeded generator of agent step `step` of episode `episode`: a pure function of the three.
fn action_rng(seed: u64, episode: u64, step: u64) -> rand_xoshiro::Xoshiro256PlusPlus {
    rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(splitmix64(
        splitmix64(splitmix64(seed ^ 0xAC70_0000) ^ episode) ^ step,
    ))
}

/// An action drawn from `softmax(logits)` with one uniform number `u` in `[0, 1)`: the first
/// action whose cumulative probability exceeds `u` (in f64, the largest logit subtracted).
pub fn sample_action(logits: &[f32], u: f64) -> usize {
    let max = logits
        .iter()
        .fold(f64::NEG_INFINITY, |m, &y| m.max(f64::from(y)));
    let e: Vec<f64> = logits.iter().map(|&y| (f64::from(y) - max).exp()).collect();
    let total: f64 = e.iter().sum();
    let mut cum = 0.0;
    for (k, x) in e.iter().enumerate() {
        cum += x / total;
        if u < cum {
            return k;
        }
    }
    logits.len() - 1
}

/// What a lane's episodes of a batch gave: its spikes per neuron, and each episode's result.
pub(super) type LaneOut = (Vec<Vec<u64>>, Vec<Episode>);

/// What one episode gave.
pub(super) struct Episode {
    /// Its position in the batch.
    pub(super) index: usize,
    pub(super) ret: f64,
    /// Agent steps.
    pub(super) length: u64,
    /// Network steps run.
    pub(super) steps: u64,
}

/// What every episode of a batch shares.
pub(super) struct Loop {
    pub(super) seed: u64,
    pub(super) k: u64,
    pub(super) max_agent_steps: u64,
    pub(super) actions: usize,
    pub(super) input: usize,
    pub(super) readout: usize,
}

impl Loop {
    /// Run episode `episode` (batch position `index`) in `lane` (see the module docs); its
    /// spikes per neuron are added into `counts`.
    pub(super) fn episode(
        &self,
        lane: &mut Lane,
        index: usize,
        episode: u64,
        counts: &mut Vec<Vec<u64>>,
    ) -> Result<Episode> {
        let (sim, env) = (&mut lane.sim, &mut lane.env);
        sim.reset();
        env.reset(episode)?;
        // channels in CHANNELS order, added first: a held value of the last episode never leaks
        sim.set_modulator(0, -1.0);
        sim.set_modulator(1, 0.0);
        sim.set_modulator(2, 0.0);
        sim.begin_sequence()?;
        let (mut ret, mut n) = (0.0f64, 0u64);
        let mut spikes = Vec::new();
        let mut y = Vec::new();
        loop {
            self.agent_step(sim, env.as_mut(), &mut spikes)?;
            let action = if env.acts() {
                sim.read_state(self.readout, "y", &mut y)?;
                let logits = &y[..self.actions];
                if let Some(v) = logits.iter().find(|v| !v.is_finite()) {
                    return Err(Error::Rule(format!(
                        "episode {episode}, agent step {n}: a policy logit is {v}; the weights diverged (try a smaller --lr)"
                    )));
                }
                let u: f64 = action_rng(self.seed, episode, n).random();
                Some(sample_action(logits, u))
            } else {
                None
            };
            let out = env.step(action)?;
            ret += out.reward;
            n += 1;
            let end = match out.end {
                End::Running if n >= self.max_agent_steps => End::Truncated,
                e => e,
            };
            sim.set_modulator(0, action.map_or(-1.0, |a| a as f32));
            sim.set_modulator(1, out.reward as f32);
            sim.set_modulator(2, end.code());
            match end {
                End::Running => {}
                End::Terminal => {
                    sim.run(1, None)?;
                    break;
                }
                End::Truncated => {
                    self.agent_step(sim, env.as_mut(), &mut spikes)?;
                    break;
                }
            }
        }
        let steps = sim.step();
        sim.end_sequence(steps)?;
        sim.add_spike_counts(counts);
        Ok(Episode {
            index,
            ret,
            length: n,
            steps,
        })
    }

    /// Clamp the environment's encoding of the next `K` steps onto the input population (at
    /// the absolute steps from now) and run them.
    fn agent_step(
        &self,
        sim: &mut Simulation,
        env: &mut dyn Env,
        spikes: &mut Vec<(u64, u32)>,
    ) -> Result<()> {
        spikes.clear();
        env.encode(self.k, spikes);
        if let Some(&(s, i)) = spikes.iter().find(|&&(s, _)| s >= self.k) {
            return Err(Error::Rule(format!(
                "environment '{}' encoded a spike of input {i} at step {s} of an agent step of {} steps",
                env.name(),
                self.k
            )));
        }
        let t0 = sim.step();
        for e in spikes.iter_mut() {
            e.0 += t0;
        }
        sim.clamp(self.input, spikes)?;
        sim.run(self.k, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_follows_the_softmax() {
        // softmax([0, ln 3]) = [1/4, 3/4]
        let y = [0.0f32, 3f32.ln()];
        assert_eq!(sample_action(&y, 0.0), 0);
        assert_eq!(sample_action(&y, 0.2499), 0);
        assert_eq!(sample_action(&y, 0.2501), 1);
        assert_eq!(sample_action(&y, 0.999_999), 1);
        // a huge logit does not overflow
        assert_eq!(sample_action(&[1e30, 0.0], 0.5), 0);
    }

    #[test]
    fn the_generator_is_a_function_of_seed_episode_and_step() {
        let u = |s, e, n| -> f64 { action_rng(s, e, n).random() };
        assert_eq!(u(1, 2, 3), u(1, 2, 3));
        assert_ne!(u(1, 2, 3), u(1, 2, 4));
        assert_ne!(u(1, 2, 3), u(1, 3, 3));
        assert_ne!(u(1, 2, 3), u(2, 2, 3));
    }
}
