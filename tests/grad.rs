//! `eligo grad`: gradients of one batch to .npz, weights in and out, and its bad inputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use eligo_engine::io::npy::{Event, write_events};
use eligo_engine::io::npz::{self, Out};
use eligo_engine::io::{config, weights};

const NET: &str = r#"
dt_ms = 1.0
duration_ms = 100.0
seed = 4

[[population]]
name = "in"
model = "external"
size = 10

[[population]]
name = "rec"
model = "lif"
size = 20
n_ref = 2

[[population]]
name = "out"
model = "readout"
size = 2

[[projection]]
from = "in"
to = "rec"
rule = "fixed_probability"
p = 0.6
weight = { kind = "normal", mean = 0.25, std = 0.2 }

[[projection]]
from = "rec"
to = "rec"
rule = "fixed_probability"
p = 0.3
weight = { kind = "normal", mean = 0.0, std = 0.2 }

[[projection]]
from = "rec"
to = "out"
rule = "all_to_all"
weight = { kind = "normal", mean = 0.0, std = 0.3 }
"#;

struct Setup {
    dir: tempfile::TempDir,
    net: PathBuf,
    input: PathBuf,
    targets: PathBuf,
}

fn write_targets(path: &Path, rows: usize, cols: usize) {
    let data: Vec<f32> = (0..rows * cols).map(|k| ((k as f32) * 0.1).sin()).collect();
    let mut f = std::fs::File::create(path).unwrap();
    use npyz::WriterBuilder;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[rows as u64, cols as u64])
        .writer(&mut f)
        .begin_nd()
        .unwrap();
    w.extend(data).unwrap();
    w.finish().unwrap();
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.toml");
    std::fs::write(&net, NET).unwrap();
    // every input neuron fires every 4th step, shifted by its index
    let mut ev = Vec::new();
    for t in 0..100u64 {
        for i in 0..10u32 {
            if (t + u64::from(i)) % 4 == 0 {
                ev.push(Event {
                    t: t * 1000,
                    addr: i,
                });
            }
        }
    }
    let input = dir.path().join("input.npy");
    write_events(&input, &ev).unwrap();
    let targets = dir.path().join("targets.npy");
    write_targets(&targets, 100, 2);
    Setup {
        dir,
        net,
        input,
        targets,
    }
}

fn grad(s: &Setup, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eligo"))
        .arg("grad")
        .arg(&s.net)
        .arg("--input")
        .arg(&s.input)
        .args(["--rule", "eprop", "--out"])
        .arg(s.dir.path().join("g.npz"))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn writes_gradients_spikes_and_loss() {
    let s = setup();
    let o = grad(&s, &["--targets", s.targets.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let g = npz::read(&s.dir.path().join("g.npz")).unwrap();
    let loss = g["loss"].data[0];
    assert!(loss > 0.0 && loss.is_finite(), "loss {loss}");
    // every projection's gradient in CSR layout, same structure as the weights written beside it
    for p in ["in->rec", "rec->rec", "rec->out"] {
        let data = &g[&format!("grad/{p}/data")];
        assert_eq!(data.data.len(), g[&format!("weights/{p}/data")].data.len());
        assert_eq!(
            g[&format!("grad/{p}/indptr")],
            g[&format!("weights/{p}/indptr")]
        );
        assert!(
            data.data.iter().any(|x| *x != 0.0),
            "{p}: all-zero gradient"
        );
    }
    assert_eq!(g["grad/out/bias"].data.len(), 2);
    // the input spikes are exactly the ones given
    assert_eq!(g["spikes/in/step"].data.len(), 250);
    assert!(
        !g["spikes/rec/step"].data.is_empty(),
        "the network must spike"
    );
    // classification works too
    let o = grad(&s, &["--class", "1", "--window-ms", "50:100"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn weights_round_trip_and_given_weights_are_used() {
    let s = setup();
    let cfg = config::load(&s.net).unwrap();
    let mut net = cfg.network.build().unwrap();
    for p in &mut net.projections {
        for w in &mut p.weights {
            *w *= 1.5;
        }
    }
    let biases = vec![vec![], vec![], vec![0.5, -0.25]];
    let wpath = s.dir.path().join("w.npz");
    weights::save(&wpath, &net, &biases).unwrap();
    // load into a freshly built copy: identical
    let mut fresh = cfg.network.build().unwrap();
    let mut b = weights::default_biases(&fresh);
    weights::load(&wpath, &mut fresh, &mut b).unwrap();
    assert_eq!(fresh.projections, net.projections);
    assert_eq!(b, biases);
    // and `grad --weights` runs with them (the weights it reports are those)
    let o = grad(
        &s,
        &[
            "--targets",
            s.targets.to_str().unwrap(),
            "--weights",
            wpath.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let g = npz::read(&s.dir.path().join("g.npz")).unwrap();
    let w: Vec<f32> = g["weights/rec->out/data"]
        .data
        .iter()
        .map(|&x| x as f32)
        .collect();
    assert_eq!(w, net.projections[2].weights);
    assert_eq!(g["weights/out/bias"].data, vec![0.5, -0.25]);
}

fn refused(s: &Setup, extra: &[&str], must: &[&str]) {
    let o = grad(s, extra);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for m in must {
        assert!(err.contains(m), "{m:?} missing from: {err}");
    }
    assert!(
        !s.dir.path().join("g.npz").exists(),
        "output written for bad input"
    );
}

#[test]
fn bad_inputs_are_refused() {
    let s = setup();
    let t = s.targets.to_str().unwrap().to_string();
    // weights whose shapes do not match the network
    let cfg = config::load(&s.net).unwrap();
    let net = cfg.network.build().unwrap();
    let mut arrays = weights::arrays(&net, &weights::default_biases(&net), "");
    arrays.insert("in->rec/indptr".into(), Out::U32(vec![3], vec![0, 1, 2]));
    let bad = s.dir.path().join("bad.npz");
    npz::write(&bad, &arrays).unwrap();
    refused(
        &s,
        &["--targets", &t, "--weights", bad.to_str().unwrap()],
        &["bad.npz", "in->rec/indptr", "another network"],
    );
    // dense weights of the wrong shape
    let mut arrays: BTreeMap<String, Out> =
        weights::arrays(&net, &weights::default_biases(&net), "");
    arrays.retain(|k, _| !k.starts_with("rec->out/"));
    arrays.insert("rec->out".into(), Out::F32(vec![3, 20], vec![0.0; 60]));
    npz::write(&bad, &arrays).unwrap();
    refused(
        &s,
        &["--targets", &t, "--weights", bad.to_str().unwrap()],
        &["rec->out", "[2, 20]"],
    );
    // NaN in weights
    let mut arrays = weights::arrays(&net, &weights::default_biases(&net), "");
    let mut w = net.projections[1].weights.clone();
    w[3] = f32::NAN;
    arrays.insert("rec->rec/data".into(), Out::F32(vec![w.len() as u64], w));
    npz::write(&bad, &arrays).unwrap();
    refused(
        &s,
        &["--targets", &t, "--weights", bad.to_str().unwrap()],
        &["rec->rec/data[3]", "NaN", "finite"],
    );
    // an input spike addressing a missing neuron
    let input = s.dir.path().join("bad_input.npy");
    write_events(
        &input,
        &[Event { t: 0, addr: 1 }, Event { t: 5000, addr: 10 }],
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_eligo"))
        .arg("grad")
        .arg(&s.net)
        .arg("--input")
        .arg(&input)
        .args(["--rule", "eprop", "--targets", &t, "--out"])
        .arg(s.dir.path().join("g.npz"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad_input.npy") && err.contains("event 1") && err.contains("addr 10"),
        "{err}"
    );
    // targets of the wrong length
    let short = s.dir.path().join("short.npy");
    write_targets(&short, 99, 2);
    refused(
        &s,
        &["--targets", short.to_str().unwrap()],
        &["short.npy", "[99, 2]", "[100, 2]"],
    );
}

#[test]
fn help_marks_rule_required_and_a_run_without_one_is_refused() {
    let help = |cmd: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_eligo"))
            .args([cmd, "--help"])
            .output()
            .unwrap();
        assert!(o.status.success());
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let at = text.find("--rule <RULE>").expect("--rule in help");
        text[at..].lines().take(2).collect::<Vec<_>>().join(" ")
    };
    let g = help("grad");
    assert!(g.contains("(required"), "{g}");
    // simulate's --rule stays optional (a run without rules)
    let s = help("simulate");
    assert!(!s.contains("required"), "{s}");
    assert!(s.contains("Default: the network description's"), "{s}");

    let s = setup();
    let o = Command::new(env!("CARGO_BIN_EXE_eligo"))
        .arg("grad")
        .arg(&s.net)
        .arg("--input")
        .arg(&s.input)
        .arg("--targets")
        .arg(&s.targets)
        .arg("--out")
        .arg(s.dir.path().join("g.npz"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--rule") && err.contains("needs a learning rule"),
        "{err}"
    );
    assert!(!s.dir.path().join("g.npz").exists());
}
