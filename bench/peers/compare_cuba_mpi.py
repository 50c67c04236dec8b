#!/usr/bin/env python3
"""CUBA over 2 MPI processes, Eligo against NEST 3.10 built with MPI, side by side in one run.

Question it answers: on the same CUBA network (N neurons, 80/20 exc/inh, p = 80/N, jumps of
1.62 mV / -9 mV, delay 0.1 ms, dt 0.1 ms, T ms), how long do Eligo and NEST take to build and
simulate it on 1 process x 1 thread and on 2 MPI processes x 1 thread, at what rate, and with
how much memory per process? (bench/README.md, section "mpi".)

    cargo build --release --features mpi
    bash bench/peers/build_nest_mpi.sh SRC_DIR          # NEST 3.10 with MPI, once
    python3 bench/peers/compare_cuba_mpi.py --neurons 200000 --time-ms 1000 --repeats 1

Eligo runs `eligo simulate` on bench/mpi_cuba.py's description of the network (`lif_exp`,
fixed_probability, the spikes of `exc` recorded), plainly for 1 x 1 and under `mpirun -np 2`;
its 1 x 1 and 2 x 1 spike files must be byte-identical. NEST runs bench/peers/cuba_nest.py
(iaf_psc_exp with the same parameters, see its header) with --rule RULE (default
fixed_indegree: NEST's pairwise_bernoulli draws one number per pair, N^2 in all), directly for
1 x 1 and under `mpirun -np 2` (each process prints its own line; spikes and synapses are
summed, times are the slowest process's). Every process runs under GNU `time -v` for its peak
RSS. The four layouts are interleaved in each repeat, sequentially.

sim = simulation loop (Eligo `wall_s`; NEST Prepare + Run + Cleanup), build = network
construction (Eligo `build_s`, NEST Create + Connect), rate = mean over all N neurons.
Standard library only; NEST runs in --nest-python (default target/nest-mpi/venv/bin/python).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "bench"))
from mpi_cuba import description  # noqa: E402  (the same network as the Eligo MPI benchmark)

MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
MPIRUN = ["mpirun", "--oversubscribe", "--bind-to", "none"]


def peak_mib(stderr):
    return [int(k) / 1024 for k in re.findall(r"Maximum resident set size \(kbytes\): (\d+)", stderr)]


def launch(cmd, procs):
    timed = ["/usr/bin/time", "-v"] + cmd
    full = MPIRUN + ["-np", str(procs)] + timed if procs > 1 else timed
    r = subprocess.run(full, capture_output=True, text=True, env=MPI_ENV, cwd=REPO)
    if r.returncode != 0:
        sys.exit(f"{' '.join(full)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r


def run_eligo(args, cfg, out, procs):
    r = launch([args.eligo, "simulate", cfg, "--out", out, "--threads", "1", "--quiet"], procs)
    s = json.load(open(os.path.join(out, "summary.json")))
    per = s.get("per_rank") or [{"synapses": s["synapses"], "build_s": s["build_s"]}]
    spikes = sum(p["spikes"] for p in s["populations"])
    res = {
        "synapses": [p["synapses"] for p in per],
        "rate": spikes / s["neurons"] / (s["simulated_ms"] / 1000.0),
        "build": max(p["build_s"] for p in per),
        "sim": s["wall_s"],
        "rss": peak_mib(r.stderr),
        "spikes_file": open(os.path.join(out, "spikes_exc.npy"), "rb").read(),
    }
    shutil.rmtree(out)
    return res


def run_nest(args, n, procs, out):
    cmd = [args.nest_python, str(HERE / "cuba_nest.py"), "--neurons", str(n),
           "--time-ms", f"{args.time_ms:g}", "--seed", str(args.seed), "--rule", args.rule,
           "--json-out", out]
    r = launch(cmd, procs)
    lines = []
    for rank in range(procs):
        path = f"{out}.rank{rank}.json"
        if os.path.exists(path):
            lines.append(json.load(open(path)))
            os.remove(path)
    if len(lines) != procs or sorted(x["rank"] for x in lines) != list(range(procs)) \
            or any(x["processes"] != procs for x in lines):
        sys.exit(f"NEST on {procs} process(es): expected one line per rank, got\n{r.stdout}")
    lines.sort(key=lambda x: x["rank"])
    return {
        "synapses": [x["synapses"] for x in lines],
        "rate": sum(x["spikes"] for x in lines) / n / (args.time_ms / 1000.0),
        "build": max(x["build_s"] for x in lines),
        "sim": max(x["sim_s"] for x in lines),
        "rss": peak_mib(r.stderr),
        "version": lines[0]["version"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--neurons", type=int, default=200000)
    ap.add_argument("--time-ms", type=float, default=1000.0)
    ap.add_argument("--seed", type=int, default=1, help="NEST's rng_seed (Eligo's is 1)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--eligo", default=str(REPO / "target" / "release" / "eligo"))
    ap.add_argument("--nest-python", default="target/nest-mpi/venv/bin/python")
    ap.add_argument("--rule", choices=["fixed_indegree", "pairwise_bernoulli"],
                    default="fixed_indegree", help="NEST's connection rule")
    args = ap.parse_args()
    for tool in ("mpirun", "/usr/bin/time", args.eligo, args.nest_python):
        if shutil.which(tool) is None:
            sys.exit(f"compare_cuba_mpi.py: {tool} not found (Open MPI: apt-get install "
                     "openmpi-bin; GNU time: apt-get install time; Eligo: cargo build --release "
                     "--features mpi; NEST: bash bench/peers/build_nest_mpi.sh)")
    check = subprocess.run([args.nest_python, "-c", "import nest; print(nest.build_info['have_mpi'])"],
                           capture_output=True, text=True, env=dict(MPI_ENV, PYNEST_QUIET="1"))
    if check.stdout.strip().splitlines()[-1:] != ["True"]:
        sys.exit(f"{args.nest_python}: NEST without MPI ({check.stdout.strip()[-200:]} "
                 f"{check.stderr.strip()[-300:]}); build it with bench/peers/build_nest_mpi.sh")

    layouts = [("eligo", 1), ("eligo", 2), ("nest", 1), ("nest", 2)]
    runs = {k: [] for k in layouts}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "cuba.toml")
        open(cfg, "w").write(description(args.neurons, args.time_ms))
        for rep in range(args.repeats):
            for sim, procs in layouts:
                if sim == "eligo":
                    res = run_eligo(args, cfg, os.path.join(tmp, f"o{procs}_{rep}"), procs)
                else:
                    res = run_nest(args, args.neurons, procs, os.path.join(tmp, f"n{procs}_{rep}"))
                print(f"#{rep + 1} {sim} {procs} x 1: sim {res['sim']:.3f} s, build "
                      f"{res['build']:.3f} s, rate {res['rate']:.3f} Hz, RSS "
                      f"{', '.join(f'{m:.0f}' for m in res['rss'])} MiB", file=sys.stderr, flush=True)
                runs[(sim, procs)].append(res)
    ref = runs[("eligo", 1)][0]["spikes_file"]
    if any(r["spikes_file"] != ref for k in layouts if k[0] == "eligo" for r in runs[k]):
        sys.exit("Eligo: spike files differ between 1 x 1 and 2 x 1 (or between repeats)")

    def med(k, key):
        return statistics.median(r[key] for r in runs[k])

    version = runs[("nest", 1)][0]["version"]
    print(f"CUBA, N = {args.neurons}, T = {args.time_ms:g} ms, median of {args.repeats} run(s); "
          f"layout = MPI processes x threads; NEST {version} rule {args.rule}\n")
    print("| simulator | layout | synapses per process | rate (Hz) | build (s) | sim (s) | "
          "sim vs own 1x1 | NEST / Eligo sim | NEST / Eligo build | peak RSS per process (MiB) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---|")
    for sim, procs in layouts:
        k = (sim, procs)
        e = ("eligo", procs)
        ratio_s = f"{med(k, 'sim') / med(e, 'sim'):.1f}" if sim == "nest" else "1"
        ratio_b = f"{med(k, 'build') / med(e, 'build'):.1f}" if sim == "nest" else "1"
        syn = ", ".join(str(s) for s in runs[k][0]["synapses"])
        rss = ", ".join(f"{m:.0f}" for m in runs[k][0]["rss"])
        name = "Eligo" if sim == "eligo" else f"NEST {version}"
        print(f"| {name} | {procs} x 1 | {syn} | {med(k, 'rate'):.2f} | {med(k, 'build'):.3f} | "
              f"{med(k, 'sim'):.3f} | {med((sim, 1), 'sim') / med(k, 'sim'):.2f}x | {ratio_s} | "
              f"{ratio_b} | {rss} |")
    print("\nEligo spike files byte-identical between 1 x 1 and 2 x 1: yes")


if __name__ == "__main__":
    main()
