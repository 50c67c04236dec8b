//! Question: how long does the gradient of one 1 s sequence take with event-driven e-prop,
//! online (per-synapse trace) e-prop and BPTT, and how much memory does training keep per
//! plastic synapse?
//!
//! Networks (dt 1 ms, 1000 steps, 100 Poisson inputs at 20 Hz, LIF neurons, 1 readout, MSE to
//! a sine): `100x100` (NEST's sine-wave example size, all-to-all), `1000 @10%` and
//! `1000 @100%` recurrent connectivity; weights scaled for ~10-20 Hz.
//!
//! Run: `cargo run --release -p eligo-bench --bin eprop_grad [-- --repeats 3 --rules eprop-event,eprop-online,bptt]`
//! and `cargo run --release -p eligo-bench --bin eprop_grad -- --memory`
//! Prints a markdown table: wall time per sequence (median), synaptic operations per sequence,
//! firing rate, and the ratio to event-driven e-prop.

use std::path::PathBuf;
use std::time::Instant;

use eligo_engine::network::{ConnectRule, NetworkSpec, PopulationSpec, ProjectionSpec, WeightDist};
use eligo_engine::neuron::{LifParams, ModelSpec, PoissonParams, ReadoutParams};
use eligo_engine::optim::{Loss, Teacher};
use eligo_engine::plugin::{RuleInstance, config};
use eligo_engine::prelude::*;

fn spec(n_rec: u32, p_rec: f64, w_rec_std: f64, w_in_mean: f64) -> NetworkSpec {
    let proj = |from: &str, to: &str, rule, mean: f64, std: f64| {
        ProjectionSpec::new(from, to, rule, WeightDist::Normal { mean, std })
    };
    NetworkSpec {
        dt_ms: 1.0,
        seed: 1,
        populations: vec![
            PopulationSpec {
                name: "in".into(),
                size: 100,
                model: ModelSpec::Poisson(PoissonParams { rate_hz: 20.0 }),
                v_init: None,
            },
            PopulationSpec {
                name: "rec".into(),
                size: n_rec,
                model: ModelSpec::Lif(LifParams {
                    t_ref_ms: Some(2.0),
                    ..Default::default()
                }),
                v_init: None,
            },
            PopulationSpec {
                name: "out".into(),
                size: 1,
                model: ModelSpec::Readout(ReadoutParams::default()),
                v_init: None,
            },
        ],
        projections: vec![
            proj("in", "rec", ConnectRule::AllToAll, w_in_mean, 0.05),
            proj(
                "rec",
                "rec",
                if p_rec >= 1.0 {
                    ConnectRule::AllToAll
                } else {
                    ConnectRule::FixedProbability { p: p_rec }
                },
                0.0,
                w_rec_std,
            ),
            proj("rec", "out", ConnectRule::AllToAll, 0.0, 0.1),
        ],
    }
}

fn plugin_dir() -> PathBuf {
    // libeligo_*.so are built next to this binary's deps (cargo build -p eligo-bench builds them)
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .join("deps")
}

struct Run {
    seconds: f64,
    rate_hz: f64,
    synapses: usize,
    events: u64,
}

fn run(spec: &NetworkSpec, rule: &str, rule_toml: &str) -> Run {
    let net = spec.build().expect("network");
    let synapses = net.n_synapses();
    let mut sim = Simulation::new(net, &SimOptions::default()).expect("sim");
    let plugin = eligo_engine::plugin::loader::find(rule, &[plugin_dir()]).expect("plugin built");
    let cfg = config::parse(rule_toml, &plugin).expect("rule config");
    let r = RuleInstance::new(plugin, sim.network(), &cfg.values, cfg.host, 1000).expect("rule");
    sim.set_rule(r).expect("rule attaches");
    let targets: Vec<f32> = (0..1000).map(|t| (t as f32 * 0.0126).sin()).collect();
    sim.set_teacher(Some(Teacher::new(2, 1, Loss::Mse { targets }, 1)))
        .expect("teacher");
    let t0 = Instant::now();
    sim.run_sequence(1000, None).expect("one sequence");
    let seconds = t0.elapsed().as_secs_f64();
    let c = sim.counters();
    Run {
        seconds,
        rate_hz: c.spikes[1] as f64 / f64::from(spec.populations[1].size),
        synapses,
        events: c.events,
    }
}

/// Resident memory of this process (kB), from /proc.
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Bytes per plastic synapse held while training `1000 @100%` with event e-prop and Adam:
/// resident memory after one sequence and one optimizer step, minus before the network was
/// built, over the number of plastic synapses.
fn memory() {
    let before = rss_kb();
    let s = spec(1000, 1.0, 0.005, 0.011);
    let net = s.build().expect("network");
    let synapses = net.n_synapses();
    let mut sim = Simulation::new(net, &SimOptions::default()).expect("sim");
    let plugin = eligo_engine::plugin::loader::find("eprop", &[plugin_dir()]).expect("plugin");
    let cfg = config::parse("[optimizer]\nkind = \"adam\"\nlr = 0.001", &plugin).expect("cfg");
    let mut opt = cfg
        .host
        .build_optimizer(sim.network(), &[])
        .expect("optimizer");
    let r = RuleInstance::new(plugin, sim.network(), &cfg.values, cfg.host, 1000).expect("rule");
    sim.set_rule(r).expect("rule");
    let targets: Vec<f32> = (0..1000).map(|t| (t as f32 * 0.0126).sin()).collect();
    sim.set_teacher(Some(Teacher::new(2, 1, Loss::Mse { targets }, 1)))
        .expect("teacher");
    sim.run_sequence(1000, None).expect("one sequence");
    sim.apply_gradients(&mut opt).expect("finite update");
    let after = rss_kb();
    println!(
        "memory: {synapses} plastic synapses, resident +{} kB => {:.1} bytes per plastic synapse (event e-prop, Adam)",
        after - before,
        (after - before) as f64 * 1024.0 / synapses as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--memory") {
        memory();
        return;
    }
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let repeats: usize = get("--repeats").and_then(|s| s.parse().ok()).unwrap_or(3);
    let rules = get("--rules").unwrap_or_else(|| "eprop-event,eprop-online,bptt".into());
    let nets = [
        ("100x100 (all-to-all)", spec(100, 1.0, 0.03, 0.011)),
        ("1000 @10%", spec(1000, 0.1, 0.015, 0.011)),
        ("1000 @100%", spec(1000, 1.0, 0.005, 0.011)),
    ];
    println!(
        "| network | synapses | rule | rate (Hz) | seconds / sequence | synaptic events | synapses x steps | time / event-driven |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|");
    for (name, s) in &nets {
        let mut base = None;
        for rule in rules.split(',') {
            let (plugin, toml) = match rule {
                "eprop-event" => ("eprop", "mode = \"event\""),
                "eprop-online" => ("eprop", "mode = \"online\""),
                "bptt" => ("bptt", ""),
                other => panic!("unknown rule {other}"),
            };
            let mut times = Vec::new();
            let mut last = None;
            for _ in 0..repeats {
                let r = run(s, plugin, toml);
                times.push(r.seconds);
                last = Some(r);
            }
            times.sort_by(f64::total_cmp);
            let med = times[times.len() / 2];
            let r = last.expect("ran");
            let ratio = *base.get_or_insert(med);
            println!(
                "| {name} | {} | {rule} | {:.1} | {med:.4} | {} | {} | {:.1} |",
                r.synapses,
                r.rate_hz,
                r.events,
                r.synapses as u64 * 1000,
                med / ratio
            );
        }
    }
}
