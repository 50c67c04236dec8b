//! Faults during `eligo simulate`: a full disk and SIGINT/SIGTERM. A run either puts its whole
//! output set in place or none of it, and leaves no temporary file and no empty `--out`
//! directory it created.
//!
//! The full disk is real: the run gets a file size limit (`ulimit -f`, with SIGXFSZ ignored so
//! that an oversized write fails with EFBIG like a full disk fails with ENOSPC), chosen so that
//! exactly one output does not fit. That needs no privileges, unlike mounting a small tmpfs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `eligo simulate NET --out OUT --quiet` under a file size limit of `blocks` shell blocks
/// (512 bytes for dash and POSIX shells, 1024 for bash: the cases below leave room for both).
fn simulate_limited(blocks: u32, net: &Path, out: &Path) -> Output {
    Command::new("sh")
        .args([
            "-c",
            "ulimit -f \"$1\" && trap '' XFSZ && shift && exec \"$@\"",
            "sh",
            &blocks.to_string(),
            env!("CARGO_BIN_EXE_eligo"),
            "simulate",
            net.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .expect("sh runs")
}

/// The names in `dir` (empty if it does not exist).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => vec![],
    };
    v.sort();
    v
}

/// A run that failed on a full disk: exit 1, a message naming `file` and the cause, no panic.
fn failed_on(o: &Output, file: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(file), "the message must name {file}: {err}");
    assert!(err.contains("too large"), "the message must say why: {err}");
}

/// A source of 3 spikes (recorded: a file of 164 bytes) driving 20 LIF neurons whose `v` is
/// recorded for `steps` steps (128 + 80 bytes per step).
fn small_net(steps: u32) -> String {
    format!(
        "dt_ms = 1.0\nduration_ms = {steps}.0\nseed = 1\n\n\
         [[population]]\nname = \"src\"\nmodel = \"spike_times\"\nsize = 3\n\
         times_ms = [[0, 1.0], [1, 5.0], [2, 9.0]]\n\n\
         [[population]]\nname = \"rec\"\nmodel = \"lif\"\nsize = 20\n\n\
         [[projection]]\nfrom = \"src\"\nto = \"rec\"\nrule = \"all_to_all\"\nweight = 0.3\n\
         delay_steps = 1\n\n\
         [[recorder]]\npopulation = \"src\"\nkind = \"spikes\"\n\n\
         [[recorder]]\npopulation = \"rec\"\nkind = \"state\"\nvariable = \"v\"\n"
    )
}

#[test]
fn full_disk_in_one_output_leaves_none_of_the_set() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.toml");
    // the state trace is 80 kB, everything else under 1 kB; the limit is 8 or 16 kB
    std::fs::write(&net, small_net(1000)).unwrap();
    let fresh = dir.path().join("fresh");
    let o = simulate_limited(16, &net, &fresh);
    failed_on(&o, "state_rec_v.npy");
    // the run created the directory, and removes it again
    assert!(!fresh.exists(), "left behind: {:?}", names(&fresh));
    // an existing directory is kept, with what was there and nothing else
    let out = dir.path().join("existing");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let o = simulate_limited(16, &net, &out);
    failed_on(&o, "state_rec_v.npy");
    assert_eq!(names(&out), ["notes.txt"]);
    // without the limit the same run writes the whole set
    let o = simulate_limited(100_000, &net, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        names(&out),
        [
            "notes.txt",
            "spikes_src.npy",
            "state_rec_v.npy",
            "summary.json"
        ]
    );
}

#[test]
fn full_disk_at_the_summary_leaves_none_of_the_set() {
    // 60 populations make a summary of about 9 kB; the output files stay under 400 bytes and
    // the limit is 2 or 4 kB
    let mut text = small_net(10);
    for i in 0..60 {
        text.push_str(&format!(
            "\n[[population]]\nname = \"quiet_{i}\"\nmodel = \"lif\"\nsize = 1\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.toml");
    std::fs::write(&net, text).unwrap();
    let out = dir.path().join("out");
    let o = simulate_limited(4, &net, &out);
    failed_on(&o, "summary.json");
    assert!(!out.exists(), "left behind: {:?}", names(&out));
}

#[test]
fn full_disk_during_the_run_leaves_nothing() {
    // 2000 Poisson neurons at 500 Hz for 300 steps: 3.6 MB of recorded spikes, so the writes
    // of the run itself (every MB) fail, long before the end
    let text = "dt_ms = 1.0\nduration_ms = 300.0\nseed = 1\n\n\
                [[population]]\nname = \"in\"\nmodel = \"poisson\"\nsize = 2000\nrate_hz = 500.0\n\n\
                [[recorder]]\npopulation = \"in\"\nkind = \"spikes\"\n";
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.toml");
    std::fs::write(&net, text).unwrap();
    let out = dir.path().join("a/b/out");
    let o = simulate_limited(1024, &net, &out);
    failed_on(&o, "spikes_in.npy");
    // every directory the run created is gone, the one that was there stays
    let a = dir.path().join("a");
    assert!(!a.exists(), "left behind: {:?}", names(&out));
    assert!(dir.path().exists());
}

/// Kills the child if a test fails before it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Start a run of about a minute, wait (bounded) until its temporary files exist, send
/// `signal` and check the exit code `128 + signal` and that nothing is left behind.
fn interrupted(signal: &str, code: i32) {
    // 1000 Poisson neurons at 100 Hz into 1000 LIF neurons, all to all: 100 000 synaptic
    // events a step for 1 000 000 steps; the recorded outputs stay small (4 MB at the end)
    let text = "dt_ms = 1.0\nduration_ms = 1000000.0\nseed = 1\n\n\
                [[population]]\nname = \"in\"\nmodel = \"poisson\"\nsize = 1000\nrate_hz = 100.0\n\n\
                [[population]]\nname = \"rec\"\nmodel = \"lif\"\nsize = 1000\n\n\
                [[projection]]\nfrom = \"in\"\nto = \"rec\"\nrule = \"all_to_all\"\n\
                weight = 0.01\ndelay_steps = 1\n\n\
                [[recorder]]\npopulation = \"rec\"\nkind = \"spikes\"\n\n\
                [[recorder]]\npopulation = \"rec\"\nkind = \"state\"\nvariable = \"v\"\n\
                neurons = [0]\n";
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.toml");
    std::fs::write(&net, text).unwrap();
    let out: PathBuf = dir.path().join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args([
            "simulate",
            net.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut run = Running(child);
    let start = Instant::now();
    while names(&out).iter().filter(|n| n.ends_with(".tmp")).count() < 2 {
        assert!(
            run.0.try_wait().unwrap().is_none(),
            "the run ended before it was interrupted"
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temporary files after 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = run.0.id().to_string();
    let kill = Command::new("kill").args([signal, &pid]).status().unwrap();
    assert!(kill.success());
    // the run looks at the flag every ~0.1 s of work; a minute is the bound, not the expectation
    let start = Instant::now();
    let status = loop {
        if let Some(s) = run.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "still running 60 s after {signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(run.0.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(code), "{status:?}: {err}");
    assert!(err.contains("interrupted by"), "{err}");
    assert!(err.contains("no output written"), "{err}");
    assert!(!out.exists(), "left behind: {:?}", names(&out));
}

#[test]
fn sigint_removes_the_temporary_files_and_exits_130() {
    interrupted("-INT", 130);
}

#[test]
fn sigterm_removes_the_temporary_files_and_exits_143() {
    interrupted("-TERM", 143);
}
