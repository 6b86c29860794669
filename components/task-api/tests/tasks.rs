//! task-api's handlers end to end over the fake sidecar: state layout,
//! transactions, the outbox, idempotency, preconditions and ownership.

mod support;

use serde_json::json;
use support::*;

#[test]
fn create_commits_task_index_and_outbox_in_one_transaction_then_publishes() {
    let h = harness();
    let task = create(
        &h,
        "alice",
        json!({ "title": "Write report", "tags": ["work"] }),
    );
    let id = task["id"].as_str().unwrap();

    // One transaction wrote both documents; publishes came after it.
    let calls = h.dapr.calls();
    let tx = calls
        .iter()
        .position(|(m, p)| m == "POST" && p.ends_with("/transaction"))
        .expect("a transaction");
    let first_publish = calls
        .iter()
        .position(|(_, p)| p.starts_with("/v1.0/publish/"))
        .expect("a publish");
    assert!(tx < first_publish, "published before commit: {calls:?}");
    assert_eq!(
        calls
            .iter()
            .filter(|(_, p)| p.ends_with("/transaction"))
            .count(),
        1
    );

    let stored = h
        .dapr
        .get(STORE, &format!("task/{id}"))
        .expect("task stored");
    assert_eq!(stored.value["owner"], "alice");
    assert_eq!(stored.value["task"]["title"], "Write report");
    let index = index(&h, "alice");
    assert_eq!(index["tasks"][0]["id"], id);
    assert_eq!(
        index["outbox"],
        json!([]),
        "outbox emptied after publishing"
    );

    assert_eq!(types_on(&h, "task-events"), ["todo.task.created.v1"]);
    assert_eq!(types_on(&h, "task-updates"), ["todo.sync.task-changed.v1"]);
    assert!(
        types_on(&h, "reminders").is_empty(),
        "no reminder without dueAt"
    );

    let published = &h.dapr.published_on("task-events")[0];
    assert_eq!(published.pubsub, "kafka-pubsub");
    assert_eq!(published.content_type, "application/cloudevents+json");
    assert_eq!(published.partition_key.as_deref(), Some("alice"));
    assert_eq!(published.event["specversion"], "1.0");
    assert_eq!(published.event["data"]["taskId"], id);
    assert_eq!(published.event["data"]["userId"], "alice");
    assert!(published.event["data"].get("previous").is_none());
}

#[test]
fn create_answers_201_with_location_etag_and_defaults() {
    let h = harness();
    let reply = call("POST", "/api/tasks")
        .user("alice")
        .json(json!({ "title": "  Buy milk  " }))
        .send(&h);
    assert_eq!(reply.status, 201);
    let id = reply.body["id"].as_str().unwrap();
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/tasks/{id}").as_str())
    );
    assert_eq!(reply.header("etag"), Some("\"1\""));
    assert_eq!(reply.body["title"], "Buy milk");
    assert_eq!(reply.body["status"], "open");
    assert_eq!(reply.body["priority"], "medium");
    assert_eq!(reply.body["version"], 1);

    let got = call("GET", &format!("/api/tasks/{id}"))
        .user("alice")
        .send(&h);
    assert_eq!(got.status, 200);
    assert_eq!(got.body, reply.body);
    assert_eq!(got.header("etag"), Some("\"1\""));
}

#[test]
fn idempotency_key_replays_the_same_task_and_refuses_a_different_body() {
    let h = harness();
    let first = call("POST", "/api/tasks")
        .user("alice")
        .header("idempotency-key", "k-1")
        .raw(
            "application/json",
            br#"{"title":"Pay rent","priority":"high"}"#,
        )
        .send(&h);
    assert_eq!(first.status, 201);

    // Same body, other key order and spacing: the same request.
    let again = call("POST", "/api/tasks")
        .user("alice")
        .header("idempotency-key", "k-1")
        .raw(
            "application/json",
            br#"{ "priority": "high", "title": "Pay rent" }"#,
        )
        .send(&h);
    assert_eq!(again.status, 200);
    assert_eq!(again.body["id"], first.body["id"]);
    assert!(again.header("location").is_none());

    let other = call("POST", "/api/tasks")
        .user("alice")
        .header("idempotency-key", "k-1")
        .json(json!({ "title": "Pay rent", "priority": "low" }))
        .send(&h);
    other.problem(422);

    assert_eq!(index(&h, "alice")["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(types_on(&h, "task-events").len(), 1, "one created event");

    let record = h
        .dapr
        .get(STORE, "idem/alice/k-1")
        .expect("idempotency record");
    assert_eq!(record.ttl_seconds, Some(24 * 3600));

    // Keys are per user: bob's k-1 is a new task.
    let bob = call("POST", "/api/tasks")
        .user("bob")
        .header("idempotency-key", "k-1")
        .json(json!({ "title": "Pay rent", "priority": "high" }))
        .send(&h);
    assert_eq!(bob.status, 201);
    assert_ne!(bob.body["id"], first.body["id"]);
}

#[test]
fn if_match_mismatch_is_412_and_changes_nothing() {
    let h = harness();
    let task = create(&h, "alice", json!({ "title": "Draft" }));
    let path = format!("/api/tasks/{}", task["id"].as_str().unwrap());

    let stale = call("PATCH", &path)
        .user("alice")
        .header("if-match", "\"7\"")
        .raw("application/merge-patch+json", br#"{"title":"Final"}"#)
        .send(&h);
    stale.problem(412);
    // Weak tags never match under strong comparison (RFC 9110 §13.1.1).
    let weak = call("PATCH", &path)
        .user("alice")
        .header("if-match", "W/\"1\"")
        .raw("application/merge-patch+json", br#"{"title":"Final"}"#)
        .send(&h);
    weak.problem(412);
    assert_eq!(types_on(&h, "task-events"), ["todo.task.created.v1"]);

    let ok = call("PATCH", &path)
        .user("alice")
        .header("if-match", "\"0\", \"1\"")
        .raw("application/merge-patch+json", br#"{"title":"Final"}"#)
        .send(&h);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["title"], "Final");
    assert_eq!(ok.header("etag"), Some("\"2\""));

    let delete_stale = call("DELETE", &path)
        .user("alice")
        .header("if-match", "\"1\"")
        .send(&h);
    delete_stale.problem(412);
    let delete = call("DELETE", &path)
        .user("alice")
        .header("if-match", "*")
        .send(&h);
    assert_eq!(delete.status, 204);
}

#[test]
fn another_users_task_is_404_on_every_route() {
    let h = harness();
    let task = create(&h, "alice", json!({ "title": "Secret plan" }));
    let path = format!("/api/tasks/{}", task["id"].as_str().unwrap());
    call("GET", &path).user("mallory").send(&h).problem(404);
    call("PATCH", &path)
        .user("mallory")
        .json(json!({ "title": "pwned" }))
        .send(&h)
        .problem(404);
    call("POST", &format!("{path}/complete"))
        .user("mallory")
        .send(&h)
        .problem(404);
    call("POST", &format!("{path}/reopen"))
        .user("mallory")
        .send(&h)
        .problem(404);
    call("DELETE", &path).user("mallory").send(&h).problem(404);
    let list = call("GET", "/api/tasks").user("mallory").send(&h);
    assert_eq!(list.body["total"], 0);

    let mine = call("GET", &path).user("alice").send(&h);
    assert_eq!(mine.body["title"], "Secret plan");
    call("GET", "/api/tasks/not-a-uuid")
        .user("alice")
        .send(&h)
        .problem(404);
}

#[test]
fn failed_publish_keeps_events_in_the_outbox_until_the_next_request() {
    let h = harness();
    h.dapr.fail_publishes(1);
    let task = create(&h, "alice", json!({ "title": "Survive outages" }));
    assert!(h.dapr.published().is_empty());
    let left = index(&h, "alice")["outbox"].as_array().unwrap().len();
    assert_eq!(left, 2, "created + sync event kept");
    let shard = (0..16)
        .filter_map(|s| h.dapr.get(STORE, &format!("outbox-pending/{s}")))
        .next()
        .expect("failure recorded for the sweep");
    assert_eq!(shard.value["users"], json!(["alice"]));

    let list = call("GET", "/api/tasks").user("alice").send(&h);
    assert_eq!(list.status, 200);
    assert_eq!(types_on(&h, "task-events"), ["todo.task.created.v1"]);
    assert_eq!(
        h.dapr.published_on("task-events")[0].event["data"]["taskId"],
        task["id"]
    );
    assert_eq!(index(&h, "alice")["outbox"], json!([]));
}

#[test]
fn reading_one_task_also_flushes_a_leftover_outbox() {
    let h = harness();
    h.dapr.fail_publishes(1);
    let task = create(&h, "alice", json!({ "title": "Read me" }));
    assert!(h.dapr.published().is_empty());
    let got = call(
        "GET",
        &format!("/api/tasks/{}", task["id"].as_str().unwrap()),
    )
    .user("alice")
    .send(&h);
    assert_eq!(got.status, 200);
    assert_eq!(types_on(&h, "task-events"), ["todo.task.created.v1"]);
    assert_eq!(index(&h, "alice")["outbox"], json!([]));
}

#[test]
fn outbox_keeps_order_across_a_failure() {
    let h = harness();
    h.dapr.fail_publishes(1);
    let task = create(&h, "alice", json!({ "title": "Ordered" }));
    let path = format!("/api/tasks/{}/complete", task["id"].as_str().unwrap());
    call("POST", &path).user("alice").send(&h);
    assert_eq!(
        types_on(&h, "task-events"),
        ["todo.task.created.v1", "todo.task.completed.v1"],
        "the leftover created event goes out before the completion"
    );
}

#[test]
fn the_sweep_publishes_what_failed_and_clears_the_pending_record() {
    let h = harness();
    h.dapr.fail_publishes(1);
    create(&h, "alice", json!({ "title": "Swept" }));
    assert!(h.dapr.published().is_empty());

    let unauthorized = call("POST", "/internal/outbox-sweep").send(&h);
    unauthorized.problem(401);

    let sweep = call("POST", "/internal/outbox-sweep")
        .header("dapr-api-token", APP_TOKEN)
        .send(&h);
    assert_eq!(sweep.status, 200, "{}", sweep.body);
    assert_eq!(sweep.body["users"], 1);
    assert_eq!(sweep.body["published"], 2);
    assert_eq!(sweep.body["remaining"], 0);
    assert_eq!(types_on(&h, "task-events"), ["todo.task.created.v1"]);
    assert_eq!(index(&h, "alice")["outbox"], json!([]));
    let pending: Vec<_> = (0..16)
        .filter_map(|s| h.dapr.get(STORE, &format!("outbox-pending/{s}")))
        .flat_map(|e| e.value["users"].as_array().cloned().unwrap_or_default())
        .collect();
    assert!(pending.is_empty(), "pending users cleared: {pending:?}");

    // A second sweep has nothing to do.
    let again = call("POST", "/internal/outbox-sweep")
        .header("dapr-api-token", APP_TOKEN)
        .send(&h);
    assert_eq!(again.body["published"], 0);
    assert_eq!(types_on(&h, "task-events").len(), 1);
}

#[test]
fn reminders_are_scheduled_and_cancelled_on_the_right_transitions() {
    let h = harness();
    let task = create(
        &h,
        "alice",
        json!({ "title": "Call Bob", "dueAt": "2026-12-01T09:00:00Z",
                "reminder": { "before": "PT15M", "channels": ["inbox", "email"] } }),
    );
    let path = format!("/api/tasks/{}", task["id"].as_str().unwrap());
    let reminders = |h: &Harness| h.dapr.published_on("reminders");
    assert_eq!(types_on(&h, "reminders"), ["todo.reminder.scheduled.v1"]);
    let scheduled = &reminders(&h)[0].event["data"];
    assert_eq!(scheduled["remindAt"], "2026-12-01T08:45:00Z");
    assert_eq!(scheduled["dueAt"], "2026-12-01T09:00:00Z");
    assert_eq!(scheduled["channels"], json!(["inbox", "email"]));
    assert_eq!(scheduled["version"], 1);

    // Unrelated change: no reminder event.
    call("PATCH", &path)
        .user("alice")
        .json(json!({ "tags": ["x"] }))
        .send(&h);
    assert_eq!(reminders(&h).len(), 1);

    // Moving the due date reschedules.
    call("PATCH", &path)
        .user("alice")
        .json(json!({ "dueAt": "2026-12-02T09:00:00Z" }))
        .send(&h);
    assert_eq!(
        types_on(&h, "reminders"),
        ["todo.reminder.scheduled.v1", "todo.reminder.scheduled.v1"]
    );
    assert_eq!(
        reminders(&h)[1].event["data"]["remindAt"],
        "2026-12-02T08:45:00Z"
    );

    call("POST", &format!("{path}/complete"))
        .user("alice")
        .send(&h);
    assert_eq!(
        types_on(&h, "reminders").last().unwrap(),
        "todo.reminder.cancelled.v1"
    );
    call("POST", &format!("{path}/reopen"))
        .user("alice")
        .send(&h);
    assert_eq!(
        types_on(&h, "reminders").last().unwrap(),
        "todo.reminder.scheduled.v1"
    );
    call("PATCH", &path)
        .user("alice")
        .json(json!({ "reminder": null }))
        .send(&h);
    assert_eq!(
        types_on(&h, "reminders").last().unwrap(),
        "todo.reminder.cancelled.v1"
    );
    let count = reminders(&h).len();
    call("DELETE", &path).user("alice").send(&h);
    assert_eq!(reminders(&h).len(), count, "no reminder left to cancel");

    let other = create(
        &h,
        "alice",
        json!({ "title": "Dentist", "dueAt": "2026-12-03T09:00:00Z", "reminder": { "before": "PT1H" } }),
    );
    call(
        "DELETE",
        &format!("/api/tasks/{}", other["id"].as_str().unwrap()),
    )
    .user("alice")
    .send(&h);
    assert_eq!(
        types_on(&h, "reminders").last().unwrap(),
        "todo.reminder.cancelled.v1"
    );
}

#[test]
fn complete_and_reopen_are_idempotent() {
    let h = harness();
    let task = create(&h, "alice", json!({ "title": "Once" }));
    let path = format!("/api/tasks/{}/complete", task["id"].as_str().unwrap());
    let first = call("POST", &path).user("alice").send(&h);
    assert_eq!(first.status, 200);
    assert_eq!(first.body["status"], "completed");
    assert_eq!(first.body["completedAt"], "2026-11-27T10:00:00Z");
    let second = call("POST", &path).user("alice").send(&h);
    assert_eq!(second.status, 200);
    assert_eq!(second.body["version"], first.body["version"]);
    assert_eq!(
        types_on(&h, "task-events"),
        ["todo.task.created.v1", "todo.task.completed.v1"]
    );
}

#[test]
fn a_lost_race_is_reread_and_both_changes_survive() {
    let h = harness();
    let first = create(&h, "alice", json!({ "title": "First" }));
    // Another request rewrites alice's index between our read and our commit.
    let index_now = index(&h, "alice");
    h.dapr.race_next_transaction(move |state| {
        state.put(STORE, "user/alice", index_now);
    });
    let second = create(&h, "alice", json!({ "title": "Second" }));
    let ids: Vec<_> = index(&h, "alice")["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(ids, vec![first["id"].clone(), second["id"].clone()]);
    let transactions = h
        .dapr
        .calls()
        .iter()
        .filter(|(_, p)| p.ends_with("/transaction"))
        .count();
    assert_eq!(transactions, 3, "one retry after the conflict");
}

#[test]
fn list_filters_sorts_pages_and_counts_tags() {
    let h = harness();
    for (title, priority, tags) in [
        ("alpha", "low", vec!["home"]),
        ("bravo", "urgent", vec!["work", "q4"]),
        ("charlie", "high", vec!["work"]),
    ] {
        create(
            &h,
            "alice",
            json!({ "title": title, "priority": priority, "tags": tags }),
        );
    }
    create(&h, "bob", json!({ "title": "bob's", "tags": ["work"] }));

    let work = call("GET", "/api/tasks?tag=work&sort=-priority")
        .user("alice")
        .send(&h);
    assert_eq!(work.status, 200, "{}", work.body);
    let titles: Vec<_> = work.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].clone())
        .collect();
    assert_eq!(titles, [json!("bravo"), json!("charlie")]);
    assert_eq!(work.body["total"], 2);

    let page1 = call("GET", "/api/tasks?sort=title&limit=2")
        .user("alice")
        .send(&h);
    assert_eq!(page1.body["items"].as_array().unwrap().len(), 2);
    let cursor = page1.body["nextCursor"].as_str().expect("more pages");
    let page2 = call(
        "GET",
        &format!("/api/tasks?sort=title&limit=2&cursor={cursor}"),
    )
    .user("alice")
    .send(&h);
    assert_eq!(page2.body["items"][0]["title"], "charlie");
    assert!(page2.body["nextCursor"].is_null());

    call("GET", "/api/tasks?sort=sideways")
        .user("alice")
        .send(&h)
        .problem(400);
    call("GET", "/api/tasks?limit=201")
        .user("alice")
        .send(&h)
        .problem(400);

    let tags = call("GET", "/api/tags").user("alice").send(&h);
    assert_eq!(
        tags.body["items"],
        json!([{ "tag": "work", "count": 2 }, { "tag": "home", "count": 1 }, { "tag": "q4", "count": 1 }])
    );
}

#[test]
fn next_occurrence_needs_the_app_token_and_an_idempotency_key() {
    let h = harness();
    let body = json!({ "userId": "alice", "task": {
        "title": "Weekly review", "dueAt": "2026-12-07T09:00:00Z", "timezone": "Europe/Berlin",
        "recurrence": { "rrule": "FREQ=WEEKLY", "seriesId": "0193a000-0000-7000-8000-000000000001", "occurrence": 2 } } });
    call("POST", "/internal/tasks/next")
        .header("idempotency-key", "s:2")
        .json(body.clone())
        .send(&h)
        .problem(401);
    call("POST", "/internal/tasks/next")
        .header("dapr-api-token", "wrong")
        .header("idempotency-key", "s:2")
        .json(body.clone())
        .send(&h)
        .problem(401);
    call("POST", "/internal/tasks/next")
        .header("dapr-api-token", APP_TOKEN)
        .json(body.clone())
        .send(&h)
        .problem(400);

    let created = call("POST", "/internal/tasks/next")
        .header("dapr-api-token", APP_TOKEN)
        .header("idempotency-key", "s:2")
        .json(body.clone())
        .send(&h);
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["recurrence"]["occurrence"], 2);
    assert_eq!(
        created.body["recurrence"]["seriesId"],
        "0193a000-0000-7000-8000-000000000001"
    );
    let replay = call("POST", "/internal/tasks/next")
        .header("dapr-api-token", APP_TOKEN)
        .header("idempotency-key", "s:2")
        .json(body)
        .send(&h);
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body["id"], created.body["id"]);
    // Occurrence keys never expire: a reopen + complete a week later must
    // still replay instead of creating the occurrence twice.
    let record = h
        .dapr
        .get(STORE, "idem/alice/s%3A2")
        .expect("idempotency record");
    assert_eq!(record.ttl_seconds, None);

    let listed = call("GET", "/api/tasks").user("alice").send(&h);
    assert_eq!(listed.body["total"], 1);
}
