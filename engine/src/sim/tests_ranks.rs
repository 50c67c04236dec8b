//! Runs over several ranks (threads of this process standing in for processes, through an
//! in-process exchange) against the plain single-process run: the same spikes, bit for bit.

use super::tests::mixed;
use crate::network::{NetworkSpec, cuba};
use crate::sim::ranks::InProcess;
use crate::sim::{RankTimes, RecordSpec, SimOptions, Simulation};

fn opts(spec: &NetworkSpec, threads: usize) -> SimOptions {
    SimOptions {
        threads,
        record: RecordSpec {
            spikes: (0..spec.populations.len()).collect(),
            state: vec![],
        },
    }
}

/// A rank's recorded spikes, delivered events and synapses.
type RankRun = (Vec<(u64, u32)>, u64, usize);

/// Every rank's recorded spikes and event count of `spec` on `ranks` x `threads`, run in two
/// pieces.
fn run_ranks(spec: &NetworkSpec, ranks: usize, threads: usize, steps: u64) -> Vec<RankRun> {
    std::thread::scope(|s| {
        let handles: Vec<_> = InProcess::group(ranks)
            .into_iter()
            .enumerate()
            .map(|(rank, mut ex)| {
                s.spawn(move || {
                    let net = spec.build_part(rank, ranks).unwrap();
                    let synapses = net.n_synapses();
                    let mut sim =
                        Simulation::new_rank(net, &opts(spec, threads), rank, ranks).unwrap();
                    let mut times = RankTimes::default();
                    sim.run_exchanging(steps / 3, None, &mut ex, &mut times)
                        .unwrap();
                    sim.run_exchanging(steps - steps / 3, None, &mut ex, &mut times)
                        .unwrap();
                    assert!(times.epochs > 0);
                    (sim.spikes().to_vec(), sim.counters().events, synapses)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// `mixed` with every delay made longer by `extra` steps: epochs of `1 + extra` steps.
fn delayed(seed: u64, extra: u16) -> NetworkSpec {
    let mut spec = mixed(seed);
    for p in &mut spec.projections {
        p.delay_steps += extra;
    }
    spec
}

/// `mixed` with its recurrent projection drawn by `fixed_total_number` and per-synapse normal
/// delays (mean 3 ms, sd 1.5 ms at dt 1 ms): the draws of weights and delays are split as well.
fn varied(seed: u64) -> NetworkSpec {
    let mut spec = mixed(seed);
    for p in &mut spec.projections {
        if p.from == "rec" && p.to == "rec" {
            p.rule = crate::network::ConnectRule::FixedTotalNumber { n: 6000 };
            p.delay_normal_ms = Some((3.0, 1.5));
        }
    }
    spec
}

#[test]
fn ranks_give_the_single_process_spikes() {
    for (spec, steps) in [
        (mixed(3), 400),
        (delayed(4, 2), 400),
        (varied(6), 400),
        (cuba::cuba(2000, 5), 1500),
    ] {
        let one = {
            let net = spec.build().unwrap();
            let total = net.n_synapses();
            let mut sim = Simulation::new(net, &opts(&spec, 1)).unwrap();
            sim.run(steps, None).unwrap();
            (sim.spikes().to_vec(), sim.counters().events, total)
        };
        assert!(
            one.0.len() > 100,
            "too few spikes to be a test: {}",
            one.0.len()
        );
        for ranks in [1, 2, 3] {
            for threads in [1, 2] {
                let got = run_ranks(&spec, ranks, threads, steps);
                let events: u64 = got.iter().map(|g| g.1).sum();
                let synapses: usize = got.iter().map(|g| g.2).sum();
                assert_eq!(synapses, one.2, "ranks hold the network's synapses once");
                assert_eq!(events, one.1, "{ranks} x {threads}: event counts");
                for (r, g) in got.iter().enumerate() {
                    assert!(
                        g.0 == one.0,
                        "{ranks} x {threads}: rank {r}'s spikes differ"
                    );
                }
            }
        }
    }
}
