//! `eligo train` through the CLI: learning, bit-exact resume and thread counts, crash-safe
//! checkpoints, and its errors.

use std::path::Path;
use std::process::{Command, Output};

fn train(out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args([
            "train", "--task", "evidence", "--scale", "0.1", "--batch", "4", "--quiet", "--out",
        ])
        .arg(out)
        .args(extra)
        .output()
        .expect("eligo runs")
}

/// Continue the run in `dir` (the same task options as `train`), optionally dying in the
/// checkpoint write (test hook).
fn resume(dir: &Path, extra: &[&str], crash: bool) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eligo"));
    c.args([
        "train", "--task", "evidence", "--scale", "0.1", "--batch", "4", "--quiet",
    ])
    .args(extra)
    .arg("--resume")
    .arg(dir);
    if crash {
        c.env("ELIGO_TEST_CRASH_CHECKPOINT", "1");
    }
    c.output().expect("eligo runs")
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn resume_equals_uninterrupted_and_threads_do_not_matter() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    ok(&train(
        &a,
        &[
            "--iterations",
            "6",
            "--checkpoint-every",
            "3",
            "--threads",
            "1",
        ],
    ));
    ok(&train(
        &b,
        &[
            "--iterations",
            "3",
            "--checkpoint-every",
            "3",
            "--threads",
            "2",
        ],
    ));
    ok(&resume(
        &b,
        &[
            "--iterations",
            "6",
            "--checkpoint-every",
            "3",
            "--threads",
            "2",
        ],
        false,
    ));
    ok(&train(
        &c,
        &[
            "--iterations",
            "6",
            "--checkpoint-every",
            "3",
            "--threads",
            "2",
        ],
    ));
    for f in [
        "weights.npz",
        "checkpoint/optimizer.npz",
        "checkpoint/rules.bin",
    ] {
        assert!(
            read(&a.join(f)) == read(&b.join(f)),
            "{f}: resumed run differs from uninterrupted"
        );
        assert!(
            read(&a.join(f)) == read(&c.join(f)),
            "{f}: 2 threads differ from 1"
        );
    }
    // and training did change the weights
    let fresh = dir.path().join("fresh");
    ok(&train(&fresh, &["--iterations", "1", "--lr", "0"]));
    assert!(read(&a.join("weights.npz")) != read(&fresh.join("weights.npz")));
}

#[test]
fn a_checkpoint_write_killed_before_the_rename_is_never_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    ok(&train(
        &a,
        &[
            "--iterations",
            "4",
            "--checkpoint-every",
            "2",
            "--threads",
            "1",
        ],
    ));
    ok(&train(
        &b,
        &[
            "--iterations",
            "2",
            "--checkpoint-every",
            "2",
            "--threads",
            "1",
        ],
    ));
    // continue to 4, but die between writing the new checkpoint and renaming it into place
    let o = resume(
        &b,
        &[
            "--iterations",
            "4",
            "--checkpoint-every",
            "2",
            "--threads",
            "1",
        ],
        true,
    );
    assert!(!o.status.success(), "the crash hook must stop the run");
    assert!(
        b.join(".checkpoint.tmp/state.json").exists(),
        "the temporary checkpoint was complete"
    );
    let state = std::fs::read_to_string(b.join("checkpoint/state.json")).unwrap();
    assert!(state.contains("\"iteration\": 2"), "{state}");
    // resuming takes the complete checkpoint of iteration 2 and reaches the same end
    ok(&resume(
        &b,
        &[
            "--iterations",
            "4",
            "--checkpoint-every",
            "2",
            "--threads",
            "1",
        ],
        false,
    ));
    assert!(read(&a.join("weights.npz")) == read(&b.join("weights.npz")));
}

#[test]
fn a_scaled_down_evidence_task_learns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t");
    let o = Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args([
            "train", "--task", "evidence", "--scale", "0.2", "--batch", "16", "--quiet",
        ])
        .args(["--iterations", "40", "--no-early-stop", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    ok(&o);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 40);
    let mean = |v: &[serde_json::Value]| {
        v.iter().map(|l| l["loss"].as_f64().unwrap()).sum::<f64>() / v.len() as f64
    };
    let (first, last) = (mean(&lines[..5]), mean(&lines[35..]));
    // chance level of a 2-way cross-entropy is ln 2 = 0.693
    assert!(first > 0.6, "starts near chance: {first}");
    assert!(
        last < 0.45,
        "loss must fall well below chance: {first} -> {last}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(summary["test_error"].as_f64().unwrap() < 0.3, "{summary}");
}

fn refused(args: &[&str], must: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_eligo"))
        .arg("train")
        .args(args)
        .arg("--quiet")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for m in must {
        assert!(err.contains(m), "{m:?} missing from: {err}");
    }
}

#[test]
fn bad_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        &["--task", "evidense"],
        &["unknown task", "did you mean 'evidence'"],
    );
    refused(&["--rule", "epropp"], &["--rule", "did you mean 'eprop'"]);
    refused(
        &["--feedback", "randm"],
        &["--feedback", "did you mean 'random'"],
    );
    let cfg = dir.path().join("rule.toml");
    std::fs::write(&cfg, "c_reg = = 1").unwrap();
    refused(
        &["--rule-config", cfg.to_str().unwrap()],
        &["rule.toml", "not valid TOML"],
    );
    std::fs::write(&cfg, "c_regg = 1").unwrap();
    refused(
        &["--rule-config", cfg.to_str().unwrap()],
        &["rule.toml", "c_regg", "did you mean 'c_reg'"],
    );
    // a checkpoint of another network
    let a = dir.path().join("a");
    ok(&train(
        &a,
        &["--iterations", "1", "--checkpoint-every", "1"],
    ));
    refused(
        &[
            "--task",
            "evidence-lif",
            "--scale",
            "0.1",
            "--batch",
            "4",
            "--resume",
            a.to_str().unwrap(),
        ],
        &["another network", "evidence"],
    );
    refused(
        &["--resume", dir.path().to_str().unwrap()],
        &["no checkpoint"],
    );
}

/// A rule config's `[optimizer]` gives per-projection learning rates (`lr_by_projection`) and
/// replaces the task's optimizer kind and rate only where it names them.
#[test]
fn the_rule_config_sets_per_projection_learning_rates() {
    use eligo_engine::io::npz;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("opt.toml");
    std::fs::write(
        &cfg,
        "[optimizer]\nlr_by_projection = { \"in->rec\" = 0.0 }\n",
    )
    .unwrap();
    let (frozen, still) = (dir.path().join("frozen"), dir.path().join("still"));
    let cfg_arg = cfg.to_str().unwrap();
    ok(&train(
        &frozen,
        &["--iterations", "3", "--rule-config", cfg_arg],
    ));
    // learning rate 0 everywhere: the initial weights
    ok(&train(&still, &["--iterations", "1", "--lr", "0"]));
    let (a, b) = (
        npz::read(&frozen.join("weights.npz")).unwrap(),
        npz::read(&still.join("weights.npz")).unwrap(),
    );
    assert_eq!(
        a["in->rec/data"], b["in->rec/data"],
        "in->rec must not move"
    );
    assert_ne!(
        a["rec->rec/data"], b["rec->rec/data"],
        "rec->rec must learn"
    );
    assert_ne!(
        a["rec->out/data"], b["rec->out/data"],
        "rec->out must learn"
    );
    // the task's optimizer (Adam) and rate stay: summary.json says so
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(frozen.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        (s["optimizer"].as_str(), s["lr"].as_f64()),
        (Some("adam"), Some(5e-3))
    );
}

#[test]
fn bad_counts_name_their_flag() {
    // --checkpoint-every 0 divided by zero (exit 101)
    refused(
        &["--checkpoint-every", "0"],
        &["--checkpoint-every = 0", "must be between 1 and"],
    );
    // --threads 0 was blamed on `batch`
    refused(
        &["--threads", "0"],
        &["--threads = 0", "must be between 1 and"],
    );
}

/// The test evaluation summed per-lane losses, and the evaluation lanes are as many as the
/// threads: `test_loss` differed in the 15th digit between 1 and 2 threads.
#[test]
fn summary_is_bit_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let summary = |threads: &str| {
        let out = dir.path().join(threads);
        ok(&train(&out, &["--iterations", "6", "--threads", threads]));
        let mut s: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        for timing in [
            "threads",
            "seconds_per_iteration",
            "wall_s",
            "out",
            "peak_rss_mib",
        ] {
            assert!(s.remove(timing).is_some(), "{timing}");
        }
        serde_json::to_string_pretty(&s).unwrap()
    };
    let (one, two) = (summary("1"), summary("2"));
    assert!(one.contains("test_loss"), "{one}");
    assert_eq!(one, two, "summary.json differs between 1 and 2 threads");
}

/// `--lr 1e300` wrote NaN weights with exit 0 (or failed later in the rule with exit 1): the
/// update is checked, the run stops with exit 2 before writing anything from it, and the last
/// checkpoint stays as it was.
#[test]
fn an_exploding_learning_rate_stops_before_writing_non_finite_weights() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh");
    let o = train(&fresh, &["--iterations", "2", "--lr", "1e300"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for m in ["--lr = 1e300", "in iteration 1", "weights must stay finite"] {
        assert!(err.contains(m), "{m:?} missing from: {err}");
    }
    assert!(!fresh.join("weights.npz").exists() && !fresh.join("checkpoint").exists());
    // a run with a good checkpoint, continued with the exploding rate
    let run = dir.path().join("run");
    ok(&train(
        &run,
        &["--iterations", "2", "--checkpoint-every", "1"],
    ));
    let files = [
        "checkpoint/state.json",
        "checkpoint/weights.npz",
        "checkpoint/optimizer.npz",
        "weights.npz",
        "metrics.jsonl",
    ];
    let before: Vec<Vec<u8>> = files.iter().map(|f| read(&run.join(f))).collect();
    let o = resume(
        &run,
        &[
            "--iterations",
            "4",
            "--lr",
            "1e300",
            "--resume-override",
            "lr",
        ],
        false,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("in iteration 3"), "{err}");
    for (f, b) in files.iter().zip(&before) {
        assert!(read(&run.join(f)) == *b, "{f} changed");
    }
    ok(&resume(&run, &["--iterations", "3"], false));
}

/// SIGINT during `train`: the iteration under way finishes, a checkpoint is written, exit 130;
/// resuming reaches the weights of an uninterrupted run, bit for bit.
#[test]
fn sigint_checkpoints_and_resume_continues_exactly() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let (run, reference) = (dir.path().join("run"), dir.path().join("reference"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args(super::common::SMALL_TRAIN)
        .args([
            "--no-early-stop",
            "--iterations",
            "100000",
            "--checkpoint-every",
            "3",
            "--out",
        ])
        .arg(&run)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // the first metrics are written with the first checkpoint (iteration 3)
    let t0 = Instant::now();
    while !run.join("metrics.jsonl").exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no metrics after 60 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let t1 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t1.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("train did not stop within 60 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted by SIGINT"), "{err}");
    assert!(
        !run.join(".checkpoint.tmp").exists(),
        "no temporary checkpoint left"
    );
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("checkpoint/state.json")).unwrap())
            .unwrap();
    let k = state["iteration"].as_u64().unwrap();
    assert!(k >= 3, "{state}");
    let end = (k + 2).to_string();
    let more = [
        "--iterations",
        &end,
        "--checkpoint-every",
        "3",
        "--threads",
        "1",
        "--no-early-stop",
    ];
    ok(&resume(&run, &more, false));
    ok(&train(&reference, &more));
    for f in [
        "weights.npz",
        "checkpoint/optimizer.npz",
        "checkpoint/rules.bin",
    ] {
        assert!(
            read(&run.join(f)) == read(&reference.join(f)),
            "{f}: the interrupted and resumed run differs from the uninterrupted one"
        );
    }
}
