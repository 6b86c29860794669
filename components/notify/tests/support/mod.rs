//! Test harness: notify's handler over the in-memory fake sidecar and a fake
//! webhook receiver, with a clock the test (and every pause) moves.

#![allow(dead_code)]

pub use fake_dapr::harness::*;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use fake_dapr::FakeDapr;
use notify::context::Config;
use notify::Ctx;
use serde_json::{json, Value};
use todo_core::notify::settings::WebhookPolicy;
use todo_dapr::{Transport, TransportError};

pub const HOOK_SECRET: &str = "hook-secret-0123456789";

/// One request the fake receiver got.
#[derive(Debug, Clone)]
pub struct Hook {
    pub uri: String,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Hook {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A webhook receiver: records every request, answers scripted statuses
/// (200 once the script is used up); `Err` = no answer.
#[derive(Clone, Default)]
pub struct FakeWeb {
    hooks: Arc<Mutex<Vec<Hook>>>,
    script: Arc<Mutex<VecDeque<Result<u16, String>>>>,
}

impl FakeWeb {
    pub fn answer(&self, answers: &[Result<u16, &str>]) {
        let mut script = self.script.lock().unwrap();
        script.extend(answers.iter().map(|a| a.map_err(str::to_string)));
    }

    pub fn hooks(&self) -> Vec<Hook> {
        self.hooks.lock().unwrap().clone()
    }
}

impl Transport for FakeWeb {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        self.hooks.lock().unwrap().push(Hook {
            uri: request.uri().to_string(),
            headers: request.headers().clone(),
            body: request.body().clone(),
        });
        match self.script.lock().unwrap().pop_front().unwrap_or(Ok(200)) {
            Ok(status) => Ok(http::Response::builder()
                .status(status)
                .body(Vec::new())
                .unwrap()),
            Err(e) => Err(TransportError(e)),
        }
    }
}

pub struct Harness {
    pub dapr: FakeDapr,
    pub web: FakeWeb,
    pub clock: Clock,
    pub pauses: Arc<Mutex<Vec<Duration>>>,
    pub ctx: Ctx<FakeDapr, FakeWeb>,
}

pub fn harness() -> Harness {
    let dapr = sidecar();
    let web = FakeWeb::default();
    let clock = Clock::default();
    let pauses: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let config = Config {
        state_store: STORE.into(),
        pubsub: "kafka-pubsub".into(),
        email_binding: "email".into(),
        webhooks: WebhookPolicy {
            allow_http_loopback: true,
            blocked_loopback_ports: vec![3500],
        },
        auth: auth_config(),
        web: web.clone(),
        pause: {
            let (clock, pauses) = (clock.clone(), pauses.clone());
            Box::new(move |d| {
                pauses.lock().unwrap().push(d);
                clock.advance(chrono::Duration::from_std(d).unwrap());
                Box::pin(async {})
            })
        },
    };
    let ctx = Ctx::new(client(&dapr), config, clock.reader());
    Harness {
        dapr,
        web,
        clock,
        pauses,
        ctx,
    }
}

impl Handler for Harness {
    fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        futures::executor::block_on(notify::handle(&self.ctx, request))
    }
}

pub const TASK: &str = "0193b2c4-1111-7000-8000-000000000001";

pub fn job_name() -> String {
    format!("reminder-{TASK}")
}

/// Reminder event data for `user` (task [`TASK`]).
pub fn reminder(user: &str, version: u64, remind_at: DateTime<Utc>, channels: Value) -> Value {
    json!({
        "userId": user,
        "taskId": TASK,
        "title": "Pay <rent>",
        "dueAt": rfc3339(remind_at + chrono::Duration::minutes(30)),
        "remindAt": rfc3339(remind_at),
        "channels": channels,
        "version": version,
    })
}

/// RFC 3339 as chrono serializes a `DateTime<Utc>` (`Z`, seconds).
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// A reminder CloudEvent of `kind` (`scheduled`/`cancelled`).
pub fn envelope(kind: &str, data: Value) -> Value {
    json!({
        "specversion": "1.0",
        "id": format!("ev-{}", uuid::Uuid::now_v7()),
        "source": "task-api",
        "type": format!("todo.reminder.{kind}.v1"),
        "time": t0().to_rfc3339(),
        "datacontenttype": "application/json",
        "data": data,
        "topic": "reminders",
        "pubsubname": "kafka-pubsub",
    })
}

/// Delivers a reminder event as Dapr would.
pub fn deliver(h: &Harness, event: Value) -> Reply {
    cloud_event(
        "/events/notify/reminders",
        &serde_json::to_vec(&event).unwrap(),
    )
    .send(h)
}

/// Fires the reminder job with `data` as Dapr's scheduler would.
pub fn fire(h: &Harness, data: &Value) -> Reply {
    call("POST", &format!("/job/{}", job_name()))
        .app_token()
        .json(data.clone())
        .send(h)
}

/// Stores settings for `user` (through the API) and asserts 200.
pub fn settings(h: &Harness, user: &str, body: Value) -> Value {
    let reply = call("PUT", "/api/notifications/settings")
        .user(user)
        .json(body)
        .send(h);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// The user's inbox items via the API.
pub fn inbox(h: &Harness, user: &str) -> Vec<Value> {
    let reply = call("GET", "/api/notifications").user(user).send(h);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

pub fn state(h: &Harness, key: &str) -> Value {
    h.dapr
        .get(STORE, key)
        .map(|e| e.value)
        .unwrap_or(Value::Null)
}
