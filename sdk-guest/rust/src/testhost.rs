//! An in-memory Ferry host speaking the ABI through the [`Abi`] seam, for the SDK's tests:
//! records, checkpoint, metadata, links, logs and the run's outcome live in its state, and HTTP
//! goes to a provider function that answers like a server would. Tests read the state to
//! assert what a function did.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::abi::{Abi, HostFn};
use crate::error::Error;
use crate::records::{check_model, SaveResult};

/// A request as the provider function receives it: the host's resolution of path or URL,
/// with the query merged.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProviderRequest {
    pub method: String,
    /// The path, or the absolute URL, without query.
    pub target: String,
    pub query: BTreeMap<String, Vec<String>>,
    pub headers: BTreeMap<String, Vec<String>>,
    pub body: Vec<u8>,
}

impl ProviderRequest {
    pub fn param(&self, k: &str) -> Option<&str> {
        self.query
            .get(k)
            .and_then(|v| v.first())
            .map(|s| s.as_str())
    }

    /// The request as a line: target?query, with the query in key order.
    pub fn uri(&self) -> String {
        let q = crate::http::encode_query(&self.query);
        if q.is_empty() {
            self.target.clone()
        } else {
            format!("{}?{}", self.target, q)
        }
    }
}

/// A provider's answer: status, headers, body.
pub(crate) type ProviderResponse = (u16, Vec<(&'static str, String)>, String);

#[derive(Default)]
pub(crate) struct State {
    pub calls: Vec<HostFn>,
    pub args: Vec<Vec<u8>>,
    pub errs: BTreeMap<&'static str, String>, // host function name -> error it answers
    pub records: BTreeMap<String, BTreeMap<String, Value>>,
    pub checkpoint: Option<Vec<u8>>,
    pub metadata: Option<Vec<u8>>,
    pub last_sync: Option<String>,
    pub links: BTreeMap<String, Vec<(String, String)>>, // model -> (app id, external id)
    pub triggered: Vec<String>,
    pub input: Option<Vec<u8>>,
    pub output: Option<Vec<u8>>,
    pub failure: Option<String>,
    pub logs: Vec<String>,
    pub requests: Vec<ProviderRequest>,
    /// The failure of a queued batch that no call has reported yet (records_queue).
    pub queue_err: Option<String>,
    /// What the queued batches saved since the last records_flush.
    pub queued: SaveResult,
    /// The answers to the requests http_start sent, by id, until http_wait takes them.
    pub started: BTreeMap<Vec<u8>, Result<Option<Vec<u8>>, Error>>,
    pub last_started: u64,
}

impl State {
    pub fn count(&self, f: HostFn) -> usize {
        self.calls.iter().filter(|&&c| c == f).count()
    }
}

/// The provider behind a test host.
type Provider = Rc<RefCell<dyn FnMut(&ProviderRequest) -> ProviderResponse>>;

pub(crate) struct TestHost {
    pub state: Rc<RefCell<State>>,
    provider: Provider,
}

impl TestHost {
    /// A host whose provider answers 404 to everything.
    pub fn new() -> TestHost {
        TestHost::with_provider(|_| (404, vec![], r#"{"error":"no route"}"#.to_string()))
    }

    pub fn with_provider(
        f: impl FnMut(&ProviderRequest) -> ProviderResponse + 'static,
    ) -> TestHost {
        TestHost {
            state: Rc::new(RefCell::new(State::default())),
            provider: Rc::new(RefCell::new(f)),
        }
    }

    /// The ABI to run a function with; it shares this host's state.
    pub fn abi(&self) -> Box<dyn Abi> {
        Box::new(TestHost {
            state: self.state.clone(),
            provider: self.provider.clone(),
        })
    }

    pub fn state(&self) -> std::cell::Ref<'_, State> {
        self.state.borrow()
    }

    pub fn state_mut(&self) -> std::cell::RefMut<'_, State> {
        self.state.borrow_mut()
    }
}

fn split_header(arg: &[u8]) -> Result<(String, &[u8]), Error> {
    match arg.iter().position(|&c| c == b'\n') {
        Some(i) => Ok((
            String::from_utf8_lossy(&arg[..i]).into_owned(),
            &arg[i + 1..],
        )),
        None => Err(Error::host("no model header".to_string())),
    }
}

impl Abi for TestHost {
    fn call(&mut self, f: HostFn, arg: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let mut st = self.state.borrow_mut();
        st.calls.push(f);
        st.args.push(arg.to_vec());
        if let Some(msg) = st.errs.get(f.name()) {
            return Err(Error::host(msg.clone()));
        }
        // Queued saves (docs/abi.md): this host saves a queued batch at once, but holds its
        // failure for the next call that waits for the queue, which then does nothing else.
        if waits_for_queue(f) {
            if let Some(msg) = st.queue_err.take() {
                return Err(Error::host(msg));
            }
        }
        let text = String::from_utf8_lossy(arg).into_owned();
        match f {
            HostFn::Log => {
                st.logs.push(text.replacen('\n', ": ", 1));
                Ok(None)
            }
            HostFn::Input => Ok(st.input.clone()),
            HostFn::Output => {
                st.output = Some(arg.to_vec());
                Ok(None)
            }
            HostFn::Fail => {
                st.failure = Some(text);
                Ok(None)
            }
            HostFn::CheckpointGet => Ok(st.checkpoint.clone()),
            HostFn::CheckpointSave => {
                // Queued behind a failed batch, the checkpoint is dropped; behind batches
                // that were saved (all of them, here), it is written.
                if st.queue_err.is_none() {
                    st.checkpoint = Some(arg.to_vec());
                }
                Ok(None)
            }
            HostFn::CheckpointClear => {
                st.checkpoint = None;
                Ok(None)
            }
            HostFn::MetadataGet => Ok(Some(st.metadata.clone().unwrap_or_else(|| b"{}".to_vec()))),
            HostFn::MetadataSet => {
                st.metadata = Some(arg.to_vec());
                Ok(None)
            }
            HostFn::LastSyncTime => Ok(st.last_sync.clone().map(String::into_bytes)),
            HostFn::TriggerSync => {
                st.triggered.push(text);
                Ok(None)
            }
            HostFn::LinksGet | HostFn::LinksPut | HostFn::LinksDelete => links(&mut st, f, arg),
            HostFn::RecordsSave
            | HostFn::RecordsUpdate
            | HostFn::RecordsDelete
            | HostFn::RecordsGet => records(&mut st, f, arg),
            HostFn::RecordsQueue => {
                let (model, _) = split_header(arg)?;
                check_model(&model).map_err(|e| Error::host(e.to_string()))?;
                match records(&mut st, HostFn::RecordsSave, arg) {
                    Ok(out) => {
                        let res: SaveResult = serde_json::from_slice(&out.unwrap()).unwrap();
                        st.queued += res;
                    }
                    Err(e) => {
                        st.queue_err = Some(format!(
                            "a queued records_queue failed, and the writes queued after it were dropped: {}",
                            e
                        ))
                    }
                }
                Ok(None)
            }
            HostFn::RecordsFlush => {
                let res = std::mem::take(&mut st.queued);
                Ok(Some(serde_json::to_vec(&res).unwrap()))
            }
            HostFn::Http => {
                drop(st);
                self.http(arg)
            }
            HostFn::HttpStart => {
                // This host answers at once and keeps the answer until http_wait.
                st.last_started += 1;
                let id = st.last_started.to_string().into_bytes();
                drop(st);
                let res = self.http(arg);
                self.state.borrow_mut().started.insert(id.clone(), res);
                Ok(Some(id))
            }
            HostFn::HttpWait => match st.started.remove(arg) {
                // http's RESPONSE_JSON\nBODY, answered as BODY\nRESPONSE_JSON
                Some(Ok(Some(res))) => {
                    let at = res.iter().position(|&c| c == b'\n').unwrap_or(res.len());
                    let mut out = res.get(at + 1..).unwrap_or_default().to_vec();
                    out.push(b'\n');
                    out.extend_from_slice(&res[..at]);
                    Ok(Some(out))
                }
                Some(other) => other,
                None => Err(Error::host(format!(
                    "no request with id {:?} is started and not yet waited for",
                    text
                ))),
            },
            HostFn::HttpSave => {
                drop(st);
                self.http_save(arg)
            }
        }
    }
}

/// Whether `f` waits for the queued writes before it runs (docs/abi.md, "Queued saves"):
/// every call that reads or writes the store, records_queue and records_flush included.
/// checkpoint_save is queued behind them instead.
fn waits_for_queue(f: HostFn) -> bool {
    !matches!(
        f,
        HostFn::Log
            | HostFn::Input
            | HostFn::Http
            | HostFn::HttpStart
            | HostFn::HttpWait
            | HostFn::MetadataGet
            | HostFn::LastSyncTime
            | HostFn::Output
            | HostFn::Fail
            | HostFn::CheckpointSave
    )
}

fn links(st: &mut State, f: HostFn, arg: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    #[derive(Deserialize)]
    struct Key {
        #[serde(default)]
        app_id: String,
        #[serde(default)]
        external_id: String,
    }
    let (model, body) = split_header(arg)?;
    let key: Key = serde_json::from_slice(body).map_err(|e| Error::host(e.to_string()))?;
    let links = st.links.entry(model).or_default();
    match f {
        HostFn::LinksGet => {
            let found = links.iter().find(|(a, e)| {
                (!key.app_id.is_empty() && *a == key.app_id)
                    || (!key.external_id.is_empty() && *e == key.external_id)
            });
            Ok(found.map(|(a, e)| {
                json!({"app_id": a, "external_id": e})
                    .to_string()
                    .into_bytes()
            }))
        }
        HostFn::LinksPut => {
            links.retain(|(a, e)| *a != key.app_id && *e != key.external_id);
            links.push((key.app_id, key.external_id));
            Ok(None)
        }
        _ => {
            links.retain(|(a, _)| *a != key.app_id);
            Ok(None)
        }
    }
}

fn records(st: &mut State, f: HostFn, arg: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let (model, body) = split_header(arg)?;
    let cache = st.records.entry(model.clone()).or_default();
    if f == HostFn::RecordsDelete || f == HostFn::RecordsGet {
        let ids: Vec<String> =
            serde_json::from_slice(body).map_err(|e| Error::host(e.to_string()))?;
        let mut found = Vec::new();
        for id in &ids {
            if let Some(rec) = cache.get(id) {
                found.push(rec.clone());
                if f == HostFn::RecordsDelete {
                    cache.remove(id);
                }
            }
        }
        if f == HostFn::RecordsGet {
            return Ok(Some(Value::Array(found).to_string().into_bytes()));
        }
        return Ok(Some(
            json!({ "deleted": found.len() }).to_string().into_bytes(),
        ));
    }
    let batch: Vec<Map<String, Value>> = serde_json::from_slice(body)
        .map_err(|e| Error::host(format!("save {} batch: {}", model, e)))?;
    for (i, rec) in batch.iter().enumerate() {
        if !matches!(rec.get("id"), Some(Value::String(_))) {
            return Err(Error::host(format!(
                r#"save {} batch: record {}: "id" must be a string"#,
                model, i
            )));
        }
    }
    let (added, updated, unchanged) = upsert(cache, batch, "id", f == HostFn::RecordsUpdate);
    let res = if f == HostFn::RecordsUpdate {
        json!({"updated": updated, "unchanged": unchanged})
    } else {
        json!({"added": added, "updated": updated, "unchanged": unchanged})
    };
    Ok(Some(res.to_string().into_bytes()))
}

/// Stores `batch`, whose records all have a string id in member `id`, into `cache`, merging
/// each into its cached record if `merge`; returns the (added, updated, unchanged) counts.
fn upsert(
    cache: &mut BTreeMap<String, Value>,
    batch: Vec<Map<String, Value>>,
    id: &str,
    merge: bool,
) -> (u64, u64, u64) {
    let (mut added, mut updated, mut unchanged) = (0, 0, 0);
    for rec in batch {
        let id = rec[id].as_str().unwrap().to_string();
        let old = cache.get(&id).cloned();
        let new = if merge {
            let mut merged = match &old {
                Some(Value::Object(m)) => m.clone(),
                _ => continue,
            };
            for (k, v) in rec {
                merged.insert(k, v);
            }
            Value::Object(merged)
        } else {
            Value::Object(rec)
        };
        match &old {
            None => added += 1,
            Some(o) if *o == new => unchanged += 1,
            Some(_) => updated += 1,
        }
        cache.insert(id, new);
    }
    (added, updated, unchanged)
}

/// The value at the dot-separated `path` of `doc` (`""`: all of it), as the host looks it up.
fn lookup<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return Some(doc);
    }
    path.split('.')
        .try_fold(doc, |v, key| v.as_object()?.get(key))
}

impl TestHost {
    /// Answers an http call the way the Ferry host does: path, or absolute url, with the
    /// request's query merged into the URL's.
    fn http(&self, arg: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        #[derive(Deserialize)]
        struct Head {
            method: String,
            #[serde(default)]
            path: String,
            #[serde(default)]
            url: String,
            #[serde(default)]
            query: BTreeMap<String, Vec<String>>,
            #[serde(default)]
            headers: BTreeMap<String, Vec<String>>,
        }
        let (head, body) = split_header(arg)?;
        let head: Head = serde_json::from_str(&head)
            .map_err(|e| Error::host(format!("bad request JSON: {}", e)))?;
        let target = if head.url.is_empty() {
            head.path
        } else {
            head.url
        };
        let (target, url_query) = match target.split_once('?') {
            Some((t, q)) => (t.to_string(), crate::http::parse_query(q)),
            None => (target, BTreeMap::new()),
        };
        let mut query = url_query;
        for (k, vs) in head.query {
            query.entry(k).or_default().extend(vs);
        }
        let req = ProviderRequest {
            method: head.method,
            target,
            query,
            headers: head.headers,
            body: body.to_vec(),
        };
        self.state.borrow_mut().requests.push(req.clone());
        let (status, headers, body) = (self.provider.borrow_mut())(&req);
        let mut hs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in headers {
            hs.entry(k.to_string()).or_default().push(v);
        }
        let mut out = json!({"status": status, "headers": hs})
            .to_string()
            .into_bytes();
        out.push(b'\n');
        out.extend_from_slice(body.as_bytes());
        Ok(Some(out))
    }

    /// Answers an http_save call the way the Ferry host does: the http call, then, on a 2xx
    /// status, the records at the request's items path saved as records_save would (all or
    /// nothing) and the values asked for looked up; on another status, the body and no save.
    fn http_save(&self, arg: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        #[derive(Deserialize)]
        struct Spec {
            model: String,
            #[serde(default)]
            items: String,
            #[serde(default)]
            id: String,
            #[serde(default)]
            values: Vec<String>,
        }
        #[derive(Deserialize)]
        struct Head {
            save: Option<Spec>,
        }
        let (head, _) = split_header(arg)?;
        let spec = serde_json::from_str::<Head>(&head)
            .ok()
            .and_then(|h| h.save)
            .ok_or_else(|| {
                Error::host(
                    r#"request needs a "save" object: {"model", "items", "id", "values"}"#.into(),
                )
            })?;
        let id = if spec.id.is_empty() { "id" } else { &spec.id };
        let out = self.http(arg)?.unwrap_or_default();
        let (resp, body) = split_header(&out)?;
        let resp: Value = serde_json::from_str(&resp).unwrap();
        let status = resp["status"].as_u64().unwrap();
        let mut ans = json!({
            "status": status,
            "headers": resp["headers"],
            "count": 0,
            "saved": {"added": 0, "updated": 0, "unchanged": 0},
        });
        if !(200..300).contains(&status) {
            ans["body"] = String::from_utf8_lossy(body).into();
            return Ok(Some(ans.to_string().into_bytes()));
        }
        let refuse = |why: String| {
            Error::host(format!(
                "{} batch refused, nothing saved: {}",
                spec.model, why
            ))
        };
        // A body that is not JSON has no items anywhere.
        let doc: Option<Value> = serde_json::from_slice(body).ok();
        let items = doc
            .as_ref()
            .and_then(|d| lookup(d, &spec.items))
            .ok_or_else(|| refuse(format!("no items at {:?} in the response body", spec.items)))?;
        if !items.is_null() {
            let bad = |why: String| refuse(format!("items at {:?}: {}", spec.items, why));
            let batch = items
                .as_array()
                .ok_or_else(|| bad("not a JSON array".into()))?
                .iter()
                .enumerate()
                .map(|(i, rec)| match rec {
                    Value::Object(m) => match m.get(id) {
                        Some(Value::String(s)) if !s.is_empty() => Ok(m.clone()),
                        _ => Err(bad(format!(
                            "record {}: {:?} must be a non-empty string",
                            i, id
                        ))),
                    },
                    _ => Err(bad(format!("record {}: not a JSON object", i))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            ans["count"] = batch.len().into();
            let mut st = self.state.borrow_mut();
            let cache = st.records.entry(spec.model.clone()).or_default();
            let (added, updated, unchanged) = upsert(cache, batch, id, false);
            ans["saved"] = json!({"added": added, "updated": updated, "unchanged": unchanged});
        }
        if !spec.values.is_empty() {
            let values: Map<String, Value> = spec
                .values
                .iter()
                .map(|p| {
                    let v = doc.as_ref().and_then(|d| lookup(d, p));
                    (p.clone(), v.cloned().unwrap_or(Value::Null))
                })
                .collect();
            ans["values"] = values.into();
        }
        Ok(Some(ans.to_string().into_bytes()))
    }
}
