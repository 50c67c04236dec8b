//! Refractoriness is given the same way in every spiking model: `t_ref_ms` (ms, a whole number
//! of steps), or its alias `n_ref` (steps), never both.

use crate::common::{arg, eligo, ok, refused};
use crate::events::npy_events;

/// A driven population of `model` with the refractory line `refr`, at dt = 0.5 ms.
fn net(model: &str, refr: &str) -> String {
    let weight = if model == "lif_exp" { 5.0 } else { 0.1 };
    format!(
        "dt_ms = 0.5\nduration_ms = 100.0\nseed = 9\n\n\
         [[population]]\nname = \"in\"\nmodel = \"poisson\"\nsize = 100\nrate_hz = 900.0\n\n\
         [[population]]\nname = \"p\"\nmodel = \"{model}\"\nsize = 5\n{refr}\n\n\
         [[projection]]\nfrom = \"in\"\nto = \"p\"\nrule = \"all_to_all\"\nweight = {weight}\n\n\
         [[recorder]]\npopulation = \"p\"\nkind = \"spikes\"\n"
    )
}

/// Simulate `toml`; the bytes of its spike file and its smallest interspike interval (µs).
fn run(dir: &std::path::Path, name: &str, toml: &str) -> (Vec<u8>, u64) {
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(&cfg, toml).unwrap();
    let out = dir.join(name);
    ok(&eligo(&[
        "simulate",
        arg(&cfg),
        "--out",
        arg(&out),
        "--quiet",
        "--threads",
        "1",
    ]));
    let file = out.join("spikes_p.npy");
    let mut last = [None::<u64>; 5];
    let mut min_isi = u64::MAX;
    for (t, a) in npy_events(&file) {
        if let Some(prev) = last[a as usize] {
            min_isi = min_isi.min(t - prev);
        }
        last[a as usize] = Some(t);
    }
    assert!(min_isi < u64::MAX, "{name}: too few spikes");
    (std::fs::read(file).unwrap(), min_isi)
}

#[test]
fn t_ref_ms_and_its_alias_n_ref_are_the_same_in_every_model() {
    let dir = tempfile::tempdir().unwrap();
    // lif and alif: the minimum interval between spikes is t_ref (3 steps of 0.5 ms); lif_exp
    // is clamped for t_ref after the spike step, so its intervals are at least t_ref + dt
    for (model, min_isi_us) in [("lif", 1500), ("alif", 1500), ("lif_exp", 2000)] {
        let (ms, isi) = run(
            dir.path(),
            &format!("{model}_ms"),
            &net(model, "t_ref_ms = 1.5"),
        );
        let (steps, _) = run(
            dir.path(),
            &format!("{model}_steps"),
            &net(model, "n_ref = 3"),
        );
        assert!(ms == steps, "{model}: t_ref_ms = 1.5 and n_ref = 3 differ");
        assert_eq!(isi, min_isi_us, "{model}");
        // and the period matters: without one the same drive fires faster
        let (_, free) = run(
            dir.path(),
            &format!("{model}_0"),
            &net(model, "t_ref_ms = 0.0"),
        );
        assert!(free < min_isi_us, "{model}: {free} µs");
    }
}

fn refused_net(toml: &str, must: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("net.toml");
    std::fs::write(&cfg, toml).unwrap();
    let out = dir.path().join("out");
    refused(
        &eligo(&["simulate", arg(&cfg), "--out", arg(&out), "--quiet"]),
        &[&["net.toml"], must].concat(),
    );
    assert!(!out.exists(), "an output directory for a refused network");
}

#[test]
fn both_t_ref_ms_and_n_ref_are_refused() {
    for model in ["lif", "alif", "lif_exp"] {
        refused_net(
            &net(model, "t_ref_ms = 1.5\nn_ref = 3"),
            &["population[1] 'p'.t_ref_ms", "given twice", "n_ref = 3"],
        );
    }
}

#[test]
fn t_ref_ms_off_the_step_grid_is_refused_with_the_allowed_values() {
    for model in ["lif", "alif", "lif_exp"] {
        refused_net(
            &net(model, "t_ref_ms = 1.2"),
            &[
                "population[1] 'p'.t_ref_ms",
                "1.2",
                "whole number of steps of dt = 0.5 ms: 0, 0.5, 1, 1.5 .. ms",
                "try t_ref_ms = 1 or 1.5, or n_ref = 2 or 3 steps",
            ],
        );
    }
}
