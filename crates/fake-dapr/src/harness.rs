//! The parts of a component's native test harness that every component
//! shares: the standard test secrets and [`AuthConfig`], real HS256 tokens,
//! a fixed (or test-moved) clock, a request builder ([`Call`]) and a decoded
//! response ([`Reply`]) with RFC 9457 problem assertions.
//!
//! A component's `tests/support/mod.rs` builds its own `Ctx`/`Config` from
//! these pieces and implements [`Handler`] (calling its own `handle`), which
//! gives it `call(..).user(..).json(..).send(&h)`.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use todo_core::auth::{sign_hs256, Claims};
use todo_dapr::DaprClient;
use todo_http::auth::{AuthConfig, APP_TOKEN_KEY};

use crate::FakeDapr;

/// The secret store the test secrets live in.
pub const SECRET_STORE: &str = "todo-secrets";
/// Name of the secret holding the JWT signing key.
pub const JWT_SECRET_NAME: &str = "jwt-secret";
/// Key of the signing key inside [`JWT_SECRET_NAME`].
pub const JWT_SECRET_KEY: &str = "jwt-secret";
/// Name of the secret holding the app token Dapr calls with.
pub const APP_TOKEN_SECRET: &str = "app-api-token";
/// The HS256 key tokens are signed with.
pub const SECRET: &str = "test-secret-test-secret-test-secret!";
/// The app token (`dapr-api-token`) Dapr calls the components with.
pub const APP_TOKEN: &str = "app-token-123";
/// The state store components are configured with.
pub const STORE: &str = "statestore";

/// The fixed instant tests start at: 2026-11-27T10:00:00Z.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap()
}

/// A context clock that always reads [`t0`].
pub fn fixed_clock() -> Box<dyn Fn() -> DateTime<Utc>> {
    Box::new(t0)
}

/// A clock shared by a test and its context; the test (or a pause) moves it.
#[derive(Clone, Debug)]
pub struct Clock(Arc<Mutex<DateTime<Utc>>>);

impl Default for Clock {
    /// Starts at [`t0`].
    fn default() -> Clock {
        Clock::at(t0())
    }
}

impl Clock {
    pub fn at(at: DateTime<Utc>) -> Clock {
        Clock(Arc::new(Mutex::new(at)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }

    /// Moves the clock by `by` and returns the new time.
    pub fn advance(&self, by: chrono::Duration) -> DateTime<Utc> {
        let mut now = self.0.lock().unwrap();
        *now += by;
        *now
    }

    /// A context clock reading this one.
    pub fn reader(&self) -> Box<dyn Fn() -> DateTime<Utc>> {
        let clock = self.clone();
        Box::new(move || clock.now())
    }
}

/// The [`AuthConfig`] matching [`sidecar`]'s secrets (app token required).
pub fn auth_config() -> AuthConfig {
    AuthConfig {
        secret_store: SECRET_STORE.into(),
        jwt_secret_name: JWT_SECRET_NAME.into(),
        jwt_secret_key: JWT_SECRET_KEY.into(),
        issuer: None,
        audience: None,
        jwks_url: None,
        state_store: "statestore".into(),
        app_token_secret: Some(APP_TOKEN_SECRET.into()),
    }
}

/// Stores the JWT key ([`SECRET`]) and the app token ([`APP_TOKEN`]).
pub fn set_test_secrets(dapr: &FakeDapr) {
    dapr.set_secret(SECRET_STORE, JWT_SECRET_NAME, &[(JWT_SECRET_KEY, SECRET)]);
    dapr.set_secret(
        SECRET_STORE,
        APP_TOKEN_SECRET,
        &[(APP_TOKEN_KEY, APP_TOKEN)],
    );
}

/// A fresh fake sidecar holding the test secrets.
pub fn sidecar() -> FakeDapr {
    let dapr = FakeDapr::new();
    set_test_secrets(&dapr);
    dapr
}

/// A Dapr client over `dapr` (no API token).
pub fn client(dapr: &FakeDapr) -> DaprClient<FakeDapr> {
    DaprClient::new(dapr.clone(), None)
}

/// A token for `user`, valid for a day from [`t0`].
pub fn token(user: &str) -> String {
    token_with(user, t0().timestamp() + 24 * 3600, SECRET)
}

/// A token for `user` expiring at `exp`, signed with `secret`.
pub fn token_with(user: &str, exp: i64, secret: &str) -> String {
    let claims = Claims {
        sub: user.to_string(),
        exp,
        nbf: None,
        iat: Some(t0().timestamp()),
        iss: None,
        aud: None,
    };
    sign_hs256(&claims, secret.as_bytes())
}

/// The `authorization` header value for `user`.
pub fn bearer(user: &str) -> String {
    format!("Bearer {}", token(user))
}

/// What a component's harness answers requests with (its own `handle`).
/// Fires job `name` as the Scheduler does: `POST /job/{name}` with the app
/// token and the job's `data` as scheduled on `dapr` (`null` when it is not).
pub fn fire_job(dapr: &FakeDapr, handler: &impl Handler, name: &str) -> Reply {
    call("POST", &format!("/job/{name}"))
        .app_token()
        .json(
            dapr.job(name)
                .map(|j| j["data"].clone())
                .unwrap_or(Value::Null),
        )
        .send(handler)
}

pub trait Handler {
    fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>>;

    /// Handles `request` and decodes the response.
    fn send(&self, request: http::Request<Vec<u8>>) -> Reply {
        Reply::from(self.handle(request))
    }
}

/// A request builder: method, path, headers, body.
pub struct Call {
    builder: http::request::Builder,
    body: Vec<u8>,
}

/// Starts a request.
pub fn call(method: &str, path: &str) -> Call {
    Call {
        builder: http::Request::builder().method(method).uri(path),
        body: Vec::new(),
    }
}

/// A CloudEvent delivery to `path` as Dapr makes it: `POST`, the app token,
/// `application/cloudevents+json`.
pub fn cloud_event(path: &str, body: &[u8]) -> Call {
    call("POST", path)
        .app_token()
        .raw("application/cloudevents+json", body)
}

impl Call {
    /// As `user`: a bearer token.
    pub fn user(self, user: &str) -> Call {
        self.header("authorization", &bearer(user))
    }

    /// As Dapr calls: with the app token.
    pub fn app_token(self) -> Call {
        self.header("dapr-api-token", APP_TOKEN)
    }

    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.builder = self.builder.header(name, value);
        self
    }

    /// A JSON body (and its content type).
    pub fn json(mut self, body: Value) -> Call {
        self.body = serde_json::to_vec(&body).unwrap();
        self.header("content-type", "application/json")
    }

    /// A body of `content_type`.
    pub fn raw(mut self, content_type: &str, body: &[u8]) -> Call {
        self.body = body.to_vec();
        self.header("content-type", content_type)
    }

    pub fn request(self) -> http::Request<Vec<u8>> {
        self.builder.body(self.body).unwrap()
    }

    /// Sends the request to `h` and decodes the response.
    pub fn send(self, h: &impl Handler) -> Reply {
        h.send(self.request())
    }
}

impl From<Call> for http::Request<Vec<u8>> {
    fn from(call: Call) -> http::Request<Vec<u8>> {
        call.request()
    }
}

/// A response, decoded: the body as JSON (`Null` when empty, a string when
/// it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl From<http::Response<Vec<u8>>> for Reply {
    fn from(response: http::Response<Vec<u8>>) -> Reply {
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
        assert_eq!(self.body["status"], status, "{}", self.body);
        assert!(
            self.body["title"].is_string() && self.body["type"].is_string(),
            "{}",
            self.body
        );
        assert!(self.body["detail"].is_string(), "{}", self.body);
        &self.body
    }

    /// The `{"status": …}` of a reply to Dapr (asserting 200: deliveries
    /// always answer 200).
    pub fn dapr_status(&self) -> &str {
        assert_eq!(
            self.status, 200,
            "deliveries always answer 200: {}",
            self.body
        );
        self.body["status"].as_str().unwrap_or_default()
    }
}
