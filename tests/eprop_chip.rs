//! On-chip e-prop (`plugins/eprop-chip`) through the real plugin: with every simplification
//! off it is the `eprop` plugin's online form plus SGD, bit for bit; each simplification checked
//! against a plain reference written here (raw traces and the spike-coded learning signal from
//! the engine's recorded spikes, pseudo-derivatives and errors; the weight grid; the sign
//! constraint); and `eligo train --rule eprop_chip` on one and two threads.

use eligo_engine::network::NetworkSpec;
use eligo_engine::optim::{Loss, Teacher};
use eligo_engine::plugin::{Plugin, RuleInstance, config};
use eligo_engine::prelude::*;
use eligo_engine::sim::StateProbe;

use crate::common::{SMALL_TRAIN, arg, eligo, lsnn, ok, refused, so};
use crate::eprop::rel_err;

const STEPS: u64 = 200;

fn loss() -> Loss {
    Loss::CrossEntropy {
        class: 1,
        from: 100,
        to: STEPS,
    }
}

/// A simulation of `spec` with rule library `lib` (config `toml`), the teacher set, recording
/// input and recurrent spikes and the recurrent neurons' `psi`.
fn sim_with(spec: &NetworkSpec, lib: &str, toml: &str) -> Simulation {
    let record = RecordSpec {
        spikes: vec![0, 1],
        state: vec![StateProbe {
            population: 1,
            var: "psi".into(),
            neurons: (0..40).collect(),
        }],
    };
    let opts = SimOptions { threads: 1, record };
    let mut sim = Simulation::new(spec.build().unwrap(), &opts).unwrap();
    let plugin = Plugin::load(&so(lib)).unwrap();
    let cfg = config::parse(toml, &plugin).unwrap();
    let rule = RuleInstance::new(plugin, sim.network(), &cfg.values, cfg.host, STEPS).unwrap();
    sim.set_rule(rule).unwrap();
    sim.set_teacher(Some(Teacher::new(2, 2, loss(), 1)))
        .unwrap();
    sim
}

/// One sequence as one batch; the gradients of it (the `eprop` plugin's buffers; a direct
/// rule has none, so they are empty for `eprop_chip`).
fn run(sim: &mut Simulation) -> Vec<Vec<f32>> {
    sim.reset();
    sim.zero_grads();
    sim.run_sequence(STEPS, None).unwrap();
    sim.end_batch_of_one(STEPS).unwrap();
    sim.grads().to_vec()
}

/// The on-chip rule's gradient of one sequence run with `eta = 1`, read off its SGD update
/// `w1 = w0 - g` (one rounding of `w1`: far below the tolerances used here).
fn chip_gradient(sim: &mut Simulation) -> Vec<Vec<f32>> {
    let w0 = weights(sim);
    run(sim);
    let w1 = weights(sim);
    w0.iter()
        .zip(&w1)
        .map(|(a, b)| a.iter().zip(b).map(|(a, b)| a - b).collect())
        .collect()
}

fn weights(sim: &Simulation) -> Vec<Vec<f32>> {
    sim.network()
        .projections
        .iter()
        .map(|p| p.weights.clone())
        .collect()
}

#[test]
fn every_simplification_off_is_eprop_online_plus_sgd_bit_for_bit() {
    let eta = 0.05f32;
    for (seed, alif, feedback) in [
        (1u64, false, "symmetric"),
        (2, true, "symmetric"),
        (3, false, "random"),
        (4, true, "random"),
    ] {
        let spec = lsnn(seed, alif, true);
        let mut ep = sim_with(
            &spec,
            "eligo_eprop",
            &format!("mode = \"online\"\nfeedback = \"{feedback}\""),
        );
        let mut chip = sim_with(
            &spec,
            "eligo_eprop_chip",
            &format!("eta = {eta}\nfeedback = \"{feedback}\""),
        );
        for it in 0..3 {
            let g = run(&mut ep);
            // the host's SGD, w <- w - lr g, on the e-prop side
            for (j, g) in g.iter().enumerate() {
                let mut w = ep.network().projections[j].weights.clone();
                for (w, g) in w.iter_mut().zip(g) {
                    *w -= eta * g;
                }
                ep.set_weights(j, &w);
            }
            run(&mut chip);
            let what = format!("seed {seed} alif {alif} {feedback} iteration {it}");
            assert!(
                g.iter().flatten().any(|&x| x != 0.0),
                "{what}: zero gradient"
            );
            // same w - eta g on every synapse: the same gradient, bit for bit
            assert_eq!(weights(&chip), weights(&ep), "{what}: weights");
        }
        assert_ne!(
            weights(&ep)[0],
            spec.build().unwrap().projections[0].weights
        );
    }
}

/// The plain reference of one sequence: per synapse, with `eps_v` the raw spike `z_i(t-1)`
/// (`raw`) or its `alpha` low-pass, the learning signal from `err` or from its sigma-delta
/// spikes (scale `c`), `B = Wout^T` of the initial weights.
fn reference(
    net: &eligo_engine::network::Network,
    sim: &Simulation,
    raw: bool,
    c: Option<f64>,
) -> Vec<Vec<f64>> {
    let (n_in, n, n_out, t_len) = (20, 40, 2, STEPS as usize);
    let (alpha, rho, beta) = match &net.populations[1].model {
        ModelSpec::Lif(p) => ((-1.0 / p.tau_m_ms).exp(), 0.0, vec![0.0; n]),
        ModelSpec::Alif(p) => (
            (-1.0 / p.tau_m_ms).exp(),
            (-1.0 / p.tau_a_ms).exp(),
            (0..n)
                .map(|j| if j < p.n_lif { 0.0 } else { p.beta })
                .collect(),
        ),
        _ => unreachable!(),
    };
    let kappa = match &net.populations[2].model {
        ModelSpec::Readout(p) => (-1.0f64 / p.tau_out_ms).exp(),
        _ => unreachable!(),
    };
    let spikes = |pop: usize, size: usize| {
        let mut z = vec![vec![0.0f64; size]; t_len];
        for (t, i) in sim.population_spikes(pop) {
            z[t as usize][i as usize] = 1.0;
        }
        z
    };
    let (x, z) = (spikes(0, n_in), spikes(1, n));
    let psi = sim.probe_samples(0);
    let mut err: Vec<f64> = sim.errors().iter().map(|&e| f64::from(e)).collect();
    if let Some(c) = c {
        // sigma-delta: one spike of +-c when the accumulated error reaches +-c/2
        for k in 0..n_out {
            let mut acc = 0.0;
            for t in 0..t_len {
                acc += err[t * n_out + k];
                let s = if acc >= c / 2.0 {
                    c
                } else if acc <= -c / 2.0 {
                    -c
                } else {
                    0.0
                };
                acc -= s;
                err[t * n_out + k] = s;
            }
        }
    }
    // dense initial weights [post][pre] of the projections, as in the network file
    let p_out = &spec_dense(net, 2);
    let mut out: Vec<Vec<f64>> = net.projections.iter().map(|p| vec![0.0; p.len()]).collect();
    for (j, pre) in [(0usize, &x), (1, &z)] {
        let p = &net.projections[j];
        let n_pre = pre[0].len();
        let (mut ev, mut ea, mut eb) = (
            vec![0.0; n_pre],
            vec![vec![0.0; n_pre]; n],
            vec![vec![0.0; n_pre]; n],
        );
        let mut g = vec![vec![0.0; n_pre]; n];
        for t in 0..t_len {
            for i in 0..n_pre {
                let zp = if t > 0 { pre[t - 1][i] } else { 0.0 };
                ev[i] = if raw { zp } else { alpha * ev[i] + zp };
            }
            for jj in 0..n {
                let ps = f64::from(psi[t * n + jj]);
                let l: f64 = (0..n_out).map(|k| p_out[k][jj] * err[t * n_out + k]).sum();
                for i in 0..n_pre {
                    let e = ps * (ev[i] - beta[jj] * ea[jj][i]);
                    g[jj][i] += l * eb[jj][i];
                    eb[jj][i] = kappa * eb[jj][i] + e;
                    ea[jj][i] = ps * ev[i] + (rho - ps * beta[jj]) * ea[jj][i];
                }
            }
        }
        for i in 0..n_pre {
            for s in p.row(i) {
                out[j][s] = g[p.targets[s] as usize][i];
            }
        }
    }
    let mut zk = vec![0.0; n];
    for t in 0..t_len {
        for i in 0..n {
            zk[i] = kappa * zk[i] + if t > 0 { z[t - 1][i] } else { 0.0 };
        }
        let p = &net.projections[2];
        for i in 0..n {
            for s in p.row(i) {
                out[2][s] += err[t * n_out + p.targets[s] as usize] * zk[i];
            }
        }
    }
    out
}

fn spec_dense(net: &eligo_engine::network::Network, j: usize) -> Vec<Vec<f64>> {
    let p = &net.projections[j];
    let n_post = net.populations[p.post].size as usize;
    let mut w = vec![vec![0.0; net.populations[p.pre].size as usize]; n_post];
    for i in 0..p.n_pre() {
        for s in p.row(i) {
            w[p.targets[s] as usize][i] += f64::from(p.weights[s]);
        }
    }
    w
}

#[test]
fn raw_traces_and_spike_coded_signal_equal_a_plain_reference() {
    for (seed, alif) in [(5u64, false), (6, true)] {
        let spec = lsnn(seed, alif, true);
        for (toml, raw, c) in [
            ("trace = \"raw\"", true, None),
            (
                "signal = \"spikes\"\nsignal_scale = 0.02",
                false,
                Some(0.02),
            ),
            (
                "trace = \"raw\"\nsignal = \"spikes\"\nsignal_scale = 0.01",
                true,
                Some(0.01),
            ),
        ] {
            let mut sim = sim_with(&spec, "eligo_eprop_chip", &format!("eta = 1\n{toml}"));
            let net = sim.network().clone();
            let g = chip_gradient(&mut sim);
            let want = reference(&net, &sim, raw, c);
            for j in 0..3 {
                let w: Vec<f32> = want[j].iter().map(|&x| x as f32).collect();
                let e = rel_err(&g[j], &w);
                assert!(
                    e <= 1e-5,
                    "seed {seed} alif {alif} {toml}: projection {j}: {e}"
                );
            }
            // the reference itself tells the variants apart (else the test could not fail)
            let filtered = reference(&net, &sim, false, None);
            let apart = (0..3)
                .map(|j| {
                    let w: Vec<f32> = filtered[j].iter().map(|&x| x as f32).collect();
                    rel_err(&g[j], &w)
                })
                .fold(0.0, f64::max);
            assert!(apart > 1e-3, "{toml}: {apart} from filtered/analog");
        }
    }
}

#[test]
fn spike_rate_tracks_the_analog_signal_within_half_a_spike() {
    // the plugin's coder on a run's recorded errors: |sum err - sum s| <= c/2 at every step
    let spec = lsnn(7, false, true);
    let mut sim = sim_with(&spec, "eligo_eprop_chip", "eta = 0");
    run(&mut sim);
    let c = 0.01f32;
    for k in 0..2 {
        let mut coder = eligo_eprop_chip::fixed::SigmaDelta::default();
        let (mut sa, mut ss, mut spikes) = (0.0f64, 0.0f64, 0);
        for t in 0..STEPS as usize {
            let e = sim.errors()[t * 2 + k];
            assert!(e.abs() <= c, "error {e} above the coding's range");
            let s = coder.code(e, c);
            assert!(s == 0.0 || s.abs() == c);
            spikes += usize::from(s != 0.0);
            sa += f64::from(e);
            ss += f64::from(s);
            assert!(
                (sa - ss).abs() <= f64::from(c) / 2.0 + 1e-6,
                "output {k} step {t}"
            );
        }
        assert!(spikes > 5, "output {k}: {spikes} spikes");
    }
}

#[test]
fn quantized_weights_sit_on_the_stated_grid_and_nearest_rounding_is_exact() {
    let spec = lsnn(8, true, true);
    // the float update w0 - eta g of the same sequence
    let mut float = sim_with(&spec, "eligo_eprop_chip", "eta = 0.05");
    let w0 = weights(&float);
    run(&mut float);
    let wf = weights(&float);
    for bits in [8i32, 12, 16] {
        let mut sim = sim_with(
            &spec,
            "eligo_eprop_chip",
            &format!("eta = 0.05\nweight_bits = {bits}"),
        );
        run(&mut sim);
        let w1 = weights(&sim);
        // per projection: range R = the power of two above 2 max|w0|, step d = R 2^-(bits-1)
        let step = |j: usize| {
            let max = w0[j].iter().fold(0.0f64, |m, &x| m.max(f64::from(x.abs())));
            let r = 2f64.powi((2.0 * max).log2().floor() as i32 + 1);
            (r, r * 2f64.powi(1 - bits))
        };
        for j in 0..3 {
            let (r, d) = step(j);
            let mut moved = 0;
            for s in 0..w1[j].len() {
                let k = (f64::from(wf[j][s]) / d).round().clamp(-r / d, r / d - 1.0);
                assert_eq!(f64::from(w1[j][s]), k * d, "{bits} bits, projection {j}");
                moved += usize::from(w1[j][s] != w0[j][s]);
            }
            assert!(moved > 0);
        }
        // a second sequence keeps them on the grid
        run(&mut sim);
        let w2 = weights(&sim);
        // (at 8 bits this task's updates are below half a step: nearest rounding drops them)
        assert!(
            bits == 8 || w2 != w1,
            "{bits} bits: the second update moved nothing"
        );
        for j in 0..3 {
            let (r, d) = step(j);
            for &w in &w2[j] {
                let k = f64::from(w) / d;
                assert!(
                    k.fract() == 0.0 && k >= -r / d && k < r / d,
                    "{w} off the grid"
                );
            }
        }
    }
}

#[test]
fn sign_constrained_weights_keep_their_initial_sign() {
    let spec = lsnn(9, false, true);
    let w0 = weights(&sim_with(&spec, "eligo_eprop_chip", "eta = 0"));
    let flipped = |w: &[Vec<f32>]| {
        w.iter()
            .zip(&w0)
            .flat_map(|(a, b)| a.iter().zip(b))
            .filter(|(a, b)| (**a >= 0.0) != (**b >= 0.0) && **a != 0.0)
            .count()
    };
    let mut free = sim_with(&spec, "eligo_eprop_chip", "eta = 20");
    let mut kept = sim_with(
        &spec,
        "eligo_eprop_chip",
        "eta = 20\nsign_constrained = \"true\"",
    );
    for _ in 0..3 {
        run(&mut free);
        run(&mut kept);
    }
    assert!(flipped(&weights(&free)) > 10, "the test must flip signs");
    assert_eq!(flipped(&weights(&kept)), 0);
    let zeros = weights(&kept)
        .iter()
        .flatten()
        .filter(|&&w| w == 0.0)
        .count();
    assert!(zeros > 0, "clipped weights sit at 0");
}

#[test]
fn train_with_eprop_chip_is_the_same_on_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("chip.toml");
    std::fs::write(
        &cfg,
        "eta = 0.01\ntrace = \"raw\"\nsignal = \"spikes\"\nweight_bits = 8\ntrace_bits = 8\nrounding = \"stochastic\"\nsign_constrained = \"true\"\n",
    )
    .unwrap();
    let mut out = Vec::new();
    for threads in ["1", "2"] {
        let o = dir.path().join(format!("t{threads}"));
        let mut args: Vec<&str> = SMALL_TRAIN.to_vec();
        let t = args.iter().position(|a| *a == "--threads").unwrap();
        args[t + 1] = threads;
        args.extend([
            "--iterations",
            "2",
            "--rule",
            "eprop_chip",
            "--rule-config",
            arg(&cfg),
        ]);
        args.extend(["--out", arg(&o)]);
        ok(&eligo(&args));
        out.push(std::fs::read(o.join("weights.npz")).unwrap());
    }
    assert_eq!(out[0], out[1]);
    // a bit width that is not a whole number is refused, naming the parameter
    let mut args: Vec<&str> = SMALL_TRAIN.to_vec();
    args.extend([
        "--iterations",
        "1",
        "--rule",
        "eprop_chip",
        "--param",
        "weight_bits=1.5",
    ]);
    let o = dir.path().join("bad");
    args.extend(["--out", arg(&o)]);
    refused(&eligo(&args), &["weight_bits", "2 to 24"]);
}
