//! The closed-loop (reward-based) training run: `AgentTrainer` and `AgentRun` on a small test
//! environment, and `eligo train --reward`'s refusals.
//!
//! The test environment, "repeat the cue": each episode shows one of two cues (a pure function
//! of the seed and the episode index) on its half of 8 input neurons; every agent step the
//! agent must name the cue (reward 1); a wrong answer ends the episode (terminal, reward 0);
//! after 8 right answers the episode is truncated. A random policy's mean return is
//! `sum_{n=1..8} 2^-n` (about 1), the best is 8.

use eligo_engine::env::{End, Env, Outcome};
use eligo_engine::network::NetworkSpec;
use eligo_engine::neuron::{LifParams, ModelSpec};
use eligo_engine::plugin::{HostOptions, Plugin, config};
use eligo_engine::rng::splitmix64;
use eligo_engine::train::TrainRule;
use eligo_engine::train::agent::{AgentConfig, AgentTrainer};
use eligo_engine::train::agent_run::{AgentRun, AgentSchedule, WINDOW};

use crate::common::{arg, eligo, refused, so};

/// Agent steps after which an episode is truncated.
const LIMIT: u64 = 8;
/// Network steps per agent step.
const K: u64 = 5;

struct Repeat {
    seed: u64,
    cue: usize,
    n: u64,
}

impl Env for Repeat {
    fn name(&self) -> &str {
        "repeat"
    }
    fn inputs(&self) -> usize {
        8
    }
    fn actions(&self) -> usize {
        2
    }
    fn reset(&mut self, episode: u64) -> eligo_engine::error::Result<()> {
        self.cue = (splitmix64(self.seed ^ episode) & 1) as usize;
        self.n = 0;
        Ok(())
    }
    fn encode(&mut self, k: u64, out: &mut Vec<(u64, u32)>) {
        for s in 0..k {
            for i in 0..4u32 {
                if (s + u64::from(i)) % 2 == 0 {
                    out.push((s, self.cue as u32 * 4 + i));
                }
            }
        }
    }
    fn acts(&self) -> bool {
        true
    }
    fn step(&mut self, action: Option<usize>) -> eligo_engine::error::Result<Outcome> {
        self.n += 1;
        let right = action == Some(self.cue);
        let end = match (right, self.n >= LIMIT) {
            (false, _) => End::Terminal,
            (true, true) => End::Truncated,
            (true, false) => End::Running,
        };
        Ok(Outcome {
            reward: if right { 1.0 } else { 0.0 },
            end,
        })
    }
    fn agent_steps(&self) -> u64 {
        K
    }
    fn network(&self, seed: u64) -> NetworkSpec {
        eligo_engine::task::task_network(
            seed,
            8,
            (
                20,
                ModelSpec::Lif(LifParams {
                    t_ref_ms: Some(2.0),
                    ..Default::default()
                }),
            ),
            (3, 20.0),
            3.0,
        )
    }
}

fn rule(lib: &str, params: &[(&str, &str)]) -> TrainRule {
    let plugin = Plugin::load(&so(lib)).unwrap();
    let mut values = config::defaults(&plugin).values;
    for (k, v) in params {
        assert!(
            config::set_param(&plugin, &mut values, k, k, v).unwrap(),
            "{k}"
        );
    }
    let mut host = HostOptions::default();
    host.optimizer.lr = 0.01;
    TrainRule {
        plugin,
        values,
        host,
    }
}

fn trainer(rule: &TrainRule, batch: usize, threads: usize) -> AgentTrainer {
    capped_trainer(rule, batch, threads, 100)
}

fn capped_trainer(rule: &TrainRule, batch: usize, threads: usize, cap: u64) -> AgentTrainer {
    let cfg = AgentConfig {
        batch,
        threads,
        seed: 3,
        agent_steps: K,
        max_agent_steps: cap,
    };
    let mut make = || -> eligo_engine::Result<Box<dyn Env>> {
        Ok(Box::new(Repeat {
            seed: 7,
            cue: 0,
            n: 0,
        }))
    };
    AgentTrainer::new(&mut make, rule, cfg).unwrap()
}

fn rstdp() -> TrainRule {
    // a strong, fast trace so that a few episodes change the weights visibly
    rule("eligo_rstdp", &[("eta", "0.05")])
}

fn weight_bits(tr: &AgentTrainer) -> Vec<u32> {
    let net = tr.network();
    (net.projections.iter())
        .flat_map(|p| p.weights.iter().map(|w| w.to_bits()))
        .chain(tr.biases().iter().map(|b| b.to_bits()))
        .collect()
}

/// Per iteration: the returns' and lengths' bits.
fn run_iterations(tr: &mut AgentTrainer, n: usize) -> Vec<(Vec<u64>, Vec<u64>)> {
    (0..n)
        .map(|_| {
            let m = tr.step().unwrap();
            (m.returns.iter().map(|r| r.to_bits()).collect(), m.lengths)
        })
        .collect()
}

#[test]
fn one_and_two_threads_agree_bit_for_bit() {
    let r = rstdp();
    let mut one = trainer(&r, 6, 1);
    let w0 = weight_bits(&one);
    let mut two = trainer(&r, 6, 2);
    let a = run_iterations(&mut one, 3);
    let b = run_iterations(&mut two, 3);
    assert_eq!(a, b);
    assert_eq!(weight_bits(&one), weight_bits(&two));
    // the rule learned something (else the comparison shows nothing) and episodes differ
    assert_ne!(weight_bits(&one), w0, "rstdp changed no weight");
    let lengths: Vec<u64> = a.iter().flat_map(|(_, l)| l.clone()).collect();
    assert!(lengths.iter().any(|&l| l != lengths[0]), "{lengths:?}");
}

#[test]
fn episodes_run_the_protocols_steps() {
    // without learning (lr 0) the batch's network steps are, per episode of n agent steps:
    // terminal (a wrong answer, n < LIMIT): n K + 1; truncated (n = LIMIT): (n + 1) K
    let r = rule("eligo_rstdp", &[("eta", "0")]);
    let mut tr = trainer(&r, 10, 1);
    for _ in 0..2 {
        let m = tr.step().unwrap();
        let want: u64 = (m.lengths.iter())
            .map(|&n| if n < LIMIT { n * K + 1 } else { (n + 1) * K })
            .sum();
        assert_eq!(m.steps, want, "{:?}", m.lengths);
        for (&ret, &n) in m.returns.iter().zip(&m.lengths) {
            // every step but a terminal one was rewarded
            let right = if n < LIMIT { n - 1 } else { n };
            assert_eq!(ret, right as f64);
        }
    }
}

#[test]
fn the_host_caps_an_episode() {
    let r = rule("eligo_rstdp", &[("eta", "0")]);
    let mut tr = capped_trainer(&r, 4, 1, 2);
    let m = tr.step().unwrap();
    assert!(
        m.lengths.iter().all(|&n| (1..=2).contains(&n)),
        "{:?}",
        m.lengths
    );
    // a capped episode (2 right answers) is truncated: one more agent step
    let want: u64 = (m.lengths.iter())
        .zip(&m.returns)
        .map(|(&n, &r)| {
            if r == n as f64 {
                (n + 1) * K
            } else {
                n * K + 1
            }
        })
        .sum();
    assert_eq!(m.steps, want);
}

fn schedule(iterations: u64) -> AgentSchedule {
    AgentSchedule {
        iterations,
        checkpoint_every: 2,
        target_return: None,
    }
}

/// `metrics.jsonl` without the wall times.
fn metrics_without_seconds(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    text.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("seconds").unwrap();
            v
        })
        .collect()
}

fn settings() -> eligo_engine::train::checkpoint::Settings {
    [("task".to_string(), "repeat".to_string())].into()
}

#[test]
fn resume_equals_the_uninterrupted_run() {
    let r = rstdp();
    let whole = tempfile::tempdir().unwrap();
    let mut run = AgentRun::new(trainer(&r, 4, 2), whole.path(), settings());
    run.run(&schedule(4), &mut NoObs).unwrap();

    let parts = tempfile::tempdir().unwrap();
    let mut run = AgentRun::new(trainer(&r, 4, 1), parts.path(), settings());
    run.run(&schedule(2), &mut NoObs).unwrap();
    let (mut run, overridden) =
        AgentRun::resume(trainer(&r, 4, 2), parts.path(), settings(), &[]).unwrap();
    assert!(overridden.is_empty());
    let o = run.run(&schedule(4), &mut NoObs).unwrap();
    assert_eq!(o.episodes, 16);

    let m = metrics_without_seconds(whole.path());
    assert_eq!(m.len(), 4);
    assert_eq!(m, metrics_without_seconds(parts.path()));
    assert_eq!(m[3]["episodes"], 16);
    assert_eq!(m[3]["returns"].as_array().unwrap().len(), 4);
    for f in [
        "weights.npz",
        "returns.npy",
        "checkpoint/weights.npz",
        "checkpoint/rules.bin",
    ] {
        let a = std::fs::read(whole.path().join(f)).unwrap();
        assert_eq!(a, std::fs::read(parts.path().join(f)).unwrap(), "{f}");
    }
    // the moving average of the metrics is over every episode so far (fewer than WINDOW)
    let all: Vec<f64> = (m.iter())
        .flat_map(|l| {
            l["returns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_f64().unwrap())
        })
        .collect();
    assert!(all.len() < WINDOW);
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    assert!((m[3]["moving_average"].as_f64().unwrap() - mean).abs() < 1e-12);
}

#[test]
fn resume_refuses_another_batch() {
    let r = rstdp();
    let dir = tempfile::tempdir().unwrap();
    let mut run = AgentRun::new(trainer(&r, 4, 1), dir.path(), settings());
    run.run(&schedule(2), &mut NoObs).unwrap();
    let Err(e) = AgentRun::resume(trainer(&r, 2, 1), dir.path(), settings(), &[]) else {
        panic!("resumed with another batch");
    };
    assert!(e.is_input(), "{e}");
}

struct NoObs;
impl eligo_engine::train::agent_run::AgentObserver for NoObs {}

#[test]
fn bad_arguments_are_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let base = ["train", "--reward", "--quiet", "--out", arg(&out)];
    for (extra, must) in [
        (
            &["--form", "sarsa"][..],
            &["--form", "sarsa", "td, a2c"][..],
        ),
        (&["--gamma", "1.5"], &["--gamma", "[0, 1]"]),
        (&["--episodes-per-batch", "0"], &["--episodes-per-batch"]),
        (&["--agent-steps", "0"], &["--agent-steps"]),
        (&["--max-agent-steps", "0"], &["--max-agent-steps"]),
        (&["--iterations", "0"], &["--iterations"]),
        (&["--target-return", "nan"], &["--target-return"]),
        (
            &["--param", "scale=2"],
            &["--param scale", "--episodes-per-batch"],
        ),
        (&["--param", "agent_steps=3"], &["--agent-steps"]),
        (
            &["--rule", "eprop", "--rule", "eprop"],
            &["--rule", "one rule"],
        ),
        (&["--task", "no-such-env"], &["no-such-env", "environment"]),
    ] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        refused(&eligo(&args), must);
        assert!(!out.exists(), "{extra:?} left {}", out.display());
    }
    // the closed-loop flags need --reward
    refused(&eligo(&["train", "--gamma", "0.9"]), &["--reward"]);
}

/// The memory check sizes a lane by the environment's longest episode, not by the host's cap:
/// the evidence task (45 agent steps of 50 ms) runs with the default `--max-agent-steps`
/// (10 000, which would mean 500 050 network steps per episode, about 3.4 GB per lane for its
/// 143 neurons) under a 1 GB limit, and the summary reports the fraction of positive returns
/// (correct choices) as the returns say; a limit too small for one trial is still refused.
#[test]
fn the_memory_check_uses_the_environments_episode_length() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let args = [
        "train",
        "--reward",
        "--task",
        "evidence",
        "--episodes-per-batch",
        "4",
        "--iterations",
        "2",
        "--threads",
        "1",
        "--quiet",
        "--out",
        arg(&out),
    ];
    let run = |limit: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_eligo"))
            .args(args)
            .env("ELIGO_MEMORY_LIMIT", limit)
            .output()
            .unwrap()
    };
    let o = run("1G");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let returns: Vec<f64> = metrics_without_seconds(&out)
        .iter()
        .flat_map(|m| m["returns"].as_array().unwrap().clone())
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(returns.len(), 8);
    assert!(
        returns.iter().all(|&r| r == 1.0 || r == -1.0),
        "{returns:?}"
    );
    let right = returns.iter().filter(|&&r| r == 1.0).count() as f64 / 8.0;
    assert_eq!(s["moving_positive"].as_f64(), Some(right));
    std::fs::remove_dir_all(&out).unwrap();
    // 5 lanes of 2300 steps x 143 neurons x 48 bytes are about 79 MB
    refused(
        &run("20M"),
        &["--agent-steps", "2300", "ELIGO_MEMORY_LIMIT"],
    );
}

#[test]
fn the_rule_sees_the_channels_at_the_protocols_steps() {
    // the probe rule writes, per step, the channels action, reward, done and the readout's y
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("steps.txt");
    let r = rule(
        "eligo_test_probe",
        &[
            ("population", "out"),
            ("variables", "y"),
            ("modulators", "action,reward,done"),
            ("out", arg(&file)),
        ],
    );
    // the host's cap of 2 agent steps truncates a quarter of the episodes
    let mut tr = capped_trainer(&r, 1, 1, 2);
    let mut kinds = [0, 0];
    for episode in 0..12u64 {
        let m = tr.step().unwrap();
        let n = m.lengths[0];
        // the last answer was wrong
        let terminal = m.returns[0] < n as f64;
        kinds[usize::from(terminal)] += 1;
        let cue = (splitmix64(7 ^ episode) & 1) as f32;
        let text = std::fs::read_to_string(&file).unwrap();
        let rows: Vec<(u64, [f32; 3])> = text
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('|').collect();
                let c: Vec<f32> = f[1]
                    .split_whitespace()
                    .map(|x| x.parse().unwrap())
                    .collect();
                (f[0].trim().parse().unwrap(), [c[0], c[1], c[2]])
            })
            .collect();
        assert_eq!(rows.len() as u64, m.steps);
        for (t, [action, reward, done]) in rows {
            let a = t / K; // the agent step this network step belongs to
            if a == 0 {
                assert_eq!([action, reward, done], [-1.0, 0.0, 0.0], "step {t}");
                continue;
            }
            // from step aK on: what agent step a - 1 gave
            let last = a == n;
            let right = !(last && terminal);
            assert_eq!(action == cue, right, "episode {episode} step {t}");
            assert_eq!(reward, if right { 1.0 } else { 0.0 }, "step {t}");
            let want_done = match (last, terminal) {
                (false, _) => 0.0,
                (true, true) => 1.0,
                (true, false) => 2.0,
            };
            assert_eq!(done, want_done, "episode {episode} step {t}");
        }
    }
    assert!(
        kinds[0] > 0 && kinds[1] > 0,
        "truncated, terminal: {kinds:?}"
    );
}

#[test]
fn the_target_return_stops_the_run() {
    let r = rule("eligo_rstdp", &[("eta", "0")]);
    let dir = tempfile::tempdir().unwrap();
    // every return is >= 0: the first full window (episode 100, iteration 10 of 10 episodes)
    let mut run = AgentRun::new(trainer(&r, 10, 1), dir.path(), settings());
    let s = AgentSchedule {
        target_return: Some(0.0),
        ..schedule(30)
    };
    let o = run.run(&s, &mut NoObs).unwrap();
    assert_eq!(
        o.ending,
        eligo_engine::train::agent_run::AgentEnding::Reached(100)
    );
    assert_eq!((o.iterations, o.episodes), (10, 100));
    // more than the best return (8): never reached
    let dir = tempfile::tempdir().unwrap();
    let mut run = AgentRun::new(trainer(&r, 10, 1), dir.path(), settings());
    let s = AgentSchedule {
        target_return: Some(8.5),
        ..schedule(11)
    };
    let o = run.run(&s, &mut NoObs).unwrap();
    assert_eq!(
        o.ending,
        eligo_engine::train::agent_run::AgentEnding::Finished
    );
    assert_eq!(o.episodes, 110);
}

/// Reward-based e-prop (`learning = reward`) with the host's settings for `batch` episodes.
fn eprop_reward(batch: usize, lr: f64, extra: &[(&str, &str)]) -> TrainRule {
    let scale = format!("{:?}", 1.0 / batch as f64);
    let k = K.to_string();
    let mut p: Vec<(&str, &str)> = vec![
        ("learning", "reward"),
        ("agent_steps", &k),
        ("scale", &scale),
    ];
    p.extend_from_slice(extra);
    let mut r = rule("eligo_eprop", &p);
    r.host.optimizer.lr = lr;
    r
}

#[test]
fn reward_eprop_learns_to_repeat_the_cue() {
    // a random policy returns about 1 per episode (each answer right with probability 1/2), the
    // best 8; symmetric feedback, the paper's TD form, 8 episodes per batch
    let r = eprop_reward(8, 0.03, &[("feedback", "symmetric"), ("gamma", "0.9")]);
    let mut tr = trainer(&r, 8, 2);
    let means: Vec<f64> = (0..12)
        .map(|_| {
            let m = tr.step().unwrap();
            m.returns.iter().sum::<f64>() / m.returns.len() as f64
        })
        .collect();
    let last: f64 = means[8..].iter().sum::<f64>() / 4.0;
    assert!(
        last >= 6.0,
        "mean return of episodes 65..96 {last}; per batch {means:?}"
    );
}

#[test]
fn reward_eprop_is_the_same_on_one_and_two_threads_and_resumed() {
    let r = eprop_reward(4, 0.03, &[("feedback", "random")]);
    let whole = tempfile::tempdir().unwrap();
    let mut run = AgentRun::new(trainer(&r, 4, 1), whole.path(), settings());
    run.run(&schedule(4), &mut NoObs).unwrap();
    let parts = tempfile::tempdir().unwrap();
    let mut run = AgentRun::new(trainer(&r, 4, 2), parts.path(), settings());
    run.run(&schedule(2), &mut NoObs).unwrap();
    let (mut run, _) = AgentRun::resume(trainer(&r, 4, 2), parts.path(), settings(), &[]).unwrap();
    run.run(&schedule(4), &mut NoObs).unwrap();
    assert_eq!(
        metrics_without_seconds(whole.path()),
        metrics_without_seconds(parts.path())
    );
    for f in [
        "weights.npz",
        "returns.npy",
        "checkpoint/optimizer.npz",
        "checkpoint/rules.bin",
    ] {
        let a = std::fs::read(whole.path().join(f)).unwrap();
        assert_eq!(a, std::fs::read(parts.path().join(f)).unwrap(), "{f}");
    }
    let w0 = weight_bits(&trainer(&r, 4, 1));
    assert_ne!(weight_bits(run.trainer()), w0, "nothing learned");
}

#[test]
fn a_gradient_rule_without_reward_learning_is_refused() {
    use eligo_engine::train::agent_setup::check_reward_rule;
    let e = check_reward_rule(&Plugin::load(&so("eligo_bptt")).unwrap()).unwrap_err();
    assert!(e.is_input(), "{e}");
    let msg = e.to_string();
    for m in ["--rule", "bptt", "learning"] {
        assert!(msg.contains(m), "{m:?} missing from {msg}");
    }
    for ok in ["eligo_eprop", "eligo_rstdp"] {
        check_reward_rule(&Plugin::load(&so(ok)).unwrap()).unwrap();
    }
}

/// `train --reward` end to end on the engine's CartPole (when this build has it): a run
/// resumed from its checkpoint writes the same metrics, returns and weights as one run, on 1
/// and 2 threads, and draws the learning curve.
#[test]
fn cli_resume_and_threads_equal_one_run() {
    if !eligo_engine::env::NAMES.contains(&"cartpole") {
        return; // the environments are another part of the build
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &std::path::Path, iterations: &str, threads: &str, resume: bool| {
        let mut args = vec![
            "train",
            "--reward",
            "--task",
            "cartpole",
            "--episodes-per-batch",
            "3",
            "--iterations",
            iterations,
            "--threads",
            threads,
            "--checkpoint-every",
            "1",
            "--seed",
            "2",
            "--quiet",
        ];
        args.extend(if resume {
            ["--resume", arg(out)]
        } else {
            ["--out", arg(out)]
        });
        let o = eligo(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let (whole, parts) = (dir.path().join("whole"), dir.path().join("parts"));
    run(&whole, "4", "1", false);
    run(&parts, "2", "2", false);
    run(&parts, "4", "2", true);
    assert_eq!(
        metrics_without_seconds(&whole),
        metrics_without_seconds(&parts)
    );
    assert_eq!(metrics_without_seconds(&whole).len(), 4);
    for f in [
        "weights.npz",
        "returns.npy",
        "checkpoint/optimizer.npz",
        "checkpoint/rules.bin",
    ] {
        let a = std::fs::read(whole.join(f)).unwrap();
        assert_eq!(a, std::fs::read(parts.join(f)).unwrap(), "{f}");
    }
    assert!(std::fs::metadata(whole.join("returns.png")).unwrap().len() > 1000);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        (s["episodes"].as_u64(), s["reward"].as_bool()),
        (Some(12), Some(true))
    );
}
