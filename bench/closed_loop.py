"""Question: how fast is the closed loop, and what does a Gymnasium environment stepped through
Python cost against the engine's own CartPole?

Runs the same reward-based training (`eligo.train_agent`: CartPole-v1, 100 LIF neurons, 10
network steps per environment step, 8 episodes per batch, TD form, random feedback, seed 1)
on the engine's CartPole (`env="cartpole"`) and on Gymnasium's CartPole-v1 through Python
(`ranges=eligo.envs.CARTPOLE_RANGES`), on one and two threads. Both do the same episodes bit
for bit (checked), so the difference is the cost of the Python environment. Prints environment
steps and network steps per second of training time (the iterations' own `seconds`), the
median of `--repeats` runs, and Gymnasium's CartPole alone (random actions, no network).

    python bench/closed_loop.py [--iterations 60 --repeats 3]

Needs the package installed (`pip install ./python gymnasium`).
"""

import argparse
import statistics
import time

import numpy as np

import eligo
import gymnasium


def run(env, threads, a):
    kw = {} if env == "cartpole" else dict(ranges=eligo.envs.CARTPOLE_RANGES)
    res = eligo.train_agent(
        env if env == "cartpole" else (lambda: gymnasium.make("CartPole-v1")),
        iterations=a.iterations, batch=8, lr=0.003, gamma=0.95,
        params={"c_v": 0.5, "c_entropy": 0.01}, seed=a.seed, threads=threads, **kw,
    )
    secs = sum(h["seconds"] for h in res.history)
    env_steps = sum(sum(h["lengths"]) for h in res.history)
    net_steps = sum(h["network_steps"] for h in res.history)
    return res.returns, secs, env_steps, net_steps


def gym_alone(steps):
    env = gymnasium.make("CartPole-v1")
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 2, size=steps)
    env.reset(seed=0)
    t0 = time.perf_counter()
    for a in acts:
        _, _, term, trunc, _ = env.step(int(a))
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    print(f"CartPole-v1, {a.iterations} iterations of 8 episodes, seed {a.seed}, "
          f"median of {a.repeats}")
    print("| environment | threads | env steps | network steps | training (s) "
          "| env steps/s | network steps/s | runs (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    ref = None
    for threads in (1, 2):
        for env in ("cartpole", "CartPole-v1"):
            runs = [run(env, threads, a) for _ in range(a.repeats)]
            returns, _, env_steps, net_steps = runs[0]
            if ref is None:
                ref = returns
            assert np.array_equal(returns, ref), "the runs must do the same episodes"
            secs = [r[1] for r in runs]
            med = statistics.median(secs)
            name = "engine CartPole (Rust)" if env == "cartpole" else "Gymnasium CartPole-v1 (Python)"
            print(f"| {name} | {threads} | {env_steps} | {net_steps} | {med:.3f} "
                  f"| {env_steps / med:,.0f} | {net_steps / med:,.0f} "
                  f"| {', '.join(f'{s:.3f}' for s in secs)} |")
    n = 100_000
    print(f"\nGymnasium CartPole-v1 alone (random actions, {n} steps): "
          f"{statistics.median(gym_alone(n) for _ in range(a.repeats)):,.0f} steps/s")


if __name__ == "__main__":
    main()
