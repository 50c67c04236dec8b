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
//!   trainer's lanes compute the batch ([`crate::train::Trainer::batch_gradients`]), so the
//!   gradients are those of a training iteration over the same samples, bit for bit; the
//!   per-sequence losses go to `sequence_losses`.
//!
//! Error messages name the command line's flags (`--targets`, `--class`, `--window-ms`,
//! `--feedback-matrix`); the Python package passes its keyword arguments through the same
//! functions.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::io::npz::Out;
use crate::io::weights;
use crate::network::{Network, NetworkSpec, Projection};
use crate::neuron::ModelSpec;
use crate::optim::{Loss, Teacher};
use crate::sim::{RecordSpec, SimOptions, Simulation};
use crate::task::Sample;

use super::rules::{self, Chosen, RuleRequest};
use super::trainer::TrainRule;

mod batch;
mod inputs;

pub use inputs::{
    MAX_SEQUENCES, Target, bin_input, choose_rules, input_population, loss, parse_window,
    read_events, read_targets, readout, use_feedback_matrix,
};

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
        let batch = batch::Batch {
            spec: r.spec,
            net: &r.net,
            biases: &r.biases,
            steps: r.steps,
            input: r.input,
            readout: r.readout,
            modulators: r.req.modulator.clone(),
            threads: r.threads,
        };
        let g = batch::gradients(batch, samples, &rules)?;
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
