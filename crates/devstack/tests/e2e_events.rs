//! Events end to end: every change a user makes through the gateway is
//! published by the real task-api to `task-events`, `reminders` and
//! `task-updates`, and delivered by the (devstack) sidecar to a subscriber
//! declared like any consumer — with the CloudEvent of architecture §4, the
//! publisher's own `id`, the user id as partition key, per-user order and the
//! app token. Also: the `outbox-sweep` cron binding reaches task-api and
//! publishes what a failed publish left behind.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use support::*;

const TASK_EVENTS: &str = "task-events";
const REMINDERS: &str = "reminders";
const TASK_UPDATES: &str = "task-updates";

/// Everything a delivery of `topic` must carry, whatever the event.
#[track_caller]
fn check_delivery(env: &Env, d: &Recorded, topic: &str, user: &str, since: DateTime<Utc>) {
    assert_eq!(d.method, http::Method::POST);
    assert_eq!(
        d.header("content-type"),
        Some("application/cloudevents+json"),
        "{:?}",
        d.headers
    );
    assert_eq!(
        d.header("dapr-api-token"),
        Some(env.secrets.app_token.as_str()),
        "the sidecar presents the app token"
    );
    let traceparent = d.header("traceparent").expect("traceparent header");
    assert_eq!(traceparent.split('-').count(), 4, "{traceparent}");
    // The partition key travels as the Kafka message key.
    assert_eq!(d.header("__key"), Some(user), "{:?}", d.headers);

    let ce = d.json();
    assert_eq!(ce["specversion"], "1.0", "{ce}");
    assert_eq!(ce["source"], "task-api", "{ce}");
    assert_eq!(ce["datacontenttype"], "application/json", "{ce}");
    assert_eq!(ce["topic"], topic, "Dapr fills topic: {ce}");
    assert_eq!(ce["pubsubname"], PUBSUB, "Dapr fills pubsubname: {ce}");
    let id = ce["id"].as_str().expect("id");
    let id = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("id {id}: {e}"));
    assert_eq!(
        id.get_version_num(),
        7,
        "the id task-api made (uuid v7), not one Dapr invented: {ce}"
    );
    let time = parse_time(&ce["time"]);
    assert!(
        time >= since - Duration::seconds(1) && time <= Utc::now() + Duration::seconds(1),
        "time {time} is when the change happened: {ce}"
    );
    assert_eq!(ce["data"]["userId"], user, "{ce}");
    assert!(ce["data"]["version"].is_u64(), "{ce}");
}

fn ce(d: &Recorded) -> Value {
    d.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_publishes_the_design_cloudevents() {
    let env = Env::start().await;
    let user = unique_user("alice");
    let api = env.api(&user);
    let sub = &env.subscriber;
    let t0 = Utc::now();

    let due = (Utc::now() + Duration::days(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let created = api
        .create(json!({
            "title": "Dentist",
            "priority": "high",
            "tags": ["health"],
            "dueAt": due,
            "reminder": { "before": "PT15M", "channels": ["inbox", "email"] },
        }))
        .await;
    let id = id_of(&created);
    let path = format!("/api/tasks/{id}");

    // Created: one event per topic.
    let te = sub.wait_events(ROUTE_TASK_EVENTS, &user, 1).await;
    let rem = sub.wait_events(ROUTE_REMINDERS, &user, 1).await;
    let tu = sub.wait_events(ROUTE_TASK_UPDATES, &user, 1).await;
    let e = ce(&te[0]);
    assert_eq!(e["type"], "todo.task.created.v1", "{e}");
    assert_eq!(e["subject"], id.as_str());
    assert_eq!(e["data"]["taskId"], id.as_str());
    assert_eq!(e["data"]["version"], 1);
    assert_eq!(
        e["data"]["task"], created,
        "data.task is the task as the API returned it"
    );
    assert!(
        e["data"].get("previous").is_none(),
        "no previous on create: {e}"
    );
    assert_eq!(
        e["data"]["changedFields"],
        json!(["title", "status", "priority", "tags", "dueAt", "timezone", "reminder"])
    );
    let r = ce(&rem[0]);
    assert_eq!(r["type"], "todo.reminder.scheduled.v1", "{r}");
    let due_at = parse_time(&created["dueAt"]);
    assert_eq!(
        parse_time(&r["data"]["remindAt"]),
        due_at - Duration::minutes(15),
        "remindAt = dueAt - before: {r}"
    );
    assert_eq!(parse_time(&r["data"]["dueAt"]), due_at);
    assert_eq!(r["data"]["taskId"], id.as_str());
    assert_eq!(r["data"]["title"], "Dentist");
    assert_eq!(r["data"]["channels"], json!(["inbox", "email"]));
    assert_eq!(r["data"]["version"], 1);
    let s = ce(&tu[0]);
    assert_eq!(s["type"], "todo.sync.task-changed.v1", "{s}");
    assert_eq!(s["data"]["change"], "created");
    assert_eq!(s["data"]["task"], created);
    assert_eq!(s["data"]["version"], 1);

    // A sequence of changes, each with its own events.
    let renamed = api
        .patch(&path, &json!({ "title": "Dentist (Dr. Who)" }))
        .await;
    assert_eq!(renamed.status, 200);
    let renamed = renamed.json();
    let reprioritised = api
        .patch(&path, &json!({ "priority": "urgent" }))
        .await
        .json();
    let completed = api
        .call("POST", &format!("{path}/complete"), &[], b"")
        .await;
    assert_eq!(completed.status, 200);
    let completed = completed.json();
    // Completing again changes nothing and publishes nothing.
    assert_eq!(
        api.call("POST", &format!("{path}/complete"), &[], b"")
            .await
            .status,
        200
    );
    let reopened = api
        .call("POST", &format!("{path}/reopen"), &[], b"")
        .await
        .json();
    let unreminded = api.patch(&path, &json!({ "reminder": null })).await.json();
    assert_eq!(unreminded["version"], 6);
    assert_eq!(api.delete(&path).await.status, 204);

    // The delete's sync event is the last one: once it is in, all are.
    let tu = sub.wait_events(ROUTE_TASK_UPDATES, &user, 7).await;
    let te = sub.wait_events(ROUTE_TASK_EVENTS, &user, 7).await;
    let rem = sub.wait_events(ROUTE_REMINDERS, &user, 5).await;
    assert_eq!(
        sub.types_for(ROUTE_TASK_EVENTS, &user),
        [
            "todo.task.created.v1",
            "todo.task.updated.v1",
            "todo.task.updated.v1",
            "todo.task.completed.v1",
            "todo.task.reopened.v1",
            "todo.task.updated.v1",
            "todo.task.deleted.v1",
        ]
    );
    assert_eq!(
        sub.types_for(ROUTE_REMINDERS, &user),
        [
            "todo.reminder.scheduled.v1", // created
            "todo.reminder.scheduled.v1", // title changed (it is in the notification)
            "todo.reminder.cancelled.v1", // completed
            "todo.reminder.scheduled.v1", // reopened
            "todo.reminder.cancelled.v1", // reminder removed
        ]
    );
    assert!(sub
        .types_for(ROUTE_TASK_UPDATES, &user)
        .iter()
        .all(|t| t == "todo.sync.task-changed.v1"));

    for (route, topic, deliveries) in [
        (ROUTE_TASK_EVENTS, TASK_EVENTS, &te),
        (ROUTE_REMINDERS, REMINDERS, &rem),
        (ROUTE_TASK_UPDATES, TASK_UPDATES, &tu),
    ] {
        for d in deliveries.iter() {
            assert_eq!(d.path_only(), route);
            check_delivery(&env, d, topic, &user, t0);
        }
    }

    // Unique ids across every event.
    let all: Vec<String> = te
        .iter()
        .chain(rem.iter())
        .chain(tu.iter())
        .map(|d| ce(d)["id"].as_str().unwrap().to_string())
        .collect();
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "every event has its own id: {all:?}"
    );

    // Versions, previous/after and changedFields of each task event.
    let data: Vec<Value> = te.iter().map(|d| ce(d)["data"].clone()).collect();
    let versions: Vec<u64> = data
        .iter()
        .map(|d| d["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(data[1]["previous"], created);
    assert_eq!(data[1]["task"], renamed);
    assert_eq!(data[1]["changedFields"], json!(["title"]));
    assert_eq!(data[2]["previous"], renamed);
    assert_eq!(data[2]["task"], reprioritised);
    assert_eq!(data[2]["changedFields"], json!(["priority"]));
    assert_eq!(data[3]["task"], completed);
    assert_eq!(data[3]["changedFields"], json!(["status", "completedAt"]));
    assert_eq!(data[4]["task"], reopened);
    assert_eq!(data[5]["changedFields"], json!(["reminder"]));
    assert!(data[6]["task"].is_null(), "deleted: no task after");
    assert_eq!(data[6]["previous"], unreminded);
    assert_eq!(data[6]["version"], 7);

    // Reminder data: scheduled ones describe the task after, cancelled ones
    // the reminder being cancelled; all carry the change's version.
    let rdata: Vec<Value> = rem.iter().map(|d| ce(d)["data"].clone()).collect();
    let rversions: Vec<u64> = rdata
        .iter()
        .map(|d| d["version"].as_u64().unwrap())
        .collect();
    assert_eq!(rversions, [1, 2, 4, 5, 6]);
    assert_eq!(rdata[1]["title"], "Dentist (Dr. Who)");
    for d in &rdata {
        assert_eq!(
            parse_time(&d["remindAt"]),
            due_at - Duration::minutes(15),
            "{d}"
        );
        assert_eq!(d["taskId"], id.as_str());
    }

    // Sync events name the change and carry the task after it.
    let sdata: Vec<Value> = tu.iter().map(|d| ce(d)["data"].clone()).collect();
    let changes: Vec<&str> = sdata
        .iter()
        .map(|d| d["change"].as_str().unwrap())
        .collect();
    assert_eq!(
        changes,
        [
            "created",
            "updated",
            "updated",
            "completed",
            "reopened",
            "updated",
            "deleted"
        ]
    );
    assert!(sdata[6]["task"].is_null());
    assert_eq!(sdata[4]["task"], reopened);

    // In the log, every message of this user is keyed by the user id.
    for topic in [TASK_EVENTS, REMINDERS, TASK_UPDATES] {
        let stored = env.stack.store.messages(PUBSUB, topic).await.unwrap();
        assert!(!stored.is_empty());
        for m in stored {
            assert_eq!(m.partition_key.as_deref(), Some(user.as_str()), "{topic}");
            assert_eq!(m.content_type, "application/cloudevents+json");
        }
    }

    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_users_events_arrive_in_order_while_users_run_in_parallel() {
    let env = Env::start().await;
    const CHANGES: u64 = 12;
    let users: Vec<String> = (0..3).map(|i| unique_user(&format!("u{i}"))).collect();

    // Each user makes a burst of changes; the users run concurrently.
    let bursts = users.iter().map(|user| {
        let api = env.api(user);
        async move {
            let task = api.create(json!({ "title": "counter 0" })).await;
            let path = format!("/api/tasks/{}", id_of(&task));
            for i in 1..=CHANGES {
                let r = api
                    .patch(&path, &json!({ "title": format!("counter {i}") }))
                    .await;
                assert_eq!(r.status, 200, "{}", r.text());
            }
        }
    });
    futures::future::join_all(bursts).await;

    for user in &users {
        for route in [ROUTE_TASK_EVENTS, ROUTE_TASK_UPDATES] {
            let got = env
                .subscriber
                .wait_events(route, user, CHANGES as usize + 1)
                .await;
            let versions: Vec<u64> = got
                .iter()
                .map(|d| d.json()["data"]["version"].as_u64().unwrap())
                .collect();
            let expected: Vec<u64> = (1..=CHANGES + 1).collect();
            assert_eq!(versions, expected, "{route} for {user}: arrival order");
            for d in &got {
                assert_eq!(d.header("__key"), Some(user.as_str()));
            }
        }
        let titles: Vec<String> = env
            .subscriber
            .events_for(ROUTE_TASK_EVENTS, user)
            .iter()
            .map(|d| {
                d.json()["data"]["task"]["title"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(titles.last().unwrap(), &format!("counter {CHANGES}"));
    }

    env.shutdown().await;
}

/// The pending shard task-api records a user in (FNV-1a of the user id,
/// modulo 16), as `components/task-api/src/store.rs` computes it.
fn pending_shard(user: &str) -> u32 {
    let hash = user.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % 16) as u32
}

fn shard_key_escaped(user: &str) -> String {
    format!("outbox-pending%2F{}", pending_shard(user))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_sweep_cron_binding_migrates_what_the_previous_layout_left_pending() {
    // The production schedule is every minute; the overlay makes it 1 s.
    let env = Env::start_with(Overlay {
        sweep_schedule: Some("@every 1s".into()),
    })
    .await;
    let user = unique_user("sweep");
    let api = env.api(&user);
    let task = api.create(json!({ "title": "left behind" })).await;
    let created = env
        .subscriber
        .wait_events(ROUTE_TASK_EVENTS, &user, 1)
        .await;

    // What the previous state layout left when a publish failed: the event
    // in the user's index document `user/{uid}` and the user recorded in an
    // `outbox-pending` shard for the sweep (task-api migrates such users).
    let sidecar = env.raw(env.task_api.sidecar);
    let mut index = json!({ "tasks": [] });
    let mut event = created[0].json();
    for dapr_field in [
        "topic",
        "pubsubname",
        "traceid",
        "traceparent",
        "tracestate",
    ] {
        event.as_object_mut().unwrap().remove(dapr_field);
    }
    let lost_id = uuid::Uuid::now_v7().to_string();
    event["id"] = json!(lost_id);
    event["type"] = json!("todo.task.updated.v1");
    index["outbox"] = json!([{ "topic": TASK_EVENTS, "partitionKey": user, "event": event }]);
    let shard_key = format!("outbox-pending/{}", pending_shard(&user));
    let r = sidecar
        .post(
            "/v1.0/state/statestore",
            &json!([
                { "key": format!("user/{user}"), "value": index },
                { "key": shard_key, "value": { "users": [user] } },
            ]),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());

    // No request of this user follows: only the cron binding can publish it.
    let delivered = eventually("the sweep to publish the left-behind event", || {
        let found = env
            .subscriber
            .events_for(ROUTE_TASK_EVENTS, &user)
            .into_iter()
            .find(|d| d.json()["id"] == lost_id.as_str());
        async move { found }
    })
    .await;
    check_delivery(
        &env,
        &delivered,
        TASK_EVENTS,
        &user,
        Utc::now() - Duration::hours(1),
    );
    assert_eq!(delivered.json()["data"]["taskId"], task["id"]);

    // The sweep cleaned up after itself: the old index is gone and the user
    // is no longer pending.
    let index_url = format!("/v1.0/state/statestore/user%2F{user}");
    let shard_url = format!("/v1.0/state/statestore/{}", shard_key_escaped(&user));
    let (index, shard) = eventually("the sweep to clear its records", || {
        let (sidecar, index_url, shard_url) =
            (sidecar.clone(), index_url.clone(), shard_url.clone());
        let user = user.clone();
        async move {
            let index = sidecar.get(&index_url).await.status;
            let shard = sidecar.get(&shard_url).await;
            let shard = if shard.status == 204 {
                json!({ "users": [] })
            } else {
                shard.json()
            };
            let cleared = index == 204
                && !shard["users"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|u| u == user.as_str());
            cleared.then_some((index, shard))
        }
    })
    .await;
    assert_eq!(index, 204, "user/{{uid}} migrated away");
    assert!(shard["users"].as_array().unwrap().is_empty(), "{shard}");

    let copies = env
        .subscriber
        .events_for(ROUTE_TASK_EVENTS, &user)
        .iter()
        .filter(|d| d.json()["id"] == lost_id.as_str())
        .count();
    assert_eq!(copies, 1, "published once");

    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_published_for_requests_that_change_nothing() {
    let env = Env::start().await;
    let user = unique_user("quiet");
    let api = env.api(&user);
    let task = api.create(json!({ "title": "still" })).await;
    let path = format!("/api/tasks/{}", id_of(&task));
    // Reads, failed writes and no-op writes.
    api.get(&path).await;
    api.get("/api/tasks?q=still").await;
    api.call("POST", &format!("{path}/reopen"), &[], b"").await;
    api.patch(&path, &json!({ "title": "still" })).await;
    assert_eq!(
        api.call(
            "PATCH",
            &path,
            &[("content-type", "application/json"), ("if-match", "\"9\"")],
            br#"{"title":"x"}"#
        )
        .await
        .status,
        412
    );
    assert_eq!(api.patch(&path, &json!({ "title": "" })).await.status, 422);
    // Then one real change: its events are the next ones after the create's.
    let done = api
        .call("POST", &format!("{path}/complete"), &[], b"")
        .await;
    assert_eq!(done.status, 200);
    let got = env
        .subscriber
        .wait_events(ROUTE_TASK_UPDATES, &user, 2)
        .await;
    env.subscriber
        .wait_events(ROUTE_TASK_EVENTS, &user, 2)
        .await;
    let types = env.subscriber.types_for(ROUTE_TASK_EVENTS, &user);
    assert_eq!(types, ["todo.task.created.v1", "todo.task.completed.v1"]);
    let versions: Vec<u64> = got
        .iter()
        .map(|d| d.json()["data"]["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2]);
    let per_topic: BTreeMap<&str, usize> = [ROUTE_TASK_EVENTS, ROUTE_REMINDERS, ROUTE_TASK_UPDATES]
        .into_iter()
        .map(|r| (r, env.subscriber.events_for(r, &user).len()))
        .collect();
    assert_eq!(
        per_topic[ROUTE_REMINDERS], 0,
        "no reminder, no reminder events"
    );
    assert_eq!(per_topic[ROUTE_TASK_EVENTS], 2);

    env.shutdown().await;
}
