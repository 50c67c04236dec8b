//! SIGINT / SIGTERM: a flag that long runs poll between chunks, so that they can remove their
//! temporary files (`simulate`) or write a checkpoint they can resume from (`train`) and exit
//! with the conventional code 128 + signal (130 for Ctrl-C, 143 for SIGTERM).
//!
//! A second signal while the first is being handled ends the process at once (the default
//! action), so a stuck clean-up can always be interrupted.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

struct Flags {
    raised: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

static FLAGS: OnceLock<Flags> = OnceLock::new();

/// Install the handlers (idempotent) and return the flag that a signal sets. Call it before a
/// long run; engine loops that take a stop flag can be handed this one.
pub fn install() -> &'static AtomicBool {
    let f = FLAGS.get_or_init(|| {
        let raised = Arc::new(AtomicBool::new(false));
        let signal = Arc::new(AtomicUsize::new(0));
        for sig in [SIGINT, SIGTERM] {
            // a second signal while the flag is already set terminates at once
            let _ = signal_hook::flag::register_conditional_default(sig, Arc::clone(&raised));
            let _ = signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize);
            let _ = signal_hook::flag::register(sig, Arc::clone(&raised));
        }
        Flags { raised, signal }
    });
    &f.raised
}

/// The signal received since [`install`], if any.
pub fn requested() -> Option<i32> {
    let f = FLAGS.get()?;
    f.raised
        .load(Ordering::SeqCst)
        .then(|| f.signal.load(Ordering::SeqCst))
        .and_then(|s| i32::try_from(s).ok())
        .filter(|&s| s != 0)
}

/// The error a run returns when it stopped on a signal; `main` maps it to 128 + signal.
#[derive(Debug)]
pub struct Interrupted {
    /// The signal number (2 SIGINT, 15 SIGTERM).
    pub signal: i32,
    /// What was done about it, e.g. "checkpoint written to out/x/checkpoint; resume with --resume".
    pub what: String,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = if self.signal == SIGTERM {
            "SIGTERM"
        } else {
            "SIGINT"
        };
        write!(f, "interrupted by {name}")?;
        if !self.what.is_empty() {
            write!(f, ": {}", self.what)?;
        }
        Ok(())
    }
}

impl std::error::Error for Interrupted {}

/// Return `Err(Interrupted)` if a signal arrived (for use between chunks of a run).
pub fn check(what: impl FnOnce() -> String) -> anyhow::Result<()> {
    match requested() {
        Some(signal) => Err(Interrupted {
            signal,
            what: what(),
        }
        .into()),
        None => Ok(()),
    }
}
