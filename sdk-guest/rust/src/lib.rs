//! Ferry's guest SDK for Rust: it lets a sync, action or webhook function, compiled to
//! `wasm32-wasi`, use the capabilities the Ferry host offers (HTTP to the provider through the
//! host's proxy, batch record saves, updates and deletes, checkpoints, connection metadata,
//! data links, sync triggers and logging) through Ferry's host ABI, version 1 (`docs/abi.md`
//! in the Ferry repository).
//!
//! A plugin is a `cdylib` crate. Each function named in `ferry.yaml` is an export that one of
//! the export macros writes around a plain Rust function; the plugin has no `unsafe`:
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Contact {
//!     id: String,
//!     email: String,
//! }
//!
//! fn contacts(s: &mut ferry::Sync) -> ferry::Result<()> {
//!     let mut pages = s.http().paginate(
//!         ferry::Request::get("/contacts").query("limit", 100),
//!         ferry::CursorPagination::new("data", "next_cursor", "cursor"),
//!     );
//!     while let Some(page) = pages.next(s)? {
//!         let contacts: Vec<Contact> = page.decode()?;
//!         let res = s.save("Contact", &contacts)?;
//!         ferry::debug!(s, "page {}: {} added", page.number(), res.added);
//!     }
//!     Ok(())
//! }
//!
//! // #[no_mangle] pub extern "C" fn sync_contacts() -> i32, named in ferry.yaml.
//! ferry::sync_export!(sync_contacts, contacts);
//! ```
//!
//! Depending on the crate is enough to mark the module as speaking ABI version 1: the crate
//! exports `__ferry_abi_v1` itself.
//!
//! # Execution model
//!
//! Every run gets a fresh instance of the module, so statics never leak from one run to the
//! next. The module is single-threaded; a [`Sync`], [`Action`] or [`Webhook`] lives for one
//! call of one export. Each dereferences to [`Host`], whose methods are the capabilities every
//! kind of function has.
//!
//! Arguments pass to the host as (pointer, length) of Rust slices, which the host reads in
//! place; a result is copied once, from the host into a `Vec` the SDK hands over. One
//! argument buffer is reused from call to call.
//!
//! # Errors and panics
//!
//! Functions return [`Result`]; an error's message becomes the run's error. A panic is
//! reported too, by a panic hook the SDK installs: its message and location reach the host
//! and the run's log. On wasm32 a panic aborts the module (Rust has no unwinding there), so
//! the host reports the run as crashed, with the panic's message.
//!
//! # Outside WebAssembly
//!
//! On any other target every host call fails with an error for which
//! [`Error::is_no_host`] is true, so a plugin's crate builds natively and its pure logic can
//! be unit-tested with plain `cargo test`.

#![warn(missing_docs)]

mod abi;
mod error;
mod host;
mod http;
mod json;
mod jsonscan;
mod links;
mod log;
mod paginate;
mod passthrough;
mod records;
mod state;
mod time;
mod webhook;

#[cfg(test)]
mod testhost;
#[cfg(test)]
mod tests;

pub use crate::error::{Context, Error, HttpError, Result};
pub use crate::host::{run_action, run_sync, run_webhook, Action, Host, Sync, Webhook};
pub use crate::http::{path_escape, query_escape, Headers, Http, Request, Response};
pub use crate::links::{Link, Links};
pub use crate::log::Level;
pub use crate::paginate::{
    CursorPagination, LinkPagination, OffsetPagination, Page, PagePagination, Pager, Pagination,
};
pub use crate::passthrough::{Passed, Passthrough};
pub use crate::records::{SaveResult, UpdateResult};
pub use crate::time::Timestamp;
pub use crate::webhook::WebhookRequest;

/// Writes the export `$export` (`#[no_mangle] pub extern "C" fn $export() -> i32`) that runs
/// `$f`, a `fn(&mut ferry::Sync) -> ferry::Result<()>`, through [`run_sync`]. `$export` is the
/// name `ferry.yaml` gives the sync's `export`:
///
/// ```ignore
/// ferry::sync_export!(sync_contacts, contacts::sync);
/// ```
#[macro_export]
macro_rules! sync_export {
    ($export:ident, $f:path) => {
        #[no_mangle]
        pub extern "C" fn $export() -> i32 {
            $crate::run_sync($f)
        }
    };
}

/// Writes the export `$export` that runs `$f`, a `fn(&mut ferry::Action) -> ferry::Result<()>`,
/// through [`run_action`], as [`sync_export!`] does for syncs.
#[macro_export]
macro_rules! action_export {
    ($export:ident, $f:path) => {
        #[no_mangle]
        pub extern "C" fn $export() -> i32 {
            $crate::run_action($f)
        }
    };
}

/// Writes the export `$export` that runs `$f`, a `fn(&mut ferry::Webhook) -> ferry::Result<()>`,
/// through [`run_webhook`], as [`sync_export!`] does for syncs.
#[macro_export]
macro_rules! webhook_export {
    ($export:ident, $f:path) => {
        #[no_mangle]
        pub extern "C" fn $export() -> i32 {
            $crate::run_webhook($f)
        }
    };
}
