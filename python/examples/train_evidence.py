"""Train evidence accumulation (cue accumulation, Bellec et al. 2020, Fig. 3) with e-prop from
Python, then plot the learning curve and a raster of the trained network on one test sample.

Shows: ``eligo.train`` with a live callback (one line per iteration), ``TrainResult.metrics``
(NumPy arrays per key) and ``TrainResult.sample`` (the spikes of one sequence).

Needs: ``pip install ./python matplotlib`` and the rule plugins built
(``cargo build --release --workspace``; found in ``target/release`` of this clone, or give
``--plugin-dir``). Writes ``learning_curve.png`` and ``raster.png`` into ``--out``
(default ``out/python-evidence``). The defaults (100 iterations at half length) take a minute or two on two cores;
``--scale 1 --iterations 500`` is the paper's task.
"""

import argparse
import pathlib

import numpy as np

import eligo

HERE = pathlib.Path(__file__).resolve()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--scale", type=float, default=0.5, help="sequence length factor (1 = paper)")
    ap.add_argument("--out", default="out/python-evidence")
    ap.add_argument("--plugin-dir", default=str(HERE.parents[2] / "target" / "release"))
    a = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def show(m: dict) -> None:
        line = f"iteration {m['iteration']:4d}  loss {m['loss']:.4f}  rate {m['rate_hz']:.1f} Hz"
        if "validation_error" in m:
            line += f"  validation accuracy {100 * (1 - m['validation_error']):.1f} %"
        print(line, flush=True)

    r = eligo.train(
        task="evidence",
        iterations=a.iterations,
        scale=a.scale,
        out=a.out,
        plugin_dir=a.plugin_dir,
        callback=show,
    )
    print(r)
    out = pathlib.Path(a.out)

    # the learning curve: loss and accuracy per iteration (validation where measured)
    m = r.metrics
    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, sharex=True, figsize=(7, 5))
    ax_loss.plot(m["iteration"], m["loss"], lw=1)
    ax_loss.set_ylabel("training loss")
    ax_acc.plot(m["iteration"], 1 - m["train_error"], lw=1, label="batch")
    has_val = ~np.isnan(m["validation_error"])
    ax_acc.plot(m["iteration"][has_val], 1 - m["validation_error"][has_val], "o-",
                label="validation")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_xlabel("iteration")
    ax_acc.legend()
    fig.suptitle(f"evidence accumulation / e-prop: test accuracy "
                 f"{100 * (1 - r.summary['test_error']):.1f} %")
    fig.savefig(out / "learning_curve.png", dpi=120)

    # a raster of the trained network on test sample 0, with the readout below
    s = r.sample(0, split="test")
    pops = list(s.spikes)
    fig, axes = plt.subplots(len(pops) + 1, 1, sharex=True, figsize=(7, 6),
                             gridspec_kw={"height_ratios": [1] * len(pops) + [0.7]})
    for ax, p in zip(axes, pops):
        sp = s.spikes[p]
        ax.plot(sp["t"] / 1000.0, sp["addr"], "|", ms=3)
        ax.set_ylabel(p)
    t_ms = np.arange(s.steps) * s.dt_ms
    for k in range(s.y.shape[1]):
        axes[-1].plot(t_ms, s.y[:, k], label=f"y{k}")
    axes[-1].set_ylabel("readout")
    axes[-1].set_xlabel("time (ms)")
    axes[-1].legend()
    fig.suptitle(f"test sample 0 (label {s.label})")
    fig.savefig(out / "raster.png", dpi=120)
    print(f"wrote {out / 'learning_curve.png'} and {out / 'raster.png'}")


if __name__ == "__main__":
    main()
