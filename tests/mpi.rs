//! `mpirun -np R eligo simulate` (feature `mpi`): the files of one process, byte for byte, for
//! 1-3 ranks x 1-2 threads, over shared memory and over TCP; a rank that fails or is killed
//! ends the whole job in bounded time without outputs under their final names.
//!
//! Needs Open MPI's `mpirun` on PATH (tests/run.sh installs it). Runs as root are allowed
//! through Open MPI's variables; `--oversubscribe` lets 3 ranks share 2 cores.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{arg, eligo, ok};

/// dt 0.1 ms; delays 0.5-2.3 ms (epochs of 5 steps); Poisson input into excitatory and
/// inhibitory LIF neurons (the excitatory with a Poisson background too) with recurrent connections of
/// every rule.
fn net(duration_ms: f64) -> String {
    format!(
        r#"dt_ms = 0.1
duration_ms = {duration_ms}
seed = 7

[[population]]
name = "input"
model = "poisson"
size = 120
rate_hz = 40.0

[[population]]
name = "exc"
model = "lif_exp"
size = 500
e_l_mv = -65.0
v_th_mv = -50.0
v_reset_mv = -65.0
tau_m_ms = 20.0
t_ref_ms = 2.0
poisson_rate_hz = 1000.0
poisson_weight_mv = 0.2
v_init = {{ kind = "uniform", low = -65.0, high = -50.0 }}

[[population]]
name = "inh"
model = "lif_exp"
size = 130
e_l_mv = -65.0
v_th_mv = -50.0
v_reset_mv = -65.0
tau_m_ms = 10.0
t_ref_ms = 1.0

[[projection]]
from = "input"
to = "exc"
rule = "fixed_indegree"
k = 30
weight = {{ kind = "normal", mean = 2.6, std = 0.3 }}
delay_ms = 0.5

[[projection]]
from = "input"
to = "inh"
rule = "fixed_outdegree"
k = 25
weight = 2.2
delay_ms = 2.3

[[projection]]
from = "exc"
to = "exc"
rule = "fixed_probability"
p = 0.05
weight = {{ kind = "uniform", low = 0.2, high = 0.8 }}
delay_ms = 1.5

[[projection]]
from = "exc"
to = "inh"
rule = "all_to_all"
weight = 0.05
delay_ms = 1.0

[[projection]]
from = "inh"
to = "exc"
rule = "fixed_probability"
p = 0.2
weight = -3.0
delay_ms = 0.7

[[recorder]]
population = "input"
kind = "spikes"

[[recorder]]
population = "exc"
kind = "spikes"

[[recorder]]
population = "inh"
kind = "spikes"
"#
    )
}

/// `mpirun` with the options every run here needs, then `args`.
fn mpirun(args: &[&str]) -> Command {
    let mut c = Command::new("mpirun");
    c.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .arg("--oversubscribe")
        .args(args);
    c
}

/// Wait for `child` at most `limit`; kill it and fail the test after that (a hang).
fn wait_bounded(mut child: Child, limit: Duration, what: &str) -> Output {
    let t0 = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?} (a hang)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run(c: &mut Command, what: &str) -> Output {
    let child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun runs (Open MPI installed?)");
    wait_bounded(child, Duration::from_secs(120), what)
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&bytes(&dir.join("summary.json"))).expect("summary.json is JSON")
}

const FILES: [&str; 3] = ["spikes_input.npy", "spikes_exc.npy", "spikes_inh.npy"];

#[test]
fn ranks_write_the_files_of_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("net.toml");
    std::fs::write(&cfg, net(500.0)).unwrap();
    let base = dir.path().join("base");
    ok(&eligo(&[
        "simulate",
        arg(&cfg),
        "--out",
        arg(&base),
        "--threads",
        "1",
        "--quiet",
    ]));
    let spikes = bytes(&base.join("spikes_exc.npy")).len();
    assert!(spikes > 8_000, "a network that spikes: {spikes} bytes");
    let want = summary(&base);
    let input = base.join("spikes_input.npy");
    let bin = env!("CARGO_BIN_EXE_eligo");
    // a plastic rule: pair STDP on the recurrent excitatory synapses (it reads spikes only)
    let stdp = dir.path().join("stdp.toml");
    std::fs::write(
        &stdp,
        "a_plus = 0.002\na_minus = 0.0024\n[host]\nplastic = [\"exc->exc\"]\nw_min = 0.0\n\
         w_max = 10.0\n",
    )
    .unwrap();
    let plastic = dir.path().join("plastic");
    ok(&eligo(&[
        "simulate",
        arg(&cfg),
        "--out",
        arg(&plastic),
        "--threads",
        "1",
        "--quiet",
        "--rule",
        "stdp",
        "--rule-config",
        arg(&stdp),
    ]));
    let learned = summary(&plastic);
    assert!(
        learned["rule"]["changes_applied"].as_u64() > Some(1000),
        "{learned}"
    );
    let rule_args = ["--rule", "stdp", "--rule-config", arg(&stdp)];
    // (ranks, threads, replay the recorded input, the rule, extra mpirun options)
    let cases: &[(usize, &str, bool, bool, &[&str])] = &[
        (1, "1", true, false, &[]),
        (2, "1", false, false, &[]),
        (2, "1", true, false, &[]),
        (2, "2", true, false, &[]),
        (3, "1", true, false, &[]),
        (3, "2", false, false, &[]),
        (2, "1", true, true, &[]),
        (3, "2", false, true, &[]),
        // the transport between machines
        (2, "1", true, false, &["--mca", "btl", "tcp,self"]),
    ];
    for &(ranks, threads, replay, rule, extra) in cases {
        let what =
            format!("{ranks} ranks x {threads} threads, replay {replay}, stdp {rule}, {extra:?}");
        let out: PathBuf = dir
            .path()
            .join(format!("r{ranks}t{threads}{replay}{rule}{}", extra.len()));
        let np = ranks.to_string();
        let mut args: Vec<&str> = extra.to_vec();
        args.extend([
            "-np",
            &np,
            bin,
            "simulate",
            arg(&cfg),
            "--out",
            arg(&out),
            "--threads",
            threads,
            "--quiet",
        ]);
        if replay {
            args.extend(["--input-events", arg(&input), "--population", "input"]);
        }
        if rule {
            args.extend(rule_args);
        }
        let o = run(&mut mpirun(&args), &what);
        assert!(
            o.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let (base, want) = match rule {
            true => (&plastic, &learned),
            false => (&base, &want),
        };
        for f in FILES {
            assert!(
                bytes(&base.join(f)) == bytes(&out.join(f)),
                "{what}: {f} differs from one process"
            );
        }
        let got = summary(&out);
        if rule {
            assert!(
                bytes(&base.join("weights.npz")) == bytes(&out.join("weights.npz")),
                "{what}: the learned weights.npz differs from one process"
            );
            assert_eq!(
                got["rule"]["changes_applied"],
                want["rule"]["changes_applied"]
            );
        }
        assert_eq!(got["ranks"], ranks, "{what}");
        for key in ["synapses", "synaptic_events", "steps"] {
            assert_eq!(got[key], want[key], "{what}: {key}");
        }
        let per_rank = got["per_rank"].as_array().expect("per_rank");
        assert_eq!(per_rank.len(), ranks, "{what}");
        if ranks > 1 {
            // each rank holds only the synapses ending on its neurons
            let most = per_rank
                .iter()
                .map(|r| r["synapses"].as_u64().unwrap())
                .max();
            assert!(most < want["synapses"].as_u64(), "{what}: {per_rank:?}");
        }
    }
}

/// The processes `mpirun` (pid `parent`) started as rank `rank`.
fn rank_pids(parent: u32, rank: usize) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // the parent pid is the 2nd field after the parenthesized command name
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let tag = format!("OMPI_COMM_WORLD_RANK={rank}");
        if ppid == Some(parent) && env.split(|&b| b == 0).any(|v| v == tag.as_bytes()) {
            out.push(pid);
        }
    }
    out
}

/// No output of the run under its final name (`!started`: not even a temporary file, nor the
/// directory).
fn nothing_final(out: &Path, what: &str, started: bool) {
    for f in FILES.iter().chain(&["summary.json"]) {
        assert!(!out.join(f).exists(), "{what}: {f} was written");
    }
    if !started {
        assert!(!out.exists(), "{what}: {} was created", out.display());
    }
}

#[test]
fn a_failing_or_killed_rank_ends_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("net.toml");
    std::fs::write(&good, net(200_000.0)).unwrap();
    // rank 1 gets a description with a bad field; rank 0 a good one
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, net(200_000.0).replace("size = 500", "size = -5")).unwrap();
    let bin = env!("CARGO_BIN_EXE_eligo");
    let out = dir.path().join("failed");
    let t0 = Instant::now();
    let o = run(
        &mut mpirun(&[
            "-np",
            "1",
            bin,
            "simulate",
            arg(&good),
            "--out",
            arg(&out),
            "--quiet",
            ":",
            "-np",
            "1",
            bin,
            "simulate",
            arg(&bad),
            "--out",
            arg(&out),
            "--quiet",
        ]),
        "bad input on rank 1",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("rank 1 of 2") && err.contains("bad.toml"),
        "{err}"
    );
    assert!(err.contains("size"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    nothing_final(&out, "bad input on rank 1", false);
    assert!(t0.elapsed() < Duration::from_secs(60));

    // a long run; rank 1 killed once it simulates
    let out = dir.path().join("killed");
    let child = mpirun(&[
        "-np",
        "2",
        bin,
        "simulate",
        arg(&good),
        "--out",
        arg(&out),
        "--quiet",
        "--threads",
        "1",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("mpirun runs");
    let t0 = Instant::now();
    let pid = loop {
        if let Some(&p) = rank_pids(child.id(), 1).first() {
            break p;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "rank 1 never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(700));
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = wait_bounded(child, Duration::from_secs(60), "a killed rank");
    assert!(!o.status.success(), "the job must fail when a rank dies");
    nothing_final(&out, "a killed rank", true);
}

/// `metrics.jsonl` without the wall times.
fn metrics(dir: &Path) -> Vec<serde_json::Value> {
    String::from_utf8(bytes(&dir.join("metrics.jsonl")))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("seconds");
            v
        })
        .collect()
}

#[test]
fn train_on_ranks_equals_one_process_and_resumes_on_any() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_eligo");
    let train = |iterations: &str, out: &Path, resume: bool| -> Vec<String> {
        let mut v: Vec<String> = [
            "train",
            "--task",
            "evidence",
            "--scale",
            "0.1",
            "--batch",
            "8",
            "--feedback",
            "adaptive",
            "--no-early-stop",
            "--quiet",
            "--iterations",
            iterations,
        ]
        .map(String::from)
        .to_vec();
        v.extend([
            if resume { "--resume" } else { "--out" }.into(),
            arg(out).into(),
        ]);
        v
    };
    let one = dir.path().join("one");
    let args = train("6", &one, false);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&eligo(&[&refs[..], &["--threads", "1"]].concat()));
    let mpi = |np: &str, threads: &str, args: Vec<String>, what: &str| {
        let mut all: Vec<&str> = vec!["-np", np, bin];
        all.extend(args.iter().map(String::as_str));
        all.extend(["--threads", threads]);
        let o = run(&mut mpirun(&all), what);
        assert!(
            o.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let two = dir.path().join("two");
    mpi("2", "1", train("6", &two, false), "train on 2 ranks");
    assert!(
        bytes(&one.join("weights.npz")) == bytes(&two.join("weights.npz")),
        "2 ranks: weights.npz differs from one process"
    );
    assert_eq!(metrics(&one), metrics(&two), "2 ranks: metrics differ");
    // 3 iterations on 2 ranks, then resumed on 3 ranks x 2 threads
    let split = dir.path().join("split");
    mpi(
        "2",
        "1",
        train("3", &split, false),
        "train 3 iterations on 2 ranks",
    );
    mpi("3", "2", train("6", &split, true), "resume on 3 ranks");
    assert!(
        bytes(&one.join("weights.npz")) == bytes(&split.join("weights.npz")),
        "resumed on 3 ranks: weights.npz differs from one process"
    );
    // (the 3-iteration run validated at its end, as any run does at its last iteration)
    assert_eq!(
        metrics(&one)[3..],
        metrics(&split)[3..],
        "resumed on 3 ranks: metrics differ"
    );
}

#[test]
fn what_does_not_run_over_ranks_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("net.toml");
    let state = "\n[[recorder]]\npopulation = \"exc\"\nkind = \"state\"\nvariable = \"v\"\nneurons = [0, 1]\n";
    std::fs::write(&cfg, net(50.0) + state).unwrap();
    let bin = env!("CARGO_BIN_EXE_eligo");
    let out = dir.path().join("o");
    let o = run(
        &mut mpirun(&[
            "-np",
            "2",
            bin,
            "simulate",
            arg(&cfg),
            "--out",
            arg(&out),
            "--quiet",
        ]),
        "a state recorder over 2 ranks",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("state recorders are not supported yet over several ranks"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
}

/// `mpirun -np 3 eligo bench microcircuit`, Poisson background: every population's spike count
/// (rates) and the CV of the ISIs as one process gives them, bit for bit; every rank holds a
/// part of the synapses that add up to the whole.
#[test]
fn the_microcircuit_over_ranks_is_the_one_process_microcircuit() {
    let bin = env!("CARGO_BIN_EXE_eligo");
    let args = [
        "bench",
        "microcircuit",
        "--scale",
        "0.01",
        "--time-ms",
        "60",
        "--warmup-ms",
        "20",
        "--background",
        "poisson",
        "--cv-isi",
        "--threads",
        "1",
    ];
    let one = eligo(&args);
    ok(&one);
    let one: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert!(one["spikes"].as_u64() > Some(100), "{one}");
    let mut cmd = vec!["-np", "3", bin];
    cmd.extend(args);
    let o = run(&mut mpirun(&cmd), "bench microcircuit on 3 ranks");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let three: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON line");
    for k in ["spikes", "synapses", "rates_hz", "cv_isi", "neurons"] {
        assert_eq!(one[k], three[k], "{k}");
    }
    let ranks = three["per_rank"].as_array().unwrap();
    assert_eq!(ranks.len(), 3);
    let parts: Vec<u64> = ranks
        .iter()
        .map(|r| r["synapses"].as_u64().unwrap())
        .collect();
    assert!(parts.iter().all(|&p| p > 0), "{parts:?}");
    assert_eq!(parts.iter().sum::<u64>(), one["synapses"].as_u64().unwrap());
}
