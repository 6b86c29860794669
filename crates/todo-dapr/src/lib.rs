//! A small client for the Dapr sidecar's HTTP API, as the Todo components use it.
//!
//! Every call goes through a [`Transport`], so the request building and the
//! response interpretation (Dapr's status codes and error bodies, as daprd
//! 1.18's `pkg/api/http/http.go` answers them) are tested natively against a fake;
//! in wasm the transport is spin-sdk's outbound HTTP.
//!
//! Modules: [`transport`] (the trait; spin-sdk's outbound HTTP in wasm), one
//! per building block — [`state`], [`pubsub`], [`jobs`], [`secrets`],
//! [`invoke`], [`bindings`], [`health`] — plus [`document`] (the one
//! optimistic read-decide-transact loop every store uses, `Seen` markers, raw
//! documents), [`inbound`] (what Dapr delivers and how to answer it),
//! [`trace`] (the W3C trace context every outgoing call carries on) and
//! [`error`] (Dapr's answers as [`DaprError`]).

pub mod bindings;
pub mod document;
pub mod error;
pub mod health;
pub mod inbound;
pub mod invoke;
pub mod jobs;
pub mod pubsub;
mod request;
pub mod secrets;
pub mod state;
pub mod trace;
pub mod transport;

pub use error::DaprError;
pub use transport::{Transport, TransportError};

/// Where the sidecar is and how to authenticate to it.
#[derive(Clone, PartialEq, Eq)]
pub struct DaprConfig {
    /// `DAPR_HTTP_PORT`, 3500 by default (the sidecar's fixed port in a pod).
    pub http_port: u16,
    /// `DAPR_API_TOKEN`: sent as `dapr-api-token` on every call when set.
    pub api_token: Option<String>,
}

impl std::fmt::Debug for DaprConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaprConfig")
            .field("http_port", &self.http_port)
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl DaprConfig {
    pub const DEFAULT_HTTP_PORT: u16 = 3500;

    /// Reads `DAPR_HTTP_PORT` and `DAPR_API_TOKEN` through `env` (a lookup
    /// function, so tests need not touch the process environment). An unset,
    /// empty or unparseable port falls back to 3500.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> DaprConfig {
        let http_port = env("DAPR_HTTP_PORT")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(Self::DEFAULT_HTTP_PORT);
        let api_token = env("DAPR_API_TOKEN").filter(|t| !t.is_empty());
        DaprConfig {
            http_port,
            api_token,
        }
    }

    /// `http://localhost:<port>`: must match `allowed_outbound_hosts` exactly.
    pub fn base_url(&self) -> String {
        format!("http://localhost:{}", self.http_port)
    }
}

/// The client. Cheap to build per request (WASI p2 components live one request).
pub struct DaprClient<T> {
    transport: T,
    api_token: Option<String>,
}

impl<T: Transport> DaprClient<T> {
    pub fn new(transport: T, api_token: Option<String>) -> DaprClient<T> {
        DaprClient {
            transport,
            api_token,
        }
    }

    /// Sends one request to the sidecar, adding `dapr-api-token` when
    /// configured and the handled request's trace context ([`trace`]).
    /// `path` starts with `/v1.0…` and is already percent-encoded.
    pub async fn send(
        &self,
        mut request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, DaprError> {
        if let Some(token) = &self.api_token {
            let value = http::HeaderValue::from_str(token).map_err(|_| {
                DaprError::InvalidRequest("DAPR_API_TOKEN is not a valid header value".into())
            })?;
            request.headers_mut().insert("dapr-api-token", value);
        }
        trace::propagate(request.headers_mut());
        Ok(self.transport.send(request).await?)
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }
}
