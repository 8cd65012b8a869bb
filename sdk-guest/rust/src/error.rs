//! The SDK's error type.

use std::fmt;

/// The result of everything that can fail in a plugin.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of a plugin function: a failed host call, a provider's non-2xx response, a JSON
/// that would not decode, or the plugin's own. Returned from a sync, action or webhook
/// function, its message becomes the run's error.
///
/// Messages say what failed with which input, like `ferry: save Contact: record 3: "id" must
/// be a string`; [`Error::context`] (or [`Context::context`] on a `Result`) puts what the
/// plugin was doing in front. Context keeps the error's kind, so [`Error::http_status`] still
/// answers after it.
pub struct Error {
    msg: String,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Other,
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    NoHost,
    Http(HttpError),
}

/// A provider's response whose status is not 2xx, from [`crate::Response::error_for_status`]
/// and the JSON helpers of [`crate::Http`]. The host already retried 429 and 5xx statuses, so
/// one that reaches the plugin is final.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpError {
    /// The request's method.
    pub method: String,
    /// The request's path or URL, with its query.
    pub target: String,
    /// The response's status code.
    pub status: u16,
    /// The start of the response body, at most 512 bytes.
    pub body: String,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: status {}", self.method, self.target, self.status)?;
        if !self.body.is_empty() {
            write!(f, ": {}", self.body)?;
        }
        Ok(())
    }
}

impl Error {
    /// An error with `msg` as its message.
    pub fn msg(msg: impl fmt::Display) -> Error {
        Error {
            msg: msg.to_string(),
            kind: Kind::Other,
        }
    }

    /// An error the host reported: its message is the host's, unchanged, so that it reaches
    /// the run's record as the host wrote it.
    #[cfg_attr(not(any(test, target_arch = "wasm32")), allow(dead_code))]
    pub(crate) fn host(msg: String) -> Error {
        Error {
            msg,
            kind: Kind::Other,
        }
    }

    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub(crate) fn no_host() -> Error {
        Error {
            msg: "ferry: no Ferry host: host functions only work in a wasm32 module run by Ferry"
                .to_string(),
            kind: Kind::NoHost,
        }
    }

    pub(crate) fn http(e: HttpError) -> Error {
        Error {
            msg: e.to_string(),
            kind: Kind::Http(e),
        }
    }

    /// Puts `context` in front of the message (`context: message`), keeping the error's kind.
    pub fn context(mut self, context: impl fmt::Display) -> Error {
        self.msg = format!("{}: {}", context, self.msg);
        self
    }

    /// The provider's response status when the error is a non-2xx response, so a plugin can
    /// treat a 404 as "already deleted", say.
    pub fn http_status(&self) -> Option<u16> {
        self.http_error().map(|e| e.status)
    }

    /// The non-2xx response the error reports, if it reports one.
    pub fn http_error(&self) -> Option<&HttpError> {
        match &self.kind {
            Kind::Http(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the error comes from a host call made outside WebAssembly (a native
    /// `cargo test`), where there is no Ferry host.
    pub fn is_no_host(&self) -> bool {
        matches!(self.kind, Kind::NoHost)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("msg", &self.msg)
            .field("kind", &self.kind)
            .finish()
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(msg: String) -> Error {
        Error::msg(msg)
    }
}

impl From<&str> for Error {
    fn from(msg: &str) -> Error {
        Error::msg(msg)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::msg(e)
    }
}

impl From<HttpError> for Error {
    fn from(e: HttpError) -> Error {
        Error::http(e)
    }
}

/// Adds context to the error of a `Result`, as [`Error::context`] does:
///
/// ```
/// use ferry::Context;
/// fn parse(s: &str) -> ferry::Result<u32> {
///     s.parse::<u32>().map_err(ferry::Error::msg).context("parse page size")
/// }
/// assert_eq!(parse("x").unwrap_err().to_string(), "parse page size: invalid digit found in string");
/// ```
pub trait Context<T> {
    /// Puts `context` in front of the error's message.
    fn context(self, context: impl fmt::Display) -> Result<T>;
    /// Puts the context `f` returns in front of the error's message; `f` runs only on error.
    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, f: F) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }

    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, f: F) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}

/// Returns early with an [`Error`] made from a format string:
/// `ferry::bail!("no Contact is linked to app id {:?}", app_id)`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)+) => {
        return ::std::result::Result::Err($crate::Error::msg(::std::format!($($arg)+)))
    };
}

/// Truncates `b` to at most `n` bytes as text, marking a cut with "...".
pub(crate) fn excerpt(b: &[u8], n: usize) -> String {
    if b.len() <= n {
        return String::from_utf8_lossy(b).into_owned();
    }
    let mut s = String::from_utf8_lossy(&b[..n]).into_owned();
    s.push_str("...");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_the_http_status() {
        let e = Error::http(HttpError {
            method: "GET".into(),
            target: "/contacts/c-1".into(),
            status: 404,
            body: r#"{"error":"not found"}"#.into(),
        })
        .context("update-contact c-1");
        assert_eq!(e.http_status(), Some(404));
        assert_eq!(
            e.to_string(),
            r#"update-contact c-1: GET /contacts/c-1: status 404: {"error":"not found"}"#
        );
    }

    #[test]
    fn bail_formats() {
        fn f(id: &str) -> Result<()> {
            crate::bail!("no link for {:?}", id);
        }
        assert_eq!(f("u-1").unwrap_err().to_string(), r#"no link for "u-1""#);
    }

    #[test]
    fn excerpt_cuts() {
        assert_eq!(excerpt(b"abcdef", 3), "abc...");
        assert_eq!(excerpt(b"abc", 3), "abc");
    }
}
