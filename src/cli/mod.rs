//! Subcommands.

pub mod bench;
pub mod events;
pub mod grad;
pub mod plots;
pub mod plugins;
pub mod progress;
pub mod rule;
pub mod simulate;
pub mod train;

/// 2 for bad input, 1 otherwise.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<eligo_engine::Error>() {
        Some(err) if err.is_input() => 2,
        _ => 1,
    }
}
