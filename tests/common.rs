//! Helpers shared by the integration test modules: the built plugins and the small LSNN test
//! network.

use std::path::PathBuf;

use eligo_engine::network::{ConnectRule, NetworkSpec, PopulationSpec, ProjectionSpec, WeightDist};
use eligo_engine::neuron::{AlifParams, LifParams, ModelSpec, PoissonParams, ReadoutParams};

/// The `.so` of a workspace plugin crate, built by cargo next to this test binary.
pub fn so(lib: &str) -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let p = deps.join(format!(
        "{}{lib}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(p.is_file(), "{} not built", p.display());
    p
}

/// A projection with normal weights `N(mean, std)`, delay 1, no self-connections.
pub fn proj(from: &str, to: &str, rule: ConnectRule, mean: f64, std: f64) -> ProjectionSpec {
    ProjectionSpec::new(from, to, rule, WeightDist::Normal { mean, std })
}

/// 20 Poisson inputs (60 Hz) -> 40 recurrent (LIF, or 20 LIF + 20 ALIF), with or without
/// recurrent weights -> 2 readouts (20 ms, bias 0.1).
pub fn lsnn(seed: u64, alif: bool, recurrent: bool) -> NetworkSpec {
    let rec = if alif {
        ModelSpec::Alif(AlifParams {
            tau_a_ms: 200.0,
            beta: 0.3,
            n_lif: 20,
            t_ref_ms: Some(3.0),
            ..Default::default()
        })
    } else {
        ModelSpec::Lif(LifParams {
            t_ref_ms: Some(3.0),
            ..Default::default()
        })
    };
    let mut projections = vec![proj(
        "in",
        "rec",
        ConnectRule::FixedProbability { p: 0.5 },
        0.08,
        0.15,
    )];
    if recurrent {
        projections.push(proj(
            "rec",
            "rec",
            ConnectRule::FixedProbability { p: 0.3 },
            0.0,
            0.2,
        ));
    }
    projections.push(proj("rec", "out", ConnectRule::AllToAll, 0.0, 0.3));
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
        projections,
    }
}

/// Run the `eligo` binary with `args`.
pub fn eligo(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args(args)
        .output()
        .expect("eligo runs")
}

/// The path as a command-line argument.
pub fn arg(p: &std::path::Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Assert success, showing stderr otherwise.
pub fn ok(o: &std::process::Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Assert a refusal of bad input: exit 2, no panic, and each of `must` in the message.
pub fn refused(o: &std::process::Output, must: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for m in must {
        assert!(err.contains(m), "{m:?} missing from: {err}");
    }
}

/// `eligo train` on a scaled-down evidence task (0.1 of the sequence length, batch 4, one
/// thread, quiet): the small training run of the CLI tests.
pub const SMALL_TRAIN: &[&str] = &[
    "train",
    "--task",
    "evidence",
    "--scale",
    "0.1",
    "--batch",
    "4",
    "--quiet",
    "--threads",
    "1",
];
