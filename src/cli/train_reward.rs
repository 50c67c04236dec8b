//! `eligo train --reward`: closed-loop, reward-based training on an environment (the engine's
//! `eligo_engine::train::agent_run::AgentRun`), its progress bar, `summary.json`, the
//! learning-curve plot and the closing line.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use eligo_engine::Error;
use eligo_engine::train::agent::AgentTrainer;
use eligo_engine::train::agent_run::{
    AgentEnding, AgentIteration, AgentObserver, AgentRun, AgentSchedule, WINDOW,
};
use eligo_engine::train::agent_setup::AgentSpec;
use eligo_engine::train::checkpoint::SaveStep;
use eligo_engine::train::setup::{ParamSetting, train_params};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::progress::{LineClock, Mode};
use super::train::Args;

/// Iterations unless given.
const DEFAULT_ITERATIONS: u64 = 100;

/// The forms of the reward-based rule `--form` accepts.
const FORMS: [&str; 2] = ["td", "a2c"];

/// Refuse the values the run cannot take, naming the flag.
fn check(a: &Args) -> Result<(), Error> {
    if a.rule.len() != 1 {
        return Err(Error::input(
            "--rule",
            a.rule.join(", "),
            "a closed-loop run (--reward) trains one rule",
            "give one --rule (eprop)",
        ));
    }
    if let Some(f) = &a.form
        && !FORMS.contains(&f.as_str())
    {
        return Err(Error::input(
            "--form",
            f,
            format!("allowed: {}", FORMS.join(", ")),
            "td is the paper's TD-error rule, a2c the authors' forward view",
        ));
    }
    if let Some(g) = a.gamma
        && !(0.0..=1.0).contains(&g)
    {
        return Err(Error::input(
            "--gamma",
            g,
            "the discount per agent step must be in [0, 1]",
            "e.g. --gamma 0.99",
        ));
    }
    if let Some(r) = a.target_return
        && !r.is_finite()
    {
        return Err(Error::input(
            "--target-return",
            r,
            "must be a finite number",
            "e.g. --target-return 195 (CartPole-v1's criterion)",
        ));
    }
    if a.iterations == Some(0) {
        return Err(Error::input(
            "--iterations",
            0,
            "must be at least 1",
            format!("leave it out for {DEFAULT_ITERATIONS}"),
        ));
    }
    if !(a.scale.is_finite() && a.scale > 0.0 && a.scale <= 1.0) {
        return Err(Error::input(
            "--scale",
            a.scale,
            "must be in (0, 1]",
            "1 is the environment as published",
        ));
    }
    Ok(())
}

/// The user's rule parameters: `train`'s (`--feedback`, `--mode`, `--param`), then `--form`
/// and `--gamma`, which the rule must declare.
fn params(a: &Args) -> Result<Vec<ParamSetting>, Error> {
    let mut p = train_params(&a.param, a.feedback.as_deref(), a.mode.as_deref())?;
    let gamma = a.gamma.map(|g| format!("{g:?}"));
    for (flag, name, value) in [
        ("--form", "form", a.form.clone()),
        ("--gamma", "gamma", gamma),
    ] {
        if let Some(value) = value {
            p.push(ParamSetting {
                field: flag.into(),
                name: name.into(),
                value,
                if_declared: false,
            });
        }
    }
    Ok(p)
}

/// Run `train --reward`.
pub fn run(a: Args) -> Result<()> {
    let t_start = Instant::now();
    super::interrupt::install();
    check(&a)?;
    let spec = AgentSpec {
        env: a.task.clone(),
        scale: a.scale,
        seed: a.seed,
        rule: a.rule[0].clone(),
        plugin_dirs: a.plugin_dir.clone(),
        params: params(&a)?,
        rule_config: a.rule_config.first().cloned(),
        batch: a.batch,
        lr: a.lr,
        threads: super::threads::resolve(a.threads, a.quiet)?,
        agent_steps: a.agent_steps,
        max_agent_steps: a.max_agent_steps,
    };
    let (tr, settings) = spec.build()?;
    let out = (a.resume.clone().or(a.out.clone())).unwrap_or_else(|| {
        PathBuf::from(format!(
            "out/train-{}-reward-{}",
            tr.env_name(),
            tr.rule_name()
        ))
    });
    let out_dir = super::outdir::OutDir::create(&out)?;
    let mut run = match &a.resume {
        Some(dir) => {
            let (run, overridden) = AgentRun::resume(tr, dir, settings, &a.resume_override)?;
            for o in &overridden {
                super::stderr::line(format_args!(
                    "warning: --resume-override: continuing with another {o}"
                ));
            }
            run
        }
        None => AgentRun::new(tr, &out, settings),
    };
    if std::env::var_os("ELIGO_TEST_CRASH_CHECKPOINT").is_some() {
        run.set_fault(Box::new(|step| match step {
            SaveStep::RemoveStaleOld => Err(Error::Rule(
                "test crash between the temporary write and the rename".into(),
            )),
            _ => Ok(()),
        }));
    }
    let schedule = AgentSchedule {
        iterations: a.iterations.unwrap_or(DEFAULT_ITERATIONS),
        checkpoint_every: a.checkpoint_every,
        target_return: a.target_return,
    };
    // the bar is cleared when dropped, at the end of this statement
    let outcome = run.run(&schedule, &mut Bar::new(a.progress.resolve(a.quiet)))?;
    out_dir.keep();
    if let AgentEnding::Interrupted(it) = outcome.ending {
        let c = out.join("checkpoint");
        return super::interrupt::check(|| {
            format!(
                "checkpoint of iteration {it} written to {}; continue with --resume {}",
                c.display(),
                out.display()
            )
        });
    }
    let tr = run.trainer();
    let title = format!("{} / {} (reward)", tr.env_name(), tr.rule_name());
    let mut summary = run.summary(&outcome);
    summary["wall_s"] = json!(t_start.elapsed().as_secs_f64());
    summary["out"] = json!(out.display().to_string());
    summary["peak_rss_mib"] = json!(super::memory::peak_rss_bytes().map(|b| b as f64 / 1048576.0));
    let text = serde_json::to_string_pretty(&summary)?;
    eligo_engine::io::write_atomic(&out.join("summary.json"), |w| writeln!(w, "{text}"))?;
    if let Err(e) = super::plots::learning_curve(&out, run.returns(), &title, a.target_return) {
        super::stderr::line(format_args!(
            "warning: learning-curve plot not written: {e:#}"
        ));
    }
    if !a.quiet {
        let reached = match outcome.ending {
            AgentEnding::Reached(e) => format!(
                "; the target {} was reached at episode {e}",
                a.target_return.unwrap_or_default()
            ),
            _ => String::new(),
        };
        println!(
            "{title}: mean return of the last {} episodes {:.2} ({:.1} % of them positive) after {} episodes ({} iterations, {:.3} s per iteration){reached}; results in {}",
            WINDOW.min(outcome.episodes as usize),
            outcome.moving_average,
            100.0 * outcome.moving_positive,
            outcome.episodes,
            outcome.iterations,
            outcome.seconds_per_iteration,
            out.display()
        );
    }
    Ok(())
}

/// The progress bar: mean return of the batch, moving average, episode length, rate; polls
/// SIGINT/SIGTERM.
struct Bar {
    bar: ProgressBar,
    /// `Some` in lines mode: when the next line is due.
    lines: Option<LineClock>,
}

impl Bar {
    fn new(mode: Mode) -> Bar {
        let target = if mode == Mode::Bar {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} it  {msg}",
            )
            .expect("template"),
        );
        Bar {
            bar,
            lines: (mode == Mode::Lines).then(LineClock::new),
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

impl AgentObserver for Bar {
    fn on_start(&mut self, tr: &AgentTrainer, iteration: u64, iterations: u64) {
        self.bar.set_length(iterations);
        self.bar
            .set_prefix(format!("{} / {} (reward)", tr.env_name(), tr.rule_name()));
        self.bar.set_position(iteration);
    }

    fn on_iteration(&mut self, it: &AgentIteration) {
        let msg = format!(
            "return {:.1}  mean of last {} {:.1} ({:.0} % > 0)  length {:.0}  rate {:.1} Hz",
            it.mean_return,
            WINDOW.min(it.episodes as usize),
            it.moving_average,
            100.0 * it.moving_positive,
            it.mean_length,
            it.metrics.rate_hz
        );
        if self.lines.as_ref().is_some_and(LineClock::due) {
            // a closed stderr must not stop the run (eprintln! would panic)
            _ = writeln!(
                std::io::stderr(),
                "{}: iteration {}/{}  {msg}",
                self.bar.prefix(),
                it.iteration,
                self.bar.length().unwrap_or(0)
            );
        }
        self.bar.set_message(msg);
        self.bar.set_position(it.iteration);
    }

    fn stop_requested(&mut self) -> bool {
        super::interrupt::requested().is_some()
    }
}
