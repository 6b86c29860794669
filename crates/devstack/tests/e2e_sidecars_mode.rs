//! devstack in sidecars-only mode (`devstack sidecars`, used by
//! `scripts/dev --spin`): the components are served elsewhere on announced
//! ports, each told its fixed sidecar port — the wiring `spin up` gets — and
//! the system behaves as it does when devstack hosts everything.

mod support;

use serde_json::json;
use support::*;

async fn sidecars_only() -> Env {
    Env::start_hosting(
        Overlay::default(),
        Hosting {
            sidecars_only: true,
            ..Hosting::default()
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_work_through_the_proxy_gateway_and_events_reach_subscribers() {
    let env = sidecars_only().await;
    let user = unique_user("spin");
    let api = env.api(&user);

    let created = api
        .post(
            "/api/tasks",
            &json!({ "title": "Served by another host", "dueAt": "2030-01-01T09:00:00Z",
                     "reminder": { "before": "PT10M" } }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_string();

    let listed = api.get("/api/tasks").await;
    assert_eq!(listed.json()["total"], 1);
    let done = api
        .post(&format!("/api/tasks/{id}/complete"), &json!(null))
        .await;
    assert_eq!(done.json()["status"], "completed");

    let task_events = env
        .subscriber
        .wait_events(ROUTE_TASK_EVENTS, &user, 2)
        .await;
    let types: Vec<_> = task_events
        .iter()
        .map(|e| e.json()["type"].clone())
        .collect();
    assert_eq!(
        types,
        [
            json!("todo.task.created.v1"),
            json!("todo.task.completed.v1")
        ]
    );
    let reminders = env.subscriber.wait_events(ROUTE_REMINDERS, &user, 2).await;
    assert_eq!(reminders[1].json()["type"], "todo.reminder.cancelled.v1");

    // The gateway forwards only public paths, like the ingress.
    let internal = env
        .anonymous()
        .post("/internal/outbox-sweep", &json!(null))
        .await;
    assert_eq!(internal.status, 404);
    // An API path no component serves: the API's problem+json 404.
    for path in ["/api/nope", "/api/auth/login"] {
        env.anonymous().post(path, &json!({})).await.problem(404);
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_app_talks_to_the_sidecar_on_the_port_it_was_given() {
    let env = sidecars_only().await;
    // The stack bound the announced sidecar port, and the app (served
    // elsewhere) reached it: its health check asks the sidecar.
    let health = env.raw(env.task_api.app).get("/healthz/task-api").await;
    assert_eq!(health.status, 200, "{}", health.text());
    let metadata = env.raw(env.task_api.sidecar).get("/v1.0/metadata").await;
    assert_eq!(metadata.json()["id"], "task-api");
    env.shutdown().await;
}

/// The consumers too, each served on its own announced port with its own
/// fixed sidecar port: create → audit entry → change in the sync feed, and a
/// reminder fires into the inbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_sync_and_reminders_work_when_the_apps_run_elsewhere() {
    let apps = ["audit", "notify", "sync-relay"];
    let env = Env::start_hosting(
        Overlay::default(),
        Hosting {
            more_apps: apps.iter().map(|a| a.to_string()).collect(),
            sidecars_only: true,
            ..Hosting::default()
        },
    )
    .await;
    let user = unique_user("spin-consumers");
    let api = env.api(&user);
    // remindAt = dueAt − 1 min, about 2 s from now.
    let due = chrono::Utc::now() + chrono::Duration::seconds(62);
    let created = api
        .post(
            "/api/tasks",
            &json!({ "title": "Remind me", "dueAt": due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                     "reminder": { "before": "PT1M", "channels": ["inbox"] } }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_string();

    let audit = eventually("the audit entry", || {
        let api = api.clone();
        async move {
            let page = api.get("/api/audit").await.json();
            (page["total"] == 1).then_some(page)
        }
    })
    .await;
    assert_eq!(audit["items"][0]["type"], "todo.task.created.v1");
    assert_eq!(audit["items"][0]["taskId"], id.as_str());

    let changes = eventually("the sync change", || {
        let api = api.clone();
        async move {
            let page = api.get("/api/sync/changes?since=0").await.json();
            let found = page["changes"].as_array().is_some_and(|c| !c.is_empty());
            found.then_some(page)
        }
    })
    .await;
    assert_eq!(changes["changes"][0]["type"], "todo.sync.task-changed.v1");

    let inbox = eventually("the reminder in the inbox", || {
        let api = api.clone();
        async move {
            let page = api.get("/api/notifications").await.json();
            let found = page["items"].as_array().is_some_and(|i| !i.is_empty());
            found.then_some(page)
        }
    })
    .await;
    assert_eq!(inbox["items"][0]["taskId"], id.as_str());
    env.shutdown().await;
}
