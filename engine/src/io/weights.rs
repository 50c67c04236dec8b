//! Network weights as `.npz`: for each projection `P`, the arrays `P/indptr`, `P/indices` and
//! `P/data` (CSR by presynaptic neuron, exactly the engine's layout, so `scipy.sparse.csr_matrix
//! ((data, indices, indptr))` is the `n_pre x n_post` matrix); for each readout `R`, `R/bias`.
//!
//! Loading accepts that layout (structure must equal the network's) or a dense `P` array of
//! shape `n_post x n_pre` (`W[post, pre]`, the usual math orientation), whose entries at the
//! network's synapses are taken (entries where the network has no synapse must be 0; the
//! synapses a pair may have several of, from `fixed_indegree`'s draws with repeats, share its
//! entry equally, so that saving dense and loading gives the same total per pair).

use std::collections::BTreeMap;
use std::path::Path;

use super::npz::{self, Out};
use crate::error::{Error, Result};
use crate::network::{Network, Projection};
use crate::neuron::ModelSpec;

/// Arrays describing the weights of `net` (and readout `biases`, one vector per population,
/// empty where none).
pub fn arrays(net: &Network, biases: &[Vec<f32>], prefix: &str) -> BTreeMap<String, Out> {
    let mut m = BTreeMap::new();
    for p in &net.projections {
        let n = p.len() as u64;
        m.insert(
            format!("{prefix}{}/indptr", p.name),
            Out::U32(vec![p.indptr.len() as u64], p.indptr.clone()),
        );
        m.insert(
            format!("{prefix}{}/indices", p.name),
            Out::U32(vec![n], p.targets.clone()),
        );
        m.insert(
            format!("{prefix}{}/data", p.name),
            Out::F32(vec![n], p.weights.clone()),
        );
    }
    for (pop, b) in net.populations.iter().zip(biases) {
        if !b.is_empty() {
            m.insert(
                format!("{prefix}{}/bias", pop.name),
                Out::F32(vec![b.len() as u64], b.clone()),
            );
        }
    }
    m
}

/// Write the weights of `net` and the readout biases to `path`.
pub fn save(path: &Path, net: &Network, biases: &[Vec<f32>]) -> Result<()> {
    npz::write(path, &arrays(net, biases, ""))
}

/// [`save`] without the rename, for a run that puts all its outputs in place together
/// ([`super::commit_all`]).
pub fn save_staged(path: &Path, net: &Network, biases: &[Vec<f32>]) -> Result<super::Staged> {
    npz::write_staged(path, &arrays(net, biases, ""))
}

/// Bytes of the `.npz` [`save`] writes for `net` (without biases): 12 per synapse, 4 per row
/// offset, and room for each member's zip and `.npy` headers.
pub fn saved_bytes(net: &Network) -> u64 {
    net.projections
        .iter()
        .map(|p| 12 * p.len() as u64 + 4 * p.indptr.len() as u64 + 3 * 512)
        .fold(0, u64::saturating_add)
}

/// The weights of `p` as a dense row-major `n_post x n_pre` matrix (`W[post, pre]`); synapses
/// repeated between one pair are summed.
pub fn dense(p: &Projection, n_post: usize) -> Vec<f32> {
    let n_pre = p.n_pre();
    let mut w = vec![0.0f32; n_post * n_pre];
    for i in 0..n_pre {
        for s in p.row(i) {
            w[p.targets[s] as usize * n_pre + i] += p.weights[s];
        }
    }
    w
}

/// The weights of `p` from a dense row-major `n_post x n_pre` matrix (`W[post, pre]`, its
/// length checked by the caller), the inverse of [`dense`]: each synapse takes the entry of its
/// pair, shared equally by the `n` synapses a pair may have (`fixed_indegree` draws sources
/// with repeats). Every entry where `p` has no synapse must be 0; `Err(k)` is the flat index of
/// the first that is not.
pub fn scatter_dense(p: &Projection, data: &[f64]) -> std::result::Result<Vec<f32>, usize> {
    let n_pre = p.n_pre();
    let mut count = vec![0u32; data.len()];
    for i in 0..n_pre {
        for s in p.row(i) {
            count[p.targets[s] as usize * n_pre + i] += 1;
        }
    }
    if let Some(k) = (0..data.len()).find(|&k| count[k] == 0 && data[k] != 0.0) {
        return Err(k);
    }
    let mut w = vec![0.0f32; p.len()];
    for i in 0..n_pre {
        for s in p.row(i) {
            let k = p.targets[s] as usize * n_pre + i;
            w[s] = (data[k] / f64::from(count[k])) as f32;
        }
    }
    Ok(w)
}

/// Readout biases of `net` as its parameters say (one vector per population, empty where none).
pub fn default_biases(net: &Network) -> Vec<Vec<f32>> {
    net.populations
        .iter()
        .map(|p| match &p.model {
            ModelSpec::Readout(r) => vec![r.bias as f32; p.size as usize],
            _ => Vec::new(),
        })
        .collect()
}

/// Load weights (and biases) from `path` into `net` and `biases`. Every projection must be
/// present; only the members the network needs are read, each bounded by the size it must
/// have; errors name the file, the array, what was found and what the network needs, and leave
/// `net` and `biases` unchanged.
pub fn load(path: &Path, net: &mut Network, biases: &mut [Vec<f32>]) -> Result<()> {
    load_from(npz::Archive::open(path)?, path, net, biases)
}

/// [`load`] from an archive already open (e.g. in memory: the Python package's weights
/// arrays); errors name `path`.
pub fn load_from<R: std::io::Read + std::io::Seek>(
    zip: npz::Archive<R>,
    path: &Path,
    net: &mut Network,
    biases: &mut [Vec<f32>],
) -> Result<()> {
    let mut src = Source { zip, path };
    let mut loaded = Vec::with_capacity(net.projections.len());
    for p in &net.projections {
        let n_post = u64::from(net.populations[p.post].size);
        let weights = src.projection(p, n_post)?;
        if let Some(k) = weights.iter().position(|w| !w.is_finite()) {
            return Err(src.err(
                format!("{}/data[{k}]", p.name),
                weights[k].to_string(),
                "weights must be finite float32 numbers (below 3.4e38 in magnitude)".into(),
            ));
        }
        loaded.push(weights);
    }
    let loaded_biases = src.biases(net, biases)?;
    for (p, w) in net.projections.iter_mut().zip(loaded) {
        p.weights = w;
    }
    for (k, v) in loaded_biases {
        biases[k] = v;
    }
    Ok(())
}

/// The archive being loaded and its path, which every error names.
struct Source<'a, R> {
    zip: npz::Archive<R>,
    path: &'a Path,
}

impl<R: std::io::Read + std::io::Seek> Source<'_, R> {
    fn err(&self, field: String, value: String, allowed: String) -> Error {
        Error::input(
            field,
            value,
            allowed,
            "save the weights of this very network (eligo writes them to weights.npz)",
        )
        .in_file(self.path)
    }

    /// The weights of `p`, from its CSR members if `P/data` is there, else from a dense `P`.
    fn projection(&mut self, p: &Projection, n_post: u64) -> Result<Vec<f32>> {
        let data_key = format!("{}/data", p.name);
        if self.zip.contains(&data_key) {
            self.csr(p, data_key)
        } else if self.zip.contains(&p.name) {
            self.dense(p, n_post)
        } else {
            Err(self.err(
                data_key,
                "missing".into(),
                format!(
                    "every projection needs its weights ({0}/indptr, {0}/indices, {0}/data, or a dense {0})",
                    p.name
                ),
            ))
        }
    }

    /// `P/indptr` and `P/indices` must equal the network's; then `P/data` is the weights.
    fn csr(&mut self, p: &Projection, data_key: String) -> Result<Vec<f32>> {
        let n = p.len() as u64;
        for (part, want) in [("indptr", &p.indptr), ("indices", &p.targets)] {
            self.same_structure(&format!("{}/{part}", p.name), want, &data_key)?;
        }
        let data = self
            .zip
            .get(&data_key, n)?
            .expect("the archive has the member");
        if data.shape != [n] {
            return Err(self.err(
                data_key,
                format!("shape {:?}", data.shape),
                format!(
                    "must have shape [{n}], one weight per entry of {}/indices",
                    p.name
                ),
            ));
        }
        Ok(data.data.iter().map(|&x| x as f32).collect())
    }

    /// Member `key` (needed beside `data_key`) must be an integer array equal to `want`.
    fn same_structure(&mut self, key: &str, want: &[u32], data_key: &str) -> Result<()> {
        let a = self.zip.get(key, want.len() as u64)?.ok_or_else(|| {
            self.err(
                key.to_string(),
                "missing".into(),
                format!("{data_key} needs {key} too"),
            )
        })?;
        if !a.dtype.contains(['i', 'u']) {
            return Err(self.err(
                key.to_string(),
                format!("dtype {}", a.dtype),
                "must be an integer array (int32, uint32, int64 or uint64)".into(),
            ));
        }
        if a.shape != [want.len() as u64] {
            return Err(self.err(
                key.to_string(),
                format!("shape {:?}", a.shape),
                format!(
                    "must have shape [{}] like the network's connectivity: the weights belong to another network",
                    want.len()
                ),
            ));
        }
        if let Some(k) = (0..want.len()).find(|&k| a.data[k] != f64::from(want[k])) {
            return Err(self.err(
                format!("{key}[{k}]"),
                a.data[k].to_string(),
                format!(
                    "the network has {} there: the connectivity must equal the network's (the weights belong to another network)",
                    want[k]
                ),
            ));
        }
        Ok(())
    }

    /// A dense `P[post, pre]`: its entries at the network's synapses are the weights, every
    /// other entry must be 0.
    fn dense(&mut self, p: &Projection, n_post: u64) -> Result<Vec<f32>> {
        let n_pre = p.n_pre() as u64;
        let d = self
            .zip
            .get(&p.name, n_post * n_pre)?
            .expect("the archive has the member");
        if d.shape != [n_post, n_pre] {
            return Err(self.err(
                p.name.clone(),
                format!("shape {:?}", d.shape),
                format!(
                    "a dense weight array must have shape [n_post, n_pre] = [{n_post}, {n_pre}]"
                ),
            ));
        }
        let n_pre = n_pre as usize;
        let w = scatter_dense(p, &d.data).map_err(|k| {
            self.err(
                format!("{}[{}, {}]", p.name, k / n_pre, k % n_pre),
                d.data[k].to_string(),
                "the network has no synapse there, so the entry must be 0".into(),
            )
        })?;
        Ok(w)
    }

    /// The readout biases present in the archive, as (population index, values); a missing
    /// bias keeps the network's.
    fn biases(&mut self, net: &Network, biases: &[Vec<f32>]) -> Result<Vec<(usize, Vec<f32>)>> {
        let mut loaded = Vec::new();
        for (k, (pop, b)) in net.populations.iter().zip(biases.iter()).enumerate() {
            if b.is_empty() {
                continue;
            }
            let key = format!("{}/bias", pop.name);
            if let Some(a) = self.zip.get(&key, b.len() as u64)? {
                let v: Vec<f32> = a.data.iter().map(|&x| x as f32).collect();
                if a.shape != [b.len() as u64] || v.iter().any(|x| !x.is_finite()) {
                    return Err(self.err(
                        key,
                        format!("shape {:?}", a.shape),
                        format!(
                            "must hold {} finite float32 numbers (shape [{}])",
                            b.len(),
                            b.len()
                        ),
                    ));
                }
                loaded.push((k, v));
            }
        }
        Ok(loaded)
    }
}
