//! `eligo._eligo.Network`: a network description read by the engine's TOML reader and drawn.

use std::path::PathBuf;

use eligo_engine::io::config::{self, SimConfig};
use eligo_engine::prelude::*;
use numpy::{PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::to_py;

/// A network description, read and drawn (every random connection and initial value fixed by
/// its seed).
#[pyclass(module = "eligo._eligo")]
pub struct Network {
    pub cfg: SimConfig,
    pub net: eligo_engine::network::Network,
}

#[pymethods]
impl Network {
    /// Read a description from a file (`from_file`) or TOML text (`from_text`) and draw it.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let cfg = config::load(&path).map_err(|e| to_py(py, e))?;
        Network::build(py, cfg, Some(path))
    }

    /// A description given as JSON text (what the Python half makes of a dict): the same
    /// fields and checks as the TOML.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        let table: toml::Table = serde_json::from_str(text).map_err(|e| {
            to_py(
                py,
                Error::input(
                    "(dict)",
                    "",
                    format!("cannot be a network description: {e}"),
                    "use str keys and numbers, strings, booleans, lists and dicts as values (no None)",
                ),
            )
        })?;
        let cfg = config::parse_table(table).map_err(|e| to_py(py, e))?;
        Network::build(py, cfg, None)
    }

    /// `(indptr, indices, data)` of a projection: views of the network's own arrays.
    fn csr<'py>(this: &Bound<'py, Self>, name: &str) -> PyResult<crate::weights::CsrArrays<'py>> {
        crate::weights::csr(this, name)
    }

    /// `(n_pre, n_post)` of a projection.
    fn shape(&self, py: Python<'_>, name: &str) -> PyResult<(usize, usize)> {
        let k = crate::weights::projection_index(&self.net, name).map_err(|e| to_py(py, e))?;
        Ok(crate::weights::shape(&self.net, &self.net.projections[k]))
    }

    /// A projection as a dense `n_post x n_pre` float32 matrix (a copy).
    fn dense<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyArray2<f32>>> {
        crate::weights::dense(py, self, name)
    }

    /// Set a projection's weights, one per synapse in CSR order.
    fn set_data(
        &mut self,
        py: Python<'_>,
        name: &str,
        data: PyReadonlyArray1<'_, f32>,
    ) -> PyResult<()> {
        crate::weights::set_data(py, self, name, data)
    }

    /// Set a projection's weights from a dense `n_post x n_pre` matrix.
    fn set_dense(
        &mut self,
        py: Python<'_>,
        name: &str,
        w: PyReadonlyArray2<'_, f64>,
    ) -> PyResult<()> {
        crate::weights::set_dense(py, self, name, w)
    }

    /// See [`Network::from_file`].
    #[staticmethod]
    fn from_text(py: Python<'_>, text: &str) -> PyResult<Self> {
        let cfg = config::parse(text).map_err(|e| to_py(py, e))?;
        Network::build(py, cfg, None)
    }

    /// Time step (ms).
    #[getter]
    fn dt_ms(&self) -> f64 {
        self.net.dt_ms
    }

    /// The description's `duration_ms`, as a whole number of steps times `dt_ms`.
    #[getter]
    fn duration_ms(&self) -> f64 {
        self.cfg.steps as f64 * self.net.dt_ms
    }

    /// Steps of the description's `duration_ms`.
    #[getter]
    fn steps(&self) -> u64 {
        self.cfg.steps
    }

    /// Seed of every random draw.
    #[getter]
    fn seed(&self) -> u64 {
        self.net.seed
    }

    /// The file it was read from (None for text).
    #[getter]
    fn file(&self) -> Option<String> {
        self.cfg.file.as_ref().map(|f| f.display().to_string())
    }

    /// Populations in global-id order: (name, size, model, first global id).
    #[getter]
    fn populations(&self) -> Vec<(String, u32, &'static str, u32)> {
        self.net
            .populations
            .iter()
            .map(|p| (p.name.clone(), p.size, p.model.name(), p.start))
            .collect()
    }

    /// Projections: (name, from, to, synapses drawn).
    #[getter]
    fn projections(&self) -> Vec<(String, String, String, usize)> {
        let pops = &self.net.populations;
        self.net
            .projections
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    pops[p.pre].name.clone(),
                    pops[p.post].name.clone(),
                    p.len(),
                )
            })
            .collect()
    }

    /// The plugins of the description's `[[rule]]` tables, in file order.
    #[getter]
    fn rules(&self) -> Vec<String> {
        self.cfg.rules.iter().map(|r| r.rule.clone()).collect()
    }

    /// Names of the populations whose spikes the description records.
    #[getter]
    fn recorded(&self) -> Vec<String> {
        self.cfg
            .record
            .spikes
            .iter()
            .map(|&p| self.net.populations[p].name.clone())
            .collect()
    }
}

impl Network {
    fn build(py: Python<'_>, cfg: SimConfig, file: Option<PathBuf>) -> PyResult<Self> {
        let in_file = |e: Error| match &file {
            Some(f) => e.in_file(f),
            None => e,
        };
        let spec = cfg.network.clone();
        let net = py
            .detach(|| spec.build())
            .map_err(|e| to_py(py, in_file(e)))?;
        Ok(Network { cfg, net })
    }
}

impl Network {
    /// A trained network: `net` (its weights as trained) drawn from `spec`, with `steps` as its
    /// duration (a task's sequence) and every population's spikes recorded.
    pub(crate) fn trained(
        spec: eligo_engine::network::NetworkSpec,
        steps: u64,
        net: eligo_engine::network::Network,
    ) -> Self {
        let cfg = SimConfig {
            file: None,
            network: spec,
            steps,
            record: RecordSpec {
                spikes: (0..net.populations.len()).collect(),
                state: Vec::new(),
            },
            weights: Vec::new(),
            rules: Vec::new(),
            nir: None,
        };
        Network { cfg, net }
    }
}
