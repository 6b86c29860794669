//! `/events/notify/reminders`: reminder events become Dapr jobs (or stop
//! being one), with versions guarding against stale events.

mod support;

use chrono::Duration;
use serde_json::json;
use support::*;

fn record(h: &Harness) -> serde_json::Value {
    state(h, &format!("reminder/{TASK}"))
}

#[test]
fn scheduled_reminder_becomes_a_job_at_remind_at_with_its_data() {
    let h = harness();
    let data = reminder("alice", 1, t0() + Duration::minutes(10), json!(["inbox"]));
    assert_eq!(
        deliver(&h, envelope("scheduled", data.clone())).dapr_status(),
        "SUCCESS"
    );

    let job = h.dapr.job(&job_name()).expect("job scheduled");
    assert_eq!(job["dueTime"], "2026-11-27T10:10:00.000Z");
    assert_eq!(job["overwrite"], true);
    assert_eq!(job["data"], data, "the reminder itself is the job data");
    assert_eq!(
        job["failurePolicy"],
        json!({"constant": {"interval": "10s", "maxRetries": 30}}),
        "retried every 10 s for 5 min, not Dapr's default 1 s × 3"
    );
    let rec = record(&h);
    assert_eq!(rec["version"], 1);
    assert_eq!(rec["state"], "scheduled");
    let ttl = h
        .dapr
        .get(STORE, &format!("reminder/{TASK}"))
        .unwrap()
        .ttl_seconds;
    assert!(
        ttl.unwrap() > 30 * 86_400,
        "kept past the reminder: {ttl:?}"
    );
}

#[test]
fn a_moved_due_date_overwrites_the_job() {
    let h = harness();
    deliver(
        &h,
        envelope(
            "scheduled",
            reminder("alice", 1, t0() + Duration::minutes(10), json!(["inbox"])),
        ),
    );
    deliver(
        &h,
        envelope(
            "scheduled",
            reminder("alice", 2, t0() + Duration::minutes(50), json!(["inbox"])),
        ),
    );
    let job = h.dapr.job(&job_name()).unwrap();
    assert_eq!(job["dueTime"], "2026-11-27T10:50:00.000Z");
    assert_eq!(job["data"]["version"], 2);
    assert_eq!(job["failurePolicy"]["constant"]["maxRetries"], 30);
    assert_eq!(record(&h)["version"], 2);
}

#[test]
fn a_past_reminder_of_a_task_still_ahead_fires_at_once() {
    let h = harness();
    let data = reminder("alice", 1, t0() - Duration::minutes(5), json!(["inbox"]));
    assert_eq!(
        deliver(&h, envelope("scheduled", data.clone())).dapr_status(),
        "SUCCESS"
    );
    let job = h.dapr.job(&job_name()).unwrap();
    assert_eq!(job["dueTime"], "2026-11-27T10:00:00.000Z", "now");
    assert_eq!(job["failurePolicy"]["constant"]["interval"], "10s");
    assert_eq!(job["data"]["remindAt"], data["remindAt"]);
}

#[test]
fn a_reminder_of_a_task_already_due_is_ignored_and_unscheduled() {
    let h = harness();
    deliver(
        &h,
        envelope(
            "scheduled",
            reminder("alice", 1, t0() - Duration::hours(2), json!(["inbox"])),
        ),
    );
    assert!(h.dapr.job(&job_name()).is_none());
    assert_eq!(record(&h)["state"], "obsolete");
    assert_eq!(h.dapr.job_calls().last().unwrap().method, "DELETE");
}

#[test]
fn cancellation_deletes_the_job_and_older_events_are_stale() {
    let h = harness();
    let at = t0() + Duration::minutes(10);
    deliver(
        &h,
        envelope("scheduled", reminder("alice", 1, at, json!(["inbox"]))),
    );
    assert_eq!(
        deliver(
            &h,
            envelope("cancelled", reminder("alice", 2, at, json!(["inbox"])))
        )
        .dapr_status(),
        "SUCCESS"
    );
    assert!(h.dapr.job(&job_name()).is_none());
    assert_eq!(record(&h)["state"], "cancelled");

    // A late (reordered or redelivered) schedule of version 1: ignored.
    let calls = h.dapr.job_calls().len();
    assert_eq!(
        deliver(
            &h,
            envelope("scheduled", reminder("alice", 1, at, json!(["inbox"])))
        )
        .dapr_status(),
        "SUCCESS"
    );
    assert!(h.dapr.job(&job_name()).is_none());
    assert_eq!(
        h.dapr.job_calls().len(),
        calls,
        "no job call for a stale event"
    );
    assert_eq!(record(&h)["version"], 2);
}

/// A cancellation of version 2, handled concurrently, creates the record
/// between our read (nothing there) and our insert-only save of version 1.
/// However the store reports the lost first-write (409, or PostgreSQL v2's
/// 500 `ERR_STATE_SAVE`), notify re-reads, finds version 2 and leaves it.
fn a_lost_first_write_is_re_read(answer: fake_dapr::LostFirstWrite) {
    let h = harness();
    h.dapr.answer_lost_first_write(answer);
    h.dapr.race_next_save(|state| {
        state.put(
            STORE,
            &format!("reminder/{TASK}"),
            json!({"userId": "alice", "taskId": TASK, "version": 2, "state": "cancelled", "remindAt": null}),
        );
    });
    let at = t0() + Duration::minutes(10);
    let reply = deliver(
        &h,
        envelope("scheduled", reminder("alice", 1, at, json!(["inbox"]))),
    );
    assert_eq!(reply.dapr_status(), "SUCCESS", "{answer:?}");
    assert_eq!(
        record(&h)["version"],
        2,
        "{answer:?}: the newer record stays"
    );
    assert_eq!(record(&h)["state"], "cancelled");
    assert!(
        h.dapr.job(&job_name()).is_none(),
        "{answer:?}: the stale schedule made no job"
    );
}

#[test]
fn a_lost_first_write_answered_500_err_state_save_is_re_read() {
    a_lost_first_write_is_re_read(fake_dapr::LostFirstWrite::PostgresV2);
}

#[test]
fn a_lost_first_write_answered_409_is_re_read() {
    a_lost_first_write_is_re_read(fake_dapr::LostFirstWrite::EtagConflict);
}

#[test]
fn a_redelivered_event_is_applied_again_idempotently() {
    let h = harness();
    let event = envelope(
        "scheduled",
        reminder("alice", 3, t0() + Duration::minutes(10), json!(["inbox"])),
    );
    deliver(&h, event.clone());
    h.dapr.set_down(true);
    deliver(&h, event.clone());
    h.dapr.set_down(false);
    assert_eq!(deliver(&h, event).dapr_status(), "SUCCESS");
    assert_eq!(h.dapr.job(&job_name()).unwrap()["data"]["version"], 3);
}

#[test]
fn bad_deliveries_are_dropped() {
    let h = harness();
    let bad = |body: &[u8]| {
        call("POST", "/events/notify/reminders")
            .app_token()
            .raw("application/cloudevents+json", body)
            .send(&h)
            .dapr_status()
            .to_string()
    };
    assert_eq!(bad(b"not json"), "DROP");
    assert_eq!(bad(br#"{"data":{}}"#), "DROP", "not a CloudEvent");
    let mut unknown = envelope(
        "scheduled",
        reminder("alice", 1, t0() + Duration::minutes(1), json!(["inbox"])),
    );
    unknown["type"] = json!("todo.reminder.snoozed.v1");
    assert_eq!(bad(&serde_json::to_vec(&unknown).unwrap()), "DROP");
    let wrong_data = envelope("scheduled", json!({ "userId": "alice" }));
    assert_eq!(bad(&serde_json::to_vec(&wrong_data).unwrap()), "DROP");
    assert!(h.dapr.job_calls().is_empty());
}

#[test]
fn a_store_outage_is_retried() {
    let h = harness();
    h.dapr.set_state_down(true);
    let event = envelope(
        "scheduled",
        reminder("alice", 1, t0() + Duration::minutes(10), json!(["inbox"])),
    );
    assert_eq!(deliver(&h, event.clone()).dapr_status(), "RETRY");
    assert!(
        h.dapr.job_calls().is_empty(),
        "nothing scheduled without the record"
    );
    h.dapr.set_state_down(false);
    assert_eq!(deliver(&h, event).dapr_status(), "SUCCESS");
}

#[test]
fn deliveries_need_the_app_token() {
    let h = harness();
    let event = envelope(
        "scheduled",
        reminder("alice", 1, t0() + Duration::minutes(10), json!(["inbox"])),
    );
    let reply = call("POST", "/events/notify/reminders")
        .header("dapr-api-token", "wrong")
        .json(event.clone())
        .send(&h);
    reply.problem(401);
    // The secret store down: transient, not poison.
    h.dapr.set_down(true);
    assert_eq!(deliver(&h, event).dapr_status(), "RETRY");
}
