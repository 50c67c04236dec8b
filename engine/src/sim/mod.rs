//! Simulation: the partition of neurons over threads, event delivery and the step loop.

pub mod barrier;
mod deliver;
mod learning;
pub mod partition;
pub mod simulation;

pub use simulation::{Counters, RecordSpec, SimOptions, Simulation, StateProbe};

#[cfg(test)]
mod tests;
