//! Deliveries of task events: one entry per event with field-level changes,
//! one transaction per append, dedupe, races, and Dapr's reply semantics.

mod support;

use serde_json::{json, Value};
use support::*;
use todo_core::audit::chain::FieldChange;
use todo_core::events::TaskChange;

fn entry(h: &Harness, user: &str, seq: u64) -> Value {
    h.dapr
        .get(STORE, &format!("entry/{user}/{seq}"))
        .map(|e| e.value)
        .unwrap_or(Value::Null)
}

fn transactions(h: &Harness) -> usize {
    h.dapr
        .calls()
        .iter()
        .filter(|(m, p)| m == "POST" && p.ends_with("/transaction"))
        .count()
}

/// The `(field, from, to)` triples of an entry.
fn changes(entry: &Value) -> Vec<(String, Value, Value)> {
    let changes: Vec<FieldChange> = serde_json::from_value(entry["changes"].clone()).unwrap();
    changes
        .into_iter()
        .map(|c| (c.field, c.from, c.to))
        .collect()
}

#[test]
fn every_change_appends_one_entry_with_its_field_changes() {
    let h = harness();
    let mut events = Events::for_user("alice");
    let open = task(1, json!({ "title": "Report", "tags": ["work"] }));
    let mut edited = open.clone();
    edited.apply(
        task(
            1,
            json!({ "title": "Final report", "tags": ["work"], "priority": "high" }),
        )
        .fields(),
        t0(),
    );
    let mut done = edited.clone();
    done.complete(t0());
    let mut reopened = done.clone();
    reopened.reopen(t0());
    let sequence = [
        events.event(TaskChange::Created, None, Some(&open)),
        events.event(TaskChange::Updated, Some(&open), Some(&edited)),
        events.event(TaskChange::Completed, Some(&edited), Some(&done)),
        events.event(TaskChange::Reopened, Some(&done), Some(&reopened)),
        events.event(TaskChange::Deleted, Some(&reopened), None),
    ];
    for (i, event) in sequence.iter().enumerate() {
        assert_eq!(deliver_event(&h, event), "SUCCESS");
        assert_eq!(transactions(&h), i + 1, "one transaction per append");
    }

    let e: Vec<Value> = (1..=5).map(|seq| entry(&h, "alice", seq)).collect();
    for (i, (entry, event)) in e.iter().zip(&sequence).enumerate() {
        assert_eq!(entry["seq"], i as u64 + 1);
        assert_eq!(entry["eventId"], event["id"]);
        assert_eq!(entry["type"], event["type"]);
        assert_eq!(entry["taskId"], open.id.to_string());
        assert_eq!(entry["at"], event["time"]);
        assert_eq!(entry["actor"], "alice");
        assert_eq!(entry["hash"].as_str().unwrap().len(), 64);
    }
    assert_eq!(
        changes(&e[0]),
        [
            ("title".into(), Value::Null, json!("Report")),
            ("status".into(), Value::Null, json!("open")),
            ("priority".into(), Value::Null, json!("medium")),
            ("tags".into(), Value::Null, json!(["work"])),
            ("timezone".into(), Value::Null, json!("UTC")),
        ]
    );
    assert_eq!(
        changes(&e[1]),
        [
            ("title".into(), json!("Report"), json!("Final report")),
            ("priority".into(), json!("medium"), json!("high")),
        ]
    );
    assert_eq!(
        changes(&e[2]),
        [
            ("status".into(), json!("open"), json!("completed")),
            (
                "completedAt".into(),
                Value::Null,
                json!("2026-11-27T10:00:00Z")
            ),
        ]
    );
    assert_eq!(
        changes(&e[3])[0],
        ("status".into(), json!("completed"), json!("open"))
    );
    assert!(changes(&e[4]).iter().all(|(_, _, to)| to.is_null()));
    assert_eq!(changes(&e[4])[0].1, json!("Final report"));

    // The chain links, the head, the task history and the dedupe markers.
    assert_eq!(e[0]["prevHash"], "0".repeat(64));
    for pair in e.windows(2) {
        assert_eq!(pair[1]["prevHash"], pair[0]["hash"]);
    }
    let head = h.dapr.get(STORE, "chain/alice").unwrap().value;
    assert_eq!(head, json!({ "seq": 5, "hash": e[4]["hash"] }));
    let history = h
        .dapr
        .get(STORE, &format!("taskhist/{}", open.id))
        .unwrap()
        .value;
    assert_eq!(
        history,
        json!({ "owner": "alice", "seqs": [1, 2, 3, 4, 5] })
    );
    let seen_id = sequence[2]["id"].as_str().unwrap();
    assert_eq!(
        h.dapr.get(STORE, &format!("seen/{seen_id}")).unwrap().value,
        json!({ "userId": "alice", "seq": 3 })
    );
}

#[test]
fn the_same_event_delivered_five_times_is_one_entry() {
    let h = harness();
    let open = task(1, json!({ "title": "Report" }));
    let event = Events::for_user("alice").event(TaskChange::Created, None, Some(&open));
    for _ in 0..5 {
        assert_eq!(deliver_event(&h, &event), "SUCCESS");
    }
    assert_eq!(transactions(&h), 1);
    assert_eq!(h.dapr.get(STORE, "chain/alice").unwrap().value["seq"], 1);
    assert_eq!(entry(&h, "alice", 2), Value::Null);
    let (_, page) = get(&h, "alice", "/api/audit");
    assert_eq!(page["total"], 1);
}

#[test]
fn a_racing_delivery_of_the_same_event_is_reread_and_acknowledged() {
    let h = harness();
    let open = task(1, json!({ "title": "Report" }));
    let event = Events::for_user("alice").event(TaskChange::Created, None, Some(&open));
    let seen_key = format!("seen/{}", event["id"].as_str().unwrap());
    // Another instance commits the same event between our read and commit.
    h.dapr.race_next_transaction(move |state| {
        state.put(
            STORE,
            "chain/alice",
            json!({ "seq": 1, "hash": "f".repeat(64) }),
        );
        state.put(STORE, &seen_key, json!({ "userId": "alice", "seq": 1 }));
    });
    assert_eq!(deliver_event(&h, &event), "SUCCESS");
    assert_eq!(transactions(&h), 1, "the duplicate is seen on re-read");
    assert_eq!(
        entry(&h, "alice", 1),
        Value::Null,
        "our append did not land"
    );
}

#[test]
fn a_racing_append_of_another_event_moves_ours_to_the_next_seq() {
    let h = harness();
    let mut events = Events::for_user("alice");
    let a = task(1, json!({ "title": "A" }));
    let b = task(2, json!({ "title": "B" }));
    let first = events.event(TaskChange::Created, None, Some(&a));
    let second = events.event(TaskChange::Created, None, Some(&b));
    assert_eq!(deliver_event(&h, &first), "SUCCESS");
    // A concurrent append takes seq 2 first: our commit's head ETag is stale.
    h.dapr.race_next_transaction(|state| {
        state.put(
            STORE,
            "chain/alice",
            json!({ "seq": 2, "hash": "a".repeat(64) }),
        );
    });
    assert_eq!(deliver_event(&h, &second), "SUCCESS");
    assert_eq!(
        transactions(&h),
        3,
        "the lost commit was re-read and retried"
    );
    let ours = entry(&h, "alice", 3);
    assert_eq!(ours["eventId"], second["id"]);
    assert_eq!(ours["prevHash"], "a".repeat(64));
}

#[test]
fn unreadable_events_are_dropped_with_nothing_written() {
    let h = harness();
    let open = task(1, json!({ "title": "Report" }));
    let good = Events::for_user("alice").event(TaskChange::Created, None, Some(&open));
    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut e = good.clone();
        edit(&mut e);
        e.to_string().into_bytes()
    };
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"garbage{".to_vec()),
        ("empty", Vec::new()),
        ("an array", b"[1,2]".to_vec()),
        ("not a CloudEvent", br#"{"hello":"world"}"#.to_vec()),
        (
            "no id",
            edited(&|e| {
                e.as_object_mut().unwrap().remove("id");
            }),
        ),
        ("id not a string", edited(&|e| e["id"] = json!(7))),
        (
            "unknown version",
            edited(&|e| e["type"] = json!("todo.task.created.v2")),
        ),
        (
            "other family",
            edited(&|e| e["type"] = json!("todo.reminder.scheduled.v1")),
        ),
        (
            "specversion 0.3",
            edited(&|e| e["specversion"] = json!("0.3")),
        ),
        (
            "no time",
            edited(&|e| {
                e.as_object_mut().unwrap().remove("time");
            }),
        ),
        (
            "no data",
            edited(&|e| {
                e.as_object_mut().unwrap().remove("data");
            }),
        ),
        (
            "no userId",
            edited(&|e| {
                e["data"].as_object_mut().unwrap().remove("userId");
            }),
        ),
        (
            "taskId not a uuid",
            edited(&|e| e["data"]["taskId"] = json!("nope")),
        ),
        ("task missing", edited(&|e| e["data"]["task"] = Value::Null)),
        (
            "wrong types",
            edited(&|e| e["data"]["version"] = json!("seven")),
        ),
    ];
    for (what, body) in bodies {
        assert_eq!(deliver(&h, &body), "DROP", "{what}");
    }
    assert_eq!(transactions(&h), 0);
    assert!(h.dapr.keys(STORE).is_empty(), "{:?}", h.dapr.keys(STORE));
}

#[test]
fn an_event_for_another_users_task_is_dropped() {
    let h = harness();
    let open = task(1, json!({ "title": "Report" }));
    let theirs = Events::for_user("alice").event(TaskChange::Created, None, Some(&open));
    assert_eq!(deliver_event(&h, &theirs), "SUCCESS");
    let mut done = open.clone();
    done.complete(t0());
    let forged = Events::for_user("mallory").event(TaskChange::Completed, Some(&open), Some(&done));
    assert_eq!(deliver_event(&h, &forged), "DROP");
    assert!(h.dapr.get(STORE, "chain/mallory").is_none());
}

#[test]
fn an_outage_is_retry_and_the_redelivery_succeeds() {
    let h = harness();
    let open = task(1, json!({ "title": "Report" }));
    let event = Events::for_user("alice").event(TaskChange::Created, None, Some(&open));
    h.dapr.set_down(true);
    assert_eq!(deliver_event(&h, &event), "RETRY");
    h.dapr.set_down(false);
    assert_eq!(deliver_event(&h, &event), "SUCCESS");
    assert_eq!(h.dapr.get(STORE, "chain/alice").unwrap().value["seq"], 1);
}

#[test]
fn a_store_outage_after_the_token_check_is_retry_too() {
    let h = harness_with(None);
    let open = task(1, json!({ "title": "Report" }));
    let event = Events::for_user("alice").event(TaskChange::Created, None, Some(&open));
    h.dapr.set_down(true);
    assert_eq!(deliver_event(&h, &event), "RETRY");
    assert!(
        h.dapr.calls().iter().any(|(_, p)| p.ends_with("/bulk")),
        "the store was called"
    );
    h.dapr.set_down(false);
    assert_eq!(deliver_event(&h, &event), "SUCCESS");
}

#[test]
fn an_unreadable_stored_head_is_retry_not_a_crash() {
    let h = harness();
    h.dapr.put(STORE, "chain/alice", json!("corrupt"));
    let open = task(1, json!({ "title": "Report" }));
    let event = Events::for_user("alice").event(TaskChange::Created, None, Some(&open));
    assert_eq!(deliver_event(&h, &event), "RETRY");
}

#[test]
fn deliveries_need_the_app_token() {
    let h = harness();
    let open = task(1, json!({ "title": "Report" }));
    let event = Events::for_user("alice").event(TaskChange::Created, None, Some(&open));
    for token in [None, Some("wrong")] {
        let mut request =
            http::Request::post(DELIVERY).header("content-type", "application/cloudevents+json");
        if let Some(token) = token {
            request = request.header("dapr-api-token", token);
        }
        let (status, _) = send(&h, request.body(event.to_string().into_bytes()).unwrap());
        assert_eq!(status, 401);
    }
    assert!(h.dapr.keys(STORE).is_empty());
}
