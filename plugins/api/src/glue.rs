//! The `extern "C"` functions generated for a [`Rule`]: argument conversion and a
//! `catch_unwind` around every call, so a panic never crosses the boundary.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::abi::{self, Descriptor, STATUS_ERROR, STATUS_OK, STATUS_PANIC, State, Status, View};
use crate::views::{Batch, Grads, Layout, Sequence, Step, slice};
use crate::{BUILD_SIGNATURE, ParamValues, Rule};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_error(msg: &str) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

extern "C" fn last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

fn leak(s: &str) -> *const c_char {
    CString::new(s.replace('\0', " "))
        .unwrap_or_default()
        .into_raw()
        .cast_const()
}

/// Run `f`, turning `Err` and panics into a status and a message.
fn guard(hook: &str, f: impl FnOnce() -> Result<(), String>) -> Status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => STATUS_OK,
        Ok(Err(msg)) => {
            set_error(&msg);
            STATUS_ERROR
        }
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".into());
            set_error(&format!("panicked in {hook}: {msg}"));
            STATUS_PANIC
        }
    }
}

/// # Safety
/// `state` was returned by `create::<R>` and not destroyed.
unsafe fn rule<'a, R>(state: State) -> &'a mut R {
    // SAFETY: guaranteed by the caller; the host serializes calls on one instance.
    unsafe { &mut *state.cast::<R>() }
}

extern "C" fn create<R: Rule>(
    layout: *const abi::Layout,
    params: View<f64>,
    out: *mut State,
) -> Status {
    guard("create", || {
        if layout.is_null() || out.is_null() {
            return Err("create called with a null pointer".into());
        }
        // SAFETY: the host passes a valid layout and parameter values for the call's duration.
        let (layout, values) = unsafe { (Layout::from_raw(&*layout), slice(params)) };
        let table = R::params();
        if values.len() != table.len() {
            return Err(format!(
                "host passed {} parameter values, the rule has {}",
                values.len(),
                table.len()
            ));
        }
        let p = ParamValues {
            names: table.iter().map(|p| p.name).collect(),
            values: values.to_vec(),
            choices: table.iter().map(|p| p.choices).collect(),
        };
        let r = Box::new(R::create(&layout, &p)?);
        // SAFETY: `out` is a valid pointer to write the new state to.
        unsafe { *out = Box::into_raw(r).cast() };
        Ok(())
    })
}

extern "C" fn destroy<R: Rule>(state: State) {
    if !state.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: `state` came from `Box::into_raw` in `create::<R>` and is destroyed once.
            drop(unsafe { Box::from_raw(state.cast::<R>()) })
        }));
    }
}

extern "C" fn on_sequence_start<R: Rule>(state: State) -> Status {
    // SAFETY: host contract (see `rule`).
    guard("on_sequence_start", || {
        unsafe { rule::<R>(state) }.on_sequence_start()
    })
}

extern "C" fn on_step<R: Rule>(
    state: State,
    view: *const abi::StepView,
    grads: *const abi::Grads,
) -> Status {
    guard("on_step", || {
        // SAFETY: host contract: valid state, views valid for this call.
        let (r, step, mut g) = unsafe {
            (
                rule::<R>(state),
                Step::from_raw(&*view),
                Grads::from_raw(&*grads),
            )
        };
        r.on_step(&step, &mut g)
    })
}

extern "C" fn on_sequence_end<R: Rule>(
    state: State,
    view: *const abi::SequenceView,
    grads: *const abi::Grads,
) -> Status {
    guard("on_sequence_end", || {
        // SAFETY: host contract: valid state, views valid for this call.
        let (r, seq, mut g) = unsafe {
            (
                rule::<R>(state),
                Sequence::from_raw(&*view),
                Grads::from_raw(&*grads),
            )
        };
        r.on_sequence_end(&seq, &mut g)
    })
}

extern "C" fn take_changes<R: Rule>(state: State, out: *mut View<abi::Change>) -> Status {
    guard("take_changes", || {
        // SAFETY: host contract: valid state and out pointer.
        let r = unsafe { rule::<R>(state) };
        // SAFETY: as above.
        unsafe { *out = View::of(r.changes()) };
        Ok(())
    })
}

extern "C" fn on_batch_end<R: Rule>(
    state: State,
    view: *const abi::BatchView,
    grads: *const abi::Grads,
) -> Status {
    guard("on_batch_end", || {
        // SAFETY: host contract: valid state, views valid for this call.
        let (r, batch, mut g) = unsafe {
            (
                rule::<R>(state),
                Batch::from_raw(&*view),
                Grads::from_raw(&*grads),
            )
        };
        r.on_batch_end(&batch, &mut g)
    })
}

thread_local! {
    static SAVED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

extern "C" fn save_state<R: Rule>(state: State, out: *mut View<u8>) -> Status {
    guard("save_state", || {
        // SAFETY: host contract: valid state.
        let bytes = unsafe { rule::<R>(state) }.save_state();
        SAVED.with(|s| {
            *s.borrow_mut() = bytes;
            // SAFETY: `out` is valid; the bytes live in SAVED until the next save on this thread.
            unsafe { *out = View::of(&s.borrow()) };
        });
        Ok(())
    })
}

extern "C" fn load_state<R: Rule>(state: State, bytes: View<u8>) -> Status {
    guard("load_state", || {
        // SAFETY: host contract: valid state and bytes for this call.
        let (r, b) = unsafe { (rule::<R>(state), slice(bytes)) };
        r.load_state(b)
    })
}

/// Build (once, leaked: libraries are never unloaded) the descriptor of rule `R`.
pub fn descriptor<R: Rule>() -> &'static Descriptor {
    let params: Vec<abi::ParamInfo> = R::params()
        .iter()
        .map(|p| abi::ParamInfo {
            name: leak(p.name),
            unit: leak(p.unit),
            doc: leak(p.doc),
            default: p.default,
            min: p.min,
            max: p.max,
            choices: p.choices.map_or(std::ptr::null(), |c| leak(&c.join("|"))),
        })
        .collect();
    let params: &'static [abi::ParamInfo] = Box::leak(params.into_boxed_slice());
    Box::leak(Box::new(Descriptor {
        abi_major: abi::ABI_MAJOR,
        abi_minor: abi::ABI_MINOR,
        struct_size: std::mem::size_of::<Descriptor>() as u32,
        output: R::OUTPUT,
        build_signature: leak(BUILD_SIGNATURE),
        name: leak(R::NAME),
        version: leak(R::VERSION),
        params: View::of(params),
        last_error,
        create: create::<R>,
        destroy: destroy::<R>,
        on_sequence_start: on_sequence_start::<R>,
        on_step: on_step::<R>,
        on_sequence_end: on_sequence_end::<R>,
        take_changes: take_changes::<R>,
        save_state: save_state::<R>,
        load_state: load_state::<R>,
        on_batch_end: on_batch_end::<R>,
    }))
}
