//! The layer check: a lower module of the engine never names a higher one.
//!
//! The ladder, bottom up (ARCHITECTURE.md): `error` → `limits` → `rng` → `neuron` → `network` → `optim` → `task` →
//! `env` → `plugin` → `sim` → `io` → `nir` → `data` → `train`. Each module may use only those before it. The test reads
//! every source file of each module and fails on any `crate::X` (outside comments) naming a
//! module higher up, so an upward import cannot land. Within `sim/`, files must not import each
//! other in a circle either.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bottom up.
const LADDER: &[&str] = &[
    "error", "limits", "rng", "neuron", "network", "optim", "task", "env", "plugin", "sim", "io",
    "nir", "data", "train",
];

fn rank(module: &str) -> Option<usize> {
    LADDER.iter().position(|m| *m == module)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a line without its `//` comment (string literals holding `//` are rare enough
/// in this code base that cutting there only hides, never invents, a reference).
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or("")
}

/// Every `crate::NAME` in the code of `text`.
fn crate_refs(text: &str) -> Vec<(usize, String)> {
    let mut refs = Vec::new();
    for (no, line) in text.lines().enumerate() {
        let c = code(line);
        let mut rest = c;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let name: String = tail
                .chars()
                .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
                .collect();
            refs.push((no + 1, name));
            rest = tail;
        }
    }
    refs
}

/// Upward references: (file, line, from-module, to-module).
pub(crate) fn violations(src: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for module in LADDER {
        let dir = src.join(module);
        let mut files = Vec::new();
        if dir.is_dir() {
            sources(&dir, &mut files);
        } else if src.join(format!("{module}.rs")).is_file() {
            files.push(src.join(format!("{module}.rs")));
        }
        let own = rank(module).expect("in the ladder");
        for f in files {
            let text =
                std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            for (line, name) in crate_refs(&text) {
                if let Some(r) = rank(&name)
                    && r > own
                {
                    found.push(format!(
                        "{}:{line}: `{module}` uses `crate::{name}`, which is above it",
                        f.display()
                    ));
                }
            }
        }
    }
    found
}

/// Circles among the files of one module: `use super::FILE` edges, then a depth-first search.
pub(crate) fn circles(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    sources(dir, &mut files);
    let stem = |p: &Path| {
        p.file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string()
    };
    let names: Vec<String> = files.iter().map(|p| stem(p)).collect();
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &files {
        let from = stem(f);
        if from == "mod" || from == "tests" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for line in text.lines() {
            let c = code(line);
            let mut rest = c;
            while let Some(at) = rest.find("super::") {
                let tail = &rest[at + "super::".len()..];
                let to: String = tail
                    .chars()
                    .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
                    .collect();
                if to != from && names.contains(&to) && to != "mod" {
                    edges.entry(from.clone()).or_default().push(to);
                }
                rest = tail;
            }
        }
    }
    let mut found = Vec::new();
    for start in edges.keys() {
        // a path back to `start`
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = Vec::new();
        while let Some((at, path)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    found.push(format!("{} -> {start}", path.join(" -> ")));
                } else if !seen.contains(next) {
                    seen.push(next.clone());
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
    }

    #[test]
    fn every_engine_module_is_on_the_ladder() {
        let mut top: Vec<String> = std::fs::read_dir(src())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        top.sort();
        for m in &top {
            assert!(
                rank(m).is_some(),
                "engine/src/{m}/ is not on the ladder in layers.rs"
            );
        }
    }

    #[test]
    fn no_module_imports_a_higher_one() {
        let v = violations(&src());
        assert!(v.is_empty(), "upward imports:\n{}", v.join("\n"));
    }

    #[test]
    fn the_check_sees_a_planted_upward_import() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("neuron")).unwrap();
        std::fs::write(
            dir.path().join("neuron/lif.rs"),
            "use crate::train::Trainer;\n// crate::sim in a comment\n",
        )
        .unwrap();
        let v = violations(dir.path());
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("`neuron` uses `crate::train`"), "{v:?}");
    }

    #[test]
    fn the_check_sees_a_planted_circle() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.rs"), "use super::b::X;\n").unwrap();
        std::fs::write(dir.path().join("b.rs"), "use super::a::Y;\n").unwrap();
        std::fs::write(dir.path().join("c.rs"), "use super::a::Y;\n").unwrap();
        assert_eq!(
            circles(dir.path()),
            vec!["a -> b -> a".to_string(), "b -> a -> b".to_string()]
        );
    }

    #[test]
    fn sim_files_import_each_other_without_circles() {
        let c = circles(&src().join("sim"));
        assert!(c.is_empty(), "circles in engine/src/sim:\n{}", c.join("\n"));
    }
}
