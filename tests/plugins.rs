//! Integration tests of the plugin system with the real, dynamically loaded `.so` files.

use std::path::PathBuf;

use eligo_engine::network::{ConnectRule, NetworkSpec, PopulationSpec, ProjectionSpec, WeightDist};
use eligo_engine::neuron::{LifParams, ModelSpec, SpikeTimesParams};
use eligo_engine::plugin::{Plugin, RuleInstance, config};
use eligo_engine::prelude::*;

use crate::common::so;

/// `n_pre` sources spiking at `pre_ms[i]`, all-to-all onto one LIF neuron clamped to spike at
/// `post_ms`, initial weights `w0`.
fn pair_network(pre_ms: &[f64], post_ms: &[u64], w0: f64) -> Simulation {
    pair_network_on(pre_ms, post_ms, w0, 1)
}

/// [`pair_network`] on `threads` threads (sources and the LIF neuron end up on different ones).
fn pair_network_on(pre_ms: &[f64], post_ms: &[u64], w0: f64, threads: usize) -> Simulation {
    let spec = NetworkSpec {
        dt_ms: 1.0,
        seed: 1,
        populations: vec![
            PopulationSpec {
                name: "pre".into(),
                size: pre_ms.len() as u32,
                model: ModelSpec::SpikeTimes(SpikeTimesParams {
                    times_ms: pre_ms
                        .iter()
                        .enumerate()
                        .map(|(i, &t)| (i as u32, t))
                        .collect(),
                }),
                v_init: None,
            },
            PopulationSpec {
                name: "post".into(),
                size: 1,
                model: ModelSpec::Lif(LifParams::default()),
                v_init: None,
            },
        ],
        projections: vec![ProjectionSpec::new(
            "pre",
            "post",
            ConnectRule::AllToAll,
            WeightDist::Constant(w0),
        )],
    };
    let opts = SimOptions {
        threads,
        ..SimOptions::default()
    };
    let mut sim = Simulation::new(spec.build().unwrap(), &opts).unwrap();
    let events: Vec<(u64, u32)> = post_ms.iter().map(|&t| (t, 0)).collect();
    sim.clamp(1, &events).unwrap();
    sim
}

fn run_stdp(sim: &mut Simulation, rule_toml: &str, steps: u64) -> Vec<f32> {
    let plugin = Plugin::load(&so("eligo_stdp")).unwrap();
    let cfg = config::parse(rule_toml, &plugin).unwrap();
    let r = RuleInstance::new(plugin, sim.network(), &cfg.values, cfg.host, steps).unwrap();
    sim.set_rule(r).unwrap();
    sim.begin_sequence().unwrap();
    sim.run(steps, None).unwrap();
    sim.network().projections[0].weights.clone()
}

const RULE: &str = "a_plus = 0.01\na_minus = 0.012\ntau_plus_ms = 17.0\ntau_minus_ms = 23.0\n";

/// Pair STDP in closed form: lag = t_post - t_pre (ms); coincident counts as causal.
fn pair(lag: f64) -> f64 {
    if lag >= 0.0 {
        0.01 * (-lag / 17.0).exp()
    } else {
        -0.012 * (lag / 23.0).exp()
    }
}

#[test]
fn stdp_matches_closed_form_for_lags_minus_30_to_30() {
    // pre neuron i spikes at 10 + i ms, the post neuron at 40 ms: lag = 30 - i
    let pre: Vec<f64> = (0..=60).map(|i| 10.0 + i as f64).collect();
    let mut sim = pair_network(&pre, &[40], 0.5);
    let w = run_stdp(&mut sim, RULE, 100);
    for (i, &wi) in w.iter().enumerate() {
        let lag = 30.0 - i as f64;
        let want = 0.5 + pair(lag);
        assert!(
            (f64::from(wi) - want).abs() < 1e-6,
            "lag {lag}: {wi} vs {want}"
        );
    }
    // the closed form is not trivially satisfied: depression and potentiation both happened
    assert!(w[0] > 0.5 && w[60] < 0.5 && w[30] > w[29]);
}

#[test]
fn stdp_sums_all_pairs() {
    // post spikes at 40 and 55 ms: each synapse sums both pairs (additive, no bound reached)
    let pre: Vec<f64> = (0..=60).map(|i| 10.0 + i as f64).collect();
    let mut sim = pair_network(&pre, &[40, 55], 0.5);
    let w = run_stdp(&mut sim, RULE, 100);
    for (i, &wi) in w.iter().enumerate() {
        let t_pre = 10.0 + i as f64;
        let want = 0.5 + pair(40.0 - t_pre) + pair(55.0 - t_pre);
        assert!(
            (f64::from(wi) - want).abs() < 1e-6,
            "pre at {t_pre}: {wi} vs {want}"
        );
    }
}

#[test]
fn stdp_bounds_and_multiplicative() {
    // causal pair near the upper bound is clipped to w_max; acausal near 0 clipped to w_min
    let mut sim = pair_network(&[20.0], &[20], 0.995);
    assert_eq!(run_stdp(&mut sim, RULE, 40)[0], 1.0);
    let mut sim = pair_network(&[21.0], &[20], 0.005);
    assert_eq!(run_stdp(&mut sim, RULE, 40)[0], 0.0);
    // multiplicative: dw = a_plus x (w_max - w) and -a_minus y w
    let rule = format!("{RULE}mode = \"multiplicative\"\nw_max = 2.0\n");
    let mut sim = pair_network(&[10.0, 30.0], &[20], 0.5);
    let w = run_stdp(&mut sim, &rule, 40);
    let want_ltp = 0.5 + 0.01 * (-10.0f64 / 17.0).exp() * (2.0 - 0.5);
    let want_ltd = 0.5 - 0.012 * (-10.0f64 / 23.0).exp() * 0.5;
    assert!(
        (f64::from(w[0]) - want_ltp).abs() < 1e-6,
        "{} vs {want_ltp}",
        w[0]
    );
    assert!(
        (f64::from(w[1]) - want_ltd).abs() < 1e-6,
        "{} vs {want_ltd}",
        w[1]
    );
}

#[test]
fn panicking_plugin_is_an_error_and_weights_are_unchanged() {
    // on 2 threads the failing rule must also stop every thread (no hang)
    for threads in [1, 2] {
        let mut sim = pair_network_on(&[1.0, 2.0, 3.0], &[4], 0.25, threads);
        let plugin = Plugin::load(&so("eligo_test_panic")).unwrap();
        let cfg = config::parse("panic_at = 5", &plugin).unwrap();
        let r = RuleInstance::new(plugin, sim.network(), &cfg.values, cfg.host, 20).unwrap();
        sim.set_rule(r).unwrap();
        sim.begin_sequence().unwrap();
        let err = sim.run(20, None).unwrap_err().to_string();
        for m in ["test_panic", "on_step", "step 5", "deliberate test panic"] {
            assert!(err.contains(m), "{m:?} missing from: {err}");
        }
        // the rule had raised every weight by 1 in steps 0..4; all of that is undone
        assert_eq!(sim.network().projections[0].weights, vec![0.25; 3]);
    }
}

#[test]
fn nan_output_is_refused_naming_projection_and_step() {
    let mut sim = pair_network(&[1.0, 2.0], &[4], 0.25);
    let plugin = Plugin::load(&so("eligo_test_panic")).unwrap();
    let cfg = config::parse("panic_at = 1000\nnan_at = 7", &plugin).unwrap();
    let r = RuleInstance::new(plugin, sim.network(), &cfg.values, cfg.host, 20).unwrap();
    sim.set_rule(r).unwrap();
    sim.begin_sequence().unwrap();
    let err = sim.run(20, None).unwrap_err().to_string();
    assert!(
        err.contains("step 7") && err.contains("pre->post") && err.contains("NaN"),
        "{err}"
    );
    assert_eq!(sim.network().projections[0].weights, vec![0.25; 2]);
}

#[test]
fn other_abi_major_is_refused_with_both_versions() {
    let err = Plugin::load(&so("eligo_test_badabi"))
        .unwrap_err()
        .to_string();
    let ours = format!(
        "this eligo speaks ABI {}.{}",
        eligo_plugin::abi::ABI_MAJOR,
        eligo_plugin::abi::ABI_MINOR
    );
    for m in [
        "built for ABI 999.3",
        &ours,
        "rebuild it against eligo-plugin",
    ] {
        assert!(err.contains(m), "{m:?} missing from: {err}");
    }
}

#[test]
fn non_plugin_library_missing_file_and_garbage_are_refused() {
    let err = Plugin::load(&so("eligo_test_notplugin")).unwrap_err();
    assert!(err.is_input());
    let msg = err.to_string();
    assert!(
        msg.contains("not an Eligo plugin") && msg.contains("eligo_plugin_entry"),
        "{msg}"
    );

    let err = Plugin::load(std::path::Path::new("/nonexistent/libnothing.so")).unwrap_err();
    assert!(err.to_string().contains("no such plugin file"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("libfake.so");
    std::fs::write(&fake, "this is text, not ELF").unwrap();
    let err = Plugin::load(&fake).unwrap_err().to_string();
    assert!(
        err.contains("not a loadable shared library") && err.contains("libfake.so"),
        "{err}"
    );
}

#[test]
fn rule_config_errors_name_the_parameter() {
    let plugin = Plugin::load(&so("eligo_stdp")).unwrap();
    let e = config::parse("a_plsu = 0.1", &plugin)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("a_plsu") && e.contains("did you mean 'a_plus'"),
        "{e}"
    );
    let e = config::parse("tau_plus_ms = -1", &plugin)
        .unwrap_err()
        .to_string();
    assert!(e.contains("tau_plus_ms = -1") && e.contains("ms"), "{e}");
    let e = config::parse("mode = \"additiv\"", &plugin)
        .unwrap_err()
        .to_string();
    assert!(e.contains("did you mean 'additive'"), "{e}");
}

#[test]
fn cli_refuses_bad_plugins_with_exit_code_2() {
    let net = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/example_net.toml");
    let dir = tempfile::tempdir().unwrap();
    for (lib, msg) in [
        ("eligo_test_badabi", "ABI 999.3"),
        ("eligo_test_notplugin", "not an Eligo plugin"),
    ] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_eligo"))
            .args(["simulate", net.to_str().unwrap(), "--quiet", "--out"])
            .arg(dir.path().join("o"))
            .arg("--rule")
            .arg(so(lib))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(msg), "{err}");
    }
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args([
            "simulate",
            net.to_str().unwrap(),
            "--quiet",
            "--rule",
            "stdpp",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("did you mean 'stdp'"), "{err}");
}

/// The guide works as written: copy the template out of the workspace, rename it, build it
/// against this workspace's eligo-plugin, and run it through the CLI.
#[test]
fn template_copied_renamed_built_and_run() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("myrule");
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    for f in ["Cargo.toml", "rule.toml", "src/lib.rs"] {
        std::fs::copy(root.join("plugins/template").join(f), crate_dir.join(f)).unwrap();
    }
    // rename, and point eligo-plugin at this checkout (docs/writing-a-rule.md, steps 1-2)
    let api = root.join("plugins/api");
    let toml = std::fs::read_to_string(crate_dir.join("Cargo.toml"))
        .unwrap()
        .replace("name = \"eligo-rule-template\"", "name = \"my-rule\"")
        .replace("name = \"template\"", "name = \"myrule\"")
        .replace(
            "path = \"../api\"",
            &format!("path = {:?}", api.to_str().unwrap()),
        );
    std::fs::write(crate_dir.join("Cargo.toml"), toml).unwrap();
    let src = std::fs::read_to_string(crate_dir.join("src/lib.rs"))
        .unwrap()
        .replace(
            "const NAME: &'static str = \"template\";",
            "const NAME: &'static str = \"myrule\";",
        );
    std::fs::write(crate_dir.join("src/lib.rs"), src).unwrap();
    // step 3: cargo build --release
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let o = std::process::Command::new(cargo)
        .args(["build", "--release", "--offline", "--quiet"])
        .current_dir(&crate_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lib = crate_dir.join(format!(
        "target/release/{}myrule{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(lib.is_file(), "{} missing", lib.display());
    // step 4: run it
    let out = dir.path().join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_eligo"))
        .arg("simulate")
        .arg(root.join("data/example_net.toml"))
        .arg("--rule")
        .arg(&lib)
        .arg("--rule-config")
        .arg(crate_dir.join("rule.toml"))
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rule"]["name"], "myrule");
    assert!(
        summary["rule"]["changes_applied"].as_u64().unwrap() > 0,
        "{summary}"
    );
    let p = &summary["rule"]["projections"][2];
    assert_eq!(p["name"], "exc->exc");
    assert!(p["mean_weight_after"].as_f64() > p["mean_weight_before"].as_f64());
}

/// Poisson inputs into a recurrent LIF population (sparse and all-to-all projections), STDP on
/// every projection, `threads` threads: the final weights and the recorded spikes.
fn stdp_recurrent(threads: usize) -> (Vec<Vec<f32>>, Vec<(u64, u32)>) {
    use eligo_engine::neuron::PoissonParams;
    let pop = |name: &str, size, model| PopulationSpec {
        name: String::from(name),
        size,
        model,
        v_init: None,
    };
    let proj = |from: &str, to: &str, rule, mean| {
        ProjectionSpec::new(from, to, rule, WeightDist::Normal { mean, std: 0.05 })
    };
    let spec = NetworkSpec {
        dt_ms: 1.0,
        seed: 7,
        populations: vec![
            pop(
                "in",
                50,
                ModelSpec::Poisson(PoissonParams { rate_hz: 40.0 }),
            ),
            pop("rec", 301, ModelSpec::Lif(LifParams::default())),
        ],
        projections: vec![
            proj("in", "rec", ConnectRule::FixedProbability { p: 0.3 }, 0.2),
            proj("rec", "rec", ConnectRule::AllToAll, 0.0),
        ],
    };
    let opts = SimOptions {
        threads,
        record: RecordSpec {
            spikes: vec![0, 1],
            state: vec![],
        },
    };
    let mut sim = Simulation::new(spec.build().unwrap(), &opts).unwrap();
    let weights = |sim: &Simulation| -> Vec<Vec<f32>> {
        let p = &sim.network().projections;
        p.iter().map(|p| p.weights.clone()).collect()
    };
    let before = weights(&sim);
    run_stdp(&mut sim, RULE, 300);
    let after = weights(&sim);
    for (b, a) in before.iter().zip(&after) {
        assert_ne!(b, a, "the rule must have changed the weights");
    }
    (after, sim.spikes().to_vec())
}

#[test]
fn a_rule_gives_the_same_result_on_any_number_of_threads() {
    let (w1, s1) = stdp_recurrent(1);
    assert!(
        s1.len() > 1000,
        "the network must be active: {} spikes",
        s1.len()
    );
    for k in [2, 3] {
        let (wk, sk) = stdp_recurrent(k);
        assert!(sk == s1, "spikes differ with {k} threads");
        assert!(wk == w1, "weights differ with {k} threads");
    }
}
