#!/usr/bin/env python3
"""The cortical microcircuit over MPI ranks against threads, side by side in one run
(bench/README.md, "mpi").

Runs `eligo bench microcircuit` (Potjans & Diesmann 2014, `engine/src/network/microcircuit.rs`)
as 1 rank x 1 thread, 1 rank x 2 threads and 2 ranks x 1 thread (`mpirun -np 2`), interleaved,
`--repeats` times, and prints one table of medians: wall time of the timed model time after the
warm-up and its real-time factor, the share of it in the exchange (waiting for the other rank +
moving the spikes), the synapses and the peak memory of every process. Checks that every
layout gives the same per-population spike counts (the run is bit-identical over ranks).

    cargo build --release --features mpi
    python3 bench/mpi_microcircuit.py --scale 1.0 --time-ms 1000 --repeats 1
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys


def run(a, ranks: int, threads: int) -> dict:
    cmd = [a.eligo, "bench", "microcircuit", "--scale", str(a.scale), "--time-ms", str(a.time_ms),
           "--warmup-ms", str(a.warmup_ms), "--threads", str(threads), "--background", a.background,
           "--seed", str(a.seed)]
    env = None
    if ranks > 1:
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(ranks)] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--time-ms", type=float, default=1000.0)
    ap.add_argument("--warmup-ms", type=float, default=500.0)
    ap.add_argument("--background", default="dc", choices=["dc", "poisson"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--eligo", default="target/release/eligo")
    a = ap.parse_args()
    if shutil.which("mpirun") is None:
        sys.exit("mpirun not found: install Open MPI (Debian: libopenmpi-dev openmpi-bin)")
    layouts = [(1, 1), (1, 2), (2, 1)]
    results = {lay: [] for lay in layouts}
    for _ in range(a.repeats):
        for lay in layouts:
            results[lay].append(run(a, *lay))
    ref = results[(1, 1)][0]
    for lay, rs in results.items():
        for r in rs:
            if r["rates_hz"] != ref["rates_hz"] or r["spikes"] != ref["spikes"]:
                sys.exit(f"{lay[0]} x {lay[1]}: spike counts differ from 1 x 1")
    print(f"microcircuit, scale {a.scale:g} ({ref['neurons']} neurons, {ref['synapses']} synapses), "
          f"{a.background} background, {a.time_ms:g} ms after {a.warmup_ms:g} ms, seed {a.seed}; "
          f"median of {a.repeats} run(s); layout = ranks x threads\n")
    print("| layout | sim (s) | RTF | vs 1x1 | build (s) | exchange + wait (s, per rank) | share | "
          "synapses per rank | peak RSS per process (MiB) |")
    print("|---|---:|---:|---:|---:|---|---:|---|---|")
    base = None
    for (ranks, threads), rs in results.items():
        sim = statistics.median(r["sim_s"] for r in rs)
        build = statistics.median(r["build_s"] for r in rs)
        base = base or sim
        rtf = sim / (a.time_ms * 1e-3)
        per = rs[0].get("per_rank") or []
        if per:
            xch = [statistics.median(r["per_rank"][k]["exchange_s"] for r in rs) for k in range(len(per))]
            xs = ", ".join(f"{x:.2f}" for x in xch)
            share = f"{100 * max(xch) / sim:.1f} %"
            syn = ", ".join(str(p["synapses"]) for p in per)
            rss = ", ".join(f"{p['peak_rss_bytes'] / 2**20:.0f}" for p in per)
        else:
            xs, share, syn = "-", "-", str(rs[0]["synapses"])
            rss = f"{rs[0]['peak_rss_bytes'] / 2**20:.0f}"
        print(f"| {ranks} x {threads} | {sim:.2f} | {rtf:.2f} | {base / sim:.2f}x | {build:.1f} | "
              f"{xs} | {share} | {syn} | {rss} |")
    print("\nper-population spike counts identical across layouts and repeats: yes")
    print("rates (Hz): " + ", ".join(f"{k} {v:.2f}" for k, v in ref["rates_hz"].items()))


if __name__ == "__main__":
    main()
