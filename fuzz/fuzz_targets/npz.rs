//! Any `.npz` archive through the reader every weights, checkpoint and optimizer file goes through.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = eligo_engine::io::npz::read(&eligo_fuzz::file("in.npz", data));
});
