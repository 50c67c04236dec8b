//! Tests of delivery timing and thread-count determinism.

use crate::network::{ConnectRule, NetworkSpec, PopulationSpec, ProjectionSpec, WeightDist, cuba};
use crate::neuron::{LifParams, ModelSpec, PoissonParams, ReadoutParams, SpikeTimesParams};
use crate::sim::{RecordSpec, SimOptions, Simulation, StateProbe};

fn pop(name: &str, size: u32, model: ModelSpec) -> PopulationSpec {
    PopulationSpec {
        name: name.into(),
        size,
        model,
        v_init: None,
    }
}

fn proj(from: &str, to: &str, rule: ConnectRule, w: WeightDist, d: u16) -> ProjectionSpec {
    ProjectionSpec {
        delay_steps: d,
        ..ProjectionSpec::new(from, to, rule, w)
    }
}

/// `n_src` explicit sources spiking at `times_ms` (neuron, ms), connected by `rule` into `n_out`
/// readouts with a very fast filter (`r(t)` = the input of step `t`, plus ~0), dt 1 ms; records
/// the sources' spikes and every readout's `r`.
fn probe_net(
    n_src: u32,
    times_ms: Vec<(u32, f64)>,
    n_out: u32,
    rule: ConnectRule,
    weight: WeightDist,
    delay: u16,
) -> Simulation {
    let spec = NetworkSpec {
        dt_ms: 1.0,
        seed: 1,
        populations: vec![
            pop(
                "src",
                n_src,
                ModelSpec::SpikeTimes(SpikeTimesParams { times_ms }),
            ),
            pop(
                "out",
                n_out,
                ModelSpec::Readout(ReadoutParams {
                    tau_out_ms: 1e-3,
                    bias: 0.0,
                }),
            ),
        ],
        projections: vec![proj("src", "out", rule, weight, delay)],
    };
    let opts = SimOptions {
        threads: 1,
        record: RecordSpec {
            spikes: vec![0],
            state: vec![StateProbe {
                population: 1,
                var: "r".into(),
                neurons: (0..n_out).collect(),
            }],
        },
    };
    Simulation::new(spec.build().unwrap(), &opts).unwrap()
}

#[test]
fn spike_at_t_with_delay_d_arrives_at_t_plus_d() {
    for d in [1u16, 2, 3, 7, 20] {
        for spike_step in [0u64, 1, 5] {
            let mut sim = probe_net(
                2,
                vec![(1, spike_step as f64)],
                1,
                ConnectRule::AllToAll,
                WeightDist::Constant(1.0),
                d,
            );
            sim.run(40, None).expect("no rule attached");
            assert_eq!(sim.spikes(), &[(spike_step, 1)]);
            let r = sim.probe_samples(0);
            let arrival = (spike_step + u64::from(d)) as usize;
            for (t, &x) in r.iter().enumerate() {
                if t == arrival {
                    assert_eq!(x, 1.0, "d={d}: not delivered at step {t}");
                } else {
                    assert!(
                        x < 1e-30,
                        "d={d}: input at step {t}, expected only at {arrival}"
                    );
                }
            }
        }
    }
}

#[test]
fn per_synapse_delays() {
    let mut sim = probe_net(
        1,
        vec![(0, 2.0)],
        3,
        ConnectRule::List {
            pairs: vec![(0, 0), (0, 1), (0, 2)],
            weights: Some(vec![1.0, 2.0, 3.0]),
            delay_steps: Some(vec![4, 1, 9]),
        },
        WeightDist::Constant(0.0),
        1,
    );
    sim.run(15, None).expect("no rule attached");
    let r = sim.probe_samples(0);
    let at = |t: usize, i: usize| r[t * 3 + i];
    assert_eq!((at(6, 0), at(3, 1), at(11, 2)), (1.0, 2.0, 3.0));
    assert!(at(5, 0) < 1e-30 && at(2, 1) < 1e-30 && at(10, 2) < 1e-30);
}

/// A network with every kind of element: Poisson and explicit sources, LIF, readout, mixed
/// delays, recurrent sparse connectivity.
pub(super) fn mixed(seed: u64) -> NetworkSpec {
    NetworkSpec {
        dt_ms: 1.0,
        seed,
        populations: vec![
            pop(
                "in",
                60,
                ModelSpec::Poisson(PoissonParams { rate_hz: 30.0 }),
            ),
            pop(
                "rec",
                301,
                ModelSpec::Lif(LifParams {
                    t_ref_ms: Some(2.0),
                    ..Default::default()
                }),
            ),
            pop("out", 3, ModelSpec::Readout(ReadoutParams::default())),
        ],
        projections: vec![
            proj(
                "in",
                "rec",
                ConnectRule::FixedProbability { p: 0.2 },
                WeightDist::Normal {
                    mean: 0.15,
                    std: 0.1,
                },
                1,
            ),
            proj(
                "rec",
                "rec",
                ConnectRule::FixedIndegree { k: 20 },
                WeightDist::Normal {
                    mean: 0.0,
                    std: 0.2,
                },
                3,
            ),
            proj(
                "rec",
                "out",
                ConnectRule::AllToAll,
                WeightDist::Uniform {
                    low: -0.1,
                    high: 0.1,
                },
                1,
            ),
            // dense rows split over the threads: delivered in runs (sim/deliver.rs)
            proj(
                "in",
                "rec",
                ConnectRule::AllToAll,
                WeightDist::Normal {
                    mean: 0.0,
                    std: 0.02,
                },
                2,
            ),
        ],
    }
}

fn run_all(
    spec: &NetworkSpec,
    threads: usize,
    steps: u64,
) -> (Vec<(u64, u32)>, Vec<Vec<u32>>, u64) {
    let net = spec.build().unwrap();
    let n_pops = net.populations.len();
    let state = (0..n_pops)
        .filter_map(|p| {
            let var = *net.populations[p].model.variables().first()?;
            Some(StateProbe {
                population: p,
                var: var.into(),
                neurons: (0..net.populations[p].size).step_by(7).collect(),
            })
        })
        .collect::<Vec<_>>();
    let n_probes = state.len();
    let opts = SimOptions {
        threads,
        record: RecordSpec {
            spikes: (0..n_pops).collect(),
            state,
        },
    };
    let mut sim = Simulation::new(net, &opts).unwrap();
    // in two chunks, so that resuming a run is covered too
    sim.run(steps / 3, None).expect("no rule attached");
    sim.run(steps - steps / 3, None).expect("no rule attached");
    let bits = (0..n_probes)
        .map(|q| sim.probe_samples(q).iter().map(|x| x.to_bits()).collect())
        .collect();
    (sim.spikes().to_vec(), bits, sim.counters().events)
}

#[test]
fn identical_for_1_2_4_threads() {
    for spec in [mixed(3), cuba::cuba(2000, 5)] {
        let steps = if spec.dt_ms == 1.0 { 400 } else { 2000 };
        let one = run_all(&spec, 1, steps);
        assert!(
            one.0.len() > 100,
            "too few spikes to be a test: {}",
            one.0.len()
        );
        for k in [2, 4] {
            let other = run_all(&spec, k, steps);
            assert!(one.0 == other.0, "spike trains differ with {k} threads");
            assert!(one.1 == other.1, "state traces differ with {k} threads");
            assert_eq!(one.2, other.2, "event counts differ with {k} threads");
        }
    }
}

#[test]
fn events_equal_spikes_times_fanout() {
    let net = mixed(9).build().unwrap();
    let fanout: Vec<Vec<u64>> = net
        .populations
        .iter()
        .enumerate()
        .map(|(p, pop)| {
            (0..pop.size as usize)
                .map(|i| {
                    net.projections
                        .iter()
                        .filter(|q| q.pre == p)
                        .map(|q| q.row(i).len() as u64)
                        .sum()
                })
                .collect()
        })
        .collect();
    let starts: Vec<u32> = net.populations.iter().map(|p| p.start).collect();
    let opts = SimOptions {
        threads: 2,
        record: RecordSpec {
            spikes: vec![0, 1],
            state: vec![],
        },
    };
    let mut sim = Simulation::new(net, &opts).unwrap();
    sim.run(300, None).expect("no rule attached");
    let want: u64 = sim
        .spikes()
        .iter()
        .map(|&(_, g)| {
            let p = starts.partition_point(|&s| s <= g) - 1;
            fanout[p][(g - starts[p]) as usize]
        })
        .sum();
    assert_eq!(sim.counters().events, want);
}

#[test]
fn changed_uniform_weights_are_delivered() {
    // all weights equal: delivery takes the shortcut that reads no weight array; changing the
    // weights must end it
    let mut sim = probe_net(
        2,
        vec![(0, 1.0), (1, 1.0), (0, 6.0)],
        1,
        ConnectRule::AllToAll,
        WeightDist::Constant(1.5),
        1,
    );
    sim.run(4, None).unwrap();
    sim.set_weights(0, &[0.25, 4.0]);
    sim.run(6, None).unwrap();
    let r = sim.probe_samples(0);
    // step 2: both sources' spikes of step 1 at 1.5 each; step 7: source 0's spike of step 6
    assert_eq!(r[2], 3.0);
    assert_eq!(r[7], 0.25);
}

#[test]
fn rows_in_runs_deliver_every_weight() {
    // dense rows (all-to-all: one run each; probability 0.9: runs and scattered pieces) against
    // the sum of the weights of the spiking sources, added in source order
    for rule in [
        ConnectRule::AllToAll,
        ConnectRule::FixedProbability { p: 0.9 },
    ] {
        let n_out = 60;
        let spikes = vec![(0, 1.0), (2, 1.0), (3, 1.0), (1, 4.0), (3, 4.0)];
        let mut sim = probe_net(
            4,
            spikes.clone(),
            n_out,
            rule.clone(),
            WeightDist::Normal {
                mean: 0.0,
                std: 1.0,
            },
            1,
        );
        sim.run(7, None).unwrap();
        let p = &sim.network().projections[0];
        let mut want = vec![0.0f32; 7 * n_out as usize];
        for &(src, ms) in &spikes {
            let t = ms as usize + 1;
            for s in p.row(src as usize) {
                want[t * n_out as usize + p.targets[s] as usize] += p.weights[s];
            }
        }
        let r = sim.probe_samples(0);
        for t in [2, 5] {
            let row = t * n_out as usize..(t + 1) * n_out as usize;
            assert_eq!(r[row.clone()], want[row], "{rule:?}, step {t}");
        }
    }
}
