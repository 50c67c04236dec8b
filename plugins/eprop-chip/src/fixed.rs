//! Fixed-point grids, stochastic rounding and the sigma-delta spike coder of the learning
//! signal.
//!
//! A grid of `bits` bits and range `r` (a power of two) holds the values `k d`,
//! `d = r 2^-(bits-1)`, `k` an integer in `[-2^(bits-1), 2^(bits-1) - 1]` (two's complement:
//! `[-r, r - d]`). Since `d` is a power of two, `x / d` and `k d` are exact in `f32` for
//! `bits <= 24`.
//! - nearest: `k = round(x / d)` (ties away from zero), then clipped to the range;
//! - stochastic: `k = floor(x / d + u)`, `u` uniform in `[0, 1)`, then clipped: inside the
//!   range `E[k d] = x` (unbiased), the error below `d`, its standard deviation at most `d / 2`.

/// SplitMix64 finalizer: the stochastic rounding's counter-based draws (no state, so the draw of
/// a value depends only on its key, never on the thread that runs it).
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in `[0, 1)` with 24 random bits, from a key.
pub fn uniform(key: u64) -> f32 {
    (mix(key) >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
}

/// The smallest power of two `> x` (so that `x` itself is inside `[-r, r - d]` for fine
/// grids); `1` for `x <= 0` or not finite.
pub fn pow2_above(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 {
        2f64.powi(x.log2().floor() as i32 + 1)
    } else {
        1.0
    }
}

/// A fixed-point grid (see the module docs); `bits = 0` is plain float.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    /// Step `d` (0: float).
    pub step: f32,
    /// Smallest and largest integer `k`.
    pub k_min: f32,
    /// Largest integer `k`.
    pub k_max: f32,
}

impl Grid {
    /// Float (no grid).
    pub const FLOAT: Grid = Grid {
        step: 0.0,
        k_min: 0.0,
        k_max: 0.0,
    };

    /// `bits` bits (0: float) over `[-range, range)`, `range` a power of two.
    pub fn new(bits: u32, range: f64) -> Grid {
        if bits == 0 {
            return Grid::FLOAT;
        }
        let half = (1u64 << (bits - 1)) as f32;
        Grid {
            step: (range / f64::from(half)) as f32,
            k_min: -half,
            k_max: half - 1.0,
        }
    }

    /// `x` on the grid: nearest, or stochastic with the uniform draw `u` (`None`: nearest).
    #[inline]
    pub fn put(&self, x: f32, u: Option<f32>) -> f32 {
        if self.step == 0.0 {
            return x;
        }
        let y = x / self.step;
        let k = match u {
            None => y.round(),
            Some(u) => (y + u).floor(),
        };
        k.clamp(self.k_min, self.k_max) * self.step
    }
}

/// Sigma-delta coder of one error channel pair (positive and negative): per step at most one
/// spike, on the positive channel if the accumulated error reaches `+scale / 2`, on the
/// negative one if it reaches `-scale / 2`; a spike carries `±scale`. With `|err| <= scale` the
/// accumulator stays in `[-scale / 2, scale / 2]`, so the decoded signal's running sum tracks
/// the analog one's within `scale / 2` at every step (the coding error); a larger error
/// saturates the rate (one spike per step) and is paid out on later steps.
#[derive(Clone, Copy, Debug, Default)]
pub struct SigmaDelta {
    acc: f32,
}

impl SigmaDelta {
    /// Encode `err` (this step's value) and return the decoded value: `+scale`, `-scale` or 0.
    #[inline]
    pub fn code(&mut self, err: f32, scale: f32) -> f32 {
        self.acc += err;
        if self.acc >= 0.5 * scale {
            self.acc -= scale;
            scale
        } else if self.acc <= -0.5 * scale {
            self.acc += scale;
            -scale
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_is_the_closest_grid_point_and_saturates() {
        let g = Grid::new(8, 2.0);
        assert_eq!(g.step, 2.0 / 128.0);
        for k in 0..20_000 {
            let x = -2.5 + 5.0 * uniform(k) as f64;
            let q = f64::from(g.put(x as f32, None));
            // on the grid, inside [-R, R - d]
            assert_eq!((q / f64::from(g.step)).fract(), 0.0);
            assert!((-2.0..=2.0 - 2.0 / 128.0).contains(&q));
            // no grid point is closer (brute force over the 256 points)
            let best = (-128..128)
                .map(|k| f64::from(k) * 2.0 / 128.0)
                .map(|p| (p - f64::from(x as f32)).abs())
                .fold(f64::MAX, f64::min);
            assert_eq!((q - f64::from(x as f32)).abs(), best, "x = {x}");
        }
        assert_eq!(Grid::FLOAT.put(0.123, None), 0.123);
    }

    #[test]
    fn stochastic_rounding_is_unbiased_within_its_bound() {
        // n draws: the mean is within 5 sigma = 5 (d / 2) / sqrt(n) of x (sd of one draw <= d/2)
        let g = Grid::new(6, 1.0);
        let d = f64::from(g.step);
        let n = 40_000u64;
        for (m, x) in [0.3f32, -0.71, 0.015, 0.5].into_iter().enumerate() {
            let mut sum = 0.0f64;
            for i in 0..n {
                let q = g.put(x, Some(uniform((m as u64) << 40 | i)));
                let q = f64::from(q);
                assert!((q - f64::from(x)).abs() < d && (q / d).fract() == 0.0);
                sum += q;
            }
            let err = (sum / n as f64 - f64::from(x)).abs();
            assert!(err <= 5.0 * (d / 2.0) / (n as f64).sqrt(), "x = {x}: {err}");
        }
    }
}
