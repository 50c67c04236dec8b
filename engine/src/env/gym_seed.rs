//! Gymnasium's seeding, reproduced: `env.reset(seed=s)` seeds the environment's generator with
//! `np.random.Generator(np.random.PCG64(np.random.SeedSequence(s)))`
//! (`gymnasium.utils.seeding.np_random`), and the closed-loop run resets episode `e` of a run
//! seeded with `seed` with `s = episode_seed(seed, e)`, for its own CartPole-v1 as for a
//! Gymnasium environment driven from Python. So both start every episode in the same state.
//!
//! NumPy's `SeedSequence` (`numpy/random/bit_generator.pyx`) turns the seed's 32-bit words
//! (little-endian; 0 is one word 0) into a pool of 4 words by `hashmix` and `mix` (all
//! arithmetic mod 2^32):
//!
//! ```text
//! hashmix(v, h):  v ^= h; h *= 0x931e8875; v *= h; v ^= v >> 16          (h starts 0x43b0d7e5)
//! mix(x, y):      r = 0xca01f9dd x - 0x4973f715 y; r ^= r >> 16
//! pool[i] = hashmix(entropy[i] or 0)                          i = 0..4
//! pool[d] = mix(pool[d], hashmix(pool[s]))                    s, d = 0..4, s != d
//! pool[d] = mix(pool[d], hashmix(entropy[s]))                 s = 4.., d = 0..4
//! ```
//!
//! then `generate_state(4, uint64)` draws 8 words cycling over the pool (`h` from 0x8b51f9dd,
//! multiplier 0x58f38ded, the same xor-shift), paired into 4 little-endian u64 `w`. PCG64 is
//! seeded with state `w0 2^64 + w1`, stream `w2 2^64 + w3` (`pcg64_set_seed`, the same
//! initialisation as `rand_pcg::Pcg64::new`: the 128-bit LCG with NumPy's multiplier, XSL-RR
//! output). `Generator.uniform(low, high)` is `low + (high - low) u` with
//! `u = (next_u64 >> 11) 2^-53`. The tests below compare with values NumPy printed,
//! `python/tests/test_envs.py` with NumPy and Gymnasium themselves.

use rand::Rng;
use rand_pcg::Pcg64;

use crate::rng::splitmix64;

const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const POOL: usize = 4;

fn hashmix(value: u32, h: &mut u32) -> u32 {
    let mut v = value ^ *h;
    *h = h.wrapping_mul(MULT_A);
    v = v.wrapping_mul(*h);
    v ^ (v >> 16)
}

fn mix(x: u32, y: u32) -> u32 {
    let r = MIX_MULT_L
        .wrapping_mul(x)
        .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    r ^ (r >> 16)
}

/// The 32-bit words of `seed`, least significant first, as NumPy splits a Python int (0: one
/// word).
fn words(seed: u128) -> Vec<u32> {
    let mut out = vec![seed as u32];
    let mut rest = seed >> 32;
    while rest > 0 {
        out.push(rest as u32);
        rest >>= 32;
    }
    out
}

/// `SeedSequence(seed).generate_state(4, np.uint64)`.
pub fn seed_sequence_state(seed: u128) -> [u64; 4] {
    let entropy = words(seed);
    let mut pool = [0u32; POOL];
    let mut h = INIT_A;
    for (i, p) in pool.iter_mut().enumerate() {
        *p = hashmix(entropy.get(i).copied().unwrap_or(0), &mut h);
    }
    for s in 0..POOL {
        for d in 0..POOL {
            if s != d {
                pool[d] = mix(pool[d], hashmix(pool[s], &mut h));
            }
        }
    }
    for &e in entropy.iter().skip(POOL) {
        for p in pool.iter_mut() {
            *p = mix(*p, hashmix(e, &mut h));
        }
    }
    let mut h = INIT_B;
    let mut w = [0u32; 2 * POOL];
    for (i, out) in w.iter_mut().enumerate() {
        let mut v = pool[i % POOL] ^ h;
        h = h.wrapping_mul(MULT_B);
        v = v.wrapping_mul(h);
        *out = v ^ (v >> 16);
    }
    std::array::from_fn(|k| u64::from(w[2 * k]) | (u64::from(w[2 * k + 1]) << 32))
}

/// NumPy's `PCG64(SeedSequence(seed))`: the generator Gymnasium's `reset(seed=seed)` installs.
pub fn numpy_pcg64(seed: u128) -> Pcg64 {
    let w = seed_sequence_state(seed);
    let state = (u128::from(w[0]) << 64) | u128::from(w[1]);
    let stream = (u128::from(w[2]) << 64) | u128::from(w[3]);
    Pcg64::new(state, stream)
}

/// NumPy's `Generator.uniform(low, high)`: `low + (high - low) u`, `u` from the top 53 bits.
pub fn uniform(rng: &mut Pcg64, low: f64, high: f64) -> f64 {
    let u = (rng.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0);
    low + (high - low) * u
}

/// The seed `reset(seed=...)` gets for episode `episode` of a run seeded with `seed`: a pure
/// function of the two (splitmix64 hashes), the same for the engine's CartPole and a Gymnasium
/// environment.
pub fn episode_seed(seed: u64, episode: u64) -> u64 {
    splitmix64(splitmix64(seed ^ 0x6E5E_ED00_0000_0000) ^ episode)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NumPy splits a Python int into 32-bit words, least significant first.
    #[test]
    fn words_are_little_endian() {
        assert_eq!(words(0), [0]);
        assert_eq!(words(5), [5]);
        assert_eq!(words(1 << 32), [0, 1]);
        assert_eq!(words(u128::from(u64::MAX)), [u32::MAX, u32::MAX]);
    }

    /// `SeedSequence(s).generate_state(4, np.uint64)` and the first two draws of
    /// `Generator(PCG64(SeedSequence(s))).uniform(-0.05, 0.05, 2)` (their bits), as NumPy 2.4.6
    /// printed them.
    #[test]
    fn matches_the_values_numpy_printed() {
        let cases: [(u128, [u64; 4], [u64; 2]); 5] = [
            (
                0,
                [
                    0xdb2cd7e7b0f478be,
                    0xabf4641a2c71ba49,
                    0x20c6ed6d9d7b8d41,
                    0x2c4099de223c39d4,
                ],
                [0x3f8c0cbca647ced0, 0xbf9792e736320f47],
            ),
            (
                5,
                [
                    0xaf4c069d0100b467,
                    0x3df59fb9887ebd60,
                    0x57b7bdc649b55a52,
                    0x278105bd968811a6,
                ],
                [0x3f9f3b77f9117d28, 0x3f9f887ba868b83c],
            ),
            (
                4294967303,
                [
                    0x5c15e68f16073898,
                    0x473d7918d1803233,
                    0xf3e9cae3c4907c0f,
                    0xdd958930099c820f,
                ],
                [0x3f9ba9953bf2b6f0, 0xbfa3de8c16d327fc],
            ),
            (
                18446744073709551615,
                [
                    0xaebca151928cad0d,
                    0x119c30448638dc7a,
                    0x1bbb155659e642a7,
                    0xa76b11e3e8c4a8f6,
                ],
                [0x3f926f4a976b4fb8, 0x3fa1ae11fdfd71a0],
            ),
            (
                (1u128 << 100) + 3,
                [
                    0xba00485c0977d4f5,
                    0xcdb10e7d95efa46a,
                    0x6c83aecf953b85c9,
                    0x5327889b3e6230c7,
                ],
                [0x3f9c7b6edd552e40, 0xbfa4975d14deb5fa],
            ),
        ];
        for (seed, state, draws) in cases {
            assert_eq!(seed_sequence_state(seed), state, "seed {seed}");
            let mut g = numpy_pcg64(seed);
            let got = [0, 1].map(|_| uniform(&mut g, -0.05, 0.05).to_bits());
            assert_eq!(got, draws, "seed {seed}");
        }
    }

    /// The uniform draws lie in [low, high); different seeds draw differently. (The values
    /// themselves are checked against NumPy's above.)
    #[test]
    fn uniform_draws_are_in_range_and_seeded() {
        let mut a = numpy_pcg64(3);
        let xs: Vec<f64> = (0..1000).map(|_| uniform(&mut a, -0.05, 0.05)).collect();
        assert!(xs.iter().all(|x| (-0.05..0.05).contains(x)));
        let mut b = numpy_pcg64(4);
        assert_ne!(uniform(&mut b, -0.05, 0.05), xs[0]);
        assert_ne!(episode_seed(1, 2), episode_seed(1, 3));
        assert_ne!(episode_seed(1, 2), episode_seed(2, 2));
    }
}
