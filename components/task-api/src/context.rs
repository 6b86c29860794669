//! What every handler needs: the Dapr client, configuration, and the clock.

use chrono::{DateTime, Utc};
use todo_dapr::{DaprClient, Transport};
use todo_http::auth::AuthConfig;
use todo_http::env_var;

/// Names of the Dapr components task-api uses. From WASI env: `STATE_STORE`
/// (default `statestore`), `PUBSUB_NAME` (default `kafka-pubsub`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub state_store: String,
    pub pubsub: String,
    pub auth: AuthConfig,
}

impl Config {
    pub fn from_env() -> Config {
        Config {
            state_store: env_var("STATE_STORE").unwrap_or_else(|| "statestore".into()),
            pubsub: env_var("PUBSUB_NAME").unwrap_or_else(|| "kafka-pubsub".into()),
            auth: AuthConfig::from_env(),
        }
    }
}

/// Per-request context. Built fresh for each request (WASI p2 instances live
/// for one request).
pub struct Ctx<T> {
    pub dapr: DaprClient<T>,
    pub config: Config,
    clock: Box<dyn Fn() -> DateTime<Utc>>,
}

impl<T: Transport> Ctx<T> {
    pub fn new(
        dapr: DaprClient<T>,
        config: Config,
        clock: Box<dyn Fn() -> DateTime<Utc>>,
    ) -> Ctx<T> {
        Ctx {
            dapr,
            config,
            clock,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

#[cfg(target_arch = "wasm32")]
impl Ctx<todo_dapr::transport::SpinTransport> {
    /// The production context: sidecar and names from the WASI environment.
    pub fn from_env() -> Self {
        let dapr = todo_dapr::DaprConfig::from_env(env_var);
        let transport = todo_dapr::transport::SpinTransport::new(dapr.base_url());
        Ctx::new(
            DaprClient::new(transport, dapr.api_token),
            Config::from_env(),
            Box::new(Utc::now),
        )
    }
}
