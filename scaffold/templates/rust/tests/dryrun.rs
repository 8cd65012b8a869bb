//! Runs the contacts sync of the built plugin (`make build`) with `ferry dryrun`, against the
//! HTTP exchanges in testdata/exchanges/contacts instead of the network. They were recorded
//! from Ferry's example provider (started with --records 3); record your provider's with
//! `make record` (or `ferry dryrun . contacts --cred token=... --record
//! testdata/exchanges/contacts`). The ferry binary comes from $FERRY_BIN, else PATH.

use std::path::Path;
use std::process::Command;

use ferry::Timestamp;
use serde_json::Value;

/// Runs `ferry dryrun DIR SYNC --json --replay REPLAY` and returns its JSON result.
fn dryrun(sync: &str, replay: &str) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = std::env::var("FERRY_BIN").ok().filter(|b| !b.is_empty()).unwrap_or_else(|| "ferry".to_string());
    let out = Command::new(&bin)
        .arg("dryrun")
        .arg(dir)
        .arg(sync)
        .arg("--json")
        .arg("--replay")
        .arg(dir.join(replay))
        .output()
        .unwrap_or_else(|e| panic!("run {}: {} (set FERRY_BIN to the ferry binary or put it on PATH)", bin, e));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("ferry dryrun {}: {}\n{}", sync, e, String::from_utf8_lossy(&out.stderr)))
}

fn time(v: &Value) -> Timestamp {
    Timestamp::parse(v.as_str().unwrap_or_default()).expect("an RFC 3339 time")
}

#[test]
fn contacts() {
    let res = dryrun("contacts", "testdata/exchanges/contacts");
    assert_eq!(res["status"], "succeeded", "run failed: {}\nlog: {:#}", res["error"], res["log"]);

    let contacts = res["records"]["Contact"].as_array().expect("records of Contact");
    assert!(!contacts.is_empty(), "no contacts saved");
    assert_eq!(res["counts"]["Contact"]["added"].as_u64(), Some(contacts.len() as u64));
    for c in contacts {
        assert!(c["id"].is_string() && c["email"].is_string(), "contact without an id or an email: {}", c);
    }

    // The next run asks for what changed after the newest contact saved.
    let newest = contacts.iter().map(|c| time(&c["updated_at"])).max().unwrap();
    assert_eq!(time(&res["checkpoint"]["updated_after"]), newest, "checkpoint {}", res["checkpoint"]);
    assert!(res["checkpoint"].get("cursor").is_none(), "checkpoint {} has a cursor", res["checkpoint"]);
}
