//! What `eligo train` shows and writes around the engine's training run: the progress bar (an
//! observer of the run), `summary.json`, the plots and the closing line.

use std::io::Write;
use std::time::Instant;

use anyhow::Result;
use eligo_engine::Error;
use eligo_engine::task::{Kind, Split};
use eligo_engine::train::checkpoint::SaveStep;
use eligo_engine::train::{Ending, Iteration, Observer, Outcome, Trainer, TrainingRun};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::progress::{LineClock, Mode};

/// The progress bar: loss, rate, batch and last validation accuracy; polls SIGINT/SIGTERM.
pub struct Bar {
    bar: ProgressBar,
    last_validation: Option<f64>,
    /// `Some` in lines mode: when the next line is due.
    lines: Option<LineClock>,
}

impl Bar {
    /// Progress shown as `mode` (resolved): a bar, lines, or nothing.
    pub fn new(mode: Mode) -> Bar {
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
            last_validation: None,
            lines: (mode == Mode::Lines).then(LineClock::new),
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Bar {
    fn on_start(&mut self, tr: &Trainer, iteration: u64, iterations: u64) {
        self.bar.set_length(iterations);
        self.bar
            .set_prefix(format!("{} / {}", tr.task().name(), tr.rule_name()));
        self.bar.set_position(iteration);
    }

    fn on_iteration(&mut self, it: &Iteration) {
        let mut msg = format!("loss {:.4}  rate {:.1} Hz", it.loss, it.rate_hz);
        if let Some(e) = it.train_error {
            msg = format!("{msg}  batch acc {:.0} %", 100.0 * (1.0 - e));
        }
        if it.validation_error.is_some() {
            self.last_validation = it.validation_error;
        }
        if let Some(e) = self.last_validation {
            // the last validation, kept on the bar until the next one
            msg = format!("{msg}  val acc {:.1} %", 100.0 * (1.0 - e));
        }
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

/// Test hooks: with `ELIGO_TEST_CRASH_CHECKPOINT` set, every checkpoint write stops once its
/// temporary copy is complete (a crash before the renames).
pub fn test_hooks(run: &mut TrainingRun) {
    if std::env::var_os("ELIGO_TEST_CRASH_CHECKPOINT").is_some() {
        run.set_fault_hook(|step| match step {
            SaveStep::RemoveStaleOld => Err(Error::Rule(
                "test crash between the temporary write and the rename".into(),
            )),
            _ => Ok(()),
        });
    }
}

/// Put a staged plot into place.
fn commit(staged: Result<eligo_engine::io::Staged>) -> Result<()> {
    Ok(staged?.commit()?)
}

/// `summary.json`, `loss.png`, `sample.png`, `raster.png`, `rates.png` and the closing line of a
/// finished run; a run stopped by a signal (checkpointed) returns the `Interrupted` error instead.
pub fn finish(run: &mut TrainingRun, o: &Outcome, t_start: Instant, quiet: bool) -> Result<()> {
    let tr = run.trainer();
    let out = run.out().to_path_buf();
    if let Ending::Interrupted(it) = o.ending {
        let c = out.join("checkpoint");
        return super::interrupt::check(|| {
            format!(
                "checkpoint of iteration {it} written to {}; continue with --resume {}",
                c.display(),
                out.display()
            )
        });
    }
    let kind = tr.task().kind();
    let by_epoch = tr.task().epoch_iterations(tr.config().batch).is_some();
    let rule = tr.rule_name().to_string();
    let test = o.test.as_ref().expect("a finished run has a test result");
    let mut summary = run.summary(o);
    summary["wall_s"] = json!(t_start.elapsed().as_secs_f64());
    summary["out"] = json!(out.display().to_string());
    // the whole run's, up to here (the final test included)
    summary["peak_rss_mib"] = json!(super::memory::peak_rss_bytes().map(|b| b as f64 / 1048576.0));
    let title = format!("{} / {rule}", tr.task().name());
    // the recorded test sample: its plots, and the per-population rates of the summary
    let rec = run.trainer_mut().record_sample(Split::Test, 0)?;
    let tr = run.trainer();
    let sample = tr.task().sample(Split::Test, 0)?;
    let (layout, input) = (tr.task().layout(), tr.task().input_population());
    let activity =
        super::plots::recording_activity(tr.network(), input, &rec, &sample.loss, &layout)?;
    summary["rates_hz"] = super::plots::rates_json(&activity.rates_hz());
    summary["rates_hz_of"] = json!("test sample 0 (the one sample.png shows)");
    let text = serde_json::to_string_pretty(&summary)?;
    eligo_engine::io::write_atomic(&out.join("summary.json"), |w| writeln!(w, "{text}"))?;
    if let Err(e) = super::plots::training(&out, &run.metrics_path(), kind, &title) {
        super::stderr::line(format_args!("warning: loss plot not written: {e:#}"));
    }
    let net = tr.network();
    let sample_title = format!("{title}: test sample 0");
    for (name, result) in [
        (
            "sample",
            super::plots::sample(&out, &title, net, input, &rec, &sample.loss, &layout),
        ),
        ("raster", commit(activity.raster_png(&out, &sample_title))),
        ("rate", commit(activity.rates_png(&out, &sample_title))),
    ] {
        if let Err(e) = result {
            super::stderr::line(format_args!("warning: {name} plot not written: {e:#}"));
        }
    }
    if !quiet {
        let n = o.test_sequences;
        let result = match kind {
            Kind::Classification if by_epoch => format!(
                "test accuracy {:.1} % ({n} sequences)",
                100.0 * (1.0 - test.error)
            ),
            Kind::Classification => {
                format!("test error {:.1} % ({n} sequences)", 100.0 * test.error)
            }
            Kind::Regression => format!("test normalized MSE {:.4} ({n} sequences)", test.error),
        };
        println!(
            "{} / {rule}: {result} after {} iterations ({:.3} s per iteration); results in {}",
            tr.task().name(),
            o.iterations,
            o.seconds_per_iteration,
            out.display()
        );
    }
    Ok(())
}
