//! Seeding: the counter-based mixing that turns (seed, stream, index) into independent random
//! streams, so that every draw is a pure function of its coordinates (Poisson sources, the
//! connection rules, task samples, checkpoint digests) and nothing depends on the order or the
//! thread that asks.

/// SplitMix64 finalizer: a strong 64-bit mix (Steele, Lea and Flood, "Fast splittable
/// pseudorandom number generators", OOPSLA 2014).
#[inline]
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
