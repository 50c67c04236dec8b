//! Network description TOML: parse, validate, build (tiny networks only) and run a few steps.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eligo_fuzz::fuzz_config(data));
