//! NIR graph → Eligo network description (a TOML table, checked by the TOML parser).
//!
//! Top `Input` nodes become `external` populations (spikes pushed from outside, e.g. `eligo
//! simulate --input-events`), `LIF`/`IF` nodes `lif` populations, `CubaLIF` nodes `lif_exp`
//! populations, `LI` nodes `readout` populations, top `Output` nodes recorders (spikes; the output `y` of a readout). The chains
//! of `Affine`, `Linear`, `Scale`, `Delay`, `Flatten` and inner `Input`/`Output` nodes between
//! two neuron nodes become projections; see the module header of [`crate::nir`] for the
//! discretization.

use std::collections::BTreeMap;
use std::path::Path;

use toml::{Table, Value};

use super::{Discretization, FNode, Flat, IF_TAU_MS, flatten, param, uniform};
use crate::error::{Error, Result};
use crate::io::nir::NirFile;

#[cfg(feature = "hdf5")]
/// Read a NIR file and make the network of it at step `dt_ms`, as `eligo simulate` takes it.
pub fn load(path: &Path, dt_ms: f64, disc: Discretization) -> Result<crate::io::config::SimConfig> {
    let f = crate::io::nir::read(path)?;
    let source = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let t = import(&f, dt_ms, disc, Some(&source)).map_err(|e| e.in_file(path))?;
    let mut c = crate::io::config::parse_table(t).map_err(|e| e.in_file(path))?;
    c.file = Some(path.to_path_buf());
    Ok(c)
}

/// The node types the importer maps, in the order messages list them.
pub const SUPPORTED: &[&str] = &[
    "Input", "Output", "Affine", "Linear", "Scale", "Delay", "Flatten", "LIF", "IF", "LI",
    "CubaLIF", "NIRGraph",
];

/// Known NIR node types Eligo cannot represent yet, with the reason.
const REFUSED: &[(&str, &str)] = &[
    (
        "Conv1d",
        "convolutions are not supported: Eligo's projections are lists of synapses; export the \
         layer as an Affine node (its dense matrix)",
    ),
    (
        "Conv2d",
        "convolutions are not supported: Eligo's projections are lists of synapses; export the \
         layer as an Affine node (its dense matrix)",
    ),
    (
        "SumPool2d",
        "pooling is not supported; export it as an Affine node (its 0/1 matrix)",
    ),
    (
        "AvgPool2d",
        "pooling is not supported; export it as an Affine node (its averaging matrix)",
    ),
    (
        "CubaLI",
        "a leaky integrator with a synaptic current and no spikes (CubaLI) has no Eligo model: \
         readout has one filter, lif_exp spikes; allowed: LI (a readout) or CubaLIF (lif_exp)",
    ),
    (
        "Threshold",
        "a Threshold node (a spike when the input exceeds theta, no state, no reset) has no Eligo \
         model: after an LI or CubaLI it is an integrator that spikes without a reset, after an \
         Affine a memoryless unit, and every Eligo neuron resets (lif by subtraction, lif_exp to \
         v_reset); allowed: LIF, IF or CubaLIF nodes, which carry their own threshold and reset",
    ),
    (
        "I",
        "an integrator without spikes (I) is not supported; use LI",
    ),
];

/// What a flattened node is to the network.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    /// A population (top Input, LIF, IF, LI).
    Pop,
    /// A linear operation on the way between populations.
    Op,
    /// A top Output.
    Sink,
}

fn role(name: &str, n: &FNode) -> Result<Role> {
    let k = n.node.kind.as_str();
    Ok(match k {
        "Input" if n.top => Role::Pop,
        "Output" if n.top => Role::Sink,
        "Input" | "Output" | "Affine" | "Linear" | "Scale" | "Delay" | "Flatten" => Role::Op,
        "LIF" | "IF" | "LI" | "CubaLIF" => Role::Pop,
        _ => {
            if let Some((_, why)) = REFUSED.iter().find(|(t, _)| *t == k) {
                return Err(Error::input(
                    format!("node '{name}'.type"),
                    format!("'{k}'"),
                    *why,
                    "",
                ));
            }
            let mut known: Vec<&str> = SUPPORTED.to_vec();
            known.extend(REFUSED.iter().map(|(t, _)| *t));
            return Err(Error::input(
                format!("node '{name}'.type"),
                format!("'{k}'"),
                format!("unknown node type; supported: {}", SUPPORTED.join(", ")),
                crate::error::did_you_mean(k, &known),
            ));
        }
    })
}

/// The graph as the mapping sees it: roles, sizes and incoming edges.
struct View<'a> {
    flat: &'a Flat,
    roles: BTreeMap<String, Role>,
    /// Output size of each node.
    size: BTreeMap<String, usize>,
    ins: BTreeMap<String, Vec<String>>,
}

/// The size a node takes in (`None`: whatever it gets) and gives out (`None`: as its input).
fn in_out(name: &str, n: &FNode) -> Result<(Option<usize>, Option<usize>)> {
    let node = &n.node;
    let field = |k: &str| format!("node '{name}'.{k}");
    Ok(match node.kind.as_str() {
        "Affine" | "Linear" => {
            let w = param(name, node, "weight")?;
            if w.shape.len() != 2 || w.as_f64().is_none() {
                return Err(Error::input(
                    field("weight"),
                    format!("{} {:?}", w.dtype(), w.shape),
                    "must be a 2-D array of numbers (outputs x inputs)",
                    "",
                ));
            }
            if node.kind == "Affine" {
                let b = param(name, node, "bias")?;
                if b.shape.len() != 1 || b.len() != w.shape[0] {
                    return Err(Error::input(
                        field("bias"),
                        format!("shape {:?}", b.shape),
                        format!(
                            "must have one entry per output row of weight ({})",
                            w.shape[0]
                        ),
                        "",
                    ));
                }
                let v = b.as_f64().unwrap_or_default();
                if let Some(k) = v.iter().position(|&x| x != 0.0) {
                    return Err(Error::input(
                        format!("{}[{k}]", field("bias")),
                        v[k],
                        "a nonzero bias is not supported: Eligo's lif and readout have no \
                         constant input",
                        "train without bias (torch.nn.Linear(..., bias=False)), or fold it into \
                         the threshold",
                    ));
                }
            }
            (Some(w.shape[1]), Some(w.shape[0]))
        }
        "Scale" => {
            let n = param(name, node, "scale")?.len();
            (Some(n), Some(n))
        }
        "Delay" => {
            let n = param(name, node, "delay")?.len();
            (Some(n), Some(n))
        }
        "Input" if n.top => {
            let s = node.params.get("shape").and_then(|a| a.as_f64());
            (None, s.map(|s| s.iter().map(|&x| x as usize).product()))
        }
        "Input" | "Output" | "Flatten" => (None, None),
        _ => {
            let keys: &[&str] = match node.kind.as_str() {
                "LIF" => &["tau", "r", "v_leak", "v_threshold"],
                "IF" => &["r", "v_threshold"],
                "CubaLIF" => &["tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "w_in"],
                _ => &["tau", "r", "v_leak"],
            };
            for k in keys {
                param(name, node, k)?;
            }
            let first = param(name, node, keys[0])?.len();
            for k in keys.iter().chain(["v_reset"].iter()) {
                if let Some(a) = node.params.get(*k)
                    && (a.len() != first || a.shape.len() != 1)
                {
                    return Err(Error::input(
                        field(k),
                        format!("shape {:?}", a.shape),
                        format!("must have the shape of {} ([{first}])", keys[0]),
                        "",
                    ));
                }
            }
            (Some(first), Some(first))
        }
    })
}

impl<'a> View<'a> {
    fn new(flat: &'a Flat) -> Result<Self> {
        let mut roles = BTreeMap::new();
        let mut io = BTreeMap::new();
        let mut ins: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, n) in &flat.nodes {
            roles.insert(name.clone(), role(name, n)?);
            io.insert(name.clone(), in_out(name, n)?);
            ins.insert(name.clone(), Vec::new());
        }
        for (a, b) in &flat.edges {
            ins.get_mut(b).expect("flatten resolved it").push(a.clone());
        }
        // sizes: fixed point over the edges (an Input without `shape` takes its consumer's)
        let mut size: BTreeMap<String, usize> = io
            .iter()
            .filter_map(|(k, (_, o))| o.map(|o| (k.clone(), o)))
            .collect();
        for _ in 0..=flat.nodes.len() {
            let mut changed = false;
            for (a, b) in &flat.edges {
                let want = io[b]
                    .0
                    .or_else(|| size.get(b).copied().filter(|_| io[b].1.is_none()));
                match (size.get(a).copied(), want) {
                    (None, Some(w)) => {
                        size.insert(a.clone(), w);
                        changed = true;
                    }
                    (Some(s), None) if io[b].1.is_none() && !size.contains_key(b) => {
                        size.insert(b.clone(), s);
                        changed = true;
                    }
                    _ => {}
                }
            }
            if !changed {
                break;
            }
        }
        for (a, b) in &flat.edges {
            let got = size.get(a).copied();
            let want = io[b]
                .0
                .or_else(|| size.get(b).copied().filter(|_| io[b].1.is_none()));
            if let (Some(g), Some(w)) = (got, want)
                && g != w
            {
                return Err(Error::input(
                    format!("edge '{a}' -> '{b}'"),
                    format!("{g} values"),
                    format!(
                        "shape mismatch: node '{b}' ({}) takes {w} inputs",
                        flat.nodes[b].node.kind
                    ),
                    "check the weight shapes (outputs x inputs) along the edge",
                ));
            }
        }
        for (name, r) in &roles {
            if !size.contains_key(name) && *r != Role::Sink {
                return Err(Error::input(
                    format!("node '{name}'.shape"),
                    "missing",
                    "its size cannot be told: no shape and no Affine/Linear/neuron node next \
                     to it",
                    "give the Input node its shape",
                ));
            }
        }
        Ok(View {
            flat,
            roles,
            size,
            ins,
        })
    }

    /// Every chain of operations ending at population or op `at`, as (source population,
    /// operations from the source side).
    fn paths(
        &self,
        at: &str,
        ops: &mut Vec<String>,
        out: &mut Vec<(String, Vec<String>)>,
    ) -> Result<()> {
        for p in &self.ins[at] {
            match self.roles[p] {
                Role::Pop => {
                    let mut o = ops.clone();
                    o.reverse();
                    out.push((p.clone(), o));
                }
                Role::Sink => {
                    return Err(Error::input(
                        format!("edge '{p}' -> '{at}'"),
                        "",
                        "an Output node of the top graph cannot feed another node",
                        "",
                    ));
                }
                Role::Op => {
                    if ops.contains(p) {
                        return Err(Error::input(
                            format!("node '{p}'"),
                            "",
                            "a cycle through operations alone (no neuron node on it)",
                            "recurrence goes through a neuron node: LIF -> Linear -> LIF",
                        ));
                    }
                    if self.ins[p].is_empty() {
                        return Err(Error::input(
                            format!("node '{p}'"),
                            "",
                            "this node has no input edge",
                            "connect it or remove it",
                        ));
                    }
                    if out.len() > MAX_PATHS {
                        return Err(Error::input(
                            format!("node '{at}'"),
                            "",
                            format!("more than {MAX_PATHS} chains of operations reach it"),
                            "",
                        ));
                    }
                    ops.push(p.clone());
                    self.paths(p, ops, out)?;
                    ops.pop();
                }
            }
        }
        Ok(())
    }
}

const MAX_PATHS: usize = 10_000;

/// Map a NIR file onto a network description table at step `dt_ms`. `source`, when given, is
/// recorded in the `[nir]` table so that `export` can write unchanged nodes back verbatim.
pub fn import(
    f: &NirFile,
    dt_ms: f64,
    disc: Discretization,
    source: Option<&Path>,
) -> Result<Table> {
    import_chains(f, dt_ms, disc, source).map(|(t, _)| t)
}

/// The chain of operations a projection was made of (for `export`).
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    /// The projection's name.
    pub name: String,
    /// Its operation nodes (full names), from the source side.
    pub ops: Vec<String>,
    /// The factor its weights were multiplied by.
    pub factor: f64,
}

/// [`import`], with the chain of every projection.
pub(crate) fn import_chains(
    f: &NirFile,
    dt_ms: f64,
    disc: Discretization,
    source: Option<&Path>,
) -> Result<(Table, Vec<Chain>)> {
    crate::error::positive("--dt-ms", dt_ms, "ms")?;
    if f.top.kind != "NIRGraph" {
        return Err(Error::input(
            "node.type",
            format!("'{}'", f.top.kind),
            "the top node of a NIR file must be a NIRGraph",
            "wrap the node in a graph: nir.NIRGraph(nodes=..., edges=...)",
        ));
    }
    let graph = f.top.graph.as_ref().expect("read checks it");
    let flat = flatten(graph)?;
    let view = View::new(&flat)?;
    let h = dt_ms * 1e-3;
    let mut pops = Vec::new();
    let mut factors = BTreeMap::new();
    for (name, r) in &view.roles {
        if *r != Role::Pop {
            continue;
        }
        let (t, factor) = population(name, &flat.nodes[name], view.size[name], h, dt_ms, disc)?;
        pops.push(Value::Table(t));
        factors.insert(name.clone(), factor);
    }
    let mut projs = Vec::new();
    let mut chains = Vec::new();
    let mut used = BTreeMap::<String, usize>::new();
    for (name, r) in &view.roles {
        if *r != Role::Pop {
            continue;
        }
        let mut paths = Vec::new();
        view.paths(name, &mut Vec::new(), &mut paths)?;
        for (src, ops) in paths {
            let mut t = projection(&view, &src, name, &ops, dt_ms, factors[name])?;
            let base = ops
                .iter()
                .find(|o| matches!(flat.nodes[*o].node.kind.as_str(), "Affine" | "Linear"))
                .cloned()
                .unwrap_or_else(|| format!("{src}->{name}"));
            let k = used.entry(base.clone()).or_insert(0);
            *k += 1;
            let pname = if *k == 1 { base } else { format!("{base}#{k}") };
            t.insert("name".into(), pname.clone().into());
            projs.push(Value::Table(t));
            chains.push(Chain {
                name: pname,
                ops,
                factor: factors[name],
            });
        }
    }
    let mut recs = Vec::new();
    for (name, r) in &view.roles {
        if *r != Role::Sink {
            continue;
        }
        for p in &view.ins[name] {
            let mut ops = Vec::new();
            let mut paths = Vec::new();
            if view.roles[p] == Role::Pop {
                paths.push((p.clone(), Vec::new()));
            } else {
                ops.push(p.clone());
                view.paths(p, &mut ops, &mut paths)?;
            }
            for (src, via) in paths {
                if let Some(o) = via.first() {
                    return Err(Error::input(
                        format!("node '{o}'"),
                        "",
                        format!(
                            "between population '{src}' and Output '{name}': Eligo records a \
                             population's spikes or state, not a transform of them"
                        ),
                        "connect the Output node to a neuron node",
                    ));
                }
                let mut t = Table::new();
                t.insert("population".into(), src.clone().into());
                if flat.nodes[&src].node.kind == "LI" {
                    t.insert("kind".into(), "state".into());
                    t.insert("variable".into(), "y".into());
                } else {
                    t.insert("kind".into(), "spikes".into());
                }
                recs.push(Value::Table(t));
            }
        }
    }
    let mut top = Table::new();
    top.insert("dt_ms".into(), dt_ms.into());
    top.insert("duration_ms".into(), (dt_ms * 1000.0).into());
    top.insert("seed".into(), 0.into());
    top.insert("population".into(), Value::Array(pops));
    top.insert("projection".into(), Value::Array(projs));
    top.insert("recorder".into(), Value::Array(recs));
    let mut nir = Table::new();
    nir.insert("version".into(), f.version.clone().into());
    nir.insert("discretization".into(), disc.name().into());
    if let Some(s) = source {
        nir.insert("source".into(), s.display().to_string().into());
    }
    top.insert("nir".into(), Value::Table(nir));
    Ok((top, chains))
}

/// One neuron or input node as a population table; also the factor `f` its inputs are
/// multiplied by (1 when it went into the threshold instead).
pub(crate) fn population(
    name: &str,
    n: &FNode,
    size: usize,
    h: f64,
    dt_ms: f64,
    disc: Discretization,
) -> Result<(Table, f64)> {
    let node = &n.node;
    let mut t = Table::new();
    t.insert("name".into(), name.into());
    t.insert("size".into(), (size as i64).into());
    let field = |k: &str| format!("node '{name}'.{k}");
    let zero = |k: &str, why: &str| -> Result<()> {
        if !node.params.contains_key(k) {
            return Ok(());
        }
        let (v, _) = uniform(name, node, k)?;
        if v != 0.0 {
            return Err(Error::input(field(k), v, why.to_string(), ""));
        }
        Ok(())
    };
    let mut factor = 1.0;
    match node.kind.as_str() {
        "Input" => {
            t.insert("model".into(), "external".into());
        }
        "LIF" | "IF" => {
            zero(
                "v_reset",
                "Eligo's lif resets by subtracting the threshold (v_reset = 0 and a reset by \
                 subtraction are the only supported reset)",
            )?;
            let (r, _) = uniform(name, node, "r")?;
            let (thr, _) = uniform(name, node, "v_threshold")?;
            if !(thr.is_finite() && thr > 0.0) {
                return Err(Error::input(
                    field("v_threshold"),
                    thr,
                    "must be a finite number > 0",
                    "",
                ));
            }
            let (tau_m_ms, f) = if node.kind == "LIF" {
                zero("v_leak", "Eligo's lif rests at 0: v_leak must be 0")?;
                let (tau, _) = uniform(name, node, "tau")?;
                let (alpha, f) = decay(name, node, tau, r, h, disc)?;
                (-dt_ms / alpha.ln(), f)
            } else {
                (IF_TAU_MS, r * h)
            };
            if !(f.is_finite() && f > 0.0) {
                return Err(Error::input(
                    field("r"),
                    r,
                    "must be a finite number > 0 (the input factor r dt / tau must be > 0)",
                    "",
                ));
            }
            t.insert("model".into(), "lif".into());
            t.insert("tau_m_ms".into(), tau_m_ms.into());
            t.insert("v_th".into(), (thr / f).into());
            t.insert("n_ref".into(), 0.into());
        }
        "CubaLIF" => {
            factor = cuba_lif(name, node, &mut t, h, dt_ms, disc)?;
        }
        _ => {
            let (r, _) = uniform(name, node, "r")?;
            let (tau, _) = uniform(name, node, "tau")?;
            let (leak, _) = uniform(name, node, "v_leak")?;
            let (alpha, f) = decay(name, node, tau, r, h, disc)?;
            t.insert("model".into(), "readout".into());
            t.insert("tau_out_ms".into(), (-dt_ms / alpha.ln()).into());
            t.insert("bias".into(), leak.into());
            factor = f;
        }
    }
    Ok((t, factor))
}

/// `alpha` and `f` of a leaky node, `alpha` in (0, 1).
fn decay(
    name: &str,
    node: &crate::io::nir::Node,
    tau: f64,
    r: f64,
    h: f64,
    disc: Discretization,
) -> Result<(f64, f64)> {
    let _ = node;
    decay_of(name, "tau", tau, r, h, disc)
}

/// [`decay`] for the time constant in field `key`.
fn decay_of(
    name: &str,
    key: &str,
    tau: f64,
    r: f64,
    h: f64,
    disc: Discretization,
) -> Result<(f64, f64)> {
    if !(tau.is_finite() && tau > 0.0) {
        return Err(Error::input(
            format!("node '{name}'.{key}"),
            tau,
            "must be a finite number > 0 (seconds)",
            "",
        ));
    }
    let (alpha, f) = disc.propagators(tau, r, h);
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::input(
            format!("node '{name}'.{key}"),
            tau,
            format!(
                "with dt = {} s the decay per step is {alpha} ({} discretization); it must be \
                 in (0, 1)",
                h,
                disc.name()
            ),
            "use a smaller --dt-ms (Euler needs dt < tau), or --discretization exact",
        ));
    }
    Ok((alpha, f))
}

/// A CubaLIF node as a `lif_exp` population (see the module header of [`crate::nir`]): fills
/// `t`, returns the factor the incoming weights are multiplied by, `f_s g / P21`.
fn cuba_lif(
    name: &str,
    node: &crate::io::nir::Node,
    t: &mut Table,
    h: f64,
    dt_ms: f64,
    disc: Discretization,
) -> Result<f64> {
    let field = |k: &str| format!("node '{name}'.{k}");
    let get = |k: &str| -> Result<f64> {
        let (v, _) = uniform(name, node, k)?;
        if !v.is_finite() {
            return Err(Error::input(field(k), v, "must be a finite number", ""));
        }
        Ok(v)
    };
    let (tau_syn, tau_mem) = (get("tau_syn")?, get("tau_mem")?);
    let (r, w_in) = (get("r")?, get("w_in")?);
    let (leak, thr) = (get("v_leak")?, get("v_threshold")?);
    let reset = if node.params.contains_key("v_reset") {
        get("v_reset")?
    } else {
        0.0
    };
    if reset >= thr {
        return Err(Error::input(
            field("v_reset"),
            reset,
            format!("must be below v_threshold = {thr} (lif_exp resets below its threshold)"),
            "",
        ));
    }
    if r <= 0.0 {
        return Err(Error::input(field("r"), r, "must be > 0", ""));
    }
    if w_in == 0.0 {
        return Err(Error::input(
            field("w_in"),
            w_in,
            "must be nonzero (the node would get no input)",
            "",
        ));
    }
    let (a_s, f_s) = decay_of(name, "tau_syn", tau_syn, w_in, h, disc)?;
    let (a_m, g) = decay_of(name, "tau_mem", tau_mem, r, h, disc)?;
    let g = match disc {
        Discretization::Euler => g,
        Discretization::Exact => r * crate::neuron::lif_exp::p21(h, tau_mem, tau_syn),
    };
    let (tau_m_ms, tau_s_ms) = (-dt_ms / a_m.ln(), -dt_ms / a_s.ln());
    let p = crate::neuron::lif_exp::p21(dt_ms, tau_m_ms, tau_s_ms);
    let mut factor = f_s * g / p;
    if (factor - 1.0).abs() <= super::UNIT_TOLERANCE {
        factor = 1.0;
    }
    if !factor.is_finite() || factor == 0.0 {
        return Err(Error::input(
            field("tau_syn"),
            tau_syn,
            format!("the input factor f_s g / P21 is {factor}; it must be finite and nonzero"),
            "",
        ));
    }
    t.insert("model".into(), "lif_exp".into());
    t.insert("tau_m_ms".into(), tau_m_ms.into());
    t.insert("tau_syn_ex_ms".into(), tau_s_ms.into());
    t.insert("tau_syn_in_ms".into(), tau_s_ms.into());
    t.insert("e_l_mv".into(), leak.into());
    t.insert("v_th_mv".into(), thr.into());
    t.insert("v_reset_mv".into(), reset.into());
    t.insert("n_ref".into(), 0.into());
    Ok(factor)
}

/// The matrix of a chain: one-to-one (`diag`) or dense `rows x cols`, in f64 (a float32
/// weight is exact in it and is rounded back unchanged).
enum Mat {
    Diag(Vec<f64>),
    Dense {
        rows: usize,
        cols: usize,
        w: Vec<f64>,
    },
}

/// The projection of one chain from population `src` to population `dst`.
fn projection(
    view: &View,
    src: &str,
    dst: &str,
    ops: &[String],
    dt_ms: f64,
    factor: f64,
) -> Result<Table> {
    let n_src = view.size[src];
    let mut m = Mat::Diag(vec![1.0; n_src]);
    let mut pre = vec![0u64; n_src];
    let mut post: Option<Vec<u64>> = None;
    for o in ops {
        let node = &view.flat.nodes[o].node;
        match node.kind.as_str() {
            "Affine" | "Linear" => {
                let w = param(o, node, "weight")?;
                let (rows, k) = (w.shape[0], w.shape[1]);
                let wv = w.as_f64().expect("checked in in_out");
                m = match m {
                    Mat::Diag(d) => Mat::Dense {
                        rows,
                        cols: k,
                        w: if d.iter().all(|&x| x == 1.0) {
                            wv
                        } else {
                            (0..rows * k).map(|i| wv[i] * d[i % k]).collect()
                        },
                    },
                    Mat::Dense { cols, w: prev, .. } => {
                        let mut out = vec![0.0; rows * cols];
                        for r in 0..rows {
                            for j in 0..k {
                                let a = wv[r * k + j];
                                for c in 0..cols {
                                    out[r * cols + c] += a * prev[j * cols + c];
                                }
                            }
                        }
                        Mat::Dense { rows, cols, w: out }
                    }
                };
                post = None;
            }
            "Scale" => {
                let s = param(o, node, "scale")?.as_f64().unwrap_or_default();
                match &mut m {
                    Mat::Diag(d) => d.iter_mut().zip(&s).for_each(|(x, y)| *x *= y),
                    Mat::Dense { cols, w, .. } => {
                        for (i, x) in w.iter_mut().enumerate() {
                            *x *= s[i / *cols];
                        }
                    }
                }
            }
            "Delay" => {
                let d = param(o, node, "delay")?.as_f64().unwrap_or_default();
                let steps = d
                    .iter()
                    .enumerate()
                    .map(|(k, &s)| {
                        crate::neuron::steps_of(s * 1e3, dt_ms)
                            .map_err(|e| e.under(&format!("node '{o}'.delay[{k}]")))
                    })
                    .collect::<Result<Vec<u64>>>()?;
                match (&m, &mut post) {
                    (Mat::Diag(_), _) => pre.iter_mut().zip(&steps).for_each(|(p, s)| *p += s),
                    (Mat::Dense { .. }, Some(p)) => {
                        p.iter_mut().zip(&steps).for_each(|(p, s)| *p += s)
                    }
                    (Mat::Dense { .. }, None) => post = Some(steps),
                }
            }
            _ => {}
        }
    }
    let n_dst = view.size[dst];
    let post = post.unwrap_or_else(|| vec![0; n_dst]);
    let mut pairs = Vec::new();
    let mut weights = Vec::new();
    let mut delays = Vec::new();
    let mut push = |i: usize, j: usize, w: f64| -> Result<()> {
        let w =
            crate::limits::fits_f32(&format!("projection '{src}' -> '{dst}' weight"), w * factor)?;
        pairs.push(Value::Array(vec![(i as i64).into(), (j as i64).into()]));
        weights.push(Value::Float(f64::from(w as f32)));
        let d = 1 + pre[i] + post[j];
        delays.push(d);
        Ok(())
    };
    match &m {
        Mat::Diag(d) => {
            for (i, &w) in d.iter().enumerate() {
                push(i, i, w)?;
            }
        }
        Mat::Dense { rows, cols, w } => {
            for i in 0..*cols {
                for j in 0..*rows {
                    push(i, j, w[j * cols + i])?;
                }
            }
        }
    }
    let mut t = Table::new();
    t.insert("from".into(), src.into());
    t.insert("to".into(), dst.into());
    t.insert("rule".into(), "list".into());
    // lif and readout sum both channels: one channel keeps the additions in delivery order
    t.insert("receptor".into(), "exc".into());
    t.insert("pairs".into(), Value::Array(pairs));
    t.insert("weights".into(), Value::Array(weights));
    if delays.iter().all(|&d| d == delays[0]) {
        t.insert(
            "delay_steps".into(),
            (delays.first().copied().unwrap_or(1) as i64).into(),
        );
    } else {
        t.insert(
            "delay_steps_list".into(),
            Value::Array(delays.into_iter().map(|d| (d as i64).into()).collect()),
        );
    }
    if src == dst {
        t.insert("allow_autapses".into(), true.into());
    }
    Ok(t)
}
