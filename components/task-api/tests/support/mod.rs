//! Test harness: task-api's handler over the in-memory fake sidecar, with a
//! fixed clock and real HS256 tokens (shared pieces: `fake_dapr::harness`).

#![allow(dead_code)]

pub use fake_dapr::harness::*;

use fake_dapr::FakeDapr;
use serde_json::Value;
use task_api::context::Config;
use task_api::Ctx;

pub struct Harness {
    pub dapr: FakeDapr,
    pub ctx: Ctx<FakeDapr>,
}

impl Handler for Harness {
    fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        futures::executor::block_on(task_api::handle(&self.ctx, request))
    }
}

pub fn harness() -> Harness {
    let dapr = sidecar();
    let config = Config {
        state_store: STORE.into(),
        pubsub: "kafka-pubsub".into(),
        auth: auth_config(),
        pause: Box::new(|_| Box::pin(async {})),
    };
    let ctx = Ctx::new(client(&dapr), config, fixed_clock());
    Harness { dapr, ctx }
}

/// Creates a task for `user` and returns its JSON.
pub fn create(h: &Harness, user: &str, body: Value) -> Value {
    let reply = call("POST", "/api/tasks").user(user).json(body).send(h);
    assert_eq!(reply.status, 201, "create failed: {}", reply.body);
    reply.body
}

/// The summaries in the user's index pages, ordered by task id.
pub fn summaries(h: &Harness, user: &str) -> Vec<Value> {
    let prefix = format!("pages/{user}/");
    let mut all: Vec<Value> = h
        .dapr
        .keys(STORE)
        .iter()
        .filter(|k| k.starts_with(&prefix))
        .filter_map(|k| h.dapr.get(STORE, k))
        .flat_map(|e| e.value["tasks"].as_array().cloned().unwrap_or_default())
        .collect();
    all.sort_by_key(|s| s["id"].as_str().unwrap_or_default().to_string());
    all
}

/// A task's document as stored (`Null` when there is none).
pub fn task_doc(h: &Harness, id: &str) -> Value {
    h.dapr
        .get(STORE, &format!("task/{id}"))
        .map(|e| e.value)
        .unwrap_or(Value::Null)
}

/// The names of the outbox jobs scheduled and not deleted.
pub fn armed_jobs(h: &Harness) -> Vec<String> {
    let mut armed: Vec<String> = Vec::new();
    for call in h.dapr.job_calls() {
        match call.method.as_str() {
            "POST" => armed.push(call.name),
            "DELETE" => armed.retain(|n| *n != call.name),
            _ => {}
        }
    }
    armed
}

/// Fires an outbox job as the Scheduler would (`POST /job/{name}`).
pub fn fire_job(h: &Harness, name: &str) -> Reply {
    fake_dapr::harness::fire_job(&h.dapr, h, name)
}

/// The CloudEvent types published on `topic`, in order.
pub fn types_on(h: &Harness, topic: &str) -> Vec<String> {
    h.dapr
        .published_on(topic)
        .iter()
        .map(|p| p.event["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Seeds `user` with `n` tasks (descriptions of `description_len` chars)
/// straight into the fake store, as `store::documents_for` lays them out;
/// returns their ids in creation order.
pub fn seed(h: &Harness, user: &str, n: usize, description_len: usize) -> Vec<String> {
    let tasks: Vec<todo_core::Task> = (0..n)
        .map(|i| {
            let input = todo_core::task::validate::parse_task_input(
                serde_json::to_vec(&serde_json::json!({
                    "title": format!("seeded {i}"),
                    "description": "d".repeat(description_len),
                }))
                .unwrap()
                .as_slice(),
            )
            .unwrap();
            let fields = todo_core::task::validate::validate(input).unwrap();
            todo_core::Task::create(uuid::Uuid::now_v7(), fields, t0())
        })
        .collect();
    for (key, value) in task_api::store::documents_for(user, &tasks) {
        h.dapr.put(STORE, &key, value);
    }
    tasks.iter().map(|t| t.id.to_string()).collect()
}
