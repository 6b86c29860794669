//! Recurring tasks end to end: the real task-api and recurrence `.wasm`
//! behind devstack; completions delivered by the (devstack) Dapr
//! subscription in `k8s/dapr/subscriptions/recurrence.yaml` (a rule for
//! completions, a default route for the rest); the next occurrence created
//! through Dapr service invocation of task-api's `/internal/tasks/next`.
//!
//! Covered: weekly; monthly on the 31st; daily with COUNT=3; UNTIL; weekly
//! across the Europe/Berlin DST change (local time kept) — completing
//! occurrence n creates exactly occurrence n+1 with the right due date and
//! nothing after the end; duplicate completions (redelivery, reopen and
//! complete again) create one next task; poison messages dropped; task-api's
//! store down → RETRY until it is back; the preview through the gateway.

mod support;

use serde_json::{json, Value};
use support::*;

const GROUP: &str = "recurrence/recurrence-task-events";

/// The user's tasks titled `title`, by occurrence.
async fn series(api: &Api, title: &str) -> Vec<Value> {
    let page = api.get("/api/tasks?limit=200").await.json();
    let mut tasks: Vec<Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["title"] == title)
        .cloned()
        .collect();
    tasks.sort_by_key(|t| t["recurrence"]["occurrence"].as_u64());
    tasks
}

/// Waits until the series `title` has `n` tasks; returns them by occurrence.
async fn wait_series(api: &Api, title: &str, n: usize) -> Vec<Value> {
    eventually(&format!("{n} tasks of series {title:?}"), || async {
        let tasks = series(api, title).await;
        (tasks.len() == n).then_some(tasks)
    })
    .await
}

async fn complete(api: &Api, task: &Value) {
    let r = api
        .post(&format!("/api/tasks/{}/complete", id_of(task)), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Creates a series from `body` (its `dueAt` is `dues[0]`), then completes
/// each occurrence in turn and checks that exactly the next one appears,
/// due at `dues[n]`. Returns the series.
async fn walk(api: &Api, title: &str, body: Value, dues: &[&str]) -> Vec<Value> {
    let mut body = body;
    body["title"] = json!(title);
    body["dueAt"] = json!(dues[0]);
    let first = api.create(body).await;
    let series_id = first["recurrence"]["seriesId"].clone();
    assert_eq!(series_id, first["id"], "the first task starts the series");
    let mut tasks = vec![first];
    for (n, due) in dues.iter().enumerate().skip(1) {
        complete(api, &tasks[n - 1]).await;
        tasks = wait_series(api, title, n + 1).await;
        let next = &tasks[n];
        assert_eq!(next["dueAt"], *due, "{title}: occurrence {}", n + 1);
        assert_eq!(next["recurrence"]["occurrence"], n as u64 + 1);
        assert_eq!(next["recurrence"]["seriesId"], series_id);
        assert_eq!(next["status"], "open");
        assert_eq!(next["recurrence"]["rrule"], tasks[0]["recurrence"]["rrule"]);
    }
    tasks
}

/// Completes a fresh weekly task of the same user and waits for its next
/// occurrence: every task event of this user published before has then been
/// handled (one user's events are delivered in order).
async fn barrier(api: &Api) {
    let title = format!("barrier {}", uuid::Uuid::new_v4().simple());
    let first = api
        .create(json!({
            "title": title,
            "dueAt": "2030-01-07T09:00:00Z",
            "recurrence": { "rrule": "FREQ=WEEKLY" }
        }))
        .await;
    complete(api, &first).await;
    wait_series(api, &title, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_advance_one_occurrence_per_completion_and_stop_at_their_end() {
    let env = start(&["recurrence"]).await;
    let api = env.api(&unique_user("series"));

    let weekly = walk(
        &api,
        "weekly",
        json!({
            "description": "numbers", "priority": "high", "tags": ["work"],
            "reminder": { "before": "PT15M", "channels": ["inbox"] },
            "recurrence": { "rrule": "FREQ=WEEKLY;BYDAY=MO" }
        }),
        &[
            "2030-01-07T09:00:00Z",
            "2030-01-14T09:00:00Z",
            "2030-01-21T09:00:00Z",
        ],
    )
    .await;
    // The next occurrence carries the task's content.
    let next = &weekly[1];
    assert_eq!(next["description"], "numbers");
    assert_eq!(next["priority"], "high");
    assert_eq!(next["tags"], json!(["work"]));
    assert_eq!(
        next["reminder"],
        json!({ "before": "PT15M", "channels": ["inbox"] })
    );

    // Monthly on the 31st skips months without one (RFC 5545).
    walk(
        &api,
        "monthly 31st",
        json!({ "recurrence": { "rrule": "FREQ=MONTHLY;BYMONTHDAY=31" } }),
        &[
            "2030-01-31T09:00:00Z",
            "2030-03-31T09:00:00Z",
            "2030-05-31T09:00:00Z",
        ],
    )
    .await;

    // 09:00 Europe/Berlin stays 09:00 local across the 2030-03-31 change.
    let dst = walk(
        &api,
        "berlin weekly",
        json!({
            "timezone": "Europe/Berlin",
            "recurrence": { "rrule": "FREQ=WEEKLY;BYDAY=MO" }
        }),
        &[
            "2030-03-25T08:00:00Z",
            "2030-04-01T07:00:00Z",
            "2030-04-08T07:00:00Z",
        ],
    )
    .await;
    assert_eq!(dst[1]["timezone"], "Europe/Berlin");

    // COUNT=3: the third occurrence is the last.
    let daily = walk(
        &api,
        "daily x3",
        json!({ "recurrence": { "rrule": "FREQ=DAILY;COUNT=3" } }),
        &[
            "2030-01-01T08:00:00Z",
            "2030-01-02T08:00:00Z",
            "2030-01-03T08:00:00Z",
        ],
    )
    .await;
    complete(&api, &daily[2]).await;

    // UNTIL (inclusive): 2030-01-15 09:00 is past 2030-01-15 00:00 UTC.
    let until = walk(
        &api,
        "until",
        json!({ "recurrence": { "rrule": "FREQ=WEEKLY;UNTIL=20300115T000000Z" } }),
        &["2030-01-01T09:00:00Z", "2030-01-08T09:00:00Z"],
    )
    .await;
    complete(&api, &until[1]).await;

    barrier(&api).await;
    assert_eq!(
        series(&api, "daily x3").await.len(),
        3,
        "nothing after COUNT"
    );
    assert_eq!(series(&api, "until").await.len(), 2, "nothing after UNTIL");
    assert!(dead_letters(env.store(), GROUP).await.is_empty());
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_completions_create_one_next_task() {
    let env = start(&["recurrence"]).await;
    let user = unique_user("dupes");
    let api = env.api(&user);

    for (title, from) in [("from due", "due"), ("from completion", "completion")] {
        let first = api
            .create(json!({
                "title": title,
                "dueAt": "2030-01-07T09:00:00Z",
                "recurrence": { "rrule": "FREQ=DAILY;INTERVAL=2", "from": from }
            }))
            .await;
        let path = format!("/api/tasks/{}", id_of(&first));
        complete(&api, &first).await;
        wait_series(&api, title, 2).await;

        // The completion delivered again (same CloudEvent id), three times.
        let completed = eventually("the completed event", || async {
            env.subscriber
                .events_for(ROUTE_TASK_EVENTS, &user)
                .iter()
                .map(|r| r.json())
                .find(|e| e["type"] == "todo.task.completed.v1" && e["subject"] == id_of(&first))
        })
        .await;
        for _ in 0..3 {
            publish(&env, &user, completed.to_string().as_bytes(), false).await;
        }
        // Reopened and completed again: a new completion of occurrence 1.
        assert_eq!(
            api.post(&format!("{path}/reopen"), &json!({})).await.status,
            200
        );
        assert_eq!(
            api.post(&format!("{path}/complete"), &json!({}))
                .await
                .status,
            200
        );
        barrier(&api).await;
        assert_eq!(series(&api, title).await.len(), 2, "{title}: one next task");
    }
    assert!(dead_letters(env.store(), GROUP).await.is_empty());
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_are_dropped_and_other_events_acknowledged() {
    let env = start(&["recurrence"]).await;
    let user = unique_user("poison");
    let api = env.api(&user);
    let first = api
        .create(json!({
            "title": "weekly",
            "dueAt": "2030-01-07T09:00:00Z",
            "recurrence": { "rrule": "FREQ=WEEKLY" }
        }))
        .await;
    complete(&api, &first).await;
    wait_series(&api, "weekly", 2).await;
    let completed = task_events_of(&env, &user, 2).await.remove(1);
    assert_eq!(completed["type"], "todo.task.completed.v1");

    let mut unknown_version = completed.clone();
    unknown_version["id"] = json!("poison-1");
    unknown_version["type"] = json!("todo.task.completed.v2");
    let mut no_task = completed.clone();
    no_task["id"] = json!("poison-2");
    no_task["data"]["task"] = Value::Null;
    let mut bad_rule = completed.clone();
    bad_rule["id"] = json!("poison-3");
    bad_rule["data"]["task"]["recurrence"]["rrule"] = json!("FREQ=SOMETIMES");
    publish(&env, &user, br#"{"not":"an event"}"#, true).await;
    for poison in [&unknown_version, &no_task, &bad_rule] {
        publish(&env, &user, poison.to_string().as_bytes(), false).await;
    }
    barrier(&api).await;

    let dropped = wait_dead_letters(env.store(), GROUP, 4).await;
    // Only the poison: created/updated events went to the default route
    // and were acknowledged, not dead-lettered. The three well-formed ones
    // reached the app, which replied DROP; the one that is no CloudEvent has
    // no `type` for the subscription's rule, a CEL error, so the sidecar
    // dead-lettered it without calling the app (as daprd's subscription
    // handler does, pkg/runtime/subscription/subscription.go).
    assert_eq!(dropped.len(), 4, "{dropped:?}");
    let (by_app, by_router): (Vec<_>, Vec<_>) = dropped
        .iter()
        .partition(|letter| letter.reason.contains("DROP"));
    assert_eq!(by_app.len(), 3, "the app replied DROP: {dropped:?}");
    assert!(
        by_router[0]
            .reason
            .contains("error finding matching route: no such key: type"),
        "{by_router:?}"
    );
    assert_eq!(series(&api, "weekly").await.len(), 2);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_api_down_is_retried_until_it_is_back() {
    let env = start(&["recurrence"]).await;
    let api = env.api(&unique_user("outage"));
    let first = api
        .create(json!({
            "title": "weekly",
            "dueAt": "2030-01-07T09:00:00Z",
            "recurrence": { "rrule": "FREQ=WEEKLY" }
        }))
        .await;
    // Creating through `/internal/tasks/next` writes an idempotency record:
    // with those writes failing, task-api answers 503 and recurrence RETRY.
    let outage = StoreOutage::of(&env, "task-api||idem/");
    complete(&api, &first).await;
    eventually("a retried delivery", || async {
        (attempts(&env, GROUP) >= 2).then_some(())
    })
    .await;
    assert_eq!(series(&api, "weekly").await.len(), 1);

    outage.heal();
    let tasks = wait_series(&api, "weekly", 2).await;
    assert_eq!(tasks[1]["dueAt"], "2030-01-14T09:00:00Z");
    assert!(dead_letters(env.store(), GROUP).await.is_empty());
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_is_served_through_the_gateway() {
    let env = start(&["recurrence"]).await;
    let api = env.api(&unique_user("preview"));
    let r = api
        .get("/api/recurrence/preview?rrule=FREQ%3DWEEKLY%3BBYDAY%3DMO&dtstart=2030-03-25T08:00:00Z&timezone=Europe/Berlin&count=2")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["dates"],
        json!(["2030-03-25T08:00:00Z", "2030-04-01T07:00:00Z"])
    );
    let bad = api
        .get("/api/recurrence/preview?rrule=FREQ%3DMINUTELY&dtstart=2030-03-25T08:00:00Z")
        .await
        .problem(400);
    assert_eq!(bad["errors"][0]["field"], "rrule");
    env.anonymous()
        .get("/api/recurrence/preview?rrule=FREQ%3DDAILY")
        .await
        .problem(401);
    // Dapr-only routes are not exposed by the gateway.
    let r = env
        .anonymous()
        .call("POST", "/events/recurrence/task-events", &[], b"{}")
        .await;
    assert_eq!(r.status, 404);
    env.shutdown().await;
}
