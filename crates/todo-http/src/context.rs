//! What every handler needs: the Dapr client, the component's configuration,
//! and the clock, plus the checks every component makes with them (who is
//! calling, is the sidecar healthy).
//!
//! A context is built fresh for each request (WASI p2 instances live for one
//! request); tests build one over a fake transport with a fixed clock.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use todo_core::Problem;
use todo_dapr::{DaprClient, Transport};

use crate::auth::{self, AuthConfig, TokenSource};
use crate::respond::{json, problem};
use crate::{Request, Response};

/// A wait that yields to the host (`crate::spin::sleep` in wasm; tests pass
/// one that returns at once or moves a test clock).
pub type Pause = Box<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()>>>>;

/// A component's configuration that knows where the secrets are.
pub trait WithAuth {
    fn auth(&self) -> &AuthConfig;
}

/// Per-request context of a component whose configuration is `C`.
pub struct Ctx<T, C> {
    pub dapr: DaprClient<T>,
    pub config: C,
    clock: Box<dyn Fn() -> DateTime<Utc>>,
}

impl<T: Transport, C> Ctx<T, C> {
    pub fn new(dapr: DaprClient<T>, config: C, clock: Box<dyn Fn() -> DateTime<Utc>>) -> Self {
        Ctx {
            dapr,
            config,
            clock,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// `GET /healthz/<component>`: 200 when the sidecar reports healthy, else 503.
    pub async fn health(&self) -> Response {
        match self.dapr.healthz().await {
            Ok(()) => json(200, &serde_json::json!({ "status": "ok" })),
            Err(err) => problem(&Problem::unavailable(
                format!("dapr sidecar is not healthy: {err}"),
                5,
            )),
        }
    }
}

impl<T: Transport, C: WithAuth> Ctx<T, C> {
    /// The end user calling a public route (the JWT `sub`, bearer header
    /// only); see [`auth::authenticate`].
    pub async fn user(&self, request: &Request) -> Result<String, Problem> {
        auth::authenticate(
            &self.dapr,
            self.config.auth(),
            request,
            TokenSource::HeaderOnly,
            self.now(),
        )
        .await
    }

    /// For Dapr-only routes; see [`auth::require_app_token`].
    pub async fn require_app_token(&self, request: &Request) -> Result<(), Problem> {
        auth::require_app_token(&self.dapr, self.config.auth(), request).await
    }
}

#[cfg(target_arch = "wasm32")]
impl<C> Ctx<todo_dapr::transport::SpinTransport, C> {
    /// The production context: the sidecar from the WASI environment
    /// (`DAPR_HTTP_PORT`, `DAPR_API_TOKEN`), the real clock.
    pub fn from_env(config: C) -> Self {
        let dapr = todo_dapr::DaprConfig::from_env(crate::env_var);
        let transport = todo_dapr::transport::SpinTransport::new(dapr.base_url());
        Ctx::new(
            DaprClient::new(transport, dapr.api_token),
            config,
            Box::new(Utc::now),
        )
    }
}
