//! Integration tests of the `eligo` command line: happy paths and every kind of bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn eligo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args(args)
        .output()
        .expect("eligo runs")
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/example_net.toml")
}

/// A small valid description; tests break one thing in it at a time.
const BASE: &str = r#"
dt_ms = 1.0
duration_ms = 50.0
seed = 3

[[population]]
name = "in"
model = "poisson"
size = 10
rate_hz = 50.0

[[population]]
name = "rec"
model = "lif"
size = 20
tau_m_ms = 20.0

[[projection]]
from = "in"
to = "rec"
rule = "fixed_probability"
p = 0.5
weight = 0.3
delay_steps = 1

[[recorder]]
population = "rec"
kind = "spikes"
"#;

struct Case {
    dir: tempfile::TempDir,
    net: PathBuf,
    out: PathBuf,
}

impl Case {
    /// `eligo simulate NET --out OUT --quiet`, which must succeed.
    fn simulate_ok(&self) {
        let o = eligo(&[
            "simulate",
            self.net.to_str().unwrap(),
            "--out",
            self.out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

fn case(text: &str) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.toml");
    std::fs::write(&net, text).unwrap();
    let out = dir.path().join("out");
    Case { dir, net, out }
}

/// Run `simulate` on a broken description and check the error contract.
fn refused(text: &str, must_mention: &[&str]) {
    let c = case(text);
    let o = eligo(&[
        "simulate",
        c.net.to_str().unwrap(),
        "--out",
        c.out.to_str().unwrap(),
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(2),
        "exit code for {must_mention:?}: {err}"
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(
        err.contains("net.toml"),
        "message must name the file: {err}"
    );
    for m in must_mention {
        assert!(err.contains(m), "message must mention {m:?}: {err}");
    }
    assert!(!c.out.exists(), "output written for bad input");
    drop(c.dir);
}

#[test]
fn unknown_model_suggests_the_nearest() {
    refused(
        &BASE.replace("model = \"lif\"", "model = \"lfi\""),
        &[
            "population[1]",
            "model",
            "'lfi'",
            "allowed",
            "did you mean 'lif'",
        ],
    );
}

#[test]
fn unknown_field_is_named() {
    refused(
        &BASE.replace("tau_m_ms = 20.0", "tau_mm = 20.0"),
        &[
            "population[1]",
            "tau_mm",
            "unknown field",
            "did you mean 'tau_m_ms'",
        ],
    );
    refused(
        &BASE.replace("delay_steps = 1", "delay_step = 1"),
        &["projection[0]", "delay_step", "did you mean 'delay_steps'"],
    );
}

#[test]
fn delay_below_one_step() {
    refused(
        &BASE.replace("delay_steps = 1", "delay_steps = 0"),
        &["delay_steps = 0", "between 1 and 65535"],
    );
    refused(
        &BASE.replace("delay_steps = 1", "delay_ms = 0.5"),
        &["delay_ms", "0.5", "multiple of dt"],
    );
}

#[test]
fn probability_outside_unit_interval() {
    refused(&BASE.replace("p = 0.5", "p = 1.5"), &["p = 1.5", "[0, 1]"]);
    refused(
        &BASE.replace("p = 0.5", "p = -0.1"),
        &["p = -0.1", "[0, 1]"],
    );
}

#[test]
fn empty_population() {
    refused(
        &BASE.replace("size = 20", "size = 0"),
        &["population[1] 'rec'.size = 0", "at least 1"],
    );
}

#[test]
fn projection_to_a_missing_population() {
    refused(
        &BASE.replace("to = \"rec\"", "to = \"recc\""),
        &[
            "projection[0]",
            "to = 'recc'",
            "populations: in, rec",
            "did you mean 'rec'",
        ],
    );
}

#[test]
fn nan_or_negative_time_constants() {
    refused(
        &BASE.replace("tau_m_ms = 20.0", "tau_m_ms = nan"),
        &["tau_m_ms = NaN", "> 0 ms"],
    );
    refused(
        &BASE.replace("tau_m_ms = 20.0", "tau_m_ms = -5.0"),
        &["tau_m_ms = -5", "> 0 ms"],
    );
}

#[test]
fn not_toml() {
    refused(
        "dt_ms = = 1\n[[population]\n",
        &["not valid TOML", "line 1"],
    );
}

#[test]
fn missing_file_and_bad_arguments() {
    let o = eligo(&["simulate", "/nonexistent/net.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("/nonexistent/net.toml") && err.contains("cannot read"),
        "{err}"
    );
    let o = eligo(&["simulate", example().to_str().unwrap(), "--threads", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let o = eligo(&["bench", "cuba", "--neurons", "many"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn simulate_writes_spikes_and_summary() {
    let c = case(BASE);
    c.simulate_ok();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(c.out.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["steps"], 50);
    // at least a target and a weight per synapse; the ratio as stated
    let syn = summary["synapses"].as_u64().unwrap();
    let bytes = summary["synapse_bytes"].as_u64().unwrap();
    assert!(
        syn > 0 && bytes >= 8 * syn,
        "{bytes} bytes for {syn} synapses"
    );
    let per = summary["bytes_per_synapse"].as_f64().unwrap();
    assert!((per - bytes as f64 / syn as f64).abs() < 1e-9, "{per}");
    let rec_spikes = summary["populations"][1]["spikes"].as_u64().unwrap();
    assert!(rec_spikes > 0);
    // the spike file holds exactly that many 12-byte records after the header
    let bytes = std::fs::read(c.out.join("spikes_rec.npy")).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!(bytes.len() - 10 - header_len, rec_spikes as usize * 12);
    // no temporary files left behind
    for e in std::fs::read_dir(&c.out).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "{name}");
    }
}

#[test]
fn example_and_threads_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![];
    for k in ["1", "2"] {
        let out = dir.path().join(k);
        let o = eligo(&[
            "simulate",
            example().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--threads",
            k,
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        files.push(
            ["spikes_exc.npy", "spikes_inh.npy", "state_exc_v.npy"]
                .map(|f| std::fs::read(out.join(f)).unwrap()),
        );
    }
    assert!(
        files[0] == files[1],
        "outputs differ between 1 and 2 threads"
    );
}

#[test]
fn bench_cuba_prints_one_json_line() {
    let o = eligo(&["bench", "cuba", "--neurons", "1000", "--time-ms", "100"]);
    assert!(o.status.success());
    let line = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    for key in [
        "neurons",
        "synapses",
        "spikes",
        "rate_hz",
        "build_s",
        "sim_s",
        "sim_cpu_s",
        "events_per_s",
        "updates_per_s",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["neurons"], 1000);
}

#[test]
fn bench_microcircuit_prints_one_json_line_the_same_on_any_thread_count() {
    let run = |threads: &str| {
        let o = eligo(&[
            "bench",
            "microcircuit",
            "--scale",
            "0.01",
            "--time-ms",
            "50",
            "--warmup-ms",
            "20",
            "--threads",
            threads,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
        v
    };
    let one = run("1");
    for key in [
        "real_time_factor",
        "build_s",
        "events_per_s",
        "peak_rss_bytes",
        "synapses",
    ] {
        assert!(one.get(key).is_some(), "missing {key}");
    }
    // round(0.01 N) of each population: 207 + 58 + 219 + 55 + 48 + 11 + 144 + 29
    assert_eq!(one["neurons"], 771);
    let rates = one["rates_hz"].as_object().unwrap();
    assert_eq!(rates.len(), 8);
    assert!(
        rates.values().any(|r| r.as_f64().unwrap() > 0.0),
        "{rates:?}"
    );
    let two = run("2");
    assert_eq!(one["rates_hz"], two["rates_hz"]);
    assert_eq!(one["spikes"], two["spikes"]);
    let o = eligo(&["bench", "microcircuit", "--scale", "2"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("scale") && e.contains("(0, 1]") && e.contains("--scale 0.1"),
        "{e}"
    );
}

/// `bench microcircuit --spikes-out`: the file holds the spikes the counters counted, each in
/// its population's id range and inside the timed window, the same bytes on 1 and 2 threads.
#[test]
fn bench_microcircuit_spikes_out_holds_the_counted_spikes() {
    let dir = tempfile::tempdir().unwrap();
    let run = |threads: &str| {
        let f = dir.path().join(format!("spikes{threads}.npy"));
        let o = eligo(&[
            "bench",
            "microcircuit",
            "--scale",
            "0.01",
            "--time-ms",
            "50",
            "--warmup-ms",
            "20",
            "--background",
            "poisson",
            "--threads",
            threads,
            "--spikes-out",
            f.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
        (v, std::fs::read(f).unwrap())
    };
    let (v, bytes) = run("1");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let got: Vec<(u64, u32)> = bytes[10 + header_len..]
        .chunks_exact(12)
        .map(|r| {
            (
                u64::from_le_bytes(r[..8].try_into().unwrap()),
                u32::from_le_bytes(r[8..].try_into().unwrap()),
            )
        })
        .collect();
    assert_eq!(got.len() as u64, v["spikes"].as_u64().unwrap());
    assert!(got.len() > 50, "{}", got.len());
    assert!(got.windows(2).all(|w| w[0] <= w[1]), "by time, then id");
    // µs from the start of the warm-up: the timed part is [20, 70) ms
    assert!(got.iter().all(|&(t, _)| (20_000..70_000).contains(&t)));
    // round(0.01 N) of each population, in id order
    let sizes = [207u32, 58, 219, 55, 48, 11, 144, 29];
    let names = ["L23e", "L23i", "L4e", "L4i", "L5e", "L5i", "L6e", "L6i"];
    let mut start = 0;
    for (n, name) in sizes.iter().zip(names) {
        let count = got
            .iter()
            .filter(|&&(_, g)| (start..start + n).contains(&g))
            .count();
        let rate = v["rates_hz"][name].as_f64().unwrap();
        assert!(
            (count as f64 - rate * f64::from(*n) * 0.05).abs() < 1e-6,
            "{name}: {count} spikes in the file, rate {rate} Hz"
        );
        start += n;
    }
    assert!(got.iter().all(|&(_, g)| g < start));
    assert_eq!(run("2").1, bytes, "the same file on 2 threads");
    let o = eligo(&[
        "bench",
        "microcircuit",
        "--spikes-out",
        dir.path().join("no/such/s.npy").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("--spikes-out") && e.contains("folder must exist"),
        "{e}"
    );
}

#[test]
fn long_runs_stream_every_recorded_spike_in_order() {
    // spikes at known steps on both sides of the 10 000-step chunks the recorder streams in
    let times = [
        (1, 0.5),
        (0, 999.9),
        (2, 1000.0),
        (0, 1000.0),
        (1, 2500.0),
        (2, 2999.9),
    ];
    let list: Vec<String> = times.iter().map(|(i, t)| format!("[{i}, {t}]")).collect();
    let c = case(&format!(
        "dt_ms = 0.1\nduration_ms = 3000.0\nseed = 1\n\n[[population]]\nname = \"src\"\n\
         model = \"spike_times\"\nsize = 3\ntimes_ms = [{}]\n\n[[recorder]]\n\
         population = \"src\"\nkind = \"spikes\"\n",
        list.join(", ")
    ));
    c.simulate_ok();
    let bytes = std::fs::read(c.out.join("spikes_src.npy")).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = String::from_utf8_lossy(&bytes[10..10 + header_len]).into_owned();
    assert!(header.contains("'shape': (6,)"), "{header}");
    let got: Vec<(u64, u32)> = bytes[10 + header_len..]
        .chunks_exact(12)
        .map(|r| {
            (
                u64::from_le_bytes(r[..8].try_into().unwrap()),
                u32::from_le_bytes(r[8..].try_into().unwrap()),
            )
        })
        .collect();
    // (t in µs, neuron), by time then neuron
    let want = vec![
        (500, 1),
        (999_900, 0),
        (1_000_000, 0),
        (1_000_000, 2),
        (2_500_000, 1),
        (2_999_900, 2),
    ];
    assert_eq!(got, want);
}

/// `--threads` left out means every core in every command (simulate and bench used 1, train all).
#[test]
fn threads_default_is_every_core_in_every_command() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let c = case(BASE);
    c.simulate_ok();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(c.out.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["threads"], cores);
    let o = eligo(&["bench", "cuba", "--neurons", "1000", "--time-ms", "10"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    assert_eq!(v["threads"], cores);
    for cmd in ["simulate", "train", "bench"] {
        let args: &[&str] = if cmd == "bench" {
            &["bench", "cuba", "--help"]
        } else {
            &[cmd, "--help"]
        };
        let help = String::from_utf8_lossy(&eligo(args).stdout).into_owned();
        let at = help.find("--threads").expect("--threads in help");
        let text: String = help[at..].lines().take(3).collect();
        assert!(text.contains("Default: all cores"), "{cmd}: {text}");
    }
}

/// With stderr not a terminal, `--progress auto` (the default) printed nothing at all; now it
/// prints lines (here every step: the test hook sets the interval to 0 ms), in model ms.
#[test]
fn progress_lines_when_stderr_is_not_a_terminal() {
    // long enough for the engine's progress reports (every 256 steps)
    let c = case(&BASE.replace("duration_ms = 50.0", "duration_ms = 3000.0"));
    let run = |extra: &[&str]| {
        let mut args = vec![
            "simulate",
            c.net.to_str().unwrap(),
            "--out",
            c.out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = Command::new(env!("CARGO_BIN_EXE_eligo"))
            .args(&args)
            .env("ELIGO_TEST_PROGRESS_EVERY_MS", "0")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let err = run(&[]);
    // 3000 steps of dt = 1 ms
    assert!(
        err.lines()
            .any(|l| l.starts_with("simulating: ") && l.contains(" of 3000 ms model time (")),
        "{err}"
    );
    assert!(!err.contains("steps"), "{err}");
    for quiet in [&["--progress", "none"][..], &["--quiet"]] {
        let err = run(quiet);
        assert!(!err.contains("simulating"), "{quiet:?}: {err}");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args([
            "train",
            "--task",
            "sine-waves",
            "--iterations",
            "2",
            "--out",
        ])
        .arg(c.out.join("train"))
        .env("ELIGO_TEST_PROGRESS_EVERY_MS", "0")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("iteration 2/2  loss "), "{err}");
}
