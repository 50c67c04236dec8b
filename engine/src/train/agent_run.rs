//! A closed-loop training run: iterations of [`AgentTrainer`], metrics, checkpoints, resume and
//! the stop at a target return — what `eligo train --reward` runs.
//!
//! What a run writes to its directory:
//! - `metrics.jsonl`: one JSON line per iteration: `iteration`, `returns` (each episode's
//!   return, in episode order), `lengths` (agent steps), `mean_return`, `mean_length`,
//!   `moving_average` (mean return of the last [`WINDOW`] episodes, fewer at the start),
//!   `positive` (the fraction of the batch's episodes with a return > 0; in the evidence task
//!   the fraction of correct choices) and `moving_positive` (the same over the last
//!   [`WINDOW`] episodes), `episodes` (done so far), `network_steps` (of the batch),
//!   `rate_hz`, `seconds` (wall time of the iteration), and the rule's diagnostics as
//!   `"rule": {NAME: VALUE}`;
//! - `returns.npy`: every episode's return (float64, episode order);
//! - `checkpoint/` ([`super::checkpoint`]) and, at the end, `weights.npz`.
//!
//! The metrics and returns are rewritten whole at each checkpoint, so they always match the
//! newest checkpoint; a resume reads them back (the returns exactly, for the moving average)
//! and continues bit for bit as the uninterrupted run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::agent::{AgentMetrics, AgentTrainer};
use super::checkpoint::{self, SaveStep, Settings};
use crate::error::{Error, Result};
use crate::io::weights;

/// Episodes of the moving average (CartPole-v1 counts as solved at a mean of 195 over 100).
pub const WINDOW: usize = 100;

/// What one iteration measured, as reported to observers and written to `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentIteration {
    /// Iterations done (1 for the first).
    pub iteration: u64,
    /// The batch's measures.
    pub metrics: AgentMetrics,
    /// Mean return of the batch's episodes.
    pub mean_return: f64,
    /// Mean episode length (agent steps).
    pub mean_length: f64,
    /// Mean return of the last [`WINDOW`] episodes (all so far while fewer).
    pub moving_average: f64,
    /// Fraction of the batch's episodes with a positive return.
    pub positive: f64,
    /// Fraction of the last [`WINDOW`] episodes with a positive return.
    pub moving_positive: f64,
    /// Episodes done, resumed ones included.
    pub episodes: u64,
    /// Wall time of the iteration (s).
    pub seconds: f64,
}

impl AgentIteration {
    /// The `metrics.jsonl` line.
    pub fn json(&self) -> String {
        let m = &self.metrics;
        let mut line = serde_json::json!({
            "iteration": self.iteration,
            "returns": m.returns,
            "lengths": m.lengths,
            "mean_return": self.mean_return,
            "mean_length": self.mean_length,
            "moving_average": self.moving_average,
            "positive": self.positive,
            "moving_positive": self.moving_positive,
            "episodes": self.episodes,
            "network_steps": m.steps,
            "rate_hz": m.rate_hz,
            "seconds": self.seconds,
        });
        if !m.diagnostics.is_empty() {
            line["rule"] = serde_json::Value::Object(
                m.diagnostics
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::json!(v)))
                    .collect(),
            );
        }
        line.to_string()
    }
}

/// Watches a run (every method has a default).
pub trait AgentObserver {
    /// Once, before the first iteration of this call.
    fn on_start(&mut self, _tr: &AgentTrainer, _iteration: u64, _iterations: u64) {}
    /// After every iteration.
    fn on_iteration(&mut self, _it: &AgentIteration) {}
    /// Polled before every iteration: `true` stops the run with a checkpoint.
    fn stop_requested(&mut self) -> bool {
        false
    }
}

/// How a run is scheduled.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSchedule {
    /// Stop after this many iterations in all (resumed ones included).
    pub iterations: u64,
    /// Write a checkpoint every this many iterations (>= 1), and after the last.
    pub checkpoint_every: u64,
    /// Stop once the mean return of the last [`WINDOW`] episodes (a full window) reaches this.
    pub target_return: Option<f64>,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentEnding {
    /// All iterations done.
    Finished,
    /// The moving average reached the target at this episode (1-based, counting from the
    /// run's start).
    Reached(u64),
    /// An observer asked to stop; the checkpoint of this iteration resumes it.
    Interrupted(u64),
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentOutcome {
    /// Why it ended.
    pub ending: AgentEnding,
    /// Iterations done in all.
    pub iterations: u64,
    /// Episodes done in all.
    pub episodes: u64,
    /// Mean return of the last [`WINDOW`] episodes.
    pub moving_average: f64,
    /// Fraction of the last [`WINDOW`] episodes with a positive return.
    pub moving_positive: f64,
    /// Mean wall time of the iterations of this call (s).
    pub seconds_per_iteration: f64,
}

/// One closed-loop training run in a directory.
pub struct AgentRun {
    tr: AgentTrainer,
    out: PathBuf,
    settings: Settings,
    /// `metrics.jsonl` lines, one per iteration done.
    history: Vec<String>,
    /// Every episode's return, in episode order.
    returns: Vec<f64>,
    saved_at: Option<u64>,
    /// Fault injection of the checkpoint's save steps (tests).
    fault: Option<Box<dyn FnMut(SaveStep) -> Result<()> + Send>>,
}

/// The mean of the last [`WINDOW`] of `returns` (all of them while fewer; 0 for none).
pub fn moving_average(returns: &[f64]) -> f64 {
    let w = &returns[returns.len().saturating_sub(WINDOW)..];
    w.iter().sum::<f64>() / w.len().max(1) as f64
}

/// The fraction of `returns` that are positive (0 for none): in the evidence task (+1 right,
/// -1 wrong) the fraction of correct choices.
pub fn positive_fraction(returns: &[f64]) -> f64 {
    returns.iter().filter(|&&r| r > 0.0).count() as f64 / returns.len().max(1) as f64
}

/// [`positive_fraction`] of the last [`WINDOW`] of `returns`.
pub fn moving_positive(returns: &[f64]) -> f64 {
    positive_fraction(&returns[returns.len().saturating_sub(WINDOW)..])
}

impl AgentRun {
    /// A new run of `tr` writing into `out`, whose checkpoints record `settings`.
    pub fn new(tr: AgentTrainer, out: &Path, settings: Settings) -> Self {
        AgentRun {
            tr,
            out: out.to_path_buf(),
            settings,
            history: Vec::new(),
            returns: Vec::new(),
            saved_at: None,
            fault: None,
        }
    }

    /// Continue the run in `dir` from its checkpoint, which must have been written with this
    /// run's `settings` (differences named in `overrides` are accepted and returned); its
    /// metrics and returns must be those of the checkpoint's iterations.
    pub fn resume(
        mut tr: AgentTrainer,
        dir: &Path,
        settings: Settings,
        overrides: &[String],
    ) -> Result<(Self, Vec<String>)> {
        let (s, parts, overridden) = checkpoint::load_parts(
            dir,
            (tr.network(), tr.env_name(), tr.rule_name()),
            (tr.optimizers(), tr.has_gradient_rule(), tr.lanes() as u64),
            &settings,
            overrides,
        )?;
        tr.restore(parts, s.iteration)?;
        let history = super::run::metrics_until(&dir.join("metrics.jsonl"), s.iteration)?;
        let n = s.iteration.saturating_mul(tr.config().batch as u64);
        let returns = read_returns(&dir.join("returns.npy"), n)?;
        let mut run = AgentRun::new(tr, dir, settings);
        run.history = history;
        run.returns = returns;
        run.saved_at = Some(s.iteration);
        Ok((run, overridden))
    }

    /// The trainer.
    pub fn trainer(&self) -> &AgentTrainer {
        &self.tr
    }

    /// The `metrics.jsonl` lines of every iteration done (resumed ones included).
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// Every episode's return so far.
    pub fn returns(&self) -> &[f64] {
        &self.returns
    }

    /// `metrics.jsonl` in the run's directory.
    pub fn metrics_path(&self) -> PathBuf {
        self.out.join("metrics.jsonl")
    }

    /// The run's settings (as its checkpoints record them).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Call `f` before each step of every checkpoint save (fault injection for tests).
    pub fn set_fault(&mut self, f: Box<dyn FnMut(SaveStep) -> Result<()> + Send>) {
        self.fault = Some(f);
    }

    /// Run until `schedule.iterations`, the target return or an observer's stop; then, unless
    /// stopped, write `weights.npz`.
    pub fn run(
        &mut self,
        schedule: &AgentSchedule,
        obs: &mut dyn AgentObserver,
    ) -> Result<AgentOutcome> {
        if schedule.checkpoint_every == 0 {
            return Err(Error::input(
                "--checkpoint-every",
                0,
                format!("must be between 1 and {} iterations", u64::MAX),
                "leave it out for the default, a checkpoint every 25 iterations",
            ));
        }
        let it0 = self.tr.iteration;
        obs.on_start(&self.tr, it0, schedule.iterations);
        let t_train = Instant::now();
        let mut ending = AgentEnding::Finished;
        while self.tr.iteration < schedule.iterations {
            if obs.stop_requested() {
                ending = AgentEnding::Interrupted(self.tr.iteration);
                break;
            }
            let t0 = Instant::now();
            let m = self.tr.step()?;
            let seconds = t0.elapsed().as_secs_f64();
            for &r in &m.returns {
                self.returns.push(r);
                if let Some(target) = schedule.target_return
                    && ending == AgentEnding::Finished
                    && self.returns.len() >= WINDOW
                    && moving_average(&self.returns) >= target
                {
                    ending = AgentEnding::Reached(self.returns.len() as u64);
                }
            }
            let n = m.returns.len().max(1) as f64;
            let report = AgentIteration {
                iteration: self.tr.iteration,
                mean_return: m.returns.iter().sum::<f64>() / n,
                mean_length: m.lengths.iter().sum::<u64>() as f64 / n,
                moving_average: moving_average(&self.returns),
                positive: positive_fraction(&m.returns),
                moving_positive: moving_positive(&self.returns),
                episodes: self.returns.len() as u64,
                seconds,
                metrics: m,
            };
            self.history.push(report.json());
            obs.on_iteration(&report);
            let it = self.tr.iteration;
            if it.is_multiple_of(schedule.checkpoint_every)
                || it == schedule.iterations
                || ending != AgentEnding::Finished
            {
                self.checkpoint()?;
            }
            if ending != AgentEnding::Finished {
                break;
            }
        }
        let done = self.tr.iteration - it0;
        let seconds_per_iteration = t_train.elapsed().as_secs_f64() / done.max(1) as f64;
        self.checkpoint()?;
        if !matches!(ending, AgentEnding::Interrupted(_)) {
            self.save_weights()?;
        }
        Ok(AgentOutcome {
            ending,
            iterations: self.tr.iteration,
            episodes: self.returns.len() as u64,
            moving_average: moving_average(&self.returns),
            moving_positive: moving_positive(&self.returns),
            seconds_per_iteration,
        })
    }

    /// What `summary.json` says of the run and its outcome `o`.
    pub fn summary(&self, o: &AgentOutcome) -> serde_json::Value {
        let cfg = self.tr.config();
        let get = |k: &str| self.settings.get(k);
        serde_json::json!({
            "task": self.tr.env_name(), "rule": self.tr.rule_name(), "reward": true,
            "form": get("rule.form"), "feedback": get("rule.feedback"),
            "gamma": get("rule.gamma").and_then(|s| s.parse::<f64>().ok()),
            "lr": get("lr").and_then(|s| s.parse::<f64>().ok()),
            "iterations": o.iterations, "episodes": o.episodes,
            "episodes_per_batch": cfg.batch, "agent_steps": cfg.agent_steps,
            "max_agent_steps": cfg.max_agent_steps, "threads": cfg.threads, "seed": cfg.seed,
            "moving_average": o.moving_average, "moving_average_window": WINDOW,
            "moving_positive": o.moving_positive,
            "target_reached_at_episode": match o.ending { AgentEnding::Reached(e) => Some(e), _ => None },
            "interrupted": matches!(o.ending, AgentEnding::Interrupted(_)),
            "seconds_per_iteration": o.seconds_per_iteration,
        })
    }

    /// Write the metrics, the returns and a checkpoint of the current iteration (once per
    /// iteration).
    pub fn checkpoint(&mut self) -> Result<()> {
        if self.saved_at == Some(self.tr.iteration) {
            return Ok(());
        }
        self.write_metrics()?;
        let cfg = self.tr.config();
        let state = checkpoint::State {
            iteration: self.tr.iteration,
            task: self.tr.env_name().into(),
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
        crate::io::write_atomic(&self.metrics_path(), |w| {
            for l in &self.history {
                writeln!(w, "{l}")?;
            }
            Ok(())
        })?;
        crate::io::write_atomic(&self.out.join("returns.npy"), |w| {
            use npyz::WriterBuilder;
            let mut out = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&[self.returns.len() as u64])
                .writer(w)
                .begin_nd()?;
            out.extend(self.returns.iter().copied())?;
            out.finish()
        })
    }

    /// `weights.npz`: the master weights and the readout biases.
    fn save_weights(&self) -> Result<()> {
        let net = self.tr.network();
        let mut biases = vec![Vec::new(); net.populations.len()];
        if let Some(r) = net.readout() {
            biases[r] = self.tr.biases().to_vec();
        }
        weights::save(&self.out.join("weights.npz"), net, &biases)
    }
}

/// The first `n` returns of `returns.npy` (a 1-D float64 array of at least `n` values).
fn read_returns(path: &Path, n: u64) -> Result<Vec<f64>> {
    let bad = |what: String| {
        Error::input(
            "returns.npy",
            path.display(),
            what,
            "the returns do not belong to this checkpoint; resume from an intact --out directory",
        )
    };
    if n == 0 {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| bad(format!("not a .npy: {e}")))?;
    if npy.shape().len() != 1 {
        return Err(bad(format!(
            "shape {:?}; expected one dimension",
            npy.shape()
        )));
    }
    let v: Vec<f64> = npy
        .into_vec::<f64>()
        .map_err(|e| bad(format!("not float64 values: {e}")))?;
    if (v.len() as u64) < n {
        return Err(bad(format!(
            "{} returns; the checkpoint needs the {n} of its episodes",
            v.len()
        )));
    }
    Ok(v[..n as usize].to_vec())
}

// A front end may run a training run on another thread than the one that built it.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<AgentRun>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_moving_average_takes_the_last_window() {
        assert_eq!(moving_average(&[]), 0.0);
        assert_eq!(moving_average(&[1.0, 3.0]), 2.0);
        let r: Vec<f64> = (0..150).map(f64::from).collect();
        // the last 100: 50..=149
        assert_eq!(moving_average(&r), 99.5);
        assert_eq!(positive_fraction(&[]), 0.0);
        assert_eq!(positive_fraction(&[1.0, -1.0, 0.0, 2.0]), 0.5);
        // the window: 100 episodes of which the last 25 are positive
        let r: Vec<f64> = (0..150).map(|i| if i < 125 { -1.0 } else { 1.0 }).collect();
        assert_eq!(moving_positive(&r), 0.25);
    }
}
