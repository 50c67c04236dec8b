//! Losses and the per-step readout error that learning rules receive (docs/eprop.md §4).
//!
//! ```text
//! regression:      E = 1/2 sum_t sum_k (y_k(t) - y*_k(t))^2 / n_batch
//!                  err_k(t) = (y_k(t) - y*_k(t)) / n_batch
//! classification:  pi(t) = softmax(y(t));  E = -sum_{t in window} sum_k pi*_k log pi_k(t) / (n_batch n_window)
//!                  err_k(t) = (pi_k(t) - pi*_k) / (n_batch n_window) inside the window, 0 outside
//!                  prediction = argmax_k of y_k(t) averaged over the window
//! ```
//! `err = dE/dy` exactly, so every gradient computed from it is a gradient of `E` as defined.
//! Steps are engine steps: the readout at step `t` has integrated spikes up to `t - delay`.

/// A loss over the outputs `y(t)` of one readout population.
#[derive(Debug, Clone, PartialEq)]
pub enum Loss {
    /// Mean squared error at every step against `targets` (`steps × n_out`).
    Mse {
        /// Targets, row-major `steps × n_out`.
        targets: Vec<f32>,
    },
    /// Per-step softmax cross-entropy against a class over a window of steps.
    CrossEntropy {
        /// Target class.
        class: usize,
        /// First step of the decision window.
        from: u64,
        /// One past the last step of the decision window.
        to: u64,
    },
}

/// The teacher of one sequence: computes `err(t)` from `y(t)` and accumulates the loss.
#[derive(Debug, Clone, PartialEq)]
pub struct Teacher {
    /// Readout population index.
    pub population: usize,
    /// Number of outputs.
    pub n_out: usize,
    /// The loss.
    pub loss: Loss,
    /// Batch size the loss is averaged over.
    pub n_batch: usize,
    /// Loss accumulated so far.
    pub value: f64,
    /// Logits summed over the decision window (classification).
    pub window_sum: Vec<f64>,
}

impl Teacher {
    /// A teacher for `n_out` outputs of population `population`.
    pub fn new(population: usize, n_out: usize, loss: Loss, n_batch: usize) -> Self {
        Teacher {
            population,
            n_out,
            loss,
            n_batch: n_batch.max(1),
            value: 0.0,
            window_sum: vec![0.0; n_out],
        }
    }

    /// Write `err(t)` for outputs `y` at step `t` into `err`, and add this step's loss.
    pub fn error(&mut self, t: u64, y: &[f32], err: &mut [f32]) {
        let nb = self.n_batch as f64;
        match &self.loss {
            Loss::Mse { targets } => {
                let row = t as usize * self.n_out;
                for k in 0..self.n_out {
                    let d =
                        f64::from(y[k]) - f64::from(targets.get(row + k).copied().unwrap_or(0.0));
                    self.value += 0.5 * d * d / nb;
                    err[k] = (d / nb) as f32;
                }
            }
            Loss::CrossEntropy { class, from, to } => {
                if t < *from || t >= *to {
                    err.fill(0.0);
                    return;
                }
                let n_win = (*to - *from) as f64;
                let max = y.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                let exps: Vec<f64> = y.iter().map(|&v| f64::from(v - max).exp()).collect();
                let sum: f64 = exps.iter().sum();
                for k in 0..self.n_out {
                    let pi = exps[k] / sum;
                    let target = if k == *class { 1.0 } else { 0.0 };
                    err[k] = ((pi - target) / (nb * n_win)) as f32;
                    self.window_sum[k] += f64::from(y[k]);
                }
                self.value += -(exps[*class] / sum).ln() / (nb * n_win);
            }
        }
    }

    /// The predicted class: argmax of the window-averaged logits (classification).
    pub fn prediction(&self) -> usize {
        self.window_sum
            .iter()
            .enumerate()
            .fold(
                (0, f64::NEG_INFINITY),
                |b, (k, &v)| if v > b.1 { (k, v) } else { b },
            )
            .0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// err must be dE/dy: compare with centered finite differences of the loss.
    #[test]
    fn error_is_the_derivative_of_the_loss() {
        let losses = [
            Loss::Mse {
                targets: vec![0.3, -0.2, 0.5, 0.1],
            },
            Loss::CrossEntropy {
                class: 1,
                from: 0,
                to: 2,
            },
        ];
        for loss in losses {
            let y = [0.7f32, -0.4];
            let mut t0 = Teacher::new(0, 2, loss.clone(), 3);
            let mut err = [0.0f32; 2];
            t0.error(1, &y, &mut err);
            for k in 0..2 {
                let h = 1e-3f32;
                let mut yp = y;
                yp[k] += h;
                let mut ym = y;
                ym[k] -= h;
                let (mut tp, mut tm) = (
                    Teacher::new(0, 2, loss.clone(), 3),
                    Teacher::new(0, 2, loss.clone(), 3),
                );
                tp.error(1, &yp, &mut [0.0; 2]);
                tm.error(1, &ym, &mut [0.0; 2]);
                let fd = (tp.value - tm.value) / (2.0 * f64::from(h));
                assert!(
                    (fd - f64::from(err[k])).abs() < 1e-4,
                    "{loss:?} k={k}: {fd} vs {}",
                    err[k]
                );
            }
        }
    }
}
