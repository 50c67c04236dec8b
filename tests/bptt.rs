//! BPTT through the real plugin and its generic backward pass:
//! - symmetric e-prop (event and online) equals BPTT with stopped `z` gradients, with
//!   recurrence, refractoriness and the rate regularizer, LIF and LIF/ALIF, regression and
//!   classification;
//! - plain BPTT differs from it, even without recurrent weights (the reset);
//! - BPTT equals centered finite differences on a soft (sigmoid) network written plainly here
//!   in float64, full and truncated (against finite differences window by window);
//! - the plugin's regularizer over a batch equals the generic pass in float64 on the engine's
//!   recorded trajectories; truncation at the sequence length is full BPTT.

// the references below are written with indices, like the equations they transcribe
#![allow(clippy::needless_range_loop)]

use std::ops::Range;

use eligo_bptt::backward::{self, Activity, Network, Options, Path};
use eligo_engine::network::NetworkSpec;
use eligo_engine::neuron::ModelSpec;
use eligo_engine::optim::{Loss, Teacher};
use eligo_engine::plugin::{Plugin, RuleInstance, config};
use eligo_engine::prelude::*;
use eligo_plugin::rows::RowPieces;

use crate::common::{lsnn, so};

/// SplitMix64 in [0, 1).
fn uniform(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

fn normal(state: &mut u64) -> f64 {
    let u1 = 1.0 - uniform(state);
    let u2 = uniform(state);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// max |a - b| / max |b|.
fn rel_err<A: Copy + Into<f64>, B: Copy + Into<f64>>(a: &[A], b: &[B]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, &x| m.max(x.into().abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (&x, &y)| m.max((x.into() - y.into()).abs()));
    assert!(scale > 0.0, "gradient is zero: not a test");
    diff / scale
}

// ---------------------------------------------------------------------------------------------
// Networks in the engine

/// Input spikes of `n_seq` sequences: 20 neurons at 60 Hz.
fn inputs(seed: u64, n_seq: usize, steps: u64) -> Vec<Vec<(u64, u32)>> {
    let mut st = seed ^ 0x5EED;
    (0..n_seq)
        .map(|_| {
            let mut ev = Vec::new();
            for t in 0..steps {
                for i in 0..20 {
                    if uniform(&mut st) < 0.06 {
                        ev.push((t, i));
                    }
                }
            }
            ev
        })
        .collect()
}

fn mse_targets(steps: u64, phase: f32) -> Loss {
    let targets = (0..steps as usize * 2)
        .map(|x| ((x / 2) as f32 * 0.05 + phase).sin() * if x % 2 == 0 { 1.0 } else { 0.5 })
        .collect();
    Loss::Mse { targets }
}

/// Everything one batch gives.
struct Run {
    weights: Vec<Vec<f32>>,
    biases: Vec<f32>,
    /// Spikes of the recurrent population over the batch.
    spikes: u64,
    /// Per sequence, what the engine recorded.
    recorded: Vec<Recorded>,
}

/// One sequence as the engine ran it.
struct Recorded {
    /// Readout errors, `steps × 2`.
    errors: Vec<f32>,
    /// Pseudo-derivatives of the recurrent neurons, `steps × 40`.
    psi: Vec<f32>,
    /// Input spikes `(step, neuron)`.
    input: Vec<(u64, u32)>,
    /// Recurrent spikes `(step, neuron)`.
    rec: Vec<(u64, u32)>,
}

/// One batch of `input.len()` sequences (loss `losses[b]`) with rule `lib` configured by
/// `rule_toml`: gradients after `end_batch`.
fn run_batch(
    spec: &NetworkSpec,
    lib: &str,
    rule_toml: &str,
    losses: &[Loss],
    input: &[Vec<(u64, u32)>],
    steps: u64,
) -> Run {
    let opts = SimOptions {
        threads: 1,
        record: RecordSpec {
            spikes: vec![0, 1],
            state: vec![StateProbe {
                population: 1,
                var: "psi".into(),
                neurons: (0..40).collect(),
            }],
        },
    };
    let mut sim = Simulation::new(spec.build().unwrap(), &opts).unwrap();
    let plugin = Plugin::load(&so(lib)).unwrap();
    let cfg = config::parse(rule_toml, &plugin).unwrap();
    let rule = RuleInstance::new(plugin, sim.network(), &cfg.values, cfg.host, steps).unwrap();
    sim.set_rule(rule).unwrap();
    let n_seq = input.len();
    let mut counts: Vec<Vec<u64>> = Vec::new();
    let mut recorded = Vec::new();
    let mut spikes = 0;
    for (b, ev) in input.iter().enumerate() {
        sim.reset();
        sim.clamp(0, ev).unwrap();
        sim.set_teacher(Some(Teacher::new(2, 2, losses[b].clone(), n_seq)))
            .unwrap();
        sim.run_sequence(steps, Some(&mut counts)).unwrap();
        spikes += sim.counters().spikes[1];
        recorded.push(Recorded {
            errors: sim.errors().to_vec(),
            psi: sim.probe_samples(0),
            input: sim.population_spikes(0),
            rec: sim.population_spikes(1),
        });
    }
    sim.end_batch(n_seq as u64, steps, &counts).unwrap();
    Run {
        weights: sim.grads().to_vec(),
        biases: sim.bias_grads()[2].clone(),
        spikes,
        recorded,
    }
}

fn rate_hz(run: &Run, n_seq: usize, steps: u64) -> f64 {
    run.spikes as f64 / 40.0 / (n_seq as f64 * steps as f64 * 1e-3)
}

// ---------------------------------------------------------------------------------------------
// 1. symmetric e-prop == BPTT with stopped z gradients

#[test]
fn symmetric_eprop_equals_bptt_with_stopped_gradients() {
    let steps = 300;
    let mut worst = 0.0f64;
    for seed in [1u64, 2, 3] {
        for alif in [false, true] {
            for c_reg in [0.0, 2.0] {
                for ce in [false, true] {
                    let losses: Vec<Loss> = (0..2)
                        .map(|b| {
                            if ce {
                                Loss::CrossEntropy {
                                    class: b,
                                    from: 200,
                                    to: 300,
                                }
                            } else {
                                mse_targets(steps, b as f32)
                            }
                        })
                        .collect();
                    let spec = lsnn(seed, alif, true);
                    let input = inputs(seed, 2, steps);
                    let reg = format!("c_reg = {c_reg}\nf_target_hz = 10.0\n");
                    let bptt = run_batch(
                        &spec,
                        "eligo_bptt",
                        &format!("stop_z_gradients = \"yes\"\n{reg}"),
                        &losses,
                        &input,
                        steps,
                    );
                    let what = format!("seed {seed} alif {alif} c_reg {c_reg} ce {ce}");
                    let rate = rate_hz(&bptt, 2, steps);
                    assert!(rate > 5.0 && rate < 150.0, "{what}: rate {rate} Hz");
                    for mode in ["event", "online"] {
                        let ep = run_batch(
                            &spec,
                            "eligo_eprop",
                            &format!("feedback = \"symmetric\"\nmode = \"{mode}\"\n{reg}"),
                            &losses,
                            &input,
                            steps,
                        );
                        for (j, (a, b)) in ep.weights.iter().zip(&bptt.weights).enumerate() {
                            let e = rel_err(a, b);
                            worst = worst.max(e);
                            assert!(e <= 1e-5, "{what} {mode}: projection {j}: max rel err {e}");
                        }
                        let e = rel_err(&ep.biases, &bptt.biases);
                        worst = worst.max(e);
                        assert!(e <= 1e-5, "{what} {mode}: biases {e}");
                    }
                }
            }
        }
    }
    eprintln!("symmetric e-prop vs BPTT(stop_z): worst max rel err {worst:.3e}");
}

// ---------------------------------------------------------------------------------------------
// 2. plain BPTT differs from it, even without recurrent weights

#[test]
fn plain_bptt_differs_from_stopped_gradients_even_without_recurrence() {
    let steps = 300;
    for alif in [false, true] {
        for recurrent in [false, true] {
            let spec = lsnn(4, alif, recurrent);
            let input = inputs(4, 1, steps);
            let losses = [Loss::CrossEntropy {
                class: 0,
                from: 150,
                to: 300,
            }];
            let what = format!("alif {alif} recurrent {recurrent}");
            let run = |lib: &str, toml: &str| run_batch(&spec, lib, toml, &losses, &input, steps);
            let stopped = run("eligo_bptt", "stop_z_gradients = \"yes\"");
            let plain = run("eligo_bptt", "stop_z_gradients = \"no\"");
            let eprop = run("eligo_eprop", "mode = \"event\"");
            let rate = rate_hz(&plain, 1, steps);
            assert!(rate > 5.0 && rate < 150.0, "{what}: rate {rate} Hz");
            // e-prop is the stopped form here too
            for (a, b) in eprop.weights.iter().zip(&stopped.weights) {
                assert!(rel_err(a, b) <= 1e-5, "{what}: e-prop vs stopped");
            }
            // the readout path does not go through the neurons: identical, bit for bit
            let last = plain.weights.len() - 1;
            assert_eq!(plain.weights[last], stopped.weights[last], "{what}");
            assert_eq!(plain.biases, stopped.biases, "{what}");
            // input (and recurrent) weights: the reset's (and recurrence's) gradient is real
            for j in 0..last {
                let d = rel_err(&plain.weights[j], &stopped.weights[j]);
                eprintln!("{what}: projection {j}: plain vs stopped BPTT differ by {d:.3e}");
                assert!(d > 1e-2, "{what}: projection {j}: only {d} apart");
                assert!(plain.weights[j].iter().all(|g| g.is_finite()));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. the soft network, written plainly in float64

/// A network with the engine's equations and the spike function `z = sigmoid(k (v - A) /
/// v_th)` (no refractoriness), fully connected, no self-connections.
struct Soft {
    n_in: usize,
    n: usize,
    n_out: usize,
    alpha: f64,
    rho: f64,
    v_th: f64,
    beta: Vec<f64>,
    kappa: f64,
    k: f64,
}

/// Weights in the plugin's CSR layouts: `win[i * n + j]`, `wrec[i * (n-1) + ...]` (row `i`
/// skips `i`), `wout[j * n_out + k]`.
#[derive(Clone)]
struct Params {
    win: Vec<f64>,
    wrec: Vec<f64>,
    wout: Vec<f64>,
    b: Vec<f64>,
}

#[derive(Clone, Copy)]
enum SoftLoss {
    Mse,
    CrossEntropy {
        class: usize,
        from: usize,
        to: usize,
    },
}

/// Rows `0..n_pre` to every target (`skip_diagonal`: no `i -> i`).
fn dense_csr(n_pre: usize, n_post: usize, skip_diagonal: bool) -> (Vec<u32>, Vec<u32>) {
    let mut indptr = vec![0u32];
    let mut targets = Vec::new();
    for i in 0..n_pre {
        for j in 0..n_post {
            if !(skip_diagonal && i == j) {
                targets.push(j as u32);
            }
        }
        indptr.push(targets.len() as u32);
    }
    (indptr, targets)
}

struct Trajectory {
    /// Loss summed over the measured steps.
    loss: f64,
    /// `z[t][j]`, `psi[t][j]`, `err[t][k]`.
    z: Vec<Vec<f64>>,
    psi: Vec<Vec<f64>>,
    err: Vec<Vec<f64>>,
}

impl Soft {
    fn new(seed: u64) -> (Soft, Params) {
        let (n_in, n, n_out) = (4, 7, 3);
        let soft = Soft {
            n_in,
            n,
            n_out,
            alpha: (-1.0f64 / 20.0).exp(),
            rho: (-1.0f64 / 30.0).exp(),
            v_th: 0.6,
            // three LIF, four ALIF neurons
            beta: (0..n).map(|j| if j < 3 { 0.0 } else { 0.4 }).collect(),
            kappa: (-1.0f64 / 10.0).exp(),
            k: 4.0,
        };
        let mut st = seed;
        let mut draw = |m: usize, mean: f64, std: f64| -> Vec<f64> {
            (0..m).map(|_| mean + std * normal(&mut st)).collect()
        };
        let p = Params {
            win: draw(n_in * n, 0.15, 0.3),
            wrec: draw(n * (n - 1), 0.0, 0.3),
            wout: draw(n * n_out, 0.0, 0.6),
            b: draw(n_out, 0.0, 0.2),
        };
        (soft, p)
    }

    /// Run over `s` (`s[t][i]`); steps in `window` use `alt`, the others `base`. The loss (and
    /// `err`, scaled by `1 / n_batch`) counts the steps in `measure` only.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        base: &Params,
        alt: &Params,
        window: Range<usize>,
        measure: Range<usize>,
        s: &[Vec<f64>],
        loss: SoftLoss,
        target: &[Vec<f64>],
        n_batch: f64,
    ) -> Trajectory {
        let (n_in, n, n_out) = (self.n_in, self.n, self.n_out);
        let (mut v, mut a, mut z_prev) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut r = vec![0.0; n_out];
        let mut s_prev = vec![0.0; n_in];
        let mut out = Trajectory {
            loss: 0.0,
            z: Vec::new(),
            psi: Vec::new(),
            err: Vec::new(),
        };
        for t in 0..s.len() {
            let p = if window.contains(&t) { alt } else { base };
            let mut input = vec![0.0; n];
            for i in 0..n_in {
                for j in 0..n {
                    input[j] += p.win[i * n + j] * s_prev[i];
                }
            }
            for i in 0..n {
                let mut c = 0;
                for j in 0..n {
                    if j != i {
                        input[j] += p.wrec[i * (n - 1) + c] * z_prev[i];
                        c += 1;
                    }
                }
            }
            let (mut z, mut psi) = (vec![0.0; n], vec![0.0; n]);
            for j in 0..n {
                v[j] = self.alpha * v[j] + input[j] - self.v_th * z_prev[j];
                a[j] = self.rho * a[j] + z_prev[j];
                let u = (v[j] - self.v_th - self.beta[j] * a[j]) / self.v_th;
                let sig = 1.0 / (1.0 + (-self.k * u).exp());
                z[j] = sig;
                psi[j] = self.k / self.v_th * sig * (1.0 - sig);
            }
            for kk in 0..n_out {
                r[kk] = self.kappa * r[kk]
                    + (0..n)
                        .map(|j| p.wout[j * n_out + kk] * z_prev[j])
                        .sum::<f64>();
            }
            let y: Vec<f64> = (0..n_out).map(|kk| r[kk] + p.b[kk]).collect();
            let mut err = vec![0.0; n_out];
            let mut l = 0.0;
            match loss {
                SoftLoss::Mse => {
                    for kk in 0..n_out {
                        let d = y[kk] - target[t][kk];
                        l += 0.5 * d * d;
                        err[kk] = d;
                    }
                }
                SoftLoss::CrossEntropy { class, from, to } => {
                    if (from..to).contains(&t) {
                        let nw = (to - from) as f64;
                        let m = y.iter().cloned().fold(f64::MIN, f64::max);
                        let e: Vec<f64> = y.iter().map(|x| (x - m).exp()).collect();
                        let sum: f64 = e.iter().sum();
                        l = -(e[class] / sum).ln() / nw;
                        for kk in 0..n_out {
                            err[kk] = (e[kk] / sum - if kk == class { 1.0 } else { 0.0 }) / nw;
                        }
                    }
                }
            }
            if measure.contains(&t) {
                out.loss += l / n_batch;
            }
            out.err.push(err.iter().map(|e| e / n_batch).collect());
            out.z.push(z.clone());
            out.psi.push(psi);
            s_prev.clone_from(&s[t]);
            z_prev = z;
        }
        out
    }

    /// Gradient by the plugin's generic backward pass in f64 on trajectory `tr`, added into
    /// `g` (same layout as `Params`). `inject`: dE/dz_j(t) added at every step.
    fn bptt(
        &self,
        p: &Params,
        s: &[Vec<f64>],
        tr: &Trajectory,
        inject: Option<&[f64]>,
        opts: &Options,
        g: &mut Params,
    ) {
        let (n, n_out) = (self.n, self.n_out);
        let (in_ptr, in_tg) = dense_csr(self.n_in, n, false);
        let (rec_ptr, rec_tg) = dense_csr(n, n, true);
        let (out_ptr, out_tg) = dense_csr(n, n_out, false);
        let alpha = vec![self.alpha; n];
        let rho = vec![self.rho; n];
        let v_th = vec![self.v_th; n];
        // rows in runs (dot products in partial sums), checked against finite differences
        let (rec_pieces, out_pieces) = (
            RowPieces::new(&rec_ptr, &rec_tg).expect("dense rows"),
            RowPieces::new(&out_ptr, &out_tg).expect("dense rows"),
        );
        let rec = [Path {
            pre: 0,
            post: 0,
            indptr: &rec_ptr,
            targets: &rec_tg,
            weights: &p.wrec,
            pieces: Some(&rec_pieces),
        }];
        let out = [Path {
            pre: 0,
            post: 0,
            indptr: &out_ptr,
            targets: &out_tg,
            weights: &p.wout,
            pieces: Some(&out_pieces),
        }];
        let net = Network {
            alpha: &alpha,
            rho: &rho,
            beta: &self.beta,
            v_th: &v_th,
            kappa: self.kappa,
            n_out,
            recurrent: &rec,
            readout: &out,
        };
        let psi: Vec<f64> = tr.psi.concat();
        let err: Vec<f64> = tr.err.concat();
        let adj = backward::backward(&net, &psi, Some(&err), inject, opts);
        let mut input = Activity::default();
        let mut z = Activity::default();
        for t in 0..s.len() {
            input.push_step(
                s[t].iter()
                    .enumerate()
                    .filter(|(_, x)| **x != 0.0)
                    .map(|(i, &x)| (i as u32, x)),
            );
            z.push_step(tr.z[t].iter().enumerate().map(|(i, &x)| (i as u32, x)));
        }
        backward::accumulate(&mut g.win, &in_ptr, &in_tg, &input, &adj.dv, n, 0);
        backward::accumulate(&mut g.wrec, &rec_ptr, &rec_tg, &z, &adj.dv, n, 0);
        backward::accumulate(&mut g.wout, &out_ptr, &out_tg, &z, &adj.ek, n_out, 0);
        for e in &tr.err {
            for (b, x) in g.b.iter_mut().zip(e) {
                *b += x;
            }
        }
    }
}

fn zeros_like(p: &Params) -> Params {
    Params {
        win: vec![0.0; p.win.len()],
        wrec: vec![0.0; p.wrec.len()],
        wout: vec![0.0; p.wout.len()],
        b: vec![0.0; p.b.len()],
    }
}

/// Centered finite difference of `f` along every parameter.
fn finite_differences(p: &Params, f: &dyn Fn(&Params) -> f64) -> Params {
    let h = 1e-5;
    let mut g = zeros_like(p);
    let fields: [fn(&mut Params) -> &mut Vec<f64>; 4] = [
        |p| &mut p.win,
        |p| &mut p.wrec,
        |p| &mut p.wout,
        |p| &mut p.b,
    ];
    for field in fields {
        let len = field(&mut p.clone()).len();
        for i in 0..len {
            let (mut plus, mut minus) = (p.clone(), p.clone());
            field(&mut plus)[i] += h;
            field(&mut minus)[i] -= h;
            field(&mut g)[i] = (f(&plus) - f(&minus)) / (2.0 * h);
        }
    }
    g
}

/// Per parameter array: max |a - b| / max |b| (b: finite differences), asserted <= 1e-3.
fn compare(what: &str, bptt: &Params, fd: &Params) -> f64 {
    let mut worst = 0.0f64;
    for (name, a, b) in [
        ("win", &bptt.win, &fd.win),
        ("wrec", &bptt.wrec, &fd.wrec),
        ("wout", &bptt.wout, &fd.wout),
        ("b", &bptt.b, &fd.b),
    ] {
        let e = rel_err(a, b);
        assert!(e <= 1e-3, "{what}: {name}: max rel err {e}");
        worst = worst.max(e);
    }
    worst
}

fn soft_inputs(seed: u64, steps: usize, n_in: usize) -> Vec<Vec<f64>> {
    let mut st = seed ^ 0xABCD;
    (0..steps)
        .map(|_| {
            (0..n_in)
                .map(|_| if uniform(&mut st) < 0.3 { 1.0 } else { 0.0 })
                .collect()
        })
        .collect()
}

#[test]
fn bptt_equals_finite_differences_on_a_soft_network() {
    let steps = 60;
    let mut worst = 0.0f64;
    for seed in [21u64, 22] {
        let (soft, p) = Soft::new(seed);
        // a batch of two sequences, for the regularizer's batch rates
        let s: Vec<Vec<Vec<f64>>> = (0..2)
            .map(|b| soft_inputs(seed * 10 + b, steps, soft.n_in))
            .collect();
        let target: Vec<Vec<f64>> = (0..steps)
            .map(|t| (0..3).map(|k| (0.2 * t as f64 + k as f64).sin()).collect())
            .collect();
        for loss in [
            SoftLoss::Mse,
            SoftLoss::CrossEntropy {
                class: 2,
                from: 40,
                to: 60,
            },
        ] {
            for c_reg in [0.0, 3.0] {
                let f_target = 0.2;
                let all = 0..steps;
                // E = sum_b loss_b / n_batch + c_reg sum_j (f_j - f_target)^2
                let total = |q: &Params| -> f64 {
                    let trs: Vec<Trajectory> = s
                        .iter()
                        .map(|s| soft.run(q, q, all.clone(), all.clone(), s, loss, &target, 2.0))
                        .collect();
                    let mut e: f64 = trs.iter().map(|tr| tr.loss).sum();
                    for j in 0..soft.n {
                        let f = trs
                            .iter()
                            .map(|tr| tr.z.iter().map(|z| z[j]).sum::<f64>())
                            .sum::<f64>()
                            / (2.0 * steps as f64);
                        e += c_reg * (f - f_target) * (f - f_target);
                    }
                    e
                };
                let fd = finite_differences(&p, &total);
                // BPTT: r_j = 2 c_reg (f_j - f_target) / (T n_batch), injected in each sequence
                let trs: Vec<Trajectory> = s
                    .iter()
                    .map(|s| soft.run(&p, &p, all.clone(), all.clone(), s, loss, &target, 2.0))
                    .collect();
                let r: Vec<f64> = (0..soft.n)
                    .map(|j| {
                        let f = trs
                            .iter()
                            .map(|tr| tr.z.iter().map(|z| z[j]).sum::<f64>())
                            .sum::<f64>()
                            / (2.0 * steps as f64);
                        2.0 * c_reg * (f - f_target) / (2.0 * steps as f64)
                    })
                    .collect();
                let mut g = zeros_like(&p);
                for (s, tr) in s.iter().zip(&trs) {
                    soft.bptt(&p, s, tr, Some(&r), &Options::default(), &mut g);
                }
                let what = format!(
                    "seed {seed} {} c_reg {c_reg}",
                    match loss {
                        SoftLoss::Mse => "mse",
                        _ => "cross-entropy",
                    }
                );
                let e = compare(&what, &g, &fd);
                eprintln!("soft network, {what}: max rel err vs finite differences {e:.3e}");
                worst = worst.max(e);
                // and the stopped form is not the gradient of this network
                let mut g_stop = zeros_like(&p);
                let stop = Options {
                    stop_z_gradients: true,
                    truncation: 0,
                };
                for (s, tr) in s.iter().zip(&trs) {
                    soft.bptt(&p, s, tr, Some(&r), &stop, &mut g_stop);
                }
                assert!(rel_err(&g_stop.win, &fd.win) > 1e-2, "{what}");
            }
        }
    }
    eprintln!("soft network: worst max rel err vs finite differences {worst:.3e}");
}

#[test]
fn truncated_bptt_equals_finite_differences_window_by_window() {
    // Truncated BPTT with windows of K steps is the sum over windows w of the gradient of the
    // loss of w's steps with the weights perturbed in w's steps only (the state entering w is
    // then a constant).
    let steps = 60;
    let (soft, p) = Soft::new(31);
    let s = soft_inputs(31, steps, soft.n_in);
    let target: Vec<Vec<f64>> = (0..steps)
        .map(|t| (0..3).map(|k| (0.15 * t as f64 - k as f64).cos()).collect())
        .collect();
    let mut worst = 0.0f64;
    for loss in [
        SoftLoss::Mse,
        SoftLoss::CrossEntropy {
            class: 0,
            from: 10,
            to: 60,
        },
    ] {
        for k in [7usize, 20] {
            let mut fd = zeros_like(&p);
            for w0 in (0..steps).step_by(k) {
                let w = w0..(w0 + k).min(steps);
                let f = |q: &Params| {
                    soft.run(&p, q, w.clone(), w.clone(), &s, loss, &target, 1.0)
                        .loss
                };
                let g = finite_differences(&p, &f);
                for (a, b) in [
                    (&mut fd.win, &g.win),
                    (&mut fd.wrec, &g.wrec),
                    (&mut fd.wout, &g.wout),
                    (&mut fd.b, &g.b),
                ] {
                    a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                }
            }
            let all = 0..steps;
            let tr = soft.run(&p, &p, all.clone(), all, &s, loss, &target, 1.0);
            let opts = Options {
                stop_z_gradients: false,
                truncation: k,
            };
            let mut g = zeros_like(&p);
            soft.bptt(&p, &s, &tr, None, &opts, &mut g);
            let what = format!("truncation {k}");
            let e = compare(&what, &g, &fd);
            worst = worst.max(e);
            // and it is not the full gradient
            let mut full = zeros_like(&p);
            soft.bptt(&p, &s, &tr, None, &Options::default(), &mut full);
            assert!(rel_err(&g.win, &full.win) > 1e-3, "{what}");
        }
    }
    eprintln!("soft network, truncated BPTT vs windowed finite differences: worst {worst:.3e}");
}

// ---------------------------------------------------------------------------------------------
// 4. the plugin's truncation and regularizer

#[test]
fn truncation_at_the_sequence_length_is_full_bptt() {
    let steps = 300;
    for alif in [false, true] {
        let spec = lsnn(6, alif, true);
        let input = inputs(6, 1, steps);
        let losses = [mse_targets(steps, 0.3)];
        let run = |toml: &str| run_batch(&spec, "eligo_bptt", toml, &losses, &input, steps);
        let full = run("truncation = 0");
        for k in [300, 1000] {
            let t = run(&format!("truncation = {k}"));
            assert_eq!(t.weights, full.weights, "alif {alif}: truncation {k}");
            assert_eq!(t.biases, full.biases);
        }
        let short = run("truncation = 25");
        for j in 0..3 {
            assert!(short.weights[j].iter().all(|g| g.is_finite()));
            let d = rel_err(&short.weights[j], &full.weights[j]);
            eprintln!("alif {alif}: projection {j}: truncation 25 vs full differ by {d:.3e}");
            assert!(d > 1e-3, "alif {alif}: projection {j}: {d}");
        }
        assert_eq!(short.biases, full.biases);
        let bad = Plugin::load(&so("eligo_bptt")).unwrap();
        let cfg = config::parse("truncation = 2.5", &bad).unwrap();
        let net = spec.build().unwrap();
        let e = RuleInstance::new(bad, &net, &cfg.values, cfg.host, steps)
            .err()
            .expect("fractional truncation accepted")
            .to_string();
        assert!(e.contains("whole number"), "{e}");
    }
}

/// The plugin's gradient over a batch, recomputed in f64 by the generic pass from the engine's
/// recorded psi, spikes and errors.
fn reference(
    spec: &NetworkSpec,
    run: &Run,
    opts: &Options,
    c_reg: f64,
    f_target: f64,
    steps: usize,
) -> Vec<Vec<f64>> {
    let net = spec.build().unwrap();
    let w = |j: usize| -> Vec<f64> {
        net.projections[j]
            .weights
            .iter()
            .map(|&x| f64::from(x))
            .collect()
    };
    let (wrec, wout) = (w(1), w(2));
    let n = 40;
    let (alpha, rho, v_th, beta) = match &net.populations[1].model {
        ModelSpec::Lif(p) => ((-1.0 / p.tau_m_ms).exp(), 0.0, p.v_th, vec![0.0; n]),
        ModelSpec::Alif(p) => (
            (-1.0 / p.tau_m_ms).exp(),
            (-1.0 / p.tau_a_ms).exp(),
            p.v_th,
            (0..n)
                .map(|j| if j < p.n_lif { 0.0 } else { p.beta })
                .collect(),
        ),
        _ => unreachable!(),
    };
    let kappa = match &net.populations[2].model {
        ModelSpec::Readout(p) => (-1.0 / p.tau_out_ms).exp(),
        _ => unreachable!(),
    };
    let p = &net.projections;
    let rec = [Path {
        pre: 0,
        post: 0,
        indptr: &p[1].indptr,
        targets: &p[1].targets,
        weights: &wrec,
        pieces: None,
    }];
    let out = [Path {
        pre: 0,
        post: 0,
        indptr: &p[2].indptr,
        targets: &p[2].targets,
        weights: &wout,
        pieces: None,
    }];
    let (alpha, rho, v_th) = (vec![alpha; n], vec![rho; n], vec![v_th; n]);
    let network = Network {
        alpha: &alpha,
        rho: &rho,
        beta: &beta,
        v_th: &v_th,
        kappa,
        n_out: 2,
        recurrent: &rec,
        readout: &out,
    };
    let n_seq = run.recorded.len();
    let mut counts = vec![0.0; n];
    for seq in &run.recorded {
        for &(_, i) in &seq.rec {
            counts[i as usize] += 1.0;
        }
    }
    let r: Vec<f64> = counts
        .iter()
        .map(|c| {
            let f = c / (n_seq * steps) as f64;
            2.0 * c_reg * (f - f_target) / (n_seq * steps) as f64
        })
        .collect();
    let mut g = vec![
        vec![0.0; p[0].len()],
        vec![0.0; p[1].len()],
        vec![0.0; p[2].len()],
    ];
    let activity = |ev: &[(u64, u32)]| {
        let mut a = Activity::default();
        let mut k = 0;
        for t in 0..steps as u64 {
            let start = k;
            while k < ev.len() && ev[k].0 == t {
                k += 1;
            }
            a.push_step(ev[start..k].iter().map(|&(_, i)| (i, 1.0)));
        }
        a
    };
    for seq in &run.recorded {
        let err: Vec<f64> = seq.errors.iter().map(|&x| f64::from(x)).collect();
        let psi: Vec<f64> = seq.psi.iter().map(|&x| f64::from(x)).collect();
        let adj = backward::backward(&network, &psi, Some(&err), Some(&r), opts);
        let (s, z) = (activity(&seq.input), activity(&seq.rec));
        backward::accumulate(&mut g[0], &p[0].indptr, &p[0].targets, &s, &adj.dv, n, 0);
        backward::accumulate(&mut g[1], &p[1].indptr, &p[1].targets, &z, &adj.dv, n, 0);
        backward::accumulate(&mut g[2], &p[2].indptr, &p[2].targets, &z, &adj.ek, 2, 0);
    }
    g
}

#[test]
fn plugin_with_regularizer_over_a_batch_equals_the_float64_pass() {
    let steps = 250usize;
    let mut worst = 0.0f64;
    for (seed, alif, stop, truncation) in [
        (41u64, false, false, 0usize),
        (42, true, false, 0),
        (43, true, false, 40),
        (44, true, true, 0),
    ] {
        let spec = lsnn(seed, alif, true);
        let input = inputs(seed, 3, steps as u64);
        let losses: Vec<Loss> = (0..3)
            .map(|b| Loss::CrossEntropy {
                class: b % 2,
                from: 150,
                to: 250,
            })
            .collect();
        let c_reg = 5.0;
        let toml = format!(
            "stop_z_gradients = \"{}\"\ntruncation = {truncation}\nc_reg = {c_reg}\nf_target_hz = 5.0\n",
            if stop { "yes" } else { "no" }
        );
        let run = run_batch(&spec, "eligo_bptt", &toml, &losses, &input, steps as u64);
        let opts = Options {
            stop_z_gradients: stop,
            truncation,
        };
        let want = reference(&spec, &run, &opts, c_reg, 5e-3, steps);
        let what = format!("seed {seed} alif {alif} stop {stop} truncation {truncation}");
        for j in 0..3 {
            let e = rel_err(&run.weights[j], &want[j]);
            assert!(e <= 1e-5, "{what}: projection {j}: {e}");
            worst = worst.max(e);
        }
        // the regularizer matters here: without it the gradient is different
        let toml0 = toml.replace(&format!("c_reg = {c_reg}"), "c_reg = 0");
        let run0 = run_batch(&spec, "eligo_bptt", &toml0, &losses, &input, steps as u64);
        assert!(rel_err(&run0.weights[0], &run.weights[0]) > 1e-3, "{what}");
        assert_eq!(run0.weights[2], run.weights[2], "{what}: readout");
    }
    eprintln!("plugin with regularizer vs float64 pass: worst max rel err {worst:.3e}");
}

#[test]
fn non_plastic_recurrent_weights_still_carry_the_gradient() {
    // freezing the recurrent weights must not change the other gradients of plain BPTT
    let steps = 200;
    let spec = lsnn(8, true, true);
    let input = inputs(8, 1, steps);
    let losses = [mse_targets(steps, 1.0)];
    let all = run_batch(&spec, "eligo_bptt", "", &losses, &input, steps);
    let frozen = run_batch(
        &spec,
        "eligo_bptt",
        "[host]\nplastic = [\"in->rec\", \"rec->out\"]\n",
        &losses,
        &input,
        steps,
    );
    assert_eq!(all.weights[0], frozen.weights[0]);
    assert_eq!(all.weights[2], frozen.weights[2]);
    assert!(frozen.weights[1].iter().all(|&g| g == 0.0));
}

#[test]
fn networks_bptt_cannot_handle_are_refused() {
    let plugin = Plugin::load(&so("eligo_bptt")).unwrap();
    let cfg = config::parse("", &plugin).unwrap();
    let mut spec = lsnn(9, false, true);
    spec.projections[1].delay_steps = 2;
    let net = spec.build().unwrap();
    let e = RuleInstance::new(plugin, &net, &cfg.values, cfg.host, 10)
        .err()
        .expect("delay 2 accepted")
        .to_string();
    assert!(e.contains("delay"), "{e}");
}
