"""A closed loop: Gymnasium's CartPole-v1 drives a spiking network, a readout picks the action.

Each environment step (20 ms of network time, 20 steps of 1 ms):

1. the observation (cart position and velocity, pole angle and angular velocity) becomes
   input currents of 8 `lif` neurons, a positive and a negative one per observation
   (`Simulation.inject_current`, rate coding);
2. the network runs (`Simulation.step`), the GIL released inside each call;
3. the two readouts' outputs (`Simulation.readout`) pick the action: push left or right;
4. the environment's reward goes to the modulator channel `reward`
   (`Simulation.set_modulator`), which a reward-based rule reads every step; with
   `--rule rstdp` the reward-modulated STDP plugin learns the input->hidden weights.

The weights from the inputs onto the readouts are set by hand to the classic pole-balancing
rule (push towards the side the pole falls to), so the loop balances the pole without
training. The hidden population and its weights onto the readouts (zero here) are what a
reward-based rule is to learn; `rstdp` can learn only projections onto spiking neurons
(obs->hidden), so with it the returns stay those of the hand-set rule.

Needs `pip install ./python gymnasium`; `--rule` also the plugins, built by `cargo build
--release` into target/release. Run from the repository root:

    python python/examples/closed_loop_gym.py [--episodes 5] [--rule rstdp]
"""

import argparse
import pathlib

import numpy as np

import eligo

try:
    import gymnasium as gym
except ImportError:  # pragma: no cover
    raise SystemExit("this example needs Gymnasium: pip install gymnasium")

ROOT = pathlib.Path(__file__).resolve().parents[2]

# inputs: [x+, x-, v+, v-, theta+, theta-, omega+, omega-]; the readout "act" has
# [left, right]: the positive angle and angular-velocity neurons push right, the negative
# ones left
NET = """
dt_ms = 1.0
duration_ms = 10000.0
seed = 1
[[population]]
name = "obs"
model = "lif"
size = 8
tau_m_ms = 10.0
v_th = 0.5
t_ref_ms = 2.0
[[population]]
name = "hidden"
model = "lif"
size = 32
[[population]]
name = "act"
model = "readout"
size = 2
tau_out_ms = 10.0
[[projection]]
from = "obs"
to = "act"
rule = "list"
pairs = [[4, 1], [6, 1], [5, 0], [7, 0]]
weights = [1.0, 1.0, 1.0, 1.0]
[[projection]]
from = "obs"
to = "hidden"
rule = "fixed_probability"
p = 0.5
weight = { kind = "uniform", low = 0.0, high = 0.5 }
[[projection]]
from = "hidden"
to = "act"
rule = "all_to_all"
weight = 0.0
"""

STEPS_PER_ACTION = 20
# current per unit of each observation (x, v, theta, omega): the angle and its rate decide
GAIN = np.array([0.05, 0.1, 3.0, 0.6], np.float32)


def currents(obs: np.ndarray) -> np.ndarray:
    """The observation as currents of the 8 input neurons (positive and negative parts)."""
    s = (GAIN * obs).astype(np.float32)
    return np.stack([np.maximum(s, 0), np.maximum(-s, 0)], axis=1).reshape(-1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--rule", help="a reward-based plugin for obs->hidden, e.g. rstdp")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    net = eligo.Network.from_toml(NET)
    # rstdp learns the projections onto spiking populations (obs->hidden); the hand-set
    # weights onto the readouts stay
    rules = [(a.rule, {"eta": 0.01})] if a.rule else None
    sim = eligo.Simulation(
        net,
        rules=rules,
        modulators=["reward"],
        plugin_dir=[ROOT / "target" / "release"],
    )
    env = gym.make("CartPole-v1")
    for episode in range(a.episodes):
        obs, _ = env.reset(seed=a.seed + episode)
        ret, done = 0.0, False
        while not done:
            drive = currents(obs)
            y = np.zeros(2, np.float32)
            for _ in range(STEPS_PER_ACTION):
                sim.inject_current("obs", drive)
                sim.step()
                y += sim.readout("act")
            action = int(y[1] > y[0])
            obs, reward, terminated, truncated, _ = env.step(action)
            sim.set_modulator("reward", float(reward))
            ret += reward
            done = terminated or truncated
        print(f"episode {episode}: return {ret:.0f} (network time {sim.t_ms / 1000:.1f} s)")
    if a.rule:
        w = sim.weights("obs->hidden")
        print(f"obs->hidden weights after learning: mean {w.mean():.4f}, max {w.max():.4f}")
    env.close()


if __name__ == "__main__":
    main()
