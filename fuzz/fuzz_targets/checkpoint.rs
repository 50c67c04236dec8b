//! A checkpoint directory (state.json, weights.npz, optimizer.npz, rules.bin packed in one input,
//! see `eligo_fuzz::pack`) resumed into a tiny e-prop trainer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eligo_fuzz::fuzz_checkpoint(data));
