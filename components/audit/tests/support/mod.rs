//! Test harness: audit's handler over the in-memory fake sidecar, with a
//! fixed clock, real HS256 tokens and task events built by `todo-core`
//! exactly as task-api publishes them.

#![allow(dead_code)]

pub use fake_dapr::harness::*;

use audit::context::Config;
use audit::Ctx;
use chrono::{DateTime, Duration, Utc};
use fake_dapr::FakeDapr;
use serde_json::{json, Value};
use todo_core::events::{events_for_change, TaskChange};
use todo_core::task::validate::{parse_task_input, validate};
use todo_core::task::Task;
use uuid::Uuid;

pub const DELIVERY: &str = "/events/audit/task-events";

pub struct Harness {
    pub dapr: FakeDapr,
    pub ctx: Ctx<FakeDapr>,
}

impl Handler for Harness {
    fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        futures::executor::block_on(audit::handle(&self.ctx, request))
    }
}

pub fn harness() -> Harness {
    harness_with(Some(APP_TOKEN_SECRET))
}

/// With `app_token_secret: None` deliveries are not token-checked, so a
/// sidecar outage reaches the store calls.
pub fn harness_with(app_token_secret: Option<&str>) -> Harness {
    let dapr = sidecar();
    let config = Config {
        state_store: STORE.into(),
        auth: todo_http::auth::AuthConfig {
            app_token_secret: app_token_secret.map(str::to_string),
            ..auth_config()
        },
    };
    let ctx = Ctx::new(client(&dapr), config, fixed_clock());
    Harness { dapr, ctx }
}

/// Sends one request; returns status and JSON body (`Null` when empty).
pub fn send(h: &Harness, request: http::Request<Vec<u8>>) -> (u16, Value) {
    let reply = h.send(request);
    (reply.status, reply.body)
}

/// `GET path` as `user`.
pub fn get(h: &Harness, user: &str, path: &str) -> (u16, Value) {
    let reply = call("GET", path).user(user).send(h);
    (reply.status, reply.body)
}

/// Delivers `body` as Dapr would; returns the reply's `status` string.
pub fn deliver(h: &Harness, body: &[u8]) -> String {
    cloud_event(DELIVERY, body)
        .send(h)
        .dapr_status()
        .to_string()
}

pub fn deliver_event(h: &Harness, event: &Value) -> String {
    deliver(h, event.to_string().as_bytes())
}

/// A task of `user`'s, built like task-api builds one.
pub fn task(id: u128, body: Value) -> Task {
    let fields = validate(parse_task_input(body.to_string().as_bytes()).unwrap()).unwrap();
    Task::create(Uuid::from_u128(id), fields, t0())
}

/// Builds task events as task-api publishes them (ids unique per user).
pub struct Events {
    user: String,
    next_id: u128,
    at: DateTime<Utc>,
}

impl Events {
    pub fn for_user(user: &str) -> Events {
        Events {
            user: user.to_string(),
            next_id: 0,
            at: t0(),
        }
    }

    /// The `task-events` envelope of one change.
    pub fn event(
        &mut self,
        change: TaskChange,
        before: Option<&Task>,
        after: Option<&Task>,
    ) -> Value {
        self.next_id += 1;
        self.at += Duration::minutes(1);
        let user = self
            .user
            .bytes()
            .fold(0u128, |h, b| (h << 8) ^ u128::from(b));
        let id = Uuid::from_u128((user << 32) + self.next_id);
        let mut ids = || id;
        let events = events_for_change(change, &self.user, before, after, self.at, &mut ids);
        let mut event = events[0].event.clone();
        // What Dapr adds on the way.
        event["topic"] = json!("task-events");
        event["pubsubname"] = json!("kafka-pubsub");
        event["traceparent"] = json!("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        event
    }
}
