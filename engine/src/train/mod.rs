//! Training: the lane-parallel trainer and its checkpoints. Losses and optimizers, which the
//! layers below also name, live in [`crate::optim`].

pub mod checkpoint;
pub mod trainer;

pub use trainer::{Metrics, Recording, TrainConfig, Trainer};
