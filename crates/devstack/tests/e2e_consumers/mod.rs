//! What the end-to-end tests of the event consumers (audit, recurrence,
//! notify, sync-relay) add to `e2e_support`: a stack that also hosts them
//! (optionally with the `email` binding pointed at a test SMTP port),
//! publishing any bytes to a topic as another app would, the delivery
//! bookkeeping of a consumer group, and a store outage for one app-id
//! (SQLite triggers that make its writes fail, in the stack's store file).

#![allow(dead_code)]

pub mod smtp;

use std::path::{Path, PathBuf};

use crate::e2e_support::*;
use serde_json::Value;

/// Starts task-api, `apps` and the test subscriber, with the store in a file.
/// The `apps`' `.wasm` must be built (`scripts/test` builds every component
/// first); a missing one fails the test rather than skipping it.
pub async fn start(apps: &[&str]) -> Env {
    start_hosting(apps, None).await
}

/// [`start`], with the `email` SMTP binding sending to `smtp_port`.
pub async fn start_with_smtp(apps: &[&str], smtp_port: u16) -> Env {
    start_hosting(apps, Some(smtp_port)).await
}

async fn start_hosting(apps: &[&str], smtp_port: Option<u16>) -> Env {
    for app in apps {
        let wasm = repo_root().join(format!(
            "target/wasm32-wasip2/release/{}.wasm",
            app.replace('-', "_")
        ));
        assert!(
            wasm.is_file(),
            "{} is missing: run `cargo build --target wasm32-wasip2 --release -p {app}` first",
            wasm.display()
        );
    }
    Env::start_hosting(
        Overlay::default(),
        Hosting {
            more_apps: apps.iter().map(|a| a.to_string()).collect(),
            file_store: true,
            smtp_port,
            ..Hosting::default()
        },
    )
    .await
}

/// Publishes `body` to `task-events` through the test subscriber's sidecar,
/// with `user` as partition key (so it is ordered with that user's events).
/// `raw`: `metadata.rawPayload=true`, the bytes reach consumers untouched;
/// otherwise the body is sent as a CloudEvent (`id` kept).
pub async fn publish(env: &Env, user: &str, body: &[u8], raw: bool) {
    publish_to(env, "task-events", user, body, raw).await
}

/// [`publish`] to any `topic`.
pub async fn publish_to(env: &Env, topic: &str, user: &str, body: &[u8], raw: bool) {
    let mut path = format!("/v1.0/publish/{PUBSUB}/{topic}?metadata.partitionKey={user}");
    let content_type = if raw {
        path.push_str("&metadata.rawPayload=true");
        "application/octet-stream"
    } else {
        "application/cloudevents+json"
    };
    let r = env
        .raw(env.subscriber_endpoints.sidecar)
        .call("POST", &path, &[("content-type", content_type)], body)
        .await;
    assert_eq!(r.status, 204, "publish: {}", r.text());
}

/// The task events task-api published for `user`, as delivered (envelopes).
pub async fn task_events_of(env: &Env, user: &str, n: usize) -> Vec<Value> {
    env.subscriber
        .wait_events(ROUTE_TASK_EVENTS, user, n)
        .await
        .iter()
        .map(|r| r.json())
        .collect()
}

/// The dead letters of consumer group `group` (`<app-id>/<subscription>`),
/// as `(reason, data)`.
pub async fn dead_letters(env: &Env, group: &str) -> Vec<(String, Vec<u8>)> {
    env.stack
        .store
        .dead_letters()
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.group == group)
        .map(|d| (d.reason, d.data))
        .collect()
}

fn db(env: &Env) -> PathBuf {
    env.stack
        .store
        .path()
        .expect("the consumer tests keep the store in a file")
        .to_path_buf()
}

fn open(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    conn
}

/// The most attempts any pending delivery of `group` has had (0 when none
/// is pending).
pub fn attempts(env: &Env, group: &str) -> i64 {
    open(&db(env))
        .query_row(
            "SELECT COALESCE(MAX(attempts), 0) FROM deliveries WHERE group_id = ?1",
            [group],
            |r| r.get(0),
        )
        .unwrap()
}

/// Until healed, every state write of a key starting with `prefix` (a full
/// key: `audit||`, `task-api||idem/`) fails inside the store, so the
/// sidecar answers 500 as with a database outage; reads still work.
pub struct StoreOutage {
    db: PathBuf,
    name: String,
}

impl StoreOutage {
    pub fn of(env: &Env, prefix: &str) -> StoreOutage {
        let name: String = prefix
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let name = format!("outage_{name}");
        let when = format!("WHEN substr(NEW.key, 1, {}) = '{prefix}'", prefix.len());
        let fail = format!("BEGIN SELECT RAISE(ABORT, 'injected outage of {prefix}'); END");
        open(&db(env))
            .execute_batch(&format!(
                "CREATE TRIGGER {name}_insert BEFORE INSERT ON state {when} {fail};
                 CREATE TRIGGER {name}_update BEFORE UPDATE ON state {when} {fail};"
            ))
            .unwrap();
        StoreOutage { db: db(env), name }
    }

    pub fn heal(self) {
        let name = &self.name;
        open(&self.db)
            .execute_batch(&format!(
                "DROP TRIGGER {name}_insert; DROP TRIGGER {name}_update;"
            ))
            .unwrap();
    }
}
