//! A NIR file (HDF5, read through the system library) imported at dt = 0.1 ms.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eligo_fuzz::fuzz_nir(data));
