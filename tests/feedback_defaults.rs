//! e-prop's two feedback defaults: `train` passes `random`, the plugin's own default (what
//! `simulate` and `grad` use) is `symmetric`; both are stated where they are shown, and both
//! are what they say.

use super::common::{SMALL_TRAIN, arg as s, eligo, ok};

#[test]
fn both_feedback_defaults_are_stated_where_shown() {
    let o = eligo(&["plugins"]);
    ok(&o);
    let list = String::from_utf8_lossy(&o.stdout);
    let line = list
        .lines()
        .find(|l| l.trim_start().starts_with("feedback "))
        .unwrap_or_else(|| panic!("no feedback line in: {list}"));
    assert!(line.contains("= symmetric"), "{line}");
    assert!(line.contains("train's default: random"), "{line}");

    let o = eligo(&["train", "--help"]);
    ok(&o);
    let help = String::from_utf8_lossy(&o.stdout);
    let at = help
        .find("--feedback <FEEDBACK>")
        .expect("--feedback in train --help");
    let entry: String = help[at..].lines().take(3).collect::<Vec<_>>().join(" ");
    assert!(entry.contains("default random"), "{entry}");
    assert!(
        entry.contains("own default") && entry.contains("is symmetric"),
        "{entry}"
    );
}

const NET: &str = r#"
dt_ms = 1.0
duration_ms = 50.0
seed = 4

[[population]]
name = "in"
model = "external"
size = 10

[[population]]
name = "rec"
model = "lif"
size = 20

[[population]]
name = "out"
model = "readout"
size = 2

[[projection]]
from = "in"
to = "rec"
rule = "all_to_all"
weight = { kind = "normal", mean = 0.2, std = 0.1 }

[[projection]]
from = "rec"
to = "rec"
rule = "all_to_all"
weight = { kind = "normal", mean = 0.0, std = 0.1 }

[[projection]]
from = "rec"
to = "out"
rule = "all_to_all"
weight = { kind = "normal", mean = 0.0, std = 0.3 }
"#;

#[test]
fn both_feedback_defaults_are_what_they_say() {
    let dir = tempfile::tempdir().unwrap();
    let read = |p: std::path::PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));

    // train: no --feedback is --feedback random, and symmetric is another run
    let train = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = [SMALL_TRAIN, &["--iterations", "2", "--out", s(&out)]].concat();
        args.extend_from_slice(extra);
        ok(&eligo(&args));
        read(out.join("weights.npz"))
    };
    let default = train("t_default", &[]);
    assert!(default == train("t_random", &["--feedback", "random"]));
    assert!(default != train("t_symmetric", &["--feedback", "symmetric"]));

    // grad: no feedback parameter is feedback = symmetric, and random is another gradient
    let net = dir.path().join("net.toml");
    std::fs::write(&net, NET).unwrap();
    let input = dir.path().join("input.npy");
    let ev: Vec<eligo_engine::io::npy::Event> = (0..50u64)
        .map(|t| eligo_engine::io::npy::Event {
            t: t * 1000,
            addr: (t % 10) as u32,
        })
        .collect();
    eligo_engine::io::npy::write_events(&input, &ev).unwrap();
    let grad = |name: &str, extra: &[&str]| {
        let out = dir.path().join(format!("{name}.npz"));
        let mut args = vec![
            "grad",
            s(&net),
            "--input",
            s(&input),
            "--class",
            "0",
            "--window-ms",
            "40:50",
            "--rule",
            "eprop",
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        ok(&eligo(&args));
        let g = eligo_engine::io::npz::read(&out).unwrap();
        g["grad/in->rec/data"].data.clone()
    };
    let default = grad("g_default", &[]);
    assert!(
        default.iter().any(|&x| x != 0.0),
        "an all-zero gradient tests nothing"
    );
    assert_eq!(
        default,
        grad("g_symmetric", &["--param", "feedback=symmetric"])
    );
    assert_ne!(default, grad("g_random", &["--param", "feedback=random"]));
}
