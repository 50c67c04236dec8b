//! Subcommands.

pub mod bench;
pub mod events;
pub mod grad;
pub mod grad_batch;
pub mod interrupt;
pub mod memory;
pub mod mpi;
pub mod outdir;
pub mod plots;
pub mod plugins;
pub mod progress;
pub mod rule;
pub mod simulate;
pub mod stderr;
pub mod threads;
pub mod train;
pub mod train_report;
pub mod train_reward;

/// 2 for bad input, 128 + signal for a run stopped by SIGINT/SIGTERM, 1 otherwise.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(i) = e.downcast_ref::<interrupt::Interrupted>() {
        return u8::try_from(128 + i.signal).unwrap_or(130);
    }
    match e.downcast_ref::<eligo_engine::Error>() {
        Some(err) if err.is_input() => 2,
        _ => 1,
    }
}
