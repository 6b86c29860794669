//! notify's configuration and per-request context (the shared
//! [`todo_http::context::Ctx`] over it). Besides names and policies, the
//! configuration carries the two things notify does beyond Dapr calls: send
//! webhooks (a second transport, to absolute URLs) and wait between
//! attempts (a host timer in wasm, instant in tests).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use todo_core::notify::settings::WebhookPolicy;
use todo_dapr::DaprConfig;
use todo_http::auth::AuthConfig;
use todo_http::context::WithAuth;
use todo_http::env_var;

/// A wait that yields to the host.
pub type Pause = Box<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()>>>>;

/// From WASI env: `STATE_STORE` (default `statestore`), `PUBSUB_NAME`
/// (`kafka-pubsub`), `EMAIL_BINDING` (`email`), `WEBHOOK_ALLOW_HTTP_LOOPBACK`
/// (`true` lets webhooks use plain `http://` to localhost, for development;
/// never to the sidecar's port), and the [`AuthConfig`] variables. `W`
/// sends webhooks.
pub struct Config<W> {
    pub state_store: String,
    pub pubsub: String,
    pub email_binding: String,
    pub webhooks: WebhookPolicy,
    pub auth: AuthConfig,
    pub web: W,
    pub pause: Pause,
}

impl<W> Config<W> {
    pub fn from_env(web: W, pause: Pause) -> Config<W> {
        let sidecar = DaprConfig::from_env(env_var);
        Config {
            state_store: env_var("STATE_STORE").unwrap_or_else(|| "statestore".into()),
            pubsub: env_var("PUBSUB_NAME").unwrap_or_else(|| "kafka-pubsub".into()),
            email_binding: env_var("EMAIL_BINDING").unwrap_or_else(|| "email".into()),
            webhooks: WebhookPolicy {
                allow_http_loopback: env_var("WEBHOOK_ALLOW_HTTP_LOOPBACK")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true")),
                blocked_loopback_ports: vec![sidecar.http_port],
            },
            auth: AuthConfig::from_env(),
            web,
            pause,
        }
    }

    pub async fn pause(&self, duration: Duration) {
        (self.pause)(duration).await
    }
}

impl<W> WithAuth for Config<W> {
    fn auth(&self) -> &AuthConfig {
        &self.auth
    }
}

/// Per-request context (WASI p2 instances live for one request).
pub type Ctx<T, W> = todo_http::context::Ctx<T, Config<W>>;

#[cfg(target_arch = "wasm32")]
pub use wasm::WebhookTransport;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use std::time::Duration;

    use todo_core::notify::webhook::TIMEOUT_MS;
    use todo_dapr::transport::SpinTransport;
    use todo_dapr::{Transport, TransportError};

    use super::{Config, Ctx};

    /// Webhooks: spin-sdk outbound HTTP to absolute URLs (which must be
    /// allowed by `allowed_outbound_hosts`), each attempt bounded by
    /// [`TIMEOUT_MS`].
    pub struct WebhookTransport;

    impl Transport for WebhookTransport {
        async fn send(
            &self,
            request: http::Request<Vec<u8>>,
        ) -> Result<http::Response<Vec<u8>>, TransportError> {
            let limit = Duration::from_millis(TIMEOUT_MS);
            todo_http::spin::timeout(limit, SpinTransport::absolute().send(request))
                .await
                .unwrap_or_else(|| Err(TransportError(format!("no answer within {limit:?}"))))
        }
    }

    /// The production context: sidecar and names from the WASI environment.
    pub fn context() -> Ctx<SpinTransport, WebhookTransport> {
        Ctx::from_env(Config::from_env(
            WebhookTransport,
            Box::new(|d| Box::pin(todo_http::spin::sleep(d))),
        ))
    }
}

#[cfg(target_arch = "wasm32")]
pub use wasm::context;
