//! `eligo simulate NET.toml [--out DIR]`: run a network description, write the recorded spikes
//! (`spikes_<population>.npy`), state traces (`state_<population>_<var>.npy`) and
//! `summary.json` into DIR; with `--rule`, also the learned weights (`weights.npz`, the layout of
//! `eligo train`'s) and, for `[[recorder]] kind = "weights"`, the weights of chosen projections
//! every N ms (`weights_<projection>.npy`); with `--plot`, `raster.png`, `rates.png` and, for
//! state recorders, `voltage.png`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use eligo_engine::io::events::npy::Writer;
use eligo_engine::io::npy::F32RowsWriter;
use eligo_engine::io::{Staged, commit_all, write_staged};
use eligo_engine::network::Network;
use eligo_engine::prelude::*;
use eligo_engine::sim::ranks::assemble;
use eligo_engine::sim::{RankTimes, WeightProbe};
use serde_json::json;

use super::interrupt;
use super::plots::{Activity, Traces};
use super::progress::Progress;

/// Most steps per piece of a run: after each piece, the recorded spikes and state samples go
/// to their files, so memory does not grow with the length of the run (1 s of simulated time at
/// 0.1 ms).
const CHUNK_STEPS: u64 = 10_000;

/// Steps of the first piece, before the pace of the network is known.
const FIRST_PIECE_STEPS: u64 = 100;

/// Wall time of a piece of the run: SIGINT/SIGTERM is looked at between pieces, so a run stops
/// within about this. Each piece restarts the worker threads (tens of µs), well under 1 % of
/// this; fixed chunks of 1000 steps cost `bench/nets/ei_48k.toml` on 2 threads ~5 %.
const POLL_SECONDS: f64 = 0.1;

/// The next piece of a run: as many steps as take about [`POLL_SECONDS`] at the pace of the
/// last piece (`n` steps in `took`), at most [`CHUNK_STEPS`]. Results do not depend on how a
/// run is cut: the simulation carries its whole state from one piece to the next.
fn next_piece(n: u64, took: Duration) -> u64 {
    let per_step = took.as_secs_f64() / n as f64;
    if per_step <= 0.0 {
        return CHUNK_STEPS;
    }
    ((POLL_SECONDS / per_step) as u64).clamp(1, CHUNK_STEPS)
}

/// One streaming `.npy` writer per recorded population.
struct SpikeWriters {
    /// Per population: its writer, if recorded.
    of_pop: Vec<Option<Writer>>,
    /// First global id of each population.
    starts: Vec<u32>,
}

impl SpikeWriters {
    fn create(sim: &Simulation, pops: &[usize], out: &std::path::Path) -> Result<Self> {
        let net = sim.network();
        let mut of_pop: Vec<Option<Writer>> = net.populations.iter().map(|_| None).collect();
        for &p in pops {
            let name = &net.populations[p].name;
            of_pop[p] = Some(Writer::create(
                &out.join(format!("spikes_{name}.npy")),
                false,
            )?);
        }
        let starts = net.populations.iter().map(|p| p.start).collect();
        Ok(SpikeWriters { of_pop, starts })
    }

    /// Append `spikes` (`(step, global id)`), times in µs.
    fn write(&mut self, spikes: &[(u64, u32)], dt_us: f64) -> Result<()> {
        for &(t, g) in spikes {
            let p = self.starts.partition_point(|&s| s <= g) - 1;
            if let Some(w) = &mut self.of_pop[p] {
                w.push((t as f64 * dt_us).round() as u64, g - self.starts[p], 0)?;
            }
        }
        Ok(())
    }

    /// Complete every file (header with the count, flushed, synced), still under its
    /// temporary name, onto `staged`.
    fn seal(self, staged: &mut Vec<Staged>) -> Result<()> {
        for w in self.of_pop.into_iter().flatten() {
            staged.push(w.seal()?.0);
        }
        Ok(())
    }
}

/// One streaming `.npy` writer per weight recorder: `samples x synapses`, a row after every
/// `every_steps` steps. The run ends its pieces on sample steps ([`WeightWriters::until_next`]),
/// so the rows do not depend on how it is cut; the row of the last step is taken after the
/// run's end (a gradient rule's optimizer step included), so it equals `weights.npz`.
struct WeightWriters {
    of_probe: Vec<(WeightProbe, F32RowsWriter)>,
    steps: u64,
}

impl WeightWriters {
    fn create(
        sim: &Simulation,
        probes: &[WeightProbe],
        steps: u64,
        out: &std::path::Path,
    ) -> Result<Self> {
        let of_probe = probes
            .iter()
            .map(|w| {
                let p = &sim.network().projections[w.projection];
                let file = out.join(format!("weights_{}.npy", p.name));
                let rows = (steps / w.every_steps) as usize;
                Ok((w.clone(), F32RowsWriter::create(&file, rows, p.len())?))
            })
            .collect::<Result<_>>()?;
        Ok(WeightWriters { of_probe, steps })
    }

    /// Steps from `done` to the next sample step before the end of the run (`u64::MAX` if
    /// none): the next piece of the run is at most this long.
    fn until_next(&self, done: u64) -> u64 {
        self.of_probe
            .iter()
            .map(|(w, _)| w.every_steps - done % w.every_steps)
            .filter(|&n| done + n < self.steps)
            .min()
            .unwrap_or(u64::MAX)
    }

    /// `done` steps are simulated: append a row to every recorder whose sample step it is.
    fn sample(&mut self, sim: &Simulation, done: u64) -> Result<()> {
        for (w, file) in &mut self.of_probe {
            if done > 0 && done.is_multiple_of(w.every_steps) {
                file.write(&sim.network().projections[w.projection].weights)?;
            }
        }
        Ok(())
    }

    /// Complete every file (see [`SpikeWriters::seal`]).
    fn seal(self, staged: &mut Vec<Staged>) -> Result<()> {
        for (_, w) in self.of_probe {
            staged.push(w.seal()?);
        }
        Ok(())
    }
}

/// Bytes of `weights.npz` if the run writes it (a rule is attached), else 0.
fn learned_weights_bytes(sim: &Simulation) -> u64 {
    match sim.rule() {
        Some(_) => eligo_engine::io::weights::saved_bytes(sim.network()),
        None => 0,
    }
}

/// With a rule attached: the weights at the end of the run (after a gradient rule's optimizer
/// step) and the readout biases, staged as `weights.npz` in `out` — the layout `eligo train`
/// writes, which `weights::load` (e.g. `eligo grad --weights`) reads back. Without a rule the
/// weights are the drawn ones and nothing is written. `net`: the network as run (over several
/// ranks, every rank's synapses assembled).
fn learned_weights(
    sim: &Simulation,
    net: &Network,
    out: &std::path::Path,
) -> Result<Option<Staged>> {
    if sim.rule().is_none() {
        return Ok(None);
    }
    let biases = eligo_engine::io::weights::default_biases(net);
    Ok(Some(eligo_engine::io::weights::save_staged(
        &out.join("weights.npz"),
        net,
        &biases,
    )?))
}

/// Room `--plot`'s PNGs take on disk at most: three figures, each at most 1200 x 1240 RGB
/// pixels (4.5 MB uncompressed; they compress to a fraction of that).
const PLOT_BYTES: u64 = 3 * (5 << 20);

/// What `--plot` draws, filled piece by piece while the run goes: the spikes of the recorded
/// populations and the state traces of the first few neurons of the first few recorders.
struct Plots {
    activity: Activity,
    traces: Traces,
    /// Per population: its track in `activity`, if its spikes are recorded.
    track: Vec<Option<usize>>,
    starts: Vec<u32>,
}

impl Plots {
    /// `spiking`: the populations whose spikes the simulation records.
    fn new(sim: &Simulation, spiking: &[usize], steps: u64) -> Self {
        let net = sim.network();
        let mut activity = Activity::new(net.dt_ms, steps, Vec::new());
        let mut track = vec![None; net.populations.len()];
        for &p in spiking {
            let pop = &net.populations[p];
            track[p] = Some(activity.add(&pop.name, pop.size, Vec::new()));
        }
        let mut traces = Traces::new(net.dt_ms, steps, Vec::new());
        for probe in sim.probes() {
            let pop = &net.populations[probe.population];
            let unit = pop
                .model
                .state_variables()
                .iter()
                .find(|v| v.name == probe.var)
                .map_or("", |v| v.unit);
            traces.add(&pop.name, &probe.var, unit, &probe.neurons);
        }
        let starts = net.populations.iter().map(|p| p.start).collect();
        Plots {
            activity,
            traces,
            track,
            starts,
        }
    }

    /// A piece of the run: its recorded spikes (`(step, global id)`) and state samples.
    fn push(&mut self, spikes: &[(u64, u32)], samples: &[Vec<f32>]) {
        for &(t, g) in spikes {
            let p = self.starts.partition_point(|&s| s <= g) - 1;
            if let Some(k) = self.track[p] {
                self.activity.push(k, t, g - self.starts[p]);
            }
        }
        for (k, rows) in samples.iter().enumerate() {
            self.traces.push(k, rows);
        }
    }

    /// The PNGs, staged; a figure that cannot be drawn is skipped with a warning (the data
    /// files of the run do not depend on it).
    fn stage(&self, out: &std::path::Path, title: &str, staged: &mut Vec<Staged>) {
        let mut figures = vec![
            ("raster", self.activity.raster_png(out, title)),
            ("rates", self.activity.rates_png(out, title)),
        ];
        if !self.traces.is_empty() {
            figures.push(("voltage", self.traces.png(out, title)));
        }
        for (name, result) in figures {
            match result {
                Ok(s) => staged.push(s),
                Err(e) => {
                    super::stderr::line(format_args!("warning: {name}.png not written: {e:#}"))
                }
            }
        }
    }
}

/// Arguments of `simulate`.
#[derive(clap::Args)]
pub struct Args {
    /// Network description (TOML, or a NIR file `.nir`: docs/nir.md); see data/example_net.toml.
    pub config: PathBuf,
    /// Time step (ms) of a NIR description (.nir); default 1 ms.
    #[arg(long)]
    pub dt_ms: Option<f64>,
    /// Output directory (created if missing). Default: out/CONFIG_NAME.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (at most the machine's cores); results are identical for any count.
    /// Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Override the description's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// No progress bar and no summary on stdout.
    #[arg(long)]
    pub quiet: bool,
    /// Progress on stderr, in model ms: a bar on a terminal, else a line every 5 s (auto).
    #[arg(long, value_enum, default_value_t)]
    pub progress: super::progress::Mode,
    /// Also draw raster.png (spike raster), rates.png (population rates, binned) and, for state
    /// recorders, voltage.png (traces of a few neurons). Without a spike recorder, every spiking
    /// population is recorded for the plots (no spikes_*.npy is written for them).
    #[arg(long)]
    pub plot: bool,
    #[command(flatten)]
    pub rule: super::rule::RuleArgs,
    #[command(flatten, next_help_heading = "Event replay")]
    pub replay: super::events::ReplayArgs,
}

/// What rank 0 broadcasts before each piece of a run over several ranks, besides a step count:
/// the run is complete (counters and timings are gathered next).
const PIECE_DONE: u64 = 0;
/// ... or stopped by a signal (nothing more happens).
const PIECE_STOP: u64 = u64::MAX;

/// Run `simulate`; `world`: the MPI job this process is a rank of (docs/distributed.md).
pub fn run(a: Args, mut world: Option<&mut super::mpi::World>) -> Result<()> {
    let file = a.config.clone();
    let mut cfg = super::load_description(&a.config, a.dt_ms)?;
    if let Some(s) = a.seed {
        cfg.network.seed = s;
    }
    a.replay.prepare(&mut cfg)?;
    let (rank, ranks) = world.as_ref().map_or((0, 1), |w| (w.rank(), w.size()));
    if ranks > 1 && !cfg.weights.is_empty() {
        return Err(eligo_engine::Error::input(
            "recorder",
            "kind = \"weights\"",
            format!("weight recorders are not supported yet over several ranks ({ranks})"),
            "run the network on one rank (threads give the same results)",
        )
        .in_file(&file)
        .into());
    }
    let threads = super::threads::resolve(a.threads, a.quiet)?;
    let t_build = Instant::now();
    let net = cfg
        .network
        .build_part_threads(rank, ranks, threads)
        .map_err(|e| e.in_file(&file))?;
    let mut record = cfg.record.clone();
    if rank > 0 {
        // rank 0 records (every rank sees every spike) and writes
        record.spikes.clear();
    } else if a.plot && record.spikes.is_empty() {
        // the plots need spikes: record every population that spikes, for the plots only
        record.spikes = (0..net.populations.len())
            .filter(|&p| !matches!(net.populations[p].model, ModelSpec::Readout(_)))
            .collect();
        if !a.quiet {
            super::stderr::line(format_args!(
                "note: {} has no [[recorder]] kind = \"spikes\": --plot records every spiking \
                 population for the plots only (no spikes_*.npy is written)",
                file.display()
            ));
        }
    }
    let opts = SimOptions { threads, record };
    let estimate = cfg.estimate(opts.threads).map_err(|e| e.in_file(&file))?;
    let mut sim = Simulation::new_rank(net, &opts, rank, ranks).map_err(|e| e.in_file(&file))?;
    let replay = a.replay.attach(&mut sim, &cfg, a.quiet)?;
    let mut optimizers = eligo_engine::train::rules::attach(
        &a.rule.request(cfg.steps)?,
        &mut sim,
        cfg.steps,
        &cfg.rules,
        Some(&file),
    )?;
    // the weights before the run, for the rules' summary: only a rule changes them (no copy
    // of every weight without one)
    let initial: Vec<Vec<f32>> = if sim.rule().is_some() {
        let ps = &sim.network().projections;
        ps.iter().map(|p| p.weights.clone()).collect()
    } else {
        Vec::new()
    };
    let build_s = t_build.elapsed().as_secs_f64();
    let mut times = RankTimes::default();
    // over several ranks, a rule's files need every rank's synapses (assembled on rank 0)
    let assembling = ranks > 1 && sim.rule().is_some();
    let mut initial_net = None;
    if let Some(w) = world.as_deref_mut() {
        if ranks > 1 {
            sim.check_over_ranks().map_err(|e| e.in_file(&file))?;
        }
        // every rank has its part ready before rank 0 creates anything: a rank that failed
        // so far has ended the job (its error, then MPI_Abort), and nothing was written
        w.sum(&[1]);
        if assembling {
            initial_net = assemble(sim.network(), w)?;
        }
    }
    if rank > 0 {
        // a signal stops the run on rank 0, which tells the others
        interrupt::install();
        let world = world.expect("rank > 0 only in an MPI job");
        return follow(
            &mut sim,
            world,
            &mut times,
            build_s,
            (cfg.steps, assembling),
        );
    }
    let initial: Vec<Vec<f32>> = match &initial_net {
        Some(net) => net.projections.iter().map(|p| p.weights.clone()).collect(),
        None => initial,
    };

    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(file.file_stem().unwrap_or_default()));
    // nothing is written before this point, so until here a signal ends the process at once;
    // from here on it stops the run between pieces and the outputs are cleaned up
    interrupt::install();
    // declared before the writers, so dropped after them: on an error or a signal the writers
    // remove their temporary files, then this the directories the run created
    let out_bytes = cfg
        .output_bytes()
        .saturating_add(learned_weights_bytes(&sim))
        .saturating_add(if a.plot { PLOT_BYTES } else { 0 });
    eligo_engine::limits::check_disk("--out", &out, out_bytes)?;
    let dirs = super::outdir::OutDir::create(&out)?;

    // every output is written under a temporary name and renamed into place only when all of
    // them are complete (summary.json last)
    // recorded spikes stream to `spikes_<population>.npy`
    let dt_us = sim.network().dt_ms * 1000.0;
    let mut writers = SpikeWriters::create(&sim, &cfg.record.spikes, &out)?;
    // state traces likewise: steps x neurons, rows appended after each piece of the run
    let mut states: Vec<F32RowsWriter> = sim
        .probes()
        .iter()
        .map(|probe| {
            let name = &sim.network().populations[probe.population].name;
            F32RowsWriter::create(
                &out.join(format!("state_{name}_{}.npy", probe.var)),
                cfg.steps as usize,
                probe.neurons.len(),
            )
        })
        .collect::<eligo_engine::error::Result<_>>()?;
    let mut weight_files = WeightWriters::create(&sim, &cfg.weights, cfg.steps, &out)?;
    let mut plots = a
        .plot
        .then(|| Plots::new(&sim, &opts.record.spikes, cfg.steps));
    let progress = Progress::new(
        cfg.steps,
        sim.network().dt_ms,
        "simulating",
        a.progress.resolve(a.quiet),
    );
    let t_sim = Instant::now();
    let stopped = |done: u64| {
        format!(
            "stopped at step {done} of {}; no output written to {} (temporary files removed)",
            cfg.steps,
            out.display()
        )
    };
    sim.begin_sequence()?;
    let mut done = 0;
    let mut piece = FIRST_PIECE_STEPS;
    while done < cfg.steps {
        if let Err(e) = interrupt::check(|| stopped(done)) {
            if let Some(w) = world.as_deref_mut() {
                w.broadcast(&mut [PIECE_STOP]);
            }
            return Err(e);
        }
        let n = piece
            .min(cfg.steps - done)
            .min(weight_files.until_next(done));
        let t_piece = Instant::now();
        match world.as_deref_mut() {
            Some(w) => {
                w.broadcast(&mut [n]);
                sim.run_exchanging(n, Some(&|s| progress.set(s)), w, &mut times)?;
            }
            None => sim.run(n, Some(&|s| progress.set(s)))?,
        }
        piece = next_piece(n, t_piece.elapsed());
        done += n;
        let spikes = sim.take_spikes();
        writers.write(&spikes, dt_us)?;
        let samples = sim.take_probe_samples();
        for (w, rows) in states.iter_mut().zip(&samples) {
            w.write(rows)?;
        }
        if let Some(p) = &mut plots {
            p.push(&spikes, &samples);
        }
        if done < cfg.steps {
            weight_files.sample(&sim, done)?;
        }
    }
    if let Some(w) = world.as_deref_mut() {
        w.broadcast(&mut [PIECE_DONE]);
    }
    sim.end_sequence(cfg.steps)?;
    sim.end_batch_of_one(cfg.steps)?;
    replay.finish()?;
    for (k, opt) in optimizers.iter_mut().enumerate() {
        sim.apply_rule_gradients(k, opt)?;
    }
    let full = match world.as_deref_mut() {
        Some(w) if assembling => assemble(sim.network(), w)?,
        _ => None,
    };
    weight_files.sample(&sim, cfg.steps)?;
    let sim_s = t_sim.elapsed().as_secs_f64();
    progress.finish();

    let net = full.as_ref().unwrap_or(sim.network());
    let seconds = cfg.steps as f64 * net.dt_ms * 1e-3;
    let mut staged = Vec::new();
    writers.seal(&mut staged)?;
    for w in states {
        staged.push(w.seal()?);
    }
    weight_files.seal(&mut staged)?;
    staged.extend(learned_weights(&sim, net, &out)?);
    let mut c = sim.counters();
    let mut per_rank = serde_json::Value::Null;
    let mut changes = None;
    if let Some(w) = world {
        let (p, ch) = gather_ranks(&sim, w, &times, build_s, &mut c);
        (per_rank, changes) = (p, Some(ch));
    }
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
    // every spiking population's mean rate, whether recorded or not (the counters count all)
    let rates: Vec<(String, f64)> = net
        .populations
        .iter()
        .zip(&c.spikes)
        .filter(|(p, _)| !matches!(p.model, ModelSpec::Readout(_)))
        .map(|(p, &n)| (p.name.clone(), n as f64 / f64::from(p.size) / seconds))
        .collect();
    let (mut rule_first, mut rules) = super::rule::summary(&sim, net, &initial);
    if let Some(changes) = changes {
        // every rank's changes
        for (k, n) in changes.into_iter().enumerate() {
            rules[k]["changes_applied"] = json!(n);
            if k == 0 {
                rule_first["changes_applied"] = json!(n);
            }
        }
    }
    // every rank's synapses, and the bytes the simulation holds for them (arrays and
    // delivery tables; the build's temporary arrays are gone by then)
    let per_rank_sum = |key: &str, mine: u64| {
        per_rank
            .as_array()
            .map_or(mine, |r| r.iter().filter_map(|x| x[key].as_u64()).sum())
    };
    let synapses = per_rank_sum("synapses", net.n_synapses() as u64);
    let synapse_bytes = per_rank_sum("synapse_bytes", sim.synapse_bytes());
    let summary = json!({
        "config": file.display().to_string(),
        "eligo_version": env!("CARGO_PKG_VERSION"),
        "seed": net.seed,
        "dt_ms": net.dt_ms,
        "steps": c.steps,
        "simulated_ms": c.steps as f64 * net.dt_ms,
        "threads": opts.threads,
        "neurons": net.n_neurons(),
        "synapses": synapses,
        "synapse_bytes": synapse_bytes,
        "bytes_per_synapse": synapse_bytes as f64 / synapses.max(1) as f64,
        "ranks": ranks,
        "per_rank": per_rank,
        "synaptic_events": c.events,
        "estimated_bytes": estimate.total_bytes,
        "memory_estimate": estimate,
        "build_s": build_s,
        "wall_s": sim_s,
        "populations": pops,
        "rates_hz": super::plots::rates_json(&rates),
        "rule": rule_first,
        "rules": rules,
    });
    if let Some(p) = &plots {
        let name = file.file_stem().unwrap_or_default().to_string_lossy();
        p.stage(&out, &name, &mut staged);
    }
    let text = serde_json::to_string_pretty(&summary)?;
    // the summary marks a complete set: renamed last
    staged.push(write_staged(&out.join("summary.json"), |w| {
        use std::io::Write;
        writeln!(w, "{text}")
    })?);
    interrupt::check(|| stopped(done))?;
    commit_all(staged)?;
    dirs.keep();
    if !a.quiet {
        println!("{text}");
        super::stderr::line(format_args!("wrote {}", out.display()));
    }
    Ok(())
}

/// A rank other than 0 in a run over several ranks: run the pieces rank 0 announces, until it
/// says the run is done (then send it the counters and timings) or stopped.
///
/// `(steps, assembling)`: the run's steps, and whether rank 0 assembles the network (a rule's
/// weights) at the end.
fn follow(
    sim: &mut Simulation,
    world: &mut super::mpi::World,
    times: &mut RankTimes,
    build_s: f64,
    (steps, assembling): (u64, bool),
) -> Result<()> {
    sim.begin_sequence()?;
    loop {
        let mut n = [0u64];
        world.broadcast(&mut n);
        match n[0] {
            PIECE_STOP => return Ok(()),
            PIECE_DONE => break,
            n => sim.run_exchanging(n, None, world, times)?,
        }
    }
    sim.end_sequence(steps)?;
    sim.end_batch_of_one(steps)?;
    if assembling {
        assemble(sim.network(), world)?;
    }
    let mut c = sim.counters();
    gather_ranks(sim, world, times, build_s, &mut c);
    Ok(())
}

/// Every rank's counters summed into `c`, and each rank's timings and share of the network
/// (as JSON, for rank 0's `summary.json`). Called by every rank at the end of the run.
pub(super) fn gather_ranks(
    sim: &Simulation,
    world: &mut super::mpi::World,
    times: &RankTimes,
    build_s: f64,
    c: &mut eligo_engine::sim::Counters,
) -> (serde_json::Value, Vec<u64>) {
    let mut mine = vec![c.events];
    mine.extend_from_slice(&c.spikes);
    mine.extend(sim.rules().map(|r| r.changes_applied()));
    let all = world.sum(&mine);
    c.events = all[0];
    c.spikes = all[1..1 + c.spikes.len()].to_vec();
    let changes = all[1 + c.spikes.len()..].to_vec();
    let row = [
        build_s,
        times.update_s,
        times.deliver_s,
        times.exchange_s,
        times.epochs as f64,
        times.words_sent as f64,
        sim.network().n_synapses() as f64,
        world.wait_s,
        world.move_s,
        sim.synapse_bytes() as f64,
    ];
    let rows = world.gather_f64(&row);
    let per_rank: Vec<_> = rows
        .chunks(row.len())
        .enumerate()
        .map(|(r, x)| {
            json!({
                "rank": r, "build_s": x[0], "update_s": x[1], "deliver_s": x[2],
                "exchange_s": x[3], "wait_s": x[7], "move_s": x[8], "epochs": x[4] as u64,
                "bytes_sent": x[5] as u64 * 4, "synapses": x[6] as u64,
                "synapse_bytes": x[9] as u64,
            })
        })
        .collect();
    (serde_json::Value::Array(per_rank), changes)
}
