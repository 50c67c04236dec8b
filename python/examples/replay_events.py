"""Replay a recorded event file through a network and read the network's spikes back.

Shows: ``eligo.events.write`` / ``read`` / ``info`` (the formats ``eligo events`` reads) and
``eligo.simulate(net, inputs={population: events})`` driving an ``external`` population
from recorded events. The example records its own file first (a 20-channel stream, 100 ms, at
most one event per channel and millisecond) so that it needs nothing beyond NumPy; pass any
event file instead (``python python/examples/replay_events.py FILE``; a 2-D sensor file is
mapped to neuron indices with ``to_neurons=True``, index = p*W*H + y*W + x, and the input
population is sized to fit).

Run: ``python python/examples/replay_events.py``  (needs ``pip install ./python``)
"""

import os
import sys
import tempfile

import numpy as np

import eligo
from eligo import events

NET = """
dt_ms = 0.1
duration_ms = 100.0
seed = 7

[[population]]
name = "input"
model = "external"
size = {n_in}

[[population]]
name = "hidden"
model = "lif_exp"
size = 50
e_l_mv = -65.0
v_th_mv = -50.0
v_reset_mv = -65.0
tau_m_ms = 10.0
t_ref_ms = 2.0

[[projection]]
from = "input"
to = "hidden"
rule = "fixed_indegree"
k = 10
weight = {{ kind = "normal", mean = 8.0, std = 1.0 }}

[[recorder]]
population = "input"
kind = "spikes"

[[recorder]]
population = "hidden"
kind = "spikes"
"""


def record(path: str) -> None:
    """A recording: 20 channels, each firing at about 50 Hz for 100 ms (1 ms resolution)."""
    rng = np.random.default_rng(3)
    t_ms, ch = np.nonzero(rng.random((100, 20)) < 0.05)
    ev = np.zeros(len(t_ms), dtype=events.SPIKE_DTYPE)
    ev["t"], ev["addr"] = t_ms * 1000, ch
    events.write(path, ev)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tmp, "recording.npy")
        if len(sys.argv) <= 1:
            record(path)
        about = events.info(path)
        print(f"{path}: {about['format_name']}, {about['events']} events, "
              f"{about['span_s'] * 1e3:.1f} ms, {about['rate_hz']:.0f} events/s")
        ev = events.read(path, to_neurons=True)
        n_in = int(ev["addr"].max()) + 1 if len(ev) else 1
        net = eligo.Network.from_toml(NET.format(n_in=n_in))
        res = eligo.simulate(net, inputs={"input": ev})
    replayed = res.spikes["input"]
    in_run = ev[ev["t"] < net.duration_ms * 1000]
    print(f"input: {len(replayed)} spikes replayed of {len(in_run)} events in the run")
    hidden = res.spikes["hidden"]
    print(f"hidden: {len(hidden)} spikes, {res.rates_hz['hidden']:.1f} Hz mean; first: "
          + ", ".join(f"neuron {a} at {t / 1000:.1f} ms" for t, a in hidden[:3]))


if __name__ == "__main__":
    main()
