//! Spiking Heidelberg Digits / Spiking Speech Commands HDF5 data sets (feature `hdf5`): reader.
//!
//! Layout (B. Cramer et al., IEEE TNNLS 2020), one file holding many samples:
//!
//! | dataset | shape, type | content |
//! |---|---|---|
//! | `spikes/times` | (samples,), variable-length floats | spike times of a sample, seconds |
//! | `spikes/units` | (samples,), variable-length ints | channel (0..699) of each spike |
//! | `labels` | (samples,), ints | class of each sample |
//!
//! Opened as a single `.h5` file (no split: the split rule assigns every sample) or a folder
//! with `*train*.h5` and `*test*.h5` files (as distributed: `shd_train.h5`, `shd_test.h5`; SSC
//! also has `ssc_valid.h5`, `*valid*` → validation), whose samples are the train files' first,
//! then the validation and the test files', each in file order. The labels are read when the
//! data set is opened (one integer a sample); a sample's spikes only when it is asked for, by
//! [`crate::io::events::shd`] (times to µs as tonic computes them, then binned). SHD and SSC
//! have 700 channels (`⌈700 / pool⌉` with `--pool`); a unit at or past that is an error naming
//! the file and the sample.

use std::path::{Path, PathBuf};

use super::{DataSpec, Source};
use crate::error::{Error, Result};
use crate::task::Split;

/// Open the SHD files under `dir`, their split from their names.
pub(super) fn open_dir(dir: &Path, h5: &[&PathBuf], spec: &DataSpec) -> Result<Box<dyn Source>> {
    if h5.len() == 1 {
        return open_files(vec![(h5[0].clone(), None)], dir, spec);
    }
    let mut parts: Vec<(PathBuf, Option<Split>)> = Vec::new();
    for p in h5 {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_ascii_lowercase();
        let split = match (
            name.contains("train"),
            name.contains("valid"),
            name.contains("test"),
        ) {
            (true, false, false) => Split::Train,
            (false, true, false) => Split::Validation,
            (false, false, true) => Split::Test,
            _ => {
                return Err(Error::input(
                    "",
                    "",
                    "a folder of several HDF5 files needs the split in each name: exactly one \
                     of train, valid, test (e.g. shd_train.h5, shd_test.h5)",
                    "rename the file, or pass a single .h5 file as --data",
                )
                .in_file(p.as_path()));
            }
        };
        parts.push(((*p).clone(), Some(split)));
    }
    // train, validation, test; within a split by name (the listing is sorted)
    parts.sort_by_key(|(_, s)| s.map(|s| s as u8));
    open_files(parts, dir, spec)
}

#[cfg(not(feature = "hdf5"))]
pub(super) fn open_files(
    parts: Vec<(PathBuf, Option<Split>)>,
    _shown: &Path,
    _spec: &DataSpec,
) -> Result<Box<dyn Source>> {
    Err(Error::input(
        "--data",
        "HDF5",
        "this eligo was built without HDF5 support, which SHD/SSC data sets need",
        "rebuild with `cargo build --release --features hdf5` (needs the system HDF5 library, \
         e.g. `apt-get install libhdf5-dev`), or convert the data set to a folder of .npy files \
         with a labels.csv",
    )
    .in_file(parts[0].0.as_path()))
}

#[cfg(feature = "hdf5")]
pub(super) fn open_files(
    parts: Vec<(PathBuf, Option<Split>)>,
    shown: &Path,
    spec: &DataSpec,
) -> Result<Box<dyn Source>> {
    Ok(Box::new(with_hdf5::Shd::open(parts, shown, spec)?))
}

#[cfg(feature = "hdf5")]
mod with_hdf5 {
    use std::path::{Path, PathBuf};

    use crate::data::open::{bad_sample, event_record, in_range, not_empty};
    use crate::data::{DataSpec, ReadSettings, Record, Source};
    use crate::error::{Error, Result};
    use crate::io::events::Format;
    use crate::io::events::replay::load_steps;
    use crate::task::Split;

    /// Channels of SHD and SSC (the cochlea model's 700 fibers).
    const CHANNELS: u32 = 700;

    const LAYOUT: &str = "an SHD/SSC file has the datasets spikes/times, spikes/units and labels, \
                          one entry per sample";

    struct Part {
        path: PathBuf,
        split: Option<Split>,
        /// Index of its first sample in the data set.
        first: u64,
        samples: u64,
    }

    /// SHD/SSC files read as one data set.
    pub struct Shd {
        shown: PathBuf,
        parts: Vec<Part>,
        labels: Vec<usize>,
        channels: Option<u32>,
        read: ReadSettings,
    }

    fn h5_error(path: &Path, what: &str, e: hdf5::Error) -> Error {
        Error::input(
            what,
            "",
            format!("cannot read it: {e}; {LAYOUT}"),
            "is this an SHD/SSC file (not gzipped: gunzip shd_train.h5.gz first)?",
        )
        .in_file(path)
    }

    /// Number of samples and the labels of one file.
    fn scan(path: &Path) -> Result<(u64, Vec<usize>)> {
        hdf5::silence_errors(true);
        let file = hdf5::File::open(path).map_err(|e| h5_error(path, "HDF5 file", e))?;
        let ds = |name: &str| {
            file.dataset(name)
                .map_err(|e| h5_error(path, &format!("dataset '{name}'"), e))
        };
        let n = |d: &hdf5::Dataset| d.shape().first().copied().unwrap_or(0) as u64;
        let (times, units, labels) = (ds("spikes/times")?, ds("spikes/units")?, ds("labels")?);
        let count = n(&times);
        for (name, d) in [("spikes/units", &units), ("labels", &labels)] {
            if d.ndim() != 1 || n(d) != count {
                return Err(Error::input(
                    format!("dataset '{name}'"),
                    format!("shape {:?}", d.shape()),
                    format!("spikes/times has {count} samples; {LAYOUT}"),
                    "",
                )
                .in_file(path));
            }
        }
        let raw: Vec<i64> = labels
            .read_raw()
            .map_err(|e| h5_error(path, "dataset 'labels'", e))?;
        let mut out = Vec::with_capacity(raw.len());
        for (k, &l) in raw.iter().enumerate() {
            if l < 0 {
                return Err(bad_sample(
                    path,
                    k,
                    format!("label {l}"),
                    "a label is a class number 0, 1, 2, ...",
                    "",
                ));
            }
            out.push(l as usize);
        }
        Ok((count, out))
    }

    impl Shd {
        pub fn open(
            files: Vec<(PathBuf, Option<Split>)>,
            shown: &Path,
            spec: &DataSpec,
        ) -> Result<Self> {
            let mut parts = Vec::new();
            let mut labels = Vec::new();
            for (path, split) in files {
                let (samples, l) = scan(&path)?;
                parts.push(Part {
                    path,
                    split,
                    first: labels.len() as u64,
                    samples,
                });
                labels.extend(l);
            }
            not_empty(labels.len() as u64, shown, "the HDF5 files hold no sample")?;
            let map = &spec.read.replay.map;
            let channels = map
                .table
                .is_none()
                .then(|| CHANNELS.div_ceil(map.pool_x.max(1)));
            Ok(Shd {
                shown: shown.to_path_buf(),
                parts,
                labels,
                channels,
                read: spec.read.clone(),
            })
        }

        fn part(&self, i: u64) -> &Part {
            let k = self.parts.partition_point(|p| p.first <= i);
            &self.parts[k - 1]
        }
    }

    impl Source for Shd {
        fn describe(&self) -> String {
            format!(
                "SHD/SSC HDF5 {} ({} samples)",
                self.shown.display(),
                self.labels.len()
            )
        }
        fn len(&self) -> u64 {
            self.labels.len() as u64
        }
        fn split_of(&self, i: u64) -> Option<Split> {
            (i < self.len()).then(|| self.part(i).split).flatten()
        }
        fn channels(&self) -> Option<u32> {
            self.channels
        }
        fn classes(&self) -> Option<usize> {
            self.labels.iter().max().map(|m| m + 1)
        }
        fn label_of(&self, i: u64) -> Option<usize> {
            self.labels.get(i as usize).copied()
        }
        fn read(&self, i: u64) -> Result<Record> {
            in_range(i, self.len(), &self.shown)?;
            let part = self.part(i);
            let k = i - part.first;
            debug_assert!(k < part.samples);
            let mut opts = self.read.replay.clone();
            opts.read.format = Some(Format::ShdHdf5);
            opts.read.sample = Some(k);
            let input =
                load_steps(&part.path, &opts, self.read.dt_us, None).map_err(|e| match e {
                    Error::Input(ref ie) if !ie.field.starts_with("sample") => {
                        e.under(&format!("sample {k}"))
                    }
                    other => other,
                })?;
            event_record(
                format!("{} sample {k}", part.path.display()),
                input,
                Some(self.labels[i as usize]),
                self.channels,
                &part.path,
                k,
            )
        }
    }
}
