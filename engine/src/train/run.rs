//! A training run: iterations with validation, early stopping, checkpoints and resume, the final
//! test, the trained weights — the one front door that the CLI (`eligo train`) and any other
//! front end (a library user, the Python bindings) call.
//!
//! What a run writes to its directory: `metrics.jsonl` (one JSON line per iteration, rewritten
//! whole at each checkpoint so that it always matches the newest checkpoint), `checkpoint/`
//! (see [`super::checkpoint`]) and, at the end, `weights.npz`. Progress is reported through
//! [`Observer`]s; an observer can also ask the run to stop (a signal, a notebook's stop button):
//! the iteration under way finishes (or the final test is abandoned), a checkpoint is written
//! and [`Ending::Interrupted`] is returned, so that `resume` continues exactly.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::checkpoint::{self, SaveStep, Settings};
use super::trainer::{Metrics, Trainer};
use crate::error::{Error, Result};
use crate::io::weights;
use crate::optim::Method;
use crate::sim::Exchange;
use crate::sim::ranks::reborrow;
use crate::task::{Kind, Split};

/// What one iteration measured, as reported to observers and written to `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq)]
pub struct Iteration {
    /// Iterations done (1 for the first).
    pub iteration: u64,
    /// Mean training loss per sequence of the batch.
    pub loss: f64,
    /// Mean rate of the recurrent neurons (Hz).
    pub rate_hz: f64,
    /// Error rate of the batch (classification).
    pub train_error: Option<f64>,
    /// Validation error rate (classification) or normalized MSE (a regression data set), on
    /// the iterations that validate.
    pub validation_error: Option<f64>,
    /// Mean validation loss per sequence, on the iterations that validate.
    pub validation_loss: Option<f64>,
    /// The epochs completed, on the iteration that completes one (a data set's run).
    pub epoch: Option<u64>,
    /// Wall time of the iteration (s), validation excluded.
    pub seconds: f64,
    /// The rule's diagnostics of the batch (see [`super::trainer::Metrics::diagnostics`]).
    pub diagnostics: Vec<(String, f64)>,
    /// With several rules, each rule's (see [`super::trainer::Metrics::rules_diagnostics`]).
    pub rules_diagnostics: Vec<(String, Vec<(String, f64)>)>,
}

impl Iteration {
    /// The `metrics.jsonl` line: with one rule, its diagnostics as `"rule": {NAME: VALUE}`;
    /// with several, `"rules": {RULE: {NAME: VALUE}}`.
    pub fn json(&self) -> String {
        let object = |d: &[(String, f64)]| -> serde_json::Value {
            serde_json::Value::Object(
                d.iter()
                    .map(|(k, v)| (k.clone(), serde_json::json!(v)))
                    .collect(),
            )
        };
        let mut line = serde_json::json!({"iteration": self.iteration, "loss": self.loss, "rate_hz": self.rate_hz, "seconds": self.seconds});
        if let Some(e) = self.train_error {
            line["train_error"] = serde_json::json!(e);
        }
        if let Some(e) = self.validation_error {
            line["validation_error"] = serde_json::json!(e);
        }
        if let Some(e) = self.validation_loss {
            line["validation_loss"] = serde_json::json!(e);
        }
        if let Some(e) = self.epoch {
            line["epoch"] = serde_json::json!(e);
        }
        if !self.diagnostics.is_empty() {
            line["rule"] = object(&self.diagnostics);
        }
        if !self.rules_diagnostics.is_empty() {
            line["rules"] = serde_json::Value::Object(
                self.rules_diagnostics
                    .iter()
                    .map(|(rule, d)| (rule.clone(), object(d)))
                    .collect(),
            );
        }
        line.to_string()
    }
}

/// Watches a run. Every method has a default, so an observer implements only what it needs.
pub trait Observer {
    /// Once, before the first iteration of this call (`iteration` is where it resumes).
    fn on_start(&mut self, _trainer: &Trainer, _iteration: u64, _iterations: u64) {}
    /// After every iteration.
    fn on_iteration(&mut self, _it: &Iteration) {}
    /// Polled before every iteration: `true` stops the run with a checkpoint.
    fn stop_requested(&mut self) -> bool {
        false
    }
}

/// An observer that watches nothing.
pub struct NoObserver;
impl Observer for NoObserver {}

/// How a run is scheduled.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Stop after this many iterations in all (resumed ones included).
    pub iterations: u64,
    /// Write a checkpoint every this many iterations (>= 1), and after the last.
    pub checkpoint_every: u64,
    /// Stop when the validation error falls below the task's criterion.
    pub early_stop: bool,
}

impl Schedule {
    /// The iterations of a run of `tr` for a user's request: `iterations` if given; else, for
    /// a data set, `epochs` (default 10) passes over its training samples; else the task's
    /// default.
    pub fn iterations_for(tr: &Trainer, iterations: Option<u64>, epochs: Option<u64>) -> u64 {
        match (iterations, tr.task().epoch_iterations(tr.config().batch)) {
            (Some(n), _) => n,
            (None, Some(per_epoch)) => per_epoch.saturating_mul(epochs.unwrap_or(10)),
            (None, None) => tr.task().defaults().iterations,
        }
    }
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// All iterations done.
    Finished,
    /// The validation error fell below the task's criterion at this iteration.
    StoppedEarly(u64),
    /// An observer asked to stop; the checkpoint of this iteration resumes it.
    Interrupted(u64),
}

/// The result of a run that was not interrupted.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Why it ended.
    pub ending: Ending,
    /// Iterations done in all.
    pub iterations: u64,
    /// The final test on the task's held-out sequences (`None` when interrupted).
    pub test: Option<Metrics>,
    /// Test sequences.
    pub test_sequences: usize,
    /// Mean wall time of the iterations of this call (s).
    pub seconds_per_iteration: f64,
}

/// One training run in a directory.
pub struct TrainingRun {
    tr: Trainer,
    out: PathBuf,
    settings: Settings,
    /// `metrics.jsonl` lines, one per iteration done.
    history: Vec<String>,
    /// The iteration of the newest checkpoint on disk.
    saved_at: Option<u64>,
    /// A test hook: called at every step of every checkpoint save.
    fault: Option<Box<dyn FnMut(SaveStep) -> Result<()> + Send>>,
    /// This process writes the run's files (false on MPI ranks other than 0).
    writes: bool,
}

impl TrainingRun {
    /// A new run of `tr` writing into `out` (which must exist). `settings` are the run's
    /// settings as [`checkpoint::settings`] gives them; they go into every checkpoint.
    pub fn new(tr: Trainer, out: &Path, settings: Settings) -> TrainingRun {
        TrainingRun {
            tr,
            out: out.to_path_buf(),
            settings,
            history: Vec::new(),
            saved_at: None,
            fault: None,
            writes: true,
        }
    }

    /// Continue the run whose directory is `out` from its newest complete checkpoint, after
    /// checking it against this run's network, rule and settings (differences named in
    /// `overrides` are accepted and returned, for a warning) and its metrics against the
    /// checkpoint's iteration.
    pub fn resume(
        tr: Trainer,
        out: &Path,
        settings: Settings,
        overrides: &[String],
    ) -> Result<(TrainingRun, Vec<String>)> {
        let mut run = TrainingRun::new(tr, out, settings);
        let rule = run.tr.rule_name().to_string();
        let (s, overridden) = checkpoint::load(out, &mut run.tr, &rule, &run.settings, overrides)?;
        run.history = metrics_until(&run.metrics_path(), s.iteration)?;
        run.saved_at = Some(s.iteration);
        Ok((run, overridden))
    }

    /// Call `f` at every step of every checkpoint save (a fault-injection seam for tests).
    pub fn set_fault_hook(&mut self, f: impl FnMut(SaveStep) -> Result<()> + Send + 'static) {
        self.fault = Some(Box::new(f));
    }

    /// The trainer (current weights, task, optimizer).
    pub fn trainer(&self) -> &Trainer {
        &self.tr
    }

    /// The trainer, mutably (e.g. to record a sample after the run).
    pub fn trainer_mut(&mut self) -> &mut Trainer {
        &mut self.tr
    }

    /// The run's settings, as its checkpoints record them.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The run's directory.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// The `metrics.jsonl` lines of the iterations done, resumed ones included (one JSON
    /// object per iteration, see [`Iteration::json`]).
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// The `epochs.jsonl` lines of a data set's run (one per completed epoch, derived from
    /// [`TrainingRun::history`]); empty for a built-in task.
    pub fn epochs(&self) -> Vec<String> {
        match self.tr.task().epoch_iterations(self.tr.config().batch) {
            Some(_) => epoch_lines(&self.history),
            None => Vec::new(),
        }
    }

    /// `metrics.jsonl` in the run's directory.
    pub fn metrics_path(&self) -> PathBuf {
        self.out.join("metrics.jsonl")
    }

    /// Run until `schedule.iterations`, the task's stopping criterion or an observer's stop;
    /// then, unless stopped, the final test and `weights.npz`.
    pub fn run(&mut self, schedule: &Schedule, obs: &mut dyn Observer) -> Result<Outcome> {
        self.run_ranked(schedule, obs, None)
    }

    /// [`TrainingRun::run`] as one rank of several (`ex`; every rank calls it with the same
    /// arguments): each iteration's batch is spread over the ranks
    /// ([`Trainer::step_with`]), every rank validates and tests alike (so all stop together),
    /// rank 0's observer alone may stop the run, and only rank 0 writes metrics, checkpoints
    /// and weights — the files of a single process.
    pub fn run_ranked(
        &mut self,
        schedule: &Schedule,
        obs: &mut dyn Observer,
        mut ex: Option<&mut dyn Exchange>,
    ) -> Result<Outcome> {
        self.writes = ex.as_deref().is_none_or(|e| e.rank() == 0);
        if schedule.checkpoint_every == 0 {
            return Err(Error::input(
                "--checkpoint-every",
                0,
                format!("must be between 1 and {} iterations", u64::MAX),
                "leave it out for the default, a checkpoint every 25 iterations",
            ));
        }
        let d = self.tr.task().defaults();
        let kind = self.tr.task().kind();
        let batch = self.tr.config().batch;
        // a data set validates at the end of every epoch, whatever its loss; a built-in task
        // every `eval_every` iterations, if it classifies
        let per_epoch = self.tr.task().epoch_iterations(batch);
        let eval_every = per_epoch.unwrap_or(d.eval_every).max(1);
        let validates = kind == Kind::Classification || per_epoch.is_some();
        let it0 = self.tr.iteration;
        obs.on_start(&self.tr, it0, schedule.iterations);
        let t_train = Instant::now();
        let mut ending = Ending::Finished;
        while self.tr.iteration < schedule.iterations {
            if stop_everywhere(obs, reborrow(&mut ex))? {
                ending = Ending::Interrupted(self.tr.iteration);
                break;
            }
            let t0 = Instant::now();
            let m = self.tr.step_with(reborrow(&mut ex))?;
            let it = self.tr.iteration;
            let mut report = Iteration {
                iteration: it,
                loss: m.loss,
                rate_hz: m.rate_hz,
                train_error: (kind == Kind::Classification).then_some(m.error),
                validation_error: None,
                validation_loss: None,
                epoch: per_epoch.filter(|e| it.is_multiple_of(*e)).map(|e| it / e),
                seconds: t0.elapsed().as_secs_f64(),
                diagnostics: m.diagnostics.clone(),
                rules_diagnostics: m.rules_diagnostics.clone(),
            };
            if validates && (it.is_multiple_of(eval_every) || it == schedule.iterations) {
                let n = self.tr.task().validation_sequences(batch);
                let v = self.tr.evaluate(Split::Validation, n)?;
                report.validation_error = Some(v.error);
                report.validation_loss = Some(v.loss);
                if let Some(stop) = d.stop_below_error
                    && v.error < stop
                    && schedule.early_stop
                {
                    ending = Ending::StoppedEarly(it);
                }
            }
            self.history.push(report.json());
            obs.on_iteration(&report);
            if it.is_multiple_of(schedule.checkpoint_every)
                || it == schedule.iterations
                || ending != Ending::Finished
            {
                self.checkpoint_ranked(reborrow(&mut ex))?;
            }
            if ending != Ending::Finished {
                break;
            }
        }
        let done = self.tr.iteration - it0;
        let seconds_per_iteration = t_train.elapsed().as_secs_f64() / done.max(1) as f64;
        self.write_metrics()?;
        if let Ending::Interrupted(_) = ending {
            self.checkpoint_ranked(reborrow(&mut ex))?;
            return Ok(Outcome {
                ending,
                iterations: self.tr.iteration,
                test: None,
                test_sequences: 0,
                seconds_per_iteration,
            });
        }
        if self.saved_at != Some(self.tr.iteration) {
            self.checkpoint_ranked(reborrow(&mut ex))?;
        }
        let n_test = self.tr.task().test_sequences(batch);
        // the longest stretch of a run without an iteration: a stop request ends it too (the
        // checkpoint is written; a resume runs the test). Over several ranks the test runs
        // whole: its pieces follow each rank's own clock.
        let test = match ex {
            Some(_) => Some(self.tr.evaluate(Split::Test, n_test)?),
            None => self
                .tr
                .evaluate_until(Split::Test, n_test, &mut || obs.stop_requested())?,
        };
        let Some(test) = test else {
            return Ok(Outcome {
                ending: Ending::Interrupted(self.tr.iteration),
                iterations: self.tr.iteration,
                test: None,
                test_sequences: 0,
                seconds_per_iteration,
            });
        };
        self.save_weights()?;
        Ok(Outcome {
            ending,
            iterations: self.tr.iteration,
            test: Some(test),
            test_sequences: n_test,
            seconds_per_iteration,
        })
    }

    /// What `summary.json` says of the run and its outcome `o` (the keys every front end
    /// reports: task, rule, feedback, iterations, stopped_early_at, batch, lr, threads, seed,
    /// scale, optimizer, the test's `test_error` (classification) or `test_nmse` (regression),
    /// test_loss, test_rate_hz, test_sequences, seconds_per_iteration; for a data set also
    /// data, data_set, epochs and test_accuracy). The test keys are left out of an
    /// interrupted run, which has no test.
    pub fn summary(&self, o: &Outcome) -> serde_json::Value {
        use serde_json::json;
        let tr = &self.tr;
        let cfg = tr.config();
        let kind = tr.task().kind();
        let stopped_early = match o.ending {
            Ending::StoppedEarly(it) => Some(it),
            _ => None,
        };
        let settings = &self.settings;
        let mut s = json!({
            "task": tr.task().name(), "rule": tr.rule_name(),
            "feedback": settings.get("rule.feedback"),
            "iterations": o.iterations, "stopped_early_at": stopped_early,
            "batch": cfg.batch, "lr": cfg.lr, "threads": cfg.threads, "seed": cfg.seed,
            "scale": settings.get("scale").and_then(|s| s.parse::<f64>().ok()),
            "optimizer": match cfg.method { Method::Sgd => "sgd", Method::Adam { .. } => "adam" },
            "seconds_per_iteration": o.seconds_per_iteration,
        });
        if let Some(test) = &o.test {
            let result_name = match kind {
                Kind::Classification => "test_error",
                Kind::Regression => "test_nmse",
            };
            s[result_name] = json!(test.error);
            s["test_loss"] = json!(test.loss);
            s["test_rate_hz"] = json!(test.rate_hz);
            s["test_sequences"] = json!(o.test_sequences);
        }
        if let Some(per_epoch) = tr.task().epoch_iterations(cfg.batch) {
            s["data"] = json!(settings.get("data"));
            s["data_set"] = json!(settings.get("data.set"));
            s["epochs"] = json!(o.iterations as f64 / per_epoch as f64);
            if let (Kind::Classification, Some(test)) = (kind, &o.test) {
                s["test_accuracy"] = json!(1.0 - test.error);
            }
        }
        s
    }

    /// Write the metrics and a checkpoint of the current iteration (once per iteration).
    pub fn checkpoint(&mut self) -> Result<()> {
        self.checkpoint_ranked(None)
    }

    /// [`TrainingRun::checkpoint`] over several ranks (`ex`; every rank calls it): the lanes'
    /// rule states are gathered, then rank 0 writes.
    fn checkpoint_ranked(&mut self, ex: Option<&mut dyn Exchange>) -> Result<()> {
        if self.saved_at == Some(self.tr.iteration) {
            return Ok(());
        }
        if let Some(ex) = ex {
            self.tr.swap_rule_states(ex)?;
        }
        if !self.writes {
            self.saved_at = Some(self.tr.iteration);
            return Ok(());
        }
        self.write_metrics()?;
        let cfg = self.tr.config();
        let state = checkpoint::State {
            iteration: self.tr.iteration,
            task: self.tr.task().name().into(),
            task_seed: cfg.seed,
            seed: cfg.seed,
            batch: cfg.batch,
            rule: self.tr.rule_name().to_string(),
            fingerprint: checkpoint::fingerprint(self.tr.network()),
            eligo_version: env!("CARGO_PKG_VERSION").into(),
            settings: self.settings.clone(),
            files: Default::default(),
        };
        match &mut self.fault {
            Some(f) => checkpoint::save_with_faults(&self.out, &self.tr, &state, f)?,
            None => checkpoint::save(&self.out, &self.tr, &state)?,
        }
        self.saved_at = Some(self.tr.iteration);
        Ok(())
    }

    fn write_metrics(&self) -> Result<()> {
        if !self.writes {
            return Ok(());
        }
        crate::io::write_atomic(&self.metrics_path(), |w| {
            for l in &self.history {
                writeln!(w, "{l}")?;
            }
            Ok(())
        })?;
        if self
            .tr
            .task()
            .epoch_iterations(self.tr.config().batch)
            .is_some()
        {
            let epochs = epoch_lines(&self.history);
            crate::io::write_atomic(&self.out.join("epochs.jsonl"), |w| {
                for l in &epochs {
                    writeln!(w, "{l}")?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// `weights.npz`: the master weights and the readout biases.
    fn save_weights(&self) -> Result<()> {
        if !self.writes {
            return Ok(());
        }
        let net = self.tr.network();
        let mut biases = vec![Vec::new(); net.populations.len()];
        if let Some(r) = net.readout() {
            biases[r] = self.tr.biases().to_vec();
        }
        weights::save(&self.out.join("weights.npz"), net, &biases)
    }
}

/// Whether to stop before the next iteration: `obs`'s answer, or over several ranks rank 0's
/// observer's, told to every rank.
fn stop_everywhere(obs: &mut dyn Observer, ex: Option<&mut dyn Exchange>) -> Result<bool> {
    let Some(ex) = ex else {
        return Ok(obs.stop_requested());
    };
    let mine = u32::from(ex.rank() == 0 && obs.stop_requested());
    let (mut all, mut lens) = (Vec::new(), Vec::new());
    ex.all_gather(&[mine], &mut all, &mut lens)?;
    Ok(all.first() == Some(&1))
}

/// `epochs.jsonl`: per completed epoch (an iteration line with `epoch`), the means over its
/// iterations of the training loss, error and rate, with the validation measured at its end
/// (accuracies as `1 - error` for classification). Derived from the metrics lines alone, so a
/// resumed run writes the same file as an uninterrupted one.
fn epoch_lines(history: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let (mut n, mut loss, mut err, mut rate, mut has_err) = (0.0f64, 0.0, 0.0, 0.0, false);
    for l in history {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(l) else {
            continue;
        };
        n += 1.0;
        loss += v["loss"].as_f64().unwrap_or(f64::NAN);
        rate += v["rate_hz"].as_f64().unwrap_or(f64::NAN);
        if let Some(e) = v["train_error"].as_f64() {
            err += e;
            has_err = true;
        }
        let Some(epoch) = v["epoch"].as_u64() else {
            continue;
        };
        let mut line = serde_json::json!({
            "epoch": epoch,
            "iteration": v["iteration"],
            "train_loss": loss / n,
            "rate_hz": rate / n,
        });
        if has_err {
            line["train_accuracy"] = serde_json::json!(1.0 - err / n);
        }
        if let Some(vl) = v["validation_loss"].as_f64() {
            line["validation_loss"] = serde_json::json!(vl);
        }
        if let Some(ve) = v["validation_error"].as_f64() {
            match has_err {
                true => line["validation_accuracy"] = serde_json::json!(1.0 - ve),
                false => line["validation_nmse"] = serde_json::json!(ve),
            }
        }
        out.push(line.to_string());
        (n, loss, err, rate, has_err) = (0.0, 0.0, 0.0, 0.0, false);
    }
    out
}

/// The lines of `metrics.jsonl` up to `iteration` (a checkpoint's), which must be exactly one per
/// iteration 1..=iteration, in order: anything else means the metrics and the checkpoint are of
/// different runs or were edited.
pub(super) fn metrics_until(path: &Path, iteration: u64) -> Result<Vec<String>> {
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
            .in_file(path));
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
                .in_file(path));
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
        .in_file(path));
    }
    Ok(lines)
}

// A front end may run a training run on another thread than the one that built it (Python
// releases its interpreter lock while iterations run), so it must stay `Send`.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<TrainingRun>();
};
