//! e-prop through the real plugin: the event-driven form equals the online (per-synapse
//! trace) form, for LIF and mixed LIF/ALIF networks with recurrence, sparse connectivity and
//! refractoriness, regression and classification, symmetric and random feedback.

use std::path::PathBuf;

use eligo_engine::network::{ConnectRule, NetworkSpec, PopulationSpec, ProjectionSpec, WeightDist};
use eligo_engine::neuron::{AlifParams, LifParams, ModelSpec, PoissonParams, ReadoutParams};
use eligo_engine::plugin::{Plugin, RuleInstance, config};
use eligo_engine::prelude::*;
use eligo_engine::train::{Loss, Teacher};

fn so(lib: &str) -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    deps.join(format!(
        "{}{lib}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

fn proj(from: &str, to: &str, rule: ConnectRule, mean: f64, std: f64) -> ProjectionSpec {
    ProjectionSpec {
        name: None,
        from: from.into(),
        to: to.into(),
        rule,
        weight: WeightDist::Normal { mean, std },
        delay_steps: 1,
        receptor: None,
        allow_autapses: false,
    }
}

/// 20 Poisson inputs -> 40 recurrent (LIF, or half LIF half ALIF) -> 2 readouts.
fn lsnn(seed: u64, alif: bool) -> NetworkSpec {
    let rec = if alif {
        ModelSpec::Alif(AlifParams {
            tau_a_ms: 200.0,
            beta: 0.3,
            n_lif: 20,
            n_ref: 3,
            ..Default::default()
        })
    } else {
        ModelSpec::Lif(LifParams {
            n_ref: 3,
            ..Default::default()
        })
    };
    NetworkSpec {
        dt_ms: 1.0,
        seed,
        populations: vec![
            PopulationSpec {
                name: "in".into(),
                size: 20,
                model: ModelSpec::Poisson(PoissonParams { rate_hz: 60.0 }),
                v_init: None,
            },
            PopulationSpec {
                name: "rec".into(),
                size: 40,
                model: rec,
                v_init: None,
            },
            PopulationSpec {
                name: "out".into(),
                size: 2,
                model: ModelSpec::Readout(ReadoutParams {
                    tau_out_ms: 20.0,
                    bias: 0.1,
                }),
                v_init: None,
            },
        ],
        projections: vec![
            proj(
                "in",
                "rec",
                ConnectRule::FixedProbability { p: 0.5 },
                0.08,
                0.15,
            ),
            proj(
                "rec",
                "rec",
                ConnectRule::FixedProbability { p: 0.3 },
                0.0,
                0.2,
            ),
            proj("rec", "out", ConnectRule::AllToAll, 0.0, 0.3),
        ],
    }
}

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
    sim.begin_sequence().unwrap();
    sim.run(steps, None).unwrap();
    sim.end_sequence(steps).unwrap();
    let counts: Vec<Vec<u64>> = sim
        .neuron_spike_counts()
        .iter()
        .map(|c| c.iter().map(|&n| u64::from(n)).collect())
        .collect();
    sim.end_batch(1, steps, &counts).unwrap();
    Grad {
        weights: sim.grads().to_vec(),
        biases: sim.bias_grads()[2].clone(),
        spikes: sim.counters().spikes[1] as usize,
    }
}

fn rel_err(a: &[f32], b: &[f32]) -> f64 {
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
                    let spec = lsnn(seed, alif);
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
    let spec = lsnn(5, true);
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
        sim.begin_sequence().unwrap();
        sim.run(steps, None).unwrap();
        sim.end_sequence(steps).unwrap();
        sim.end_batch(1, steps, &[]).unwrap();
    }
    sim.grads().to_vec()
}

#[test]
fn adaptive_feedback_starts_random_and_converges_to_symmetric() {
    let spec = lsnn(7, true);
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
