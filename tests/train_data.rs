//! `eligo train --net NET.toml --data DATASET`: training on the synthetic spiking-digits set
//! from each reader layout, bit-identical across layouts, resume and threads, bounded memory,
//! and bad data.

use std::path::{Path, PathBuf};

use eligo_engine::io::events::{AeEvent, npy};

use crate::common::{arg, eligo, ok, refused};

fn digits(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/spiking-digits")
        .join(rel)
}

/// `train --net data/spiking-digits/net.toml --data DATA` with the set's data config.
fn train(data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    train_with(&digits("data.toml"), data, &["--out", arg(out)], extra)
}

/// The same with data config `cfg`; `dir` is `--out DIR` or `--resume DIR`.
fn train_with(cfg: &Path, data: &Path, dir: &[&str], extra: &[&str]) -> std::process::Output {
    let net = digits("net.toml");
    let mut args = vec![
        "train",
        "--net",
        arg(&net),
        "--data",
        arg(data),
        "--data-config",
        arg(cfg),
        "--quiet",
    ];
    args.extend_from_slice(dir);
    args.extend_from_slice(extra);
    eligo(&args)
}

fn json(p: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn epochs(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("epochs.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Ten epochs of e-prop from the `.npy` folder learn the ten classes far above chance (10 %),
/// and the `.npz` (and, with HDF5, the SHD files) give the same weights bit for bit.
#[test]
fn every_layout_learns_and_gives_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let mut layouts = vec!["npy", "dense.npz"];
    if cfg!(feature = "hdf5") {
        layouts.push("shd");
    }
    let mut weights = Vec::new();
    for l in &layouts {
        let out = dir.path().join(l);
        ok(&train(
            &digits(l),
            &out,
            &["--epochs", "10", "--threads", "1"],
        ));
        let e = epochs(&out);
        assert_eq!(e.len(), 10, "{l}: one line per epoch");
        let last = e.last().unwrap();
        let val = last["validation_accuracy"].as_f64().unwrap();
        assert!(val >= 0.6, "{l}: validation accuracy {val} after 10 epochs");
        let first = e[0]["validation_accuracy"].as_f64().unwrap();
        assert!(val > first, "{l}: {first} -> {val}");
        let s = json(&out.join("summary.json"));
        let test = s["test_accuracy"].as_f64().unwrap();
        assert!(test >= 0.6, "{l}: test accuracy {test}");
        assert_eq!(s["test_sequences"], 100);
        weights.push(bytes(&out.join("weights.npz")));
    }
    for (l, w) in layouts.iter().zip(&weights).skip(1) {
        assert!(
            *w == weights[0],
            "{l} trained other weights than the .npy folder"
        );
    }
}

/// Resumed after 2 epochs == uninterrupted; 2 threads == 1; no read-ahead == read-ahead.
#[test]
fn resume_threads_and_prefetch_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = digits("npy");
    let whole = dir.path().join("whole");
    ok(&train(&data, &whole, &["--epochs", "4", "--threads", "1"]));
    let two = dir.path().join("two");
    ok(&train(&data, &two, &["--epochs", "4", "--threads", "2"]));
    assert!(bytes(&whole.join("weights.npz")) == bytes(&two.join("weights.npz")));
    // 6 iterations per epoch (180 training samples, batch 32)
    let part = dir.path().join("part");
    ok(&train(
        &data,
        &part,
        &["--iterations", "12", "--threads", "1"],
    ));
    assert_eq!(epochs(&part).len(), 2);
    let four = ["--epochs", "4", "--threads", "1"];
    ok(&train_with(
        &digits("data.toml"),
        &data,
        &["--resume", arg(&part)],
        &four,
    ));
    assert!(bytes(&whole.join("weights.npz")) == bytes(&part.join("weights.npz")));
    assert_eq!(epochs(&whole), epochs(&part));
    // without read-ahead
    let cfg0 = dir.path().join("data0.toml");
    let text = std::fs::read_to_string(digits("data.toml")).unwrap() + "prefetch = 0\n";
    std::fs::write(&cfg0, text).unwrap();
    let none = dir.path().join("none");
    ok(&train_with(&cfg0, &data, &["--out", arg(&none)], &four));
    assert!(bytes(&whole.join("weights.npz")) == bytes(&none.join("weights.npz")));
}

const SMALL_NET: &str = r#"
dt_ms = 1.0
[[population]]
name = "in"
model = "external"
size = 700
[[population]]
name = "rec"
model = "lif"
size = 16
[[population]]
name = "out"
model = "readout"
size = 10
tau_out_ms = 20.0
[[projection]]
from = "in"
to = "rec"
rule = "all_to_all"
weight = { kind = "normal", mean = 0.0, std = 0.05 }
[[projection]]
from = "rec"
to = "out"
rule = "all_to_all"
weight = { kind = "normal", mean = 0.0, std = 0.25 }
"#;

/// A data set of about 217 MiB (1500 recordings of 12 600 events each) trains through one epoch
/// with a peak resident memory far below its size: samples are read one at a time. Set
/// `ELIGO_TEST_DATA_RECORDINGS` (e.g. 21000 for about 3 GiB) for a bigger set.
#[test]
fn a_data_set_larger_than_the_memory_it_may_use_trains_with_bounded_rss() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("big");
    std::fs::create_dir(&set).unwrap();
    let n: u64 = std::env::var("ELIGO_TEST_DATA_RECORDINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    let per_step = 126u64;
    let mut labels = String::from("file,label,split\n");
    let mut size = 0u64;
    for k in 0..n {
        let ev: Vec<AeEvent> = (0..100u64)
            .flat_map(|t| {
                (0..per_step)
                    .map(move |j| AeEvent::addr(t * 1000 + 500, ((k * 7 + j * 5 + t) % 700) as u32))
            })
            .collect();
        let mut ev = ev;
        ev.sort_unstable();
        ev.dedup_by_key(|e| (e.t, e.x));
        let name = format!("{k:05}.npy");
        npy::write(&set.join(&name), &ev, false).unwrap();
        size += std::fs::metadata(set.join(&name)).unwrap().len();
        let split = if k % 10 == 0 { "test" } else { "train" };
        labels += &format!("{name},{},{split}\n", k % 10);
    }
    std::fs::write(set.join("labels.csv"), labels).unwrap();
    assert!(size > 200 << 20, "{size} bytes");
    let net = dir.path().join("net.toml");
    std::fs::write(&net, SMALL_NET).unwrap();
    let out = dir.path().join("out");
    ok(&eligo(&[
        "train",
        "--net",
        arg(&net),
        "--data",
        arg(&set),
        "--epochs",
        "1",
        "--batch",
        "50",
        "--quiet",
        "--out",
        arg(&out),
    ]));
    let s = json(&out.join("summary.json"));
    let rss = s["peak_rss_mib"].as_f64().expect("Linux reports VmHWM");
    let mib = size as f64 / 1048576.0;
    eprintln!("peak RSS {rss:.1} MiB for a {mib:.1} MiB data set");
    assert!(
        rss < mib / 3.0,
        "peak RSS {rss} MiB for a {mib} MiB data set"
    );
}

fn write_net(dir: &Path, n_in: u32) -> PathBuf {
    let p = dir.join(format!("net{n_in}.toml"));
    std::fs::write(
        &p,
        SMALL_NET.replace("size = 700", &format!("size = {n_in}")),
    )
    .unwrap();
    p
}

/// A labelled folder of three recordings (one per split) with `rows` as labels.csv.
fn folder(dir: &Path, rows: &str, spike_channel: u32) -> PathBuf {
    let d = dir.join(format!("set{}", rows.len()));
    std::fs::create_dir_all(&d).unwrap();
    for k in 0..3 {
        let ev = [AeEvent::addr(500, spike_channel), AeEvent::addr(9500, k)];
        npy::write(&d.join(format!("{k}.npy")), &ev, false).unwrap();
    }
    std::fs::write(d.join("labels.csv"), rows).unwrap();
    d
}

#[test]
fn bad_data_is_refused_naming_the_file_and_sample() {
    let dir = tempfile::tempdir().unwrap();
    let net = write_net(dir.path(), 700);
    let run = |data: &Path, n: &Path| {
        let out = dir.path().join("out");
        eligo(&[
            "train",
            "--net",
            arg(n),
            "--data",
            arg(data),
            "--quiet",
            "--out",
            arg(&out),
        ])
    };
    let good = "file,label,split\n0.npy,1,train\n1.npy,2,validation\n2.npy,3,test\n";
    // missing label
    let d = folder(
        dir.path(),
        "file,label,split\n0.npy,,train\n1.npy,2,validation\n2.npy,3,test\n",
        0,
    );
    refused(&run(&d, &net), &["labels.csv", "0.npy", "label"]);
    // unknown file
    let d = folder(
        dir.path(),
        "file,label,split\n0.npy,1,train\n1.npy,2,validation\n9.npy,3,test\n",
        0,
    );
    refused(&run(&d, &net), &["9.npy"]);
    // label out of range for the 10 readouts
    let d = folder(
        dir.path(),
        "file,label,split\n0.npy,1,train\n1.npy,12,validation\n2.npy,3,test\n",
        0,
    );
    refused(&run(&d, &net), &["1.npy", "12"]);
    // channel beyond the input population
    let d = folder(dir.path(), good, 650);
    let small = write_net(dir.path(), 600);
    refused(&run(&d, &small), &["0.npy", "650", "in"]);
    // wrong shapes: a 2-D `inputs`
    let npz = dir.path().join("flat.npz");
    let mut arrays = std::collections::BTreeMap::new();
    use eligo_engine::io::npz::Out;
    arrays.insert(
        "inputs".to_string(),
        Out::F32(vec![3, 700], vec![0.0; 2100]),
    );
    arrays.insert("labels".to_string(), Out::U32(vec![3], vec![0, 1, 2]));
    eligo_engine::io::npz::write(&npz, &arrays).unwrap();
    refused(&run(&npz, &net), &["flat.npz", "inputs"]);
    // the data config names a population the network lacks
    let cfg = dir.path().join("data.toml");
    std::fs::write(&cfg, "input = \"inn\"\n").unwrap();
    let d = folder(dir.path(), good, 0);
    let out = dir.path().join("out");
    refused(
        &eligo(&[
            "train",
            "--net",
            arg(&net),
            "--data",
            arg(&d),
            "--data-config",
            arg(&cfg),
            "--quiet",
            "--out",
            arg(&out),
        ]),
        &["input", "inn", "did you mean"],
    );
    assert!(!out.exists(), "nothing written for a refused run");
}

/// A dense `.npz` with target series trains with the squared error: the validation NMSE of
/// every epoch is reported, falls, and the summary gives the test NMSE.
#[test]
fn a_regression_data_set_trains_with_mse() {
    use eligo_engine::io::npz::Out;
    let dir = tempfile::tempdir().unwrap();
    let (n, steps, ch) = (40u64, 50u64, 20u64);
    // a frozen input (channel c fires at steps c, c + 20, ...) and one sine target, in every
    // sample; the samples differ only in a few noise spikes
    let mut inputs = vec![0.0f32; (n * steps * ch) as usize];
    let mut targets = vec![0.0f32; (n * steps) as usize];
    for k in 0..n {
        for t in 0..steps {
            for c in 0..ch {
                let on = (t + 20 - c % 20) % 20 == 0 || (t * 7 + c * 3 + k) % 97 == 0;
                inputs[((k * steps + t) * ch + c) as usize] = f32::from(u8::from(on));
            }
            targets[(k * steps + t) as usize] =
                (2.0 * std::f32::consts::PI * t as f32 / steps as f32).sin();
        }
    }
    let mut arrays = std::collections::BTreeMap::new();
    arrays.insert("inputs".to_string(), Out::F32(vec![n, steps, ch], inputs));
    arrays.insert("targets".to_string(), Out::F32(vec![n, steps, 1], targets));
    let npz = dir.path().join("sine.npz");
    eligo_engine::io::npz::write(&npz, &arrays).unwrap();
    let net = dir.path().join("net.toml");
    let text = SMALL_NET
        .replace("size = 700", "size = 20")
        .replace("size = 16", "size = 32")
        .replace("size = 10", "size = 1")
        .replace("std = 0.05", "std = 0.5");
    std::fs::write(&net, text).unwrap();
    let out = dir.path().join("out");
    ok(&eligo(&[
        "train",
        "--net",
        arg(&net),
        "--data",
        arg(&npz),
        "--epochs",
        "30",
        "--batch",
        "8",
        "--quiet",
        "--out",
        arg(&out),
    ]));
    let e = epochs(&out);
    assert_eq!(e.len(), 30);
    let nmse = |l: &serde_json::Value| l["validation_nmse"].as_f64().unwrap();
    eprintln!("validation NMSE {} -> {}", nmse(&e[0]), nmse(&e[29]));
    assert!(
        nmse(&e[29]) < 0.5 * nmse(&e[0]),
        "validation NMSE {} -> {}",
        nmse(&e[0]),
        nmse(&e[29])
    );
    let s = json(&out.join("summary.json"));
    assert!(s["test_nmse"].as_f64().unwrap() < 0.5 * nmse(&e[0]), "{s}");
    assert!(s.get("test_accuracy").is_none());
}
