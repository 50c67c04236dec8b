//! `eligo train` with several rules, each on its own projections: e-prop (a gradient rule, on
//! `in->rec` and `rec->out`) and STDP (a direct rule, on `rec->rec`) learn together, bit for bit
//! alike on 1 and 2 threads and across a resume; overlaps and unaddressed parameters are
//! refused; each rule's diagnostics reach `metrics.jsonl`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eligo_engine::io::npz;
use eligo_engine::task::{self, TaskOptions};

use crate::common::{SMALL_TRAIN, arg, eligo, ok, refused, so};

const EPROP: &str = "[host]\nplastic = [\"in->rec\", \"rec->out\"]\n";
/// Strong enough that one batch of the scaled-down task visibly moves `rec->rec`.
const STDP: &str = "a_plus = 0.01\na_minus = 0.012\nw_min = -1.0\nw_max = 1.0\n\
                    [host]\nplastic = [\"rec->rec\"]\n";

/// The two rule configs, written into `dir`.
fn configs(dir: &Path, eprop: &str, stdp: &str) -> (PathBuf, PathBuf) {
    let (a, b) = (dir.join("eprop.toml"), dir.join("stdp.toml"));
    std::fs::write(&a, eprop).unwrap();
    std::fs::write(&b, stdp).unwrap();
    (a, b)
}

/// `SMALL_TRAIN` on `threads` threads with e-prop and STDP (configs `cfg`) into `out`.
fn args<'a>(
    cfg: &'a (PathBuf, PathBuf),
    stdp: &'a Path,
    out: &'a Path,
    threads: &'a str,
) -> Vec<&'a str> {
    let mut a: Vec<&str> = SMALL_TRAIN.to_vec();
    let t = a.iter().position(|x| *x == "--threads").unwrap();
    a[t + 1] = threads;
    a.extend([
        "--rule",
        "eprop",
        "--rule-config",
        arg(&cfg.0),
        "--rule",
        arg(stdp),
        "--rule-config",
        arg(&cfg.1),
        "--out",
        arg(out),
    ]);
    a
}

fn train(cfg: &(PathBuf, PathBuf), out: &Path, threads: &str, extra: &[&str]) {
    let stdp = so("eligo_stdp");
    let mut a = args(cfg, &stdp, out, threads);
    a.extend(extra);
    ok(&eligo(&a));
}

fn weights(dir: &Path) -> BTreeMap<String, npz::Array> {
    npz::read(&dir.join("weights.npz")).unwrap()
}

#[test]
fn eprop_and_stdp_train_together_and_change_all_three_projections() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = configs(dir.path(), EPROP, STDP);
    let out = dir.path().join("run");
    train(&cfg, &out, "1", &["--iterations", "2"]);
    // the initial weights: the task's network for the run's seed
    let t = task::by_name(
        "evidence",
        &TaskOptions {
            seed: 1,
            scale: 0.1,
        },
    )
    .unwrap();
    let net0 = t.network(1).build().unwrap();
    let w = weights(&out);
    for p in &net0.projections {
        let after: Vec<f32> = w[&format!("{}/data", p.name)]
            .data
            .iter()
            .map(|&x| x as f32)
            .collect();
        assert_eq!(after.len(), p.weights.len(), "{}", p.name);
        assert_ne!(after, p.weights, "{} did not change", p.name);
    }
    // e-prop, the first gradient rule, trains the readout biases
    let bias = match &net0.populations[net0.readout().unwrap()].model {
        eligo_engine::neuron::ModelSpec::Readout(r) => r.bias,
        _ => unreachable!(),
    };
    assert!(w["out/bias"].data.iter().any(|&b| b != bias));
    // the checkpoint records both rules
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("checkpoint/state.json")).unwrap())
            .unwrap();
    assert_eq!(state["rule"], "eprop+stdp");
    assert_eq!(state["settings"]["rules.1"], "eprop");
    assert_eq!(state["settings"]["rules.2"], "stdp");
    assert_eq!(state["settings"]["rules.2.a_plus"], "0.01");
    assert_eq!(state["settings"]["rules.2.plastic"], "Some([\"rec->rec\"])");
}

#[test]
fn eprop_and_stdp_give_identical_weights_on_1_and_2_threads() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = configs(dir.path(), EPROP, STDP);
    let (t1, t2) = (dir.path().join("t1"), dir.path().join("t2"));
    train(&cfg, &t1, "1", &["--iterations", "2"]);
    train(&cfg, &t2, "2", &["--iterations", "2"]);
    let read = |d: &Path| std::fs::read(d.join("weights.npz")).unwrap();
    assert!(
        read(&t1) == read(&t2),
        "weights.npz differ between 1 and 2 threads"
    );
}

#[test]
fn eprop_and_stdp_resumed_after_one_iteration_equal_two_uninterrupted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = configs(dir.path(), EPROP, STDP);
    let (whole, split) = (dir.path().join("whole"), dir.path().join("split"));
    let every = ["--checkpoint-every", "1"];
    train(
        &cfg,
        &whole,
        "1",
        &[&["--iterations", "2"][..], &every].concat(),
    );
    train(
        &cfg,
        &split,
        "1",
        &[&["--iterations", "1"][..], &every].concat(),
    );
    let one = std::fs::read(split.join("weights.npz")).unwrap();
    train(
        &cfg,
        &split,
        "2",
        &[&["--iterations", "2", "--resume", arg(&split)][..], &every].concat(),
    );
    let read = |d: &Path| std::fs::read(d.join("weights.npz")).unwrap();
    assert!(read(&split) != one, "the resumed iteration changed nothing");
    assert!(
        read(&whole) == read(&split),
        "resumed after 1 iteration differs from 2 uninterrupted"
    );
    // the checkpoint holds every rule's settings: another STDP rate is refused by name
    let stdp = so("eligo_stdp");
    let mut a = args(&cfg, &stdp, &split, "1");
    a.extend([
        "--iterations",
        "3",
        "--resume",
        arg(&split),
        "--param",
        "stdp.a_plus=0.02",
    ]);
    refused(
        &eligo(&a),
        &["rules.2.a_plus: checkpoint 0.01, this run 0.02"],
    );
}

#[test]
fn train_refuses_a_projection_plastic_for_two_rules() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = configs(
        dir.path(),
        "[host]\nplastic = [\"in->rec\", \"rec->rec\"]\n",
        STDP,
    );
    let stdp = so("eligo_stdp");
    let out = dir.path().join("run");
    let mut a = args(&cfg, &stdp, &out, "1");
    a.extend(["--iterations", "1"]);
    refused(
        &eligo(&a),
        &[
            "'rec->rec'",
            "plastic for both rule 1 ('eprop') and rule 2 ('stdp')",
        ],
    );
    assert!(!out.join("weights.npz").exists());
}

#[test]
fn train_params_name_their_rule_with_several_rules() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = configs(dir.path(), EPROP, STDP);
    let stdp = so("eligo_stdp");
    let out = dir.path().join("run");
    let mut a = args(&cfg, &stdp, &out, "1");
    a.extend(["--iterations", "1", "--param", "a_plus=0.02"]);
    refused(
        &eligo(&a),
        &[
            "--param a_plus",
            "the run has 2 rules (eprop, stdp): say which one",
        ],
    );
    let mut a = args(&cfg, &stdp, &out, "1");
    a.extend(["--iterations", "1", "--param", "3.a_plus=0.02"]);
    refused(&eligo(&a), &["there is no rule 3"]);
    let mut a = args(&cfg, &stdp, &out, "1");
    a.extend([
        "--iterations",
        "1",
        "--param",
        "2.a_plus=0.02",
        "--param",
        "eprop.c_reg=3",
    ]);
    ok(&eligo(&a));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("checkpoint/state.json")).unwrap())
            .unwrap();
    assert_eq!(state["settings"]["rules.2.a_plus"], "0.02");
    assert_eq!(state["settings"]["rules.1.c_reg"], "3.0");
    // one --rule-config per --rule
    let mut a: Vec<&str> = SMALL_TRAIN.to_vec();
    a.extend([
        "--rule",
        "eprop",
        "--rule",
        arg(&stdp),
        "--rule-config",
        arg(&cfg.0),
    ]);
    refused(&eligo(&a), &["--rule-config", "1 given for 2 --rule"]);
}

/// Two `rstdp` rules (one on `in->rec`, one on `rec->out`) on the reward task: each rule's
/// diagnostics appear in `metrics.jsonl` under `rules`, the shared name told apart by position.
#[test]
fn each_rules_diagnostics_reach_metrics_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let (a_cfg, b_cfg) = (dir.path().join("a.toml"), dir.path().join("b.toml"));
    std::fs::write(&a_cfg, "[host]\nplastic = [\"in->rec\"]\n").unwrap();
    std::fs::write(&b_cfg, "[host]\nplastic = [\"rec->out\"]\n").unwrap();
    let rstdp = so("eligo_rstdp");
    let out = dir.path().join("run");
    ok(&eligo(&[
        "train",
        "--task",
        "reward_patterns",
        "--quiet",
        "--threads",
        "1",
        "--iterations",
        "1",
        "--rule",
        arg(&rstdp),
        "--rule-config",
        arg(&a_cfg),
        "--rule",
        arg(&rstdp),
        "--rule-config",
        arg(&b_cfg),
        "--out",
        arg(&out),
    ]));
    let text = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(line.get("rule").is_none(), "{line}");
    let rules = line["rules"].as_object().expect("a rules object");
    assert_eq!(
        rules.keys().collect::<Vec<_>>(),
        ["rstdp#1", "rstdp#2"],
        "{line}"
    );
    for (name, d) in rules {
        // every sample of the task carries a reward of +1 or -1 at every step
        let m = d["mean_modulator"].as_f64().expect(name);
        assert!(m.abs() <= 1.0 && m != 0.0, "{name}: {m}");
        assert!(d["sum_dw"].is_number(), "{name}");
    }
}

/// A run with direct rules only (one `stdp`, or two on different projections): the optimizer
/// never steps, and a resume after 1 iteration equals 2 uninterrupted (it was refused: "the
/// optimizer has done 0 updates").
#[test]
fn direct_rules_only_resume_equal_uninterrupted() {
    let dir = tempfile::tempdir().unwrap();
    let stdp = so("eligo_stdp");
    let (in_cfg, rec_cfg) = (dir.path().join("in.toml"), dir.path().join("rec.toml"));
    std::fs::write(&in_cfg, "[host]\nplastic = [\"in->rec\"]\n").unwrap();
    std::fs::write(&rec_cfg, STDP).unwrap();
    let one: Vec<&str> = vec!["--rule", arg(&stdp)];
    let two: Vec<&str> = vec![
        "--rule",
        arg(&stdp),
        "--rule-config",
        arg(&in_cfg),
        "--rule",
        arg(&stdp),
        "--rule-config",
        arg(&rec_cfg),
    ];
    for (name, rules) in [("one", &one), ("two", &two)] {
        let (whole, split) = (
            dir.path().join(format!("{name}-whole")),
            dir.path().join(format!("{name}-split")),
        );
        let run = |out: &Path, extra: &[&str]| {
            let mut a: Vec<&str> = SMALL_TRAIN.to_vec();
            a.extend(rules.iter());
            a.extend(["--checkpoint-every", "1", "--out", arg(out)]);
            a.extend(extra);
            ok(&eligo(&a));
        };
        run(&whole, &["--iterations", "2"]);
        run(&split, &["--iterations", "1"]);
        let first = std::fs::read(split.join("weights.npz")).unwrap();
        run(&split, &["--iterations", "2", "--resume", arg(&split)]);
        let read = |d: &Path| std::fs::read(d.join("weights.npz")).unwrap();
        assert!(
            read(&split) != first,
            "{name}: the resumed iteration changed nothing"
        );
        assert!(
            read(&whole) == read(&split),
            "{name}: resumed differs from uninterrupted"
        );
    }
}
