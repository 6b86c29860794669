//! Completions of recurring tasks: the exact service invocation, one next
//! occurrence however often it is triggered, the end of a series, and
//! Dapr's reply semantics.

mod support;

use chrono::Duration;
use serde_json::{json, Value};
use support::*;
use todo_core::events::TaskChange;

fn weekly() -> todo_core::Task {
    task(
        0x5E,
        json!({
            "title": "Weekly report",
            "description": "send it",
            "priority": "high",
            "tags": ["work", "reports"],
            "dueAt": "2026-03-23T08:00:00Z",
            "timezone": "Europe/Berlin",
            "reminder": { "before": "PT15M", "channels": ["inbox", "email"] },
            "recurrence": { "rrule": "FREQ=WEEKLY;BYDAY=MO" }
        }),
    )
}

#[test]
fn a_completion_creates_the_next_occurrence_through_task_api() {
    let h = harness();
    let task = weekly();
    let (_, completed) = complete(&task, t0(), 1);
    assert_eq!(deliver(&h, &completed), "SUCCESS");

    let invoked = h.dapr.invoked();
    assert_eq!(invoked.len(), 1);
    let call = &invoked[0];
    assert_eq!(call.app_id, "task-api");
    assert_eq!(call.method, "POST");
    assert_eq!(call.path, "internal/tasks/next");
    assert!(h
        .dapr
        .calls()
        .iter()
        .any(|(m, p)| m == "POST" && p == "/v1.0/invoke/task-api/method/internal/tasks/next"));
    let series = task.recurrence.as_ref().unwrap().series_id;
    assert_eq!(
        call.headers["idempotency-key"],
        format!("{series}:2").as_str()
    );
    assert_eq!(call.headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(
        body,
        json!({
            "userId": "alice",
            "task": {
                "title": "Weekly report",
                "description": "send it",
                "priority": "high",
                "tags": ["work", "reports"],
                // 09:00 local stays 09:00 across the 2026-03-29 DST change.
                "dueAt": "2026-03-30T07:00:00Z",
                "timezone": "Europe/Berlin",
                "reminder": { "before": "PT15M", "channels": ["inbox", "email"] },
                "recurrence": {
                    "rrule": "FREQ=WEEKLY;BYDAY=MO",
                    "from": "due",
                    "seriesId": series.to_string(),
                    "occurrence": 2,
                    // the series' anchor travels with it (issue 14)
                    "dtstart": "2026-03-23T08:00:00Z"
                }
            }
        })
    );
}

#[test]
fn redeliveries_and_reopen_complete_create_one_next_occurrence() {
    let h = harness();
    let task = task(
        0x5F,
        json!({
            "title": "Water plants",
            "dueAt": "2026-11-27T08:00:00Z",
            "recurrence": { "rrule": "FREQ=DAILY;INTERVAL=3", "from": "completion" }
        }),
    );
    let (done, first) = complete(&task, t0(), 1);
    for _ in 0..3 {
        assert_eq!(deliver(&h, &first), "SUCCESS");
    }
    // Reopened, then completed again a day later: another event, another
    // next due date, the same occurrence.
    let mut reopened = done.clone();
    reopened.reopen(t0());
    let (_, again) = complete(&reopened, t0() + Duration::days(1), 2);
    assert_eq!(deliver(&h, &again), "SUCCESS");

    assert_eq!(h.dapr.invoked().len(), 4);
    let created = h.created.lock().unwrap();
    assert_eq!(created.len(), 1, "{created:?}");
    let key = format!("{}:2", task.id);
    assert_eq!(created[&key]["task"]["dueAt"], "2026-11-30T08:00:00Z");
}

#[test]
fn the_end_of_a_series_creates_nothing() {
    let h = harness();
    // COUNT=3: occurrence 3 is the last.
    let mut last = task(
        1,
        json!({
            "title": "Three times",
            "dueAt": "2026-11-27T08:00:00Z",
            "recurrence": { "rrule": "FREQ=DAILY;COUNT=3" }
        }),
    );
    last.recurrence.as_mut().unwrap().occurrence = 3;
    let (_, completed) = complete(&last, t0(), 1);
    assert_eq!(deliver(&h, &completed), "SUCCESS");
    // UNTIL before the next date.
    let until = task(
        2,
        json!({
            "title": "Until",
            "dueAt": "2026-11-27T08:00:00Z",
            "recurrence": { "rrule": "FREQ=WEEKLY;UNTIL=20261203T000000Z" }
        }),
    );
    let (_, completed) = complete(&until, t0(), 2);
    assert_eq!(deliver(&h, &completed), "SUCCESS");
    assert!(h.dapr.invoked().is_empty());

    // Occurrence 2 of 3 still has a successor.
    let mut second = last.clone();
    second.recurrence.as_mut().unwrap().occurrence = 2;
    let (_, completed) = complete(&second, t0(), 3);
    assert_eq!(deliver(&h, &completed), "SUCCESS");
    let invoked = h.dapr.invoked();
    assert_eq!(invoked.len(), 1);
    assert_eq!(
        invoked[0].headers["idempotency-key"],
        "00000000-0000-0000-0000-000000000001:3"
    );
}

#[test]
fn other_events_are_acknowledged_without_work() {
    let h = harness();
    let task = weekly();
    let (done, _) = complete(&task, t0(), 1);
    let mut edited = task.clone();
    edited.apply(weekly().fields(), t0());
    let others = [
        event(TaskChange::Created, None, Some(&task), 1),
        event(TaskChange::Updated, Some(&task), Some(&edited), 2),
        event(TaskChange::Reopened, Some(&done), Some(&task), 3),
        event(TaskChange::Deleted, Some(&task), None, 4),
    ];
    for other in &others {
        for path in [DELIVERY, "/events/recurrence/task-events/other"] {
            assert_eq!(
                deliver_on(&h, path, other.to_string().as_bytes()),
                "SUCCESS"
            );
        }
    }
    // A completed task that does not recur.
    let plain = support::task(9, json!({ "title": "Once" }));
    let (_, completed) = complete(&plain, t0(), 5);
    assert_eq!(deliver(&h, &completed), "SUCCESS");
    assert!(h.dapr.invoked().is_empty());
    // A completion on the default path is still handled.
    let (_, completed) = complete(&task, t0(), 6);
    let body = completed.to_string();
    assert_eq!(
        deliver_on(&h, "/events/recurrence/task-events/other", body.as_bytes()),
        "SUCCESS"
    );
    assert_eq!(h.dapr.invoked().len(), 1);
}

#[test]
fn unreadable_events_and_uncomputable_tasks_are_dropped() {
    let h = harness();
    let (_, good) = complete(&weekly(), t0(), 1);
    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut e = good.clone();
        edit(&mut e);
        e.to_string().into_bytes()
    };
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"\x00\x01not json".to_vec()),
        ("a string", b"\"hello\"".to_vec()),
        (
            "no type",
            edited(&|e| {
                e.as_object_mut().unwrap().remove("type");
            }),
        ),
        (
            "unknown version",
            edited(&|e| e["type"] = json!("todo.task.completed.v2")),
        ),
        (
            "no data",
            edited(&|e| {
                e.as_object_mut().unwrap().remove("data");
            }),
        ),
        ("no task", edited(&|e| e["data"]["task"] = Value::Null)),
        (
            "recurrence wrong type",
            edited(&|e| e["data"]["task"]["recurrence"] = json!("weekly")),
        ),
        (
            "occurrence missing",
            edited(&|e| {
                e["data"]["task"]["recurrence"]
                    .as_object_mut()
                    .unwrap()
                    .remove("occurrence");
            }),
        ),
        // Readable, but the next occurrence cannot be computed.
        (
            "bad timezone",
            edited(&|e| e["data"]["task"]["timezone"] = json!("Mars/Olympus")),
        ),
        (
            "bad rule",
            edited(&|e| e["data"]["task"]["recurrence"]["rrule"] = json!("FREQ=SOMETIMES")),
        ),
        (
            "no dueAt",
            edited(&|e| e["data"]["task"]["dueAt"] = Value::Null),
        ),
    ];
    for (what, body) in bodies {
        assert_eq!(deliver_on(&h, DELIVERY, &body), "DROP", "{what}");
    }
    assert!(h.dapr.invoked().is_empty());
}

#[test]
fn outages_are_retry_then_success_once_back() {
    let h = harness();
    let (_, completed) = complete(&weekly(), t0(), 1);
    // Our sidecar is down.
    h.dapr.set_down(true);
    assert_eq!(deliver(&h, &completed), "RETRY");
    h.dapr.set_down(false);
    // task-api unreachable (daprd's own error), then task-api's store down.
    h.failures.lock().unwrap().extend([
        respond(
            500,
            json!({ "errorCode": "ERR_DIRECT_INVOKE", "message": "failed to invoke, id: task-api" }),
        ),
        respond(
            503,
            json!({ "type": "/problems/service-unavailable", "title": "Service Unavailable", "status": 503, "detail": "store down" }),
        ),
        respond(401, json!({ "type": "/problems/unauthorized", "title": "Unauthorized", "status": 401, "detail": "wrong token" })),
    ]);
    for _ in 0..3 {
        assert_eq!(deliver(&h, &completed), "RETRY");
    }
    assert_eq!(deliver(&h, &completed), "SUCCESS");
    assert_eq!(h.created.lock().unwrap().len(), 1);
}

#[test]
fn a_refusal_by_task_api_is_dropped_but_a_deleted_occurrence_is_done() {
    let h = harness();
    let (_, completed) = complete(&weekly(), t0(), 1);
    h.failures.lock().unwrap().extend([
        respond(422, json!({ "type": "/problems/validation-error", "title": "Invalid", "status": 422, "detail": "title: too long" })),
        respond(400, json!({ "type": "/problems/bad-request", "title": "Bad Request", "status": 400, "detail": "bad" })),
        respond(404, json!({ "type": "about:blank", "title": "Not Found", "status": 404, "detail": "the task created with this Idempotency-Key has since been deleted" })),
    ]);
    assert_eq!(deliver(&h, &completed), "DROP");
    assert_eq!(deliver(&h, &completed), "DROP");
    assert_eq!(deliver(&h, &completed), "SUCCESS");
}

#[test]
fn deliveries_need_the_app_token() {
    let h = harness();
    let (_, completed) = complete(&weekly(), t0(), 1);
    let request = http::Request::post(DELIVERY)
        .header("dapr-api-token", "wrong")
        .body(completed.to_string().into_bytes())
        .unwrap();
    assert_eq!(send(&h, request).0, 401);
    assert!(h.dapr.invoked().is_empty());
}
