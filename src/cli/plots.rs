//! Plots of a training run (PNG): filled in by the plotting work; for now nothing is drawn.

use std::path::Path;

use anyhow::Result;
use eligo_engine::task::Kind;

/// Loss and error curves from `metrics.jsonl` into `out/`.
pub fn training(_out: &Path, _metrics: &Path, _kind: Kind) -> Result<()> {
    Ok(())
}
