//! `eligo grad`: one batch of a network with a learning rule — one sequence (`--input`) or a
//! whole batch (`--batch-inputs`, computed as a training iteration computes it); every
//! gradient, the spikes and the loss go to an `.npz` — the way to check any rule against your
//! own code (docs/grad.md).

use std::path::PathBuf;

use anyhow::Result;
use eligo_engine::io::npz;
use eligo_engine::io::weights;
use eligo_engine::train::grad;

use super::grad_batch::{self, Target};

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
    /// Network description (TOML, or a NIR file `.nir`: docs/nir.md); its duration is the sequence length.
    pub config: PathBuf,
    /// Time step (ms) of a NIR description (.nir); default 1 ms.
    #[arg(long)]
    pub dt_ms: Option<f64>,
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
    let cfg = super::load_description(&a.config, a.dt_ms)?;
    let file = &a.config;
    let mut net = cfg.network.build().map_err(|e| e.in_file(file))?;
    let steps = cfg.steps;
    let mut biases = weights::default_biases(&net);
    if let Some(w) = &a.weights {
        weights::load(w, &mut net, &mut biases)?;
    }
    let readout = grad::readout(&net, Some(file))?;
    let n_out = net.populations[readout].size as usize;
    let input_pop = grad::input_population(&net, a.input_population.as_deref(), Some(file))?;
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
        .map(|e| {
            let events = grad::read_events(&e.input, field)?;
            grad::bin_input(&events, Some(&e.input), &net, input_pop, steps)
        })
        .collect::<eligo_engine::Result<Vec<_>>>()?;
    let window = a
        .window_ms
        .as_deref()
        .map(|w| grad::parse_window(w, net.dt_ms, steps))
        .transpose()?;
    let shared = match (&a.targets, a.class) {
        (Some(t), _) => Some(Target::Targets(t.clone())),
        (None, Some(c)) => Some(Target::Class(c)),
        (None, None) => None,
    };
    let losses = entries
        .iter()
        .map(|e| {
            let t = match e.target.as_ref().or(shared.as_ref()) {
                Some(Target::Targets(p)) => Some(grad::read_targets(p, steps, n_out)?),
                Some(&Target::Class(c)) => Some(grad::Target::Class(c)),
                None => None,
            };
            grad::loss(t.as_ref(), window, steps, n_out)
        })
        .collect::<eligo_engine::Result<Vec<_>>>()?;
    let req = a.rule.request(steps)?;
    let mut chosen = grad::choose_rules(&req, &cfg.rules, Some(file))?;
    if let Some(b) = &a.feedback_matrix {
        grad::use_feedback_matrix(b, &net, readout, &mut chosen)?;
    }
    let threads = match a.input {
        Some(_) => 1,
        None => super::threads::resolve(a.threads, false)?,
    };
    let g = grad::run(
        grad::Run {
            spec: &cfg.network,
            net,
            biases,
            steps,
            input: input_pop,
            readout,
            req: &req,
            chosen,
            batch: a.input.is_none(),
            threads,
        },
        inputs.into_iter().zip(losses).collect(),
    )?;
    npz::write(&a.out, &g.arrays)?;
    println!(
        "loss {:.6} over {} sequence{}; wrote {}",
        g.loss,
        entries.len(),
        if entries.len() == 1 { "" } else { "s" },
        a.out.display()
    );
    Ok(())
}
