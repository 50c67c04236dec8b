//! The plugin host: loading rule libraries (C ABI of `eligo-plugin`), checking them, their
//! configuration, and running an instance against a network.

pub mod config;
pub mod host;
pub mod listing;
pub mod loader;

pub use config::{HostOptions, RuleConfig};
pub use eligo_plugin::{OutputKind, ParamKind};
pub use host::{RuleInstance, StepData};
pub use loader::{ParamSpec, Plugin};
