//! Several rules in one run, each on its own projections: the engine API (`add_rule`), the CLI
//! (`--rule A --rule B`, one `--rule-config` per rule, `--param RULE.NAME=VALUE`) and the
//! network description's `[[rule]]` tables.
//!
//! The fixture is chosen so that the two rules cannot interact: one Poisson input drives two
//! `lif_exp` populations `a` and `b` that have no outgoing projections. Rule A learns
//! `input->a`, rule B `input->b`. A's changes alter only `a`'s spikes, which B never sees
//! (B reads `input` and `b`), and the other way round; the input's spikes come from the
//! network's seed, not from the rules. So each projection's weights after the combined run
//! must equal, bit for bit, those after its rule ran alone, although both rules are direct and
//! change weights during the run.

use std::path::Path;

use eligo_engine::io::config as net_config;
use eligo_engine::plugin::{Plugin, RuleInstance, config};
use eligo_engine::prelude::*;
use serde_json::Value;

use crate::common::{arg, eligo, ok, refused, so};

/// 100 ms at 0.1 ms: `input` (Poisson, 100 neurons) -> `a`, `input` -> `b` (`lif_exp`, 40 each).
const NET: &str = r#"
dt_ms = 0.1
duration_ms = 100.0
seed = 7

[[population]]
name = "input"
model = "poisson"
size = 100
rate_hz = 40.0

[[population]]
name = "a"
model = "lif_exp"
size = 40

[[population]]
name = "b"
model = "lif_exp"
size = 40

[[projection]]
from = "input"
to = "a"
rule = "fixed_indegree"
k = 40
weight = { kind = "normal", mean = 2.2, std = 0.3 }

[[projection]]
from = "input"
to = "b"
rule = "fixed_indegree"
k = 40
weight = { kind = "normal", mean = 2.2, std = 0.3 }
"#;

/// Rule A: additive STDP on `input->a`.
const RULE_A: &str = "a_plus = 0.05\nw_max = 10.0\n[host]\nplastic = [\"input->a\"]\n";

/// Rule B: multiplicative STDP with other amplitudes on `input->b`.
const RULE_B: &str = "a_plus = 0.02\na_minus = 0.03\nw_max = 10.0\nmode = \"multiplicative\"\n\
                      [host]\nplastic = [\"input->b\"]\n";

/// Run [`NET`] on `threads` threads with the rules of `rules` (rule config texts) attached in
/// order; the weights of every projection afterwards.
fn run(rules: &[&str], threads: usize) -> Vec<Vec<f32>> {
    let cfg = net_config::parse(NET).unwrap();
    let opts = SimOptions {
        threads,
        ..SimOptions::default()
    };
    let mut sim = Simulation::new(cfg.network.build().unwrap(), &opts).unwrap();
    for text in rules {
        let plugin = Plugin::load(&so("eligo_stdp")).unwrap();
        let rc = config::parse(text, &plugin).unwrap();
        let r = RuleInstance::new(plugin, sim.network(), &rc.values, rc.host, cfg.steps).unwrap();
        sim.add_rule(r).unwrap();
    }
    sim.run_sequence(cfg.steps, None).unwrap();
    sim.network()
        .projections
        .iter()
        .map(|p| p.weights.clone())
        .collect()
}

#[test]
fn two_rules_on_separate_projections_equal_each_rule_alone_bit_for_bit() {
    let initial = run(&[], 1);
    let a_alone = run(&[RULE_A], 1);
    let b_alone = run(&[RULE_B], 1);
    // each rule learns: its projection changed, the other one did not
    assert_ne!(a_alone[0], initial[0]);
    assert_eq!(a_alone[1], initial[1]);
    assert_ne!(b_alone[1], initial[1]);
    assert_eq!(b_alone[0], initial[0]);
    for threads in [1, 2] {
        for order in [[RULE_A, RULE_B], [RULE_B, RULE_A]] {
            let both = run(&order, threads);
            assert_eq!(both[0], a_alone[0], "input->a, {threads} threads");
            assert_eq!(both[1], b_alone[1], "input->b, {threads} threads");
        }
    }
}

/// Write [`NET`] (with `extra` appended) and the two rule configs into `dir`.
fn files(dir: &Path, extra: &str) -> [std::path::PathBuf; 3] {
    let net = dir.join("net.toml");
    std::fs::write(&net, format!("{NET}{extra}")).unwrap();
    let a = dir.join("a.toml");
    std::fs::write(&a, RULE_A).unwrap();
    let b = dir.join("b.toml");
    std::fs::write(&b, RULE_B).unwrap();
    [net, a, b]
}

/// `eligo simulate` of `net` with `extra` arguments; its summary.json.
fn simulate(net: &Path, out: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["simulate", arg(net), "--quiet", "--out", arg(out)];
    args.extend_from_slice(extra);
    ok(&eligo(&args));
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Mean weight after the run of projection `j`, as rule `k` of the summary reports it.
fn mean_after(summary: &Value, k: usize, j: usize) -> f64 {
    summary["rules"][k]["projections"][j]["mean_weight_after"]
        .as_f64()
        .unwrap()
}

#[test]
fn cli_two_rules_each_with_its_config_equal_each_rule_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let [net, a, b] = files(tmp.path(), "");
    let stdp = so("eligo_stdp");
    let rule = |cfg: &Path| ["--rule", arg(&stdp), "--rule-config", arg(cfg)].map(String::from);
    let args = |v: Vec<[String; 4]>| v.concat();
    let alone_a = args(vec![rule(&a)]);
    let alone_b = args(vec![rule(&b)]);
    let both = args(vec![rule(&a), rule(&b)]);
    let sa = simulate(&net, &tmp.path().join("a"), &refs(&alone_a));
    let sb = simulate(&net, &tmp.path().join("b"), &refs(&alone_b));
    let s = simulate(&net, &tmp.path().join("ab"), &refs(&both));
    let rules = s["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["plastic"], serde_json::json!(["input->a"]));
    assert_eq!(rules[1]["plastic"], serde_json::json!(["input->b"]));
    // "rule" stays the first rule's object, as with one rule
    assert_eq!(s["rule"], rules[0]);
    assert_eq!(sa["rules"].as_array().unwrap().len(), 1);
    assert_eq!(mean_after(&s, 0, 0), mean_after(&sa, 0, 0));
    assert_eq!(mean_after(&s, 1, 1), mean_after(&sb, 0, 1));
    assert_ne!(
        mean_after(&sa, 0, 0),
        sa["rule"]["projections"][0]["mean_weight_before"]
            .as_f64()
            .unwrap()
    );
    assert_eq!(rules[0]["changes_applied"], sa["rule"]["changes_applied"]);
    assert_eq!(rules[1]["changes_applied"], sb["rule"]["changes_applied"]);
}

#[test]
fn overlapping_projections_are_refused_naming_both_rules_and_the_projection() {
    let tmp = tempfile::tempdir().unwrap();
    let [net, a, _] = files(tmp.path(), "");
    let stdp = so("eligo_stdp");
    let out = tmp.path().join("out");
    // two rules without `[host] plastic`: both learn every projection
    let o = eligo(&[
        "simulate",
        arg(&net),
        "--quiet",
        "--out",
        arg(&out),
        "--rule",
        arg(&stdp),
        "--rule",
        arg(&stdp),
    ]);
    refused(
        &o,
        &[
            "'input->a'",
            "rule 1 ('stdp')",
            "rule 2 ('stdp')",
            "[host] plastic = [",
        ],
    );
    // both name `input->a`
    let o = eligo(&[
        "simulate",
        arg(&net),
        "--quiet",
        "--out",
        arg(&out),
        "--rule",
        arg(&stdp),
        "--rule-config",
        arg(&a),
        "--rule",
        arg(&stdp),
        "--rule-config",
        arg(&a),
    ]);
    refused(&o, &["'input->a'", "rule 1", "rule 2", "one rule only"]);
    assert!(!out.exists(), "nothing written");
}

#[test]
fn a_rule_config_count_other_than_the_rule_count_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let [net, a, _] = files(tmp.path(), "");
    let stdp = so("eligo_stdp");
    let o = eligo(&[
        "simulate",
        arg(&net),
        "--quiet",
        "--out",
        arg(&tmp.path().join("out")),
        "--rule",
        arg(&stdp),
        "--rule-config",
        arg(&a),
        "--rule",
        arg(&stdp),
    ]);
    refused(
        &o,
        &[
            "--rule-config",
            "1 given for 2 --rule",
            "one --rule-config per --rule",
        ],
    );
}

#[test]
fn param_names_its_rule_when_there_are_several() {
    let tmp = tempfile::tempdir().unwrap();
    let [net, a, b] = files(tmp.path(), "");
    let stdp = so("eligo_stdp");
    let base = [
        "--rule",
        arg(&stdp),
        "--rule-config",
        arg(&a),
        "--rule",
        arg(&stdp),
        "--rule-config",
        arg(&b),
    ];
    let s = simulate(&net, &tmp.path().join("o1"), &base);
    let mut with = base.to_vec();
    with.extend(["--param", "2.a_plus=0.2"]);
    let s2 = simulate(&net, &tmp.path().join("o2"), &with);
    // rule 2 alone changed: rule 1's projection is as before, rule 2's is not
    assert_eq!(mean_after(&s2, 0, 0), mean_after(&s, 0, 0));
    assert_ne!(mean_after(&s2, 1, 1), mean_after(&s, 1, 1));
    // without the rule's name or position it is ambiguous; the name is too (both are stdp)
    for p in ["a_plus=0.2", "stdp.a_plus=0.2"] {
        let mut args = vec!["simulate", arg(&net), "--quiet", "--out"];
        let out = tmp.path().join("o3");
        args.push(arg(&out));
        args.extend(base);
        args.extend(["--param", p]);
        refused(&eligo(&args), &["--param", "position"]);
    }
}

#[test]
fn rule_tables_in_the_network_file_equal_the_same_rules_on_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let stdp = so("eligo_stdp");
    // rule A from a config file (relative to the network file), rule B inline
    let tables = format!(
        "\n[[rule]]\nrule = \"{}\"\nconfig = \"a.toml\"\n\n[[rule]]\nrule = \"{}\"\n\
         a_plus = 0.02\na_minus = 0.03\nw_max = 10.0\nmode = \"multiplicative\"\n\
         [rule.host]\nplastic = [\"input->b\"]\n",
        stdp.display(),
        stdp.display()
    );
    let [net, a, b] = files(tmp.path(), &tables);
    let [plain, ..] = files(
        &{
            let d = tmp.path().join("plain");
            std::fs::create_dir(&d).unwrap();
            d
        },
        "",
    );
    let from_file = simulate(&net, &tmp.path().join("f"), &[]);
    let from_cli = simulate(
        &plain,
        &tmp.path().join("c"),
        &[
            "--rule",
            arg(&stdp),
            "--rule-config",
            arg(&a),
            "--rule",
            arg(&stdp),
            "--rule-config",
            arg(&b),
        ],
    );
    assert_eq!(from_file["rules"].as_array().unwrap().len(), 2);
    assert_eq!(from_file["rules"], from_cli["rules"]);
    assert_ne!(
        mean_after(&from_file, 1, 1),
        from_file["rules"][1]["projections"][1]["mean_weight_before"]
            .as_f64()
            .unwrap()
    );
    // --rule on the command line replaces the file's rules
    let one = simulate(
        &net,
        &tmp.path().join("one"),
        &["--rule", arg(&stdp), "--rule-config", arg(&a)],
    );
    assert_eq!(one["rules"].as_array().unwrap().len(), 1);
}

/// e-prop on the small LSNN with `rule_tomls` attached in order (a regression target), after
/// one sequence: the simulation (with every rule's gradients).
fn eprop_run(rule_tomls: &[&str]) -> Simulation {
    let steps = 200;
    let spec = crate::common::lsnn(3, false, true);
    let mut sim = Simulation::new(spec.build().unwrap(), &SimOptions::default()).unwrap();
    for text in rule_tomls {
        let plugin = Plugin::load(&so("eligo_eprop")).unwrap();
        let cfg = config::parse(text, &plugin).unwrap();
        let r = RuleInstance::new(plugin, sim.network(), &cfg.values, cfg.host, steps).unwrap();
        sim.add_rule(r).unwrap();
    }
    let targets: Vec<f32> = (0..steps * 2).map(|t| (t as f32 * 0.05).sin()).collect();
    let loss = eligo_engine::optim::Loss::Mse { targets };
    let teacher = eligo_engine::optim::Teacher::new(2, 2, loss, 1);
    sim.set_teacher(Some(teacher)).unwrap();
    sim.run_sequence(steps, None).unwrap();
    sim.end_batch_of_one(steps).unwrap();
    sim
}

const EPROP_IN: &str =
    "[host]\nplastic = [\"in->rec\"]\nw_max = 0.05\n[optimizer]\nkind = \"sgd\"\nlr = 0.1\n";
const EPROP_REST: &str = "[host]\nplastic = [\"rec->rec\", \"rec->out\"]\n";

#[test]
fn two_gradient_rules_equal_each_alone_and_each_optimizer_leaves_the_other_rules_projections() {
    // gradient rules change no weight during the sequence, so they cannot interact through
    // the dynamics: each projection's gradient is the one its rule computes alone
    let alone_in = eprop_run(&[EPROP_IN]);
    let alone_rest = eprop_run(&[EPROP_REST]);
    let mut both = eprop_run(&[EPROP_IN, EPROP_REST]);
    let names: Vec<String> = both
        .network()
        .projections
        .iter()
        .map(|p| p.name.clone())
        .collect();
    assert_eq!(names, ["in->rec", "rec->rec", "rec->out"]);
    assert!(alone_in.grads()[0].iter().any(|g| *g != 0.0), "not a test");
    assert_eq!(both.rule_grads(0)[0], alone_in.grads()[0]);
    for j in [1, 2] {
        assert!(
            alone_rest.grads()[j].iter().any(|g| *g != 0.0),
            "not a test"
        );
        assert_eq!(both.rule_grads(1)[j], alone_rest.grads()[j], "{}", names[j]);
    }
    assert_eq!(both.rule_bias_grads(1)[2], alone_rest.bias_grads()[2]);
    // rule 1's optimizer (w_max 0.05) steps `in->rec` and leaves rule 2's projections alone,
    // though many of their weights lie above its bound
    let before: Vec<Vec<f32>> = both
        .network()
        .projections
        .iter()
        .map(|p| p.weights.clone())
        .collect();
    assert!(before[1].iter().chain(&before[2]).any(|w| *w > 0.05));
    let plugin = Plugin::load(&so("eligo_eprop")).unwrap();
    let host = config::parse(EPROP_IN, &plugin).unwrap().host;
    let mut opt = host.build_optimizer(both.network(), &[]).unwrap();
    both.apply_rule_gradients(0, &mut opt).unwrap();
    let after = &both.network().projections;
    assert_ne!(after[0].weights, before[0]);
    assert!(after[0].weights.iter().all(|w| *w <= 0.05));
    assert_eq!(after[1].weights, before[1]);
    assert_eq!(after[2].weights, before[2]);
}

#[test]
fn each_rules_state_is_saved_and_restored_in_attach_order() {
    let cfg = net_config::parse(NET).unwrap();
    let build = |rules: &[&str]| {
        let mut sim =
            Simulation::new(cfg.network.build().unwrap(), &SimOptions::default()).unwrap();
        for text in rules {
            let plugin = Plugin::load(&so("eligo_stdp")).unwrap();
            let rc = config::parse(text, &plugin).unwrap();
            let r =
                RuleInstance::new(plugin, sim.network(), &rc.values, rc.host, cfg.steps).unwrap();
            sim.add_rule(r).unwrap();
        }
        sim
    };
    let mut ran = build(&[RULE_A, RULE_B]);
    ran.run_sequence(cfg.steps, None).unwrap();
    let states = ran.save_rule_states().unwrap();
    assert_eq!(states.len(), 2);
    let mut fresh = build(&[RULE_A, RULE_B]);
    assert_ne!(fresh.save_rule_states().unwrap(), states, "not a test");
    fresh.load_rule_states(&states).unwrap();
    assert_eq!(fresh.save_rule_states().unwrap(), states);
    // one state per rule, or nothing is loaded
    let mut one = build(&[RULE_A]);
    let err = one.load_rule_states(&states).unwrap_err().to_string();
    assert!(
        err.contains("1 rules") && err.contains("one state per rule"),
        "{err}"
    );
}

#[test]
fn a_rule_table_with_a_config_file_and_inline_fields_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let [net, ..] = files(
        tmp.path(),
        "\n[[rule]]\nrule = \"stdp\"\nconfig = \"a.toml\"\na_plus = 0.1\n",
    );
    let o = eligo(&[
        "simulate",
        arg(&net),
        "--quiet",
        "--out",
        arg(&tmp.path().join("out")),
    ]);
    refused(&o, &["rule[0].a_plus", "not both"]);
    let [net, ..] = files(tmp.path(), "\n[[rule]]\nconfig = \"a.toml\"\n");
    let o = eligo(&[
        "simulate",
        arg(&net),
        "--quiet",
        "--out",
        arg(&tmp.path().join("out")),
    ]);
    refused(&o, &["rule[0].rule", "required"]);
}
