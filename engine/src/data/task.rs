//! A data set as a [`Task`]: the user's network, the data set's samples, the data config's
//! loss, so the training run trains on it exactly as on a built-in task.
//!
//! Sample `i` of the training split is sample `perm_e(i mod N)` of the data set's training
//! samples (`N` of them), `e = i / N` the epoch and `perm_e` a Fisher-Yates shuffle drawn from
//! `splitmix64(seed, epoch)`: every epoch visits every training sample once, in an order that
//! depends only on the seed and the epoch. Validation and test samples are read in the data
//! set's order. Every sequence has the run's length (see [`super::config`]); input spikes on a
//! channel beyond the input population, a label beyond the readout and a target series of
//! another width are errors naming the sample.

use std::sync::{Arc, Mutex};

use super::config::{DataConfig, LossKind};
use super::prefetch::Prefetch;
use super::{Dataset, Record};
use crate::error::{Error, Result};
use crate::network::NetworkSpec;
use crate::neuron::ModelSpec;
use crate::optim::{Loss, Method};
use crate::rng::splitmix64;
use crate::task::{Defaults, Kind, Sample, Split, Task};

/// Training samples whose length decides the default sequence length.
const LENGTH_PROBE: u64 = 256;

/// A data set with a network and a loss.
pub struct DataTask {
    net: NetworkSpec,
    data: Arc<dyn Dataset>,
    input: String,
    readout: Option<String>,
    /// Input population size.
    n_in: u32,
    /// Readout size.
    n_out: usize,
    /// Recurrent (LIF and ALIF) neurons.
    n_rec: u32,
    kind: Kind,
    steps: u64,
    /// Decision window of the cross-entropy, steps `[from, to)`.
    window: (u64, u64),
    /// The epochs' shuffles of the training samples.
    shuffle: Arc<Shuffle>,
    prefetch: Option<Prefetch>,
}

/// Shuffle of epoch `epoch` of `n` training samples.
fn permutation(seed: u64, epoch: u64, n: u64) -> Vec<u64> {
    let mut p: Vec<u64> = (0..n).collect();
    let stream = splitmix64(seed ^ 0x5348_5546_464c_4521).wrapping_add(epoch);
    for k in (1..n).rev() {
        // an unbiased draw in [0, k]: the high bits of a 128-bit product
        let r = splitmix64(stream.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ k);
        let j = ((u128::from(r) * u128::from(k + 1)) >> 64) as u64;
        p.swap(k as usize, j as usize);
    }
    p
}

/// The epochs' shuffles of `n` training samples, the newest two kept (the lanes of a batch that
/// spans two epochs ask for both; the read-ahead thread may be an epoch ahead).
struct Shuffle {
    seed: u64,
    n: u64,
    perms: Mutex<Vec<(u64, Arc<Vec<u64>>)>>,
}

impl Shuffle {
    /// The training sample at training index `i`.
    fn index(&self, i: u64) -> u64 {
        let epoch = i / self.n;
        let mut g = self.perms.lock().unwrap_or_else(|p| p.into_inner());
        let perm = match g.iter().find(|(e, _)| *e == epoch) {
            Some((_, p)) => Arc::clone(p),
            None => {
                let p = Arc::new(permutation(self.seed, epoch, self.n));
                if g.len() >= 2 {
                    g.remove(0);
                }
                g.push((epoch, Arc::clone(&p)));
                p
            }
        };
        perm[(i % self.n) as usize]
    }
}

/// The size of input population `cfg.input`, which must be an external source.
fn input_of(net: &NetworkSpec, cfg: &DataConfig) -> Result<u32> {
    let names: Vec<&str> = net.populations.iter().map(|p| p.name.as_str()).collect();
    let input = net
        .populations
        .iter()
        .find(|p| p.name == cfg.input)
        .ok_or_else(|| {
            Error::input(
                "input",
                &cfg.input,
                format!(
                    "the network has no such population; its populations: {}",
                    names.join(", ")
                ),
                crate::error::did_you_mean(&cfg.input, &names),
            )
        })?;
    if !matches!(input.model, ModelSpec::External) {
        return Err(Error::input(
            "input",
            &cfg.input,
            "the input population must be an external source (model = \"external\")",
            "add an external population of the data set's channel count to the network",
        ));
    }
    Ok(input.size)
}

/// The name and size of the readout trained: `cfg.readout`, or the network's only one.
fn readout_of(net: &NetworkSpec, cfg: &DataConfig) -> Result<(String, usize)> {
    let readouts: Vec<_> = net
        .populations
        .iter()
        .filter(|p| matches!(p.model, ModelSpec::Readout(_)))
        .collect();
    let out = match &cfg.readout {
        Some(name) => readouts.iter().find(|p| &p.name == name).copied(),
        None if readouts.len() == 1 => Some(readouts[0]),
        None => None,
    };
    let out = out.ok_or_else(|| {
        let names: Vec<&str> = readouts.iter().map(|p| p.name.as_str()).collect();
        Error::input(
            "readout",
            cfg.readout.as_deref().unwrap_or(""),
            format!(
                "name one readout population of the network: {}",
                if names.is_empty() {
                    "it has none".into()
                } else {
                    names.join(", ")
                }
            ),
            "readout = \"NAME\" in the data config",
        )
    })?;
    Ok((out.name.clone(), out.size as usize))
}

/// The data set fits the network: its declared channels the input, its classes the readout
/// (else the first sample with a label beyond it is named), and every split has samples.
fn check_fits(data: &dyn Dataset, input: (&str, u32), readout: (&str, usize)) -> Result<()> {
    let ((in_name, n_in), (out_name, n_out)) = (input, readout);
    if let Some(c) = data.channels()
        && c > n_in
    {
        return Err(Error::input(
            "input",
            in_name,
            format!(
                "{} has {c} channels but population '{in_name}' has {n_in} neurons",
                data.describe()
            ),
            format!("make '{in_name}' {c} neurons, or map the channels (pool, map_table)"),
        ));
    }
    if let Some(k) = data.classes()
        && k > n_out
    {
        for split in [Split::Train, Split::Validation, Split::Test] {
            for j in 0..data.len(split) {
                if let Some(l) = data.label_of(split, j)
                    && l >= n_out
                {
                    let name = data
                        .read(split, j)
                        .map_or_else(|_| format!("{} sample {j}", split_name(split)), |r| r.name);
                    return Err(Error::input(
                        "label",
                        l,
                        format!("must be below readout '{out_name}''s {n_out} outputs"),
                        format!("check the label, or make '{out_name}' {k} neurons"),
                    )
                    .in_file(name));
                }
            }
        }
        return Err(Error::input(
            "readout",
            out_name,
            format!(
                "{} has {k} classes but readout '{out_name}' has {n_out} outputs",
                data.describe()
            ),
            format!("make '{out_name}' {k} neurons"),
        ));
    }
    for split in [Split::Train, Split::Validation, Split::Test] {
        if data.len(split) == 0 {
            return Err(Error::input(
                "data",
                data.describe(),
                format!("has no {} samples", split_name(split)),
                "give the data set that split, or a fraction (validation, test) in the data \
                 config",
            ));
        }
    }
    Ok(())
}

/// Classification or regression: the config's loss, else what the first sample carries.
fn kind_of(cfg: &DataConfig, first: &Record) -> Result<Kind> {
    match (cfg.loss, first.label.is_some()) {
        (Some(LossKind::CrossEntropy), true) | (None, true) => Ok(Kind::Classification),
        (Some(LossKind::Mse), _) | (None, false) if first.targets.is_some() => Ok(Kind::Regression),
        (Some(LossKind::CrossEntropy), false) => Err(Error::input(
            "loss",
            "ce",
            format!("{} has no label", first.name),
            "give labels, or use loss = \"mse\" with a target series",
        )),
        _ => Err(Error::input(
            "loss",
            "mse",
            format!("{} has no target series", first.name),
            "give targets, or use loss = \"ce\" with labels",
        )),
    }
}

/// The run's sequence length: `duration_ms`, else the longest of the first training samples.
fn length(cfg: &DataConfig, data: &dyn Dataset, first: &Record, dt: f64) -> Result<u64> {
    let steps = match cfg.duration_ms {
        Some(d) => whole_steps(d, dt, "duration_ms")?,
        None => {
            let mut longest = first.steps;
            for k in 1..data.len(Split::Train).min(LENGTH_PROBE) {
                longest = longest.max(data.read(Split::Train, k)?.steps);
            }
            longest.max(1)
        }
    };
    if steps > crate::limits::MAX_STEPS {
        return Err(Error::input(
            "duration_ms",
            steps,
            format!("at most {} steps", crate::limits::MAX_STEPS),
            "set duration_ms in the data config",
        ));
    }
    Ok(steps)
}

/// The decision window in steps: `window_ms`, else the whole sequence.
fn window_of(cfg: &DataConfig, steps: u64, dt: f64) -> Result<(u64, u64)> {
    let Some((a, b)) = cfg.window_ms else {
        return Ok((0, steps));
    };
    let (from, to) = (
        whole_steps(a, dt, "window_ms")?,
        whole_steps(b, dt, "window_ms")?,
    );
    if to > steps {
        return Err(Error::input(
            "window_ms",
            format!("[{}, {}]", crate::error::num(a), crate::error::num(b)),
            format!(
                "must end within the sequence ({} ms)",
                crate::error::num(steps as f64 * dt)
            ),
            "shorten the window or set duration_ms",
        ));
    }
    Ok((from, to))
}

impl DataTask {
    /// The task of training `net` on `data` as `cfg` says; `seed` seeds the weights and the
    /// shuffles; `batch` sizes the read-ahead window.
    pub fn new(
        net: NetworkSpec,
        data: Box<dyn Dataset>,
        cfg: &DataConfig,
        seed: u64,
        batch: usize,
    ) -> Result<DataTask> {
        let data: Arc<dyn Dataset> = Arc::from(data);
        let n_in = input_of(&net, cfg)?;
        let (out_name, n_out) = readout_of(&net, cfg)?;
        check_fits(data.as_ref(), (&cfg.input, n_in), (&out_name, n_out))?;
        let first = data.read(Split::Train, 0)?;
        let kind = kind_of(cfg, &first)?;
        let steps = length(cfg, data.as_ref(), &first, net.dt_ms)?;
        let window = window_of(cfg, steps, net.dt_ms)?;
        let shuffle = Arc::new(Shuffle {
            seed,
            n: data.len(Split::Train),
            perms: Mutex::new(Vec::new()),
        });
        let prefetch = (cfg.prefetch > 0).then(|| {
            let (d, sh) = (Arc::clone(&data), Arc::clone(&shuffle));
            let read = move |i: u64| d.read(Split::Train, sh.index(i));
            Prefetch::start(Arc::new(read), cfg.prefetch, batch)
        });
        let n_rec = net
            .populations
            .iter()
            .filter(|p| matches!(p.model, ModelSpec::Lif(_) | ModelSpec::Alif(_)))
            .map(|p| p.size)
            .sum();
        Ok(DataTask {
            n_rec,
            net,
            data,
            input: cfg.input.clone(),
            readout: Some(out_name),
            n_in,
            n_out,
            kind,
            steps,
            window,
            shuffle,
            prefetch,
        })
    }

    /// The data set.
    pub fn data(&self) -> &dyn Dataset {
        self.data.as_ref()
    }

    /// Source sample of training index `i` (after the epoch's shuffle).
    fn train_sample(&self, i: u64) -> u64 {
        self.shuffle.index(i)
    }

    /// Turn a record into a sequence of the run's length, checking it against the network.
    fn sample_of(&self, r: Record) -> Result<Sample> {
        let in_file = |e: Error| e.in_file(&r.name);
        if let Some(&(t, c)) = r.input.iter().find(|(_, c)| *c >= self.n_in) {
            return Err(in_file(Error::input(
                "channel",
                c,
                format!(
                    "a spike at step {t} on channel {c}, beyond input population '{}' ({} neurons)",
                    self.input, self.n_in
                ),
                "map the channels (pool, map_table) or enlarge the input population",
            )));
        }
        let steps = self.steps;
        let input: Vec<(u64, u32)> = r
            .input
            .iter()
            .copied()
            .filter(|(t, _)| *t < steps)
            .collect();
        let loss = match self.kind {
            Kind::Classification => {
                let class = r.label.ok_or_else(|| {
                    in_file(Error::input(
                        "label",
                        "",
                        "the sample has no label",
                        "every sample of a classification data set needs one",
                    ))
                })?;
                if class >= self.n_out {
                    return Err(in_file(Error::input(
                        "label",
                        class,
                        format!("must be below the readout's {} outputs", self.n_out),
                        "check the labels, or enlarge the readout",
                    )));
                }
                Loss::CrossEntropy {
                    class,
                    from: self.window.0,
                    to: self.window.1,
                }
            }
            Kind::Regression => {
                let (width, values) = r.targets.as_ref().ok_or_else(|| {
                    in_file(Error::input(
                        "targets",
                        "",
                        "the sample has no target series",
                        "",
                    ))
                })?;
                if *width != self.n_out {
                    return Err(in_file(Error::input(
                        "targets",
                        width,
                        format!(
                            "the target series must have the readout's {} outputs",
                            self.n_out
                        ),
                        "",
                    )));
                }
                let mut targets = vec![0.0f32; steps as usize * width];
                let n = targets.len().min(values.len());
                targets[..n].copy_from_slice(&values[..n]);
                Loss::Mse { targets }
            }
        };
        Ok(Sample {
            input,
            loss,
            label: r.label,
            modulators: Vec::new(),
        })
    }
}

fn split_name(s: Split) -> &'static str {
    match s {
        Split::Train => "training",
        Split::Validation => "validation",
        Split::Test => "test",
    }
}

/// `ms` as a whole number of steps of `dt` ms (the engine's one conversion, refusing times off
/// the grid and runs longer than the step limit), the error naming `field`.
fn whole_steps(ms: f64, dt: f64, field: &str) -> Result<u64> {
    crate::neuron::steps_of(ms, dt).map_err(|e| e.under(field))
}

impl Task for DataTask {
    fn name(&self) -> &'static str {
        "data"
    }
    fn kind(&self) -> Kind {
        self.kind
    }
    fn steps(&self) -> u64 {
        self.steps
    }
    fn network(&self, seed: u64) -> NetworkSpec {
        NetworkSpec {
            seed,
            ..self.net.clone()
        }
    }
    fn sample(&self, split: Split, index: u64) -> Result<Sample> {
        let record = match split {
            Split::Train => match self.prefetch.as_ref().and_then(|p| p.take(index)) {
                Some(r) => r?,
                None => self.data.read(split, self.train_sample(index))?,
            },
            _ => self.data.read(split, index % self.data.len(split))?,
        };
        self.sample_of(record)
    }
    fn defaults(&self) -> Defaults {
        Defaults {
            method: Method::adam(),
            lr: 3e-3,
            batch: 32,
            iterations: 0,
            // the firing-rate regularizer at 10 Hz, and random feedback of the readout's
            // initial scale, 1/sqrt(recurrent neurons)
            rule_params: vec![
                ("c_reg", 5.0),
                ("f_target_hz", 10.0),
                ("random_scale", 1.0 / f64::from(self.n_rec.max(1)).sqrt()),
            ],
            stop_below_error: None,
            eval_every: 1,
        }
    }
    fn validation_sequences(&self, _batch: usize) -> usize {
        self.data.len(Split::Validation) as usize
    }
    fn test_sequences(&self, _batch: usize) -> usize {
        self.data.len(Split::Test) as usize
    }
    fn input_population(&self) -> &str {
        &self.input
    }
    fn readout_population(&self) -> Option<&str> {
        self.readout.as_deref()
    }
    fn epoch_iterations(&self, batch: usize) -> Option<u64> {
        Some(self.data.len(Split::Train).div_ceil(batch.max(1) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_epoch_is_a_permutation_and_epochs_differ() {
        for n in [1u64, 2, 7, 100] {
            let a = permutation(3, 0, n);
            let mut s = a.clone();
            s.sort_unstable();
            assert_eq!(s, (0..n).collect::<Vec<_>>());
            if n >= 7 {
                assert_ne!(a, permutation(3, 1, n));
                assert_ne!(a, permutation(4, 0, n));
            }
            assert_eq!(a, permutation(3, 0, n));
        }
    }

    /// `n` samples per split; sample `k` of split `s` spikes on channel `k % 3` at step `k`
    /// and is labelled `k % 2`; training sample 5 spikes on channel `bad_channel`.
    struct Mem {
        n: u64,
        bad_channel: u32,
        label_offset: usize,
    }

    impl Dataset for Mem {
        fn describe(&self) -> String {
            "memory".into()
        }
        fn len(&self, _split: Split) -> u64 {
            self.n
        }
        fn channels(&self) -> Option<u32> {
            None
        }
        fn classes(&self) -> Option<usize> {
            None
        }
        fn read(&self, split: Split, k: u64) -> Result<Record> {
            let c = if split == Split::Train && k == 5 {
                self.bad_channel
            } else {
                (k % 3) as u32
            };
            Ok(Record {
                name: format!("{split:?} {k}"),
                input: vec![(k, c), (k + 100, 0)],
                steps: k + 1,
                label: Some(k as usize % 2 + self.label_offset),
                targets: None,
            })
        }
    }

    fn net() -> NetworkSpec {
        crate::task::task_network(
            1,
            3,
            (4, ModelSpec::Lif(Default::default())),
            (2, 20.0),
            1.0,
        )
    }

    fn task(mem: Mem, cfg: &DataConfig) -> Result<DataTask> {
        DataTask::new(net(), Box::new(mem), cfg, 7, 4)
    }

    #[test]
    fn epochs_visit_every_sample_once_and_sequences_are_cropped() {
        let mem = || Mem {
            n: 10,
            bad_channel: 0,
            label_offset: 0,
        };
        let cfg = DataConfig {
            duration_ms: Some(20.0),
            ..DataConfig::default()
        };
        for prefetch in [0, 4] {
            let t = task(
                mem(),
                &DataConfig {
                    prefetch,
                    ..cfg.clone()
                },
            )
            .unwrap();
            assert_eq!(t.steps(), 20);
            assert_eq!(t.epoch_iterations(4), Some(3));
            let mut seen: Vec<Vec<u64>> = vec![Vec::new(); 3];
            for i in 0..30 {
                let s = t.sample(Split::Train, i).unwrap();
                // the step-100 spike lies beyond the 20 steps
                assert_eq!(s.input.len(), 1);
                let k = s.input[0].0;
                assert_eq!(s.label, Some(k as usize % 2));
                seen[(i / 10) as usize].push(k);
            }
            for e in &seen {
                let mut e = e.clone();
                e.sort_unstable();
                assert_eq!(e, (0..10).collect::<Vec<_>>());
            }
            assert_ne!(seen[0], seen[1]);
        }
        // the default length: the longest training sample
        let t = task(mem(), &DataConfig::default()).unwrap();
        assert_eq!(t.steps(), 10);
    }

    #[test]
    fn bad_samples_name_the_sample() {
        let cfg = DataConfig {
            prefetch: 0,
            ..DataConfig::default()
        };
        let t = task(
            Mem {
                n: 10,
                bad_channel: 3,
                label_offset: 0,
            },
            &cfg,
        )
        .unwrap();
        let hit = (0..10).find(|&i| t.train_sample(i) == 5).unwrap();
        let e = t.sample(Split::Train, hit).unwrap_err().to_string();
        assert!(e.contains("Train 5") && e.contains("channel 3"), "{e}");
        let e = task(
            Mem {
                n: 10,
                bad_channel: 0,
                label_offset: 1,
            },
            &cfg,
        )
        .unwrap()
        .sample(Split::Test, 1)
        .unwrap_err()
        .to_string();
        assert!(e.contains("Test 1") && e.contains("label"), "{e}");
        let e = task(
            Mem {
                n: 10,
                bad_channel: 0,
                label_offset: 0,
            },
            &DataConfig {
                input: "rec".into(),
                ..cfg.clone()
            },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("external"), "{e}");
    }

    #[test]
    fn steps_must_be_whole() {
        assert_eq!(whole_steps(100.0, 1.0, "d").unwrap(), 100);
        assert_eq!(whole_steps(0.3, 0.1, "d").unwrap(), 3);
        assert!(whole_steps(2.5, 1.0, "d").is_err());
    }
}
