//! The seam every host call passes through: the "ferry" imports of Ferry's host ABI, version 1
//! (docs/abi.md), in a wasm32 module; a stub that always fails elsewhere; an in-memory host in
//! tests.

use crate::error::Error;

/// One import of the host's "ferry" module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum HostFn {
    Log,
    Input,
    Http,
    HttpStart,
    HttpWait,
    HttpSave,
    RecordsSave,
    RecordsQueue,
    RecordsFlush,
    RecordsUpdate,
    RecordsDelete,
    RecordsGet,
    CheckpointGet,
    CheckpointSave,
    CheckpointClear,
    MetadataGet,
    MetadataSet,
    LastSyncTime,
    LinksGet,
    LinksPut,
    LinksDelete,
    TriggerSync,
    Output,
    Fail,
}

impl HostFn {
    /// The import's name in the "ferry" module.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn name(self) -> &'static str {
        match self {
            HostFn::Log => "log",
            HostFn::Input => "input",
            HostFn::Http => "http",
            HostFn::HttpStart => "http_start",
            HostFn::HttpWait => "http_wait",
            HostFn::HttpSave => "http_save",
            HostFn::RecordsSave => "records_save",
            HostFn::RecordsQueue => "records_queue",
            HostFn::RecordsFlush => "records_flush",
            HostFn::RecordsUpdate => "records_update",
            HostFn::RecordsDelete => "records_delete",
            HostFn::RecordsGet => "records_get",
            HostFn::CheckpointGet => "checkpoint_get",
            HostFn::CheckpointSave => "checkpoint_save",
            HostFn::CheckpointClear => "checkpoint_clear",
            HostFn::MetadataGet => "metadata_get",
            HostFn::MetadataSet => "metadata_set",
            HostFn::LastSyncTime => "last_sync_time",
            HostFn::LinksGet => "links_get",
            HostFn::LinksPut => "links_put",
            HostFn::LinksDelete => "links_delete",
            HostFn::TriggerSync => "trigger_sync",
            HostFn::Output => "output",
            HostFn::Fail => "fail",
        }
    }
}

/// How the SDK reaches the host.
pub(crate) trait Abi {
    /// Invokes `f` with `arg`, which the host reads in place, and returns `f`'s result in a
    /// new buffer the caller owns, or `None` when `f` produced no result. A failure the host
    /// reports is an [`Error`] carrying the host's message unchanged.
    fn call(&mut self, f: HostFn, arg: &[u8]) -> Result<Option<Vec<u8>>, Error>;
}

/// The ABI of the module being built: the "ferry" imports in a wasm32 module.
pub(crate) fn default_abi() -> Box<dyn Abi> {
    Box::new(imp::Imports)
}

/// Hands `msg` to the host as the run's failure, straight through the import, for the panic
/// hook: a wasm32 panic aborts the module right after the hook, with no [`crate::Host`] to
/// call through.
pub(crate) fn fail_now(msg: &str) {
    let _ = imp::Imports.call(HostFn::Fail, msg.as_bytes());
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{Abi, HostFn};
    use crate::error::Error;

    /// Declares that the module speaks Ferry's host ABI, version 1. The host checks for the
    /// export at deploy and never calls it. A `#[no_mangle]` function of a dependency is
    /// exported from the final cdylib, so depending on this crate is enough.
    #[no_mangle]
    pub extern "C" fn __ferry_abi_v1() {}

    // Each import takes a (pointer, length) pair into the module's memory and returns the
    // size of its pending result, or minus the size of its pending error message.
    #[link(wasm_import_module = "ferry")]
    extern "C" {
        fn result(ptr: *mut u8, len: usize) -> i64;
        fn log(ptr: *const u8, len: usize) -> i64;
        fn input(ptr: *const u8, len: usize) -> i64;
        fn http(ptr: *const u8, len: usize) -> i64;
        fn http_start(ptr: *const u8, len: usize) -> i64;
        fn http_wait(ptr: *const u8, len: usize) -> i64;
        fn http_save(ptr: *const u8, len: usize) -> i64;
        fn records_save(ptr: *const u8, len: usize) -> i64;
        fn records_queue(ptr: *const u8, len: usize) -> i64;
        fn records_flush(ptr: *const u8, len: usize) -> i64;
        fn records_update(ptr: *const u8, len: usize) -> i64;
        fn records_delete(ptr: *const u8, len: usize) -> i64;
        fn records_get(ptr: *const u8, len: usize) -> i64;
        fn checkpoint_get(ptr: *const u8, len: usize) -> i64;
        fn checkpoint_save(ptr: *const u8, len: usize) -> i64;
        fn checkpoint_clear(ptr: *const u8, len: usize) -> i64;
        fn metadata_get(ptr: *const u8, len: usize) -> i64;
        fn metadata_set(ptr: *const u8, len: usize) -> i64;
        fn last_sync_time(ptr: *const u8, len: usize) -> i64;
        fn links_get(ptr: *const u8, len: usize) -> i64;
        fn links_put(ptr: *const u8, len: usize) -> i64;
        fn links_delete(ptr: *const u8, len: usize) -> i64;
        fn trigger_sync(ptr: *const u8, len: usize) -> i64;
        fn output(ptr: *const u8, len: usize) -> i64;
        fn fail(ptr: *const u8, len: usize) -> i64;
    }

    pub(crate) struct Imports;

    impl Abi for Imports {
        fn call(&mut self, f: HostFn, arg: &[u8]) -> Result<Option<Vec<u8>>, Error> {
            // The host reads the argument in place: no copy on this side of the boundary.
            let (ptr, len) = (arg.as_ptr(), arg.len());
            // SAFETY: (ptr, len) is a live slice the host only reads during the call.
            let r = unsafe {
                match f {
                    HostFn::Log => log(ptr, len),
                    HostFn::Input => input(ptr, len),
                    HostFn::Http => http(ptr, len),
                    HostFn::HttpStart => http_start(ptr, len),
                    HostFn::HttpWait => http_wait(ptr, len),
                    HostFn::HttpSave => http_save(ptr, len),
                    HostFn::RecordsSave => records_save(ptr, len),
                    HostFn::RecordsQueue => records_queue(ptr, len),
                    HostFn::RecordsFlush => records_flush(ptr, len),
                    HostFn::RecordsUpdate => records_update(ptr, len),
                    HostFn::RecordsDelete => records_delete(ptr, len),
                    HostFn::RecordsGet => records_get(ptr, len),
                    HostFn::CheckpointGet => checkpoint_get(ptr, len),
                    HostFn::CheckpointSave => checkpoint_save(ptr, len),
                    HostFn::CheckpointClear => checkpoint_clear(ptr, len),
                    HostFn::MetadataGet => metadata_get(ptr, len),
                    HostFn::MetadataSet => metadata_set(ptr, len),
                    HostFn::LastSyncTime => last_sync_time(ptr, len),
                    HostFn::LinksGet => links_get(ptr, len),
                    HostFn::LinksPut => links_put(ptr, len),
                    HostFn::LinksDelete => links_delete(ptr, len),
                    HostFn::TriggerSync => trigger_sync(ptr, len),
                    HostFn::Output => output(ptr, len),
                    HostFn::Fail => fail(ptr, len),
                }
            };
            if r == 0 {
                return Ok(None);
            }
            let n = r.unsigned_abs() as usize;
            // The one copy of a result: from the host straight into memory the caller owns.
            let mut buf: Vec<u8> = Vec::with_capacity(n);
            // SAFETY: buf has room for n bytes; the host writes at most n and says how many,
            // and only that many (none if it failed) are marked initialised.
            unsafe {
                let got = result(buf.as_mut_ptr(), n);
                buf.set_len(got.clamp(0, n as i64) as usize);
            }
            if r < 0 {
                return Err(Error::host(String::from_utf8_lossy(&buf).into_owned()));
            }
            Ok(Some(buf))
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{Abi, HostFn};
    use crate::error::Error;

    /// Stands in for the host outside WebAssembly (a native `cargo test` of a plugin's pure
    /// logic): every call fails with [`Error::is_no_host`] true.
    pub(crate) struct Imports;

    impl Abi for Imports {
        fn call(&mut self, _: HostFn, _: &[u8]) -> Result<Option<Vec<u8>>, Error> {
            Err(Error::no_host())
        }
    }
}
