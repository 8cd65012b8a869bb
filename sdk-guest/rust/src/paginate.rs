//! A pagination helper over the usual ways providers split a listing into pages.

use std::ops::Range;

use serde::de::DeserializeOwned;

use crate::error::{excerpt, Error, Result};
use crate::host::Host;
use crate::http::{parse_query, send, start, wait, Request, Response, Started};
use crate::jsonscan;

/// A way for a provider to split a listing into pages: [`CursorPagination`],
/// [`LinkPagination`], [`PagePagination`] or [`OffsetPagination`]. Use one with
/// [`crate::Http::paginate`] or [`Pager::new`]; a scheme none of them covers is a loop over
/// [`crate::Http::send`].
pub trait Pagination: sealed::Scheme {}

impl<T: sealed::Scheme> Pagination for T {}

mod sealed {
    use crate::http::{Request, Response};

    /// What a pagination scheme does; the trait is sealed so that its methods can change.
    pub trait Scheme {
        /// Reports a configuration that cannot work.
        fn check(&self) -> Result<(), String>;
        /// The path of the items array in a page's body.
        fn items_path(&self) -> &str;
        /// The path of the one other value of a page's body that `next` reads, if any: the
        /// pager finds it while it checks the body.
        fn value_path(&self) -> Option<&str>;
        /// Turns the caller's request into the first page's.
        fn first(&self, req: &mut Request);
        /// Reads `resp`, the page just fetched with `req`, which held `count` items and
        /// `value` at [`Scheme::value_path`] (`None`: nothing there, or no such path), and
        /// turns `req` into the request for the page after it, reporting `false` when `resp`
        /// was the last. Sets `cursor` to the next page's cursor, for cursor pagination.
        fn next(
            &self,
            req: &mut Request,
            resp: &Response,
            count: usize,
            value: Option<&[u8]>,
            cursor: &mut String,
        ) -> Result<bool, String>;
    }
}

/// Follows a cursor that each page's body holds and the next request sends as a query
/// parameter. The listing ends at a page whose cursor is missing, null or `""` (or the same as
/// the one that fetched it).
///
/// ```
/// let p = ferry::CursorPagination::new("data", "next_cursor", "cursor").start("c-42");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CursorPagination {
    /// The dot-separated path of the items array in the body, e.g. `data`; `""` when the body
    /// is the array itself.
    pub items_path: String,
    /// The dot-separated path of the next page's cursor in the body, e.g. `next_cursor` or
    /// `meta.next`. A string or a number.
    pub cursor_path: String,
    /// The query parameter that carries the cursor, e.g. `cursor`.
    pub cursor_param: String,
    /// The cursor of the first page to fetch, for a run that resumes from a checkpoint; `""`
    /// starts at the beginning.
    pub start: String,
}

impl CursorPagination {
    /// Cursor pagination with the items at `items_path`, the next cursor at `cursor_path`,
    /// sent back as the query parameter `cursor_param`.
    pub fn new(items_path: &str, cursor_path: &str, cursor_param: &str) -> CursorPagination {
        CursorPagination {
            items_path: items_path.to_string(),
            cursor_path: cursor_path.to_string(),
            cursor_param: cursor_param.to_string(),
            start: String::new(),
        }
    }

    /// Starts at `cursor` (from a checkpoint) instead of the first page; `""` is the first.
    pub fn start(mut self, cursor: &str) -> CursorPagination {
        self.start = cursor.to_string();
        self
    }
}

impl sealed::Scheme for CursorPagination {
    fn check(&self) -> Result<(), String> {
        if self.cursor_path.is_empty() || self.cursor_param.is_empty() {
            return Err("CursorPagination needs cursor_path and cursor_param".to_string());
        }
        Ok(())
    }

    fn items_path(&self) -> &str {
        &self.items_path
    }

    fn value_path(&self) -> Option<&str> {
        Some(&self.cursor_path)
    }

    fn first(&self, req: &mut Request) {
        if !self.start.is_empty() {
            req.set_query(&self.cursor_param, self.start.clone());
        }
    }

    fn next(
        &self,
        req: &mut Request,
        _: &Response,
        _: usize,
        value: Option<&[u8]>,
        cursor: &mut String,
    ) -> Result<bool, String> {
        let raw = match value {
            Some(raw) => raw,
            None => return Ok(false),
        };
        let next = match raw[0] {
            b'n' => String::new(), // null
            b'"' => serde_json::from_slice::<String>(raw)
                .map_err(|e| format!("cursor at {:?}: {}", self.cursor_path, e))?,
            b'{' | b'[' | b't' | b'f' => {
                return Err(format!(
                    "cursor at {:?} is {}, want a string or a number",
                    self.cursor_path,
                    excerpt(raw, 40)
                ))
            }
            _ => String::from_utf8_lossy(raw).into_owned(), // a number, as written
        };
        if next.is_empty() || next == req.query_value(&self.cursor_param) {
            return Ok(false);
        }
        *cursor = next.clone();
        req.set_query(&self.cursor_param, next);
        Ok(true)
    }
}

/// Follows the `rel="next"` link of each page's `Link` header (RFC 8288), as GitHub and many
/// others send it. The listing ends at a page without one. An absolute link is requested as
/// the request's `url`, so its host must be among the manifest's `allowed_hosts` (by default
/// the host of the base URL); a relative link is resolved against the request's path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkPagination {
    /// The dot-separated path of the items array in the body, e.g. `data`; `""` when the body
    /// is the array itself.
    pub items_path: String,
}

impl LinkPagination {
    /// Link-header pagination with the items at `items_path`.
    pub fn new(items_path: &str) -> LinkPagination {
        LinkPagination {
            items_path: items_path.to_string(),
        }
    }
}

impl sealed::Scheme for LinkPagination {
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    fn items_path(&self) -> &str {
        &self.items_path
    }

    fn value_path(&self) -> Option<&str> {
        None
    }

    fn first(&self, _: &mut Request) {}

    fn next(
        &self,
        req: &mut Request,
        resp: &Response,
        _: usize,
        _: Option<&[u8]>,
        _: &mut String,
    ) -> Result<bool, String> {
        let link = match next_link(resp.headers.values("Link")) {
            Some(link) => link,
            None => return Ok(false),
        };
        let base = req.target();
        let target = resolve_reference(&base, &link);
        if target == base {
            return Ok(false); // a page that links to itself would never end
        }
        if is_absolute(&target) || target.starts_with("//") {
            req.url = target;
            req.path = String::new();
            req.query.clear();
        } else {
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            req.url = String::new();
            req.path = path.to_string();
            req.query = parse_query(query);
        }
        Ok(true)
    }
}

/// The target of the first link with relation "next" in the values of `Link` headers.
pub(crate) fn next_link(values: &[String]) -> Option<String> {
    for value in values {
        let mut s = value.as_str();
        while let Some(start) = s.find('<') {
            let end = match s[start..].find('>') {
                Some(end) => start + end,
                None => break,
            };
            let target = &s[start + 1..end];
            s = &s[end + 1..];
            // The link's parameters run to the next comma outside quotes.
            let mut quoted = false;
            let j = s
                .char_indices()
                .find(|&(_, c)| {
                    if c == '"' {
                        quoted = !quoted;
                    }
                    c == ',' && !quoted
                })
                .map(|(j, _)| j)
                .unwrap_or(s.len());
            let params = &s[..j];
            s = &s[j..];
            for param in params.split(';') {
                let (k, v) = param.split_once('=').unwrap_or((param, ""));
                if !k.trim().eq_ignore_ascii_case("rel") {
                    continue;
                }
                if v.trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|rel| rel.eq_ignore_ascii_case("next"))
                {
                    return Some(target.to_string());
                }
            }
        }
    }
    None
}

/// Whether `s` starts with a URL scheme (`http:`).
fn is_absolute(s: &str) -> bool {
    match s.find(':') {
        Some(i) if i > 0 => {
            let scheme = &s[..i];
            scheme.as_bytes()[0].is_ascii_alphabetic()
                && scheme
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
        }
        _ => false,
    }
}

/// Resolves the URL reference `r` against `base` (RFC 3986, section 5.2), where `base` is an
/// absolute URL or a path with a query.
pub(crate) fn resolve_reference(base: &str, r: &str) -> String {
    let r = r.split('#').next().unwrap_or("");
    if is_absolute(r) {
        return r.to_string();
    }
    // Split base into "scheme://authority", path and query.
    let (origin, rest) = match base.find("://") {
        Some(i) if is_absolute(base) => {
            let after = &base[i + 3..];
            let end = after
                .find(['/', '?'])
                .map(|e| i + 3 + e)
                .unwrap_or(base.len());
            (&base[..end], &base[end..])
        }
        _ => ("", base),
    };
    let (base_path, base_query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if let Some(net) = r.strip_prefix("//") {
        let scheme = origin.split("://").next().filter(|_| !origin.is_empty());
        return match scheme {
            Some(scheme) => format!("{}://{}", scheme, net),
            None => r.to_string(),
        };
    }
    let (r_path, r_query) = match r.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (r, None),
    };
    let (path, query) = if r_path.is_empty() {
        (base_path.to_string(), r_query.or(base_query))
    } else if r_path.starts_with('/') {
        (remove_dot_segments(r_path), r_query)
    } else {
        let dir = match base_path.rfind('/') {
            Some(i) => &base_path[..=i],
            None if origin.is_empty() => "",
            None => "/",
        };
        (remove_dot_segments(&format!("{}{}", dir, r_path)), r_query)
    };
    let mut out = format!("{}{}", origin, path);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segs: Vec<&str> = path.split('/').collect();
    for (i, seg) in segs.iter().enumerate() {
        let last = i == segs.len() - 1;
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

/// Numbers pages in a query parameter. The listing ends at an empty page, at a page shorter
/// than `limit`, or at the last of the total pages the body reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PagePagination {
    /// The dot-separated path of the items array in the body, e.g. `data`; `""` when the body
    /// is the array itself.
    pub items_path: String,
    /// The query parameter that carries the page number; `""` means `page`.
    pub page_param: String,
    /// The number of the first page to fetch; 0 means the API's first page, 1 (or 0 when
    /// `zero_based`).
    pub page: u64,
    /// Whether the API numbers its pages from 0.
    pub zero_based: bool,
    /// With `limit`, asks for `limit` items a page; `""` leaves the page size to the request's
    /// own query.
    pub limit_param: String,
    /// How many items a page asks for; a shorter page is the last. 0: unknown.
    pub limit: usize,
    /// The dot-separated path of the number of pages in the body, e.g. `total_pages`; `""`
    /// when the body has none.
    pub total_pages_path: String,
}

impl PagePagination {
    fn param(&self) -> &str {
        or_default(&self.page_param, "page")
    }
}

impl sealed::Scheme for PagePagination {
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    fn items_path(&self) -> &str {
        &self.items_path
    }

    fn value_path(&self) -> Option<&str> {
        if self.total_pages_path.is_empty() {
            None
        } else {
            Some(&self.total_pages_path)
        }
    }

    fn first(&self, req: &mut Request) {
        let n = if self.page == 0 && !self.zero_based {
            1
        } else {
            self.page
        };
        req.set_query(self.param(), n.to_string());
        set_limit(req, &self.limit_param, self.limit);
    }

    fn next(
        &self,
        req: &mut Request,
        _: &Response,
        count: usize,
        value: Option<&[u8]>,
        _: &mut String,
    ) -> Result<bool, String> {
        if count == 0 || self.limit > 0 && count < self.limit {
            return Ok(false);
        }
        let n: u64 = req
            .query_value(self.param())
            .parse()
            .map_err(|e| format!("page parameter {:?}: {}", self.param(), e))?;
        // Without total_pages_path the pager looks for no value, and `value` is None.
        if let Some(raw) = value.filter(|r| *r != b"null") {
            let total: u64 = std::str::from_utf8(raw)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    format!(
                        "total pages at {:?} is {}, want an integer",
                        self.total_pages_path,
                        excerpt(raw, 40)
                    )
                })?;
            let last = if self.zero_based {
                total.saturating_sub(1)
            } else {
                total
            };
            if n >= last {
                return Ok(false);
            }
        }
        req.set_query(self.param(), (n + 1).to_string());
        Ok(true)
    }
}

/// Moves an item offset in a query parameter by the number of items each page held. The
/// listing ends at an empty page or at a page shorter than `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffsetPagination {
    /// The dot-separated path of the items array in the body, e.g. `data`; `""` when the body
    /// is the array itself.
    pub items_path: String,
    /// The query parameter that carries the offset; `""` means `offset`.
    pub offset_param: String,
    /// The offset of the first page to fetch.
    pub offset: u64,
    /// With `limit`, asks for `limit` items a page; `""` leaves the page size to the request's
    /// own query.
    pub limit_param: String,
    /// How many items a page asks for; a shorter page is the last. 0: unknown.
    pub limit: usize,
}

impl OffsetPagination {
    fn param(&self) -> &str {
        or_default(&self.offset_param, "offset")
    }
}

/// `name`, or `default` when `name` is empty.
fn or_default<'a>(name: &'a str, default: &'a str) -> &'a str {
    if name.is_empty() {
        default
    } else {
        name
    }
}

/// Asks for `limit` items a page in `param`, when both are set.
fn set_limit(req: &mut Request, param: &str, limit: usize) {
    if !param.is_empty() && limit > 0 {
        req.set_query(param, limit.to_string());
    }
}

impl sealed::Scheme for OffsetPagination {
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    fn items_path(&self) -> &str {
        &self.items_path
    }

    fn value_path(&self) -> Option<&str> {
        None
    }

    fn first(&self, req: &mut Request) {
        req.set_query(self.param(), self.offset.to_string());
        set_limit(req, &self.limit_param, self.limit);
    }

    fn next(
        &self,
        req: &mut Request,
        _: &Response,
        count: usize,
        _: Option<&[u8]>,
        _: &mut String,
    ) -> Result<bool, String> {
        if count == 0 || self.limit > 0 && count < self.limit {
            return Ok(false);
        }
        let n: u64 = req
            .query_value(self.param())
            .parse()
            .map_err(|e| format!("offset parameter {:?}: {}", self.param(), e))?;
        req.set_query(self.param(), (n + count as u64).to_string());
        Ok(true)
    }
}

/// Walks the pages of a listing, one request per page. It borrows nothing between pages, so
/// the loop body can save each page through the same [`crate::Sync`]:
///
/// ```no_run
/// # fn f(s: &mut ferry::Sync) -> ferry::Result<()> {
/// let mut pages = s.http().paginate(ferry::Request::get("/contacts"), ferry::LinkPagination::new("data"));
/// while let Some(page) = pages.next(s)? {
///     s.save_raw("Contact", page.raw())?;
/// }
/// # Ok(()) }
/// ```
///
/// Each [`Page`] owns its response; let it go once saved and memory stays near one page's
/// worth (the host holds the next one until it is asked for).
///
/// The pager fetches ahead: once a page is fetched and its next request known, it asks the
/// host for the next page in the background (`http_start`), so the provider's answer arrives
/// while the plugin works on the page it has. A loop that stops before the end leaves one
/// request made for nothing, which the host cancels when the function returns; turn it off
/// with [`Pager::prefetch`].
pub struct Pager<P> {
    p: P,
    req: Request,
    pages: usize,
    more: bool,
    done: bool, // at the end, or after an error
    prefetch: bool,
    ahead: Option<Started>, // the next page's request, sent in the background
}

impl<P: Pagination> Pager<P> {
    /// A pager over the listing `req` starts, as `pagination` describes.
    pub fn new(req: Request, pagination: P) -> Pager<P> {
        Pager {
            p: pagination,
            req,
            pages: 0,
            more: false,
            done: false,
            prefetch: true,
            ahead: None,
        }
    }

    /// Whether the pager asks for the next page while the plugin works on the last (on by
    /// default): off, it asks only when [`Pager::next`] is called, for a loop that may stop
    /// early against a provider whose requests are dear.
    pub fn prefetch(mut self, on: bool) -> Pager<P> {
        self.prefetch = on;
        self
    }

    /// Fetches the next page: `Ok(None)` at the end of the listing. A status other than 2xx,
    /// a body that is not JSON or has no items array where the pagination says are errors;
    /// after one, the pager is done.
    pub fn next(&mut self, host: &mut Host) -> Result<Option<Page>> {
        if self.done {
            return Ok(None);
        }
        let res = self.fetch(host);
        if !matches!(res, Ok(Some(_))) {
            self.done = true;
        }
        res
    }

    /// How many pages have been fetched.
    pub fn pages(&self) -> usize {
        self.pages
    }

    fn fetch(&mut self, host: &mut Host) -> Result<Option<Page>> {
        if self.pages == 0 {
            self.p
                .check()
                .map_err(|e| Error::msg(format!("ferry: paginate: {}", e)))?;
            self.p.first(&mut self.req);
        } else if !self.more {
            return Ok(None);
        }
        let (method, target) = (self.req.method().to_string(), self.req.target());
        let fail =
            |msg: String| Error::msg(format!("ferry: paginate {} {}: {}", method, target, msg));
        let resp = match self.ahead.take() {
            Some(s) => wait(host, s),
            None => send(host, &self.req),
        }?
        .error_for_status()?;
        // One pass over the body checks it and finds the items array, its length, and the
        // value the pagination reads (the next cursor, say).
        let path = self.p.items_path();
        let value_path = self.p.value_path();
        let paths = [path, value_path.unwrap_or("")];
        let n = if value_path.is_some() { 2 } else { 1 };
        let found = match jsonscan::scan(&resp.body, &paths[..n]) {
            Some(found) => found,
            None => {
                return Err(fail(format!(
                    "response body is not JSON: {}",
                    excerpt(&resp.body, 80)
                )))
            }
        };
        let (items, count) = match &found[0].range {
            // Not an empty page: a wrong path would otherwise end a full sync with nothing
            // saved, and everything cached marked deleted.
            None => {
                return Err(fail(format!(
                    "no items at {:?} in response body {}",
                    path,
                    excerpt(&resp.body, 80)
                )))
            }
            Some(r) if &resp.body[r.clone()] == b"null" => (None, 0),
            Some(r) if resp.body[r.start] != b'[' => {
                return Err(fail(format!(
                    "items at {:?} are {}, want a JSON array",
                    path,
                    excerpt(&resp.body[r.clone()], 40)
                )))
            }
            Some(r) => (Some(r.clone()), found[0].count),
        };
        let value = found
            .get(1)
            .and_then(|f| f.range.clone())
            .map(|r| &resp.body[r]);
        self.pages += 1;
        let mut cursor = String::new();
        self.more = self
            .p
            .next(&mut self.req, &resp, count, value, &mut cursor)
            .map_err(fail)?;
        if self.more && self.prefetch {
            // A request that cannot be started is sent again, and fails, when its page is asked for.
            self.ahead = start(host, &self.req);
        }
        Ok(Some(Page {
            resp,
            items,
            count,
            cursor,
            number: self.pages,
        }))
    }
}

/// One page of a listing, from [`Pager::next`].
#[derive(Clone, Debug)]
pub struct Page {
    resp: Response,
    items: Option<Range<usize>>, // within resp.body; None for a null items value
    count: usize,
    cursor: String,
    number: usize,
}

impl Page {
    /// The page's items array as it is in the response body, ready for [`Host::save_raw`].
    pub fn raw(&self) -> &[u8] {
        match &self.items {
            Some(r) => &self.resp.body[r.clone()],
            None => b"[]",
        }
    }

    /// The page's items, each as its JSON text within the response body.
    pub fn items(&self) -> Vec<&[u8]> {
        jsonscan::split_array(self.raw())
    }

    /// Decodes the page's items into a `Vec<T>`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        crate::json::from_slice(self.raw())
            .map_err(|e| Error::msg(format!("ferry: decode page {} items: {}", self.number, e)))
    }

    /// The number of items on the page.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the page has no items.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The page's whole response.
    pub fn response(&self) -> &Response {
        &self.resp
    }

    /// With [`CursorPagination`], the cursor of the page after this one: the value to store
    /// in a checkpoint so that a later run resumes there through
    /// [`CursorPagination::start`]. `""` on the last page and with other paginations.
    pub fn cursor(&self) -> &str {
        &self.cursor
    }

    /// The page's number in the listing, from 1.
    pub fn number(&self) -> usize {
        self.number
    }
}
