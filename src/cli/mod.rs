//! Subcommands.

pub mod bench;
pub mod events;
pub mod grad;
pub mod grad_batch;
pub mod interrupt;
pub mod memory;
pub mod mpi;
#[cfg(feature = "hdf5")]
pub mod nir;
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

/// A network description: a TOML file, or a NIR file (`.nir`, discretized at `dt_ms`, default
/// 1 ms; needs the `hdf5` feature).
pub fn load_description(
    path: &std::path::Path,
    dt_ms: Option<f64>,
) -> anyhow::Result<eligo_engine::io::config::SimConfig> {
    #[cfg(feature = "hdf5")]
    {
        nir::load(path, dt_ms)
    }
    #[cfg(not(feature = "hdf5"))]
    {
        if path.extension().is_some_and(|e| e == "nir") || dt_ms.is_some() {
            return Err(eligo_engine::Error::input(
                "--dt-ms",
                "",
                "NIR files need eligo built with the hdf5 feature",
                "cargo build --release --features hdf5",
            )
            .in_file(path)
            .into());
        }
        Ok(eligo_engine::io::config::load(path)?)
    }
}
