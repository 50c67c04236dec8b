//! `eligo train` with a `Direct` rule (the real `stdp` plugin): the rule's changes reach the
//! master weights — summed over the lanes in lane order, clipped to the host's bounds — on any
//! number of threads alike.

use std::collections::BTreeMap;
use std::path::Path;

use eligo_engine::io::npz;
use eligo_engine::plugin::{Plugin, RuleInstance, config};
use eligo_engine::prelude::*;
use eligo_engine::task::Split;
use eligo_engine::train::RunSpec;

use crate::common::{SMALL_TRAIN, arg, eligo, ok, so};

/// `SMALL_TRAIN` (evidence at 0.1, batch 4) on `threads` threads with the `stdp` library into
/// `out`.
fn train_stdp(out: &Path, threads: &str, extra: &[&str]) {
    let stdp = so("eligo_stdp");
    let mut args: Vec<&str> = SMALL_TRAIN.to_vec();
    let t = args.iter().position(|a| *a == "--threads").unwrap();
    args[t + 1] = threads;
    args.extend(["--rule", arg(&stdp), "--out", arg(out)]);
    args.extend(extra);
    ok(&eligo(&args));
}

fn weights(dir: &Path) -> BTreeMap<String, npz::Array> {
    npz::read(&dir.join("weights.npz")).unwrap()
}

#[test]
fn stdp_in_train_changes_the_weights_every_iteration() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    train_stdp(&one, "1", &["--iterations", "1"]);
    train_stdp(&two, "1", &["--iterations", "2"]);
    let (a, b) = (weights(&one), weights(&two));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "same arrays"
    );
    let changed: Vec<&String> = a
        .keys()
        .filter(|k| k.ends_with("/data") && a[*k].data != b[*k].data)
        .collect();
    assert!(
        !changed.is_empty(),
        "the second iteration of a direct rule changed no projection's weights"
    );
    // a direct rule leaves the readout biases alone (no optimizer runs)
    assert_eq!(a["out/bias"].data, b["out/bias"].data);
}

#[test]
fn stdp_in_train_is_bit_identical_on_1_and_2_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (t1, t2) = (dir.path().join("t1"), dir.path().join("t2"));
    train_stdp(&t1, "1", &["--iterations", "2"]);
    train_stdp(&t2, "2", &["--iterations", "2"]);
    let read = |d: &Path| std::fs::read(d.join("weights.npz")).unwrap();
    assert!(
        read(&t1) == read(&t2),
        "weights.npz differ between 1 and 2 threads"
    );
}

/// Strong STDP (rule bounds [-1, 1]) under tighter host bounds with `sign = "keep"`, on two of
/// the three projections: the sum of two lanes' changes leaves the bounds and crosses zero.
const RULE: &str = "a_plus = 0.05\na_minus = 0.05\ntau_plus_ms = 20.0\ntau_minus_ms = 20.0\n\
                    w_min = -1.0\nw_max = 1.0\nmode = \"additive\"\n\n[host]\n\
                    plastic = [\"in->rec\", \"rec->rec\"]\nw_min = -0.25\nw_max = 0.25\n\
                    sign = \"keep\"\n";
const W_MIN: f32 = -0.25;
const W_MAX: f32 = 0.25;

/// One batch of two sequences (two lanes) against a reference written here: each sample run
/// alone, from the initial weights, with a fresh rule instance, in its own simulation; the
/// master is then `w0 + (w_0 - w0) + (w_1 - w0)` (in f64, lane order), clipped to the host's
/// bounds and initial signs wherever a lane changed the synapse, and untouched elsewhere.
#[test]
fn one_batch_of_stdp_is_the_sum_of_its_sequences_changes_clipped() {
    let dir = tempfile::tempdir().unwrap();
    let rule_config = dir.path().join("stdp.toml");
    std::fs::write(&rule_config, RULE).unwrap();
    let spec = RunSpec {
        task: "evidence".into(),
        scale: 0.1,
        seed: 1,
        rule: arg(&so("eligo_stdp")).into(),
        plugin_dirs: Vec::new(),
        params: Vec::new(),
        rule_config: Some(rule_config.clone()),
        batch: Some(2),
        lr: None,
        threads: 1,
        more_rules: Vec::new(),
        data: None,
        clamps: Vec::new(),
    };
    let (mut trainer, _, plugin) = spec.build().unwrap();
    let net0 = trainer.network().clone();
    let biases0 = trainer.biases().to_vec();
    let steps = trainer.task().steps();
    let input = net0.population("in").unwrap();

    // the reference lanes: training samples 0 and 1 of iteration 0
    let lanes: Vec<Network> = (0..2)
        .map(|index| {
            let cfg = config::load(&rule_config, &plugin).unwrap();
            let p = Plugin::load(&so("eligo_stdp")).unwrap();
            let r = RuleInstance::new(p, &net0, &cfg.values, cfg.host, steps).unwrap();
            let mut sim = Simulation::new(net0.clone(), &SimOptions::default()).unwrap();
            sim.set_rule(r).unwrap();
            sim.reset();
            let s = trainer.task().sample(Split::Train, index).unwrap();
            sim.clamp(input, &s.input).unwrap();
            sim.run_sequence(steps, None).unwrap();
            sim.network().clone()
        })
        .collect();

    trainer.step().unwrap();
    let got = trainer.network();
    let (mut clipped, mut changed) = (0usize, 0usize);
    for (j, p0) in net0.projections.iter().enumerate() {
        let plastic = p0.name != "rec->out";
        for s in 0..p0.weights.len() {
            let w0 = p0.weights[s];
            let lane_w: Vec<f32> = lanes.iter().map(|n| n.projections[j].weights[s]).collect();
            let touched = lane_w.iter().any(|&w| w != w0);
            assert!(plastic || !touched, "'{}' is not plastic", p0.name);
            let want = if touched {
                let sum = lane_w.iter().fold(f64::from(w0), |acc, &w| {
                    acc + (f64::from(w) - f64::from(w0))
                });
                let raw = sum as f32;
                let mut w = raw.clamp(W_MIN, W_MAX);
                if (w >= 0.0) != (w0 >= 0.0) {
                    w = 0.0;
                }
                changed += 1;
                clipped += usize::from(w != raw);
                w
            } else {
                w0
            };
            assert_eq!(
                got.projections[j].weights[s].to_bits(),
                want.to_bits(),
                "'{}' synapse {s}: w0 {w0}, lanes {lane_w:?}",
                p0.name
            );
        }
    }
    assert!(changed > 100, "only {changed} synapses changed");
    assert!(
        clipped > 0,
        "no sum left the host's bounds: the clip is untested"
    );
    assert_eq!(trainer.biases(), &biases0[..], "readout biases changed");
    assert_eq!(trainer.optimizer().steps(), 0, "the optimizer ran");
}
