//! Checkpoints under faults and tampering: a save stopped between any two of its steps, once or
//! twice in a row, still leaves a complete checkpoint that resumes to the uninterrupted result
//! bit for bit (engine API, fault hook); damaged or mismatched checkpoints are refused with
//! exit 2 naming the file, field or setting (CLI).

use std::path::Path;
use std::process::{Command, Output};

use eligo_engine::Error;
use eligo_engine::plugin::{Plugin, config};
use eligo_engine::task::{self, TaskOptions};
use eligo_engine::train::checkpoint::{self, SaveStep, Settings, State};
use eligo_engine::train::{TrainConfig, Trainer};

use crate::common::so;

/// A small evidence-task trainer (1 thread, batch 2) and its settings.
fn trainer(plugin: &Plugin) -> (Trainer, Settings) {
    let opts = TaskOptions {
        seed: 5,
        scale: 0.05,
    };
    let t = task::by_name("evidence", &opts).unwrap();
    let d = t.defaults();
    let rc = config::parse("feedback = \"random\"", plugin).unwrap();
    let cfg = TrainConfig {
        batch: 2,
        threads: 1,
        method: d.method,
        lr: d.lr,
        seed: 5,
    };
    let s = checkpoint::settings("evidence", opts.scale, plugin, &rc.values, &rc.host, &cfg);
    (
        Trainer::new(t, plugin, &rc.values, &rc.host, cfg).unwrap(),
        s,
    )
}

fn state(tr: &Trainer, settings: &Settings) -> State {
    State {
        iteration: tr.iteration,
        task: "evidence".into(),
        task_seed: 5,
        seed: 5,
        batch: 2,
        rule: "eprop".into(),
        fingerprint: checkpoint::fingerprint(tr.network()),
        eligo_version: "test".into(),
        settings: settings.clone(),
        files: Default::default(),
    }
}

/// Everything that determines the rest of the run, as bits.
fn snapshot(tr: &Trainer) -> Vec<Vec<u32>> {
    let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
    let mut out: Vec<Vec<u32>> = tr
        .network()
        .projections
        .iter()
        .map(|p| bits(&p.weights))
        .collect();
    out.push(bits(tr.biases()));
    let (m, v, k) = tr.optimizer().state();
    out.extend(m.iter().chain(v).map(|x| bits(x)));
    out.push(vec![k as u32, tr.iteration as u32]);
    for r in tr.rule_states().unwrap() {
        out.push(r.iter().map(|&b| u32::from(b)).collect());
    }
    out
}

/// A save that "crashes" (stops) just before `at`.
fn save_crashing(dir: &Path, tr: &Trainer, s: &Settings, at: Option<SaveStep>) {
    let r = checkpoint::save_with_faults(dir, tr, &state(tr, s), &mut |step| {
        if Some(step) == at {
            return Err(Error::Rule(format!("injected crash before {step:?}")));
        }
        Ok(())
    });
    assert_eq!(r.is_err(), at.is_some(), "{at:?}: {r:?}");
}

/// A restarted process: a new trainer, restored from whatever `dir` holds.
fn restart(plugin: &Plugin, dir: &Path, what: &str) -> Trainer {
    let (mut tr, s) = trainer(plugin);
    if let Err(e) = checkpoint::load(dir, &mut tr, "eprop", &s, &[]) {
        let listing: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        panic!("{what}: no loadable checkpoint ({e}); {listing:?}");
    }
    tr
}

#[test]
fn any_single_or_double_crash_in_save_leaves_a_checkpoint_that_resumes_exactly() {
    const END: u64 = 4;
    let plugin = Plugin::load(&so("eligo_eprop")).unwrap();
    let (mut reference, _) = trainer(&plugin);
    for _ in 0..END {
        reference.step().unwrap();
    }
    let want = snapshot(&reference);
    let second: Vec<Option<SaveStep>> = std::iter::once(None)
        .chain(SaveStep::ALL.map(Some))
        .collect();
    for first in SaveStep::ALL {
        for &then in &second {
            let what = format!("crash before {first:?}, then before {then:?}");
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path();
            // iteration 1 saved cleanly; the save of iteration 2 crashes
            let (mut tr, s) = trainer(&plugin);
            tr.step().unwrap();
            save_crashing(dir, &tr, &s, None);
            tr.step().unwrap();
            save_crashing(dir, &tr, &s, Some(first));
            drop(tr);
            // the restarted run does one more iteration and crashes in its save again
            let mut tr = restart(&plugin, dir, &what);
            let it = tr.iteration;
            assert!((1..=2).contains(&it), "{what}: resumed at {it}");
            tr.step().unwrap();
            save_crashing(dir, &tr, &s, then);
            drop(tr);
            // a third start resumes from what is left and reaches the uninterrupted result
            let mut tr = restart(&plugin, dir, &what);
            assert!(
                (1..=3).contains(&tr.iteration),
                "{what}: at {}",
                tr.iteration
            );
            while tr.iteration < END {
                tr.step().unwrap();
            }
            assert!(
                snapshot(&tr) == want,
                "{what}: differs from the uninterrupted run"
            );
        }
    }
}

/// `eligo train` of a small evidence run: a new run into `dir` (`fresh`) or a resume of it.
fn eligo(args: &[&str], dir: &Path, fresh: bool) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args(super::common::SMALL_TRAIN)
        .args(args)
        .arg(if fresh { "--out" } else { "--resume" })
        .arg(dir)
        .output()
        .expect("eligo runs")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn refused(o: &Output, must: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for m in must {
        assert!(err.contains(m), "{m:?} missing from: {err}");
    }
}

/// Record the digest of `file` in `dir/checkpoint/state.json` again, as a consistent edit would.
fn redigest(dir: &Path, file: &str) {
    let c = dir.join("checkpoint");
    let p = c.join("state.json");
    let mut s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    s["files"][file] = checkpoint::file_digest(&std::fs::read(c.join(file)).unwrap()).into();
    std::fs::write(&p, serde_json::to_string_pretty(&s).unwrap()).unwrap();
}

fn edit_optimizer(
    dir: &Path,
    edit: impl Fn(&mut std::collections::BTreeMap<String, eligo_engine::io::npz::Array>),
) {
    use eligo_engine::io::npz::{self, Out};
    let p = dir.join("checkpoint/optimizer.npz");
    let mut o = npz::read(&p).unwrap();
    edit(&mut o);
    let out = o
        .into_iter()
        .map(|(k, a)| {
            let v = if k == "steps" {
                Out::U64(vec![], a.data.iter().map(|&x| x as u64).collect())
            } else {
                Out::F32(a.shape, a.data.iter().map(|&x| x as f32).collect())
            };
            (k, v)
        })
        .collect();
    npz::write(&p, &out).unwrap();
}

#[test]
fn damaged_or_mismatched_checkpoints_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    let o = eligo(
        &["--iterations", "2", "--checkpoint-every", "1"],
        &base,
        true,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let more = ["--iterations", "3"];
    let case = |name: &str, tamper: &dyn Fn(&Path)| {
        let d = tmp.path().join(name);
        copy_dir(&base, &d);
        tamper(&d);
        d
    };
    // an intact copy resumes
    let d = case("intact", &|_| {});
    assert!(eligo(&more, &d, false).status.success());
    // any edit of a data file is caught by its digest
    for f in ["weights.npz", "optimizer.npz", "rules.bin"] {
        let d = case(&format!("junk-{f}"), &|d| {
            let p = d.join("checkpoint").join(f);
            let mut b = std::fs::read(&p).unwrap();
            b.extend_from_slice(b"junk");
            std::fs::write(&p, b).unwrap();
        });
        refused(
            &eligo(&more, &d, false),
            &[f, "digest", "changed, truncated or extended"],
        );
    }
    // consistent edits (digest updated too) are caught by the cross-checks
    let d = case("junk-rules-redigested", &|d| {
        let p = d.join("checkpoint/rules.bin");
        let mut b = std::fs::read(&p).unwrap();
        b.extend_from_slice(b"junk");
        std::fs::write(&p, b).unwrap();
        redigest(d, "rules.bin");
    });
    refused(
        &eligo(&more, &d, false),
        &["rules.bin", "4 bytes after the last rule state"],
    );
    let d = case("no-steps", &|d| {
        edit_optimizer(d, |o| {
            o.remove("steps");
        });
        redigest(d, "optimizer.npz");
    });
    refused(
        &eligo(&more, &d, false),
        &["optimizer.npz", "steps = missing"],
    );
    for (name, key, value, must) in [
        (
            "negative-v",
            "v/1",
            -1.0,
            "v/1[0] = -1: second moments must be finite and >= 0",
        ),
        (
            "nan-m",
            "m/0",
            f64::NAN,
            "m/0[0] = NaN: first moments must be finite",
        ),
    ] {
        let d = case(name, &|d| {
            edit_optimizer(d, |o| o.get_mut(key).unwrap().data[0] = value);
            redigest(d, "optimizer.npz");
        });
        refused(&eligo(&more, &d, false), &["optimizer.npz", must]);
    }
    let d = case("iteration", &|d| {
        let p = d.join("checkpoint/state.json");
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.contains("\"iteration\": 2"), "{s}");
        std::fs::write(&p, s.replace("\"iteration\": 2", "\"iteration\": 1")).unwrap();
    });
    refused(
        &eligo(&more, &d, false),
        &["iteration = 1", "the optimizer has done 2 updates"],
    );
    let d = case("metrics", &|d| {
        let p = d.join("metrics.jsonl");
        let s = std::fs::read_to_string(&p).unwrap();
        let rest: Vec<&str> = s.lines().skip(1).collect();
        std::fs::write(&p, rest.join("\n")).unwrap();
    });
    refused(
        &eligo(&more, &d, false),
        &["metrics.jsonl", "expected the metrics of iteration 1"],
    );
    // another setting than the checkpoint's: refused, naming it, unless overridden
    let cfg = tmp.path().join("c_reg.toml");
    std::fs::write(&cfg, "c_reg = 0.5\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    for (args, must) in [
        (
            vec!["--lr", "0.01"],
            vec![
                "--lr = 0.01",
                "lr: checkpoint 0.005, this run 0.01",
                "--resume-override lr",
            ],
        ),
        (
            vec!["--feedback", "symmetric"],
            vec![
                "--feedback",
                "rule.feedback: checkpoint random, this run symmetric",
            ],
        ),
        (
            vec!["--mode", "online"],
            vec!["--mode", "rule.mode: checkpoint event, this run online"],
        ),
        (
            vec!["--rule-config", cfg],
            vec!["rule.c_reg: checkpoint", "this run 0.5"],
        ),
        (
            vec!["--resume-override", "batch"],
            vec!["--resume-override = batch", "cannot be overridden"],
        ),
        (
            vec!["--resume-override", "lrr"],
            vec![
                "--resume-override = lrr",
                "not a setting",
                "did you mean 'lr'",
            ],
        ),
    ] {
        let d = case("settings", &|_| {});
        let mut a = more.to_vec();
        a.extend(args);
        refused(&eligo(&a, &d, false), &must);
        std::fs::remove_dir_all(&d).unwrap();
    }
    let d = case("override", &|_| {});
    let o = eligo(
        &[
            "--iterations",
            "3",
            "--lr",
            "0.01",
            "--resume-override",
            "lr",
        ],
        &d,
        false,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let state = std::fs::read_to_string(d.join("checkpoint/state.json")).unwrap();
    assert!(
        state.contains("\"lr\": \"0.01\""),
        "the new checkpoint records the new lr: {state}"
    );
}
