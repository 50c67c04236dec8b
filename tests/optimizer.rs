//! The one optimizer builder: a misspelt projection name in a rule config's `[optimizer]` table
//! is refused with exit 2 and a did-you-mean under every command that takes a rule config.

use super::common::{arg as s, eligo, refused};

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
to = "out"
rule = "all_to_all"
weight = { kind = "normal", mean = 0.0, std = 0.3 }
"#;

#[test]
fn a_misspelt_projection_in_the_optimizer_table_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.toml");
    std::fs::write(&net, NET).unwrap();
    let lr_typo = dir.path().join("lr.toml");
    std::fs::write(
        &lr_typo,
        "[optimizer]\nlr_by_projection = { \"in->rek\" = 0.001 }\n",
    )
    .unwrap();
    let decay_typo = dir.path().join("decay.toml");
    std::fs::write(
        &decay_typo,
        "[optimizer]\ndecay_by_projection = { \"rec->outt\" = 0.001 }\n",
    )
    .unwrap();
    let input = dir.path().join("input.npy");
    let ev: Vec<eligo_engine::io::npy::Event> = (0..50u64)
        .map(|t| eligo_engine::io::npy::Event {
            t: t * 1000,
            addr: (t % 10) as u32,
        })
        .collect();
    eligo_engine::io::npy::write_events(&input, &ev).unwrap();

    for (cfg, typo, right) in [
        (&lr_typo, "in->rek", "in->rec"),
        (&decay_typo, "rec->outt", "rec->out"),
    ] {
        let out = dir.path().join("sim");
        let o = eligo(&[
            "simulate",
            s(&net),
            "--rule",
            "eprop",
            "--rule-config",
            s(cfg),
            "--quiet",
            "--out",
            s(&out),
        ]);
        refused(&o, &[typo, right, "no projection has this name"]);
        assert!(!out.join("summary.json").exists());

        let g = dir.path().join("g.npz");
        let o = eligo(&[
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
            "--rule-config",
            s(cfg),
            "--out",
            s(&g),
        ]);
        refused(&o, &[typo, right]);
        assert!(!g.exists());
    }

    // train: the evidence network's projections are in->rec, rec->rec and rec->out
    let out = dir.path().join("train");
    let o = eligo(&[
        "train",
        "--task",
        "evidence",
        "--iterations",
        "1",
        "--batch",
        "2",
        "--scale",
        "0.1",
        "--threads",
        "1",
        "--quiet",
        "--rule-config",
        s(&decay_typo),
        "--out",
        s(&out),
    ]);
    refused(&o, &["rec->outt", "rec->out", "decay_by_projection"]);
    assert!(!out.join("summary.json").exists());
}
