//! task-api's configuration, and its per-request context (the shared
//! [`todo_http::context::Ctx`] over this configuration).

use todo_http::auth::AuthConfig;
use todo_http::context::{Pause, WithAuth};
use todo_http::env_var;

/// Names of the Dapr components task-api uses. From WASI env: `STATE_STORE`
/// (default `statestore`), `PUBSUB_NAME` (default `kafka-pubsub`).
pub struct Config {
    pub state_store: String,
    pub pubsub: String,
    pub auth: AuthConfig,
    /// Waits between attempts after a lost race (the host's clock in wasm,
    /// nothing in tests).
    pub pause: Pause,
}

impl Config {
    pub fn from_env(pause: Pause) -> Config {
        Config {
            state_store: env_var("STATE_STORE").unwrap_or_else(|| "statestore".into()),
            pubsub: env_var("PUBSUB_NAME").unwrap_or_else(|| "kafka-pubsub".into()),
            auth: AuthConfig::from_env(),
            pause,
        }
    }

    pub async fn pause(&self, duration: std::time::Duration) {
        (self.pause)(duration).await
    }
}

impl WithAuth for Config {
    fn auth(&self) -> &AuthConfig {
        &self.auth
    }
}

/// Per-request context (WASI p2 instances live for one request).
pub type Ctx<T> = todo_http::context::Ctx<T, Config>;
