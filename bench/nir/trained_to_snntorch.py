"""An e-prop-trained Eligo network (data/spiking-digits, 700-64-10 LIF, no refractoriness),
exported to NIR and run by snnTorch 1.0's importer on the same test samples; prints Eligo's
and snnTorch's test accuracy and how many decisions and spikes agree.

    python bench/nir/trained_to_snntorch.py [--eligo BIN] [--epochs N] [--seed S]

What has to be handled (docs/nir.md):
- snnTorch's import_from_nir fixes dt = 1e-4 s (beta = 1 - 1e-4/tau); the graph is written at
  Eligo's h = 1 ms, so every tau is scaled by 1e-4/h (the float32 next to it whose beta is
  Eligo's alpha bit for bit): the same discrete system.
- snnTorch 1.0 maps no LI node: the readout is an LI module written here, NIR's Euler step
  v(t) = v(t-1) + (h/tau)(v_leak - v(t-1) + r I(t)) = beta v(t-1) + (1-beta) v_leak + I(t)
  (r = tau/h), started at v(0) = v_leak (Eligo's readout: y = r + b, r(0) = 0).
- snnTorch imports a NIR LIF with reset to zero (NIR's v_reset); Eligo's lif subtracts v_th
  at the next step. Both are run: "as imported", and with the Leaky modules switched to
  reset_mechanism = "subtract", reset_delay = True (Eligo's lif).
- snnTorch 1.0's import_from_nir wraps a LIF <-> Linear cycle into a subgraph whose input
  edge goes into W_rec (the input current is multiplied by the recurrent weights); the script
  skips that wrapping (--wrap-rnn keeps it) and nirtorch wires the flat cycle with one step.
- nirtorch passes spikes on within the step on feed-forward edges, Eligo one step later: the
  input is fed one step later and the window [50, 100) ms of Eligo is steps [49, 99) here.
Eligo's decisions and spikes come from `eligo grad` on the trained weights (its per-step
errors (softmax(y) - onehot)/n_window give log softmax(y(t)), whose window mean has the argmax
of the window mean of y).
"""

import argparse
import csv
import json
import pathlib
import subprocess
import sys
import tempfile
import tomllib

import nir
import nirtorch.nir_interpreter as nirint
import numpy as np
import snntorch as snn
import torch
import snntorch.import_nir

root = pathlib.Path(__file__).resolve().parents[2]
ap = argparse.ArgumentParser()
ap.add_argument("--eligo", default=str(root / "target" / "release" / "eligo"))
ap.add_argument("--epochs", type=int, default=10)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--wrap-rnn", action="store_true", help="keep snnTorch's RNN subgraph wrapping")
a = ap.parse_args()
data = root / "data" / "spiking-digits"
dcfg = tomllib.loads((data / "data.toml").read_text())
SN_DT = 1e-4
WRAP = a.wrap_rnn


class LI(torch.nn.Module):
    """NIR LI at snnTorch's step: v = beta v + (1 - beta) v_leak + f I, f = r dt/tau."""

    def __init__(self, node):
        super().__init__()
        tau = np.asarray(node.tau, np.float32)
        self.beta = torch.from_numpy(np.float32(1) - np.float32(SN_DT) / tau)
        self.f = torch.from_numpy(np.asarray(node.r, np.float32) * np.float32(SN_DT) / tau)
        self.v_leak = torch.from_numpy(np.asarray(node.v_leak, np.float32))

    def forward(self, x, state=None):
        r = torch.zeros_like(x) if state is None else state  # r = v - v_leak
        f = torch.where((self.f - 1).abs() < 1e-6, torch.ones_like(self.f), self.f)
        r = self.beta * r + f * x
        return r + self.v_leak, r


def rescale(g, h):
    """Scale every tau by SN_DT / h, keeping float32(1 - SN_DT/tau') == 1 - h/tau (Eligo's)."""
    for n in g.nodes.values():
        if isinstance(n, nir.NIRGraph):
            rescale(n, h)
        elif isinstance(n, (nir.LIF, nir.LI)):
            tau = np.asarray(n.tau, np.float32)
            want = (1 - h / tau.astype(np.float64)).astype(np.float32)
            t2 = (tau.astype(np.float64) * SN_DT / h).astype(np.float32)
            for _ in range(8):
                got = np.float32(1) - np.float32(SN_DT) / t2
                t2 = np.where(got > want, np.nextafter(t2, 0), np.where(got < want, np.nextafter(t2, 1), t2))
            assert np.array_equal(np.float32(1) - np.float32(SN_DT) / t2, want), "tau rescale"
            n.tau = t2


def run_snntorch(path, h, x, subtract):
    g = nir.read(path)
    rescale(g, h)
    nirint.DEFAULT_MAP[nir.LI] = LI  # snnTorch 1.0 maps no LI node
    if not WRAP:  # snnTorch 1.0 wires the wrapped RNN subgraph's input into W_rec (see README)
        snntorch.import_nir._replace_rnn_subgraph_with_nirgraph = lambda graph: graph
    m = snntorch.import_nir.import_from_nir(g)
    spk = []
    for mod in m.modules():
        if isinstance(mod, snn.Leaky):
            if subtract:
                mod.reset_mechanism = "subtract"
                mod.state_function = mod._base_sub
                mod.reset_delay = True
            mod.register_forward_hook(lambda _m, _i, o: spk.append(o.detach().numpy().copy()))
    ys, state = [], None
    with torch.no_grad():
        for t in range(x.shape[0]):
            y, state = m(torch.from_numpy(x[t]), state)
            ys.append(y.numpy().copy())
    return np.array(ys), np.array(spk)  # [steps, B, n_out], [steps, B, n_rec]


with tempfile.TemporaryDirectory() as d:
    d = pathlib.Path(d)
    text = (data / "net.toml").read_text()
    assert "t_ref_ms = 2.0" in text
    text = "duration_ms = %s\n" % float(dcfg["duration_ms"]) + text.replace("t_ref_ms = 2.0", "t_ref_ms = 0.0")
    (d / "net.toml").write_text(text)
    h = tomllib.loads(text)["dt_ms"] * 1e-3
    run = lambda *c: subprocess.run([a.eligo, *map(str, c)], check=True, capture_output=True, text=True)
    run("train", "--net", d / "net.toml", "--data", data / "npy", "--data-config", data / "data.toml",
        "--epochs", a.epochs, "--seed", a.seed, "--rule", "eprop", "--out", d / "train", "--threads", "1",
        "--progress", "none")
    acc_e = json.loads((d / "train" / "summary.json").read_text())["test_accuracy"]
    run("nir", "export", d / "net.toml", "--weights", d / "train" / "weights.npz", d / "model.nir")

    steps = int(round(dcfg["duration_ms"] * 1e-3 / h))
    w0, w1 = (int(round(v * 1e-3 / h)) for v in dcfg["window_ms"])
    rows = [r for r in csv.DictReader(open(data / "npy" / "labels.csv")) if r["split"] == "test"]
    labels = np.array([int(r["label"]) for r in rows])
    x = np.zeros((steps + 1, len(rows), 700), np.float32)  # one step later (see the header)
    dec_e, spk_e, loss_e = [], np.zeros((steps, len(rows), 64), np.float32), []
    for b, r in enumerate(rows):
        ev = np.load(data / "npy" / r["file"])
        s = ev["t"] // int(round(h * 1e6))
        keep = s < steps
        x[s[keep] + 1, b, ev["addr"][keep]] = 1
        run("grad", d / "net.toml", "--weights", d / "train" / "weights.npz", "--input", data / "npy" / r["file"],
            "--class", r["label"], "--window-ms", "%g:%g" % tuple(dcfg["window_ms"]), "--rule", "eprop",
            "--out", d / "g.npz", "--threads", "1")
        gz = np.load(d / "g.npz")
        p = gz["errors"][w0:w1].astype(np.float64) * (w1 - w0)
        p[:, int(r["label"])] += 1
        dec_e.append(int(np.argmax(np.log(np.maximum(p, 1e-300)).mean(0))))
        loss_e.append(float(gz["loss"]))
        st, ad = gz["spikes/rec/step"], gz["spikes/rec/addr"]
        spk_e[st[st < steps], b, ad[st < steps]] = 1
    dec_e = np.array(dec_e)
    print(f"Eligo (train summary) test accuracy {acc_e:.4f}; from eligo grad {np.mean(dec_e == labels):.4f}")
    ok = True
    for name, sub in (("as imported (reset to zero)", False), ("Eligo's reset (subtract)", True)):
        y, spk = run_snntorch(d / "model.nir", h, x, sub)
        yw = y[w0 - 1:w1 - 1].astype(np.float64)  # snnTorch's y(t) is Eligo's y(t + 1)
        dec = np.argmax(yw.mean(0), axis=1)
        ls = yw - np.log(np.exp(yw - yw.max(2, keepdims=True)).sum(2, keepdims=True)) - yw.max(2, keepdims=True)
        loss = -ls[:, np.arange(len(rows)), labels].mean(0)
        s = spk[:steps]  # input fed one step later: z(t) alike
        same = int((s == spk_e).all(axis=(0, 2)).sum())
        print(f"snnTorch {name}: test accuracy {np.mean(dec == labels):.4f}, decisions as Eligo's "
              f"{int((dec == dec_e).sum())}/{len(rows)}, samples with identical spikes {same}/{len(rows)}, "
              f"differing (step, sample, neuron) {int((s != spk_e).sum())} of {int(spk_e.sum())} Eligo spikes, "
              f"max |loss - Eligo's| {np.max(np.abs(loss - loss_e)):.2e}")
        if sub:
            ok = np.mean(dec == labels) == acc_e and (dec == dec_e).all()
    sys.exit(0 if ok else 1)
