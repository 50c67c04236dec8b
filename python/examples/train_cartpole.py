"""Solve Gymnasium's CartPole-v1 from Python with reward-based e-prop (`eligo.train_agent`).

The environment is Gymnasium's own (`gymnasium.make("CartPole-v1")`, stepped through Python),
coded by the engine's population code with the engine's CartPole ranges, the network and
settings of docs/results.md ("Reward-based e-prop: CartPole-v1"): 100 LIF neurons, 8
episodes per batch, Adam 3e-3, TD form, value weight 0.03, random or symmetric feedback. Solved = the mean return of 100
consecutive episodes reaches 195. Per seed, prints the episode at which it was solved (or
not), the final 100-episode mean and the wall time; writes each run into OUT/seed_S.

Needs `pip install ./python gymnasium`. From the repository root:

    python python/examples/train_cartpole.py [--seeds 1 2 3] [--feedback symmetric] [--out out/cartpole_py]
"""

import argparse
import pathlib
import time

import eligo

try:
    import gymnasium
except ImportError:  # pragma: no cover
    raise SystemExit("this example needs Gymnasium: pip install gymnasium")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--c-v", type=float, default=0.03, help="value weight of the learning signal")
    ap.add_argument("--feedback", default="random", choices=["random", "symmetric"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="out/cartpole_py")
    a = ap.parse_args()
    print("seed  solved at episode  100-episode mean at the end  wall time (s)")
    for seed in a.seeds:
        t0 = time.perf_counter()
        res = eligo.train_agent(
            lambda: gymnasium.make("CartPole-v1"),
            ranges=eligo.envs.CARTPOLE_RANGES,
            batch=8,
            iterations=a.iterations,
            lr=a.lr,
            gamma=0.95,
            params={"c_v": a.c_v, "c_entropy": 0.01},
            feedback=a.feedback,
            seed=seed,
            threads=a.threads,
            target_return=195.0,
            out=pathlib.Path(a.out) / f"seed_{seed}",
        )
        wall = time.perf_counter() - t0
        at = res.reached_at if res.reached_at is not None else f"not in {len(res.returns)}"
        print(f"{seed:4d}  {at!s:>17}  {res.summary['moving_average']:27.1f}  {wall:13.1f}")


if __name__ == "__main__":
    main()
