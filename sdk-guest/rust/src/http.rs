//! HTTP to the provider through the host's proxy.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::abi::HostFn;
use crate::error::{excerpt, Error, HttpError, Result};
use crate::host::Host;
use crate::paginate::{Pager, Pagination};

/// An HTTP request to the provider, sent through the host's proxy with [`Http::send`]. Build
/// it with [`Request::get`], [`Request::new`] and the methods that add to it:
///
/// ```
/// let req = ferry::Request::get("/contacts").query("limit", "1000").header("Accept", "application/json");
/// assert_eq!(req.target(), "/contacts?limit=1000");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Request {
    /// The HTTP method; `""` means GET.
    pub method: String,
    /// Resolved against the connection's base URL (or the manifest's `provider.base_url`),
    /// e.g. `/contacts`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// An absolute URL to use instead of `path`; the host allows it only to the manifest's
    /// `allowed_hosts`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Added to the URL's query: each parameter with its values.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, Vec<String>>,
    /// The request's headers. The host drops those that would carry credentials
    /// (`Authorization` and the manifest's auth header): it injects the connection's own.
    #[serde(rename = "headers", skip_serializing_if = "Headers::is_empty")]
    pub headers: Headers,
    /// Sent as it is; set a `Content-Type` header to match ([`Request::json`] does).
    #[serde(skip)]
    pub body: Vec<u8>,
    #[serde(skip)]
    pub(crate) body_error: Option<String>,
}

impl Request {
    /// A request with `method` for `path`, resolved against the connection's base URL.
    pub fn new(method: &str, path: &str) -> Request {
        Request {
            method: method.to_string(),
            path: path.to_string(),
            ..Request::default()
        }
    }

    /// A GET request for `path`.
    pub fn get(path: &str) -> Request {
        Request::new("GET", path)
    }

    /// A POST request for `path`.
    pub fn post(path: &str) -> Request {
        Request::new("POST", path)
    }

    /// A PUT request for `path`.
    pub fn put(path: &str) -> Request {
        Request::new("PUT", path)
    }

    /// A PATCH request for `path`.
    pub fn patch(path: &str) -> Request {
        Request::new("PATCH", path)
    }

    /// A DELETE request for `path`.
    pub fn delete(path: &str) -> Request {
        Request::new("DELETE", path)
    }

    /// A request with `method` for the absolute `url`, which the host allows only to the
    /// manifest's `allowed_hosts`.
    pub fn to_url(method: &str, url: &str) -> Request {
        Request {
            method: method.to_string(),
            url: url.to_string(),
            ..Request::default()
        }
    }

    /// Adds `value` to the query parameter `key`.
    pub fn query(mut self, key: &str, value: impl fmt::Display) -> Request {
        self.query
            .entry(key.to_string())
            .or_default()
            .push(value.to_string());
        self
    }

    /// Adds `value` to the header `key`.
    pub fn header(mut self, key: &str, value: &str) -> Request {
        self.headers.add(key, value);
        self
    }

    /// Sets the body to `body`, as it is.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// Sets the body to `v` encoded as JSON, with `Content-Type: application/json`. A value
    /// that does not encode makes [`Http::send`] fail.
    pub fn json<T: Serialize + ?Sized>(mut self, v: &T) -> Request {
        match serde_json::to_vec(v) {
            Ok(b) => self.body = b,
            Err(e) => self.body_error = Some(e.to_string()),
        }
        self.headers.set("Content-Type", "application/json");
        self
    }

    /// The request's method, `GET` when unset.
    pub fn method(&self) -> &str {
        if self.method.is_empty() {
            "GET"
        } else {
            &self.method
        }
    }

    /// The request's path or URL with its query, as messages name it.
    pub fn target(&self) -> String {
        let mut t = if self.url.is_empty() {
            self.path.clone()
        } else {
            self.url.clone()
        };
        if !self.query.is_empty() {
            t.push(if t.contains('?') { '&' } else { '?' });
            t.push_str(&encode_query(&self.query));
        }
        t
    }

    /// Sets the query parameter `key` to `value` alone.
    pub(crate) fn set_query(&mut self, key: &str, value: String) {
        self.query.insert(key.to_string(), vec![value]);
    }

    /// The first value of the query parameter `key`, or `""`.
    pub(crate) fn query_value(&self, key: &str) -> &str {
        self.query
            .get(key)
            .and_then(|v| v.first())
            .map(|s| s.as_str())
            .unwrap_or("")
    }
}

/// The provider's answer to a [`Request`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The response's headers.
    pub headers: Headers,
    /// The whole response body.
    pub body: Vec<u8>,
    method: String, // of the request, for messages
    target: String,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Returns the response when its status is 2xx and an error carrying an [`HttpError`]
    /// otherwise. The host already retried 429 and 5xx statuses, so one that reaches the
    /// plugin is final.
    pub fn error_for_status(self) -> Result<Response> {
        if self.is_success() {
            return Ok(self);
        }
        Err(Error::http(HttpError {
            method: self.method,
            target: self.target,
            status: self.status,
            body: excerpt(crate::jsonscan::trim_space(&self.body), 512),
        }))
    }

    /// Decodes the body as JSON into a `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        crate::json::from_slice(&self.body).map_err(|e| {
            Error::msg(format!(
                "ferry: {} {}: decode {} response body {}: {}",
                self.method,
                self.target,
                self.status,
                excerpt(&self.body, 80),
                e
            ))
        })
    }

    /// The body as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// HTTP header fields. Keys are matched case-insensitively; [`Headers::set`] and
/// [`Headers::add`] store them in canonical form (`Content-Type`), as the host does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Headers(BTreeMap<String, Vec<String>>);

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// The first value of `key`, if there is one.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values(key).first().map(|s| s.as_str())
    }

    /// All values of `key`.
    pub fn values(&self, key: &str) -> &[String] {
        if let Some(v) = self.0.get(&canonical_key(key)) {
            return v;
        }
        for (k, v) in &self.0 {
            if k.eq_ignore_ascii_case(key) {
                return v;
            }
        }
        &[]
    }

    /// Replaces the values of `key` with `value`.
    pub fn set(&mut self, key: &str, value: &str) {
        self.remove(key);
        self.0.insert(canonical_key(key), vec![value.to_string()]);
    }

    /// Appends `value` to the values of `key`.
    pub fn add(&mut self, key: &str, value: &str) {
        self.0
            .entry(canonical_key(key))
            .or_default()
            .push(value.to_string());
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) {
        self.0.retain(|k, _| !k.eq_ignore_ascii_case(key));
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each header with its values, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// `key` with the first letter and each letter after a hyphen in upper case and the rest in
/// lower case, as Go's net/http stores header keys.
fn canonical_key(key: &str) -> String {
    let mut upper = true;
    key.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// Sends requests to the provider through the host, which injects the connection's
/// credentials, applies its rate limit and per-request timeout and retries 429, 5xx and
/// network errors with backoff. Get one from [`Host::http`].
pub struct Http<'a> {
    pub(crate) host: &'a mut Host,
}

impl Host {
    /// HTTP to the provider through the host's proxy.
    pub fn http(&mut self) -> Http<'_> {
        Http { host: self }
    }
}

#[derive(Deserialize)]
struct ResponseHead {
    status: u16,
    #[serde(default)]
    headers: Headers,
}

impl<'a> Http<'a> {
    /// Sends `req` and returns the provider's response, whatever its status: check it with
    /// [`Response::error_for_status`], or use [`Http::json`], which does. It fails only when
    /// no response could be had: host not allowed, network error after retries, timeout, or a
    /// rate limit wait past the run's deadline.
    pub fn send(&mut self, req: Request) -> Result<Response> {
        send(self.host, &req)
    }

    /// Sends a GET request for `path`.
    pub fn get(&mut self, path: &str) -> Result<Response> {
        self.send(Request::get(path))
    }

    /// Sends `req` asking for JSON and decodes the response body into a `T`; a status other
    /// than 2xx is an error carrying an [`HttpError`]. An empty body decodes as JSON `null`,
    /// so `()` and `Option<T>` take it.
    pub fn json<T: DeserializeOwned>(&mut self, mut req: Request) -> Result<T> {
        if req.headers.get("Accept").is_none() {
            req.headers.set("Accept", "application/json");
        }
        let resp = self.send(req)?.error_for_status()?;
        if crate::jsonscan::trim_space(&resp.body).is_empty() {
            return serde_json::from_slice(b"null").map_err(|e| {
                Error::msg(format!(
                    "ferry: {} {}: empty response body: {}",
                    resp.method, resp.target, e
                ))
            });
        }
        resp.json()
    }

    /// Sends a GET request for `path` with `query`, asking for JSON, and decodes the response
    /// body into a `T`, as [`Http::json`] does.
    pub fn get_json<T: DeserializeOwned>(
        &mut self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T> {
        let mut req = Request::get(path);
        for (k, v) in query {
            req = req.query(k, v);
        }
        self.json(req)
    }

    /// Sends a request with `method` to `path` with `body` encoded as its JSON body and
    /// decodes the response body into a `T`, as [`Http::json`] does. Actions use it to write
    /// to the provider.
    pub fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &mut self,
        method: &str,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.json(Request::new(method, path).json(body))
    }

    /// Returns a [`Pager`] over the pages of the listing `req` starts, as `pagination`
    /// describes. Nothing is sent until the first call to [`Pager::next`].
    pub fn paginate<P: Pagination>(&mut self, req: Request, pagination: P) -> Pager<P> {
        Pager::new(req, pagination)
    }
}

/// Sends `req` as `REQUEST_JSON\nBODY` and parses `RESPONSE_JSON\nBODY`.
pub(crate) fn send(host: &mut Host, req: &Request) -> Result<Response> {
    let (header, method, target) = encode_head(req)?;
    let res = host
        .call_raw(HostFn::Http, &header, &req.body)
        .map_err(|e| failed(e, &method, &target))?;
    decode_response(res, false, method, target)
}

/// A request [`start`] sent in the background: [`wait`] takes its response.
#[derive(Debug)]
pub(crate) struct Started {
    id: Vec<u8>, // the host's id of the request
    method: String,
    target: String,
}

/// Sends `req` as [`send`] does, but in the background (`http_start`): the host fetches the
/// response while the plugin goes on, until [`wait`]. `None` if the request could not be
/// started; [`send`] then says why.
pub(crate) fn start(host: &mut Host, req: &Request) -> Option<Started> {
    let (header, method, target) = encode_head(req).ok()?;
    let id = host.call_raw(HostFn::HttpStart, &header, &req.body).ok()?;
    Some(Started {
        id: id.unwrap_or_default(),
        method,
        target,
    })
}

/// Waits for the response to a request [`start`] sent (`http_wait`), as [`send`] answers.
pub(crate) fn wait(host: &mut Host, s: Started) -> Result<Response> {
    let res = host
        .call(HostFn::HttpWait, &s.id)
        .map_err(|e| failed(e, &s.method, &s.target))?;
    decode_response(res, true, s.method, s.target)
}

fn failed(e: Error, method: &str, target: &str) -> Error {
    e.context(format!("ferry: {} {}", method, target))
}

/// The `REQUEST_JSON\n` header of `req`, with its method and target for messages.
fn encode_head(req: &Request) -> Result<(String, String, String)> {
    let method = req.method().to_string();
    let target = req.target();
    if let Some(e) = &req.body_error {
        return Err(failed(
            Error::msg(format!("encode body: {}", e)),
            &method,
            &target,
        ));
    }
    let mut head = req.clone();
    head.method = method.clone();
    head.body = Vec::new();
    let mut header = serde_json::to_string(&head).map_err(|e| {
        failed(
            Error::msg(format!("encode request: {}", e)),
            &method,
            &target,
        )
    })?;
    header.push('\n');
    Ok((header, method, target))
}

/// Parses the host's `RESPONSE_JSON\nBODY`, or `BODY\nRESPONSE_JSON` (`body_first`,
/// `http_wait`'s), keeping the host's buffer as the body.
fn decode_response(
    res: Option<Vec<u8>>,
    body_first: bool,
    method: String,
    target: String,
) -> Result<Response> {
    let mut res = res.unwrap_or_default();
    // Compact JSON holds no raw newline: the first one ends the head, or the last starts it.
    let (head, body) = if body_first {
        match res.iter().rposition(|&c| c == b'\n') {
            Some(i) => (i + 1..res.len(), 0..i),
            None => (0..res.len(), 0..0),
        }
    } else {
        match res.iter().position(|&c| c == b'\n') {
            Some(i) => (0..i, i + 1..res.len()),
            None => (0..res.len(), res.len()..res.len()),
        }
    };
    let parsed = decode_head(&res[head], &method, &target)?;
    // The body stays where it is when it comes first; otherwise it moves to the front.
    res.truncate(body.end);
    res.drain(..body.start);
    Ok(Response {
        status: parsed.status,
        headers: parsed.headers,
        body: res,
        method,
        target,
    })
}

/// Parses the host's `RESPONSE_JSON`.
fn decode_head(head: &[u8], method: &str, target: &str) -> Result<ResponseHead> {
    serde_json::from_slice(head).map_err(|e| {
        failed(
            Error::msg(format!(
                "decode host response {:?}: {}",
                excerpt(head, 80),
                e
            )),
            method,
            target,
        )
    })
}

/// Encodes `query` as Go's `url.Values.Encode` does: keys sorted, `k=v` pairs joined by `&`,
/// both escaped with [`query_escape`].
pub(crate) fn encode_query(query: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::new();
    for (k, vs) in query {
        for v in vs {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(&query_escape(k));
            out.push('=');
            out.push_str(&query_escape(v));
        }
    }
    out
}

/// Escapes `s` for a URL query (Go's `url.QueryEscape`): letters, digits and `-_.~` stay, a
/// space becomes `+`, every other byte `%XX`.
pub fn query_escape(s: &str) -> String {
    escape(
        s,
        |c| c.is_ascii_alphanumeric() || b"-_.~".contains(&c),
        true,
    )
}

/// Escapes `s` for one segment of a URL path (Go's `url.PathEscape`), so an id can go in a
/// path: `format!("/contacts/{}", ferry::path_escape(id))`. Letters, digits and `-_.~$&+:=@`
/// stay, every other byte becomes `%XX` (a `/` included).
pub fn path_escape(s: &str) -> String {
    escape(
        s,
        |c| c.is_ascii_alphanumeric() || b"-_.~$&+:=@".contains(&c),
        false,
    )
}

fn escape(s: &str, keep: impl Fn(u8) -> bool, space_plus: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if keep(c) {
            out.push(c as char);
        } else if c == b' ' && space_plus {
            out.push('+');
        } else {
            out.push('%');
            out.push(HEX[(c >> 4) as usize] as char);
            out.push(HEX[(c & 15) as usize] as char);
        }
    }
    out
}

/// Decodes `%XX` escapes (and `+` as a space) in a query component; a malformed escape stays
/// as it is.
pub(crate) fn query_unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parses a query string (`a=1&b=x+y`) into parameters.
pub(crate) fn parse_query(q: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.entry(query_unescape(k))
            .or_default()
            .push(query_unescape(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        assert_eq!(query_escape("mary@nasa.example"), "mary%40nasa.example");
        assert_eq!(query_escape("a b&c=d/é~"), "a+b%26c%3Dd%2F%C3%A9~");
        assert_eq!(
            path_escape("c 1/2?x;y,z$&+:=@"),
            "c%201%2F2%3Fx%3By%2Cz$&+:=@"
        );
        assert_eq!(query_unescape("a+b%26c%3dd%2F%C3%A9%zz%"), "a b&c=d/é%zz%");
    }

    #[test]
    fn query_round_trip() {
        let q = parse_query("page=2&per_page=100&tag=a&tag=b+c&empty=");
        assert_eq!(q["tag"], vec!["a".to_string(), "b c".to_string()]);
        assert_eq!(encode_query(&q), "empty=&page=2&per_page=100&tag=a&tag=b+c");
    }

    #[test]
    fn request_encoding() {
        let req = Request::get("/contacts")
            .query("updated_after", "2024-01-01T00:00:00Z")
            .query("limit", 1000)
            .header("accept", "application/json");
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"method":"GET","path":"/contacts","query":{"limit":["1000"],"updated_after":["2024-01-01T00:00:00Z"]},"headers":{"Accept":["application/json"]}}"#
        );
        assert_eq!(
            req.target(),
            "/contacts?limit=1000&updated_after=2024-01-01T00%3A00%3A00Z"
        );
        let url = Request::to_url("GET", "http://h/x?a=1").query("b", "2");
        assert_eq!(
            serde_json::to_string(&url).unwrap(),
            r#"{"method":"GET","url":"http://h/x?a=1","query":{"b":["2"]}}"#
        );
        assert_eq!(url.target(), "http://h/x?a=1&b=2");
    }

    #[test]
    fn headers_are_case_insensitive() {
        let mut h = Headers::new();
        h.add("content-TYPE", "a");
        h.add("Content-Type", "b");
        assert_eq!(
            h.values("CONTENT-type"),
            &["a".to_string(), "b".to_string()]
        );
        h.set("content-type", "c");
        assert_eq!(h.get("Content-Type"), Some("c"));
        // Keys from the host as they are, not canonical.
        let h: Headers = serde_json::from_str(r#"{"x-odd-KEY":["1"]}"#).unwrap();
        assert_eq!(h.get("X-Odd-Key"), Some("1"));
        assert_eq!(h.get("missing"), None);
    }
}
