//! The readers on tiny hand-made fixtures: what they read, and every refusal of bad data.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::dense::Dense;
use super::*;
use crate::io::events::replay::ReplayOptions;
use crate::io::events::{AeEvent, npy};
use crate::rng::splitmix64;
use crate::task::Split;

fn spec(path: &Path) -> DataSpec {
    DataSpec {
        path: path.to_path_buf(),
        read: ReadSettings {
            replay: ReplayOptions::default(),
            dt_us: 1000,
            seed: 7,
        },
    }
}

/// The error of opening (or, if opening works, of reading every sample of) `path`.
fn err_of(path: &Path) -> String {
    let e = match open(&spec(path)) {
        Err(e) => e,
        Ok(src) => (0..src.len())
            .find_map(|i| src.read(i).err())
            .expect("an error"),
    };
    assert!(e.is_input(), "{e}");
    e.to_string()
}

fn has(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "'{p}' not in: {msg}");
    }
}

/// Two Eligo event files and a labels file.
fn manifest_dir(labels_name: &str, labels: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    npy::write(
        &dir.path().join("a.npy"),
        &[
            AeEvent::addr(500, 3),
            AeEvent::addr(600, 3),
            AeEvent::addr(2500, 1),
        ],
        false,
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    npy::write(
        &dir.path().join("sub/b.npy"),
        &[AeEvent::addr(4000, 0)],
        false,
    )
    .unwrap();
    std::fs::write(dir.path().join(labels_name), labels).unwrap();
    dir
}

#[test]
fn manifest_csv_reads_each_recording_with_its_label_and_split() {
    let dir = manifest_dir(
        "labels.csv",
        "# two recordings\nsplit,file,label,speaker\ntest,a.npy,4,x\n\n,sub/b.npy,1,y\n",
    );
    let src = open(&spec(dir.path())).unwrap();
    assert_eq!(src.len(), 2);
    assert_eq!(src.split_of(0), Some(Split::Test));
    assert_eq!(src.split_of(1), None);
    assert_eq!(src.classes(), Some(5));
    let a = src.read(0).unwrap();
    // events at 500 and 600 µs of channel 3 are one spike at step 0 (clip), 2500 µs is step 2
    assert_eq!(a.input, vec![(0, 3), (2, 1)]);
    assert_eq!((a.steps, a.label, a.targets.clone()), (3, Some(4), None));
    let b = src.read(1).unwrap();
    assert_eq!((b.input, b.steps, b.label), (vec![(4, 0)], 5, Some(1)));
    assert!(b.name.ends_with("b.npy"), "{}", b.name);
    assert!(src.read(2).unwrap_err().is_input());
}

#[test]
fn manifest_json_list_and_declared_classes() {
    let dir = manifest_dir(
        "labels.json",
        r#"[{"file": "a.npy", "label": 2, "split": "validation"}, {"file": "sub/b.npy", "label": 0}]"#,
    );
    let src = open(&spec(dir.path())).unwrap();
    assert_eq!(src.split_of(0), Some(Split::Validation));
    assert_eq!(src.read(0).unwrap().label, Some(2));
    // the manifest named directly, declaring 3 classes
    let p = dir.path().join("m.json");
    std::fs::write(
        &p,
        r#"{"classes": 3, "channels": 4, "samples": [{"file": "a.npy", "label": 2, "split": "train"}]}"#,
    )
    .unwrap();
    let src = open(&spec(&p)).unwrap();
    assert_eq!(
        (src.len(), src.classes(), src.channels()),
        (1, Some(3), Some(4))
    );
    assert_eq!(src.read(0).unwrap().input, vec![(0, 3), (2, 1)]);
    // a.npy has a spike on channel 3: with 3 channels declared, that is beyond them
    std::fs::write(
        &p,
        r#"{"channels": 3, "samples": [{"file": "a.npy", "label": 2}]}"#,
    )
    .unwrap();
    has(
        &err_of(&p),
        &[
            "a.npy",
            "sample 0",
            "channel 3 at step 0",
            "3 input channels",
        ],
    );
}

#[test]
fn manifest_missing_label() {
    let dir = manifest_dir(
        "labels.csv",
        "file,label,split\na.npy,1,train\nsub/b.npy,,test\n",
    );
    has(
        &err_of(dir.path()),
        &["labels.csv", "line 3", "sub/b.npy", "no label"],
    );
    let dir = manifest_dir("labels.json", r#"[{"file": "a.npy"}]"#);
    has(
        &err_of(dir.path()),
        &["labels.json", "samples[0].label", "a.npy", "missing"],
    );
    let dir = manifest_dir("labels.csv", "file,split\na.npy,train\n");
    has(
        &err_of(dir.path()),
        &["labels.csv", "line 1", "file and label"],
    );
}

#[test]
fn manifest_unknown_file() {
    let dir = manifest_dir("labels.csv", "file,label\na.npy,1\nc.npy,0\n");
    has(
        &err_of(dir.path()),
        &["labels.csv", "line 3", "c.npy", "does not exist"],
    );
}

#[test]
fn manifest_bad_label_and_split() {
    let dir = manifest_dir("labels.csv", "file,label,split\na.npy,cat,train\n");
    has(
        &err_of(dir.path()),
        &["line 2", "label 'cat'", "class number"],
    );
    let dir = manifest_dir("labels.csv", "file,label,split\na.npy,1,tets\n");
    has(
        &err_of(dir.path()),
        &["line 2", "split 'tets'", "did you mean 'test'"],
    );
    let dir = manifest_dir("labels.csv", "file,label\n\"a.npy\",1\n");
    has(&err_of(dir.path()), &["line 2", "not quoted"]);
}

#[test]
fn label_out_of_range() {
    let dir = manifest_dir(
        "labels.json",
        r#"{"classes": 2, "samples": [{"file": "a.npy", "label": 1}, {"file": "sub/b.npy", "label": 2}]}"#,
    );
    has(
        &err_of(dir.path()),
        &["labels.json", "samples[1]", "label 2", "2 classes"],
    );
    // a class count declared by the run (the data config)
    let dir = manifest_dir("labels.csv", "file,label\na.npy,1\nsub/b.npy,5\n");
    let src = open(&spec(dir.path())).unwrap();
    check_classes(src.as_ref(), 6).unwrap();
    let e = check_classes(src.as_ref(), 5).unwrap_err();
    assert!(e.is_input());
    has(
        &e.to_string(),
        &["sample 1", "label 5", "5 classes", "labels.csv"],
    );
}

#[test]
fn empty_data_sets() {
    let dir = manifest_dir("labels.csv", "file,label,split\n");
    has(&err_of(dir.path()), &["labels.csv", "no samples"]);
    let dir = manifest_dir("labels.csv", "");
    has(&err_of(dir.path()), &["labels.csv", "empty"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("Train/0")).unwrap();
    has(&err_of(dir.path()), &["no samples", ".bin"]);
    let p = dir.path().join("e.npz");
    write_npz(
        &p,
        &[
            ("inputs", "|u1", &[0, 4, 2], vec![]),
            ("labels", "<i8", &[0], vec![]),
        ],
    );
    has(&err_of(&p), &["e.npz", "no samples"]);
}

#[test]
fn layouts_eligo_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    has(
        &err_of(dir.path()),
        &["without a data-set layout", "labels.csv"],
    );
    let p = dir.path().join("x.npy");
    npy::write(&p, &[AeEvent::addr(0, 1)], false).unwrap();
    has(&err_of(&p), &["not a data set", "labels.csv"]);
    std::fs::write(dir.path().join("labels.csv"), "file,label\nx.npy,0\n").unwrap();
    std::fs::write(dir.path().join("labels.json"), "[]").unwrap();
    has(&err_of(dir.path()), &["both labels.csv and labels.json"]);
    has(&err_of(&dir.path().join("nope")), &["nope", "cannot open"]);
}

/// An N-MNIST `.bin` record: x, y, polarity, µs.
fn nm(x: u8, y: u8, p: u8, t: u32) -> [u8; 5] {
    [x, y, (p << 7) | (t >> 16) as u8, (t >> 8) as u8, t as u8]
}

#[test]
fn nmnist_folder_labels_from_digit_folders_polarity_kept() {
    let dir = tempfile::tempdir().unwrap();
    for (sub, name, ev) in [
        ("Test/5", "00001.bin", nm(1, 2, 1, 1500)),
        ("Train/3", "00007.bin", nm(33, 0, 0, 0)),
        ("Train/10", "00002.bin", nm(0, 33, 1, 3000)),
    ] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        std::fs::write(dir.path().join(sub).join(name), ev).unwrap();
    }
    let src = open(&spec(dir.path())).unwrap();
    assert_eq!(
        (src.len(), src.channels(), src.classes()),
        (3, Some(2312), Some(11))
    );
    // Train before Test, labels in numeric order (3 before 10)
    let recs: Vec<Record> = (0..3).map(|i| src.read(i).unwrap()).collect();
    assert_eq!(
        recs.iter()
            .map(|r| (r.label, src.split_of(0)))
            .collect::<Vec<_>>()[0],
        (Some(3), Some(Split::Train))
    );
    assert_eq!(recs[1].label, Some(10));
    assert_eq!(
        (recs[2].label, src.split_of(2)),
        (Some(5), Some(Split::Test))
    );
    // channel p·34·34 + y·34 + x
    assert_eq!(recs[0].input, vec![(0, 33)]);
    assert_eq!(recs[1].input, vec![(3, 1156 + 33 * 34)]);
    assert_eq!(recs[2].input, vec![(1, 1156 + 2 * 34 + 1)]);
    // pooled 2x2 with merged polarity: 17 x 17 channels, (x, y) = (33, 0) -> 16
    let mut pooled = spec(dir.path());
    pooled.read.replay.map.pool_x = 2;
    pooled.read.replay.map.pool_y = 2;
    pooled.read.replay.map.merge_polarity = true;
    let src = open(&pooled).unwrap();
    assert_eq!(src.channels(), Some(289));
    assert_eq!(src.read(0).unwrap().input, vec![(0, 16)]);
    std::fs::create_dir_all(dir.path().join("Train/seven")).unwrap();
    has(&err_of(dir.path()), &["Train", "'seven'", "whole numbers"]);
}

/// A `.npy` of `shape` with the raw little-endian `data`.
fn npy_bytes(descr: &str, shape: &[u64], fortran: bool, data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut h = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    while (h.len() + 11) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

type Arr<'a> = (&'a str, &'a str, &'a [u64], Vec<u8>);

fn write_npz_with(path: &Path, arrays: &[Arr<'_>], method: zip::CompressionMethod, fortran: bool) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, descr, shape, data) in arrays {
        zip.start_file(format!("{name}.npy"), opts).unwrap();
        zip.write_all(&npy_bytes(descr, shape, fortran && *name == "inputs", data))
            .unwrap();
    }
    zip.finish().unwrap();
}

fn write_npz(path: &Path, arrays: &[Arr<'_>]) {
    write_npz_with(path, arrays, zip::CompressionMethod::Stored, false);
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i64s(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The Bernoulli draw the docs state, written out: the uniform of splitmix64 chained over
/// (seed, sample, step, channel), top 53 bits.
fn draw(seed: u64, i: u64, t: u64, c: u64) -> f64 {
    let mut h = splitmix64(seed);
    h = splitmix64(h ^ i);
    h = splitmix64(h ^ t);
    h = splitmix64(h ^ c);
    (h >> 11) as f64 / 9_007_199_254_740_992.0
}

#[test]
fn dense_counts_clip_and_rates_draw_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.npz");
    // 2 samples, 3 steps, 40 channels: sample 0 counts, sample 1 rates 0.5 (and one 1.0)
    let (steps, ch) = (3u64, 40u64);
    let mut inputs = vec![0f32; (2 * steps * ch) as usize];
    inputs[2] = 1.0; // sample 0 step 0 channel 2
    inputs[(ch + 5) as usize] = 3.0; // sample 0 step 1 channel 5: clipped to one spike
    for k in 0..(steps * ch) as usize {
        inputs[(steps * ch) as usize + k] = 0.5;
    }
    inputs[(steps * ch + 7) as usize] = 1.0;
    let targets: Vec<f32> = (0..2 * steps * 2).map(|k| k as f32 * 0.25).collect();
    write_npz(
        &p,
        &[
            ("inputs", "<f4", &[2, steps, ch], f32s(&inputs)),
            ("targets", "<f4", &[2, steps, 2], f32s(&targets)),
            ("split", "<i8", &[2], i64s(&[2, -1])),
        ],
    );
    let src = open(&spec(&p)).unwrap();
    assert_eq!(
        (src.len(), src.channels(), src.classes()),
        (2, Some(40), None)
    );
    assert_eq!(
        (src.split_of(0), src.split_of(1)),
        (Some(Split::Test), None)
    );
    let r0 = src.read(0).unwrap();
    assert_eq!(r0.input, vec![(0, 2), (1, 5)]);
    assert_eq!(r0.steps, 3);
    assert_eq!(r0.targets, Some((2, targets[..6].to_vec())));
    let r1 = src.read(1).unwrap();
    let mut want = Vec::new();
    for t in 0..steps {
        for c in 0..ch {
            if (t == 0 && c == 7) || draw(7, 1, t, c) < 0.5 {
                want.push((t, c as u32));
            }
        }
    }
    assert_eq!(r1.input, want);
    // about half of 120 draws; another seed draws differently
    assert!((40..80).contains(&want.len()), "{}", want.len());
    let mut other = spec(&p);
    other.read.seed = 8;
    assert_ne!(open(&other).unwrap().read(1).unwrap().input, want);
    // reading again, or out of order, gives the same
    assert_eq!(src.read(1).unwrap().input, want);
}

#[test]
fn dense_uint8_labels_and_compressed_member() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.npz");
    let inputs: Vec<u8> = (0..2 * 2 * 3).map(|k| u8::from(k % 5 == 0)).collect();
    let arrays: [Arr<'_>; 2] = [
        ("inputs", "|u1", &[2, 2, 3], inputs),
        ("labels", "<i8", &[2], i64s(&[1, 0])),
    ];
    write_npz_with(&p, &arrays, zip::CompressionMethod::Deflated, false);
    // values 0 and 5 and 10 are 1: sample 0 (0,0) (1,2); sample 1 (1,1)
    let src = open(&spec(&p)).unwrap();
    let r: Vec<Record> = (0..2).map(|i| src.read(i).unwrap()).collect();
    assert_eq!(
        (r[0].input.clone(), r[0].label),
        (vec![(0, 0), (1, 2)], Some(1))
    );
    assert_eq!((r[1].input.clone(), r[1].label), (vec![(1, 1)], Some(0)));
    // the same archive stored reads the same
    let q = dir.path().join("s.npz");
    write_npz(&q, &arrays);
    let s = open(&spec(&q)).unwrap();
    assert_eq!(s.read(0).unwrap().input, r[0].input);
    assert_eq!(s.read(1).unwrap().input, r[1].input);
    // a compressed member larger than a quarter of the memory limit is refused
    let e = Dense::open_within(&p, &spec(&p), &Some((40, "test".into())))
        .err()
        .unwrap();
    has(
        &e.to_string(),
        &["d.npz", "inputs.npy", "compressed", "numpy.savez"],
    );
    assert!(Dense::open_within(&q, &spec(&q), &Some((40, "test".into()))).is_ok());
}

#[test]
fn dense_wrong_shapes_and_dtypes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.npz");
    let ok_in = || ("inputs", "|u1", &[2u64, 2, 3][..], vec![0u8; 12]);
    let cases: Vec<(Vec<Arr<'_>>, Vec<&str>)> = vec![
        (
            vec![("labels", "<i8", &[2], i64s(&[0, 1]))],
            vec!["inputs.npy", "missing"],
        ),
        (
            vec![
                ("inputs", "|u1", &[2, 6], vec![0; 12]),
                ("labels", "<i8", &[2], i64s(&[0, 1])),
            ],
            vec!["inputs.npy", "shape (2, 6)", "3-D"],
        ),
        (vec![ok_in()], vec!["labels.npy", "missing", "targets"]),
        (
            vec![ok_in(), ("labels", "<i8", &[3], i64s(&[0, 1, 2]))],
            vec!["labels.npy", "shape (3,)", "one value per sample"],
        ),
        (
            vec![ok_in(), ("labels", "<f4", &[2], f32s(&[0.0, 1.0]))],
            vec!["sample 0", "labels.npy", "integer dtype"],
        ),
        (
            vec![ok_in(), ("labels", "<i8", &[2], i64s(&[0, -3]))],
            vec!["sample 1", "label -3"],
        ),
        (
            vec![ok_in(), ("labels", "<U3", &[2], vec![0; 24])],
            vec!["labels.npy", "dtype <U3"],
        ),
        (
            vec![ok_in(), ("targets", "<f4", &[2, 3, 1], f32s(&[0.0; 6]))],
            vec!["targets.npy", "shape (2, 3, 1)", "(2, 2, outputs)"],
        ),
        (
            vec![
                ok_in(),
                ("labels", "<i8", &[2], i64s(&[0, 1])),
                ("split", "<i8", &[2], i64s(&[0, 3])),
            ],
            vec!["sample 1", "split 3", "0 train"],
        ),
        (
            vec![
                ("inputs", "<f4", &[1, 1, 2], f32s(&[0.0, -0.5])),
                ("labels", "<i8", &[1], i64s(&[0])),
            ],
            vec!["sample 0", "inputs[0, 0, 1] = -0.5", "spike count"],
        ),
        (
            vec![
                ("inputs", "<f4", &[1, 1, 2], f32s(&[f32::NAN, 0.0])),
                ("labels", "<i8", &[1], i64s(&[0])),
            ],
            vec!["sample 0", "inputs[0, 0, 0] = NaN"],
        ),
        (
            vec![
                ("inputs", "|u1", &[2, 2, 3], vec![0; 5]),
                ("labels", "<i8", &[2], i64s(&[0, 1])),
            ],
            vec!["inputs.npy", "shorter than its header"],
        ),
    ];
    for (arrays, want) in cases {
        write_npz(&p, &arrays);
        has(&err_of(&p), &want);
        has(&err_of(&p), &["d.npz"]);
    }
    write_npz_with(
        &p,
        &[ok_in(), ("labels", "<i8", &[2], i64s(&[0, 1]))],
        zip::CompressionMethod::Stored,
        true,
    );
    has(&err_of(&p), &["inputs.npy", "Fortran"]);
    std::fs::write(&p, b"PK\x03\x04 not a zip").unwrap();
    has(&err_of(&p), &["d.npz", "not a readable .npz"]);
}

/// A source with given splits, for the split rule.
struct Given(Vec<Option<Split>>);

impl Source for Given {
    fn describe(&self) -> String {
        "given".into()
    }
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn split_of(&self, i: u64) -> Option<Split> {
        self.0[i as usize]
    }
    fn channels(&self) -> Option<u32> {
        None
    }
    fn classes(&self) -> Option<usize> {
        None
    }
    fn read(&self, i: u64) -> crate::Result<Record> {
        Ok(Record {
            name: i.to_string(),
            input: vec![],
            steps: 1,
            label: Some(0),
            targets: None,
        })
    }
}

fn rule(validation: f64, test: f64, seed: u64) -> SplitRule {
    SplitRule {
        validation,
        test,
        seed,
    }
}

#[test]
fn splits_fractions_of_the_unassigned_and_own_splits_kept() {
    let src = Given(vec![None; 100]);
    let s = Splits::assign(&src, &rule(0.1, 0.2, 3)).unwrap();
    assert_eq!(s.index.each_ref().map(|v| v.len()), [70, 10, 20]);
    let mut all: Vec<u64> = s.index.concat();
    all.sort();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
    for v in &s.index {
        assert!(v.is_sorted());
    }
    // the seed decides; the same seed the same
    assert_eq!(s, Splits::assign(&src, &rule(0.1, 0.2, 3)).unwrap());
    assert_ne!(s, Splits::assign(&src, &rule(0.1, 0.2, 4)).unwrap());
    // own splits stay; with no validation of its own, validation comes out of its train
    let mut given = vec![Some(Split::Train); 50];
    given.extend(vec![Some(Split::Test); 10]);
    let s = Splits::assign(&Given(given.clone()), &rule(0.2, 0.3, 3)).unwrap();
    assert_eq!(s.index.each_ref().map(|v| v.len()), [40, 10, 10]);
    assert_eq!(s.index[2], (50..60).collect::<Vec<_>>());
    // with its own validation samples, its train stays train
    given[0] = Some(Split::Validation);
    let s = Splits::assign(&Given(given), &rule(0.2, 0.3, 3)).unwrap();
    assert_eq!(s.index.each_ref().map(|v| v.len()), [49, 1, 10]);
}

#[test]
fn splits_same_samples_same_assignment_whatever_the_reader() {
    // a manifest and a dense archive listing 6 unassigned samples: one assignment
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("file,label\n");
    for i in 0..6 {
        npy::write(
            &dir.path().join(format!("{i}.npy")),
            &[AeEvent::addr(0, 0)],
            false,
        )
        .unwrap();
        csv.push_str(&format!("{i}.npy,0\n"));
    }
    std::fs::write(dir.path().join("labels.csv"), csv).unwrap();
    let p = dir.path().join("d.npz");
    write_npz(
        &p,
        &[
            ("inputs", "|u1", &[6, 1, 1], vec![1; 6]),
            ("labels", "<i8", &[6], i64s(&[0; 6])),
        ],
    );
    let r = rule(0.34, 0.17, 11);
    let a = Splits::assign(open(&spec(dir.path())).unwrap().as_ref(), &r).unwrap();
    let b = Splits::assign(open(&spec(&p)).unwrap().as_ref(), &r).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.index.each_ref().map(|v| v.len()), [3, 2, 1]);
}

#[test]
fn splits_bad_rules() {
    let src = Given(vec![None; 10]);
    for (v, t, want) in [
        (-0.1, 0.0, "validation = -0.1"),
        (0.0, f64::NAN, "test = NaN"),
        (0.5, 0.5, "validation + test = 1"),
    ] {
        let e = Splits::assign(&src, &rule(v, t, 0)).unwrap_err();
        assert!(e.is_input());
        has(&e.to_string(), &[want]);
    }
    // everything the data set gives is held out: nothing to train on
    let e = Splits::assign(&Given(vec![Some(Split::Test); 3]), &rule(0.0, 0.0, 0)).unwrap_err();
    has(&e.to_string(), &["no sample is left for training"]);
}

#[test]
fn dataset_reads_through_the_split() {
    let ds = SplitDataset::new(
        Box::new(Given(vec![Some(Split::Test), None, Some(Split::Test)])),
        &rule(0.0, 0.0, 0),
    )
    .unwrap();
    assert_eq!((ds.len(Split::Train), ds.len(Split::Test)), (1, 2));
    assert_eq!(ds.read(Split::Test, 1).unwrap().name, "2");
    assert_eq!(ds.read(Split::Train, 0).unwrap().name, "1");
    let e = ds.read(Split::Train, 1).unwrap_err();
    assert!(e.is_input(), "{e}");
    let dir = manifest_dir("labels.csv", "file,label\na.npy,1\nsub/b.npy,0\n");
    let ds = open_dataset(&spec(dir.path()), &rule(0.0, 0.5, 1)).unwrap();
    assert_eq!((ds.len(Split::Train), ds.len(Split::Test)), (1, 1));
    assert!(
        ds.describe().contains("1 train, 0 validation, 1 test"),
        "{}",
        ds.describe()
    );
}

#[cfg(not(feature = "hdf5"))]
#[test]
fn shd_without_the_feature_says_how_to_build() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("shd_train.h5");
    std::fs::write(&p, b"\x89HDF\r\n\x1a\n").unwrap();
    has(&err_of(&p), &["shd_train.h5", "--features hdf5"]);
}

/// An SHD file: per sample (times in s, units), and the labels.
#[cfg(feature = "hdf5")]
fn write_shd(path: &Path, samples: &[(Vec<f64>, Vec<u32>)], labels: Option<&[i64]>) {
    use hdf5::types::VarLenArray;
    let f = hdf5::File::create(path).unwrap();
    let g = f.create_group("spikes").unwrap();
    let times: Vec<VarLenArray<f64>> = samples
        .iter()
        .map(|s| VarLenArray::from_slice(&s.0))
        .collect();
    let units: Vec<VarLenArray<u32>> = samples
        .iter()
        .map(|s| VarLenArray::from_slice(&s.1))
        .collect();
    g.new_dataset_builder()
        .with_data(&times)
        .create("times")
        .unwrap();
    g.new_dataset_builder()
        .with_data(&units)
        .create("units")
        .unwrap();
    if let Some(l) = labels {
        f.new_dataset_builder()
            .with_data(l)
            .create("labels")
            .unwrap();
    }
}

#[cfg(feature = "hdf5")]
#[test]
fn shd_file_and_folder() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("x_train.h5");
    let test = dir.path().join("x_test.h5");
    write_shd(
        &train,
        &[
            (vec![0.0005, 0.0021], vec![699, 3]),
            (vec![0.0101], vec![0]),
        ],
        Some(&[4, 19]),
    );
    write_shd(&test, &[(vec![0.003], vec![5])], Some(&[7]));
    let one = open(&spec(&train)).unwrap();
    assert_eq!(
        (one.len(), one.split_of(0), one.channels()),
        (2, None, Some(700))
    );
    let r = one.read(0).unwrap();
    assert_eq!(
        (r.input.clone(), r.steps, r.label),
        (vec![(0, 699), (2, 3)], 3, Some(4))
    );
    assert!(r.name.ends_with("x_train.h5 sample 0"), "{}", r.name);
    let both = open(&spec(dir.path())).unwrap();
    assert_eq!(both.len(), 3);
    assert_eq!(both.split_of(1), Some(Split::Train));
    assert_eq!(both.split_of(2), Some(Split::Test));
    assert_eq!(both.read(1).unwrap().input, vec![(10, 0)]);
    let t = both.read(2).unwrap();
    assert_eq!((t.input, t.label), (vec![(3, 5)], Some(7)));
    assert_eq!(both.classes(), Some(20));
}

#[cfg(feature = "hdf5")]
#[test]
fn shd_bad_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.h5");
    write_shd(&p, &[(vec![0.001], vec![1])], None);
    has(&err_of(&p), &["a.h5", "dataset 'labels'", "spikes/times"]);
    write_shd(&p, &[(vec![0.001], vec![1])], Some(&[1, 2]));
    has(
        &err_of(&p),
        &["a.h5", "dataset 'labels'", "shape [2]", "1 samples"],
    );
    write_shd(
        &p,
        &[(vec![0.001], vec![1]), (vec![0.002], vec![700])],
        Some(&[1, 2]),
    );
    has(
        &err_of(&p),
        &["a.h5", "sample 1", "channel 700", "700 input channels"],
    );
    write_shd(&p, &[(vec![0.001], vec![1])], Some(&[-1]));
    has(&err_of(&p), &["a.h5", "sample 0", "label -1"]);
    write_shd(&p, &[(vec![0.001, -1.0], vec![1, 2])], Some(&[0]));
    has(&err_of(&p), &["a.h5", "sample 0 spike 1"]);
    std::fs::write(&p, b"not hdf5").unwrap();
    has(&err_of(&p), &["a.h5", "cannot read it"]);
    write_shd(&p, &[], Some(&[]));
    has(&err_of(&p), &["no samples"]);
    // a folder of several files without the split in their names
    write_shd(&p, &[(vec![0.001], vec![1])], Some(&[0]));
    write_shd(
        &dir.path().join("b.h5"),
        &[(vec![0.001], vec![1])],
        Some(&[0]),
    );
    has(&err_of(dir.path()), &["a.h5", "split in each name"]);
}

/// Paths of the tests' own data, for tests elsewhere in this module.
#[allow(dead_code)]
pub(super) fn repo_data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}
