//! Plugin ABI 2.0 as a rule sees it, through the real CLI and a fixture rule
//! (`plugins/testing/probe`) that writes down what the host hands it: every model's state
//! variables, string and population parameters, modulator channels from a file, diagnostics;
//! and the loader's refusal of old-major plugins and of kinds it does not know.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{arg, eligo, ok, refused, so};

/// A 20 ms (200-step) version of the example network that records `v`, `i_ex` and `i_in` of
/// four excitatory neurons.
fn short_net(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string("data/example_net.toml").expect("example network");
    assert!(text.contains("duration_ms = 1000.0"));
    let mut text = text.replace("duration_ms = 1000.0", "duration_ms = 20.0");
    for var in ["i_ex", "i_in"] {
        text.push_str(&format!(
            "\n[[recorder]]\npopulation = \"exc\"\nkind = \"state\"\nvariable = \"{var}\"\nneurons = [0, 1, 2, 3]\n"
        ));
    }
    let p = dir.join("net.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// A 2-D `<f4` .npy as (rows, cols, values), read plainly.
fn read_f32_2d(p: &Path) -> (usize, usize, Vec<f32>) {
    let b = std::fs::read(p).unwrap();
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
    assert!(
        header.contains("'<f4'") && header.contains("False"),
        "{header}"
    );
    let shape = &header[header.find("'shape': (").unwrap() + 10..];
    let shape: Vec<usize> = shape[..shape.find(')').unwrap()]
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let v = b[10 + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (shape[0], shape[1], v)
}

/// Write a 1-D `<f4` .npy, plainly.
fn write_f32_1d(p: &Path, v: &[f32]) {
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        v.len()
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    for x in v {
        b.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(p, b).unwrap();
}

/// The probe's lines: per step, (step, modulator values, one vector per variable).
fn probe_lines(p: &Path) -> Vec<(u64, Vec<f32>, Vec<Vec<f32>>)> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| {
            let mut parts = l.split('|');
            let step = parts.next().unwrap().trim().parse().unwrap();
            let nums = |s: &str| -> Vec<f32> {
                s.split_whitespace().map(|x| x.parse().unwrap()).collect()
            };
            let mods = nums(parts.next().unwrap());
            (step, mods, parts.map(nums).collect())
        })
        .collect()
}

fn probe() -> PathBuf {
    so("eligo_test_probe")
}

fn simulate_with_probe(dir: &Path, net: &Path, threads: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("out{threads}"));
    let seen = dir.join(format!("seen{threads}.txt"));
    let p = probe();
    let mut args = vec![
        "simulate",
        arg(net),
        "--quiet",
        "--threads",
        threads,
        "--out",
        arg(&out),
        "--rule",
        arg(&p),
        "--param",
        "population=exc",
        "--param",
        "variables=v,i_ex,i_in",
    ];
    let out_param = format!("out={}", seen.display());
    args.extend(["--param", &out_param]);
    args.extend_from_slice(extra);
    ok(&eligo(&args));
    out
}

#[test]
fn a_rule_reads_lif_exp_state_equal_to_the_recording_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let net = short_net(dir.path());
    for threads in ["1", "2"] {
        let out = simulate_with_probe(dir.path(), &net, threads, &[]);
        let seen = probe_lines(&dir.path().join(format!("seen{threads}.txt")));
        assert_eq!(seen.len(), 200, "one line per step");
        for (k, var) in ["v", "i_ex", "i_in"].iter().enumerate() {
            let (rows, cols, rec) = read_f32_2d(&out.join(format!("state_exc_{var}.npy")));
            assert_eq!((rows, cols), (200, 4));
            for (t, (step, _, vars)) in seen.iter().enumerate() {
                assert_eq!(*step, t as u64);
                assert_eq!(vars[k].len(), 800, "every neuron of 'exc'");
                for i in 0..4 {
                    assert_eq!(
                        vars[k][i].to_bits(),
                        rec[t * 4 + i].to_bits(),
                        "{var} of neuron {i} at step {t} on {threads} threads"
                    );
                }
            }
        }
        // independently of the recorder: `v` is a membrane potential in mV (E_L = -65 mV, reset
        // -65 mV, threshold -50 mV; inhibition can pull it a few mV below rest), and the currents
        // are not all zero, so the comparison compared something
        for (t, (_, _, vars)) in seen.iter().enumerate() {
            assert!(
                vars[0].iter().all(|&v| (-80.0..=-50.0).contains(&v)),
                "v at step {t} outside [-80, -50] mV"
            );
        }
        assert!(seen.iter().any(|(_, _, v)| v[1].iter().any(|&x| x != 0.0)));
    }
}

#[test]
fn a_wrong_population_name_gets_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let net = short_net(dir.path());
    let p = probe();
    let o = eligo(&[
        "simulate",
        arg(&net),
        "--quiet",
        "--out",
        arg(&dir.path().join("o")),
        "--rule",
        arg(&p),
        "--param",
        "population=exx",
    ]);
    refused(
        &o,
        &[
            "population",
            "'exx'",
            "did you mean 'exc'?",
            "input, exc, inh",
        ],
    );
    // a required name left out is named too
    let o = eligo(&[
        "simulate",
        arg(&net),
        "--quiet",
        "--out",
        arg(&dir.path().join("o")),
        "--rule",
        arg(&p),
    ]);
    refused(&o, &["population", "--param population=NAME"]);
}

#[test]
fn a_modulator_from_a_file_reaches_the_rule_at_the_right_steps() {
    let dir = tempfile::tempdir().unwrap();
    let net = short_net(dir.path());
    let reward: Vec<f32> = (0..200).map(|t| (t as f32) * 0.25 - 7.0).collect();
    let f = dir.path().join("reward.npy");
    write_f32_1d(&f, &reward);
    let m = format!("reward={}", f.display());
    simulate_with_probe(
        dir.path(),
        &net,
        "1",
        &["--modulator", &m, "--param", "modulators=reward"],
    );
    let seen = probe_lines(&dir.path().join("seen1.txt"));
    assert_eq!(seen.len(), 200);
    for (t, (_, mods, _)) in seen.iter().enumerate() {
        assert_eq!(mods, &[reward[t]], "step {t}");
    }
    // a file of another length is refused, naming both lengths
    let short = dir.path().join("short.npy");
    write_f32_1d(&short, &reward[..150]);
    let p = probe();
    let m = format!("reward={}", short.display());
    let o = eligo(&[
        "simulate",
        arg(&net),
        "--quiet",
        "--out",
        arg(&dir.path().join("o")),
        "--rule",
        arg(&p),
        "--param",
        "population=exc",
        "--modulator",
        &m,
    ]);
    refused(&o, &["--modulator", "short.npy", "[150]", "200 steps"]);
}

#[test]
fn diagnostics_appear_in_the_summary_and_in_metrics_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let net = short_net(dir.path());
    let out = simulate_with_probe(dir.path(), &net, "1", &[]);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let d = &s["rule"]["diagnostics"];
    assert_eq!(d["steps"], 200.0, "{s}");
    assert_eq!(d["batches"], 1.0, "{s}");
    // the probe counts the spikes of 'exc' it was shown; the host counted them too
    let exc = s["populations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "exc")
        .unwrap();
    assert_eq!(d["spikes"].as_f64(), exc["spikes"].as_f64());

    let tout = dir.path().join("train");
    let p = probe();
    let mut args = crate::common::SMALL_TRAIN.to_vec();
    args.extend([
        "--iterations",
        "2",
        "--out",
        arg(&tout),
        "--rule",
        arg(&p),
        "--param",
        "population=rec",
    ]);
    ok(&eligo(&args));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(tout.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (i, l) in lines.iter().enumerate() {
        let r = &l["rule"];
        // every lane ran batch number i + 1
        assert_eq!(r["batches"], (i + 1) as f64, "{l}");
        assert!(r["steps"].as_f64().unwrap() > 0.0, "{l}");
        assert!(r["spikes"].as_f64().is_some(), "{l}");
    }
}

fn run_badabi(mode: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let net = short_net(dir.path());
    Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args([
            "simulate",
            arg(&net),
            "--quiet",
            "--out",
            arg(&dir.path().join("o")),
            "--rule",
            arg(&so("eligo_test_badabi")),
        ])
        .env("ELIGO_TEST_BADABI", mode)
        .output()
        .expect("eligo runs")
}

#[test]
fn an_old_major_plugin_is_refused_with_a_rebuild_hint() {
    refused(
        &run_badabi("old"),
        &[
            "built for ABI 1.1",
            "this eligo speaks ABI 2.0",
            "cargo build --release",
            "From ABI 1 to ABI 2",
        ],
    );
}

#[test]
fn unknown_output_and_parameter_kinds_are_refused_not_trusted() {
    refused(&run_badabi("output"), &["output kind 7", "does not know"]);
    refused(&run_badabi("param"), &["parameter 'odd'", "kind 9"]);
}
