//! Test fixture: a plugin that claims ABI major 999. The host must refuse it before calling
//! anything, naming both versions.

use eligo_plugin::abi::Descriptor;
use eligo_plugin::{Grads, Layout, OutputKind, Param, ParamValues, Rule, Step};

/// A rule that does nothing.
pub struct Nothing;

impl Rule for Nothing {
    const NAME: &'static str = "test_badabi";
    const VERSION: &'static str = "0.0.0";
    const OUTPUT: OutputKind = OutputKind::Direct;
    fn params() -> Vec<Param> {
        Vec::new()
    }
    fn create(_: &Layout, _: &ParamValues) -> Result<Self, String> {
        Ok(Nothing)
    }
    fn on_step(&mut self, _: &Step, _: &mut Grads) -> Result<(), String> {
        Ok(())
    }
}

/// Entry point reporting a foreign ABI major version.
#[unsafe(no_mangle)]
pub extern "C" fn eligo_plugin_entry() -> *const Descriptor {
    static D: std::sync::OnceLock<&'static Descriptor> = std::sync::OnceLock::new();
    *D.get_or_init(|| {
        let d = eligo_plugin::descriptor::<Nothing>();
        Box::leak(Box::new(Descriptor {
            abi_major: 999,
            abi_minor: 3,
            ..*d
        }))
    })
}
