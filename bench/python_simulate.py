#!/usr/bin/env python3
"""Python against the CLI: `import eligo` time, and one simulation run through `eligo.simulate`
against `eligo simulate`, each as a whole process.

    target/py-venv/bin/python bench/python_simulate.py [--repeats 7] [--net data/example_net.toml]

Needs the package installed in that interpreter (`pip install ./python`) and the CLI built
(`cargo build --release`; or --eligo PATH). Every figure is the median of --repeats runs,
interleaved (CLI, Python, CLI, ...), with every run printed. The Python run does what the CLI
does: read the description, draw the network, simulate on --threads threads and keep the
recorded spikes and state (in memory; the CLI writes them to .npy files).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wall(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def wall_and_output(cmd):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return time.perf_counter() - t0, out


def show(name, runs):
    print(f"{name:<34} median {statistics.median(runs):.4f} s  runs "
          + ", ".join(f"{r:.4f}" for r in runs))
    return statistics.median(runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--net", default=os.path.join(ROOT, "data", "example_net.toml"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--duration-ms", type=float, default=10_000.0,
                    help="simulated time (replaces the description's duration_ms)")
    ap.add_argument("--eligo", default=os.path.join(ROOT, "target", "release", "eligo"))
    a = ap.parse_args()
    py = sys.executable

    imports = {"python -c pass": [], "import numpy": [], "import eligo": []}
    for _ in range(a.repeats):
        imports["python -c pass"].append(wall([py, "-c", "pass"]))
        imports["import numpy"].append(wall([py, "-c", "import numpy"]))
        imports["import eligo"].append(wall([py, "-c", "import eligo"]))
    print("== import (whole process)")
    base = show("python -c pass", imports["python -c pass"])
    show("python -c 'import numpy'", imports["import numpy"])
    eligo_t = show("python -c 'import eligo'", imports["import eligo"])
    print(f"import eligo costs {eligo_t - base:.3f} s over a bare interpreter")

    print(f"== simulate {os.path.relpath(a.net, ROOT)} for {a.duration_ms:g} ms "
          f"({a.threads} thread(s))")
    script = (
        "import sys, eligo\n"
        "net = eligo.Network.from_toml(sys.argv[1])\n"
        "r = eligo.simulate(net, threads=int(sys.argv[2]))\n"
        "assert r.counters['steps'] == net.steps\n"
        "print(r.wall_s)\n"
    )
    runs = {"cli": [], "py": [], "cli_sim": [], "py_sim": []}
    with tempfile.TemporaryDirectory() as tmp:
        text = open(a.net).read()
        text, n = re.subn(r"(?m)^duration_ms\s*=.*$", f"duration_ms = {a.duration_ms!r}", text)
        if n != 1:
            text = f"duration_ms = {a.duration_ms!r}\n" + text
        net = os.path.join(tmp, "net.toml")
        with open(net, "w") as f:
            f.write(text)
        out = os.path.join(tmp, "o")
        for _ in range(a.repeats):
            runs["cli"].append(wall([a.eligo, "simulate", net, "--out", out, "--quiet",
                                     "--threads", str(a.threads)]))
            with open(os.path.join(out, "summary.json")) as f:
                runs["cli_sim"].append(json.load(f)["wall_s"])
            t, printed = wall_and_output([py, "-c", script, net, str(a.threads)])
            runs["py"].append(t)
            runs["py_sim"].append(float(printed.strip().splitlines()[-1]))
    c = show("eligo simulate, whole process", runs["cli"])
    p = show("eligo.simulate, whole process", runs["py"])
    print(f"whole process: Python / CLI = {p / c:.3f} (medians)")
    c = show("eligo simulate, simulation loop", runs["cli_sim"])
    p = show("eligo.simulate, simulation loop", runs["py_sim"])
    print(f"simulation loop: Python / CLI = {p / c:.3f} (medians); best runs "
          f"{min(runs['py_sim']) / min(runs['cli_sim']):.3f}")


if __name__ == "__main__":
    main()
