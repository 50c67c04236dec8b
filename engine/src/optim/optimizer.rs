//! Optimizers: the host applies a gradient rule's output once per batch.
//!
//! ```text
//! SGD:   w <- w - lr g
//! Adam:  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;  k <- k + 1
//!        w <- w - lr (m / (1 - b1^k)) / (sqrt(v / (1 - b2^k)) + eps)
//! ```
//! then, per projection, an optional decay `w <- (1 - decay) w`, optional bounds `w in [w_min, w_max]` and sign constraint ("Dale's law":
//! a weight never crosses zero from its initial sign; it stops at 0).
//!
//! | option  | default | meaning                                  |
//! |---------|---------|------------------------------------------|
//! | `lr`    | 1e-3    | learning rate (per projection override)  |
//! | `beta1` | 0.9     | Adam first-moment decay                  |
//! | `beta2` | 0.999   | Adam second-moment decay                 |
//! | `eps`   | 1e-8    | Adam denominator offset                  |
//!
//! Every update is checked: a weight or moment that is no longer finite (a learning rate far
//! too large, an overflowing gradient) stops the update with [`NonFinite`] instead of being
//! written, so a diverging run never produces NaN weights or checkpoints.
//!
//! Reference: D. Kingma, J. Ba, "Adam: a method for stochastic optimization", ICLR 2015
//! (Algorithm 1); the e-prop paper uses Adam with these defaults.

/// Which update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Plain gradient descent.
    Sgd,
    /// Adam with its decay rates and epsilon.
    Adam {
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Denominator offset.
        eps: f64,
    },
}

impl Method {
    /// Adam with the paper's defaults.
    pub fn adam() -> Self {
        Method::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Constraints and learning rate of one parameter array.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Learning rate.
    pub lr: f64,
    /// Lower bound.
    pub w_min: f32,
    /// Upper bound.
    pub w_max: f32,
    /// Initial signs to keep (Dale's law), if constrained.
    pub signs: Option<Vec<bool>>,
    /// Multiplicative decay after each update, `w <- (1 - decay) w` (e.g. the readout under
    /// adaptive e-prop feedback).
    pub decay: f64,
}

impl Group {
    /// Unconstrained group with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Group {
            lr,
            w_min: f32::NEG_INFINITY,
            w_max: f32::INFINITY,
            signs: None,
            decay: 0.0,
        }
    }
}

/// The host's constraint on one weight after a change (an optimizer update, a direct rule's
/// change, or a batch's sum of them): `w` clipped to `[w_min, w_max]`, then 0 if it has left its
/// initial sign (`initially_nonneg`: the weight was `>= 0` at the start; `None`: the sign is
/// free). A weight stops at 0 rather than crossing it ("Dale's law").
pub fn constrain(w: f32, w_min: f32, w_max: f32, initially_nonneg: Option<bool>) -> f32 {
    let w = w.clamp(w_min, w_max);
    match initially_nonneg {
        Some(nonneg) if (w >= 0.0) != nonneg => 0.0,
        _ => w,
    }
}

/// An update that made a parameter or a moment estimate non-finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NonFinite {
    /// Index of the parameter array (group).
    pub group: usize,
    /// Index of the element in the array.
    pub index: usize,
    /// The value it would have had.
    pub value: f32,
    /// Learning rate of the group.
    pub lr: f64,
}

impl NonFinite {
    /// The input error for it: `what` names the array (e.g. "projection 'rec->rec'"). A rate that
    /// makes the weights overflow is the user's setting, so this is bad input (exit 2).
    pub fn error(&self, what: &str) -> crate::error::Error {
        crate::error::Error::input(
            "--lr",
            crate::limits::num(self.lr),
            format!(
                "the optimizer update made element {} of {what} {} (weights must stay finite); nothing was written for this update",
                self.index, self.value
            ),
            "lower the learning rate (--lr, or lr_by_projection in the rule config)",
        )
    }
}

/// An optimizer over several parameter arrays (projections, biases, feedback matrices).
#[derive(Debug, Clone, PartialEq)]
pub struct Optimizer {
    method: Method,
    groups: Vec<Group>,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    k: u64,
}

impl Optimizer {
    /// An optimizer for arrays of the given lengths, one [`Group`] each.
    pub fn new(method: Method, groups: Vec<Group>, lens: &[usize]) -> Self {
        let adam = matches!(method, Method::Adam { .. });
        let zeros = |n: usize| if adam { vec![0.0; n] } else { Vec::new() };
        Optimizer {
            method,
            groups,
            m: lens.iter().map(|&n| zeros(n)).collect(),
            v: lens.iter().map(|&n| zeros(n)).collect(),
            k: 0,
        }
    }

    /// Number of updates applied.
    pub fn steps(&self) -> u64 {
        self.k
    }

    /// Bytes of optimizer state per parameter (0 for SGD, 8 for Adam in f32).
    pub fn bytes_per_parameter(&self) -> usize {
        match self.method {
            Method::Sgd => 0,
            Method::Adam { .. } => 8,
        }
    }

    /// Apply one update: `params[i] -= step(grads[i])`, then the constraints of group `i`.
    /// A non-finite result (weight, first or second moment) is returned as [`NonFinite`]; the
    /// arrays are then partly updated and must be discarded (the caller stops the run).
    pub fn step(&mut self, params: &mut [&mut [f32]], grads: &[&[f32]]) -> Result<(), NonFinite> {
        assert_eq!(params.len(), self.groups.len(), "one group per array");
        self.k += 1;
        for (i, (w, g)) in params.iter_mut().zip(grads).enumerate() {
            let grp = &self.groups[i];
            assert_eq!(w.len(), g.len(), "gradient shape");
            match self.method {
                Method::Sgd => {
                    let lr = grp.lr as f32;
                    for (w, g) in w.iter_mut().zip(g.iter()) {
                        *w -= lr * g;
                    }
                }
                Method::Adam { beta1, beta2, eps } => {
                    let k = self.k as i32;
                    // bias corrections folded into the step size (Kingma & Ba, Sec. 2)
                    let c1 = 1.0 - beta1.powi(k);
                    let c2 = 1.0 - beta2.powi(k);
                    let (b1, b2) = (beta1 as f32, beta2 as f32);
                    let (lr, c1, c2, eps) = (grp.lr as f32, c1 as f32, c2 as f32, eps as f32);
                    let (m, v) = (&mut self.m[i], &mut self.v[i]);
                    for j in 0..w.len() {
                        let gj = g[j];
                        m[j] = b1 * m[j] + (1.0 - b1) * gj;
                        v[j] = b2 * v[j] + (1.0 - b2) * gj * gj;
                        w[j] -= lr * (m[j] / c1) / ((v[j] / c2).sqrt() + eps);
                    }
                }
            }
            let keep = (1.0 - grp.decay) as f32;
            for (j, w) in w.iter_mut().enumerate() {
                if grp.decay != 0.0 {
                    *w *= keep;
                }
                let sign = grp.signs.as_ref().map(|s| s[j]);
                *w = constrain(*w, grp.w_min, grp.w_max, sign);
            }
            let bad = |xs: &[f32]| xs.iter().position(|x| !x.is_finite()).map(|j| (j, xs[j]));
            let (m, v) = (&self.m[i], &self.v[i]);
            if let Some((index, value)) = bad(w).or_else(|| bad(m)).or_else(|| bad(v)) {
                return Err(NonFinite {
                    group: i,
                    index,
                    value,
                    lr: grp.lr,
                });
            }
        }
        Ok(())
    }

    /// The moment estimates (for checkpoints).
    pub fn state(&self) -> (&[Vec<f32>], &[Vec<f32>], u64) {
        (&self.m, &self.v, self.k)
    }

    /// Restore moment estimates written by [`Optimizer::state`]. Refuses (naming the array and
    /// element) shapes other than this optimizer's, non-finite moments and negative second
    /// moments, which would turn every later update into NaN.
    pub fn set_state(
        &mut self,
        m: Vec<Vec<f32>>,
        v: Vec<Vec<f32>>,
        k: u64,
    ) -> crate::error::Result<()> {
        use crate::error::Error;
        for (name, new, old) in [("m", &m, &self.m), ("v", &v, &self.v)] {
            if new.len() != old.len() {
                return Err(Error::input(
                    name,
                    new.len(),
                    format!("the optimizer has {} parameter arrays", old.len()),
                    "",
                ));
            }
            for (i, (a, b)) in new.iter().zip(old).enumerate() {
                if a.len() != b.len() {
                    return Err(Error::input(
                        format!("{name}/{i}"),
                        format!("{} values", a.len()),
                        format!("must hold {} values", b.len()),
                        "",
                    ));
                }
                let bad = a
                    .iter()
                    .position(|&x| !x.is_finite() || (name == "v" && x < 0.0));
                if let Some(j) = bad {
                    return Err(Error::input(
                        format!("{name}/{i}[{j}]"),
                        a[j],
                        if name == "v" {
                            "second moments must be finite and >= 0"
                        } else {
                            "first moments must be finite"
                        },
                        "the checkpoint is damaged; resume from an intact copy",
                    ));
                }
            }
        }
        self.m = m;
        self.v = v;
        self.k = k;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgd_is_w_minus_lr_g() {
        let mut o = Optimizer::new(Method::Sgd, vec![Group::new(0.5)], &[2]);
        let mut w = vec![1.0f32, -1.0];
        o.step(&mut [&mut w], &[&[2.0, -4.0]]).unwrap();
        assert_eq!(w, vec![0.0, 1.0]);
    }

    #[test]
    fn adam_matches_algorithm_1_in_f64() {
        // independent f64 transcription of Kingma & Ba, Algorithm 1
        let grads = [0.3f64, -1.2, 0.05, 2.0, -0.7];
        let (lr, b1, b2, eps) = (0.01, 0.9, 0.999, 1e-8);
        let (mut w, mut m, mut v) = (0.4f64, 0.0, 0.0);
        let mut o = Optimizer::new(Method::adam(), vec![Group::new(lr)], &[1]);
        let mut wf = vec![0.4f32];
        for (t, g) in grads.iter().enumerate() {
            let t = t as i32 + 1;
            m = b1 * m + (1.0 - b1) * g;
            v = b2 * v + (1.0 - b2) * g * g;
            let mh = m / (1.0 - b1.powi(t));
            let vh = v / (1.0 - b2.powi(t));
            w -= lr * mh / (vh.sqrt() + eps);
            o.step(&mut [&mut wf], &[&[*g as f32]]).unwrap();
            assert!(
                (f64::from(wf[0]) - w).abs() < 1e-6,
                "t={t}: {} vs {w}",
                wf[0]
            );
        }
    }

    #[test]
    fn bounds_and_sign_constraints() {
        let mut g = Group::new(1.0);
        g.w_max = 0.5;
        g.signs = Some(vec![true, false]);
        let mut o = Optimizer::new(Method::Sgd, vec![g], &[2]);
        let mut w = vec![0.2f32, -0.1];
        o.step(&mut [&mut w], &[&[-1.0, -1.0]]).unwrap();
        // first: 1.2 clipped to 0.5; second: -0.1 + 1 = 0.9 would flip sign -> 0
        assert_eq!(w, vec![0.5, 0.0]);
    }

    #[test]
    fn a_non_finite_update_is_reported_not_written_silently() {
        // lr = 1e300 is inf in f32: inf * (m / c1) is +-inf or NaN
        let mut o = Optimizer::new(Method::adam(), vec![Group::new(1e300)], &[2]);
        let mut w = vec![0.1f32, 0.2];
        let e = o.step(&mut [&mut w], &[&[0.5, 0.0]]).unwrap_err();
        assert_eq!((e.group, e.index, e.lr), (0, 0, 1e300));
        assert!(!e.value.is_finite());
        // SGD with a gradient that overflows f32 after scaling
        let mut o = Optimizer::new(Method::Sgd, vec![Group::new(1e30)], &[1]);
        let mut w = vec![0.0f32];
        assert!(o.step(&mut [&mut w], &[&[1e30]]).is_err());
        // a sane update passes
        let mut o = Optimizer::new(Method::adam(), vec![Group::new(1e-3)], &[1]);
        assert!(o.step(&mut [&mut [0.5f32]], &[&[1.0]]).is_ok());
    }

    #[test]
    fn loaded_moments_are_checked() {
        let mut o = Optimizer::new(Method::adam(), vec![Group::new(1e-3)], &[2]);
        let ok = o.set_state(vec![vec![0.1, -0.1]], vec![vec![0.0, 1.0]], 3);
        assert!(ok.is_ok());
        for (m, v, field) in [
            (vec![f32::NAN, 0.0], vec![0.0, 0.0], "m/0[0]"),
            (vec![0.0, 0.0], vec![0.0, -1e-3], "v/0[1]"),
            (vec![0.0, 0.0], vec![f32::INFINITY, 0.0], "v/0[0]"),
            (vec![0.0], vec![0.0, 0.0], "m/0"),
        ] {
            let e = o.set_state(vec![m], vec![v], 3).unwrap_err().to_string();
            assert!(e.starts_with(field), "{field}: {e}");
        }
    }
}
