#!/usr/bin/env bash
# Build NEST 3.10.0 from source with MPI (and OpenMP) into target/nest-mpi (git-ignored).
#
# Question it answers: "do I have a NEST 3.10 that runs on several MPI processes?" The PyPI
# wheel nest-simulator==3.10.0 is built without MPI (nest.build_info["have_mpi"] is False), so
# bench/peers/compare_cuba_mpi.py needs this build. Not part of the test suite; with the default model
# list (below) it took ~6 min on this 2-vCPU VM (shared with other work), more with
# NEST_MODELS=full.
#
# Usage:  bash bench/peers/build_nest_mpi.sh SRC_DIR
#   SRC_DIR  an unpacked NEST source tree at tag v3.10 (commit
#            acca9704da248750219a027db99fec6cd1f9052a, "Bump version to 3.10.0"), e.g.
#            a checkout of NEST's own git repository (nest-simulator) at tag v3.10.
# Env:    NEST_MPI_PREFIX  install prefix (default: target/nest-mpi of the repository)
#         JOBS             make -j (default: 2)
#         NEST_MODELS      semicolon-separated model headers to build in (cmake -Dwith-models);
#                          default: NEST's modelsets/iaf_minimal plus iaf_psc_exp (what the
#                          CUBA benchmark uses), which halves the build; NEST_MODELS=full builds
#                          NEST's full model set. The kernel (scheduling, connection storage,
#                          MPI spike exchange) is the same either way.
#
# Result: $NEST_MPI_PREFIX/venv/bin/python imports `nest` with build_info["have_mpi"] True
#         (run it as root under mpirun with OMPI_ALLOW_RUN_AS_ROOT=1
#         OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1).
# Needs (Debian 12): cmake g++ libgsl-dev libboost-dev libltdl-dev python3-dev python3-venv
#         libopenmpi-dev openmpi-bin (apt-get install -y ...).
set -euo pipefail

src="${1:?usage: build_nest_mpi.sh SRC_DIR (NEST source tree at tag v3.10)}"
src="$(cd "$src" && pwd)"
prefix="${NEST_MPI_PREFIX:-$(cd "$(dirname "$0")/../.." && pwd)/target/nest-mpi}"
jobs="${JOBS:-2}"
models="${NEST_MODELS:-iaf_psc_exp;iaf_psc_alpha;dc_generator;multimeter;spike_generator;spike_recorder;static_synapse;weight_recorder}"
if [[ "$models" == full ]]; then
    model_opt=(-Dwith-modelset=full)
else
    model_opt=(-Dwith-models="$models")
fi

if [[ "$(cat "$src/VERSION" 2>/dev/null)" != "3.10.0" ]]; then
    echo "build_nest_mpi.sh: $src/VERSION is not 3.10.0; check out tag v3.10 of nest-simulator" >&2
    exit 2
fi

mkdir -p "$prefix"
venv="$prefix/venv"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
# PyNEST 3.10 needs Cython >= 3 at build time and NumPy at run time.
"$venv/bin/pip" install -q "cython>=3.0.0,<4" "numpy==2.3.5"

build="$prefix/build"
mkdir -p "$build"
cd "$build"
# The active venv makes cmake pick its python and install PyNEST into it.
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
cmake "$src" \
    -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_BUILD_TYPE=Release \
    -Dwith-mpi=ON \
    -Dwith-openmp=ON \
    -Dwith-gsl=ON \
    -Dwith-ltdl=ON \
    -Dwith-python=ON \
    "${model_opt[@]}" \
    -DPython_EXECUTABLE="$venv/bin/python"
make -j"$jobs"
make install
# PyNEST goes to $prefix/lib/pythonX.Y/site-packages; a .pth file puts it on the venv's path
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
pyver="$("$venv/bin/python" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')"
echo "$prefix/lib/$pyver/site-packages" > "$site/nest_mpi.pth"

OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 PYNEST_QUIET=1 "$venv/bin/python" - <<'PY'
import nest
info = nest.build_info
print("NEST", nest.__version__, "have_mpi", info["have_mpi"], "threads", info["threads_model"])
if not info["have_mpi"]:
    raise SystemExit("built NEST has no MPI")
PY
