//! `eligo train` draws its plots: `loss.png` and `sample.png` exist, are PNGs of the expected size
//! and are not blank.

use std::path::Path;
use std::process::Command;

/// Width, height and the number of distinct RGB(A) pixel values of the PNG at `path`, after
/// checking its signature and IHDR chunk by hand (the decoder would accept less).
fn inspect(path: &Path) -> (u32, u32, usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{}: not a PNG signature",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR", "{}: first chunk", path.display());
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    let (w, h) = (be(16), be(20));

    let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes))
        .read_info()
        .expect("decodable");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("one frame");
    assert_eq!((info.width, info.height), (w, h));
    let px = info.color_type.samples();
    let mut distinct: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    distinct.sort_unstable();
    distinct.dedup();
    (w, h, distinct.len())
}

#[test]
fn train_writes_loss_and_sample_plots() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_eligo"))
        .args([
            "train",
            "--scale",
            "0.2",
            "--iterations",
            "3",
            "--batch",
            "4",
        ])
        .args(["--threads", "2", "--quiet", "--out"])
        .arg(&out)
        .output()
        .expect("eligo runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "eligo train failed: {stderr}");
    assert!(!stderr.contains("not written"), "plot warning: {stderr}");
    for (name, size) in [("loss.png", (1200, 800)), ("sample.png", (1200, 900))] {
        let path = out.join(name);
        let (w, h, colours) = inspect(&path);
        assert_eq!((w, h), size, "{name}");
        // white background, black text and axes, coloured lines and spikes, antialiased edges
        assert!(colours >= 8, "{name}: only {colours} distinct colours");
    }
    // written atomically: no temporary file is left
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
