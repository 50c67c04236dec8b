//! `eligo grad --batch-inputs`: the input list (a folder or a manifest) and the batch run, which
//! is the training run's own: the sequences become the samples of a task and the trainer's
//! lanes compute the batch ([`Trainer::batch_gradients`]), so the gradients are those of a
//! training iteration over the same samples, bit for bit.

use std::path::{Path, PathBuf};

use anyhow::Result;
use eligo_engine::network::{Network, NetworkSpec};
use eligo_engine::optim::{Loss, Method};
use eligo_engine::prelude::*;
use eligo_engine::task::{Defaults, Kind, Sample, Split, Task};
use eligo_engine::train::{BatchGradients, TrainConfig, TrainRule, Trainer};

/// Most sequences in one `--batch-inputs` (all are read before the run).
pub const MAX_SEQUENCES: usize = 65_536;

/// The target a manifest line gives its sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A class (classification over `--window-ms`).
    Class(usize),
    /// A `[steps, n_out]` float `.npy` (regression).
    Targets(PathBuf),
}

/// One sequence of the batch: its input event file and, from a manifest, its own target.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Eligo event `.npy`.
    pub input: PathBuf,
    /// The manifest's target for it (else `--targets`/`--class`).
    pub target: Option<Target>,
}

/// The sequences `path` lists: a folder's `.npy` files in file-name order, or a manifest's
/// lines (`INPUT[,TARGET]`, see `eligo grad --help`).
pub fn entries(path: &Path) -> Result<Vec<Entry>> {
    let bad = |msg: String, hint: &str| Error::input("--batch-inputs", path.display(), msg, hint);
    let meta = std::fs::metadata(path).map_err(|e| {
        bad(
            format!("cannot read it: {e}"),
            "give a folder of input .npy files or a manifest listing them",
        )
    })?;
    let list = if meta.is_dir() {
        folder(path).map_err(|e| bad(format!("cannot list the folder: {e}"), ""))?
    } else {
        manifest(path)?
    };
    if list.is_empty() {
        return Err(bad(
            match meta.is_dir() {
                true => "the folder holds no .npy file".into(),
                false => "the manifest lists no sequence".into(),
            },
            "a batch needs at least one input event file (.npy)",
        )
        .into());
    }
    if list.len() > MAX_SEQUENCES {
        return Err(bad(
            format!("lists {} sequences, at most {MAX_SEQUENCES}", list.len()),
            "split the batch",
        )
        .into());
    }
    Ok(list)
}

/// Every `.npy` file of `dir`, sorted by file name.
fn folder(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_file() && p.extension().is_some_and(|x| x == "npy") {
            files.push(p);
        }
        if files.len() > MAX_SEQUENCES {
            break;
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files
        .into_iter()
        .map(|input| Entry {
            input,
            target: None,
        })
        .collect())
}

/// A manifest: one sequence per line, `INPUT` or `INPUT,TARGET` (a class number or a targets
/// `.npy`), paths relative to the manifest's folder; blank lines and `#` comments skipped, and
/// a first line whose first field is `file` (a CSV header).
fn manifest(path: &Path) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            "--batch-inputs",
            path.display(),
            format!("cannot read the manifest: {e}"),
            "one input .npy per line, optionally followed by ,CLASS or ,TARGETS.npy",
        )
    })?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split(',').map(str::trim);
        let input = fields.next().unwrap_or("");
        if n == 0 && input == "file" {
            continue;
        }
        let target = fields.next().filter(|t| !t.is_empty());
        if fields.next().is_some() || input.is_empty() {
            return Err(Error::input(
                format!("line {}", n + 1),
                line,
                "must be INPUT or INPUT,TARGET (TARGET a class number or a targets .npy)",
                "e.g. seq0.npy,3",
            )
            .in_file(path)
            .into());
        }
        let target = target.map(|t| match t.parse::<usize>() {
            Ok(c) => Target::Class(c),
            Err(_) => Target::Targets(dir.join(t)),
        });
        out.push(Entry {
            input: dir.join(input),
            target,
        });
        if out.len() > MAX_SEQUENCES {
            break;
        }
    }
    Ok(out)
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
    fn sample(&self, split: Split, index: u64) -> eligo_engine::Result<Sample> {
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
pub struct Batch<'a> {
    /// The network description's network (the trainer draws it again: same structure).
    pub spec: &'a NetworkSpec,
    /// Its weights and biases as `grad` uses them (`--weights`, else as drawn).
    pub net: &'a Network,
    /// Per population, the biases (the readout's used).
    pub biases: &'a [Vec<f32>],
    /// Steps per sequence.
    pub steps: u64,
    /// Input population.
    pub input: usize,
    /// Readout population.
    pub readout: usize,
    /// Modulator channels (`--modulator`): name and series, the same for every sequence.
    pub modulators: Vec<(String, Vec<f32>)>,
    /// Worker threads.
    pub threads: usize,
}

/// The gradients of `rules` over the batch `samples` (training samples `0..B` of a task), as
/// the first iteration of a training run over them computes them.
pub fn gradients(b: Batch, samples: Vec<Sample>, rules: &[TrainRule]) -> Result<BatchGradients> {
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
        // a task names its channels with static strings; the process ends after the run
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
    Ok(trainer.batch_gradients(&jobs)?)
}

/// The trainer holds a copy of the network per lane (`min(B, 16)`), per evaluation thread
/// (`min(threads, 16)`) and its master copy: refuse a batch whose copies would not fit in the
/// memory the network's own check allows (`ELIGO_MEMORY_LIMIT`, docs/limits.md).
fn check_memory(spec: &NetworkSpec, n: usize, threads: usize) -> Result<()> {
    let Some((limit, source)) = eligo_engine::limits::memory_limit()? else {
        return Ok(());
    };
    let copies = (n.min(16) + threads.min(16) + 1) as u64;
    let one = spec.estimate(1)?.total_bytes;
    let all = one.saturating_mul(copies);
    if all <= limit {
        return Ok(());
    }
    let human = eligo_engine::limits::human_bytes;
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
    )
    .into())
}
