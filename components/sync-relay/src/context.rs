//! sync-relay's configuration and per-request context (the shared
//! [`todo_http::context::Ctx`] over it). Streams and long-polls wait on the
//! feed, so the configuration also carries the way to wait (a host timer in
//! wasm, a moving fake clock in tests).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use todo_core::sync::sse::DEFAULT_LIFETIME_SECS;
use todo_http::auth::AuthConfig;
use todo_http::context::WithAuth;
use todo_http::env_var;

/// A wait that yields to the host.
pub type Pause = Box<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()>>>>;

/// From WASI env: `STATE_STORE` (default `statestore`),
/// `SSE_LIFETIME_SECONDS` (how long one event stream lasts before the
/// client reconnects, default 300), and the [`AuthConfig`] variables.
pub struct Config {
    pub state_store: String,
    pub stream_lifetime: Duration,
    pub auth: AuthConfig,
    pub pause: Pause,
}

impl Config {
    pub fn from_env(pause: Pause) -> Config {
        Config {
            state_store: env_var("STATE_STORE").unwrap_or_else(|| "statestore".into()),
            stream_lifetime: Duration::from_secs(
                env_var("SSE_LIFETIME_SECONDS")
                    .and_then(|s| s.parse().ok())
                    .filter(|s| *s > 0)
                    .unwrap_or(DEFAULT_LIFETIME_SECS),
            ),
            auth: AuthConfig::from_env(),
            pause,
        }
    }

    pub async fn pause(&self, duration: Duration) {
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

/// The production context: sidecar and names from the WASI environment.
#[cfg(target_arch = "wasm32")]
pub fn context() -> Ctx<todo_dapr::transport::SpinTransport> {
    Ctx::from_env(Config::from_env(Box::new(|d| {
        Box::pin(todo_http::spin::sleep(d))
    })))
}
