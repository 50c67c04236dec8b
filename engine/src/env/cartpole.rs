//! `cartpole` — Gymnasium's `CartPole-v1`, exactly: the cart-pole of Barto, Sutton and
//! Anderson (1983) with Gymnasium's constants, Euler integration, termination, reward and
//! time limit, in f64 with the observation rounded to f32 as Gymnasium returns it.
//!
//! Dynamics (one environment step of `tau`; `F = +force_mag` for action 1, `-force_mag`
//! for action 0; `m = masspole + masscart`, `l` the half length):
//!
//! ```text
//! temp      = (F + masspole l theta_dot^2 sin theta) / m
//! theta_acc = (g sin theta - cos theta temp) / (l (4/3 - masspole cos^2 theta / m))
//! x_acc     = temp - masspole l theta_acc cos theta / m
//! x        += tau x_dot;   x_dot     += tau x_acc          (Euler: positions from the old
//! theta    += tau theta_dot; theta_dot += tau theta_acc     velocities)
//! ```
//!
//! evaluated in Gymnasium's order of operations, so every state is the same f64 bit for bit
//! (the test in `python/tests/test_envs.py` steps both and compares).
//!
//! | constant | value | unit |
//! |---|---|---|
//! | `gravity` | 9.8 | m/s² |
//! | `masscart` | 1.0 | kg |
//! | `masspole` | 0.1 | kg |
//! | `length` | 0.5 | m (half the pole's length) |
//! | `force_mag` | 10.0 | N |
//! | `tau` | 0.02 | s per environment step |
//!
//! Termination: `|x| > 2.4` or `|theta| > 12 * 2 pi / 360` rad, after the step. Reward 1.0 per
//! step, the terminating one included (0.0 for steps after termination, as Gymnasium).
//! Truncation after 500 steps (`TimeLimit`, `max_episode_steps = 500`; a step both terminal
//! and the 500th is reported terminal to the rule). Reset of episode `e`: Gymnasium's
//! `reset(seed=episode_seed(seed, e))` exactly ([`super::gym_seed`]: NumPy's `SeedSequence`
//! and PCG64, each state variable `uniform(-0.05, 0.05)`), so a Gymnasium CartPole-v1 reset
//! with that seed starts in the same state, bit for bit.
//!
//! Agent step: one environment step (20 ms of the cart) per [`AGENT_STEPS`] = 10 network steps
//! of 1 ms. Encoder ([`super::encode`]): 4 dimensions × 10 neurons (40 inputs), peak rate 200
//! Hz, ranges [`RANGES`]: `x` ±2.4 m (the track), `x_dot` ±1.5 m/s, `theta` ±12° (the
//! termination angle), `theta_dot` ±2 rad/s; the observation (f32) is what is encoded.
//! Network ([`Env::network`]): 100 LIF (`tau_m` 20 ms, `v_th` 0.6, 5 ms refractory), readout
//! `tau_out` 5 ms (the previous agent step's contribution has decayed to e^-2 at an agent step's
//! end), 3 outputs (policy logits left, right; value); weights `N(0, 0.5^2 / fan-in)`: the
//! recurrent neurons then fire at about 24 Hz under random actions (at `N(0, 1 / fan-in)`, 61
//! Hz: the recurrent drive sustains itself), near the rate regularizer's usual 10 Hz target.
//!
//! Reference: A. G. Barto, R. S. Sutton, C. W. Anderson, "Neuronlike adaptive elements that can
//! solve difficult learning control problems", IEEE Trans. SMC 13(5) 1983; Gymnasium's
//! `gymnasium/envs/classic_control/cartpole.py` (Farama Foundation).

use super::encode::{DEFAULT_NEURONS, DEFAULT_RATE_HZ, PopulationCode};
use super::{End, Env, Outcome, STREAM_ENCODE, gym_seed, rng};
use crate::error::Result;
use crate::network::NetworkSpec;

/// Gravity (m/s²).
pub const GRAVITY: f64 = 9.8;
/// Mass of the cart (kg).
pub const MASSCART: f64 = 1.0;
/// Mass of the pole (kg).
pub const MASSPOLE: f64 = 0.1;
/// Half the pole's length (m).
pub const LENGTH: f64 = 0.5;
/// Force of a push (N).
pub const FORCE_MAG: f64 = 10.0;
/// Seconds per environment step.
pub const TAU: f64 = 0.02;
/// The cart's position beyond which the episode terminates (m).
pub const X_THRESHOLD: f64 = 2.4;
/// Steps after which the episode is truncated (CartPole-v1's `max_episode_steps`).
pub const MAX_EPISODE_STEPS: u64 = 500;
/// Recurrent LIF neurons of the network.
pub const HIDDEN: u32 = 100;
/// Network steps (1 ms) per agent step.
pub const AGENT_STEPS: u64 = 10;
/// The encoder's range per observation dimension: `x`, `x_dot`, `theta`, `theta_dot`.
pub const RANGES: [(f64, f64); 4] = [
    (-X_THRESHOLD, X_THRESHOLD),
    (-1.5, 1.5),
    (
        -12.0 * 2.0 * std::f64::consts::PI / 360.0,
        12.0 * 2.0 * std::f64::consts::PI / 360.0,
    ),
    (-2.0, 2.0),
];

/// The pole's angle beyond which the episode terminates (rad): 12°, computed as Gymnasium does.
pub fn theta_threshold() -> f64 {
    12.0 * 2.0 * std::f64::consts::PI / 360.0
}

/// One step of the dynamics from `state` (`x`, `x_dot`, `theta`, `theta_dot`) with `action`
/// (1 pushes right, anything else left), in Gymnasium's order of operations.
pub fn dynamics(state: [f64; 4], action: usize) -> [f64; 4] {
    let [x, x_dot, theta, theta_dot] = state;
    let total_mass = MASSPOLE + MASSCART;
    let polemass_length = MASSPOLE * LENGTH;
    let force = if action == 1 { FORCE_MAG } else { -FORCE_MAG };
    let (sintheta, costheta) = (theta.sin(), theta.cos());
    let temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass;
    let thetaacc = (GRAVITY * sintheta - costheta * temp)
        / (LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / total_mass));
    let xacc = temp - polemass_length * thetaacc * costheta / total_mass;
    [
        x + TAU * x_dot,
        x_dot + TAU * xacc,
        theta + TAU * theta_dot,
        theta_dot + TAU * thetaacc,
    ]
}

/// What one step returned, as Gymnasium's `step` (without `info`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GymStep {
    /// The observation: the state rounded to f32.
    pub obs: [f32; 4],
    /// 1.0, or 0.0 for a step after termination.
    pub reward: f64,
    /// The pole fell or the cart left the track.
    pub terminated: bool,
    /// The 500th step (or later) of the episode.
    pub truncated: bool,
}

/// The CartPole-v1 environment (see the module docs).
#[derive(Debug, Clone)]
pub struct CartPole {
    seed: u64,
    episode: u64,
    state: [f64; 4],
    elapsed: u64,
    terminated: bool,
    code: PopulationCode,
}

impl CartPole {
    /// The environment seeded with `seed`, reset to episode 0.
    pub fn new(seed: u64) -> Self {
        let code = PopulationCode::new(&RANGES, DEFAULT_NEURONS, DEFAULT_RATE_HZ, 1.0)
            .expect("the built-in ranges and rates are valid");
        let mut env = CartPole {
            seed,
            episode: 0,
            state: [0.0; 4],
            elapsed: 0,
            terminated: false,
            code,
        };
        env.reset(0)
            .expect("the engine's CartPole resets without fail");
        env
    }

    /// The state (`x`, `x_dot`, `theta`, `theta_dot`), f64 as integrated.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    /// Set the state (as assigning Gymnasium's `env.unwrapped.state`); the step count of the
    /// time limit and the termination flag are left alone.
    pub fn set_state(&mut self, state: [f64; 4]) {
        self.state = state;
    }

    /// The observation: the state rounded to f32.
    pub fn observation(&self) -> [f32; 4] {
        self.state.map(|v| v as f32)
    }

    /// Steps since the last reset.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// The encoder.
    pub fn code(&self) -> &PopulationCode {
        &self.code
    }

    /// One step as Gymnasium's `CartPole-v1` (with its `TimeLimit`) takes it: `action` 1 pushes
    /// right, 0 left (any other value counts as 0: the Python binding refuses them).
    pub fn gym_step(&mut self, action: usize) -> GymStep {
        self.state = dynamics(self.state, action);
        let [x, _, theta, _] = self.state;
        let th = theta_threshold();
        // Gymnasium's four comparisons, not a range test: a NaN state does not terminate there
        #[allow(clippy::manual_range_contains)]
        let terminated = x < -X_THRESHOLD || x > X_THRESHOLD || theta < -th || theta > th;
        // Gymnasium's reward: 1 up to and including the terminating step, 0 after it
        let reward = if self.terminated { 0.0 } else { 1.0 };
        self.terminated |= terminated;
        self.elapsed += 1;
        GymStep {
            obs: self.observation(),
            reward,
            terminated,
            truncated: self.elapsed >= MAX_EPISODE_STEPS,
        }
    }
}

impl Env for CartPole {
    fn name(&self) -> &str {
        "cartpole"
    }

    fn inputs(&self) -> usize {
        self.code.inputs()
    }

    fn actions(&self) -> usize {
        2
    }

    /// Gymnasium's `reset(seed=episode_seed(seed, episode))` ([`super::gym_seed`]): each
    /// state variable `np_random.uniform(-0.05, 0.05)`, in order.
    fn reset(&mut self, episode: u64) -> Result<()> {
        let mut r = gym_seed::numpy_pcg64(gym_seed::episode_seed(self.seed, episode).into());
        self.state = std::array::from_fn(|_| gym_seed::uniform(&mut r, -0.05, 0.05));
        self.episode = episode;
        self.elapsed = 0;
        self.terminated = false;
        Ok(())
    }

    fn encode(&mut self, k: u64, out: &mut Vec<(u64, u32)>) {
        let obs = self.observation().map(f64::from);
        let mut r = rng(self.seed, STREAM_ENCODE, self.episode, self.elapsed);
        self.code.spikes(&obs, k, &mut r, out);
    }

    fn acts(&self) -> bool {
        true
    }

    /// `None` (never asked for: CartPole always acts) counts as action 0, as any value but 1.
    fn step(&mut self, action: Option<usize>) -> Result<Outcome> {
        let s = self.gym_step(action.unwrap_or(0));
        let end = if s.terminated {
            End::Terminal
        } else if s.truncated {
            End::Truncated
        } else {
            End::Running
        };
        Ok(Outcome {
            reward: s.reward,
            end,
        })
    }

    fn agent_steps(&self) -> u64 {
        AGENT_STEPS
    }

    /// One environment step per agent step: truncated at the 500th.
    fn max_agent_steps(&self, _k: u64) -> Option<u64> {
        Some(MAX_EPISODE_STEPS)
    }

    fn network(&self, seed: u64) -> NetworkSpec {
        super::agent_network(seed, self.inputs() as u32, 2, HIDDEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One step from a hand-picked state against the equations written out plainly, each
    /// constant by its value, in the order Gymnasium evaluates them.
    #[test]
    fn one_step_is_the_written_equations() {
        for (state, action) in [
            ([0.01f64, -0.2, 0.03, 0.4], 1usize),
            ([-1.3, 0.7, -0.15, -1.1], 0),
            ([0.0, 0.0, 0.0, 0.0], 1),
        ] {
            let [x, xd, th, thd] = state;
            let f = if action == 1 { 10.0 } else { -10.0 };
            let temp = (f + 0.05 * (thd * thd) * th.sin()) / 1.1;
            let thacc = (9.8 * th.sin() - th.cos() * temp)
                / (0.5 * (4.0 / 3.0 - 0.1 * (th.cos() * th.cos()) / 1.1));
            let xacc = temp - 0.05 * thacc * th.cos() / 1.1;
            let want = [
                x + 0.02 * xd,
                xd + 0.02 * xacc,
                th + 0.02 * thd,
                thd + 0.02 * thacc,
            ];
            let mut env = CartPole::new(0);
            env.set_state(state);
            let s = env.gym_step(action);
            assert_eq!(env.state().map(f64::to_bits), want.map(f64::to_bits));
            assert_eq!(s.obs, want.map(|v| v as f32));
            assert_eq!((s.reward, s.terminated, s.truncated), (1.0, false, false));
        }
        // from rest, pushing right accelerates the cart right and the pole left (falls back):
        // x_acc = 10/1.1 - 0.05 theta_acc / 1.1 with theta_acc = -(10/1.1) / (0.5 (4/3 - 0.1/1.1))
        let s = dynamics([0.0; 4], 1);
        let thacc = -(10.0 / 1.1) / (0.5 * (4.0 / 3.0 - 0.1 / 1.1));
        assert!((s[3] - 0.02 * thacc).abs() < 1e-15 && s[3] < 0.0);
        assert!((s[1] - 0.02 * (10.0 / 1.1 - 0.05 * thacc / 1.1)).abs() < 1e-15 && s[1] > 0.0);
        assert_eq!((s[0], s[2]), (0.0, 0.0));
    }

    /// Termination just beyond 2.4 m and 12°, not at them; reward 1 on the terminating step,
    /// 0 after it.
    #[test]
    fn termination_at_the_thresholds() {
        let th = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
        let mut env = CartPole::new(0);
        // x_dot moves x by tau x_dot: land exactly on 2.4, then beyond
        env.set_state([2.4 - 0.02 * 1.0, 1.0, 0.0, 0.0]);
        let s = env.gym_step(1);
        assert_eq!(env.state()[0] <= 2.4, !s.terminated);
        env.set_state([2.39, 1.0, 0.0, 0.0]);
        let s = env.gym_step(1);
        assert!(s.terminated && s.reward == 1.0);
        let s = env.gym_step(1);
        assert!(s.reward == 0.0, "after termination Gymnasium pays 0");

        let mut env = CartPole::new(0);
        env.set_state([0.0, 0.0, th - 1e-9, 0.0]);
        // theta_dot 0: theta unchanged this step, still inside
        assert!(!env.gym_step(0).terminated);
        env.set_state([0.0, 0.0, -th - 1e-9, 0.0]);
        let o = env.step(Some(0)).unwrap();
        assert_eq!(
            o,
            Outcome {
                reward: 1.0,
                end: End::Terminal
            }
        );
    }

    /// A balancing controller keeps the pole up: the 500th step is truncated, not before.
    #[test]
    fn truncation_after_500_steps() {
        let mut env = CartPole::new(3);
        env.reset(7).unwrap();
        for n in 1..=500u64 {
            let [x, xd, th, thd] = env.state();
            // push towards where the pole leans, with a little cart centring
            let a = usize::from(th + 0.5 * thd + 0.01 * x + 0.1 * xd > 0.0);
            let o = env.step(Some(a)).unwrap();
            assert_eq!(o.reward, 1.0);
            let want = if n == 500 {
                End::Truncated
            } else {
                End::Running
            };
            assert_eq!(o.end, want, "step {n}, state {:?}", env.state());
        }
        assert_eq!(
            env.max_agent_steps(AGENT_STEPS),
            Some(500),
            "the longest episode"
        );
    }

    /// Reset is a pure function of (seed, episode), inside [-0.05, 0.05); the encoder's spikes
    /// of an episode replay.
    #[test]
    fn reset_and_encode_are_deterministic() {
        let mut a = CartPole::new(11);
        let mut b = CartPole::new(11);
        a.reset(4).unwrap();
        b.reset(3).unwrap();
        b.reset(4).unwrap();
        assert_eq!(a.state().map(f64::to_bits), b.state().map(f64::to_bits));
        assert!(a.state().iter().all(|v| (-0.05..0.05).contains(v)));
        a.reset(5).unwrap();
        assert_ne!(a.state(), b.state());
        assert_ne!(CartPole::new(12).state(), CartPole::new(11).state());
        let run = |env: &mut CartPole| {
            env.reset(2).unwrap();
            let mut spikes = Vec::new();
            for _ in 0..20 {
                env.encode(AGENT_STEPS, &mut spikes);
                env.step(Some(1)).unwrap();
            }
            spikes
        };
        let (sa, sb) = (run(&mut a), run(&mut b));
        assert_eq!(sa, sb);
        assert!(
            sa.len() > 20 * 4 * 2,
            "about 5 spikes per dimension per agent step"
        );
        assert!(sa.iter().all(|&(t, i)| t < AGENT_STEPS && i < 40));
    }

    #[test]
    fn network_has_the_protocols_populations() {
        let env = CartPole::new(0);
        let spec = env.network(1);
        let sizes: Vec<(&str, u32)> = spec
            .populations
            .iter()
            .map(|p| (p.name.as_str(), p.size))
            .collect();
        assert_eq!(sizes, [("in", 40), ("rec", 100), ("out", 3)]);
        assert_eq!((env.actions(), env.agent_steps()), (2, 10));
    }
}
