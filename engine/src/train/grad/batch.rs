//! A `grad` batch (`--batch-inputs`) as the training run computes it: the sequences become
//! the training samples of a task and the trainer's lanes compute the batch
//! ([`Trainer::batch_gradients`]), so the gradients are those of a training iteration over
//! the same samples, bit for bit.

use crate::error::{Error, Result};
use crate::network::{Network, NetworkSpec};
use crate::optim::{Loss, Method};
use crate::task::{Defaults, Kind, Sample, Split, Task};

use super::super::trainer::{BatchGradients, TrainConfig, TrainRule, Trainer};

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
pub(super) struct Batch<'a> {
    pub(super) spec: &'a NetworkSpec,
    pub(super) net: &'a Network,
    pub(super) biases: &'a [Vec<f32>],
    pub(super) steps: u64,
    pub(super) input: usize,
    pub(super) readout: usize,
    /// Modulator channels: name and series, the same for every sequence.
    pub(super) modulators: Vec<(String, Vec<f32>)>,
    pub(super) threads: usize,
}

/// The gradients of `rules` over the batch `samples` (training samples `0..B` of a task), as
/// the first iteration of a training run over them computes them.
pub(super) fn gradients(
    b: Batch,
    samples: Vec<Sample>,
    rules: &[TrainRule],
) -> Result<BatchGradients> {
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
