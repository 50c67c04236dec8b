//! Question: how long does one step of the CUBA network take, per neuron update, on 1 and 2
//! threads? Each iteration simulates 100 ms (1000 steps) of an already-built network, continuing
//! the same run (the network stays in its asynchronous state, ~5.6 Hz).
//!
//! Run: `cargo bench -p eligo-bench --bench step_loop -- --warm-up-time 1 --measurement-time 5`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use eligo_engine::network::cuba::cuba;
use eligo_engine::prelude::*;

fn step_loop(c: &mut Criterion) {
    let mut g = c.benchmark_group("cuba_100ms");
    for n in [4000u32, 40000] {
        for threads in [1usize, 2] {
            let net = cuba(n, 1).build().expect("valid network");
            let opts = SimOptions {
                threads,
                ..Default::default()
            };
            let mut sim = Simulation::new(net, &opts).expect("valid options");
            sim.run(2000, None).expect("no rule attached"); // leave the initial transient
            g.throughput(Throughput::Elements(u64::from(n) * 1000));
            g.bench_function(format!("n{n}_threads{threads}"), |b| {
                b.iter(|| sim.run(1000, None).expect("no rule attached"))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, step_loop);
criterion_main!(benches);
