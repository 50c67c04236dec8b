//! `eligo simulate --rule` keeps the learned network: `weights.npz` (the layout of `eligo
//! train`'s, loadable back) and `[[recorder]] kind = "weights"` (a projection's weights every N
//! ms, streamed), with the real `stdp` plugin on the example network cut to 50 ms.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eligo_engine::io::{config, npy, npz, weights};
use eligo_engine::network::Network;
use eligo_engine::sim::WeightProbe;

use crate::common::{arg, eligo, ok, refused, so};

/// The example network (dt 0.1 ms), `duration_ms` long, with `extra` appended (recorders).
fn example(duration_ms: f64, extra: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/example_net.toml"),
    )
    .unwrap();
    assert!(text.contains("duration_ms = 1000.0"));
    let text = text.replace(
        "duration_ms = 1000.0",
        &format!("duration_ms = {duration_ms:?}"),
    );
    format!("{text}\n{extra}")
}

/// STDP on `exc->exc` only.
const RULE: &str = "[host]\nplastic = [\"exc->exc\"]\n";

const RECORDER: &str = "[[recorder]]\nkind = \"weights\"\nprojection = [\"exc->exc\", \
                        \"input->exc\"]\nevery_ms = 10.0\n";

/// Write `net` and the rule config into `dir`, run `simulate` (with the `stdp` rule if `rule`)
/// on `threads` threads into `dir/out_name`; returns that directory.
fn simulate(dir: &Path, net: &str, rule: bool, threads: &str, out_name: &str) -> PathBuf {
    let (toml, rule_toml) = (dir.join("net.toml"), dir.join("rule.toml"));
    std::fs::write(&toml, net).unwrap();
    std::fs::write(&rule_toml, RULE).unwrap();
    let out = dir.join(out_name);
    let stdp = so("eligo_stdp");
    let mut args = vec!["simulate", arg(&toml), "--out", arg(&out), "--quiet"];
    args.extend(["--threads", threads]);
    if rule {
        args.extend(["--rule", arg(&stdp), "--rule-config", arg(&rule_toml)]);
    }
    ok(&eligo(&args));
    out
}

/// The network the description draws, built here (not by the run under test).
fn drawn(net: &str) -> Network {
    config::parse(net).unwrap().network.build().unwrap()
}

fn npz_f32(a: &BTreeMap<String, npz::Array>, key: &str) -> Vec<f32> {
    a[key].data.iter().map(|&x| x as f32).collect()
}

fn bits(w: &[f32]) -> Vec<u32> {
    w.iter().map(|x| x.to_bits()).collect()
}

/// A weight recorder file: (shape, values).
fn recorded(out: &Path, projection: &str) -> (Vec<u64>, Vec<f32>) {
    npy::read_floats(
        &out.join(format!("weights_{projection}.npy")),
        "test",
        1 << 26,
        "",
    )
    .unwrap()
}

#[test]
fn simulate_with_a_rule_writes_the_learned_weights_and_they_load_back() {
    let dir = tempfile::tempdir().unwrap();
    let text = example(50.0, "");
    let out = simulate(dir.path(), &text, true, "1", "out");
    let net = drawn(&text);
    let a = npz::read(&out.join("weights.npz")).expect("simulate --rule writes weights.npz");
    for p in &net.projections {
        let data = npz_f32(&a, &format!("{}/data", p.name));
        // the layout of `eligo train`'s weights.npz: the network's CSR structure
        let ints = |k: &str| -> Vec<u32> {
            a[&format!("{}/{k}", p.name)]
                .data
                .iter()
                .map(|&x| x as u32)
                .collect()
        };
        assert_eq!(ints("indptr"), p.indptr, "{}", p.name);
        assert_eq!(ints("indices"), p.targets, "{}", p.name);
        if p.name == "exc->exc" {
            assert_ne!(bits(&data), bits(&p.weights), "STDP changed no weight");
        } else {
            assert_eq!(bits(&data), bits(&p.weights), "{} is not plastic", p.name);
        }
    }
    // loaded into a freshly drawn network, the learned weights are the network's, bit for bit
    let mut loaded = net.clone();
    let mut biases = weights::default_biases(&loaded);
    weights::load(&out.join("weights.npz"), &mut loaded, &mut biases).unwrap();
    for p in &loaded.projections {
        assert_eq!(
            bits(&p.weights),
            bits(&npz_f32(&a, &format!("{}/data", p.name))),
            "{}",
            p.name
        );
    }
    assert_ne!(loaded, net);
}

#[test]
fn simulate_without_a_rule_writes_no_weights() {
    let dir = tempfile::tempdir().unwrap();
    let out = simulate(dir.path(), &example(20.0, ""), false, "1", "out");
    assert!(out.join("summary.json").is_file());
    assert!(!out.join("weights.npz").exists());
}

#[test]
fn weight_recorder_rows_are_the_weights_every_every_ms() {
    let dir = tempfile::tempdir().unwrap();
    let text = example(50.0, RECORDER);
    let out = simulate(dir.path(), &text, true, "1", "out");
    let a = npz::read(&out.join("weights.npz")).unwrap();
    let net = drawn(&text);
    let n = |name: &str| net.projections.iter().find(|p| p.name == name).unwrap();
    for name in ["exc->exc", "input->exc"] {
        let (shape, rows) = recorded(&out, name);
        let syn = n(name).len();
        // 50 ms / 10 ms: rows at t = 10, 20, 30, 40, 50 ms
        assert_eq!(shape, [5, syn as u64], "{name}");
        let last = &rows[4 * syn..];
        assert_eq!(bits(last), bits(&npz_f32(&a, &format!("{name}/data"))));
    }
    let (_, plastic) = recorded(&out, "exc->exc");
    let syn = n("exc->exc").len();
    assert_ne!(
        bits(&plastic[..syn]),
        bits(&plastic[4 * syn..]),
        "the recorded plastic weights never changed"
    );
    // row k is the weights after (k + 1) * 10 ms: those a 20 ms run ends with
    let short = simulate(dir.path(), &example(20.0, ""), true, "1", "short");
    let b = npz::read(&short.join("weights.npz")).unwrap();
    assert_eq!(
        bits(&plastic[syn..2 * syn]),
        bits(&npz_f32(&b, "exc->exc/data"))
    );
}

#[test]
fn weight_recorder_with_every_ms_not_dividing_the_duration() {
    let dir = tempfile::tempdir().unwrap();
    let rec = RECORDER.replace("every_ms = 10.0", "every_ms = 15.0");
    let out = simulate(dir.path(), &example(50.0, &rec), true, "1", "out");
    // rows at 15, 30, 45 ms; nothing after the last whole interval
    let (shape, _) = recorded(&out, "exc->exc");
    assert_eq!(shape[0], 3);
}

#[test]
fn weights_and_recorders_are_identical_on_1_and_2_threads() {
    let dir = tempfile::tempdir().unwrap();
    let text = example(50.0, RECORDER);
    let one = simulate(dir.path(), &text, true, "1", "t1");
    let two = simulate(dir.path(), &text, true, "2", "t2");
    for f in [
        "weights.npz",
        "weights_exc->exc.npy",
        "weights_input->exc.npy",
    ] {
        let read = |d: &Path| std::fs::read(d.join(f)).unwrap();
        assert!(
            read(&one) == read(&two),
            "{f} differs between 1 and 2 threads"
        );
    }
}

#[test]
fn weight_recorder_config_is_parsed_and_its_bytes_are_counted() {
    let text = example(50.0, RECORDER);
    let c = config::parse(&text).unwrap();
    // projections in the order of the example: input->exc is 0, exc->exc is 2; 100 steps each
    assert_eq!(
        c.weights,
        [
            WeightProbe {
                projection: 2,
                every_steps: 100
            },
            WeightProbe {
                projection: 0,
                every_steps: 100
            },
        ]
    );
    let without = config::parse(&example(50.0, "")).unwrap();
    // exc->exc: p = 0.05 of 800 x 800 - 800 pairs = 31 960 synapses; input->exc: k = 40 of
    // each of 800 neurons = 32 000; 5 rows of 4 bytes each
    assert_eq!(
        c.output_bytes() - without.output_bytes(),
        (31_960 + 32_000) * 5 * 4
    );
    assert_eq!(
        c.estimate(1).unwrap().total_bytes - without.estimate(1).unwrap().total_bytes,
        2 << 20
    );
}

#[test]
fn bad_weight_recorders_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("net.toml");
    let case = |rec: &str, must: &[&str]| {
        std::fs::write(&toml, example(50.0, rec)).unwrap();
        let out = dir.path().join("out");
        let o = eligo(&["simulate", arg(&toml), "--out", arg(&out), "--quiet"]);
        refused(&o, must);
        assert!(!out.exists(), "nothing written for {rec}");
    };
    let w = |fields: &str| format!("[[recorder]]\nkind = \"weights\"\n{fields}\n");
    case(
        &w("projection = \"exc->exx\"\nevery_ms = 10.0"),
        &[
            "recorder[3].projection",
            "'exc->exx'",
            "did you mean 'exc->exc'?",
        ],
    );
    case(
        &w("projection = [\"exc->exc\", \"inh->exx\"]\nevery_ms = 10.0"),
        &["recorder[3].projection", "'inh->exx'", "did you mean"],
    );
    for bad in ["0.05", "0.0", "-10.0", "60.0"] {
        case(
            &w(&format!("projection = \"exc->exc\"\nevery_ms = {bad}")),
            &["recorder[3].every_ms", "dt = 0.1 ms"],
        );
    }
    case(
        &w("projection = \"exc->exc\""),
        &["recorder[3].every_ms", "missing"],
    );
    case(
        &w("every_ms = 10.0"),
        &["recorder[3].projection", "missing"],
    );
    case(
        &w("projection = []\nevery_ms = 10.0"),
        &["recorder[3].projection", "at least one"],
    );
    case(
        &w("projection = \"exc->exc\"\nevery_ms = 10.0\npopulation = \"exc\""),
        &["recorder[3].population", "unknown field"],
    );
    case(
        &format!(
            "{}{}",
            w("projection = \"exc->exc\"\nevery_ms = 10.0"),
            w("projection = \"exc->exc\"\nevery_ms = 5.0")
        ),
        &["recorder[4].projection", "recorded once"],
    );
    case(
        "[[recorder]]\npopulation = \"exc\"\nkind = \"weight\"\n",
        &["recorder[3].kind", "did you mean 'weights'?"],
    );
}
