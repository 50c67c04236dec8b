//! Question: how fast does Eligo read and bin recorded event streams, per format, and does
//! memory stay bounded whatever the file size?
//!
//! For each format, a file of `ELIGO_BENCH_EVENTS` events (default 10^8) is generated in a
//! temporary directory (streaming, so generation itself stays small), then read twice from the
//! page cache on one core:
//! - **read**: decode every event into chunks (`EventReader::next_chunk`, time-order check),
//! - **read + bin**: the replay pipeline — decode, check, address map, bin to dt = 1 ms with the
//!   clip policy, sorted neuron lists per step (`Binner::next_step`).
//!
//! It prints events/s and the peak RSS (VmHWM, reset before each measurement through
//! /proc/self/clear_refs). Run: `cargo bench -p eligo-bench --bench events_read`
//! (`ELIGO_BENCH_EVENTS=10000000` for a quick run). Goal: >= 1e8 events/s for .npy and EVT 2.0.
//! Recorded answers: bench/README.md.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use eligo_engine::io::events::replay::{ReplayOptions, binner};
use eligo_engine::io::events::{
    AeEvent, AedatChip, Checked, EventReader, MapSpec, ReadOptions, aedat, npy, open,
};

/// Events per generated step-worth of data: 10^4 events per 1 ms (10 Mev/s, a busy sensor).
const PER_MS: u64 = 10_000;

fn rng(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Eligo-like recording: 10^4 spikes per 1 ms step at t = step * 1000, ascending addresses
/// among 10^5 neurons (as `simulate` writes them).
fn eligo_event(i: u64, x: &mut u64) -> AeEvent {
    let (step, k) = (i / PER_MS, i % PER_MS);
    AeEvent::addr(step * 1000, (k * 10 + rng(x) % 10) as u32)
}

/// Sensor-like stream: 10 events per µs on a 640 x 480 sensor, random pixels.
fn sensor_event(i: u64, x: &mut u64) -> AeEvent {
    let r = rng(x);
    AeEvent::xyp(
        i / 10,
        (r % 640) as u32,
        ((r >> 16) % 480) as u16,
        ((r >> 40) & 1) as u8,
    )
}

fn generate(dir: &Path, n: u64) -> Vec<(&'static str, PathBuf, ReplayOptions)> {
    let mut out = Vec::new();
    let chunk = 1 << 16;
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut buf = Vec::with_capacity(chunk);

    // Eligo .npy
    let p = dir.join("eligo.npy");
    let mut w = npy::Writer::create(&p, false).unwrap();
    let mut i = 0;
    while i < n {
        buf.clear();
        buf.extend((i..(i + chunk as u64).min(n)).map(|j| eligo_event(j, &mut x)));
        w.write(&buf).unwrap();
        i += buf.len() as u64;
    }
    w.finish().unwrap();
    out.push(("Eligo .npy (t, addr)", p, ReplayOptions::default()));

    // EVT 2.0 (encoded chunk by chunk; one time-high word per 64 µs)
    let p = dir.join("sensor.raw");
    let mut f = BufWriter::new(File::create(&p).unwrap());
    f.write_all(b"% evt 2.0\n% format EVT2;height=480;width=640\n% end\n")
        .unwrap();
    let mut high = u64::MAX;
    let mut i = 0;
    let mut words = Vec::with_capacity(chunk * 4);
    while i < n {
        words.clear();
        for j in i..(i + chunk as u64).min(n) {
            let e = sensor_event(j, &mut x);
            if e.t >> 6 != high {
                high = e.t >> 6;
                words
                    .extend_from_slice(&((8u32 << 28) | (high as u32 & 0x0FFF_FFFF)).to_le_bytes());
            }
            let w =
                (u32::from(e.p) << 28) | (((e.t & 63) as u32) << 22) | (e.x << 11) | u32::from(e.y);
            words.extend_from_slice(&w.to_le_bytes());
        }
        f.write_all(&words).unwrap();
        i = (i + chunk as u64).min(n);
    }
    f.flush().unwrap();
    drop(f);
    out.push(("Prophesee EVT 2.0", p, ReplayOptions::default()));

    // AEDAT 2.0 with DVS128 addresses
    let p = dir.join("dvs.aedat");
    let mut w = aedat::Writer::create(&p).unwrap();
    let mut i = 0;
    while i < n {
        buf.clear();
        buf.extend((i..(i + chunk as u64).min(n)).map(|j| {
            let e = sensor_event(j, &mut x);
            AeEvent::addr(
                e.t,
                u32::from(e.p) | (e.x % 128) << 1 | (u32::from(e.y) % 128) << 8,
            )
        }));
        w.write(&buf).unwrap();
        i += buf.len() as u64;
    }
    w.finish().unwrap();
    let o = ReplayOptions {
        read: ReadOptions {
            aedat_chip: AedatChip::Dvs128,
            ..ReadOptions::default()
        },
        ..ReplayOptions::default()
    };
    out.push(("AEDAT 2.0 (DVS128 layout)", p, o));

    // N-MNIST .bin (23-bit timestamps; an overflow marker every 2^13 µs)
    let p = dir.join("nmnist.bin");
    let mut f = BufWriter::new(File::create(&p).unwrap());
    let mut epoch = 0u64;
    let mut rec = Vec::with_capacity(chunk * 5);
    let mut i = 0;
    while i < n {
        rec.clear();
        for j in i..(i + chunk as u64).min(n) {
            let e = sensor_event(j, &mut x);
            while e.t >= epoch + (1 << 13) {
                rec.extend_from_slice(&[0, 240, 0, 0, 0]);
                epoch += 1 << 13;
            }
            let ts = e.t - epoch;
            rec.extend_from_slice(&[
                (e.x % 34) as u8,
                (e.y % 34) as u8,
                (e.p << 7) | (ts >> 16) as u8,
                (ts >> 8) as u8,
                ts as u8,
            ]);
        }
        f.write_all(&rec).unwrap();
        i = (i + chunk as u64).min(n);
    }
    f.flush().unwrap();
    drop(f);
    out.push(("N-MNIST .bin", p, ReplayOptions::default()));

    // tonic .npy (x <i2, y <i2, t <i8, p |b1): the generic field path
    let p = dir.join("tonic.npy");
    let mut f = BufWriter::new(File::create(&p).unwrap());
    let dict = format!(
        "{{'descr': [('x', '<i2'), ('y', '<i2'), ('t', '<i8'), ('p', '|b1')], 'fortran_order': False, 'shape': ({n},), }}"
    );
    let len = (10 + dict.len() + 1).div_ceil(64) * 64;
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    h.extend_from_slice(&((len - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(len - 1, b' ');
    h.push(b'\n');
    f.write_all(&h).unwrap();
    let mut i = 0;
    while i < n {
        rec.clear();
        for j in i..(i + chunk as u64).min(n) {
            let e = sensor_event(j, &mut x);
            rec.extend_from_slice(&(e.x as i16).to_le_bytes());
            rec.extend_from_slice(&(e.y as i16).to_le_bytes());
            rec.extend_from_slice(&(e.t as i64).to_le_bytes());
            rec.push(e.p);
        }
        f.write_all(&rec).unwrap();
        i = (i + chunk as u64).min(n);
    }
    f.flush().unwrap();
    drop(f);
    let o = ReplayOptions {
        map: MapSpec {
            width: Some(640),
            height: Some(480),
            ..MapSpec::default()
        },
        ..ReplayOptions::default()
    };
    out.push(("tonic .npy (x, y, t, p)", p, o));
    out
}

/// Peak RSS in MiB since the last reset.
fn vm_hwm_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU time of this (single-threaded) process in seconds, from /proc/self/schedstat (ns): the
/// machine is shared, so rates are given per CPU-second as well as per wall-second.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |ns| ns * 1e-9)
}

fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() {
    let n: u64 = std::env::var("ELIGO_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000_000);
    // `cargo bench` passes --bench; a filter argument selects formats by substring
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let dir = std::env::temp_dir().join(format!("eligo-bench-events-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = Instant::now();
    let files = generate(&dir, n);
    eprintln!(
        "generated {n} events per format in {:.1} s in {}",
        t.elapsed().as_secs_f64(),
        dir.display()
    );
    println!(
        "| format | file MB | read Mev/s (wall / CPU) | read+bin Mev/s (wall / CPU) | spikes after clip | peak RSS read / read+bin (MiB) |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, path, opts) in &files {
        if filter
            .as_ref()
            .is_some_and(|f| !name.to_lowercase().contains(&f.to_lowercase()))
        {
            continue;
        }
        let mb = std::fs::metadata(path).map_or(0, |m| m.len()) as f64 / 1e6;
        // warm the page cache
        let _ = std::fs::read(path).map(|b| b.len());

        reset_hwm();
        let (t, c) = (Instant::now(), cpu_s());
        let mut r = Checked::new(
            open(
                path,
                &ReadOptions {
                    ..opts.read.clone()
                },
            )
            .unwrap(),
            path,
        );
        let mut chunk = Vec::new();
        let mut count = 0u64;
        let mut tsum = 0u64;
        while r.next_chunk(&mut chunk).unwrap() {
            count += chunk.len() as u64;
            tsum = tsum.wrapping_add(chunk.last().map_or(0, |e| e.t));
        }
        let (read_s, read_c) = (t.elapsed().as_secs_f64(), cpu_s() - c);
        let read_rss = vm_hwm_mib();
        assert_eq!(count, n, "{name}");
        std::hint::black_box(tsum);

        reset_hwm();
        let (t, c) = (Instant::now(), cpu_s());
        let mut b = binner(path, opts, 1000, None).unwrap();
        let mut spikes = 0u64;
        while let Some(s) = b.next_step().unwrap() {
            spikes += s.index.len() as u64;
        }
        let (bin_s, bin_c) = (t.elapsed().as_secs_f64(), cpu_s() - c);
        let bin_rss = vm_hwm_mib();
        println!(
            "| {name} | {mb:.0} | {:.0} / {:.0} | {:.0} / {:.0} | {spikes} | {read_rss:.0} / {bin_rss:.0} |",
            n as f64 / read_s / 1e6,
            n as f64 / read_c / 1e6,
            n as f64 / bin_s / 1e6,
            n as f64 / bin_c / 1e6,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
