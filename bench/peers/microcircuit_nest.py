#!/usr/bin/env python3
"""The cortical microcircuit (Potjans & Diesmann 2014) in NEST 3.10, as Eligo builds it.

Question it answers: what does NEST give for the model `eligo bench microcircuit` simulates
(engine/src/network/microcircuit.rs: the same parameters, scale rule, connection counts and
distributions), how fast, and which spikes? It is the NEST side of
bench/peers/compare_microcircuit.py.

Usage (with the venv made by bench/peers/setup_venv.sh):
    bench/.venv/bin/python bench/peers/microcircuit_nest.py --scale 0.1 --time-ms 1000 \\
        --warmup-ms 500 --seed 1 --background poisson --spikes-out nest_spikes.npy

Prints exactly one JSON line on stdout:
    {"simulator": "nest", "scale", "background", "neurons", "synapses", "spikes",
     "rates_hz": {population: Hz}, "build_s", "warmup_s", "sim_s", "real_time_factor",
     "peak_rss_bytes", "threads", "seed", "time_ms", "warmup_ms", "version", "spikes_out"}
  build_s   Create + Connect (neurons, initial potentials, recurrent synapses, background)
  warmup_s  nest.Simulate(warmup): includes NEST's first Prepare (its connection
            infrastructure), as Eligo's warm-up follows its build
  sim_s     nest.Simulate(time) after the warm-up: the timed part, RTF = sim_s / time
  rates_hz  spikes of the timed part / neurons / time, per population
  --spikes-out writes the timed part's spikes as Eligo's event .npy (structured fields
  `t` <u8 in µs from the start of the warm-up, `addr` <u4 the neuron's index over all
  populations in the order L23e, L23i, L4e, L4i, L5e, L5i, L6e, L6i), ordered by time then id.
  NEST stamps a spike emitted in step k at (k + 1) dt, Eligo at k dt: one step apart, which
  changes no statistic compared here.

Model (Potjans & Diesmann 2014, Tables 4-5; the reference implementation's parameters):
  neurons   iaf_psc_exp: C_m 250 pF, tau_m 10 ms, tau_syn_ex = tau_syn_in 0.5 ms,
            E_L -65 mV, V_th -50 mV, V_reset -65 mV, t_ref 2 ms; dt 0.1 ms
  sizes     N = round(N_full scale) (half to even), N_full = 20683, 5834, 21915, 5479, 4850,
            1065, 14395, 2948
  V_m(0)    normal per population ("optimized" initial potentials): V0_MEAN, V0_STD below
  synapses  fixed_total_number from population j to i, autapses and multapses allowed,
            n_ij = round(scale ln(1 - p_ij) / ln((N_i N_j - 1) / (N_i N_j))), N the full sizes:
            in-degrees are the full model's at any scale
  weights   PSP 0.15 mV -> PSC w = 0.15 mV / (peak PSP of a 1 pA exponential current),
            87.8 pA; inhibitory sources g w, g = -4; L4e -> L2/3e 2 w; each normal with sd
            10 % of |mean|, redrawn (nest.math.redraw) until of the source's sign
  delays    normal 1.5 +- 0.75 ms (excitatory sources), 0.75 +- 0.375 ms (inhibitory),
            redrawn below dt; NEST rounds them to steps
  background  poisson: one poisson_generator per population of rate 8 Hz K_ext, connected
            all_to_all (each target gets its own independent train), weight w, delay 1.5 ms;
            dc: I_e = 8 Hz K_ext w tau_syn (pA), the trains' mean. K_ext = 1600, 1500, 2100,
            1900, 2000, 1900, 2900, 2100
"""
import argparse
import json
import math
import os
import resource
import time

NAMES = ["L23e", "L23i", "L4e", "L4i", "L5e", "L5i", "L6e", "L6i"]
SIZES = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
# connection probabilities, P[target][source] (Potjans & Diesmann 2014, Table 5)
P = [
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
]
K_EXT = [1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100]
V0_MEAN = [-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43]
V0_STD = [5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48]
C_M, TAU_M, TAU_SYN = 250.0, 10.0, 0.5
PSP_E, G, BG_RATE, W_REL_SD = 0.15, -4.0, 8.0, 0.1
D_EXC, D_INH, D_REL_SD = 1.5, 0.75, 0.5
DT = 0.1


def pa_per_mv():
    """Current (pA) whose exponential PSC makes a PSP peaking at 1 mV.

    v(t) = J tau_s tau_m / (C (tau_m - tau_s)) (e^{-t/tau_m} - e^{-t/tau_s}) peaks at
    t* = ln(tau_m / tau_s) tau_m tau_s / (tau_m - tau_s).
    """
    t_peak = math.log(TAU_M / TAU_SYN) * TAU_M * TAU_SYN / (TAU_M - TAU_SYN)
    v = TAU_SYN * TAU_M / (C_M * (TAU_M - TAU_SYN)) * (
        math.exp(-t_peak / TAU_M) - math.exp(-t_peak / TAU_SYN))
    return 1.0 / v


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--time-ms", type=float, default=1000.0)
    ap.add_argument("--warmup-ms", type=float, default=500.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--background", choices=["poisson", "dc"], default="poisson")
    ap.add_argument("--spikes-out", default=None, help="Eligo event .npy of the timed spikes")
    args = ap.parse_args()
    if not 0.0 < args.scale <= 1.0:
        ap.error(f"--scale {args.scale}: must be in (0, 1] (try --scale 0.1)")

    os.environ.setdefault("PYNEST_QUIET", "1")  # no banner on stdout
    import numpy as np
    import nest

    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT, "local_num_threads": args.threads,
                          "rng_seed": args.seed, "print_time": False})

    sizes = [max(1, int(np.round(n * args.scale))) for n in SIZES]
    w = PSP_E * pa_per_mv()
    t0 = time.perf_counter()
    pops = []
    for i, n in enumerate(sizes):
        i_e = BG_RATE * K_EXT[i] * w * TAU_SYN * 1e-3 if args.background == "dc" else 0.0
        pop = nest.Create("iaf_psc_exp", n, params={
            "C_m": C_M, "tau_m": TAU_M, "tau_syn_ex": TAU_SYN, "tau_syn_in": TAU_SYN,
            "E_L": -65.0, "V_th": -50.0, "V_reset": -65.0, "t_ref": 2.0, "I_e": i_e,
        })
        pop.V_m = nest.random.normal(mean=V0_MEAN[i], std=V0_STD[i])
        pops.append(pop)
    synapses = 0
    for i in range(8):
        for j in range(8):
            prod = SIZES[i] * SIZES[j]
            full = math.log(1.0 - P[i][j]) / math.log((prod - 1.0) / prod)
            n = int(np.round(full * args.scale))
            if n == 0:
                continue
            exc = j % 2 == 0
            mean = (w if exc else G * w) * (2.0 if (i, j) == (0, 2) else 1.0)
            lo, hi = (0.0, math.inf) if exc else (-math.inf, 0.0)
            d = D_EXC if exc else D_INH
            nest.Connect(pops[j], pops[i],
                         {"rule": "fixed_total_number", "N": n,
                          "allow_autapses": True, "allow_multapses": True},
                         {"synapse_model": "static_synapse",
                          "weight": nest.math.redraw(
                              nest.random.normal(mean=mean, std=abs(mean) * W_REL_SD),
                              min=lo, max=hi),
                          "delay": nest.math.redraw(
                              nest.random.normal(mean=d, std=d * D_REL_SD),
                              min=DT, max=math.inf)})
            synapses += n
    if args.background == "poisson":
        for i, pop in enumerate(pops):
            pg = nest.Create("poisson_generator", params={"rate": BG_RATE * K_EXT[i]})
            nest.Connect(pg, pop, "all_to_all",
                         {"synapse_model": "static_synapse", "weight": w, "delay": 1.5})
    rec = nest.Create("spike_recorder", params={"start": args.warmup_ms,
                                                "record_to": "memory"})
    for pop in pops:
        nest.Connect(pop, rec)
    build_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    if args.warmup_ms > 0:
        nest.Simulate(args.warmup_ms)
    t2 = time.perf_counter()
    nest.Simulate(args.time_ms)
    t3 = time.perf_counter()

    ev = rec.get("events")
    first = [p[0].global_id for p in pops]
    senders = np.asarray(ev["senders"], dtype=np.int64)
    times = np.asarray(ev["times"], dtype=np.float64)
    # global ids of the populations are consecutive, in creation order, from first[0]
    addr = (senders - first[0]).astype(np.uint32)
    counts = np.bincount(addr, minlength=sum(sizes))
    rates, start = {}, 0
    for name, n in zip(NAMES, sizes):
        rates[name] = float(counts[start:start + n].sum()) / n / (args.time_ms * 1e-3)
        start += n
    assert all(first[k + 1] - first[k] == sizes[k] for k in range(7)), "consecutive ids"
    if args.spikes_out:
        t_us = np.rint(times * 1000.0).astype(np.uint64)
        order = np.lexsort((addr, t_us))
        out = np.zeros(len(addr), dtype=[("t", "<u8"), ("addr", "<u4")])
        out["t"], out["addr"] = t_us[order], addr[order]
        np.save(args.spikes_out, out)

    print(json.dumps({
        "simulator": "nest",
        "model": "microcircuit",
        "background": args.background,
        "scale": args.scale,
        "neurons": sum(sizes),
        "synapses": synapses,
        "connections": int(nest.GetKernelStatus("num_connections")),
        "spikes": int(len(addr)),
        "rates_hz": rates,
        "build_s": build_s,
        "warmup_s": t2 - t1,
        "sim_s": t3 - t2,
        "real_time_factor": (t3 - t2) / (args.time_ms * 1e-3),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "threads": args.threads,
        "seed": args.seed,
        "time_ms": args.time_ms,
        "warmup_ms": args.warmup_ms,
        "version": nest.__version__,
        "spikes_out": args.spikes_out,
    }), flush=True)


if __name__ == "__main__":
    main()
