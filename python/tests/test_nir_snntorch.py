"""A recurrent LIF network built and exported by snnTorch gives in Eligo the spikes snnTorch's
own simulation gives (bench/nir/snntorch_check.py). Runs when torch, snntorch and nirtorch are
installed (tests/run.sh installs them in the test virtualenv)."""

import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("snntorch")
pytest.importorskip("nirtorch")
pytest.importorskip("nir")


def test_snntorch_recurrent_lif_spikes_identical(root, eligo_bin):
    r = subprocess.run(
        [sys.executable, str(root / "bench" / "nir" / "snntorch_check.py"), str(eligo_bin)],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "differing (step, neuron) entries 0" in r.stdout, r.stdout
