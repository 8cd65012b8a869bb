//! The host's capabilities and the run wrappers that hand them to a plugin's functions.

use std::cell::RefCell;
use std::io::Write;
use std::ops::{Deref, DerefMut};
use std::panic::{self, AssertUnwindSafe};

use serde::Serialize;

use crate::abi::{self, Abi, HostFn};
use crate::error::{excerpt, Error, Result};

/// The largest argument buffer a [`Host`] keeps for reuse; a larger one, from an unusually big
/// batch, is dropped after its call so it does not pin memory for the rest of the run.
const MAX_SCRATCH: usize = 8 << 20;

/// The capabilities the Ferry host offers every sync, action and webhook handler: records,
/// data links, connection metadata, HTTP to the provider, sync triggers and logging. [`Sync`],
/// [`Action`] and [`Webhook`] dereference to it, so their functions call these methods
/// directly (`s.save(...)`).
///
/// A module is single-threaded and every run gets a fresh instance, so a `Host` lives for one
/// call of one export.
pub struct Host {
    abi: Box<dyn Abi>,
    scratch: Vec<u8>, // argument buffer, reused from call to call
}

impl Host {
    pub(crate) fn new(abi: Box<dyn Abi>) -> Host {
        Host {
            abi,
            scratch: Vec::new(),
        }
    }

    /// Calls `f` with `arg`: `Ok(None)` when it produced no result.
    pub(crate) fn call(&mut self, f: HostFn, arg: &[u8]) -> Result<Option<Vec<u8>>> {
        self.abi.call(f, arg)
    }

    /// Encodes `header` then `v` as compact JSON into the reusable argument buffer, calls `f`
    /// with it, and lets the buffer go if an unusually large argument grew it. `want`, when
    /// not 0, is the byte the JSON must start with (`[` for a batch, `{` for an object);
    /// `what` names the argument in errors.
    pub(crate) fn call_json<T: Serialize + ?Sized>(
        &mut self,
        f: HostFn,
        header: &str,
        v: &T,
        want: u8,
        what: &str,
    ) -> Result<Option<Vec<u8>>> {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        let res = encode_arg(&mut buf, header, v, want, what).and_then(|()| self.call(f, &buf));
        if buf.capacity() <= MAX_SCRATCH {
            self.scratch = buf;
        }
        res
    }

    /// Calls `f` with `header` followed by `body` as they are, through the argument buffer.
    pub(crate) fn call_raw(
        &mut self,
        f: HostFn,
        header: &str,
        body: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        buf.extend_from_slice(header.as_bytes());
        buf.extend_from_slice(body);
        let res = self.call(f, &buf);
        if buf.capacity() <= MAX_SCRATCH {
            self.scratch = buf;
        }
        res
    }

    /// Hands the host the message of the run's failure. Its own failure is ignored: the export
    /// returns non-zero either way, and the host then reports a generic failure.
    fn fail(&mut self, msg: &str) {
        let msg = if msg.is_empty() {
            "failed without a message"
        } else {
            msg
        };
        let _ = self.call(HostFn::Fail, msg.as_bytes());
    }

    /// Asks the host to run the sync `name` (a sync of the same integration, as ferry.yaml
    /// names it) for this connection soon. An action that wrote to the provider calls it so
    /// the cache catches up with what the write changed there. The sync runs after this call
    /// returns, never inside it; a trigger while a run of that sync is under way queues one
    /// follow-up run.
    pub fn trigger_sync(&mut self, name: &str) -> Result<()> {
        if name.is_empty() {
            return Err(Error::msg("ferry: trigger sync: empty sync name"));
        }
        self.call(HostFn::TriggerSync, name.as_bytes())
            .map_err(|e| e.context(format!("ferry: trigger sync {}", name)))?;
        Ok(())
    }

    /// Hands the host `v`, encoded as JSON, as the call's output; `what` names it in errors.
    pub(crate) fn output_json<T: Serialize + ?Sized>(&mut self, v: &T, what: &str) -> Result<()> {
        self.call_json(HostFn::Output, "", v, 0, what)
            .map_err(|e| e.context(format!("ferry: set {}", what)))?;
        Ok(())
    }
}

/// Encodes `header` and `v` into `buf`, checking the JSON's first byte against `want`.
pub(crate) fn encode_arg<T: Serialize + ?Sized>(
    buf: &mut Vec<u8>,
    header: &str,
    v: &T,
    want: u8,
    what: &str,
) -> Result<()> {
    buf.extend_from_slice(header.as_bytes());
    let start = buf.len();
    crate::json::to_writer(buf, v).map_err(|e| Error::msg(format!("encode {}: {}", what, e)))?;
    if want != 0 && buf.get(start) != Some(&want) {
        let kind = if want == b'[' { "array" } else { "object" };
        return Err(Error::msg(format!(
            "{} must be a JSON {}, got {}",
            what,
            kind,
            excerpt(&buf[start..], 40)
        )));
    }
    Ok(())
}

/// What a sync function works with: the [`Host`] capabilities plus its checkpoint and the time
/// of its last successful run.
pub struct Sync {
    host: Host,
}

/// What an action function works with: the [`Host`] capabilities plus its JSON input and
/// output.
pub struct Action {
    host: Host,
}

/// What an inbound webhook handler works with: the [`Host`] capabilities plus the provider's
/// request and the response body to answer it with.
///
/// The host has checked the provider's signature (as ferry.yaml's `webhook.signature` says,
/// with the connection's webhook secret) before it calls the handler, so the request is the
/// provider's.
pub struct Webhook {
    host: Host,
    pub(crate) req: Option<crate::webhook::WebhookRequest>, // read once, on first use
}

macro_rules! deref_host {
    ($t:ty) => {
        impl Deref for $t {
            type Target = Host;
            fn deref(&self) -> &Host {
                &self.host
            }
        }
        impl DerefMut for $t {
            fn deref_mut(&mut self) -> &mut Host {
                &mut self.host
            }
        }
    };
}

deref_host!(Sync);
deref_host!(Action);
deref_host!(Webhook);

/// Runs `f` as the sync the host called, and returns the value the export must return: 0 when
/// `f` returned `Ok`, non-zero when it returned an error, whose message becomes the run's
/// error. The [`sync_export!`](crate::sync_export) macro writes the export that calls it.
///
/// A panic becomes the run's error too: the SDK's panic hook hands the host the panic's
/// message and location (and writes them to stderr, which the host captures into the run's
/// log). Rust's wasm32 targets abort on panic, so the module then traps and the host reports
/// the run as crashed, with the panic's message.
pub fn run_sync<F: FnOnce(&mut Sync) -> Result<()>>(f: F) -> i32 {
    run_sync_with(abi::default_abi(), f)
}

/// Runs `f` as the action the host called, as [`run_sync`] does. `f` reads its input with
/// [`Action::input`] and returns its result with [`Action::output`]. The
/// [`action_export!`](crate::action_export) macro writes the export that calls it.
pub fn run_action<F: FnOnce(&mut Action) -> Result<()>>(f: F) -> i32 {
    run_action_with(abi::default_abi(), f)
}

/// Runs `f` as the inbound webhook handler the host called (the export ferry.yaml's
/// `webhook.export` names), as [`run_sync`] does. A failure answers the provider with a
/// non-2xx status, so a provider that retries its webhooks sends the event again: make the
/// handler's writes idempotent (saves are). The [`webhook_export!`](crate::webhook_export)
/// macro writes the export that calls it.
pub fn run_webhook<F: FnOnce(&mut Webhook) -> Result<()>>(f: F) -> i32 {
    run_webhook_with(abi::default_abi(), f)
}

pub(crate) fn run_sync_with<F: FnOnce(&mut Sync) -> Result<()>>(abi: Box<dyn Abi>, f: F) -> i32 {
    let mut s = Sync {
        host: Host::new(abi),
    };
    run(&mut s, f, |s| &mut s.host)
}

pub(crate) fn run_action_with<F: FnOnce(&mut Action) -> Result<()>>(
    abi: Box<dyn Abi>,
    f: F,
) -> i32 {
    let mut a = Action {
        host: Host::new(abi),
    };
    run(&mut a, f, |a| &mut a.host)
}

pub(crate) fn run_webhook_with<F: FnOnce(&mut Webhook) -> Result<()>>(
    abi: Box<dyn Abi>,
    f: F,
) -> i32 {
    let mut w = Webhook {
        host: Host::new(abi),
        req: None,
    };
    run(&mut w, f, |w| &mut w.host)
}

thread_local! {
    /// The message of the panic under way, set by the panic hook for `run` to report where
    /// panics unwind (native tests); on wasm32 the hook reports it itself.
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Calls `f` on `ctx` and reports its failure, or its panic, to the host.
fn run<C, F>(ctx: &mut C, f: F, host: fn(&mut C) -> &mut Host) -> i32
where
    F: FnOnce(&mut C) -> Result<()>,
{
    install_panic_hook();
    match panic::catch_unwind(AssertUnwindSafe(|| f(&mut *ctx))) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            host(ctx).fail(&e.to_string());
            1
        }
        Err(_) => {
            let msg = PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "panic".to_string());
            host(ctx).fail(&msg);
            1
        }
    }
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let what = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "Box<dyn Any>".to_string()
            };
            let msg = match info.location() {
                Some(l) => format!(
                    "panic: {} (at {}:{}:{})",
                    what,
                    l.file(),
                    l.line(),
                    l.column()
                ),
                None => format!("panic: {}", what),
            };
            // Into the run's log, where the host also looks for why a module died.
            let _ = writeln!(std::io::stderr(), "{}", msg);
            if cfg!(target_arch = "wasm32") {
                // The module aborts right after this hook: tell the host now.
                abi::fail_now(&msg);
            } else {
                PANIC.with(|p| *p.borrow_mut() = Some(msg));
            }
        }));
    });
}
