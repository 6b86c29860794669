//! Test harness: recurrence's handler over the in-memory fake sidecar, whose
//! service invocations are answered by a stand-in for task-api's
//! `/internal/tasks/next` with the same idempotency rules (same key + same
//! body → 200, same key + other body → 422, new key → 201).

#![allow(dead_code)]

pub use fake_dapr::harness::*;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use fake_dapr::{FakeDapr, Invoked};
use recurrence::context::Config;
use recurrence::Ctx;
use serde_json::{json, Value};
use todo_core::events::{events_for_change, TaskChange};
use todo_core::task::validate::{parse_task_input, validate};
use todo_core::task::Task;
use uuid::Uuid;

pub const DELIVERY: &str = "/events/recurrence/task-events";

/// What the task-api stand-in has created: idempotency key → body.
pub type Created = Arc<Mutex<BTreeMap<String, Value>>>;

pub struct Harness {
    pub dapr: FakeDapr,
    pub ctx: Ctx<FakeDapr>,
    pub created: Created,
    /// Statuses the stand-in answers with before behaving normally.
    pub failures: Arc<Mutex<Vec<http::Response<Vec<u8>>>>>,
}

pub fn harness() -> Harness {
    let dapr = sidecar();
    let created: Created = Arc::default();
    let failures: Arc<Mutex<Vec<http::Response<Vec<u8>>>>> = Arc::default();
    let (store, queued) = (created.clone(), failures.clone());
    dapr.answer_invocations(move |invoked: &Invoked| {
        let mut queued = queued.lock().unwrap();
        if !queued.is_empty() {
            return queued.remove(0);
        }
        let key = invoked.headers["idempotency-key"]
            .to_str()
            .unwrap()
            .to_string();
        let body: Value = serde_json::from_slice(&invoked.body).unwrap();
        let mut store = store.lock().unwrap();
        match store.get(&key) {
            None => {
                store.insert(key, body.clone());
                respond(201, json!({ "id": "new" }))
            }
            Some(seen) if *seen == body => respond(200, json!({ "id": "new" })),
            Some(_) => respond(
                422,
                json!({
                    "type": "/problems/idempotency-key-reused",
                    "title": "Idempotency-Key reused",
                    "status": 422,
                    "detail": "used with a different request body"
                }),
            ),
        }
    });
    let config = Config {
        task_api: "task-api".into(),
        auth: auth_config(),
    };
    let ctx = Ctx::new(client(&dapr), config, fixed_clock());
    Harness {
        dapr,
        ctx,
        created,
        failures,
    }
}

/// A JSON response with `status`.
pub fn respond(status: u16, body: Value) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string().into_bytes())
        .unwrap()
}

impl Handler for Harness {
    fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        futures::executor::block_on(recurrence::handle(&self.ctx, request))
    }
}

/// Sends one request; returns status and JSON body (`Null` when empty).
pub fn send(h: &Harness, request: http::Request<Vec<u8>>) -> (u16, Value) {
    let reply = h.send(request);
    (reply.status, reply.body)
}

/// Delivers `body` on `path` as Dapr would; returns the reply's `status`.
pub fn deliver_on(h: &Harness, path: &str, body: &[u8]) -> String {
    cloud_event(path, body).send(h).dapr_status().to_string()
}

pub fn deliver(h: &Harness, event: &Value) -> String {
    deliver_on(h, DELIVERY, event.to_string().as_bytes())
}

/// A task built like task-api builds one (`id` is also the series id).
pub fn task(id: u128, body: Value) -> Task {
    let fields = validate(parse_task_input(body.to_string().as_bytes()).unwrap()).unwrap();
    Task::create(Uuid::from_u128(id), fields, t0())
}

/// The `task-events` envelope task-api publishes for one change of alice's.
pub fn event(change: TaskChange, before: Option<&Task>, after: Option<&Task>, id: u128) -> Value {
    let mut ids = || Uuid::from_u128(id);
    events_for_change(change, "alice", before, after, t0(), &mut ids)[0]
        .event
        .clone()
}

/// `task` completed at `at`, and the completion event (event id `id`).
pub fn complete(task: &Task, at: DateTime<Utc>, id: u128) -> (Task, Value) {
    let mut done = task.clone();
    done.complete(at);
    let event = event(TaskChange::Completed, Some(task), Some(&done), id);
    (done, event)
}
