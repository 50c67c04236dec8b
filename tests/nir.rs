//! NIR import and export (docs/nir.md), end to end through the CLI. The NIR files in
//! tests/data/nir were written by the `nir` Python package (tests/data/nir/make.py), an
//! independent writer.

use std::path::{Path, PathBuf};

use eligo_engine::io::nir::{Data, NirFile, Node};

use crate::common::{arg, eligo, ok, refused};
use crate::events::npy_events;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/nir")
        .join(name)
}

fn read(p: &Path) -> NirFile {
    eligo_engine::io::nir::read(p).expect("a NIR file")
}

/// The node at full name `a.b` of a file.
fn node<'a>(f: &'a NirFile, full: &str) -> &'a Node {
    let mut n = &f.top;
    for part in full.split('.') {
        n = &n.graph.as_ref().expect("a graph").nodes[part];
    }
    n
}

fn f32s(n: &Node, key: &str) -> Vec<f32> {
    match &n.params[key].data {
        Data::F32(v) => v.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

fn import(model: &Path, out: &Path, dt: &str) {
    ok(&eligo(&[
        "nir",
        "import",
        arg(model),
        "--dt-ms",
        dt,
        "--out",
        arg(out),
    ]));
}

#[test]
fn bad_files_exit_2_naming_the_node_and_the_field() {
    for (file, must) in [
        (
            "bad_truncated.nir",
            &["bad_truncated.nir", "cannot read it as NIR"][..],
        ),
        (
            "bad_unknown.nir",
            &["node 'lif'.type", "'Leaky'", "unknown node type"],
        ),
        (
            "bad_conv.nir",
            &["node 'lif'.type", "Conv2d", "not supported"],
        ),
        ("bad_missing.nir", &["node 'lif'.tau", "missing"]),
        (
            "bad_shape.nir",
            &["'input' -> 'fc'", "shape mismatch", "takes 5 inputs"],
        ),
        (
            "bad_nonuniform.nir",
            &["node 'lif'.tau", "[3]", "must be equal"],
        ),
        (
            "bad_bias.nir",
            &["node 'fc'.bias[2]", "0.25", "nonzero bias"],
        ),
        (
            "bad_cuba_tau_syn.nir",
            &[
                "node 'cuba'.tau_syn",
                "-0.00499",
                "must be a finite number > 0",
            ],
        ),
        (
            "bad_cuba_reset.nir",
            &[
                "node 'cuba'.v_reset",
                "= 2",
                "must be below v_threshold = 1",
            ],
        ),
        (
            "bad_cubali.nir",
            &[
                "node 'cubali'.type",
                "'CubaLI'",
                "no Eligo model",
                "allowed: LI",
            ],
        ),
        (
            "bad_threshold.nir",
            &[
                "node 'threshold'.type",
                "'Threshold'",
                "no Eligo model",
                "allowed: LIF",
            ],
        ),
    ] {
        refused(
            &eligo(&["nir", "import", arg(&data(file)), "--dt-ms", "0.1"]),
            must,
        );
        // the same through simulate, which takes a .nir directly
        let dir = tempfile::tempdir().unwrap();
        refused(
            &eligo(&[
                "simulate",
                arg(&data(file)),
                "--dt-ms",
                "0.1",
                "--out",
                arg(dir.path()),
                "--quiet",
            ]),
            must,
        );
    }
    // a file that is not there, and a step the Euler step cannot take (dt > tau = 1 ms)
    refused(
        &eligo(&["nir", "import", "no/such.nir"]),
        &["no/such.nir", "cannot read"],
    );
    refused(
        &eligo(&["nir", "import", arg(&data("rnn.nir")), "--dt-ms", "2"]),
        &[
            "node 'li'.tau",
            "must be in (0, 1)",
            "--discretization exact",
        ],
    );
}

#[test]
fn nir_to_eligo_to_nir_keeps_every_parameter_and_weight_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["rnn.nir", "sub.nir", "cuba.nir"] {
        let src = data(name);
        let toml = dir.path().join(format!("{name}.toml"));
        import(&src, &toml, "0.1");
        let back = dir.path().join(format!("back_{name}"));
        ok(&eligo(&["nir", "export", arg(&toml), arg(&back)]));
        let (a, b) = (read(&src), read(&back));
        assert_eq!(a.top, b.top, "{name}: the graph changed on the way");
    }
}

/// Trained weights go back into the source file's Affine/Linear nodes, and nothing else
/// changes; with the source gone, the network is written from Eligo's parameters, weights and
/// thresholds unchanged.
#[test]
fn trained_weights_go_back_into_the_source_graph() {
    let dir = tempfile::tempdir().unwrap();
    let src = data("sub.nir");
    let toml = dir.path().join("net.toml");
    import(&src, &toml, "0.1");
    let cfg = eligo_engine::io::config::load(&toml).unwrap();
    let mut net = cfg.network.build().unwrap();
    let rec = net
        .projections
        .iter()
        .position(|p| p.name == "rlif.w_rec")
        .expect("the recurrent projection is named after its node");
    for w in &mut net.projections[rec].weights {
        *w += 0.125;
    }
    let biases = eligo_engine::io::weights::default_biases(&net);
    let wfile = dir.path().join("w.npz");
    eligo_engine::io::weights::save(&wfile, &net, &biases).unwrap();
    let out = dir.path().join("trained.nir");
    ok(&eligo(&[
        "nir",
        "export",
        arg(&toml),
        "--weights",
        arg(&wfile),
        arg(&out),
    ]));
    let (a, b) = (read(&src), read(&out));
    let (wa, wb) = (
        f32s(node(&a, "rlif.w_rec"), "weight"),
        f32s(node(&b, "rlif.w_rec"), "weight"),
    );
    // W[post, pre] in the file; the projection's synapses are pre-major
    let n = 6;
    for post in 0..n {
        for pre in 0..n {
            let k = post * n + pre;
            assert_eq!(
                wb[k].to_bits(),
                (wa[k] + 0.125).to_bits(),
                "w_rec[{post}, {pre}]"
            );
        }
    }
    let mut a2 = a.clone();
    let sub = a2
        .top
        .graph
        .as_mut()
        .unwrap()
        .nodes
        .get_mut("rlif")
        .unwrap();
    let w = sub.graph.as_mut().unwrap().nodes.get_mut("w_rec").unwrap();
    w.params.insert(
        "weight".into(),
        node(&b, "rlif.w_rec").params["weight"].clone(),
    );
    assert_eq!(a2.top, b.top, "only w_rec changed");

    // no source: from Eligo's parameters, flat, weights and thresholds as they were
    let text = std::fs::read_to_string(&toml).unwrap();
    let flat_toml = dir.path().join("flat.toml");
    std::fs::write(
        &flat_toml,
        text.lines()
            .filter(|l| !l.starts_with("source = "))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let canon = dir.path().join("canon.nir");
    ok(&eligo(&["nir", "export", arg(&flat_toml), arg(&canon)]));
    let c = read(&canon);
    for (full, flat, key) in [
        ("fc", "fc", "weight"),
        ("rlif.w_rec", "rlif.w_rec", "weight"),
        ("fc_out", "fc_out", "weight"),
        ("rlif.lif", "rlif.lif", "v_threshold"),
    ] {
        let x = f32s(node(&a, full), key);
        let y = f32s(&c.top.graph.as_ref().unwrap().nodes[flat], key);
        assert_eq!(
            x.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{full}.{key}"
        );
    }
    assert_eq!(c.top.graph.as_ref().unwrap().nodes["rlif.lif"].kind, "LIF");
    assert_eq!(c.top.graph.as_ref().unwrap().nodes["li"].kind, "LI");
}

/// A network made in Eligo, exported and imported again, spikes at the same steps: the same
/// recorded input replayed into both gives identical spike files and readout traces.
#[test]
fn eligo_to_nir_to_eligo_gives_identical_spikes() {
    let dir = tempfile::tempdir().unwrap();
    for (disc, dt) in [("euler", "1"), ("exact", "1"), ("euler", "0.1")] {
        let net = format!(
            "dt_ms = {dt}\nduration_ms = {dur}\nseed = 3\n\n\
             [[population]]\nname = \"input\"\nmodel = \"poisson\"\nsize = 20\nrate_hz = 60.0\n\n\
             [[population]]\nname = \"rec\"\nmodel = \"lif\"\nsize = 30\ntau_m_ms = 17.0\n\
             v_th = 0.45\nn_ref = 0\n\n\
             [[population]]\nname = \"out\"\nmodel = \"readout\"\nsize = 3\ntau_out_ms = 12.0\n\n\
             [[projection]]\nfrom = \"input\"\nto = \"rec\"\nrule = \"all_to_all\"\n\
             weight = {{ kind = \"normal\", mean = 0.08, std = 0.1 }}\n\n\
             [[projection]]\nfrom = \"rec\"\nto = \"rec\"\nrule = \"fixed_probability\"\np = 0.3\n\
             weight = {{ kind = \"normal\", mean = 0.0, std = 0.15 }}\ndelay_steps = 2\n\n\
             [[projection]]\nfrom = \"rec\"\nto = \"out\"\nrule = \"all_to_all\"\n\
             weight = {{ kind = \"normal\", mean = 0.0, std = 0.3 }}\n\n\
             [[recorder]]\npopulation = \"input\"\n\n[[recorder]]\npopulation = \"rec\"\n\n\
             [[recorder]]\npopulation = \"out\"\nkind = \"state\"\nvariable = \"y\"\n",
            dur = 1000.0 * dt.parse::<f64>().unwrap(),
        );
        let tag = format!("{disc}_{dt}");
        let toml = dir.path().join(format!("{tag}.toml"));
        std::fs::write(&toml, net).unwrap();
        let base = dir.path().join(format!("{tag}_base"));
        let sim = |cfg: &Path, out: &Path, extra: &[&str]| {
            let mut args = vec![
                "simulate",
                arg(cfg),
                "--out",
                arg(out),
                "--quiet",
                "--threads",
                "1",
            ];
            args.extend_from_slice(extra);
            ok(&eligo(&args));
        };
        sim(&toml, &base, &[]);
        let model = dir.path().join(format!("{tag}.nir"));
        ok(&eligo(&[
            "nir",
            "export",
            arg(&toml),
            "--discretization",
            disc,
            arg(&model),
        ]));
        let back = dir.path().join(format!("{tag}_back.toml"));
        ok(&eligo(&[
            "nir",
            "import",
            arg(&model),
            "--dt-ms",
            dt,
            "--discretization",
            disc,
            "--out",
            arg(&back),
        ]));
        let again = dir.path().join(format!("{tag}_again"));
        let input = base.join("spikes_input.npy");
        sim(
            &back,
            &again,
            &["--input-events", arg(&input), "--population", "input"],
        );
        let rec = npy_events(&base.join("spikes_rec.npy"));
        assert!(rec.len() > 100, "{tag}: the network spikes ({})", rec.len());
        assert_eq!(
            rec,
            npy_events(&again.join("spikes_rec.npy")),
            "{tag}: the spikes differ"
        );
        assert_eq!(
            std::fs::read(base.join("state_out_y.npy")).unwrap(),
            std::fs::read(again.join("state_out_y.npy")).unwrap(),
            "{tag}: the readout differs"
        );
    }
}

/// A `float32` matrix `.npy` (a state recorder's file): rows (steps) of `cols` values.
fn npy_f32(p: &Path, cols: usize) -> Vec<Vec<f32>> {
    let b = std::fs::read(p).unwrap();
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = String::from_utf8_lossy(&b[10..10 + hlen]);
    assert!(header.contains("'<f4'"), "{header}");
    let v: Vec<f32> = b[10 + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    v.chunks_exact(cols).map(<[f32]>::to_vec).collect()
}

/// A CubaLIF node (tests/data/nir/cuba.nir: v_leak 0.1, v_reset -0.2, r 2, w_in 1.5) imported
/// as `lif_exp` spikes and moves exactly as NIR's ODE discretized as docs/nir.md states, written
/// here step by step in float64 from the file's own parameters:
///
/// ```text
/// euler: a_s = 1 - h/tau_syn, f_s = w_in h/tau_syn, a_m = 1 - h/tau_mem, g = r h/tau_mem
/// exact: a_s = e^{-h/tau_syn}, f_s = w_in (1 - a_s), a_m = e^{-h/tau_mem},
///        g = r tau_syn/(tau_syn - tau_mem) (e^{-h/tau_syn} - e^{-h/tau_mem})
/// v(t) = a_m v(t-1) + (1 - a_m) v_leak + g I(t-1)
/// I(t) = a_s I(t-1) + f_s W x(t-1)            (x: input spikes, one step of projection delay)
/// v(t) >= v_threshold: a spike at t, v(t) = v_reset;   v(-1) = v_leak, I(-1) = 0
/// ```
#[test]
fn cuba_lif_follows_the_documented_discretization() {
    let dir = tempfile::tempdir().unwrap();
    let src = data("cuba.nir");
    let f = read(&src);
    let par = |k: &str| f64::from(f32s(node(&f, "cuba"), k)[0]);
    let (ts, tm, r, w_in) = (par("tau_syn"), par("tau_mem"), par("r"), par("w_in"));
    let (leak, thr, reset) = (par("v_leak"), par("v_threshold"), par("v_reset"));
    let w = f32s(node(&f, "fc"), "weight");
    let (n, n_in, steps) = (4usize, 3usize, 300u64);
    // input spikes: a fixed pseudo-random pattern (LCG), about one in four steps per input
    let mut x = vec![vec![false; n_in]; steps as usize];
    let mut seed = 12345u64;
    let mut events = Vec::new();
    for (t, row) in x.iter_mut().enumerate() {
        for (j, s) in row.iter_mut().enumerate() {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if (seed >> 33).is_multiple_of(4) {
                *s = true;
                events.push((t as u64 * 1000, j as u32));
            }
        }
    }
    let input = dir.path().join("in.npy");
    crate::events::write_npy(&input, &events);
    for disc in ["euler", "exact"] {
        let h = 1e-3;
        let (a_s, f_s, a_m, g) = if disc == "euler" {
            (1.0 - h / ts, w_in * h / ts, 1.0 - h / tm, r * h / tm)
        } else {
            let (es, em) = ((-h / ts).exp(), (-h / tm).exp());
            (es, w_in * (1.0 - es), em, r * ts / (ts - tm) * (es - em))
        };
        let (mut v, mut i) = (vec![leak; n], vec![0.0f64; n]);
        let (mut want_v, mut want_z) = (Vec::new(), Vec::new());
        for t in 0..steps as usize {
            for k in 0..n {
                let vn = a_m * v[k] + (1.0 - a_m) * leak + g * i[k];
                let drive: f64 = (0..n_in)
                    .filter(|&j| t > 0 && x[t - 1][j])
                    .map(|j| f64::from(w[k * n_in + j]))
                    .sum();
                i[k] = a_s * i[k] + f_s * drive;
                if vn >= thr {
                    want_z.push((t as u64 * 1000, k as u32));
                    v[k] = reset;
                } else {
                    v[k] = vn;
                }
            }
            want_v.push(v.clone());
        }
        let toml = dir.path().join(format!("{disc}.toml"));
        ok(&eligo(&[
            "nir",
            "import",
            arg(&src),
            "--dt-ms",
            "1",
            "--discretization",
            disc,
            "--out",
            arg(&toml),
        ]));
        let text = std::fs::read_to_string(&toml)
            .unwrap()
            .replace("duration_ms = 1000.0", &format!("duration_ms = {steps}.0"))
            + "\n[[recorder]]\npopulation = \"cuba\"\nkind = \"state\"\nvariable = \"v\"\n";
        std::fs::write(&toml, text).unwrap();
        let out = dir.path().join(disc);
        ok(&eligo(&[
            "simulate",
            arg(&toml),
            "--out",
            arg(&out),
            "--quiet",
            "--input-events",
            arg(&input),
            "--population",
            "input",
        ]));
        let got_z = npy_events(&out.join("spikes_cuba.npy"));
        let got_v = npy_f32(&out.join("state_cuba_v.npy"), n);
        assert!(
            want_z.len() > 20,
            "{disc}: the reference spikes ({})",
            want_z.len()
        );
        assert_eq!(got_z, want_z, "{disc}: spikes");
        assert_eq!(got_v.len(), want_v.len(), "{disc}: steps recorded");
        for (t, (a, b)) in got_v.iter().zip(&want_v).enumerate() {
            for k in 0..n {
                let err = (f64::from(a[k]) - b[k]).abs();
                assert!(
                    err < 1e-5,
                    "{disc}: v[{t}][{k}] = {} , reference {}",
                    a[k],
                    b[k]
                );
            }
        }
    }
}

/// Trained weights into a CubaLIF node go back into its Linear node divided by the factor
/// `f_s g / P21` the import multiplied them by (euler, dt 1 ms; docs/nir.md "CubaLIF"),
/// computed here from the file's parameters.
#[test]
fn trained_cuba_lif_weights_go_back_divided_by_the_input_factor() {
    let dir = tempfile::tempdir().unwrap();
    let src = data("cuba.nir");
    let toml = dir.path().join("net.toml");
    import(&src, &toml, "1");
    let cfg = eligo_engine::io::config::load(&toml).unwrap();
    let mut net = cfg.network.build().unwrap();
    for w in &mut net.projections[0].weights {
        *w += 0.125;
    }
    let biases = eligo_engine::io::weights::default_biases(&net);
    let wfile = dir.path().join("w.npz");
    eligo_engine::io::weights::save(&wfile, &net, &biases).unwrap();
    let out = dir.path().join("trained.nir");
    ok(&eligo(&[
        "nir",
        "export",
        arg(&toml),
        "--weights",
        arg(&wfile),
        arg(&out),
    ]));
    let (a, b) = (read(&src), read(&out));
    let par = |k: &str| f64::from(f32s(node(&a, "cuba"), k)[0]);
    let (ts, tm, r, w_in) = (par("tau_syn"), par("tau_mem"), par("r"), par("w_in"));
    let (h, dt) = (1e-3, 1.0);
    let (a_s, a_m) = (1.0 - h / ts, 1.0 - h / tm);
    let (tsm, tmm) = (-dt / a_s.ln(), -dt / a_m.ln());
    let p21 = tsm / (tsm - tmm) * ((-dt / tsm).exp() - (-dt / tmm).exp());
    let factor = (w_in * h / ts) * (r * h / tm) / p21;
    assert!((factor - 1.0).abs() > 0.1, "the factor matters ({factor})");
    let (wa, wb) = (
        f32s(node(&a, "fc"), "weight"),
        f32s(node(&b, "fc"), "weight"),
    );
    for (k, (x, y)) in wa.iter().zip(&wb).enumerate() {
        let want = (f64::from(*x) * factor + 0.125) / factor;
        assert!(
            (f64::from(*y) - want).abs() < 1e-6 * want.abs(),
            "fc.weight[{k}] = {y}, want {want}"
        );
    }
    assert_eq!(
        node(&a, "cuba"),
        node(&b, "cuba"),
        "the CubaLIF node goes back unchanged"
    );
}
