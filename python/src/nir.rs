//! `eligo._eligo.nir_import` / `nir_export`: NIR graphs as the `nir` package's dicts
//! (`graph.to_dict()`, `nir.dict2NIRNode`) to network descriptions and back; the mapping is
//! the engine's (`eligo_engine::nir`, docs/nir.md), the HDF5 files are the `nir` package's.

use eligo_engine::io::nir::{Array, Data, NirFile, Node};
use eligo_engine::nir::Discretization;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::network::Network;
use crate::to_py;

fn bad(py: Python<'_>, field: &str, value: &str, allowed: &str) -> PyErr {
    crate::inputs::input_error(
        py,
        field,
        value,
        allowed,
        "pass graph.to_dict() of a nir.NIRGraph",
    )
}

fn array(py: Python<'_>, v: &Bound<'_, PyAny>, at: &str) -> PyResult<Array> {
    macro_rules! try_as {
        ($t:ty, $wrap:expr) => {
            if let Ok(a) = v.extract::<PyReadonlyArrayDyn<'_, $t>>() {
                let shape = a.shape().to_vec();
                let data = a.as_array().iter().copied().collect();
                return Ok(Array {
                    shape,
                    data: $wrap(data),
                });
            }
        };
    }
    try_as!(f32, Data::F32);
    try_as!(f64, Data::F64);
    try_as!(i64, Data::Int);
    if let Ok(a) = v.extract::<PyReadonlyArrayDyn<'_, i32>>() {
        return Ok(Array {
            shape: a.shape().to_vec(),
            data: Data::Int(a.as_array().iter().map(|&x| i64::from(x)).collect()),
        });
    }
    if let Ok(s) = v.extract::<String>() {
        return Ok(Array {
            shape: Vec::new(),
            data: Data::Str(vec![s]),
        });
    }
    if let Ok(x) = v.extract::<i64>() {
        return Ok(Array::int(Vec::new(), vec![x]));
    }
    if let Ok(x) = v.extract::<f64>() {
        return Ok(Array {
            shape: Vec::new(),
            data: Data::F64(vec![x]),
        });
    }
    Err(bad(
        py,
        at,
        &v.get_type().name().map_or("?".into(), |n| n.to_string()),
        "a NumPy array (float32, float64, int32, int64), a number or a string",
    ))
}

fn node(py: Python<'_>, d: &Bound<'_, PyDict>, at: &str, depth: usize) -> PyResult<Node> {
    if depth > 32 {
        return Err(bad(py, at, "", "graphs nested at most 32 deep"));
    }
    let mut n = Node::default();
    for (k, v) in d.iter() {
        let k: String = k.extract()?;
        let here = format!("{at}.{k}");
        match k.as_str() {
            "type" => n.kind = v.extract().map_err(|_| bad(py, &here, "", "a string"))?,
            "metadata" => {
                let m = v
                    .cast::<PyDict>()
                    .map_err(|_| bad(py, &here, "", "a dict"))?;
                for (mk, mv) in m.iter() {
                    let mk: String = mk.extract()?;
                    let a = array(py, &mv, &format!("{here}.{mk}"))?;
                    n.metadata.insert(mk, a);
                }
            }
            "nodes" => {
                let m = v
                    .cast::<PyDict>()
                    .map_err(|_| bad(py, &here, "", "a dict"))?;
                let mut g = n.graph.take().unwrap_or_default();
                for (ck, cv) in m.iter() {
                    let ck: String = ck.extract()?;
                    let cd = cv
                        .cast::<PyDict>()
                        .map_err(|_| bad(py, &here, "", "a dict per node"))?;
                    g.nodes.insert(
                        ck.clone(),
                        node(py, cd, &format!("{at}.nodes.{ck}"), depth + 1)?,
                    );
                }
                n.graph = Some(g);
            }
            "edges" => {
                let mut g = n.graph.take().unwrap_or_default();
                for (i, e) in v.try_iter()?.enumerate() {
                    let (a, b): (String, String) = e?.extract().map_err(|_| {
                        bad(py, &format!("{here}[{i}]"), "", "a pair of node names")
                    })?;
                    g.edges.push((a, b));
                }
                n.graph = Some(g);
            }
            _ if v.is_instance_of::<PyDict>() => {
                let m = v.cast::<PyDict>()?;
                for (mk, mv) in m.iter() {
                    let mk: String = mk.extract()?;
                    let a = array(py, &mv, &format!("{here}.{mk}"))?;
                    n.params.insert(format!("{k}.{mk}"), a);
                }
            }
            _ => {
                let a = array(py, &v, &here)?;
                n.params.insert(k, a);
            }
        }
    }
    if n.kind.is_empty() {
        return Err(bad(
            py,
            &format!("{at}.type"),
            "missing",
            "every node names its type",
        ));
    }
    if n.kind == "NIRGraph" && n.graph.is_none() {
        return Err(bad(
            py,
            &format!("{at}.nodes"),
            "missing",
            "a NIRGraph has nodes",
        ));
    }
    Ok(n)
}

fn to_dict<'py>(py: Python<'py>, n: &Node) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("type", &n.kind)?;
    for (k, a) in &n.params {
        d.set_item(k, py_array(py, a)?)?;
    }
    let m = PyDict::new(py);
    for (k, a) in &n.metadata {
        m.set_item(k, py_array(py, a)?)?;
    }
    d.set_item("metadata", m)?;
    if let Some(g) = &n.graph {
        let nodes = PyDict::new(py);
        for (k, c) in &g.nodes {
            nodes.set_item(k, to_dict(py, c)?)?;
        }
        d.set_item("nodes", nodes)?;
        let edges = PyList::empty(py);
        for (a, b) in &g.edges {
            edges.append(PyTuple::new(py, [a, b])?)?;
        }
        d.set_item("edges", edges)?;
    }
    Ok(d)
}

fn py_array<'py>(py: Python<'py>, a: &Array) -> PyResult<Bound<'py, PyAny>> {
    let shape = a.shape.clone();
    Ok(match &a.data {
        Data::F32(v) => PyArray1::from_vec(py, v.clone()).reshape(shape)?.into_any(),
        Data::F64(v) => PyArray1::from_vec(py, v.clone()).reshape(shape)?.into_any(),
        Data::Int(v) => PyArray1::from_vec(py, v.clone()).reshape(shape)?.into_any(),
        Data::Str(v) if v.len() == 1 && a.shape.is_empty() => {
            v[0].clone().into_pyobject(py)?.into_any()
        }
        Data::Str(v) => PyList::new(py, v)?.into_any(),
    })
}

fn graph_file(py: Python<'_>, graph: &Bound<'_, PyDict>, version: &str) -> PyResult<NirFile> {
    Ok(NirFile {
        version: version.to_string(),
        top: node(py, graph, "graph", 0)?,
    })
}

/// The network description (TOML text) of a NIR graph given as `graph.to_dict()`.
#[pyfunction]
#[pyo3(signature = (graph, version, dt_ms, discretization))]
pub fn nir_import(
    py: Python<'_>,
    graph: &Bound<'_, PyDict>,
    version: &str,
    dt_ms: f64,
    discretization: &str,
) -> PyResult<String> {
    let f = graph_file(py, graph, version)?;
    let disc = Discretization::parse(discretization, "discretization").map_err(|e| to_py(py, e))?;
    let table = eligo_engine::nir::import(&f, dt_ms, disc, None).map_err(|e| to_py(py, e))?;
    eligo_engine::io::config::parse_table(table.clone()).map_err(|e| to_py(py, e))?;
    toml::to_string(&table).map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
}

/// The NIR graph (as a dict for `nir.dict2NIRNode`) of a network with its current weights;
/// `source`: the graph it was imported from (unchanged nodes are written back verbatim).
#[pyfunction]
#[pyo3(signature = (net, discretization=None, source=None, version=""))]
pub fn nir_export<'py>(
    py: Python<'py>,
    net: &Network,
    discretization: Option<&str>,
    source: Option<&Bound<'py, PyDict>>,
    version: &str,
) -> PyResult<(Bound<'py, PyDict>, bool)> {
    let disc = discretization
        .map(|d| Discretization::parse(d, "discretization"))
        .transpose()
        .map_err(|e| to_py(py, e))?;
    let src = source.map(|g| graph_file(py, g, version)).transpose()?;
    let biases = eligo_engine::io::weights::default_biases(&net.net);
    let (f, origin) = eligo_engine::nir::export(&net.cfg, &net.net, &biases, disc, src.as_ref())
        .map_err(|e| to_py(py, e))?;
    Ok((
        to_dict(py, &f.top)?,
        origin == eligo_engine::nir::export::Origin::Source,
    ))
}
