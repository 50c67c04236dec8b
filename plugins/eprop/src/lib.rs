//! `eprop` — eligibility propagation (Bellec et al. 2020) for LIF and ALIF (LSNN) networks:
//! gradients of the readout loss for input, recurrent and readout weights and readout biases.
//!
//! Engine convention (every plastic projection has delay 1 step): a presynaptic spike emitted
//! at step `t-1` enters `v(t)`; the readout at step `t` has integrated spikes up to `t-1`; the
//! host gives the readout error `err(t) = dE/dy(t)` of every step (`eligo_engine::optim::Loss`).
//! The paper's network, input `x(t) = s(t-1)` and readout one step later: docs/eprop.md §2.3.
//!
//! ```text
//! eps_v_i(t)  = alpha eps_v_i(t-1) + s_i(t-1)                      (presynaptic trace)
//! eps_a_ji(t+1) = psi_j(t) eps_v_i(t) + (rho - psi_j(t) beta_j) eps_a_ji(t)   (ALIF)
//! e_ji(t)     = psi_j(t) (eps_v_i(t) - beta_j eps_a_ji(t))
//! L_j(t)      = sum_k B_jk err_k(t)
//! dE/dW_ji    = sum_t L_j(t+1) ebar_ji(t),   ebar(t) = kappa ebar(t-1) + e(t)
//! dE/dWout_kj = sum_t err_k(t) zk_j(t),      zk_j(t) = kappa zk_j(t-1) + z_j(t-1)
//! dE/db_k     = sum_t err_k(t)
//! ```
//! Two modes compute the same numbers:
//! - `online`: the per-synapse traces above, updated every step (what an on-chip learner
//!   stores; cost synapses × steps). The reference.
//! - `event` (default): everything is linear in the presynaptic spikes, so with
//!   `Ek_k(t) = err_k(t) + kappa Ek_k(t+1)` and `Lk_j(t) = sum_k B_jk Ek_k(t+1)`, one backward
//!   pass per neuron gives the adjoints
//!   `lam_a(t) = -beta psi(t) Lk(t) + (rho - psi(t) beta) lam_a(t+1)`,
//!   `lam_v(t) = psi(t) Lk(t) + psi(t) lam_a(t+1) + alpha lam_v(t+1)`,
//!   and a spike of `i` at `t` adds `lam_v_j(t+1)` to `dE/dW_ji` (and `Ek_k(t+1)` to
//!   `dE/dWout_kj`). Cost: neurons × steps + spikes × fan-out.
//!
//! | parameter      | default   | meaning                                                 |
//! |----------------|-----------|---------------------------------------------------------|
//! | `feedback`     | symmetric | `symmetric` (B = Wout^T, every step), `random` (fixed), `adaptive` (Kolen-Pollack); `eligo train` passes `random` unless `--feedback` |
//! | `adaptive_decay` | 1e-3    | adaptive: per-batch decay `lambda` of `B` and `Wout`     |
//! | `mode`         | event     | `event` or `online`                                     |
//! | `random_scale` | 1.0       | standard deviation of random feedback weights           |
//! | `feedback_file` | (none)   | a `.npy` with `B` itself (random: fixed; adaptive: `B_0`), see below |
//! | `c_reg`        | 0         | firing-rate regularization strength (0: off)            |
//! | `f_target_hz`  | 10        | target rate of the regularizer (Hz)                     |
//! | `learning`     | supervised | `supervised` (the host's readout error) or `reward` (actor-critic, below) |
//! | `form`         | td        | reward: `td` (TD error x F_gamma trace) or `a2c` (forward-view returns; event mode) |
//! | `agent_steps`  | 5         | reward: network steps per agent step (steps)            |
//! | `gamma`        | 0.99      | reward: discount per agent step                         |
//! | `c_v`, `c_entropy` | 1, 0  | reward: weights of the value loss and the entropy bonus |
//! | `unroll`       | 0         | reward: agent steps per unroll, traces restart at each start (0: the episode) |
//! | `scale`        | 1         | reward: factor on every gradient (hosts: 1 / episodes per batch) |
//! | `action_channel`, `reward_channel`, `done_channel` | action, reward, done | reward: the modulator channels the host sets after each agent step |
//!
//! Reward-based e-prop (`learning = reward`, docs/eprop.md §14): the readout has `A + 1`
//! outputs, the policy logits then the value; the TD error of each agent step weights the
//! `F_gamma`-filtered eligibility (`online`, `reward_online.rs`), or, the same numbers, one
//! backward sweep with the readout error `err(t_n) = D_n g_n + h_n` (`event`, `reward.rs`).
//!
//! Regularizer: `E_reg = c_reg sum_j (f_j - f_target)^2` over the batch rates `f_j`; its
//! gradient `2 c_reg (f_j - f_target)/(T n_batch) sum_batch sum_t e_ji(t)` is completed in
//! `on_batch_end` (the event form uses the same backward pass with `Lk := 1`, unfiltered).
//!
//! Adaptive feedback: `B` starts random and receives the same updates as `Wout^T`; after each
//! batch both are multiplied by `(1 - lambda)`. Since both get identical updates,
//! `B(n) = Wout^T(n) + (1 - lambda)^n (B_0 - Wout_0^T)` exactly, which is how `B` is computed;
//! the host must decay `Wout` by the same `lambda` (rule config `[optimizer]
//! decay_by_projection = { "rec->out" = 1e-3 }`).
//!
//! Given feedback (`feedback_file`): a float32 or float64 `.npy` of shape `[n_rec, n_out]`,
//! `B[j, k]` the weight of output `k`'s error in neuron `j`'s learning signal, the rows the
//! neurons of every LIF/ALIF population in population order (e.g. `B = Wout^T` of a dense
//! `[n_out, n_rec]` readout). It replaces the random draw: `random` keeps it fixed, `adaptive`
//! starts from it; `symmetric` (which has no `B` of its own) refuses it. The parameter carries a
//! file name because the plugin ABI passes numbers and texts, not matrices; `eligo grad
//! --feedback-matrix` sets it.
//!
//! References: G. Bellec et al., "A solution to the learning dilemma for recurrent networks of
//! spiking neurons", Nat. Commun. 11:3625 (2020); docs/eprop.md (§5-§7 derive all of the above).

mod event;
mod net;
mod online;
mod reg;
mod reward;
mod reward_online;

use eligo_plugin::{
    Batch, Diagnostics, Grads, Layout, OutputKind, Param, ParamValues, Rule, Scope, Sequence, Step,
};

use net::{Feedback, Net};

/// The e-prop rule (see the module docs).
pub struct Eprop {
    net: Net,
    mode: Mode,
    reg: Option<reg::Reg>,
    /// `learning = reward`: the actor-critic settings (else the host's readout error).
    reward: Option<reward::Reward>,
}

enum Mode {
    Event(event::Event),
    Online(online::Online),
    /// Reward-based, event-driven: the recording and the agent steps seen.
    RewardEvent(event::Event, reward::Log),
    RewardOnline(Box<reward_online::RewardOnline>),
}

impl Rule for Eprop {
    const NAME: &'static str = "eprop";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const OUTPUT: OutputKind = OutputKind::Gradient;

    fn params() -> Vec<Param> {
        vec![
            Param::choice(
                "feedback",
                "learning-signal weights B (eligo train's default: random)",
                &["symmetric", "random", "adaptive"],
                "symmetric",
            ),
            Param::choice("mode", "computation", &["event", "online"], "event"),
            Param::number(
                "random_scale",
                "",
                "std of random feedback weights",
                1.0,
                0.0,
                1e6,
            ),
            Param::string(
                "feedback_file",
                "B from a .npy of shape [n_rec, n_out] (random: fixed B; adaptive: B_0); empty: drawn",
                "",
            ),
            Param::number(
                "adaptive_decay",
                "",
                "adaptive feedback: decay of B - Wout^T per batch (set the same [optimizer] decay on the readout)",
                1e-3,
                0.0,
                1.0,
            ),
            Param::number(
                "c_reg",
                "",
                "firing-rate regularization strength",
                0.0,
                0.0,
                1e12,
            ),
            Param::number(
                "f_target_hz",
                "Hz",
                "target rate of the regularizer",
                10.0,
                0.0,
                1e6,
            ),
            Param::choice(
                "learning",
                "supervised: the host's readout error; reward: actor-critic from the channels action, reward, done (docs/eprop.md §14)",
                &["supervised", "reward"],
                "supervised",
            ),
            Param::choice(
                "form",
                "reward: td (TD error times F_gamma-filtered eligibility) or a2c (forward-view returns within unrolls; event mode)",
                &["td", "a2c"],
                "td",
            ),
            Param::number(
                "agent_steps",
                "steps",
                "reward: network steps per agent step (the host's)",
                5.0,
                1.0,
                1e6,
            ),
            Param::number(
                "gamma",
                "",
                "reward: discount per agent step",
                0.99,
                0.0,
                1.0,
            ),
            Param::number("c_v", "", "reward: weight of the value loss", 1.0, 0.0, 1e6),
            Param::number(
                "c_entropy",
                "",
                "reward: weight of the entropy bonus",
                0.0,
                0.0,
                1e6,
            ),
            Param::number(
                "unroll",
                "agent steps",
                "reward: agent steps per unroll, traces restart at each unroll start (0: the whole episode)",
                0.0,
                0.0,
                1e12,
            ),
            Param::number(
                "scale",
                "",
                "reward: factor on every gradient (the host sets 1 / episodes per batch)",
                1.0,
                0.0,
                1e12,
            ),
            Param::string("action_channel", "reward: the action channel", "action"),
            Param::string("reward_channel", "reward: the reward channel", "reward"),
            Param::string("done_channel", "reward: the end-of-episode channel", "done"),
        ]
    }

    fn create(layout: &Layout, p: &ParamValues) -> Result<Self, String> {
        let feedback = match p.choice("feedback") {
            "random" => Feedback::Random,
            "adaptive" => Feedback::Adaptive {
                decay: p.get("adaptive_decay"),
                d0: None,
                batches: 0,
            },
            _ => Feedback::Symmetric,
        };
        let given = p.text("feedback_file");
        if !given.is_empty() && matches!(feedback, Feedback::Symmetric) {
            return Err(format!(
                "feedback_file '{given}' gives B, but feedback = symmetric sets B = Wout^T at every step: set feedback = random (B fixed to the file) or adaptive (B starts there)"
            ));
        }
        let mut net = Net::new(layout, feedback, p.get("random_scale"))?;
        if !given.is_empty() {
            net.set_feedback(given)?;
        }
        let reward = match p.choice("learning") {
            "reward" => Some(reward::Reward::new(layout, p, net.readout, net.n_out)?),
            _ => None,
        };
        let mode = match (p.choice("mode"), reward.is_some()) {
            ("online", false) => Mode::Online(online::Online::new(&net)),
            ("online", true) => {
                Mode::RewardOnline(Box::new(reward_online::RewardOnline::new(&net)))
            }
            (_, false) => Mode::Event(event::Event::new(&net)),
            (_, true) => Mode::RewardEvent(event::Event::new(&net), reward::Log::default()),
        };
        let c_reg = p.get("c_reg");
        let reg = (c_reg > 0.0)
            .then(|| reg::Reg::new(&net, c_reg, p.get("f_target_hz") * layout.dt_ms() * 1e-3));
        Ok(Eprop {
            net,
            mode,
            reg,
            reward,
        })
    }

    fn on_sequence_start(&mut self) -> Result<(), String> {
        match &mut self.mode {
            Mode::Event(e) => e.reset(),
            Mode::Online(o) => o.reset(),
            Mode::RewardEvent(e, log) => {
                e.reset();
                log.clear();
            }
            Mode::RewardOnline(o) => o.reset(),
        }
        Ok(())
    }

    fn on_step(&mut self, step: &Step, grads: &mut Grads) -> Result<(), String> {
        if let Some(rw) = &self.reward {
            self.net.update_feedback(step);
            return match &mut self.mode {
                Mode::RewardEvent(e, log) => {
                    rw.observe(step, log)?;
                    e.record(&self.net, step);
                    Ok(())
                }
                Mode::RewardOnline(o) => o.step(&self.net, rw, step, grads, self.reg.as_mut()),
                _ => unreachable!("reward modes are built with the reward settings"),
            };
        }
        if step.error().len() != self.net.n_out {
            return Err(format!(
                "e-prop needs the readout error of every step ({} values), got {}: train with a teacher",
                self.net.n_out,
                step.error().len()
            ));
        }
        self.net.update_feedback(step);
        match &mut self.mode {
            Mode::Event(e) => e.record(&self.net, step),
            Mode::Online(o) => o.step(&self.net, step, grads, self.reg.as_mut()),
            _ => unreachable!("supervised modes are built without reward settings"),
        }
        Ok(())
    }

    fn on_sequence_end(&mut self, seq: &Sequence, grads: &mut Grads) -> Result<(), String> {
        match &mut self.mode {
            Mode::Event(e) => e.finish(&self.net, seq.errors(), &[], grads, self.reg.as_mut()),
            Mode::RewardEvent(e, log) => {
                let rw = self.reward.as_ref().expect("reward mode");
                let t_len = e.steps();
                let errors = rw.errors(log, t_len as usize)?;
                let restarts = rw.restart_steps(t_len);
                e.finish(&self.net, &errors, &restarts, grads, self.reg.as_mut())
            }
            Mode::Online(_) | Mode::RewardOnline(_) => Ok(()),
        }
    }

    /// Reward-based, event form: per episode the policy's mean entropy over the agent steps
    /// that acted and the mean value readout (`reward.rs`, `Reward::diagnose`).
    fn diagnostics(&mut self, scope: Scope, out: &mut Diagnostics) {
        if let (Scope::Sequence, Mode::RewardEvent(_, log), Some(rw)) =
            (scope, &self.mode, &self.reward)
        {
            rw.diagnose(log, out);
        }
    }

    fn save_state(&self) -> Vec<u8> {
        self.net.save()
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.net.load(bytes)
    }

    fn on_batch_end(&mut self, batch: &Batch, grads: &mut Grads) -> Result<(), String> {
        self.net.batch_done();
        match &mut self.reg {
            Some(r) => r.finish_batch(&self.net, batch, grads),
            None => Ok(()),
        }
    }
}

eligo_plugin::export_rule!(Eprop);
