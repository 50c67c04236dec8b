//! `eligo bench cuba`: the CUBA benchmark network (Brette et al. 2007); `eligo bench
//! microcircuit`: the cortical microcircuit (Potjans & Diesmann 2014, `network::microcircuit`);
//! `eligo bench data`: how fast a data set is read. One JSON line out each.

use std::time::Instant;

use anyhow::Result;
use eligo_engine::network::cuba::cuba_k;
use eligo_engine::prelude::*;
use eligo_engine::sim::RankTimes;
use serde_json::json;

/// Built-in benchmarks.
#[derive(clap::Subcommand)]
pub enum Bench {
    /// CUBA network: N lif_exp neurons (80 % exc), p = 80/N, dt 0.1 ms.
    Cuba(CubaArgs),
    /// The cortical microcircuit (Potjans & Diesmann 2014; DC or Poisson background):
    /// real-time factor, build time, synaptic events per second, peak RSS, rates per
    /// population.
    Microcircuit(MicroArgs),
    /// Read every sample of a data set (as `train --data` reads them, one at a time on this
    /// thread): samples and input spikes per second.
    Data(DataArgs),
}

/// Arguments of `bench data`.
#[derive(clap::Args)]
pub struct DataArgs {
    /// The data set (as `train --data` takes it).
    pub data: std::path::PathBuf,
    /// The data config (as `train --data-config` takes it).
    #[arg(long)]
    pub data_config: Option<std::path::PathBuf>,
    /// Step of the run the samples are binned for (ms).
    #[arg(long, default_value_t = 1.0)]
    pub dt_ms: f64,
    /// Passes over the data set (the first also warms the page cache).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub passes: u64,
    /// Seed of the split rule.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `bench data`: every pass reads every sample of every split; the best pass is reported.
fn data(a: &DataArgs) -> Result<()> {
    use eligo_engine::task::Split;
    let cfg = match &a.data_config {
        Some(p) => eligo_engine::data::config::load(p)?,
        None => eligo_engine::data::config::DataConfig::default(),
    };
    let t = Instant::now();
    let set = cfg.open(&a.data, a.dt_ms, a.seed)?;
    let open_s = t.elapsed().as_secs_f64();
    let (mut best, mut samples, mut spikes) = (f64::INFINITY, 0u64, 0u64);
    for _ in 0..a.passes {
        let t = Instant::now();
        (samples, spikes) = (0, 0);
        for split in [Split::Train, Split::Validation, Split::Test] {
            for k in 0..set.len(split) {
                spikes += set.read(split, k)?.input.len() as u64;
                samples += 1;
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    let line = json!({
        "data": a.data.display().to_string(),
        "data_set": set.describe(),
        "samples": samples,
        "spikes": spikes,
        "open_s": open_s,
        "pass_s": best,
        "samples_per_s": samples as f64 / best,
        "spikes_per_s": spikes as f64 / best,
        "passes": a.passes,
    });
    println!("{line}");
    Ok(())
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
    /// Synapses per neuron on average (`p = K / N`; the CUBA weights unchanged, so a K far
    /// from 80 changes the activity).
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u32).range(1..))]
    pub synapses_per_neuron: u32,
}

/// Arguments of `bench microcircuit`.
#[derive(clap::Args)]
pub struct MicroArgs {
    /// Fraction of the full model's neurons (and synapses; in-degrees stay the full model's).
    #[arg(long, default_value_t = 0.1)]
    pub scale: f64,
    /// Simulated time measured (ms), after the warm-up; a multiple of 0.1.
    #[arg(long, default_value_t = 1000.0)]
    pub time_ms: f64,
    /// Simulated time before the measurement (ms; the onset transient), a multiple of 0.1.
    #[arg(long, default_value_t = 500.0)]
    pub warmup_ms: f64,
    /// Worker threads (at most the machine's cores). Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Record every spike of the timed part and report the CV of the inter-spike intervals per
    /// population (recording costs time: off by default, as the model's benchmark recipe).
    #[arg(long)]
    pub cv_isi: bool,
    /// Write every spike of the timed part to this Eligo event `.npy` (fields `t`: µs from the
    /// start of the warm-up, `addr`: the global neuron id, populations in the order L23e ..
    /// L6i), as `simulate` writes spike files; over MPI rank 0 writes it.
    #[arg(long, value_name = "FILE.npy")]
    pub spikes_out: Option<std::path::PathBuf>,
    /// The external drive: an independent Poisson train per neuron (the reference's default),
    /// or a constant current of the same mean.
    #[arg(long, value_enum, default_value_t = BackgroundArg::Dc)]
    pub background: BackgroundArg,
}

/// `--background`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackgroundArg {
    /// A constant current (`i_e_mv`) of the Poisson trains' mean.
    Dc,
    /// An independent Poisson train per neuron (`poisson_rate_hz`, `poisson_weight_mv`).
    Poisson,
}

impl From<BackgroundArg> for eligo_engine::network::microcircuit::Background {
    fn from(b: BackgroundArg) -> Self {
        match b {
            BackgroundArg::Dc => Self::Dc,
            BackgroundArg::Poisson => Self::Poisson,
        }
    }
}

/// The mean over neurons with at least 3 spikes of `std(ISI) / mean(ISI)` (population std),
/// per population, with the number of such neurons; `spikes` are `(step, global id)`, and
/// `ranges` each population's global ids.
fn cv_isi(spikes: &[(u64, u32)], ranges: &[std::ops::Range<u32>]) -> Vec<(f64, usize)> {
    let n: u32 = ranges.iter().map(|r| r.end).max().unwrap_or(0);
    let mut times: Vec<Vec<u64>> = vec![Vec::new(); n as usize];
    for &(t, id) in spikes {
        times[id as usize].push(t);
    }
    ranges
        .iter()
        .map(|r| {
            let cvs: Vec<f64> = times[r.start as usize..r.end as usize]
                .iter()
                .filter(|t| t.len() >= 3)
                .map(|t| {
                    let isi: Vec<f64> = t.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
                    let m = isi.iter().sum::<f64>() / isi.len() as f64;
                    let v = isi.iter().map(|x| (x - m).powi(2)).sum::<f64>() / isi.len() as f64;
                    v.sqrt() / m
                })
                .collect();
            let mean = if cvs.is_empty() {
                f64::NAN
            } else {
                cvs.iter().sum::<f64>() / cvs.len() as f64
            };
            (mean, cvs.len())
        })
        .collect()
}

/// The writer of `--spikes-out`: a `.npy` file in an existing folder.
fn spike_writer(path: &std::path::Path) -> Result<eligo_engine::io::events::npy::Writer> {
    use eligo_engine::error::Error;
    if path.extension().is_none_or(|x| x != "npy") {
        return Err(Error::input(
            "--spikes-out",
            path.display(),
            "must be a .npy file name",
            "e.g. --spikes-out spikes.npy",
        )
        .into());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::input(
            "--spikes-out",
            path.display(),
            "its folder must exist",
            format!("create {} first", dir.display()),
        )
        .into());
    }
    Ok(eligo_engine::io::events::npy::Writer::create(path, false)?)
}

/// `n` steps of `sim`, exchanging spikes with the other ranks in an MPI job.
fn run_steps(
    sim: &mut Simulation,
    n: u64,
    world: Option<&mut super::mpi::World>,
    times: &mut RankTimes,
) -> eligo_engine::error::Result<()> {
    match world {
        Some(w) => sim.run_exchanging(n, None, w, times),
        None => sim.run(n, None),
    }
}

/// `bench microcircuit`: build, warm up, then time `time_ms` of model time; rates per
/// population over the timed part.
fn microcircuit(a: &MicroArgs, mut world: Option<&mut super::mpi::World>) -> Result<()> {
    use eligo_engine::network::microcircuit as mc;
    let steps_of =
        |ms: f64, flag: &str| eligo_engine::neuron::steps_of(ms, 0.1).map_err(|e| e.under(flag));
    let (steps, warm) = (
        steps_of(a.time_ms, "--time-ms")?,
        steps_of(a.warmup_ms, "--warmup-ms")?,
    );
    if steps == 0 {
        return Err(eligo_engine::error::Error::input(
            "--time-ms",
            a.time_ms,
            "must be at least one step (0.1 ms)",
            "try --time-ms 1000",
        )
        .into());
    }
    let threads = super::threads::resolve(a.threads, false)?;
    let (rank, ranks) = world.as_ref().map_or((0, 1), |w| (w.rank(), w.size()));
    // the file is opened before the build, so that a bad path fails at once
    let mut spikes_out = match &a.spikes_out {
        Some(p) if rank == 0 => Some(spike_writer(p)?),
        _ => None,
    };
    let record = a.cv_isi || a.spikes_out.is_some();
    let t = Instant::now();
    let spec = mc::microcircuit(a.scale, a.seed, a.background.into())?;
    let estimate = spec.estimate(threads)?;
    // over several ranks each builds only the synapses onto its own neurons
    let net = spec.build_part_threads(rank, ranks, threads)?;
    let mut opts = SimOptions {
        threads,
        ..Default::default()
    };
    if record && rank == 0 {
        // rank 0 sees every spike
        opts.record.spikes = (0..net.populations.len()).collect();
    }
    let mut sim = Simulation::new_rank(net, &opts, rank, ranks)?;
    if let Some(w) = world.as_deref_mut() {
        // every rank's part is built before the clock starts
        w.sum(&[1]);
    }
    let build_s = t.elapsed().as_secs_f64();
    let mut times = RankTimes::default();
    run_steps(&mut sim, warm, world.as_deref_mut(), &mut times)?;
    drop(sim.take_spikes());
    let (events0, spikes0) = (sim.counters().events, sim.counters().spikes.clone());
    let mut times = RankTimes::default();
    if let Some(w) = world.as_deref_mut() {
        (w.wait_s, w.move_s) = (0.0, 0.0);
    }
    let (t, cpu0) = (Instant::now(), super::memory::cpu_seconds());
    run_steps(&mut sim, steps, world.as_deref_mut(), &mut times)?;
    let sim_s = t.elapsed().as_secs_f64();
    let sim_cpu_s = cpu0.zip(super::memory::cpu_seconds()).map(|(a, b)| b - a);
    let mut c = sim.counters();
    c.events -= events0;
    for (s, s0) in c.spikes.iter_mut().zip(&spikes0) {
        *s -= s0;
    }
    let mut per_rank = serde_json::Value::Null;
    let mut synapses = sim.network().n_synapses() as u64;
    if let Some(w) = world {
        let (rows, _) = super::simulate::gather_ranks(&sim, w, &times, build_s, &mut c);
        let rss = w.gather_f64(&[super::memory::peak_rss_bytes().unwrap_or(0) as f64]);
        per_rank = rows;
        if let Some(r) = per_rank.as_array_mut() {
            synapses = r.iter().map(|x| x["synapses"].as_u64().unwrap_or(0)).sum();
            for (x, m) in r.iter_mut().zip(rss) {
                x["peak_rss_bytes"] = json!(m as u64);
                x["sim_s"] = json!(sim_s);
            }
        }
        if rank > 0 {
            return Ok(());
        }
    }
    let net = sim.network();
    let mut rates = serde_json::Map::new();
    let mut nest = serde_json::Map::new();
    for (k, p) in net.populations.iter().enumerate() {
        let n = c.spikes[k] as f64;
        rates.insert(
            p.name.clone(),
            json!(n / f64::from(p.size) / (a.time_ms * 1e-3)),
        );
        nest.insert(p.name.clone(), json!(mc::NEST_RATES_HZ[k]));
    }
    let spikes: u64 = c.spikes.iter().sum::<u64>();
    let cv = a.cv_isi.then(|| {
        let ranges: Vec<_> = net
            .populations
            .iter()
            .map(|p| p.start..p.start + p.size)
            .collect();
        let mut m = serde_json::Map::new();
        for (p, (cv, n)) in net.populations.iter().zip(cv_isi(sim.spikes(), &ranges)) {
            m.insert(p.name.clone(), json!({"mean": cv, "neurons": n}));
        }
        m
    });
    if let Some(w) = &mut spikes_out {
        let dt_us = 0.1 * 1000.0;
        for &(t, g) in sim.spikes() {
            w.push((t as f64 * dt_us).round() as u64, g, 0)?;
        }
    }
    if let Some(w) = spikes_out {
        w.finish()?;
    }
    let line = json!({
        "cv_isi": cv,
        "spikes_out": a.spikes_out.as_ref().map(|p| p.display().to_string()),
        "simulator": "eligo",
        "model": "microcircuit",
        "background": match a.background {
            BackgroundArg::Dc => "dc",
            BackgroundArg::Poisson => "poisson",
        },
        "scale": a.scale,
        "neurons": net.n_neurons(),
        "synapses": synapses,
        "spikes": spikes,
        "rates_hz": rates,
        "nest_poisson_full_scale_rates_hz": nest,
        "build_s": build_s,
        "sim_s": sim_s,
        "sim_cpu_s": sim_cpu_s,
        "real_time_factor": sim_s / (a.time_ms * 1e-3),
        "events_per_s": c.events as f64 / sim_s,
        "peak_rss_bytes": super::memory::peak_rss_bytes(),
        "estimated_bytes": estimate.total_bytes,
        "threads": threads,
        "ranks": ranks,
        "per_rank": per_rank,
        "time_ms": a.time_ms,
        "warmup_ms": a.warmup_ms,
        "seed": a.seed,
    });
    println!("{line}");
    Ok(())
}

/// Run a benchmark.
pub fn run(b: Bench, world: Option<&mut super::mpi::World>) -> Result<()> {
    match b {
        Bench::Data(a) => data(&a),
        Bench::Microcircuit(a) => microcircuit(&a, world),
        Bench::Cuba(a) => {
            let steps =
                eligo_engine::neuron::steps_of(a.time_ms, 0.1).map_err(|e| e.under("--time-ms"))?;
            let t = Instant::now();
            let spec = cuba_k(a.neurons, a.synapses_per_neuron, a.seed);
            let threads = super::threads::resolve(a.threads, false)?;
            let estimate = spec.estimate(threads)?;
            let net = spec.build_threads(threads)?;
            let network_s = t.elapsed().as_secs_f64();
            let opts = SimOptions {
                threads,
                ..Default::default()
            };
            let mut sim = Simulation::new(net, &opts)?;
            let build_s = t.elapsed().as_secs_f64();
            let (t, cpu0) = (Instant::now(), super::memory::cpu_seconds());
            sim.run(steps, None)?;
            let sim_s = t.elapsed().as_secs_f64();
            let sim_cpu_s = cpu0.zip(super::memory::cpu_seconds()).map(|(a, b)| b - a);
            let c = sim.counters();
            let spikes: u64 = c.spikes.iter().sum();
            let line = json!({
                "simulator": "eligo",
                "neurons": a.neurons,
                "synapses": sim.network().n_synapses(),
                "spikes": spikes,
                "rate_hz": spikes as f64 / f64::from(a.neurons) / (a.time_ms * 1e-3),
                "synapses_per_neuron": a.synapses_per_neuron,
                "build_s": build_s,
                "network_build_s": network_s,
                "sim_s": sim_s,
                "sim_cpu_s": sim_cpu_s,
                "events_per_s": c.events as f64 / sim_s,
                "updates_per_s": f64::from(a.neurons) * steps as f64 / sim_s,
                "peak_rss_bytes": super::memory::peak_rss_bytes(),
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

#[cfg(test)]
mod tests {
    #[test]
    fn cv_isi_by_hand() {
        // neuron 0: ISIs 10, 20 -> mean 15, std 5, CV 1/3; neuron 1: 2 spikes, left out;
        // neuron 2 (second population): ISIs 4, 4, 4 -> CV 0
        let spikes = [
            (0, 0),
            (3, 2),
            (5, 1),
            (7, 2),
            (9, 1),
            (10, 0),
            (11, 2),
            (15, 2),
            (30, 0),
        ];
        let got = super::cv_isi(&spikes, &[0..2, 2..3]);
        assert!(
            (got[0].0 - 1.0 / 3.0).abs() < 1e-12 && got[0].1 == 1,
            "{got:?}"
        );
        assert_eq!(got[1], (0.0, 1));
    }
}
