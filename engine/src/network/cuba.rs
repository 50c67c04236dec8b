//! The CUBA benchmark network of Brette et al. (2007), as in Brian2's and NEST's examples.
//!
//! `N` `lif_exp` neurons (80 % excitatory, 20 % inhibitory), every ordered pair connected with
//! probability `p = 80 / N` (80 synapses per neuron on average; autapses allowed, as Brian2's
//! `connect(p=...)`), excitatory weight 1.62 mV and inhibitory -9 mV on exponential currents
//! (5 ms / 10 ms), `tau_m` 20 ms, rest -49 mV, threshold -50 mV, reset -60 mV, refractory 5 ms,
//! `dt` 0.1 ms, delay 0.1 ms (1 step), initial `V` uniform in [-60, -50] mV.
//!
//! Reference: R. Brette et al., J. Comput. Neurosci. 23:349 (2007), benchmark 2 (CUBA).

use super::{ConnectRule, NetworkSpec, PopulationSpec, ProjectionSpec, WeightDist};
use crate::neuron::{LifExpParams, ModelSpec};

/// Excitatory weight (mV).
pub const W_EXC_MV: f64 = 1.62;
/// Inhibitory weight (mV).
pub const W_INH_MV: f64 = -9.0;

/// The CUBA network with `n` neurons (at least 5).
pub fn cuba(n: u32, seed: u64) -> NetworkSpec {
    cuba_k(n, 80, seed)
}

/// The CUBA network with `k` synapses per neuron on average instead of 80 (`p = k / n`, the
/// weights unchanged): how `eligo bench cuba --synapses-per-neuron` makes a 10^9-synapse
/// network of 10^6 neurons.
pub fn cuba_k(n: u32, k: u32, seed: u64) -> NetworkSpec {
    let n_exc = n * 4 / 5;
    let p = (f64::from(k) / f64::from(n)).min(1.0);
    let pop = |name: &str, size| PopulationSpec {
        name: name.into(),
        size,
        model: ModelSpec::LifExp(LifExpParams::default()),
        v_init: Some(WeightDist::Uniform {
            low: -60.0,
            high: -50.0,
        }),
    };
    let proj = |from: &str, to: &str, w| ProjectionSpec {
        allow_autapses: true,
        ..ProjectionSpec::new(
            from,
            to,
            ConnectRule::FixedProbability { p },
            WeightDist::Constant(w),
        )
    };
    NetworkSpec {
        dt_ms: 0.1,
        seed,
        populations: vec![pop("exc", n_exc), pop("inh", n - n_exc)],
        projections: vec![
            proj("exc", "exc", W_EXC_MV),
            proj("exc", "inh", W_EXC_MV),
            proj("inh", "exc", W_INH_MV),
            proj("inh", "inh", W_INH_MV),
        ],
    }
}
