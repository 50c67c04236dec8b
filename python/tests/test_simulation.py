"""`eligo.Simulation` (step-wise) and `eligo.simulate(inputs=, record=)`: against one run, the
CLI's replay, closed-form membranes and a rule's equation."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import eligo


def short_example(root, tmp_path, duration_ms):
    """data/example_net.toml with a shorter duration_ms (the CLI has no flag for it)."""
    text = (root / "data" / "example_net.toml").read_text()
    assert "duration_ms = 1000.0" in text
    cfg = tmp_path / "net.toml"
    cfg.write_text(text.replace("duration_ms = 1000.0", f"duration_ms = {duration_ms}"))
    return cfg


def test_step_loop_equals_one_run(root):
    net = eligo.Network.from_toml(root / "data" / "example_net.toml")
    whole = eligo.simulate(net, duration_ms=30.0, threads=1)
    assert sum(len(s) for s in whole.spikes.values()) > 20
    for threads in (1, 2):
        sim = eligo.Simulation(net, threads=threads)
        for _ in range(100):
            sim.step()
        sim.step(37)
        sim.run(6.3)  # 63 steps
        sim.step(0)
        sim.step(100)
        assert sim.steps == 300 and abs(sim.t_ms - 30.0) < 1e-9
        got = sim.result()
        assert sorted(got.spikes) == sorted(whole.spikes) == ["exc", "inh"]
        for pop in whole.spikes:
            assert got.spikes[pop].tobytes() == whole.spikes[pop].tobytes(), pop
        v = got.state[("exc", "v")]
        assert v.shape == (300, 4)
        assert v.tobytes() == whole.state[("exc", "v")].tobytes()
        # the live state is the last recorded row
        assert sim.state("exc", "v")[:4].tobytes() == v[-1].tobytes()
        assert got.counters == whole.counters
        # the last step's spikes are the recorded spikes at the last step
        last = whole.spikes["exc"]
        want = last["addr"][last["t"] == 29_900]
        assert sim.spikes("exc").tolist() == sorted(want.tolist())


def random_events(n_neurons, t_max_us, n, seed):
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, dtype=eligo.SPIKE_DTYPE)
    ev["t"] = np.sort(rng.integers(0, t_max_us, n))
    ev["addr"] = rng.integers(0, n_neurons, n)
    # coincident events of one neuron in one step (folded into one spike) and t = 0
    ev["t"][:3] = 0
    ev["addr"][:3] = 7
    return ev


def test_inputs_equal_the_cli_replaying_a_file(root, eligo_bin, tmp_path):
    cfg = short_example(root, tmp_path, 40.0)
    ev = random_events(200, 45_000, 3000, seed=3)  # some after the end of the run
    events = tmp_path / "events.npy"
    np.save(events, ev)
    net = eligo.Network.from_toml(cfg)
    got = eligo.simulate(net, inputs={"input": ev}, threads=1, record=["input", "exc", "inh"])
    as_dict = eligo.simulate(
        net, inputs={"input": {"t": ev["t"].astype(np.int64), "addr": ev["addr"]}}, threads=2
    )
    as_tuple = eligo.Simulation(net, inputs={"input": (ev["t"], ev["addr"])})
    as_tuple.run(40.0)
    stepped = as_tuple.result()
    for flag in ("--input-events", "--clamp-events"):
        out = tmp_path / flag.strip("-")
        subprocess.run(
            [str(eligo_bin), "simulate", str(cfg), "--out", str(out), "--quiet", "--threads",
             "1", flag, str(events), "--population", "input"],
            check=True,
        )
        for pop in ("exc", "inh"):
            want = np.load(out / f"spikes_{pop}.npy")
            assert len(want) > 10, pop
            assert got.spikes[pop].tobytes() == want.tobytes(), (flag, pop)
            assert as_dict.spikes[pop].tobytes() == want.tobytes(), (flag, pop)
            assert stepped.spikes[pop].tobytes() == want.tobytes(), (flag, pop)
        want_v = np.load(out / "state_exc_v.npy")
        assert got.state == {}  # a list records spikes only
        assert as_dict.state[("exc", "v")].tobytes() == want_v.tobytes()
    # the replayed spikes themselves: one per neuron and step, times on the step grid
    inp = got.spikes["input"]
    steps = ev["t"] // 100
    keep = steps < 400
    want = sorted(set(zip(steps[keep].tolist(), ev["addr"][keep].tolist())))
    assert list(zip((inp["t"] // 100).tolist(), inp["addr"].tolist())) == want


def test_bad_inputs_and_record_raise_input_error(root):
    net = eligo.Network.from_toml(root / "data" / "example_net.toml")
    ev = random_events(200, 10_000, 50, seed=1)

    def err(**kw):
        with pytest.raises(eligo.InputError) as e:
            eligo.simulate(net, duration_ms=1.0, threads=1, **kw)
        return e.value

    bad = ev.copy()
    bad["addr"][10] = 200
    e = err(inputs={"input": bad})
    assert e.field.startswith("inputs['input']") and e.value == "200", (e.field, e.value)
    assert "200 neurons" in str(e)
    back = ev.copy()
    back["t"][20] = back["t"][19] - 1
    e = err(inputs={"input": back})
    assert e.field == "inputs['input'].t[20]" and "backwards" in str(e)
    e = err(inputs={"inptu": ev})
    assert e.field == "inputs['inptu']" and "input" in e.hint
    e = err(inputs={"input": (ev["t"].astype(float), ev["addr"])})
    assert e.field == "inputs['input'].t" and "float64" in e.value
    e = err(inputs={"input": (-ev["t"].astype(np.int64) - 1, ev["addr"])})
    assert e.field == "inputs['input'].t[0]"
    e = err(inputs={"input": np.zeros(3, dtype=[("t", "<u8"), ("x", "<u4")])})
    assert e.field == "inputs['input']" and "addr" in e.allowed
    e = err(inputs={"input": (ev["t"], ev["addr"][:-1])})
    assert e.field == "inputs['input'].addr"
    e = err(record=["exc", "ihn"])
    assert e.field == "record['spikes'][1]" and "inh" in e.hint
    e = err(record={"state": [("exc", "vv", [0])]})
    assert e.field == "record['state'][0].variable" and "v" in e.allowed
    e = err(record={"state": [("exc", "v", [800])]})
    assert e.field == "record['state'][0].neurons"
    e = err(record={"spike": ["exc"]})
    assert e.field == "record['spike']" and "spikes" in e.hint
    res = eligo.simulate(net, duration_ms=1.0, threads=1, record={"state": [("inh", "v", [3])]})
    assert res.spikes == {} and res.state[("inh", "v")].shape == (10, 1)


LIF = """
dt_ms = 1.0
duration_ms = 100.0
[[population]]
name = "src"
model = "poisson"
rate_hz = 0.0
size = 3
[[population]]
name = "a"
model = "lif"
size = 2
tau_m_ms = 20.0
v_th = 0.6
[[projection]]
from = "src"
to = "a"
rule = "list"
pairs = [[2, 1]]
weights = [0.25]
delay_steps = 2
"""


def test_injected_currents_and_spikes_follow_the_closed_form():
    net = eligo.Network.from_toml(LIF)
    sim = eligo.Simulation(net)
    # the datasheet of lif: v(t) = alpha v(t-1) + I(t) - v_th z(t-1), spike if v > v_th and
    # not refractory (5 steps), computed here in float32 as the engine does
    alpha, v_th, n_ref = np.float32(np.exp(-1.0 / 20.0)), np.float32(0.6), 5
    cur = np.zeros((40, 2), np.float32)
    cur[0:12, 0] = 0.15
    cur[3, 1] = 0.7  # one spike at once
    cur[20:25, 1] = -0.1
    inject_at = {4: [2], 9: [0, 2], 30: [2]}  # src neuron 2 -> a[1], weight 0.25, 2 steps
    v = np.zeros(2, np.float32)
    z = np.zeros(2, np.float32)
    refr = np.zeros(2, int)
    for t in range(40):
        syn = np.zeros(2, np.float32)
        for s, addrs in inject_at.items():
            if t == s + 2 and 2 in addrs:
                syn[1] += np.float32(0.25)
        for i in range(2):
            inp = np.float32(syn[i] + cur[t, i]) if syn[i] else cur[t, i]
            v[i] = alpha * v[i] + inp - v_th * z[i]
            spike = refr[i] == 0 and (v[i] - v_th) / v_th > 0
            z[i] = 1.0 if spike else 0.0
            refr[i] = n_ref - 1 if spike else max(refr[i] - 1, 0)
        if t in inject_at:
            sim.inject("src", inject_at[t])
        if t in (20, 21, 22, 23, 24):
            # the inhibitory channel sums with the excitatory one in lif
            sim.inject_current("a", [0.0, -0.05], receptor="inh")
            sim.inject_current("a", [0.0, -0.05])
        else:
            sim.inject_current("a", cur[t])
        sim.step()
        assert sim.state("a", "v").tobytes() == v.tobytes(), t
        assert sim.spikes("a").tolist() == np.flatnonzero(z).tolist(), t
        assert sim.spikes("src").tolist() == inject_at.get(t, []), t
    assert sim.result().counters["spikes"]["a"] > 1
    for kw, field in (
        (dict(pop="src", values=[1.0] * 3), "pop"),
        (dict(pop="a", values=[1.0] * 3), "values"),
        (dict(pop="b", values=[1.0]), "pop"),
        (dict(pop="a", values=[1.0], receptor="gaba"), "receptor"),
        (dict(pop="a", values=[0.0, np.inf]), "values[1]"),
    ):
        with pytest.raises(eligo.InputError) as e:
            sim.inject_current(**kw)
        assert e.value.field == field, kw
    with pytest.raises(eligo.InputError) as e:
        sim.inject("src", [3])
    assert e.value.field == "addrs" and "3 neurons" in str(e.value)
    with pytest.raises(eligo.InputError) as e:
        sim.readout("a")
    assert "readout" in str(e.value)


RSTDP = """
dt_ms = 1.0
duration_ms = 100.0
seed = 4
[[population]]
name = "src"
model = "poisson"
rate_hz = 150.0
size = 20
[[population]]
name = "post"
model = "lif"
size = 4
[[projection]]
from = "src"
to = "post"
rule = "all_to_all"
weight = 0.3
"""


def test_a_modulator_set_from_python_reaches_the_rule(root):
    net = eligo.Network.from_toml(RSTDP)
    w0 = np.full(80, 0.3, np.float32)

    def delta(reward):
        sim = eligo.Simulation(
            net,
            rules=("rstdp", {"eta": 0.01}),
            modulators=["reward"],
            plugin_dir=[root / "target" / "release"],
        )
        sim.step(50)
        # rstdp: dw = eta * dt * M * e; without reward (M = 0) no weight moves
        assert sim.weights("src->post").tobytes() == w0.tobytes()
        sim.set_modulator("reward", reward)
        sim.step()
        return sim.weights("src->post").astype(np.float64) - w0

    d1, d2, dm = delta(1.0), delta(2.0), delta(-1.0)
    assert np.count_nonzero(d1) > 10 and np.any(d1 > 0) and np.any(d1 < 0)
    # linear in M (up to float32 rounding of w + dw)
    np.testing.assert_allclose(d2, 2 * d1, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(dm, -d1, rtol=1e-4, atol=1e-7)
    assert np.all(delta(0.0) == 0)
    # a changing reward, step by step: the same weights for any thread count
    ws = []
    for threads in (1, 2):
        sim = eligo.Simulation(net, rules="rstdp", modulators=["reward"], threads=threads,
                               plugin_dir=[root / "target" / "release"])
        for k in range(100):
            sim.set_modulator("reward", float(k % 3 - 1))
            sim.step()
        ws.append(sim.weights("src->post"))
    assert ws[0].tobytes() == ws[1].tobytes() and np.any(ws[0] != w0)
    sim.step(3)
    sim.finish()
    with pytest.raises(RuntimeError):
        sim.step()
    sim = eligo.Simulation(net, modulators="reward")
    with pytest.raises(eligo.InputError) as e:
        sim.set_modulator("rewrd", 1.0)
    assert "reward" in e.value.hint
    with pytest.raises(eligo.InputError) as e:
        sim.set_modulator("reward", float("nan"))
    assert e.value.field == "value"
    with pytest.raises(eligo.InputError) as e:
        eligo.Simulation(net, rules=[("rstdp", {"etaa": 1})], modulators=["reward"],
                         plugin_dir=[root / "target" / "release"])
    assert "etaa" in str(e.value)
    with pytest.raises(eligo.InputError) as e:
        eligo.Simulation(net, rules="rstdp", plugin_dir=[root / "target" / "release"])
    assert "modulators=['reward']" in e.value.hint, e.value.hint


CHILD = """
import sys, eligo
net = eligo.Network.from_toml(sys.argv[1])
sim = eligo.Simulation(net)
print("running", flush=True)
try:
    sim.run(1e7)  # hours of simulated time
except KeyboardInterrupt:
    print("interrupted", sim.steps > 0, flush=True)
"""


def test_sigint_stops_a_long_step_wise_run(root):
    p = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root / "data" / "example_net.toml")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout.readline().strip() == "running"
        time.sleep(0.5)
        assert p.poll() is None
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        line = p.stdout.readline().strip()
        took = time.monotonic() - t0
        p.communicate(timeout=10)
    finally:
        p.kill()
    assert line == "interrupted True"
    print(f"SIGINT to KeyboardInterrupt: {took:.3f} s")
    assert took < 0.1, took


def test_closed_loop_example_runs(root):
    pytest.importorskip("gymnasium")
    out = subprocess.run(
        [sys.executable, str(root / "python" / "examples" / "closed_loop_gym.py"), "--episodes",
         "1"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.startswith("episode 0: return "), out


def test_state_traces_held_in_memory_are_bounded(root, monkeypatch):
    net = eligo.Network.from_toml(root / "data" / "example_net.toml")
    monkeypatch.setenv("ELIGO_MEMORY_LIMIT", "256M")
    every_v = {"state": [("exc", "v")]}  # 800 neurons x 4 bytes a step
    assert eligo.simulate(net, duration_ms=1.0, threads=1, record=every_v).state[
        ("exc", "v")].shape == (10, 800)
    for make in (
        lambda: eligo.simulate(net, duration_ms=1e5, threads=1, record=every_v),  # 3.2 GB
        lambda: eligo.Simulation(net, record=every_v, duration_ms=1e5),
    ):
        with pytest.raises(eligo.InputError) as e:
            make()
        assert e.value.field == "record['state']"
        assert e.value.value == "800 neurons x 1000000 steps"
        assert "3.2" in e.value.allowed and "256" in e.value.allowed, e.value.allowed


STDP_NET = RSTDP.replace("duration_ms = 100.0", "duration_ms = 60.0") + """
[[projection]]
name = "fixed"
from = "src"
to = "post"
rule = "all_to_all"
weight = 0.2
[[recorder]]
population = "post"
"""


def test_rules_with_a_rule_config_change_weights_as_the_cli(root, eligo_bin, tmp_path):
    cfg = tmp_path / "net.toml"
    cfg.write_text(STDP_NET)
    rule_cfg = tmp_path / "stdp.toml"
    rule_cfg.write_text('a_plus = 0.01\na_minus = 0.012\n[host]\nplastic = ["src->post"]\n')
    out = tmp_path / "cli"
    subprocess.run(
        [str(eligo_bin), "simulate", str(cfg), "--out", str(out), "--quiet", "--threads", "1",
         "--rule", "stdp", "--rule-config", str(rule_cfg), "--param", "a_plus=0.02"],
        check=True,
    )
    want = np.load(out / "weights.npz")
    net = eligo.Network.from_toml(cfg)
    sim = eligo.Simulation(net, rules=[("stdp", {"a_plus": 0.02})], rule_config=[rule_cfg],
                           plugin_dir=[root / "target" / "release"])
    for _ in range(30):
        sim.step()
    sim.run(3.0)
    sim.step(27)
    sim.finish()
    learned = sim.weights("src->post")
    assert np.any(learned != 0.3)
    assert learned.tobytes() == want["src->post/data"].tobytes()
    assert np.all(sim.weights("fixed") == np.float32(0.2))
    assert sim.result().spikes["post"].tobytes() == np.load(out / "spikes_post.npy").tobytes()


def test_a_description_with_rule_tables_simulates_as_the_cli(eligo_bin, tmp_path):
    # the rule in the description itself ([[rule]] inline table), found among the built-in
    # rules linked into the package (no plugin_dir)
    cfg = tmp_path / "net.toml"
    cfg.write_text(STDP_NET + '[[rule]]\nrule = "stdp"\na_plus = 0.02\na_minus = 0.012\n'
                   '[rule.host]\nplastic = ["src->post"]\n')
    out = tmp_path / "cli"
    subprocess.run([str(eligo_bin), "simulate", str(cfg), "--out", str(out), "--quiet",
                    "--threads", "1"], check=True)
    want = np.load(out / "weights.npz")
    net = eligo.Network.from_toml(cfg)
    assert net.rules == ("stdp",)
    res = eligo.simulate(net, threads=1)
    assert np.any(res.weights["src->post"] != np.float32(0.3))
    assert res.weights["src->post"].tobytes() == want["src->post/data"].tobytes()
    assert res.weights["fixed"].tobytes() == want["fixed/data"].tobytes()
    assert res.spikes["post"].tobytes() == np.load(out / "spikes_post.npy").tobytes()
    # the network keeps its drawn weights
    assert np.all(net.csr("src->post").data == np.float32(0.3))
