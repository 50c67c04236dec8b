//! `ottt` — online training through time (Xiao et al. 2022) for LIF and ALIF networks:
//! gradients of the readout loss for input, recurrent and readout weights and readout biases,
//! from a presynaptic trace times the instantaneous gradient, with no backpropagation through
//! time.
//!
//! Engine convention (every projection on the gradient path has delay 1 step): a spike emitted
//! at step `t` enters `v(t+1)` and the readout `r(t+1)`; the host gives the readout error
//! `err_k(t) = dE/dy_k(t)` of every step. For neuron `j` of a LIF/ALIF population with membrane
//! decay `alpha = exp(-dt/tau_m)`, input `x_i(t) = s_i(t-1)`, readout decay
//! `kappa = exp(-dt/tau_out)`:
//!
//! ```text
//! a_hat_i(t)  = alpha a_hat_i(t-1) + x_i(t)                  presynaptic trace (per neuron)
//! S_j(t)      = sum_k B_jk err_k(t+1),  B = Wout^T           instantaneous gradient dE(t+1)/dz_j(t)
//! dE/dW_ji    = sum_t S_j(t) psi_j(t) a_hat_i(t)
//! dE/dWout_kj = sum_t err_k(t) zk_j(t),  zk_j(t) = kappa zk_j(t-1) + z_j(t-1)
//! dE/db_k     = sum_t err_k(t)
//! ```
//! `a_hat` is the trace of the paper (its `lambda` is the postsynaptic `alpha`); the readout
//! is a leaky unit like the others, so its weights get the same trace-times-instantaneous-error
//! form, which is exact for them. What is dropped, every gradient path through time except
//! the presynaptic leak: the reset (the paper detaches it), the threshold adaptation of ALIF
//! neurons (`psi` is the ALIF one, the adaptation's own path is not followed), the recurrent
//! weights (as in e-prop), and the readout's leak seen from the neurons (`S` uses `err(t+1)`
//! only, not `Ek(t+1) = err(t+1) + kappa Ek(t+2)`).
//!
//! Exact case: without recurrent weights, for LIF neurons and a readout without memory
//! (`kappa = 0`: `tau_out_ms` far below `dt`, the paper's instantaneous loss), OTTT equals BPTT
//! with the reset detached (`bptt` with `stop_z_gradients = yes`); with `kappa > 0` it equals
//! symmetric e-prop with `kappa = 0` in the learning signal. Tests: `tests/online_rules.rs`.
//!
//! Two modes compute the same numbers:
//! - `online`: per presynaptic neuron `a_hat`, per neuron `psi(t-1)`, and at each step
//!   `dE/dW_ji += S_j(t-1) psi_j(t-1) a_hat_i(t-1)` on every synapse (cost synapses x steps,
//!   no per-synapse state: what an on-chip learner stores). The reference.
//! - `event` (default): the sum is linear in the presynaptic spikes, so one backward sweep
//!   `lam_j(t) = psi_j(t) S_j(t) + alpha lam_j(t+1)` gives every gradient: a spike of `i` at
//!   `t` adds `lam_j(t+1)` to `dE/dW_ji`, and `Ek_k(t+1)` to `dE/dWout_kj`. Cost: neurons x
//!   steps + spikes x fan-out.
//!
//! | parameter | default | meaning                 |
//! |-----------|---------|-------------------------|
//! | `mode`    | event   | `event` or `online`     |
//!
//! State: online, 8 B per presynaptic neuron and per LIF/ALIF neuron (nothing per synapse);
//! event, 4 B per neuron and step (`psi`) + 4 B per presynaptic spike. Reads, per step, `psi`
//! of every LIF/ALIF population, the spikes of every population presynaptic to a plastic
//! projection, the readout weights and the readout error. Refuses networks with more or less
//! than one readout, delays other than 1 step on the projections it uses, or plastic
//! projections onto other models.
//!
//! References: M. Xiao, Q. Meng, Z. Zhang, D. He, Z. Lin, "Online training through time for
//! spiking neural networks", NeurIPS 35 (2022); docs/writing-a-rule.md.

mod event;
use eligo_plugin::online_net as net;
mod online;

use eligo_plugin::{Grads, Layout, OutputKind, Param, ParamValues, Rule, Sequence, Step};

use net::Net;

/// The OTTT rule (see the crate docs).
pub struct Ottt {
    net: Net,
    mode: Mode,
}

enum Mode {
    Event(event::Event),
    Online(online::Online),
}

impl Rule for Ottt {
    const NAME: &'static str = "ottt";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const OUTPUT: OutputKind = OutputKind::Gradient;

    fn params() -> Vec<Param> {
        vec![Param::choice(
            "mode",
            "computation",
            &["event", "online"],
            "event",
        )]
    }

    fn create(layout: &Layout, p: &ParamValues) -> Result<Self, String> {
        let net = Net::new(layout, "OTTT")?;
        let mode = match p.choice("mode") {
            "online" => Mode::Online(online::Online::new(&net)),
            _ => Mode::Event(event::Event::new(&net)),
        };
        Ok(Ottt { net, mode })
    }

    fn on_sequence_start(&mut self) -> Result<(), String> {
        match &mut self.mode {
            Mode::Event(e) => e.reset(),
            Mode::Online(o) => o.reset(),
        }
        Ok(())
    }

    fn on_step(&mut self, step: &Step, grads: &mut Grads) -> Result<(), String> {
        self.net.check_error(step, "OTTT")?;
        match &mut self.mode {
            Mode::Event(e) => e.record(&self.net, step),
            Mode::Online(o) => o.step(&self.net, step, grads),
        }
        Ok(())
    }

    fn on_sequence_end(&mut self, seq: &Sequence, grads: &mut Grads) -> Result<(), String> {
        match &self.mode {
            Mode::Event(e) => e.finish(&self.net, seq, grads),
            Mode::Online(_) => Ok(()),
        }
    }
}

eligo_plugin::export_rule!(Ottt);
