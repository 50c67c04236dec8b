//! A stderr whose reader has gone (`eligo ... 2>&1 | head -1`) loses the messages, never the
//! run: warnings, notes and the final error line are dropped, the exit code stays 0 or 2 (it was
//! 101, a panic in `eprintln!`).

use std::process::{Command, Stdio};

use crate::common::arg;

/// Run `eligo args` with stderr a pipe whose read end is closed before the child starts, so
/// every write to stderr fails (EPIPE); returns the exit code.
fn with_stderr_gone(args: &[&str]) -> Option<i32> {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(writer)
        .output()
        .unwrap();
    out.status.code()
}

#[test]
fn simulate_finishes_when_stderr_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let net = concat!(env!("CARGO_MANIFEST_DIR"), "/data/example_net.toml");
    // not --quiet: the summary, "wrote DIR"; --threads above the cores: a warning
    for (k, extra) in [("a", &[][..]), ("b", &["--threads", "100000"][..])] {
        let out = dir.path().join(k);
        let code = with_stderr_gone(&[&["simulate", net, "--out", arg(&out)], extra].concat());
        assert_eq!(code, Some(0), "{extra:?}");
        assert!(out.join("summary.json").exists(), "{extra:?}");
    }
}

#[test]
fn bad_input_is_still_exit_2_when_stderr_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let out = dir.path().join("out");
    let code = with_stderr_gone(&["simulate", arg(&missing), "--out", arg(&out)]);
    assert_eq!(code, Some(2));
}
