//! Simulation: the partition of neurons over threads, event delivery and the step loop.

pub mod barrier;
mod deliver;
mod hooks;
mod huge;
mod inject;
mod learning;
pub mod modulators;
mod part;
pub mod partition;
pub mod ranks;
pub mod record;
pub mod simulation;

pub use learning::Diagnostics;
pub use modulators::Modulators;
pub use ranks::{Exchange, RankTimes};
pub use record::{RecordSpec, SimOptions, StateProbe, WeightProbe};
pub use simulation::{Counters, Simulation};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ranks;
