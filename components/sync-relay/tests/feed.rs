//! `/events/sync-relay/task-updates`: appending to each user's feed once per
//! event, with TTL; reply semantics.

mod support;

use serde_json::json;
use support::*;

#[test]
fn events_are_appended_in_order_with_ttl() {
    let h = harness();
    fill(&h, "alice", "a", 2);
    let head = h.dapr.get(STORE, "feed/alice").unwrap();
    assert_eq!(head.value, json!({ "seq": 2 }));
    assert_eq!(head.ttl_seconds, None, "the head outlives its changes");
    let change = h.dapr.get(STORE, "change/alice/2").unwrap();
    assert_eq!(change.value["seq"], 2);
    assert_eq!(change.value["id"], "a-2");
    assert_eq!(change.value["type"], "todo.sync.task-changed.v1");
    assert_eq!(change.value["data"]["userId"], "alice");
    assert_eq!(change.ttl_seconds, Some(24 * 3600));
    assert_eq!(
        h.dapr.get(STORE, "seen/a-1").unwrap().ttl_seconds,
        Some(24 * 3600)
    );
    // One transaction per append.
    let transactions = h
        .dapr
        .calls()
        .iter()
        .filter(|(_, p)| p.ends_with("/transaction"))
        .count();
    assert_eq!(transactions, 2);
}

#[test]
fn a_redelivered_event_is_appended_once() {
    let h = harness();
    let event = task_changed("alice", "ev-1");
    assert_eq!(h.deliver(&event), "SUCCESS");
    assert_eq!(h.deliver(&event), "SUCCESS");
    assert_eq!(h.dapr.get(STORE, "feed/alice").unwrap().value["seq"], 1);
    assert!(h.dapr.get(STORE, "change/alice/2").is_none());
}

#[test]
fn each_user_has_a_feed() {
    let h = harness();
    fill(&h, "alice", "a", 2);
    fill(&h, "bob", "b", 1);
    assert_eq!(h.dapr.get(STORE, "feed/alice").unwrap().value["seq"], 2);
    assert_eq!(h.dapr.get(STORE, "feed/bob").unwrap().value["seq"], 1);
    assert_eq!(
        h.dapr.get(STORE, "change/bob/1").unwrap().value["id"],
        "b-1"
    );
}

#[test]
fn notifications_from_notify_are_appended_too() {
    let h = harness();
    let event = json!({
        "specversion": "1.0", "id": "n-1", "source": "notify",
        "type": "todo.sync.notification.v1", "time": "2026-11-27T10:00:00Z",
        "datacontenttype": "application/json",
        "data": { "userId": "alice", "notification": {
            "id": "0193b2c4-0000-7000-8000-000000000002", "kind": "reminder",
            "taskId": "0193b2c4-0000-7000-8000-000000000001", "title": "t",
            "dueAt": null, "remindAt": "2026-11-27T10:00:00Z", "channels": ["inbox"],
            "createdAt": "2026-11-27T10:00:00Z", "read": false } }
    });
    assert_eq!(h.deliver(&event), "SUCCESS");
    assert_eq!(
        h.dapr.get(STORE, "change/alice/1").unwrap().value["type"],
        "todo.sync.notification.v1"
    );
}

#[test]
fn a_lost_race_is_reread_and_both_appends_survive() {
    let h = harness();
    fill(&h, "alice", "a", 1);
    h.dapr.race_next_transaction(|state| {
        state.put(STORE, "feed/alice", json!({ "seq": 2 }));
        state.put(
            STORE,
            "change/alice/2",
            json!({ "seq": 2, "id": "other", "type": "todo.sync.task-changed.v1",
                    "time": "2026-11-27T10:00:00Z", "data": {} }),
        );
    });
    assert_eq!(h.deliver(&task_changed("alice", "a-2")), "SUCCESS");
    assert_eq!(h.dapr.get(STORE, "feed/alice").unwrap().value["seq"], 3);
    assert_eq!(
        h.dapr.get(STORE, "change/alice/3").unwrap().value["id"],
        "a-2"
    );
}

#[test]
fn bad_deliveries_are_dropped() {
    let h = harness();
    let drop = |body: &[u8]| {
        let request = http::Request::builder()
            .method("POST")
            .uri("/events/sync-relay/task-updates")
            .header("dapr-api-token", APP_TOKEN)
            .header("content-type", "application/cloudevents+json")
            .body(body.to_vec())
            .unwrap();
        h.send(request).body["status"].clone()
    };
    assert_eq!(drop(b"nope"), "DROP");
    assert_eq!(drop(br#"{"id":"x"}"#), "DROP", "not a CloudEvent");
    let mut unknown = task_changed("alice", "u-1");
    unknown["type"] = json!("todo.sync.mystery.v1");
    assert_eq!(drop(&serde_json::to_vec(&unknown).unwrap()), "DROP");
    let mut bad = task_changed("alice", "u-2");
    bad["data"] = json!({ "userId": "alice" });
    assert_eq!(drop(&serde_json::to_vec(&bad).unwrap()), "DROP");
    assert!(h.dapr.get(STORE, "feed/alice").is_none());
}

#[test]
fn a_store_outage_is_retried_and_a_foreign_caller_refused() {
    let h = harness();
    h.dapr.set_state_down(true);
    assert_eq!(h.deliver(&task_changed("alice", "e-1")), "RETRY");
    h.dapr.set_state_down(false);
    assert_eq!(h.deliver(&task_changed("alice", "e-1")), "SUCCESS");

    let mut request = delivery(&task_changed("alice", "e-2"));
    request
        .headers_mut()
        .insert("dapr-api-token", "wrong".parse().unwrap());
    assert_eq!(h.send(request).status, 401);

    h.dapr.set_down(true);
    assert_eq!(h.deliver(&task_changed("alice", "e-3")), "RETRY");
}

#[test]
fn routes_outside_the_table_are_404_or_405_and_health_is_served() {
    let h = harness();
    assert_eq!(
        h.send(get("/api/sync/nope", Some("alice"), &[])).status,
        404
    );
    let post = http::Request::builder()
        .method("POST")
        .uri("/api/sync/changes")
        .body(Vec::new())
        .unwrap();
    assert_eq!(h.send(post).status, 405);
    assert_eq!(h.send(get("/healthz/sync-relay", None, &[])).status, 200);
}
