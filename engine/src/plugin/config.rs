//! Rule configuration files: the rule's parameters plus a `[host]` table for what the host
//! enforces.
//!
//! ```toml
//! a_plus = 0.005           # any parameter of the rule's table (see `eligo plugins`)
//! mode = "event"           # a choice parameter takes one of its names
//!
//! [host]
//! plastic = ["exc->exc"]   # projections the rule may change (default: all)
//! w_min = 0.0              # every weight the rule changes is clipped to [w_min, w_max]
//! w_max = 5.0
//! sign = "keep"            # "keep": a weight never changes sign (Dale's law); "free"
//!
//! [optimizer]              # gradient rules only: applied after each batch (sequence)
//! kind = "adam"            # "adam" (beta1 0.9, beta2 0.999, eps 1e-8) | "sgd"
//! lr = 0.005
//! lr_by_projection = { "in->rec" = 0.001 }
//! decay_by_projection = { "rec->out" = 0.001 }   # w <- (1 - decay) w after each update
//! ```

use std::path::Path;

use toml::{Table, Value};

use super::loader::Plugin;
use crate::error::{Error, Result, did_you_mean};
use crate::network::Network;
use crate::optim::{Group, Method, Optimizer};
use eligo_plugin::ParamKind;

/// What the host enforces on a rule's output.
#[derive(Debug, Clone, PartialEq)]
pub struct HostOptions {
    /// Names of the plastic projections (`None`: all).
    pub plastic: Option<Vec<String>>,
    /// Lower weight bound.
    pub w_min: f32,
    /// Upper weight bound.
    pub w_max: f32,
    /// Keep each weight's initial sign.
    pub keep_sign: bool,
    /// How gradient rules' output is applied.
    pub optimizer: OptimizerSpec,
}

/// Optimizer settings of a rule config.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerSpec {
    /// SGD or Adam.
    pub method: Method,
    /// Default learning rate.
    pub lr: f64,
    /// Per-projection learning rates.
    pub lr_by_projection: Vec<(String, f64)>,
    /// Per-projection multiplicative decay after each update.
    pub decay_by_projection: Vec<(String, f64)>,
}

impl OptimizerSpec {
    /// The learning rate `lr_by_projection` gives projection `name`, if any.
    pub fn lr_for(&self, name: &str) -> Option<f64> {
        self.lr_by_projection
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, lr)| *lr)
    }
}

impl Default for OptimizerSpec {
    fn default() -> Self {
        OptimizerSpec {
            method: Method::adam(),
            lr: 1e-3,
            lr_by_projection: Vec::new(),
            decay_by_projection: Vec::new(),
        }
    }
}

impl HostOptions {
    /// The one optimizer builder, used by every path (`simulate`, `grad`, `train`): one group
    /// per projection of `net` — non-plastic projections get learning rate 0, the others
    /// `optimizer.lr` unless `lr_by_projection` names them, with the host's bounds, sign
    /// constraint and `decay_by_projection` — then one plain group at `optimizer.lr` for each
    /// length in `extra` (e.g. the trainer's readout biases). Every projection name in the
    /// optimizer table must exist in `net` (did-you-mean otherwise).
    pub fn build_optimizer(&self, net: &Network, extra: &[usize]) -> Result<Optimizer> {
        let mask = self.plastic_mask(net)?;
        let names: Vec<&str> = net.projections.iter().map(|p| p.name.as_str()).collect();
        let spec = &self.optimizer;
        let named = spec
            .lr_by_projection
            .iter()
            .map(|(n, _)| ("optimizer.lr_by_projection", n))
            .chain(
                spec.decay_by_projection
                    .iter()
                    .map(|(n, _)| ("optimizer.decay_by_projection", n)),
            );
        for (field, n) in named {
            if !names.contains(&n.as_str()) {
                return Err(Error::input(
                    field,
                    format!("'{n}'"),
                    format!(
                        "no projection has this name; projections: {}",
                        names.join(", ")
                    ),
                    did_you_mean(n, &names),
                ));
            }
        }
        let mut groups: Vec<Group> = net
            .projections
            .iter()
            .zip(&mask)
            .map(|(p, &plastic)| Group {
                lr: if plastic {
                    spec.lr_for(&p.name).unwrap_or(spec.lr)
                } else {
                    0.0
                },
                w_min: self.w_min,
                w_max: self.w_max,
                signs: self
                    .keep_sign
                    .then(|| p.weights.iter().map(|w| *w >= 0.0).collect()),
                decay: spec
                    .decay_by_projection
                    .iter()
                    .find(|(n, _)| *n == p.name)
                    .map_or(0.0, |(_, d)| *d),
            })
            .collect();
        let mut lens: Vec<usize> = net.projections.iter().map(|p| p.len()).collect();
        for &n in extra {
            groups.push(Group::new(spec.lr));
            lens.push(n);
        }
        Ok(Optimizer::new(spec.method, groups, &lens))
    }
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            plastic: None,
            w_min: f32::NEG_INFINITY,
            w_max: f32::INFINITY,
            keep_sign: false,
            optimizer: OptimizerSpec::default(),
        }
    }
}

impl HostOptions {
    /// Which projections of `net` are plastic.
    pub fn plastic_mask(&self, net: &Network) -> Result<Vec<bool>> {
        let Some(names) = &self.plastic else {
            return Ok(vec![true; net.projections.len()]);
        };
        let all: Vec<&str> = net.projections.iter().map(|p| p.name.as_str()).collect();
        let mut mask = vec![false; all.len()];
        for n in names {
            let j = all.iter().position(|a| a == n).ok_or_else(|| {
                Error::input(
                    "host.plastic",
                    format!("'{n}'"),
                    format!(
                        "no projection has this name; projections: {}",
                        all.join(", ")
                    ),
                    did_you_mean(n, &all),
                )
            })?;
            mask[j] = true;
        }
        Ok(mask)
    }
}

/// A rule's parameter values in its table order: each one's number (a choice's index; a name's
/// index is found when the rule is created on a network) and text (strings, choices, names).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleValues {
    /// Numbers, one per parameter.
    pub numbers: Vec<f64>,
    /// Texts, one per parameter (empty for numbers).
    pub texts: Vec<String>,
}

impl RuleValues {
    /// Take parameter `i` from `other`.
    pub fn copy_from(&mut self, other: &RuleValues, i: usize) {
        self.numbers[i] = other.numbers[i];
        self.texts[i] = other.texts[i].clone();
    }

    /// How parameter `i` of `plugin` reads in a summary or a checkpoint's settings.
    pub fn shown(&self, plugin: &Plugin, i: usize) -> String {
        let v = self.numbers[i];
        match plugin.params[i].kind {
            ParamKind::Number => format!("{v:?}"),
            ParamKind::Choice => plugin.params[i]
                .choices
                .as_ref()
                .and_then(|c| c.get(v as usize).cloned())
                .unwrap_or_else(|| format!("{v:?}")),
            _ => self.texts[i].clone(),
        }
    }
}

/// A parsed rule configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleConfig {
    /// Parameter values in the rule's table order.
    pub values: RuleValues,
    /// Host options.
    pub host: HostOptions,
}

/// Attach the rule config file (if one was given) to an error that concerns the rule: its
/// parameters (`rule '...'`, e.g. refused by its `create`) or its host options (`host.*`).
pub fn in_rule_config(e: Error, rule_config: Option<&Path>) -> Error {
    match (&e, rule_config) {
        (Error::Input(i), Some(p))
            if i.field.starts_with("rule '") || i.field.starts_with("host.") =>
        {
            e.in_file(p)
        }
        _ => e,
    }
}

/// Set the parameter `name` of `plugin` in `values` from its text (`value`: a number, one of a
/// choice parameter's names, or the text of a string or name parameter); `field` names it in
/// errors. Returns `false` if the rule has no parameter of this name.
pub fn set_param(
    plugin: &Plugin,
    values: &mut RuleValues,
    field: &str,
    name: &str,
    value: &str,
) -> Result<bool> {
    let Some(i) = plugin.params.iter().position(|p| p.name == name) else {
        return Ok(false);
    };
    let p = &plugin.params[i];
    let v = match (p.kind, &p.choices) {
        (ParamKind::Choice, Some(c)) => c.iter().position(|x| x == value).ok_or_else(|| {
            Error::input(
                field,
                value,
                format!("allowed: {}", c.join(", ")),
                did_you_mean(value, &c.iter().map(String::as_str).collect::<Vec<_>>()),
            )
        })? as f64,
        (ParamKind::Number, _) => value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| Error::input(field, value, "must be a finite number", ""))?,
        _ => {
            values.numbers[i] = 0.0;
            values.texts[i] = value.to_string();
            return Ok(true);
        }
    };
    if p.kind == ParamKind::Number && !(p.min..=p.max).contains(&v) {
        return Err(Error::input(
            field,
            value,
            format!("must be between {} and {} ({})", p.min, p.max, p.doc),
            "",
        ));
    }
    values.numbers[i] = v;
    values.texts[i] = if p.kind == ParamKind::Choice {
        value.to_string()
    } else {
        String::new()
    };
    Ok(true)
}

/// Defaults of every parameter and default host options.
pub fn defaults(plugin: &Plugin) -> RuleConfig {
    RuleConfig {
        values: RuleValues {
            numbers: plugin.params.iter().map(|p| p.default).collect(),
            texts: plugin
                .params
                .iter()
                .map(|p| match (&p.choices, p.kind) {
                    (Some(c), ParamKind::Choice) => {
                        c.get(p.default as usize).cloned().unwrap_or_default()
                    }
                    _ => p.default_text.clone(),
                })
                .collect(),
        },
        host: HostOptions::default(),
    }
}

/// Read a rule config file for `plugin`.
pub fn load(path: &Path, plugin: &Plugin) -> Result<RuleConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            "--rule-config",
            path.display(),
            format!("cannot read the file: {e}"),
            "check the path",
        )
    })?;
    parse(&text, plugin).map_err(|e| e.in_file(path))
}

/// Parse rule config text for `plugin`.
pub fn parse(text: &str, plugin: &Plugin) -> Result<RuleConfig> {
    let mut table: Table = text.parse().map_err(|e: toml::de::Error| {
        Error::input(
            "(file)",
            "",
            format!("not valid TOML: {}", e.to_string().trim_end()),
            "",
        )
    })?;
    let mut cfg = defaults(plugin);
    if let Some(h) = table.remove("host") {
        cfg.host = host(h)?;
    }
    if let Some(o) = table.remove("optimizer") {
        cfg.host.optimizer = optimizer(o)?;
    }
    let names: Vec<&str> = plugin.params.iter().map(|p| p.name.as_str()).collect();
    for (key, v) in table {
        let Some(i) = names.iter().position(|n| *n == key) else {
            let mut allowed = names.clone();
            allowed.push("host");
            return Err(Error::input(
                key.as_str(),
                "",
                format!(
                    "rule '{}' has no such parameter; its parameters: {}",
                    plugin.name,
                    names.join(", ")
                ),
                did_you_mean(&key, &allowed),
            ));
        };
        let p = &plugin.params[i];
        if !matches!(p.kind, ParamKind::Number | ParamKind::Choice) {
            let Value::String(text) = v else {
                return Err(Error::input(
                    key.as_str(),
                    v,
                    format!("must be a string ({})", kind_name(p.kind)),
                    "write it in quotes",
                ));
            };
            cfg.values.numbers[i] = 0.0;
            cfg.values.texts[i] = text;
            continue;
        }
        let x = match (&p.choices, v) {
            (Some(c), Value::String(s)) => match c.iter().position(|x| *x == s) {
                Some(k) => k as f64,
                None => {
                    let refs: Vec<&str> = c.iter().map(String::as_str).collect();
                    return Err(Error::input(
                        key.as_str(),
                        format!("'{s}'"),
                        format!("allowed: {}", c.join(", ")),
                        did_you_mean(&s, &refs),
                    ));
                }
            },
            (Some(c), other) => {
                return Err(Error::input(
                    key.as_str(),
                    other,
                    format!("must be one of: {}", c.join(", ")),
                    "write it as a string",
                ));
            }
            (None, Value::Float(f)) => f,
            (None, Value::Integer(i)) => i as f64,
            (None, other) => return Err(Error::input(key.as_str(), other, "must be a number", "")),
        };
        if !(x.is_finite() && x >= p.min && x <= p.max) {
            let unit = if p.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", p.unit)
            };
            return Err(Error::input(
                key.as_str(),
                x,
                format!("must be in [{}, {}]{unit}", p.min, p.max),
                p.doc.clone(),
            ));
        }
        cfg.values.numbers[i] = x;
        if let Some(c) = &p.choices {
            cfg.values.texts[i] = c[x as usize].clone();
        }
    }
    Ok(cfg)
}

/// What a parameter of `kind` names, for messages.
pub fn kind_name(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::Number => "a number",
        ParamKind::Choice => "one of its choices",
        ParamKind::String => "text",
        ParamKind::Population => "a population name",
        ParamKind::Projection => "a projection name",
        ParamKind::Modulator => "a modulator channel name",
    }
}

fn host(v: Value) -> Result<HostOptions> {
    let Value::Table(t) = v else {
        return Err(Error::input("host", v, "must be a table: write [host]", ""));
    };
    let mut h = HostOptions::default();
    let num = |k: &str, v: &Value| -> Result<f32> {
        match v {
            Value::Float(f) => Ok(*f as f32),
            Value::Integer(i) => Ok(*i as f32),
            other => Err(Error::input(
                format!("host.{k}"),
                other,
                "must be a number",
                "",
            )),
        }
    };
    for (k, v) in &t {
        match k.as_str() {
            "plastic" => {
                let Value::Array(a) = v else {
                    return Err(Error::input(
                        "host.plastic",
                        v,
                        "must be a list of projection names",
                        "e.g. [\"exc->exc\"]",
                    ));
                };
                let names = a
                    .iter()
                    .map(|x| match x {
                        Value::String(s) => Ok(s.clone()),
                        other => Err(Error::input(
                            "host.plastic",
                            other,
                            "must be a list of projection names",
                            "",
                        )),
                    })
                    .collect::<Result<Vec<_>>>()?;
                h.plastic = Some(names);
            }
            "w_min" => h.w_min = num(k, v)?,
            "w_max" => h.w_max = num(k, v)?,
            "sign" => match v.as_str() {
                Some("keep") => h.keep_sign = true,
                Some("free") => h.keep_sign = false,
                _ => {
                    return Err(Error::input(
                        "host.sign",
                        v,
                        "allowed: \"keep\", \"free\"",
                        "",
                    ));
                }
            },
            other => {
                return Err(Error::input(
                    format!("host.{other}"),
                    "",
                    "unknown field; allowed: plastic, w_min, w_max, sign",
                    did_you_mean(other, &["plastic", "w_min", "w_max", "sign"]),
                ));
            }
        }
    }
    if h.w_min.is_nan() || h.w_max.is_nan() || h.w_min > h.w_max {
        return Err(Error::input(
            "host.w_max",
            h.w_max,
            format!("must be >= w_min = {}", h.w_min),
            "",
        ));
    }
    Ok(h)
}

fn optimizer(v: Value) -> Result<OptimizerSpec> {
    let Value::Table(t) = v else {
        return Err(Error::input(
            "optimizer",
            v,
            "must be a table: write [optimizer]",
            "",
        ));
    };
    let mut o = OptimizerSpec::default();
    let lr = |k: &str, v: &Value| -> Result<f64> {
        let x = match v {
            Value::Float(f) => *f,
            Value::Integer(i) => *i as f64,
            other => return Err(Error::input(k, other, "must be a number", "")),
        };
        if x.is_finite() && x >= 0.0 {
            Ok(x)
        } else {
            Err(Error::input(
                k,
                x,
                "a learning rate must be a finite number >= 0",
                "try 1e-3",
            ))
        }
    };
    for (k, v) in &t {
        match k.as_str() {
            "kind" => {
                o.method = match v.as_str() {
                    Some("adam") => Method::adam(),
                    Some("sgd") => Method::Sgd,
                    _ => {
                        return Err(Error::input(
                            "optimizer.kind",
                            v,
                            "allowed: \"adam\", \"sgd\"",
                            "",
                        ));
                    }
                }
            }
            "lr" => o.lr = lr("optimizer.lr", v)?,
            "lr_by_projection" | "decay_by_projection" => {
                let Value::Table(m) = v else {
                    return Err(Error::input(
                        format!("optimizer.{k}"),
                        v,
                        "must be a table of projection = value",
                        "e.g. { \"rec->out\" = 0.001 }",
                    ));
                };
                for (name, x) in m {
                    let x = lr(&format!("optimizer.{k}.{name}"), x)?;
                    if k == "lr_by_projection" {
                        o.lr_by_projection.push((name.clone(), x));
                    } else if x < 1.0 {
                        o.decay_by_projection.push((name.clone(), x));
                    } else {
                        return Err(Error::input(
                            format!("optimizer.{k}.{name}"),
                            x,
                            "a decay must be in [0, 1)",
                            "e-prop's adaptive feedback uses 1e-3",
                        ));
                    }
                }
            }
            other => {
                const FIELDS: &[&str] = &["kind", "lr", "lr_by_projection", "decay_by_projection"];
                return Err(Error::input(
                    format!("optimizer.{other}"),
                    "",
                    format!("unknown field; allowed: {}", FIELDS.join(", ")),
                    did_you_mean(other, FIELDS),
                ));
            }
        }
    }
    Ok(o)
}
