//! `eligo grad`: one batch (one sequence) of a network with a learning rule; every gradient,
//! the spikes and the loss go to an `.npz` — the way to check any rule against your own code.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use eligo_engine::io::npz::{self, Out};
use eligo_engine::io::{config, npy, weights};
use eligo_engine::optim::{Loss, Teacher};
use eligo_engine::prelude::*;

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
    /// Input spikes (Eligo event .npy: fields t in µs, addr) driving the input population.
    #[arg(long)]
    pub input: PathBuf,
    /// The population the input drives (a source population). Default: the first source.
    #[arg(long)]
    pub input_population: Option<String>,
    /// Regression targets: a steps x n_out float .npy (mean squared error).
    #[arg(long, conflicts_with = "class")]
    pub targets: Option<PathBuf>,
    /// Classification target class (softmax cross-entropy over --window-ms).
    #[arg(long, requires = "window_ms")]
    pub class: Option<usize>,
    /// Decision window "FROM:TO" in ms (classification).
    #[arg(long)]
    pub window_ms: Option<String>,
    /// Output .npz.
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
    let dt_us = net.dt_ms * 1000.0;
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
    // input events -> (step, index)
    let events = npy::read_events(&a.input).map_err(|e| match e {
        Error::Io { source, .. } => Error::input(
            "--input",
            a.input.display(),
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
            .in_file(&a.input)
            .into());
        }
        let step = (ev.t as f64 / dt_us).floor() as u64;
        if step < steps {
            binned.push((step, ev.addr));
        }
    }
    let loss = match (&a.targets, a.class) {
        (Some(t), _) => {
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
            Loss::Mse { targets: arr.1 }
        }
        (None, Some(class)) => {
            if class >= n_out {
                return Err(Error::input(
                    "--class",
                    class,
                    format!("must be below the number of outputs {n_out}"),
                    "",
                )
                .into());
            }
            let w = a.window_ms.as_deref().unwrap_or_default();
            let parsed = w.split_once(':').and_then(|(f, t)| {
                Some((f.trim().parse::<f64>().ok()?, t.trim().parse::<f64>().ok()?))
            });
            let Some((from, to)) = parsed.filter(|(f, t)| *f >= 0.0 && f < t) else {
                return Err(Error::input(
                    "--window-ms",
                    w,
                    "must be FROM:TO in ms with 0 <= FROM < TO",
                    "e.g. 2100:2250",
                )
                .into());
            };
            let (from, to) = (
                (from / net.dt_ms).round() as u64,
                ((to / net.dt_ms).round() as u64).min(steps),
            );
            Loss::CrossEntropy { class, from, to }
        }
        (None, None) => {
            return Err(Error::input("--targets", "missing", "give --targets FILE.npy (regression) or --class K --window-ms A:B (classification)", "").into());
        }
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
    sim.clamp(input_pop, &binned)?;
    if a.rule.rule.is_empty() && cfg.rules.is_empty() {
        return Err(Error::input(
            "--rule",
            "missing",
            "`grad` needs a learning rule",
            "e.g. --rule eprop, or a [[rule]] table in the network description",
        )
        .into());
    }
    super::rule::attach(&a.rule, &mut sim, steps, &cfg.rules, file)?;
    sim.set_teacher(Some(Teacher::new(readout, n_out, loss, 1)))?;
    sim.run_sequence(steps, None)?;
    sim.end_batch_of_one(steps)?;

    let net = sim.network();
    let mut out: BTreeMap<String, Out> = weights::arrays(net, &biases, "weights/");
    // with several rules, a projection's gradient is that of the rule learning it (else the
    // first rule's that has one); a readout's bias gradient the first rule's that has one
    let n_rules = sim.rules().len();
    for (j, p) in net.projections.iter().enumerate() {
        let owner = sim.rules().position(|r| r.plastic()[j]);
        let grad = owner
            .into_iter()
            .chain(0..n_rules)
            .map(|k| &sim.rule_grads(k)[j])
            .find(|g| !g.is_empty());
        if let Some(g) = grad {
            out.insert(
                format!("grad/{}/data", p.name),
                Out::F32(vec![p.len() as u64], g.clone()),
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
    let loss_value = sim.teacher().map_or(0.0, |t| t.value);
    out.insert("loss".into(), Out::F64(vec![], vec![loss_value]));
    out.insert(
        "errors".into(),
        Out::F32(vec![steps, n_out as u64], sim.errors().to_vec()),
    );
    npz::write(&a.out, &out)?;
    println!("loss {loss_value:.6}; wrote {}", a.out.display());
    Ok(())
}

/// A float .npy (f32 or f64) meant to have `shape`, as (its shape, row-major f32 values;
/// Fortran-order files are transposed on read). A file too big for `shape` is refused unread.
fn read_targets(path: &std::path::Path, shape: [u64; 2]) -> Result<(Vec<u64>, Vec<f32>)> {
    Ok(npy::read_floats(
        path,
        "--targets",
        shape[0].saturating_mul(shape[1]),
        "save a float32 array of shape [steps, n_out] with numpy.save",
    )?)
}
