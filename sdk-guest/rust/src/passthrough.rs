//! The passthrough: a page of the provider's records saved by the host straight from the HTTP
//! response, without the body crossing into the module.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::abi::HostFn;
use crate::error::{excerpt, Error, HttpError, Result};
use crate::http::{Headers, Http, Request};
use crate::records::{check_model, SaveResult};

/// Where the records are in a response that [`Http::save_from`] saves, and which other values
/// of it the sync needs back, such as the next page's cursor:
///
/// ```
/// let opt = ferry::Passthrough::new("data").id("key").value("meta.next_cursor");
/// assert_eq!(opt.values, vec!["meta.next_cursor".to_string()]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Passthrough {
    /// The dot-separated path of the records array in the JSON response body, e.g. `data` or
    /// `result.items`; `""` when the body is the array itself.
    pub items: String,
    /// The member that holds each record's id; `""` means `id`.
    pub id: String,
    /// Dot-separated paths of other values the sync needs from the body; they come back in
    /// [`Passed::values`].
    pub values: Vec<String>,
}

impl Passthrough {
    /// Records at `items`, each with its id in `id`.
    pub fn new(items: &str) -> Passthrough {
        Passthrough {
            items: items.to_string(),
            ..Passthrough::default()
        }
    }

    /// Takes each record's id from the member `member` instead of `id`.
    pub fn id(mut self, member: &str) -> Passthrough {
        self.id = member.to_string();
        self
    }

    /// Asks for the value at `path` of the body too, e.g. the next page's cursor.
    pub fn value(mut self, path: &str) -> Passthrough {
        self.values.push(path.to_string());
        self
    }
}

/// What [`Http::save_from`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Passed {
    /// The response's status, always 2xx: any other is an error.
    pub status: u16,
    /// The response's headers.
    pub headers: Headers,
    /// The number of records the response held.
    pub count: u64,
    /// What saving them did to the records cache.
    pub saved: SaveResult,
    /// The value at each of [`Passthrough::values`], JSON `null` where the body has none.
    pub values: BTreeMap<String, Value>,
}

impl Passed {
    /// Decodes the value at `path`, one of [`Passthrough::values`], into a `T`; take
    /// `Option<T>` for a value that may be missing or null, as a last page's cursor is.
    pub fn value<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let v = self.values.get(path).ok_or_else(|| {
            Error::msg(format!(
                "ferry: {:?} is not one of the values asked for",
                path
            ))
        })?;
        T::deserialize(v).map_err(|e| Error::msg(format!("ferry: value at {:?}: {}", path, e)))
    }
}

/// http_save's argument: the request with a `save` member.
#[derive(Serialize)]
struct Head<'a> {
    #[serde(flatten)]
    req: &'a Request,
    save: Spec<'a>,
}

#[derive(Serialize)]
struct Spec<'a> {
    model: &'a str,
    items: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    id: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    values: &'a [String],
}

/// http_save's answer. `body` comes only with a status other than 2xx, when nothing was saved.
#[derive(Deserialize)]
struct Answer {
    status: u16,
    #[serde(default)]
    headers: Headers,
    #[serde(default)]
    count: u64,
    #[serde(default)]
    saved: SaveResult,
    #[serde(default)]
    values: BTreeMap<String, Value>,
    #[serde(default)]
    body: String,
}

impl<'a> Http<'a> {
    /// Sends `req` and saves the records at `opt.items` of the JSON response into `model`, as
    /// they are, without the response body entering the module: the host parses the body
    /// itself and saves its records as [`crate::Host::save_raw`] would, with the same
    /// guarantees (an idempotent upsert, committed by the time this returns). It is the fast
    /// path for a sync that transforms nothing; the sync gets back the counts and the values
    /// at `opt.values`, from which it follows the listing:
    ///
    /// ```no_run
    /// # fn contacts(s: &mut ferry::Sync) -> ferry::Result<()> {
    /// let opt = ferry::Passthrough::new("data").value("next_cursor");
    /// let mut cursor = String::new();
    /// loop {
    ///     let mut req = ferry::Request::get("/contacts").query("limit", 100);
    ///     if !cursor.is_empty() {
    ///         req = req.query("cursor", &cursor);
    ///     }
    ///     let page = s.http().save_from(req, "Contact", &opt)?;
    ///     ferry::debug!(s, "{} contacts, {} added", page.count, page.saved.added);
    ///     match page.value::<Option<String>>("next_cursor")? {
    ///         Some(next) if !next.is_empty() => cursor = next,
    ///         _ => return Ok(()),
    ///     }
    /// }
    /// # }
    /// ```
    ///
    /// A status other than 2xx saves nothing and is an error carrying an [`HttpError`] with
    /// the start of the body, as [`crate::Response::error_for_status`] gives. A body with
    /// nothing at `opt.items` (JSON `null` there is an empty page), or a record without its
    /// id, refuses the page with an error and stores none of it, like a save. `Accept:
    /// application/json` is sent unless `req` sets `Accept`.
    pub fn save_from(
        &mut self,
        mut req: Request,
        model: &str,
        opt: &Passthrough,
    ) -> Result<Passed> {
        req.method = req.method().to_string();
        let target = req.target();
        let fail = |e: Error| e.context(format!("ferry: {} {} into {}", req.method, target, model));
        check_model(model).map_err(fail)?;
        if let Some(e) = &req.body_error {
            return Err(fail(Error::msg(format!("encode body: {}", e))));
        }
        if req.headers.get("Accept").is_none() {
            req.headers.set("Accept", "application/json");
        }
        let head = Head {
            req: &req,
            save: Spec {
                model,
                items: &opt.items,
                id: &opt.id,
                values: &opt.values,
            },
        };
        let mut header = serde_json::to_string(&head)
            .map_err(|e| fail(Error::msg(format!("encode request: {}", e))))?;
        header.push('\n');
        let res = self
            .host
            .call_raw(HostFn::HttpSave, &header, &req.body)
            .map_err(fail)?
            .unwrap_or_default();
        let ans: Answer = serde_json::from_slice(&res).map_err(|e| {
            fail(Error::msg(format!(
                "decode host answer {:?}: {}",
                excerpt(&res, 80),
                e
            )))
        })?;
        if !(200..300).contains(&ans.status) {
            return Err(Error::http(HttpError {
                method: req.method,
                target,
                status: ans.status,
                body: excerpt(crate::jsonscan::trim_space(ans.body.as_bytes()), 512),
            }));
        }
        Ok(Passed {
            status: ans.status,
            headers: ans.headers,
            count: ans.count,
            saved: ans.saved,
            values: ans.values,
        })
    }
}
