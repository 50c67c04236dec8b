#!/usr/bin/env python3
"""Side-by-side CUBA benchmark: Eligo vs NEST 3.10 vs Brian2 2.9 (C++ standalone), one thread.

Question it answers: for the Brette et al. (2007) CUBA network of N neurons (p = 80/N, so ~80
synapses per neuron), how long does each simulator take to simulate T ms on one core, and do
they agree on the firing rate? It prints a markdown table with the median simulation time of
R repeats and the ratio of each peer's time to Eligo's (> 1 means Eligo is faster).

Usage (from anywhere; Python 3 standard library only, the peers run in bench/.venv):
    bench/peers/compare_cuba.py                                  # N = 4000, T = 1000 ms, R = 3
    bench/peers/compare_cuba.py --neurons 4000,40000 --repeats 3 --time-ms 1000 --seed 1
    bench/peers/compare_cuba.py --simulators nest,brian2         # peers only
    bench/peers/compare_cuba.py --eligo-cmd target/release/eligo # a prebuilt binary

It first runs bench/peers/setup_venv.sh (creates bench/.venv with the pinned peers if needed).
Eligo runs as `cargo run --release -q -- bench cuba --neurons N --time-ms T --threads 1
--seed S` from the repository root (or --eligo-cmd, to which the same arguments are appended);
if that command fails, Eligo is skipped with a message and the peers still run.
Each simulator prints one JSON line (keys simulator, neurons, synapses, spikes, rate_hz,
build_s, sim_s, threads); sim_s is the simulation loop only (see cuba_nest.py and
cuba_brian2.py for exactly what each peer's number covers). Runs are sequential, never in
parallel, and repeats are interleaved across simulators so that drift hits all alike.
--json-out FILE also writes every run's JSON line.
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV_PY = REPO / "bench" / ".venv" / "bin" / "python"
NAMES = {"eligo": "Eligo", "nest": "NEST 3.10", "brian2": "Brian2 2.9 standalone"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def last_json_line(text):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in output")


def run_one(sim, n, args):
    common = ["--neurons", str(n), "--time-ms", f"{args.time_ms:g}", "--seed", str(args.seed)]
    if sim == "eligo":
        base = shlex.split(args.eligo_cmd) if args.eligo_cmd else \
            ["cargo", "run", "--release", "-q", "--"]
        cmd = base + ["bench", "cuba"] + common + ["--threads", "1"]
    else:
        cmd = [str(VENV_PY), str(HERE / f"cuba_{sim}.py")] + common
    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                              timeout=args.timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"{shlex.join(cmd)}: {e}"
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        return None, f"{shlex.join(cmd)} exited {proc.returncode}\n{tail}"
    try:
        res = last_json_line(proc.stdout)
        float(res["sim_s"]), float(res["rate_hz"])
    except (ValueError, KeyError, TypeError) as e:
        return None, f"{shlex.join(cmd)}: bad output ({e}): {proc.stdout[-300:]!r}"
    res.setdefault("simulator", sim)
    return res, None


def fmt(x, digits=3):
    return "—" if x is None else f"{x:.{digits}g}" if x < 1000 else f"{x:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--neurons", default="4000", help="comma-separated list (default 4000)")
    ap.add_argument("--time-ms", type=float, default=1000.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--simulators", default="eligo,nest,brian2")
    ap.add_argument("--eligo-cmd", default=None,
                    help="command that runs the eligo CLI (default: cargo run --release -q --)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    ap.add_argument("--json-out", type=Path, default=None)
    ap.add_argument("--skip-setup", action="store_true", help="do not run setup_venv.sh")
    args = ap.parse_args()

    sizes = [int(x) for x in args.neurons.split(",") if x.strip()]
    sims = [s.strip() for s in args.simulators.split(",") if s.strip()]
    for s in sims:
        if s not in NAMES:
            ap.error(f"unknown simulator {s!r} (choose from {', '.join(NAMES)})")

    if not args.skip_setup and any(s != "eligo" for s in sims):
        subprocess.run(["bash", str(HERE / "setup_venv.sh")], check=True)

    runs = {(n, s): [] for n in sizes for s in sims}
    skipped = set()
    all_json = []
    for n in sizes:
        for r in range(args.repeats):
            for s in sims:
                if s in skipped:
                    continue
                t0 = time.perf_counter()
                res, err = run_one(s, n, args)
                if res is None:
                    log(f"skipping {NAMES[s]}: {err}")
                    skipped.add(s)  # a failing simulator is not retried at other sizes
                    continue
                log(f"N={n} {s} #{r + 1}: rate {res['rate_hz']:.3f} Hz, "
                    f"sim {res['sim_s']:.4f} s, build {res.get('build_s', float('nan')):.3f} s "
                    f"(wall {time.perf_counter() - t0:.1f} s)")
                runs[(n, s)].append(res)
                all_json.append(res)

    if args.json_out:
        args.json_out.write_text("".join(json.dumps(r) + "\n" for r in all_json))

    def med(rs, key):
        vals = [float(r[key]) for r in rs if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    print(f"CUBA, T = {args.time_ms:g} ms, seed {args.seed}, 1 thread, "
          f"median of {args.repeats} run(s)\n")
    print("| N | simulator | synapses | rate (Hz) | sim (s) | build (s) | sim / Eligo sim |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n in sizes:
        eligo_sim = med(runs.get((n, "eligo"), []), "sim_s")
        for s in sims:
            rs = runs[(n, s)]
            if not rs:
                print(f"| {n} | {NAMES[s]} | — | — | — | — | skipped |")
                continue
            sim = med(rs, "sim_s")
            ratio = "1" if s == "eligo" else \
                (f"{sim / eligo_sim:.2f}" if eligo_sim else "—")
            print(f"| {n} | {NAMES[s]} | {int(med(rs, 'synapses'))} | {med(rs, 'rate_hz'):.2f} "
                  f"| {fmt(sim)} | {fmt(med(rs, 'build_s'))} | {ratio} |")
    print("\nsim = simulation loop only; build = network construction "
          "(Brian2: + code generation and C++ compile).")
    return 0 if all(runs[k] for k in runs if k[1] != "eligo") else 1


if __name__ == "__main__":
    sys.exit(main())
