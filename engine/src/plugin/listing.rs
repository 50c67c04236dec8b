//! The rule plugins Eligo finds, with their parameter tables as `eligo plugins` shows them,
//! for every front end (the CLI's `plugins`, the Python package's `eligo.plugins()`).
//!
//! The candidates are found by file name and by the entry symbol their dynamic symbol table
//! exports, read without loading them; only those (libraries that declare themselves Eligo
//! plugins) are loaded, to read their parameter tables. Any other library is never loaded.

use std::path::PathBuf;

use super::loader::{self, ParamSpec, Plugin};
use super::{ParamKind, config};
use crate::error::Error;

/// One candidate library: the rule name `--rule` finds it by, its path, and the plugin or
/// why it was refused.
pub struct Listed {
    /// The name `--rule NAME` answers to (from its file name).
    pub rule: String,
    /// Its path (None for a rule linked into the program).
    pub path: Option<PathBuf>,
    /// The loaded plugin, or why it was refused (what is allowed and what to try).
    pub plugin: std::result::Result<Plugin, String>,
}

/// Every candidate in [`loader::search_dirs`]`(extra)`, in search order, loaded; then the
/// rules [`loader::link`]ed into the program that no library of the same name shadows (what
/// [`loader::find`] would load).
pub fn list(extra: &[PathBuf]) -> Vec<Listed> {
    let mut out: Vec<Listed> = loader::candidates(extra)
        .into_iter()
        .map(|c| Listed {
            plugin: Plugin::load(&c.path).map_err(|e| match &e {
                Error::Input(i) => format!("{} ({})", i.allowed, i.hint),
                other => other.to_string(),
            }),
            rule: c.name,
            path: Some(c.path),
        })
        .collect();
    for p in loader::linked() {
        if !out.iter().any(|l| l.rule == p.name) {
            out.push(Listed {
                rule: p.name.clone(),
                path: None,
                plugin: Ok(p),
            });
        }
    }
    out
}

/// The name of a parameter kind as tables show it: `number`, `choice`, `string`,
/// `population`, `projection`, `modulator`.
pub fn kind_label(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::Number => "number",
        ParamKind::Choice => "choice",
        ParamKind::String => "string",
        ParamKind::Population => "population",
        ParamKind::Projection => "projection",
        ParamKind::Modulator => "modulator",
    }
}

/// What a parameter allows, as `eligo plugins` shows it: `[min, max]`, `one of a | b`, or the
/// kind of text.
pub fn range_text(q: &ParamSpec) -> String {
    match (q.kind, &q.choices) {
        (ParamKind::Choice, Some(c)) => format!("one of {}", c.join(" | ")),
        (ParamKind::Number, _) => format!("[{}, {}]", q.min, q.max),
        (kind, _) => config::kind_name(kind).to_string(),
    }
}

/// A parameter's default as `eligo plugins` shows it: the number, the choice, `"text"`, `""`
/// for free text that may stay empty, `(required)` for a name that must be given.
pub fn default_text(q: &ParamSpec) -> String {
    match (q.kind, &q.choices) {
        (ParamKind::Choice, Some(c)) => c.get(q.default as usize).cloned().unwrap_or_default(),
        (ParamKind::Number, _) => q.default.to_string(),
        // only a name (population, projection, modulator) must be given; free text may stay
        // empty
        (ParamKind::String, _) if q.default_text.is_empty() => "\"\"".to_string(),
        _ if q.default_text.is_empty() => "(required)".to_string(),
        _ => format!("\"{}\"", q.default_text),
    }
}
