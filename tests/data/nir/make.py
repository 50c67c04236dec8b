"""Write the NIR test files of tests/nir.rs with the `nir` Python package (an independent
writer): python3 tests/data/nir/make.py (needs nir 1.0.x and h5py; rerunning rewrites them).

rnn.nir      Input(4) -> Affine(bias 0) -> LIF(6) <-> Linear (recurrence) -> Linear -> LI(2) -> Output,
             parameters as snnTorch's exporter writes them for beta = 0.9 at dt = 1e-4 s
sub.nir      the same network with the recurrent layer as a subgraph (as snnTorch exports RLeaky)
bad_*.nir    rnn.nir with one defect each (see below), for the refusal tests
"""

import pathlib
import shutil

import h5py
import nir
import numpy as np

here = pathlib.Path(__file__).parent
rng = np.random.default_rng(7)
f32 = np.float32
dt = f32(1e-4)
n_in, n_rec, n_out = 4, 6, 2


def lif(n):
    beta = np.full(n, 0.9, dtype=f32)
    tau = dt / (1 - beta)
    return nir.LIF(
        tau=tau,
        r=tau / dt,
        v_leak=np.zeros(n, dtype=f32),
        v_threshold=np.full(n, 1.0, dtype=f32),
        v_reset=np.zeros(n, dtype=f32),
    )


def li(n):
    beta = np.full(n, 0.8, dtype=f32)
    tau = dt / (1 - beta)
    return nir.LI(tau=tau, r=tau / dt, v_leak=np.zeros(n, dtype=f32))


w_in = (rng.normal(0, 0.6, (n_rec, n_in))).astype(f32)
w_rec = (rng.normal(0, 0.3, (n_rec, n_rec))).astype(f32)
w_out = (rng.normal(0, 0.5, (n_out, n_rec))).astype(f32)

rnn = nir.NIRGraph(
    nodes={
        "input": nir.Input(input_type=np.array([n_in])),
        "fc": nir.Affine(weight=w_in, bias=np.zeros(n_rec, dtype=f32)),
        "lif": lif(n_rec),
        "rec": nir.Linear(weight=w_rec),
        "fc_out": nir.Linear(weight=w_out),
        "li": li(n_out),
        "output": nir.Output(output_type=np.array([n_out])),
    },
    edges=[
        ("input", "fc"),
        ("fc", "lif"),
        ("lif", "rec"),
        ("rec", "lif"),
        ("lif", "fc_out"),
        ("fc_out", "li"),
        ("li", "output"),
    ],
)
nir.write(here / "rnn.nir", rnn)

recurrent = nir.NIRGraph(
    nodes={
        "input": nir.Input(input_type=np.array([n_rec])),
        "lif": lif(n_rec),
        "w_rec": nir.Linear(weight=w_rec),
        "output": nir.Output(output_type=np.array([n_rec])),
    },
    edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
)
sub = nir.NIRGraph(
    nodes={
        "input": nir.Input(input_type=np.array([n_in])),
        "fc": nir.Affine(weight=w_in, bias=np.zeros(n_rec, dtype=f32)),
        "rlif": recurrent,
        "fc_out": nir.Linear(weight=w_out),
        "li": li(n_out),
        "output": nir.Output(output_type=np.array([n_out])),
    },
    edges=[
        ("input", "fc"),
        ("fc", "rlif"),
        ("rlif", "fc_out"),
        ("fc_out", "li"),
        ("li", "output"),
    ],
)
nir.write(here / "sub.nir", sub)


def variant(name, edit):
    path = here / f"bad_{name}.nir"
    shutil.copy(here / "rnn.nir", path)
    with h5py.File(path, "r+") as f:
        edit(f["node/nodes"])


def retype(kind):
    def edit(nodes):
        del nodes["lif/type"]
        nodes["lif"].create_dataset("type", data=kind, dtype=h5py.string_dtype())

    return edit


# a node type NIR does not have
variant("unknown", retype("Leaky"))
# a type Eligo refuses with its reason
variant("conv", retype("Conv2d"))
# a LIF node without its time constant
variant("missing", lambda n: n["lif"].__delitem__("tau"))


def wrong_shape(nodes):
    del nodes["fc/weight"]
    nodes["fc"].create_dataset("weight", data=np.ones((n_rec, n_in + 1), dtype=f32))


# the input weights take 5 inputs, the Input node gives 4
variant("shape", wrong_shape)


def nonuniform(nodes):
    tau = nodes["lif/tau"][()]
    tau[3] *= 2
    del nodes["lif/tau"]
    nodes["lif"].create_dataset("tau", data=tau)


# time constants that differ over the node's neurons
variant("nonuniform", nonuniform)


def bias(nodes):
    b = np.zeros(n_rec, dtype=f32)
    b[2] = 0.25
    del nodes["fc/bias"]
    nodes["fc"].create_dataset("bias", data=b)


variant("bias", bias)

# the first 3/5 of a good file
data = (here / "rnn.nir").read_bytes()
(here / "bad_truncated.nir").write_bytes(data[: len(data) * 3 // 5])

# cuba.nir: Input(3) -> Linear -> CubaLIF(4) -> Output, at dt = 1e-3 s (Euler: a_s = 0.8,
# a_m = 0.9, f_s = 0.3, g = 0.2), with a nonzero v_leak and v_reset
n_c = 4
w_c = (rng.normal(1.5, 0.8, (n_c, n_in - 1))).astype(f32)


def full(x):
    return np.full(n_c, x, dtype=f32)


cuba = nir.NIRGraph(
    nodes={
        "input": nir.Input(input_type=np.array([n_in - 1])),
        "fc": nir.Linear(weight=w_c),
        "cuba": nir.CubaLIF(
            tau_syn=full(5e-3),
            tau_mem=full(1e-2),
            r=full(2.0),
            v_leak=full(0.1),
            v_threshold=full(1.0),
            v_reset=full(-0.2),
            w_in=full(1.5),
        ),
        "output": nir.Output(output_type=np.array([n_c])),
    },
    edges=[("input", "fc"), ("fc", "cuba"), ("cuba", "output")],
)
nir.write(here / "cuba.nir", cuba)


def cuba_variant(name, edit):
    path = here / f"bad_{name}.nir"
    shutil.copy(here / "cuba.nir", path)
    with h5py.File(path, "r+") as f:
        edit(f["node/nodes"])


def set_param(node, key, value):
    def edit(nodes):
        x = nodes[f"{node}/{key}"][()]
        x[:] = value
        del nodes[f"{node}/{key}"]
        nodes[node].create_dataset(key, data=x)

    return edit


# a negative synaptic time constant; a reset above the threshold
cuba_variant("cuba_tau_syn", set_param("cuba", "tau_syn", -5e-3))
cuba_variant("cuba_reset", set_param("cuba", "v_reset", 2.0))
# the node types Eligo refuses with their reason
li_syn = nir.CubaLI(
    tau_syn=full(5e-3), tau_mem=full(1e-2), r=full(2.0), v_leak=full(0.0), w_in=full(1.0)
)
for name, node in [("cubali", li_syn), ("threshold", nir.Threshold(threshold=full(1.0)))]:
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([n_in - 1])),
            "fc": nir.Linear(weight=w_c),
            name: node,
            "output": nir.Output(output_type=np.array([n_c])),
        },
        edges=[("input", "fc"), ("fc", name), (name, "output")],
    )
    nir.write(here / f"bad_{name}.nir", g)
