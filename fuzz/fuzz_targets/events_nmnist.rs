//! The NMnist event reader, then mapping and binning to steps.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eligo_fuzz::fuzz_events(
    eligo_fuzz::Reader::NMnist,
    data
));
