//! Event files as third-party writers lay them out, and hostile arguments: each case once read
//! as a silent wrong result (exit 0) or an I/O error (exit 1); now the events the writer meant, or
//! exit code 2 with a message naming the problem.

use std::path::Path;

use crate::events::{bad, info, npy_events, ok, s, sample, write_npy};

fn evt2_words(header: &str, words: &[u32]) -> Vec<u8> {
    let mut b = header.as_bytes().to_vec();
    for w in words {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b
}

/// faery writes `% evt 2.0`, `% format`, `% geometry` and, when it stores times relative to the
/// first event, `% t0 N` — no `% end`. Its first data word is a time-high word; here its low
/// bytes are 0x25 0x20 (`% `), as for about one start time in 65 536.
#[test]
fn evt2_as_faery_writes_it_is_read_with_its_t0() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("faery.raw");
    let header =
        "% evt 2.0\n% format EVT2;width=640;height=480\n% geometry 640x480\n% t0 5000000\n";
    let th = 0x8000_2025u32; // t = 0x2025 * 64 = 526 656 µs after t0
    let on = 1 << 28 | 2 << 22 | 5 << 11 | 7;
    let off = 63 << 22 | 639 << 11 | 479;
    std::fs::write(&p, evt2_words(header, &[th, on, off])).unwrap();
    let j = info(s(&p), &[]);
    assert_eq!(j["events"], 2);
    assert_eq!(j["t_first_us"], 5_000_000 + 526_656 + 2);
    assert_eq!(j["t_last_us"], 5_000_000 + 526_656 + 63);
    assert_eq!(
        (j["x_min"].as_u64(), j["x_max"].as_u64()),
        (Some(5), Some(639))
    );
    assert_eq!(j["width"], 640);
    // headerless: the first word is a CD event whose bytes start 0x25 0x20 (y = 37, x = 4)
    let p = dir.path().join("bare.raw");
    let cd: u32 = 1 << 28 | 4 << 11 | 37;
    assert_eq!(&cd.to_le_bytes()[..2], b"% ");
    std::fs::write(&p, evt2_words("", &[cd, on])).unwrap();
    let j = info(s(&p), &[]);
    assert_eq!(j["events"], 2);
    assert_eq!(
        (j["y_min"].as_u64(), j["y_max"].as_u64()),
        (Some(7), Some(37))
    );
}

fn aedat(p: &Path, records: &[(u32, u32)]) {
    let mut b = b"#!AER-DAT2.0\r\n# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128\r\n".to_vec();
    for (a, t) in records {
        b.extend_from_slice(&a.to_be_bytes());
        b.extend_from_slice(&t.to_be_bytes());
    }
    std::fs::write(p, b).unwrap();
}

/// jAER's DVS128 extractor: x = 127 - raw x, raw bit 0 = 1 is OFF; bit 31 (special) and bit 15
/// (sync) events are no pixels.
#[test]
fn dvs128_reads_as_jaer_and_special_events_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.aedat");
    aedat(
        &p,
        &[
            (1 | 5 << 1 | 9 << 8, 10),  // raw x 5, OFF: x 122, y 9, p 0
            (0x8000_0000 | 3 << 8, 11), // special
            (0x8000, 12),               // sync
            (20 << 1 | 100 << 8, 13),   // raw x 20, ON: x 107, y 100, p 1
        ],
    );
    let j = info(s(&p), &["--aedat-chip", "dvs128"]);
    assert_eq!(j["events"], 2);
    assert_eq!(
        (j["x_min"].as_u64(), j["x_max"].as_u64()),
        (Some(107), Some(122))
    );
    assert_eq!(
        (j["y_min"].as_u64(), j["y_max"].as_u64()),
        (Some(9), Some(100))
    );
    assert_eq!(j["polarity"]["0"], 1);
    assert_eq!(j["polarity"]["1"], 1);
    assert_eq!(j["skipped_records"], 2);
    let text =
        String::from_utf8(ok(&["events", "info", s(&p), "--aedat-chip", "dvs128"]).stdout).unwrap();
    assert!(text.contains("skipped:   2 special events"), "{text}");
    // the neuron indices: p*128*128 + y*128 + x, from the pixels above
    let out = dir.path().join("d.npy");
    ok(&[
        "events",
        "convert",
        s(&p),
        s(&out),
        "--aedat-chip",
        "dvs128",
        "--quiet",
    ]);
    assert_eq!(
        npy_events(&out),
        vec![(10, 9 * 128 + 122), (13, 16384 + 100 * 128 + 107)]
    );
}

/// A DVS128 stream converted to AEDAT keeps the DVS128 layout (and jAER's chip line), so it
/// reads back as the same pixels; a pooled or merged stream is written as neuron indices and
/// reading it as DVS128 is refused.
#[test]
fn dvs128_to_aedat_keeps_the_pixels_or_is_refused_as_dvs128() {
    let dir = tempfile::tempdir().unwrap();
    let (input, o_aedat, o_npy, m_aedat) = (
        sample("dvs128.aedat"),
        dir.path().join("o.aedat"),
        dir.path().join("o.npy"),
        dir.path().join("m.aedat"),
    );
    let dvs = ["--aedat-chip", "dvs128"];
    ok(&["events", "convert", &input, s(&o_aedat), dvs[0], dvs[1]]);
    let text = String::from_utf8_lossy(&std::fs::read(&o_aedat).unwrap()).into_owned();
    assert!(text.contains("# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128"));
    ok(&[
        "events",
        "convert",
        s(&o_aedat),
        s(&o_npy),
        "--quiet",
        dvs[0],
        dvs[1],
    ]);
    let want: Vec<(u64, u32)> = crate::events::expected("dvs128.aedat")
        .iter()
        .map(|e| (e[0], (e[3] * 16384 + e[2] * 128 + e[1]) as u32))
        .collect();
    assert_eq!(npy_events(&o_npy), want);
    // merged polarity: indices, with a header line; as DVS128 refused, as raw the indices
    ok(&[
        "events",
        "convert",
        &input,
        s(&m_aedat),
        "--merge-polarity",
        "--quiet",
        dvs[0],
        dvs[1],
    ]);
    let err = bad(&["events", "info", s(&m_aedat), "--aedat-chip", "dvs128"]);
    assert!(
        err.contains("neuron indices") && err.contains("--aedat-chip raw"),
        "{err}"
    );
    let j = info(s(&m_aedat), &[]);
    let max = want.iter().map(|e| e.1 % 16384).max().unwrap();
    assert_eq!(j["x_max"], max);
}

#[test]
fn time_scale_past_64_bits_exits_2_naming_the_scale_and_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.npy");
    write_npy(&p, &[(1, 0), (10_000_000_000_000_000, 1)]);
    let out = dir.path().join("o.npy");
    let err = bad(&["events", "convert", s(&p), s(&out), "--time-scale", "10000"]);
    assert!(
        err.contains("--time-scale = 10000/1")
            && err.contains("event 1")
            && err.contains("from 0 to 1844674407370955 µs"),
        "{err}"
    );
    assert!(!out.exists());
    let err = bad(&[
        "events",
        "info",
        s(&p),
        "--dt-ms",
        "1",
        "--time-scale",
        "10000",
    ]);
    assert!(
        err.contains("--time-scale = 10000/1") && err.contains("event 1"),
        "{err}"
    );
}

#[test]
fn a_directory_is_not_an_event_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = s(dir.path());
    for args in [
        vec!["events", "info", d],
        vec!["events", "info", d, "--format", "npy"],
        vec!["events", "convert", d, "x.npy"],
    ] {
        let err = bad(&args);
        assert!(
            err.contains("is a directory, not an event file"),
            "{args:?}: {err}"
        );
    }
    let err = bad(&["events", "convert", &sample("eligo.npy"), d, "--to", "npy"]);
    assert!(
        err.contains("is a directory: the output must be a file"),
        "{err}"
    );
}

fn npy(p: &Path, dict: &str, data: &[u8]) {
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(dict.len() as u16 + 1).to_le_bytes());
    b.extend_from_slice(dict.as_bytes());
    b.push(b'\n');
    b.extend_from_slice(data);
    std::fs::write(p, b).unwrap();
}

/// `fortran_order: True` changes nothing for a 1-D structured array (read) and everything for a
/// 2-D one (refused, saying it is a transposed array).
#[test]
fn fortran_order_npy_is_read_when_one_d_and_refused_when_two_d() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = vec![];
    for (t, a) in [(5u64, 2u32), (9, 7)] {
        data.extend_from_slice(&t.to_le_bytes());
        data.extend_from_slice(&a.to_le_bytes());
    }
    let p = dir.path().join("f.npy");
    npy(
        &p,
        "{'descr': [('t', '<u8'), ('addr', '<u4')], 'fortran_order': True, 'shape': (2,), }",
        &data,
    );
    let j = info(s(&p), &[]);
    assert_eq!(
        (j["events"].as_u64(), j["x_max"].as_u64()),
        (Some(2), Some(7))
    );
    npy(
        &p,
        "{'descr': [('t', '<u8'), ('addr', '<u4')], 'fortran_order': True, 'shape': (2, 1), }",
        &data,
    );
    let err = bad(&["events", "info", s(&p)]);
    assert!(
        err.contains("Fortran order") && err.contains("shape"),
        "{err}"
    );
}
