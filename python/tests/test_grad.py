"""`eligo.grad` from Python against `eligo grad` (the CLI) on the network of tests/grad.rs."""

import subprocess

import numpy as np
import pytest

import eligo

# the network of tests/grad.rs: 10 inputs, 20 LIF, 2 readouts, 100 steps of 1 ms
NET = """
dt_ms = 1.0
duration_ms = 100.0
seed = 4

[[population]]
name = "in"
model = "external"
size = 10

[[population]]
name = "rec"
model = "lif"
size = 20
n_ref = 2

[[population]]
name = "out"
model = "readout"
size = 2

[[projection]]
from = "in"
to = "rec"
rule = "fixed_probability"
p = 0.6
weight = { kind = "normal", mean = 0.25, std = 0.2 }

[[projection]]
from = "rec"
to = "rec"
rule = "fixed_probability"
p = 0.3
weight = { kind = "normal", mean = 0.0, std = 0.2 }

[[projection]]
from = "rec"
to = "out"
rule = "all_to_all"
weight = { kind = "normal", mean = 0.0, std = 0.3 }
"""


@pytest.fixture(autouse=True)
def plugins_of_the_build(eligo_bin, monkeypatch):
    # the CLI looks for plugins in its deps/ and its own directory; from Python they are where
    # ELIGO_PLUGIN_PATH says: the same two, so both find the same libraries
    d = eligo_bin.parent
    monkeypatch.setenv("ELIGO_PLUGIN_PATH", f"{d / 'deps'}:{d}")


def spikes(shift):
    """Every input neuron fires every 4th step, shifted by its index (and `shift`)."""
    ev = [(t * 1000, i) for t in range(100) for i in range(10) if (t + i + shift) % 4 == 0]
    return np.array(ev, dtype=eligo.SPIKE_DTYPE)


@pytest.fixture()
def files(tmp_path):
    net = tmp_path / "net.toml"
    net.write_text(NET)
    np.save(tmp_path / "input.npy", spikes(0))
    targets = np.sin(np.arange(200, dtype=np.float32) * np.float32(0.1)).reshape(100, 2)
    np.save(tmp_path / "targets.npy", targets)
    return tmp_path, net, targets


def cli(eligo_bin, args, out):
    subprocess.run([str(eligo_bin), "grad", *map(str, args), "--out", str(out)], check=True,
                   capture_output=True)
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


def assert_same(got, want):
    assert sorted(got) == sorted(want)
    for k, w in want.items():
        g = got[k]
        assert g.dtype == w.dtype and g.shape == w.shape, k
        assert g.tobytes() == w.tobytes(), k


def test_one_sequence_equals_the_cli_bit_for_bit(files, eligo_bin):
    d, net_file, targets = files
    want = cli(eligo_bin, [net_file, "--input", d / "input.npy", "--rule", "eprop",
                           "--targets", d / "targets.npy"], d / "g.npz")
    assert "spikes/rec/step" in want and "grad/rec->rec/data" in want
    net = eligo.Network.from_toml(net_file)
    got = eligo.grad(net, spikes(0), targets=targets, rule="eprop")
    assert_same(got, want)
    assert got["loss"].shape == () and got["loss"] > 0
    # the engine's buffers, handed over (no copy)
    assert got["errors"].base is not None and got["errors"].flags.owndata is False


def test_given_weights_equal_the_cli_with_weights(files, eligo_bin):
    d, net_file, targets = files
    first = eligo.grad(eligo.Network.from_toml(net_file), spikes(0), targets=targets)
    w = {}
    for p in ("in->rec", "rec->rec", "rec->out"):
        parts = [first[f"weights/{p}/{x}"] for x in ("indptr", "indices", "data")]
        parts[2] = parts[2] * np.float32(1.5)
        w[p] = tuple(parts)
    w["out/bias"] = np.array([0.25, -0.5], dtype=np.float32)
    flat = {f"{p}/{x}": v for p, t in w.items() if isinstance(t, tuple)
            for x, v in zip(("indptr", "indices", "data"), t)}
    np.savez(d / "w.npz", **flat, **{"out/bias": w["out/bias"]})
    want = cli(eligo_bin, [net_file, "--input", d / "input.npy", "--rule", "eprop",
                           "--targets", d / "targets.npy", "--weights", d / "w.npz"],
               d / "gw.npz")
    got = eligo.grad(eligo.Network.from_toml(net_file), spikes(0), targets=targets, weights=w)
    assert_same(got, want)
    assert got["weights/out/bias"].tolist() == [0.25, -0.5]


def test_a_feedback_matrix_equals_the_cli_with_that_file(files, eligo_bin):
    d, net_file, targets = files
    b = np.cos(np.arange(40, dtype=np.float32)).reshape(20, 2)
    np.save(d / "B.npy", b)
    want = cli(eligo_bin, [net_file, "--input", d / "input.npy", "--rule", "eprop",
                           "--targets", d / "targets.npy", "--feedback-matrix", d / "B.npy",
                           "--param", "feedback=adaptive"], d / "gB.npz")
    assert "grad/B" in want
    got = eligo.grad(eligo.Network.from_toml(net_file), spikes(0), targets=targets,
                     feedback_matrix=b, params={"feedback": "adaptive"})
    assert_same(got, want)


def test_a_batch_equals_batch_inputs(files, eligo_bin):
    d, net_file, _ = files
    (d / "batch").mkdir()
    for k in range(3):
        np.save(d / "batch" / f"s{k}.npy", spikes(k))
    want = cli(eligo_bin, [net_file, "--batch-inputs", d / "batch", "--rule", "eprop",
                           "--class", 1, "--window-ms", "50:100", "--threads", 1], d / "gb.npz")
    assert want["sequence_losses"].shape == (3,)
    net = eligo.Network.from_toml(net_file)
    got = eligo.grad(net, [spikes(k) for k in range(3)], class_=1, window_ms=(50, 100),
                     threads=2)
    assert_same(got, want)
    # a target per sequence, as a manifest gives them; label is class_
    each = eligo.grad(net, [spikes(k) for k in range(3)], label=[1, 1, 1], window_ms="50:100")
    assert_same(each, want)
    with pytest.raises(eligo.InputError) as e:
        eligo.grad(net, [spikes(k) for k in range(3)], class_=[1, 1], window_ms="50:100")
    assert e.value.field == "class_" and "3" in e.value.allowed


def test_bad_inputs_raise_input_error_naming_the_field(files):
    d, net_file, targets = files
    net = eligo.Network.from_toml(net_file)
    bad = spikes(0)
    bad["addr"][7] = 10
    with pytest.raises(eligo.InputError) as e:
        eligo.grad(net, bad, targets=targets)
    assert e.value.field == "inputs[0].event 7" and e.value.value == "addr 10"
    assert "has 10 neurons" in str(e.value)
    with pytest.raises(eligo.InputError) as e:
        eligo.grad(net, spikes(0), targets=targets[:50])
    assert e.value.field == "--targets" and "[100, 2]" in e.value.allowed
    with pytest.raises(eligo.InputError) as e:
        eligo.grad(net, spikes(0), class_=1)
    assert e.value.field == "--window-ms"
    with pytest.raises(eligo.InputError) as e:
        eligo.grad(net, spikes(0))
    assert e.value.field == "--targets" and e.value.value == "missing"
    with pytest.raises(eligo.InputError) as e:
        eligo.grad(net, np.zeros(3), targets=targets)
    assert e.value.field == "inputs" and "t (µs) and addr" in e.value.allowed
    with pytest.raises(eligo.InputError) as e:
        eligo.grad(net, spikes(0), targets=targets, rule="epropp")
    assert "epropp" in str(e.value)
    with pytest.raises(eligo.InputError) as e:
        eligo.grad(net, spikes(0), targets=targets, modulators={"reward": np.zeros((100, 2))})
    assert e.value.field == "--modulator" and "[100]" in e.value.allowed
    with pytest.raises(eligo.InputError) as e:
        eligo.grad(net, spikes(0), class_=-1, window_ms="50:100")
    assert e.value.field == "--class"
    with pytest.raises(eligo.InputError) as e:
        eligo.grad(net, spikes(0), targets=targets, feedback_matrix=np.zeros((20, 3)))
    assert e.value.field == "--feedback-matrix" and "[20, 2]" in e.value.allowed
    w = {"rec->out": np.ones((3, 20), dtype=np.float32)}
    with pytest.raises(eligo.InputError) as e:
        eligo.grad(net, spikes(0), targets=targets, weights=w)
    assert e.value.file == "weights"


CHILD = """
import sys, numpy as np, eligo
net = eligo.Network.from_toml(sys.argv[1])
ev = np.array([(0, 1)], dtype=eligo.SPIKE_DTYPE)
print("running", flush=True)
try:
    eligo.grad(net, ev, class_=0, window_ms="0:10")  # 3e6 steps: seconds of work
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_sigint_stops_a_long_sequence(files):
    import signal
    import sys
    import time

    d, net_file, _ = files
    long_net = d / "long.toml"
    long_net.write_text(NET.replace("duration_ms = 100.0", "duration_ms = 3000000.0"))
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(long_net)], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "running"
        time.sleep(0.3)  # inside the run
        assert p.poll() is None
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=20)
        took = time.monotonic() - t0
    finally:
        p.kill()
    assert out.strip() == "interrupted"
    # a piece is 1000 steps (about a millisecond here); the rest is the interpreter's exit
    assert took < 0.5, took
