//! Reward-based e-prop (actor-critic; docs/eprop.md §14): the settings, what the rule records
//! of each agent step, and the per-step readout errors the event form sweeps backward.
//!
//! The readout population has `A + 1` outputs: the policy logits `y_pi` (`0..A`) and the value
//! `V` (output `A`). An episode is cut into agent steps of `K` network steps; agent step `n`
//! is read at its last network step `t_n = (n + 1) K - 1`: `pi_n = softmax(y_pi(t_n))`,
//! `V_n = y_V(t_n)`. The host then samples the action `a_n`, takes the environment step and,
//! before network step `(n + 1) K`, sets the channels `action` (`a_n`, or -1: no action this
//! agent step), `reward` (`r_n`) and `done` (0 running, 1 terminal, 2 truncated: one more
//! agent step follows, whose value bootstraps). Then, per agent step:
//!
//! ```text
//! delta_n = r_n + gamma V_{n+1} - V_n               (V_{n+1} := 0 after a terminal step)
//! g_n,k   = pi_n,k - 1[a_n = k]  (k < A),   g_n,A = -c_v        (d(-log pi(a)), -c_v dV)
//! h_n,k   = c_entropy pi_n,k (log pi_n,k + H_n)                 (d(-c_entropy H_n)/dy_k)
//! dE/dW   = sum_n delta_n F_gamma(X)_n + sum_n H-terms,   X_n = sum_k g_n,k dy_k(t_n)/dW
//! F_gamma(X)_n = gamma F_gamma(X)_{n-1} + X_n         (restarted at each unroll start)
//! ```
//! with e-prop's `dy_k(t)/dW_ji ~ B_jk ebar_ji(t - 1)` (engine convention, §2.2), so the
//! learning signal of neuron `j` is `L_j = sum_k B_jk g_n,k = -c_v B^V_j + sum_k B^pi_jk
//! (pi_k - 1[a = k])`. Since `sum_n delta_n F_gamma(X)_n = sum_n X_n D_n` with
//! `D_n = delta_n + gamma D_{n+1}` (within an unroll, not past a terminal step), the event form
//! is supervised e-prop with the readout error `err_k(t_n) = D_n g_n,k + h_n,k` (one backward
//! sweep). The A2C form computes the same weights from forward-view returns:
//! `R_n = r_n + gamma R_{n+1}`, bootstrapped with `V` at the end of the unroll,
//! `err_k(t_n) = (R_n - V_n) g_n,k + h_n,k`. Every gradient is multiplied by `scale`.

use eligo_plugin::{Diagnostics, Layout, ParamValues, Step, Var};

/// How the weight change is computed from the rewards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The paper's rule: TD errors times `F_gamma`-filtered eligibility.
    Td,
    /// The authors' forward view: n-step returns within an unroll, advantage `R - V`.
    A2c,
}

/// The reward settings of a rule instance.
pub struct Reward {
    /// `td` or `a2c`.
    pub form: Form,
    /// Network steps per agent step.
    pub k: u64,
    /// Discount per agent step.
    pub gamma: f64,
    /// Weight of the value loss.
    pub c_v: f64,
    /// Weight of the entropy bonus.
    pub c_h: f64,
    /// Agent steps per unroll (0: the whole episode).
    pub unroll: u64,
    /// Factor on every gradient (e.g. `1 / episodes per batch`).
    pub scale: f64,
    /// Number of actions `A` (readout outputs `0..A`; output `A` is the value).
    pub n_act: usize,
    /// The readout's `y`.
    pub y: Var,
    /// Channel indices: action, reward, done.
    pub channels: [usize; 3],
}

/// What the host reported after agent step `n`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// The action taken, if any.
    pub action: Option<usize>,
    /// The reward.
    pub reward: f64,
    /// 0 running, 1 terminal, 2 truncated.
    pub done: u8,
}

/// One episode's agent steps as the rule saw them.
#[derive(Default)]
pub struct Log {
    /// The readout `y` (all `A + 1` outputs) at the last network step of each agent step.
    pub ys: Vec<Vec<f64>>,
    /// The outcome of each agent step, read at the first network step of the next.
    pub outcomes: Vec<Outcome>,
}

impl Log {
    /// Forget the episode.
    pub fn clear(&mut self) {
        self.ys.clear();
        self.outcomes.clear();
    }
}

/// `softmax(y)` and its entropy, in f64.
pub fn policy(y: &[f64]) -> (Vec<f64>, f64) {
    let m = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = y.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    let pi: Vec<f64> = e.iter().map(|x| x / s).collect();
    let h = -pi
        .iter()
        .map(|&p| if p > 0.0 { p * p.ln() } else { 0.0 })
        .sum::<f64>();
    (pi, h)
}

impl Reward {
    /// The settings from the rule's parameters; `n_out` is the readout's size.
    pub fn new(
        layout: &Layout,
        p: &ParamValues,
        readout: usize,
        n_out: usize,
    ) -> Result<Self, String> {
        let form = match p.choice("form") {
            "a2c" => Form::A2c,
            _ => Form::Td,
        };
        if form == Form::A2c && p.choice("mode") == "online" {
            return Err(
                "form = a2c computes forward-view returns, which exist only at the end of an unroll: use mode = event (form = td has both modes)".into(),
            );
        }
        let whole = |name: &str| -> Result<u64, String> {
            let x = p.get(name);
            if x.fract() != 0.0 {
                return Err(format!("{name} = {x}: must be a whole number"));
            }
            Ok(x as u64)
        };
        let k = whole("agent_steps")?;
        if k == 0 {
            return Err("agent_steps = 0: an agent step spans at least 1 network step".into());
        }
        if n_out < 2 {
            return Err(format!(
                "learning = reward needs a readout of actions + 1 outputs (the policy logits, then the value); the readout has {n_out}"
            ));
        }
        let pop = layout.population(readout);
        let y = pop
            .variable("y")
            .ok_or_else(|| format!("readout '{}' exposes no 'y'", pop.name()))?;
        let mut channels = [0usize; 3];
        for (c, param) in
            channels
                .iter_mut()
                .zip(["action_channel", "reward_channel", "done_channel"])
        {
            let name = p.text(param);
            *c = layout.modulator(name).ok_or_else(|| {
                let have = layout.modulators();
                format!(
                    "{param} = '{name}': the run has no modulator channel '{name}' (it has: {}); a reward-based run sets the channels action, reward and done after each agent step",
                    if have.is_empty() { "none".to_string() } else { have.join(", ") }
                )
            })?;
        }
        Ok(Reward {
            form,
            k,
            gamma: p.get("gamma"),
            c_v: p.get("c_v"),
            c_h: p.get("c_entropy"),
            unroll: whole("unroll")?,
            scale: p.get("scale"),
            n_act: n_out - 1,
            y,
            channels,
        })
    }

    /// True if traces restart at network step `t` (the start of an unroll other than the first).
    pub fn restarts_at(&self, t: u64) -> bool {
        self.unroll > 0 && t > 0 && t.is_multiple_of(self.unroll * self.k)
    }

    /// True if agent step `n` starts an unroll (its `F_gamma` starts afresh).
    pub fn starts_unroll(&self, n: u64) -> bool {
        n == 0 || (self.unroll > 0 && n.is_multiple_of(self.unroll))
    }

    /// Read what this step tells: the outcome of the last agent step (first network step of
    /// an agent step) and the readout (last network step of an agent step). Returns
    /// `(outcome, y)` where present.
    pub fn observe(
        &self,
        step: &Step,
        log: &mut Log,
    ) -> Result<(Option<Outcome>, Option<Vec<f64>>), String> {
        let t = step.step();
        let mut out = (None, None);
        if t > 0 && t.is_multiple_of(self.k) {
            if log.outcomes.last().is_some_and(|o| o.done != 0) {
                return Err(format!(
                    "network step {t}: the episode ended (done = {}) an agent step ago; end the sequence after 1 more step (terminal) or 1 more agent step (truncated)",
                    log.outcomes.last().map_or(0, |o| o.done)
                ));
            }
            let a = step.modulator(self.channels[0]);
            let action = if a == -1.0 {
                None
            } else if a >= 0.0 && a.fract() == 0.0 && (a as usize) < self.n_act {
                Some(a as usize)
            } else {
                return Err(format!(
                    "network step {t}: action = {a}; allowed: 0..{} (the policy's outputs) or -1 (no action this agent step)",
                    self.n_act - 1
                ));
            };
            let r = step.modulator(self.channels[1]);
            let d = step.modulator(self.channels[2]);
            if !r.is_finite() || !(d == 0.0 || d == 1.0 || d == 2.0) {
                return Err(format!(
                    "network step {t}: reward = {r}, done = {d}; the reward must be finite and done 0 (running), 1 (terminal) or 2 (truncated)"
                ));
            }
            let o = Outcome {
                action,
                reward: f64::from(r),
                done: d as u8,
            };
            log.outcomes.push(o);
            out.0 = Some(o);
        }
        if t % self.k == self.k - 1 {
            let y: Vec<f64> = step.state(self.y).iter().map(|&v| f64::from(v)).collect();
            if y.len() != self.n_act + 1 {
                return Err(format!(
                    "the host gave {} readout values, the readout has {}",
                    y.len(),
                    self.n_act + 1
                ));
            }
            log.ys.push(y.clone());
            out.1 = Some(y);
        }
        Ok(out)
    }

    /// The per-output coefficients of agent step `n` with readout `y` and outcome `o`:
    /// `g` (weighted by the TD error or advantage) and `h` (the entropy term, added as is).
    pub fn coefficients(&self, y: &[f64], o: &Outcome) -> (Vec<f64>, Vec<f64>) {
        let a = self.n_act;
        let mut g = vec![0.0; a + 1];
        let mut h = vec![0.0; a + 1];
        if let Some(act) = o.action {
            let (pi, ent) = policy(&y[..a]);
            for k in 0..a {
                g[k] = pi[k] - if k == act { 1.0 } else { 0.0 };
                if pi[k] > 0.0 {
                    h[k] = self.c_h * pi[k] * (pi[k].ln() + ent);
                }
            }
        }
        g[a] = -self.c_v;
        (g, h)
    }

    /// The value that follows agent step `n` (0 after a terminal step).
    fn next_value(&self, log: &Log, n: usize) -> Result<f64, String> {
        if log.outcomes[n].done == 1 {
            return Ok(0.0);
        }
        log.ys.get(n + 1).map(|y| y[self.n_act]).ok_or_else(|| {
            format!(
                "the episode ended after agent step {n} without its end: set done = 1 (terminal; then 1 more network step) or done = 2 (truncated; then 1 more agent step for the bootstrap value)"
            )
        })
    }

    /// The readout error of every network step of a sequence of `t_len` steps (event form):
    /// `err(t_n) = w_n g_n + h_n`, with `w_n = D_n` (td) or `R_n - V_n` (a2c), times `scale`.
    pub fn errors(&self, log: &Log, t_len: usize) -> Result<Vec<f32>, String> {
        let n_out = self.n_act + 1;
        let mut err = vec![0.0f32; t_len * n_out];
        let n_steps = log.outcomes.len();
        let mut w = vec![0.0f64; n_steps];
        // backward over agent steps: the TD errors' discounted sum (td) or the return (a2c),
        // carried only within an unroll and never past a terminal step
        let mut carry = 0.0f64;
        for n in (0..n_steps).rev() {
            let o = log.outcomes[n];
            let v = log.ys[n][self.n_act];
            let next = self.next_value(log, n)?;
            let chained = n + 1 < n_steps && o.done == 0 && !self.starts_unroll(n as u64 + 1);
            match self.form {
                Form::Td => {
                    let delta = o.reward + self.gamma * next - v;
                    carry = delta + if chained { self.gamma * carry } else { 0.0 };
                    w[n] = carry;
                }
                Form::A2c => {
                    let tail = if chained { carry } else { next };
                    carry = o.reward + self.gamma * tail;
                    w[n] = carry - v;
                }
            }
        }
        for (n, (o, &wn)) in log.outcomes.iter().zip(&w).enumerate() {
            let t = (n as u64 + 1) * self.k - 1;
            let (g, h) = self.coefficients(&log.ys[n], o);
            let row = &mut err[t as usize * n_out..(t as usize + 1) * n_out];
            for k in 0..n_out {
                row[k] = (self.scale * (wn * g[k] + h[k])) as f32;
            }
        }
        Ok(err)
    }

    /// What the episode in `log` showed: `policy_entropy`, the mean entropy (nats) of
    /// `pi_n` over the agent steps that acted (`ln A`: uniform, 0: deterministic), and
    /// `value`, the mean of `V_n` over all agent steps ([`Reward::episode_stats`]).
    pub fn diagnose(&self, log: &Log, out: &mut Diagnostics) {
        let (entropy, value) = self.episode_stats(log);
        if let Some(h) = entropy {
            out.put("policy_entropy", h);
        }
        if let Some(v) = value {
            out.put("value", v);
        }
    }

    /// The mean policy entropy over the agent steps that acted and the mean value over all
    /// agent steps (`None` where there are none).
    pub fn episode_stats(&self, log: &Log) -> (Option<f64>, Option<f64>) {
        let acted: Vec<f64> = (log.ys.iter().zip(&log.outcomes))
            .filter(|(_, o)| o.action.is_some())
            .map(|(y, _)| policy(&y[..self.n_act]).1)
            .collect();
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let values: Vec<f64> = log.ys.iter().map(|y| y[self.n_act]).collect();
        (mean(&acted), mean(&values))
    }

    /// The network steps of a `t_len`-step sequence at which the traces restart.
    pub fn restart_steps(&self, t_len: u64) -> Vec<u64> {
        if self.unroll == 0 {
            return Vec::new();
        }
        (1..)
            .map(|u| u * self.unroll * self.k)
            .take_while(|&t| t < t_len)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Reward {
        Reward {
            form: Form::Td,
            k: 5,
            gamma: 0.9,
            c_v: 1.0,
            c_h: 0.0,
            unroll: 0,
            scale: 1.0,
            n_act: 2,
            y: Var {
                population: 0,
                index: 0,
            },
            channels: [0, 1, 2],
        }
    }

    /// Entropy over the acting steps only, value over all, against closed forms.
    #[test]
    fn episode_stats_are_the_mean_entropy_where_acting_and_the_mean_value() {
        let o = |action| Outcome {
            action,
            reward: 0.0,
            done: 0,
        };
        let log = Log {
            // softmax(0, ln 3) = (1/4, 3/4); softmax(0, 0) = (1/2, 1/2); the middle step does
            // not act, so its (deterministic-looking) logits do not count
            ys: vec![
                vec![0.0, 3f64.ln(), 2.0],
                vec![50.0, 0.0, -1.0],
                vec![0.0, 0.0, 0.5],
            ],
            outcomes: vec![o(Some(1)), o(None), o(Some(0))],
        };
        let h1 = -(0.25 * 0.25f64.ln() + 0.75 * 0.75f64.ln());
        let h2 = 2f64.ln();
        let (h, v) = settings().episode_stats(&log);
        assert!((h.unwrap() - (h1 + h2) / 2.0).abs() < 1e-12, "{h:?}");
        assert!((v.unwrap() - 0.5).abs() < 1e-12, "{v:?}");
        assert_eq!(settings().episode_stats(&Log::default()), (None, None));
    }
}
