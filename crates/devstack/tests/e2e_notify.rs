//! Reminders end to end: the real task-api, notify and sync-relay `.wasm`
//! behind devstack; reminder events delivered by the subscription in
//! `k8s/dapr/subscriptions/notify.yaml`, jobs fired by devstack's scheduler,
//! the webhook POSTed to a receiver in the test, the e-mail sent by the SMTP
//! binding to an SMTP listener in the test.
//!
//! Covered: a reminder 3 s ahead lands in the inbox no earlier than
//! `remindAt` and within 1 s after it, with a correctly signed webhook and
//! an e-mail; a moved due date fires once, at the new time; completing or
//! deleting cancels; the same job callback twice delivers once; bad
//! deliveries are dropped to the dead-letter topic; a store outage is
//! retried until the store is back.

mod support;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use support::*;

const GROUP: &str = "notify/notify-reminders";
const HOOK_SECRET: &str = "e2e-webhook-secret-0123456789";

// ---------------------------------------------------------------------------
// The setup

/// A stack with notify and sync-relay, a webhook receiver and an SMTP
/// listener, and one user whose settings point at both.
struct Setup {
    env: Env,
    hooks: RecordingApp,
    smtp: Smtp,
    user: String,
    api: Api,
}

impl Setup {
    async fn start() -> Setup {
        let smtp = Smtp::start().await;
        let hooks = RecordingApp::start().await;
        let env = start_with_smtp(&["notify", "sync-relay"], smtp.addr.port()).await;
        let user = unique_user("notify");
        let api = env.api(&user);
        let r = api
            .send_json(
                "PUT",
                "/api/notifications/settings",
                &json!({
                    "email": format!("{user}@example.com"),
                    "webhookUrl": format!("http://127.0.0.1:{}/hook", hooks.addr.port()),
                    "webhookSecret": HOOK_SECRET
                }),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["webhookSecretSet"], true);
        Setup {
            env,
            hooks,
            smtp,
            user,
            api,
        }
    }

    /// Creates a task due in `secs + 60` s with a `PT1M` reminder on every
    /// channel (so it fires in about `secs` s); returns it and its `remindAt`.
    async fn task_reminding_in(&self, secs: i64, title: &str) -> (Value, DateTime<Utc>) {
        let task = self
            .api
            .create(json!({
                "title": title,
                "dueAt": in_secs(secs + 60),
                "reminder": { "before": "PT1M", "channels": ["inbox", "email", "webhook"] }
            }))
            .await;
        let remind_at = parse_time(&task["dueAt"]) - chrono::Duration::minutes(1);
        (task, remind_at)
    }

    async fn inbox(&self) -> Vec<Value> {
        let r = self.api.get("/api/notifications").await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["items"].as_array().unwrap().clone()
    }

    fn webhooks(&self) -> Vec<Recorded> {
        self.hooks.requests_to("/hook")
    }

    async fn shutdown(self) {
        self.hooks.stop();
        self.env.shutdown().await;
    }
}

// ---------------------------------------------------------------------------
// The tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_reaches_inbox_webhook_and_email_on_time_and_a_duplicate_callback_changes_nothing(
) {
    let s = Setup::start().await;
    let (task, remind_at) = s.task_reminding_in(3, "Pay <rent> & bills").await;
    let id = id_of(&task);

    // Poll the inbox: the entry must not appear before remindAt.
    let (first_seen, items) = eventually("the inbox entry", || async {
        let items = s.inbox().await;
        (!items.is_empty()).then(|| (Utc::now(), items))
    })
    .await;
    assert_eq!(items.len(), 1);
    let n = &items[0];
    assert_eq!(n["taskId"], id);
    assert_eq!(n["title"], "Pay <rent> & bills");
    assert_eq!(parse_time(&n["remindAt"]), remind_at);
    let created = parse_time(&n["createdAt"]);
    eprintln!(
        "inbox entry created {} ms, first seen {} ms after remindAt",
        (created - remind_at).num_milliseconds(),
        (first_seen - remind_at).num_milliseconds()
    );
    assert!(
        created >= remind_at,
        "created {created}, before remindAt {remind_at}"
    );
    assert!(
        created - remind_at <= chrono::Duration::seconds(1),
        "created {created}, more than 1 s after remindAt {remind_at}"
    );
    assert!(
        first_seen >= remind_at,
        "seen {first_seen} before {remind_at}"
    );

    // The webhook: one POST, signed over its exact body with the user's secret.
    let hooks = eventually("the webhook", || async {
        let hooks = s.webhooks();
        (!hooks.is_empty()).then_some(hooks)
    })
    .await;
    let hook = &hooks[0];
    assert_eq!(hook.method, http::Method::POST);
    let signature = hook.header("x-todo-signature").expect("signed");
    assert!(
        todo_core::notify::webhook::verify(HOOK_SECRET.as_bytes(), &hook.body, signature),
        "bad signature {signature}"
    );
    let sent: i64 = hook.header("x-todo-timestamp").unwrap().parse().unwrap();
    assert!((sent - created.timestamp()).abs() <= 5);
    assert_eq!(hook.header("x-todo-delivery"), n["id"].as_str());
    let body = hook.json();
    assert_eq!(body["userId"], s.user);
    assert_eq!(body["notification"]["id"], n["id"]);

    // The e-mail: to the user's address, subject and body from the task.
    let mails = eventually("the e-mail", || async {
        let mails = s.smtp.mails();
        (!mails.is_empty()).then_some(mails)
    })
    .await;
    assert_eq!(mails[0].to, [format!("{}@example.com", s.user)]);
    assert!(
        mails[0]
            .data
            .contains("Subject: Reminder: Pay <rent> & bills"),
        "{}",
        mails[0].data
    );
    assert!(
        mails[0].data.contains("Pay &lt;rent&gt; &amp; bills"),
        "{}",
        mails[0].data
    );

    // Open clients get it too: the notification is in the user's sync feed.
    let feed = eventually("the notification in the sync feed", || async {
        let page = s.api.get("/api/sync/changes?since=0").await.json();
        page["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "todo.sync.notification.v1")
            .cloned()
    })
    .await;
    assert_eq!(feed["data"]["notification"]["id"], n["id"]);

    // Dapr delivers the same job callback again: nothing more happens.
    let scheduled = s
        .env
        .subscriber
        .wait_events(ROUTE_REMINDERS, &s.user, 1)
        .await[0]
        .json();
    let notify = s.env.stack.apps["notify"].app;
    let r = s
        .env
        .raw(notify)
        .call(
            "POST",
            &format!("/job/reminder-{id}"),
            &[
                ("content-type", "application/json"),
                ("dapr-api-token", &s.env.secrets.app_token),
            ],
            &serde_json::to_vec(&scheduled["data"]).unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The callback answered once it was done, and the scheduler is done
    // with the job (deleted after its delivered trigger): nothing else
    // can add an entry, a webhook or a mail.
    wait_job_gone(
        s.env.stack.apps["notify"].sidecar,
        &format!("reminder-{id}"),
    )
    .await;
    assert_eq!(s.inbox().await.len(), 1);
    assert_eq!(s.webhooks().len(), 1);
    assert_eq!(s.smtp.mails().len(), 1);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_due_date_fires_once_at_the_new_time() {
    let s = Setup::start().await;
    let (task, first) = s.task_reminding_in(3, "Moved").await;
    let r = s
        .api
        .patch(
            &format!("/api/tasks/{}", id_of(&task)),
            &json!({ "dueAt": in_secs(66) }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let moved = parse_time(&r.json()["dueAt"]) - chrono::Duration::minutes(1);
    assert!(moved > first + chrono::Duration::seconds(1));

    let items = eventually("the rescheduled reminder", || async {
        let items = s.inbox().await;
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(parse_time(&items[0]["remindAt"]), moved);
    let created = parse_time(&items[0]["createdAt"]);
    assert!(created >= moved, "fired at {created}, before {moved}");
    assert!(created - moved <= chrono::Duration::seconds(1));

    // The job is deleted once its trigger was delivered: it fires no more.
    let sidecar = s.env.stack.apps["notify"].sidecar;
    wait_job_gone(sidecar, &format!("reminder-{}", id_of(&task))).await;
    assert_eq!(s.inbox().await.len(), 1, "fired once");
    assert_eq!(s.webhooks().len(), 1);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completing_or_deleting_the_task_cancels_its_reminder() {
    let s = Setup::start().await;
    let (done, remind_at) = s.task_reminding_in(3, "Completed early").await;
    let (gone, _) = s.task_reminding_in(3, "Deleted").await;
    let r = s
        .api
        .post(&format!("/api/tasks/{}/complete", id_of(&done)), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.api.delete(&format!("/api/tasks/{}", id_of(&gone))).await;
    assert_eq!(r.status, 204, "{}", r.text());

    // Both jobs are deleted…
    let sidecar = s.env.stack.apps["notify"].sidecar;
    for task in [&done, &gone] {
        let path = format!("/v1.0-alpha1/jobs/reminder-{}", id_of(task));
        eventually("the job deleted", || async {
            (s.env.raw(sidecar).get(&path).await.status == 500).then_some(())
        })
        .await;
    }
    // …and nothing fires: a sentinel reminder due 2 s or more after theirs
    // fires and is delivered on every channel, and it is all there is.
    let after = (remind_at - Utc::now()).num_seconds().max(0) + 3;
    let (sentinel, sentinel_at) = s.task_reminding_in(after, "Sentinel").await;
    assert!(sentinel_at >= remind_at + chrono::Duration::seconds(2));
    let job = format!("reminder-{}", id_of(&sentinel));
    eventually("the sentinel's reminder", || async {
        (!s.inbox().await.is_empty()).then_some(())
    })
    .await;
    wait_job_gone(sidecar, &job).await;
    let items = s.inbox().await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["taskId"], sentinel["id"]);
    let hooks = s.webhooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].json()["notification"]["id"], items[0]["id"]);
    let mails = s.smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].data.contains("Subject: Reminder: Sentinel"),
        "{}",
        mails[0].data
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deliveries_are_dropped_and_a_store_outage_is_retried() {
    let s = Setup::start().await;
    let env = &s.env;

    // A reminder event whose data does not match its type: DROP.
    let bad = json!({
        "specversion": "1.0", "id": "bad-reminder-1", "source": "e2e",
        "type": "todo.reminder.scheduled.v1", "datacontenttype": "application/json",
        "data": { "userId": s.user }
    });
    publish_to(
        env,
        "reminders",
        &s.user,
        &serde_json::to_vec(&bad).unwrap(),
        false,
    )
    .await;
    let dropped = wait_dead_letter(env.store(), GROUP).await;
    assert!(
        dropped.reason.contains("DROP"),
        "notify replied DROP: {}",
        dropped.reason
    );

    // notify's writes fail: the reminder event is retried, not lost.
    let outage = StoreOutage::of(env, "notify||");
    let (task, _) = s.task_reminding_in(30, "During an outage").await;
    eventually("a retried delivery", || async {
        (attempts(env, GROUP) >= 2).then_some(())
    })
    .await;
    let job = format!("/v1.0-alpha1/jobs/reminder-{}", id_of(&task));
    let sidecar = env.stack.apps["notify"].sidecar;
    assert_eq!(env.raw(sidecar).get(&job).await.status, 500, "no job yet");
    outage.heal();
    eventually("the job scheduled after the outage", || async {
        (env.raw(sidecar).get(&job).await.status == 200).then_some(())
    })
    .await;
    s.shutdown().await;
}
