//! Training: losses (the per-step readout error rules receive) and optimizers.

pub mod loss;
pub mod optimizer;

pub use loss::{Loss, Teacher};
pub use optimizer::{Group, Method, Optimizer};
