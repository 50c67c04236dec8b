//! Event replay through the command line: record a run, replay its input or clamp a population,
//! and get the recorded spikes back bit for bit; `eligo events info|convert` on the sample files;
//! every kind of bad event file ends in exit code 2 with a message naming the problem.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) fn eligo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args(args)
        .output()
        .expect("eligo runs")
}

pub(crate) fn ok(args: &[&str]) -> Output {
    let o = eligo(args);
    assert!(
        o.status.success(),
        "eligo {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Runs `args`, expects exit code 2, returns stderr.
pub(crate) fn bad(args: &[&str]) -> String {
    let o = eligo(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "eligo {args:?}: {err}");
    err
}

pub(crate) fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/events")
        .join(name)
        .display()
        .to_string()
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Events of an Eligo `.npy` file, parsed here from the NumPy layout (independent of the
/// engine's reader): header up to the first `\n`, then 12-byte records `<u8 t, <u4 addr`.
pub(crate) fn npy_events(p: &Path) -> Vec<(u64, u32)> {
    let b = std::fs::read(p).unwrap();
    assert!(b.starts_with(b"\x93NUMPY"));
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = String::from_utf8_lossy(&b[10..10 + hlen]);
    assert!(
        header.contains("('t', '<u8'), ('addr', '<u4')") && !header.contains("'p'"),
        "{header}"
    );
    b[10 + hlen..]
        .chunks_exact(12)
        .map(|r| {
            (
                u64::from_le_bytes(r[..8].try_into().unwrap()),
                u32::from_le_bytes(r[8..].try_into().unwrap()),
            )
        })
        .collect()
}

pub(crate) fn write_npy(p: &Path, ev: &[(u64, u32)]) {
    let dict = format!(
        "{{'descr': [('t', '<u8'), ('addr', '<u4')], 'fortran_order': False, 'shape': ({},), }}",
        ev.len()
    );
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(dict.len() as u16 + 1).to_le_bytes());
    b.extend_from_slice(dict.as_bytes());
    b.push(b'\n');
    for (t, a) in ev {
        b.extend_from_slice(&t.to_le_bytes());
        b.extend_from_slice(&a.to_le_bytes());
    }
    std::fs::write(p, b).unwrap();
}

/// A recurrent network: Poisson input -> a (recurrent) -> b, with feedback b -> a.
fn net(model: &str, dt_ms: f64, extra: &str) -> String {
    format!(
        r#"
dt_ms = {dt_ms}
duration_ms = {duration}
seed = 11

[[population]]
name = "input"
model = "poisson"
size = 24
rate_hz = 60.0

[[population]]
name = "a"
model = "{model}"
size = 40
{extra}

[[population]]
name = "b"
model = "{model}"
size = 25
{extra}

[[projection]]
from = "input"
to = "a"
rule = "fixed_probability"
p = 0.5
weight = {w_in}
delay_steps = 1

[[projection]]
from = "a"
to = "a"
rule = "fixed_probability"
p = 0.2
weight = {w_rec}
delay_steps = 2

[[projection]]
from = "a"
to = "b"
rule = "fixed_probability"
p = 0.4
weight = {w_ab}
delay_steps = 1

[[projection]]
from = "b"
to = "a"
rule = "fixed_probability"
p = 0.3
weight = {w_ba}
delay_steps = 3

[[recorder]]
population = "input"
kind = "spikes"

[[recorder]]
population = "a"
kind = "spikes"

[[recorder]]
population = "b"
kind = "spikes"
"#,
        duration = dt_ms * 300.0,
        w_in = if model == "lif" { "0.35" } else { "6.0" },
        w_rec = if model == "lif" { "0.1" } else { "1.0" },
        w_ab = if model == "lif" { "0.3" } else { "5.0" },
        w_ba = if model == "lif" { "-0.2" } else { "-3.0" },
    )
}

const LIF_EXP: &str =
    "e_l_mv = -65.0\nv_th_mv = -50.0\nv_reset_mv = -65.0\ntau_m_ms = 10.0\nt_ref_ms = 1.0";

struct Run {
    _dir: tempfile::TempDir,
    net: PathBuf,
    base: PathBuf,
}

impl Run {
    fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("net.toml");
        std::fs::write(&net, text).unwrap();
        let base = dir.path().join("base");
        ok(&["simulate", s(&net), "--out", s(&base), "--quiet"]);
        Run {
            net,
            base,
            _dir: dir,
        }
    }
    fn out(&self, name: &str) -> PathBuf {
        self.net.with_file_name(name)
    }
    fn simulate(&self, out: &Path, threads: &str, extra: &[&str]) {
        let mut args = vec!["simulate", s(&self.net), "--out", s(out), "--quiet"];
        args.extend_from_slice(&["--threads", threads]);
        args.extend_from_slice(extra);
        ok(&args);
    }
}

fn bytes(p: PathBuf) -> Vec<u8> {
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The Must-show: record input and output, replay the recorded input into the same network,
/// get the same output spikes bit for bit on 1 and 2 threads. Twice: `lif` at dt = 1 ms and
/// `lif_exp` at dt = 0.1 ms (times in µs are then multiples of 100).
#[test]
fn replayed_input_reproduces_the_output_bit_for_bit() {
    for (model, dt, extra) in [("lif", 1.0, ""), ("lif_exp", 0.1, LIF_EXP)] {
        let run = Run::new(&net(model, dt, extra));
        let (a, b) = (
            npy_events(&run.base.join("spikes_a.npy")),
            npy_events(&run.base.join("spikes_b.npy")),
        );
        assert!(
            a.len() > 20 && b.len() > 5,
            "{model}: a network that spikes ({} / {})",
            a.len(),
            b.len()
        );
        let input = run.base.join("spikes_input.npy");
        for threads in ["1", "2"] {
            let out = run.out(&format!("replay{threads}"));
            run.simulate(
                &out,
                threads,
                &["--input-events", s(&input), "--population", "input"],
            );
            for pop in ["input", "a", "b"] {
                let f = format!("spikes_{pop}.npy");
                assert!(
                    bytes(run.base.join(&f)) == bytes(out.join(&f)),
                    "{model}, {threads} threads: {f} differs after replay"
                );
            }
        }
        // the comparison can fail: the same input one step later changes the output
        let dt_us = (dt * 1000.0) as u64;
        let shifted: Vec<(u64, u32)> = npy_events(&input)
            .iter()
            .map(|&(t, i)| (t + dt_us, i))
            .collect();
        let moved = run.out("shifted.npy");
        write_npy(&moved, &shifted);
        let out = run.out("replay_shifted");
        run.simulate(
            &out,
            "1",
            &["--input-events", s(&moved), "--population", "input"],
        );
        assert_ne!(
            bytes(run.base.join("spikes_a.npy")),
            bytes(out.join("spikes_a.npy"))
        );
    }
}

/// Clamped replay of a recorded population reproduces every downstream population bit for bit
/// (and the clamped population's own recording), on 1 and 2 threads.
#[test]
fn clamped_population_reproduces_downstream_bit_for_bit() {
    for (model, dt, extra) in [("lif", 1.0, ""), ("lif_exp", 0.1, LIF_EXP)] {
        let run = Run::new(&net(model, dt, extra));
        let rec_a = run.base.join("spikes_a.npy");
        for threads in ["1", "2"] {
            let out = run.out(&format!("clamp{threads}"));
            run.simulate(
                &out,
                threads,
                &["--clamp-events", s(&rec_a), "--population", "a"],
            );
            for f in ["spikes_a.npy", "spikes_b.npy", "spikes_input.npy"] {
                assert!(
                    bytes(run.base.join(f)) == bytes(out.join(f)),
                    "{model}, {threads} threads: {f} differs under clamp"
                );
            }
        }
        // the comparison can fail: clamping a to half its recorded spikes changes b
        let half: Vec<(u64, u32)> = npy_events(&rec_a).into_iter().step_by(2).collect();
        let f = run.out("half.npy");
        write_npy(&f, &half);
        let out = run.out("clamp_half");
        run.simulate(&out, "1", &["--clamp-events", s(&f), "--population", "a"]);
        assert_eq!(
            npy_events(&out.join("spikes_a.npy")),
            half,
            "a emits exactly the clamp"
        );
        assert_ne!(
            bytes(run.base.join("spikes_b.npy")),
            bytes(out.join("spikes_b.npy"))
        );
    }
}

/// Expected events of a sample (the CSV written by data/events/make_samples.py).
pub(crate) fn expected(name: &str) -> Vec<[u64; 4]> {
    let text = std::fs::read_to_string(sample(&format!("{name}.expected.csv"))).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let v: Vec<u64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            [v[0], v[1], v[2], v[3]]
        })
        .collect()
}

/// A sensor file drives an `external` population through the documented map:
/// index = p·W·H + y·W + x (and with pooling and merged polarity), step = t / dt.
#[test]
fn sensor_events_drive_a_population_through_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let text = |size: u32| {
        format!(
            "dt_ms = 0.5\nduration_ms = 100.0\n[[population]]\nname = \"retina\"\nmodel = \"external\"\n\
             size = {size}\n[[recorder]]\npopulation = \"retina\"\nkind = \"spikes\"\n"
        )
    };
    let ev = expected("tonic_vision.npy");
    // full map, 34 x 34 x 2; the last event (t = 123456 µs) lies after the 100 ms run
    let netf = dir.path().join("full.toml");
    std::fs::write(&netf, text(2312)).unwrap();
    let out = dir.path().join("full");
    let file = sample("tonic_vision.npy");
    ok(&[
        "simulate",
        s(&netf),
        "--out",
        s(&out),
        "--quiet",
        "--input-events",
        &file,
        "--width",
        "34",
        "--height",
        "34",
    ]);
    let mut want: Vec<(u64, u32)> = ev
        .iter()
        .filter(|e| e[0] < 100_000)
        .map(|e| (e[0] / 500 * 500, (e[3] * 34 * 34 + e[2] * 34 + e[1]) as u32))
        .collect();
    want.sort();
    assert_eq!(npy_events(&out.join("spikes_retina.npy")), want);
    // pooled 2x2 and merged: 17 x 17
    let netf = dir.path().join("pooled.toml");
    std::fs::write(&netf, text(289)).unwrap();
    let out = dir.path().join("pooled");
    ok(&[
        "simulate",
        s(&netf),
        "--out",
        s(&out),
        "--quiet",
        "--input-events",
        &file,
        "--width",
        "34",
        "--height",
        "34",
        "--pool",
        "2",
        "--merge-polarity",
    ]);
    let mut want: Vec<(u64, u32)> = ev
        .iter()
        .filter(|e| e[0] < 100_000)
        .map(|e| (e[0] / 500 * 500, (e[2] / 2 * 17 + e[1] / 2) as u32))
        .collect();
    want.sort();
    want.dedup();
    assert_eq!(npy_events(&out.join("spikes_retina.npy")), want);
    // a population too small for the map: exit 2 naming the event
    let netf = dir.path().join("small.toml");
    std::fs::write(&netf, text(100)).unwrap();
    let err = bad(&[
        "simulate",
        s(&netf),
        "--out",
        s(&out),
        "--quiet",
        "--input-events",
        &file,
        "--width",
        "34",
        "--height",
        "34",
    ]);
    assert!(
        err.contains("event 0") && err.contains("100 neurons"),
        "{err}"
    );
    // no sensor size: tonic files do not record it
    let err = bad(&[
        "simulate",
        s(&netf),
        "--out",
        s(&out),
        "--quiet",
        "--input-events",
        &file,
    ]);
    assert!(err.contains("--width"), "{err}");
}

pub(crate) fn info(file: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["events", "info", file, "--json"];
    args.extend_from_slice(extra);
    serde_json::from_slice(&ok(&args).stdout).unwrap()
}

#[test]
fn info_matches_the_expected_events_of_every_sample() {
    for (file, exp, extra) in [
        ("eligo.npy", "eligo.npy", &[][..]),
        ("tonic_vision.npy", "tonic_vision.npy", &[]),
        ("tonic_audio.npy", "tonic_audio.npy", &[]),
        (
            "dvs128.aedat",
            "dvs128.aedat",
            &["--aedat-chip", "dvs128"][..],
        ),
        ("dvs128.aedat", "dvs128.aedat.raw", &[]),
        ("evt2.raw", "evt2.raw", &[]),
        ("nmnist.bin", "nmnist.bin", &[]),
    ] {
        let j = info(&sample(file), extra);
        let ev = expected(exp);
        assert_eq!(j["events"], ev.len() as u64, "{file}");
        assert_eq!(j["t_first_us"], ev[0][0], "{file}");
        assert_eq!(j["t_last_us"], ev[ev.len() - 1][0], "{file}");
        assert_eq!(j["x_max"], ev.iter().map(|e| e[1]).max().unwrap(), "{file}");
        assert_eq!(j["backwards"], 0, "{file}");
    }
    let j = info(&sample("evt2.raw"), &[]);
    assert_eq!(
        (
            j["format"].as_str(),
            j["width"].as_u64(),
            j["height"].as_u64()
        ),
        (Some("evt2"), Some(640), Some(480))
    );
    // binning report: eligo.npy at 1 ms has one (t, addr) duplicate in step 1
    let j = info(&sample("eligo.npy"), &["--dt-ms", "1"]);
    assert_eq!(j["binning"]["merged_by_clip"], 1);
    assert_eq!(j["binning"]["spikes"], 7);
}

/// Records of an AEDAT 2.0 file: everything after the `#` header lines, in 8-byte records.
fn aedat_records(p: &Path) -> Vec<u8> {
    let b = std::fs::read(p).unwrap();
    let mut i = 0;
    while b.get(i) == Some(&b'#') {
        i += b[i..].iter().position(|&c| c == b'\n').unwrap() + 1;
    }
    b[i..].to_vec()
}

#[test]
fn npy_aedat_round_trips_are_lossless() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    // npy -> aedat -> npy: identical files
    ok(&[
        "events",
        "convert",
        &sample("eligo.npy"),
        s(&d("a.aedat")),
        "--quiet",
    ]);
    ok(&[
        "events",
        "convert",
        s(&d("a.aedat")),
        s(&d("b.npy")),
        "--quiet",
    ]);
    assert_eq!(bytes(sample("eligo.npy").into()), bytes(d("b.npy")));
    // aedat -> npy -> aedat: identical records (times past 2^31, external events included)
    ok(&[
        "events",
        "convert",
        &sample("dvs128.aedat"),
        s(&d("c.npy")),
        "--quiet",
    ]);
    ok(&[
        "events",
        "convert",
        s(&d("c.npy")),
        s(&d("d.aedat")),
        "--quiet",
    ]);
    assert_eq!(
        aedat_records(Path::new(&sample("dvs128.aedat"))),
        aedat_records(&d("d.aedat"))
    );
    let raw: Vec<(u64, u32)> = expected("dvs128.aedat.raw")
        .iter()
        .map(|e| (e[0], e[1] as u32))
        .collect();
    assert_eq!(npy_events(&d("c.npy")), raw);
    // a sensor stream converts through the map
    ok(&[
        "events",
        "convert",
        &sample("nmnist.bin"),
        s(&d("n.npy")),
        "--quiet",
    ]);
    let want: Vec<(u64, u32)> = expected("nmnist.bin")
        .iter()
        .map(|e| (e[0], (e[3] * 34 * 34 + e[2] * 34 + e[1]) as u32))
        .collect();
    assert_eq!(npy_events(&d("n.npy")), want);
}

#[test]
fn bad_event_files_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let good = bytes(sample("eligo.npy").into());
    // truncated inside a record
    std::fs::write(d("trunc.npy"), &good[..good.len() - 5]).unwrap();
    let e = bad(&["events", "info", s(&d("trunc.npy"))]);
    assert!(e.contains("trunc.npy") && e.contains("truncated"), "{e}");
    // wrong magic
    let mut b = good.clone();
    b[1] = b'X';
    std::fs::write(d("magic.npy"), &b).unwrap();
    let e = bad(&["events", "info", s(&d("magic.npy"))]);
    assert!(e.contains("magic.npy"), "{e}");
    // a header claiming more events than the file holds
    let at = good.windows(4).position(|w| w == b"(8,)").unwrap();
    let mut more = good.clone();
    more[at + 1] = b'9';
    std::fs::write(d("more.npy"), &more).unwrap();
    let e = bad(&["events", "info", s(&d("more.npy"))]);
    assert!(e.contains("declares 9 events"), "{e}");
    // time going backwards: info reports, convert and replay refuse naming the event, --sort
    // accepts
    write_npy(&d("back.npy"), &[(0, 1), (500, 2), (300, 3), (900, 0)]);
    let j = info(s(&d("back.npy")), &[]);
    assert_eq!(
        (j["backwards"].as_u64(), j["first_backwards_event"].as_u64()),
        (Some(1), Some(2))
    );
    let e = bad(&["events", "convert", s(&d("back.npy")), s(&d("x.aedat"))]);
    assert!(e.contains("event 2") && e.contains("--sort"), "{e}");
    assert!(
        !d("x.aedat").exists() && !d(".x.aedat.tmp").exists(),
        "no partial output"
    );
    ok(&[
        "events",
        "convert",
        s(&d("back.npy")),
        s(&d("sorted.npy")),
        "--sort",
        "--quiet",
    ]);
    assert_eq!(
        npy_events(&d("sorted.npy")),
        vec![(0, 1), (300, 3), (500, 2), (900, 0)]
    );
    // an unknown format
    std::fs::write(d("what.xyz"), b"hello").unwrap();
    let e = bad(&["events", "info", s(&d("what.xyz"))]);
    assert!(e.contains("--format"), "{e}");
    // AEDAT of another version, EVT 3.0
    std::fs::write(d("v3.aedat"), b"#!AER-DAT3.1\r\n").unwrap();
    assert!(bad(&["events", "info", s(&d("v3.aedat"))]).contains("2.0"));
    std::fs::write(d("e3.raw"), b"% evt 3.0\n").unwrap();
    assert!(bad(&["events", "info", s(&d("e3.raw"))]).contains("EVT 2.0"));
    // HDF5: a clear error without the feature, a missing dataset with it
    let e = bad(&["events", "info", &sample("shd.h5"), "--sample", "5"]);
    assert!(e.contains("hdf5") || e.contains("--sample"), "{e}");
    // a missing file
    assert!(bad(&["events", "info", s(&d("nope.npy"))]).contains("nope.npy"));
}

#[test]
fn replay_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let netf = dir.path().join("net.toml");
    std::fs::write(&netf, net("lif", 1.0, "")).unwrap();
    let out = dir.path().join("o");
    let file = sample("eligo.npy");
    // into a neuron population: use --clamp-events
    let e = bad(&[
        "simulate",
        s(&netf),
        "--out",
        s(&out),
        "--input-events",
        &file,
        "--population",
        "a",
    ]);
    assert!(e.contains("--clamp-events"), "{e}");
    // a typo in the population name
    let e = bad(&[
        "simulate",
        s(&netf),
        "--out",
        s(&out),
        "--input-events",
        &file,
        "--population",
        "inptu",
    ]);
    assert!(e.contains("did you mean 'input'"), "{e}");
    // no population and no external one
    let e = bad(&[
        "simulate",
        s(&netf),
        "--out",
        s(&out),
        "--input-events",
        &file,
    ]);
    assert!(e.contains("--population"), "{e}");
    // count cannot drive a population
    let e = bad(&[
        "simulate",
        s(&netf),
        "--out",
        s(&out),
        "--input-events",
        &file,
        "--population",
        "input",
        "--bin",
        "count",
    ]);
    assert!(e.contains("clip"), "{e}");
    // dt must be whole µs
    std::fs::write(&netf, net("lif", 0.0005, "")).unwrap();
    let e = bad(&[
        "simulate",
        s(&netf),
        "--out",
        s(&out),
        "--input-events",
        &file,
        "--population",
        "input",
    ]);
    assert!(e.contains("whole number of µs"), "{e}");
}

/// Under a clamp, a learning rule sees exactly the recorded activity: STDP (weights changed during
/// the run) ends with the same weights, to the last bit of the means, as in the recorded run,
/// on the clamped population's input and output projections alike.
#[test]
fn a_rule_sees_the_clamped_activity() {
    let run = Run::new(&net("lif", 1.0, ""));
    let with_rule = run.out("rule0");
    run.simulate(&with_rule, "1", &["--rule", "stdp"]);
    let out = run.out("rule1");
    let rec_a = with_rule.join("spikes_a.npy");
    run.simulate(
        &out,
        "1",
        &[
            "--rule",
            "stdp",
            "--clamp-events",
            s(&rec_a),
            "--population",
            "a",
        ],
    );
    let rule = |d: &Path| -> serde_json::Value {
        let j: serde_json::Value = serde_json::from_slice(&bytes(d.join("summary.json"))).unwrap();
        j["rule"].clone()
    };
    let (r0, r1) = (rule(&with_rule), rule(&out));
    assert!(r0["changes_applied"].as_u64().unwrap() > 0, "{r0}");
    assert_eq!(r0["changes_applied"], r1["changes_applied"]);
    assert_eq!(r0["projections"], r1["projections"]);
    let moved = r0["projections"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["mean_weight_after"] != p["mean_weight_before"]);
    assert!(moved, "STDP changed some weights: {r0}");
    assert_eq!(
        bytes(with_rule.join("spikes_b.npy")),
        bytes(out.join("spikes_b.npy"))
    );
}

/// `events info` printed `t, x` for an Eligo `.npy` (whose fields are `t, addr`) and generic names
/// in a generic order for tonic files: now the file's own names and dtypes, in file order.
#[test]
fn info_names_the_fields_the_file_has() {
    for (file, names, types) in [
        ("eligo.npy", &["t", "addr"][..], &["<u8", "<u4"][..]),
        ("tonic_audio.npy", &["t", "x", "p"], &["<i8", "<i8", "<i8"]),
        (
            "tonic_vision.npy",
            &["x", "y", "t", "p"],
            &["<i2", "<i2", "<i8", "|b1"],
        ),
    ] {
        let j = info(&sample(file), &[]);
        assert_eq!(j["fields"], serde_json::json!(names), "{file}");
        assert_eq!(j["field_types"], serde_json::json!(types), "{file}");
        let text =
            String::from_utf8_lossy(&ok(&["events", "info", &sample(file)]).stdout).into_owned();
        let want: Vec<String> = names
            .iter()
            .zip(types)
            .map(|(n, t)| format!("{n} {t}"))
            .collect();
        assert!(
            text.contains(&format!("fields:    {}", want.join(", "))),
            "{file}: {text}"
        );
    }
    // formats without named fields: what each event decodes to, no types
    let j = info(&sample("evt2.raw"), &[]);
    assert_eq!(j["fields"], serde_json::json!(["t", "x", "y", "p"]));
    assert!(j["field_types"].is_null());
}
