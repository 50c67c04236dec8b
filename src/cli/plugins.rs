//! `eligo plugins`: the rule plugins Eligo finds, with their parameters.
//!
//! The candidates are found by file name and by the entry symbol their dynamic symbol table
//! exports, read without loading them; only those (libraries that declare themselves Eligo
//! plugins) are loaded, to read their parameter tables. Any other library is never loaded.

use std::path::PathBuf;

use anyhow::Result;
use eligo_engine::plugin::{Plugin, loader};

/// Arguments of `plugins`.
#[derive(clap::Args)]
pub struct Args {
    /// Extra directory to look in (searched first; repeatable).
    #[arg(long)]
    pub plugin_dir: Vec<PathBuf>,
}

/// List plugins.
pub fn run(a: Args) -> Result<()> {
    let found = loader::candidates(&a.plugin_dir);
    if found.is_empty() {
        println!("no plugins found; searched:");
        for d in loader::search_dirs(&a.plugin_dir) {
            println!("  {}", d.display());
        }
        println!("build them with `cargo build --release --workspace`, or pass --plugin-dir");
        return Ok(());
    }
    for c in found {
        let p = match Plugin::load(&c.path) {
            Ok(p) => p,
            Err(e) => {
                let why = match &e {
                    eligo_engine::Error::Input(i) => format!("{} ({})", i.allowed, i.hint),
                    other => other.to_string(),
                };
                println!("{}  refused: {why}", c.path.display());
                continue;
            }
        };
        let path = p
            .path
            .as_ref()
            .map(|x| x.display().to_string())
            .unwrap_or_default();
        // `--rule` finds a library by its file name; say so where the two names differ
        let by = if c.name == p.name {
            String::new()
        } else {
            format!("  (--rule {})", c.name)
        };
        println!(
            "{} {}  (ABI {}.{}, {:?} output)  {}{by}",
            p.name, p.version, p.abi.0, p.abi.1, p.output, path
        );
        println!("    built with {}", p.signature);
        for q in &p.params {
            use eligo_engine::plugin::ParamKind;
            let range = match (q.kind, &q.choices) {
                (ParamKind::Choice, Some(c)) => format!("one of {}", c.join(" | ")),
                (ParamKind::Number, _) => format!("[{}, {}]", q.min, q.max),
                (kind, _) => eligo_engine::plugin::config::kind_name(kind).to_string(),
            };
            let default = match (q.kind, &q.choices) {
                (ParamKind::Choice, Some(c)) => {
                    c.get(q.default as usize).cloned().unwrap_or_default()
                }
                (ParamKind::Number, _) => q.default.to_string(),
                // only a name (population, projection, modulator) must be given; free text
                // may stay empty
                (ParamKind::String, _) if q.default_text.is_empty() => "\"\"".to_string(),
                _ if q.default_text.is_empty() => "(required)".to_string(),
                _ => format!("\"{}\"", q.default_text),
            };
            let unit = if q.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", q.unit)
            };
            println!("    {:<14} = {default}{unit}  {range}  {}", q.name, q.doc);
        }
    }
    Ok(())
}
