//! Deliveries of account events (`todo.account.created.v1` on
//! `account-events`): the sign-up is an entry of the account's own chain,
//! without task and without personal data; one transaction, dedupe on the
//! event id, Dapr's reply semantics; and chains stored before account
//! entries existed still read and verify as they were.

mod support;

use serde_json::{json, Value};
use support::*;
use todo_core::events::{account_created_event, TaskChange};
use todo_core::identity::account::Account;
use uuid::Uuid;

const ACCOUNT_DELIVERY: &str = "/events/audit/account-events";
const ACCOUNT: &str = "0193b2c4-0000-7000-8000-00000000a11c";
const EMAIL: &str = "ana.lopez@example.org";

/// The event identity publishes for account [`ACCOUNT`], as Dapr delivers it.
fn sign_up(event_id: u128) -> Value {
    let account = Account {
        id: Uuid::parse_str(ACCOUNT).unwrap(),
        email: EMAIL.into(),
        name: "Ana López".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$…".into(),
        created_at: t0(),
    };
    let mut event = account_created_event(&account, t0(), Uuid::from_u128(event_id)).event;
    event["topic"] = json!("account-events");
    event["pubsubname"] = json!("kafka-pubsub");
    event
}

fn deliver_account(h: &Harness, body: &[u8]) -> String {
    cloud_event(ACCOUNT_DELIVERY, body)
        .send(h)
        .dapr_status()
        .to_string()
}

fn deliver_sign_up(h: &Harness, event: &Value) -> String {
    deliver_account(h, event.to_string().as_bytes())
}

fn transactions(h: &Harness) -> usize {
    h.dapr
        .calls()
        .iter()
        .filter(|(m, p)| m == "POST" && p.ends_with("/transaction"))
        .count()
}

/// Every stored value, as text.
fn everything_stored(h: &Harness) -> String {
    h.dapr
        .keys(STORE)
        .iter()
        .map(|k| format!("{k} = {}", h.dapr.get(STORE, k).unwrap().value))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_sign_up_is_the_first_entry_of_the_accounts_chain() {
    let h = harness();
    let event = sign_up(1);
    assert_eq!(deliver_sign_up(&h, &event), "SUCCESS");
    assert_eq!(transactions(&h), 1, "one transaction");

    let entry = h
        .dapr
        .get(STORE, &format!("entry/{ACCOUNT}/1"))
        .unwrap()
        .value;
    assert_eq!(entry["seq"], 1);
    assert_eq!(entry["eventId"], event["id"]);
    assert_eq!(entry["type"], "todo.account.created.v1");
    assert_eq!(entry["at"], event["time"]);
    assert_eq!(entry["actor"], ACCOUNT);
    assert_eq!(entry["changes"], json!([]));
    assert_eq!(entry["prevHash"], "0".repeat(64));
    assert!(entry.get("taskId").is_none(), "{entry}");
    let head = h
        .dapr
        .get(STORE, &format!("chain/{ACCOUNT}"))
        .unwrap()
        .value;
    assert_eq!(head, json!({ "seq": 1, "hash": entry["hash"] }));
    let seen = h
        .dapr
        .get(STORE, &format!("seen/{}", event["id"].as_str().unwrap()))
        .unwrap();
    assert_eq!(seen.value, json!({ "userId": ACCOUNT, "seq": 1 }));
    assert_eq!(seen.ttl_seconds, Some(30 * 24 * 3600));
    // Nothing else: no task history, and no address or name anywhere.
    assert_eq!(h.dapr.keys(STORE).len(), 3, "{:?}", h.dapr.keys(STORE));
    let stored = everything_stored(&h);
    assert!(!stored.contains("example.org"), "{stored}");
    assert!(!stored.contains("Ana"), "{stored}");

    // The account reads it through the API, and the chain verifies.
    let (status, page) = get(&h, ACCOUNT, "/api/audit");
    assert_eq!(status, 200);
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"], json!([entry]));
    let (status, verdict) = get(&h, ACCOUNT, "/api/audit/verify");
    assert_eq!(status, 200);
    assert_eq!(verdict, json!({ "ok": true, "entries": 1 }));
    // Nobody else sees it.
    let (_, other) = get(&h, "bob", "/api/audit");
    assert_eq!(other["total"], 0);
}

#[test]
fn the_accounts_task_events_chain_after_its_sign_up_and_verify() {
    let h = harness();
    assert_eq!(deliver_sign_up(&h, &sign_up(1)), "SUCCESS");
    let mut events = Events::for_user(ACCOUNT);
    let open = task(1, json!({ "title": "First task" }));
    let mut done = open.clone();
    done.complete(t0());
    for event in [
        events.event(TaskChange::Created, None, Some(&open)),
        events.event(TaskChange::Completed, Some(&open), Some(&done)),
    ] {
        assert_eq!(deliver_event(&h, &event), "SUCCESS");
    }
    let (_, page) = get(&h, ACCOUNT, "/api/audit");
    let types: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "todo.task.completed.v1",
            "todo.task.created.v1",
            "todo.account.created.v1"
        ]
    );
    assert_eq!(page["items"][1]["prevHash"], page["items"][2]["hash"]);
    let (_, verdict) = get(&h, ACCOUNT, "/api/audit/verify");
    assert_eq!(verdict, json!({ "ok": true, "entries": 3 }));
    // The task's history holds only its own entries.
    let (_, history) = get(&h, ACCOUNT, &format!("/api/audit/tasks/{}", open.id));
    assert_eq!(history["total"], 2);
}

#[test]
fn the_same_sign_up_delivered_five_times_is_one_entry() {
    let h = harness();
    let event = sign_up(1);
    for _ in 0..5 {
        assert_eq!(deliver_sign_up(&h, &event), "SUCCESS");
    }
    assert_eq!(transactions(&h), 1);
    assert_eq!(
        h.dapr
            .get(STORE, &format!("chain/{ACCOUNT}"))
            .unwrap()
            .value["seq"],
        1
    );
    let (_, page) = get(&h, ACCOUNT, "/api/audit");
    assert_eq!(page["total"], 1);
}

#[test]
fn a_racing_delivery_of_the_same_sign_up_is_reread_and_acknowledged() {
    let h = harness();
    let event = sign_up(1);
    let seen_key = format!("seen/{}", event["id"].as_str().unwrap());
    h.dapr.race_next_transaction(move |state| {
        state.put(
            STORE,
            &format!("chain/{ACCOUNT}"),
            json!({ "seq": 1, "hash": "f".repeat(64) }),
        );
        state.put(STORE, &seen_key, json!({ "userId": ACCOUNT, "seq": 1 }));
    });
    assert_eq!(deliver_sign_up(&h, &event), "SUCCESS");
    assert_eq!(transactions(&h), 1, "the duplicate is seen on re-read");
    assert!(h.dapr.get(STORE, &format!("entry/{ACCOUNT}/1")).is_none());
}

#[test]
fn malformed_or_unknown_account_events_are_dropped_with_nothing_written() {
    let h = harness();
    let good = sign_up(1);
    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut e = good.clone();
        edit(&mut e);
        e.to_string().into_bytes()
    };
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"garbage{".to_vec()),
        (
            "not a CloudEvent",
            br#"{"email":"ana@example.org"}"#.to_vec(),
        ),
        (
            "unknown version",
            edited(&|e| e["type"] = json!("todo.account.created.v2")),
        ),
        (
            "a task event",
            edited(&|e| e["type"] = json!("todo.task.created.v1")),
        ),
        (
            "specversion 0.3",
            edited(&|e| e["specversion"] = json!("0.3")),
        ),
        (
            "no data",
            edited(&|e| {
                e.as_object_mut().unwrap().remove("data");
            }),
        ),
        (
            "no accountId",
            edited(&|e| {
                e["data"].as_object_mut().unwrap().remove("accountId");
            }),
        ),
        (
            "accountId not a uuid",
            edited(&|e| e["data"]["accountId"] = json!("ana")),
        ),
        (
            "not an address",
            edited(&|e| e["data"]["email"] = json!("ana")),
        ),
        ("no name", edited(&|e| e["data"]["name"] = json!(""))),
    ];
    for (what, body) in bodies {
        assert_eq!(deliver_account(&h, &body), "DROP", "{what}");
    }
    assert_eq!(transactions(&h), 0);
    assert!(h.dapr.keys(STORE).is_empty(), "{:?}", h.dapr.keys(STORE));
}

#[test]
fn an_outage_is_retry_and_the_redelivery_succeeds() {
    let h = harness_with(None);
    let event = sign_up(1);
    h.dapr.set_down(true);
    assert_eq!(deliver_sign_up(&h, &event), "RETRY");
    h.dapr.set_down(false);
    h.dapr.set_state_down(true);
    assert_eq!(deliver_sign_up(&h, &event), "RETRY");
    h.dapr.set_state_down(false);
    assert_eq!(deliver_sign_up(&h, &event), "SUCCESS");
    assert_eq!(
        h.dapr
            .get(STORE, &format!("chain/{ACCOUNT}"))
            .unwrap()
            .value["seq"],
        1
    );
}

#[test]
fn account_deliveries_need_the_app_token() {
    let h = harness();
    for token in [None, Some("wrong")] {
        let mut request = http::Request::post(ACCOUNT_DELIVERY)
            .header("content-type", "application/cloudevents+json");
        if let Some(token) = token {
            request = request.header("dapr-api-token", token);
        }
        let (status, _) = send(
            &h,
            request.body(sign_up(1).to_string().into_bytes()).unwrap(),
        );
        assert_eq!(status, 401);
    }
    assert!(h.dapr.keys(STORE).is_empty());
}

/// An entry exactly as audit stored it before account entries existed (a
/// create; the `taskId` member present, its hash computed then), and so the
/// head of a chain of that one entry.
const OLD_ENTRY: &str = concat!(
    r#"{"seq":1,"eventId":"00000000-0000-0000-0000-000000000001","#,
    r#""type":"todo.task.created.v1","taskId":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","#,
    r#""at":"2026-11-27T10:00:00Z","actor":"alice","changes":["#,
    r#"{"field":"title","from":null,"to":"Grüße \"Q4\""},"#,
    r#"{"field":"status","from":null,"to":"open"},"#,
    r#"{"field":"priority","from":null,"to":"medium"},"#,
    r#"{"field":"tags","from":null,"to":["work"]},"#,
    r#"{"field":"timezone","from":null,"to":"UTC"}],"#,
    r#""prevHash":"0000000000000000000000000000000000000000000000000000000000000000","#,
    r#""hash":"934113a619fc50dc92a7dfc79fcd1f4989e01a5459a86698aeb7e4165a93630f"}"#
);
const OLD_HASH: &str = "934113a619fc50dc92a7dfc79fcd1f4989e01a5459a86698aeb7e4165a93630f";

#[test]
fn a_chain_stored_before_account_entries_still_reads_and_verifies() {
    let h = harness();
    let stored: Value = serde_json::from_str(OLD_ENTRY).unwrap();
    h.dapr.put(STORE, "entry/alice/1", stored.clone());
    h.dapr
        .put(STORE, "chain/alice", json!({ "seq": 1, "hash": OLD_HASH }));
    let (_, verdict) = get(&h, "alice", "/api/audit/verify");
    assert_eq!(verdict, json!({ "ok": true, "entries": 1 }));
    let (_, page) = get(&h, "alice", "/api/audit");
    assert_eq!(page["items"][0], stored);

    // New task entries chain on after it; the chain still verifies.
    let mut events = Events::for_user("alice");
    let other = task(9, json!({ "title": "Later" }));
    assert_eq!(
        deliver_event(&h, &events.event(TaskChange::Created, None, Some(&other))),
        "SUCCESS"
    );
    let second = h.dapr.get(STORE, "entry/alice/2").unwrap().value;
    assert_eq!(second["prevHash"], OLD_HASH);
    assert_eq!(second["taskId"], other.id.to_string());
    let (_, verdict) = get(&h, "alice", "/api/audit/verify");
    assert_eq!(verdict, json!({ "ok": true, "entries": 2 }));
}
