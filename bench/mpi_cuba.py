#!/usr/bin/env python3
"""CUBA over MPI ranks against threads, side by side in one run (bench/README.md, "mpi").

For each network size, runs `eligo simulate` on the CUBA network (the engine's
`network::cuba` builder written as a description: 80/20 exc/inh `lif_exp`, p = 80/N, dt 0.1 ms,
delay 0.1 ms, so the ranks exchange spikes every step) as 1 rank x 1 thread, 1 rank x 2
threads and 2 ranks x 1 thread (`mpirun -np 2`), each under GNU time for the peak memory of
every process, and prints one table: wall time of the simulation loop, the share of it in
the exchange (waiting for the other rank + moving the spikes), and the memory per process.
Also checks that the spike files are byte-identical across the three.

    cargo build --release --features mpi
    python3 bench/mpi_cuba.py --neurons 200000 --time-ms 1000 --repeats 3
"""

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile


def description(n: int, time_ms: float) -> str:
    n_exc = n * 4 // 5
    p = min(80.0 / n, 1.0)
    pops = "".join(
        f"""
[[population]]
name = "{name}"
model = "lif_exp"
size = {size}
v_init = {{ kind = "uniform", low = -60.0, high = -50.0 }}
"""
        for name, size in (("exc", n_exc), ("inh", n - n_exc))
    )
    projs = "".join(
        f"""
[[projection]]
from = "{a}"
to = "{b}"
rule = "fixed_probability"
p = {p!r}
weight = {w}
delay_ms = 0.1
allow_autapses = true
"""
        for a, b, w in (("exc", "exc", 1.62), ("exc", "inh", 1.62), ("inh", "exc", -9.0), ("inh", "inh", -9.0))
    )
    rec = '\n[[recorder]]\npopulation = "exc"\nkind = "spikes"\n'
    return f"dt_ms = 0.1\nduration_ms = {time_ms}\nseed = 1\n{pops}{projs}{rec}"


def peak_kib(stderr: str) -> list:
    return [int(m) for m in re.findall(r"Maximum resident set size \(kbytes\): (\d+)", stderr)]


def run(eligo: str, cfg: str, out: str, ranks: int, threads: int, mpi: bool) -> dict:
    timed = ["/usr/bin/time", "-v", eligo, "simulate", cfg, "--out", out, "--threads", str(threads), "--quiet"]
    if mpi:
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(ranks)] + timed
    else:
        env, cmd = None, timed
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    s = json.load(open(os.path.join(out, "summary.json")))
    per = s.get("per_rank") or []
    xch = max((p["exchange_s"] for p in per), default=0.0)
    wait = max((p.get("wait_s", 0.0) for p in per), default=0.0)
    return {
        "per_rank": per,
        "steps": s["steps"],
        "events": s["synaptic_events"],
        "neurons": s["neurons"],
        "wall": s["wall_s"],
        "exchange": xch,
        "wait": wait,
        "rss": peak_kib(r.stderr),
        "synapses": [p["synapses"] for p in per] or [s["synapses"]],
        "bytes": sum(p["bytes_sent"] for p in per),
        "spikes": open(os.path.join(out, "spikes_exc.npy"), "rb").read(),
        "rate": s["rates_hz"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--neurons", default="200000", help="comma-separated sizes (default 200000)")
    ap.add_argument("--time-ms", type=float, default=1000.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--eligo", default="target/release/eligo")
    a = ap.parse_args()
    if shutil.which("mpirun") is None:
        sys.exit("mpirun not found: install Open MPI (Debian: libopenmpi-dev openmpi-bin)")
    # (ranks, threads, through mpirun): 1 x 1 under mpirun too, for its update/deliver split
    layouts = [(1, 1, False), (1, 1, True), (1, 2, False), (2, 1, True)]
    print(f"CUBA, T = {a.time_ms:g} ms, median of {a.repeats} run(s); layout = ranks x threads\n")
    print("| N | layout | synapses per rank | sim (s) | vs 1x1 | exchange + wait (s) | share | of it waiting | MB sent | peak RSS per process (MiB) |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---|")
    fits = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in a.neurons.split(",")]:
            cfg = os.path.join(tmp, f"cuba_{n}.toml")
            open(cfg, "w").write(description(n, a.time_ms))
            base = None
            results = {}
            for rep in range(a.repeats):
                for ranks, threads, mpi in layouts:
                    out = os.path.join(tmp, f"o_{n}_{ranks}_{threads}_{mpi}_{rep}")
                    results.setdefault((ranks, threads, mpi), []).append(run(a.eligo, cfg, out, ranks, threads, mpi))
                    shutil.rmtree(out)
            for (ranks, threads, mpi), rs in results.items():
                for r in rs:
                    if r["spikes"] != rs[0]["spikes"] or r["spikes"] != results[(1, 1, False)][0]["spikes"]:
                        sys.exit(f"N = {n}, {ranks} x {threads}: spikes differ from 1 x 1")
                wall = statistics.median(r["wall"] for r in rs)
                xch = statistics.median(r["exchange"] for r in rs)
                wait = statistics.median(r["wait"] for r in rs)
                base = base or wall
                rss = ", ".join(f"{k / 1024:.0f}" for k in rs[0]["rss"])
                syn = ", ".join(str(s) for s in rs[0]["synapses"])
                share = f"{100 * xch / wall:.1f} %" if mpi else "-"
                waiting = f"{100 * wait / xch:.0f} %" if mpi and xch > 0 else "-"
                mb = f"{rs[0]['bytes'] / 1e6:.1f}" if mpi else "-"
                layout = f"{ranks} x {threads}" + (" (mpirun)" if mpi else "")
                print(f"| {n} | {layout} | {syn} | {wall:.3f} | {base / wall:.2f}x | "
                      f"{xch:.3f} | {share} | {waiting} | {mb} | {rss} |")
            fits.append(fit(n, results))
    print("\nspike files byte-identical across layouts and repeats: yes")
    for f in fits:
        print(f"\nfit at N = {f['n']}: update {f['c_u'] * 1e9:.2f} ns per neuron-step, delivery "
              f"{f['c_d'] * 1e9:.2f} ns per synaptic event (1 x 1 under mpirun), exchange "
              f"{f['x2'] * 1e6:.2f} us per epoch at 2 ranks (median over runs and ranks)")
    if fits:
        model(fits[-1])


def fit(n: int, results: dict) -> dict:
    one = results[(1, 1, True)]
    c_u = statistics.median(r["per_rank"][0]["update_s"] / (r["neurons"] * r["steps"]) for r in one)
    c_d = statistics.median(r["per_rank"][0]["deliver_s"] / max(r["events"], 1) for r in one)
    two = results[(2, 1, True)]
    x2 = statistics.median(p["exchange_s"] / max(p["epochs"], 1) for r in two for p in r["per_rank"])
    return {"n": n, "c_u": c_u, "c_d": c_d, "x2": x2}


# The networks the model predicts for: (name, neurons, synapses per neuron, mean rate in Hz,
# epoch in steps of 0.1 ms). CUBA as measured here (5.7 Hz); the cortical microcircuit
# (Potjans and Diesmann 2014: 77 169 neurons, ~3 900 synapses per neuron, an assumed mean rate
# of 4 Hz, delays down to one 0.1-ms step).
NETS = [("CUBA 200 000", 200_000, 80, 5.7, 1), ("microcircuit", 77_169, 3_900, 4.0, 1)]


def model(f: dict) -> None:
    """Per step and rank: N/R updates + events/R deliveries + one exchange of the epoch's
    spikes, whose latency grows as log2 R (recursive doubling) plus the bytes received."""
    alpha = 2e-6  # one message latency between machines (InfiniBand-class), s
    bw = 10e9  # bytes per second into a rank
    print("\nModel (strong scaling; per-core costs fitted above; between machines: "
          f"{alpha * 1e6:.0f} us per message, log2 R messages per allgather, {bw / 1e9:.0f} GB/s):\n")
    print("| network | ranks | compute per step (us) | exchange per step (us) | exchange share | "
          "s per simulated s (RTF) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, n, k, rate, d in NETS:
        spikes = n * rate * 1e-4  # per 0.1-ms step
        for r in [1, 8, 64, 256, 1024]:
            comp = (n * f["c_u"] + spikes * k * f["c_d"]) / r
            if r == 1:
                xch = 0.0
            else:
                words = r * (1 + d) + spikes * d
                xch = (2 * alpha * math.ceil(math.log2(r)) + 4 * words / bw) / d
            step = comp + xch
            print(f"| {name} | {r} | {comp * 1e6:.2f} | {xch * 1e6:.2f} | "
                  f"{100 * xch / step:.0f} % | {step * 1e4:.3f} |")


if __name__ == "__main__":
    main()
