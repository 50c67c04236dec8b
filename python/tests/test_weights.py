"""Networks from dicts, and weights to and from NumPy and SciPy CSR."""

import numpy as np
import pytest
import scipy.sparse

import eligo

SMALL = {
    "dt_ms": 0.1,
    "duration_ms": 50.0,
    "seed": 7,
    "population": [
        {"name": "in", "model": "poisson", "size": 30, "rate_hz": 50.0},
        {"name": "exc", "model": "lif_exp", "size": 20, "tau_m_ms": 10.0, "t_ref_ms": 2.0},
    ],
    "projection": [
        {"from": "in", "to": "exc", "rule": "fixed_indegree", "k": 6,
         "weight": {"kind": "uniform", "low": 1.0, "high": 3.0}, "delay_ms": 0.5},
        {"from": "exc", "to": "exc", "rule": "fixed_probability", "p": 0.2,
         "weight": 0.5, "delay_ms": 1.0},
    ],
    "recorder": [{"population": "exc", "kind": "spikes"}],
}

SMALL_TOML = """
dt_ms = 0.1
duration_ms = 50.0
seed = 7
[[population]]
name = "in"
model = "poisson"
size = 30
rate_hz = 50.0
[[population]]
name = "exc"
model = "lif_exp"
size = 20
tau_m_ms = 10.0
t_ref_ms = 2.0
[[projection]]
from = "in"
to = "exc"
rule = "fixed_indegree"
k = 6
weight = { kind = "uniform", low = 1.0, high = 3.0 }
delay_ms = 0.5
[[projection]]
from = "exc"
to = "exc"
rule = "fixed_probability"
p = 0.2
weight = 0.5
delay_ms = 1.0
[[recorder]]
population = "exc"
kind = "spikes"
"""


def test_a_dict_is_the_same_network_as_its_toml():
    a = eligo.Network.from_dict(SMALL)
    b = eligo.Network.from_toml(SMALL_TOML)
    assert a.populations == b.populations and a.projections == b.projections
    for p in a.projections:
        for x, y in zip(a.csr(p), b.csr(p)):
            assert np.array_equal(x, y)
    sa, sb = eligo.simulate(a, threads=1), eligo.simulate(b, threads=1)
    assert len(sb.spikes["exc"]) > 10
    assert sa.spikes["exc"].tobytes() == sb.spikes["exc"].tobytes()
    # NumPy scalars are numbers
    d = dict(SMALL, seed=np.int64(7), dt_ms=np.float64(0.1))
    assert eligo.simulate(eligo.Network.from_dict(d), threads=1).spikes["exc"].tobytes() == \
        sb.spikes["exc"].tobytes()


def test_a_bad_dict_raises_input_error_naming_the_field():
    bad = {**SMALL, "population": [SMALL["population"][0], {**SMALL["population"][1], "tau_m_ms": -1.0}]}
    with pytest.raises(eligo.InputError) as e:
        eligo.Network.from_dict(bad)
    assert "population[1]" in e.value.field and "tau_m_ms" in e.value.field
    assert e.value.value == "-1"
    with pytest.raises(eligo.InputError) as e:
        eligo.Network.from_dict({**SMALL, "population": [{**SMALL["population"][0], "size": None}]})
    assert e.value.field == "population[0].size" and e.value.value == "None"
    with pytest.raises(eligo.InputError) as e:
        eligo.Network.from_dict({**SMALL, "dt_mss": 0.1})
    assert "dt_mss" in str(e.value)


def test_csr_arrays_are_views_and_round_trip_through_scipy():
    net = eligo.Network.from_dict(SMALL)
    c = net.csr("in->exc")
    assert c.shape == (30, 20)
    assert len(c.indptr) == 31 and len(c.data) == 6 * 20 and c.data.dtype == np.float32
    # views of the network's memory, not copies: two reads share memory, and writes are refused
    assert np.shares_memory(c.data, net.csr("in->exc").data)
    assert c.data.base is not None and not c.data.flags.writeable
    with pytest.raises(ValueError):
        c.data[0] = 1.0
    # the dense matrix, built plainly from the CSR: W[post, pre]
    want = np.zeros((20, 30), np.float32)
    for i in range(30):
        for s in range(c.indptr[i], c.indptr[i + 1]):
            want[c.indices[s], i] += c.data[s]
    assert np.array_equal(net.weights("in->exc"), want)
    m = c.to_scipy()
    assert isinstance(m, scipy.sparse.csr_matrix)
    assert np.array_equal(m.toarray().T, want)
    # scipy -> network: new values at the same synapses; the old view follows
    m.data = (m.data * 0.5).astype(np.float32)
    net.set_weights("in->exc", m)
    assert np.array_equal(c.data, m.data)
    assert np.array_equal(net.weights("in->exc"), m.toarray().T)
    # dense -> network, and one weight per synapse
    net.set_weights("in->exc", want)
    assert np.array_equal(net.weights("in->exc"), want)
    # fixed_indegree draws with repeats: a pair's synapses share its dense entry equally
    assert len(set(zip(np.repeat(np.arange(30), np.diff(c.indptr)), c.indices))) < 120
    net.set_weights("in->exc", np.full(120, 0.25))
    assert np.all(c.data == np.float32(0.25))


def test_set_weights_changes_the_simulation_as_the_description_would():
    # the same network with in->exc weight 2.0 in its description vs 1.0, then set to 2.0
    def with_weight(w):
        return eligo.Network.from_dict(
            dict(SMALL, projection=[{**SMALL["projection"][0], "weight": w}, SMALL["projection"][1]])
        )

    a, b = with_weight(1.0), with_weight(2.0)
    assert np.array_equal(a.csr("in->exc").indices, b.csr("in->exc").indices)
    assert not np.array_equal(a.csr("in->exc").data, b.csr("in->exc").data)
    before = eligo.simulate(a, threads=1).spikes["exc"].tobytes()
    a.set_weights("in->exc", np.full(120, 2.0))
    got = eligo.simulate(a, threads=1).spikes["exc"].tobytes()
    assert got == eligo.simulate(b, threads=1).spikes["exc"].tobytes()
    assert got != before


def test_bad_weights_raise_input_error_naming_the_entry():
    net = eligo.Network.from_dict(SMALL)
    with pytest.raises(eligo.InputError) as e:
        net.weights("in->exe")
    assert e.value.field == "projection" and "in->exc" in e.value.hint
    with pytest.raises(eligo.InputError) as e:
        net.set_weights("in->exc", np.ones((20, 30)))  # entries where there is no synapse
    assert e.value.field.startswith("weights['in->exc'][") and e.value.value == "1"
    with pytest.raises(eligo.InputError) as e:
        net.set_weights("in->exc", np.ones((30, 20)))
    assert "[20, 30]" in e.value.allowed
    with pytest.raises(eligo.InputError) as e:
        net.set_weights("in->exc", np.ones(7))
    assert "120" in e.value.allowed
    with pytest.raises(eligo.InputError) as e:
        net.set_weights("in->exc", scipy.sparse.random(30, 20, density=0.5, format="csr", random_state=1))
    assert "indptr and indices" in e.value.allowed
    bad = net.csr("in->exc").data.copy()
    bad[3] = np.nan
    with pytest.raises(eligo.InputError) as e:
        net.set_weights("in->exc", bad)
    assert e.value.field == "weights['in->exc'][3]"
