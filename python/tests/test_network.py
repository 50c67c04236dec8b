"""`eligo.Network` inspection: the values of data/example_net.toml."""

import eligo


def test_example_network_is_inspectable(root):
    net = eligo.Network.from_toml(str(root / "data" / "example_net.toml"))
    assert net.dt_ms == 0.1 and net.duration_ms == 1000.0 and net.steps == 10_000
    assert net.seed == 12345
    assert net.file.endswith("example_net.toml")
    assert list(net.populations) == ["input", "exc", "inh"]
    assert net.populations["input"] == {"size": 200, "model": "poisson", "start": 0}
    assert net.populations["exc"] == {"size": 800, "model": "lif_exp", "start": 200}
    assert net.populations["inh"] == {"size": 200, "model": "lif_exp", "start": 1000}
    assert list(net.projections) == [
        "input->exc", "input->inh", "exc->exc", "exc->inh", "inh->exc", "inh->inh",
    ]
    # fixed_indegree k = 40 onto 800 and 200 neurons: exactly k per target
    assert net.projections["input->exc"] == {"from": "input", "to": "exc", "synapses": 32_000}
    assert net.projections["input->inh"]["synapses"] == 8_000
    # fixed_probability p = 0.05 of 800 x 799 pairs (no autapses): 31 960 expected
    assert abs(net.projections["exc->exc"]["synapses"] - 31_960) < 4 * 174
    assert net.recorded == ("exc", "inh")


def test_network_from_text():
    net = eligo.Network.from_toml(
        "dt_ms = 0.5\nduration_ms = 10.0\n"
        "[[population]]\nname = 'src'\nmodel = 'poisson'\nsize = 3\nrate_hz = 10.0\n"
    )
    assert net.file is None
    assert net.steps == 20
    assert net.populations == {"src": {"size": 3, "model": "poisson", "start": 0}}
    assert net.projections == {}
    assert eligo.simulate(net, threads=1).spikes == {}
