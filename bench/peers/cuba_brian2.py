#!/usr/bin/env python3
"""CUBA benchmark network in Brian2 2.9 (C++ standalone mode, one thread).

Question it answers: how long does Brian2's generated C++ code take to simulate the
Brette et al. (2007) CUBA network of N neurons for T ms on one core, and at what firing rate?
It is the Brian2 side of bench/peers/compare_cuba.py (Eligo vs NEST vs Brian2).

Usage (with the venv made by bench/peers/setup_venv.sh):
    bench/.venv/bin/python bench/peers/cuba_brian2.py --neurons 4000 --time-ms 1000 --seed 1

Prints exactly one JSON line on stdout:
    {"simulator": "brian2", "neurons", "synapses", "spikes", "rate_hz",
     "build_s", "sim_s", "threads": 1, "codegen_s", "compile_s", "setup_s", "binary_s"}
  sim_s     the simulation loop only: Brian2's own timer around Network::run inside the
            compiled binary (device._last_run_time; with OpenMP off it is std::clock CPU time
            of the single thread, which equals wall time for this compute-bound loop)
  build_s   everything before the loop: codegen_s + compile_s + setup_s
  codegen_s Python-side code generation;  compile_s `make` of the generated project;
  setup_s   the binary's time outside the loop (allocating, drawing synapses, writing results)
  binary_s  wall time of the whole binary (setup_s + sim_s)

Model (Brian2's classic CUBA example): 80% excitatory / 20% inhibitory, every pair (i, j)
connected with probability p = 80/N (autapses allowed, as in NEST's pairwise_bernoulli default),
jumps we = 1.62 mV into ge, wi = -9 mV into gi, delay 0.1 ms, method 'exact',
  dv/dt = (ge + gi - (v - El))/taum  (unless refractory),  dge/dt = -ge/taue,  dgi/dt = -gi/taui
taum 20 ms, taue 5 ms, taui 10 ms, El -49 mV, Vt -50 mV, Vr -60 mV, refractory 5 ms, dt 0.1 ms,
v(0) ~ U[Vr, Vt], ge = gi = 0. Spikes are only counted (SpikeMonitor with record=False).

The standalone project is generated and compiled in a temporary directory (deleted afterwards;
--keep-dir keeps it). Needs g++ and make on PATH.
"""
import argparse
import json
import shutil
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=4000)
    ap.add_argument("--time-ms", type=float, default=1000.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep-dir", action="store_true", help="keep the generated project")
    ap.add_argument("--openmp", action="store_true",
                    help="build with OpenMP on one thread (openmp_threads = 1; sim_s is then "
                         "omp_get_wtime wall time) instead of plain serial code")
    args = ap.parse_args()

    import brian2 as b2
    from brian2 import ms, mV, second

    b2.set_device("cpp_standalone", build_on_run=False)
    # 0 = plain serial code without OpenMP (default); 1 = OpenMP code on one thread
    b2.prefs.devices.cpp_standalone.openmp_threads = 1 if args.openmp else 0
    b2.prefs.logging.console_log_level = "WARNING"
    b2.defaultclock.dt = 0.1 * ms
    b2.seed(args.seed)

    n = args.neurons
    n_exc = int(round(0.8 * n))
    p = 80.0 / n

    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    Vt, Vr, El = -50 * mV, -60 * mV, -49 * mV
    we, wi = 1.62 * mV, -9.0 * mV
    eqs = """
    dv/dt  = (ge + gi - (v - El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """

    t0 = time.perf_counter()
    P = b2.NeuronGroup(n, eqs, threshold="v > Vt", reset="v = Vr",
                       refractory=5 * ms, method="exact")
    P.v = "Vr + rand() * (Vt - Vr)"
    P.ge = 0 * mV
    P.gi = 0 * mV
    Pe, Pi = P[:n_exc], P[n_exc:]
    Ce = b2.Synapses(Pe, P, on_pre="ge += we", delay=0.1 * ms)
    Ci = b2.Synapses(Pi, P, on_pre="gi += wi", delay=0.1 * ms)
    Ce.connect(p=p)
    Ci.connect(p=p)
    mon = b2.SpikeMonitor(P, record=False)
    b2.run(args.time_ms * ms)

    workdir = tempfile.mkdtemp(prefix="eligo_brian2_cuba_")
    try:
        # device.build does codegen, then `make`, then runs the binary; its timers separate
        # the last two, and codegen is the rest of the wall time.
        b2.device.build(directory=workdir, compile=True, run=True, with_output=False)
        total = time.perf_counter() - t0
        compile_s = b2.device.timers["compile"]["make"]
        binary_s = b2.device.timers["run_binary"]
        sim_s = b2.device._last_run_time
        if b2.device._last_run_completed_fraction != 1.0:
            sys.exit("brian2 run did not complete")
        spikes = int(mon.num_spikes)
        synapses = int(len(Ce)) + int(len(Ci))
    finally:
        if args.keep_dir:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    codegen_s = total - compile_s - binary_s
    setup_s = binary_s - sim_s
    print(json.dumps({
        "simulator": "brian2",
        "neurons": n,
        "synapses": synapses,
        "spikes": spikes,
        "rate_hz": spikes / n / (args.time_ms / 1000.0),
        "build_s": codegen_s + compile_s + setup_s,
        "sim_s": sim_s,
        "threads": 1,
        "codegen_s": codegen_s,
        "compile_s": compile_s,
        "setup_s": setup_s,
        "binary_s": binary_s,
        "openmp_threads": 1 if args.openmp else 0,
        "version": b2.__version__,
    }))


if __name__ == "__main__":
    main()
