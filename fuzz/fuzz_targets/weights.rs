//! Weights `.npz` loaded into a small fixed network.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eligo_fuzz::fuzz_weights(data));
