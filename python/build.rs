//! Link flags of the extension module.

fn main() {
    // The built-in rule crates are linked in as libraries (src/lib.rs registers them), and each
    // also defines the plugin entry point `eligo_plugin_entry` its shared library exports. The
    // module never uses that symbol (it takes each rule's descriptor directly), so any one of
    // the identical-named definitions may stand; GNU ld and lld accept that with this flag.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--allow-multiple-definition");
    }
}
