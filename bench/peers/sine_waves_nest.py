#!/usr/bin/env python3
"""NEST 3.10's e-prop sine-wave regression example, run unmodified apart from four edits, timed.

Question it answers: how long does NEST 3.10 take per training iteration of its own e-prop
regression example (eprop_supervised_regression_sine-waves.py: 100 frozen Poisson inputs,
100 eprop_iaf, 1 eprop_readout, 1 s sequences, gradient descent eta = 1e-4 (1 - 0.97)^2,
batch 1) on one thread, and what loss does it reach? It is the NEST side of
bench/peers/compare_sine_waves.py.

Usage (with the venv made by bench/peers/setup_venv.sh):
    bench/.venv/bin/python bench/peers/sine_waves_nest.py --iterations 200

The example's source is read from the installed wheel
(site-packages/nest/doc/examples/pynest/eprop_plasticity/eprop_supervised_regression_sine-waves.py)
and executed with exec(). What is changed, by exact text substitution (the script fails if a
substitution does not match, so a changed example is noticed):
  1. `n_iter = 200`                        -> `n_iter = <--iterations>`
  2. `"total_num_virtual_procs": 1`       -> unchanged value, asserted present (one thread)
  3. `nest.Simulate(duration["sim"])`     -> the same call between two perf_counter() reads
  4. `do_plotting = True`                  -> `do_plotting = False` (the script then exits
                                              right after computing its loss; no plots)
and `IPython.display.Image` (used only to show a PNG in notebooks) is stubbed if IPython is
not installed. Everything else (network, weights, seeds, target, learning rate, loss) is the
example's own.

Prints exactly one JSON line on stdout:
    {"simulator": "nest", "task": "sine-waves", "iterations", "threads": 1,
     "sim_s", "seconds_per_iteration", "build_s", "loss_first", "loss_last", "loss_min",
     "loss": [per-iteration loss]}
  sim_s   wall time of the example's single nest.Simulate() call (all iterations)
  build_s wall time of everything before it (kernel reset, Create, Connect, generators)
  loss    the example's own `0.5 * sum_t (y - y*)^2` per iteration
"""
import argparse
import json
import os
import sys
import time
import types

EXAMPLE = "eprop_supervised_regression_sine-waves.py"


def find_example():
    import nest  # noqa: F401  (the example imports it too)
    base = os.path.dirname(nest.__file__)
    path = os.path.join(base, "doc", "examples", "pynest", "eprop_plasticity", EXAMPLE)
    if not os.path.exists(path):
        sys.exit(f"cannot find {EXAMPLE} under {base}")
    return path


def sub(src, old, new):
    if src.count(old) != 1:
        sys.exit(f"expected exactly one {old!r} in the example (found {src.count(old)})")
    return src.replace(old, new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--example", default=None, help="path of the example (default: the wheel's)")
    args = ap.parse_args()

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import IPython.display  # noqa: F401
    except ImportError:
        ipy = types.ModuleType("IPython")
        disp = types.ModuleType("IPython.display")
        disp.Image = lambda *a, **k: None
        ipy.display = disp
        sys.modules["IPython"], sys.modules["IPython.display"] = ipy, disp
    import matplotlib
    matplotlib.use("Agg")

    path = args.example or find_example()
    src = open(path).read()
    src = sub(src, "n_iter = 200", f"n_iter = {args.iterations}")
    sub(src, '"total_num_virtual_procs": 1', '"total_num_virtual_procs": 1')
    src = sub(src, 'nest.Simulate(duration["sim"])',
              '__t["sim0"] = __pc(); nest.Simulate(duration["sim"]); __t["sim1"] = __pc()')
    src = sub(src, "do_plotting = True", "do_plotting = False")

    t = {}
    ns = {"__name__": "__main__", "__file__": path, "__t": t, "__pc": time.perf_counter}
    t["start"] = time.perf_counter()
    try:
        exec(compile(src, path, "exec"), ns)
    except SystemExit:
        pass  # the example calls exit() when do_plotting is False
    import nest
    threads = nest.GetKernelStatus("total_num_virtual_procs")
    loss = [float(x) for x in ns["loss"]]
    sim_s = t["sim1"] - t["sim0"]
    print(json.dumps({
        "simulator": "nest", "task": "sine-waves", "iterations": args.iterations,
        "threads": threads, "sim_s": sim_s, "seconds_per_iteration": sim_s / args.iterations,
        "build_s": t["sim0"] - t["start"], "loss_first": loss[0], "loss_last": loss[-1],
        "loss_min": min(loss), "loss": loss,
    }))


if __name__ == "__main__":
    main()
