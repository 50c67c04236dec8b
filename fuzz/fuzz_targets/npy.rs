//! The spike `.npy` reader (`eligo grad --input`), and the same bytes as an event `.npy` file
//! through format detection.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let p = eligo_fuzz::file("in.npy", data);
    let _ = eligo_engine::io::npy::read_events(&p);
    let _ = eligo_engine::io::events::detect(&p);
});
