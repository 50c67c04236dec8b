//! Random and mutated bytes into every reader: each must end in events or an input error, never
//! a panic, a hang or an allocation sized from the file.

use proptest::prelude::*;

use super::bytes::ByteSource;
use super::{AedatChip, Checked, EventReader, aedat, evt2, nmnist, npy};
use crate::error::{Error, Result};

fn sample(name: &str) -> Vec<u8> {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/events")
        .join(name);
    std::fs::read(p).unwrap()
}

/// Drain a reader completely (bounded: the input is small, every chunk consumes bytes).
fn drain(r: Result<Box<dyn EventReader>>) -> Result<u64> {
    let r = r?;
    let mut c = Checked::new(r, std::path::Path::new("fuzz"));
    let mut chunk = Vec::new();
    let mut n = 0u64;
    while c.next_chunk(&mut chunk)? {
        n += chunk.len() as u64;
        assert!(chunk.len() <= super::CHUNK);
    }
    Ok(n)
}

/// Through the whole replay pipeline: map (a 64 x 64 sensor, or identity), bin, population bound.
fn bin_all(r: Result<Box<dyn EventReader>>) -> Result<u64> {
    let r = r?;
    let spec = super::MapSpec {
        width: Some(64),
        height: Some(64),
        ..super::MapSpec::default()
    };
    let map = super::AddressMap::new(&spec, r.info())?;
    let limit = super::Limit {
        name: "p".into(),
        size: 5000,
    };
    let mut b = super::Binner::new(
        Checked::new(r, std::path::Path::new("fuzz")),
        super::TimeMap::default(),
        map,
        1000,
        super::BinPolicy::Clip,
        Some(limit),
    );
    let mut n = 0;
    while let Some(s) = b.next_step()? {
        assert!(s.index.is_sorted() && s.index.windows(2).all(|w| w[0] < w[1]));
        n += s.index.len() as u64;
    }
    Ok(n)
}

fn all_readers(bytes: &[u8]) {
    let src = || ByteSource::from_bytes(bytes.to_vec(), "fuzz");
    let results: Vec<Result<u64>> = vec![
        drain(npy::Reader::new(src()).map(|r| Box::new(r) as Box<dyn EventReader>)),
        drain(aedat::Reader::new(src(), AedatChip::Raw).map(|r| Box::new(r) as _)),
        drain(aedat::Reader::new(src(), AedatChip::Dvs128).map(|r| Box::new(r) as _)),
        drain(evt2::Reader::new(src()).map(|r| Box::new(r) as _)),
        drain(nmnist::Reader::new(src()).map(|r| Box::new(r) as _)),
        bin_all(npy::Reader::new(src()).map(|r| Box::new(r) as _)),
        bin_all(aedat::Reader::new(src(), AedatChip::Dvs128).map(|r| Box::new(r) as _)),
        bin_all(evt2::Reader::new(src()).map(|r| Box::new(r) as _)),
        bin_all(nmnist::Reader::new(src()).map(|r| Box::new(r) as _)),
    ];
    for r in results {
        if let Err(e) = r {
            assert!(
                matches!(e, Error::Input(_)),
                "bad bytes must give an input error, got {e}"
            );
        }
    }
}

/// A mutation of a valid file: flip bytes, truncate, or splice in random bytes.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let n = base.len();
    (
        prop::collection::vec((0..n, any::<u8>()), 0..6),
        0..=n,
        prop::collection::vec(any::<u8>(), 0..16),
        0..=n,
    )
        .prop_map(move |(flips, cut, insert, at)| {
            let mut b = base.clone();
            for (i, v) in flips {
                b[i] = v;
            }
            let at = at.min(cut);
            b.truncate(cut);
            b.splice(at..at, insert);
            b
        })
}

const SAMPLES: &[&str] = &[
    "eligo.npy",
    "eligo_p.npy",
    "tonic_vision.npy",
    "tonic_audio.npy",
    "dvs128.aedat",
    "evt2.raw",
    "nmnist.bin",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        all_readers(&bytes);
    }

    #[test]
    fn random_bytes_after_a_valid_start(
        magic in prop::sample::select(vec![
            &b"\x93NUMPY\x01\x00"[..], b"\x93NUMPY\x02\x00", b"#!AER-DAT2.0\r\n", b"% evt 2.0\n",
        ]),
        rest in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut b = magic.to_vec();
        b.extend_from_slice(&rest);
        all_readers(&b);
    }

    #[test]
    fn mutated_samples(
        (name, bytes) in prop::sample::select(SAMPLES.to_vec())
            .prop_flat_map(|name| (Just(name), mutated(sample(name))))
    ) {
        let _ = name;
        all_readers(&bytes);
    }
}

/// A header that claims 2^60 events is refused before anything is allocated.
#[test]
fn huge_declared_count_allocates_nothing() {
    let dict = "{'descr': [('t', '<u8'), ('addr', '<u4')], 'fortran_order': False, \
                'shape': (1152921504606846976,), }";
    let mut b = npy::MAGIC.to_vec();
    b.extend_from_slice(&[1, 0]);
    b.extend_from_slice(&(dict.len() as u16 + 1).to_le_bytes());
    b.extend_from_slice(dict.as_bytes());
    b.push(b'\n');
    let e = npy::Reader::new(ByteSource::from_bytes(b.clone(), "huge.npy"))
        .err()
        .expect("refused");
    assert!(e.to_string().contains("truncated"), "{e}");
    // and a stream of unknown length fails at its end, having held one buffer only
    let src = ByteSource::from_reader(Box::new(std::io::Cursor::new(b)), "pipe".as_ref());
    let e = drain(npy::Reader::new(src).map(|r| Box::new(r) as _)).unwrap_err();
    assert!(e.to_string().contains("declares"), "{e}");
}
