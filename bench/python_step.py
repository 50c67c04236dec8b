"""What does one `eligo.Simulation.step(1)` call cost from Python, beyond the simulated step?

A 100-neuron network (20 Poisson inputs at 20 Hz -> 76 lif_exp -> 4 readouts, dt 1 ms) is
stepped N times in a closed loop three ways, then run once for the same N steps:

- `step(1)`: the call alone;
- closed loop: `inject_current` on the recurrent population, `step(1)`, `readout` (what a
  controller does every step);
- `run`: one call for all N steps (the simulated work without per-call overhead).

Prints µs per call, steps per second and the per-call overhead (loop minus one run), the
best of `--repeat` runs. Needs the package installed (`pip install ./python`) and numpy.

    python bench/python_step.py [--steps 200000] [--repeat 5]
"""

import argparse
import time

import numpy as np

import eligo

NET = """
dt_ms = 1.0
duration_ms = 1000.0
seed = 7
[[population]]
name = "in"
model = "poisson"
size = 20
rate_hz = 20.0
[[population]]
name = "rec"
model = "lif_exp"
size = 76
[[population]]
name = "out"
model = "readout"
size = 4
[[projection]]
from = "in"
to = "rec"
rule = "fixed_probability"
p = 0.3
weight = 8.0
[[projection]]
from = "rec"
to = "rec"
rule = "fixed_probability"
p = 0.1
weight = 1.0
[[projection]]
from = "rec"
to = "out"
rule = "all_to_all"
weight = 0.1
"""


def best(f, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    net = eligo.Network.from_toml(NET)
    n = a.steps
    cur = np.full(76, 0.5, np.float32)

    def steps():
        sim = eligo.Simulation(net, record=[])
        step = sim.step
        for _ in range(n):
            step()

    def closed_loop():
        sim = eligo.Simulation(net, record=[])
        step, inject, readout = sim.step, sim.inject_current, sim.readout
        for _ in range(n):
            inject("rec", cur)
            step()
            readout("out")

    def one_run():
        sim = eligo.Simulation(net, record=[])
        sim.step(n)

    def empty_loop():
        for _ in range(n):
            pass

    base = best(one_run, a.repeat)
    loop = best(empty_loop, a.repeat)
    print(f"network: 100 neurons (20 poisson, 76 lif_exp, 4 readouts), {n} steps, best of {a.repeat}")
    print(f"{'variant':<28}{'µs/call':>10}{'steps/s':>12}{'overhead µs':>13}")
    print(f"{'run (one call)':<28}{base / n * 1e6:>10.3f}{n / base:>12.0f}{'':>13}")
    for name, f in (("step(1)", steps), ("inject+step(1)+readout", closed_loop)):
        t = best(f, a.repeat)
        print(f"{name:<28}{t / n * 1e6:>10.3f}{n / t:>12.0f}{(t - base) / n * 1e6:>13.3f}")
    print(f"(an empty Python for loop: {loop / n * 1e6:.3f} µs per iteration)")


if __name__ == "__main__":
    main()
