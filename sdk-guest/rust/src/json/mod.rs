//! JSON as serde_json reads and writes it, to the same values and the same bytes, but faster
//! inside WebAssembly where records spend their time: in strings, which serde_json goes
//! through a byte at a time and which these find the ends of eight bytes at a time.
//!
//! Both are fast paths in front of serde_json, not replacements: whatever they do not handle
//! as serde_json would, or any failure, is handed to serde_json, whose answer (value, bytes or
//! error, with its wording and position) is then the answer. So a plugin sees serde_json's
//! behaviour, only sooner.

mod de;
mod ser;

use std::fmt::{self, Display};

pub(crate) use de::from_slice;
pub(crate) use ser::to_writer;

/// Why a fast path gave up: the value then goes through serde_json, which words errors.
#[derive(Debug)]
struct GiveUp;

impl Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not handled by the fast path")
    }
}

impl std::error::Error for GiveUp {}

impl serde::ser::Error for GiveUp {
    fn custom<T: Display>(_: T) -> Self {
        GiveUp
    }
}

impl serde::de::Error for GiveUp {
    fn custom<T: Display>(_: T) -> Self {
        GiveUp
    }
}

type Result<T = ()> = std::result::Result<T, GiveUp>;

/// The names serde_json gives the structs that stand for its raw values and arbitrary-precision
/// numbers, which only serde_json itself reads and writes.
fn is_serde_json_private(name: &str) -> bool {
    name.starts_with("$serde_json::private::")
}
