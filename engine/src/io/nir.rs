//! NIR files (the Neuromorphic Intermediate Representation, HDF5): the graph as stored, read
//! and written through the system HDF5 library (`read`, `write`: feature `hdf5`; the Python
//! package hands the graph over from the `nir` package instead).
//!
//! The layout is the one of the `nir` Python package (1.0.x, `nir.write`/`nir.read`):
//!
//! ```text
//! /version                 string, e.g. "1.0.8"
//! /node                    the top graph, a node of type "NIRGraph"
//! <node>/type              string: "NIRGraph", "Input", "Affine", "LIF", ...
//! <node>/<param>           an array (float32, float64, integers) or a string
//! <node>/metadata/<key>    optional
//! NIRGraph: <node>/nodes/<name>   its nodes (groups, nested graphs likewise)
//!           <node>/edges          (E, 2) strings: source and target node names
//! ```
//!
//! What the nodes mean is decided above (`crate::nir`); here only bytes become a [`Graph`] and
//! back. Arrays keep their element type, so a float32 parameter is written back bit for bit.
//! Written files are uncompressed and go to a temporary name first, renamed into place when
//! complete.

use std::collections::BTreeMap;
#[cfg(feature = "hdf5")]
use std::path::Path;

#[cfg(feature = "hdf5")]
use crate::error::{Error, Result};

/// The elements of an array, in their stored type.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// float32.
    F32(Vec<f32>),
    /// float64.
    F64(Vec<f64>),
    /// Any integer type, widened.
    Int(Vec<i64>),
    /// Strings.
    Str(Vec<String>),
}

/// A stored array: shape (empty for a scalar) and elements in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Shape; `[]` for a scalar.
    pub shape: Vec<usize>,
    /// Elements.
    pub data: Data,
}

impl Array {
    /// A float32 array.
    pub fn f32(shape: Vec<usize>, v: Vec<f32>) -> Self {
        Array {
            shape,
            data: Data::F32(v),
        }
    }
    /// An int64 array.
    pub fn int(shape: Vec<usize>, v: Vec<i64>) -> Self {
        Array {
            shape,
            data: Data::Int(v),
        }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::Int(v) => v.len(),
            Data::Str(v) => v.len(),
        }
    }
    /// True when it has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The elements as f64 (strings: `None`).
    pub fn as_f64(&self) -> Option<Vec<f64>> {
        match &self.data {
            Data::F32(v) => Some(v.iter().map(|&x| f64::from(x)).collect()),
            Data::F64(v) => Some(v.clone()),
            Data::Int(v) => Some(v.iter().map(|&x| x as f64).collect()),
            Data::Str(_) => None,
        }
    }
    /// The elements as f32: float32 as stored, others rounded to the nearest float32.
    pub fn as_f32(&self) -> Option<Vec<f32>> {
        match &self.data {
            Data::F32(v) => Some(v.clone()),
            _ => self
                .as_f64()
                .map(|v| v.into_iter().map(|x| x as f32).collect()),
        }
    }
    /// The element type's name, for messages.
    pub fn dtype(&self) -> &'static str {
        match &self.data {
            Data::F32(_) => "float32",
            Data::F64(_) => "float64",
            Data::Int(_) => "integer",
            Data::Str(_) => "string",
        }
    }
}

/// One node: its type, its parameters, and for a `NIRGraph` its own graph.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Node {
    /// The `type` string.
    pub kind: String,
    /// Every other dataset of the node's group (nested groups other than `metadata` and
    /// `nodes` as `group.key`).
    pub params: BTreeMap<String, Array>,
    /// `metadata/*`.
    pub metadata: BTreeMap<String, Array>,
    /// The graph of a `NIRGraph` node.
    pub graph: Option<Graph>,
}

/// A graph: named nodes and directed edges between their names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    /// Nodes by name.
    pub nodes: BTreeMap<String, Node>,
    /// Edges (source, target), in file order.
    pub edges: Vec<(String, String)>,
}

/// A NIR file: its version string and the top graph (with the top node's metadata).
#[derive(Debug, Clone, PartialEq)]
pub struct NirFile {
    /// `/version` (empty when absent).
    pub version: String,
    /// The top node (type `NIRGraph`).
    pub top: Node,
}

/// The version this writer puts in `/version`: the NIR format release whose layout it writes.
pub const WRITE_VERSION: &str = "1.0.8";

#[cfg(feature = "hdf5")]
fn h5(path: &Path, at: &str, e: hdf5::Error) -> Error {
    Error::input(
        if at.is_empty() { "(file)" } else { at },
        "",
        format!("cannot read it as NIR (HDF5): {e}"),
        "is this a file written by nir.write (Python package nir 1.0.x)? A truncated or \
         damaged file cannot be read",
    )
    .in_file(path)
}

#[cfg(feature = "hdf5")]
/// Read a NIR file.
pub fn read(path: &Path) -> Result<NirFile> {
    hdf5::silence_errors(true);
    if let Err(e) = std::fs::metadata(path) {
        return Err(Error::input(
            "",
            "",
            format!("cannot read the file: {e}"),
            "check the path",
        )
        .in_file(path));
    }
    let file = hdf5::File::open(path).map_err(|e| h5(path, "", e))?;
    let version = if file.link_exists("version") {
        let ds = file
            .dataset("version")
            .map_err(|e| h5(path, "version", e))?;
        match dataset(&ds).map_err(|e| h5(path, "version", e))?.data {
            Data::Str(v) if v.len() == 1 => v[0].clone(),
            _ => String::new(),
        }
    } else {
        String::new()
    };
    if !file.link_exists("node") {
        return Err(Error::input(
            "node",
            "missing",
            "a NIR file holds its graph in the group /node",
            "write the file with nir.write(path, graph)",
        )
        .in_file(path));
    }
    let g = file.group("node").map_err(|e| h5(path, "node", e))?;
    let top = node(path, &g, "node", 0)?;
    Ok(NirFile { version, top })
}

#[cfg(feature = "hdf5")]
/// Nested graphs deeper than this are refused (a file cannot make the reader recurse without
/// bound).
const MAX_DEPTH: usize = 32;

#[cfg(feature = "hdf5")]
fn node(path: &Path, g: &hdf5::Group, at: &str, depth: usize) -> Result<Node> {
    if depth > MAX_DEPTH {
        return Err(Error::input(
            at,
            "",
            format!("graphs nested more than {MAX_DEPTH} deep"),
            "flatten the graph",
        )
        .in_file(path));
    }
    let mut n = Node::default();
    let names = g.member_names().map_err(|e| h5(path, at, e))?;
    for name in &names {
        let here = format!("{at}.{name}");
        if let Ok(ds) = g.dataset(name) {
            let a = dataset(&ds).map_err(|e| h5(path, &here, e))?;
            if name == "type" {
                match a.data {
                    Data::Str(v) if v.len() == 1 => n.kind = v[0].clone(),
                    _ => {
                        return Err(
                            Error::input(here, "", "the node type must be one string", "")
                                .in_file(path),
                        );
                    }
                }
            } else if name != "edges" {
                n.params.insert(name.clone(), a);
            }
        }
    }
    if n.kind.is_empty() {
        return Err(Error::input(
            format!("{at}.type"),
            "missing",
            "every node names its type (Input, Affine, LIF, NIRGraph, ...)",
            "",
        )
        .in_file(path));
    }
    for name in &names {
        let here = format!("{at}.{name}");
        let Ok(sub) = g.group(name) else { continue };
        match name.as_str() {
            "metadata" => n.metadata = flat(path, &sub, &here)?,
            "nodes" if n.kind == "NIRGraph" => {
                let mut graph = Graph::default();
                for child in sub.member_names().map_err(|e| h5(path, &here, e))? {
                    let cg = sub.group(&child).map_err(|e| h5(path, &here, e))?;
                    let c = node(path, &cg, &format!("{at}.nodes.{child}"), depth + 1)?;
                    graph.nodes.insert(child, c);
                }
                graph.edges = edges(path, g, at)?;
                n.graph = Some(graph);
            }
            _ => {
                for (k, a) in flat(path, &sub, &here)? {
                    n.params.insert(format!("{name}.{k}"), a);
                }
            }
        }
    }
    if n.kind == "NIRGraph" && n.graph.is_none() {
        return Err(Error::input(
            format!("{at}.nodes"),
            "missing",
            "a NIRGraph node holds its nodes in the group `nodes`",
            "",
        )
        .in_file(path));
    }
    Ok(n)
}

#[cfg(feature = "hdf5")]
/// The datasets of a group (one level; deeper groups are skipped).
fn flat(path: &Path, g: &hdf5::Group, at: &str) -> Result<BTreeMap<String, Array>> {
    let mut out = BTreeMap::new();
    for name in g.member_names().map_err(|e| h5(path, at, e))? {
        if let Ok(ds) = g.dataset(&name) {
            let a = dataset(&ds).map_err(|e| h5(path, &format!("{at}.{name}"), e))?;
            out.insert(name, a);
        }
    }
    Ok(out)
}

#[cfg(feature = "hdf5")]
fn edges(path: &Path, g: &hdf5::Group, at: &str) -> Result<Vec<(String, String)>> {
    let here = format!("{at}.edges");
    if !g.link_exists("edges") {
        return Ok(Vec::new());
    }
    let ds = g.dataset("edges").map_err(|e| h5(path, &here, e))?;
    let a = dataset(&ds).map_err(|e| h5(path, &here, e))?;
    match a.data {
        Data::Str(v) if a.shape.len() == 2 && a.shape[1] == 2 => Ok(v
            .chunks_exact(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect()),
        // h5py writes an empty edge list as an empty float array
        _ if a.is_empty() => Ok(Vec::new()),
        _ => Err(Error::input(
            here,
            format!("{} {:?}", a.dtype(), a.shape),
            "edges must be an (E, 2) array of node names",
            "",
        )
        .in_file(path)),
    }
}

/// Arrays larger than this many elements are refused before they are read (a corrupt header
/// cannot make the reader allocate without bound): 2^28 elements, 1 GiB of float32.
pub const MAX_ELEMENTS: usize = 1 << 28;

#[cfg(feature = "hdf5")]
fn dataset(ds: &hdf5::Dataset) -> hdf5::Result<Array> {
    use hdf5::types::{TypeDescriptor as T, VarLenAscii, VarLenUnicode};
    let shape = ds.shape();
    let n: usize = shape.iter().product();
    if n > MAX_ELEMENTS {
        return Err(hdf5::Error::from(format!(
            "{n} elements, more than the limit of {MAX_ELEMENTS}"
        )));
    }
    let data = match ds.dtype()?.to_descriptor()? {
        T::Float(hdf5::types::FloatSize::U4) => Data::F32(ds.read_raw()?),
        T::Float(_) => Data::F64(ds.read_raw()?),
        T::Integer(_) | T::Unsigned(_) | T::Boolean => Data::Int(ds.read_raw()?),
        T::VarLenUnicode => Data::Str(
            ds.read_raw::<VarLenUnicode>()?
                .into_iter()
                .map(|s| s.as_str().to_string())
                .collect(),
        ),
        T::VarLenAscii => Data::Str(
            ds.read_raw::<VarLenAscii>()?
                .into_iter()
                .map(|s| s.as_str().to_string())
                .collect(),
        ),
        other => {
            return Err(hdf5::Error::from(format!(
                "unsupported element type {other}; NIR arrays are floats, integers or \
                 variable-length strings"
            )));
        }
    };
    Ok(Array { shape, data })
}

#[cfg(feature = "hdf5")]
/// Write a NIR file: to a temporary name beside `path`, renamed over it when complete.
pub fn write(path: &Path, f: &NirFile) -> Result<()> {
    let staged = super::Staged::new(path);
    let tmp = staged.tmp().to_path_buf();
    let werr = |e: hdf5::Error| {
        Error::io(
            path,
            std::io::Error::other(format!("writing the NIR file: {e}")),
        )
    };
    {
        let file = hdf5::File::create(&tmp).map_err(werr)?;
        write_str(&file, "version", std::slice::from_ref(&f.version), &[]).map_err(werr)?;
        let g = file.create_group("node").map_err(werr)?;
        write_node(&g, &f.top).map_err(werr)?;
        file.close().map_err(werr)?;
    }
    staged.commit()
}

#[cfg(feature = "hdf5")]
fn write_node(g: &hdf5::Group, n: &Node) -> hdf5::Result<()> {
    write_str(g, "type", std::slice::from_ref(&n.kind), &[])?;
    for (k, a) in &n.params {
        write_array(g, k, a)?;
    }
    if !n.metadata.is_empty() {
        let m = g.create_group("metadata")?;
        for (k, a) in &n.metadata {
            write_array(&m, k, a)?;
        }
    }
    if let Some(graph) = &n.graph {
        let nodes = g.create_group("nodes")?;
        for (name, c) in &graph.nodes {
            write_node(&nodes.create_group(name)?, c)?;
        }
        let flat: Vec<String> = graph
            .edges
            .iter()
            .flat_map(|(a, b)| [a.clone(), b.clone()])
            .collect();
        write_str(g, "edges", &flat, &[graph.edges.len(), 2])?;
    }
    Ok(())
}

#[cfg(feature = "hdf5")]
fn write_array(g: &hdf5::Group, name: &str, a: &Array) -> hdf5::Result<()> {
    match &a.data {
        Data::F32(v) => g
            .new_dataset::<f32>()
            .shape(a.shape.clone())
            .create(name)?
            .write_raw(v),
        Data::F64(v) => g
            .new_dataset::<f64>()
            .shape(a.shape.clone())
            .create(name)?
            .write_raw(v),
        Data::Int(v) => g
            .new_dataset::<i64>()
            .shape(a.shape.clone())
            .create(name)?
            .write_raw(v),
        Data::Str(v) => write_str(g, name, v, &a.shape),
    }
}

#[cfg(feature = "hdf5")]
fn write_str(g: &hdf5::Group, name: &str, v: &[String], shape: &[usize]) -> hdf5::Result<()> {
    use hdf5::types::VarLenUnicode;
    let s: Vec<VarLenUnicode> = v
        .iter()
        .map(|x| x.parse().map_err(|e| hdf5::Error::from(format!("{e}"))))
        .collect::<hdf5::Result<_>>()?;
    g.new_dataset::<VarLenUnicode>()
        .shape(shape.to_vec())
        .create(name)?
        .write_raw(&s)
}
