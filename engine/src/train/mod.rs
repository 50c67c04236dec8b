//! Training: the lane-parallel trainer, its checkpoints, the training run (schedule, validation,
//! early stopping, checkpoints, resume, observers) and its set-up from a user's request. Losses and optimizers, which the
//! layers below also name, live in [`crate::optim`].

pub mod agent;
pub mod agent_run;
pub mod agent_setup;
pub mod checkpoint;
pub mod grad;
mod ranks;
pub mod rules;
pub mod run;
pub mod setup;
pub mod trainer;

pub use run::{Ending, Iteration, NoObserver, Observer, Outcome, Schedule, TrainingRun};
pub use setup::{ClampChoice, DataChoice, ParamSetting, RuleChoice, RunSpec};
pub use trainer::{
    BatchGradients, Metrics, Recording, RuleGradients, TrainConfig, TrainRule, Trainer,
};
