//! `eligo train` draws its plots: `loss.png`, `sample.png`, `raster.png` and `rates.png` exist,
//! are PNGs of the expected size and are not blank; `summary.json`'s `rates_hz` are the rates of
//! the test sample replayed independently on the trained weights.

use std::path::Path;
use std::process::Command;

/// Width, height and the number of distinct RGB(A) pixel values of the PNG at `path`, after
/// checking its signature and IHDR chunk by hand (the decoder would accept less).
pub(crate) fn inspect(path: &Path) -> (u32, u32, usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{}: not a PNG signature",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR", "{}: first chunk", path.display());
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    let (w, h) = (be(16), be(20));

    let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes))
        .read_info()
        .expect("decodable");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("one frame");
    assert_eq!((info.width, info.height), (w, h));
    let px = info.color_type.samples();
    let mut distinct: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    distinct.sort_unstable();
    distinct.dedup();
    (w, h, distinct.len())
}

#[test]
fn train_writes_loss_and_sample_plots() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args([
            "train",
            "--scale",
            "0.2",
            "--iterations",
            "3",
            "--batch",
            "4",
        ])
        .args(["--threads", "2", "--quiet", "--out"])
        .arg(&out)
        .output()
        .expect("eligo runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "eligo train failed: {stderr}");
    assert!(!stderr.contains("not written"), "plot warning: {stderr}");
    for (name, size) in [
        ("loss.png", (1200, 800)),
        ("sample.png", (1200, 900)),
        ("raster.png", (1200, 600)),
        ("rates.png", (1200, 600)),
    ] {
        let path = out.join(name);
        let (w, h, colours) = inspect(&path);
        assert_eq!((w, h), size, "{name}");
        // white background, black text and axes, coloured lines and spikes, antialiased edges
        assert!(colours >= 8, "{name}: only {colours} distinct colours");
    }
    // written atomically: no temporary file is left
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// The summary's per-population rates are those of test sample 0 run on the trained weights:
/// here rebuilt from the task, `weights.npz` and a plain simulation, and counted by hand.
#[test]
fn train_rates_hz_are_the_test_samples() {
    use eligo_engine::prelude::*;
    use eligo_engine::task::{self, Split, TaskOptions};

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args([
            "train",
            "--scale",
            "0.2",
            "--iterations",
            "2",
            "--batch",
            "4",
        ])
        .args(["--threads", "1", "--quiet", "--seed", "3", "--out"])
        .arg(&out)
        .output()
        .expect("eligo runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();

    let opts = TaskOptions {
        seed: 3,
        scale: 0.2,
    };
    let task = task::by_name("evidence", &opts).unwrap();
    let mut net = task.network(3).build().unwrap();
    let mut biases = eligo_engine::io::weights::default_biases(&net);
    eligo_engine::io::weights::load(&out.join("weights.npz"), &mut net, &mut biases).unwrap();
    let (inp, rec) = (
        net.population("in").unwrap(),
        net.population("rec").unwrap(),
    );
    let sizes = [
        f64::from(net.populations[inp].size),
        f64::from(net.populations[rec].size),
    ];
    let starts = [net.populations[inp].start, net.populations[rec].start];
    let opts = SimOptions {
        threads: 1,
        record: eligo_engine::sim::RecordSpec {
            spikes: vec![inp, rec],
            state: Vec::new(),
        },
    };
    let mut sim = Simulation::new(net, &opts).unwrap();
    let sample = task.sample(Split::Test, 0).unwrap();
    sim.clamp(inp, &sample.input).unwrap();
    sim.run(task.steps(), None).unwrap();
    let mut counts = [0u64; 2];
    for (_, g) in sim.take_spikes() {
        let k = usize::from(g >= starts[1]);
        counts[k] += 1;
    }
    let seconds = task.steps() as f64 * 1e-3;
    let rates = &summary["rates_hz"];
    assert_eq!(rates.as_object().unwrap().len(), 2, "{rates}");
    for (k, pop) in ["in", "rec"].iter().enumerate() {
        assert!(counts[k] > 20, "{pop}: only {} spikes", counts[k]);
        let expected = counts[k] as f64 / (sizes[k] * seconds);
        let got = rates[pop]
            .as_f64()
            .unwrap_or_else(|| panic!("{pop}: {rates}"));
        assert!(
            (got - expected).abs() <= 1e-12 * expected,
            "{pop}: rates_hz {got}, replayed {expected}"
        );
    }
    assert_eq!(
        summary["rates_hz_of"]
            .as_str()
            .map(|s| s.starts_with("test sample 0")),
        Some(true)
    );
}
