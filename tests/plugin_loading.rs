//! Integration tests of where the CLI looks for plugins and what it loads: only the library
//! asked for, named by an absolute path, and never a library that does not export the entry
//! symbol. Also: a rule refusing its parameters is bad input, and a failed run leaves no `--out`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::so;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/example_net.toml")
}

/// `eligo ARGS` in `cwd`, with no ELIGO_PLUGIN_PATH unless `env` sets one.
fn eligo_in(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eligo"));
    c.args(args)
        .current_dir(cwd)
        .env_remove("ELIGO_PLUGIN_PATH");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("eligo runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The directory the built plugins are in (where cargo also points the library search path).
fn deps() -> PathBuf {
    so("eligo_stdp").parent().unwrap().to_path_buf()
}

#[test]
fn a_bare_file_name_loads_that_file_not_one_on_the_library_path() {
    // a file named like the stdp plugin in the current directory, and the real stdp plugin on
    // the dynamic loader's search path: the file in the current directory is the one loaded
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(so("eligo_test_panic"), dir.path().join("libeligo_stdp.so")).unwrap();
    std::fs::write(dir.path().join("rule.toml"), "panic_at = 1e12\n").unwrap();
    let o = eligo_in(
        dir.path(),
        &[("LD_LIBRARY_PATH", deps().to_str().unwrap())],
        &[
            "simulate",
            example().to_str().unwrap(),
            "--quiet",
            "--rule",
            "libeligo_stdp.so",
            "--rule-config",
            "rule.toml",
            "--out",
            "out",
        ],
    );
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["rule"]["name"], "test_panic", "{summary}");
    let planted = std::fs::canonicalize(dir.path().join("libeligo_stdp.so")).unwrap();
    assert_eq!(summary["rule"]["path"], planted.to_str().unwrap());
}

#[test]
fn empty_plugin_path_entries_do_not_search_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        so("eligo_test_panic"),
        dir.path().join("libeligo_planted.so"),
    )
    .unwrap();
    for path in [
        ":",
        "",
        "/nonexistent:",
        ":/nonexistent",
        "/nonexistent::/nonexistent",
    ] {
        let o = eligo_in(
            dir.path(),
            &[("ELIGO_PLUGIN_PATH", path)],
            &[
                "simulate",
                example().to_str().unwrap(),
                "--quiet",
                "--rule",
                "planted",
            ],
        );
        let (_, err) = text(&o);
        assert_eq!(
            o.status.code(),
            Some(2),
            "ELIGO_PLUGIN_PATH={path:?}: {err}"
        );
        assert!(
            err.contains("no plugin of this name") && !err.contains("loadable"),
            "ELIGO_PLUGIN_PATH={path:?}: {err}"
        );
        let o = eligo_in(dir.path(), &[("ELIGO_PLUGIN_PATH", path)], &["plugins"]);
        let (out, _) = text(&o);
        assert!(
            !out.contains("planted"),
            "ELIGO_PLUGIN_PATH={path:?}: {out}"
        );
    }
    // the same directory named explicitly (absolute, or relative to the current directory)
    let planted = std::fs::canonicalize(dir.path().join("libeligo_planted.so")).unwrap();
    for path in [dir.path().to_str().unwrap(), "."] {
        let o = eligo_in(dir.path(), &[("ELIGO_PLUGIN_PATH", path)], &["plugins"]);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{err}");
        let line = out
            .lines()
            .find(|l| l.contains("libeligo_planted.so"))
            .unwrap_or_else(|| panic!("ELIGO_PLUGIN_PATH={path:?}: not listed: {out}"));
        assert!(
            line.starts_with("test_panic ")
                && line.contains(planted.to_str().unwrap())
                && line.contains("(--rule planted)"),
            "{line}"
        );
    }
}

#[test]
fn a_library_without_the_entry_symbol_is_never_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("loaded");
    let env = [("ELIGO_TEST_LOADED_MARKER", marker.to_str().unwrap())];
    let notplugin = so("eligo_test_notplugin");
    // the marker works: a process that loads the library creates it
    let o = Command::new(env!("CARGO_BIN_EXE_eligo"))
        .arg("--help")
        .env("LD_PRELOAD", &notplugin)
        .envs(env)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(marker.is_file(), "the fixture's initializer did not run");
    std::fs::remove_file(&marker).unwrap();

    // a non-plugin library named like a rule, in an explicit plugin directory too
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::copy(&notplugin, plugins.join("libz.so")).unwrap();
    let extra = ["--plugin-dir", plugins.to_str().unwrap()];
    let net = example();
    let sim = |rule: &str| -> Vec<String> {
        let mut a = vec!["simulate", net.to_str().unwrap(), "--quiet", "--rule", rule];
        a.extend(extra);
        a.into_iter().map(String::from).collect()
    };
    let mut list = vec!["plugins".to_string()];
    list.extend(extra.map(String::from));
    let cases = [
        (list, 0, "stdp 0.1.0"),
        (sim("stdpp"), 2, "did you mean 'stdp'"),
        (sim("test_notplugin"), 2, "not plugins, so not loaded"),
        (sim("z"), 2, "libz.so (exports no `eligo_plugin_entry`)"),
        (sim(notplugin.to_str().unwrap()), 2, "not an Eligo plugin"),
    ];
    for (args, code, msg) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = eligo_in(dir.path(), &env, &args);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
        assert!(
            out.contains(msg) || err.contains(msg),
            "{args:?}: {msg:?} missing: {out}{err}"
        );
        assert!(!marker.exists(), "{args:?} loaded the non-plugin library");
    }
}

#[test]
fn only_the_executables_directory_is_searched() {
    // the binary copied out of the build tree finds no plugin of the build tree
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_eligo"), bin.join("eligo")).unwrap();
    let run = |args: &[&str]| {
        Command::new(bin.join("eligo"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("ELIGO_PLUGIN_PATH")
            .output()
            .unwrap()
    };
    let o = run(&["plugins"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let searched: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("  ")).collect();
    let bin_dir = std::fs::canonicalize(&bin).unwrap();
    assert!(out.starts_with("no plugins found"), "{out}");
    assert_eq!(
        searched,
        [
            bin_dir.join("deps").to_str().unwrap(),
            bin_dir.to_str().unwrap()
        ],
        "{out}"
    );
    let o = run(&["simulate", example().to_str().unwrap(), "--rule", "stdp"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o).1);
    // its deps/ is searched (as target/release/deps is for target/release/eligo)
    std::fs::create_dir(bin.join("deps")).unwrap();
    std::fs::copy(so("eligo_stdp"), bin.join("deps/libeligo_stdp.so")).unwrap();
    let (out, _) = text(&run(&["plugins"]));
    assert!(
        out.starts_with("stdp 0.1.0") && out.contains(bin_dir.join("deps").to_str().unwrap()),
        "{out}"
    );
}

#[test]
fn a_rule_refusing_its_parameters_is_bad_input_naming_rule_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("rule.toml");
    std::fs::write(&cfg, "w_min = 0.9\nw_max = 0.1\n").unwrap();
    let out = dir.path().join("o");
    let o = eligo_in(
        dir.path(),
        &[],
        &[
            "simulate",
            example().to_str().unwrap(),
            "--quiet",
            "--rule",
            "stdp",
            "--rule-config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for m in [
        cfg.to_str().unwrap(),
        "rule 'stdp'",
        "w_min = 0.9 must not exceed w_max = 0.1",
    ] {
        assert!(err.contains(m), "{m:?} missing: {err}");
    }
    assert!(!out.exists());
}

#[test]
fn a_failed_run_leaves_no_out_directory_it_created() {
    let dir = tempfile::tempdir().unwrap();
    // the test rule panics at step 5: the run fails after --out was created
    let run = |out: &Path| {
        let o = eligo_in(
            dir.path(),
            &[],
            &[
                "simulate",
                example().to_str().unwrap(),
                "--quiet",
                "--rule",
                "test_panic",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("deliberate test panic at step 5"), "{err}");
    };
    run(&dir.path().join("a/b"));
    assert!(!dir.path().join("a").exists(), "--out and its parent left");
    // a directory that existed before the run is kept, and so is what is in it
    let kept = dir.path().join("kept");
    std::fs::create_dir(&kept).unwrap();
    run(&kept);
    assert!(kept.is_dir());
    std::fs::write(kept.join("notes.txt"), "mine").unwrap();
    run(&kept.join("sub"));
    assert!(kept.join("notes.txt").is_file() && !kept.join("sub").exists());
}
