//! `train --clamp-events FILE --population P`: recorded activity replayed into every sequence
//! of a training run.

use eligo_engine::io::events::{AeEvent, npy};
use eligo_engine::sim::{RecordSpec, SimOptions, Simulation};
use eligo_engine::task::{self, Split, TaskOptions};

use crate::common::{arg, eligo, ok, refused};

const PATTERN: &[&str] = &[
    "train",
    "--task",
    "pattern",
    "--scale",
    "0.1",
    "--iterations",
    "3",
    "--seed",
    "4",
    "--threads",
    "1",
    "--quiet",
];

/// Simulate the pattern task's network on its (frozen) input with a spike recorder on `in`,
/// and write what the recorder saw as an Eligo event file (µs = step x 1000).
fn record_input(path: &std::path::Path, shift_steps: u64) {
    let t = task::by_name(
        "pattern",
        &TaskOptions {
            seed: 4,
            scale: 0.1,
        },
    )
    .unwrap();
    let net = t.network(4).build().unwrap();
    let input = net.population("in").unwrap();
    let opts = SimOptions {
        threads: 1,
        record: RecordSpec {
            spikes: vec![input],
            ..Default::default()
        },
    };
    let mut sim = Simulation::new(net, &opts).unwrap();
    sim.clamp(input, &t.sample(Split::Train, 0).unwrap().input)
        .unwrap();
    sim.run(t.steps(), None).unwrap();
    let events: Vec<AeEvent> = sim
        .population_spikes(input)
        .into_iter()
        .map(|(s, i)| AeEvent::addr((s + shift_steps) * 1000, i))
        .collect();
    assert!(events.len() > 50, "the pattern task's input spikes");
    npy::write(path, &events, false).unwrap();
}

fn weights(dir: &std::path::Path) -> Vec<u8> {
    std::fs::read(dir.join("weights.npz")).unwrap()
}

#[test]
fn clamped_recording_of_the_input_reproduces_the_task_run_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("in.npy");
    record_input(&rec, 0);
    let (a, b, c) = (
        dir.path().join("task"),
        dir.path().join("clamped"),
        dir.path().join("shifted"),
    );
    ok(&eligo(&[PATTERN, &["--out", arg(&a)]].concat()));
    ok(&eligo(
        &[
            PATTERN,
            &[
                "--out",
                arg(&b),
                "--clamp-events",
                arg(&rec),
                "--population",
                "in",
            ],
        ]
        .concat(),
    ));
    assert_eq!(
        weights(&a),
        weights(&b),
        "clamped replay != the task's own run"
    );
    // the clamp is really what drives the run: the same recording one step later trains other
    // weights
    let shifted = dir.path().join("shifted.npy");
    record_input(&shifted, 1);
    ok(&eligo(
        &[
            PATTERN,
            &[
                "--out",
                arg(&c),
                "--clamp-events",
                arg(&shifted),
                "--population",
                "in",
            ],
        ]
        .concat(),
    ));
    assert_ne!(weights(&a), weights(&c));
}

#[test]
fn clamp_errors_name_the_file_and_population() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("in.npy");
    record_input(&rec, 0);
    let out = dir.path().join("o");
    let o = eligo(
        &[
            PATTERN,
            &[
                "--out",
                arg(&out),
                "--clamp-events",
                arg(&rec),
                "--population",
                "inn",
            ],
        ]
        .concat(),
    );
    refused(&o, &["--population", "inn", "did you mean"]);
    let o = eligo(
        &[
            PATTERN,
            &[
                "--out",
                arg(&out),
                "--clamp-events",
                arg(&dir.path().join("missing.npy")),
                "--population",
                "in",
            ],
        ]
        .concat(),
    );
    refused(&o, &["missing.npy"]);
    // addresses beyond the population
    let wide = dir.path().join("wide.npy");
    npy::write(&wide, &[AeEvent::addr(0, 100_000)], false).unwrap();
    let o = eligo(
        &[
            PATTERN,
            &[
                "--out",
                arg(&out),
                "--clamp-events",
                arg(&wide),
                "--population",
                "in",
            ],
        ]
        .concat(),
    );
    refused(&o, &["wide.npy", "100000"]);
}
