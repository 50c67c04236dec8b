//! Finding and loading rule libraries, with every check done before the first call.
//!
//! Checks, in order: the file exists; it is a loadable shared library; it exports
//! `eligo_plugin_entry`; the descriptor's ABI major equals ours, its minor is not newer than
//! ours, and its size is what that minor implies. Libraries are never unloaded (a plugin's
//! thread-locals would outlive the code otherwise; see the notes on libloading).

use std::ffi::{CStr, c_char};
use std::path::{Path, PathBuf};

use eligo_plugin::abi::{self, ABI_MAJOR, ABI_MINOR, Descriptor, OutputKind};

use crate::error::{Error, Result};

/// The oldest ABI minor version this host loads. Every minor from it up to `ABI_MINOR` has all
/// of the fields of `Descriptor` (1.0 had no `on_batch_end` and was never released).
const OLDEST_MINOR: u32 = 1;

/// One parameter of a rule, as its library declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// Name.
    pub name: String,
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
        if !path.is_file() {
            return Err(Error::input(
                "--rule",
                &shown,
                "no such plugin file",
                "give the path of a built rule library (e.g. target/release/libeligo_stdp.so) or a rule name; `eligo plugins` lists what it finds",
            ));
        }
        // SAFETY: loading runs the library's initializers. That is the point of a plugin: the
        // user asked for this file. It is never unloaded (leaked below).
        let lib = unsafe { libloading::Library::new(path) }.map_err(|e| {
            Error::input(
                "--rule",
                &shown,
                format!("not a loadable shared library: {e}"),
                "build the rule as a cdylib (crate-type = [\"cdylib\"]) for this platform",
            )
        })?;
        let lib: &'static libloading::Library = Box::leak(Box::new(lib));
        // SAFETY: the symbol's type is fixed by the ABI contract of every Eligo plugin; a
        // library that exports this name with another type breaks that contract knowingly.
        let entry = unsafe {
            lib.get::<extern "C" fn() -> *const Descriptor>(abi::ENTRY_SYMBOL.as_bytes())
        }
        .map_err(|_| {
            Error::input(
                "--rule",
                &shown,
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
                &shown,
                "the plugin's entry returned no descriptor",
                "rebuild it with eligo-plugin's export_rule! macro",
            ));
        }
        // SAFETY: non-null pointer to a static descriptor. The first two fields (ABI major and
        // minor) have the same place in every version, so they are read before anything else.
        let (major, minor, size) =
            unsafe { ((*desc).abi_major, (*desc).abi_minor, (*desc).struct_size) };
        let rebuild = format!(
            "rebuild it against eligo-plugin {}",
            env!("CARGO_PKG_VERSION")
        );
        if major != ABI_MAJOR {
            return Err(Error::input(
                "--rule",
                &shown,
                format!(
                    "plugin was built for ABI {major}.{minor}, this eligo speaks ABI {ABI_MAJOR}.{ABI_MINOR}"
                ),
                rebuild,
            ));
        }
        if minor > ABI_MINOR {
            return Err(Error::input(
                "--rule",
                &shown,
                format!(
                    "plugin was built for ABI {major}.{minor}, newer than this eligo's {ABI_MAJOR}.{ABI_MINOR}"
                ),
                "update eligo, or rebuild the plugin against this eligo's eligo-plugin",
            ));
        }
        if minor < OLDEST_MINOR {
            return Err(Error::input(
                "--rule",
                &shown,
                format!(
                    "plugin was built for ABI {major}.{minor}, a pre-release this eligo no longer reads (it speaks {ABI_MAJOR}.{OLDEST_MINOR} to {ABI_MAJOR}.{ABI_MINOR})"
                ),
                rebuild,
            ));
        }
        if (size as usize) < abi::descriptor_size(minor) {
            return Err(Error::input(
                "--rule",
                &shown,
                format!(
                    "plugin descriptor is {size} bytes, ABI {major}.{minor} needs {}",
                    abi::descriptor_size(minor)
                ),
                rebuild,
            ));
        }
        // SAFETY: version and size checked: the descriptor has this ABI's layout.
        let mut p = Plugin::from_descriptor(unsafe { &*desc });
        p.path = Some(path.to_path_buf());
        Ok(p)
    }

    /// A rule linked into this program (same descriptor, no dynamic loading).
    pub fn from_descriptor(desc: &'static Descriptor) -> Plugin {
        // SAFETY: the table holds `len` static entries (descriptor contract).
        let table = unsafe { std::slice::from_raw_parts(desc.params.ptr, desc.params.len) };
        let params = table
            .iter()
            .map(|p| ParamSpec {
                name: text(p.name),
                unit: text(p.unit),
                doc: text(p.doc),
                default: p.default,
                min: p.min,
                max: p.max,
                choices: (!p.choices.is_null())
                    .then(|| text(p.choices).split('|').map(str::to_string).collect()),
            })
            .collect();
        Plugin {
            path: None,
            name: text(desc.name),
            version: text(desc.version),
            abi: (desc.abi_major, desc.abi_minor),
            signature: text(desc.build_signature),
            output: desc.output,
            params,
            desc,
        }
    }

    /// The library's last error message on this thread.
    pub(crate) fn last_error(&self) -> String {
        text((self.desc.last_error)())
    }
}

/// Where plugins are looked for, in order: `--plugin-dir` directories, `ELIGO_PLUGIN_PATH`
/// (colon-separated), the executable's directory (and its `deps/`), and the workspace's
/// `target/release` and `target/debug` (for `cargo run`).
pub fn search_dirs(extra: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = extra.to_vec();
    if let Some(p) = std::env::var_os("ELIGO_PLUGIN_PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("deps"));
        dirs.push(exe_dir);
    }
    let ws = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target");
    dirs.push(ws.join("release"));
    dirs.push(ws.join("debug"));
    dirs
}

/// Resolve `--rule NAME|PATH`: a path (contains a separator or ends in the library suffix) is
/// loaded as is; a name `N` is looked for as `libeligo_N.so` then `libN.so` in [`search_dirs`].
pub fn find(rule: &str, extra_dirs: &[PathBuf]) -> Result<Plugin> {
    let suffix = std::env::consts::DLL_SUFFIX;
    if rule.contains(std::path::MAIN_SEPARATOR) || rule.ends_with(suffix) {
        return Plugin::load(Path::new(rule));
    }
    let prefix = std::env::consts::DLL_PREFIX;
    let dirs = search_dirs(extra_dirs);
    for dir in &dirs {
        for file in [
            format!("{prefix}eligo_{rule}{suffix}"),
            format!("{prefix}{rule}{suffix}"),
        ] {
            let p = dir.join(&file);
            if p.is_file() {
                return Plugin::load(&p);
            }
        }
    }
    let found: Vec<String> = list(extra_dirs).into_iter().map(|p| p.name).collect();
    let names: Vec<&str> = found.iter().map(String::as_str).collect();
    Err(Error::input(
        "--rule",
        rule,
        format!(
            "no plugin of this name in {}; found: {}",
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

/// Every loadable plugin in the search directories (first of each name wins).
pub fn list(extra_dirs: &[PathBuf]) -> Vec<Plugin> {
    let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let mut out: Vec<Plugin> = Vec::new();
    for dir in search_dirs(extra_dirs) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name().is_some_and(|n| {
                    // `name-HASH.so` in deps/ are proc macros and other build products
                    let n = n.to_string_lossy();
                    n.starts_with(prefix) && n.ends_with(suffix) && !n.contains('-')
                })
            })
            .collect();
        files.sort();
        for f in files {
            if let Ok(p) = Plugin::load(&f)
                && !out.iter().any(|q| q.name == p.name)
            {
                out.push(p);
            }
        }
    }
    out
}
