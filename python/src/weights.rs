//! Weights of a [`Network`]'s projections to and from NumPy: live read-only views of the CSR
//! arrays (rows presynaptic, the engine's layout), a dense `W[post, pre]` copy, and setting
//! the weights at the existing synapses (the connectivity is fixed when the network is drawn).

use eligo_engine::io::weights;
use eligo_engine::network::Projection;
use eligo_engine::prelude::*;
use numpy::ndarray::ArrayView1;
use numpy::{
    PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use crate::network::Network;
use crate::to_py;

/// Index of the projection called `name`, or an `InputError` listing the names.
pub fn projection_index(net: &eligo_engine::network::Network, name: &str) -> Result<usize> {
    net.projections
        .iter()
        .position(|p| p.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = net.projections.iter().map(|p| p.name.as_str()).collect();
            Error::input(
                "projection",
                name,
                format!(
                    "must be one of the network's projections: {}",
                    names.join(", ")
                ),
                eligo_engine::error::did_you_mean(name, &names),
            )
        })
}

/// `(indptr, indices, data)` arrays of a projection.
pub type CsrArrays<'py> = (
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<f32>>,
);

/// `(indptr, indices, data)` of projection `name`, as NumPy arrays borrowing the network's
/// own vectors (no copy; `this` is their base object).
pub fn csr<'py>(this: &Bound<'py, Network>, name: &str) -> PyResult<CsrArrays<'py>> {
    let py = this.py();
    let me = this.borrow();
    let p = &me.net.projections[projection_index(&me.net, name).map_err(|e| to_py(py, e))?];
    let view_u32 = |v: &Vec<u32>| {
        // SAFETY: the vector lives in `this`, which the array keeps alive as its base; its
        // buffer is never reallocated: the only writer, `set_data`, copies into it in place,
        // and the network's projections are never replaced once drawn.
        unsafe { PyArray1::borrow_from_array(&ArrayView1::from(&v[..]), this.clone().into_any()) }
    };
    // SAFETY: as above, for the weights.
    let data = unsafe {
        PyArray1::borrow_from_array(&ArrayView1::from(&p.weights[..]), this.clone().into_any())
    };
    Ok((view_u32(&p.indptr), view_u32(&p.targets), data))
}

/// Rows (presynaptic) and columns (postsynaptic) of projection `p`.
pub fn shape(net: &eligo_engine::network::Network, p: &Projection) -> (usize, usize) {
    (p.n_pre(), net.populations[p.post].size as usize)
}

/// Projection `name` as a dense `n_post x n_pre` float32 matrix (a new array), refused above
/// the memory limit.
pub fn dense<'py>(
    py: Python<'py>,
    me: &Network,
    name: &str,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let err = |e| to_py(py, e);
    let p = &me.net.projections[projection_index(&me.net, name).map_err(err)?];
    let (n_pre, n_post) = shape(&me.net, p);
    let bytes = (n_pre as u64)
        .saturating_mul(n_post as u64)
        .saturating_mul(4);
    if let Some((limit, from)) = eligo_engine::limits::memory_limit().map_err(err)?
        && bytes > limit / 2
    {
        return Err(err(Error::input(
            "projection",
            name,
            format!(
                "as a dense {n_post} x {n_pre} matrix needs {}, more than half the memory \
                 limit ({}, {from})",
                eligo_engine::limits::human_bytes(bytes),
                eligo_engine::limits::human_bytes(limit)
            ),
            "read it sparse with Network.csr(name) (one entry per synapse)",
        )));
    }
    let w = weights::dense(p, n_post);
    PyArray1::from_vec(py, w).reshape([n_post, n_pre])
}

/// Set the weights of projection `name` at its synapses (one value per synapse, in the CSR
/// order of [`csr`]): copied in place, so views from [`csr`] see the new values.
pub fn set_data(
    py: Python<'_>,
    me: &mut Network,
    name: &str,
    data: PyReadonlyArray1<'_, f32>,
) -> PyResult<()> {
    let err = |e| to_py(py, e);
    let k = projection_index(&me.net, name).map_err(err)?;
    let p = &mut me.net.projections[k];
    let data = data.as_slice()?;
    let field = format!("weights['{name}']");
    if data.len() != p.len() {
        return Err(err(Error::input(
            field,
            format!("{} values", data.len()),
            format!("must hold one weight per synapse: {}", p.len()),
            "pass a dense [n_post, n_pre] matrix, a scipy.sparse matrix with the network's connectivity, or Network.csr(name).data changed",
        )));
    }
    if let Some(i) = data.iter().position(|w| !w.is_finite()) {
        return Err(err(Error::input(
            format!("{field}[{i}]"),
            data[i],
            "weights must be finite",
            "replace NaN and infinite values",
        )));
    }
    p.weights.copy_from_slice(data);
    Ok(())
}

/// Set projection `name` from a dense `n_post x n_pre` matrix: each synapse takes its entry;
/// entries where there is no synapse must be 0 (the connectivity is fixed).
pub fn set_dense(
    py: Python<'_>,
    me: &mut Network,
    name: &str,
    w: PyReadonlyArray2<'_, f64>,
) -> PyResult<()> {
    let err = |e| to_py(py, e);
    let k = projection_index(&me.net, name).map_err(err)?;
    let (n_pre, n_post) = shape(&me.net, &me.net.projections[k]);
    let field = format!("weights['{name}']");
    if w.shape() != [n_post, n_pre] {
        return Err(err(Error::input(
            field,
            format!("shape {:?}", w.shape()),
            format!("a dense weight matrix must have shape [n_post, n_pre] = [{n_post}, {n_pre}]"),
            "W[post, pre], the usual orientation; Network.weights(name) gives one",
        )));
    }
    let flat = w.as_slice()?;
    let p = &mut me.net.projections[k];
    let new = weights::scatter_dense(p, flat).map_err(|i| {
        err(Error::input(
            format!("{field}[{}, {}]", i / n_pre, i % n_pre),
            flat[i],
            "the network has no synapse there, so the entry must be 0",
            "the connectivity is fixed when the network is drawn; change the description to add synapses",
        ))
    })?;
    if let Some(i) = new.iter().position(|w| !w.is_finite()) {
        return Err(err(Error::input(
            format!("{field}: synapse {i}"),
            new[i],
            "weights must be finite float32 numbers",
            "replace NaN, infinite and huge values",
        )));
    }
    p.weights.copy_from_slice(&new);
    Ok(())
}
