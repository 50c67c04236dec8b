"""Question: how many Atari frames per second per core does a closed-loop e-prop agent on Pong
process, frames -> spikes -> 400 LIF neurons -> action, and how does that compare with the
authors' setup?

Trains a few iterations (not to a score: see bench/README.md "closed loop") of reward-based
e-prop on `ALE/Pong-v5` through `eligo.train_agent`, the frames coded into spikes by a fixed
encoder (`PongSpikes`, below):

1. ALE's grey frame (210 x 160, `obs_type="grayscale"`), frameskip 4 (ALE v5's default, as
   its sticky actions, `repeat_action_probability` 0.25): one agent step = 4 frames;
2. the playing field (rows 34-193, 160 x 160) resized to 84 x 84 (nearest pixel);
3. every pixel that is not the background grey (87) is "on"; 7 x 7 blocks give a 12 x 12
   grid of cells, a cell on if any of its pixels is;
4. the frame difference: a cell that is on now and was off at the last agent step (motion
   onset: the ball, moving paddles);
5. the 144 cells and 144 onsets (288 values in {0, 1}) are rate coded (`encoding="rate"`):
   one input neuron each, `--rate-hz` when on, silent when off.

Network (`hidden=400`): 288 inputs, 400 LIF, one readout of 6 policy logits + value; 5 network
steps of 1 ms per agent step (the authors' setting); episodes capped at `--max-agent-steps`.

    python -m venv target/ale-venv && target/ale-venv/bin/pip install "ale-py>=0.9" gymnasium numpy
    target/ale-venv/bin/pip install ./python
    target/ale-venv/bin/python bench/pong.py [--iterations 2 --batch 4 --threads 1 2 --repeats 3]

ale-py >= 0.9 ships the Atari ROMs (no separate download).
"""

import argparse
import statistics
import time

import numpy as np

import eligo

try:
    import ale_py
    import gymnasium
except ImportError:  # pragma: no cover
    raise SystemExit("needs ale-py and gymnasium: pip install 'ale-py>=0.9' gymnasium")

gymnasium.register_envs(ale_py)

BACKGROUND = 87
GRID, BLOCK = 12, 7
# the field's rows 34..193 and all 160 columns, nearest pixel to 84 x 84
ROWS = 34 + (np.arange(84) * 160) // 84
COLS = (np.arange(84) * 160) // 84


class PongSpikes(gymnasium.ObservationWrapper):
    """A grey Pong frame -> 12 x 12 occupied cells and their onsets (288 values in {0, 1})."""

    def __init__(self, env):
        super().__init__(env)
        self.observation_space = gymnasium.spaces.Box(0.0, 1.0, (2 * GRID * GRID,), np.float32)
        self.prev = np.zeros((GRID, GRID), np.float32)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.prev[:] = 0.0
        return self.observation(obs), info

    def observation(self, frame):
        on = frame[np.ix_(ROWS, COLS)] != BACKGROUND
        cells = on.reshape(GRID, BLOCK, GRID, BLOCK).any(axis=(1, 3)).astype(np.float32)
        onset = np.maximum(cells - self.prev, 0.0)
        self.prev = cells
        return np.concatenate([cells.ravel(), onset.ravel()])


def make():
    return PongSpikes(gymnasium.make("ALE/Pong-v5", obs_type="grayscale"))


def env_alone(steps):
    """Frames per second of ALE + the encoder alone (random actions, no network)."""
    env = make()
    env.reset(seed=0)
    t0 = time.perf_counter()
    for _ in range(steps):
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            env.reset()
    return 4 * steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--hidden", type=int, default=400)
    ap.add_argument("--agent-steps", type=int, default=5)
    ap.add_argument("--max-agent-steps", type=int, default=400)
    ap.add_argument("--rate-hz", type=float, default=500.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    print(f"ALE/Pong-v5, {a.iterations} iterations of {a.batch} episodes (at most "
          f"{a.max_agent_steps} agent steps of 4 frames), {a.hidden} LIF, "
          f"{a.agent_steps} network steps per agent step, rate code {a.rate_hz} Hz")
    print("| threads | frames | network steps | training (s) | frames/s | frames/s per core "
          "| network steps/s | rec rate (Hz) | mean return | runs (s) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for threads in a.threads:
        runs = []
        for _ in range(a.repeats):
            res = eligo.train_agent(
                make, encoding="rate", rate_hz=a.rate_hz, hidden=a.hidden,
                agent_steps=a.agent_steps, max_agent_steps=a.max_agent_steps,
                iterations=a.iterations, batch=a.batch, lr=0.001, gamma=0.99,
                seed=a.seed, threads=threads,
            )
            runs.append(sum(h["seconds"] for h in res.history))
        secs = statistics.median(runs)
        frames = 4 * sum(sum(h["lengths"]) for h in res.history)
        steps = sum(h["network_steps"] for h in res.history)
        rate = statistics.mean(h["rate_hz"] for h in res.history)
        print(f"| {threads} | {frames} | {steps} | {secs:.2f} | {frames / secs:,.0f} "
              f"| {frames / secs / threads:,.0f} | {steps / secs:,.0f} | {rate:.1f} "
              f"| {res.returns.mean():.2f} | {', '.join(f'{r:.2f}' for r in runs)} |")
    print(f"\nInputs on per agent step (random actions): {inputs_on():.1f} of 288")
    alone = statistics.median(env_alone(2000) for _ in range(a.repeats))
    print(f"ALE + encoder alone (random actions, no network): {alone:,.0f} frames/s")


def inputs_on():
    """Mean number of 'on' inputs per agent step over a short random episode (the encoder's
    load: each on input fires with probability rate dt per network step)."""
    env = make()
    obs, _ = env.reset(seed=0)
    on = [obs.sum()]
    for _ in range(200):
        obs, *_ = env.step(env.action_space.sample())
        on.append(obs.sum())
    return float(np.mean(on))


if __name__ == "__main__":
    main()
