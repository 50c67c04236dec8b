"""Question: does training through Python (`eligo.train`) cost more than `eligo train`?

Runs the same training (evidence accumulation, e-prop; same seed, threads, scale, batch,
iterations) through the CLI and through Python, alternately, each in a fresh process, and
prints per iteration the training time (the runs' own `seconds_per_iteration`: the iterations
alone, the number that must agree, goal within 2 %) and each process's wall time (not
comparable one to one: the CLI also draws its four plots, Python also starts the interpreter
and imports numpy).

    python bench/python_train.py [--iterations 20 --scale 0.5 --batch 64 --threads 2 --repeats 3]

Needs: the CLI built (`cargo build --release`, which builds the plugins it loads from
target/release/deps) and the package installed (`pip install ./python`, whose built-in rules
are linked in) in the Python that runs this script.
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, eligo
a = json.loads(sys.argv[1])
r = eligo.train(task="evidence", out=a.pop("out"), plugin_dir=a.pop("plugin_dir"), **a)
print(json.dumps(r.summary))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--eligo", default=str(ROOT / "target" / "release" / "eligo"))
    a = ap.parse_args()
    settings = dict(iterations=a.iterations, scale=a.scale, batch=a.batch,
                    threads=a.threads, seed=a.seed)
    flags = [x for k, v in settings.items() for x in (f"--{k}", str(v))]
    runs = {"cli": [], "python": []}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(a.repeats):
            for front in ("cli", "python"):
                out = pathlib.Path(tmp) / f"{front}{rep}"
                t0 = time.perf_counter()
                if front == "cli":
                    subprocess.run([a.eligo, "train", "--task", "evidence", *flags,
                                    "--out", str(out), "--quiet"], check=True)
                    wall = time.perf_counter() - t0
                    s = json.loads((out / "summary.json").read_text())
                else:
                    # the rule linked into the package, as a pip-installed package finds it
                    arg = dict(settings, out=str(out), plugin_dir=None)
                    p = subprocess.run([sys.executable, "-c", CHILD, json.dumps(arg)],
                                       check=True, capture_output=True, text=True)
                    wall = time.perf_counter() - t0
                    s = json.loads(p.stdout)
                runs[front].append((s["seconds_per_iteration"], wall, s["test_error"]))
    print(f"evidence / eprop, {settings}, median of {a.repeats} interleaved runs")
    print("| front end | s per iteration | process wall (s) | test error |")
    print("|---|---:|---:|---:|")
    med = {}
    for front, rs in runs.items():
        med[front] = statistics.median(r[0] for r in rs)
        print(f"| {front} | {med[front]:.4f} | {statistics.median(r[1] for r in rs):.2f} | "
              f"{rs[0][2]} |")
    assert runs["cli"][0][2] == runs["python"][0][2], "the two runs differ"
    print(f"python / cli, s per iteration: {med['python'] / med['cli']:.3f}")


if __name__ == "__main__":
    main()
