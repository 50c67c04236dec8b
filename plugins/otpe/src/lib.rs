//! `otpe` — online training with postsynaptic estimates (Summe et al. 2023) for LIF and ALIF
//! networks: gradients of the readout loss for input, recurrent and readout weights and
//! readout biases. OTPE extends OTTT/OSTL by a postsynaptic trace `r_hat` that estimates the
//! temporal effect of a neuron's spikes on the layer after it — here the readout, whose leak
//! `kappa` carries every spike into all later outputs.
//!
//! Engine convention (every projection on the gradient path has delay 1 step): a spike emitted
//! at step `t` enters `v(t+1)` and the readout `r(t+1)`; the host gives the readout error
//! `err_k(t) = dE/dy_k(t)` of every step. For neuron `j` (`v_j(t) = alpha v_j(t-1) + I_j(t) -
//! v_th z_j(t-1)`, `a_j(t) = rho a_j(t-1) + z_j(t-1)`, threshold `v_th + beta_j a_j(t)`,
//! `dz/dv := psi`, `dz/da := -beta psi`), input `x_i(t) = s_i(t-1)`, readout decay `kappa`:
//!
//! ```text
//! e_ji(t)       = psi_j(t) (eps_v_ji(t) - beta_j eps_a_ji(t))        (= dz_j(t)/dW_ji, local)
//! eps_v_ji(t+1) = alpha eps_v_ji(t) + x_i(t+1) - v_th e_ji(t)
//! eps_a_ji(t+1) = rho eps_a_ji(t) + e_ji(t)
//! r_hat_ji(t)   = kappa r_hat_ji(t-1) + e_ji(t)                      postsynaptic estimate
//! dE/dW_ji      = sum_t L_j(t+1) r_hat_ji(t),  L_j(t) = sum_k B_jk err_k(t),  B = Wout^T
//! dE/dWout_kj   = sum_t err_k(t) zk_j(t),  zk_j(t) = kappa zk_j(t-1) + z_j(t-1)
//! dE/db_k       = sum_t err_k(t)
//! ```
//! `e` is OSTL's temporal component (the exact neuron-local forward-mode derivative, reset
//! and adaptation included); `r_hat` is the paper's `R_hat`, filtered with the leak of the
//! postsynaptic layer, which for the readout is exact: `sum_t L_j(t+1) r_hat_ji(t) = sum_t
//! e_ji(t) sum_k B_jk Ek_k(t+1)` with `Ek_k(t) = err_k(t) + kappa Ek_k(t+1)`. The paper's second
//! estimate, `g_bar` (the averaged `ds/du` that carries the gradient on to an earlier spiking
//! layer), is not needed: every LIF/ALIF neuron gets its learning signal from the readout
//! directly, and no gradient flows through network-internal weights.
//!
//! Approximation: recurrent and other network-internal weights carry no gradient (`e_ji` keeps
//! only the neuron's own path). Exact case: without recurrent weights, OTPE equals plain BPTT
//! (`bptt`, `stop_z_gradients = no`) for any readout leak, LIF and ALIF. Tests:
//! `tests/online_rules.rs`.
//!
//! Two modes compute the same numbers:
//! - `online`: the per-synapse `eps_v`, `r_hat` (and `eps_a` in adapting populations) above,
//!   updated every step (cost synapses x steps). The reference.
//! - `event` (default): the gradient is linear in the presynaptic spikes, so one backward
//!   sweep per neuron through its own state gives it: `dz_j(t) = S_j(t) - v_th lam_v_j(t+1) +
//!   lam_a_j(t+1)` with `S_j(t) = sum_k B_jk Ek_k(t+1)`, `lam_v_j(t) = psi_j(t) dz_j(t) + alpha
//!   lam_v_j(t+1)`, `lam_a_j(t) = -beta_j psi_j(t) dz_j(t) + rho lam_a_j(t+1)`; a spike of `i`
//!   at `t` adds `lam_v_j(t+1)` to `dE/dW_ji`, and `Ek_k(t+1)` to `dE/dWout_kj`. Cost: neurons x
//!   steps + spikes x fan-out.
//!
//! | parameter | default | meaning                 |
//! |-----------|---------|-------------------------|
//! | `mode`    | event   | `event` or `online`     |
//!
//! State: online, 8 B per synapse (`eps_v`, `r_hat`; 12 B into adapting populations) + 4 B per
//! presynaptic and per LIF/ALIF neuron; event, 4 B per neuron and step (`psi`) + 4 B per
//! presynaptic spike. Reads, per step, `psi` of every LIF/ALIF population, the spikes of every
//! population presynaptic to a plastic projection, the readout weights and the readout error.
//! Refuses networks with more or less than one readout, delays other than 1 step on the
//! projections it uses, or plastic projections onto other models.
//!
//! References: T. Summe, C. J. Schaefer, S. Joshi, "Estimating post-synaptic effects for online
//! training of feed-forward SNNs", arXiv:2311.16151 (2023); T. Bohnstingl et al., "Online
//! spatio-temporal learning in deep neural networks", IEEE TNNLS (2022) (OSTL);
//! docs/writing-a-rule.md.

mod event;
use eligo_plugin::online_net as net;
mod online;

use eligo_plugin::{Grads, Layout, OutputKind, Param, ParamValues, Rule, Sequence, Step};

use net::Net;

/// The OTPE rule (see the crate docs).
pub struct Otpe {
    net: Net,
    mode: Mode,
}

enum Mode {
    Event(event::Event),
    Online(online::Online),
}

impl Rule for Otpe {
    const NAME: &'static str = "otpe";
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
        let net = Net::new(layout, "OTPE")?;
        let mode = match p.choice("mode") {
            "online" => Mode::Online(online::Online::new(&net)),
            _ => Mode::Event(event::Event::new(&net)),
        };
        Ok(Otpe { net, mode })
    }

    fn on_sequence_start(&mut self) -> Result<(), String> {
        match &mut self.mode {
            Mode::Event(e) => e.reset(),
            Mode::Online(o) => o.reset(),
        }
        Ok(())
    }

    fn on_step(&mut self, step: &Step, grads: &mut Grads) -> Result<(), String> {
        self.net.check_error(step, "OTPE")?;
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

eligo_plugin::export_rule!(Otpe);
