//! Test fixture: a shared library that is not an Eligo plugin (no entry symbol). Its
//! initializer, run by the dynamic loader when the library is loaded, creates the file named by
//! `ELIGO_TEST_LOADED_MARKER` (when set): a test that finds no such file after a command has
//! shown that the command never loaded this library.

/// Something a library might export.
#[unsafe(no_mangle)]
pub extern "C" fn eligo_test_hello() -> i32 {
    42
}

extern "C" fn on_load() {
    if let Some(path) = std::env::var_os("ELIGO_TEST_LOADED_MARKER") {
        let _ = std::fs::write(path, "eligo_test_notplugin was loaded\n");
    }
}

/// Run by the dynamic loader when the library is loaded (ELF `.init_array`).
// SAFETY: `.init_array` holds pointers to `extern "C" fn()` run once at load time; `on_load`
// is one, and it only reads an environment variable and writes a file.
#[used]
#[unsafe(link_section = ".init_array")]
static ON_LOAD: extern "C" fn() = on_load;
