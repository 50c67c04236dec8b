//! The vocabulary of learning shared by every layer that names it: losses (the per-step readout
//! error a rule receives), optimizers and their per-projection groups.
//!
//! It sits just above [`crate::network`]: tasks propose a loss and an optimizer, the plugin host
//! reads a rule config's optimizer table, the step loop's teacher computes the error, and the
//! trainer applies the optimizer — all through these types, so none of them imports another.

pub mod loss;
pub mod optimizer;

pub use loss::{Loss, Teacher};
pub use optimizer::{Group, Method, Optimizer, constrain};
