#!/usr/bin/env python3
"""Spike statistics of the cortical microcircuit: Eligo against NEST 3.10, seed by seed.

Question it answers: do Eligo and NEST, simulating the same model (Potjans & Diesmann 2014;
engine/src/network/microcircuit.rs and bench/peers/microcircuit_nest.py) at the same scale and
background, give the same distributions of the statistics the model's maintainers check, per
population: firing rates, CV of the inter-spike intervals, pairwise spike-count correlations?
And is the Eligo-NEST difference within the spread between seeds of one simulator (the fair
tolerance: two simulators cannot agree better than a simulator agrees with itself)?

Usage (from anywhere; runs itself in bench/.venv, made by bench/peers/setup_venv.sh):
    bench/peers/compare_microcircuit.py --scale 0.1 --time-ms 10000 --warmup-ms 500 \\
        --seeds 1,2,3 --background poisson --out target/microcircuit_cmp
    bench/peers/compare_microcircuit.py --simulators eligo --scale 1.0 --seeds 1   # one side
    bench/peers/compare_microcircuit.py --reuse --out DIR ...   # analyse DIR's spike files

For every seed, in turn (interleaved): `target/release/eligo bench microcircuit --scale S
--time-ms T --warmup-ms W --seed K --threads 1 --background B --spikes-out DIR/eligo_K.npy`
(or --eligo-cmd), then `bench/.venv/bin/python bench/peers/microcircuit_nest.py` with the same
arguments (--spikes-out DIR/nest_K.npy). Each prints one JSON line (kept in DIR/runs.jsonl).
The two simulators draw different random numbers: their networks are two samples of the same
random model, as two seeds of one simulator are.

Statistics, per population, from the spikes of the timed T ms:
  rate   spikes / T of every neuron (silent ones included), Hz
  CV     std / mean of the inter-spike intervals (population std) of the neurons with >= 3
         spikes
  corr   Pearson correlation coefficients of the spike counts in 2 ms bins over all pairs of
         200 neurons drawn (without replacement, analysis seed fixed) from those with >= 1
         spike (fewer if fewer spiked): 19 900 pairs
For each: mean and sd over neurons (pairs) per seed; the Kolmogorov-Smirnov statistic D
(scipy.stats.ks_2samp) between every Eligo seed and every NEST seed ("across"), and between
the seeds of Eligo and of NEST ("within"). The verdict "agree" means the median D across is
at most the largest D within; the means' difference is also set against the sd of the per-seed
means. Writes DIR/stats.json and, with --plot PNG, histograms per population (both simulators,
seeds pooled). Prints markdown tables.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV_PY = REPO / "bench" / ".venv" / "bin" / "python"
NAMES = ["L23e", "L23i", "L4e", "L4i", "L5e", "L5i", "L6e", "L6i"]
SIZES = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
STATS = ["rate", "cv", "corr"]
UNITS = {"rate": "Hz", "cv": "", "corr": ""}

try:
    import numpy as np
    from scipy.stats import ks_2samp
except ImportError:
    if Path(sys.prefix).resolve() != VENV_PY.parent.parent.resolve() and VENV_PY.exists():
        os.execv(str(VENV_PY), [str(VENV_PY), __file__] + sys.argv[1:])
    sys.exit("needs numpy and scipy: run bash bench/peers/setup_venv.sh first")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, timeout):
    log("$ " + shlex.join(cmd))
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} exited {p.returncode}:\n{p.stderr[-2000:]}")
    line = [x for x in p.stdout.splitlines() if x.startswith("{")][-1]
    return json.loads(line)


def sizes_of(scale):
    return [max(1, int(np.round(n * scale))) for n in SIZES]


def statistics(path, scale, warmup_ms, time_ms, rng):
    """Per population: rates, CVs and correlation coefficients of the spikes in `path`."""
    ev = np.load(path)
    t_ms = ev["t"].astype(np.float64) / 1000.0 - warmup_ms
    addr = ev["addr"].astype(np.int64)
    out, start = {}, 0
    for name, n in zip(NAMES, sizes_of(scale)):
        sel = (addr >= start) & (addr < start + n)
        ids, ts = addr[sel] - start, t_ms[sel]
        order = np.lexsort((ts, ids))
        ids, ts = ids[order], ts[order]
        counts = np.bincount(ids, minlength=n)
        rate = counts / (time_ms * 1e-3)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        cv = []
        for k in np.nonzero(counts >= 3)[0]:
            isi = np.diff(ts[bounds[k]:bounds[k + 1]])
            cv.append(isi.std() / isi.mean())
        active = np.nonzero(counts >= 1)[0]
        pick = rng.choice(active, size=min(200, len(active)), replace=False)
        bins = int(round(time_ms / 2.0))
        binned = np.zeros((len(pick), bins))
        for r, k in enumerate(pick):
            b = np.minimum((ts[bounds[k]:bounds[k + 1]] / 2.0).astype(np.int64), bins - 1)
            np.add.at(binned[r], np.maximum(b, 0), 1.0)
        if len(pick) >= 2:
            c = np.corrcoef(binned)
            corr = c[np.triu_indices(len(pick), 1)]
            corr = corr[np.isfinite(corr)]
        else:
            corr = np.array([])
        out[name] = {"rate": rate, "cv": np.array(cv), "corr": corr}
        start += n
    return out


def summarize(stats, seeds, sims):
    """Means, sds, KS distances across and within simulators, per population and statistic."""
    res = {}
    for name in NAMES:
        res[name] = {}
        for s in STATS:
            d = {}
            for sim in sims:
                per_seed = [stats[sim][k][name][s] for k in seeds]
                d[sim] = {
                    "mean": [float(x.mean()) if len(x) else None for x in per_seed],
                    "sd": [float(x.std()) if len(x) else None for x in per_seed],
                    "n": [int(len(x)) for x in per_seed],
                }
                d[sim]["ks_within"] = [
                    float(ks_2samp(per_seed[a], per_seed[b]).statistic)
                    for a in range(len(seeds)) for b in range(a + 1, len(seeds))
                    if len(per_seed[a]) and len(per_seed[b])]
            if len(sims) == 2:
                d["ks_across"] = [
                    float(ks_2samp(stats["eligo"][a][name][s], stats["nest"][b][name][s]).statistic)
                    for a in seeds for b in seeds
                    if len(stats["eligo"][a][name][s]) and len(stats["nest"][b][name][s])]
            res[name][s] = d
    return res


def table(res, sims, seeds):
    lines = []
    two = len(sims) == 2
    for s in STATS:
        u = f" ({UNITS[s]})" if UNITS[s] else ""
        head = f"\n**{s}**{u}: mean over neurons{' (pairs)' if s == 'corr' else ''}, " \
            f"mean ± sd of the {len(seeds)} seeds' means"
        if two:
            head += "; KS D Eligo-NEST (median of the seed pairs) against the largest D " \
                "between two seeds of one simulator"
        lines.append(head + "\n")
        cols = "| population | " + " | ".join(
            f"{'Eligo' if x == 'eligo' else 'NEST'} mean" for x in sims)
        if two:
            cols += " | D across | D within (Eligo, NEST) | verdict |"
            lines += [cols, "|---|---:|---:|---:|---:|---|"]
        else:
            lines += [cols + " |", "|---|" + "---:|" * len(sims)]
        for name in NAMES:
            d = res[name][s]
            cells = []
            for sim in sims:
                m = [x for x in d[sim]["mean"] if x is not None]
                cells.append(f"{np.mean(m):.3g} ± {np.std(m):.2g}" if m else "—")
            row = f"| {name} | " + " | ".join(cells)
            if two:
                across = np.median(d["ks_across"]) if d["ks_across"] else float("nan")
                we, wn = (max(d[x]["ks_within"], default=float("nan")) for x in sims)
                within = max((x for x in (we, wn) if x == x), default=None)
                verdict = "— (one seed)" if within is None else \
                    "agree" if across <= within else "differ"
                row += f" | {across:.3f} | {we:.3f}, {wn:.3f} | {verdict} |"
            else:
                row += " |"
            lines.append(row)
    return "\n".join(lines)


def plot(stats, sims, seeds, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(NAMES), 3, figsize=(10, 14))
    colors = {"eligo": "tab:blue", "nest": "tab:orange"}
    for r, name in enumerate(NAMES):
        for c, s in enumerate(STATS):
            ax = axes[r, c]
            pooled = {x: np.concatenate([stats[x][k][name][s] for k in seeds]) for x in sims}
            allv = np.concatenate(list(pooled.values()))
            if len(allv) == 0:
                continue
            lo, hi = np.percentile(allv, [0.5, 99.5])
            edges = np.linspace(lo, hi if hi > lo else lo + 1, 40)
            for x in sims:
                ax.hist(pooled[x], bins=edges, density=True, histtype="step",
                        color=colors[x], label="Eligo" if x == "eligo" else "NEST 3.10")
            if s == "corr":
                ax.set_yscale("log")  # most pairs sit near 0; the tail is the synchrony
            if c == 0:
                ax.set_ylabel(name)
            if r == 0:
                ax.set_title({"rate": "rate (Hz)", "cv": "CV ISI",
                              "corr": "corr. coef. (2 ms bins)"}[s])
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--time-ms", type=float, default=10000.0)
    ap.add_argument("--warmup-ms", type=float, default=500.0)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--background", choices=["poisson", "dc"], default="poisson")
    ap.add_argument("--simulators", default="eligo,nest")
    ap.add_argument("--eligo-cmd", default=str(REPO / "target" / "release" / "eligo"))
    ap.add_argument("--out", type=Path, default=REPO / "target" / "microcircuit_cmp")
    ap.add_argument("--reuse", action="store_true", help="analyse the spike files in --out")
    ap.add_argument("--plot", type=Path, default=None, help="histograms to this PNG")
    ap.add_argument("--timeout", type=float, default=7200.0, help="seconds per run")
    args = ap.parse_args()
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    sims = [x.strip() for x in args.simulators.split(",") if x.strip()]
    if any(x not in ("eligo", "nest") for x in sims) or not sims:
        ap.error(f"--simulators {args.simulators}: a list of eligo, nest")
    args.out.mkdir(parents=True, exist_ok=True)
    common = ["--scale", f"{args.scale:g}", "--time-ms", f"{args.time_ms:g}",
              "--warmup-ms", f"{args.warmup_ms:g}", "--background", args.background]
    if not args.reuse:
        with open(args.out / "runs.jsonl", "a") as f:
            for k in seeds:
                for sim in sims:
                    spk = str(args.out / f"{sim}_{k}.npy")
                    if sim == "eligo":
                        cmd = shlex.split(args.eligo_cmd) + ["bench", "microcircuit"]
                    else:
                        cmd = [str(VENV_PY), str(HERE / "microcircuit_nest.py")]
                    cmd += common + ["--seed", str(k), "--threads", "1", "--spikes-out", spk]
                    t0 = time.perf_counter()
                    res = run(cmd, args.timeout)
                    log(f"{sim} seed {k}: RTF {res['real_time_factor']:.2f}, build "
                        f"{res['build_s']:.1f} s, wall {time.perf_counter() - t0:.0f} s, "
                        f"{res['spikes']} spikes")
                    f.write(json.dumps(res) + "\n")
                    f.flush()
    stats = {sim: {} for sim in sims}
    for sim in sims:
        for k in seeds:
            rng = np.random.default_rng(1000 + k)
            stats[sim][k] = statistics(args.out / f"{sim}_{k}.npy", args.scale,
                                       args.warmup_ms, args.time_ms, rng)
    res = summarize(stats, seeds, sims)
    (args.out / "stats.json").write_text(json.dumps(res, indent=1))
    print(f"Microcircuit, scale {args.scale:g}, {args.background} background, "
          f"{args.time_ms:g} ms after {args.warmup_ms:g} ms, seeds {args.seeds}")
    print(table(res, sims, seeds))
    if args.plot:
        plot(stats, sims, seeds, args.plot)
        log(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
