//! `digits` — handwritten digits (UCI "optical recognition of handwritten digits", the 8x8 set
//! scikit-learn ships as `load_digits`), presented row by row as spikes.
//!
//! # Data
//! 1797 images of 8x8 pixels with counts 0..16, labels 0..9, embedded from
//! `data/digits/digits.npz` (made once by `data/digits/make_digits.py`; source, licence
//! CC BY 4.0 and attribution in `data/digits/README.md`: E. Alpaydin, C. Kaynak, UCI Machine
//! Learning Repository). Fixed split in scikit-learn's order: training = samples 0..1297,
//! validation = 1297..1397, test = the last 400 (1397..1797). Training sample `i` is image
//! `perm_e[i mod 1297]` of epoch `e = i div 1297`, a permutation drawn from (task seed, `e`);
//! validation and test sample `i` is image `i mod 100` / `i mod 400` of its slice.
//!
//! # Encoding (74 input neurons)
//! - Rows: row `r` (top to bottom) is shown during steps `[r R, (r + 1) R)`, `R` = 15 ms.
//! - Pixels: 8 columns x 8 intensity levels, thermometer code: input neuron `8 c + k` is active
//!   during its row when the pixel in column `c` has count `> 2 k` (count 16 activates all 8
//!   levels, count 1 one, 0 none). An active neuron fires Poisson with `p = 0.2` per step
//!   (200 Hz), so brighter pixels recruit more neurons and the spikes are fresh noise every
//!   sample (the same for a given (seed, split, index)).
//! - Recall: after the 8 rows, a 30-ms window in which 10 recall neurons (64..74) fire at
//!   `p = 0.1` per step (the evidence task's recall cue); no pixel input.
//! - Sequence `8 R + 30` = 150 steps. Loss `Loss::CrossEntropy` over the recall window, 10
//!   readouts; prediction = argmax of the window-averaged logits.
//!
//! # Network
//! | name | value | meaning |
//! | --- | --- | --- |
//! | `n_rec` | 100 | 50 LIF + 50 ALIF |
//! | `tau_m_ms` | 20 ms | membrane |
//! | `tau_a_ms` | 200 ms | adaptation: a memory of the early rows over the 150-ms sequence |
//! | `v_th` | 0.6 | threshold (as evidence accumulation) |
//! | `beta` | 0.174 | `1.7 (1 - rho) / (1 - alpha)`, the authors' heuristic for `tau_a` 200 ms |
//! | `n_ref` | 2 | refractory steps |
//! | `tau_out_ms` | 20 ms | readout filter, 10 outputs |
//! | weights | `N(0, 1/n_in)`, `N(0, 1/n_rec)`, `N(0, 1/n_rec)` | no self-connections |
//!
//! # Training defaults
//! Adam 5e-3, batch 100 (so that `eligo train`'s validation pass covers the 100 validation
//! images and its final test pass, `4 x batch`, exactly the 400 test images), 300 iterations
//! (about 23 epochs), rate regularization `c_reg` 1 at 10 Hz, random feedback `N(0, 1)`, stop
//! when the validation error is below 5 %.
//!
//! `scale < 1` shortens the rows to `round(15 scale)` steps (at least 2) and the recall window
//! to `round(30 scale)` (at least 3).
//!
//! # References
//! - E. Alpaydin, C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning
//!   Repository (1998), doi:10.24432/C50P49, CC BY 4.0.
//! - scikit-learn `sklearn.datasets.load_digits` (the test half of the UCI set).

use std::io::Read;
use std::sync::OnceLock;

use rand::RngExt;
use rand::seq::SliceRandom;

use super::task_network;
use super::{Defaults, Kind, Sample, Split, Task, TaskOptions, sample_rng};
use crate::error::{Error, Result};
use crate::network::NetworkSpec;
use crate::neuron::{AlifParams, ModelSpec};
use crate::train::{Loss, Method};

/// The embedded data set (`data/digits/digits.npz`).
static NPZ: &[u8] = include_bytes!("../../../data/digits/digits.npz");

/// Images in the set.
pub const N_IMAGES: usize = 1797;
/// Training images (the first ones).
pub const N_TRAIN: usize = 1297;
/// Validation images (after the training images).
pub const N_VALIDATION: usize = 100;
/// Test images (the last ones).
pub const N_TEST: usize = 400;
/// Pixel input neurons (8 columns x 8 levels).
pub const N_PIXEL_IN: u32 = 64;
/// Recall-cue input neurons.
pub const N_RECALL_IN: u32 = 10;
/// Spike probability of an active pixel neuron per step.
pub const P_PIXEL: f64 = 0.2;
/// Spike probability of a recall neuron per step.
pub const P_RECALL: f64 = 0.1;

/// The data set: images (`N_IMAGES x 64` counts 0..16, row-major) and labels.
#[derive(Debug)]
pub struct DigitData {
    /// Pixel counts, image-major.
    pub images: Vec<u8>,
    /// Labels 0..9.
    pub labels: Vec<u8>,
}

fn parse(bytes: &[u8]) -> Result<DigitData> {
    let bad = |what: String| {
        Error::input(
            "digits.npz",
            "(embedded)",
            format!("the embedded digit set is unreadable: {what}"),
            "re-create it with data/digits/make_digits.py and rebuild",
        )
    };
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(e.to_string()))?;
    let mut get = |name: &str, len: usize| -> Result<Vec<u8>> {
        let mut entry = zip
            .by_name(&format!("{name}.npy"))
            .map_err(|e| bad(format!("{name}: {e}")))?;
        let mut buf = Vec::new();
        entry
            .read_to_end(&mut buf)
            .map_err(|e| bad(format!("{name}: {e}")))?;
        let npy = npyz::NpyFile::new(&buf[..]).map_err(|e| bad(format!("{name}: {e}")))?;
        let v = npy
            .into_vec::<u8>()
            .map_err(|e| bad(format!("{name}: {e}")))?;
        if v.len() != len {
            return Err(bad(format!(
                "{name} has {} values, expected {len}",
                v.len()
            )));
        }
        Ok(v)
    };
    let images = get("images", N_IMAGES * 64)?;
    let labels = get("labels", N_IMAGES)?;
    if images.iter().any(|&p| p > 16) || labels.iter().any(|&l| l > 9) {
        return Err(bad("pixel counts must be 0..16 and labels 0..9".into()));
    }
    Ok(DigitData { images, labels })
}

/// The embedded data set, parsed once.
pub fn data() -> Result<&'static DigitData> {
    static DATA: OnceLock<std::result::Result<DigitData, String>> = OnceLock::new();
    DATA.get_or_init(|| parse(NPZ).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::input("--task", "digits", e.clone(), ""))
}

/// The digits task.
#[derive(Debug, Clone)]
pub struct Digits {
    seed: u64,
    row_ms: u64,
    recall_ms: u64,
    data: &'static DigitData,
}

impl Digits {
    /// The task (fails only if the embedded data set is corrupt).
    pub fn new(opts: &TaskOptions) -> Result<Self> {
        let s = opts.scale.clamp(0.0, 1.0);
        Ok(Digits {
            seed: opts.seed,
            row_ms: ((15.0 * s).round() as u64).max(2),
            recall_ms: ((30.0 * s).round() as u64).max(3),
            data: data()?,
        })
    }

    /// The image index (into the whole set) of sample `index` of `split`.
    pub fn image_index(&self, split: Split, index: u64) -> usize {
        match split {
            Split::Train => {
                let (epoch, pos) = (index / N_TRAIN as u64, (index % N_TRAIN as u64) as usize);
                let mut perm: Vec<usize> = (0..N_TRAIN).collect();
                perm.shuffle(&mut sample_rng(
                    self.seed ^ 0xD161_7500,
                    Split::Train,
                    epoch,
                ));
                perm[pos]
            }
            Split::Validation => N_TRAIN + (index % N_VALIDATION as u64) as usize,
            Split::Test => N_IMAGES - N_TEST + (index % N_TEST as u64) as usize,
        }
    }
}

impl Task for Digits {
    fn name(&self) -> &'static str {
        "digits"
    }

    fn kind(&self) -> Kind {
        Kind::Classification
    }

    fn steps(&self) -> u64 {
        8 * self.row_ms + self.recall_ms
    }

    fn network(&self, seed: u64) -> NetworkSpec {
        let alpha = (-1.0f64 / 20.0).exp();
        let rho = (-1.0f64 / 200.0).exp();
        task_network(
            seed,
            N_PIXEL_IN + N_RECALL_IN,
            (
                100,
                ModelSpec::Alif(AlifParams {
                    tau_m_ms: 20.0,
                    tau_a_ms: 200.0,
                    v_th: 0.6,
                    beta: 1.7 * (1.0 - rho) / (1.0 - alpha),
                    n_lif: 50,
                    n_ref: 2,
                    gamma_pd: 0.3,
                }),
            ),
            (10, 20.0),
            1.0,
        )
    }

    fn sample(&self, split: Split, index: u64) -> Sample {
        let img = self.image_index(split, index);
        let pixels = &self.data.images[64 * img..64 * img + 64];
        let label = usize::from(self.data.labels[img]);
        let mut rng = sample_rng(self.seed, split, index);
        let mut input = Vec::new();
        for r in 0..8u64 {
            for t in r * self.row_ms..(r + 1) * self.row_ms {
                for c in 0..8u32 {
                    let count = u32::from(pixels[(8 * r) as usize + c as usize]);
                    for k in 0..8u32 {
                        if count > 2 * k && rng.random_bool(P_PIXEL) {
                            input.push((t, 8 * c + k));
                        }
                    }
                }
            }
        }
        let from = 8 * self.row_ms;
        for t in from..self.steps() {
            for i in 0..N_RECALL_IN {
                if rng.random_bool(P_RECALL) {
                    input.push((t, N_PIXEL_IN + i));
                }
            }
        }
        Sample {
            input,
            loss: Loss::CrossEntropy {
                class: label,
                from,
                to: self.steps(),
            },
            label: Some(label),
        }
    }

    fn defaults(&self) -> Defaults {
        Defaults {
            method: Method::adam(),
            lr: 5e-3,
            batch: 100,
            iterations: 300,
            c_reg: 1.0,
            f_target_hz: 10.0,
            stop_below_error: Some(0.05),
            eval_every: 10,
            random_feedback_scale: 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Digits {
        Digits::new(&TaskOptions {
            seed: 2,
            scale: 1.0,
        })
        .unwrap()
    }

    #[test]
    fn data_set_and_split() {
        let d = data().unwrap();
        assert_eq!((d.images.len(), d.labels.len()), (N_IMAGES * 64, N_IMAGES));
        // scikit-learn's first image is a 0, its last an 8
        assert_eq!((d.labels[0], d.labels[N_IMAGES - 1]), (0, 8));
        let t = task();
        // every training image once per epoch; validation and test are fixed slices
        let mut seen: Vec<usize> = (0..N_TRAIN as u64)
            .map(|i| t.image_index(Split::Train, i))
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..N_TRAIN).collect::<Vec<_>>());
        assert_ne!(
            t.image_index(Split::Train, 0),
            t.image_index(Split::Train, N_TRAIN as u64)
        );
        assert_eq!(t.image_index(Split::Validation, 0), N_TRAIN);
        assert_eq!(t.image_index(Split::Test, 0), N_IMAGES - N_TEST);
        assert_eq!(t.image_index(Split::Test, 399), N_IMAGES - 1);
        // test labels are balanced: 10 classes of 400, each within 4 standard errors of 40
        let mut counts = [0usize; 10];
        for i in 0..N_TEST as u64 {
            counts[t.sample(Split::Test, i).label.unwrap()] += 1;
        }
        let se = (400.0f64 * 0.1 * 0.9).sqrt();
        assert!(
            counts.iter().all(|&c| (c as f64 - 40.0).abs() < 4.0 * se),
            "{counts:?}"
        );
    }

    #[test]
    fn row_by_row_encoding() {
        let t = task();
        assert_eq!(t.steps(), 150);
        let (mut active_steps, mut spikes, mut recall) = (0u64, 0u64, 0u64);
        for i in 0..50 {
            let s = t.sample(Split::Train, i);
            let img = t.image_index(Split::Train, i);
            let px = &t.data.images[64 * img..64 * img + 64];
            for &(step, n) in &s.input {
                if n >= N_PIXEL_IN {
                    assert!(step >= 120, "recall cue at {step}");
                    recall += 1;
                    continue;
                }
                let (row, c, k) = (step / 15, n / 8, n % 8);
                assert!(row < 8);
                assert!(u32::from(px[(8 * row) as usize + c as usize]) > 2 * k);
                spikes += 1;
            }
            // active (neuron, step) pairs: levels per pixel x 15 steps
            active_steps += px.iter().map(|&p| u64::from(p).div_ceil(2)).sum::<u64>() * 15;
            let Loss::CrossEntropy { from, to, .. } = s.loss else {
                panic!("cross-entropy")
            };
            assert_eq!((from, to), (120, 150));
        }
        let want = active_steps as f64 * P_PIXEL;
        let sd = (active_steps as f64 * P_PIXEL * (1.0 - P_PIXEL)).sqrt();
        assert!(
            (spikes as f64 - want).abs() < 4.0 * sd,
            "{spikes} vs {want}"
        );
        let want = 50.0 * 10.0 * 30.0 * P_RECALL;
        assert!((recall as f64 - want).abs() < 4.0 * want.sqrt(), "{recall}");
        assert_eq!(t.sample(Split::Train, 7), t.sample(Split::Train, 7));
        assert_ne!(t.sample(Split::Train, 7), t.sample(Split::Validation, 7));
    }
}
