"""eligo.nir: NIR graphs from the nir package to Eligo networks and back (docs/nir.md).

The reference graphs are tests/data/nir/*.nir, written by the nir package (make.py there)."""

import subprocess

import numpy as np
import pytest

import eligo
import eligo.nir

nir = pytest.importorskip("nir")


def data(root, name):
    return root / "tests" / "data" / "nir" / name


def flat(g, prefix=""):
    """name -> node of a graph with its subgraphs inlined."""
    out = {}
    for k, n in g.nodes.items():
        if isinstance(n, nir.NIRGraph):
            out.update(flat(n, f"{prefix}{k}."))
        else:
            out[prefix + k] = n
    return out


def params(n):
    return {k: v for k, v in n.to_dict().items() if isinstance(v, np.ndarray)}


def test_same_description_as_the_cli(root, eligo_bin):
    for name in ["rnn.nir", "sub.nir"]:
        cli = subprocess.run(
            [str(eligo_bin), "nir", "import", str(data(root, name)), "--dt-ms", "0.1"],
            capture_output=True, text=True, check=True,
        ).stdout
        py = eligo.nir.to_toml(nir.read(data(root, name)), dt_ms=0.1)
        # the CLI records where the file is ([nir].source); all else is the same
        strip = lambda t: "\n".join(l for l in t.splitlines() if not l.startswith("source = "))
        assert strip(cli) == strip(py)


def test_round_trip_keeps_every_parameter_bit_for_bit(root):
    g = nir.read(data(root, "sub.nir"))
    net = eligo.nir.to_network(g, dt_ms=0.1)
    back = eligo.nir.from_network(net, source=g)
    a, b = flat(g), flat(back)
    assert a.keys() == b.keys()
    for k in a:
        assert type(a[k]) is type(b[k]), k
        pa, pb = params(a[k]), params(b[k])
        assert pa.keys() == pb.keys(), k
        for p in pa:
            assert pa[p].dtype == pb[p].dtype and pa[p].shape == pb[p].shape, (k, p)
            assert pa[p].tobytes() == pb[p].tobytes(), (k, p)


def test_trained_weights_go_into_the_graph(root):
    g = nir.read(data(root, "rnn.nir"))
    net = eligo.nir.to_network(g, dt_ms=0.1)
    w = net.weights("rec").astype(np.float64)  # W[post, pre]
    net.set_weights("rec", w + 0.5)
    back = eligo.nir.from_network(net, source=g)
    np.testing.assert_array_equal(
        back.nodes["rec"].weight, (g.nodes["rec"].weight.astype(np.float64) + 0.5).astype(np.float32)
    )
    np.testing.assert_array_equal(back.nodes["fc"].weight, g.nodes["fc"].weight)


def test_without_source_a_graph_nir_reads(tmp_path, root):
    g = nir.read(data(root, "rnn.nir"))
    net = eligo.nir.to_network(g, dt_ms=0.1)
    eligo.nir.write(tmp_path / "canon.nir", net)
    c = nir.read(tmp_path / "canon.nir")
    assert isinstance(c.nodes["lif"], nir.LIF) and isinstance(c.nodes["li"], nir.LI)
    np.testing.assert_array_equal(c.nodes["rec"].weight, g.nodes["rec"].weight)
    np.testing.assert_array_equal(c.nodes["lif"].v_threshold, g.nodes["lif"].v_threshold)
    # and it is the same network again: the same spikes on the same input
    again = eligo.nir.read(tmp_path / "canon.nir", dt_ms=0.1)
    rng = np.random.default_rng(1)
    t = np.sort(rng.integers(0, 50_000, 400)).astype(np.uint64)  # µs
    ev = {"t": t, "addr": rng.integers(0, 4, 400).astype(np.uint32)}
    r1 = eligo.simulate(net, 50.0, 1, inputs={"input": ev}, record=["lif"])
    r2 = eligo.simulate(again, 50.0, 1, inputs={"input": ev}, record=["lif"])
    assert len(r1.spikes["lif"]) >= 5
    assert r1.spikes["lif"].tobytes() == r2.spikes["lif"].tobytes()


def test_bad_graphs_raise_input_error_naming_node_and_field():
    f32 = np.float32
    lif = nir.LIF(
        tau=np.array([0.01, 0.02], dtype=f32), r=np.ones(2, f32), v_leak=np.zeros(2, f32),
        v_threshold=np.ones(2, f32),
    )
    g = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([2])), "fc": nir.Linear(weight=np.eye(2, dtype=f32)),
               "lif": lif, "output": nir.Output(output_type=np.array([2]))},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")],
    )
    with pytest.raises(eligo.InputError, match=r"node 'lif'\.tau.*must be equal"):
        eligo.nir.to_network(g, dt_ms=0.1)
    with pytest.raises(eligo.InputError, match="discretization"):
        eligo.nir.to_network(g, dt_ms=0.1, discretization="rk4")
    with pytest.raises(eligo.InputError, match="nir.NIRGraph"):
        eligo.nir.to_network({"type": "NIRGraph"})


def test_lif_with_r_not_tau_over_dt_matches_a_plain_euler_reference():
    """r != tau/dt (Norse-like, f = r h / tau = 0.05): Eligo's spikes are those of a plain
    float32 Euler step written here, with the threshold divided by f and each synapse's input
    one step later (Eligo's smallest delay), inputs summed in order of the sending neuron."""
    f32 = np.float32
    rng = np.random.default_rng(3)
    n_in, n = 5, 8
    h, tau, r, thr = 1e-4, f32(5e-3), f32(2.5), f32(0.05)
    w_in = rng.normal(0.4, 0.5, (n, n_in)).astype(f32)
    w_rec = rng.normal(0.0, 0.3, (n, n)).astype(f32)
    full = lambda x: np.full(n, x, dtype=f32)
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([n_in])),
            "fc": nir.Linear(weight=w_in),
            "lif": nir.LIF(tau=full(tau), r=full(r), v_leak=full(0), v_threshold=full(thr)),
            "rec": nir.Linear(weight=w_rec),
            "output": nir.Output(output_type=np.array([n])),
        },
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")],
    )
    net = eligo.nir.to_network(g, dt_ms=0.1)
    steps = 400
    x = rng.random((steps, n_in)) < 0.3
    t_idx, a_idx = np.nonzero(x)
    ev = {"t": (t_idx * 100).astype(np.uint64), "addr": a_idx.astype(np.uint32)}
    res = eligo.simulate(net, steps * 0.1, 1, inputs={"input": ev}, record=["lif"])

    f = float(r) * h / float(tau)
    alpha, v_th = f32(1.0 - h / float(tau)), f32(float(thr) / f)
    v, z = np.zeros(n, f32), np.zeros(n, f32)
    ref = []
    for t in range(steps):
        acc = np.zeros(n, f32)
        if t >= 1:
            for i in np.nonzero(x[t - 1])[0]:
                acc += w_in[:, i]
            for i in np.nonzero(z)[0]:
                acc += w_rec[:, i]
        v = alpha * v + acc - v_th * z
        z = ((v - v_th) / v_th > 0).astype(f32)
        ref.extend((t * 100, int(i)) for i in np.nonzero(z)[0])
    got = [(int(a), int(b)) for a, b in zip(res.spikes["lif"]["t"], res.spikes["lif"]["addr"])]
    assert len(ref) > 30
    assert got == ref
