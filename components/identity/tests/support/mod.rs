//! Test harness: identity's handler over the in-memory fake sidecar, with a
//! clock the test moves, seeded randomness and tiny argon2id parameters (the
//! wasm build uses OWASP's; here a hash costs microseconds).

#![allow(dead_code)]

pub use fake_dapr::harness::*;

use std::cell::Cell;

use fake_dapr::FakeDapr;
use identity::context::{Config, Random};
use identity::Ctx;
use serde_json::{json, Value};
use todo_core::auth::{Claims, JwtConfig};
use todo_core::identity::{LockoutPolicy, PasswordParams};

/// The argon2id cost in tests (argon2's minimum memory is 8 KiB per lane).
pub const FAST: PasswordParams = PasswordParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// What a browser on a real host sends (the cookie then gets `Secure`).
pub const HOST: &str = "todo.example.org";
/// The client address Spin reports for the tests' requests.
pub const CLIENT: &str = "203.0.113.7:51000";
pub const PUBSUB: &str = "kafka-pubsub";
pub const TOPIC: &str = "account-events";
pub const PASSWORD: &str = "tangerine-sky-42";

pub struct Harness {
    pub dapr: FakeDapr,
    pub clock: Clock,
    pub ctx: Ctx<FakeDapr>,
}

/// SplitMix64 from a seed: deterministic, distinct bytes on every call.
fn seeded(seed: u64) -> Random {
    let state = Cell::new(seed);
    Box::new(move |buf: &mut [u8]| {
        for chunk in buf.chunks_mut(8) {
            let mut z = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            state.set(z);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    })
}

pub fn harness() -> Harness {
    let dapr = sidecar();
    let clock = Clock::default();
    let config = Config {
        state_store: STORE.into(),
        pubsub: PUBSUB.into(),
        auth: auth_config(),
        password: FAST,
        lockout: LockoutPolicy::default(),
        random: seeded(42),
    };
    let ctx = Ctx::new(client(&dapr), config, clock.reader());
    Harness { dapr, clock, ctx }
}

impl Handler for Harness {
    fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        futures::executor::block_on(identity::handle(&self.ctx, request))
    }
}

/// A request as the browser on [`HOST`] at [`CLIENT`] sends it.
pub fn browser(method: &str, path: &str) -> Call {
    call(method, path)
        .header("host", HOST)
        .header("spin-client-addr", CLIENT)
}

pub fn signup(h: &Harness, email: &str, password: &str, name: &str) -> Reply {
    browser("POST", "/api/auth/signup")
        .json(json!({"email": email, "password": password, "name": name}))
        .send(h)
}

/// Signs `email` up with [`PASSWORD`], asserts 201, returns the view.
pub fn account(h: &Harness, email: &str) -> Value {
    let reply = signup(h, email, PASSWORD, "Ana López");
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

pub fn login(h: &Harness, email: &str, password: &str) -> Reply {
    login_from(h, email, password, CLIENT)
}

pub fn login_from(h: &Harness, email: &str, password: &str, client: &str) -> Reply {
    call("POST", "/api/auth/login")
        .header("host", HOST)
        .header("spin-client-addr", client)
        .json(json!({"email": email, "password": password}))
        .send(h)
}

/// Logs in, asserts 200, returns (access token, refresh token).
pub fn session(h: &Harness, email: &str) -> (String, String) {
    let reply = login(h, email, PASSWORD);
    assert_eq!(reply.status, 200, "{}", reply.body);
    (
        reply.body["accessToken"].as_str().unwrap().to_string(),
        refresh_token(&reply).expect("a refresh cookie"),
    )
}

/// `POST /api/auth/{action}` with the refresh cookie `token` (if any).
pub fn with_cookie(h: &Harness, action: &str, token: Option<&str>) -> Reply {
    let mut c = browser("POST", &format!("/api/auth/{action}"));
    if let Some(token) = token {
        c = c.header("cookie", &format!("theme=dark; refresh={token}"));
    }
    c.send(h)
}

/// The `Set-Cookie` of a reply.
pub fn set_cookie(reply: &Reply) -> &str {
    reply.header("set-cookie").expect("a Set-Cookie header")
}

/// The refresh token a reply sets (`None` when it clears the cookie).
pub fn refresh_token(reply: &Reply) -> Option<String> {
    let value = set_cookie(reply)
        .split(';')
        .next()?
        .strip_prefix("refresh=")?;
    (!value.is_empty()).then(|| value.to_string())
}

/// Verifies an access token as the other components do.
pub fn verify(token: &str) -> Claims {
    let config = JwtConfig {
        secret: SECRET.as_bytes().to_vec(),
        issuer: None,
        audience: None,
        leeway_secs: 0,
    };
    todo_core::auth::verify(token, &config, t0()).expect("the access token verifies")
}

pub fn state(h: &Harness, key: &str) -> Value {
    h.dapr
        .get(STORE, key)
        .map(|e| e.value)
        .unwrap_or(Value::Null)
}

pub fn account_doc(h: &Harness, id: &Value) -> Value {
    state(h, &format!("account/{}", id.as_str().unwrap()))
}

/// The family key of a refresh token.
pub fn family_key(token: &str) -> String {
    format!("refresh/{}", token.split('.').next().unwrap())
}
