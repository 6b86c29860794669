//! task-api's handlers end to end over the fake sidecar: state layout,
//! transactions, the outbox, idempotency, preconditions and ownership.

mod support;

use serde_json::json;
use support::*;

#[test]
fn create_commits_task_page_and_outbox_in_one_transaction_then_publishes() {
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

    let stored = task_doc(&h, id);
    assert_eq!(stored["owner"], "alice");
    assert_eq!(stored["task"]["title"], "Write report");
    assert!(stored.get("outbox").is_none(), "outbox emptied: {stored}");
    let index = summaries(&h, "alice");
    assert_eq!(index.len(), 1);
    assert_eq!(index[0]["id"], id);
    assert_eq!(index[0]["tags"], json!(["work"]));
    assert!(h.dapr.keys(STORE).iter().all(|k| !k.starts_with("user/")));

    // The outbox job was armed before the commit and disarmed after it all
    // went out.
    let jobs = h.dapr.job_calls();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert_eq!(jobs[0].method, "POST");
    assert!(jobs[0].name.starts_with(&format!("outbox-{id}-")));
    assert_eq!(jobs[0].body["dueTime"], "2026-11-27T10:00:15Z");
    assert_eq!(jobs[0].body["data"]["taskId"], id);
    assert_eq!(
        (jobs[1].method.as_str(), &jobs[1].name),
        ("DELETE", &jobs[0].name)
    );
    let arm = calls
        .iter()
        .position(|(_, p)| p.contains("/jobs/"))
        .unwrap();
    assert!(arm < tx, "the job is armed before the commit");

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

    assert_eq!(summaries(&h, "alice").len(), 1);
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
fn replaying_a_key_whose_task_was_deleted_is_a_typed_404() {
    let h = harness();
    let first = call("POST", "/api/tasks")
        .user("alice")
        .header("idempotency-key", "k-gone")
        .json(json!({ "title": "Short-lived" }))
        .send(&h);
    assert_eq!(first.status, 201);
    let path = format!("/api/tasks/{}", first.body["id"].as_str().unwrap());
    assert_eq!(call("DELETE", &path).user("alice").send(&h).status, 204);
    let replay = call("POST", "/api/tasks")
        .user("alice")
        .header("idempotency-key", "k-gone")
        .json(json!({ "title": "Short-lived" }))
        .send(&h);
    let problem = replay.problem(404);
    assert_eq!(problem["type"], "/problems/idempotency-key-task-deleted");
    assert!(problem["detail"].as_str().unwrap().contains("k-gone"));
    // Nothing was created again.
    assert_eq!(summaries(&h, "alice").len(), 0);
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
fn a_failed_publish_stays_in_the_task_outbox_until_its_job_fires() {
    let h = harness();
    h.dapr.fail_publishes(1);
    let task = create(&h, "alice", json!({ "title": "Survive outages" }));
    let id = task["id"].as_str().unwrap();
    // task-events failed; task-updates is another topic and went out.
    assert!(types_on(&h, "task-events").is_empty());
    assert_eq!(types_on(&h, "task-updates"), ["todo.sync.task-changed.v1"]);
    let outbox = task_doc(&h, id)["outbox"].clone();
    assert_eq!(outbox.as_array().unwrap().len(), 1, "{outbox}");
    assert_eq!(outbox[0]["event"]["type"], "todo.task.created.v1");
    let armed = armed_jobs(&h);
    assert_eq!(armed.len(), 1, "the job stays armed: {armed:?}");

    // The user never comes back; the job fires and publishes the leftover.
    call("POST", &format!("/job/{}", armed[0]))
        .send(&h)
        .problem(401);
    let fired = fire_job(&h, &armed[0]);
    assert_eq!(fired.status, 200, "{}", fired.body);
    assert_eq!(types_on(&h, "task-events"), ["todo.task.created.v1"]);
    assert_eq!(
        h.dapr.published_on("task-events")[0].event["data"]["taskId"],
        id
    );
    assert!(task_doc(&h, id).get("outbox").is_none());
    // Firing again (the Scheduler may) publishes nothing more.
    assert_eq!(fire_job(&h, &armed[0]).status, 200);
    assert_eq!(types_on(&h, "task-events").len(), 1);
}

#[test]
fn a_job_keeps_failing_while_publishing_fails_so_the_scheduler_retries() {
    let h = harness();
    h.dapr.fail_publishes(10);
    let task = create(&h, "alice", json!({ "title": "Down" }));
    assert!(h.dapr.published().is_empty());
    let armed = armed_jobs(&h);
    fire_job(&h, &armed[0]).problem(503);
    h.dapr.fail_publishes(0);
    assert_eq!(fire_job(&h, &armed[0]).status, 200);
    assert_eq!(types_on(&h, "task-events"), ["todo.task.created.v1"]);
    assert_eq!(types_on(&h, "task-updates"), ["todo.sync.task-changed.v1"]);
    assert!(task_doc(&h, task["id"].as_str().unwrap())
        .get("outbox")
        .is_none());
    // A job name that is not an outbox job's: 404, which Dapr counts as done.
    call("POST", "/job/reminder-x")
        .header("dapr-api-token", APP_TOKEN)
        .send(&h)
        .problem(404);
}

#[test]
fn crash_after_commit_before_publish_the_job_publishes_each_event_once() {
    let h = harness();
    // Every publish of the request fails, as if the instance died right
    // after the commit: nothing went out, nothing was disarmed.
    h.dapr.fail_publishes(3);
    let task = create(
        &h,
        "alice",
        json!({ "title": "Crash", "dueAt": "2026-12-01T09:00:00Z",
                "reminder": { "before": "PT15M" } }),
    );
    assert!(h.dapr.published().is_empty());
    let armed = armed_jobs(&h);
    let job = h.dapr.job(&armed[0]).unwrap();
    assert_eq!(job["dueTime"], "2026-11-27T10:00:15Z", "within 60 s");
    assert_eq!(job["failurePolicy"]["constant"]["interval"], "10s");

    assert_eq!(fire_job(&h, &armed[0]).status, 200);
    let ids: Vec<String> = h
        .dapr
        .published()
        .iter()
        .map(|p| p.event["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "created, reminder, sync: {ids:?}");
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 3, "each event exactly once");
    assert!(task_doc(&h, task["id"].as_str().unwrap())
        .get("outbox")
        .is_none());
}

#[test]
fn crash_after_publish_before_trim_republishes_the_same_ids_once_more() {
    let h = harness();
    let task = create(&h, "alice", json!({ "title": "Published" }));
    let id = task["id"].as_str().unwrap();
    let first: Vec<_> = h.dapr.published();
    // The instance died after publishing, before removing the events: the
    // committed outbox is still in the document and the job still armed.
    let mut doc = task_doc(&h, id);
    doc["outbox"] = first
        .iter()
        .map(|p| json!({"topic": p.topic, "partitionKey": "alice", "event": p.event}))
        .collect();
    h.dapr.put(STORE, &format!("task/{id}"), doc);
    let name = h.dapr.job_calls()[0].name.clone();

    assert_eq!(fire_job(&h, &name).status, 200);
    let again = h.dapr.published();
    assert_eq!(again.len(), 2 * first.len(), "published once more");
    for (a, b) in first.iter().zip(&again[first.len()..]) {
        // Same CloudEvent ids: consumers dedupe them.
        assert_eq!(a.event["id"], b.event["id"]);
    }
    assert!(task_doc(&h, id).get("outbox").is_none());
}

#[test]
fn reading_one_task_reads_only_its_document() {
    let h = harness();
    let task = create(&h, "alice", json!({ "title": "Read me" }));
    let before = h.dapr.calls().len();
    let got = call(
        "GET",
        &format!("/api/tasks/{}", task["id"].as_str().unwrap()),
    )
    .user("alice")
    .send(&h);
    assert_eq!(got.status, 200);
    let calls: Vec<_> = h.dapr.calls()[before..]
        .iter()
        .filter(|(_, p)| p.starts_with("/v1.0/state/"))
        .cloned()
        .collect();
    assert_eq!(
        calls,
        vec![(
            "GET".to_string(),
            format!(
                "/v1.0/state/statestore/task%2F{}",
                task["id"].as_str().unwrap()
            )
        )]
    );
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
fn a_user_of_the_previous_layout_is_migrated_on_first_touch() {
    let h = harness();
    // Written by the previous layout: one index document with every summary
    // and an unpublished event.
    let a = create(&h, "seed", json!({ "title": "Old one", "tags": ["work"] }));
    let b = create(&h, "seed", json!({ "title": "Old two" }));
    let old_summaries: Vec<_> = summaries(&h, "seed");
    for key in h.dapr.keys(STORE) {
        if key.starts_with("pages/seed/") {
            h.dapr.put(STORE, &key, json!({"tasks": []}));
        }
    }
    for id in [&a["id"], &b["id"]] {
        let mut doc = task_doc(&h, id.as_str().unwrap());
        doc["owner"] = json!("alice");
        h.dapr
            .put(STORE, &format!("task/{}", id.as_str().unwrap()), doc);
    }
    let leftover = json!({"topic": "task-events", "partitionKey": "alice",
        "event": {"id": "old-event-1", "type": "todo.task.updated.v1", "specversion": "1.0"}});
    h.dapr.put(
        STORE,
        "user/alice",
        json!({ "tasks": old_summaries, "outbox": [leftover] }),
    );
    let published_before = h.dapr.published().len();

    let list = call("GET", "/api/tasks?sort=title").user("alice").send(&h);
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["total"], 2);
    assert_eq!(list.body["items"][0]["title"], "Old one");
    assert!(
        h.dapr.get(STORE, "user/alice").is_none(),
        "old index removed"
    );
    assert_eq!(summaries(&h, "alice").len(), 2);
    let published = h.dapr.published();
    assert_eq!(published.len(), published_before + 1);
    assert_eq!(published.last().unwrap().event["id"], "old-event-1");

    // Changes and reads go on in the new layout.
    let path = format!("/api/tasks/{}/complete", a["id"].as_str().unwrap());
    assert_eq!(call("POST", &path).user("alice").send(&h).status, 200);
    let tags = call("GET", "/api/tags").user("alice").send(&h);
    assert_eq!(tags.body["items"], json!([{"tag": "work", "count": 1}]));
}

#[test]
fn the_sweep_migrates_users_the_previous_layout_left_pending() {
    let h = harness();
    let leftover = json!({"topic": "task-events", "partitionKey": "alice",
        "event": {"id": "old-event-2", "type": "todo.task.created.v1", "specversion": "1.0"}});
    h.dapr.put(
        STORE,
        "user/alice",
        json!({ "tasks": [], "outbox": [leftover] }),
    );
    h.dapr
        .put(STORE, "outbox-pending/3", json!({ "users": ["alice"] }));

    call("POST", "/internal/outbox-sweep").send(&h).problem(401);
    let sweep = call("POST", "/internal/outbox-sweep")
        .header("dapr-api-token", APP_TOKEN)
        .send(&h);
    assert_eq!(sweep.status, 200, "{}", sweep.body);
    assert_eq!(
        sweep.body,
        json!({"users": 1, "migrated": 1, "remaining": 0})
    );
    assert_eq!(h.dapr.published()[0].event["id"], "old-event-2");
    assert!(h.dapr.get(STORE, "user/alice").is_none());
    assert_eq!(
        h.dapr.get(STORE, "outbox-pending/3").unwrap().value["users"],
        json!([])
    );
}

#[test]
fn changes_reach_tasks_in_split_pages() {
    let h = harness();
    // A user with enough large tasks that their root pages split.
    let ids = seed(&h, "alice", 1500, 4000);
    let split = h
        .dapr
        .keys(STORE)
        .iter()
        .filter(|k| k.starts_with("pages/alice/") && k.contains('-'))
        .count();
    assert!(split > 0, "the seed made split pages");
    let target = &ids[700];
    let path = format!("/api/tasks/{target}");
    let patched = call("PATCH", &path)
        .user("alice")
        .raw("application/merge-patch+json", br#"{"title":"Moved on"}"#)
        .send(&h);
    assert_eq!(patched.status, 200, "{}", patched.body);
    let all = summaries(&h, "alice");
    assert_eq!(all.len(), 1500);
    let found: Vec<_> = all.iter().filter(|s| s["id"] == target.as_str()).collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["title"], "Moved on");

    let list = call("GET", "/api/tasks?q=moved&limit=5")
        .user("alice")
        .send(&h);
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["items"][0]["id"], target.as_str());
    assert_eq!(call("DELETE", &path).user("alice").send(&h).status, 204);
    assert_eq!(summaries(&h, "alice").len(), 1499);
    assert_eq!(
        task_doc(&h, target),
        json!(null),
        "tombstone removed once published"
    );
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
fn completing_moves_a_summary_between_status_trees_and_open_lists_skip_completed_pages() {
    let h = harness();
    let a = create(&h, "alice", json!({ "title": "Stay open" }));
    let b = create(&h, "alice", json!({ "title": "Get done" }));
    let b_id = b["id"].as_str().unwrap();
    let path = format!("/api/tasks/{b_id}/complete");
    assert_eq!(call("POST", &path).user("alice").send(&h).status, 200);
    let in_tree = |status: &str| -> Vec<String> {
        let prefix = format!("pages/alice/{status}/");
        h.dapr
            .keys(STORE)
            .iter()
            .filter(|k| k.starts_with(&prefix))
            .filter_map(|k| h.dapr.get(STORE, k))
            .flat_map(|e| e.value["tasks"].as_array().cloned().unwrap_or_default())
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(in_tree("open"), [a["id"].as_str().unwrap()]);
    assert_eq!(in_tree("completed"), [b_id]);

    // A list of open tasks reads only the open tree.
    let before = h.dapr.reads().len();
    let open = call("GET", "/api/tasks?status=open").user("alice").send(&h);
    assert_eq!(open.body["total"], 1);
    assert_eq!(open.body["items"][0]["id"], a["id"]);
    let read = h.dapr.reads()[before..].to_vec();
    assert!(read.iter().any(|k| k.starts_with("pages/alice/open/")));
    assert!(
        read.iter()
            .all(|k| !k.starts_with("pages/alice/completed/")),
        "{read:?}"
    );
    // Without a status filter both trees are read, and reopening moves back.
    let all = call("GET", "/api/tasks").user("alice").send(&h);
    assert_eq!(all.body["total"], 2);
    let reopen = format!("/api/tasks/{b_id}/reopen");
    assert_eq!(call("POST", &reopen).user("alice").send(&h).status, 200);
    assert_eq!(in_tree("completed"), Vec::<String>::new());
    assert_eq!(in_tree("open").len(), 2);
}

#[test]
fn a_lost_race_is_reread_and_both_changes_survive() {
    let h = harness();
    let first = create(&h, "alice", json!({ "title": "First" }));
    // Another request rewrites every root page of alice between our read and
    // our commit (creating the missing ones), whichever the new task lands in.
    h.dapr.race_next_transaction(move |state| {
        for root in 0..64 {
            let key = format!("pages/alice/open/{root}");
            let page = state.get(STORE, &key).unwrap_or(json!({"tasks": []}));
            state.put(STORE, &key, page);
        }
    });
    let second = create(&h, "alice", json!({ "title": "Second" }));
    let mut ids: Vec<_> = summaries(&h, "alice")
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    ids.sort_by_key(|v| v.as_str().unwrap().to_string());
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
