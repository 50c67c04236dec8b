#!/usr/bin/env bash
# Create the Python environment used by the peer-simulator comparisons (bench/peers/).
#
# Question it answers: "do I have NEST 3.10 and Brian2 2.9 installed to compare Eligo against?"
# It creates bench/.venv (gitignored) if missing and pip-installs the pinned peers; it is
# idempotent: when the pinned versions already import, it does nothing.
#
# Usage:  bash bench/peers/setup_venv.sh          (from anywhere)
# Env:    ELIGO_PEERS_VENV  override the venv path (default: <repo>/bench/.venv)
#         PYTHON            interpreter used to create the venv (default: python3)
#
# Pins: Brian2 2.9.0 does not work with NumPy 2.4, hence numpy==2.3.5. SciPy and Matplotlib are
# for the statistics and plots of compare_microcircuit.py.
# Brian2's C++ standalone mode needs a C++ compiler (g++) on PATH at run time.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${ELIGO_PEERS_VENV:-$(cd "$here/.." && pwd)/.venv}"
python="${PYTHON:-python3}"

pins=(nest-simulator==3.10.0 brian2==2.9.0 numpy==2.3.5 scipy==1.17.1 matplotlib==3.11.2)

check() {
    "$venv/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as md
want = {"nest-simulator": "3.10.0", "brian2": "2.9.0", "numpy": "2.3.5", "scipy": "1.17.1",
        "matplotlib": "3.11.2"}
for name, version in want.items():
    if md.version(name) != version:
        raise SystemExit(1)
PY
}

if [[ -x "$venv/bin/python" ]] && check; then
    echo "peers venv ready: $venv" >&2
    exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating venv $venv" >&2
    "$python" -m venv "$venv"
fi

echo "installing ${pins[*]} into $venv" >&2
"$venv/bin/python" -m pip install --quiet --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet "${pins[@]}" >&2

if ! check; then
    echo "error: pinned versions not importable after install" >&2
    exit 1
fi
echo "peers venv ready: $venv" >&2
