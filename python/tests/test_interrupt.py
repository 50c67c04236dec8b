"""Ctrl-C during `eligo.simulate` returns control to Python (KeyboardInterrupt) promptly."""

import signal
import subprocess
import sys
import time

CHILD = """
import sys, eligo
net = eligo.Network.from_toml(sys.argv[1])
print("running", flush=True)
try:
    eligo.simulate(net, duration_ms=1e7, threads=1)  # hours of simulated time
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_sigint_stops_a_long_run(root):
    p = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root / "data" / "example_net.toml")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout.readline().strip() == "running"
        time.sleep(0.5)  # well inside the run
        assert p.poll() is None
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        # control is back in Python when the except clause prints
        line = p.stdout.readline().strip()
        took = time.monotonic() - t0
        p.communicate(timeout=10)
    finally:
        p.kill()
    assert line == "interrupted"
    assert p.returncode == 0
    # a piece of the run is about 25 ms of wall time
    print(f"SIGINT to KeyboardInterrupt: {took:.3f} s")
    assert took < 0.1, took
