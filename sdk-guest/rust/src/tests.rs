//! The SDK's tests against the in-memory host: what each capability sends across the ABI and
//! what it makes of the answers.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::abi::HostFn;
use crate::host::{run_action_with, run_sync_with, run_webhook_with};
use crate::testhost::{ProviderRequest, ProviderResponse, TestHost};
use crate::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    id: String,
}

/// Runs `f` as a sync on `th` and returns the export's status.
fn sync(th: &TestHost, f: impl FnOnce(&mut Sync) -> Result<()>) -> i32 {
    run_sync_with(th.abi(), f)
}

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap()
}

#[test]
fn run_reports_errors_and_panics() {
    let th = TestHost::new();
    assert_eq!(sync(&th, |_| Ok(())), 0);
    assert_eq!(th.state().failure, None);

    assert_eq!(sync(&th, |_| Err(Error::msg("fetch contacts: boom"))), 1);
    assert_eq!(th.state().failure.as_deref(), Some("fetch contacts: boom"));

    assert_eq!(sync(&th, |_| Err(Error::msg(""))), 1);
    assert_eq!(
        th.state().failure.as_deref(),
        Some("failed without a message")
    );

    assert_eq!(
        run_action_with(th.abi(), |_| -> Result<()> {
            let v: Vec<u8> = Vec::new();
            let _ = v[3];
            Ok(())
        }),
        1
    );
    let failure = th.state().failure.clone().unwrap();
    assert!(
        failure.starts_with("panic: index out of bounds"),
        "{}",
        failure
    );
    assert!(failure.contains("src/tests.rs:"), "{}", failure);
}

#[test]
fn save_sends_model_and_batch() {
    let th = TestHost::new();
    let status = sync(&th, |s| {
        let res = s.save("Item", &[Item { id: "a".into() }, Item { id: "b".into() }])?;
        assert_eq!(
            res,
            SaveResult {
                added: 2,
                updated: 0,
                unchanged: 0
            }
        );
        let res = s.save_raw("Item", br#" [{"id":"a"},{"id":"b","x":1}] "#)?;
        assert_eq!(
            res,
            SaveResult {
                added: 0,
                updated: 1,
                unchanged: 1
            }
        );
        // Empty batches are not sent.
        assert_eq!(s.save::<Item>("Item", &[])?, SaveResult::default());
        assert_eq!(s.save_raw("Item", b"[ ]")?, SaveResult::default());
        let res = s.update("Item", &[json!({"id": "b", "x": 2}), json!({"id": "a"})])?;
        assert_eq!(
            res,
            UpdateResult {
                updated: 1,
                unchanged: 1
            }
        );
        let got: Vec<Value> = s.get("Item", &["b", "zz"])?;
        assert_eq!(got, vec![json!({"id": "b", "x": 2})]);
        assert_eq!(s.delete("Item", &["a", "zz"])?, 1);
        assert_eq!(s.delete::<&str>("Item", &[])?, 0);
        Ok(())
    });
    assert_eq!(status, 0, "{:?}", th.state().failure);
    let st = th.state();
    assert_eq!(text(&st.args[0]), "Item\n[{\"id\":\"a\"},{\"id\":\"b\"}]");
    assert_eq!(
        text(&st.args[1]),
        "Item\n[{\"id\":\"a\"},{\"id\":\"b\",\"x\":1}]"
    );
    assert_eq!(
        text(&st.args[2]),
        "Item\n[{\"id\":\"b\",\"x\":2},{\"id\":\"a\"}]"
    );
    assert_eq!(text(&st.args[3]), "Item\n[\"b\",\"zz\"]");
    assert_eq!(text(&st.args[4]), "Item\n[\"a\",\"zz\"]");
    assert_eq!(st.calls.len(), 5);
}

#[test]
fn batch_errors_name_what_failed() {
    let th = TestHost::new();
    type Case = (
        &'static str,
        Box<dyn FnOnce(&mut Sync) -> Result<()>>,
        &'static str,
    );
    let tests: Vec<Case> = vec![
        ("bad model", Box::new(|s| s.save("Con tact", &[json!({"id": "a"})]).map(|_| ())), "ferry: save: invalid model name \"Con tact\": want letters, digits and _"),
        ("no id", Box::new(|s| s.save("Item", &[json!({"id": "a"}), json!({"x": 1})]).map(|_| ())), "ferry: save Item: save Item batch: record 1: \"id\" must be a string"),
        ("not objects", Box::new(|s| s.save("Item", &[1, 2]).map(|_| ())), "ferry: save Item: save Item batch: invalid type: integer `1`, expected a map at line 1 column 2"),
        ("raw not array", Box::new(|s| s.save_raw("Item", br#"{"id":"a"}"#).map(|_| ())), "ferry: save Item: records must be a JSON array, got {\"id\":\"a\"}"),
        ("checkpoint not object", Box::new(|s| s.save_checkpoint(&[1])), "ferry: save checkpoint: checkpoint must be a JSON object, got [1]"),
        ("metadata not object", Box::new(|s| s.set_metadata("x")), "ferry: set metadata: metadata must be a JSON object, got \"x\""),
    ];
    for (name, f, want) in tests {
        assert_eq!(sync(&th, f), 1, "{}", name);
        assert_eq!(th.state().failure.as_deref(), Some(want), "{}", name);
    }
}

#[test]
fn host_errors_keep_the_host_message() {
    let th = TestHost::new();
    th.state_mut()
        .errs
        .insert("records_save", "save Item batch: store is closed".into());
    assert_eq!(
        sync(&th, |s| s
            .save("Item", &[Item { id: "a".into() }])
            .map(|_| ())),
        1
    );
    assert_eq!(
        th.state().failure.as_deref(),
        Some("ferry: save Item: save Item batch: store is closed")
    );
}

/// The failure of a queued batch without ids, as the host reports it.
const QUEUED_NO_ID: &str = "a queued records_queue failed, and the writes queued after it were dropped: save Item batch: record 0: \"id\" must be a string";

#[test]
fn queue_save_and_flush() {
    fn counts(added: u64, updated: u64, unchanged: u64) -> SaveResult {
        SaveResult {
            added,
            updated,
            unchanged,
        }
    }
    struct Case {
        name: &'static str,
        run: Box<dyn FnOnce(&mut Sync) -> Result<()>>,
        failure: Option<String>, // the run's error
        calls: Vec<HostFn>,      // the host calls made, in order
        ids: Vec<&'static str>,  // the Item records saved
        checkpoint: Option<&'static str>,
        pending: Option<&'static str>, // a queued failure left unreported
    }
    use HostFn::{
        CheckpointGet, CheckpointSave, Http, Log, RecordsFlush, RecordsGet, RecordsQueue,
    };
    let tests = vec![
        Case {
            name: "queue and flush",
            run: Box::new(|s| {
                s.queue_save("Item", &[Item { id: "a".into() }, Item { id: "b".into() }])?;
                s.queue_save_raw("Item", br#" [{"id":"a"},{"id":"b","x":1}] "#)?;
                assert_eq!(s.flush()?, counts(2, 1, 1));
                // Counts since the last flush.
                assert_eq!(s.flush()?, SaveResult::default());
                s.queue_save("Item", &[json!({"id": "c"})])?;
                assert_eq!(s.flush()?, counts(1, 0, 0));
                Ok(())
            }),
            failure: None,
            calls: vec![
                RecordsQueue,
                RecordsQueue,
                RecordsFlush,
                RecordsFlush,
                RecordsQueue,
                RecordsFlush,
            ],
            ids: vec!["a", "b", "c"],
            checkpoint: None,
            pending: None,
        },
        Case {
            name: "queue, checkpoint, flush",
            run: Box::new(|s| {
                s.queue_save("Item", &[Item { id: "a".into() }])?;
                s.save_checkpoint(&json!({"cursor": "c1"}))?;
                s.queue_save("Item", &[Item { id: "b".into() }])?;
                s.save_checkpoint(&json!({"cursor": "c2"}))?;
                assert_eq!(s.flush()?, counts(2, 0, 0));
                Ok(())
            }),
            failure: None,
            calls: vec![
                RecordsQueue,
                CheckpointSave,
                RecordsQueue,
                CheckpointSave,
                RecordsFlush,
            ],
            ids: vec!["a", "b"],
            checkpoint: Some(r#"{"cursor":"c2"}"#),
            pending: None,
        },
        Case {
            name: "a refused batch is reported by flush, and the checkpoint behind it dropped",
            run: Box::new(|s| {
                s.queue_save("Item", &[Item { id: "a".into() }])?;
                s.save_checkpoint(&json!({"cursor": "c1"}))?;
                s.queue_save("Item", &[json!({"x": 1})])?; // refused when saved, reported later
                s.save_checkpoint(&json!({"cursor": "c2"}))?; // dropped
                s.flush().map(|_| ())
            }),
            failure: Some(format!("ferry: flush: {}", QUEUED_NO_ID)),
            calls: vec![
                RecordsQueue,
                CheckpointSave,
                RecordsQueue,
                CheckpointSave,
                RecordsFlush,
            ],
            ids: vec!["a"],
            checkpoint: Some(r#"{"cursor":"c1"}"#),
            pending: None,
        },
        Case {
            name: "a refused batch is reported by the next queue_save, which queues nothing",
            run: Box::new(|s| {
                s.queue_save("Item", &[json!({"x": 1})])?;
                s.queue_save("Item", &[Item { id: "b".into() }])
            }),
            failure: Some(format!("ferry: queue save Item: {}", QUEUED_NO_ID)),
            calls: vec![RecordsQueue, RecordsQueue],
            ids: vec![],
            checkpoint: None,
            pending: None,
        },
        Case {
            name: "a refused batch is reported by a store call; http and logs do not wait",
            run: Box::new(|s| {
                s.queue_save("Item", &[json!({"x": 1})])?;
                crate::info!(s, "queued");
                assert_eq!(s.http().get("/nowhere")?.status, 404);
                s.get::<Value, _>("Item", &["a"]).map(|_| ())
            }),
            failure: Some(format!("ferry: get Item: {}", QUEUED_NO_ID)),
            calls: vec![RecordsQueue, Log, Http, RecordsGet],
            ids: vec![],
            checkpoint: None,
            pending: None,
        },
        Case {
            name: "once reported, the queue works again",
            run: Box::new(|s| {
                s.queue_save("Item", &[json!({"x": 1})])?;
                s.save_checkpoint(&json!({"cursor": "c1"}))?; // dropped
                let err = s.checkpoint::<Value>().unwrap_err();
                assert_eq!(
                    err.to_string(),
                    format!("ferry: read checkpoint: {}", QUEUED_NO_ID)
                );
                s.queue_save("Item", &[Item { id: "b".into() }])?;
                s.save_checkpoint(&json!({"cursor": "c2"}))?;
                assert_eq!(s.flush()?, counts(1, 0, 0));
                Ok(())
            }),
            failure: None,
            calls: vec![
                RecordsQueue,
                CheckpointSave,
                CheckpointGet,
                RecordsQueue,
                CheckpointSave,
                RecordsFlush,
            ],
            ids: vec!["b"],
            checkpoint: Some(r#"{"cursor":"c2"}"#),
            pending: None,
        },
        Case {
            name: "a failure never reported is left for the host, which fails the run",
            run: Box::new(|s| {
                s.queue_save("Item", &[json!({"x": 1})])?;
                s.save_checkpoint(&json!({"cursor": "c1"}))
            }),
            failure: None,
            calls: vec![RecordsQueue, CheckpointSave],
            ids: vec![],
            checkpoint: None,
            pending: Some(QUEUED_NO_ID),
        },
        Case {
            name: "empty batches are not sent",
            run: Box::new(|s| {
                s.queue_save::<Item>("Item", &[])?;
                s.queue_save_raw("Item", b" [ ] ")?;
                assert_eq!(s.flush()?, SaveResult::default());
                Ok(())
            }),
            failure: None,
            calls: vec![RecordsFlush],
            ids: vec![],
            checkpoint: None,
            pending: None,
        },
        Case {
            name: "a raw batch that only starts like an empty one is sent, and refused",
            run: Box::new(|s| {
                s.queue_save_raw("Item", b"[ ]x")?;
                s.flush().map(|_| ())
            }),
            failure: Some(
                "ferry: flush: a queued records_queue failed, and the writes queued after it were dropped: save Item batch: trailing characters at line 1 column 4"
                    .to_string(),
            ),
            calls: vec![RecordsQueue, RecordsFlush],
            ids: vec![],
            checkpoint: None,
            pending: None,
        },
        Case {
            name: "bad model",
            run: Box::new(|s| s.queue_save("Con tact", &[Item { id: "a".into() }])),
            failure: Some(
                "ferry: queue save: invalid model name \"Con tact\": want letters, digits and _"
                    .into(),
            ),
            calls: vec![],
            ids: vec![],
            checkpoint: None,
            pending: None,
        },
        Case {
            name: "bad model, empty batch",
            run: Box::new(|s| s.queue_save::<Item>("", &[])),
            failure: Some("ferry: queue save: empty model name".into()),
            calls: vec![],
            ids: vec![],
            checkpoint: None,
            pending: None,
        },
        Case {
            name: "bad model, raw",
            run: Box::new(|s| s.queue_save_raw("Item\n", b"[]")),
            failure: Some(
                "ferry: queue save: invalid model name \"Item\\n\": want letters, digits and _"
                    .into(),
            ),
            calls: vec![],
            ids: vec![],
            checkpoint: None,
            pending: None,
        },
        Case {
            name: "raw not an array",
            run: Box::new(|s| s.queue_save_raw("Item", br#"{"id":"a"}"#)),
            failure: Some(
                "ferry: queue save Item: records must be a JSON array, got {\"id\":\"a\"}".into(),
            ),
            calls: vec![],
            ids: vec![],
            checkpoint: None,
            pending: None,
        },
    ];
    for c in tests {
        let th = TestHost::new();
        let status = sync(&th, c.run);
        let st = th.state();
        assert_eq!(st.failure, c.failure, "{}", c.name);
        assert_eq!(
            status,
            if c.failure.is_some() { 1 } else { 0 },
            "{}",
            c.name
        );
        // Leave out the failure the run reports.
        let calls: Vec<HostFn> = st
            .calls
            .iter()
            .copied()
            .filter(|&f| f != HostFn::Fail)
            .collect();
        assert_eq!(calls, c.calls, "{}", c.name);
        let ids: Vec<&str> = st
            .records
            .get("Item")
            .map(|m| m.keys().map(|k| k.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(ids, c.ids, "{}", c.name);
        assert_eq!(
            st.checkpoint.as_deref().map(text),
            c.checkpoint,
            "{}",
            c.name
        );
        assert_eq!(st.queue_err.as_deref(), c.pending, "{}", c.name);
    }
}

#[test]
fn queue_save_sends_model_and_batch() {
    let th = TestHost::new();
    let status = sync(&th, |s| {
        s.queue_save("Item", &[Item { id: "a".into() }, Item { id: "b".into() }])?;
        s.queue_save_raw("Item", br#" [{"id":"c"}] "#)?;
        s.flush().map(|_| ())
    });
    assert_eq!(status, 0, "{:?}", th.state().failure);
    let st = th.state();
    assert_eq!(text(&st.args[0]), "Item\n[{\"id\":\"a\"},{\"id\":\"b\"}]");
    assert_eq!(text(&st.args[1]), "Item\n[{\"id\":\"c\"}]");
    assert!(st.args[2].is_empty()); // records_flush takes no argument
}

#[test]
fn checkpoint_and_state() {
    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Cp {
        cursor: String,
    }
    let th = TestHost::new();
    th.state_mut().last_sync = Some("2024-02-10T08:01:02.123456789Z".into());
    let status = sync(&th, |s| {
        assert_eq!(s.checkpoint::<Cp>()?, None);
        s.save_checkpoint(&Cp {
            cursor: "c1".into(),
        })?;
        assert_eq!(
            s.checkpoint::<Cp>()?,
            Some(Cp {
                cursor: "c1".into()
            })
        );
        s.clear_checkpoint()?;
        assert_eq!(s.checkpoint::<Cp>()?, None);
        let t = s.last_sync_time()?.unwrap();
        assert_eq!(t.to_string(), "2024-02-10T08:01:02.123456789Z");
        let m: Value = s.metadata()?;
        assert_eq!(m, json!({}));
        s.set_metadata(&json!({"folders": ["a"]}))?;
        let m: Value = s.metadata()?;
        assert_eq!(m, json!({"folders": ["a"]}));
        s.trigger_sync("contacts")?;
        assert!(s.trigger_sync("").is_err());
        crate::info!(s, "saved {} items", 3);
        crate::debug!(s, "detail");
        crate::warn!(s, "odd");
        crate::error!(s, "bad: {:?}", "x");
        Ok(())
    });
    assert_eq!(status, 0, "{:?}", th.state().failure);
    let st = th.state();
    assert_eq!(st.triggered, vec!["contacts".to_string()]);
    assert_eq!(
        st.logs,
        vec![
            "info: saved 3 items",
            "debug: detail",
            "warn: odd",
            "error: bad: \"x\""
        ]
    );
    // No-argument calls pass (0, 0).
    let i = st
        .calls
        .iter()
        .position(|&c| c == HostFn::CheckpointGet)
        .unwrap();
    assert!(st.args[i].is_empty());
}

#[test]
fn last_sync_time_none_and_bad() {
    let th = TestHost::new();
    assert_eq!(
        sync(&th, |s| s.last_sync_time().map(|t| assert!(t.is_none()))),
        0
    );
    th.state_mut().last_sync = Some("yesterday".into());
    assert_eq!(sync(&th, |s| s.last_sync_time().map(|_| ())), 1);
    assert_eq!(
        th.state().failure.as_deref(),
        Some("ferry: read last sync time: parse time \"yesterday\": not an RFC 3339 time")
    );
}

#[test]
fn action_input_output_links() {
    let th = TestHost::new();
    th.state_mut().input = Some(br#"{"app_id":"u-1","email":"a@b"}"#.to_vec());
    let status = run_action_with(th.abi(), |a| {
        #[derive(Deserialize)]
        struct In {
            app_id: String,
            email: String,
        }
        let input: In = a.input()?;
        assert_eq!(input.email, "a@b");
        assert_eq!(a.links().by_app_id("Contact", &input.app_id)?, None);
        a.links().put(
            "Contact",
            &Link {
                app_id: "u-1".into(),
                external_id: "c-9".into(),
            },
        )?;
        let want = Some(Link {
            app_id: "u-1".into(),
            external_id: "c-9".into(),
        });
        assert_eq!(a.links().by_app_id("Contact", "u-1")?, want);
        assert_eq!(a.links().by_external_id("Contact", "c-9")?, want);
        assert!(a
            .links()
            .put(
                "Contact",
                &Link {
                    app_id: "u-2".into(),
                    external_id: "".into()
                }
            )
            .is_err());
        a.links().delete("Contact", "u-1")?;
        assert_eq!(a.links().by_app_id("Contact", "u-1")?, None);
        a.output(&json!({"id": "c-9", "created": true}))
    });
    assert_eq!(status, 0, "{:?}", th.state().failure);
    let st = th.state();
    assert_eq!(
        text(st.output.as_ref().unwrap()),
        r#"{"created":true,"id":"c-9"}"#
    );
    let args: Vec<&str> = st
        .calls
        .iter()
        .zip(&st.args)
        .filter(|(c, _)| c.name().starts_with("links_"))
        .map(|(_, a)| text(a))
        .collect();
    assert_eq!(
        args,
        vec![
            "Contact\n{\"app_id\":\"u-1\"}",
            "Contact\n{\"app_id\":\"u-1\",\"external_id\":\"c-9\"}",
            "Contact\n{\"app_id\":\"u-1\"}",
            "Contact\n{\"external_id\":\"c-9\"}",
            "Contact\n{\"app_id\":\"u-1\"}",
            "Contact\n{\"app_id\":\"u-1\"}",
        ]
    );
}

#[test]
fn webhook_request_and_response() {
    let th = TestHost::new();
    th.state_mut().input = Some(
        b"{\"method\":\"POST\",\"path\":\"/v1/hooks/crm/acme\",\"query\":{\"a\":[\"1\"]},\"headers\":{\"X-Provider-Signature\":[\"sha256=ab\"]}}\n{\"type\":\"contact.deleted\",\n\"id\":\"c-1\"}".to_vec(),
    );
    let status = run_webhook_with(th.abi(), |w| {
        let req = w.request()?;
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/v1/hooks/crm/acme");
        assert_eq!(req.query["a"], vec!["1".to_string()]);
        assert_eq!(req.headers.get("x-provider-signature"), Some("sha256=ab"));
        let ev: Value = req.json()?;
        assert_eq!(ev["id"], "c-1");
        assert_eq!(w.request()?, req); // read once
        w.respond_json(&json!({"ok": true}))
    });
    assert_eq!(status, 0, "{:?}", th.state().failure);
    assert_eq!(th.state().count(HostFn::Input), 1);
    assert_eq!(text(th.state().output.as_ref().unwrap()), r#"{"ok":true}"#);
}

#[test]
fn http_request_and_response() {
    let th = TestHost::with_provider(|r: &ProviderRequest| -> ProviderResponse {
        match (r.method.as_str(), r.target.as_str()) {
            ("GET", "/contacts") => (
                200,
                vec![("Content-Type", "application/json".into())],
                r#"{"data":[{"id":"c-1"}]}"#.into(),
            ),
            ("POST", "/contacts") => (201, vec![], String::from_utf8(r.body.clone()).unwrap()),
            ("DELETE", "/contacts/c-1") => (204, vec![], String::new()),
            _ => (404, vec![], r#"{"error":"no route"}"#.into()),
        }
    });
    let status = sync(&th, |s| {
        let resp = s.http().send(
            Request::get("/contacts")
                .query("limit", 1)
                .header("x-trace", "t"),
        )?;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.headers.get("content-type"), Some("application/json"));
        assert_eq!(resp.text(), r#"{"data":[{"id":"c-1"}]}"#);
        #[derive(Deserialize)]
        struct Found {
            data: Vec<Item>,
        }
        let found: Found = s.http().get_json("/contacts", &[("email", "a b@c")])?;
        assert_eq!(found.data, vec![Item { id: "c-1".into() }]);
        let created: Value = s
            .http()
            .send_json("POST", "/contacts", &json!({"email": "x@y"}))?;
        assert_eq!(created, json!({"email": "x@y"}));
        let () = s.http().json(Request::delete("/contacts/c-1"))?; // an empty body
        let err = s.http().get_json::<Value>("/nowhere", &[]).unwrap_err();
        assert_eq!(err.http_status(), Some(404));
        assert_eq!(
            err.to_string(),
            r#"GET /nowhere: status 404: {"error":"no route"}"#
        );
        let resp = s.http().get("/nowhere")?; // any status is a response
        assert_eq!(resp.status, 404);
        Ok(())
    });
    assert_eq!(status, 0, "{:?}", th.state().failure);
    let st = th.state();
    let i = st.calls.iter().position(|&c| c == HostFn::Http).unwrap();
    assert_eq!(
        text(&st.args[i]),
        "{\"method\":\"GET\",\"path\":\"/contacts\",\"query\":{\"limit\":[\"1\"]},\"headers\":{\"X-Trace\":[\"t\"]}}\n"
    );
    let r = &st.requests[1];
    assert_eq!(r.uri(), "/contacts?email=a+b%40c");
    assert_eq!(r.headers["Accept"], vec!["application/json".to_string()]);
    let r = &st.requests[2];
    assert_eq!(
        r.headers["Content-Type"],
        vec!["application/json".to_string()]
    );
    assert_eq!(text(&r.body), r#"{"email":"x@y"}"#);
}

#[test]
fn http_failure_names_the_request() {
    let th = TestHost::new();
    th.state_mut().errs.insert(
        "http",
        "host \"evil.example\" is not in allowed_hosts".into(),
    );
    assert_eq!(
        sync(&th, |s| s
            .http()
            .send(Request::to_url("GET", "https://evil.example/x").query("a", 1))
            .map(|_| ())),
        1
    );
    assert_eq!(
        th.state().failure.as_deref(),
        Some(
            "ferry: GET https://evil.example/x?a=1: host \"evil.example\" is not in allowed_hosts"
        )
    );
}

/// A provider of contacts for the passthrough: two cursor pages, a page keyed by `key`, a page
/// with a record without id, and a 503.
fn contacts_provider() -> TestHost {
    TestHost::with_provider(|r: &ProviderRequest| -> ProviderResponse {
        match (r.target.as_str(), r.param("cursor")) {
            ("/contacts", None) => (
                200,
                vec![("X-Page", "1".into())],
                r#"{"data":[{"id":"c-1","n":1},{"id":"c-2","n":2}],"meta":{"next":"c2","total":3}}"#.into(),
            ),
            ("/contacts", Some("c2")) => (
                200,
                vec![("X-Page", "2".into())],
                r#"{"data":[{"id":"c-2","n":2},{"id":"c-3","n":3}],"meta":{"next":null}}"#.into(),
            ),
            ("/keyed", _) => (200, vec![], r#"[{"key":"k-1"}]"#.into()),
            ("/empty", _) => (200, vec![], r#"{"data":null}"#.into()),
            ("/noid", _) => (200, vec![], r#"{"data":[{"id":"z"},{"n":1}]}"#.into()),
            ("/down", _) => (503, vec![], " {\"error\":\"down\"}\n".into()),
            _ => (404, vec![], r#"{"error":"no route"}"#.into()),
        }
    })
}

#[test]
fn save_from_saves_pages_in_the_host() {
    let th = contacts_provider();
    let mut pages = Vec::new();
    let status = sync(&th, |s| {
        let opt = Passthrough::new("data")
            .value("meta.next")
            .value("meta.total");
        let mut cursor: Option<String> = None;
        loop {
            let mut req = Request::get("/contacts").query("limit", 2);
            if let Some(c) = &cursor {
                req = req.query("cursor", c);
            }
            let page = s.http().save_from(req, "Contact", &opt)?;
            cursor = page.value("meta.next")?;
            pages.push(page);
            if cursor.is_none() {
                break;
            }
        }
        Ok(())
    });
    assert_eq!(status, 0, "{:?}", th.state().failure);
    assert_eq!(pages.len(), 2);
    let (p1, p2) = (&pages[0], &pages[1]);
    assert_eq!((p1.status, p1.count), (200, 2));
    assert_eq!(p1.headers.get("x-page"), Some("1"));
    assert_eq!(
        p1.saved,
        SaveResult {
            added: 2,
            updated: 0,
            unchanged: 0
        }
    );
    assert_eq!(p1.values["meta.next"], json!("c2"));
    assert_eq!(p1.value::<u32>("meta.total").unwrap(), 3);
    assert_eq!(p2.headers.get("X-Page"), Some("2"));
    assert_eq!(
        p2.saved,
        SaveResult {
            added: 1,
            updated: 0,
            unchanged: 1
        }
    );
    // A value the body lacks, or holds as null, comes back as null.
    assert_eq!(p2.values["meta.next"], Value::Null);
    assert_eq!(p2.values["meta.total"], Value::Null);
    assert_eq!(p2.value::<Option<u32>>("meta.total").unwrap(), None);
    assert_eq!(
        p2.value::<String>("meta.total").unwrap_err().to_string(),
        r#"ferry: value at "meta.total": invalid type: null, expected a string"#
    );
    assert_eq!(
        p2.value::<String>("next").unwrap_err().to_string(),
        r#"ferry: "next" is not one of the values asked for"#
    );

    let st = th.state();
    assert_eq!(st.count(HostFn::HttpSave), 2);
    assert_eq!(st.count(HostFn::Http), 0);
    assert_eq!(st.count(HostFn::RecordsSave), 0);
    assert_eq!(
        text(&st.args[1]),
        "{\"method\":\"GET\",\"path\":\"/contacts\",\"query\":{\"cursor\":[\"c2\"],\"limit\":[\"2\"]},\"headers\":{\"Accept\":[\"application/json\"]},\"save\":{\"model\":\"Contact\",\"items\":\"data\",\"values\":[\"meta.next\",\"meta.total\"]}}\n"
    );
    assert_eq!(st.requests[1].uri(), "/contacts?cursor=c2&limit=2");
    let saved: Vec<String> = st.records["Contact"]
        .iter()
        .map(|(id, r)| format!("{}={}", id, r))
        .collect();
    assert_eq!(
        saved,
        vec![
            r#"c-1={"id":"c-1","n":1}"#,
            r#"c-2={"id":"c-2","n":2}"#,
            r#"c-3={"id":"c-3","n":3}"#
        ]
    );
}

#[test]
fn save_from_id_member_body_and_empty_page() {
    let th = contacts_provider();
    let status = sync(&th, |s| {
        let req = Request::post("/keyed")
            .header("accept", "application/vnd.api+json")
            .json(&json!({"q": "a"}));
        let page = s
            .http()
            .save_from(req, "Contact", &Passthrough::new("").id("key"))?;
        assert_eq!(page.count, 1);
        assert_eq!(page.saved.added, 1);
        assert!(page.values.is_empty());
        let page =
            s.http()
                .save_from(Request::get("/empty"), "Contact", &Passthrough::new("data"))?;
        assert_eq!((page.count, page.saved), (0, SaveResult::default()));
        Ok(())
    });
    assert_eq!(status, 0, "{:?}", th.state().failure);
    let st = th.state();
    assert_eq!(
        text(&st.args[0]),
        "{\"method\":\"POST\",\"path\":\"/keyed\",\"headers\":{\"Accept\":[\"application/vnd.api+json\"],\"Content-Type\":[\"application/json\"]},\"save\":{\"model\":\"Contact\",\"items\":\"\",\"id\":\"key\"}}\n{\"q\":\"a\"}"
    );
    assert_eq!(text(&st.requests[0].body), r#"{"q":"a"}"#);
    assert_eq!(st.records["Contact"]["k-1"], json!({"key": "k-1"}));
}

#[test]
fn save_from_errors() {
    let th = contacts_provider();
    let mut err = None;
    sync(&th, |s| {
        err = s
            .http()
            .save_from(Request::get("/down"), "Contact", &Passthrough::new("data"))
            .err();
        Ok(())
    });
    let err = err.unwrap();
    assert_eq!(
        err.http_error(),
        Some(&HttpError {
            method: "GET".into(),
            target: "/down".into(),
            status: 503,
            body: r#"{"error":"down"}"#.into(),
        })
    );
    assert_eq!(
        err.to_string(),
        r#"GET /down: status 503: {"error":"down"}"#
    );

    type Case = (
        &'static str,
        Request,
        &'static str,
        Passthrough,
        &'static str,
    );
    let tests: Vec<Case> = vec![
        (
            "no items",
            Request::get("/contacts"),
            "Contact",
            Passthrough::new("items"),
            r#"ferry: GET /contacts into Contact: Contact batch refused, nothing saved: no items at "items" in the response body"#,
        ),
        (
            "no id",
            Request::get("/noid"),
            "Contact",
            Passthrough::new("data"),
            r#"ferry: GET /noid into Contact: Contact batch refused, nothing saved: items at "data": record 1: "id" must be a non-empty string"#,
        ),
        (
            "bad model",
            Request::get("/contacts"),
            "Con tact",
            Passthrough::new("data"),
            r#"ferry: GET /contacts into Con tact: invalid model name "Con tact": want letters, digits and _"#,
        ),
    ];
    for (name, req, model, opt, want) in tests {
        assert_eq!(
            sync(&th, |s| s.http().save_from(req, model, &opt).map(|_| ())),
            1,
            "{}",
            name
        );
        assert_eq!(th.state().failure.as_deref(), Some(want), "{}", name);
    }
    // Nothing of a refused page, nor of a non-2xx response, is saved.
    assert!(th
        .state()
        .records
        .get("Contact")
        .map_or(true, |m| m.is_empty()));

    th.state_mut()
        .errs
        .insert("http_save", "no HTTP access in this call".into());
    assert_eq!(
        sync(&th, |s| s
            .http()
            .save_from(
                Request::delete("/contacts").query("a", 1),
                "Contact",
                &Passthrough::new("data")
            )
            .map(|_| ())),
        1
    );
    assert_eq!(
        th.state().failure.as_deref(),
        Some("ferry: DELETE /contacts?a=1 into Contact: no HTTP access in this call")
    );
}

/// A provider serving items i0..i(n-1) in pages through every pagination scheme:
///
/// ```text
/// /cursor?cursor=C&limit=L   {"data":[...],"meta":{"next":"C2"}}, next "" on the last page
/// /link?page=P&per_page=L    [...] with Link: <...>; rel="next" (absolute URL)
/// /rellink?page=P            the same with relative links
/// /pages?page=P&per_page=L   {"items":[...],"total_pages":K}
/// /offset?offset=O&limit=L   [...]
/// ```
fn listing(n: usize) -> TestHost {
    TestHost::with_provider(move |r: &ProviderRequest| -> ProviderResponse {
        let num = |k: &str, def: usize| r.param(k).and_then(|v| v.parse().ok()).unwrap_or(def);
        let limit = num("limit", num("per_page", 10));
        let page = |from: usize| {
            let items: Vec<String> = (from..n.min(from + limit))
                .map(|i| format!(r#"{{"id":"i{}"}}"#, i))
                .collect();
            format!("[{}]", items.join(","))
        };
        match r.target.as_str() {
            "/cursor" => {
                let from = r
                    .param("cursor")
                    .map(|c| c.trim_start_matches("at-").parse().unwrap())
                    .unwrap_or(0);
                let next = if from + limit < n {
                    format!("at-{}", from + limit)
                } else {
                    String::new()
                };
                (
                    200,
                    vec![],
                    format!(r#"{{"data":{},"meta":{{"next":"{}"}}}}"#, page(from), next),
                )
            }
            t @ ("/link" | "/rellink" | "http://provider.test/link") => {
                let p = num("page", 1);
                let mut headers = vec![];
                if p * limit < n {
                    let next = if t == "/rellink" {
                        format!("rellink?page={}&per_page={}", p + 1, limit)
                    } else {
                        format!(
                            "http://provider.test/link?page={}&per_page={}",
                            p + 1,
                            limit
                        )
                    };
                    headers.push((
                        "Link",
                        format!(r#"<{}?page=1>; rel="first", <{}>; rel="next""#, t, next),
                    ));
                }
                (200, headers, page((p - 1) * limit))
            }
            "/pages" => {
                let p = num("page", 1);
                (
                    200,
                    vec![],
                    format!(
                        r#"{{"items":{},"total_pages":{}}}"#,
                        page((p - 1) * limit),
                        (n + limit - 1) / limit
                    ),
                )
            }
            "/offset" => (200, vec![], page(num("offset", 0))),
            "/bad" => (200, vec![], "<html>".into()),
            "/obj" => (200, vec![], r#"{"data":{"id":"x"},"next":{"a":1}}"#.into()),
            "/curobj" => (200, vec![], r#"{"data":[],"next":{"a":1}}"#.into()),
            _ => (500, vec![], r#"{"error":"down"}"#.into()),
        }
    })
}

/// Walks every page of `p` and returns the item ids seen, the cursors, and the requests.
fn walk<P: Pagination>(
    th: &TestHost,
    req: Request,
    p: P,
) -> (Result<Vec<String>>, Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut cursors = Vec::new();
    let mut err = None;
    sync(th, |s| {
        let mut pages = s.http().paginate(req, p);
        loop {
            match pages.next(s) {
                Ok(Some(page)) => {
                    let items: Vec<Item> = page.decode()?;
                    assert_eq!(items.len(), page.len());
                    assert_eq!(page.items().len(), page.len());
                    ids.extend(items.into_iter().map(|i| i.id));
                    cursors.push(page.cursor().to_string());
                }
                Ok(None) => break,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert!(
            matches!(pages.next(s), Ok(None)),
            "a finished pager stays finished"
        );
        Ok(())
    });
    let requests = th.state().requests.iter().map(|r| r.uri()).collect();
    (err.map_or(Ok(ids), Err), cursors, requests)
}

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("i{}", i)).collect()
}

#[test]
fn paginate_cursor() {
    let th = listing(25);
    let (got, cursors, reqs) = walk(
        &th,
        Request::get("/cursor").query("limit", 10),
        CursorPagination::new("data", "meta.next", "cursor"),
    );
    assert_eq!(got.unwrap(), ids(0..25));
    assert_eq!(cursors, vec!["at-10", "at-20", ""]);
    assert_eq!(
        reqs,
        vec![
            "/cursor?limit=10",
            "/cursor?cursor=at-10&limit=10",
            "/cursor?cursor=at-20&limit=10"
        ]
    );

    // Resuming from a checkpoint's cursor.
    let th = listing(25);
    let (got, _, reqs) = walk(
        &th,
        Request::get("/cursor").query("limit", 10),
        CursorPagination::new("data", "meta.next", "cursor").start("at-20"),
    );
    assert_eq!(got.unwrap(), ids(20..25));
    assert_eq!(reqs, vec!["/cursor?cursor=at-20&limit=10"]);
}

/// The pager asks for page N+1 (http_start) before it hands out page N and takes it with
/// http_wait; with prefetch off it asks only on next.
#[test]
fn paginate_prefetches() {
    let cases: [(bool, [&str; 3], [usize; 3]); 2] = [
        (
            true,
            [
                "http http_start",
                "http http_start http_wait http_start",
                "http http_start http_wait http_start http_wait",
            ],
            [2, 3, 3],
        ),
        (false, ["http", "http http", "http http http"], [1, 2, 3]),
    ];
    for (prefetch, want_calls, want_reqs) in cases {
        let th = listing(25);
        let mut seen = Vec::new();
        let status = sync(&th, |s| {
            let mut pages = s
                .http()
                .paginate(
                    Request::get("/cursor").query("limit", 10),
                    CursorPagination::new("data", "meta.next", "cursor"),
                )
                .prefetch(prefetch);
            while let Some(page) = pages.next(s)? {
                let st = th.state();
                let calls: Vec<&str> = st.calls.iter().map(|f| f.name()).collect();
                seen.push((page.len(), calls.join(" "), st.requests.len()));
            }
            Ok(())
        });
        assert_eq!((status, th.state().failure.clone()), (0, None));
        let want: Vec<(usize, String, usize)> = (0..3)
            .map(|i| {
                (
                    if i < 2 { 10 } else { 5 },
                    want_calls[i].to_string(),
                    want_reqs[i],
                )
            })
            .collect();
        assert_eq!(seen, want, "prefetch {}", prefetch);
    }
}

/// A page fetched ahead keeps its body as the provider sent it, newlines and all.
#[test]
fn prefetched_pages_keep_their_bodies() {
    let th = TestHost::with_provider(|r| {
        let body = match r.param("cursor") {
            None => "{\n  \"data\": [{\"id\": \"a\"}],\n  \"next\": \"2\"\n}\n",
            Some(_) => "{\n  \"data\": [{\"id\": \"b\"}, {\"id\": \"c\"}],\n  \"next\": null\n}",
        };
        (200, vec![("X-Page", "p".to_string())], body.to_string())
    });
    let mut raws = Vec::new();
    let status = sync(&th, |s| {
        let mut pages = s.http().paginate(
            Request::get("/p"),
            CursorPagination::new("data", "next", "cursor"),
        );
        while let Some(page) = pages.next(s)? {
            assert_eq!(page.response().headers.get("X-Page"), Some("p"));
            raws.push(String::from_utf8(page.raw().to_vec()).unwrap());
        }
        Ok(())
    });
    assert_eq!((status, th.state().failure.clone()), (0, None));
    assert_eq!(
        raws,
        vec![r#"[{"id": "a"}]"#, r#"[{"id": "b"}, {"id": "c"}]"#]
    );
    assert_eq!(th.state().count(HostFn::HttpWait), 1);
}

#[test]
fn paginate_link() {
    let th = listing(25);
    let (got, _, reqs) = walk(
        &th,
        Request::get("/link").query("per_page", 10),
        LinkPagination::new(""),
    );
    assert_eq!(got.unwrap(), ids(0..25));
    assert_eq!(
        reqs,
        vec![
            "/link?per_page=10",
            "http://provider.test/link?page=2&per_page=10",
            "http://provider.test/link?page=3&per_page=10"
        ]
    );
    let th = listing(25);
    let (got, _, reqs) = walk(
        &th,
        Request::get("/rellink").query("per_page", 10),
        LinkPagination::new(""),
    );
    assert_eq!(got.unwrap(), ids(0..25));
    assert_eq!(
        reqs,
        vec![
            "/rellink?per_page=10",
            "/rellink?page=2&per_page=10",
            "/rellink?page=3&per_page=10"
        ]
    );
}

#[test]
fn paginate_pages_and_offsets() {
    let th = listing(20);
    let p = PagePagination {
        items_path: "items".into(),
        limit_param: "per_page".into(),
        limit: 10,
        total_pages_path: "total_pages".into(),
        ..Default::default()
    };
    let (got, _, reqs) = walk(&th, Request::get("/pages"), p);
    assert_eq!(got.unwrap(), ids(0..20));
    assert_eq!(
        reqs,
        vec!["/pages?page=1&per_page=10", "/pages?page=2&per_page=10"]
    ); // total_pages ends it

    let th = listing(20);
    let p = OffsetPagination {
        limit_param: "limit".into(),
        limit: 10,
        ..Default::default()
    };
    let (got, _, reqs) = walk(&th, Request::get("/offset"), p);
    assert_eq!(got.unwrap(), ids(0..20));
    // A full last page is followed by an empty one.
    assert_eq!(
        reqs,
        vec![
            "/offset?limit=10&offset=0",
            "/offset?limit=10&offset=10",
            "/offset?limit=10&offset=20"
        ]
    );
}

#[test]
fn paginate_errors() {
    type Walk = Box<dyn Fn(&TestHost, Request) -> Result<Vec<String>>>;
    let tests: Vec<(&str, Request, Walk, &str)> = vec![
        (
            "no cursor config",
            Request::get("/cursor"),
            Box::new(|th, r| walk(th, r, CursorPagination::new("data", "", "")).0),
            "ferry: paginate: CursorPagination needs cursor_path and cursor_param",
        ),
        (
            "status",
            Request::get("/down"),
            Box::new(|th, r| walk(th, r, LinkPagination::new("data")).0),
            r#"GET /down: status 500: {"error":"down"}"#,
        ),
        (
            "not json",
            Request::get("/bad"),
            Box::new(|th, r| walk(th, r, LinkPagination::new("")).0),
            "ferry: paginate GET /bad: response body is not JSON: <html>",
        ),
        (
            "missing items",
            Request::get("/cursor"),
            Box::new(|th, r| walk(th, r, LinkPagination::new("items")).0),
            r#"ferry: paginate GET /cursor: no items at "items" in response body {"data":[{"id":"i0"},{"id":"i1"},{"id":"i2"},{"id":"i3"},{"id":"i4"},{"id":"i5"}..."#,
        ),
        (
            "items not array",
            Request::get("/obj"),
            Box::new(|th, r| walk(th, r, LinkPagination::new("data")).0),
            r#"ferry: paginate GET /obj: items at "data" are {"id":"x"}, want a JSON array"#,
        ),
        (
            "cursor object",
            Request::get("/curobj"),
            Box::new(|th, r| walk(th, r, CursorPagination::new("data", "next", "c")).0),
            r#"ferry: paginate GET /curobj: cursor at "next" is {"a":1}, want a string or a number"#,
        ),
    ];
    for (name, req, f, want) in tests {
        let th = listing(25);
        let err = f(&th, req).unwrap_err();
        assert_eq!(err.to_string(), want, "{}", name);
    }
}

#[test]
fn next_link_parsing() {
    let tests: &[(&[&str], Option<&str>)] = &[
        (
            &[r#"<https://a/x?page=2>; rel="next""#],
            Some("https://a/x?page=2"),
        ),
        (
            &[r#"<https://a/1>; rel="prev", <https://a/3>; rel="next""#],
            Some("https://a/3"),
        ),
        (
            &[r#"<https://a/3>; title="a, b"; rel="last next""#],
            Some("https://a/3"),
        ),
        (
            &[r#"<https://a/1>; rel=prev"#, r#"<https://a/2>; REL=NEXT"#],
            Some("https://a/2"),
        ),
        (&[r#"<https://a/1>; rel="prev""#], None),
        (&[], None),
    ];
    for (values, want) in tests {
        let values: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            crate::paginate::next_link(&values).as_deref(),
            *want,
            "{:?}",
            values
        );
    }
}

#[test]
fn resolve_references() {
    use crate::paginate::resolve_reference as r;
    assert_eq!(r("/a/b?x=1", "c?y=2"), "/a/c?y=2");
    assert_eq!(r("/a/b?x=1", "/c"), "/c");
    assert_eq!(r("/a/b?x=1", "?y=2"), "/a/b?y=2");
    assert_eq!(r("/a/b/c", "../d"), "/a/d");
    assert_eq!(r("http://h:1/a/b?x=1", "c"), "http://h:1/a/c");
    assert_eq!(r("http://h:1/a/b?x=1", "/c?z"), "http://h:1/c?z");
    assert_eq!(r("https://h/a", "//g/x"), "https://g/x");
    assert_eq!(r("https://h", "x"), "https://h/x");
    assert_eq!(r("/a", "https://other/x#frag"), "https://other/x");
}

#[test]
fn outside_wasm_there_is_no_host() {
    let status = crate::run_sync(|s| {
        let err = s.save("Item", &[Item { id: "a".into() }]).unwrap_err();
        assert!(err.is_no_host());
        Ok(())
    });
    assert_eq!(status, 0);
}
