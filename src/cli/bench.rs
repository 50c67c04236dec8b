//! `eligo bench cuba`: the CUBA benchmark network (Brette et al. 2007), one JSON line out.

use std::time::Instant;

use anyhow::Result;
use eligo_engine::network::cuba::cuba;
use eligo_engine::prelude::*;
use serde_json::json;

/// Built-in benchmarks.
#[derive(clap::Subcommand)]
pub enum Bench {
    /// CUBA network: N lif_exp neurons (80 % exc), p = 80/N, dt 0.1 ms.
    Cuba(CubaArgs),
}

/// Arguments of `bench cuba`.
#[derive(clap::Args)]
pub struct CubaArgs {
    /// Number of neurons.
    #[arg(long, default_value_t = 4000, value_parser = clap::value_parser!(u32).range(5..))]
    pub neurons: u32,
    /// Simulated time (ms), a multiple of 0.1.
    #[arg(long, default_value_t = 1000.0)]
    pub time_ms: f64,
    /// Worker threads (at most the machine's cores). Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Run a benchmark.
pub fn run(b: Bench) -> Result<()> {
    match b {
        Bench::Cuba(a) => {
            let steps =
                eligo_engine::neuron::steps_of(a.time_ms, 0.1).map_err(|e| e.under("--time-ms"))?;
            let t = Instant::now();
            let spec = cuba(a.neurons, a.seed);
            let threads = super::threads::resolve(a.threads, false)?;
            let estimate = spec.estimate(threads)?;
            let net = spec.build()?;
            let opts = SimOptions {
                threads,
                ..Default::default()
            };
            let mut sim = Simulation::new(net, &opts)?;
            let build_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            sim.run(steps, None)?;
            let sim_s = t.elapsed().as_secs_f64();
            let c = sim.counters();
            let spikes: u64 = c.spikes.iter().sum();
            let line = json!({
                "simulator": "eligo",
                "neurons": a.neurons,
                "synapses": sim.network().n_synapses(),
                "spikes": spikes,
                "rate_hz": spikes as f64 / f64::from(a.neurons) / (a.time_ms * 1e-3),
                "build_s": build_s,
                "sim_s": sim_s,
                "events_per_s": c.events as f64 / sim_s,
                "updates_per_s": f64::from(a.neurons) * steps as f64 / sim_s,
                "estimated_bytes": estimate.total_bytes,
                "threads": opts.threads,
                "time_ms": a.time_ms,
                "seed": a.seed,
            });
            println!("{line}");
            Ok(())
        }
    }
}
