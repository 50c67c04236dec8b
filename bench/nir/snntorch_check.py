"""A recurrent LIF network built and exported by snnTorch, run by snnTorch and by Eligo on the
same input spikes; prints whether the spike trains are identical.

    python bench/nir/snntorch_check.py [ELIGO_BIN]   (needs torch, snntorch, nir; see README)

snnTorch's exporter writes tau = dt / (1 - beta), r = tau / dt for dt = 1e-4 s, so the graph is
imported at --dt-ms 0.1 with Euler discretization. snnTorch passes a layer's spikes on within
the step, Eligo a step later (its smallest delay): Eligo's spikes of the recurrent layer are
snnTorch's shifted by one step (compared so).
"""

import pathlib
import subprocess
import sys
import tempfile

import nir
import numpy as np
import snntorch as snn
import torch
from snntorch.export_nir import export_to_nir

root = pathlib.Path(__file__).resolve().parents[2]
eligo = sys.argv[1] if len(sys.argv) > 1 else str(root / "target" / "release" / "eligo")
torch.manual_seed(0)
n_in, n_rec, steps = 20, 40, 1000


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(n_in, n_rec, bias=False)
        self.lif = snn.RLeaky(beta=0.9, linear_features=n_rec, init_hidden=True, all_to_all=True)
        self.lif.recurrent.weight.data *= 0.5
        self.lif.recurrent.bias = None

    def forward(self, x):
        return self.lif(self.fc(x))


torch.nn.init.normal_
net = Net()
with torch.no_grad():
    net.fc.weight.data = torch.randn(n_rec, n_in) * 0.4 + 0.1
x = (torch.rand(steps, n_in) < 0.08).float()

# snnTorch's own simulation
net.lif.reset_hidden()
out = []
with torch.no_grad():
    for t in range(steps):
        out.append(net(x[t : t + 1]).squeeze(0).numpy().copy())
spk = np.array(out)  # steps x n_rec

with tempfile.TemporaryDirectory() as d:
    d = pathlib.Path(d)
    try:
        graph = export_to_nir(net, x[:1])
    except ValueError as err:
        # snnTorch 1.0 + nir 1.0.8: the batch dimension of the sample trips nir's type check
        print("export_to_nir with a batch sample failed:", err, "- retrying without type inference")
        orig = nir.NIRGraph.infer_types
        nir.NIRGraph.infer_types = lambda self: None
        graph = export_to_nir(net, x[:1])
        nir.NIRGraph.infer_types = orig
    nir.write(d / "model.nir", graph)
    print("exported nodes:", sorted(graph.nodes), "edges:", graph.edges)
    toml = d / "net.toml"
    subprocess.run([eligo, "nir", "import", d / "model.nir", "--dt-ms", "0.1", "--out", toml], check=True)
    # the input spikes as an event file (µs): step t at t * 100 µs
    t_idx, a_idx = np.nonzero(x.numpy())
    ev = np.zeros(len(t_idx), dtype=[("t", "<u8"), ("addr", "<u4")])
    ev["t"], ev["addr"] = t_idx * 100, a_idx
    np.save(d / "input.npy", ev)
    text = toml.read_text().replace("duration_ms = 100.0", f"duration_ms = {(steps + 2) * 0.1}")
    toml.write_text(text)
    print(text[: text.index("[[projection]]")])
    inp = [l.split('"')[1] for l in text.splitlines() if l.startswith("name = ")][0]
    pops = [p for p in text.split("[[population]]")[1:] if 'model = "lif"' in p]
    rec = pops[0].split('name = "')[1].split('"')[0]
    r = subprocess.run(
        [eligo, "simulate", toml, "--out", d / "out", "--quiet", "--threads", "1",
         "--input-events", d / "input.npy", "--population", inp],
        capture_output=True, text=True,
    )
    if r.returncode != 0:
        sys.exit(r.stderr)
    got = np.load(d / "out" / f"spikes_{rec}.npy")
    e = np.zeros_like(spk)
    for t, a in zip(got["t"] // 100, got["addr"]):
        if 1 <= t <= steps:
            e[t - 1, a] = 1  # one step later than snnTorch (see the header)
    n_t, n_e = int(spk.sum()), int(e.sum())
    diff = int((spk != e).sum())
    print(f"snnTorch spikes {n_t}, Eligo spikes {n_e}, differing (step, neuron) entries {diff}")
    first = np.argwhere(spk != e)[:5]
    print("first differences (step, neuron):", first.tolist())
    sys.exit(0 if diff == 0 else 1)
