//! Training: optimizers (and, later, losses and the trainer).

pub mod optimizer;

pub use optimizer::{Group, Method, Optimizer};
