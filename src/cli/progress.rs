//! Progress of long runs on stderr: `--progress auto|bar|lines|none`. A bar on a terminal; when
//! stderr is not a terminal (a log file, a batch job), a plain line every few seconds instead,
//! since a bar there draws nothing at all.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How a run shows its progress on stderr.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// A bar when stderr is a terminal, else lines.
    #[default]
    Auto,
    /// A bar (drawn only on a terminal).
    Bar,
    /// A line every few seconds ([`LINE_EVERY`]), for logs.
    Lines,
    /// Nothing.
    None,
}

/// The interval between progress lines: a log of an hour-long run stays a few hundred lines.
pub const LINE_EVERY: Duration = Duration::from_secs(5);

impl Mode {
    /// What to do: `quiet` shows nothing; `auto` a bar on a terminal, lines elsewhere.
    pub fn resolve(self, quiet: bool) -> Mode {
        match self {
            _ if quiet => Mode::None,
            Mode::Auto if std::io::stderr().is_terminal() => Mode::Bar,
            Mode::Auto => Mode::Lines,
            m => m,
        }
    }
}

/// When the next progress line is due (`Lines` mode); callable from the step loop's threads.
pub struct LineClock {
    next: Mutex<Instant>,
    every: Duration,
}

impl LineClock {
    /// A clock whose first line is due [`LINE_EVERY`] from now (test hook: the interval is
    /// `ELIGO_TEST_PROGRESS_EVERY_MS` milliseconds when that is set).
    pub fn new() -> Self {
        let every = std::env::var("ELIGO_TEST_PROGRESS_EVERY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(LINE_EVERY, Duration::from_millis);
        LineClock {
            next: Mutex::new(Instant::now() + every),
            every,
        }
    }

    /// Whether a line is due now (then the next is due one interval later).
    pub fn due(&self) -> bool {
        let now = Instant::now();
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        if now >= *next {
            *next = now + self.every;
            true
        } else {
            false
        }
    }
}

/// Progress over `total` steps of `dt_ms`, shown in model milliseconds; the bar appears after
/// one second.
pub struct Progress {
    bar: ProgressBar,
    start: Instant,
    mode: Mode,
    clock: LineClock,
    msg: String,
    dt_ms: f64,
    total: u64,
}

/// A model time for progress: `1234.5`, no float tail.
fn ms(steps: u64, dt_ms: f64) -> String {
    eligo_engine::limits::num((steps as f64 * dt_ms * 1e3).round() / 1e3)
}

impl Progress {
    /// Progress over `total` steps of `dt_ms`, shown as `mode` (resolved).
    pub fn new(total: u64, dt_ms: f64, msg: &str, mode: Mode) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{elapsed_precise}] {wide_bar} {model_ms} ms (eta {eta})",
            )
            .expect("valid template")
            .with_key(
                "model_ms",
                move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let len = s.len().unwrap_or(0);
                    let _ = write!(w, "{} / {}", ms(s.pos(), dt_ms), ms(len, dt_ms));
                },
            ),
        );
        bar.set_message(msg.to_string());
        Progress {
            bar,
            start: Instant::now(),
            mode,
            clock: LineClock::new(),
            msg: msg.to_string(),
            dt_ms,
            total,
        }
    }

    /// Report that `pos` steps are done.
    pub fn set(&self, pos: u64) {
        match self.mode {
            Mode::Bar => {
                if self.bar.is_hidden() && self.start.elapsed() > Duration::from_secs(1) {
                    self.bar.set_draw_target(ProgressDrawTarget::stderr());
                }
                self.bar.set_position(pos);
            }
            // a closed stderr must not stop the run (eprintln! would panic in the step loop)
            Mode::Lines if self.clock.due() => {
                _ = writeln!(
                    std::io::stderr(),
                    "{}: {} of {} ms model time ({:.0} %), {:.0} s",
                    self.msg,
                    ms(pos, self.dt_ms),
                    ms(self.total, self.dt_ms),
                    100.0 * pos as f64 / self.total.max(1) as f64,
                    self.start.elapsed().as_secs_f64()
                )
            }
            _ => {}
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
