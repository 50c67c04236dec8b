//! `ostl` — online spatio-temporal learning (Bohnstingl et al. 2022) for LIF and ALIF
//! networks: gradients of the readout loss for input, recurrent and readout weights and
//! readout biases, as a temporal component (each neuron's own sensitivity to its incoming
//! weights, carried forward exactly, reset and adaptation included) times a spatial component
//! (the instantaneous gradient from the readout).
//!
//! Engine convention (every projection on the gradient path has delay 1 step): a spike emitted
//! at step `t` enters `v(t+1)` and the readout `r(t+1)`; the host gives the readout error
//! `err_k(t) = dE/dy_k(t)` of every step. For neuron `j` (`v_j(t) = alpha v_j(t-1) + I_j(t) -
//! v_th z_j(t-1)`, `a_j(t) = rho a_j(t-1) + z_j(t-1)`, threshold `v_th + beta_j a_j(t)`,
//! `dz/dv := psi`, `dz/da := -beta psi`), input `x_i(t) = s_i(t-1)`, readout decay `kappa`:
//!
//! ```text
//! temporal:  e_ji(t)       = psi_j(t) (eps_v_ji(t) - beta_j eps_a_ji(t))     (= dz_j(t)/dW_ji)
//!            eps_v_ji(t+1) = alpha eps_v_ji(t) + x_i(t+1) - v_th e_ji(t)     (= dv_j(t+1)/dW_ji)
//!            eps_a_ji(t+1) = rho eps_a_ji(t) + e_ji(t)                       (= da_j(t+1)/dW_ji)
//! spatial:   S_j(t)        = sum_k B_jk err_k(t+1),  B = Wout^T              (dE(t+1)/dz_j(t))
//! dE/dW_ji    = sum_t S_j(t) e_ji(t)
//! dE/dWout_kj = sum_t err_k(t) zk_j(t),  zk_j(t) = kappa zk_j(t-1) + z_j(t-1)
//! dE/db_k     = sum_t err_k(t)
//! ```
//! The temporal component is the exact neuron-local forward-mode derivative (the reset term
//! `-v_th e` is what e-prop drops); the readout is the output layer, whose weights get their own
//! exact trace `zk`.
//!
//! Approximations: the spatial component is the gradient of the next step's loss only (it
//! ignores that `z_j(t)` also reaches `y(t+2), ...` through the readout's leak `kappa`), and no
//! gradient flows through recurrent or other network-internal weights (the paper's
//! recurrence-free assumption; with recurrent weights `e_ji` keeps only the neuron's own path,
//! not the effect of `z_j` on the other neurons and back). Exact case: without recurrent
//! weights and with a memoryless readout (`kappa = 0`: `tau_out_ms` far below `dt`), one
//! layer's path is the whole path and OSTL equals plain BPTT (`bptt`, `stop_z_gradients =
//! no`), LIF and ALIF. Tests: `tests/online_rules.rs`.
//!
//! Two modes compute the same numbers:
//! - `online`: the per-synapse `eps_v` (and `eps_a` in adapting populations) above, updated
//!   every step (cost synapses x steps). The reference.
//! - `event` (default): the gradient is linear in the presynaptic spikes, so one backward
//!   sweep per neuron through its own state gives it: `dz_j(t) = S_j(t) - v_th lam_v_j(t+1) +
//!   lam_a_j(t+1)`, `lam_v_j(t) = psi_j(t) dz_j(t) + alpha lam_v_j(t+1)`, `lam_a_j(t) = -beta_j
//!   psi_j(t) dz_j(t) + rho lam_a_j(t+1)`; a spike of `i` at `t` adds `lam_v_j(t+1)` to
//!   `dE/dW_ji`, and `Ek_k(t+1)` to `dE/dWout_kj`. Cost: neurons x steps + spikes x fan-out.
//!
//! | parameter | default | meaning                 |
//! |-----------|---------|-------------------------|
//! | `mode`    | event   | `event` or `online`     |
//!
//! State: online, 4 B per synapse (`eps_v`; 8 B into adapting populations) + 4 B per
//! presynaptic and per LIF/ALIF neuron; event, 4 B per neuron and step (`psi`) + 4 B per
//! presynaptic spike. Reads, per step, `psi` of every LIF/ALIF population, the spikes of every
//! population presynaptic to a plastic projection, the readout weights and the readout error.
//! Refuses networks with more or less than one readout, delays other than 1 step on the
//! projections it uses, or plastic projections onto other models.
//!
//! References: T. Bohnstingl, S. Woźniak, A. Pantazi, E. Eleftheriou, "Online spatio-temporal
//! learning in deep neural networks", IEEE Trans. Neural Netw. Learn. Syst. 34:8894 (2023;
//! online 2022); docs/writing-a-rule.md.

mod event;
use eligo_plugin::online_net as net;
mod online;

use eligo_plugin::{Grads, Layout, OutputKind, Param, ParamValues, Rule, Sequence, Step};

use net::Net;

/// The OSTL rule (see the crate docs).
pub struct Ostl {
    net: Net,
    mode: Mode,
}

enum Mode {
    Event(event::Event),
    Online(online::Online),
}

impl Rule for Ostl {
    const NAME: &'static str = "ostl";
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
        let net = Net::new(layout, "OSTL")?;
        let mode = match p.choice("mode") {
            "online" => Mode::Online(online::Online::new(&net)),
            _ => Mode::Event(event::Event::new(&net)),
        };
        Ok(Ostl { net, mode })
    }

    fn on_sequence_start(&mut self) -> Result<(), String> {
        match &mut self.mode {
            Mode::Event(e) => e.reset(),
            Mode::Online(o) => o.reset(),
        }
        Ok(())
    }

    fn on_step(&mut self, step: &Step, grads: &mut Grads) -> Result<(), String> {
        self.net.check_error(step, "OSTL")?;
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

eligo_plugin::export_rule!(Ostl);
