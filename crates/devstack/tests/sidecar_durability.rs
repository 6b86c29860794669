//! "A restart loses nothing that was acknowledged" (architecture §6): state,
//! queued messages (including one in retry) and a pending job survive
//! closing and reopening the SQLite file, and are then delivered.

mod support;

use devstack::store::Store;
use serde_json::json;
use support::*;

fn yaml() -> String {
    format!(
        r#"{BASE}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {{ name: orders-sub }}
spec:
  pubsubname: pubsub
  topic: orders
  routes: {{ default: /orders }}
scopes: [worker]
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {{ name: late-sub }}
spec:
  pubsubname: pubsub
  topic: late
  routes: {{ default: /late }}
scopes: [worker]
{}"#,
        fast_retries(-1)
    )
}

#[tokio::test]
async fn state_messages_and_jobs_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("devstack-durability-{}", uuid::Uuid::new_v4()));
    let db = dir.join("devstack.db");

    // Phase 1: the app fails every delivery; a job is scheduled for later.
    let app1 = RecordingApp::start().await;
    app1.default_reply("/orders", 500, "");
    let store = Store::open(Some(&db)).unwrap();
    // Only `orders` is subscribed in phase 1; `late` gets its subscriber later.
    let phase1 = yaml().replace("topic: late", "topic: late-unused");
    let sc = start_sidecar(
        "worker",
        app1.addr,
        resources(&phase1),
        SidecarConfig {
            store: Some(store),
            ..SidecarConfig::default()
        },
    )
    .await;
    let r = post_json(
        &sc.url("/v1.0/state/statestore"),
        &json!([{ "key": "task/1", "value": { "title": "kept" } }]),
    )
    .await;
    assert_eq!(r.status, 204);
    let event =
        json!({ "specversion": "1.0", "id": "evt-1", "type": "t", "source": "s", "data": {} });
    let r = call(
        "POST",
        &sc.url("/v1.0/publish/pubsub/orders?metadata.partitionKey=u1"),
        &[("content-type", "application/cloudevents+json")],
        &serde_json::to_vec(&event).unwrap(),
    )
    .await;
    assert_eq!(r.status, 204);
    let r = call(
        "POST",
        &sc.url("/v1.0/publish/pubsub/late"),
        &[("content-type", "application/json")],
        br#"{"queued":true}"#,
    )
    .await;
    assert_eq!(r.status, 204);
    let due = chrono::Utc::now() + chrono::Duration::seconds(2);
    let r = post_json(
        &sc.url("/v1.0-alpha1/jobs/later"),
        &json!({ "dueTime": due.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "data": { "n": 1 } }),
    )
    .await;
    assert_eq!(r.status, 204);
    // The message is being retried when we stop.
    app1.wait_for("/orders", 1).await;
    sc.stop().await;
    assert!(app1.requests_to("/job/later").is_empty(), "not due yet");

    // Phase 2: a new process opens the same file.
    let app2 = RecordingApp::start().await;
    let store = Store::open(Some(&db)).unwrap();
    let sc = start_sidecar(
        "worker",
        app2.addr,
        resources(&yaml()),
        SidecarConfig {
            store: Some(store),
            ..SidecarConfig::default()
        },
    )
    .await;
    let r = get(&sc.url("/v1.0/state/statestore/task%2F1")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({ "title": "kept" }));
    let got = app2.wait_for("/orders", 1).await;
    assert_eq!(got[0].json()["id"], "evt-1");
    let late = app2.wait_for("/late", 1).await;
    assert_eq!(late[0].json()["data"], json!({ "queued": true }));
    let job = app2.wait_for("/job/later", 1).await;
    assert_eq!(job[0].json(), json!({ "n": 1 }));
    assert!(job[0].at_ms >= due.timestamp_millis(), "never early");
    wait_job_gone(sc.addr, "later").await;
    sc.stop().await;

    // Phase 3: what was acknowledged is not delivered again.
    let app3 = RecordingApp::start().await;
    let store = Store::open(Some(&db)).unwrap();
    let sc = start_sidecar(
        "worker",
        app3.addr,
        resources(&yaml()),
        SidecarConfig {
            store: Some(store),
            ..SidecarConfig::default()
        },
    )
    .await;
    // The job is gone from the store: it cannot fire again.
    assert_eq!(get(&sc.url("/v1.0-alpha1/jobs/later")).await.status, 500);
    // A sentinel behind each queued message (behind `evt-1` on its key u1):
    // once both are delivered and both groups have nothing pending, every
    // delivery the reopened store still held has been made.
    for (topic, query, id) in [
        ("orders", "?metadata.partitionKey=u1", "sentinel-orders"),
        ("late", "", "sentinel-late"),
    ] {
        let event =
            json!({ "specversion": "1.0", "id": id, "type": "t", "source": "s", "data": {} });
        let r = call(
            "POST",
            &sc.url(&format!("/v1.0/publish/pubsub/{topic}{query}")),
            &[("content-type", "application/cloudevents+json")],
            &serde_json::to_vec(&event).unwrap(),
        )
        .await;
        assert_eq!(r.status, 204);
    }
    app3.wait_for("/orders", 1).await;
    app3.wait_for("/late", 1).await;
    for group in ["worker/orders-sub", "worker/late-sub"] {
        wait_idle(&sc.store, group).await;
    }
    let got: Vec<(String, serde_json::Value)> = app3
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.json()["id"].clone()))
        .collect();
    assert_eq!(
        got.len(),
        2,
        "only the sentinels, nothing acknowledged before: {got:?}"
    );
    assert!(
        got.contains(&("/orders".into(), json!("sentinel-orders"))),
        "{got:?}"
    );
    assert!(
        got.contains(&("/late".into(), json!("sentinel-late"))),
        "{got:?}"
    );
    sc.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
