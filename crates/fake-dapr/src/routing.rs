//! How a request reaches a building block: an absolute URL goes to `web.rs`;
//! a sidecar request is recorded, refused while the sidecar is down or
//! without the required API token, and routed by daprd's path.

use percent_encoding::percent_decode_str;
use serde_json::Value;
use todo_dapr::{Transport, TransportError};

use crate::response::{empty, error, plain};
use crate::{FakeDapr, Inner};

impl FakeDapr {
    /// Requires `dapr-api-token` on every call, like daprd with `DAPR_API_TOKEN`.
    pub fn require_api_token(&self, token: &str) {
        self.lock().api_token = Some(token.to_string());
    }

    /// Every call received so far, as `(METHOD, path-and-query)`.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.lock().calls.clone()
    }
}

impl Transport for FakeDapr {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let mut inner = self.lock();
        let method = request.method().as_str().to_string();
        if request.uri().scheme().is_some() {
            return Ok(inner.answer_web(method, &request));
        }
        let path_and_query = request
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_default();
        inner.calls.push((method.clone(), path_and_query));
        if inner.down {
            return Err(TransportError("connection refused".into()));
        }
        if let Some(token) = &inner.api_token {
            let presented = request
                .headers()
                .get("dapr-api-token")
                .and_then(|v| v.to_str().ok());
            if presented != Some(token.as_str()) {
                return Ok(plain(401, "invalid api token"));
            }
        }
        Ok(inner.handle(&method, &request))
    }
}

impl Inner {
    fn handle(
        &mut self,
        method: &str,
        request: &http::Request<Vec<u8>>,
    ) -> http::Response<Vec<u8>> {
        let path = request.uri().path().to_string();
        let segments: Vec<&str> = path.trim_start_matches('/').splitn(4, '/').collect();
        let body = request.body();
        if self.state_down && path.starts_with("/v1.0/state/") {
            return error(500, "ERR_STATE_GET", "fail to get state: store unavailable");
        }
        match (method, segments.as_slice()) {
            ("GET", ["v1.0", "healthz"]) => empty(204),
            ("POST", ["v1.0", "state", store]) => self.save(store, body),
            ("POST", ["v1.0", "state", store, "bulk"]) => {
                if let Ok(request) = serde_json::from_slice::<Value>(body) {
                    let keys = request["keys"].as_array().cloned().unwrap_or_default();
                    let keys = keys.iter().filter_map(Value::as_str).map(String::from);
                    self.reads.extend(keys);
                }
                self.bulk(store, body)
            }
            ("POST", ["v1.0", "state", store, "transaction"]) => self.transaction(store, body),
            ("GET", ["v1.0", "state", store, key]) => {
                self.reads.push(decode(key));
                self.get_one(store, &decode(key))
            }
            ("DELETE", ["v1.0", "state", store, key]) => {
                let etag = request
                    .headers()
                    .get("if-match")
                    .and_then(|v| v.to_str().ok());
                match self.delete(store, &decode(key), etag) {
                    Ok(()) => empty(204),
                    Err(msg) => error(409, "ERR_STATE_DELETE", &msg),
                }
            }
            ("POST", ["v1.0", "publish", pubsub, topic]) => self.publish(pubsub, topic, request),
            ("GET", ["v1.0", "secrets", store, name]) => self.get_secret(store, name),
            (_, ["v1.0", "invoke", app_id, rest]) if rest.starts_with("method/") => {
                self.invoke(method, app_id, rest, request)
            }
            (_, ["v1.0-alpha1" | "v1.0", "jobs", name]) => {
                self.job_call(method, &decode(name), body)
            }
            ("POST" | "PUT", ["v1.0", "bindings", name]) => self.binding(&decode(name), body),
            _ => empty(204),
        }
    }
}

pub(crate) fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}
