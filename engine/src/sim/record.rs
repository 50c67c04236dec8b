//! What a simulation records and its options: spike recorders, state probes, weight probes,
//! thread count.

/// What to record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordSpec {
    /// Populations whose spikes are recorded.
    pub spikes: Vec<usize>,
    /// State probes.
    pub state: Vec<StateProbe>,
}

/// Sample a state variable of some neurons every step.
#[derive(Debug, Clone, PartialEq)]
pub struct StateProbe {
    /// Population index.
    pub population: usize,
    /// Variable name (see [`ModelSpec::variables`](crate::neuron::ModelSpec::variables)).
    pub var: String,
    /// Neuron indices within the population.
    pub neurons: Vec<u32>,
}

/// Options of a simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// Number of threads (>= 1).
    pub threads: usize,
    /// Recorders.
    pub record: RecordSpec,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            threads: 1,
            record: RecordSpec::default(),
        }
    }
}

/// Sample the weights of one projection every `every_steps` steps (`[[recorder]] kind =
/// "weights"`). The simulation does not hold these: the caller samples
/// [`Network::projections`](crate::network::Network::projections) between pieces of a run,
/// which it ends on sample boundaries, so the samples do not depend on how a run is cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightProbe {
    /// Projection index.
    pub projection: usize,
    /// Steps between two samples (>= 1): row `k` (from 0) holds the weights after step
    /// `(k + 1) * every_steps`, i.e. at `t = (k + 1) * every_ms`.
    pub every_steps: u64,
}
