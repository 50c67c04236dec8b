//! `eligo grad`: one batch of a network with a learning rule — one sequence (`--input`) or a
//! whole batch (`--batch-inputs`, computed as a training iteration computes it); every
//! gradient, the spikes and the loss go to an `.npz` — the way to check any rule against your
//! own code (docs/grad.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use eligo_engine::io::npz::{self, Out};
use eligo_engine::io::{config, npy, weights};
use eligo_engine::neuron::ModelSpec;
use eligo_engine::optim::{Loss, Teacher};
use eligo_engine::prelude::*;
use eligo_engine::task::Sample;
use eligo_engine::train::TrainRule;

use super::grad_batch::{self, Target};
use super::rule::Chosen;

/// Arguments of `grad`.
#[derive(clap::Args)]
// `--rule` is optional for `simulate` (a run without rules) but `grad` needs one: its help says
// so here, and `run` refuses a run without any rule (exit 2). It is not clap-required because
// the network description's `[[rule]]` tables may name the rules instead.
#[command(mut_arg("rule", |a| a.help(
    "Learning rule (required: here, or as [[rule]] tables in the network description): a plugin \
     name (see `eligo plugins`) or the path of a plugin library; repeat for several rules"
)))]
pub struct Args {
    /// Network description (TOML); its duration is the sequence length.
    pub config: PathBuf,
    /// Weights (.npz: per projection P, P/indptr + P/indices + P/data, or a dense P[post, pre];
    /// readout biases R/bias). Default: the weights the description draws.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Input spikes (Eligo event .npy: fields t in µs, addr) driving the input population: one
    /// sequence. Or --batch-inputs.
    #[arg(
        long,
        required_unless_present = "batch_inputs",
        conflicts_with = "batch_inputs"
    )]
    pub input: Option<PathBuf>,
    /// A whole batch, computed as one training iteration: a folder of input .npy files (one
    /// sequence each, in file-name order) or a manifest (one line per sequence:
    /// INPUT[,CLASS|,TARGETS.npy], paths relative to the manifest, `#` comments, an optional
    /// `file,...` header). The gradients are summed over the batch, the loss is its mean, the
    /// regularizer sees the batch's rates; no spikes or errors are written.
    #[arg(long, value_name = "DIR|FILE")]
    pub batch_inputs: Option<PathBuf>,
    /// The population the input drives (a source population). Default: the first source.
    #[arg(long)]
    pub input_population: Option<String>,
    /// Regression targets: a steps x n_out float .npy (mean squared error); with
    /// --batch-inputs, of every sequence the manifest gives no target.
    #[arg(long, conflicts_with = "class")]
    pub targets: Option<PathBuf>,
    /// Classification target class (softmax cross-entropy over --window-ms); with
    /// --batch-inputs, of every sequence the manifest gives no target.
    #[arg(long, requires = "window_ms")]
    pub class: Option<usize>,
    /// Decision window "FROM:TO" in ms (classification).
    #[arg(long)]
    pub window_ms: Option<String>,
    /// e-prop's feedback weights B: a float32/float64 .npy of shape [n_rec, n_out] (rows the
    /// LIF/ALIF neurons in population order; B = Wout^T is the symmetric choice). Sets the
    /// rule parameter feedback_file; B is then fixed (feedback = random) unless the rule says
    /// feedback = adaptive (B starts there). With adaptive feedback, grad/B holds B's update.
    #[arg(long, value_name = "B.npy")]
    pub feedback_matrix: Option<PathBuf>,
    /// Worker threads for --batch-inputs (at most the machine's cores); results are identical
    /// for any count. Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Output .npz. Gradients of projections no rule learns (frozen) are left out.
    #[arg(long, default_value = "grad.npz")]
    pub out: PathBuf,
    #[command(flatten)]
    pub rule: super::rule::RuleArgs,
}

/// Run `grad`.
pub fn run(a: Args) -> Result<()> {
    let cfg = config::load(&a.config)?;
    let file = &a.config;
    let mut net = cfg.network.build().map_err(|e| e.in_file(file))?;
    let steps = cfg.steps;
    let mut biases = weights::default_biases(&net);
    if let Some(w) = &a.weights {
        weights::load(w, &mut net, &mut biases)?;
    }
    let readouts: Vec<usize> = net.readouts().collect();
    let [readout] = readouts[..] else {
        return Err(Error::input(
            "population",
            format!("{} readout populations", readouts.len()),
            "`grad` needs exactly one readout population",
            "",
        )
        .in_file(file)
        .into());
    };
    let n_out = net.populations[readout].size as usize;
    let input_pop = match &a.input_population {
        Some(name) => net.population(name).ok_or_else(|| {
            Error::input(
                "--input-population",
                name,
                "no population has this name",
                "",
            )
        })?,
        None => net
            .populations
            .iter()
            .position(|p| p.model.is_source())
            .ok_or_else(|| {
                Error::input(
                    "population",
                    "none",
                    "`grad` needs a source population for the input",
                    "",
                )
                .in_file(file)
            })?,
    };
    let entries = match (&a.input, &a.batch_inputs) {
        (Some(p), _) => vec![grad_batch::Entry {
            input: p.clone(),
            target: None,
        }],
        (None, Some(b)) => grad_batch::entries(b)?,
        (None, None) => unreachable!("clap requires --input or --batch-inputs"),
    };
    let field = match a.input {
        Some(_) => "--input",
        None => "--batch-inputs",
    };
    let inputs = entries
        .iter()
        .map(|e| read_input(&e.input, field, &net, input_pop, steps))
        .collect::<Result<Vec<_>>>()?;
    let window = a
        .window_ms
        .as_deref()
        .map(|w| parse_window(w, net.dt_ms, steps))
        .transpose()?;
    let shared = match (&a.targets, a.class) {
        (Some(t), _) => Some(Target::Targets(t.clone())),
        (None, Some(c)) => Some(Target::Class(c)),
        (None, None) => None,
    };
    let losses = entries
        .iter()
        .map(|e| {
            let t = e.target.as_ref().or(shared.as_ref());
            make_loss(t, window, steps, n_out)
        })
        .collect::<Result<Vec<_>>>()?;
    if a.rule.rule.is_empty() && cfg.rules.is_empty() {
        return Err(Error::input(
            "--rule",
            "missing",
            "`grad` needs a learning rule",
            "e.g. --rule eprop, or a [[rule]] table in the network description",
        )
        .into());
    }
    let req = a.rule.request(steps)?;
    let mut chosen = eligo_engine::train::rules::configured(&req, &cfg.rules, Some(file))?;
    if let Some(b) = &a.feedback_matrix {
        use_feedback_matrix(b, &net, readout, &mut chosen)?;
    }
    let adaptive: Vec<bool> = chosen.iter().map(is_adaptive).collect();

    let mut out: BTreeMap<String, Out> = weights::arrays(&net, &biases, "weights/");
    let loss_value = match a.input {
        Some(_) => {
            let [(input, loss)] = &inputs.into_iter().zip(losses).collect::<Vec<_>>()[..] else {
                unreachable!("one --input")
            };
            let opts = SimOptions {
                threads: 1,
                record: RecordSpec {
                    spikes: (0..net.populations.len()).collect(),
                    state: vec![],
                },
            };
            let mut sim = Simulation::new(net, &opts)?;
            sim.set_biases(readout, &biases[readout]);
            sim.clamp(input_pop, input)?;
            eligo_engine::train::rules::attach_chosen(&req, &mut sim, steps, chosen)?;
            sim.set_teacher(Some(Teacher::new(readout, n_out, loss.clone(), 1)))?;
            sim.run_sequence(steps, None)?;
            sim.end_batch_of_one(steps)?;
            one_sequence_output(&sim, readout, &adaptive, steps, &mut out);
            sim.teacher().map_or(0.0, |t| t.value)
        }
        None => {
            let modulators = req.modulator.clone();
            let rules: Vec<TrainRule> = chosen
                .into_iter()
                .map(|c| TrainRule {
                    plugin: c.plugin,
                    values: c.cfg.values,
                    host: c.cfg.host,
                })
                .collect();
            let samples: Vec<Sample> = inputs
                .into_iter()
                .zip(losses)
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
            let batch = grad_batch::Batch {
                spec: &cfg.network,
                net: &net,
                biases: &biases,
                steps,
                input: input_pop,
                readout,
                modulators,
                threads: super::threads::resolve(a.threads, false)?,
            };
            let g = grad_batch::gradients(batch, samples, &rules)?;
            let masks = rules
                .iter()
                .map(|r| r.host.plastic_mask(&net))
                .collect::<eligo_engine::Result<Vec<_>>>()?;
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
            if let Some(r) = g.rules.iter().flatten().next() {
                out.insert(
                    format!("grad/{}/bias", net.populations[readout].name),
                    Out::F32(vec![r.biases.len() as u64], r.biases.clone()),
                );
            }
            let adaptive_grads = g
                .rules
                .iter()
                .zip(&adaptive)
                .find_map(|(r, &ad)| r.as_ref().filter(|_| ad));
            if let Some(r) = adaptive_grads {
                put_feedback_grad(&mut out, &net, readout, &r.weights);
            }
            out.insert(
                "sequence_losses".into(),
                Out::F64(vec![g.sample_losses.len() as u64], g.sample_losses.clone()),
            );
            g.loss
        }
    };
    out.insert("loss".into(), Out::F64(vec![], vec![loss_value]));
    npz::write(&a.out, &out)?;
    println!(
        "loss {loss_value:.6} over {} sequence{}; wrote {}",
        entries.len(),
        if entries.len() == 1 { "" } else { "s" },
        a.out.display()
    );
    Ok(())
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
fn put_grad(out: &mut BTreeMap<String, Out>, p: &eligo_engine::network::Projection, g: &[f32]) {
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
fn use_feedback_matrix(
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
        )
        .into());
    }
    // the plugin reads the file itself, wherever the run's working directory is
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut given = 0;
    for c in chosen.iter_mut() {
        let set = |c: &mut Chosen, name: &str, value: &str| {
            eligo_engine::plugin::config::set_param(
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
        )
        .into());
    }
    Ok(())
}

/// The input events of `path` as `(step, neuron)` of the input population (events at or after
/// the last step dropped).
fn read_input(
    path: &Path,
    field: &str,
    net: &Network,
    input_pop: usize,
    steps: u64,
) -> Result<Vec<(u64, u32)>> {
    let dt_us = net.dt_ms * 1000.0;
    let events = npy::read_events(path).map_err(|e| match e {
        Error::Io { source, .. } => Error::input(
            field,
            path.display(),
            format!("not an Eligo event file (structured .npy with t <u8, addr <u4): {source}"),
            "convert it with `eligo events convert`",
        ),
        other => other,
    })?;
    let size = net.populations[input_pop].size;
    let mut binned = Vec::with_capacity(events.len());
    for (k, ev) in events.iter().enumerate() {
        if ev.addr >= size {
            return Err(Error::input(
                format!("event {k}"),
                format!("addr {}", ev.addr),
                format!(
                    "population '{}' has {size} neurons",
                    net.populations[input_pop].name
                ),
                "check the input population and the address map",
            )
            .in_file(path)
            .into());
        }
        let step = (ev.t as f64 / dt_us).floor() as u64;
        if step < steps {
            binned.push((step, ev.addr));
        }
    }
    Ok(binned)
}

/// `--window-ms FROM:TO` as steps `[from, to)`, `to` at most `steps`.
fn parse_window(w: &str, dt_ms: f64, steps: u64) -> Result<(u64, u64)> {
    let parsed = w
        .split_once(':')
        .and_then(|(f, t)| Some((f.trim().parse::<f64>().ok()?, t.trim().parse::<f64>().ok()?)));
    let Some((from, to)) = parsed.filter(|(f, t)| *f >= 0.0 && f < t) else {
        return Err(Error::input(
            "--window-ms",
            w,
            "must be FROM:TO in ms with 0 <= FROM < TO",
            "e.g. 2100:2250",
        )
        .into());
    };
    Ok((
        (from / dt_ms).round() as u64,
        ((to / dt_ms).round() as u64).min(steps),
    ))
}

/// The loss of a sequence with target `t`.
fn make_loss(
    t: Option<&Target>,
    window: Option<(u64, u64)>,
    steps: u64,
    n_out: usize,
) -> Result<Loss> {
    match t {
        Some(Target::Targets(t)) => {
            let arr = read_targets(t, [steps, n_out as u64])?;
            if arr.0 != [steps, n_out as u64] {
                return Err(Error::input(
                    "--targets",
                    format!("shape {:?}", arr.0),
                    format!("must be [steps, n_out] = [{steps}, {n_out}]"),
                    "one row per step of duration_ms / dt_ms",
                )
                .in_file(t)
                .into());
            }
            Ok(Loss::Mse { targets: arr.1 })
        }
        Some(&Target::Class(class)) => {
            if class >= n_out {
                return Err(Error::input(
                    "--class",
                    class,
                    format!("must be below the number of outputs {n_out}"),
                    "",
                )
                .into());
            }
            let Some((from, to)) = window else {
                return Err(Error::input(
                    "--window-ms",
                    "missing",
                    "a class target needs the decision window",
                    "e.g. --window-ms 2100:2250",
                )
                .into());
            };
            Ok(Loss::CrossEntropy { class, from, to })
        }
        None => Err(Error::input(
            "--targets",
            "missing",
            "give --targets FILE.npy (regression) or --class K --window-ms A:B (classification)",
            "with --batch-inputs, a manifest line INPUT,TARGET gives a sequence its own",
        )
        .into()),
    }
}

/// A float .npy (f32 or f64) meant to have `shape`, as (its shape, row-major f32 values;
/// Fortran-order files are transposed on read). A file too big for `shape` is refused unread.
fn read_targets(path: &Path, shape: [u64; 2]) -> Result<(Vec<u64>, Vec<f32>)> {
    Ok(npy::read_floats(
        path,
        "--targets",
        shape[0].saturating_mul(shape[1]),
        "save a float32 array of shape [steps, n_out] with numpy.save",
    )?)
}
