//! `/job/reminder-{taskId}`: firing a reminder — currency checks, the inbox
//! entry, the sync event, signed webhooks, e-mail, dedupe and retries.

mod support;

use chrono::Duration;
use serde_json::{json, Value};
use support::*;
use todo_core::notify::webhook;
use todo_dapr::jobs::FailurePolicy;

/// Schedules a reminder for `user` (version 1) and returns the job data.
fn scheduled(h: &Harness, user: &str, channels: Value) -> Value {
    let data = reminder(user, 1, t0() + Duration::minutes(10), channels);
    assert_eq!(
        deliver(h, envelope("scheduled", data.clone())).dapr_status(),
        "SUCCESS"
    );
    h.clock.advance(Duration::minutes(10));
    h.dapr.job(&job_name()).unwrap()["data"].clone()
}

fn all_channels(h: &Harness, user: &str) {
    settings(
        h,
        user,
        json!({
            "email": "alice@example.com",
            "webhookUrl": "https://hooks.example.com/todo",
            "webhookSecret": HOOK_SECRET
        }),
    );
}

/// The (only) fired record.
fn fired_record(h: &Harness) -> Value {
    state(h, &fired_key(h))
}

fn fired_key(h: &Harness) -> String {
    h.dapr
        .keys(STORE)
        .into_iter()
        .find(|k| k.starts_with("fired/"))
        .expect("a fired record")
}

#[test]
fn a_current_reminder_reaches_inbox_sync_webhook_and_email() {
    let h = harness();
    all_channels(&h, "alice");
    let data = scheduled(&h, "alice", json!(["inbox", "email", "webhook"]));

    assert_eq!(fire(&h, &data).dapr_status(), "SUCCESS");

    let items = inbox(&h, "alice");
    assert_eq!(items.len(), 1);
    let n = &items[0];
    assert_eq!(n["taskId"], TASK);
    assert_eq!(n["title"], "Pay <rent>");
    assert_eq!(n["remindAt"], "2026-11-27T10:10:00Z");
    assert_eq!(n["read"], false);

    // The sync event, with the notification's id as its id.
    let published = h.dapr.published_on("task-updates");
    assert_eq!(published.len(), 1);
    let event = &published[0].event;
    assert_eq!(event["type"], "todo.sync.notification.v1");
    assert_eq!(event["source"], "notify");
    assert_eq!(event["id"], n["id"]);
    assert_eq!(event["data"]["userId"], "alice");
    assert_eq!(event["data"]["notification"]["id"], n["id"]);
    assert_eq!(published[0].partition_key.as_deref(), Some("alice"));
    assert_eq!(published[0].content_type, "application/cloudevents+json");

    // The webhook: signed over the exact body.
    let hooks = h.web.hooks();
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    assert_eq!(hook.uri, "https://hooks.example.com/todo");
    assert_eq!(hook.header("content-type"), Some("application/json"));
    let signature = hook.header("x-todo-signature").unwrap();
    assert!(webhook::verify(
        HOOK_SECRET.as_bytes(),
        &hook.body,
        signature
    ));
    assert_eq!(
        hook.header("x-todo-timestamp"),
        Some(h.clock.now().timestamp().to_string().as_str())
    );
    assert_eq!(hook.header("x-todo-delivery"), n["id"].as_str());
    assert_eq!(hook.json()["notification"]["id"], n["id"]);

    // The e-mail: through the `email` binding.
    let mails = h.dapr.bindings();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].name, "email");
    assert_eq!(mails[0].body["operation"], "create");
    assert_eq!(mails[0].body["metadata"]["emailTo"], "alice@example.com");
    assert_eq!(mails[0].body["metadata"]["subject"], "Reminder: Pay <rent>");
    let html = mails[0].body["data"].as_str().unwrap();
    assert!(html.contains("Pay &lt;rent&gt;"), "{html}");

    let record = fired_record(&h);
    assert_eq!(record["published"], true);
    assert_eq!(record["webhook"]["state"], "delivered");
    assert_eq!(record["webhook"]["attempts"], 1);
    assert_eq!(record["email"]["state"], "delivered");
}

#[test]
fn the_same_callback_twice_delivers_once() {
    let h = harness();
    all_channels(&h, "alice");
    let data = scheduled(&h, "alice", json!(["inbox", "email", "webhook"]));
    assert_eq!(fire(&h, &data).dapr_status(), "SUCCESS");
    assert_eq!(fire(&h, &data).dapr_status(), "SUCCESS");

    assert_eq!(inbox(&h, "alice").len(), 1);
    assert_eq!(h.web.hooks().len(), 1);
    assert_eq!(h.dapr.bindings().len(), 1);
    assert_eq!(h.dapr.published_on("task-updates").len(), 1);
}

#[test]
fn stale_and_cancelled_jobs_deliver_nothing() {
    let h = harness();
    all_channels(&h, "alice");
    let v1 = scheduled(&h, "alice", json!(["inbox", "webhook"]));
    // Rescheduled (v2): the v1 job is stale.
    let v2 = reminder(
        "alice",
        2,
        h.clock.now() + Duration::minutes(30),
        json!(["inbox", "webhook"]),
    );
    deliver(&h, envelope("scheduled", v2.clone()));
    assert_eq!(fire(&h, &v1).dapr_status(), "SUCCESS");
    // Cancelled (v3): even the v2 job delivers nothing.
    let mut v3 = v2.clone();
    v3["version"] = json!(3);
    deliver(&h, envelope("cancelled", v3));
    assert_eq!(fire(&h, &v2).dapr_status(), "SUCCESS");

    assert!(inbox(&h, "alice").is_empty());
    assert!(h.web.hooks().is_empty());
    assert!(h.dapr.published_on("task-updates").is_empty());
}

#[test]
fn channels_without_settings_are_recorded_as_not_configured() {
    let h = harness();
    let data = scheduled(&h, "alice", json!(["inbox", "email", "webhook"]));
    assert_eq!(fire(&h, &data).dapr_status(), "SUCCESS");
    assert_eq!(inbox(&h, "alice").len(), 1);
    let record = fired_record(&h);
    assert_eq!(record["webhook"]["state"], "notConfigured");
    assert_eq!(record["email"]["state"], "notConfigured");
    assert!(h.web.hooks().is_empty() && h.dapr.bindings().is_empty());
}

#[test]
fn a_failing_webhook_is_retried_with_backoff_then_delivered() {
    let h = harness();
    all_channels(&h, "alice");
    let data = scheduled(&h, "alice", json!(["webhook"]));
    h.web.answer(&[Ok(503), Err("connection reset")]);
    assert_eq!(fire(&h, &data).dapr_status(), "SUCCESS");
    assert_eq!(h.web.hooks().len(), 3);
    let pauses = h.pauses.lock().unwrap().clone();
    assert_eq!(
        pauses,
        [
            std::time::Duration::from_millis(500),
            std::time::Duration::from_millis(1000)
        ]
    );
    // Every attempt is signed afresh (its own sentAt) and verifies.
    for hook in h.web.hooks() {
        let signature = hook.header("x-todo-signature").unwrap().to_string();
        assert!(webhook::verify(
            HOOK_SECRET.as_bytes(),
            &hook.body,
            &signature
        ));
    }
    let record = fired_record(&h);
    assert_eq!(record["webhook"]["state"], "delivered");
    assert_eq!(record["webhook"]["attempts"], 3);
}

#[test]
fn a_refused_or_exhausted_webhook_is_recorded_as_failed() {
    let h = harness();
    all_channels(&h, "alice");
    let data = scheduled(&h, "alice", json!(["webhook"]));
    h.web.answer(&[Ok(410)]);
    assert_eq!(fire(&h, &data).dapr_status(), "SUCCESS");
    assert_eq!(h.web.hooks().len(), 1, "a refusal is not retried");
    let record = fired_record(&h);
    assert_eq!(record["webhook"]["state"], "failed");
    assert!(record["webhook"]["lastError"]
        .as_str()
        .unwrap()
        .contains("410"));

    let h = harness();
    all_channels(&h, "alice");
    let data = scheduled(&h, "alice", json!(["webhook"]));
    h.web.answer(&[Ok(500), Ok(502), Ok(503), Ok(200)]);
    assert_eq!(fire(&h, &data).dapr_status(), "SUCCESS");
    assert_eq!(h.web.hooks().len(), 3, "bounded attempts");
    let record = fired_record(&h);
    assert_eq!(record["webhook"]["state"], "failed");
    assert_eq!(record["webhook"]["attempts"], 3);
    // A duplicate callback does not try again.
    assert_eq!(fire(&h, &data).dapr_status(), "SUCCESS");
    assert_eq!(h.web.hooks().len(), 3);
}

#[test]
fn a_failing_email_binding_is_retried_and_recorded() {
    let h = harness();
    all_channels(&h, "alice");
    let data = scheduled(&h, "alice", json!(["email"]));
    h.dapr.fail_bindings(1);
    assert_eq!(fire(&h, &data).dapr_status(), "SUCCESS");
    assert_eq!(h.dapr.bindings().len(), 1);
    assert_eq!(fired_record(&h)["email"]["attempts"], 2);

    let h = harness();
    all_channels(&h, "alice");
    let data = scheduled(&h, "alice", json!(["email"]));
    h.dapr.fail_bindings(5);
    assert_eq!(fire(&h, &data).dapr_status(), "SUCCESS");
    let record = fired_record(&h);
    assert_eq!(record["email"]["state"], "failed");
    assert_eq!(record["email"]["attempts"], 3);
}

#[test]
fn a_store_outage_answers_503_and_the_retry_finishes_once() {
    let h = harness();
    all_channels(&h, "alice");
    let data = scheduled(&h, "alice", json!(["inbox", "email", "webhook"]));
    h.dapr.set_state_down(true);
    fire(&h, &data).problem(503);
    h.dapr.set_state_down(false);

    // The publish fails after the inbox entry is written: 503 again.
    h.dapr.fail_publishes(1);
    fire(&h, &data).problem(503);
    assert_eq!(inbox(&h, "alice").len(), 1);
    assert!(h.web.hooks().is_empty());

    assert_eq!(fire(&h, &data).dapr_status(), "SUCCESS");
    assert_eq!(inbox(&h, "alice").len(), 1);
    assert_eq!(h.dapr.published_on("task-updates").len(), 1);
    assert_eq!(h.web.hooks().len(), 1);
    assert_eq!(h.dapr.bindings().len(), 1);
}

#[test]
fn a_channel_claimed_by_another_callback_is_not_sent_twice() {
    let h = harness();
    all_channels(&h, "alice");
    let data = scheduled(&h, "alice", json!(["webhook"]));
    h.web.answer(&[Ok(503), Ok(503), Ok(503)]);
    fire(&h, &data);
    // Pretend a callback died mid-send: the channel is claimed, lease running.
    let key = fired_key(&h);
    let mut record = state(&h, &key);
    record["webhook"]["state"] = json!("sending");
    record["webhook"]["leaseUntil"] = json!((h.clock.now() + Duration::seconds(30)).to_rfc3339());
    h.dapr.put(STORE, &key, record);

    fire(&h, &data).problem(503);
    assert_eq!(h.web.hooks().len(), 3, "nothing sent while claimed");
    h.clock.advance(Duration::seconds(31));
    assert_eq!(fire(&h, &data).dapr_status(), "SUCCESS");
    assert_eq!(h.web.hooks().len(), 4, "the abandoned claim is taken over");
}

#[test]
fn bad_job_callbacks_are_dropped_and_need_the_app_token() {
    let h = harness();
    let data = reminder("alice", 1, t0(), json!(["inbox"]));
    let other = call("POST", "/job/reminder-0193b2c4-9999-7000-8000-000000000009")
        .app_token()
        .json(data.clone())
        .send(&h);
    assert_eq!(other.dapr_status(), "DROP", "data of another task");
    let garbage = call("POST", &format!("/job/{}", job_name()))
        .app_token()
        .raw("application/json", b"{")
        .send(&h);
    assert_eq!(garbage.dapr_status(), "DROP");
    let unknown = call("POST", "/job/cleanup")
        .app_token()
        .json(data.clone())
        .send(&h);
    assert_eq!(unknown.dapr_status(), "DROP");
    call("POST", &format!("/job/{}", job_name()))
        .json(data)
        .send(&h)
        .problem(401);
    assert!(inbox(&h, "alice").is_empty());
}

/// The failure policy the reminder job was scheduled with, read back as the
/// Scheduler would.
fn job_policy(h: &Harness) -> FailurePolicy {
    let job = h.dapr.job(&job_name()).expect("job scheduled");
    serde_json::from_value(job["failurePolicy"].clone()).expect("a failurePolicy")
}

/// Plays the Dapr Scheduler for one trigger of the reminder job: calls the
/// callback; while it fails (anything but 2xx or 404) and `policy` has
/// retries left, waits its interval (moving the clock) and calls again.
/// `world(h, n)` runs before call `n` (1-based). Returns the calls made and
/// whether the trigger was delivered.
fn trigger(
    h: &Harness,
    data: &Value,
    policy: &FailurePolicy,
    mut world: impl FnMut(&Harness, u32),
) -> (u32, bool) {
    let (interval, max_retries) = match policy {
        FailurePolicy::Drop => (std::time::Duration::ZERO, Some(0)),
        FailurePolicy::Constant {
            interval,
            max_retries,
        } => (*interval, *max_retries),
    };
    let mut calls = 0;
    loop {
        calls += 1;
        world(h, calls);
        let status = fire(h, data).status;
        if (200..300).contains(&status) || status == 404 {
            return (calls, true);
        }
        if max_retries.is_some_and(|max| calls > max) || calls >= 10_000 {
            return (calls, false);
        }
        h.clock.advance(Duration::from_std(interval).unwrap());
    }
}

#[test]
fn a_two_minute_store_outage_is_ridden_out_by_the_jobs_failure_policy() {
    let outage = |h: &Harness, ends: chrono::DateTime<chrono::Utc>| {
        h.dapr.set_state_down(h.clock.now() < ends)
    };

    // With Dapr's default policy (1 s × 3) the trigger gives up after ~3 s:
    // the reminder would be lost.
    let h = harness();
    all_channels(&h, "alice");
    let data = scheduled(&h, "alice", json!(["inbox", "email", "webhook"]));
    let ends = h.clock.now() + Duration::minutes(2);
    let (calls, delivered) = trigger(&h, &data, &FailurePolicy::dapr_default(), |h, _| {
        outage(h, ends)
    });
    assert_eq!((calls, delivered), (4, false));
    h.dapr.set_state_down(false);
    assert!(inbox(&h, "alice").is_empty());

    // notify's jobs: called every 10 s; the first call after the outage
    // delivers, everything exactly once.
    let h = harness();
    all_channels(&h, "alice");
    let data = scheduled(&h, "alice", json!(["inbox", "email", "webhook"]));
    let policy = job_policy(&h);
    assert_eq!(policy, notify::reminders::failure_policy());
    let started = h.clock.now();
    let ends = started + Duration::minutes(2);
    let (calls, delivered) = trigger(&h, &data, &policy, |h, _| outage(h, ends));
    assert!(delivered);
    assert_eq!(calls, 13, "12 calls during the outage, then one more");
    assert_eq!(h.clock.now() - started, Duration::minutes(2));
    assert_eq!(inbox(&h, "alice").len(), 1);
    assert_eq!(h.dapr.published_on("task-updates").len(), 1);
    assert_eq!(h.web.hooks().len(), 1);
    assert_eq!(h.dapr.bindings().len(), 1);

    // A duplicate trigger (at-least-once) adds nothing.
    assert_eq!(trigger(&h, &data, &policy, |_, _| {}), (1, true));
    assert_eq!(inbox(&h, "alice").len(), 1);
    assert_eq!(h.web.hooks().len(), 1);
    assert_eq!(h.dapr.bindings().len(), 1);
}

#[test]
fn a_channel_left_sending_by_a_dead_callback_is_delivered_once_by_a_retry() {
    // The trigger's first call fails to publish (503). Meanwhile a duplicate
    // callback (Jobs are at-least-once) got through, claimed the webhook and
    // died before sending: the channel stays `sending` for its 30 s lease,
    // and every call until then answers 503 (busy).
    let run = |policy: Option<FailurePolicy>| {
        let h = harness();
        all_channels(&h, "alice");
        let data = scheduled(&h, "alice", json!(["inbox", "webhook"]));
        let policy = policy.unwrap_or_else(|| job_policy(&h));
        let (calls, delivered) = trigger(&h, &data, &policy, |h, n| match n {
            1 => h.dapr.fail_publishes(1),
            2 => {
                let key = fired_key(h);
                let mut record = state(h, &key);
                record["published"] = json!(true);
                record["webhook"]["state"] = json!("sending");
                record["webhook"]["leaseUntil"] =
                    json!((h.clock.now() + Duration::seconds(30)).to_rfc3339());
                h.dapr.put(STORE, &key, record);
            }
            _ => {}
        });
        (h, calls, delivered)
    };

    // Dapr's default policy: every retry comes while the claim holds.
    let (h, calls, delivered) = run(Some(FailurePolicy::dapr_default()));
    assert_eq!((calls, delivered), (4, false));
    assert!(h.web.hooks().is_empty(), "the reminder's webhook is lost");
    assert_eq!(fired_record(&h)["webhook"]["state"], "sending");

    // notify's policy: calls at +10 s, +20 s, +30 s find the claim held (it
    // was taken at +10 s); the call at +40 s takes the expired claim over
    // and sends, once.
    let (h, calls, delivered) = run(None);
    assert_eq!((calls, delivered), (5, true));
    assert_eq!(h.web.hooks().len(), 1);
    let record = fired_record(&h);
    assert_eq!(record["webhook"]["state"], "delivered");
    assert_eq!(record["webhook"]["attempts"], 1);
    assert_eq!(inbox(&h, "alice").len(), 1);
}
