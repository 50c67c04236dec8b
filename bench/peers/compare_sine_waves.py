#!/usr/bin/env python3
"""Side-by-side e-prop training benchmark: Eligo vs NEST 3.10 on NEST's sine-wave example, one thread.

Question it answers: for NEST 3.10's e-prop regression example
(pynest/examples/eprop_plasticity/eprop_supervised_regression_sine-waves.py: 100 frozen Poisson
inputs, 100 recurrent eprop_iaf, 1 readout, 1 s sequences, gradient descent with
eta = 1e-4 (1 - 0.97)^2 = 9e-8, batch 1) and `eligo train --task sine-waves` (the same network,
task and learning rate mapped onto Eligo; see engine/src/task/sine_waves.rs), both run for the
same number of iterations on one thread: how long does each take per training iteration, what
loss does each reach, and how many times faster is Eligo (goal: >= 100x at equal or lower final
loss)?

Usage (from anywhere; Python 3 standard library only, NEST runs in bench/.venv):
    bench/peers/compare_sine_waves.py                       # 200 iterations, NEST once, Eligo seed 1
    bench/peers/compare_sine_waves.py --iterations 200 --nest-repeats 1 --eligo-seeds 1,2,3,4,5
    bench/peers/compare_sine_waves.py --eligo-cmd target/release/eligo   # a prebuilt binary
    bench/peers/compare_sine_waves.py --simulators eligo    # Eligo only

It first runs bench/peers/setup_venv.sh (creates bench/.venv with nest-simulator 3.10.0 if
needed) unless --skip-setup or NEST is not selected.
NEST runs as `bench/.venv/bin/python bench/peers/sine_waves_nest.py --iterations N`: the example
itself, read from the installed wheel, with n_iter set, its single nest.Simulate() timed and
plotting off (the exact edits are listed in that file); threads = 1 is the example's own setting.
Eligo runs as `cargo run --release -q -- train --task sine-waves --iterations N --threads 1
--seed S --quiet --out DIR` (or --eligo-cmd, to which the same arguments are appended); its
time per iteration is summary.json's seconds_per_iteration (the training loop, including its
metrics and checkpoint writes, excluding setup and the final test), its losses are
metrics.jsonl's per-iteration `loss`.
Both losses are the example's `0.5 * sum_t (y - y*)^2` over one 1-s sequence (no regularization
term). Eligo draws its frozen input and initial weights from its own seed (NEST's statistics, not
numpy's stream; the target is NEST's own), so the starting loss differs; --eligo-seeds runs
several Eligo seeds to show the spread. "final" is the loss at the last iteration, "last 10" the
mean over the last 10 iterations (single iterations are noisy).
Each run prints one JSON line on stdout (the loss curves are left out; --json-out FILE writes
every run with its curve). Runs are sequential, never in parallel.
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV_PY = REPO / "bench" / ".venv" / "bin" / "python"
NAMES = {"eligo": "Eligo", "nest": "NEST 3.10"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def last_json_line(text):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in output")


def summarize(sim, seed, iters, per_it, loss, extra):
    tail = loss[-10:]
    return dict(simulator=sim, task="sine-waves", seed=seed, iterations=len(loss),
                requested_iterations=iters, threads=1, seconds_per_iteration=per_it,
                loss_first=loss[0], loss_final=loss[-1], loss_last10=sum(tail) / len(tail),
                loss_min=min(loss), **extra, loss=loss)


def run_nest(args):
    cmd = [str(VENV_PY), str(HERE / "sine_waves_nest.py"), "--iterations", str(args.iterations)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=args.timeout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{shlex.join(cmd)} exited {proc.returncode}\n{tail}")
    r = last_json_line(proc.stdout)
    if r.get("threads") != 1:
        raise RuntimeError(f"NEST ran on {r.get('threads')} threads")
    return summarize("nest", 1, args.iterations, r["seconds_per_iteration"], r["loss"],
                     {"sim_s": r["sim_s"], "build_s": r["build_s"]})


def run_eligo(args, seed):
    base = shlex.split(args.eligo_cmd) if args.eligo_cmd else \
        ["cargo", "run", "--release", "-q", "--"]
    with tempfile.TemporaryDirectory(prefix="eligo-sine-") as out:
        cmd = base + ["train", "--task", "sine-waves", "--iterations", str(args.iterations),
                      "--threads", "1", "--seed", str(seed), "--quiet", "--out", out]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                              timeout=args.timeout)
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            raise RuntimeError(f"{shlex.join(cmd)} exited {proc.returncode}\n{tail}")
        s = json.loads((Path(out) / "summary.json").read_text())
        rows = [json.loads(l) for l in (Path(out) / "metrics.jsonl").read_text().splitlines()
                if l.strip()]
    if s["threads"] != 1 or s["optimizer"] != "sgd" or s["batch"] != 1:
        raise RuntimeError(f"unexpected Eligo settings: {s}")
    loss = [r["loss"] for r in sorted(rows, key=lambda r: r["iteration"])]
    return summarize("eligo", seed, args.iterations, s["seconds_per_iteration"], loss,
                     {"lr": s["lr"], "wall_s": s["wall_s"], "test_nmse": s.get("test_nmse")})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--nest-repeats", type=int, default=1,
                    help="NEST runs (identical apart from timing; about 1-2 min each at 200)")
    ap.add_argument("--eligo-seeds", default="1", help="comma-separated Eligo seeds")
    ap.add_argument("--simulators", default="nest,eligo")
    ap.add_argument("--eligo-cmd", default=None,
                    help="command that runs the eligo CLI (default: cargo run --release -q --)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    ap.add_argument("--json-out", type=Path, default=None)
    ap.add_argument("--skip-setup", action="store_true", help="do not run setup_venv.sh")
    args = ap.parse_args()

    sims = [s.strip() for s in args.simulators.split(",") if s.strip()]
    for s in sims:
        if s not in NAMES:
            ap.error(f"unknown simulator {s!r} (choose from {', '.join(NAMES)})")
    seeds = [int(x) for x in args.eligo_seeds.split(",") if x.strip()]
    if "nest" in sims and not args.skip_setup:
        subprocess.run(["bash", str(HERE / "setup_venv.sh")], check=True)

    runs = {s: [] for s in sims}
    jobs = ([("nest", None)] * args.nest_repeats if "nest" in sims else []) + \
           ([("eligo", sd) for sd in seeds] if "eligo" in sims else [])
    for sim, seed in jobs:
        t0 = time.perf_counter()
        try:
            r = run_nest(args) if sim == "nest" else run_eligo(args, seed)
        except (OSError, RuntimeError, subprocess.TimeoutExpired, ValueError, KeyError) as e:
            log(f"{NAMES[sim]} failed: {e}")
            continue
        runs[sim].append(r)
        log(f"{sim} seed {r['seed']}: {1e3 * r['seconds_per_iteration']:.2f} ms/iteration, "
            f"loss {r['loss_first']:.2f} -> {r['loss_final']:.2f} "
            f"(wall {time.perf_counter() - t0:.1f} s)")
        print(json.dumps({k: v for k, v in r.items() if k != "loss"}), flush=True)

    if args.json_out:
        args.json_out.write_text("".join(json.dumps(r) + "\n" for s in sims for r in runs[s]))

    def med(sim, key):
        vals = [r[key] for r in runs.get(sim, [])]
        return statistics.median(vals) if vals else None

    print(f"\nNEST 3.10 e-prop sine-wave example vs `eligo train --task sine-waves`, "
          f"{args.iterations} iterations, 1 thread, batch 1, gradient descent lr 9e-8\n")
    print("| simulator | seed | ms / iteration | loss at 1 | final loss | last 10 mean | "
          "NEST time / this |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    nest_t = med("nest", "seconds_per_iteration")
    for s in sims:
        for r in runs[s]:
            ratio = f"{nest_t / r['seconds_per_iteration']:.0f}x" if nest_t else "—"
            seed = "1 (numpy)" if s == "nest" else str(r["seed"])
            print(f"| {NAMES[s]} | {seed} | {1e3 * r['seconds_per_iteration']:.2f} "
                  f"| {r['loss_first']:.2f} | {r['loss_final']:.2f} | {r['loss_last10']:.2f} "
                  f"| {ratio} |")
    eligo_t = med("eligo", "seconds_per_iteration")
    if nest_t and eligo_t:
        nf, ef = med("nest", "loss_last10"), med("eligo", "loss_last10")
        speed = nest_t / eligo_t
        print(f"\nEligo is {speed:.0f}x faster per iteration (median over runs; goal >= 100x); "
              f"final loss (last-10 mean, median) NEST {nf:.2f}, Eligo {ef:.2f} "
              f"({'equal or lower' if ef <= nf else 'HIGHER'}).")
        return 0 if speed >= 100 and ef <= nf else 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
