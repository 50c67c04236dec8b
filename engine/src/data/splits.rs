//! Train, validation and test splits of a source, and the data set made of both.
//!
//! The rule ([`Splits::assign`]):
//! 1. a sample the data set assigns to a split stays there;
//! 2. of the samples it assigns to none, a fraction `test` goes to test, a fraction `validation`
//!    to validation, the rest to train;
//! 3. if the data set assigns no sample to validation, a fraction `validation` of its own train
//!    samples goes to validation (SHD and N-MNIST come as train and test only).
//!
//! Which samples move is decided by a seeded key per sample, `splitmix64(splitmix64(seed ^ K) ^
//! i)` (`K` a fixed constant, `i` the sample's index): the samples of a group sorted by key, the
//! first `round(fraction × group size)` move. The assignment is a function of the seed, the
//! sample indices and the data set's own splits only — two readers listing the same samples in
//! the same order assign them alike.

use super::{DataSpec, Dataset, Record, Source, SplitRule, Splits};
use crate::error::{Error, Result};
use crate::rng::splitmix64;
use crate::task::Split;

/// Mixed into the split seed so that the split keys differ from other draws of the same seed.
const SPLIT_STREAM: u64 = 0x5350_4c49_5453_0001;

fn check_fraction(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && (0.0..1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::input(
            field,
            crate::error::num(v),
            "a fraction of the samples, at least 0 and below 1",
            "e.g. 0.1",
        ))
    }
}

impl Splits {
    /// Assign the samples of `source` to splits by `rule` (see the module docs).
    pub fn assign(source: &dyn Source, rule: &SplitRule) -> Result<Splits> {
        check_fraction("validation", rule.validation)?;
        check_fraction("test", rule.test)?;
        if rule.validation + rule.test >= 1.0 {
            return Err(Error::input(
                "validation + test",
                crate::error::num(rule.validation + rule.test),
                "the held-out fractions must leave samples for training: their sum must be \
                 below 1",
                "e.g. validation = 0.1, test = 0.1",
            ));
        }
        let n = source.len();
        let mut index: [Vec<u64>; 3] = Default::default();
        let mut unassigned = Vec::new();
        let mut own_train = Vec::new();
        for i in 0..n {
            match source.split_of(i) {
                None => unassigned.push(i),
                Some(Split::Train) => own_train.push(i),
                Some(s) => index[s as usize].push(i),
            }
        }
        let own_validation = !index[Split::Validation as usize].is_empty();
        let seed = splitmix64(rule.seed ^ SPLIT_STREAM);
        let by_key = |v: &mut Vec<u64>| v.sort_by_key(|&i| (splitmix64(seed ^ i), i));
        let count = |f: f64, len: usize| ((f * len as f64).round() as usize).min(len);

        by_key(&mut unassigned);
        let n_test = count(rule.test, unassigned.len());
        let n_val = count(rule.validation, unassigned.len()).min(unassigned.len() - n_test);
        index[Split::Test as usize].extend_from_slice(&unassigned[..n_test]);
        index[Split::Validation as usize].extend_from_slice(&unassigned[n_test..n_test + n_val]);
        index[Split::Train as usize].extend_from_slice(&unassigned[n_test + n_val..]);

        if own_validation {
            index[Split::Train as usize].extend_from_slice(&own_train);
        } else {
            by_key(&mut own_train);
            let k = count(rule.validation, own_train.len());
            index[Split::Validation as usize].extend_from_slice(&own_train[..k]);
            index[Split::Train as usize].extend_from_slice(&own_train[k..]);
        }
        for v in &mut index {
            v.sort_unstable();
        }
        if index[Split::Train as usize].is_empty() {
            return Err(Error::input(
                "--data",
                source.describe(),
                format!(
                    "no sample is left for training ({} validation, {} test)",
                    index[1].len(),
                    index[2].len()
                ),
                "lower the validation and test fractions, or mark samples as train",
            ));
        }
        Ok(Splits { index })
    }

    /// Number of samples of `split`.
    pub fn len(&self, split: Split) -> u64 {
        self.index[split as usize].len() as u64
    }
}

/// Refuse a label at or past `classes` (a declared class count), naming the sample; uses the
/// labels the reader holds ([`Source::label_of`]), reading no recording.
pub fn check_classes(source: &dyn Source, classes: usize) -> Result<()> {
    for i in 0..source.len() {
        if let Some(l) = source.label_of(i)
            && l >= classes
        {
            return Err(Error::input(
                format!("sample {i}"),
                format!("label {l}"),
                format!(
                    "the data set {} has {classes} classes: labels 0..{}",
                    source.describe(),
                    classes.saturating_sub(1)
                ),
                "fix the label, or declare more classes (one readout per class)",
            ));
        }
    }
    Ok(())
}

/// A source with its samples assigned to splits.
pub struct SplitDataset {
    source: Box<dyn Source>,
    splits: Splits,
}

impl SplitDataset {
    /// Assign `source`'s samples by `rule`.
    pub fn new(source: Box<dyn Source>, rule: &SplitRule) -> Result<Self> {
        let splits = Splits::assign(source.as_ref(), rule)?;
        Ok(SplitDataset { source, splits })
    }

    /// The assignment.
    pub fn splits(&self) -> &Splits {
        &self.splits
    }

    /// The source.
    pub fn source(&self) -> &dyn Source {
        self.source.as_ref()
    }
}

impl Dataset for SplitDataset {
    fn describe(&self) -> String {
        format!(
            "{}: {} train, {} validation, {} test",
            self.source.describe(),
            self.splits.len(Split::Train),
            self.splits.len(Split::Validation),
            self.splits.len(Split::Test)
        )
    }
    fn len(&self, split: Split) -> u64 {
        self.splits.len(split)
    }
    fn channels(&self) -> Option<u32> {
        self.source.channels()
    }
    fn classes(&self) -> Option<usize> {
        self.source.classes()
    }
    fn label_of(&self, split: Split, k: u64) -> Option<usize> {
        let &i = self.splits.index[split as usize].get(k as usize)?;
        self.source.label_of(i)
    }
    fn read(&self, split: Split, k: u64) -> Result<Record> {
        let Some(&i) = self.splits.index[split as usize].get(k as usize) else {
            return Err(Error::input(
                format!("{split:?} sample"),
                k,
                format!(
                    "the {split:?} split has samples 0..{}",
                    self.splits.len(split)
                ),
                "",
            ));
        };
        self.source.read(i)
    }
}

/// Open the data set of `spec` and split it by `rule`.
pub fn open_dataset(spec: &DataSpec, rule: &SplitRule) -> Result<Box<dyn Dataset>> {
    Ok(Box::new(SplitDataset::new(super::open(spec)?, rule)?))
}
