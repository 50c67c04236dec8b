#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this script): formatting, lints with
# warnings as errors, the API docs with warnings as errors, then every Rust test (unit tests,
# the integration binary with the real plugins, doc tests) in release mode. Lints and tests
# build with the `hdf5` feature (the SHD/SSC readers) and the `mpi` feature (runs over several
# processes, tested with mpirun: tests/mpi.rs), so the system HDF5 and Open MPI libraries are
# installed first when they are missing (Debian: libhdf5-dev, libopenmpi-dev openmpi-bin
# libclang-dev).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

if ! pkg-config --exists hdf5 2>/dev/null; then
    step "installing libhdf5-dev (the hdf5 feature needs the system HDF5 library)"
    if ! { command -v apt-get >/dev/null &&
        apt-get update -qq && apt-get install -y -qq libhdf5-dev pkg-config >/dev/null; } ||
        ! pkg-config --exists hdf5; then
        echo "tests/run.sh: the HDF5 library is missing and could not be installed with" \
            "apt-get (not Debian, or not root?): install it (Debian/Ubuntu: libhdf5-dev," \
            "Fedora: hdf5-devel, macOS: brew install hdf5) and run again" >&2
        exit 1
    fi
fi

features=hdf5
if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; then
    step "installing Open MPI (the mpi feature and its tests need it)"
    if command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq libopenmpi-dev openmpi-bin libclang-dev >/dev/null || true
    fi
fi
if command -v mpicc >/dev/null && command -v mpirun >/dev/null; then
    features=hdf5,mpi
else
    echo "tests/run.sh: warning: no MPI library (mpicc, mpirun): the tests of runs over several" \
        "processes are skipped; install Open MPI (Debian: libopenmpi-dev openmpi-bin" \
        "libclang-dev) to run them" >&2
fi

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy --features $features -D warnings"
cargo clippy --workspace --all-targets --release --features "$features" -- -D warnings
step "cargo doc -D warnings"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --quiet
step "cargo test --features $features"
cargo test --workspace --release --features "$features"
# The Python package (python/): built into a virtualenv under target/ (created once, then
# reused) and tested against the CLI built above (pytest compares with target/release/eligo).
step "python: pip install ./python, pytest python/tests"
venv=target/py-venv
if [ ! -x "$venv/bin/python" ] && ! python3 -m venv "$venv"; then
    echo "tests/run.sh: cannot create a virtualenv with python3 -m venv (Python >= 3.9 and" \
        "its venv module are needed; Debian: apt-get install python3-venv)" >&2
    exit 1
fi
# gymnasium: python/tests/test_envs.py compares the engine's CartPole-v1 with its own; nir:
# python/tests/test_nir.py reads and writes NIR graphs with it (docs/nir.md)
"$venv/bin/pip" install -q --disable-pip-version-check "maturin==1.16.0" "numpy>=1.21,<3" "pytest>=8,<10" "scipy>=1.8" "gymnasium>=1.0,<2" "nir>=1.0,<2"
# torch, snntorch, nirtorch: python/tests/test_nir_snntorch.py and test_nir_trained_snntorch.py check
# Eligo against snnTorch's own simulation of the same NIR graph (docs/nir.md). torch's Linux
# wheels bring CUDA libraries (about 5 GB, a minute to install); they are installed once per venv.
if ! "$venv/bin/python" -c "import torch, snntorch, nirtorch" 2>/dev/null; then
    step "python: installing torch, snntorch and nirtorch into $venv (once; about 5 GB)"
fi
"$venv/bin/pip" install -q --disable-pip-version-check "torch==2.15.0" "snntorch==1.0.0" "nirtorch==2.6"
# the venv's maturin builds it (no isolated build environment to download each time); it
# is found on PATH
PATH="$PWD/$venv/bin:$PATH" "$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./python
"$venv/bin/pytest" -q -p no:cacheprovider python/tests
