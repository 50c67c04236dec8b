#!/usr/bin/env python3
"""CUBA benchmark network in NEST 3.10 (iaf_psc_exp, one thread per process).

Question it answers: how long does NEST take to simulate the Brette et al. (2007) CUBA network
of N neurons for T ms on one core, and at what firing rate? It is the NEST side of
bench/peers/compare_cuba.py (Eligo vs NEST vs Brian2).

Usage (with the venv made by bench/peers/setup_venv.sh):
    bench/.venv/bin/python bench/peers/cuba_nest.py --neurons 4000 --time-ms 1000 --seed 1

Over MPI (NEST built with MPI, bench/peers/build_nest_mpi.sh; compare_cuba_mpi.py runs it):
    mpirun -np 2 target/nest-mpi/venv/bin/python bench/peers/cuba_nest.py --neurons 200000

Prints exactly one JSON line on stdout per process:
    {"simulator": "nest", "neurons", "synapses", "spikes", "rate_hz",
     "build_s", "sim_s", "threads": 1, "prepare_s", "run_s", "cleanup_s",
     "rank", "processes", "local_neurons", "rule"}
  With several processes each line covers that process only: its neurons' spikes
  ("spikes", "rate_hz" over the N / processes neurons it holds, "local_neurons"), the synapses
  it stores (NEST stores a synapse on its target's process) and its own timings.
  sim_s     wall time of nest.Simulate(T), done here as its three parts
            Prepare + Run + Cleanup (what Simulate calls), each timed:
  run_s     the update loop only (the "loop only" figure, comparable with Brian2's sim_s);
  prepare_s node preparation and, on the first call, NEST's connection infrastructure
  build_s   Create + Connect (+ setting initial state)

Model: the CUBA network of Brian2's classic example translated to iaf_psc_exp. Brian2 writes
    dv/dt = (ge + gi - (v - El))/taum,  ge, gi in mV, jumps of we = 1.62 mV / wi = -9 mV;
NEST writes  dV/dt = -(V - E_L)/tau_m + I_syn/C_m,  I_syn in pA, so I_syn/C_m = ge/taum, i.e.
I = ge * C_m / tau_m and a jump of w mV becomes w * C_m / tau_m pA (C_m = 250 pF, tau_m = 20 ms:
1.62 mV -> 20.25 pA, -9 mV -> -112.5 pA). tau_syn_ex 5 ms, tau_syn_in 10 ms, E_L -49 mV,
V_th -50 mV, V_reset -60 mV, t_ref 5 ms, I_e 0, resolution 0.1 ms, delay 0.1 ms,
V_m(0) ~ U[-60, -50] mV. Connectivity pairwise_bernoulli with p = 80/N from the 80% excitatory
and the 20% inhibitory neurons onto all N, autapses allowed (as in Brian2's connect(p=...)),
multapses impossible with pairwise_bernoulli. Spikes are recorded by a spike_recorder in memory.
--rule fixed_indegree instead gives every neuron exactly round(p * N_exc) excitatory and
round(p * N_inh) inhibitory inputs (the binomial in-degree's mean, autapses allowed, multapses
not): pairwise_bernoulli draws one random number per pair, N^2 in all (~1000 s at N = 200000 on
this machine, extrapolated from 40 s at N = 40000), fixed_indegree one per synapse.
"""
import argparse
import json
import os
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=4000)
    ap.add_argument("--time-ms", type=float, default=1000.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rule", choices=["pairwise_bernoulli", "fixed_indegree"],
                    default="pairwise_bernoulli")
    ap.add_argument("--json-out", default=None,
                    help="also write this process's JSON line to JSON_OUT.rank<R>.json "
                    "(mpirun may merge the processes' stdout lines)")
    args = ap.parse_args()

    os.environ.setdefault("PYNEST_QUIET", "1")  # no banner on stdout
    import nest

    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.1, "local_num_threads": 1, "rng_seed": args.seed})

    n = args.neurons
    n_exc = int(round(0.8 * n))
    p = 80.0 / n
    c_m, tau_m = 250.0, 20.0
    to_pa = c_m / tau_m  # mV jump of ge -> pA jump of I_syn
    w_exc, w_inh = 1.62 * to_pa, -9.0 * to_pa
    delay = 0.1

    t0 = time.perf_counter()
    pop = nest.Create("iaf_psc_exp", n, params={
        "C_m": c_m, "tau_m": tau_m, "tau_syn_ex": 5.0, "tau_syn_in": 10.0,
        "E_L": -49.0, "V_th": -50.0, "V_reset": -60.0, "t_ref": 5.0, "I_e": 0.0,
        "V_m": nest.random.uniform(-60.0, -50.0),
    })
    exc, inh = pop[:n_exc], pop[n_exc:]
    for src, w in ((exc, w_exc), (inh, w_inh)):
        if args.rule == "pairwise_bernoulli":
            rule = {"rule": "pairwise_bernoulli", "p": p, "allow_autapses": True}
        else:
            rule = {"rule": "fixed_indegree", "indegree": round(p * len(src)),
                    "allow_autapses": True, "allow_multapses": False}
        nest.Connect(src, pop, rule, {"synapse_model": "static_synapse", "weight": w, "delay": delay})
    rec = nest.Create("spike_recorder")
    nest.Connect(pop, rec)
    build_s = time.perf_counter() - t0
    # num_connections counts this process's connections; every local neuron has one to the
    # recorder (a device exists once per process)
    local = len(nest.GetLocalNodeCollection(pop))
    synapses = nest.GetKernelStatus("num_connections") - local

    # nest.Simulate(T) == Prepare(); Run(T); Cleanup(). Timed in parts to show the loop alone.
    t1 = time.perf_counter()
    nest.Prepare()
    t2 = time.perf_counter()
    nest.Run(args.time_ms)
    t3 = time.perf_counter()
    nest.Cleanup()
    t4 = time.perf_counter()

    spikes = int(rec.n_events)
    line = json.dumps({
        "simulator": "nest",
        "neurons": n,
        "synapses": int(synapses),
        "spikes": spikes,
        "rate_hz": spikes / local / (args.time_ms / 1000.0),
        "build_s": build_s,
        "sim_s": t4 - t1,
        "threads": 1,
        "prepare_s": t2 - t1,
        "run_s": t3 - t2,
        "cleanup_s": t4 - t3,
        "version": nest.__version__,
        "rule": args.rule,
        "rank": nest.Rank(),
        "processes": nest.NumProcesses(),
        "local_neurons": local,
    })
    print(line, flush=True)
    if args.json_out:
        with open(f"{args.json_out}.rank{nest.Rank()}.json", "w") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
