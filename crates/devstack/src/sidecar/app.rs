//! The app channel: every call a sidecar makes to an app (deliveries, job
//! callbacks, cron bindings, service invocation) goes through here, plain
//! HTTP/1.1 to the app's address, like daprd's `pkg/channel/http`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, Result};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The app a sidecar serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppTarget {
    pub app_id: String,
    pub addr: SocketAddr,
    /// `APP_API_TOKEN`, sent as `dapr-api-token` on every call to the app.
    pub app_token: Option<String>,
}

/// A pooled HTTP/1.1 client for sidecar → app calls.
#[derive(Clone)]
pub struct AppChannel {
    client: Client<HttpConnector, Full<Bytes>>,
}

/// An app's answer, fully read.
#[derive(Debug, Clone)]
pub struct AppResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Default for AppChannel {
    fn default() -> Self {
        AppChannel::new()
    }
}

impl AppChannel {
    pub fn new() -> AppChannel {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        AppChannel { client }
    }

    /// Sends `method path_and_query` to `addr` with `headers` and `body`,
    /// waiting at most `timeout` for the whole response.
    pub async fn call(
        &self,
        addr: SocketAddr,
        method: Method,
        path_and_query: &str,
        headers: HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<AppResponse> {
        let path = if path_and_query.starts_with('/') {
            path_and_query.to_string()
        } else {
            format!("/{path_and_query}")
        };
        self.call_uri(
            format!("http://{addr}{path}"),
            method,
            headers,
            body,
            timeout,
        )
        .await
    }

    /// Like [`AppChannel::call`], to an absolute `http://` URI (the HTTP
    /// output binding).
    pub async fn call_uri(
        &self,
        uri: String,
        method: Method,
        headers: HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<AppResponse> {
        let mut req = Request::builder()
            .method(method)
            .uri(&uri)
            .body(Full::new(body))
            .map_err(|e| anyhow!("invalid request to {uri}: {e}"))?;
        *req.headers_mut() = headers;
        let fut = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| anyhow!("{uri}: {e}"))?;
            let (parts, body) = resp.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| anyhow!("{uri}: reading response: {e}"))?
                .to_bytes();
            Ok::<_, anyhow::Error>(AppResponse {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| anyhow!("{uri}: no response within {timeout:?}"))?
    }
}

/// A fresh W3C `traceparent` (sampled).
pub fn new_traceparent() -> String {
    let ids = uuid::Uuid::new_v4().as_u128();
    let span = (uuid::Uuid::new_v4().as_u128() as u64).max(1);
    format!("00-{:032x}-{:016x}-01", ids.max(1), span)
}

/// Whether `value` is a well-formed W3C `traceparent` (see
/// [`crate::traces::parse_traceparent`]).
pub fn valid_traceparent(value: &str) -> bool {
    crate::traces::parse_traceparent(value).is_some()
}

/// Sets `dapr-api-token` when the app has a token.
pub fn add_app_token(headers: &mut HeaderMap, token: Option<&str>) {
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        if let Ok(v) = HeaderValue::from_str(t) {
            headers.insert("dapr-api-token", v);
        }
    }
}
