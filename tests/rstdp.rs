//! `plugins/rstdp` (reward-modulated STDP, a three-factor rule) learns the `reward_patterns`
//! task: the response of `rec` to the rewarded pattern A grows relative to its response to
//! pattern B, in `train` and in a `simulate`-style run, bit-identically on 1 and 2 threads.
//!
//! The response is measured independently of the rule: the number of spikes of `rec` while a
//! pattern is clamped on `in`, in a plain `Simulation` (no rule) of the initial and of the
//! learned weights.

use std::path::Path;

use eligo_engine::io::{config as net_config, weights};
use eligo_engine::plugin::{Plugin, RuleInstance, config};
use eligo_engine::prelude::*;
use eligo_engine::task::reward_patterns::{RewardPatterns, STEPS};
use eligo_engine::task::{Task, TaskOptions};

use crate::common::{arg, eligo, ok, so};

fn patterns(seed: u64) -> RewardPatterns {
    RewardPatterns::new(&TaskOptions { seed, scale: 1.0 })
}

/// Spikes of `rec` in `STEPS` steps with `pattern` clamped on `in`; no rule.
fn response(net: &Network, pattern: &[(u64, u32)]) -> u64 {
    let mut sim = Simulation::new(net.clone(), &SimOptions::default()).unwrap();
    sim.clamp(net.population("in").unwrap(), pattern).unwrap();
    sim.run(STEPS, None).unwrap();
    sim.counters().spikes[net.population("rec").unwrap()]
}

/// `eligo train --task reward_patterns --rule librstdp.so` (task defaults: batch 4).
fn train(out: &Path, seed: u64, threads: &str, iterations: &str) {
    let rstdp = so("eligo_rstdp");
    let seed = seed.to_string();
    ok(&eligo(&[
        "train",
        "--task",
        "reward_patterns",
        "--quiet",
        "--seed",
        &seed,
        "--threads",
        threads,
        "--iterations",
        iterations,
        "--rule",
        arg(&rstdp),
        "--out",
        arg(out),
    ]));
}

/// Seed 1: the initial network answers B (17 spikes) more than A (10); after 5 iterations
/// (20 sequences) of rstdp it answers A far more than B (measured: A 44, B 2), and the go/no-go
/// readout's test error (0.5 or more for the initial network) falls.
#[test]
fn rstdp_in_train_grows_the_rewarded_response() {
    let dir = tempfile::tempdir().unwrap();
    let seed = 1;
    let t = patterns(seed);
    let net0 = t.network(seed).build().unwrap();
    train(dir.path(), seed, "1", "5");
    let mut net = net0.clone();
    let mut biases = weights::default_biases(&net);
    weights::load(&dir.path().join("weights.npz"), &mut net, &mut biases).unwrap();
    let (a0, b0) = (response(&net0, t.pattern(0)), response(&net0, t.pattern(1)));
    let (a1, b1) = (response(&net, t.pattern(0)), response(&net, t.pattern(1)));
    eprintln!("rec spikes to A / B: initial {a0} / {b0}, after 5 iterations {a1} / {b1}");
    assert!(
        a0 <= b0,
        "the initial network should not favour A already: {a0} / {b0}"
    );
    assert!(a1 > a0, "the rewarded response did not grow: {a0} -> {a1}");
    assert!(
        b1 < b0,
        "the unrewarded response did not shrink: {b0} -> {b1}"
    );
    assert!(a1 >= 2 * b1.max(1), "A {a1} is not clearly above B {b1}");
    // only the plastic projection onto spiking neurons changed: the readout wiring did not
    for (p0, p1) in net0.projections.iter().zip(&net.projections) {
        if p0.name != "in->rec" {
            assert_eq!(p0.weights, p1.weights, "'{}' changed", p0.name);
        }
    }
    // A's synapses (rows 0-9) grew on average, B's (rows 10-19) shrank
    let mean_rows = |n: &Network, rows: std::ops::Range<usize>| {
        let p = &n.projections[0];
        let s = p.indptr[rows.start] as usize..p.indptr[rows.end] as usize;
        p.weights[s.clone()]
            .iter()
            .map(|&w| f64::from(w))
            .sum::<f64>()
            / s.len() as f64
    };
    assert!(mean_rows(&net, 0..10) > mean_rows(&net0, 0..10));
    assert!(mean_rows(&net, 10..20) < mean_rows(&net0, 10..20));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    let err = summary["test_error"].as_f64().unwrap();
    assert!(err < 0.25, "test error {err} after 5 iterations");
}

#[test]
fn rstdp_in_train_is_bit_identical_on_1_and_2_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (t1, t2) = (dir.path().join("t1"), dir.path().join("t2"));
    train(&t1, 2, "1", "3");
    train(&t2, 2, "2", "3");
    let read = |d: &Path| std::fs::read(d.join("weights.npz")).unwrap();
    assert!(
        read(&t1) == read(&t2),
        "weights.npz differ between 1 and 2 threads"
    );
    // and the rule did learn something in those 3 iterations
    let w0 = patterns(2).network(2).build().unwrap();
    let mut w = w0.clone();
    let mut b = weights::default_biases(&w);
    weights::load(&t1.join("weights.npz"), &mut w, &mut b).unwrap();
    assert_ne!(w.projections[0].weights, w0.projections[0].weights);
}

/// Blocks of `BLOCK` steps: pattern A, silence, pattern B, silence, ...
const BLOCK: u64 = 100;
const BLOCKS: u64 = 12;

/// The `simulate` network: `in` plays A and B alternately (each followed by a silent block),
/// `rec` as in the task; 1 ms steps.
fn simulate_toml(t: &RewardPatterns) -> String {
    let mut times = Vec::new();
    for b in 0..BLOCKS {
        if b % 2 == 1 {
            continue;
        }
        let k = ((b / 2) % 2) as usize;
        for &(s, i) in t.pattern(k) {
            times.push(format!("[{i}, {}.0]", b * BLOCK + s));
        }
    }
    format!(
        "dt_ms = 1.0\nduration_ms = {}.0\nseed = 7\n\n\
         [[population]]\nname = \"in\"\nmodel = \"spike_times\"\nsize = 20\ntimes_ms = [{}]\n\n\
         [[population]]\nname = \"rec\"\nmodel = \"lif\"\nsize = 10\ntau_m_ms = 20.0\n\
         v_th = 0.6\nt_ref_ms = 2.0\n\n\
         [[projection]]\nfrom = \"in\"\nto = \"rec\"\nrule = \"all_to_all\"\n\
         weight = {{ kind = \"uniform\", low = 0.0, high = 0.1 }}\ndelay_steps = 1\n",
        BLOCKS * BLOCK,
        times.join(", ")
    )
}

/// The reward file's content: +1 while A plays, -1 while B plays, 0 in the silent blocks.
fn reward_series() -> Vec<f32> {
    (0..BLOCKS * BLOCK)
        .map(|s| {
            let b = s / BLOCK;
            match (b % 2, (b / 2) % 2) {
                (1, _) => 0.0,
                (_, 0) => 1.0,
                _ => -1.0,
            }
        })
        .collect()
}

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// What `eligo simulate data/reward_net.toml --rule librstdp.so --rule-config
/// data/rstdp_sim.toml --modulator reward=data/reward.npy --threads N` does, through the library
/// (one sequence of the whole run, in pieces, then the end of the batch): the learned network.
fn simulate(threads: usize) -> Network {
    let cfg = net_config::load(&data("reward_net.toml")).unwrap();
    let (shape, reward) =
        eligo_engine::io::npy::read_floats(&data("reward.npy"), "reward", 1 << 20, "").unwrap();
    assert_eq!(shape, [cfg.steps]);
    let net = cfg.network.build().unwrap();
    let opts = SimOptions {
        threads,
        record: cfg.record.clone(),
    };
    let mut sim = Simulation::new(net, &opts).unwrap();
    let k = sim.add_modulator("reward").unwrap();
    let plugin = Plugin::load(&so("eligo_rstdp")).unwrap();
    let rc = config::load(&data("rstdp_sim.toml"), &plugin).unwrap();
    let names = sim.modulator_names().to_vec();
    let r = RuleInstance::with_modulators(
        plugin,
        sim.network(),
        &rc.values,
        rc.host,
        cfg.steps,
        &names,
    )
    .unwrap();
    sim.set_rule(r).unwrap();
    sim.set_modulator_series(k, Some(reward));
    sim.begin_sequence().unwrap();
    for _ in 0..cfg.steps / 300 {
        sim.run(300, None).unwrap();
    }
    sim.run(cfg.steps % 300, None).unwrap();
    sim.end_sequence(cfg.steps).unwrap();
    sim.end_batch_of_one(cfg.steps).unwrap();
    sim.network().clone()
}

/// The guide's example files are what this module says they are: the network plays the task's
/// patterns (seed 1) in the blocks of [`simulate_toml`], the reward file is [`reward_series`].
#[test]
fn rstdp_example_files_match_the_task() {
    let file = net_config::load(&data("reward_net.toml")).unwrap();
    let want = net_config::parse(&simulate_toml(&patterns(1))).unwrap();
    assert_eq!(file.network, want.network);
    assert_eq!(file.steps, want.steps);
    let (_, reward) =
        eligo_engine::io::npy::read_floats(&data("reward.npy"), "reward", 1 << 20, "").unwrap();
    assert_eq!(reward, reward_series());
}

/// In one simulated run of 1.2 s (three presentations of each pattern), rstdp strengthens the
/// synapses of the rewarded pattern and weakens the other's, and `rec`'s response to A grows
/// relative to B (initial and learned weights run without the rule); 1 and 2 threads give the
/// same weights bit for bit.
#[test]
fn rstdp_in_simulate_grows_the_rewarded_synapses_on_any_thread_count() {
    let t = patterns(1);
    let net0 = net_config::load(&data("reward_net.toml"))
        .unwrap()
        .network
        .build()
        .unwrap();
    let one = simulate(1);
    let two = simulate(2);
    let bits = |n: &Network| -> Vec<u32> {
        n.projections[0]
            .weights
            .iter()
            .map(|w| w.to_bits())
            .collect()
    };
    assert_eq!(
        bits(&one),
        bits(&two),
        "1 and 2 threads learned different weights"
    );

    let p0 = &net0.projections[0];
    let mean = |n: &Network, rows: std::ops::Range<usize>| {
        let s = p0.indptr[rows.start] as usize..p0.indptr[rows.end] as usize;
        let w = &n.projections[0].weights[s.clone()];
        w.iter().map(|&x| f64::from(x)).sum::<f64>() / s.len() as f64
    };
    let (wa0, wb0, wa1, wb1) = (
        mean(&net0, 0..10),
        mean(&net0, 10..20),
        mean(&one, 0..10),
        mean(&one, 10..20),
    );
    eprintln!("mean weight from A / B: initial {wa0:.4} / {wb0:.4}, learned {wa1:.4} / {wb1:.4}");
    assert!(wa1 > wa0 && wb1 < wb0, "A {wa0} -> {wa1}, B {wb0} -> {wb1}");
    // the response, measured on the task's `in -> rec` (same patterns, these weights)
    let mut task_net = t.network(1).build().unwrap();
    let mut learned = task_net.clone();
    task_net.projections[0].weights = net0.projections[0].weights.clone();
    learned.projections[0].weights = one.projections[0].weights.clone();
    assert_eq!(task_net.projections[0].indptr, p0.indptr);
    let (a0, b0) = (
        response(&task_net, t.pattern(0)),
        response(&task_net, t.pattern(1)),
    );
    let (a1, b1) = (
        response(&learned, t.pattern(0)),
        response(&learned, t.pattern(1)),
    );
    eprintln!("rec spikes to A / B: initial {a0} / {b0}, learned {a1} / {b1}");
    assert!(
        a1 as f64 / (b1.max(1) as f64) > a0 as f64 / b0.max(1) as f64,
        "A/B did not grow: {a0}/{b0} -> {a1}/{b1}"
    );
    assert!(a1 > a0, "{a0} -> {a1}");
}

/// The guide's command itself (`eligo simulate ... --modulator reward=data/reward.npy`) learns
/// exactly what the in-process run of the same files learns, bit for bit.
#[test]
fn the_guides_simulate_command_learns_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reward");
    let (net, rule, cfg, reward) = (
        data("reward_net.toml"),
        so("eligo_rstdp"),
        data("rstdp_sim.toml"),
        data("reward.npy"),
    );
    let m = format!("reward={}", reward.display());
    ok(&eligo(&[
        "simulate",
        arg(&net),
        "--quiet",
        "--rule",
        arg(&rule),
        "--rule-config",
        arg(&cfg),
        "--modulator",
        &m,
        "--out",
        arg(&out),
    ]));
    let mut cli = net_config::load(&net).unwrap().network.build().unwrap();
    let before = cli.projections[0].weights.clone();
    let mut biases = vec![Vec::new(); cli.populations.len()];
    weights::load(&out.join("weights.npz"), &mut cli, &mut biases).unwrap();
    let lib = simulate(1);
    assert_ne!(
        cli.projections[0].weights, before,
        "the rule learned nothing"
    );
    let bits = |n: &Network| -> Vec<u32> {
        n.projections[0]
            .weights
            .iter()
            .map(|w| w.to_bits())
            .collect()
    };
    assert_eq!(bits(&cli), bits(&lib));
}

/// `eligo plugins` lists rstdp with its modulator parameter as a name and its default channel
/// (not as the number range `= 0 [0, 0]` of a numeric parameter).
#[test]
fn rstdp_is_listed_with_its_modulator_parameter() {
    let lib = so("eligo_rstdp");
    let o = eligo(&["plugins", "--plugin-dir", arg(lib.parent().unwrap())]);
    ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .skip_while(|l| !l.starts_with("rstdp "))
        .find(|l| l.trim_start().starts_with("modulator "))
        .unwrap_or_else(|| panic!("no rstdp modulator line in:\n{out}"));
    assert!(
        line.contains("= \"reward\"") && line.contains("a modulator channel name"),
        "{line}"
    );
    assert!(out.contains("tau_e_ms       = 200 ms"), "{out}");
}

/// A task without a `reward` channel: refused before training, naming the parameter, the
/// channel and how to provide it.
#[test]
fn rstdp_on_a_task_without_reward_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = eligo(&[
        "train",
        "--task",
        "evidence",
        "--scale",
        "0.1",
        "--iterations",
        "1",
        "--quiet",
        "--rule",
        arg(&so("eligo_rstdp")),
        "--out",
        arg(dir.path()),
    ]);
    crate::common::refused(&o, &["modulator", "'reward'", "--modulator reward="]);
}

/// Every Rust snippet of the guide's rstdp section is the crate's code, verbatim (pieces
/// separated by a `// ...` line are checked one by one).
#[test]
fn rstdp_guide_snippets_are_the_crate_s_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = std::fs::read_to_string(root.join("docs/writing-a-rule.md")).unwrap();
    let lib = std::fs::read_to_string(root.join("plugins/rstdp/src/lib.rs")).unwrap();
    let section = guide
        .split("## A second worked example: reward-modulated STDP (three factors)")
        .nth(1)
        .expect("the guide has the rstdp section");
    let mut blocks = 0;
    for block in section.split("```rust\n").skip(1) {
        let code = block.split("```").next().unwrap();
        let mut piece = String::new();
        for line in code.lines().chain(std::iter::once("// ...")) {
            if line.trim_start().starts_with("// ...") {
                assert!(
                    piece.is_empty() || lib.contains(&piece),
                    "not in plugins/rstdp/src/lib.rs:\n{piece}"
                );
                piece.clear();
            } else {
                piece.push_str(line);
                piece.push('\n');
            }
        }
        blocks += 1;
    }
    assert!(blocks >= 5, "only {blocks} snippets");
}
