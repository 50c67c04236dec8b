//! The `extern "C"` functions generated for a [`Rule`]: argument conversion and a
//! `catch_unwind` around every call, so a panic never crosses the boundary.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::abi::{self, Descriptor, STATUS_ERROR, STATUS_OK, STATUS_PANIC, State, Status, View};
use crate::views::{Batch, Grads, Layout, Sequence, Step, slice, text};
use crate::{BUILD_SIGNATURE, Diagnostics, ParamKind, ParamValues, Rule, Scope};

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

/// What `create::<R>` allocates: the rule and what the glue keeps for the host's views.
struct Instance<R> {
    rule: R,
    requests: Vec<abi::StateRequest>,
    diag_names: Vec<CString>,
    diags: Vec<abi::Diagnostic>,
    saved: Vec<u8>,
}

/// # Safety
/// `state` was returned by `create::<R>` and not destroyed.
unsafe fn instance<'a, R>(state: State) -> &'a mut Instance<R> {
    // SAFETY: guaranteed by the caller; the host serializes calls on one instance.
    unsafe { &mut *state.cast::<Instance<R>>() }
}

/// # Safety
/// As [`instance`].
unsafe fn rule<'a, R>(state: State) -> &'a mut R {
    // SAFETY: guaranteed by the caller.
    unsafe { &mut instance::<R>(state).rule }
}

/// The values of `table` from what the host passed.
fn values(table: &[crate::Param], raw: &[abi::ParamValue]) -> Result<ParamValues, String> {
    if raw.len() != table.len() {
        return Err(format!(
            "host passed {} parameter values, the rule has {}",
            raw.len(),
            table.len()
        ));
    }
    Ok(ParamValues {
        names: table.iter().map(|p| p.name).collect(),
        kinds: table.iter().map(|p| p.kind).collect(),
        numbers: raw.iter().map(|v| v.number).collect(),
        texts: raw.iter().map(|v| text(v.text).to_string()).collect(),
    })
}

extern "C" fn create<R: Rule>(
    layout: *const abi::Layout,
    params: View<abi::ParamValue>,
    out: *mut State,
) -> Status {
    guard("create", || {
        if layout.is_null() || out.is_null() {
            return Err("create called with a null pointer".into());
        }
        // SAFETY: the host passes a valid layout and parameter values for the call's duration.
        let (layout, raw) = unsafe { (Layout::from_raw(&*layout), slice(params)) };
        let p = values(&R::params(), raw)?;
        let rule = R::create(&layout, &p)?;
        let inst = Box::new(Instance {
            rule,
            requests: layout.requests(),
            diag_names: Vec::new(),
            diags: Vec::new(),
            saved: Vec::new(),
        });
        // SAFETY: `out` is a valid pointer to write the new state to.
        unsafe { *out = Box::into_raw(inst).cast() };
        Ok(())
    })
}

extern "C" fn destroy<R: Rule>(state: State) {
    if !state.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: `state` came from `Box::into_raw` in `create::<R>` and is destroyed once.
            drop(unsafe { Box::from_raw(state.cast::<Instance<R>>()) })
        }));
    }
}

extern "C" fn state_requests<R: Rule>(state: State, out: *mut View<abi::StateRequest>) -> Status {
    guard("state_requests", || {
        // SAFETY: host contract: valid state and out pointer.
        let inst = unsafe { instance::<R>(state) };
        // SAFETY: as above.
        unsafe { *out = View::of(&inst.requests) };
        Ok(())
    })
}

extern "C" fn take_diagnostics<R: Rule>(
    state: State,
    scope: u32,
    out: *mut View<abi::Diagnostic>,
) -> Status {
    guard("take_diagnostics", || {
        let scope = match scope {
            abi::SCOPE_SEQUENCE => Scope::Sequence,
            abi::SCOPE_BATCH => Scope::Batch,
            other => {
                return Err(format!(
                    "host asked for diagnostics of unknown scope {other}"
                ));
            }
        };
        // SAFETY: host contract: valid state and out pointer.
        let inst = unsafe { instance::<R>(state) };
        let mut d = Diagnostics::default();
        inst.rule.diagnostics(scope, &mut d);
        inst.diag_names = d
            .entries
            .iter()
            .map(|(n, _)| CString::new(n.replace('\0', " ")).unwrap_or_default())
            .collect();
        inst.diags = inst
            .diag_names
            .iter()
            .zip(&d.entries)
            .map(|(n, (_, v))| abi::Diagnostic {
                name: n.as_ptr(),
                value: *v,
            })
            .collect();
        // SAFETY: as above; the entries live in the instance until the next call.
        unsafe { *out = View::of(&inst.diags) };
        Ok(())
    })
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

extern "C" fn save_state<R: Rule>(state: State, out: *mut View<u8>) -> Status {
    guard("save_state", || {
        // SAFETY: host contract: valid state.
        let inst = unsafe { instance::<R>(state) };
        inst.saved = inst.rule.save_state();
        // SAFETY: `out` is valid; the bytes live in the instance until the next call.
        unsafe { *out = View::of(&inst.saved) };
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
            kind: p.kind.raw(),
            reserved: 0,
            choices: p.choices.map_or(std::ptr::null(), |c| leak(&c.join("|"))),
            default_text: match p.kind {
                ParamKind::Number | ParamKind::Choice => std::ptr::null(),
                _ => leak(p.default_text),
            },
        })
        .collect();
    let params: &'static [abi::ParamInfo] = Box::leak(params.into_boxed_slice());
    Box::leak(Box::new(Descriptor {
        abi_major: abi::ABI_MAJOR,
        abi_minor: abi::ABI_MINOR,
        struct_size: std::mem::size_of::<Descriptor>() as u32,
        output: R::OUTPUT.raw(),
        build_signature: leak(BUILD_SIGNATURE),
        name: leak(R::NAME),
        version: leak(R::VERSION),
        params: View::of(params),
        last_error,
        create: create::<R>,
        destroy: destroy::<R>,
        state_requests: state_requests::<R>,
        on_sequence_start: on_sequence_start::<R>,
        on_step: on_step::<R>,
        on_sequence_end: on_sequence_end::<R>,
        on_batch_end: on_batch_end::<R>,
        take_changes: take_changes::<R>,
        take_diagnostics: take_diagnostics::<R>,
        save_state: save_state::<R>,
        load_state: load_state::<R>,
    }))
}
