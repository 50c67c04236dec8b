//! Reward-based e-prop (actor-critic) through the real plugin, driven step by step as a
//! closed loop drives it: the event form equals the online form and an independent float64
//! dense reference written from the paper's equations; the A2C form equals the TD form with its
//! traces restarted at every unroll start (and differs from it without the restarts); with
//! symmetric feedback, the A2C form equals the BPTT plugin's stopped-gradient, truncated
//! gradient of the A2C loss.

use eligo_engine::network::NetworkSpec;
use eligo_engine::optim::{Loss, Teacher};
use eligo_engine::plugin::{Plugin, RuleInstance, config};
use eligo_engine::prelude::*;

use crate::common::{lsnn, so};
use crate::eprop::{dense, rel_err};

/// The test network: `lsnn` with a readout of 3 outputs (2 action logits, then the value).
fn agent_net(seed: u64, alif: bool) -> NetworkSpec {
    let mut spec = lsnn(seed, alif, true);
    spec.populations[2].size = 3;
    spec
}

/// How an episode of the test ends.
#[derive(Clone, Copy, PartialEq)]
enum End {
    Terminal,
    Truncated,
}

/// One episode as the engine ran it.
struct Episode {
    weights: Vec<Vec<f32>>,
    biases: Vec<f32>,
    /// Input and recurrent spikes per step.
    input: Vec<Vec<u32>>,
    rec: Vec<Vec<bool>>,
    /// Readout `y` at every step.
    y: Vec<Vec<f64>>,
    /// Per agent step: the action (None: no action) and the reward.
    actions: Vec<Option<usize>>,
    rewards: Vec<f64>,
    steps: u64,
}

/// Uniform numbers for the test's own action sampling (SplitMix64).
fn uniform(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// Run one episode of `agents` agent steps of `k` network steps with rule `plugin` configured
/// by `rule_toml`: actions sampled from the policy readout (every third agent step takes no
/// action; every fifth the unlikely one), rewards a fixed function of the action and the agent step, the channels set as the
/// protocol says (plugins/eprop/src/reward.rs). `teacher`: a teacher for the rule instead (the
/// BPTT run), the channels then unused.
fn episode(
    spec: &NetworkSpec,
    (lib, rule_toml): (&str, &str),
    k: u64,
    agents: u64,
    end: End,
    teacher: Option<Loss>,
) -> Episode {
    let net = spec.build().unwrap();
    let opts = SimOptions {
        threads: 1,
        record: RecordSpec {
            spikes: vec![0, 1],
            state: vec![],
        },
    };
    let mut sim = Simulation::new(net, &opts).unwrap();
    let ch: Vec<usize> = ["action", "reward", "done"]
        .iter()
        .map(|c| sim.add_modulator(c).unwrap())
        .collect();
    let steps = agents * k + if end == End::Terminal { 1 } else { k };
    let plugin = Plugin::load(&so(lib)).unwrap();
    let cfg = config::parse(rule_toml, &plugin).unwrap();
    let names = sim.modulator_names().to_vec();
    let rule =
        RuleInstance::with_modulators(plugin, sim.network(), &cfg.values, cfg.host, steps, &names)
            .unwrap();
    sim.set_rule(rule).unwrap();
    if let Some(loss) = teacher {
        sim.set_teacher(Some(Teacher::new(2, 3, loss, 1))).unwrap();
    }
    sim.begin_sequence().unwrap();
    let mut rng = spec.seed ^ 0x5EED;
    let (mut y, mut actions, mut rewards) = (Vec::new(), Vec::new(), Vec::new());
    let mut row = Vec::new();
    let mut read = |sim: &mut Simulation, y: &mut Vec<Vec<f64>>| {
        sim.run(1, None).unwrap();
        sim.read_state(2, "y", &mut row).unwrap();
        y.push(row.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>());
    };
    for n in 0..agents {
        for _ in 0..k {
            read(&mut sim, &mut y);
        }
        let last = y.last().unwrap();
        let action = (n % 3 != 1).then(|| {
            let p0 = 1.0 / (1.0 + (last[1] - last[0]).exp());
            // every fifth agent step the other action, so that both occur whatever the policy
            usize::from(uniform(&mut rng) >= p0) ^ usize::from(n % 5 == 3)
        });
        let reward = match action {
            Some(0) => 1.0,
            Some(_) => -0.5,
            None => 0.0,
        } + 0.1 * n as f64;
        let done = match (n + 1 == agents, end) {
            (false, _) => 0.0,
            (true, End::Terminal) => 1.0,
            (true, End::Truncated) => 2.0,
        };
        sim.set_modulator(ch[0], action.map_or(-1.0, |a| a as f32));
        sim.set_modulator(ch[1], reward as f32);
        sim.set_modulator(ch[2], done);
        actions.push(action);
        rewards.push(f64::from(reward as f32));
    }
    while (y.len() as u64) < steps {
        read(&mut sim, &mut y);
    }
    sim.end_sequence(steps).unwrap();
    sim.end_batch_of_one(steps).unwrap();
    let mut input = vec![Vec::new(); steps as usize];
    for &(t, i) in &sim.population_spikes(0) {
        input[t as usize].push(i);
    }
    let mut rec = vec![vec![false; 40]; steps as usize];
    for &(t, i) in &sim.population_spikes(1) {
        rec[t as usize][i as usize] = true;
    }
    Episode {
        weights: sim.grads().to_vec(),
        biases: sim.bias_grads()[2].clone(),
        input,
        rec,
        y,
        actions,
        rewards,
        steps,
    }
}

fn assert_close(a: &Episode, b: &Episode, tol: f64, what: &str) {
    for (j, (x, y)) in a.weights.iter().zip(&b.weights).enumerate() {
        let e = rel_err(x, y);
        assert!(e <= tol, "{what}: projection {j}: max rel err {e}");
    }
    let e = rel_err(&a.biases, &b.biases);
    assert!(e <= tol, "{what}: biases: max rel err {e}");
}

/// The settings the reference needs.
struct Ac {
    k: usize,
    gamma: f64,
    c_v: f64,
    c_h: f64,
    unroll: usize,
    scale: f64,
}

/// The readout errors of the actor-critic, written from the paper's equations: the TD errors
/// `delta_m = r_m + gamma V_{m+1} - V_m` (`V` after a terminal step is 0; a truncated episode
/// bootstraps from the value read one agent step later), and at the action time `t_n` of every
/// agent step `n`: `err_k = scale (w_n (pi_k - 1[a_n = k]) + c_h pi_k (ln pi_k + H))`,
/// `err_V = -scale c_v w_n`, with `w_n = sum_{m = n}^{M} gamma^(m - n) delta_m` summed term by
/// term up to the last agent step `M` of `n`'s unroll — which is what `sum_m delta_m
/// F_gamma(X)_m` gives each `X_n`.
fn reference_errors(ep: &Episode, ac: &Ac, end: End) -> Vec<Vec<f64>> {
    let n_steps = ep.actions.len();
    let value = |n: usize| ep.y[(n + 1) * ac.k - 1][2];
    let delta: Vec<f64> = (0..n_steps)
        .map(|m| {
            let next = if m + 1 == n_steps && end == End::Terminal {
                0.0
            } else {
                value(m + 1)
            };
            ep.rewards[m] + ac.gamma * next - value(m)
        })
        .collect();
    let mut err = vec![vec![0.0; 3]; ep.y.len()];
    for n in 0..n_steps {
        let last = match ac.unroll {
            0 => n_steps - 1,
            u => ((n / u + 1) * u - 1).min(n_steps - 1),
        };
        let w: f64 = (n..=last)
            .map(|m| ac.gamma.powi((m - n) as i32) * delta[m])
            .sum();
        let t = (n + 1) * ac.k - 1;
        let y = &ep.y[t];
        if let Some(a) = ep.actions[n] {
            let (e0, e1) = ((y[0] - y[0].max(y[1])).exp(), (y[1] - y[0].max(y[1])).exp());
            let pi = [e0 / (e0 + e1), e1 / (e0 + e1)];
            let h = -(pi[0] * pi[0].ln() + pi[1] * pi[1].ln());
            for kk in 0..2 {
                let onehot = if kk == a { 1.0 } else { 0.0 };
                err[t][kk] =
                    ac.scale * (w * (pi[kk] - onehot) + ac.c_h * pi[kk] * (pi[kk].ln() + h));
            }
        }
        err[t][2] = -ac.scale * ac.c_v * w;
    }
    err
}

fn rule_toml(feedback: &str, mode: &str, form: &str, ac: &Ac) -> String {
    format!(
        "learning = \"reward\"\nfeedback = \"{feedback}\"\nmode = \"{mode}\"\nform = \"{form}\"\nagent_steps = {}\ngamma = {}\nc_v = {}\nc_entropy = {}\nunroll = {}\nscale = {}\n",
        ac.k, ac.gamma, ac.c_v, ac.c_h, ac.unroll, ac.scale
    )
}

/// The reference's gradients in the plugin's CSR order.
fn reference(spec: &NetworkSpec, ep: &Episode, ac: &Ac, end: End) -> Episode {
    let net = spec.build().unwrap();
    let err = reference_errors(ep, ac, end);
    let err_of = |t: usize, _: &[f64]| err[t].clone();
    let restarts: Vec<usize> = match ac.unroll {
        0 => Vec::new(),
        u => (1..)
            .map(|i| i * u * ac.k)
            .take_while(|&t| t < ep.y.len())
            .collect(),
    };
    let r = dense::eprop(&net, &ep.input, 0.0, 0.0, &err_of, None, &restarts);
    assert_eq!(
        r.z, ep.rec,
        "the reference's spikes differ from the engine's"
    );
    let weights = [(0usize, &r.w_in), (1, &r.w_rec), (2, &r.w_out)]
        .iter()
        .map(|&(j, want)| {
            let p = &net.projections[j];
            let mut csr = vec![0.0f32; p.len()];
            for i in 0..p.n_pre() {
                for s in p.row(i) {
                    csr[s] = want[p.targets[s] as usize][i] as f32;
                }
            }
            csr
        })
        .collect();
    Episode {
        weights,
        biases: r.b.iter().map(|&x| x as f32).collect(),
        input: Vec::new(),
        rec: Vec::new(),
        y: Vec::new(),
        actions: Vec::new(),
        rewards: Vec::new(),
        steps: ep.steps,
    }
}

#[test]
fn event_equals_online_and_an_independent_dense_reference() {
    let mut cases = 0;
    for (seed, alif) in [(1u64, false), (2, true), (3, true)] {
        for (unroll, end, c_h) in [(0, End::Terminal, 0.0), (3, End::Truncated, 0.05)] {
            let ac = Ac {
                k: 5,
                gamma: 0.9,
                c_v: 0.5,
                c_h,
                unroll,
                scale: 0.25,
            };
            let spec = agent_net(seed, alif);
            let what = format!("seed {seed} alif {alif} unroll {unroll}");
            let ev = episode(
                &spec,
                ("eligo_eprop", &rule_toml("symmetric", "event", "td", &ac)),
                ac.k as u64,
                24,
                end,
                None,
            );
            let spikes: usize = ev.rec.iter().flatten().filter(|&&z| z).count();
            assert!(spikes > 100, "{what}: only {spikes} spikes");
            assert!(ev.actions.iter().flatten().any(|&a| a == 0));
            assert!(ev.actions.iter().flatten().any(|&a| a == 1));
            let on = episode(
                &spec,
                ("eligo_eprop", &rule_toml("symmetric", "online", "td", &ac)),
                ac.k as u64,
                24,
                end,
                None,
            );
            assert_eq!(ev.actions, on.actions, "{what}: same episode");
            assert_close(&ev, &on, 1e-5, &format!("{what}: event vs online"));
            let r = reference(&spec, &ev, &ac, end);
            assert_close(&ev, &r, 1e-5, &format!("{what}: event vs reference"));
            assert_close(&on, &r, 1e-5, &format!("{what}: online vs reference"));
            // random feedback: event and online agree
            let evr = episode(
                &spec,
                ("eligo_eprop", &rule_toml("random", "event", "td", &ac)),
                ac.k as u64,
                24,
                end,
                None,
            );
            let onr = episode(
                &spec,
                ("eligo_eprop", &rule_toml("random", "online", "td", &ac)),
                ac.k as u64,
                24,
                end,
                None,
            );
            assert_close(&evr, &onr, 1e-5, &format!("{what}: random feedback"));
            cases += 1;
        }
    }
    assert_eq!(cases, 6);
}

#[test]
fn a2c_equals_td_with_restarts_at_unroll_starts_and_differs_without() {
    for (seed, gamma) in [(4u64, 0.8), (5, 0.99)] {
        let spec = agent_net(seed, true);
        let ac = |unroll| Ac {
            k: 4,
            gamma,
            c_v: 1.0,
            c_h: 0.01,
            unroll,
            scale: 1.0,
        };
        let run = |form: &str, mode: &str, unroll| {
            episode(
                &spec,
                ("eligo_eprop", &rule_toml("random", mode, form, &ac(unroll))),
                4,
                30,
                End::Truncated,
                None,
            )
        };
        let a2c = run("a2c", "event", 6);
        let td_online = run("td", "online", 6);
        assert_close(
            &a2c,
            &td_online,
            1e-5,
            &format!("seed {seed}: a2c vs td online, unroll 6"),
        );
        // the paper's online rule runs across the unroll boundaries: another weight change
        let across = run("td", "online", 0);
        let e = rel_err(&across.weights[1], &a2c.weights[1]);
        assert!(e > 1e-3, "seed {seed}: restarts made no difference ({e})");
        // one unroll spanning the episode is the paper's online rule
        let whole = run("a2c", "event", 1000);
        assert_close(
            &whole,
            &across,
            1e-5,
            &format!("seed {seed}: a2c, one unroll"),
        );
    }
}

#[test]
fn a2c_with_symmetric_feedback_equals_stopped_gradient_bptt_of_the_a2c_loss() {
    for (seed, alif) in [(6u64, false), (7, true)] {
        let spec = agent_net(seed, alif);
        let ac = Ac {
            k: 5,
            gamma: 0.95,
            c_v: 0.5,
            c_h: 0.02,
            unroll: 4,
            scale: 1.0,
        };
        let eprop = episode(
            &spec,
            ("eligo_eprop", &rule_toml("symmetric", "event", "a2c", &ac)),
            5,
            20,
            End::Terminal,
            None,
        );
        // the A2C loss's dE/dy, written out: returns within each unroll (bootstrapped with the
        // value after it), advantage R - V with its gradient stopped, value loss, entropy
        let n_steps = eprop.actions.len();
        let value = |n: usize| eprop.y[(n + 1) * ac.k - 1][2];
        let mut err = vec![vec![0.0f64; 3]; eprop.y.len()];
        for n in 0..n_steps {
            let last = ((n / ac.unroll + 1) * ac.unroll - 1).min(n_steps - 1);
            let boot = if last + 1 == n_steps {
                0.0
            } else {
                value(last + 1)
            };
            let ret: f64 = (n..=last)
                .map(|m| ac.gamma.powi((m - n) as i32) * eprop.rewards[m])
                .sum::<f64>()
                + ac.gamma.powi((last + 1 - n) as i32) * boot;
            let adv = ret - value(n);
            let t = (n + 1) * ac.k - 1;
            let y = &eprop.y[t];
            if let Some(a) = eprop.actions[n] {
                let z = (y[0].exp() + y[1].exp()).ln();
                let pi = [(y[0] - z).exp(), (y[1] - z).exp()];
                let h = -(pi[0] * pi[0].ln() + pi[1] * pi[1].ln());
                for kk in 0..2 {
                    let onehot = if kk == a { 1.0 } else { 0.0 };
                    err[t][kk] = adv * (pi[kk] - onehot) + ac.c_h * pi[kk] * (pi[kk].ln() + h);
                }
            }
            err[t][2] = -ac.c_v * adv;
        }
        // BPTT's teacher: a squared error whose dE/dy is `err` (target = y - err)
        let targets: Vec<f32> = eprop
            .y
            .iter()
            .zip(&err)
            .flat_map(|(y, e)| (0..3).map(move |kk| (y[kk] - e[kk]) as f32))
            .collect();
        let bptt = episode(
            &spec,
            (
                "eligo_bptt",
                &format!(
                    "stop_z_gradients = \"yes\"\ntruncation = {}\n",
                    ac.unroll * ac.k
                ),
            ),
            5,
            20,
            End::Terminal,
            Some(Loss::Mse { targets }),
        );
        assert_eq!(bptt.rec, eprop.rec, "seed {seed}: same spikes");
        assert_close(
            &eprop,
            &bptt,
            1e-5,
            &format!("seed {seed} alif {alif}: a2c vs bptt"),
        );
    }
}

#[test]
fn bad_channel_values_are_refused_with_the_step_and_what_is_allowed() {
    let spec = agent_net(8, false);
    let net = spec.build().unwrap();
    let mut sim = Simulation::new(net, &SimOptions::default()).unwrap();
    let a = sim.add_modulator("action").unwrap();
    for c in ["reward", "done"] {
        sim.add_modulator(c).unwrap();
    }
    let plugin = Plugin::load(&so("eligo_eprop")).unwrap();
    let cfg = config::parse("learning = \"reward\"\nagent_steps = 2\n", &plugin).unwrap();
    let names = sim.modulator_names().to_vec();
    let rule =
        RuleInstance::with_modulators(plugin, sim.network(), &cfg.values, cfg.host, 10, &names)
            .unwrap();
    sim.set_rule(rule).unwrap();
    sim.begin_sequence().unwrap();
    sim.run(2, None).unwrap();
    sim.set_modulator(a, 2.0);
    let e = sim.run(1, None).unwrap_err().to_string();
    assert!(
        e.contains("action = 2") && e.contains("allowed: 0..1") && e.contains("-1"),
        "{e}"
    );
    // without the channels the rule says which it needs
    let mut sim = Simulation::new(spec.build().unwrap(), &SimOptions::default()).unwrap();
    let plugin = Plugin::load(&so("eligo_eprop")).unwrap();
    let cfg = config::parse("learning = \"reward\"\n", &plugin).unwrap();
    let e = RuleInstance::new(plugin, sim.network(), &cfg.values, cfg.host, 10)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("action_channel") && e.contains("no modulator channel"),
        "{e}"
    );
    let _ = &mut sim;
}
