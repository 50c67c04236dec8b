#!/usr/bin/env python3
"""Eligo's sine-waves and evidence networks trained online in BrainTrace (JAX, CPU), timed.

Question it answers: how long does one training iteration (one batch of sequences forward with
the online gradient, then the weight update) take in BrainTrace for the network that
`eligo train --task sine-waves|evidence` trains, and how much memory does the process need?
Run by bench/peers/compare_braintrace.py inside the BrainTrace venv; prints one JSON line.

Network (as engine/src/task/sine_waves.rs and evidence.rs; dt = 1 ms, every projection
all-to-all, no biases on the recurrent layer):
    x(t)  input spikes (n_in), z(t-1) recurrent spikes of the previous step
    v(t)  = alpha v(t-1) + W_in x(t) + W_rec z(t-1) - v_th z(t-1)        alpha = exp(-1/tau_m)
    a(t)  = rho a(t-1) + z(t-1)                     (ALIF only)      rho = exp(-1/tau_a)
    z(t)  = H(v(t) - v_th - beta a(t)),  dz/dv = gamma/v_th max(0, 1 - |v - thr|/v_th)
    y(t)  = kappa y(t-1) + W_out z(t)                                kappa = exp(-1/tau_out)
W_in and W_rec are one ETP matmul on [x, z(t-1)] (the same weights, one matrix). Surrogate:
braintools' ReluGrad(0.3, 1) of (v - thr)/v_th, Eligo's gamma_pd = 0.3 (BrainTrace
differentiates through the threshold term too).
sine-waves: 100 in, 100 LIF (tau_m 30, v_th 0.03), 1 readout (tau 30), T = 1000, batch 1,
    loss 0.5 sum_t (y - y*)^2, frozen Poisson input p = 0.05 per step, SGD lr 9e-8.
evidence: 40 in, 50 LIF + 50 ALIF (tau_m 20, v_th 0.6, tau_a 2000, beta 0.0174), 2 readouts
    (tau 20), T = 2250, batch B, cross-entropy over the last 150 steps; input groups of 10 at
    0.04 (cues, recall) and 0.01 (noise) per step; SGD (Eligo uses Adam: its cost is a few
    array operations per weight per iteration, negligible here). No refractory period
    (Eligo's evidence network has 5 ms): one counter per neuron, no weight-sized work.

Algorithms:
    eprop  braintrace.EProp(feedback='symmetric', kappa_filter_decay=kappa): the per-weight
           (D-RTRL) eligibility trace, kappa-filtered, times dL/dh (Bellec et al. 2020).
    ottt   braintrace.pp_prop(decay_or_rank=(alpha, 0.0)): the input/output-factorized trace
           with the x side a presynaptic trace a_hat(t) = alpha a_hat(t-1) + x(t) and no
           memory on the output side, so dE/dW_ji = sum_t dL(t)/dv_j(t) a_hat_i(t): OTTT's
           form (Xiao et al. 2022). BrainTrace has no class named OTTT.

Timing: the iteration (reset states, etrace_grad over the sequence, SGD step) is one jitted
function; the first call (trace + XLA compile + one run) is reported as `compile_s`; then
`--warmup` more calls, then `--iterations` timed calls, each ended with block_until_ready;
`seconds_per_iteration` is their median. Peak RSS: the caller's os.wait4, and here
resource.getrusage(RUSAGE_SELF).ru_maxrss.

Usage: braintrace_train.py --task sine|evidence --rule eprop|ottt [--batch B]
       [--iterations N] [--warmup W] [--seed S]
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import brainstate  # noqa: E402
import braintools  # noqa: E402
import braintrace  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

TASKS = {
    # n_in, n_lif, n_alif, n_out, tau_m, v_th, tau_a, beta, tau_out, steps, batch, lr
    "sine": dict(n_in=100, n_lif=100, n_alif=0, n_out=1, tau_m=30.0, v_th=0.03, tau_a=1.0,
                 beta=0.0, tau_out=30.0, steps=1000, batch=1, lr=9e-8, w_scale=0.03),
    "evidence": dict(n_in=40, n_lif=50, n_alif=50, n_out=2, tau_m=20.0, v_th=0.6,
                     tau_a=2000.0, beta=0.0174, tau_out=20.0, steps=2250, batch=64, lr=5e-3,
                     w_scale=1.0),
}


class Rec(brainstate.nn.Module):
    """LIF/ALIF layer: hidden states v (and a); z(t-1) is read from v(t-1), a(t-1)."""

    def __init__(self, c, key):
        super().__init__()
        self.n_in, self.n = c["n_in"], c["n_lif"] + c["n_alif"]
        self.v_th, self.beta = c["v_th"], c["beta"]
        self.alpha = math.exp(-1.0 / c["tau_m"])
        self.rho = math.exp(-1.0 / c["tau_a"])
        self.adaptive = jnp.concatenate([jnp.zeros(c["n_lif"]), jnp.ones(c["n_alif"])])
        k1, k2 = jax.random.split(key)
        s = c["w_scale"]
        w_in = jax.random.normal(k1, (self.n_in, self.n)) * s / math.sqrt(self.n_in)
        w_rec = jax.random.normal(k2, (self.n, self.n)) * s / math.sqrt(self.n)
        w_rec = w_rec * (1.0 - jnp.eye(self.n))
        self.w = brainstate.ParamState({"weight": jnp.concatenate([w_in, w_rec], axis=0)})
        self.sg = braintools.surrogate.ReluGrad(alpha=0.3, width=1.0)

    def init_state(self, batch_size=None, **kwargs):
        shape = (batch_size, self.n) if batch_size else (self.n,)
        self.v = brainstate.HiddenState(jnp.zeros(shape))
        self.a = brainstate.HiddenState(jnp.zeros(shape))

    def reset_state(self, batch_size=None, **kwargs):
        shape = (batch_size, self.n) if batch_size else (self.n,)
        self.v.value = jnp.zeros(shape)
        self.a.value = jnp.zeros(shape)

    def spike(self, v, a):
        thr = self.v_th + self.beta * self.adaptive * a
        return self.sg((v - thr) / self.v_th)

    def update(self, x):
        z_prev = self.spike(self.v.value, self.a.value)
        i = braintrace.matmul(jnp.concatenate([x, z_prev], axis=-1), self.w.value["weight"])
        self.v.value = self.alpha * self.v.value + i - self.v_th * jax.lax.stop_gradient(z_prev)
        self.a.value = self.rho * self.a.value + jax.lax.stop_gradient(z_prev)
        return self.spike(self.v.value, self.a.value)


class Net(brainstate.nn.Module):
    def __init__(self, c, key):
        super().__init__()
        self.rec = Rec(c, key)
        self.out = braintrace.nn.LeakyRateReadout(
            c["n_lif"] + c["n_alif"], c["n_out"], tau=c["tau_out"],
            w_init=braintools.init.Normal(0.0, c["w_scale"] / math.sqrt(c["n_lif"] + c["n_alif"])))

    def update(self, x):
        return self.out(self.rec(x))


def make_data(task, c, batch, rng):
    t, n_in = c["steps"], c["n_in"]
    if task == "sine":
        x = (rng.random((t, 1, n_in)) < 0.05).astype(np.float32)
        x = np.repeat(x, batch, axis=1)
        s = np.arange(t)
        y = sum(a * np.sin(p + 2 * np.pi * (1000 // per) * s / (t - 1))
                for a, p, per in [(0.92654, 5.12541, 1000), (0.64483, 1.26870, 500),
                                  (1.84574, 0.32480, 333), (1.85580, 4.98464, 200)])
        y = (y - y[0]) / np.abs(y - y[0]).max()
        y = np.repeat(y[:, None, None], batch, axis=1).astype(np.float32)
        return jnp.asarray(x), jnp.asarray(y), jnp.ones(t)
    p = np.full((t, batch, n_in), 0.01)
    side = rng.integers(0, 2, size=(7, batch))
    for k in range(7):
        lo = 50 + 150 * k
        for b in range(batch):
            g = side[k, b]
            p[lo:lo + 100, b, 10 * g:10 * g + 10] = 0.04
    p[t - 150:, :, 20:30] = 0.04
    x = (rng.random(p.shape) < p).astype(np.float32)
    label = (side.sum(axis=0) > 3).astype(np.int32)
    y = np.repeat(label[None, :], t, axis=0)
    mask = np.zeros(t)
    mask[t - 150:] = 1.0
    return jnp.asarray(x), jnp.asarray(y), jnp.asarray(mask)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=TASKS, required=True)
    ap.add_argument("--rule", choices=["eprop", "ottt"], required=True)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.iterations < 1 or a.warmup < 0 or (a.batch is not None and a.batch < 1):
        print(f"error: --iterations {a.iterations} must be >= 1, --warmup {a.warmup} >= 0, "
              f"--batch {a.batch} >= 1", file=sys.stderr)
        sys.exit(2)
    c = TASKS[a.task]
    batch = a.batch or c["batch"]
    brainstate.environ.set(dt=1.0)
    rng = np.random.default_rng(a.seed)
    xs, ys, mask = make_data(a.task, c, batch, rng)
    net = Net(c, jax.random.PRNGKey(a.seed))
    if a.rule == "eprop":
        learner = braintrace.compile(net, braintrace.EProp, xs[0], batch_size=batch,
                                     feedback="symmetric",
                                     kappa_filter_decay=math.exp(-1.0 / c["tau_out"]))
    else:
        learner = braintrace.compile(net, braintrace.pp_prop, xs[0], batch_size=batch,
                                     decay_or_rank=(math.exp(-1.0 / c["tau_m"]), 0.0))
    params = net.states(brainstate.ParamState)
    lr = c["lr"]

    def step_loss(x, y):
        out = learner(x)
        if a.task == "sine":
            return 0.5 * jnp.sum((out - y) ** 2)
        logp = jax.nn.log_softmax(out, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=-1))

    @brainstate.transform.jit
    def iteration():
        brainstate.nn.reset_all_states(net, batch_size=batch)
        grads, losses = learner.etrace_grad(xs, ys, step_fn=step_loss, mask=mask,
                                            reduction="sum", return_value=True)
        for key, g in grads.items():
            params[key].value = jax.tree.map(lambda w, d: w - lr * d, params[key].value, g)
        return jnp.sum(losses * mask)

    t0 = time.perf_counter()
    loss0 = float(jax.block_until_ready(iteration()))
    compile_s = time.perf_counter() - t0
    for _ in range(a.warmup):
        jax.block_until_ready(iteration())
    times, losses = [], []
    for _ in range(a.iterations):
        t0 = time.perf_counter()
        loss = jax.block_until_ready(iteration())
        times.append(time.perf_counter() - t0)
        losses.append(float(loss))
    n_w = sum(int(np.prod(v.shape)) for v in jax.tree.leaves(
        {k: p.value for k, p in params.items()}))
    print(json.dumps(dict(
        simulator="BrainTrace", version=braintrace.__version__, jax=jax.__version__,
        task=a.task, rule=a.rule, batch=batch, steps=c["steps"], weights=n_w,
        compile_s=compile_s, seconds_per_iteration=statistics.median(times),
        seconds_min=min(times), runs=times, loss_first=loss0, loss_last=losses[-1],
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)))


if __name__ == "__main__":
    main()
