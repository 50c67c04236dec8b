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
