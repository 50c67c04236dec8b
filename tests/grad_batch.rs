//! `eligo grad --batch-inputs` and `--feedback-matrix`: a batch's gradients are those of the
//! training run's first iteration over the same samples, bit for bit; a given feedback matrix B
//! is used as B (the symmetric B given as a matrix reproduces symmetric feedback; B enters the
//! input and recurrent gradients linearly and leaves the readout's alone); frozen projections
//! are left out; bad batches and matrices are refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eligo_engine::io::config;
use eligo_engine::io::npy::{Event, write_events};
use eligo_engine::io::npz::{self, Array};
use eligo_engine::network::NetworkSpec;
use eligo_engine::optim::{Loss, Method};
use eligo_engine::plugin::Plugin;
use eligo_engine::task::{self, Defaults, Kind, Sample, Split, Task, TaskOptions};
use eligo_engine::train::{TrainConfig, TrainRule, Trainer};

use crate::common::{arg, eligo, ok, refused, so};

/// 40 inputs (the evidence task's), 30 LIF neurons, 2 outputs; `{STEPS}` is the task's length.
const NET: &str = r#"
dt_ms = 1.0
duration_ms = {STEPS}
seed = 11

[[population]]
name = "in"
model = "external"
size = 40

[[population]]
name = "rec"
model = "lif"
size = 30
n_ref = 2

[[population]]
name = "out"
model = "readout"
size = 2

[[projection]]
from = "in"
to = "rec"
rule = "fixed_probability"
p = 0.5
weight = { kind = "normal", mean = 0.3, std = 0.3 }

[[projection]]
from = "rec"
to = "rec"
rule = "fixed_probability"
p = 0.3
weight = { kind = "normal", mean = 0.0, std = 0.3 }

[[projection]]
from = "rec"
to = "out"
rule = "all_to_all"
weight = { kind = "normal", mean = 0.0, std = 0.3 }
"#;

/// A built-in task's samples on the network of a description file (the trainer needs a task;
/// `grad` reads the same description).
struct OnNet {
    inner: Box<dyn Task>,
    spec: NetworkSpec,
}

impl Task for OnNet {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn kind(&self) -> Kind {
        self.inner.kind()
    }
    fn steps(&self) -> u64 {
        self.inner.steps()
    }
    fn network(&self, _seed: u64) -> NetworkSpec {
        self.spec.clone()
    }
    fn sample(&self, split: Split, index: u64) -> eligo_engine::Result<Sample> {
        self.inner.sample(split, index)
    }
    fn defaults(&self) -> Defaults {
        self.inner.defaults()
    }
}

struct Setup {
    dir: tempfile::TempDir,
    net: PathBuf,
    task: Box<dyn Task>,
    spec: NetworkSpec,
}

fn setup() -> Setup {
    let task = task::by_name(
        "evidence-lif",
        &TaskOptions {
            seed: 5,
            scale: 0.05,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = NET.replace("{STEPS}", &format!("{}.0", task.steps()));
    let net = dir.path().join("net.toml");
    std::fs::write(&net, &text).unwrap();
    let spec = config::parse(&text).unwrap().network;
    Setup {
        dir,
        net,
        task,
        spec,
    }
}

fn eprop() -> Plugin {
    Plugin::load(&so("eligo_eprop")).unwrap()
}

/// Training samples `0..n` of the task written as `grad` inputs (`seqKK.npy`, t in µs = step x
/// 1000) and a manifest `batch.csv` (`file,label`); returns the manifest and the decision
/// window (every sample's).
fn write_batch(s: &Setup, n: u64) -> (PathBuf, String) {
    let mut manifest = String::from("file,label\n");
    let mut window = None;
    for k in 0..n {
        let sample = s.task.sample(Split::Train, k).unwrap();
        let ev: Vec<Event> = sample
            .input
            .iter()
            .map(|&(t, addr)| Event { t: t * 1000, addr })
            .collect();
        let name = format!("seq{k:02}.npy");
        std::fs::create_dir_all(s.dir.path().join("inputs")).unwrap();
        write_events(&s.dir.path().join("inputs").join(&name), &ev).unwrap();
        let Loss::CrossEntropy { class, from, to } = sample.loss else {
            panic!("evidence is a classification task")
        };
        assert_eq!(*window.get_or_insert((from, to)), (from, to), "one window");
        manifest.push_str(&format!("inputs/{name},{class}\n"));
    }
    let path = s.dir.path().join("batch.csv");
    std::fs::write(&path, manifest).unwrap();
    let (from, to) = window.unwrap();
    (path, format!("{from}:{to}"))
}

/// The first iteration's summed gradients of a trainer on the task's samples over the
/// description's network, with e-prop configured by `rule_text`.
fn trainer_gradients(
    s: &Setup,
    rule_text: &str,
    batch: usize,
    threads: usize,
) -> eligo_engine::train::BatchGradients {
    let plugin = eprop();
    let rc = eligo_engine::plugin::config::parse(rule_text, &plugin).unwrap();
    let rules = [TrainRule {
        plugin,
        values: rc.values,
        host: rc.host,
    }];
    let task = OnNet {
        inner: task::by_name(
            s.task.name(),
            &TaskOptions {
                seed: 5,
                scale: 0.05,
            },
        )
        .unwrap(),
        spec: s.spec.clone(),
    };
    let cfg = TrainConfig {
        batch,
        threads,
        method: Method::Sgd,
        lr: 0.01,
        seed: 0,
    };
    let mut t = Trainer::with_rules(Box::new(task), &rules, cfg).unwrap();
    let jobs: Vec<(Split, u64)> = (0..batch as u64).map(|k| (Split::Train, k)).collect();
    t.batch_gradients(&jobs).unwrap()
}

fn grad(s: &Setup, out: &str, extra: &[&str]) -> BTreeMap<String, Array> {
    let out = s.dir.path().join(out);
    let lib = so("eligo_eprop");
    let mut args = vec!["grad", arg(&s.net), "--rule", arg(&lib), "--out", arg(&out)];
    args.extend_from_slice(extra);
    ok(&eligo(&args));
    npz::read(&out).unwrap()
}

fn f32s(a: &Array) -> Vec<f32> {
    a.data.iter().map(|&x| x as f32).collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

const PROJ: [&str; 3] = ["in->rec", "rec->rec", "rec->out"];

#[test]
fn a_batch_equals_the_training_runs_first_iteration_gradient_bit_for_bit() {
    let s = setup();
    // 18 sequences on 16 lanes: two lanes run two sequences each; the regularizer (c_reg)
    // needs the whole batch's rates
    const B: u64 = 18;
    let rule = "c_reg = 3.0\nf_target_hz = 10.0\nfeedback = \"random\"\n";
    let rule_file = s.dir.path().join("eprop.toml");
    std::fs::write(&rule_file, rule).unwrap();
    let (manifest, window) = write_batch(&s, B);
    let want = trainer_gradients(&s, rule, B as usize, 2);
    let r = want.rules[0].as_ref().expect("e-prop is a gradient rule");
    let g = grad(
        &s,
        "g.npz",
        &[
            "--batch-inputs",
            arg(&manifest),
            "--rule-config",
            arg(&rule_file),
            "--window-ms",
            &window,
            "--threads",
            "1",
        ],
    );
    for (j, p) in PROJ.iter().enumerate() {
        let got = f32s(&g[&format!("grad/{p}/data")]);
        assert!(r.weights[j].iter().any(|x| *x != 0.0), "{p}: not a test");
        assert_eq!(bits(&got), bits(&r.weights[j]), "{p}");
    }
    assert_eq!(bits(&f32s(&g["grad/out/bias"])), bits(&r.biases));
    assert_eq!(g["loss"].data[0].to_bits(), want.loss.to_bits());
    assert_eq!(g["sequence_losses"].data, want.sample_losses);
    // the regularizer took the batch's rates: without it the recurrent gradients differ
    let plain = trainer_gradients(&s, "feedback = \"random\"\n", B as usize, 1);
    assert_ne!(plain.rules[0].as_ref().unwrap().weights[1], r.weights[1]);
    assert!(
        !g.keys().any(|k| k.starts_with("spikes/")),
        "no spikes in batch mode"
    );
}

#[test]
fn a_folder_is_read_in_file_name_order_and_a_batch_of_one_equals_input() {
    let s = setup();
    let (_, window) = write_batch(&s, 3);
    let dir = s.dir.path().join("inputs");
    // folder: every sequence gets --class; the manifest the same, listed in name order
    let list = s.dir.path().join("list.txt");
    std::fs::write(
        &list,
        "# the folder's files in name order\ninputs/seq00.npy\ninputs/seq01.npy\n\ninputs/seq02.npy\n",
    )
    .unwrap();
    let common = ["--class", "1", "--window-ms", &window];
    let by_dir = grad(
        &s,
        "d.npz",
        &[&["--batch-inputs", arg(&dir)][..], &common].concat(),
    );
    let by_list = grad(
        &s,
        "l.npz",
        &[&["--batch-inputs", arg(&list)][..], &common].concat(),
    );
    assert_eq!(by_dir, by_list);
    // one sequence as a batch of one: the same gradients and loss as --input
    let one = s.dir.path().join("one");
    std::fs::create_dir(&one).unwrap();
    std::fs::copy(dir.join("seq01.npy"), one.join("a.npy")).unwrap();
    let batch = grad(
        &s,
        "b.npz",
        &[&["--batch-inputs", arg(&one)][..], &common].concat(),
    );
    let input = grad(
        &s,
        "i.npz",
        &[&["--input", arg(&dir.join("seq01.npy"))][..], &common].concat(),
    );
    for p in PROJ {
        let k = format!("grad/{p}/data");
        assert_eq!(batch[&k], input[&k], "{p}");
    }
    assert_eq!(batch["grad/out/bias"], input["grad/out/bias"]);
    assert_eq!(batch["loss"], input["loss"]);
    assert_ne!(batch["loss"], by_dir["loss"], "not a test");
}

/// B = Wout^T as a `[n_rec, n_out]` float32 `.npy`, times `scale`, with row `zero` zeroed.
fn write_b(path: &Path, g: &BTreeMap<String, Array>, scale: f32, zero: Option<usize>) {
    let (n_rec, n_out) = (30usize, 2usize);
    let mut b = vec![0.0f32; n_rec * n_out];
    let w = f32s(&g["weights/rec->out/data"]);
    let indptr = &g["weights/rec->out/indptr"].data;
    let idx = &g["weights/rec->out/indices"].data;
    for j in 0..n_rec {
        for s in indptr[j] as usize..indptr[j + 1] as usize {
            b[j * n_out + idx[s] as usize] = w[s] * scale;
        }
    }
    if let Some(z) = zero {
        b[z * n_out..(z + 1) * n_out].fill(0.0);
    }
    let mut f = std::fs::File::create(path).unwrap();
    use npyz::WriterBuilder;
    let mut wr = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[n_rec as u64, n_out as u64])
        .writer(&mut f)
        .begin_nd()
        .unwrap();
    wr.extend(b).unwrap();
    wr.finish().unwrap();
}

#[test]
fn a_given_feedback_matrix_is_used_as_b() {
    let s = setup();
    let (manifest, window) = write_batch(&s, 4);
    let base = ["--batch-inputs", arg(&manifest), "--window-ms", &window];
    // the plugin's default, symmetric feedback: B = Wout^T at every step (Wout does not change
    // within a batch)
    let sym = grad(&s, "sym.npz", &base);
    let b1 = s.dir.path().join("b1.npy");
    write_b(&b1, &sym, 1.0, None);
    let given = grad(
        &s,
        "given.npz",
        &[&base[..], &["--feedback-matrix", arg(&b1)]].concat(),
    );
    for p in PROJ {
        let k = format!("grad/{p}/data");
        assert_eq!(given[&k], sym[&k], "B = Wout^T given as a matrix: {p}");
    }
    // one sequence (--input) takes the matrix the same way
    let first = s.dir.path().join("inputs/seq00.npy");
    let one = [
        "--input",
        arg(&first),
        "--class",
        "0",
        "--window-ms",
        &window,
    ];
    let sym_one = grad(&s, "sym1.npz", &one);
    let given_one = grad(
        &s,
        "given1.npz",
        &[&one[..], &["--feedback-matrix", arg(&b1)]].concat(),
    );
    assert_eq!(
        given_one["grad/rec->rec/data"],
        sym_one["grad/rec->rec/data"]
    );
    assert_ne!(
        sym_one["grad/rec->rec/data"], sym["grad/rec->rec/data"],
        "not a test"
    );
    // B enters the learning signals linearly: 2 B doubles the input and recurrent gradients
    // exactly (no regularizer) and leaves the readout's and the biases' alone; a zero row j
    // gives neuron j's incoming synapses no gradient and changes no other
    let b2 = s.dir.path().join("b2.npy");
    write_b(&b2, &sym, 2.0, Some(7));
    let two = grad(
        &s,
        "two.npz",
        &[&base[..], &["--feedback-matrix", arg(&b2)]].concat(),
    );
    assert_eq!(two["grad/rec->out/data"], sym["grad/rec->out/data"]);
    assert_eq!(two["grad/out/bias"], sym["grad/out/bias"]);
    for p in ["in->rec", "rec->rec"] {
        let want = &sym[&format!("grad/{p}/data")];
        let got = &two[&format!("grad/{p}/data")];
        let targets = &sym[&format!("grad/{p}/indices")].data;
        let mut changed = 0;
        for ((w, g), post) in want.data.iter().zip(&got.data).zip(targets) {
            if *post as usize == 7 {
                assert_eq!(*g, 0.0, "{p}: a synapse onto neuron 7");
            } else {
                assert_eq!(*g, 2.0 * w, "{p}");
                changed += usize::from(*w != 0.0);
            }
        }
        assert!(changed > 0, "{p}: not a test");
    }
    // adaptive feedback starts from the given B and writes B's gradient: the readout
    // gradient transposed (Kolen-Pollack: B gets Wout^T's updates)
    let ad = grad(
        &s,
        "ad.npz",
        &[
            &base[..],
            &[
                "--feedback-matrix",
                arg(&b1),
                "--param",
                "feedback=adaptive",
            ],
        ]
        .concat(),
    );
    for p in PROJ {
        let k = format!("grad/{p}/data");
        assert_eq!(ad[&k], sym[&k], "adaptive from B = Wout^T: {p}");
    }
    let gb = &ad["grad/B"];
    assert_eq!(gb.shape, vec![30, 2]);
    let gw = &ad["grad/rec->out/data"].data;
    let indptr = &ad["grad/rec->out/indptr"].data;
    let idx = &ad["grad/rec->out/indices"].data;
    for j in 0..30 {
        for s in indptr[j] as usize..indptr[j + 1] as usize {
            assert_eq!(gb.data[j * 2 + idx[s] as usize], gw[s]);
        }
    }
    assert!(
        !sym.contains_key("grad/B"),
        "B has no gradient unless adaptive"
    );
}

#[test]
fn frozen_projections_are_left_out() {
    let s = setup();
    let (manifest, window) = write_batch(&s, 2);
    let rule = s.dir.path().join("frozen.toml");
    std::fs::write(&rule, "[host]\nplastic = [\"rec->out\"]\n").unwrap();
    let first = s.dir.path().join("inputs/seq00.npy");
    for input in [["--batch-inputs", arg(&manifest)], ["--input", arg(&first)]] {
        let g = grad(
            &s,
            "f.npz",
            &[
                &input[..],
                &[
                    "--class",
                    "0",
                    "--window-ms",
                    &window,
                    "--rule-config",
                    arg(&rule),
                ],
            ]
            .concat(),
        );
        assert!(g.contains_key("grad/rec->out/data"), "{input:?}");
        for p in ["in->rec", "rec->rec"] {
            assert!(
                !g.keys().any(|k| k.starts_with(&format!("grad/{p}/"))),
                "{input:?}: frozen {p} written"
            );
            assert!(g.contains_key(&format!("weights/{p}/data")));
        }
    }
}

#[test]
fn bad_batches_and_matrices_are_refused() {
    let s = setup();
    let (manifest, window) = write_batch(&s, 2);
    let out = s.dir.path().join("bad.npz");
    let lib = so("eligo_eprop");
    let run = |extra: &[&str]| {
        let mut args = vec!["grad", arg(&s.net), "--rule", arg(&lib), "--out", arg(&out)];
        args.extend_from_slice(&["--window-ms", &window]);
        args.extend_from_slice(extra);
        let o = eligo(&args);
        assert!(!out.exists(), "output written for bad input: {extra:?}");
        o
    };
    let missing = s.dir.path().join("nowhere");
    refused(
        &run(&["--batch-inputs", arg(&missing)]),
        &["--batch-inputs", "nowhere", "cannot read"],
    );
    let empty = s.dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "not an input").unwrap();
    refused(
        &run(&["--batch-inputs", arg(&empty)]),
        &["--batch-inputs", "empty", "no .npy file"],
    );
    let blank = s.dir.path().join("blank.csv");
    std::fs::write(&blank, "file,label\n# nothing\n").unwrap();
    refused(
        &run(&["--batch-inputs", arg(&blank)]),
        &["blank.csv", "lists no sequence"],
    );
    let bad_line = s.dir.path().join("bad_line.csv");
    std::fs::write(&bad_line, "inputs/seq00.npy,1\ninputs/seq01.npy,1,2\n").unwrap();
    refused(
        &run(&["--batch-inputs", arg(&bad_line)]),
        &["bad_line.csv", "line 2", "INPUT,TARGET"],
    );
    let gone = s.dir.path().join("gone.csv");
    std::fs::write(&gone, "inputs/seq00.npy,1\ninputs/seq99.npy,1\n").unwrap();
    refused(
        &run(&["--batch-inputs", arg(&gone)]),
        &["--batch-inputs", "seq99.npy"],
    );
    let class = s.dir.path().join("class.csv");
    std::fs::write(&class, "inputs/seq00.npy,1\ninputs/seq01.npy,5\n").unwrap();
    refused(
        &run(&["--batch-inputs", arg(&class)]),
        &["--class", "5", "below the number of outputs 2"],
    );
    // B of the wrong shape (transposed), and of the wrong dtype
    let bt = s.dir.path().join("bt.npy");
    {
        let mut f = std::fs::File::create(&bt).unwrap();
        use npyz::WriterBuilder;
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[2, 30])
            .writer(&mut f)
            .begin_nd()
            .unwrap();
        w.extend(vec![0.5f32; 60]).unwrap();
        w.finish().unwrap();
    }
    refused(
        &run(&[
            "--batch-inputs",
            arg(&manifest),
            "--feedback-matrix",
            arg(&bt),
        ]),
        &["--feedback-matrix", "bt.npy", "[2, 30]", "[30, 2]"],
    );
    let bi = s.dir.path().join("bi.npy");
    {
        let mut f = std::fs::File::create(&bi).unwrap();
        use npyz::WriterBuilder;
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[30, 2])
            .writer(&mut f)
            .begin_nd()
            .unwrap();
        w.extend(vec![1i32; 60]).unwrap();
        w.finish().unwrap();
    }
    refused(
        &run(&[
            "--batch-inputs",
            arg(&manifest),
            "--feedback-matrix",
            arg(&bi),
        ]),
        &["--feedback-matrix", "bi.npy", "dtype"],
    );
    // symmetric feedback asked for explicitly with a matrix in a rule config: the plugin says
    // why it cannot
    let sym = s.dir.path().join("sym.toml");
    std::fs::write(
        &sym,
        "feedback = \"symmetric\"\nfeedback_file = \"b.npy\"\n",
    )
    .unwrap();
    refused(
        &run(&["--batch-inputs", arg(&manifest), "--rule-config", arg(&sym)]),
        &["feedback_file", "symmetric"],
    );
}

#[test]
fn batch_gradients_are_what_a_training_step_applies_and_change_nothing() {
    let s = setup();
    let plugin = eprop();
    let rc = eligo_engine::plugin::config::parse("c_reg = 3.0\n", &plugin).unwrap();
    let make = || {
        let task = OnNet {
            inner: task::by_name(
                "evidence-lif",
                &TaskOptions {
                    seed: 5,
                    scale: 0.05,
                },
            )
            .unwrap(),
            spec: s.spec.clone(),
        };
        let cfg = TrainConfig {
            batch: 5,
            threads: 1,
            method: Method::Sgd,
            lr: 0.5,
            seed: 0,
        };
        Trainer::new(Box::new(task), &plugin, &rc.values, &rc.host, cfg).unwrap()
    };
    let mut probe = make();
    let before = probe.network().clone();
    let jobs: Vec<(Split, u64)> = (0..5).map(|k| (Split::Train, k)).collect();
    let g = probe.batch_gradients(&jobs).unwrap();
    assert_eq!(
        probe.network(),
        &before,
        "batch_gradients changed the weights"
    );
    assert_eq!(probe.iteration, 0);
    let r = g.rules[0].as_ref().unwrap();
    let mut trained = make();
    let m = trained.step().unwrap();
    assert_eq!(m.loss.to_bits(), g.loss.to_bits());
    for (j, p) in trained.network().projections.iter().enumerate() {
        let want: Vec<f32> = before.projections[j]
            .weights
            .iter()
            .zip(&r.weights[j])
            .map(|(w, g)| w - 0.5 * g)
            .collect();
        assert_eq!(bits(&p.weights), bits(&want), "{}", p.name);
    }
    let want: Vec<f32> = r.biases.iter().map(|g| 0.0 - 0.5 * g).collect();
    assert_eq!(bits(trained.biases()), bits(&want));
}

#[test]
fn a_batch_whose_lanes_do_not_fit_in_memory_is_refused() {
    let s = setup();
    let (manifest, window) = write_batch(&s, 18);
    let one = s.spec.estimate(1).unwrap().total_bytes;
    // room for a few copies of the network: one sequence runs, 18 sequences on 16 lanes, one
    // thread and the master (18 copies) do not
    let limit = (one * 5).to_string();
    let out = s.dir.path().join("m.npz");
    let lib = so("eligo_eprop");
    let run = |input: &[&str], threads: &str| {
        let mut args = vec!["grad", arg(&s.net), "--rule", arg(&lib), "--out", arg(&out)];
        args.extend_from_slice(&["--window-ms", &window, "--class", "1", "--threads", threads]);
        args.extend_from_slice(input);
        std::process::Command::new(env!("CARGO_BIN_EXE_eligo"))
            .args(&args)
            .env("ELIGO_MEMORY_LIMIT", &limit)
            .output()
            .unwrap()
    };
    let first = s.dir.path().join("inputs/seq00.npy");
    ok(&run(&["--input", arg(&first)], "1"));
    std::fs::remove_file(&out).unwrap();
    let o = run(&["--batch-inputs", arg(&manifest)], "1");
    refused(
        &o,
        &[
            "--batch-inputs",
            "18 sequences",
            "18 copies",
            "ELIGO_MEMORY_LIMIT",
        ],
    );
    assert!(!out.exists());
}

/// `|a - b|` at most `tol` times the largest `|b|`.
fn close(a: &[f32], b: &[f32], tol: f64) -> bool {
    let scale = b.iter().fold(0.0f64, |m, x| m.max(f64::from(x.abs())));
    a.iter()
        .zip(b)
        .all(|(x, y)| f64::from((x - y).abs()) <= tol * scale)
}

#[test]
fn an_independent_dense_eprop_with_its_own_b_equals_grad_with_that_feedback_matrix() {
    let s = setup();
    let (_, window) = write_batch(&s, 1);
    let first = s.dir.path().join("inputs/seq00.npy");
    // the reference's own B: any values (a fixed pseudo-random sequence), not Wout^T
    let (n_rec, n_out) = (30usize, 2usize);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let b: Vec<f32> = (0..n_rec * n_out)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let b_path = s.dir.path().join("own_b.npy");
    {
        let mut f = std::fs::File::create(&b_path).unwrap();
        use npyz::WriterBuilder;
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[n_rec as u64, n_out as u64])
            .writer(&mut f)
            .begin_nd()
            .unwrap();
        w.extend(b.clone()).unwrap();
        w.finish().unwrap();
    }
    let class = 1usize;
    let g = grad(
        &s,
        "own.npz",
        &[
            "--input",
            arg(&first),
            "--class",
            "1",
            "--window-ms",
            &window,
            "--feedback-matrix",
            arg(&b_path),
        ],
    );
    // the reference simulates the description's network itself, from the same input spikes
    let net = s.spec.build().unwrap();
    let steps = s.task.steps() as usize;
    let mut input = vec![Vec::new(); steps];
    for &(t, i) in &s.task.sample(Split::Train, 0).unwrap().input {
        input[t as usize].push(i);
    }
    let (from, to) = window
        .split_once(':')
        .map(|(a, b)| (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()))
        .unwrap();
    let err_of = |t: usize, y: &[f64]| -> Vec<f64> {
        if t < from || t >= to {
            return vec![0.0; y.len()];
        }
        let m = y.iter().cloned().fold(f64::MIN, f64::max);
        let e: Vec<f64> = y.iter().map(|v| (v - m).exp()).collect();
        let sum: f64 = e.iter().sum();
        (0..y.len())
            .map(|k| (e[k] / sum - if k == class { 1.0 } else { 0.0 }) / (to - from) as f64)
            .collect()
    };
    let own: Vec<Vec<f64>> = (0..n_rec)
        .map(|j| (0..n_out).map(|k| f64::from(b[j * n_out + k])).collect())
        .collect();
    let r = crate::eprop::dense::eprop(&net, &input, 0.0, 0.0, &err_of, Some(&own), &[]);
    let sym = crate::eprop::dense::eprop(&net, &input, 0.0, 0.0, &err_of, None, &[]);
    // the same spikes
    let mut rec = vec![vec![false; n_rec]; steps];
    for (t, i) in g["spikes/rec/step"]
        .data
        .iter()
        .zip(&g["spikes/rec/addr"].data)
    {
        rec[*t as usize][*i as usize] = true;
    }
    assert_eq!(r.z, rec, "the reference's spikes differ from grad's");
    assert!(
        rec.iter().flatten().filter(|z| **z).count() > 20,
        "too few spikes"
    );
    for (j, p, want, want_sym) in [
        (0usize, "in->rec", &r.w_in, &sym.w_in),
        (1, "rec->rec", &r.w_rec, &sym.w_rec),
        (2, "rec->out", &r.w_out, &sym.w_out),
    ] {
        let proj = &net.projections[j];
        let csr = |m: &Vec<Vec<f64>>| {
            let mut v = vec![0.0f32; proj.len()];
            for i in 0..proj.n_pre() {
                for s in proj.row(i) {
                    v[s] = m[proj.targets[s] as usize][i] as f32;
                }
            }
            v
        };
        let got = f32s(&g[&format!("grad/{p}/data")]);
        assert!(
            close(&got, &csr(want), 1e-5),
            "{p}: grad with B differs from the reference"
        );
        if j < 2 {
            // B matters here: the reference with symmetric feedback is far off
            assert!(!close(&got, &csr(want_sym), 1e-2), "{p}: not a test");
        }
    }
}

#[test]
fn plugins_lists_feedback_file_as_optional_text() {
    let o = eligo(&["plugins"]);
    ok(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("feedback_file"))
        .expect("e-prop lists feedback_file");
    assert!(
        line.contains("= \"\"") && !line.contains("required"),
        "{line}"
    );
}

#[test]
fn manifest_targets_files_equal_a_shared_targets_file() {
    let s = setup();
    write_batch(&s, 2);
    let steps = s.task.steps() as usize;
    let t = s.dir.path().join("t.npy");
    {
        let data: Vec<f32> = (0..steps * 2).map(|k| ((k as f32) * 0.05).sin()).collect();
        let mut f = std::fs::File::create(&t).unwrap();
        use npyz::WriterBuilder;
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[steps as u64, 2])
            .writer(&mut f)
            .begin_nd()
            .unwrap();
        w.extend(data).unwrap();
        w.finish().unwrap();
    }
    let list = s.dir.path().join("mse.csv");
    std::fs::write(&list, "inputs/seq00.npy,t.npy\ninputs/seq01.npy, t.npy\n").unwrap();
    let own = grad(&s, "own_t.npz", &["--batch-inputs", arg(&list)]);
    let dir = s.dir.path().join("inputs");
    let shared = grad(
        &s,
        "shared_t.npz",
        &["--batch-inputs", arg(&dir), "--targets", arg(&t)],
    );
    assert_eq!(own, shared);
    assert!(own["loss"].data[0] > 0.0);
    // a manifest target wins over the shared one
    let with_class = grad(
        &s,
        "c_t.npz",
        &[
            "--batch-inputs",
            arg(&list),
            "--class",
            "0",
            "--window-ms",
            "1:5",
        ],
    );
    assert_eq!(with_class, own);
}
