//! What a simulation records and its options: spike recorders, state probes, thread count.

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
