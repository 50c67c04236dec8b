//! e-prop through the real plugin: the event-driven form equals the online (per-synapse
//! trace) form, for LIF and mixed LIF/ALIF networks with recurrence, sparse connectivity and
//! refractoriness, regression and classification, symmetric and random feedback.

use eligo_engine::network::NetworkSpec;
use eligo_engine::optim::{Loss, Teacher};
use eligo_engine::plugin::{Plugin, RuleInstance, config};
use eligo_engine::prelude::*;

use crate::common::{lsnn, so};

struct Grad {
    weights: Vec<Vec<f32>>,
    biases: Vec<f32>,
    spikes: usize,
}

fn gradient(spec: &NetworkSpec, rule_toml: &str, loss: Loss, steps: u64) -> Grad {
    let mut sim = Simulation::new(spec.build().unwrap(), &SimOptions::default()).unwrap();
    let plugin = Plugin::load(&so("eligo_eprop")).unwrap();
    let cfg = config::parse(rule_toml, &plugin).unwrap();
    let rule = RuleInstance::new(plugin, sim.network(), &cfg.values, cfg.host, steps).unwrap();
    sim.set_rule(rule).unwrap();
    sim.set_teacher(Some(Teacher::new(2, 2, loss, 1))).unwrap();
    sim.run_sequence(steps, None).unwrap();
    sim.end_batch_of_one(steps).unwrap();
    Grad {
        weights: sim.grads().to_vec(),
        biases: sim.bias_grads()[2].clone(),
        spikes: sim.counters().spikes[1] as usize,
    }
}

pub(crate) fn rel_err(a: &[f32], b: &[f32]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, x| m.max(f64::from(x.abs())));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max(f64::from((x - y).abs())));
    assert!(scale > 0.0, "gradient is zero: not a test");
    diff / scale
}

#[test]
fn event_equals_online() {
    let steps = 300;
    let mut targets = vec![0.0f32; steps as usize * 2];
    for (t, x) in targets.iter_mut().enumerate() {
        *x = ((t as f32) * 0.05).sin() * if t % 2 == 0 { 1.0 } else { 0.5 };
    }
    for seed in [1u64, 2, 3] {
        for alif in [false, true] {
            for (feedback, c_reg) in [
                ("symmetric", 0.0),
                ("random", 0.0),
                ("adaptive", 0.0),
                ("symmetric", 3.0),
            ] {
                for loss in [
                    Loss::Mse {
                        targets: targets.clone(),
                    },
                    Loss::CrossEntropy {
                        class: 1,
                        from: 200,
                        to: 300,
                    },
                ] {
                    let spec = lsnn(seed, alif, true);
                    let rule =
                        |mode: &str| format!("feedback = \"{feedback}\"\nmode = \"{mode}\"\n");
                    let ev = gradient(&spec, &rule("event"), loss.clone(), steps);
                    let on = gradient(&spec, &rule("online"), loss.clone(), steps);
                    let kind = if matches!(loss, Loss::Mse { .. }) {
                        "mse"
                    } else {
                        "cross-entropy"
                    };
                    let what = format!("seed {seed} alif {alif} {feedback} c_reg {c_reg} {kind}");
                    // the network must be active for the comparison to mean something
                    let rate = ev.spikes as f64 / 40.0 / (steps as f64 * 1e-3);
                    assert!(rate > 5.0 && rate < 150.0, "{what}: rate {rate} Hz");
                    for (j, (a, b)) in ev.weights.iter().zip(&on.weights).enumerate() {
                        let e = rel_err(a, b);
                        assert!(e <= 1e-5, "{what}: projection {j}: max rel err {e}");
                    }
                    assert!(rel_err(&ev.biases, &on.biases) <= 1e-5, "{what}: biases");
                }
            }
        }
    }
}

#[test]
fn regularizer_changes_the_gradient_towards_the_target_rate() {
    // same network and loss with and without the regularizer: the difference is the
    // regularizer's gradient, and it must push rates down when they are above the target
    let spec = lsnn(5, true, true);
    let loss = Loss::CrossEntropy {
        class: 0,
        from: 100,
        to: 200,
    };
    let without = gradient(&spec, "mode = \"event\"\n", loss.clone(), 200);
    let with = gradient(
        &spec,
        "mode = \"event\"\nc_reg = 10.0\nf_target_hz = 1.0\n",
        loss,
        200,
    );
    let rate = without.spikes as f64 / 40.0 / 0.2;
    assert!(
        rate > 1.0,
        "rate {rate} Hz must exceed the 1 Hz target for this test"
    );
    // input weights: the regularizer's part of the gradient, summed, is positive (descending it
    // lowers input weights, hence rates)
    let diff: f64 = with.weights[0]
        .iter()
        .zip(&without.weights[0])
        .map(|(a, b)| f64::from(a - b))
        .sum();
    assert!(
        diff > 0.0,
        "regularizer gradient on input weights sums to {diff}"
    );
    // and it leaves the readout gradient alone
    assert_eq!(with.weights[2], without.weights[2]);
}

/// Gradient of the last of `batches` one-sequence batches (gradients zeroed in between, weights
/// unchanged).
fn gradient_after_batches(
    spec: &NetworkSpec,
    rule_toml: &str,
    loss: Loss,
    steps: u64,
    batches: usize,
) -> Vec<Vec<f32>> {
    let mut sim = Simulation::new(spec.build().unwrap(), &SimOptions::default()).unwrap();
    let plugin = Plugin::load(&so("eligo_eprop")).unwrap();
    let cfg = config::parse(rule_toml, &plugin).unwrap();
    let rule = RuleInstance::new(plugin, sim.network(), &cfg.values, cfg.host, steps).unwrap();
    sim.set_rule(rule).unwrap();
    sim.set_teacher(Some(Teacher::new(2, 2, loss, 1))).unwrap();
    for _ in 0..batches {
        sim.reset();
        sim.zero_grads();
        sim.run_sequence(steps, None).unwrap();
        sim.end_batch(1, steps, &[]).unwrap();
    }
    sim.grads().to_vec()
}

#[test]
fn adaptive_feedback_starts_random_and_converges_to_symmetric() {
    let spec = lsnn(7, true, true);
    let loss = Loss::CrossEntropy {
        class: 1,
        from: 100,
        to: 200,
    };
    let random = gradient_after_batches(&spec, "feedback = \"random\"", loss.clone(), 200, 1);
    let symmetric = gradient_after_batches(&spec, "feedback = \"symmetric\"", loss.clone(), 200, 1);
    let first = gradient_after_batches(&spec, "feedback = \"adaptive\"", loss.clone(), 200, 1);
    // input/recurrent gradients depend on B: random and symmetric differ, adaptive starts random
    assert!(rel_err(&random[0], &symmetric[0]) > 0.1);
    assert!(
        rel_err(&first[0], &random[0]) <= 1e-6,
        "{}",
        rel_err(&first[0], &random[0])
    );
    // after n batches B - Wout^T has decayed by (1 - 0.5)^n: at n = 30, ~1e-9
    let late = gradient_after_batches(
        &spec,
        "feedback = \"adaptive\"\nadaptive_decay = 0.5",
        loss,
        200,
        31,
    );
    for j in 0..2 {
        let e = rel_err(&late[j], &symmetric[j]);
        assert!(e <= 1e-5, "projection {j}: {e}");
    }
}

/// A plain, dense, float64 e-prop written from docs/eprop.md (engine convention: input `x(t) =
/// s(t-1)`, readout one step later), independent of the plugin: it simulates the network
/// itself, checks its spikes against the engine's, and computes the per-synapse eligibility
/// traces and gradients step by step.
pub(crate) mod dense {
    use eligo_engine::network::Network;
    use eligo_engine::neuron::ModelSpec;

    pub struct Out {
        pub w_in: Vec<Vec<f64>>,
        pub w_rec: Vec<Vec<f64>>,
        pub w_out: Vec<Vec<f64>>,
        pub b: Vec<f64>,
        pub z: Vec<Vec<bool>>,
    }

    fn dense(net: &Network, j: usize) -> Vec<Vec<f64>> {
        let p = &net.projections[j];
        let n_post = net.populations[p.post].size as usize;
        let n_pre = net.populations[p.pre].size as usize;
        let mut w = vec![vec![0.0; n_pre]; n_post];
        for i in 0..n_pre {
            for s in p.row(i) {
                w[p.targets[s] as usize][i] += f64::from(p.weights[s]);
            }
        }
        w
    }

    /// The refractory steps of a LIF/ALIF population at dt = 1 ms (the reference's step).
    fn ref_steps(t_ref_ms: Option<f64>, n_ref: Option<u32>) -> u32 {
        match (t_ref_ms, n_ref) {
            (Some(t), None) => t as u32,
            (None, Some(n)) => n,
            (None, None) => 5,
            (Some(_), Some(_)) => panic!("both t_ref_ms and n_ref"),
        }
    }

    /// `input[t]` = indices of input neurons spiking at step t; `err_of(t, y)` = dE/dy(t);
    /// `feedback`: `B[j][k]` (else symmetric, `B = Wout^T`); at each step of `restarts` every
    /// eligibility trace (and the readout's filtered spikes) starts again from 0, as if the
    /// state there were a given constant (truncation at an unroll start).
    pub fn eprop(
        net: &Network,
        input: &[Vec<u32>],
        c_reg: f64,
        f_target: f64,
        err_of: &dyn Fn(usize, &[f64]) -> Vec<f64>,
        feedback: Option<&[Vec<f64>]>,
        restarts: &[usize],
    ) -> Out {
        let (win, wrec, wout) = (dense(net, 0), dense(net, 1), dense(net, 2));
        let (n_in, n, n_out) = (win[0].len(), wrec.len(), wout.len());
        let t_len = input.len();
        let (alpha, rho, v_th, n_ref, gamma, beta): (f64, f64, f64, u32, f64, Vec<f64>) =
            match &net.populations[1].model {
                ModelSpec::Lif(p) => (
                    (-1.0 / p.tau_m_ms).exp(),
                    0.0,
                    p.v_th,
                    ref_steps(p.t_ref_ms, p.n_ref),
                    p.gamma_pd,
                    vec![0.0; n],
                ),
                ModelSpec::Alif(p) => (
                    (-1.0 / p.tau_m_ms).exp(),
                    (-1.0 / p.tau_a_ms).exp(),
                    p.v_th,
                    ref_steps(p.t_ref_ms, p.n_ref),
                    p.gamma_pd,
                    (0..n)
                        .map(|j| if j < p.n_lif { 0.0 } else { p.beta })
                        .collect(),
                ),
                _ => unreachable!(),
            };
        let (kappa, b0) = match &net.populations[2].model {
            ModelSpec::Readout(p) => ((-1.0 / p.tau_out_ms).exp(), p.bias),
            _ => unreachable!(),
        };
        // state
        let (mut v, mut a, mut z_prev) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut refr = vec![0u32; n];
        let mut r = vec![0.0; n_out];
        let mut s_prev = vec![0.0; n_in];
        // traces (per synapse for input and recurrent; zk per neuron for the readout)
        let mut eps_v_in = vec![0.0; n_in];
        let mut eps_v_rec = vec![0.0; n];
        let (mut eps_a_in, mut ebar_in) = (vec![vec![0.0; n_in]; n], vec![vec![0.0; n_in]; n]);
        let (mut eps_a_rec, mut ebar_rec) = (vec![vec![0.0; n]; n], vec![vec![0.0; n]; n]);
        let (mut esum_in, mut esum_rec) = (vec![vec![0.0; n_in]; n], vec![vec![0.0; n]; n]);
        let mut zk = vec![0.0; n];
        let mut out = Out {
            w_in: vec![vec![0.0; n_in]; n],
            w_rec: vec![vec![0.0; n]; n],
            w_out: vec![vec![0.0; n]; n_out],
            b: vec![0.0; n_out],
            z: Vec::new(),
        };
        let mut count = vec![0.0; n];
        for t in 0..t_len {
            if restarts.contains(&t) {
                for x in eps_v_in.iter_mut().chain(&mut eps_v_rec).chain(&mut zk) {
                    *x = 0.0;
                }
                for row in eps_a_in
                    .iter_mut()
                    .chain(&mut ebar_in)
                    .chain(&mut eps_a_rec)
                    .chain(&mut ebar_rec)
                {
                    row.fill(0.0);
                }
            }
            // neurons
            let mut psi = vec![0.0; n];
            let mut z = vec![0.0; n];
            for j in 0..n {
                let input: f64 = (0..n_in).map(|i| win[j][i] * s_prev[i]).sum::<f64>()
                    + (0..n).map(|i| wrec[j][i] * z_prev[i]).sum::<f64>();
                v[j] = alpha * v[j] + input - v_th * z_prev[j];
                a[j] = rho * a[j] + z_prev[j];
                let thr = v_th + beta[j] * a[j];
                let blocked = refr[j] > 0;
                refr[j] = refr[j].saturating_sub(1);
                let d = (v[j] - thr) / v_th;
                psi[j] = if blocked {
                    0.0
                } else {
                    gamma / v_th * (1.0 - d.abs()).max(0.0)
                };
                if !blocked && d > 0.0 {
                    z[j] = 1.0;
                    refr[j] = n_ref.saturating_sub(1);
                    count[j] += 1.0;
                }
            }
            // readout sees z(t-1)
            for k in 0..n_out {
                r[k] = kappa * r[k] + (0..n).map(|j| wout[k][j] * z_prev[j]).sum::<f64>();
            }
            let y: Vec<f64> = r.iter().map(|r| r + b0).collect();
            let err = err_of(t, &y);
            // learning signal of this step pairs with ebar(t-1)
            let l: Vec<f64> = (0..n)
                .map(|j| match feedback {
                    Some(b) => (0..n_out).map(|k| b[j][k] * err[k]).sum(),
                    None => (0..n_out).map(|k| wout[k][j] * err[k]).sum(),
                })
                .collect();
            for j in 0..n {
                for i in 0..n_in {
                    out.w_in[j][i] += l[j] * ebar_in[j][i];
                }
                for i in 0..n {
                    out.w_rec[j][i] += l[j] * ebar_rec[j][i];
                }
            }
            // readout: zk(t) = kappa zk(t-1) + z(t-1)
            for j in 0..n {
                zk[j] = kappa * zk[j] + z_prev[j];
            }
            for k in 0..n_out {
                out.b[k] += err[k];
                for j in 0..n {
                    out.w_out[k][j] += err[k] * zk[j];
                }
            }
            // eligibility traces at t: eps_v(t) = alpha eps_v(t-1) + x(t), x(t) = s(t-1)
            for i in 0..n_in {
                eps_v_in[i] = alpha * eps_v_in[i] + s_prev[i];
            }
            for i in 0..n {
                eps_v_rec[i] = alpha * eps_v_rec[i] + z_prev[i];
            }
            for j in 0..n {
                for i in 0..n_in {
                    let e = psi[j] * (eps_v_in[i] - beta[j] * eps_a_in[j][i]);
                    ebar_in[j][i] = kappa * ebar_in[j][i] + e;
                    esum_in[j][i] += e;
                    eps_a_in[j][i] =
                        psi[j] * eps_v_in[i] + (rho - psi[j] * beta[j]) * eps_a_in[j][i];
                }
                for i in 0..n {
                    if i == j {
                        continue;
                    }
                    let e = psi[j] * (eps_v_rec[i] - beta[j] * eps_a_rec[j][i]);
                    ebar_rec[j][i] = kappa * ebar_rec[j][i] + e;
                    esum_rec[j][i] += e;
                    eps_a_rec[j][i] =
                        psi[j] * eps_v_rec[i] + (rho - psi[j] * beta[j]) * eps_a_rec[j][i];
                }
            }
            s_prev = (0..n_in)
                .map(|i| {
                    if input[t].contains(&(i as u32)) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            out.z.push(z.iter().map(|&x| x > 0.0).collect());
            z_prev = z;
        }
        // regularizer with the rates of this one-sequence batch
        for j in 0..n {
            let rj = 2.0 * c_reg * (count[j] / t_len as f64 - f_target) / t_len as f64;
            for i in 0..n_in {
                out.w_in[j][i] += rj * esum_in[j][i];
            }
            for i in 0..n {
                out.w_rec[j][i] += rj * esum_rec[j][i];
            }
        }
        out
    }
}

#[test]
fn plugin_equals_an_independent_dense_float64_eprop() {
    for (seed, alif, c_reg) in [(11u64, false, 0.0), (12, true, 0.0), (13, true, 2.0)] {
        let spec = lsnn(seed, alif, true);
        let steps = 250u64;
        let net = spec.build().unwrap();
        // engine run: gradients (event mode) and the spikes of inputs and the network
        let mut sim = Simulation::new(
            net.clone(),
            &SimOptions {
                threads: 1,
                record: RecordSpec {
                    spikes: vec![0, 1],
                    state: vec![],
                },
            },
        )
        .unwrap();
        let plugin = Plugin::load(&so("eligo_eprop")).unwrap();
        let cfg = config::parse(&format!("c_reg = {c_reg}\nf_target_hz = 10.0"), &plugin).unwrap();
        let rule = RuleInstance::new(plugin, sim.network(), &cfg.values, cfg.host, steps).unwrap();
        sim.set_rule(rule).unwrap();
        let class = 1usize;
        let (from, to) = (150u64, 250u64);
        sim.set_teacher(Some(Teacher::new(
            2,
            2,
            Loss::CrossEntropy { class, from, to },
            1,
        )))
        .unwrap();
        sim.run_sequence(steps, None).unwrap();
        sim.end_batch_of_one(steps).unwrap();
        let mut input = vec![Vec::new(); steps as usize];
        for &(t, i) in &sim.population_spikes(0) {
            input[t as usize].push(i);
        }
        let mut rec = vec![vec![false; 40]; steps as usize];
        for &(t, i) in &sim.population_spikes(1) {
            rec[t as usize][i as usize] = true;
        }
        // reference: plain softmax cross-entropy over the window
        let err_of = |t: usize, y: &[f64]| -> Vec<f64> {
            if (t as u64) < from || (t as u64) >= to {
                return vec![0.0; y.len()];
            }
            let m = y.iter().cloned().fold(f64::MIN, f64::max);
            let e: Vec<f64> = y.iter().map(|v| (v - m).exp()).collect();
            let s: f64 = e.iter().sum();
            (0..y.len())
                .map(|k| (e[k] / s - if k == class { 1.0 } else { 0.0 }) / (to - from) as f64)
                .collect()
        };
        let r = dense::eprop(&net, &input, c_reg, 10.0 * 1e-3, &err_of, None, &[]);
        assert_eq!(
            r.z, rec,
            "seed {seed}: reference spikes differ from the engine's"
        );
        let spikes: usize = rec.iter().flatten().filter(|&&z| z).count();
        assert!(spikes > 100, "seed {seed}: only {spikes} spikes");
        // compare, projection by projection, in CSR order
        for (j, want) in [(0usize, &r.w_in), (1, &r.w_rec), (2, &r.w_out)] {
            let p = &sim.network().projections[j];
            let mut dense_in_csr = vec![0.0f32; p.len()];
            for i in 0..p.n_pre() {
                for s in p.row(i) {
                    dense_in_csr[s] = want[p.targets[s] as usize][i] as f32;
                }
            }
            let e = rel_err(&sim.grads()[j], &dense_in_csr);
            assert!(
                e <= 1e-5,
                "seed {seed} alif {alif} c_reg {c_reg}: projection {j}: {e}"
            );
        }
        let b: Vec<f32> = r.b.iter().map(|&x| x as f32).collect();
        assert!(rel_err(&sim.bias_grads()[2], &b) <= 1e-5);
    }
}

#[test]
fn frozen_readout_still_defines_symmetric_feedback() {
    let spec = lsnn(21, true, true);
    let loss = Loss::CrossEntropy {
        class: 0,
        from: 100,
        to: 200,
    };
    let all = gradient(&spec, "", loss.clone(), 200);
    let frozen = gradient(
        &spec,
        "[host]\nplastic = [\"in->rec\", \"rec->rec\"]",
        loss,
        200,
    );
    assert_eq!(frozen.weights[0], all.weights[0]);
    assert_eq!(frozen.weights[1], all.weights[1]);
    assert!(
        frozen.weights[2].iter().all(|&g| g == 0.0),
        "no gradient for a frozen readout"
    );
}
