//! Test harness: task-api's handler over the in-memory fake sidecar, with a
//! fixed clock and real HS256 tokens.

#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use fake_dapr::FakeDapr;
use serde_json::Value;
use task_api::context::Config;
use task_api::Ctx;
use todo_core::auth::{sign_hs256, Claims};
use todo_dapr::DaprClient;
use todo_http::auth::AuthConfig;

pub const SECRET: &str = "test-secret-test-secret-test-secret!";
pub const APP_TOKEN: &str = "app-token-123";
pub const STORE: &str = "statestore";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap()
}

pub struct Harness {
    pub dapr: FakeDapr,
    pub ctx: Ctx<FakeDapr>,
}

pub fn harness() -> Harness {
    let dapr = FakeDapr::new();
    dapr.set_secret("todo-secrets", "jwt-secret", &[("jwt-secret", SECRET)]);
    dapr.set_secret("todo-secrets", "app-api-token", &[("token", APP_TOKEN)]);
    let config = Config {
        state_store: STORE.into(),
        pubsub: "kafka-pubsub".into(),
        auth: AuthConfig {
            secret_store: "todo-secrets".into(),
            jwt_secret_name: "jwt-secret".into(),
            jwt_secret_key: "jwt-secret".into(),
            issuer: None,
            audience: None,
            app_token_secret: Some("app-api-token".into()),
        },
    };
    let ctx = Ctx::new(DaprClient::new(dapr.clone(), None), config, Box::new(now));
    Harness { dapr, ctx }
}

pub fn token(user: &str) -> String {
    token_with(user, now().timestamp() + 3600, SECRET)
}

pub fn token_with(user: &str, exp: i64, secret: &str) -> String {
    let claims = Claims {
        sub: user.to_string(),
        exp,
        nbf: None,
        iat: Some(now().timestamp()),
        iss: None,
        aud: None,
    };
    sign_hs256(&claims, secret.as_bytes())
}

/// A response, decoded.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with `status` and returns its body.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string() && self.body["type"].is_string());
        assert!(self.body["detail"].is_string());
        &self.body
    }
}

/// A request builder with the usual defaults: JSON content type, bearer token.
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
        let response = futures::executor::block_on(task_api::handle(&h.ctx, request));
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
