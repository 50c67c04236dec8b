//! `eligo events info FILE` and `eligo events convert IN OUT`, and the replay flags of
//! `simulate` (`--input-events`, `--clamp-events`; see [`ReplayArgs`]).
//!
//! The formats, the address map, the time map and the binning policy are described in
//! docs/events.md and in the engine's `io::events` module.

use std::path::{Path, PathBuf};

use anyhow::Result;
use eligo_engine::io::config::SimConfig;
use eligo_engine::io::events::replay::{self, EventFeed, FeedStatus, ReplayOptions};
use eligo_engine::io::events::{self, BinPolicy, Format, Requested, dt_us};
use eligo_engine::neuron::ModelSpec;
use eligo_engine::prelude::*;

/// `eligo events ...`
#[derive(clap::Subcommand)]
pub enum EventsCmd {
    /// Describe an event file: format, count, time span, address ranges, rate.
    Info(InfoArgs),
    /// Convert between event formats (writes Eligo .npy or AEDAT 2.0).
    Convert(ConvertArgs),
}

/// How to read an event file.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReadArgs {
    /// Input format (default: detected from the magic bytes or extension):
    /// npy, tonic, aedat, evt2, nmnist, shd.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// AEDAT 2.0 address layout: raw (32-bit address, default) or dvs128 (x, y, p as jAER
    /// reads them: x mirrored, bit 0 = 1 is OFF, special events skipped).
    #[arg(long, value_name = "CHIP", default_value = "raw")]
    pub aedat_chip: String,
    /// SHD HDF5: which sample to read (default 0).
    #[arg(long, value_name = "K")]
    pub sample: Option<u64>,
    /// Sort the events by time first (loads the whole file into memory); without it, time
    /// going backwards is an error naming the event.
    #[arg(long)]
    pub sort: bool,
}

/// How events map to neurons and times to the simulation's clock.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct MapArgs {
    /// Sensor width (x/y/p streams: index = p*W*H + y*W + x), overriding the file's.
    #[arg(long, value_name = "W")]
    pub width: Option<u32>,
    /// Sensor height, overriding the file's.
    #[arg(long, value_name = "H")]
    pub height: Option<u32>,
    /// Spatial pooling: N or NxM (x / N, y / M).
    #[arg(long, value_name = "N[xM]")]
    pub pool: Option<String>,
    /// Both polarities drive the same neuron.
    #[arg(long)]
    pub merge_polarity: bool,
    /// 1-D addresses: text file with one neuron index per line (line k for address k).
    #[arg(long, value_name = "FILE")]
    pub map_table: Option<PathBuf>,
    /// Time origin in µs, or `first` (the first event's time). Earlier events are skipped.
    #[arg(long, value_name = "US|first")]
    pub t_start_us: Option<String>,
    /// Multiply times by N or N/D (integer arithmetic), e.g. 1000 for a file in ms.
    #[arg(long, value_name = "N[/D]")]
    pub time_scale: Option<String>,
}

impl MapArgs {
    /// The engine's options from these flags and `read`'s.
    fn request(&self, read: &ReadArgs) -> Requested {
        Requested {
            format: read.format.clone(),
            aedat_chip: Some(read.aedat_chip.clone()),
            sample: read.sample,
            sort: read.sort,
            width: self.width,
            height: self.height,
            pool: self.pool.clone(),
            merge_polarity: self.merge_polarity,
            map_table: self.map_table.clone(),
            t_start_us: self.t_start_us.clone(),
            time_scale: self.time_scale.clone(),
        }
    }

    fn options(&self, read: &ReadArgs) -> Result<ReplayOptions> {
        Ok(self.request(read).replay_options()?)
    }
}

/// Arguments of `events info`.
#[derive(clap::Args)]
pub struct InfoArgs {
    /// The event file.
    pub file: PathBuf,
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    map: MapArgs,
    /// Also bin to this time step (ms): spikes per step after the map, and how many events
    /// the clip policy folds.
    #[arg(long, value_name = "MS")]
    pub dt_ms: Option<f64>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `events convert`.
#[derive(clap::Args)]
pub struct ConvertArgs {
    /// Input event file.
    pub input: PathBuf,
    /// Output file (.npy: Eligo's format; .aedat: AEDAT 2.0).
    pub output: PathBuf,
    /// Output format, if not given by OUT's extension: npy or aedat.
    #[arg(long, value_name = "FORMAT")]
    pub to: Option<String>,
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    map: MapArgs,
    /// No summary on stdout.
    #[arg(long)]
    pub quiet: bool,
}

/// Run `events ...`.
pub fn run(cmd: EventsCmd) -> Result<()> {
    match cmd {
        EventsCmd::Info(a) => info(a),
        EventsCmd::Convert(a) => convert(a),
    }
}

fn info(a: InfoArgs) -> Result<()> {
    let opts = a.map.options(&a.read)?;
    let (s, out) = events::info_json(&a.file, &opts, a.dt_ms)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    print_info(&a.file, &s, &out);
    Ok(())
}

fn print_info(file: &Path, s: &events::Stats, j: &serde_json::Value) {
    println!("file:      {}", file.display());
    println!("format:    {}", s.info.format);
    let fields: Vec<String> = if s.info.fields.is_empty() {
        j["fields"].as_array().map_or(Vec::new(), |f| {
            f.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
    } else {
        s.info
            .fields
            .iter()
            .map(|(n, t)| format!("{n} {t}"))
            .collect()
    };
    println!("fields:    {}", fields.join(", "));
    if let (Some(w), h) = (s.info.width, s.info.height) {
        match h {
            Some(h) => println!("sensor:    {w} x {h}"),
            None => println!("channels:  {w}"),
        }
    }
    println!("events:    {}", s.events);
    if let Some((lo, hi)) = s.t_range {
        println!(
            "time:      {lo} .. {hi} µs (span {:.6} s)",
            j["span_s"].as_f64().unwrap_or(0.0)
        );
        let rate = j["rate_hz"].as_f64().unwrap_or(0.0);
        if rate >= 1.0 {
            println!("rate:      {rate:.1} events/s");
        } else {
            println!("rate:      {rate:.3e} events/s");
        }
    }
    if let Some((lo, hi)) = s.x_range {
        println!(
            "{}  {lo} .. {hi}",
            if s.info.has_y {
                "x:       "
            } else {
                "address: "
            }
        );
    }
    if let (true, Some((lo, hi))) = (s.info.has_y, s.y_range) {
        println!("y:         {lo} .. {hi}");
    }
    if s.info.has_p {
        println!(
            "polarity:  {} off (0), {} on (1){}",
            s.polarity[0],
            s.polarity[1],
            if s.polarity[2] > 0 {
                format!(", {} other", s.polarity[2])
            } else {
                String::new()
            }
        );
    }
    if s.non_events > 0 {
        println!(
            "skipped:   {} {} (not events, not counted above)",
            s.non_events,
            events::skipped_what(s.info.format)
        );
    }
    match s.first_backwards {
        None => println!("order:     time never goes backwards"),
        Some(i) => println!(
            "order:     time goes backwards {} times, first at event {i} (replay needs --sort)",
            s.backwards
        ),
    }
    if let Some(b) = j.get("binning") {
        println!(
            "binning:   dt {} ms, map {}: {} spikes in {} steps ({}..{}), {} events folded by clip, \
             {} before the start, largest index {}",
            b["dt_ms"],
            b["map"].as_str().unwrap_or(""),
            b["spikes"],
            b["steps_with_spikes"],
            b["first_step"],
            b["last_step"],
            b["merged_by_clip"],
            b["skipped_before_start"],
            b["max_index"]
        );
    }
    for (k, v) in &s.info.notes {
        println!("{k:<10} {v}", k = format!("{k}:"));
    }
}

fn convert(a: ConvertArgs) -> Result<()> {
    let opts = a.map.options(&a.read)?;
    let to = a.to.as_deref().map(Format::parse).transpose()?;
    let c = events::convert(&a.input, &a.output, to, &opts)?;
    if !a.quiet {
        println!(
            "{} -> {} ({}{}): {} events read, {} written, {} before the start; map: {}",
            a.input.display(),
            a.output.display(),
            c.format,
            if c.with_p { ", with p" } else { "" },
            c.read,
            c.written,
            c.skipped,
            c.map
        );
    }
    Ok(())
}

/// Replay flags of `simulate` (and, later, `train`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReplayArgs {
    /// Drive a source population from this event file, streaming (bounded memory). The
    /// population (--population, default: the only `external` one) must be a source: poisson,
    /// spike_times or external; it is switched to `external`.
    #[arg(long, value_name = "FILE", help_heading = "Event replay")]
    pub input_events: Option<PathBuf>,
    /// Replay recorded spikes *as* a population's own (its dynamics bypassed): recorders,
    /// downstream neurons and learning rules see exactly the recorded activity.
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Event replay",
        conflicts_with = "input_events"
    )]
    pub clamp_events: Option<PathBuf>,
    /// The population the events go to.
    #[arg(long, value_name = "NAME", help_heading = "Event replay")]
    pub population: Option<String>,
    /// Several events of one neuron in one step: clip (one spike; the only policy that can
    /// drive a population).
    #[arg(
        long,
        value_name = "POLICY",
        default_value = "clip",
        help_heading = "Event replay"
    )]
    pub bin: String,
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    map: MapArgs,
}

/// A replay attached to a simulation; [`Replay::finish`] after the run.
pub struct Replay {
    status: Option<FeedStatus>,
    note: Option<String>,
}

impl ReplayArgs {
    fn file(&self) -> Option<&Path> {
        self.input_events
            .as_deref()
            .or(self.clamp_events.as_deref())
    }

    fn population(&self, cfg: &SimConfig) -> Result<usize> {
        let pops = &cfg.network.populations;
        let names: Vec<&str> = pops.iter().map(|p| p.name.as_str()).collect();
        let flag = if self.input_events.is_some() {
            "--input-events"
        } else {
            "--clamp-events"
        };
        match &self.population {
            Some(name) => names.iter().position(|n| n == name).ok_or_else(|| {
                Error::input(
                    "--population",
                    format!("'{name}'"),
                    format!(
                        "no population has this name; populations: {}",
                        names.join(", ")
                    ),
                    eligo_engine::error::did_you_mean(name, &names),
                )
                .into()
            }),
            None => {
                let ext: Vec<usize> = (0..pops.len())
                    .filter(|&i| pops[i].model == ModelSpec::External)
                    .collect();
                match (self.input_events.is_some(), ext.as_slice()) {
                    (true, [one]) => Ok(*one),
                    _ => Err(Error::input(
                        "--population",
                        "missing",
                        format!("{flag} needs the population the events go to"),
                        format!("add --population NAME (one of: {})", names.join(", ")),
                    )
                    .into()),
                }
            }
        }
    }

    /// Before the network is built: check the flags and switch an `--input-events` population
    /// to the `external` model.
    pub fn prepare(&self, cfg: &mut SimConfig) -> Result<()> {
        let Some(file) = self.file() else {
            if self.population.is_some() {
                return Err(Error::input(
                    "--population",
                    self.population.as_deref().unwrap_or(""),
                    "only used with --input-events or --clamp-events",
                    "",
                )
                .into());
            }
            return Ok(());
        };
        BinPolicy::parse(&self.bin)?;
        let pi = self.population(cfg)?;
        let pop = &mut cfg.network.populations[pi];
        if self.input_events.is_some() {
            if !pop.model.is_source() {
                return Err(Error::input(
                    "--population",
                    format!("'{}'", pop.name),
                    format!(
                        "--input-events drives a source population (poisson, spike_times, \
                         external); '{}' is {}",
                        pop.name,
                        pop.model.name()
                    ),
                    format!(
                        "to replay {} as the spikes of '{}', use --clamp-events",
                        file.display(),
                        pop.name
                    ),
                )
                .into());
            }
            pop.model = ModelSpec::External;
        }
        Ok(())
    }

    /// After `Simulation::new`: check the whole file against the population, then attach the
    /// streaming feed (`--input-events`) or clamp the population (`--clamp-events`).
    pub fn attach(&self, sim: &mut Simulation, cfg: &SimConfig, quiet: bool) -> Result<Replay> {
        let Some(file) = self.file() else {
            return Ok(Replay {
                status: None,
                note: None,
            });
        };
        let pi = self.population(cfg)?;
        let net = sim.network();
        let (name, size) = (net.populations[pi].name.clone(), net.populations[pi].size);
        let dt = dt_us(net.dt_ms)?;
        let mut opts = self.map.options(&self.read)?;
        opts.policy = BinPolicy::parse(&self.bin)?;
        let limit = Some((name.as_str(), size));
        // one full pass first: every problem surfaces before the run starts
        let sc = replay::scan(file, &opts, dt, limit)?;
        let after_end = match sc.step_range {
            Some((_, last)) if last >= cfg.steps => " (some after the end of the run: ignored)",
            _ => "",
        };
        let note = format!(
            "{} {} into '{name}': {} events -> {} spikes in {} steps, {} folded by clip, {} before \
             the start{after_end}; map: {}",
            if self.input_events.is_some() {
                "replaying"
            } else {
                "clamping"
            },
            file.display(),
            sc.events,
            sc.spikes,
            sc.steps,
            sc.merged,
            sc.skipped,
            sc.map
        );
        let status = if self.input_events.is_some() {
            let (feed, status) = EventFeed::new(file, &opts, dt, limit)?;
            sim.set_feed(pi, Box::new(feed))?;
            Some(status)
        } else {
            let steps = replay::load_steps(file, &opts, dt, limit)?;
            sim.clamp(pi, &steps)?;
            None
        };
        if !quiet {
            super::stderr::line(format_args!("{note}"));
        }
        Ok(Replay {
            status,
            note: Some(note),
        })
    }
}

impl Replay {
    /// After the run: report a feed that stopped on an error (the file changed under it).
    pub fn finish(self) -> Result<Option<String>> {
        if let Some(s) = &self.status {
            s.check()?;
        }
        Ok(self.note)
    }
}
