//! `eligo nir import|export`: NIR graphs (docs/nir.md) to network descriptions and back.

use std::path::{Path, PathBuf};

use anyhow::Result;
use eligo_engine::io::config::{self, SimConfig};
use eligo_engine::nir::Discretization;

/// `eligo nir ...`.
#[derive(clap::Subcommand)]
pub enum NirCmd {
    /// Write the network description (TOML) of a NIR graph, on stdout or to --out.
    Import(ImportArgs),
    /// Write a network (description plus trained weights) as a NIR graph.
    Export(ExportArgs),
}

/// Arguments of `nir import`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The NIR file (HDF5, as written by nir.write).
    pub model: PathBuf,
    /// Time step (ms) the continuous-time nodes are discretized at (snnTorch exports assume
    /// 0.1 ms).
    #[arg(long, default_value_t = 1.0)]
    pub dt_ms: f64,
    /// euler (as snnTorch, Norse and Spyx simulate) or exact.
    #[arg(long, default_value = "euler")]
    pub discretization: String,
    /// Write the description here (under a temporary name, then renamed) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Arguments of `nir export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// The network description (TOML, or a .nir file).
    pub config: PathBuf,
    /// The NIR file to write (under a temporary name, then renamed).
    pub model: PathBuf,
    /// Trained weights (weights.npz of `eligo train`/`simulate`); default: the description's.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// euler or exact; default: the [nir] table's, else euler.
    #[arg(long)]
    pub discretization: Option<String>,
}

/// Run `eligo nir`.
pub fn run(c: NirCmd) -> Result<()> {
    match c {
        NirCmd::Import(a) => {
            let disc = Discretization::parse(&a.discretization, "--discretization")?;
            let f = eligo_engine::io::nir::read(&a.model)?;
            let source = std::fs::canonicalize(&a.model).unwrap_or(a.model.clone());
            let table = eligo_engine::nir::import(&f, a.dt_ms, disc, Some(&source))
                .map_err(|e| e.in_file(&a.model))?;
            // the description must be one the parser takes
            config::parse_table(table.clone()).map_err(|e| e.in_file(&a.model))?;
            let text = toml::to_string(&table)?;
            match &a.out {
                None => print!("{text}"),
                Some(p) => eligo_engine::io::write_atomic(p, |w| {
                    std::io::Write::write_all(w, text.as_bytes())
                })?,
            }
            Ok(())
        }
        NirCmd::Export(a) => {
            let disc = a
                .discretization
                .as_deref()
                .map(|d| Discretization::parse(d, "--discretization"))
                .transpose()?;
            let cfg = load(&a.config, None)?;
            let mut net = cfg.network.build().map_err(|e| e.in_file(&a.config))?;
            let mut biases = eligo_engine::io::weights::default_biases(&net);
            if let Some(w) = &a.weights {
                eligo_engine::io::weights::load(w, &mut net, &mut biases)?;
            }
            // the file it was imported from, if it is still there
            let source = cfg
                .nir
                .as_ref()
                .and_then(|t| t.get("source"))
                .and_then(|v| v.as_str())
                .map(PathBuf::from)
                .filter(|p| p.is_file())
                .map(|p| eligo_engine::io::nir::read(&p))
                .transpose()?;
            let (f, origin) = eligo_engine::nir::export(&cfg, &net, &biases, disc, source.as_ref())
                .map_err(|e| e.in_file(&a.config))?;
            eligo_engine::io::nir::write(&a.model, &f)?;
            if origin == eligo_engine::nir::export::Origin::Source {
                super::stderr::line(format_args!(
                    "note: written as the NIR file the network was imported from, with its \
                     current weights"
                ));
            }
            Ok(())
        }
    }
}

/// A network description from a TOML file, or from a NIR file (`.nir`) at `dt_ms` (default
/// 1 ms) with Euler discretization.
pub fn load(path: &Path, dt_ms: Option<f64>) -> Result<SimConfig> {
    if path.extension().is_some_and(|e| e == "nir") {
        return Ok(eligo_engine::nir::load(
            path,
            dt_ms.unwrap_or(1.0),
            Discretization::Euler,
        )?);
    }
    if dt_ms.is_some() {
        return Err(eligo_engine::Error::input(
            "--dt-ms",
            "",
            "applies to a NIR description (.nir) only; a TOML description has its dt_ms",
            "set dt_ms in the file",
        )
        .in_file(path)
        .into());
    }
    Ok(config::load(path)?)
}
