//! What the fuzz targets share: a scratch directory for the parsers that read paths, the size cap
//! that keeps fuzzed networks tiny, the small fixed networks the weight and checkpoint loaders
//! are fed against, and the container that splits one input into a checkpoint's four files.
//!
//! Every target asserts one thing: bad bytes give an `Err`, never a panic, an abort, a hang or
//! an allocation the size of a number read from the input.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use eligo_engine::io::config::SimConfig;
use eligo_engine::io::events::{
    self, AddressMap, BinPolicy, Binner, ByteSource, Checked, EventReader, Limit, MapSpec, TimeMap,
};
use eligo_engine::network::{Network, NetworkSpec};
use eligo_engine::neuron::{LifParams, ModelSpec};
use eligo_engine::optim::{Loss, Method};
use eligo_engine::plugin::{Plugin, config as rule_config};
use eligo_engine::task::{self, Defaults, Kind, Sample, Split, Task};
use eligo_engine::train::checkpoint::{self, Settings, State};
use eligo_engine::train::{TrainConfig, Trainer};

/// A directory of this process for the inputs that must be files (removed at exit by the OS's
/// temp cleaning; one per process, so parallel fuzz jobs do not collide).
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("eligo-fuzz")
            .tempdir()
            .unwrap()
    })
    .path()
}

/// Write `data` to `name` in the scratch directory and return its path.
pub fn file(name: &str, data: &[u8]) -> PathBuf {
    let p = scratch().join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// Largest network the config target builds: neurons in all (each step costs per neuron).
pub const MAX_NEURONS: u64 = 4096;
/// ... bytes by the engine's own estimate (`SimConfig::estimate`: neurons, synapses, drawing
/// buffers, ring buffer, recorders; `fixed_probability` counted at its expected size).
pub const MAX_BYTES: u64 = 8 << 20;
/// ... steps simulated after a successful build.
pub const MAX_STEPS: u64 = 50;

/// Whether `cfg` is small enough to draw and run in a fuzz iteration. Fuzzing finds parser and
/// validation bugs; the size guards for big networks are tested by the normal test suite.
pub fn small(cfg: &SimConfig) -> bool {
    let neurons: u64 = cfg
        .network
        .populations
        .iter()
        .map(|p| u64::from(p.size))
        .sum();
    neurons <= MAX_NEURONS && cfg.estimate(1).is_ok_and(|e| e.total_bytes <= MAX_BYTES)
}

/// Parse, validate, and (when small) build and run a few steps of a network description.
pub fn fuzz_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cfg = eligo_engine::io::config::parse(text);
    if verbose() {
        eprintln!("config::parse: {:?}", cfg.as_ref().map(|c| c.steps));
    }
    if let Ok(cfg) = cfg {
        run_small(&cfg);
    }
}

fn run_small(cfg: &SimConfig) {
    if !small(cfg) {
        return;
    }
    let Ok(net) = cfg.network.build() else {
        return;
    };
    let opts = eligo_engine::sim::SimOptions {
        threads: 1,
        record: cfg.record.clone(),
    };
    let Ok(mut sim) = eligo_engine::sim::Simulation::new(net, &opts) else {
        return;
    };
    let r = sim.run(cfg.steps.min(MAX_STEPS), None);
    if verbose() {
        eprintln!("run: {r:?}, {} spikes", sim.spikes().len());
    }
}

/// Which event reader a target drives.
#[derive(Debug, Clone, Copy)]
pub enum Reader {
    /// Eligo and tonic `.npy` (one reader, told apart by the dtype).
    Npy,
    /// AEDAT 2.0, with the raw and the DVS128 address layout.
    Aedat,
    /// Prophesee EVT 2.0.
    Evt2,
    /// N-MNIST `.bin`.
    NMnist,
}

fn open(kind: Reader, chip: events::AedatChip, data: &[u8]) -> Option<Box<dyn EventReader>> {
    let src = ByteSource::from_bytes(data.to_vec(), "fuzz.in");
    let r: eligo_engine::Result<Box<dyn EventReader>> = match kind {
        Reader::Npy => events::npy::Reader::new(src).map(|r| Box::new(r) as _),
        Reader::Aedat => events::aedat::Reader::new(src, chip).map(|r| Box::new(r) as _),
        Reader::Evt2 => events::evt2::Reader::new(src).map(|r| Box::new(r) as _),
        Reader::NMnist => events::nmnist::Reader::new(src).map(|r| Box::new(r) as _),
    };
    r.ok()
}

/// Decode `data` with `kind`, then (a second pass) map and bin it as `eligo simulate
/// --input-events` would; the map options vary with the input length, so the corpus is the raw
/// files. A stream is drained at most to [`MAX_EVENTS`] events.
pub fn fuzz_events(kind: Reader, data: &[u8]) {
    let chips: &[events::AedatChip] = match kind {
        Reader::Aedat => &[events::AedatChip::Raw, events::AedatChip::Dvs128],
        _ => &[events::AedatChip::Raw],
    };
    for &chip in chips {
        if let Some(mut r) = open(kind, chip, data) {
            let mut out = Vec::new();
            let mut n = 0usize;
            while let Ok(true) = r.next_chunk(&mut out) {
                assert!(out.len() <= events::CHUNK, "chunk of {} events", out.len());
                n += out.len();
                if n > MAX_EVENTS {
                    break;
                }
            }
        }
        let Some(r) = open(kind, chip, data) else {
            continue;
        };
        let v = data.len() % 4;
        let spec = MapSpec {
            pool_x: 1 + (v & 1) as u32,
            pool_y: 1 + (v & 1) as u32,
            merge_polarity: v & 2 != 0,
            ..MapSpec::default()
        };
        let Ok(map) = AddressMap::new(&spec, r.info()) else {
            continue;
        };
        let time = if v == 3 {
            TimeMap::parse(Some("first"), Some("3/2")).unwrap()
        } else {
            TimeMap::default()
        };
        let policy = if v & 1 != 0 {
            BinPolicy::Count
        } else {
            BinPolicy::default()
        };
        let limit = Limit {
            name: "in".into(),
            size: 1 << 16,
        };
        let mut b = Binner::new(
            Checked::new(r, Path::new("fuzz.in")),
            time,
            map,
            1000,
            policy,
            Some(limit),
        );
        let mut steps = 0;
        while let Ok(Some(s)) = b.next_step() {
            assert!(
                s.index.windows(2).all(|w| w[0] < w[1]),
                "indices not ascending"
            );
            steps += 1;
            if steps > MAX_EVENTS {
                break;
            }
        }
    }
}

/// Events (or steps) a reader is drained to per input.
pub const MAX_EVENTS: usize = 1 << 20;

/// The network the weight loader is fed against: a Poisson source, a LIF layer with a random
/// and a list projection, a readout with biases.
pub const WEIGHTS_NET: &str = r#"
dt_ms = 1.0
duration_ms = 10.0
seed = 1
[[population]]
name = "in"
model = "poisson"
size = 3
rate_hz = 50.0
[[population]]
name = "rec"
model = "lif"
size = 4
[[population]]
name = "out"
model = "readout"
size = 2
bias = 0.1
[[projection]]
from = "in"
to = "rec"
rule = "fixed_probability"
p = 0.5
weight = 0.1
[[projection]]
from = "rec"
to = "rec"
rule = "list"
pairs = [[0, 1], [1, 2], [3, 0]]
weight = 0.05
[[projection]]
from = "rec"
to = "out"
rule = "all_to_all"
weight = { kind = "normal", mean = 0.0, std = 0.2 }
"#;

/// The built [`WEIGHTS_NET`].
pub fn weights_net() -> &'static Network {
    static NET: OnceLock<Network> = OnceLock::new();
    NET.get_or_init(|| {
        eligo_engine::io::config::parse(WEIGHTS_NET)
            .unwrap()
            .network
            .build()
            .unwrap()
    })
}

/// Load `data` as a weights `.npz` into a copy of [`weights_net`].
pub fn fuzz_weights(data: &[u8]) {
    let path = file("weights.npz", data);
    let mut net = weights_net().clone();
    let mut biases = eligo_engine::io::weights::default_biases(&net);
    if eligo_engine::io::weights::load(&path, &mut net, &mut biases).is_ok() {
        for (p, q) in net.projections.iter().zip(&weights_net().projections) {
            assert_eq!(p.weights.len(), q.targets.len(), "{}: weights", p.name);
            assert!(p.weights.iter().all(|w| w.is_finite()), "{}", p.name);
        }
    }
}

/// A tiny training task for the checkpoint target: 3 inputs, 4 LIF, 2 readouts, 10 steps.
pub struct TinyTask;

impl Task for TinyTask {
    fn name(&self) -> &'static str {
        "fuzz-tiny"
    }
    fn kind(&self) -> Kind {
        Kind::Regression
    }
    fn steps(&self) -> u64 {
        10
    }
    fn network(&self, seed: u64) -> NetworkSpec {
        task::task_network(
            seed,
            3,
            (4, ModelSpec::Lif(LifParams::default())),
            (2, 20.0),
            1.0,
        )
    }
    fn sample(&self, _split: Split, _index: u64) -> eligo_engine::Result<Sample> {
        Ok(Sample {
            input: vec![(0, 0), (3, 1), (5, 2)],
            loss: Loss::Mse {
                targets: vec![0.1; 20],
            },
            label: None,
            modulators: Vec::new(),
        })
    }
    fn defaults(&self) -> Defaults {
        Defaults {
            method: Method::adam(),
            lr: 1e-3,
            batch: 2,
            iterations: 1,
            rule_params: vec![("c_reg", 0.0), ("f_target_hz", 10.0), ("random_scale", 1.0)],
            stop_below_error: None,
            eval_every: 1,
        }
    }
}

/// The e-prop plugin: `ELIGO_FUZZ_PLUGIN`, else the release build of the main workspace (build
/// it with `cargo build --release -p eligo-rule-eprop`; bench/fuzz.sh does).
pub fn plugin_path() -> PathBuf {
    std::env::var_os("ELIGO_FUZZ_PLUGIN").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/release/deps")
                .join(format!(
                    "{}eligo_eprop{}",
                    std::env::consts::DLL_PREFIX,
                    std::env::consts::DLL_SUFFIX
                ))
        },
        PathBuf::from,
    )
}

/// A trainer of [`TinyTask`] with e-prop, batch 2 (two lanes), and its checkpoint settings.
pub fn trainer() -> (Trainer, Settings) {
    let plugin = Plugin::load(&plugin_path()).unwrap_or_else(|e| panic!("{e}"));
    let rc = rule_config::parse("", &plugin).unwrap();
    let cfg = TrainConfig {
        batch: 2,
        threads: 1,
        method: Method::adam(),
        lr: 1e-3,
        seed: 5,
    };
    let settings = checkpoint::settings(TinyTask.name(), 1.0, &plugin, &rc.values, &rc.host, &cfg);
    let tr = Trainer::new(Box::new(TinyTask), &plugin, &rc.values, &rc.host, cfg).unwrap();
    (tr, settings)
}

/// The files of a checkpoint directory, in the order the container packs them.
pub const CHECKPOINT_FILES: [&str; 4] = ["state.json", "weights.npz", "optimizer.npz", "rules.bin"];

/// Pack files into one fuzz input: for each of [`CHECKPOINT_FILES`] but the last, a 4-byte
/// little-endian length and the bytes; the last file is the rest.
pub fn pack(files: &[Vec<u8>; 4]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in &files[..3] {
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out.extend_from_slice(&files[3]);
    out
}

/// Split a fuzz input into the checkpoint's files; a file the input runs out before is absent.
pub fn unpack(mut data: &[u8]) -> [Option<&[u8]>; 4] {
    let mut out = [None; 4];
    for slot in out.iter_mut().take(3) {
        let Some((len, rest)) = data.split_first_chunk::<4>() else {
            return out;
        };
        let n = (u32::from_le_bytes(*len) as usize).min(rest.len());
        *slot = Some(&rest[..n]);
        data = &rest[n..];
    }
    out[3] = Some(data);
    out
}

/// Write the files of `data` as `DIR/checkpoint/` and resume the tiny trainer from it. When
/// `state.json` is a JSON object, its `files` digests are first set to those of the data files,
/// so that mutated weights, optimizer and rule states get past the digest check to the loaders
/// (the digest check itself is a plain comparison).
pub fn fuzz_checkpoint(data: &[u8]) {
    static TRAINER: OnceLock<std::sync::Mutex<(Trainer, Settings)>> = OnceLock::new();
    let tr = TRAINER.get_or_init(|| std::sync::Mutex::new(trainer()));
    let mut guard = tr.lock().unwrap_or_else(|e| e.into_inner());
    let (tr, settings) = &mut *guard;
    let dir = scratch().join("run");
    let c = dir.join("checkpoint");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&c).unwrap();
    let files = unpack(data);
    for (name, bytes) in CHECKPOINT_FILES.iter().zip(files) {
        if let Some(b) = bytes {
            std::fs::write(c.join(name), b).unwrap();
        }
    }
    if let Some(Ok(serde_json::Value::Object(mut state))) =
        files[0].map(serde_json::from_slice::<serde_json::Value>)
    {
        let digests = CHECKPOINT_FILES[1..]
            .iter()
            .zip(&files[1..])
            .filter_map(|(name, b)| {
                Some((
                    name.to_string(),
                    checkpoint::file_digest(b.as_ref()?).into(),
                ))
            })
            .collect();
        state.insert("files".into(), serde_json::Value::Object(digests));
        std::fs::write(c.join("state.json"), serde_json::to_vec(&state).unwrap()).unwrap();
    }
    let r = checkpoint::load(&dir, tr, "eprop", settings, &[]);
    if verbose() {
        eprintln!("checkpoint::load: {r:?}");
    }
}

/// `ELIGO_FUZZ_VERBOSE=1`: print what a target's loader returned (to replay an input by hand).
pub fn verbose() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| std::env::var_os("ELIGO_FUZZ_VERBOSE").is_some())
}

/// A valid checkpoint of [`trainer`] after one iteration, packed (a seed of the corpus).
pub fn checkpoint_seed() -> Vec<u8> {
    let (mut tr, settings) = trainer();
    tr.step().unwrap();
    let state = State {
        iteration: 1,
        task: TinyTask.name().into(),
        task_seed: 0,
        seed: 5,
        batch: 2,
        rule: "eprop".into(),
        fingerprint: checkpoint::fingerprint(tr.network()),
        eligo_version: "fuzz".into(),
        settings,
        files: Default::default(),
    };
    let dir = scratch().join("seed");
    checkpoint::save(&dir, &tr, &state).unwrap();
    let c = dir.join("checkpoint");
    let files = CHECKPOINT_FILES.map(|f| std::fs::read(c.join(f)).unwrap());
    pack(&files)
}

/// The weights `.npz` of [`weights_net`] as `eligo` writes it (a seed of the corpus).
pub fn weights_seed() -> Vec<u8> {
    let net = weights_net();
    let p = scratch().join("w-seed.npz");
    let biases = eligo_engine::io::weights::default_biases(net);
    eligo_engine::io::weights::save(&p, net, &biases).unwrap();
    std::fs::read(p).unwrap()
}

/// Read `data` as a NIR file and import it at dt = 0.1 ms with both discretizations; an
/// imported description must be one the TOML parser takes.
pub fn fuzz_nir(data: &[u8]) {
    use eligo_engine::nir::Discretization;
    let path = file("model.nir", data);
    let Ok(f) = eligo_engine::io::nir::read(&path) else {
        return;
    };
    for disc in [Discretization::Euler, Discretization::Exact] {
        if let Ok(t) = eligo_engine::nir::import(&f, 0.1, disc, None) {
            // memory limits may refuse a big one; anything else is a bug of the import
            if let Err(e) = eligo_engine::io::config::parse_table(t) {
                assert!(e.to_string().contains("memory"), "import made a bad description: {e}");
            }
        }
    }
}
