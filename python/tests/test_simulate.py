"""`eligo.simulate` from Python against `eligo simulate` (the CLI), and eligo.InputError."""

import json
import subprocess

import numpy as np
import pytest

import eligo


def test_spikes_equal_the_cli_bit_for_bit(root, eligo_bin, tmp_path):
    cfg = root / "data" / "example_net.toml"
    out = tmp_path / "cli"
    subprocess.run(
        [str(eligo_bin), "simulate", str(cfg), "--out", str(out), "--quiet", "--threads", "1"],
        check=True,
    )
    net = eligo.Network.from_toml(cfg)
    # two thread counts: the engine gives the same bits for any count
    for threads in (1, 2):
        res = eligo.simulate(net, threads=threads)
        assert sorted(res.spikes) == ["exc", "inh"]
        for pop, got in res.spikes.items():
            want = np.load(out / f"spikes_{pop}.npy")
            assert got.dtype == want.dtype == eligo.SPIKE_DTYPE
            assert len(want) > 100, pop
            assert got.tobytes() == want.tobytes(), pop
        want_v = np.load(out / "state_exc_v.npy")
        assert res.state[("exc", "v")].tobytes() == want_v.tobytes()
        summary = json.loads((out / "summary.json").read_text())
        assert res.counters["steps"] == summary["steps"] == 10_000
        assert res.counters["events"] == summary["synaptic_events"]
        for p in summary["populations"]:
            assert res.counters["spikes"][p["name"]] == p["spikes"]
        assert res.rates_hz == summary["rates_hz"]


def test_duration_ms_shortens_the_run(root):
    net = eligo.Network.from_toml(root / "data" / "example_net.toml")
    full = eligo.simulate(net, threads=1)
    short = eligo.simulate(net, duration_ms=100.0, threads=1)
    assert short.counters["steps"] == 1000
    for pop, s in short.spikes.items():
        # the first 100 ms of the full run are the short run
        head = full.spikes[pop][full.spikes[pop]["t"] < 100_000]
        assert s.tobytes() == head.tobytes()
    assert short.state[("exc", "v")].shape == (1000, 4)


def test_bad_toml_raises_input_error_naming_the_field(root):
    text = (root / "data" / "example_net.toml").read_text()
    bad = text.replace("tau_m_ms = 20.0", "tau_m_ms = -20.0")
    with pytest.raises(eligo.InputError) as e:
        eligo.Network.from_toml(bad)
    assert isinstance(e.value, ValueError)
    assert "tau_m_ms" in e.value.field
    assert e.value.value == "-20"
    assert "tau_m_ms" in str(e.value) and "-20" in str(e.value)
    assert e.value.file is None


def test_missing_file_and_bad_arguments_raise_input_error(root, tmp_path):
    with pytest.raises(eligo.InputError) as e:
        eligo.Network.from_toml(tmp_path / "missing.toml")
    assert e.value.file == str(tmp_path / "missing.toml")
    assert "cannot read the file" in str(e.value)
    bad = tmp_path / "bad.toml"
    bad.write_text("dt_ms = 0.1\n[[population]]\nname = 'a'\nmodel = 'lfi'\nsize = 3\n")
    with pytest.raises(eligo.InputError) as e:
        eligo.Network.from_toml(bad)
    assert e.value.file == str(bad) and "model" in e.value.field and "lfi" in e.value.value
    net = eligo.Network.from_toml(root / "data" / "example_net.toml")
    with pytest.raises(eligo.InputError) as e:
        eligo.simulate(net, threads=0)
    assert e.value.field == "threads"
    with pytest.raises(eligo.InputError) as e:
        eligo.simulate(net, duration_ms=-5.0)
    assert "duration_ms" in e.value.field


def _root_base(a):
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return a


def test_results_are_the_engines_buffers_not_copies(root):
    res = eligo.simulate(eligo.Network.from_toml(root / "data" / "example_net.toml"),
                         duration_ms=50.0, threads=1)
    for arr in list(res.spikes.values()) + list(res.state.values()):
        assert not arr.flags.owndata
        # the memory belongs to the Vec the engine filled, handed to NumPy as it is
        assert type(_root_base(arr)).__name__ == "PySliceContainer", type(_root_base(arr))
    # what the test tells apart: a copy owns its data and has no base
    c = res.state[("exc", "v")].copy()
    assert c.flags.owndata and c.base is None
