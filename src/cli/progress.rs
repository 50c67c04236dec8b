//! A progress bar that appears only for runs longer than a second.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress over `total` steps; hidden when `quiet`, and until one second has passed.
pub struct Progress {
    bar: ProgressBar,
    start: Instant,
    quiet: bool,
}

impl Progress {
    /// A bar over `total` steps.
    pub fn new(total: u64, msg: &str, quiet: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} steps (eta {eta})",
            )
            .expect("valid template"),
        );
        bar.set_message(msg.to_string());
        Progress {
            bar,
            start: Instant::now(),
            quiet,
        }
    }

    /// Report that `pos` steps are done.
    pub fn set(&self, pos: u64) {
        if !self.quiet && self.bar.is_hidden() && self.start.elapsed() > Duration::from_secs(1) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.set_position(pos);
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
