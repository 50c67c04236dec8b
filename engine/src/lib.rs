//! # eligo-engine
//!
//! The engine of Eligo: spiking neuron models, sparse projections, event-driven delivery over
//! a delay ring buffer, and the multi-threaded step loop. Only spikes travel: the work of a step
//! is the neuron updates plus, for each spike, its outgoing row.
//!
//! Layers, bottom up: [`neuron`] (models) and [`network`] (projections, builders) know nothing
//! above them; [`sim`] runs them; [`io`] reads and writes formats for the layers above.
//!
//! ```
//! use eligo_engine::prelude::*;
//!
//! // the CUBA benchmark network with 1000 neurons, 100 ms on 2 threads
//! let net = eligo_engine::network::cuba::cuba(1000, 7).build().unwrap();
//! let opts = SimOptions { threads: 2, record: RecordSpec { spikes: vec![0, 1], ..Default::default() } };
//! let mut sim = Simulation::new(net, &opts).unwrap();
//! sim.run(1000, None).expect("no rule attached");
//! let c = sim.counters();
//! assert_eq!(c.steps, 1000);
//! assert_eq!(sim.spikes().len() as u64, c.spikes.iter().sum::<u64>());
//! ```
#![deny(missing_docs)]

pub mod data;
pub mod env;
pub mod error;
pub mod io;
#[cfg(test)]
mod layers;
pub mod limits;
pub mod network;
pub mod neuron;
pub mod nir;
pub mod optim;
pub mod plugin;
pub mod rng;
pub mod sim;
pub mod task;
pub mod train;

pub use error::{Error, InputError, Result};

/// The README's example, compiled and run as a doc test so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;

/// The types most programs need.
pub mod prelude {
    pub use crate::error::{Error, Result};
    pub use crate::network::{Network, NetworkSpec, Projection};
    pub use crate::neuron::ModelSpec;
    pub use crate::sim::{Counters, RecordSpec, SimOptions, Simulation, StateProbe};
}
