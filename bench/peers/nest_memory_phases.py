#!/usr/bin/env python3
"""Resident memory of NEST 3.10 after each phase of bench/peers/cuba_nest.py's CUBA network.

Question it answers: where does NEST's peak RSS in bench/peers/compare_cuba_mpi.py come from?
It builds the same network (iaf_psc_exp, V_m ~ U[-60, -50] mV, fixed_indegree 64 + 16 inputs
per neuron at N = 200000, i.e. p = 80/N of each population, delay 0.1 ms, dt 0.1 ms, one
thread), then connects all neurons to one spike_recorder, and prints after each phase the
process's current RSS (VmRSS) and peak RSS (ru_maxrss), both in MiB.

    target/nest-mpi/venv/bin/python bench/peers/nest_memory_phases.py --neurons 200000 --time-ms 20
"""
import argparse
import os
import resource


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=200000)
    ap.add_argument("--time-ms", type=float, default=20.0)
    args = ap.parse_args()
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR

    def show(phase):
        with open("/proc/self/status") as f:
            now = int(f.read().split("VmRSS:")[1].split()[0])
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"{phase:10s} RSS {now / 1024:8.0f} MiB   peak {peak / 1024:8.0f} MiB", flush=True)

    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.1, "local_num_threads": 1, "rng_seed": 1})
    show("import")
    n = args.neurons
    pop = nest.Create("iaf_psc_exp", n, params={"V_m": nest.random.uniform(-60.0, -50.0)})
    show("Create")
    n_exc = int(round(0.8 * n))
    for src, w in ((pop[:n_exc], 20.25), (pop[n_exc:], -112.5)):
        rule = {"rule": "fixed_indegree", "indegree": round(80.0 / n * len(src)),
                "allow_autapses": True, "allow_multapses": False}
        nest.Connect(src, pop, rule, {"synapse_model": "static_synapse", "weight": w, "delay": 0.1})
    show("Connect")
    rec = nest.Create("spike_recorder")
    nest.Connect(pop, rec)
    show("recorder")
    nest.Prepare()
    show("Prepare")
    nest.Run(args.time_ms)
    show("Run")
    nest.Cleanup()


if __name__ == "__main__":
    main()
