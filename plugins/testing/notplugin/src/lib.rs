//! Test fixture: a shared library that is not an Eligo plugin (no entry symbol).

/// Something a library might export.
#[unsafe(no_mangle)]
pub extern "C" fn eligo_test_hello() -> i32 {
    42
}
