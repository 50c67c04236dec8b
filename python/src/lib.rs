//! `eligo._eligo`: the compiled half of the Python package `eligo` (its Python half, in
//! `python/eligo`, wraps these functions into the documented API and is what users import).
//!
//! Everything here is a thin layer over the engine, the same calls the CLI makes: a network
//! description is read by `eligo_engine::io::config` and drawn by `NetworkSpec::build`, a run is
//! an `eligo_engine::sim::Simulation` cut into pieces between which Python's signal handlers
//! run (Ctrl-C), with the GIL released while a piece simulates. Engine input errors become
//! `eligo.InputError` (a `ValueError`) carrying the engine's message and its parts.

use eligo_engine::prelude::*;
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

mod agent;
mod envs;
mod events;
mod grad;
mod gym_env;
mod inputs;
mod network;
mod nir;
mod plugins;
mod simulate;
mod simulation;
mod train;
mod weights;

create_exception!(
    _eligo,
    InputError,
    PyValueError,
    "Bad input (network description, argument): the message names the file, the field, the \
     value, what is allowed and what to try; the attributes file, field, value, allowed and \
     hint hold those parts (file is None for text or values given in code)."
);

/// An engine error as a Python exception: input errors as [`InputError`] with their parts as
/// attributes, anything else (a rule failed, an I/O error) as `RuntimeError`.
pub(crate) fn to_py(py: Python<'_>, e: Error) -> PyErr {
    match e {
        Error::Input(ie) => {
            let err = InputError::new_err(ie.to_string());
            let v = err.value(py);
            let file = ie.file.as_ref().map(|f| f.display().to_string());
            // setting attributes on a fresh exception instance cannot fail but for memory
            let _ = v.setattr("file", file);
            let _ = v.setattr("field", &ie.field);
            let _ = v.setattr("value", &ie.value);
            let _ = v.setattr("allowed", &ie.allowed);
            let _ = v.setattr("hint", &ie.hint);
            err
        }
        other => PyRuntimeError::new_err(other.to_string()),
    }
}

/// The compiled module.
#[pymodule]
fn _eligo(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InputError", m.py().get_type::<InputError>())?;
    m.add_class::<network::Network>()?;
    m.add_function(wrap_pyfunction!(nir::nir_import, m)?)?;
    m.add_function(wrap_pyfunction!(nir::nir_export, m)?)?;
    m.add_function(wrap_pyfunction!(simulate::simulate, m)?)?;
    m.add_class::<simulation::Simulation>()?;
    m.add_function(wrap_pyfunction!(inputs::input_error, m)?)?;
    m.add_class::<train::TrainRun>()?;
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    m.add_function(wrap_pyfunction!(grad::grad, m)?)?;
    m.add_function(wrap_pyfunction!(plugins::plugins, m)?)?;
    m.add_function(wrap_pyfunction!(events::events_read, m)?)?;
    m.add_function(wrap_pyfunction!(events::events_write, m)?)?;
    m.add_function(wrap_pyfunction!(events::events_info, m)?)?;
    m.add_class::<agent::AgentTrainRun>()?;
    m.add_function(wrap_pyfunction!(agent::train_agent, m)?)?;
    m.add_function(wrap_pyfunction!(envs::episode_seed, m)?)?;
    m.add_class::<envs::CartPole>()?;
    m.add_function(wrap_pyfunction!(envs::encode, m)?)?;
    m.add_function(wrap_pyfunction!(envs::rates, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // the built-in rules, found by name when no plugin directory has them
    for desc in [
        eligo_plugin::descriptor::<eligo_eprop::Eprop>(),
        eligo_plugin::descriptor::<eligo_eprop_chip::EpropChip>(),
        eligo_plugin::descriptor::<eligo_bptt::Bptt>(),
        eligo_plugin::descriptor::<eligo_ottt::Ottt>(),
        eligo_plugin::descriptor::<eligo_ostl::Ostl>(),
        eligo_plugin::descriptor::<eligo_otpe::Otpe>(),
        eligo_plugin::descriptor::<eligo_stdp::Stdp>(),
        eligo_plugin::descriptor::<eligo_rstdp::Rstdp>(),
    ] {
        eligo_engine::plugin::loader::link(desc);
    }
    Ok(())
}
