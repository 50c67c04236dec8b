//! `.npy`/`.npz` inputs as NumPy writes them and as a hostile user crafts them: Fortran order,
//! weights that do not fit the network, zip bombs, headers declaring more than the file holds.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use eligo_engine::io::npy::{Event, Npy, write_events};
use eligo_engine::io::npz::{self, Out};
use eligo_engine::io::{config, weights};
use eligo_engine::network::Network;

const NET: &str = r#"
dt_ms = 1.0
duration_ms = 20.0
seed = 3

[[population]]
name = "in"
model = "external"
size = 3

[[population]]
name = "rec"
model = "lif"
size = 4

[[population]]
name = "out"
model = "readout"
size = 2

[[projection]]
from = "in"
to = "rec"
rule = "all_to_all"
weight = { kind = "normal", mean = 0.3, std = 0.1 }

[[projection]]
from = "rec"
to = "out"
rule = "all_to_all"
weight = { kind = "normal", mean = 0.0, std = 0.3 }
"#;

/// `.npy` bytes exactly as NumPy 1.0 format writes them: magic, version, header length, the
/// dict padded with spaces to a multiple of 64 bytes and ended by a newline, then `payload`.
fn npy(descr: &str, fortran: bool, shape: &str, payload: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    let total = (10 + dict.len() + 1).div_ceil(64) * 64;
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    b.extend_from_slice(dict.as_bytes());
    b.resize(total - 1, b' ');
    b.push(b'\n');
    b.extend_from_slice(payload);
    b
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// An `.npz` holding `members` (name without `.npy`, raw bytes), stored uncompressed.
fn npz_bytes(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in members {
        zip.start_file(format!("{name}.npy"), opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    buf.into_inner()
}

struct Setup {
    dir: tempfile::TempDir,
    net_path: PathBuf,
    net: Network,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let net_path = dir.path().join("net.toml");
    std::fs::write(&net_path, NET).unwrap();
    let net = config::load(&net_path).unwrap().network.build().unwrap();
    Setup { dir, net_path, net }
}

/// The members of `net`'s own weights file, as raw `.npy` bytes.
fn own_members(net: &Network) -> Vec<(String, Vec<u8>)> {
    let p = tempfile::NamedTempFile::new().unwrap();
    weights::save(p.path(), net, &weights::default_biases(net)).unwrap();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(p.path()).unwrap()).unwrap();
    let mut out = Vec::new();
    for k in 0..zip.len() {
        let mut e = zip.by_index(k).unwrap();
        let name = e.name().unwrap().strip_suffix(".npy").unwrap().to_string();
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut b).unwrap();
        out.push((name, b));
    }
    out
}

/// `eligo grad` on the test network with regression targets and the given extra arguments.
fn grad(s: &Setup, targets: &Path, extra: &[&str]) -> Output {
    let input = s.dir.path().join("in.npy");
    write_events(
        &input,
        &[Event { t: 0, addr: 1 }, Event { t: 3000, addr: 2 }],
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_eligo"))
        .arg("grad")
        .arg(&s.net_path)
        .arg("--input")
        .arg(&input)
        .arg("--targets")
        .arg(targets)
        .args(["--rule", "eprop", "--out"])
        .arg(s.dir.path().join("g.npz"))
        .args(extra)
        .output()
        .unwrap()
}

fn good_targets(s: &Setup) -> PathBuf {
    let t = s.dir.path().join("t.npy");
    std::fs::write(&t, npy("<f4", false, "(20, 2)", &f32_bytes(&[0.25; 40]))).unwrap();
    t
}

fn refused(o: &Output, must: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for m in must {
        assert!(err.contains(m), "{m:?} missing from: {err}");
    }
}

#[test]
fn fortran_order_is_transposed_on_read() {
    // [[1, 2, 3], [4, 5, 6]] as NumPy stores it in Fortran order (column after column)
    let bytes = npy(
        "<f4",
        true,
        "(2, 3)",
        &f32_bytes(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]),
    );
    // the header NumPy writes for this array: 128 bytes, then 24 of data
    assert_eq!(bytes.len(), 128 + 24);
    let (shape, v) = Npy::parse(&bytes).unwrap().values::<f32>().unwrap();
    assert_eq!(shape, [2, 3]);
    assert_eq!(v, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    // 3-D: a[i, j, k] = 100 i + 10 j + k, shape (2, 3, 2), stored with i fastest, then j, k
    let mut stored = Vec::new();
    for k in 0..2 {
        for j in 0..3 {
            for i in 0..2 {
                stored.push((100 * i + 10 * j + k) as f32);
            }
        }
    }
    let b3 = npy("<f4", true, "(2, 3, 2)", &f32_bytes(&stored));
    let (_, v) = Npy::parse(&b3).unwrap().values::<f32>().unwrap();
    assert_eq!(
        v,
        [
            0.0, 1.0, 10.0, 11.0, 20.0, 21.0, 100.0, 101.0, 110.0, 111.0, 120.0, 121.0
        ]
    );

    // a dense weight array saved as `W.T` of a [pre, post] matrix is Fortran order:
    // rec->out is [n_post, n_pre] = [2, 4]; W[j, i] = j + 0.125 i
    let s = setup();
    let mut stored = Vec::new();
    for i in 0..4 {
        for j in 0..2 {
            stored.push(j as f32 + 0.125 * i as f32);
        }
    }
    let mut members: Vec<_> = own_members(&s.net)
        .into_iter()
        .filter(|(n, _)| !n.starts_with("rec->out/"))
        .collect();
    members.push((
        "rec->out".into(),
        npy("<f4", true, "(2, 4)", &f32_bytes(&stored)),
    ));
    let w = s.dir.path().join("w.npz");
    std::fs::write(&w, npz_bytes(&members)).unwrap();
    let mut net = s.net.clone();
    let mut b = weights::default_biases(&net);
    weights::load(&w, &mut net, &mut b).unwrap();
    // CSR by presynaptic neuron i, targets j ascending
    assert_eq!(
        net.projections[1].weights,
        [0.0, 1.0, 0.125, 1.125, 0.25, 1.25, 0.375, 1.375]
    );

    // and grad's --targets: [20, 2] in Fortran order is read as NumPy means it
    let t = s.dir.path().join("tf.npy");
    let mut stored = vec![0.0f32; 40];
    for r in 0..20 {
        for c in 0..2 {
            stored[c * 20 + r] = (r * 2 + c) as f32;
        }
    }
    std::fs::write(&t, npy("<f4", true, "(20, 2)", &f32_bytes(&stored))).unwrap();
    let tc = s.dir.path().join("tc.npy");
    let plain: Vec<f32> = (0..40).map(|k| k as f32).collect();
    std::fs::write(&tc, npy("<f4", false, "(20, 2)", &f32_bytes(&plain))).unwrap();
    let of = grad(&s, &t, &[]);
    assert!(
        of.status.success(),
        "{}",
        String::from_utf8_lossy(&of.stderr)
    );
    let gf = std::fs::read(s.dir.path().join("g.npz")).unwrap();
    let oc = grad(&s, &tc, &[]);
    assert!(
        oc.status.success(),
        "{}",
        String::from_utf8_lossy(&oc.stderr)
    );
    let gc = std::fs::read(s.dir.path().join("g.npz")).unwrap();
    assert!(gf == gc, "Fortran-order targets gave other gradients");
}

#[test]
fn weights_data_of_the_wrong_length_is_refused() {
    let s = setup();
    let t = good_targets(&s);
    let w = s.dir.path().join("w.npz");
    // one weight fewer than rec->out has synapses (8), indptr and indices intact
    let mut arrays = weights::arrays(&s.net, &weights::default_biases(&s.net), "");
    arrays.insert("rec->out/data".into(), Out::F32(vec![7], vec![0.5; 7]));
    npz::write(&w, &arrays).unwrap();
    let o = grad(&s, &t, &["--weights", w.to_str().unwrap()]);
    refused(&o, &["w.npz", "rec->out/data", "[7]", "[8]"]);
    // and one too many
    arrays.insert("rec->out/data".into(), Out::F32(vec![9], vec![0.5; 9]));
    npz::write(&w, &arrays).unwrap();
    refused(
        &grad(&s, &t, &["--weights", w.to_str().unwrap()]),
        &["rec->out/data", "[9]", "[8]"],
    );
    // indices of the right length but another target
    let mut arrays = weights::arrays(&s.net, &weights::default_biases(&s.net), "");
    let mut idx = s.net.projections[0].targets.clone();
    idx[5] = 9;
    arrays.insert("in->rec/indices".into(), Out::U32(vec![12], idx));
    npz::write(&w, &arrays).unwrap();
    refused(
        &grad(&s, &t, &["--weights", w.to_str().unwrap()]),
        &["in->rec/indices[5]", "9", "another network"],
    );
    // float indices, and a bias beyond float32
    let mut arrays = weights::arrays(&s.net, &weights::default_biases(&s.net), "");
    let ip: Vec<f64> = s.net.projections[0]
        .indptr
        .iter()
        .map(|&x| x.into())
        .collect();
    arrays.insert("in->rec/indptr".into(), Out::F64(vec![4], ip));
    npz::write(&w, &arrays).unwrap();
    refused(
        &grad(&s, &t, &["--weights", w.to_str().unwrap()]),
        &["in->rec/indptr", "<f8", "integer"],
    );
    let mut arrays = weights::arrays(&s.net, &weights::default_biases(&s.net), "");
    arrays.insert("out/bias".into(), Out::F64(vec![2], vec![0.0, 1e39]));
    npz::write(&w, &arrays).unwrap();
    refused(
        &grad(&s, &t, &["--weights", w.to_str().unwrap()]),
        &["out/bias", "finite float32"],
    );
}

/// A zip whose `name.npy` member is a `<f4` header for `n` values followed by `n` zero floats,
/// deflated (zeros compress about 1000:1).
fn bomb(s: &Setup, n: u64) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    for (name, b) in own_members(&s.net) {
        if name == "in->rec/data" {
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .compression_level(Some(6));
            zip.start_file("in->rec/data.npy", opts).unwrap();
            zip.write_all(&npy("<f4", false, &format!("({n},)"), &[]))
                .unwrap();
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..(n * 4) >> 20 {
                zip.write_all(&zeros).unwrap();
            }
        } else {
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            zip.start_file(format!("{name}.npy"), opts).unwrap();
            zip.write_all(&b).unwrap();
        }
    }
    zip.finish().unwrap();
    buf.into_inner()
}

/// Set the uncompressed size that the local header and the central directory record of
/// `member` declare to `size`.
fn lie_about_size(zip: &mut [u8], member: &str, size: u32) {
    let name = member.as_bytes();
    let mut patched = 0;
    for at in 0..zip.len().saturating_sub(46 + name.len()) {
        if zip[at..].starts_with(b"PK\x03\x04") && &zip[at + 30..at + 30 + name.len()] == name {
            zip[at + 22..at + 26].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
        if zip[at..].starts_with(b"PK\x01\x02") && &zip[at + 46..at + 46 + name.len()] == name {
            zip[at + 24..at + 28].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2);
}

#[test]
fn a_zip_bomb_member_is_refused_at_its_bound() {
    let s = setup();
    // in->rec has 12 synapses; its data member inflates to 1 GiB
    let n = 1u64 << 28;
    let mut bytes = bomb(&s, n);
    assert!(bytes.len() < 2 << 20, "{} bytes", bytes.len());
    let w = s.dir.path().join("bomb.npz");
    std::fs::write(&w, &bytes).unwrap();
    let bound = npz::member_bound(12);
    let mut net = s.net.clone();
    let mut b = weights::default_biases(&net);
    let e = weights::load(&w, &mut net, &mut b).unwrap_err().to_string();
    assert!(
        e.contains("bomb.npz")
            && e.contains("in->rec/data.npy")
            && e.contains(&format!(
                "{} bytes",
                npy("<f4", false, &format!("({n},)"), &[]).len() as u64 + 4 * n
            ))
            && e.contains(&format!("at most {bound} bytes")),
        "{e}"
    );
    // the declared size lies (says 100 bytes): inflation stops there (the zip reader checks
    // it, and the bound cuts it again), it never reaches the gigabyte
    lie_about_size(&mut bytes, "in->rec/data.npy", 100);
    std::fs::write(&w, &bytes).unwrap();
    let t0 = std::time::Instant::now();
    let e = weights::load(&w, &mut net, &mut b).unwrap_err();
    assert!(e.is_input(), "{e}");
    let e = e.to_string();
    assert!(
        e.contains("in->rec/data.npy") && e.contains("declared"),
        "{e}"
    );
    // only the bound was inflated, not the gigabyte
    assert!(t0.elapsed().as_secs_f64() < 0.5, "{:?}", t0.elapsed());
    assert_eq!(
        net.projections, s.net.projections,
        "weights changed on error"
    );
    // the CLI says so with exit 2
    refused(
        &grad(&s, &good_targets(&s), &["--weights", w.to_str().unwrap()]),
        &["bomb.npz", "in->rec/data.npy"],
    );
}

#[test]
fn headers_declaring_more_than_the_file_holds_are_refused() {
    let s = setup();
    let t = s.dir.path().join("t.npy");
    // a trillion rows in a 100-byte file: nothing that size may be allocated
    std::fs::write(&t, npy("<f4", false, "(1000000000000, 2)", &[0; 36])).unwrap();
    refused(&grad(&s, &t, &[]), &["t.npy", "truncated", "36"]);
    // a shape whose product overflows 64 bits
    std::fs::write(
        &t,
        npy("<f4", false, "(4294967296, 4294967296, 2)", &[0; 8]),
    )
    .unwrap();
    refused(&grad(&s, &t, &[]), &["t.npy", "4294967296"]);
    // truncated data, negative and non-integer dimensions, a 4 GB header length
    std::fs::write(&t, npy("<f4", false, "(20, 2)", &[0; 100])).unwrap();
    refused(&grad(&s, &t, &[]), &["t.npy", "truncated", "160", "100"]);
    std::fs::write(&t, npy("<f4", false, "(-20, 2)", &[0; 100])).unwrap();
    refused(&grad(&s, &t, &[]), &["t.npy", "negative"]);
    let mut big = b"\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr'".to_vec();
    big.resize(200, b' ');
    std::fs::write(&t, &big).unwrap();
    refused(&grad(&s, &t, &[]), &["t.npy", "10000"]);
    // the same for a weights member: a dense rec->out declaring 10^12 values
    let mut members: Vec<_> = own_members(&s.net)
        .into_iter()
        .filter(|(n, _)| !n.starts_with("rec->out/"))
        .collect();
    members.push((
        "rec->out".into(),
        npy("<f4", false, "(1000000, 1000000)", &[0; 32]),
    ));
    let w = s.dir.path().join("w.npz");
    std::fs::write(&w, npz_bytes(&members)).unwrap();
    refused(
        &grad(&s, &good_targets(&s), &["--weights", w.to_str().unwrap()]),
        &["w.npz", "rec->out.npy", "truncated"],
    );
}
