//! The synthetic data set of `data/spiking-digits/` read by each of its layouts: the `.npy`
//! folder, the `.npz` and (feature `hdf5`) the SHD files describe the same samples in the same
//! order, so every reader gives the same records and the same splits.

use super::tests::repo_data;
use super::*;
use crate::io::events::replay::ReplayOptions;
use crate::task::Split;

fn open_rel(rel: &str) -> Box<dyn Source> {
    let spec = DataSpec {
        path: repo_data(&format!("data/spiking-digits/{rel}")),
        read: ReadSettings {
            replay: ReplayOptions::default(),
            dt_us: 1000,
            seed: 1,
        },
    };
    open(&spec).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// What a record holds apart from where it came from.
fn content(r: &Record) -> (&[(u64, u32)], u64, Option<usize>) {
    (&r.input, r.steps, r.label)
}

fn same(a: &dyn Source, b: &dyn Source) {
    assert_eq!(a.len(), b.len());
    for i in 0..a.len() {
        let (ra, rb) = (a.read(i).unwrap(), b.read(i).unwrap());
        assert_eq!(
            content(&ra),
            content(&rb),
            "sample {i}: {} vs {}",
            ra.name,
            rb.name
        );
        assert_eq!(a.split_of(i), b.split_of(i), "sample {i}");
    }
    let rule = SplitRule {
        validation: 0.1,
        test: 0.0,
        seed: 5,
    };
    assert_eq!(
        Splits::assign(a, &rule).unwrap(),
        Splits::assign(b, &rule).unwrap()
    );
}

#[test]
fn spiking_digits_npy_folder_and_npz_agree() {
    let folder = open_rel("npy");
    let dense = open_rel("dense.npz");
    // what make.py writes: 300 samples of 100 steps, 200 train then 100 test, labels k % 10
    assert_eq!(folder.len(), 300);
    assert_eq!(dense.channels(), Some(700));
    assert_eq!((folder.classes(), dense.classes()), (Some(10), Some(10)));
    for i in 0..300 {
        let want = if i < 200 { Split::Train } else { Split::Test };
        assert_eq!(folder.split_of(i), Some(want));
        let r = folder.read(i).unwrap();
        assert_eq!(
            (r.steps, r.label),
            (100, Some(i as usize % 10)),
            "sample {i}"
        );
        assert!(r.input.len() > 30 && r.input.iter().all(|&(_, c)| c < 700));
    }
    same(folder.as_ref(), dense.as_ref());
    let rule = SplitRule {
        validation: 0.1,
        test: 0.0,
        seed: 5,
    };
    let s = Splits::assign(folder.as_ref(), &rule).unwrap();
    assert_eq!(s.index.each_ref().map(|v| v.len()), [180, 20, 100]);
}

#[cfg(feature = "hdf5")]
#[test]
fn spiking_digits_shd_files_agree_with_the_npy_folder() {
    let folder = open_rel("npy");
    let shd = open_rel("shd");
    assert_eq!(shd.channels(), Some(700));
    same(folder.as_ref(), shd.as_ref());
}
