//! Training: losses (the per-step readout error rules receive) and optimizers.

pub mod checkpoint;
pub mod loss;
pub mod optimizer;
pub mod trainer;

pub use loss::{Loss, Teacher};
pub use optimizer::{Group, Method, Optimizer};
pub use trainer::{Metrics, Recording, TrainConfig, Trainer};
