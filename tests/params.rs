//! `--param NAME=VALUE`: any rule parameter from the command line, on `train`, `simulate` and
//! `grad`; the task's proposals reach only rules that declare them.

use super::common::{SMALL_TRAIN, arg as s, eligo, ok, refused};
use std::path::Path;

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn train_param_equals_the_rule_config_and_changes_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = [SMALL_TRAIN, &["--iterations", "2"]].concat();
        args.extend_from_slice(&["--out", s(&out)]);
        args.extend_from_slice(extra);
        ok(&eligo(&args));
        read(&out.join("weights.npz"))
    };
    let cfg = dir.path().join("rule.toml");
    std::fs::write(&cfg, "c_reg = 40.0\n").unwrap();
    let by_param = run("param", &["--param", "c_reg=40"]);
    let by_file = run("file", &["--rule-config", s(&cfg)]);
    let default = run("default", &[]);
    assert!(
        by_param == by_file,
        "--param c_reg=40 and c_reg = 40.0 in the rule config differ"
    );
    assert!(
        by_param != default,
        "--param c_reg=40 changed nothing (the task proposes 1)"
    );
    // the alias and the generic form are one thing
    assert!(
        run("alias", &["--feedback", "symmetric"])
            == run("generic", &["--param", "feedback=symmetric"]),
        "--feedback symmetric differs from --param feedback=symmetric"
    );
}

#[test]
fn a_param_the_rule_does_not_have_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t");
    let mut args = [SMALL_TRAIN, &["--iterations", "2"]].concat();
    args.extend_from_slice(&["--out", s(&out), "--param", "c_regg=1"]);
    refused(&eligo(&args), &["--param c_regg", "did you mean 'c_reg'"]);
    // BPTT has no feedback: an explicit --feedback was silently ignored before
    let mut args = [SMALL_TRAIN, &["--iterations", "2"]].concat();
    args.extend_from_slice(&[
        "--out",
        s(&out),
        "--rule",
        "bptt",
        "--feedback",
        "symmetric",
    ]);
    refused(
        &eligo(&args),
        &["--feedback", "rule 'bptt' has no parameter"],
    );
    // a malformed one
    let mut args = [SMALL_TRAIN, &["--iterations", "2"]].concat();
    args.extend_from_slice(&["--out", s(&out), "--param", "c_reg"]);
    refused(&eligo(&args), &["--param = c_reg", "NAME=VALUE"]);
    // a value out of the parameter's range
    let mut args = [SMALL_TRAIN, &["--iterations", "2"]].concat();
    args.extend_from_slice(&["--out", s(&out), "--param", "c_reg=-1"]);
    refused(&eligo(&args), &["--param c_reg = -1", "must be between"]);
    assert!(!out.exists(), "a refused run left its --out behind");
}

#[test]
fn simulate_param_equals_the_rule_config() {
    let dir = tempfile::tempdir().unwrap();
    let net = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/example_net.toml");
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "simulate",
            s(&net),
            "--rule",
            "stdp",
            "--quiet",
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        ok(&eligo(&args));
        let v: serde_json::Value =
            serde_json::from_str(&String::from_utf8(read(&out.join("summary.json"))).unwrap())
                .unwrap();
        v["rule"]["projections"].to_string()
    };
    let cfg = dir.path().join("stdp.toml");
    std::fs::write(&cfg, "a_plus = 0.05\n").unwrap();
    let by_param = run("param", &["--param", "a_plus=0.05"]);
    assert_eq!(by_param, run("file", &["--rule-config", s(&cfg)]));
    assert_ne!(
        by_param,
        run("default", &[]),
        "--param a_plus=0.05 changed nothing"
    );
    refused(
        &eligo(&[
            "simulate",
            s(&net),
            "--rule",
            "stdp",
            "--quiet",
            "--param",
            "a_pluss=1",
            "--out",
            s(&dir.path().join("x")),
        ]),
        &["--param a_pluss", "did you mean 'a_plus'"],
    );
}
