"""An e-prop-trained Eligo network exported to NIR runs in snnTorch to Eligo's decisions and
spikes on every test sample (bench/nir/trained_to_snntorch.py, 3 epochs). Runs when torch,
snntorch and nirtorch are installed."""

import re
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("snntorch")
pytest.importorskip("nirtorch")
pytest.importorskip("nir")


def test_trained_network_same_accuracy_in_snntorch(root, eligo_bin):
    r = subprocess.run(
        [sys.executable, str(root / "bench" / "nir" / "trained_to_snntorch.py"),
         "--eligo", str(eligo_bin), "--epochs", "3"],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    acc_e = float(re.search(r"Eligo \(train summary\) test accuracy ([0-9.]+)", r.stdout)[1])
    m = re.search(r"snnTorch Eligo's reset \(subtract\): test accuracy ([0-9.]+), decisions as "
                  r"Eligo's (\d+)/(\d+), samples with identical spikes (\d+)/(\d+)", r.stdout)
    assert m, r.stdout
    assert float(m[1]) == acc_e
    assert m[2] == m[3] and m[4] == m[5], r.stdout
