//! Data sets: labeled sequences read from disk, one sample at a time, so a data set larger than
//! memory trains with bounded memory (docs/data.md).
//!
//! Two levels:
//! - a [`Source`] is what a reader opens: `len()` samples in the file's or folder's own order,
//!   each with the split the data set assigns it (if any), read one at a time into a [`Record`]
//!   of `(step, channel)` input spikes at the run's step `dt`, a label or a target series;
//! - a [`Dataset`] is a source with its samples assigned to the train, validation and test
//!   splits ([`Splits`]): the data set's own assignment where it gives one, else a seeded
//!   fraction (the same seed, the same assignment, whatever the reader).
//!
//! The training run reads a data set through [`task::DataTask`], which makes it a
//! [`crate::task::Task`] like the built-in ones: sample `i` of a split is a pure function of
//! (data set, seed, split, `i`), so resume and any thread count give the same result.

pub mod config;
mod dense;
mod manifest;
mod nmnist;
mod open;
pub mod prefetch;
mod shd;
#[cfg(test)]
mod spiking_digits;
mod splits;
pub mod task;
#[cfg(test)]
mod tests;

pub use open::open;
pub use splits::{SplitDataset, check_classes, open_dataset};

use std::path::PathBuf;

use crate::error::Result;
use crate::io::events::replay::ReplayOptions;
use crate::task::Split;

/// One sample as read from disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Where it came from, for messages: a file path, or `FILE sample K`.
    pub name: String,
    /// Input spikes `(step, channel)`, sorted by step then channel, at most one per channel and
    /// step.
    pub input: Vec<(u64, u32)>,
    /// The sample's own length in steps (a dense array's steps; one past an event recording's
    /// last spike).
    pub steps: u64,
    /// Class label.
    pub label: Option<usize>,
    /// Target series `(outputs, values)`, values row-major `steps x outputs`.
    pub targets: Option<(usize, Vec<f32>)>,
}

/// How a reader turns a recording into spikes.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadSettings {
    /// Reading, address map, time map and binning policy, as `eligo events` has them.
    pub replay: ReplayOptions,
    /// The run's step in µs.
    pub dt_us: u64,
    /// Seed of the Bernoulli draws of dense rate inputs (values in (0, 1)).
    pub seed: u64,
}

/// A data set as a reader opens it: samples in the file's or folder's own order.
pub trait Source: Send + Sync {
    /// What was opened, for messages and `summary.json` (e.g. `folder DIR (300 samples)`).
    fn describe(&self) -> String;
    /// Number of samples.
    fn len(&self) -> u64;
    /// True if there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The split the data set assigns sample `i`, if it assigns one.
    fn split_of(&self, i: u64) -> Option<Split>;
    /// Number of input channels the data set declares (e.g. 700 for SHD, 2 x 34 x 34 for
    /// N-MNIST), if it declares one.
    fn channels(&self) -> Option<u32>;
    /// Number of classes, if the data set declares them (else the largest label + 1 seen).
    fn classes(&self) -> Option<usize>;
    /// Read sample `i` (`i < len()`).
    fn read(&self, i: u64) -> Result<Record>;
    /// The label of sample `i` without reading the sample, for readers that hold the labels in
    /// memory (all of Eligo's do): checks against a declared class count run before training.
    fn label_of(&self, _i: u64) -> Option<usize> {
        None
    }
}

/// Where the validation and test samples come from when a data set assigns none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitRule {
    /// Fraction of the unassigned samples held out for validation (and of the data set's own
    /// train samples, when it has no validation samples of its own; see [`Splits::assign`]).
    pub validation: f64,
    /// Fraction of the unassigned samples held out for testing.
    pub test: f64,
    /// Seed of the assignment.
    pub seed: u64,
}

/// A source's samples assigned to splits: `index[split][k]` is the source sample that is sample
/// `k` of `split`.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// Per split (train, validation, test), source sample indices in ascending order.
    pub index: [Vec<u64>; 3],
}

/// The data set path a user gave, with the data config's reading settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSpec {
    /// A folder, a manifest, an HDF5 or `.npz` file.
    pub path: PathBuf,
    /// How recordings become spikes.
    pub read: ReadSettings,
}

/// A data set split for training.
pub trait Dataset: Send + Sync {
    /// What was opened.
    fn describe(&self) -> String;
    /// Number of samples of `split`.
    fn len(&self, split: Split) -> u64;
    /// Number of input channels, if declared.
    fn channels(&self) -> Option<u32>;
    /// Number of classes, if declared.
    fn classes(&self) -> Option<usize>;
    /// Read sample `k` of `split`.
    fn read(&self, split: Split, k: u64) -> Result<Record>;
    /// The label of sample `k` of `split` without reading the sample, where the data set holds
    /// its labels apart from the recordings (a labels file, an HDF5 `labels` array).
    fn label_of(&self, _split: Split, _k: u64) -> Option<usize> {
        None
    }
}
