#!/usr/bin/env python3
"""Loss curves of several training runs in one figure (for docs/results.md).

Question it answers: how do the rules (or simulators) compare over the iterations, not just at
the end?

Usage (needs matplotlib: bench/.venv has it, made by bench/peers/setup_venv.sh):
    bench/.venv/bin/python bench/plot_curves.py --out docs/img/pattern-loss.png \\
        --title "pattern generation" \\
        "e-prop random=out/results/pattern-eprop-random-seed1/metrics.jsonl" \\
        "BPTT=out/results/pattern-bptt-seed1/metrics.jsonl"
    bench/.venv/bin/python bench/plot_curves.py --out docs/img/sine-waves-nest.png \\
        --compare out/curves.jsonl    # the --json-out file of bench/peers/compare_sine_waves.py

Each LABEL=PATH is an `eligo train` metrics.jsonl (one {"iteration", "loss"} per line);
--compare adds every run of a compare_sine_waves.py --json-out file ({"simulator", "seed",
"loss": [...]}). The y axis is logarithmic. The PNG is written to a temporary name, then renamed.
"""
import argparse
import json
import os
import sys
from pathlib import Path


def eligo_curve(path):
    its, loss = [], []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                d = json.loads(line)
                its.append(d["iteration"])
                loss.append(d["loss"])
            except (ValueError, KeyError) as e:
                sys.exit(f"{path}:{n}: not an eligo metrics line ({e}); "
                         "give the metrics.jsonl of an `eligo train` run")
    return its, loss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="*", help="LABEL=metrics.jsonl")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--title", default="")
    ap.add_argument("--compare", type=Path, help="compare_sine_waves.py --json-out file")
    args = ap.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("matplotlib is missing: run with bench/.venv/bin/python "
                 "(bash bench/peers/setup_venv.sh makes it)")
    curves = []
    for r in args.runs:
        label, sep, path = r.partition("=")
        if not sep or not path:
            sys.exit(f"run '{r}': expected LABEL=PATH, e.g. 'e-prop=out/x/metrics.jsonl'")
        curves.append((label, *eligo_curve(path)))
    if args.compare:
        for n, line in enumerate(open(args.compare), 1):
            try:
                d = json.loads(line)
                name = "NEST 3.10" if d["simulator"] == "nest" else "Eligo"
                curves.append((f"{name}, seed {d['seed']}",
                               list(range(1, len(d["loss"]) + 1)), d["loss"]))
            except (ValueError, KeyError) as e:
                sys.exit(f"{args.compare}:{n}: not a compare_sine_waves.py --json-out line ({e})")
    if not curves:
        sys.exit("nothing to plot: give LABEL=metrics.jsonl runs and/or --compare FILE")
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for label, its, loss in curves:
        style = {"lw": 2.5, "color": "black"} if label.startswith("NEST") else {"lw": 1}
        ax.plot(its, loss, label=label, **style)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss")
    ax.set_title(args.title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp.png")
    fig.savefig(tmp)
    os.replace(tmp, args.out)
    print(args.out)


if __name__ == "__main__":
    main()
