//! `eligo simulate --plot`: `raster.png`, `rates.png` and `voltage.png` exist, are PNGs of the
//! expected size and are not blank; `summary.json`'s `rates_hz` equals the spikes counted in the
//! recorded files over neurons x duration.

use std::path::Path;

use super::common::{arg, eligo, ok};
use super::train_plots::inspect;

/// 300 ms at 0.1 ms: Poisson input onto 300 current-based LIF neurons, and an unrecorded
/// inhibitory population; the input and `exc` spikes and `v` of six `exc` neurons recorded.
const NET: &str = r#"
dt_ms = 0.1
duration_ms = 300.0
seed = 7

[[population]]
name = "input"
model = "poisson"
size = 50
rate_hz = 40.0

[[population]]
name = "exc"
model = "lif_exp"
size = 300
e_l_mv = -65.0
v_th_mv = -50.0
v_reset_mv = -65.0
tau_m_ms = 20.0
t_ref_ms = 2.0
v_init = { kind = "uniform", low = -65.0, high = -50.0 }

[[population]]
name = "inh"
model = "lif_exp"
size = 40
e_l_mv = -65.0
v_th_mv = -50.0
v_reset_mv = -65.0
tau_m_ms = 10.0
t_ref_ms = 1.0
v_init = { kind = "uniform", low = -65.0, high = -50.0 }

[[projection]]
from = "input"
to = "exc"
rule = "fixed_indegree"
k = 20
weight = { kind = "normal", mean = 4.0, std = 0.5 }
delay_ms = 0.5

[[projection]]
from = "exc"
to = "inh"
rule = "fixed_probability"
p = 0.2
weight = 2.0
delay_ms = 1.0
"#;

const RECORDERS: &str = r#"
[[recorder]]
population = "input"
kind = "spikes"

[[recorder]]
population = "exc"
kind = "spikes"

[[recorder]]
population = "exc"
kind = "state"
variable = "v"
neurons = [0, 1, 2, 3, 4, 5]
"#;

/// Run `simulate` on `net` with `extra` arguments; returns the output directory's summary.
fn simulate(dir: &Path, net: &str, extra: &[&str]) -> serde_json::Value {
    let cfg = dir.join("net.toml");
    std::fs::write(&cfg, net).unwrap();
    let out = dir.join("out");
    let mut args = vec!["simulate", arg(&cfg), "--out", arg(&out), "--quiet"];
    args.extend(extra);
    let o = eligo(&args);
    ok(&o);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("not written"), "plot warning: {stderr}");
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

fn pngs(out: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png") || n.ends_with(".tmp"))
        .collect();
    v.sort();
    v
}

#[test]
fn simulate_plot_writes_raster_rates_and_voltage() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), &format!("{NET}{RECORDERS}"), &["--plot"]);
    let out = dir.path().join("out");
    // 350 raster rows: the figure is 600 px high; one panel of state traces: 120 + 280 px
    for (name, size) in [
        ("raster.png", (1200, 600)),
        ("rates.png", (1200, 600)),
        ("voltage.png", (1200, 400)),
    ] {
        let (w, h, colours) = inspect(&out.join(name));
        assert_eq!((w, h), size, "{name}");
        assert!(colours >= 8, "{name}: only {colours} distinct colours");
    }
    // written with the rest of the set: no temporary file is left
    assert_eq!(pngs(&out), ["raster.png", "rates.png", "voltage.png"]);

    // off by default
    let plain = tempfile::tempdir().unwrap();
    simulate(plain.path(), &format!("{NET}{RECORDERS}"), &[]);
    assert!(pngs(&plain.path().join("out")).is_empty());
}

/// Records of a structured spike `.npy` (`t`, `addr`): the count its header gives, checked
/// against the file's length.
fn npy_records(path: &Path) -> u64 {
    let b = std::fs::read(path).unwrap();
    assert!(b.starts_with(b"\x93NUMPY"), "{}", path.display());
    let (len, start) = match b[6] {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(&b[start..start + len]).unwrap();
    let shape = header.split("'shape': (").nth(1).unwrap();
    let n: u64 = shape.split(',').next().unwrap().trim().parse().unwrap();
    // the record size from the descr: the sum of its fields' byte sizes
    let descr = header.split("'descr':").nth(1).unwrap();
    let descr = &descr[..descr.find(']').unwrap()];
    let record: u64 = descr
        .split('\'')
        .filter(|f| f.len() >= 3 && (f.starts_with('<') || f.starts_with('|')))
        .map(|f| f[2..].parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        (b.len() - start - len) as u64,
        n * record,
        "{}: {n} records of {record} bytes",
        path.display()
    );
    n
}

#[test]
fn summary_rates_equal_the_recorded_spikes() {
    let dir = tempfile::tempdir().unwrap();
    let summary = simulate(dir.path(), &format!("{NET}{RECORDERS}"), &["--plot"]);
    let out = dir.path().join("out");
    let rates = &summary["rates_hz"];
    let seconds = 0.3;
    for (pop, size) in [("input", 50.0), ("exc", 300.0)] {
        let n = npy_records(&out.join(format!("spikes_{pop}.npy")));
        assert!(
            n > 100,
            "{pop}: only {n} spikes, the test would show little"
        );
        let expected = n as f64 / (size * seconds);
        let got = rates[pop]
            .as_f64()
            .unwrap_or_else(|| panic!("{pop}: {rates}"));
        assert!(
            (got - expected).abs() <= 1e-12 * expected,
            "{pop}: rates_hz {got}, counted {expected}"
        );
    }
    // the unrecorded population is counted too; the readout-free net has exactly these three
    let inh = rates["inh"].as_f64().unwrap();
    let spikes = summary["populations"][2]["spikes"].as_f64().unwrap();
    assert_eq!(summary["populations"][2]["name"], "inh");
    assert!((inh - spikes / (40.0 * seconds)).abs() <= 1e-12 * inh.max(1.0));
    assert_eq!(rates.as_object().unwrap().len(), 3, "{rates}");
}

/// Whether the RGB PNG at `path` has a pixel of colour `rgb`.
fn has_colour(path: &Path, rgb: [u8; 3]) -> bool {
    let bytes = std::fs::read(path).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf[..info.buffer_size()].chunks(3).any(|px| px == rgb)
}

#[test]
fn plot_without_spike_recorders_records_for_the_plots_only() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), NET, &["--plot"]);
    let out = dir.path().join("out");
    // input, exc, inh: 50 + 200 + 40 rows of the raster, each population in its colour (the
    // Tableau blue, orange, green)
    let path = out.join("raster.png");
    let (w, h, colours) = inspect(&path);
    assert_eq!((w, h), (1200, 600));
    assert!(colours >= 8, "only {colours} distinct colours");
    for rgb in [[31, 119, 180], [255, 127, 14], [44, 160, 44]] {
        assert!(has_colour(&path, rgb), "no pixel of colour {rgb:?}");
    }
    // no state recorder: no voltage.png; no spike file was asked for: none written
    assert_eq!(pngs(&out), ["raster.png", "rates.png"]);
    let npy = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("npy".as_ref()))
        .count();
    assert_eq!(npy, 0);
}
