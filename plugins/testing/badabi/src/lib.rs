//! Test fixture: a plugin with a foreign descriptor. By default it claims ABI major 999; with
//! `ELIGO_TEST_BADABI` set to `old` it claims ABI 1.1 (a plugin built before ABI 2), to
//! `output` an output kind no host knows (7), to `param` a parameter of an unknown kind (9).
//! The host must refuse each before calling anything, saying why.

use eligo_plugin::abi::{Descriptor, ParamInfo, View};
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
        let mode = std::env::var("ELIGO_TEST_BADABI").unwrap_or_default();
        let (abi_major, abi_minor, output) = match mode.as_str() {
            "old" => (1, 1, d.output),
            "output" | "param" => (d.abi_major, d.abi_minor, 7),
            _ => (999, 3, d.output),
        };
        let mut desc = Descriptor {
            abi_major,
            abi_minor,
            output,
            ..*d
        };
        if mode == "param" {
            desc.output = d.output;
            let table = vec![ParamInfo {
                name: c"odd".as_ptr(),
                unit: c"".as_ptr(),
                doc: c"a parameter of a kind from the future".as_ptr(),
                kind: 9,
                reserved: 0,
                default: 0.0,
                min: 0.0,
                max: 1.0,
                choices: std::ptr::null(),
                default_text: std::ptr::null(),
            }];
            desc.params = View::of(Box::leak(table.into_boxed_slice()));
        }
        Box::leak(Box::new(desc))
    })
}
