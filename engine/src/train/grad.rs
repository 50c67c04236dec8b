//! Gradients of one batch, for every front end (`eligo grad`, the Python package's
//! `eligo.grad`): a network with its weights, input spikes and losses in, every gradient, the
//! spikes, the errors and the loss out as named arrays (the members of the `.npz` that
//! `eligo grad` writes, docs/grad.md).
//!
//! Two ways to run, as the CLI names them:
//! - one sequence (`--input`): a [`Simulation`] with the rules attached runs the sequence and
//!   ends a batch of one; its spikes (`spikes/P/step`, `spikes/P/addr`) and output errors
//!   (`errors`, `steps x n_out`) are kept beside the gradients;
//! - a batch (`--batch-inputs`): the sequences become the training samples of a task and the
//!   trainer's lanes compute the batch ([`Trainer::batch_gradients`]), so the gradients are
//!   those of a training iteration over the same samples, bit for bit; the per-sequence losses
//!   go to `sequence_losses`.
//!
//! Error messages name the command line's flags (`--targets`, `--class`, `--window-ms`,
//! `--feedback-matrix`); the Python package passes its keyword arguments through the same
//! functions.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::io::npy::{self, Event};
use crate::io::npz::Out;
use crate::io::{config::RuleSpec, weights};
use crate::network::{Network, NetworkSpec, Projection};
use crate::neuron::ModelSpec;
use crate::optim::{Loss, Method, Teacher};
use crate::sim::{RecordSpec, SimOptions, Simulation};
use crate::task::{Defaults, Kind, Sample, Split, Task};

use super::rules::{self, Chosen, RuleRequest};
use super::trainer::{BatchGradients, TrainConfig, TrainRule, Trainer};

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

/// A `grad` run besides its sequences.
pub struct Run<'a> {
    /// The network description's network (a batch's trainer draws it again: same structure).
    pub spec: &'a NetworkSpec,
    /// The network with the weights to differentiate (as drawn, or loaded).
    pub net: Network,
    /// Per population, the biases (the readout's used).
    pub biases: Vec<Vec<f32>>,
    /// Steps per sequence.
    pub steps: u64,
    /// Input population.
    pub input: usize,
    /// Readout population.
    pub readout: usize,
    /// The rules as asked for (its modulator channels are every sequence's).
    pub req: &'a RuleRequest,
    /// The rules, from [`choose_rules`] (and [`use_feedback_matrix`]).
    pub chosen: Vec<Chosen>,
    /// Compute the sequences as one training batch (`--batch-inputs`), even a single one;
    /// false: exactly one sequence, run alone, with its spikes and errors (`--input`).
    pub batch: bool,
    /// Worker threads of a batch (results are the same for any count).
    pub threads: usize,
}

/// What a `grad` run gives: the named arrays of `eligo grad`'s `.npz` (`loss` among them)
/// and the loss.
pub struct Output {
    /// Name -> array, as `eligo grad` writes them.
    pub arrays: BTreeMap<String, Out>,
    /// The loss (the batch's mean).
    pub loss: f64,
}

/// Steps of a one-sequence run between two calls of [`run_with`]'s `between`.
pub const PIECE_STEPS: u64 = 1000;

/// Run `r` over `sequences` (binned input, loss): every gradient, `weights/...`, and for one
/// sequence its spikes and errors, for a batch the per-sequence losses.
pub fn run(r: Run, sequences: Vec<(Vec<(u64, u32)>, Loss)>) -> Result<Output> {
    run_with(r, sequences, &mut || Ok(()))
}

/// [`run`], calling `between` after every [`PIECE_STEPS`] steps of a one-sequence run (to
/// check for an interrupt: an error from it ends the run with that error). The cut changes
/// nothing in the results. A batch runs whole.
pub fn run_with(
    r: Run,
    sequences: Vec<(Vec<(u64, u32)>, Loss)>,
    between: &mut (dyn FnMut() -> Result<()> + Send),
) -> Result<Output> {
    let adaptive: Vec<bool> = r.chosen.iter().map(is_adaptive).collect();
    let mut out: BTreeMap<String, Out> = weights::arrays(&r.net, &r.biases, "weights/");
    let loss_value = if !r.batch {
        let [(input, loss)] = &sequences[..] else {
            return Err(Error::input(
                "--input",
                format!("{} sequences", sequences.len()),
                "one sequence runs alone; several are a batch",
                "give the sequences as a batch (--batch-inputs)",
            ));
        };
        let (net, readout, steps) = (r.net, r.readout, r.steps);
        let n_out = net.populations[readout].size as usize;
        let opts = SimOptions {
            threads: 1,
            record: RecordSpec {
                spikes: (0..net.populations.len()).collect(),
                state: vec![],
            },
        };
        let mut sim = Simulation::new(net, &opts)?;
        sim.set_biases(readout, &r.biases[readout]);
        sim.clamp(r.input, input)?;
        rules::attach_chosen(r.req, &mut sim, steps, r.chosen)?;
        sim.set_teacher(Some(Teacher::new(readout, n_out, loss.clone(), 1)))?;
        sim.begin_sequence()?;
        let mut done = 0;
        while done < steps {
            let n = PIECE_STEPS.min(steps - done);
            sim.run(n, None)?;
            done += n;
            between()?;
        }
        sim.end_sequence(steps)?;
        sim.end_batch_of_one(steps)?;
        one_sequence_output(&sim, readout, &adaptive, steps, &mut out);
        sim.teacher().map_or(0.0, |t| t.value)
    } else {
        let rules: Vec<TrainRule> = r
            .chosen
            .into_iter()
            .map(|c| TrainRule {
                plugin: c.plugin,
                values: c.cfg.values,
                host: c.cfg.host,
            })
            .collect();
        let samples: Vec<Sample> = sequences
            .into_iter()
            .map(|(input, loss)| Sample {
                input,
                label: match &loss {
                    Loss::CrossEntropy { class, .. } => Some(*class),
                    _ => None,
                },
                loss,
                modulators: Vec::new(),
            })
            .collect();
        let batch = Batch {
            spec: r.spec,
            net: &r.net,
            biases: &r.biases,
            steps: r.steps,
            input: r.input,
            readout: r.readout,
            modulators: r.req.modulator.clone(),
            threads: r.threads,
        };
        let g = gradients(batch, samples, &rules)?;
        let net = &r.net;
        let masks = rules
            .iter()
            .map(|r| r.host.plastic_mask(net))
            .collect::<Result<Vec<_>>>()?;
        for (j, p) in net.projections.iter().enumerate() {
            let grad = masks
                .iter()
                .position(|m| m[j])
                .and_then(|k| g.rules[k].as_ref())
                .map(|r| &r.weights[j]);
            if let Some(grad) = grad {
                put_grad(&mut out, p, grad);
            }
        }
        if let Some(rg) = g.rules.iter().flatten().next() {
            out.insert(
                format!("grad/{}/bias", net.populations[r.readout].name),
                Out::F32(vec![rg.biases.len() as u64], rg.biases.clone()),
            );
        }
        let adaptive_grads = g
            .rules
            .iter()
            .zip(&adaptive)
            .find_map(|(rg, &ad)| rg.as_ref().filter(|_| ad));
        if let Some(rg) = adaptive_grads {
            put_feedback_grad(&mut out, net, r.readout, &rg.weights);
        }
        out.insert(
            "sequence_losses".into(),
            Out::F64(vec![g.sample_losses.len() as u64], g.sample_losses.clone()),
        );
        g.loss
    };
    out.insert("loss".into(), Out::F64(vec![], vec![loss_value]));
    Ok(Output {
        arrays: out,
        loss: loss_value,
    })
}

/// The one-sequence run's gradients, bias gradients, B's update (adaptive feedback), spikes
/// and errors.
fn one_sequence_output(
    sim: &Simulation,
    readout: usize,
    adaptive: &[bool],
    steps: u64,
    out: &mut BTreeMap<String, Out>,
) {
    let net = sim.network();
    // with several rules, a projection's gradient is that of the rule learning it; a
    // projection no rule learns is left out; a readout's bias gradient is the first rule's
    // that has one
    let n_rules = sim.rules().len();
    for (j, p) in net.projections.iter().enumerate() {
        let grad = sim
            .rules()
            .position(|r| r.plastic()[j])
            .map(|k| &sim.rule_grads(k)[j])
            .filter(|g| !g.is_empty());
        if let Some(g) = grad {
            put_grad(out, p, g);
        }
    }
    for (i, pop) in net.populations.iter().enumerate() {
        let g = (0..n_rules)
            .map(|k| &sim.rule_bias_grads(k)[i])
            .find(|g| !g.is_empty());
        if let Some(g) = g {
            out.insert(
                format!("grad/{}/bias", pop.name),
                Out::F32(vec![g.len() as u64], g.clone()),
            );
        }
    }
    if let Some(k) = adaptive.iter().position(|&a| a) {
        put_feedback_grad(out, net, readout, sim.rule_grads(k));
    }
    for (pi, pop) in net.populations.iter().enumerate() {
        let s = sim.population_spikes(pi);
        out.insert(
            format!("spikes/{}/step", pop.name),
            Out::U64(vec![s.len() as u64], s.iter().map(|x| x.0).collect()),
        );
        out.insert(
            format!("spikes/{}/addr", pop.name),
            Out::U32(vec![s.len() as u64], s.iter().map(|x| x.1).collect()),
        );
    }
    let n_out = net.populations[readout].size as u64;
    out.insert(
        "errors".into(),
        Out::F32(vec![steps, n_out], sim.errors().to_vec()),
    );
}

/// `grad/P/data`, `/indptr`, `/indices`: projection `p`'s gradient in its CSR layout.
fn put_grad(out: &mut BTreeMap<String, Out>, p: &Projection, g: &[f32]) {
    out.insert(
        format!("grad/{}/data", p.name),
        Out::F32(vec![p.len() as u64], g.to_vec()),
    );
    out.insert(
        format!("grad/{}/indptr", p.name),
        Out::U32(vec![p.indptr.len() as u64], p.indptr.clone()),
    );
    out.insert(
        format!("grad/{}/indices", p.name),
        Out::U32(vec![p.len() as u64], p.targets.clone()),
    );
}

/// The LIF/ALIF populations (e-prop's recurrent neurons, the rows of `B`) with the row of
/// each one's first neuron, and the number of rows.
fn feedback_rows(net: &Network) -> (Vec<(usize, usize)>, usize) {
    let mut rows = Vec::new();
    let mut n = 0;
    for (i, p) in net.populations.iter().enumerate() {
        if matches!(p.model, ModelSpec::Lif(_) | ModelSpec::Alif(_)) {
            rows.push((i, n));
            n += p.size as usize;
        }
    }
    (rows, n)
}

/// `grad/B` `[n_rec, n_out]`: with adaptive (Kolen-Pollack) feedback `B` gets the same update
/// as `Wout^T`, so its gradient is the readout projections' gradient (`grads`, per projection
/// of the rule) transposed: `dB[j, k] = sum over readout projections of dE/dWout[k, j]`.
fn put_feedback_grad(
    out: &mut BTreeMap<String, Out>,
    net: &Network,
    readout: usize,
    grads: &[Vec<f32>],
) {
    let (rows, n_rec) = feedback_rows(net);
    let n_out = net.populations[readout].size as usize;
    let mut gb = vec![0.0f32; n_rec * n_out];
    for (p, g) in net.projections.iter().zip(grads) {
        let Some(&(_, first)) = rows.iter().find(|(i, _)| *i == p.pre) else {
            continue;
        };
        if p.post != readout || g.len() != p.len() {
            continue;
        }
        for j in 0..p.indptr.len() - 1 {
            for s in p.indptr[j] as usize..p.indptr[j + 1] as usize {
                gb[(first + j) * n_out + p.targets[s] as usize] += g[s];
            }
        }
    }
    out.insert(
        "grad/B".into(),
        Out::F32(vec![n_rec as u64, n_out as u64], gb),
    );
}

/// True if `c`'s `feedback` parameter is `adaptive`.
fn is_adaptive(c: &Chosen) -> bool {
    c.plugin
        .params
        .iter()
        .position(|p| p.name == "feedback")
        .is_some_and(|i| c.cfg.values.texts[i] == "adaptive")
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

/// The batch as a task: the network description's network and the given sequences as its
/// training samples `0..B`.
struct Files {
    spec: NetworkSpec,
    steps: u64,
    input: String,
    readout: String,
    samples: Vec<Sample>,
    modulators: Vec<&'static str>,
}

impl Task for Files {
    fn name(&self) -> &'static str {
        "grad"
    }
    fn kind(&self) -> Kind {
        match self.samples.first().map(|s| &s.loss) {
            Some(Loss::CrossEntropy { .. }) => Kind::Classification,
            _ => Kind::Regression,
        }
    }
    fn steps(&self) -> u64 {
        self.steps
    }
    fn network(&self, _seed: u64) -> NetworkSpec {
        self.spec.clone()
    }
    fn sample(&self, split: Split, index: u64) -> Result<Sample> {
        match split {
            Split::Train => self
                .samples
                .get(index as usize)
                .cloned()
                .ok_or_else(|| Error::input("sample", index, "beyond the batch", "")),
            _ => Err(Error::input(
                "split",
                "",
                "grad has training samples only",
                "",
            )),
        }
    }
    fn defaults(&self) -> Defaults {
        Defaults {
            method: Method::Sgd,
            lr: 0.0,
            batch: self.samples.len(),
            iterations: 1,
            rule_params: Vec::new(),
            stop_below_error: None,
            eval_every: 1,
        }
    }
    fn modulators(&self) -> &[&'static str] {
        &self.modulators
    }
    fn input_population(&self) -> &str {
        &self.input
    }
    fn readout_population(&self) -> Option<&str> {
        Some(&self.readout)
    }
}

/// What the batch run needs besides its samples.
struct Batch<'a> {
    spec: &'a NetworkSpec,
    net: &'a Network,
    biases: &'a [Vec<f32>],
    steps: u64,
    input: usize,
    readout: usize,
    /// Modulator channels: name and series, the same for every sequence.
    modulators: Vec<(String, Vec<f32>)>,
    threads: usize,
}

/// The gradients of `rules` over the batch `samples` (training samples `0..B` of a task), as
/// the first iteration of a training run over them computes them.
fn gradients(b: Batch, samples: Vec<Sample>, rules: &[TrainRule]) -> Result<BatchGradients> {
    let n = samples.len();
    let series: Vec<Vec<f32>> = b.modulators.iter().map(|(_, s)| s.clone()).collect();
    let samples = samples
        .into_iter()
        .map(|s| Sample {
            modulators: series.clone(),
            ..s
        })
        .collect();
    let task = Files {
        spec: b.spec.clone(),
        steps: b.steps,
        input: b.net.populations[b.input].name.clone(),
        readout: b.net.populations[b.readout].name.clone(),
        samples,
        // a task names its channels with static strings: a few bytes per channel and batch
        // run, kept for the process's life
        modulators: b
            .modulators
            .iter()
            .map(|(n, _)| &*Box::leak(n.clone().into_boxed_str()))
            .collect(),
    };
    let cfg = TrainConfig {
        batch: n,
        threads: b.threads,
        method: Method::Sgd,
        lr: 0.0,
        seed: b.spec.seed,
    };
    check_memory(b.spec, n, b.threads)?;
    let mut trainer = Trainer::with_rules(Box::new(task), rules, cfg)?;
    trainer.restore_all(b.net, &b.biases[b.readout], Vec::new(), 0);
    let jobs: Vec<(Split, u64)> = (0..n as u64).map(|k| (Split::Train, k)).collect();
    trainer.batch_gradients(&jobs)
}

/// The trainer holds a copy of the network per lane (`min(B, 16)`), per evaluation thread
/// (`min(threads, 16)`) and its master copy: refuse a batch whose copies would not fit in the
/// memory the network's own check allows (`ELIGO_MEMORY_LIMIT`, docs/limits.md).
fn check_memory(spec: &NetworkSpec, n: usize, threads: usize) -> Result<()> {
    let Some((limit, source)) = crate::limits::memory_limit()? else {
        return Ok(());
    };
    let copies = (n.min(16) + threads.min(16) + 1) as u64;
    let one = spec.estimate(1)?.total_bytes;
    let all = one.saturating_mul(copies);
    if all <= limit {
        return Ok(());
    }
    let human = crate::limits::human_bytes;
    Err(Error::input(
        "--batch-inputs",
        format!("{n} sequences"),
        format!(
            "the batch runs {copies} copies of the network (one per lane, at most 16 lanes, one per thread, and the master), about {} of {} each, more than the {} of memory available ({source})",
            human(all),
            human(one),
            human(limit),
        ),
        "use fewer --threads or a smaller batch, or run the sequences one at a time with --input",
    ))
}
