//! `eligo train`: the arguments of a training run; the run itself is the engine's
//! (`eligo_engine::train::TrainingRun`), what it shows and writes around it is `train_report`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use eligo_engine::train::{ClampChoice, DataChoice, RuleChoice, RunSpec, Schedule, TrainingRun};

/// Arguments of `train`.
#[derive(clap::Args)]
pub struct Args {
    /// Task: evidence (cue accumulation, NC Fig. 3), evidence-lif (its LIF-only control),
    /// store-recall, pattern (pattern generation), sine-waves (NEST 3.10's e-prop example),
    /// digits (UCI 8x8 handwritten digits, row by row), reward_patterns (a rewarded and an
    /// unrewarded input pattern, for reward-modulated rules such as rstdp).
    #[arg(long, default_value = "evidence", conflicts_with = "net")]
    pub task: String,
    /// Train your own network (a TOML description, as `eligo simulate` reads it) on --data
    /// instead of a built-in task. The run's --seed replaces the file's seed.
    #[arg(long, value_name = "NET.toml", requires = "data")]
    pub net: Option<PathBuf>,
    /// The data set for --net: a folder with labels.csv/labels.json, a manifest (.csv, .json),
    /// an N-MNIST folder (Train/, Test/), an SHD/SSC .h5 file or folder, or a dense .npz
    /// (docs/data.md).
    #[arg(long, value_name = "DATASET", requires = "net")]
    pub data: Option<PathBuf>,
    /// How the data set meets the network (TOML: input, readout, loss, window_ms, duration_ms,
    /// validation, test, prefetch, and the event reading options; docs/data.md).
    #[arg(long, value_name = "FILE", requires = "data")]
    pub data_config: Option<PathBuf>,
    /// Passes over the training samples of --data (default 10); --iterations, if given, wins.
    #[arg(long, requires = "data")]
    pub epochs: Option<u64>,
    /// Replay this event file as the spikes of --population in every sequence (training and
    /// evaluation), e.g. a chip's recorded activity; repeat with --population for several.
    #[arg(long, value_name = "FILE", requires = "population")]
    pub clamp_events: Vec<PathBuf>,
    /// The population each --clamp-events file replaces (same order).
    #[arg(long, value_name = "P", requires = "clamp_events")]
    pub population: Vec<String>,
    /// Learning rule plugin: eprop, bptt, ottt, ostl, otpe, or a path. Repeat for several rules, each on its own
    /// projections (`[host] plastic` in each rule config).
    #[arg(long, default_value = "eprop")]
    pub rule: Vec<String>,
    /// Any parameter of the rule (see `eligo plugins`), e.g. --param c_reg=2 (repeatable). With
    /// several rules, name the rule: RULE.NAME=VALUE, RULE its name or its position (1, 2, ...).
    #[arg(long, value_name = "[RULE.]NAME=VALUE")]
    pub param: Vec<String>,
    /// e-prop feedback: random, symmetric, adaptive (= --param feedback=...; default random; the plugin's own default, which simulate and grad use, is symmetric).
    #[arg(long)]
    pub feedback: Option<String>,
    /// e-prop computation: event or online (= --param mode=...; default event).
    #[arg(long)]
    pub mode: Option<String>,
    /// The rule's parameters and host options (TOML), applied last; its `[optimizer]` kind and lr
    /// replace the task's only where given, lr_by_projection sets per-projection rates. With
    /// several --rule: one per rule, in the same order.
    #[arg(long)]
    pub rule_config: Vec<PathBuf>,
    /// Extra plugin directory.
    #[arg(long)]
    pub plugin_dir: Vec<PathBuf>,
    /// Output directory (metrics, checkpoints, plots, weights). Default: out/train-TASK-RULE.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Maximum iterations (default: the task's).
    #[arg(long)]
    pub iterations: Option<u64>,
    /// Sequences per batch (default: the task's); with --reward, episodes per batch (default 8).
    #[arg(long, visible_alias = "episodes-per-batch")]
    pub batch: Option<usize>,
    /// Learning rate (default: the task's).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Worker threads (at most the machine's cores); results are identical for any count.
    /// Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed of the initial weights and of the data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Shrink the task (sequence length) for quick runs; 1 = the paper's.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Write a checkpoint every this many iterations (at least 1).
    #[arg(long, default_value_t = 25)]
    pub checkpoint_every: u64,
    /// Continue the run whose --out directory this is, from its last checkpoint. Every setting
    /// that affects the results must be the checkpoint's (see --resume-override).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// With --resume: continue although these settings differ from the checkpoint's, with this
    /// run's values (comma-separated names as the refusal lists them, e.g. lr,rule.feedback).
    #[arg(long, value_delimiter = ',', requires = "resume")]
    pub resume_override: Vec<String>,
    /// Do not stop early when the validation error reaches the task's target.
    #[arg(long)]
    pub no_early_stop: bool,
    /// No progress bar and no summary on stdout.
    #[arg(long)]
    pub quiet: bool,
    /// Progress on stderr: a bar on a terminal, else a line every 5 s (auto).
    #[arg(long, value_enum, default_value_t)]
    pub progress: super::progress::Mode,
    /// Closed-loop, reward-based training: --task names an environment, the
    /// rule (eprop, learning = "reward") learns from its rewards (docs/closed-loop.md).
    #[arg(long, conflicts_with_all = ["net", "clamp_events", "epochs", "no_early_stop"])]
    pub reward: bool,
    /// With --reward: the rule's form, td (the paper's TD-error rule) or a2c (the authors'
    /// forward view) (= --param form=...; default td).
    #[arg(long, requires = "reward")]
    pub form: Option<String>,
    /// With --reward: discount per agent step, in [0, 1] (= --param gamma=...; default 0.99).
    #[arg(long, requires = "reward")]
    pub gamma: Option<f64>,
    /// With --reward: network steps per agent step (default: the environment's).
    #[arg(long, requires = "reward")]
    pub agent_steps: Option<u64>,
    /// With --reward: the most agent steps of an episode; a longer one is truncated (default
    /// 10000; an environment's own time limit may end it earlier).
    #[arg(long, requires = "reward")]
    pub max_agent_steps: Option<u64>,
    /// With --reward: stop once the mean return of the last 100 episodes reaches this.
    #[arg(long, requires = "reward")]
    pub target_return: Option<f64>,
}

/// Run `train`; `world`: the MPI job this process is a rank of (docs/distributed.md).
pub fn run(a: Args, world: Option<&mut super::mpi::World>) -> Result<()> {
    let rank = world.as_ref().map_or(0, |w| w.rank());
    if world.as_ref().is_some_and(|w| w.size() > 1) && a.reward {
        return Err(eligo_engine::Error::input(
            "--reward",
            "over several ranks",
            "closed-loop training runs on one process yet",
            "run it without mpirun (--threads spreads its episodes)",
        )
        .into());
    }
    if a.reward {
        return super::train_reward::run(a);
    }
    let t_start = Instant::now();
    super::interrupt::install();
    let params = eligo_engine::train::setup::train_params(
        &a.param,
        a.feedback.as_deref(),
        a.mode.as_deref(),
    )?;
    super::rule::check_config_count(&a.rule, &a.rule_config)?;
    let config = |k: usize| a.rule_config.get(k).cloned();
    if a.clamp_events.len() != a.population.len() {
        return Err(eligo_engine::Error::input(
            "--population",
            a.population.len(),
            format!(
                "give one --population per --clamp-events file ({} files)",
                a.clamp_events.len()
            ),
            "e.g. --clamp-events rec.npy --population in",
        )
        .into());
    }
    let spec = RunSpec {
        task: a.task.clone(),
        scale: a.scale,
        seed: a.seed,
        rule: a.rule[0].clone(),
        plugin_dirs: a.plugin_dir.clone(),
        params,
        rule_config: config(0),
        batch: a.batch,
        lr: a.lr,
        threads: super::threads::resolve(a.threads, a.quiet)?,
        more_rules: (1..a.rule.len())
            .map(|k| RuleChoice {
                rule: a.rule[k].clone(),
                rule_config: config(k),
            })
            .collect(),
        data: a.net.as_ref().map(|net| DataChoice {
            net: net.clone(),
            data: a.data.clone().unwrap_or_default(),
            config: a.data_config.clone(),
        }),
        clamps: a
            .clamp_events
            .iter()
            .zip(&a.population)
            .map(|(file, population)| ClampChoice {
                file: file.clone(),
                population: population.clone(),
            })
            .collect(),
    };
    let (tr, settings, _) = spec.build()?;
    let iterations = Schedule::iterations_for(&tr, a.iterations, a.epochs);
    let name = match &a.net {
        Some(net) => net
            .file_stem()
            .map_or("net".into(), |s| s.to_string_lossy().into_owned()),
        None => a.task.clone(),
    };
    let out = (a.resume.clone().or(a.out.clone()))
        .unwrap_or_else(|| PathBuf::from(format!("out/train-{name}-{}", tr.rule_name())));
    let schedule = Schedule {
        iterations,
        checkpoint_every: a.checkpoint_every,
        early_stop: !a.no_early_stop,
    };
    if let Some(w) = world.as_deref() {
        // every rank is set up before rank 0 creates anything (a rank that failed has ended
        // the job)
        w.sum(&[1]);
    }
    if rank > 0 {
        // the same run without files: rank 0 writes, and reports
        let world = world.expect("rank > 0 only in an MPI job");
        let mut run = match &a.resume {
            Some(dir) => TrainingRun::resume(tr, dir, settings, &a.resume_override)?.0,
            None => TrainingRun::new(tr, &out, settings),
        };
        run.run_ranked(&schedule, &mut eligo_engine::train::NoObserver, Some(world))?;
        return Ok(());
    }
    let out_dir = super::outdir::OutDir::create(&out)?;
    let mut run = match &a.resume {
        Some(dir) => {
            let (run, overridden) = TrainingRun::resume(tr, dir, settings, &a.resume_override)?;
            for o in &overridden {
                super::stderr::line(format_args!(
                    "warning: --resume-override: continuing with another {o}"
                ));
            }
            run
        }
        None => TrainingRun::new(tr, &out, settings),
    };
    super::train_report::test_hooks(&mut run);
    // the bar is cleared when dropped, at the end of this statement
    let outcome = run.run_ranked(
        &schedule,
        &mut super::train_report::Bar::new(a.progress.resolve(a.quiet)),
        world.map(|w| w as &mut dyn eligo_engine::sim::Exchange),
    )?;
    out_dir.keep();
    super::train_report::finish(&mut run, &outcome, t_start, a.quiet)
}
