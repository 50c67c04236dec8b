//! `eligo simulate NET.toml [--out DIR]`: run a network description, write the recorded spikes
//! (`spikes_<population>.npy`), state traces (`state_<population>_<var>.npy`) and
//! `summary.json` into DIR.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use eligo_engine::io::npy::{Event, write_events, write_f32_2d};
use eligo_engine::io::{config, write_atomic};
use eligo_engine::prelude::*;
use serde_json::json;

use super::progress::Progress;

/// Arguments of `simulate`.
#[derive(clap::Args)]
pub struct Args {
    /// Network description (TOML); see data/example_net.toml.
    pub config: PathBuf,
    /// Output directory (created if missing). Default: out/CONFIG_NAME.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads; results are identical for any count.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: u16,
    /// Override the description's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// No progress bar and no summary on stdout.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub rule: super::rule::RuleArgs,
    #[command(flatten, next_help_heading = "Event replay")]
    pub replay: super::events::ReplayArgs,
}

/// Run `simulate`.
pub fn run(a: Args) -> Result<()> {
    let file = a.config.clone();
    let mut cfg = config::load(&a.config)?;
    if let Some(s) = a.seed {
        cfg.network.seed = s;
    }
    a.replay.prepare(&mut cfg)?;
    let t_build = Instant::now();
    let net = cfg.network.build().map_err(|e| e.in_file(&file))?;
    let opts = SimOptions {
        threads: usize::from(a.threads),
        record: cfg.record.clone(),
    };
    let mut sim = Simulation::new(net, &opts).map_err(|e| e.in_file(&file))?;
    let replay = a.replay.attach(&mut sim, &cfg, a.quiet)?;
    let mut optimizer = super::rule::attach(&a.rule, &mut sim, cfg.steps)?;
    let initial: Vec<Vec<f32>> = sim
        .network()
        .projections
        .iter()
        .map(|p| p.weights.clone())
        .collect();
    let build_s = t_build.elapsed().as_secs_f64();

    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(file.file_stem().unwrap_or_default()));
    std::fs::create_dir_all(&out).map_err(|e| {
        Error::input(
            "--out",
            out.display(),
            format!("cannot create the output directory: {e}"),
            "choose a writable directory",
        )
    })?;

    let progress = Progress::new(cfg.steps, "simulating", a.quiet);
    let t_sim = Instant::now();
    sim.begin_sequence()?;
    sim.run(cfg.steps, Some(&|s| progress.set(s)))?;
    sim.end_sequence(cfg.steps)?;
    // the run is one batch of one sequence (batch-level terms such as rate regularization)
    let counts: Vec<Vec<u64>> = sim
        .neuron_spike_counts()
        .iter()
        .map(|c| c.iter().map(|&n| u64::from(n)).collect())
        .collect();
    sim.end_batch(1, cfg.steps, &counts)?;
    replay.finish()?;
    if let Some(opt) = &mut optimizer {
        sim.apply_gradients(opt);
    }
    let sim_s = t_sim.elapsed().as_secs_f64();
    progress.finish();

    let net = sim.network();
    let dt_us = net.dt_ms * 1000.0;
    let seconds = cfg.steps as f64 * net.dt_ms * 1e-3;
    for &p in &cfg.record.spikes {
        let events: Vec<Event> = sim
            .population_spikes(p)
            .into_iter()
            .map(|(t, addr)| Event {
                t: (t as f64 * dt_us).round() as u64,
                addr,
            })
            .collect();
        let name = &net.populations[p].name;
        write_events(&out.join(format!("spikes_{name}.npy")), &events)?;
    }
    for (q, probe) in sim.probes().iter().enumerate() {
        let name = &net.populations[probe.population].name;
        write_f32_2d(
            &out.join(format!("state_{name}_{}.npy", probe.var)),
            cfg.steps as usize,
            probe.neurons.len(),
            &sim.probe_samples(q),
        )?;
    }
    let c = sim.counters();
    let pops: Vec<_> = net
        .populations
        .iter()
        .zip(&c.spikes)
        .map(|(p, &n)| {
            json!({
                "name": p.name, "model": p.model.name(), "size": p.size, "spikes": n,
                "rate_hz": n as f64 / p.size as f64 / seconds,
            })
        })
        .collect();
    let summary = json!({
        "config": file.display().to_string(),
        "eligo_version": env!("CARGO_PKG_VERSION"),
        "seed": net.seed,
        "dt_ms": net.dt_ms,
        "steps": c.steps,
        "simulated_ms": c.steps as f64 * net.dt_ms,
        "threads": a.threads,
        "neurons": net.n_neurons(),
        "synapses": net.n_synapses(),
        "synaptic_events": c.events,
        "build_s": build_s,
        "wall_s": sim_s,
        "populations": pops,
        "rule": super::rule::summary(&sim, &initial),
    });
    let text = serde_json::to_string_pretty(&summary)?;
    write_atomic(&out.join("summary.json"), |w| {
        use std::io::Write;
        writeln!(w, "{text}")
    })?;
    if !a.quiet {
        println!("{text}");
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}
