//! Integration tests, one binary: the `eligo` CLI end to end and the real plugins loaded from
//! their shared libraries. Each module is one area; run one with
//! `cargo test --release --test integration -- MODULE::`.

mod agent;
mod bptt;
mod checkpoints;
mod cli;
mod common;
mod eprop;
mod eprop_chip;
mod eprop_reward;
mod events;
mod events_hostile;
mod faults;
mod feedback_defaults;
mod grad;
mod grad_batch;
mod limits;
#[cfg(feature = "mpi")]
mod mpi;
mod multi_rule;
mod network_spec;
#[cfg(feature = "hdf5")]
mod nir;
mod npy_input;
mod online_rules;
mod optimizer;
mod params;
mod plugin_loading;
mod plugins;
mod refractory;
mod rstdp;
mod rule_api;
mod sim_plots;
mod sim_weights;
mod stderr_gone;
mod tasks;
mod train;
mod train_clamp;
mod train_data;
mod train_direct;
mod train_multi;
mod train_plots;
mod train_ranks;
