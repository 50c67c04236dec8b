//! Data-parallel training over several ranks (threads of this process standing in for MPI
//! processes, through an in-process `Exchange`, `sim::ranks::InProcess`; `mpirun` itself: tests/mpi.rs) against a single
//! process: after every iteration, the same weights, biases, losses and diagnostics bit for
//! bit, and the same rule states once swapped, for 2 and 3 ranks on 1 and 2 threads.

use eligo_engine::plugin::{Plugin, config};
use eligo_engine::sim::Exchange;
use eligo_engine::sim::ranks::InProcess;
use eligo_engine::task::{self, TaskOptions};
use eligo_engine::train::{TrainConfig, Trainer};

use crate::common::so;

fn trainer(feedback: &str, threads: usize) -> Trainer {
    let t = task::by_name(
        "evidence",
        &TaskOptions {
            seed: 5,
            scale: 0.1,
        },
    )
    .unwrap();
    let d = t.defaults();
    let plugin = Plugin::load(&so("eligo_eprop")).unwrap();
    let mut rule = format!("feedback = \"{feedback}\"");
    for (name, value) in &d.rule_params {
        rule += &format!("\n{name} = {value}");
    }
    let rc = config::parse(&rule, &plugin).unwrap();
    let cfg = TrainConfig {
        batch: 7,
        threads,
        method: d.method,
        lr: 5e-3,
        seed: 5,
    };
    Trainer::new(t, &plugin, &rc.values, &rc.host, cfg).unwrap()
}

/// What must match after each iteration: weights and biases (bits), loss (bits),
/// diagnostics (bits), and at the end the rule states.
type Trace = (Vec<Vec<u32>>, Vec<u64>, Vec<u8>);

fn bits(tr: &Trainer) -> Vec<u32> {
    let mut b: Vec<u32> = tr
        .network()
        .projections
        .iter()
        .flat_map(|p| p.weights.iter().map(|w| w.to_bits()))
        .collect();
    b.extend(tr.biases().iter().map(|x| x.to_bits()));
    b
}

fn run(tr: &mut Trainer, mut ex: Option<&mut InProcess>, iterations: usize) -> Trace {
    let (mut weights, mut losses) = (Vec::new(), Vec::new());
    for _ in 0..iterations {
        let m = tr
            .step_with(ex.as_deref_mut().map(|e| e as &mut dyn Exchange))
            .unwrap();
        weights.push(bits(tr));
        losses.push(m.loss.to_bits());
        losses.extend(m.diagnostics.iter().map(|(_, v)| v.to_bits()));
    }
    if let Some(ex) = ex {
        tr.swap_rule_states(ex).unwrap();
    }
    let states = tr.rule_states().unwrap().concat();
    (weights, losses, states)
}

#[test]
fn ranks_train_as_one_process() {
    for feedback in ["random", "adaptive"] {
        let one = run(&mut trainer(feedback, 1), None, 3);
        assert!(one.0[0] != one.0[2], "{feedback}: the weights must move");
        for (ranks, threads) in [(2, 1), (3, 2)] {
            let got: Vec<Trace> = std::thread::scope(|s| {
                let hs: Vec<_> = InProcess::group(ranks)
                    .into_iter()
                    .map(|mut ex| {
                        s.spawn(move || run(&mut trainer(feedback, threads), Some(&mut ex), 3))
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for (r, g) in got.iter().enumerate() {
                let what = format!("{feedback}, {ranks} ranks x {threads} threads, rank {r}");
                assert!(g.0 == one.0, "{what}: weights differ");
                assert!(g.1 == one.1, "{what}: losses or diagnostics differ");
                assert!(g.2 == one.2, "{what}: rule states differ");
            }
        }
    }
}
