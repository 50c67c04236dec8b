//! `eligo._eligo.plugins`: the rule plugins the engine finds (`plugin::listing`, what
//! `eligo plugins` lists), with their parameter tables.

use std::path::PathBuf;

use eligo_engine::plugin::{ParamKind, listing};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// One dict per candidate library, in search order (`plugin_dir` first): `rule` (the name
/// `rule=` finds it by), `path`, and either `refused` (why) or `name`, `version`, `abi`,
/// `output`, `signature` and `parameters` (one dict each: `name`, `type`, `default`, `unit`,
/// `min`, `max`, `choices`, `doc`, `default_text` and `range` as `eligo plugins` shows them).
#[pyfunction]
#[pyo3(signature = (plugin_dir=vec![]))]
pub fn plugins(py: Python<'_>, plugin_dir: Vec<PathBuf>) -> PyResult<Bound<'_, PyList>> {
    // reading symbol tables and loading libraries touches no Python object
    let found = py.detach(|| listing::list(&plugin_dir));
    let out = PyList::empty(py);
    for c in found {
        let d = PyDict::new(py);
        d.set_item("rule", &c.rule)?;
        d.set_item("path", c.path.map(|p| p.display().to_string()))?;
        match c.plugin {
            Err(why) => d.set_item("refused", why)?,
            Ok(p) => {
                d.set_item("refused", py.None())?;
                d.set_item("name", &p.name)?;
                d.set_item("version", &p.version)?;
                d.set_item("abi", p.abi)?;
                d.set_item("output", format!("{:?}", p.output))?;
                d.set_item("signature", &p.signature)?;
                let params = PyList::empty(py);
                for q in &p.params {
                    let e = PyDict::new(py);
                    e.set_item("name", &q.name)?;
                    e.set_item("type", listing::kind_label(q.kind))?;
                    match (q.kind, &q.choices) {
                        (ParamKind::Number, _) => e.set_item("default", q.default)?,
                        (ParamKind::Choice, Some(ch)) => {
                            e.set_item("default", ch.get(q.default as usize))?
                        }
                        _ => e.set_item("default", &q.default_text)?,
                    }
                    e.set_item("unit", &q.unit)?;
                    let number = q.kind == ParamKind::Number;
                    e.set_item("min", number.then_some(q.min))?;
                    e.set_item("max", number.then_some(q.max))?;
                    e.set_item("choices", &q.choices)?;
                    e.set_item("doc", &q.doc)?;
                    e.set_item("default_text", listing::default_text(q))?;
                    e.set_item("range", listing::range_text(q))?;
                    params.append(e)?;
                }
                d.set_item("parameters", params)?;
            }
        }
        out.append(d)?;
    }
    Ok(out)
}
