//! Test harness: notify's handler over the in-memory fake sidecar and a fake
//! webhook receiver, with a clock the test (and every pause) moves.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use fake_dapr::FakeDapr;
use notify::context::Config;
use notify::Ctx;
use serde_json::{json, Value};
use todo_core::auth::{sign_hs256, Claims};
use todo_core::notify_settings::WebhookPolicy;
use todo_dapr::{DaprClient, Transport, TransportError};
use todo_http::auth::AuthConfig;

pub const SECRET: &str = "test-secret-test-secret-test-secret!";
pub const APP_TOKEN: &str = "app-token-123";
pub const STORE: &str = "statestore";
pub const HOOK_SECRET: &str = "hook-secret-0123456789";

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap()
}

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

/// A clock shared by the test and the context; pauses move it.
#[derive(Clone)]
pub struct Clock(Arc<Mutex<DateTime<Utc>>>);

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
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
    let dapr = FakeDapr::new();
    dapr.set_secret("todo-secrets", "jwt-secret", &[("jwt-secret", SECRET)]);
    dapr.set_secret("todo-secrets", "app-api-token", &[("token", APP_TOKEN)]);
    let web = FakeWeb::default();
    let clock = Clock(Arc::new(Mutex::new(t0())));
    let pauses: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let config = Config {
        state_store: STORE.into(),
        pubsub: "kafka-pubsub".into(),
        email_binding: "email".into(),
        webhooks: WebhookPolicy {
            allow_http_loopback: true,
            blocked_loopback_ports: vec![3500],
        },
        auth: AuthConfig {
            secret_store: "todo-secrets".into(),
            jwt_secret_name: "jwt-secret".into(),
            jwt_secret_key: "jwt-secret".into(),
            issuer: None,
            audience: None,
            app_token_secret: Some("app-api-token".into()),
        },
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
    let now = clock.clone();
    let ctx = Ctx::new(
        DaprClient::new(dapr.clone(), None),
        config,
        Box::new(move || now.now()),
    );
    Harness {
        dapr,
        web,
        clock,
        pauses,
        ctx,
    }
}

pub fn token(user: &str) -> String {
    let claims = Claims {
        sub: user.to_string(),
        exp: t0().timestamp() + 24 * 3600,
        nbf: None,
        iat: Some(t0().timestamp()),
        iss: None,
        aud: None,
    };
    sign_hs256(&claims, SECRET.as_bytes())
}

/// A response, decoded.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `{"status": …}` of a Dapr reply (asserting 200).
    pub fn dapr_status(&self) -> &str {
        assert_eq!(self.status, 200, "{}", self.body);
        self.body["status"].as_str().unwrap_or_default()
    }

    /// Asserts an RFC 9457 problem with `status` and returns its body.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.headers.get("content-type").unwrap(),
            "application/problem+json"
        );
        &self.body
    }
}

/// A request builder with the usual defaults.
pub struct Call {
    builder: http::request::Builder,
    body: Vec<u8>,
}

pub fn call(method: &str, path: &str) -> Call {
    Call {
        builder: http::Request::builder().method(method).uri(path),
        body: Vec::new(),
    }
}

impl Call {
    pub fn user(self, user: &str) -> Call {
        self.header("authorization", &format!("Bearer {}", token(user)))
    }

    /// As Dapr calls: with the app token.
    pub fn dapr(self) -> Call {
        self.header("dapr-api-token", APP_TOKEN)
    }

    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.builder = self.builder.header(name, value);
        self
    }

    pub fn json(mut self, body: Value) -> Call {
        self.body = serde_json::to_vec(&body).unwrap();
        self.header("content-type", "application/json")
    }

    pub fn raw(mut self, content_type: &str, body: &[u8]) -> Call {
        self.body = body.to_vec();
        self.header("content-type", content_type)
    }

    pub fn send(self, h: &Harness) -> Reply {
        let request = self.builder.body(self.body).unwrap();
        let response = futures::executor::block_on(notify::handle(&h.ctx, request));
        let (parts, body) = response.into_parts();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()))
            },
        }
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
    call("POST", "/events/notify/reminders")
        .dapr()
        .raw(
            "application/cloudevents+json",
            &serde_json::to_vec(&event).unwrap(),
        )
        .send(h)
}

/// Fires the reminder job with `data` as Dapr's scheduler would.
pub fn fire(h: &Harness, data: &Value) -> Reply {
    call("POST", &format!("/job/{}", job_name()))
        .dapr()
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
