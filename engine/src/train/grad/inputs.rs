//! What a `grad` run is given, checked: the readout and input populations, the input spikes
//! binned to steps, the decision window, the targets and losses, the rules and e-prop's
//! feedback matrix.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::config::RuleSpec;
use crate::io::npy::{self, Event};
use crate::network::Network;
use crate::optim::Loss;

use super::super::rules::{self, Chosen, RuleRequest};
use super::feedback_rows;

/// Most sequences in one batch (all are read before the run).
pub const MAX_SEQUENCES: usize = 65_536;

/// The target of a sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A class (softmax cross-entropy over the decision window).
    Class(usize),
    /// Regression targets (mean squared error): the array's shape, its row-major values and
    /// the file they were read from (for messages; None for arrays given in code).
    Values {
        /// Shape as given (must be `[steps, n_out]`).
        shape: Vec<u64>,
        /// Row-major values.
        values: Vec<f32>,
        /// The `.npy` they came from.
        file: Option<std::path::PathBuf>,
    },
}

/// The network's one readout population (`grad` needs exactly one).
pub fn readout(net: &Network, file: Option<&Path>) -> Result<usize> {
    let readouts: Vec<usize> = net.readouts().collect();
    let [readout] = readouts[..] else {
        return Err(in_file(
            Error::input(
                "population",
                format!("{} readout populations", readouts.len()),
                "`grad` needs exactly one readout population",
                "",
            ),
            file,
        ));
    };
    Ok(readout)
}

/// The population the input drives: `name`, or the first source population.
pub fn input_population(net: &Network, name: Option<&str>, file: Option<&Path>) -> Result<usize> {
    match name {
        Some(name) => net.population(name).ok_or_else(|| {
            Error::input(
                "--input-population",
                name,
                "no population has this name",
                "",
            )
        }),
        None => net
            .populations
            .iter()
            .position(|p| p.model.is_source())
            .ok_or_else(|| {
                in_file(
                    Error::input(
                        "population",
                        "none",
                        "`grad` needs a source population for the input",
                        "",
                    ),
                    file,
                )
            }),
    }
}

fn in_file(e: Error, file: Option<&Path>) -> Error {
    match file {
        Some(f) => e.in_file(f),
        None => e,
    }
}

/// Read an Eligo event `.npy` (fields `t` in µs, `addr`) for the flag `field`.
pub fn read_events(path: &Path, field: &str) -> Result<Vec<Event>> {
    npy::read_events(path).map_err(|e| match e {
        Error::Io { source, .. } => Error::input(
            field,
            path.display(),
            format!("not an Eligo event file (structured .npy with t <u8, addr <u4): {source}"),
            "convert it with `eligo events convert`",
        ),
        other => other,
    })
}

/// The input `events` as `(step, neuron)` of the input population (events at or after the
/// last step dropped); `file` is where they came from, for messages.
pub fn bin_input(
    events: &[Event],
    file: Option<&Path>,
    net: &Network,
    input_pop: usize,
    steps: u64,
) -> Result<Vec<(u64, u32)>> {
    let dt_us = net.dt_ms * 1000.0;
    let size = net.populations[input_pop].size;
    let mut binned = Vec::with_capacity(events.len());
    for (k, ev) in events.iter().enumerate() {
        if ev.addr >= size {
            return Err(in_file(
                Error::input(
                    format!("event {k}"),
                    format!("addr {}", ev.addr),
                    format!(
                        "population '{}' has {size} neurons",
                        net.populations[input_pop].name
                    ),
                    "check the input population and the address map",
                ),
                file,
            ));
        }
        let step = (ev.t as f64 / dt_us).floor() as u64;
        if step < steps {
            binned.push((step, ev.addr));
        }
    }
    Ok(binned)
}

/// `--window-ms FROM:TO` as steps `[from, to)`, `to` at most `steps`.
pub fn parse_window(w: &str, dt_ms: f64, steps: u64) -> Result<(u64, u64)> {
    let parsed = w
        .split_once(':')
        .and_then(|(f, t)| Some((f.trim().parse::<f64>().ok()?, t.trim().parse::<f64>().ok()?)));
    let Some((from, to)) = parsed.filter(|(f, t)| *f >= 0.0 && f < t) else {
        return Err(Error::input(
            "--window-ms",
            w,
            "must be FROM:TO in ms with 0 <= FROM < TO",
            "e.g. 2100:2250",
        ));
    };
    Ok((
        (from / dt_ms).round() as u64,
        ((to / dt_ms).round() as u64).min(steps),
    ))
}

/// A targets `.npy` (f32 or f64) meant to be `[steps, n_out]`, as a [`Target::Values`];
/// Fortran-order files are transposed on read, a file too big for the shape is refused unread.
pub fn read_targets(path: &Path, steps: u64, n_out: usize) -> Result<Target> {
    let (shape, values) = npy::read_floats(
        path,
        "--targets",
        steps.saturating_mul(n_out as u64),
        "save a float32 array of shape [steps, n_out] with numpy.save",
    )?;
    Ok(Target::Values {
        shape,
        values,
        file: Some(path.to_path_buf()),
    })
}

/// The loss of a sequence with target `t` (None: none given, an error).
pub fn loss(
    t: Option<&Target>,
    window: Option<(u64, u64)>,
    steps: u64,
    n_out: usize,
) -> Result<Loss> {
    match t {
        Some(Target::Values {
            shape,
            values,
            file,
        }) => {
            if shape[..] != [steps, n_out as u64] {
                return Err(in_file(
                    Error::input(
                        "--targets",
                        format!("shape {shape:?}"),
                        format!("must be [steps, n_out] = [{steps}, {n_out}]"),
                        "one row per step of duration_ms / dt_ms",
                    ),
                    file.as_deref(),
                ));
            }
            if let Some(k) = values.iter().position(|x| !x.is_finite()) {
                return Err(in_file(
                    Error::input(
                        "--targets",
                        format!("entry {k}"),
                        format!(
                            "is {}; the values must be finite float32 numbers",
                            values[k]
                        ),
                        "",
                    ),
                    file.as_deref(),
                ));
            }
            Ok(Loss::Mse {
                targets: values.clone(),
            })
        }
        Some(&Target::Class(class)) => {
            if class >= n_out {
                return Err(Error::input(
                    "--class",
                    class,
                    format!("must be below the number of outputs {n_out}"),
                    "",
                ));
            }
            let Some((from, to)) = window else {
                return Err(Error::input(
                    "--window-ms",
                    "missing",
                    "a class target needs the decision window",
                    "e.g. --window-ms 2100:2250",
                ));
            };
            Ok(Loss::CrossEntropy { class, from, to })
        }
        None => Err(Error::input(
            "--targets",
            "missing",
            "give --targets FILE.npy (regression) or --class K --window-ms A:B (classification)",
            "with --batch-inputs, a manifest line INPUT,TARGET gives a sequence its own",
        )),
    }
}

/// The rules of a `grad` run: those `req` names, else the description's `file_rules`; a run
/// without any is refused.
pub fn choose_rules(
    req: &RuleRequest,
    file_rules: &[RuleSpec],
    net_file: Option<&Path>,
) -> Result<Vec<Chosen>> {
    if req.rule.is_empty() && file_rules.is_empty() {
        return Err(Error::input(
            "--rule",
            "missing",
            "`grad` needs a learning rule",
            "e.g. --rule eprop, or a [[rule]] table in the network description",
        ));
    }
    rules::configured(req, file_rules, net_file)
}

/// `--feedback-matrix B.npy`: check its shape, then give it to every chosen rule that takes a
/// `feedback_file` (symmetric feedback, which has no B of its own, becomes random: B fixed).
pub fn use_feedback_matrix(
    path: &Path,
    net: &Network,
    readout: usize,
    chosen: &mut [Chosen],
) -> Result<()> {
    let (_, n_rec) = feedback_rows(net);
    let n_out = net.populations[readout].size as usize;
    let hint = "save a float32 array of shape [n_rec, n_out] (B[j, k]: output k's error in neuron j's learning signal) with numpy.save";
    let (shape, _) = npy::read_floats(
        path,
        "--feedback-matrix",
        (n_rec as u64).saturating_mul(n_out as u64),
        hint,
    )?;
    let want = [n_rec as u64, n_out as u64];
    if shape != want {
        return Err(Error::input(
            "--feedback-matrix",
            path.display(),
            format!(
                "has shape {shape:?}; B must be [n_rec, n_out] = {want:?} (n_rec: the {n_rec} LIF/ALIF neurons in population order; n_out: the readout's {n_out} outputs)"
            ),
            hint,
        ));
    }
    // the plugin reads the file itself, wherever the run's working directory is
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut given = 0;
    for c in chosen.iter_mut() {
        let set = |c: &mut Chosen, name: &str, value: &str| {
            crate::plugin::config::set_param(
                &c.plugin,
                &mut c.cfg.values,
                "--feedback-matrix",
                name,
                value,
            )
        };
        if !set(c, "feedback_file", &abs.display().to_string())? {
            continue;
        }
        given += 1;
        let symmetric = c
            .plugin
            .params
            .iter()
            .position(|p| p.name == "feedback")
            .is_some_and(|i| c.cfg.values.texts[i] == "symmetric");
        if symmetric {
            set(c, "feedback", "random")?;
        }
    }
    if given == 0 {
        let names: Vec<&str> = chosen.iter().map(|c| c.plugin.name.as_str()).collect();
        return Err(Error::input(
            "--feedback-matrix",
            path.display(),
            format!(
                "no rule of this run takes a feedback matrix (rules: {}; a rule takes one through a parameter feedback_file)",
                names.join(", ")
            ),
            "use it with --rule eprop",
        ));
    }
    Ok(())
}
