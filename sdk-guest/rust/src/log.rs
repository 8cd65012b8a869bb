//! Lines in the run's log.

use std::fmt;

use crate::abi::HostFn;
use crate::host::Host;

/// The level of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Detail for whoever debugs the plugin.
    Debug,
    /// What the run did.
    Info,
    /// Something odd that did not fail the run.
    Warn,
    /// Something that went wrong. It does not fail the run: return an error for that.
    Error,
}

impl Level {
    /// The level's name in the ABI: `debug`, `info`, `warn` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Host {
    /// Writes a line at `level` to the run's log, where it sits beside the host's own lines
    /// (every proxied HTTP request, for one). Logging never fails a run: a line the host
    /// refuses is dropped. The [`info!`](crate::info) family of macros formats and calls it.
    pub fn log(&mut self, level: Level, msg: impl fmt::Display) {
        let line = format!("{}\n{}", level.as_str(), msg);
        let _ = self.call(HostFn::Log, line.as_bytes());
    }
}

/// Logs a line at debug level, formatted as `format!` does: `ferry::debug!(s, "page {}", n)`.
#[macro_export]
macro_rules! debug {
    ($host:expr, $($arg:tt)+) => {
        $host.log($crate::Level::Debug, ::std::format_args!($($arg)+))
    };
}

/// Logs a line at info level, formatted as `format!` does: `ferry::info!(s, "{} saved", n)`.
#[macro_export]
macro_rules! info {
    ($host:expr, $($arg:tt)+) => {
        $host.log($crate::Level::Info, ::std::format_args!($($arg)+))
    };
}

/// Logs a line at warn level, formatted as `format!` does.
#[macro_export]
macro_rules! warn {
    ($host:expr, $($arg:tt)+) => {
        $host.log($crate::Level::Warn, ::std::format_args!($($arg)+))
    };
}

/// Logs a line at error level, formatted as `format!` does. It does not fail the run: return
/// an error from the function for that.
#[macro_export]
macro_rules! error {
    ($host:expr, $($arg:tt)+) => {
        $host.log($crate::Level::Error, ::std::format_args!($($arg)+))
    };
}
