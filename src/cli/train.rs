//! `eligo train`: train a task's network with a learning rule; progress, metrics (JSON lines),
//! checkpoints, a final test result, plots.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use eligo_engine::io::weights;
use eligo_engine::optim::Method;
use eligo_engine::plugin::{config, loader};
use eligo_engine::prelude::*;
use eligo_engine::task::{self, Kind, Split, TaskOptions};
use eligo_engine::train::{TrainConfig, Trainer, checkpoint};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

/// Arguments of `train`.
#[derive(clap::Args)]
pub struct Args {
    /// Task: evidence (cue accumulation, NC Fig. 3), evidence-lif (its LIF-only control),
    /// store-recall, pattern (pattern generation), sine-waves (NEST 3.10's e-prop example),
    /// digits (UCI 8x8 handwritten digits, row by row).
    #[arg(long, default_value = "evidence")]
    pub task: String,
    /// Learning rule plugin: eprop, bptt, or a path.
    #[arg(long, default_value = "eprop")]
    pub rule: String,
    /// e-prop feedback: random, symmetric, adaptive.
    #[arg(long, default_value = "random")]
    pub feedback: String,
    /// e-prop computation: event or online.
    #[arg(long, default_value = "event")]
    pub mode: String,
    /// The rule's parameters and host options (TOML), applied last; its `[optimizer]` kind and lr
    /// replace the task's only where given, lr_by_projection sets per-projection rates.
    #[arg(long)]
    pub rule_config: Option<PathBuf>,
    /// Extra plugin directory.
    #[arg(long)]
    pub plugin_dir: Vec<PathBuf>,
    /// Output directory (metrics, checkpoints, plots, weights). Default: out/train-TASK-RULE.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Maximum iterations (default: the task's).
    #[arg(long)]
    pub iterations: Option<u64>,
    /// Sequences per batch (default: the task's).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Learning rate (default: the task's).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Worker threads (results are identical for any count). Default: all cores.
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
    #[arg(long, value_delimiter = ',')]
    pub resume_override: Vec<String>,
    /// Do not stop early when the validation error reaches the task's target.
    #[arg(long)]
    pub no_early_stop: bool,
    /// No progress bar and no summary on stdout.
    #[arg(long)]
    pub quiet: bool,
}

fn set_param(
    plugin: &eligo_engine::plugin::Plugin,
    values: &mut [f64],
    name: &str,
    value: &str,
) -> Result<bool> {
    let Some(i) = plugin.params.iter().position(|p| p.name == name) else {
        return Ok(false);
    };
    let p = &plugin.params[i];
    values[i] = match &p.choices {
        Some(c) => c.iter().position(|x| x == value).ok_or_else(|| {
            Error::input(
                format!("--{name}"),
                value,
                format!("allowed: {}", c.join(", ")),
                eligo_engine::error::did_you_mean(
                    value,
                    &c.iter().map(String::as_str).collect::<Vec<_>>(),
                ),
            )
        })? as f64,
        None => value.parse()?,
    };
    Ok(true)
}

/// Run `train`.
pub fn run(a: Args) -> Result<()> {
    let t_start = Instant::now();
    if a.checkpoint_every == 0 {
        return Err(Error::input(
            "--checkpoint-every",
            0,
            format!("must be between 1 and {} iterations", u64::MAX),
            "leave it out for the default, a checkpoint every 25 iterations",
        )
        .into());
    }
    if !a.resume_override.is_empty() && a.resume.is_none() {
        return Err(Error::input(
            "--resume-override",
            a.resume_override.join(","),
            "only applies with --resume",
            "",
        )
        .into());
    }
    super::interrupt::install();
    let task = task::by_name(
        &a.task,
        &TaskOptions {
            seed: a.seed,
            scale: a.scale,
        },
    )?;
    let d = task.defaults();
    let plugin = loader::find(&a.rule, &a.plugin_dir)?;
    // rule parameters: the plugin's defaults, the task's (regularizer, feedback scale), the
    // command line, then --rule-config
    let mut rc = config::defaults(&plugin);
    set_param(&plugin, &mut rc.values, "c_reg", &d.c_reg.to_string())?;
    set_param(
        &plugin,
        &mut rc.values,
        "f_target_hz",
        &d.f_target_hz.to_string(),
    )?;
    set_param(
        &plugin,
        &mut rc.values,
        "random_scale",
        &d.random_feedback_scale.to_string(),
    )?;
    let is_eprop = plugin.params.iter().any(|p| p.name == "feedback");
    if is_eprop {
        set_param(&plugin, &mut rc.values, "feedback", &a.feedback)?;
        set_param(&plugin, &mut rc.values, "mode", &a.mode)?;
    }
    let mut given = toml::Table::new();
    if let Some(p) = &a.rule_config {
        let file = config::load(p, &plugin)?;
        let text = std::fs::read_to_string(p)?;
        given = text.parse().unwrap_or_default();
        for (i, q) in plugin.params.iter().enumerate() {
            if given.contains_key(&q.name) {
                rc.values[i] = file.values[i];
            }
        }
        rc.host = file.host;
    }
    let opt_given = |key: &str| {
        given
            .get("optimizer")
            .and_then(|o| o.as_table())
            .is_some_and(|o| o.contains_key(key))
    };
    let threads = super::threads::resolve(a.threads, a.quiet)?;
    let cfg = TrainConfig {
        batch: a.batch.unwrap_or(d.batch),
        threads,
        // the rule config's [optimizer] kind and lr replace the task's only where given
        method: if opt_given("kind") {
            rc.host.optimizer.method
        } else {
            d.method
        },
        lr: a.lr.unwrap_or(if opt_given("lr") {
            rc.host.optimizer.lr
        } else {
            d.lr
        }),
        seed: a.seed,
    };
    if !(cfg.lr.is_finite() && cfg.lr >= 0.0) {
        return Err(Error::input("--lr", cfg.lr, "must be a finite number >= 0", "").into());
    }
    let iterations = a.iterations.unwrap_or(d.iterations);
    let rule_name = plugin.name.clone();
    let mut tr = Trainer::new(task, &plugin, &rc.values, &rc.host, cfg.clone())
        .map_err(|e| super::rule::in_rule_config(e, a.rule_config.as_deref()))?;
    let settings = checkpoint::settings(
        tr.task().name(),
        a.scale,
        &plugin,
        &rc.values,
        &rc.host,
        &cfg,
    );
    let out = a
        .resume
        .clone()
        .or(a.out.clone())
        .unwrap_or_else(|| PathBuf::from(format!("out/train-{}-{}", a.task, rule_name)));
    let _out_dir = super::outdir::OutDir::create(&out)?;
    let metrics_path = out.join("metrics.jsonl");
    let mut history: Vec<String> = Vec::new();
    if let Some(dir) = &a.resume {
        let (s, overridden) =
            checkpoint::load(dir, &mut tr, &rule_name, &settings, &a.resume_override)?;
        for o in &overridden {
            eprintln!("warning: --resume-override: continuing with another {o}");
        }
        history = metrics_until(&metrics_path, s.iteration)?;
    }
    // test hook: stop each checkpoint write once its temporary copy is complete (a crash
    // before the renames)
    let crash_test = std::env::var_os("ELIGO_TEST_CRASH_CHECKPOINT").is_some();
    let save = |tr: &Trainer, it: u64| -> Result<()> {
        let state = checkpoint::State {
            iteration: it,
            task: tr.task().name().into(),
            task_seed: a.seed,
            seed: a.seed,
            batch: cfg.batch,
            rule: rule_name.clone(),
            fingerprint: checkpoint::fingerprint(tr.network()),
            eligo_version: env!("CARGO_PKG_VERSION").into(),
            settings: settings.clone(),
            files: Default::default(),
        };
        checkpoint::save_with_faults(&out, tr, &state, &mut |step| {
            if crash_test && step == checkpoint::SaveStep::RemoveStaleOld {
                return Err(Error::Rule(
                    "test crash between the temporary write and the rename".into(),
                ));
            }
            Ok(())
        })?;
        Ok(())
    };
    let mut saved_at = a.resume.is_some().then_some(tr.iteration);
    let kind = tr.task().kind();
    let bar = ProgressBar::with_draw_target(
        Some(iterations),
        if a.quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} it  {msg}")
            .expect("template"),
    );
    bar.set_prefix(format!("{} / {}", tr.task().name(), rule_name));
    bar.set_position(tr.iteration);
    let mut stopped_early = None;
    let mut last_validation: Option<f64> = None;
    let t_train = Instant::now();
    let it0 = tr.iteration;
    let interrupted = |tr: &Trainer| {
        super::interrupt::check(|| {
            format!(
                "checkpoint of iteration {} written to {}; continue with --resume {}",
                tr.iteration,
                out.join("checkpoint").display(),
                out.display()
            )
        })
    };
    while tr.iteration < iterations {
        // a signal is acted on between iterations: the iteration under way finishes (seconds
        // at most), is checkpointed, and the run stops with 128 + signal
        if super::interrupt::requested().is_some() {
            if saved_at != Some(tr.iteration) {
                write_lines(&metrics_path, &history)?;
                save(&tr, tr.iteration)?;
            }
            interrupted(&tr)?;
        }
        let t0 = Instant::now();
        let m = tr.step()?;
        let it = tr.iteration;
        let mut line = json!({"iteration": it, "loss": m.loss, "rate_hz": m.rate_hz, "seconds": t0.elapsed().as_secs_f64()});
        if kind == Kind::Classification {
            line["train_error"] = json!(m.error);
        }
        let mut msg = format!("loss {:.4}  rate {:.1} Hz", m.loss, m.rate_hz);
        if kind == Kind::Classification {
            msg = format!("{msg}  batch acc {:.0} %", 100.0 * (1.0 - m.error));
        }
        if kind == Kind::Classification && (it % d.eval_every == 0 || it == iterations) {
            let v = tr.evaluate(Split::Validation, tr.task().validation_sequences(cfg.batch))?;
            line["validation_error"] = json!(v.error);
            last_validation = Some(v.error);
            if let Some(stop) = d.stop_below_error
                && v.error < stop
                && !a.no_early_stop
            {
                stopped_early = Some(it);
            }
        }
        if let Some(e) = last_validation {
            // the last validation, kept on the bar until the next one
            msg = format!("{msg}  val acc {:.1} %", 100.0 * (1.0 - e));
        }
        bar.set_message(msg);
        bar.set_position(it);
        history.push(line.to_string());
        if it % a.checkpoint_every == 0 || it == iterations || stopped_early.is_some() {
            write_lines(&metrics_path, &history)?;
            save(&tr, it)?;
            saved_at = Some(it);
        }
        if stopped_early.is_some() {
            break;
        }
    }
    bar.finish_and_clear();
    let train_s = t_train.elapsed().as_secs_f64();
    write_lines(&metrics_path, &history)?;
    if super::interrupt::requested().is_some() {
        if saved_at != Some(tr.iteration) {
            save(&tr, tr.iteration)?;
        }
        interrupted(&tr)?;
    }
    // final test
    let n_test = tr.task().test_sequences(cfg.batch);
    let test = tr.evaluate(Split::Test, n_test)?;
    let readout = tr
        .network()
        .populations
        .iter()
        .position(|p| matches!(p.model, eligo_engine::neuron::ModelSpec::Readout(_)))
        .expect("readout");
    let mut biases = vec![Vec::new(); tr.network().populations.len()];
    biases[readout] = tr.biases().to_vec();
    weights::save(&out.join("weights.npz"), tr.network(), &biases)?;
    let per_it = train_s / (tr.iteration - it0).max(1) as f64;
    let result_name = if kind == Kind::Classification {
        "test_error"
    } else {
        "test_nmse"
    };
    let summary = json!({
        "task": tr.task().name(), "rule": rule_name,
        "feedback": if is_eprop { Some(&a.feedback) } else { None },
        "iterations": tr.iteration, "stopped_early_at": stopped_early,
        "batch": cfg.batch, "lr": cfg.lr, "threads": threads, "seed": a.seed, "scale": a.scale,
        "optimizer": match cfg.method { Method::Sgd => "sgd", Method::Adam { .. } => "adam" },
        result_name: test.error, "test_loss": test.loss, "test_rate_hz": test.rate_hz, "test_sequences": n_test,
        "seconds_per_iteration": per_it, "wall_s": t_start.elapsed().as_secs_f64(),
        "out": out.display().to_string(),
    });
    let text = serde_json::to_string_pretty(&summary)?;
    eligo_engine::io::write_atomic(&out.join("summary.json"), |w| writeln!(w, "{text}"))?;
    // plots: loss.png from the metrics, sample.png from one recorded test sample
    let title = format!("{} / {rule_name}", tr.task().name());
    if let Err(e) = super::plots::training(&out, &metrics_path, kind, &title) {
        eprintln!("warning: loss plot not written: {e:#}");
    }
    let rec = tr.record_sample(Split::Test, 0)?;
    let sample = tr.task().sample(Split::Test, 0);
    if let Err(e) = super::plots::sample(&out, &title, tr.network(), &rec, &sample.loss) {
        eprintln!("warning: sample plot not written: {e:#}");
    }
    if !a.quiet {
        let result = match kind {
            Kind::Classification => format!(
                "test error {:.1} % ({n_test} sequences)",
                100.0 * test.error
            ),
            Kind::Regression => {
                format!("test normalized MSE {:.4} ({n_test} sequences)", test.error)
            }
        };
        println!(
            "{} / {rule_name}: {result} after {} iterations ({:.3} s per iteration); results in {}",
            tr.task().name(),
            tr.iteration,
            per_it,
            out.display()
        );
    }
    Ok(())
}

/// The lines of `metrics.jsonl` up to `iteration` (a checkpoint's), which must be exactly one per
/// iteration 1..=iteration, in order: anything else means the metrics and the checkpoint are of
/// different runs or were edited.
fn metrics_until(path: &std::path::Path, iteration: u64) -> Result<Vec<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(_) if iteration == 0 => String::new(),
        Err(e) => {
            return Err(Error::input(
                "metrics.jsonl",
                "",
                format!("cannot read it ({e}); the checkpoint is of iteration {iteration} and needs its lines 1..={iteration}"),
                "resume in the --out directory the checkpoint was written in",
            )
            .in_file(path)
            .into());
        }
    };
    let mut lines = Vec::new();
    for (n, l) in text.lines().enumerate() {
        let it = serde_json::from_str::<serde_json::Value>(l)
            .ok()
            .and_then(|v| v["iteration"].as_u64());
        let want = lines.len() as u64 + 1;
        match it {
            Some(i) if i > iteration => break,
            Some(i) if i == want => lines.push(l.to_string()),
            _ => {
                return Err(Error::input(
                    format!("line {}", n + 1),
                    l.chars().take(80).collect::<String>(),
                    format!("expected the metrics of iteration {want} (one line per iteration 1..={iteration}, the checkpoint's)"),
                    "the metrics do not belong to this checkpoint; resume from an intact --out directory",
                )
                .in_file(path)
                .into());
            }
        }
    }
    if lines.len() as u64 != iteration {
        return Err(Error::input(
            "metrics.jsonl",
            format!("{} lines", lines.len()),
            format!("the checkpoint is of iteration {iteration} and needs one line per iteration up to it"),
            "the metrics do not belong to this checkpoint; resume from an intact --out directory",
        )
        .in_file(path)
        .into());
    }
    Ok(lines)
}

fn write_lines(path: &std::path::Path, lines: &[String]) -> Result<()> {
    eligo_engine::io::write_atomic(path, |w| {
        for l in lines {
            writeln!(w, "{l}")?;
        }
        Ok(())
    })?;
    Ok(())
}
