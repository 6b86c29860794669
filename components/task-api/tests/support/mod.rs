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

/// The user's index document as stored.
pub fn index(h: &Harness, user: &str) -> Value {
    h.dapr
        .get(STORE, &format!("user/{user}"))
        .map(|e| e.value)
        .unwrap_or(Value::Null)
}

/// The CloudEvent types published on `topic`, in order.
pub fn types_on(h: &Harness, topic: &str) -> Vec<String> {
    h.dapr
        .published_on(topic)
        .iter()
        .map(|p| p.event["type"].as_str().unwrap_or_default().to_string())
        .collect()
}
