"""`eligo.train` is `eligo train`: the same metrics and weights bit for bit, the callback, resume,
bad arguments, Ctrl-C."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import eligo

# evidence accumulation at a quarter of its length, small batches: about 0.5 s a run
SMALL = dict(task="evidence", scale=0.25, batch=8, threads=1, seed=1)
CLI_SMALL = ["--task", "evidence", "--scale", "0.25", "--batch", "8", "--threads", "1", "--seed", "1"]


@pytest.fixture(scope="module")
def plugins(eligo_bin):
    # the plugins are built next to the CLI
    return str(eligo_bin.parent)


def without_wall_time(line):
    """A metrics line without its wall time, the one value that differs between runs."""
    return {k: v for k, v in line.items() if k != "seconds"}


def read_metrics(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@pytest.fixture(scope="module")
def straight(tmp_path_factory, plugins):
    """Five iterations through Python, with the metrics the callback saw."""
    out = tmp_path_factory.mktemp("py")
    seen = []
    r = eligo.train(iterations=5, out=out, callback=seen.append, plugin_dir=plugins, **SMALL)
    return r, seen, out


def test_train_equals_the_cli_bit_for_bit(straight, eligo_bin, tmp_path):
    r, _, out = straight
    cli = tmp_path / "cli"
    subprocess.run(
        [str(eligo_bin), "train", *CLI_SMALL, "--iterations", "5", "--out", str(cli), "--quiet"],
        check=True,
    )
    want = read_metrics(cli / "metrics.jsonl")
    assert len(want) == 5
    assert [without_wall_time(m) for m in r.history] == [without_wall_time(m) for m in want]
    assert read_metrics(out / "metrics.jsonl") == r.history
    with np.load(cli / "weights.npz") as w:
        assert sorted(w.files) == sorted(r.weights)
        for k in w.files:
            assert_same_bits(r.weights[k], w[k])
    # the file Python's run wrote is the CLI's too
    with np.load(out / "weights.npz") as w, np.load(cli / "weights.npz") as c:
        for k in c.files:
            assert_same_bits(w[k], c[k])
    summary = json.loads((cli / "summary.json").read_text())
    for k in ("test_error", "test_loss", "test_rate_hz", "test_sequences", "iterations", "lr"):
        assert r.summary[k] == summary[k], k
    assert r.ending == "finished" and r.iterations == 5 and r.out == str(out)


def test_callback_sees_every_iteration_in_order(straight):
    r, seen, _ = straight
    assert [m["iteration"] for m in seen] == [1, 2, 3, 4, 5]
    assert seen == r.history
    # and the arrays per key are the same numbers
    assert r.metrics["loss"].tolist() == [m["loss"] for m in seen]
    assert np.isnan(r.metrics["validation_error"][:4]).all()
    assert r.metrics["validation_error"][4] == seen[4]["validation_error"]


def test_trained_network_and_sample(straight):
    r, _, _ = straight
    net = r.network
    assert list(net.populations) == ["in", "rec", "out"]
    assert net.projections["rec->rec"]["synapses"] == len(r.weights["rec->rec/data"])
    s = r.sample(0)
    assert s.y.shape == (s.steps, 2) and s.label in (0, 1)
    assert set(s.spikes) == {"in", "rec"} and len(s.spikes["rec"]) > 0
    t = s.spikes["rec"]["t"]
    assert (np.diff(t.astype(np.int64)) >= 0).all() and t.max() < s.steps * s.dt_ms * 1000
    with pytest.raises(eligo.InputError) as e:
        r.sample(0, split="tests")
    assert e.value.field == "split"


def test_resume_equals_a_straight_run(straight, tmp_path, plugins):
    r5, _, _ = straight
    out = tmp_path / "run"
    r3 = eligo.train(iterations=3, out=out, plugin_dir=plugins, **SMALL)
    assert r3.iterations == 3
    r = eligo.train(iterations=5, resume=out, plugin_dir=plugins, **SMALL)
    got = [without_wall_time(m) for m in r.history]
    # a run validates at its last iteration: the 3-iteration run did at 3 (as the CLI's)
    assert "validation_error" in got[2]
    got[2] = {k: v for k, v in got[2].items() if not k.startswith("validation_")}
    assert got == [without_wall_time(m) for m in r5.history]
    for k, v in r5.weights.items():
        assert_same_bits(r.weights[k], v)


def test_callback_stops_the_run(tmp_path, plugins):
    r = eligo.train(
        iterations=50, out=tmp_path, plugin_dir=plugins,
        callback=lambda m: m["iteration"] < 2, **SMALL,
    )
    assert r.ending == "stopped" and r.iterations == 2 and "test_error" not in r.summary
    assert len(read_metrics(tmp_path / "metrics.jsonl")) == 2

    class Boom(Exception):
        pass

    def boom(m):
        raise Boom(m["iteration"])

    with pytest.raises(Boom):
        eligo.train(iterations=50, plugin_dir=plugins, callback=boom, **SMALL)


def test_bad_arguments_raise_input_error(plugins, tmp_path, root):
    with pytest.raises(eligo.InputError) as e:
        eligo.train(task="evidenc", iterations=1, plugin_dir=plugins)
    assert e.value.field == "--task" and "evidence" in str(e.value)
    with pytest.raises(eligo.InputError) as e:
        eligo.train(iterations=1, params={"c_regg": 2}, plugin_dir=plugins, **SMALL)
    assert e.value.field == "--param c_regg" and "c_reg" in e.value.hint
    with pytest.raises(eligo.InputError) as e:
        eligo.train(iterations=1, plugin_dir=plugins, **{**SMALL, "threads": 0})
    assert e.value.field == "threads"
    with pytest.raises(eligo.InputError) as e:
        eligo.train(task="evidence", net="net.toml", data="d")
    assert e.value.field == "task"
    with pytest.raises(eligo.InputError) as e:
        eligo.train(resume=tmp_path / "missing", plugin_dir=plugins)
    assert e.value.field == "resume"
    # a network given as text has no file for the data run to read
    text = (root / "data" / "example_net.toml").read_text()
    with pytest.raises(eligo.InputError) as e:
        eligo.train(net=eligo.Network.from_toml(text), data="d")
    assert e.value.field == "net"


CHILD = """
import sys, time, eligo
def cb(m):
    if m["iteration"] == 1:
        print("running", flush=True)
try:
    eligo.train(task="evidence", scale=0.05, batch=4, threads=1, iterations=10**6,
                out=sys.argv[1], plugin_dir=sys.argv[2], callback=cb)
except KeyboardInterrupt as e:
    print("interrupted", time.monotonic(), e, flush=True)
"""


def test_sigint_stops_a_long_training_run(tmp_path, plugins):
    out = tmp_path / "run"
    p = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), plugins], stdout=subprocess.PIPE, text=True
    )
    try:
        assert p.stdout.readline().strip() == "running"
        time.sleep(0.3)
        assert p.poll() is None
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        line = p.stdout.readline().split(maxsplit=2)
        p.communicate(timeout=10)
    finally:
        p.kill()
    assert line[0] == "interrupted", line
    took = float(line[1]) - t0  # CLOCK_MONOTONIC: one clock for both processes
    print(f"SIGINT to KeyboardInterrupt: {took * 1000:.0f} ms")
    assert took < 0.1, took
    assert f"resume={str(out)!r}" in line[2]
    assert (out / "checkpoint").is_dir()
    # the checkpoint resumes: metrics up to the iteration it names
    it = int(line[2].split("iteration ")[1].split()[0])
    assert [m["iteration"] for m in read_metrics(out / "metrics.jsonl")] == list(range(1, it + 1))


CHILD_IN_TEST = """
import json, os, signal, sys, threading, time, eligo
# the full-length task: its final test (256 sequences of 2250 steps, about 0.15 s on an idle
# 2-core VM) runs in pieces of about 50 ms, a stop request asked before each
a = dict(task="evidence", scale=1.0, batch=8, threads=1, seed=1, iterations=5,
         plugin_dir=sys.argv[3])
sent = []
def kill():
    sent.append(time.monotonic())
    os.kill(os.getpid(), signal.SIGINT)
def cb(m):
    # the checkpoint and the final test follow: the signal lands in the test's first pieces
    if m["iteration"] == 5:
        threading.Timer(0.02, kill).start()
straight = eligo.train(out=sys.argv[2], **a)
try:
    eligo.train(out=sys.argv[1], callback=cb, **a)
    print(json.dumps({"finished": True}))
except KeyboardInterrupt as e:
    took = time.monotonic() - sent[0]
    r = eligo.train(resume=sys.argv[1], **a)
    print(json.dumps({"took": took, "message": str(e), "summary": r.summary,
                      "history": r.history, "straight": straight.summary,
                      "straight_history": straight.history}))
"""


def test_sigint_during_the_final_test(tmp_path, plugins):
    p = subprocess.run(
        [sys.executable, "-c", CHILD_IN_TEST, str(tmp_path / "run"), str(tmp_path / "straight"),
         plugins],
        capture_output=True, text=True, timeout=120, check=True,
    )
    got = json.loads(p.stdout)
    assert "took" in got, got
    print(f"SIGINT in the final test to KeyboardInterrupt: {got['took'] * 1000:.0f} ms")
    assert got["took"] < 0.1, got["took"]
    assert "checkpoint of iteration 5" in got["message"], got["message"]
    # the resumed run only tests: the uninterrupted run's result
    for k in ("test_error", "test_loss", "test_rate_hz", "test_sequences", "iterations"):
        assert got["summary"][k] == got["straight"][k], k
    assert [without_wall_time(m) for m in got["history"]] == [
        without_wall_time(m) for m in got["straight_history"]
    ]
