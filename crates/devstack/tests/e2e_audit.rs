//! The audit log end to end: the real task-api and audit `.wasm` behind
//! devstack, task events delivered by the (devstack) Dapr subscription in
//! `k8s/dapr/subscriptions/audit.yaml`, the audit API through the gateway.
//!
//! Covered: one entry per create/update/complete/reopen/delete with its
//! field-level changes; a redelivered event (5×) recorded once; `verify`
//! before and after tampering with the store; garbage, unknown types and
//! missing fields dropped to the dead-letter topic; a store outage answered
//! RETRY until the store is back.

mod support;

use serde_json::{json, Value};
use support::*;
use todo_core::audit::chain::FieldChange;

const GROUP: &str = "audit/audit-task-events";

/// Waits until `user`'s audit log has `n` entries; returns them newest first.
async fn wait_entries(api: &Api, n: u64) -> Vec<Value> {
    eventually(&format!("{n} audit entries"), || async {
        let page = api.get("/api/audit?limit=200").await.json();
        (page["total"] == n).then(|| page["items"].as_array().unwrap().clone())
    })
    .await
}

/// `(field, from, to)` of an entry's changes.
fn changes(entry: &Value) -> Vec<(String, Value, Value)> {
    let changes: Vec<FieldChange> = serde_json::from_value(entry["changes"].clone()).unwrap();
    changes
        .into_iter()
        .map(|c| (c.field, c.from, c.to))
        .collect()
}

fn fields(entry: &Value) -> Vec<String> {
    changes(entry).into_iter().map(|(f, _, _)| f).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_is_one_entry_with_its_field_changes_and_the_chain_verifies() {
    let env = start(&["audit"]).await;
    let user = unique_user("audit");
    let api = env.api(&user);

    let task = api
        .create(json!({ "title": "Draft", "tags": ["work"], "dueAt": "2030-01-07T09:00:00Z" }))
        .await;
    let id = id_of(&task);
    let path = format!("/api/tasks/{id}");
    let r = api
        .patch(
            &path,
            &json!({ "title": "Report", "priority": "high", "tags": null }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        api.post(&format!("{path}/complete"), &json!({}))
            .await
            .status,
        200
    );
    assert_eq!(
        api.post(&format!("{path}/reopen"), &json!({})).await.status,
        200
    );
    assert_eq!(api.delete(&path).await.status, 204);

    let newest_first = wait_entries(&api, 5).await;
    let entries: Vec<Value> = newest_first.into_iter().rev().collect();
    let types: Vec<&str> = entries
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "todo.task.created.v1",
            "todo.task.updated.v1",
            "todo.task.completed.v1",
            "todo.task.reopened.v1",
            "todo.task.deleted.v1"
        ]
    );
    // The entries carry the published events' ids, in the published order.
    let published = task_events_of(&env, &user, 5).await;
    for (i, (entry, event)) in entries.iter().zip(&published).enumerate() {
        assert_eq!(entry["seq"], i as u64 + 1);
        assert_eq!(entry["eventId"], event["id"]);
        assert_eq!(entry["taskId"], id.as_str());
        assert_eq!(entry["actor"], user.as_str());
        assert_eq!(entry["at"], event["time"]);
    }

    assert_eq!(
        fields(&entries[0]),
        ["title", "status", "priority", "tags", "dueAt", "timezone"]
    );
    assert_eq!(
        changes(&entries[1]),
        [
            ("title".into(), json!("Draft"), json!("Report")),
            ("priority".into(), json!("medium"), json!("high")),
            ("tags".into(), json!(["work"]), Value::Null),
        ]
    );
    assert_eq!(fields(&entries[2]), ["status", "completedAt"]);
    assert_eq!(changes(&entries[2])[0].2, json!("completed"));
    assert_eq!(fields(&entries[3]), ["status", "completedAt"]);
    assert_eq!(changes(&entries[3])[0].2, json!("open"));
    assert_eq!(
        fields(&entries[4]),
        ["title", "status", "priority", "dueAt", "timezone"]
    );
    assert!(changes(&entries[4]).iter().all(|(_, _, to)| to.is_null()));

    // One task's history, oldest first; another user sees none of it.
    let history = api.get(&format!("/api/audit/tasks/{id}")).await;
    assert_eq!(history.status, 200);
    assert_eq!(history.json()["items"].as_array().unwrap().len(), 5);
    let mallory = env.api(&unique_user("mallory"));
    mallory
        .get(&format!("/api/audit/tasks/{id}"))
        .await
        .problem(404);
    assert_eq!(mallory.get("/api/audit").await.json()["total"], 0);
    env.anonymous().get("/api/audit").await.problem(401);

    let verdict = api.get("/api/audit/verify").await;
    assert_eq!(verdict.status, 200);
    assert_eq!(verdict.json(), json!({ "ok": true, "entries": 5 }));
    assert!(dead_letters(env.store(), GROUP).await.is_empty());
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_delivered_five_times_is_one_entry_and_tampering_is_found() {
    let env = start(&["audit"]).await;
    let user = unique_user("dupes");
    let api = env.api(&user);
    api.create(json!({ "title": "once" })).await;
    wait_entries(&api, 1).await;

    // The same CloudEvent (same id) four more times, then a fresh change of
    // the same user (same partition, so delivered after them).
    let event = task_events_of(&env, &user, 1).await.remove(0);
    for _ in 0..4 {
        publish(&env, &user, event.to_string().as_bytes(), false).await;
    }
    let second = api.create(json!({ "title": "twice" })).await;
    let entries = wait_entries(&api, 2).await;
    assert_eq!(entries[1]["eventId"], event["id"]);
    assert_eq!(entries[0]["taskId"], id_of(&second).as_str());
    assert_eq!(env.stack.store.pending_deliveries(GROUP).await.unwrap(), 0);
    assert_eq!(api.get("/api/audit").await.json()["total"], 2);

    api.create(json!({ "title": "thrice" })).await;
    wait_entries(&api, 3).await;
    assert_eq!(
        api.get("/api/audit/verify").await.json(),
        json!({ "ok": true, "entries": 3 })
    );

    // Someone edits entry 2 in the store behind the API's back.
    let key = format!("audit||entry/{user}/2");
    let stored = env.stack.store.state_get("statestore", &key).await.unwrap();
    let mut entry: Value = serde_json::from_slice(&stored.expect("entry 2").value).unwrap();
    entry["changes"][0]["to"] = json!("rewritten history");
    env.stack
        .store
        .state_apply(
            "statestore",
            vec![devstack::store::StateOp::Set {
                key,
                value: serde_json::to_vec(&entry).unwrap(),
                etag: None,
                first_write: false,
                expires_at: None,
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        api.get("/api/audit/verify").await.json(),
        json!({ "ok": false, "entries": 3, "brokenAt": 2 })
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_events_are_dropped_to_the_dead_letter_topic() {
    let env = start(&["audit"]).await;
    let user = unique_user("poison");
    let api = env.api(&user);
    api.create(json!({ "title": "a real one" })).await;
    wait_entries(&api, 1).await;
    let good = task_events_of(&env, &user, 1).await.remove(0);

    let mut unknown_version = good.clone();
    unknown_version["id"] = json!("poison-1");
    unknown_version["type"] = json!("todo.task.created.v2");
    let mut missing_user = good.clone();
    missing_user["id"] = json!("poison-2");
    missing_user["data"]
        .as_object_mut()
        .unwrap()
        .remove("userId");
    let mut wrong_types = good.clone();
    wrong_types["id"] = json!("poison-3");
    wrong_types["data"]["version"] = json!("seven");
    publish(&env, &user, b"\x00 this is not JSON {", true).await;
    publish(&env, &user, br#"{"no":"cloudevent"}"#, true).await;
    for poison in [&unknown_version, &missing_user, &wrong_types] {
        publish(&env, &user, poison.to_string().as_bytes(), false).await;
    }
    // Valid events after them are still recorded.
    api.create(json!({ "title": "after the poison" })).await;
    wait_entries(&api, 2).await;

    let dropped = wait_dead_letters(env.store(), GROUP, 5).await;
    assert_eq!(dropped.len(), 5, "{dropped:?}");
    // Bytes that are not JSON never reach the app: the sidecar cannot read
    // them as a CloudEvent and drops them itself, as daprd does.
    assert_eq!(dropped[0].data, b"\x00 this is not JSON {");
    assert!(
        dropped[0].reason.contains("cloud event"),
        "{}",
        dropped[0].reason
    );
    for letter in &dropped[1..] {
        let reason = &letter.reason;
        assert!(reason.contains("DROP"), "the app replied DROP: {reason}");
    }
    // Sent to the app directly (as its sidecar would), they are DROP too.
    let app = env.raw(env.stack.apps["audit"].app);
    for body in [&b"\x00 this is not JSON {"[..], b"", b"[]"] {
        let r = app
            .call(
                "POST",
                "/events/audit/task-events",
                &[
                    ("content-type", "application/cloudevents+json"),
                    ("dapr-api-token", &env.secrets.app_token),
                ],
                body,
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json(), json!({ "status": "DROP" }));
    }
    let dlq = env
        .stack
        .store
        .messages(PUBSUB, "task-events-dlq")
        .await
        .unwrap();
    assert!(
        dlq.len() >= 5,
        "dropped messages go to the dead-letter topic"
    );
    assert_eq!(
        api.get("/api/audit/verify").await.json(),
        json!({ "ok": true, "entries": 2 })
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_is_retried_until_the_store_is_back() {
    let env = start(&["audit"]).await;
    let user = unique_user("outage");
    let api = env.api(&user);
    let outage = StoreOutage::of(&env, "audit||");
    api.create(json!({ "title": "during the outage" })).await;

    // audit answers RETRY; the sidecar keeps the delivery and retries it.
    eventually("a retried delivery", || async {
        (attempts(&env, GROUP) >= 2).then_some(())
    })
    .await;
    assert_eq!(api.get("/api/audit").await.json()["total"], 0);

    outage.heal();
    let entries = wait_entries(&api, 1).await;
    assert_eq!(entries[0]["type"], "todo.task.created.v1");
    assert!(dead_letters(env.store(), GROUP).await.is_empty());
    assert_eq!(
        api.get("/api/audit/verify").await.json(),
        json!({ "ok": true, "entries": 1 })
    );
    env.shutdown().await;
}
