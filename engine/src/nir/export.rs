//! Eligo network → NIR graph.
//!
//! A network imported from a NIR file (its `[nir].source` still readable) is written as that
//! file's graph: nodes whose Eligo counterpart is unchanged go back verbatim (bit for bit,
//! subgraphs and metadata included); a projection whose weights changed (training) gets them
//! back into its Affine/Linear node, divided by the input factor `f` the import multiplied
//! them by. Any other network is written from Eligo's parameters:
//!
//! ```text
//! source population (external, poisson, spike_times) -> Input  shape [n]
//! lif      -> LIF  (euler: tau = h / (1 - alpha), r = tau / h; exact: tau = tau_m, r = 1 / (1 - alpha);
//!                   v_threshold = v_th, v_leak = v_reset = 0), refractory period 0 only
//! readout  -> LI   (tau and r likewise, v_leak = bias)
//! projection P (from A to B) -> Linear node P, weight[post, pre]; edges A -> P -> B;
//!                   a delay d > 1 step adds a Delay node P_delay of (d - 1) dt seconds
//! recorded populations (or, with no recorder, neuron populations nothing reads) -> Output
//! ```
//!
//! A `lif_exp` population (a CubaLIF node on import) goes back only through its source file.
//!
//! `tau` is chosen among the float32 values next to the formula's so that importing the file
//! again at the same `dt` gives back Eligo's float32 `alpha` exactly.

use std::collections::BTreeMap;
use std::path::Path;

use super::import::{Chain, import_chains, population};
use super::{Discretization, FNode, IF_TAU_MS};
use crate::error::{Error, Result};
use crate::io::config::SimConfig;
use crate::io::nir::{Array, Data, Graph, NirFile, Node, WRITE_VERSION};
use crate::network::{Delays, Network, Projection};
use crate::neuron::ModelSpec;

/// How the file was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// From the NIR file the network was imported from (`[nir].source`).
    Source,
    /// From Eligo's parameters.
    Eligo,
}

/// The NIR file of network `net` (built from `cfg`, weights and readout `biases` as
/// trained), at discretization `disc` (default: the `[nir]` table's, else Euler); `source`: the
/// NIR file it was imported from, if at hand (see the module header).
pub fn export(
    cfg: &SimConfig,
    net: &Network,
    biases: &[Vec<f32>],
    disc: Option<Discretization>,
    source: Option<&NirFile>,
) -> Result<(NirFile, Origin)> {
    let nir = cfg.nir.as_ref();
    let disc = match disc {
        Some(d) => d,
        None => Discretization::parse(
            nir.and_then(|t| t.get("discretization"))
                .and_then(|v| v.as_str())
                .unwrap_or("euler"),
            "nir.discretization",
        )?,
    };
    if let Some(src) = source {
        let path = nir
            .and_then(|t| t.get("source"))
            .and_then(|v| v.as_str())
            .unwrap_or("the source NIR graph");
        if let Some(f) = from_source(cfg, net, biases, disc, src.clone(), Path::new(path))? {
            return Ok((f, Origin::Source));
        }
    }
    Ok((from_eligo(cfg, net, biases, disc)?, Origin::Eligo))
}

/// The source file with the network's changes, or `None` if the network no longer has the
/// source's populations and projections (then it is written from Eligo's parameters).
fn from_source(
    cfg: &SimConfig,
    net: &Network,
    biases: &[Vec<f32>],
    disc: Discretization,
    mut f: NirFile,
    path: &Path,
) -> Result<Option<NirFile>> {
    let (table, chains) = import_chains(&f, net.dt_ms, disc, None).map_err(|e| e.in_file(path))?;
    let c0 = crate::io::config::parse_table(table).map_err(|e| e.in_file(path))?;
    let net0 = c0.network.build().map_err(|e| e.in_file(path))?;
    let same_shape = net0.populations.len() == net.populations.len()
        && net0.projections.len() == net.projections.len()
        && net0
            .populations
            .iter()
            .zip(&net.populations)
            .all(|(a, b)| a.name == b.name && a.size == b.size)
        && net0
            .projections
            .iter()
            .zip(&net.projections)
            .all(|(a, b)| a.name == b.name && a.pre == b.pre && a.post == b.post)
        && chains
            .iter()
            .zip(&net.projections)
            .all(|(c, p)| c.name == p.name);
    if !same_shape {
        return Ok(None);
    }
    for (a, b) in cfg.network.populations.iter().zip(&c0.network.populations) {
        if a.model != b.model {
            return Err(Error::input(
                format!("population '{}'", a.name),
                "",
                format!(
                    "its parameters differ from node '{}' of the NIR file it was imported from \
                     ({}); export writes trained weights back into that file, not changed neuron \
                     parameters",
                    a.name,
                    path.display()
                ),
                "remove `source` from the [nir] table to export from Eligo's parameters",
            ));
        }
    }
    // trained readout biases go into the LI node's v_leak
    for (p, b) in net.populations.iter().zip(biases) {
        if let ModelSpec::Readout(rp) = &p.model
            && b.iter().any(|&x| x.to_bits() != (rp.bias as f32).to_bits())
            && let Some(node) = node_at_mut(&mut f.top, &p.name)
        {
            let shape = node
                .params
                .get("v_leak")
                .map_or(vec![b.len()], |a| a.shape.clone());
            node.params
                .insert("v_leak".into(), Array::f32(shape, b.clone()));
        }
    }
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &chains {
        for o in &c.ops {
            *uses.entry(o.as_str()).or_default() += 1;
        }
    }
    for ((p, p0), chain) in net.projections.iter().zip(&net0.projections).zip(&chains) {
        if p.indptr == p0.indptr
            && p.targets == p0.targets
            && p.delays == p0.delays
            && bits(&p.weights) == bits(&p0.weights)
        {
            continue;
        }
        if p.indptr != p0.indptr || p.targets != p0.targets || p.delays != p0.delays {
            return Ok(None);
        }
        let weighted: Vec<&String> = chain
            .ops
            .iter()
            .filter(|o| {
                node_at(&f.top, o).is_some_and(|n| {
                    n.kind != "Delay"
                        && n.kind != "Input"
                        && n.kind != "Output"
                        && n.kind != "Flatten"
                })
            })
            .collect();
        let op = match weighted.as_slice() {
            [op] if matches!(
                node_at(&f.top, op).map(|n| n.kind.as_str()),
                Some("Affine" | "Linear")
            ) && uses[op.as_str()] == 1 =>
            {
                (*op).clone()
            }
            _ => {
                return Err(Error::input(
                    format!("projection '{}'", p.name),
                    "",
                    format!(
                        "its weights changed, but in the NIR file it is the chain {:?}, not one \
                         Affine/Linear node of its own: the new weights cannot be split back",
                        chain.ops
                    ),
                    "remove `source` from the [nir] table to export from Eligo's parameters",
                ));
            }
        };
        let n_post = net.populations[p.post].size as usize;
        let w = dense(p, n_post, chain);
        let node = node_at_mut(&mut f.top, &op).expect("found above");
        let stored = node.params.get("weight").expect("import read it");
        let data = match stored.data {
            Data::F64(_) => Data::F64(w.iter().map(|&x| f64::from(x)).collect()),
            _ => Data::F32(w),
        };
        let shape = stored.shape.clone();
        node.params.insert("weight".into(), Array { shape, data });
    }
    Ok(Some(f))
}

fn bits(w: &[f32]) -> Vec<u32> {
    w.iter().map(|x| x.to_bits()).collect()
}

/// `W[post, pre]` of a projection made by the import (one synapse per pair), divided by the
/// chain's factor.
fn dense(p: &Projection, n_post: usize, chain: &Chain) -> Vec<f32> {
    let n_pre = p.n_pre();
    let mut w = vec![0.0f32; n_post * n_pre];
    for i in 0..n_pre {
        for s in p.row(i) {
            let x = p.weights[s];
            w[p.targets[s] as usize * n_pre + i] = if chain.factor == 1.0 {
                x
            } else {
                (f64::from(x) / chain.factor) as f32
            };
        }
    }
    w
}

/// The node at full name `a.b.c` (inside subgraph `a`, then `b`).
fn node_at<'a>(top: &'a Node, full: &str) -> Option<&'a Node> {
    let mut n = top;
    for part in full.split('.') {
        n = n.graph.as_ref()?.nodes.get(part)?;
    }
    Some(n)
}

fn node_at_mut<'a>(top: &'a mut Node, full: &str) -> Option<&'a mut Node> {
    let mut n = top;
    for part in full.split('.') {
        n = n.graph.as_mut()?.nodes.get_mut(part)?;
    }
    Some(n)
}

fn f32s(n: usize, x: f32) -> Array {
    Array::f32(vec![n], vec![x; n])
}

/// The graph of the network from Eligo's parameters (see the module header).
fn from_eligo(
    cfg: &SimConfig,
    net: &Network,
    biases: &[Vec<f32>],
    disc: Discretization,
) -> Result<NirFile> {
    let dt_ms = net.dt_ms;
    let h = dt_ms * 1e-3;
    let mut g = Graph::default();
    let names: Vec<String> = net.populations.iter().map(|p| p.name.clone()).collect();
    for (k, p) in net.populations.iter().enumerate() {
        let n = p.size as usize;
        let at = format!("population '{}'", p.name);
        let mut node = Node::default();
        match &p.model {
            ModelSpec::Poisson(_) | ModelSpec::SpikeTimes(_) | ModelSpec::External => {
                node.kind = "Input".into();
                node.params
                    .insert("shape".into(), Array::int(vec![1], vec![n as i64]));
            }
            ModelSpec::Lif(lp) => {
                let c = lp.derive(dt_ms).map_err(|e| e.under(&at))?;
                if c.n_ref > 1 {
                    return Err(Error::input(
                        format!("{at}.t_ref_ms"),
                        format!("{} steps", c.n_ref),
                        "a NIR LIF node has no refractory period: only n_ref = 0 (or 1) can be \
                         exported",
                        "set n_ref = 0 in the population (the default is 5 steps)",
                    ));
                }
                let (tau, r) = leaky(p, c.alpha, dt_ms, disc, "LIF")?;
                if lp.tau_m_ms == IF_TAU_MS && c.alpha == 1.0 {
                    node.kind = "IF".into();
                    node.params.insert("r".into(), f32s(n, (1.0 / h) as f32));
                } else {
                    node.kind = "LIF".into();
                    node.params.insert("tau".into(), f32s(n, tau));
                    node.params.insert("r".into(), f32s(n, r));
                    node.params.insert("v_leak".into(), f32s(n, 0.0));
                }
                node.params.insert("v_threshold".into(), f32s(n, c.v_th));
                node.params.insert("v_reset".into(), f32s(n, 0.0));
            }
            ModelSpec::Readout(rp) => {
                let kappa = rp.derive(dt_ms).map_err(|e| e.under(&at))?;
                let (tau, r) = leaky(p, kappa, dt_ms, disc, "LI")?;
                node.kind = "LI".into();
                node.params.insert("tau".into(), f32s(n, tau));
                node.params.insert("r".into(), f32s(n, r));
                let b = match biases.get(k) {
                    Some(b) if b.len() == n => b.clone(),
                    _ => vec![rp.bias as f32; n],
                };
                node.params.insert("v_leak".into(), Array::f32(vec![n], b));
            }
            other => {
                return Err(Error::input(
                    format!("{at}.model"),
                    format!("'{}'", other.name()),
                    "this model is not written from Eligo's parameters; exportable: lif (n_ref \
                     = 0), readout, and the sources (as Input); a lif_exp imported from a \
                     CubaLIF node goes back through its source file",
                    "keep `source` in the [nir] table of an imported network",
                ));
            }
        }
        g.nodes.insert(p.name.clone(), node);
    }
    for p in &net.projections {
        let mut name = p.name.clone();
        while g.nodes.contains_key(&name) {
            name.push('_');
        }
        let (pre, post) = (&names[p.pre], &names[p.post]);
        let n_post = net.populations[p.post].size as usize;
        let n_pre = p.n_pre();
        let mut w = vec![0.0f32; n_post * n_pre];
        for i in 0..n_pre {
            for s in p.row(i) {
                w[p.targets[s] as usize * n_pre + i] += p.weights[s];
            }
        }
        let mut node = Node {
            kind: "Linear".into(),
            ..Node::default()
        };
        node.params
            .insert("weight".into(), Array::f32(vec![n_post, n_pre], w));
        g.nodes.insert(name.clone(), node);
        g.edges.push((pre.clone(), name.clone()));
        let d = match &p.delays {
            Delays::Uniform(d) => *d,
            Delays::PerSynapse(v) if v.iter().all(|&x| x == v[0]) => v[0],
            Delays::PerSynapse(_) => {
                return Err(Error::input(
                    format!("projection '{}'.delay_ms", p.name),
                    "per synapse",
                    "NIR Delay nodes delay a node's outputs: only one delay per projection can \
                     be exported",
                    "",
                ));
            }
        };
        if d > 1 {
            let dn = format!("{name}_delay");
            let delay = Node {
                kind: "Delay".into(),
                params: [(
                    "delay".to_string(),
                    f32s(n_post, (f64::from(d - 1) * h) as f32),
                )]
                .into(),
                ..Node::default()
            };
            g.nodes.insert(dn.clone(), delay);
            g.edges.push((name.clone(), dn.clone()));
            g.edges.push((dn, post.clone()));
        } else {
            g.edges.push((name, post.clone()));
        }
    }
    let mut outs: Vec<usize> = cfg.record.spikes.clone();
    for s in &cfg.record.state {
        if matches!(net.populations[s.population].model, ModelSpec::Readout(_)) {
            outs.push(s.population);
        }
    }
    if outs.is_empty() {
        outs = (0..net.populations.len())
            .filter(|&i| {
                !net.populations[i].model.is_source() && !net.projections.iter().any(|p| p.pre == i)
            })
            .collect();
    }
    outs.sort_unstable();
    outs.dedup();
    for i in outs {
        let mut name = format!("output_{}", names[i]);
        while g.nodes.contains_key(&name) {
            name.push('_');
        }
        let mut node = Node {
            kind: "Output".into(),
            ..Node::default()
        };
        node.params.insert(
            "shape".into(),
            Array::int(vec![1], vec![i64::from(net.populations[i].size)]),
        );
        g.nodes.insert(name.clone(), node);
        g.edges.push((names[i].clone(), name));
    }
    Ok(NirFile {
        version: WRITE_VERSION.into(),
        top: Node {
            kind: "NIRGraph".into(),
            graph: Some(g),
            ..Node::default()
        },
    })
}

/// `tau` (s) and `r` as float32 for a leaky population with per-step decay `alpha`, such that
/// importing them again at `dt_ms` with `disc` gives back `alpha` (float32) and a factor of 1.
fn leaky(
    p: &crate::network::Population,
    alpha: f32,
    dt_ms: f64,
    disc: Discretization,
    kind: &str,
) -> Result<(f32, f32)> {
    let h = dt_ms * 1e-3;
    let a = f64::from(alpha);
    let tau0 = match disc {
        Discretization::Euler => h / (1.0 - a),
        Discretization::Exact => -h / a.ln(),
    } as f32;
    let r_of = |tau: f32| match disc {
        Discretization::Euler => (f64::from(tau) / h) as f32,
        Discretization::Exact => (1.0 / (1.0 - (-h / f64::from(tau)).exp())) as f32,
    };
    // the float32 values around tau0, nearest first
    let mut cands = vec![tau0];
    let (mut lo, mut hi) = (tau0, tau0);
    for _ in 0..16 {
        lo = f32::from_bits(lo.to_bits() - 1);
        hi = f32::from_bits(hi.to_bits() + 1);
        cands.push(lo);
        cands.push(hi);
    }
    for tau in cands {
        let r = r_of(tau);
        let mut node = Node {
            kind: kind.into(),
            ..Node::default()
        };
        for (k, v) in [
            ("tau", tau),
            ("r", r),
            ("v_leak", 0.0),
            ("v_threshold", 1.0),
        ] {
            node.params.insert(k.into(), f32s(1, v));
        }
        let f = FNode { node, top: true };
        let Ok((t, factor)) = population("x", &f, 1, h, dt_ms, disc) else {
            continue;
        };
        let key = if kind == "LI" {
            "tau_out_ms"
        } else {
            "tau_m_ms"
        };
        let Some(tau_ms) = t.get(key).and_then(|v| v.as_float()) else {
            continue;
        };
        let v_th = t.get("v_th").and_then(|v| v.as_float()).unwrap_or(1.0);
        if factor == 1.0 && v_th == 1.0 && ((-dt_ms / tau_ms).exp() as f32) == alpha {
            return Ok((tau, r));
        }
    }
    Err(Error::input(
        format!("population '{}'", p.name),
        format!("decay per step {alpha}"),
        format!(
            "no float32 time constant gives this decay back at dt = {dt_ms} ms with {} \
             discretization",
            disc.name()
        ),
        "try the other discretization (--discretization exact)",
    ))
}
