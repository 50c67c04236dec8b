//! `eligo plugins`: the rule plugins Eligo finds (`eligo_engine::plugin::listing`), with their
//! parameters.

use std::path::PathBuf;

use anyhow::Result;
use eligo_engine::plugin::{listing, loader};

/// Arguments of `plugins`.
#[derive(clap::Args)]
pub struct Args {
    /// Extra directory to look in (searched first; repeatable).
    #[arg(long)]
    pub plugin_dir: Vec<PathBuf>,
}

/// List plugins.
pub fn run(a: Args) -> Result<()> {
    let found = listing::list(&a.plugin_dir);
    if found.is_empty() {
        println!("no plugins found; searched:");
        for d in loader::search_dirs(&a.plugin_dir) {
            println!("  {}", d.display());
        }
        println!("build them with `cargo build --release --workspace`, or pass --plugin-dir");
        return Ok(());
    }
    for c in found {
        let p = match c.plugin {
            Ok(p) => p,
            Err(why) => {
                let path = c.path.as_deref().unwrap_or(std::path::Path::new(""));
                println!("{}  refused: {why}", path.display());
                continue;
            }
        };
        let path = p
            .path
            .as_ref()
            .map(|x| x.display().to_string())
            .unwrap_or_default();
        // `--rule` finds a library by its file name; say so where the two names differ
        let by = if c.rule == p.name {
            String::new()
        } else {
            format!("  (--rule {})", c.rule)
        };
        println!(
            "{} {}  (ABI {}.{}, {:?} output)  {}{by}",
            p.name, p.version, p.abi.0, p.abi.1, p.output, path
        );
        println!("    built with {}", p.signature);
        for q in &p.params {
            let unit = if q.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", q.unit)
            };
            println!(
                "    {:<14} = {}{unit}  {}  {}",
                q.name,
                listing::default_text(q),
                listing::range_text(q),
                q.doc
            );
        }
    }
    Ok(())
}
