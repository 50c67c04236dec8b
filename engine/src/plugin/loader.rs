//! Finding and loading rule libraries, with every check done before the first call.
//!
//! Checks, in order: the file exists (it is then named by its canonical absolute path, so that
//! `dlopen` never searches the system's library path for it); it is an ELF shared library whose
//! dynamic symbol table exports `eligo_plugin_entry` (read from the file: no code of a library
//! runs before this); the descriptor's ABI major equals ours, its minor is not newer than ours,
//! and its size is what that minor implies. Libraries are never unloaded (a plugin's
//! thread-locals would outlive the code otherwise; see the notes on libloading).
//!
//! A plugin is native code running with the user's rights: only a library the user named (by
//! path, or by rule name in the search directories, see [`search_dirs`]) is loaded, and a
//! search loads at most the one library whose file name matches the rule.

use std::ffi::{CStr, c_char};
use std::path::{Path, PathBuf};

use eligo_plugin::abi::{self, ABI_MAJOR, ABI_MINOR, Descriptor};
use eligo_plugin::{OutputKind, ParamKind};

use crate::error::{Error, Result};

/// One parameter of a rule, as its library declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// Name.
    pub name: String,
    /// What kind of value it takes.
    pub kind: ParamKind,
    /// Unit.
    pub unit: String,
    /// Description.
    pub doc: String,
    /// Default value (index for a choice).
    pub default: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Allowed names of a choice parameter.
    pub choices: Option<Vec<String>>,
    /// Default text of a string or name parameter (empty: required).
    pub default_text: String,
}

impl ParamSpec {
    /// True for a string or a name (population, projection, modulator): a text value.
    pub fn is_text(&self) -> bool {
        !matches!(self.kind, ParamKind::Number | ParamKind::Choice)
    }
}

/// A loaded, checked rule library (or a statically linked rule).
#[derive(Debug, Clone)]
pub struct Plugin {
    /// Where it was loaded from (`None` when linked statically).
    pub path: Option<PathBuf>,
    /// Rule name.
    pub name: String,
    /// Rule version.
    pub version: String,
    /// ABI version the library was built for.
    pub abi: (u32, u32),
    /// Build signature (eligo-plugin and rustc versions).
    pub signature: String,
    /// Gradient or direct output.
    pub output: OutputKind,
    /// Parameter table.
    pub params: Vec<ParamSpec>,
    pub(crate) desc: &'static Descriptor,
}

fn text(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: descriptors hold NUL-terminated static strings (checked ABI version).
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl Plugin {
    /// Load and check the library at `path`.
    pub fn load(path: &Path) -> Result<Plugin> {
        let shown = path.display().to_string();
        let path = checked_file(path, &shown)?;
        let desc = open(&path, &shown)?;
        let rebuild = check_version(desc, &shown)?;
        // SAFETY: version and size checked: the descriptor has this ABI's layout.
        let mut p = Plugin::from_descriptor(unsafe { &*desc })
            .map_err(|why| Error::input("--rule", &shown, why, rebuild))?;
        p.path = Some(path);
        Ok(p)
    }

    /// A rule linked into this program (same descriptor, no dynamic loading). Refuses (with
    /// the reason) a descriptor whose output or parameter kinds this host does not know: their
    /// values are read as plain integers, never trusted to be one of ours.
    pub fn from_descriptor(desc: &'static Descriptor) -> std::result::Result<Plugin, String> {
        let output = OutputKind::from_raw(desc.output).ok_or_else(|| {
            format!(
                "the rule declares output kind {}, which this eligo does not know (0 = gradient, 1 = direct)",
                desc.output
            )
        })?;
        let table: &[abi::ParamInfo] = if desc.params.len == 0 || desc.params.ptr.is_null() {
            &[]
        } else {
            // SAFETY: the table holds `len` static entries (descriptor contract).
            unsafe { std::slice::from_raw_parts(desc.params.ptr, desc.params.len) }
        };
        let params = table
            .iter()
            .map(|p| {
                let kind = ParamKind::from_raw(p.kind).ok_or_else(|| {
                    format!(
                        "parameter '{}' is of kind {}, which this eligo does not know",
                        text(p.name),
                        p.kind
                    )
                })?;
                Ok(ParamSpec {
                    name: text(p.name),
                    kind,
                    unit: text(p.unit),
                    doc: text(p.doc),
                    default: p.default,
                    min: p.min,
                    max: p.max,
                    choices: (kind == ParamKind::Choice && !p.choices.is_null())
                        .then(|| text(p.choices).split('|').map(str::to_string).collect()),
                    default_text: text(p.default_text),
                })
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        Ok(Plugin {
            path: None,
            name: text(desc.name),
            version: text(desc.version),
            abi: (desc.abi_major, desc.abi_minor),
            signature: text(desc.build_signature),
            output,
            params,
            desc,
        })
    }

    /// The library's last error message on this thread.
    pub(crate) fn last_error(&self) -> String {
        text((self.desc.last_error)())
    }
}

/// The canonical path of `path` if it is an ELF shared library exporting the entry symbol
/// (read from the file; nothing of it runs).
fn checked_file(path: &Path, shown: &str) -> Result<PathBuf> {
    let path = match std::fs::canonicalize(path) {
        Ok(p) if p.is_file() => p,
        _ => {
            return Err(Error::input(
                "--rule",
                shown,
                "no such plugin file",
                "give the path of a built rule library (e.g. target/release/libeligo_stdp.so) or a rule name; `eligo plugins` lists what it finds",
            ));
        }
    };
    match exports_entry(&path) {
        Ok(true) => Ok(path),
        Ok(false) => Err(Error::input(
            "--rule",
            shown,
            format!(
                "not an Eligo plugin: the library exports no `{}` symbol (it was not loaded)",
                abi::ENTRY_SYMBOL
            ),
            "implement eligo_plugin::Rule and add `eligo_plugin::export_rule!(YourRule);`",
        )),
        Err(e) => Err(Error::input(
            "--rule",
            shown,
            format!("not a loadable shared library: {e}"),
            "build the rule as a cdylib (crate-type = [\"cdylib\"]) for this platform",
        )),
    }
}

/// Load the library at the canonical `path` (never unloaded) and call its entry: a non-null
/// descriptor pointer, not yet checked.
fn open(path: &Path, shown: &str) -> Result<*const Descriptor> {
    // SAFETY: loading runs the library's initializers. That is the point of a plugin: the
    // user asked for this file, which declares itself a plugin by its exported entry
    // symbol. The path is absolute, so it is this file that is loaded. It is never
    // unloaded (leaked below).
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| {
        Error::input(
            "--rule",
            shown,
            format!("not a loadable shared library: {e}"),
            "build the rule as a cdylib (crate-type = [\"cdylib\"]) for this platform",
        )
    })?;
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    // SAFETY: the symbol's type is fixed by the ABI contract of every Eligo plugin; a
    // library that exports this name with another type breaks that contract knowingly.
    let entry =
        unsafe { lib.get::<extern "C" fn() -> *const Descriptor>(abi::ENTRY_SYMBOL.as_bytes()) }
            .map_err(|_| {
                Error::input(
                    "--rule",
                    shown,
                    format!(
                        "not an Eligo plugin: the library exports no `{}` symbol",
                        abi::ENTRY_SYMBOL
                    ),
                    "implement eligo_plugin::Rule and add `eligo_plugin::export_rule!(YourRule);`",
                )
            })?;
    let desc = entry();
    if desc.is_null() {
        return Err(Error::input(
            "--rule",
            shown,
            "the plugin's entry returned no descriptor",
            "rebuild it with eligo-plugin's export_rule! macro",
        ));
    }
    Ok(desc)
}

/// Check the ABI version and descriptor size of the non-null static `desc`; returns the
/// rebuild hint for later errors.
fn check_version(desc: *const Descriptor, shown: &str) -> Result<String> {
    // SAFETY: non-null pointer to a static descriptor. The first three fields (ABI major,
    // minor and size) have the same place in every version, so they are read before anything
    // else.
    let (major, minor, size) =
        unsafe { ((*desc).abi_major, (*desc).abi_minor, (*desc).struct_size) };
    let rebuild = format!(
        "rebuild it against eligo-plugin {}",
        env!("CARGO_PKG_VERSION")
    );
    let refuse = |msg: String, hint: String| Err(Error::input("--rule", shown, msg, hint));
    if major != ABI_MAJOR {
        let how = if major < ABI_MAJOR {
            format!(
                "{rebuild}: set `eligo-plugin = \"{}\"` in the rule's Cargo.toml and run `cargo build --release` there; docs/writing-a-rule.md, \"From ABI 1 to ABI 2\", lists what changed",
                env!("CARGO_PKG_VERSION")
            )
        } else {
            format!("update eligo, or {rebuild}")
        };
        return refuse(
            format!(
                "plugin was built for ABI {major}.{minor}, this eligo speaks ABI {ABI_MAJOR}.{ABI_MINOR}"
            ),
            how,
        );
    }
    if minor > ABI_MINOR {
        return refuse(
            format!(
                "plugin was built for ABI {major}.{minor}, newer than this eligo's {ABI_MAJOR}.{ABI_MINOR}"
            ),
            "update eligo, or rebuild the plugin against this eligo's eligo-plugin".into(),
        );
    }
    if (size as usize) < abi::descriptor_size(minor) {
        return refuse(
            format!(
                "plugin descriptor is {size} bytes, ABI {major}.{minor} needs {}",
                abi::descriptor_size(minor)
            ),
            rebuild,
        );
    }
    Ok(rebuild)
}

/// Whether the ELF shared library at `path` exports a defined, visible `eligo_plugin_entry`
/// and is not a Python extension module (no `PyInit_*`), read from its dynamic symbol table
/// without loading it. An error says why the file is not a
/// shared library.
pub fn exports_entry(path: &Path) -> std::result::Result<bool, String> {
    use object::{Object, ObjectKind, ObjectSymbol, SymbolKind, SymbolScope};
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    // reads only the headers and tables it needs, each within the file's length
    let cache = object::ReadCache::new(file);
    let obj =
        object::File::parse(&cache).map_err(|e| format!("not an ELF shared library ({e})"))?;
    if obj.kind() != ObjectKind::Dynamic {
        return Err(format!(
            "an ELF file of kind {:?}, not a shared library",
            obj.kind()
        ));
    }
    let mut entry = false;
    for s in obj.dynamic_symbols() {
        let Ok(name) = s.name() else { continue };
        // the Python package's extension module links the built-in rules in (their entry
        // points come along) but is not a plugin: loading it here would need Python
        if name.starts_with("PyInit_") {
            return Ok(false);
        }
        entry |= name == abi::ENTRY_SYMBOL
            && s.is_definition()
            && s.kind() == SymbolKind::Text
            && s.scope() == SymbolScope::Dynamic;
    }
    Ok(entry)
}

/// Where plugins are looked for, in order: every `--plugin-dir`, every entry of
/// `ELIGO_PLUGIN_PATH` (colon-separated), the executable's `deps/` and the executable's own
/// directory. Empty entries are skipped (they do not mean the current directory); relative
/// ones are taken relative to the current directory and made absolute here. Duplicates are
/// dropped.
pub fn search_dirs(extra: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut add = |d: PathBuf| {
        if d.as_os_str().is_empty() {
            return;
        }
        let d = std::path::absolute(&d).unwrap_or(d);
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    };
    extra.iter().cloned().for_each(&mut add);
    if let Some(p) = std::env::var_os("ELIGO_PLUGIN_PATH") {
        std::env::split_paths(&p).for_each(&mut add);
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        add(exe_dir.join("deps"));
        add(exe_dir);
    }
    dirs
}

/// The file names `--rule NAME` answers to, in order of preference.
fn file_names(rule: &str) -> [String; 2] {
    let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    [
        format!("{prefix}eligo_{rule}{suffix}"),
        format!("{prefix}{rule}{suffix}"),
    ]
}

/// The rule name a library file answers to (inverse of [`file_names`]) and its preference
/// (0 for `libeligo_NAME.so`), or `None` for a file that is not named like a plugin. Names with
/// `-` are cargo's hashed build products (`libserde_derive-0123abcd.so`), never rules.
fn rule_name(file_name: &str) -> Option<(String, u8)> {
    let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let stem = file_name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    let (name, rank) = match stem.strip_prefix("eligo_") {
        Some(n) => (n, 0),
        None => (stem, 1),
    };
    (!name.is_empty() && !name.contains('-')).then(|| (name.to_string(), rank))
}

/// A library in the search directories that exports the entry symbol (found without loading
/// it).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The rule name it answers to (`--rule NAME`), from its file name.
    pub name: String,
    /// Its path.
    pub path: PathBuf,
}

/// Rules linked into this program, found by name after the search directories: the Python
/// package links the built-in rules in, since an installed package has no plugin directory of
/// its own (the CLI links none and finds them next to its executable).
static LINKED: std::sync::Mutex<Vec<&'static Descriptor>> = std::sync::Mutex::new(Vec::new());

/// Make the rule `desc` (from `eligo_plugin::descriptor`) findable by name (see [`find`]).
pub fn link(desc: &'static Descriptor) {
    let mut linked = LINKED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !linked.iter().any(|d| std::ptr::eq(*d, desc)) {
        linked.push(desc);
    }
}

/// The rules [`link`]ed into this program, in link order (a descriptor this host refuses is
/// left out).
pub fn linked() -> Vec<Plugin> {
    let linked = LINKED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    linked
        .iter()
        .filter_map(|d| Plugin::from_descriptor(d).ok())
        .collect()
}

/// Resolve `--rule NAME|PATH`: a path (contains a separator or ends in the library suffix) is
/// loaded as is; a name `N` is looked for as `libeligo_N.so` then `libN.so` in [`search_dirs`],
/// and the first such file that exports the entry symbol is loaded (no other library is);
/// failing that, a rule of that name [`link`]ed into the program.
pub fn find(rule: &str, extra_dirs: &[PathBuf]) -> Result<Plugin> {
    if rule.contains(std::path::MAIN_SEPARATOR) || rule.ends_with(std::env::consts::DLL_SUFFIX) {
        return Plugin::load(Path::new(rule));
    }
    let dirs = search_dirs(extra_dirs);
    let mut not_plugins: Vec<String> = Vec::new();
    for dir in &dirs {
        for file in file_names(rule) {
            let p = dir.join(&file);
            if !p.is_file() {
                continue;
            }
            match exports_entry(&p) {
                Ok(true) => return Plugin::load(&p),
                Ok(false) => not_plugins.push(format!(
                    "{} (exports no `{}`)",
                    p.display(),
                    abi::ENTRY_SYMBOL
                )),
                Err(e) => not_plugins.push(format!("{} ({e})", p.display())),
            }
        }
    }
    let linked = linked();
    if let Some(k) = linked.iter().position(|p| p.name == rule) {
        return Ok(linked.into_iter().nth(k).expect("found above"));
    }
    let mut found: Vec<String> = candidates(extra_dirs).into_iter().map(|c| c.name).collect();
    found.extend(linked.into_iter().map(|p| p.name));
    let names: Vec<&str> = found.iter().map(String::as_str).collect();
    let skipped = if not_plugins.is_empty() {
        String::new()
    } else {
        format!("; not plugins, so not loaded: {}", not_plugins.join(", "))
    };
    Err(Error::input(
        "--rule",
        rule,
        format!(
            "no plugin of this name in {}{skipped}; found: {}",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ),
        {
            let m = crate::error::did_you_mean(rule, &names);
            if m.is_empty() {
                "build the plugins (cargo build --release --workspace) or give a path".to_string()
            } else {
                m
            }
        },
    ))
}

/// Every plugin library in the search directories, by file name and exported symbol, without
/// loading any (the first of each name wins, as in [`find`]).
pub fn candidates(extra_dirs: &[PathBuf]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for dir in search_dirs(extra_dirs) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<(String, u8, PathBuf)> = entries
            .filter_map(|e| {
                let e = e.ok()?;
                let (name, rank) = rule_name(e.file_name().to_str()?)?;
                Some((name, rank, e.path()))
            })
            .filter(|(_, _, p)| p.is_file())
            .collect();
        files.sort();
        for (name, _, path) in files {
            if !out.iter().any(|c| c.name == name) && exports_entry(&path) == Ok(true) {
                out.push(Candidate { name, path });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_follow_the_file_names() {
        let (p, s) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
        let f = |n: &str| format!("{p}{n}{s}");
        assert_eq!(rule_name(&f("eligo_stdp")), Some(("stdp".into(), 0)));
        assert_eq!(rule_name(&f("myrule")), Some(("myrule".into(), 1)));
        assert_eq!(rule_name(&f("serde_derive-0123abcd")), None);
        assert_eq!(rule_name(&f("eligo_")), None);
        assert_eq!(rule_name("eligo_stdp.txt"), None);
        for name in ["stdp", "myrule"] {
            for file in file_names(name) {
                assert_eq!(rule_name(&file).map(|r| r.0), Some(name.to_string()));
            }
        }
    }

    #[test]
    fn search_dirs_are_absolute_and_never_empty() {
        let dirs = search_dirs(&[PathBuf::new(), PathBuf::from("rel")]);
        assert!(!dirs.is_empty());
        for d in &dirs {
            assert!(d.is_absolute(), "{}", d.display());
        }
        assert_eq!(dirs[0], std::env::current_dir().unwrap().join("rel"));
    }
}
