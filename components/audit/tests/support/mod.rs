//! Test harness: audit's handler over the in-memory fake sidecar, with a
//! fixed clock, real HS256 tokens and task events built by `todo-core`
//! exactly as task-api publishes them.

#![allow(dead_code)]

use audit::context::Config;
use audit::Ctx;
use chrono::{DateTime, Duration, TimeZone, Utc};
use fake_dapr::FakeDapr;
use serde_json::{json, Value};
use todo_core::auth::{sign_hs256, Claims};
use todo_core::events::{events_for_change, TaskChange};
use todo_core::task::Task;
use todo_core::validate::{parse_task_input, validate};
use todo_dapr::DaprClient;
use todo_http::auth::AuthConfig;
use uuid::Uuid;

pub const SECRET: &str = "audit-test-secret-audit-test-secret";
pub const APP_TOKEN: &str = "audit-app-token";
pub const STORE: &str = "statestore";
pub const DELIVERY: &str = "/events/audit/task-events";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap()
}

pub struct Harness {
    pub dapr: FakeDapr,
    pub ctx: Ctx<FakeDapr>,
}

pub fn harness() -> Harness {
    harness_with(Some("app-api-token"))
}

/// With `app_token_secret: None` deliveries are not token-checked, so a
/// sidecar outage reaches the store calls.
pub fn harness_with(app_token_secret: Option<&str>) -> Harness {
    let dapr = FakeDapr::new();
    dapr.set_secret("todo-secrets", "jwt-secret", &[("jwt-secret", SECRET)]);
    dapr.set_secret("todo-secrets", "app-api-token", &[("token", APP_TOKEN)]);
    let config = Config {
        state_store: STORE.into(),
        auth: AuthConfig {
            secret_store: "todo-secrets".into(),
            jwt_secret_name: "jwt-secret".into(),
            jwt_secret_key: "jwt-secret".into(),
            issuer: None,
            audience: None,
            app_token_secret: app_token_secret.map(str::to_string),
        },
    };
    let ctx = Ctx::new(DaprClient::new(dapr.clone(), None), config, Box::new(now));
    Harness { dapr, ctx }
}

pub fn bearer(user: &str) -> String {
    let claims = Claims {
        sub: user.to_string(),
        exp: now().timestamp() + 3600,
        nbf: None,
        iat: None,
        iss: None,
        aud: None,
    };
    format!("Bearer {}", sign_hs256(&claims, SECRET.as_bytes()))
}

/// Sends one request; returns status and JSON body (`Null` when empty).
pub fn send(h: &Harness, request: http::Request<Vec<u8>>) -> (u16, Value) {
    let response = futures::executor::block_on(audit::handle(&h.ctx, request));
    let status = response.status().as_u16();
    let body = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    (status, body)
}

/// `GET path` as `user`.
pub fn get(h: &Harness, user: &str, path: &str) -> (u16, Value) {
    let request = http::Request::get(path)
        .header("authorization", bearer(user))
        .body(Vec::new())
        .unwrap();
    send(h, request)
}

/// Delivers `body` as Dapr would; returns the reply's `status` string.
pub fn deliver(h: &Harness, body: &[u8]) -> String {
    let request = http::Request::post(DELIVERY)
        .header("content-type", "application/cloudevents+json")
        .header("dapr-api-token", APP_TOKEN)
        .body(body.to_vec())
        .unwrap();
    let (status, reply) = send(h, request);
    assert_eq!(status, 200, "deliveries always answer 200: {reply}");
    reply["status"].as_str().unwrap_or_default().to_string()
}

pub fn deliver_event(h: &Harness, event: &Value) -> String {
    deliver(h, event.to_string().as_bytes())
}

/// A task of `user`'s, built like task-api builds one.
pub fn task(id: u128, body: Value) -> Task {
    let fields = validate(parse_task_input(body.to_string().as_bytes()).unwrap()).unwrap();
    Task::create(Uuid::from_u128(id), fields, now())
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
            at: now(),
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
