//! Question: what does calling a rule through a dynamically loaded plugin cost, compared with
//! the same rule linked statically? The CUBA network (N = 4000) with pair STDP on its
//! excitatory-to-excitatory synapses; each iteration simulates 100 ms (1000 steps).
//! "static" drives the STDP rule's descriptor from the linked rlib; "dynamic" loads
//! `libeligo_stdp.so` with dlopen. Both go through the same host code and C ABI.
//!
//! Run: `cargo bench -p eligo-bench --bench plugin_overhead -- --warm-up-time 2 --measurement-time 10`

use criterion::{Criterion, criterion_group, criterion_main};
use eligo_engine::network::cuba::cuba;
use eligo_engine::plugin::{Plugin, RuleInstance, config};
use eligo_engine::prelude::*;

const RULE: &str = r#"
a_plus = 0.001
a_minus = 0.00105
w_min = 0.0
w_max = 5.0
[host]
plastic = ["exc->exc"]
"#;

fn sim_with(plugin: Plugin) -> Simulation {
    let net = cuba(4000, 1).build().expect("valid network");
    let mut sim = Simulation::new(net, &SimOptions::default()).expect("valid options");
    let cfg = config::parse(RULE, &plugin).expect("valid rule config");
    let rule = RuleInstance::new(plugin, sim.network(), &cfg.values, cfg.host, 0).expect("rule");
    sim.set_rule(rule).expect("one thread");
    sim.begin_sequence().expect("rule starts");
    sim.run(1000, None).expect("rule runs");
    sim
}

fn plugin_overhead(c: &mut Criterion) {
    let so = std::env::current_exe()
        .expect("bench path")
        .parent()
        .expect("deps dir")
        .join(format!(
            "{}eligo_stdp{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
    let mut g = c.benchmark_group("cuba4000_stdp_100ms");
    let mut stat = sim_with(
        Plugin::from_descriptor(eligo_plugin::descriptor::<eligo_stdp::Stdp>())
            .expect("a valid descriptor"),
    );
    g.bench_function("static", |b| {
        b.iter(|| stat.run(1000, None).expect("rule runs"))
    });
    let mut dynamic =
        sim_with(Plugin::load(&so).expect("libeligo_stdp.so built next to the bench"));
    g.bench_function("dynamic", |b| {
        b.iter(|| dynamic.run(1000, None).expect("rule runs"))
    });
    let mut none =
        Simulation::new(cuba(4000, 1).build().expect("net"), &SimOptions::default()).expect("sim");
    g.bench_function("no_rule", |b| {
        b.iter(|| none.run(1000, None).expect("runs"))
    });
    g.finish();
}

criterion_group!(benches, plugin_overhead);
criterion_main!(benches);
