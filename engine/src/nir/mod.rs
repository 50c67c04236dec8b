//! NIR graphs as Eligo networks and back (docs/nir.md has the full mapping table).
//!
//! NIR nodes are continuous-time; Eligo steps by `dt`. With the step `h = dt` (s) and a node's
//! `tau` (s), `r`, `v_threshold`:
//!
//! ```text
//! NIR LIF:  tau dv/dt = (v_leak - v) + r I,  spike when v > v_threshold
//! euler:    alpha = 1 - h/tau,     f = r h / tau          (what snnTorch and Norse simulate)
//! exact:    alpha = exp(-h/tau),   f = r (1 - exp(-h/tau)) (input held over the step)
//! Eligo lif: v(t) = alpha v(t-1) + W x(t) - v_th z(t-1),  tau_m_ms = -dt_ms / ln(alpha),
//!            v_th = v_threshold / f   (v in Eligo is the NIR v divided by f)
//! IF:       alpha = 1 (tau_m_ms = IF_TAU_MS), f = r h
//! LI:       Eligo readout, kappa = alpha, bias = v_leak, weights multiplied by f
//! CubaLIF:  tau_syn dI/dt = -I + w_in x,  tau_mem dv/dt = (v_leak - v) + r I
//!           euler: a_s = 1 - h/tau_syn, f_s = w_in h/tau_syn, a_m = 1 - h/tau_mem, g = r h/tau_mem
//!           exact: a_s = e^{-h/tau_syn}, f_s = w_in (1 - a_s), a_m = e^{-h/tau_mem},
//!                  g = r P21(h, tau_mem, tau_syn)   (the current decaying over the step)
//!           v(t) = a_m v(t-1) + (1 - a_m) v_leak + g I(t-1),  I(t) = a_s I(t-1) + f_s W x(t),
//!           v >= v_threshold: spike, v = v_reset
//!           Eligo lif_exp: tau_m_ms, tau_syn_ex_ms (= tau_syn_in_ms) = -dt_ms / ln(a),
//!           e_l_mv = v_leak, v_th_mv = v_threshold, v_reset_mv = v_reset, n_ref = 0, weights
//!           multiplied by f_s g / P21 (lif_exp's own current-to-voltage propagator)
//! ```
//!
//! A factor `f` within [`UNIT_TOLERANCE`] of 1 is taken as 1 (exporters compute `r = tau/dt` in
//! float32, so `r h / tau` is 1 only up to rounding). Affine/Linear/Scale/Delay chains between
//! two neuron nodes become one projection (rule `list`, one synapse per matrix entry, zeros
//! included), with a delay of one step plus the Delay nodes' steps. Parameters must be equal
//! over a node's neurons (Eligo's parameters are per population).
//!
//! `import` (NIR → TOML table), `export` (network → NIR): the `[nir]` table an import writes
//! keeps what Eligo's models do not carry (`r`, node types and shapes, biases), so an
//! unchanged network exports to the same parameters bit for bit.

pub mod export;
pub mod import;

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::io::nir::{Array, Graph, Node};

pub use export::export;
pub use import::import;
#[cfg(feature = "hdf5")]
pub use import::load;

/// How continuous-time nodes become per-step propagators (see the module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discretization {
    /// Forward Euler at `dt` (snnTorch, Norse, Spyx simulate NIR graphs this way).
    Euler,
    /// Exact integration with the input held constant over the step.
    Exact,
}

impl Discretization {
    /// Its name, as given on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Discretization::Euler => "euler",
            Discretization::Exact => "exact",
        }
    }
    /// Parse `euler` or `exact`.
    pub fn parse(s: &str, field: &str) -> Result<Self> {
        match s {
            "euler" => Ok(Discretization::Euler),
            "exact" => Ok(Discretization::Exact),
            other => Err(Error::input(
                field,
                format!("'{other}'"),
                "allowed: euler (forward Euler, as snnTorch/Norse simulate), exact",
                "",
            )),
        }
    }
    /// Per-step decay `alpha` and input factor `f` of `tau dv/dt = -v + r I` at step `h`
    /// (all in seconds).
    pub fn propagators(self, tau: f64, r: f64, h: f64) -> (f64, f64) {
        let (alpha, f) = match self {
            Discretization::Euler => (1.0 - h / tau, r * h / tau),
            Discretization::Exact => {
                let a = (-h / tau).exp();
                (a, r * (1.0 - a))
            }
        };
        let f = if (f - 1.0).abs() <= UNIT_TOLERANCE {
            1.0
        } else {
            f
        };
        (alpha, f)
    }
}

/// An input factor this close to 1 is 1 (float32 rounding of `r = tau/dt` by exporters).
pub const UNIT_TOLERANCE: f64 = 1e-6;

/// The membrane time constant (ms) an IF node gets: `exp(-dt/tau)` is exactly 1.0 in float32
/// for any `dt` below 1e20 ms.
pub const IF_TAU_MS: f64 = 1e30;

/// A node of the flattened graph: its full name (`sub.node` inside subgraph `sub`), the node,
/// and whether it sits in the top graph (only top `Input`/`Output` nodes are the network's
/// inputs and outputs; inner ones pass values through).
#[derive(Debug, Clone)]
pub(crate) struct FNode {
    pub node: Node,
    pub top: bool,
}

/// A graph with its subgraphs inlined: nodes by full name, edges between full names.
#[derive(Debug, Clone, Default)]
pub(crate) struct Flat {
    pub nodes: BTreeMap<String, FNode>,
    pub edges: Vec<(String, String)>,
}

/// Inline every subgraph: an edge to a subgraph goes to its `Input` nodes, an edge from one
/// leaves from its `Output` nodes; `a.b` names node `b` of subgraph `a`.
pub(crate) fn flatten(g: &Graph) -> Result<Flat> {
    let mut out = Flat::default();
    flatten_into(g, "", true, &mut out)?;
    Ok(out)
}

fn flatten_into(g: &Graph, prefix: &str, top: bool, out: &mut Flat) -> Result<()> {
    for (name, n) in &g.nodes {
        let full = format!("{prefix}{name}");
        if let Some(sub) = &n.graph {
            flatten_into(sub, &format!("{full}."), false, out)?;
        } else {
            out.nodes.insert(
                full,
                FNode {
                    node: n.clone(),
                    top,
                },
            );
        }
    }
    let ends = |name: &str, kind: &str, field: &str| -> Result<Vec<String>> {
        let full = format!("{prefix}{name}");
        if out.nodes.contains_key(&full) {
            return Ok(vec![full]);
        }
        let inner: Vec<String> = out
            .nodes
            .iter()
            .filter(|(k, n)| {
                k.strip_prefix(&format!("{full}."))
                    .is_some_and(|rest| !rest.contains('.'))
                    && n.node.kind == kind
            })
            .map(|(k, _)| k.clone())
            .collect();
        if inner.is_empty() {
            let known: Vec<&str> = g.nodes.keys().map(String::as_str).collect();
            return Err(Error::input(
                field,
                format!("'{name}'"),
                format!(
                    "an edge names no node of its graph (nodes: {}), or a subgraph without an \
                     {kind} node",
                    known.join(", ")
                ),
                crate::error::did_you_mean(name, &known),
            ));
        }
        Ok(inner)
    };
    for (k, (a, b)) in g.edges.iter().enumerate() {
        let field = format!("{}edges[{k}]", prefix);
        for s in ends(a, "Output", &field)? {
            for t in ends(b, "Input", &field)? {
                out.edges.push((s.clone(), t));
            }
        }
    }
    Ok(())
}

/// A node's parameter `key`, or an error naming the node and the field.
pub(crate) fn param<'a>(name: &str, n: &'a Node, key: &str) -> Result<&'a Array> {
    n.params.get(key).ok_or_else(|| {
        Error::input(
            format!("node '{name}'.{key}"),
            "missing",
            format!("a {} node needs `{key}`", n.kind),
            "write the graph with nir 1.0.x (nir.write)",
        )
    })
}

/// A per-neuron parameter that must be one value over the node: its value (f64 of the stored
/// element) and the node's size.
pub(crate) fn uniform(name: &str, n: &Node, key: &str) -> Result<(f64, usize)> {
    let a = param(name, n, key)?;
    let v = a.as_f64().ok_or_else(|| {
        Error::input(
            format!("node '{name}'.{key}"),
            "a string",
            "must be an array of numbers",
            "",
        )
    })?;
    let Some(&first) = v.first() else {
        return Err(Error::input(
            format!("node '{name}'.{key}"),
            "[]",
            "must have one value per neuron (at least one)",
            "",
        ));
    };
    if let Some(k) = v.iter().position(|&x| x.to_bits() != first.to_bits()) {
        return Err(Error::input(
            format!("node '{name}'.{key}"),
            format!("{} at [0] but {} at [{k}]", first, v[k]),
            "Eligo's neuron parameters are one value per population: the values over a node \
             must be equal",
            "split the node into nodes of equal parameters",
        ));
    }
    Ok((first, v.len()))
}
