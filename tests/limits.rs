//! Limits checked up front (issue 10): networks too big for the machine, endless runs, values
//! that wrap or overflow when converted, silent clamps, names unfit for file names, and type
//! errors that must name their field. Every bad input exits 2 with the field in the message,
//! before anything is written.

use std::path::PathBuf;
use std::process::{Command, Output};

/// `eligo ARGS` with extra environment variables.
fn eligo_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eligo"));
    c.args(args).env_remove("ELIGO_MEMORY_LIMIT");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("eligo runs")
}

/// A temporary directory with `net.toml` holding `toml`.
struct Net {
    dir: tempfile::TempDir,
    net: PathBuf,
}

fn net(toml: &str) -> Net {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.toml");
    std::fs::write(&net, toml).unwrap();
    Net { dir, net }
}

impl Net {
    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn simulate(&self, env: &[(&str, &str)]) -> Output {
        eligo_env(
            &[
                "simulate",
                self.net.to_str().unwrap(),
                "--out",
                self.out().to_str().unwrap(),
                "--quiet",
                // the estimate's row splits depend on the thread count (docs/limits.md)
                "--threads",
                "1",
            ],
            env,
        )
    }

    /// Simulate, which must exit 2 with every one of `needles` in the message and no output
    /// directory created; returns the message.
    fn refused(&self, env: &[(&str, &str)], needles: &[&str]) -> String {
        let o = self.simulate(env);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{err}");
        for n in needles {
            assert!(err.contains(n), "{n:?} not in: {err}");
        }
        assert!(!self.out().exists(), "output created for a refused run");
        err
    }
}

const LIF_POP: &str = "[[population]]\nname = \"a\"\nmodel = \"lif\"\n";

#[test]
fn networks_too_big_are_refused_before_allocating() {
    // 2^32 - 1 LIF neurons: > 100 GB of state, more than any test machine has
    net(&format!("{LIF_POP}size = 4294967295\n")).refused(
        &[],
        &[
            "population[0] 'a'",
            "the network needs about",
            "MemAvailable",
        ],
    );
    // a count written as a float is refused naming the field, with the spelling to use
    net(&format!("{LIF_POP}size = 1e8\n"))
        .refused(&[], &["population[0] 'a'.size", "write 100000000"]);
    // 10 x 1e9 and 1e5 x 1e5 synapses: more than a projection's 2^32 - 1
    let proj = |rule: &str| {
        format!(
            "{LIF_POP}size = 10\n[[projection]]\nfrom = \"a\"\nto = \"a\"\n{rule}\nweight = 1.0\n"
        )
    };
    net(&proj("rule = \"fixed_outdegree\"\nk = 1000000000")).refused(
        &[],
        &["projection[0] 'a->a'", "1.0000e10 synapses", "2^32 - 1"],
    );
    net(&proj("rule = \"all_to_all\"").replace("size = 10", "size = 100000"))
        .refused(&[], &["projection[0] 'a->a'", "all_to_all"]);
    // a network that fits the machine but not a lowered limit: refused with the limit's source;
    // `off` lets it run
    let small = net(&proj("rule = \"all_to_all\""));
    small.refused(
        &[("ELIGO_MEMORY_LIMIT", "1k")],
        &["projection[0] 'a->a'", "ELIGO_MEMORY_LIMIT=1k", "1.024 kB"],
    );
    small.refused(
        &[("ELIGO_MEMORY_LIMIT", "lots")],
        &["ELIGO_MEMORY_LIMIT", "'lots'"],
    );
    let o = small.simulate(&[("ELIGO_MEMORY_LIMIT", "off")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // the summary reports the estimate and its parts: 10 lif neurons x (16 state + 8) bytes,
    // 100 - 10 synapses x 8 bytes + 10 rows x 12, the ring of 2 slots x 2 receptors x 10 x 4
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(small.out().join("summary.json")).unwrap())
            .unwrap();
    let m = &s["memory_estimate"];
    assert_eq!(m["neuron_bytes"], 10 * 24);
    assert_eq!(m["synapse_bytes"], 90 * 8 + 10 * 12);
    assert_eq!(m["ring_bytes"], 2 * 2 * 10 * 4);
    assert_eq!(m["synapses"], 90);
    assert_eq!(s["estimated_bytes"], m["total_bytes"]);
    // bench cuba with 2e7 neurons needs ~13 GB (1.6e9 synapses)
    let o = eligo_env(
        &["bench", "cuba", "--neurons", "20000000"],
        &[("ELIGO_MEMORY_LIMIT", "8G")],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("projection[0] 'exc->exc'") && err.contains("ELIGO_MEMORY_LIMIT=8G"),
        "{err}"
    );
}

#[test]
fn endless_runs_are_refused() {
    let pop = format!("{LIF_POP}size = 1\n");
    net(&format!("dt_ms = 1e-300\n{pop}")).refused(
        &[],
        &["duration_ms", "1e303 steps", "dt = 1e-300 ms", "4294967296"],
    );
    net(&format!("duration_ms = 1e15\n{pop}")).refused(&[], &["duration_ms", "1e15 steps"]);
    // spike times beyond 2^32 steps would saturate the step counter
    net("[[population]]\nname = \"s\"\nmodel = \"spike_times\"\nsize = 1\ntimes_ms = [[0, 1e300]]\n")
        .refused(&[], &["times_ms[0]", "2^32"]);
}

#[test]
fn refractory_period_that_would_wrap_is_refused() {
    // t_ref = 1e12 ms = 1e12 steps: the counter n_ref + 1 wrapped to 0, every neuron fired
    net("[[population]]\nname = \"c\"\nmodel = \"lif_exp\"\nsize = 1\nt_ref_ms = 1e12\n")
        .refused(&[], &["population[0] 'c'.t_ref_ms", "1e12", "4294967294"]);
}

#[test]
fn values_beyond_f32_are_refused() {
    let proj = |w: &str| {
        format!(
            "{LIF_POP}size = 2\n[[projection]]\nfrom = \"a\"\nto = \"a\"\nrule = \"all_to_all\"\n{w}\n"
        )
    };
    net(&proj("weight = 1e39")).refused(&[], &["projection[0] 'a->a'.weight = 1e39", "3.4e38"]);
    net(&proj(
        "weight = { kind = \"normal\", mean = 0.0, std = 1e38 }",
    ))
    .refused(&[], &["weight.std", "3.4e38"]);
    net(
        &proj("rule = \"list\"\npairs = [[0, 1]]\nweights = [-1e39]")
            .replace("rule = \"all_to_all\"\n", ""),
    )
    .refused(&[], &["weights[0] = -1e39"]);
    net(&format!("{LIF_POP}size = 1\nv_th = 1e39\n")).refused(&[], &["population[0] 'a'.v_th"]);
    net("[[population]]\nname = \"c\"\nmodel = \"lif_exp\"\nsize = 1\ni_e_mv = -1e300\n")
        .refused(&[], &["i_e_mv = -1e300"]);
}

#[test]
fn clamped_values_are_refused() {
    let list = format!(
        "{LIF_POP}size = 2\n[[projection]]\nfrom = \"a\"\nto = \"a\"\nrule = \"list\"\npairs = [[0, 1]]\nweight = 1.0\ndelay_steps_list = [70000]\n"
    );
    net(&list).refused(&[], &["delay_steps_list[0] = 70000", "between 1 and 65535"]);
    net(&list.replace("70000", "0")).refused(&[], &["delay_steps_list[0] = 0"]);
    net("dt_ms = 0.1\n[[population]]\nname = \"p\"\nmodel = \"poisson\"\nsize = 1\nrate_hz = 1e12\n")
        .refused(&[], &["population[0] 'p'.rate_hz = 1000000000000", "10000 Hz"]);
}

#[test]
fn names_unfit_for_file_names_are_refused() {
    for (name, shown) in [("a/b", "'/'"), ("a\\u0000b", "'\\0'")] {
        net(&format!(
            "[[population]]\nname = \"{name}\"\nmodel = \"lif\"\nsize = 1\n"
        ))
        .refused(&[], &["population[0].name", shown]);
    }
    let long = "x".repeat(256);
    net(&format!(
        "[[population]]\nname = \"{long}\"\nmodel = \"lif\"\nsize = 1\n"
    ))
    .refused(&[], &["population[0].name", "256 bytes", "200"]);
    net(&format!(
        "{LIF_POP}size = 2\n[[projection]]\nname = \"w/data\"\nfrom = \"a\"\nto = \"a\"\nrule = \"all_to_all\"\nweight = 1.0\n"
    ))
    .refused(&[], &["projection[0].name", "'/'"]);
}

#[test]
fn type_errors_name_their_field() {
    net(&format!("{LIF_POP}size = 1\ntau_m_ms = \"20\"\n"))
        .refused(&[], &["population[0] 'a'.tau_m_ms", "string"]);
    net("[[population]]\nname = \"s\"\nmodel = \"spike_times\"\nsize = 1\ntimes_ms = [[0]]\n")
        .refused(&[], &["population[0] 's'.times_ms[0]"]);
}

#[test]
fn train_scale_out_of_range_is_refused() {
    for s in ["0", "NaN", "1e9", "inf"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let o = eligo_env(
            &[
                "train",
                "--task",
                "evidence",
                "--scale",
                s,
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ],
            &[],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{s}: {err}");
        assert!(err.contains("--scale") && err.contains("(0, 1]"), "{err}");
    }
}
