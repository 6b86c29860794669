//! An in-memory Dapr sidecar for native tests of component handlers.
//!
//! It answers the state, publish, secrets and health calls the way daprd does
//! (daprd 1.18's `pkg/api/http/http.go`; docs/architecture.md): 204 for a missing key, ETags,
//! first-write insert-only semantics, 409 on a single-save ETag mismatch, 500
//! `ERR_STATE_TRANSACTION` for any failure inside a transaction, 401 plain
//! text on a wrong API token. Faults can be injected (sidecar down, publishes
//! failing, a racing writer) to test the components' failure paths. Service
//! invocations are recorded whole and answered by a test-supplied handler
//! ([`FakeDapr::answer_invocations`]). Jobs are kept like the Scheduler
//! keeps them (409 without `overwrite`, delete is 204 even when missing) and
//! output-binding calls are recorded whole ([`FakeDapr::job`],
//! [`FakeDapr::bindings`]); bindings and the state store can be made to fail.
//!
//! Requests to absolute URLs (what a component sends beyond its sidecar,
//! such as an OIDC issuer's key set) are answered from
//! [`FakeDapr::serve_url`] and recorded ([`FakeDapr::web_calls`]).
//!
//! [`harness`] holds what every component's test harness shares: the test
//! secrets and auth configuration, tokens, the clock, a request builder and
//! a decoded reply; [`oidc`] a fake external token issuer.

pub mod harness;
pub mod oidc;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use percent_encoding::percent_decode_str;
use serde_json::{json, Value};
use todo_dapr::{Transport, TransportError};

/// One stored state entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    pub etag: u64,
    pub ttl_seconds: Option<u64>,
}

/// One accepted publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub pubsub: String,
    pub topic: String,
    pub content_type: String,
    pub partition_key: Option<String>,
    pub event: Value,
}

/// A write that lands between a client's read and its commit.
type RacingWriter = Box<dyn FnOnce(&mut StateView) + Send>;

/// One service invocation (`/v1.0/invoke/{app_id}/method/{path}`).
#[derive(Debug, Clone)]
pub struct Invoked {
    pub app_id: String,
    pub method: String,
    /// The method path and query, as sent (`internal/tasks/next`).
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

/// One Jobs API or output-binding call: method, job or binding name, JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub method: String,
    pub name: String,
    pub body: Value,
}

/// Answers service invocations in place of the callee.
type InvokeHandler = Box<dyn FnMut(&Invoked) -> http::Response<Vec<u8>> + Send>;

#[derive(Default)]
struct Inner {
    /// (store, key) → entry.
    state: BTreeMap<(String, String), Entry>,
    next_etag: u64,
    published: Vec<Published>,
    secrets: BTreeMap<(String, String), BTreeMap<String, String>>,
    /// Every request seen: (method, path-and-query).
    calls: Vec<(String, String)>,
    /// Every state key read (single and bulk gets), in order.
    reads: Vec<String>,
    down: bool,
    failing_publishes: usize,
    /// Before the next transaction commits, this runs (a racing writer).
    race: Option<RacingWriter>,
    /// Before the next single save is applied, this runs (a racing writer).
    race_save: Option<RacingWriter>,
    /// How a single save answers a first-write whose key exists.
    lost_first_write: LostFirstWrite,
    api_token: Option<String>,
    invoked: Vec<Invoked>,
    invoke_handler: Option<InvokeHandler>,
    /// Scheduled jobs by name (the body they were scheduled with).
    jobs: BTreeMap<String, Value>,
    job_calls: Vec<Recorded>,
    bindings: Vec<Recorded>,
    failing_bindings: usize,
    state_down: bool,
    /// Absolute URL → the answer a request to it gets.
    web: BTreeMap<String, WebAnswer>,
    web_calls: Vec<WebCall>,
}

/// What a request to a served absolute URL is answered with.
#[derive(Debug, Clone)]
pub struct WebAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One request to an absolute URL.
#[derive(Debug, Clone)]
pub struct WebCall {
    pub method: String,
    pub url: String,
    pub headers: http::HeaderMap,
}

/// Direct access to the fake's state, for arranging and asserting.
pub struct StateView<'a> {
    inner: &'a mut Inner,
}

impl StateView<'_> {
    /// Writes `value` as if another client did, bumping the ETag.
    pub fn put(&mut self, store: &str, key: &str, value: Value) {
        self.inner.put(store, key, value, None);
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, store: &str, key: &str) -> Option<Value> {
        self.inner
            .state
            .get(&(store.to_string(), key.to_string()))
            .map(|e| e.value.clone())
    }
}

/// How the store behind the sidecar answers a single save whose first-write
/// item finds its key taken: stores differ, and a component must treat both
/// as a conflict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LostFirstWrite {
    /// PostgreSQL v2 (what production runs): its upsert updates no row and
    /// returns "no item was updated", not an ETag error, so daprd answers 500
    /// `ERR_STATE_SAVE` (components-contrib `state/postgresql/v2/postgresql.go`
    /// `doSet`; dapr `pkg/api/http/http.go` `onPostState`).
    #[default]
    PostgresV2,
    /// Stores that report an ETag error (e.g. Redis, SQLite): 409 `ERR_STATE_SAVE`.
    EtagConflict,
}

/// The fake sidecar. Clones share one state, so a test keeps a handle while
/// the component's `DaprClient` owns another.
#[derive(Clone, Default)]
pub struct FakeDapr {
    inner: Arc<Mutex<Inner>>,
}

impl FakeDapr {
    pub fn new() -> FakeDapr {
        FakeDapr::default()
    }

    /// Answers requests to the absolute `url` with `answer` (until replaced);
    /// an absolute URL not served answers 404.
    pub fn serve_url(&self, url: &str, answer: WebAnswer) {
        self.lock().web.insert(url.to_string(), answer);
    }

    /// Every request to an absolute URL, in order.
    pub fn web_calls(&self) -> Vec<WebCall> {
        self.lock().web_calls.clone()
    }

    /// Requires `dapr-api-token` on every call, like daprd with `DAPR_API_TOKEN`.
    pub fn require_api_token(&self, token: &str) {
        self.lock().api_token = Some(token.to_string());
    }

    /// Adds secret `name` with `entries` to secret store `store`.
    pub fn set_secret(&self, store: &str, name: &str, entries: &[(&str, &str)]) {
        self.lock().secrets.insert(
            (store.into(), name.into()),
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
    }

    /// While down, every call fails like a refused connection.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// The next `n` publishes answer 500 `ERR_PUBSUB_PUBLISH_MESSAGE`.
    pub fn fail_publishes(&self, n: usize) {
        self.lock().failing_publishes = n;
    }

    /// Runs `writer` against the state just before the next transaction is
    /// applied, to simulate a concurrent request winning the race.
    pub fn race_next_transaction(&self, writer: impl FnOnce(&mut StateView) + Send + 'static) {
        self.lock().race = Some(Box::new(writer));
    }

    /// Runs `writer` against the state just before the next single save
    /// (`POST /v1.0/state/{store}`) is applied: a concurrent request winning.
    pub fn race_next_save(&self, writer: impl FnOnce(&mut StateView) + Send + 'static) {
        self.lock().race_save = Some(Box::new(writer));
    }

    /// How a lost first-write is answered from now on (default: PostgreSQL v2).
    pub fn answer_lost_first_write(&self, answer: LostFirstWrite) {
        self.lock().lost_first_write = answer;
    }

    /// Answers every later service invocation with `handler` (the callee's
    /// response, proxied as is; an `ERR_DIRECT_INVOKE` error body stands for
    /// an unreachable callee). Without a handler invocations answer 204. The
    /// handler runs while the fake is locked: it must not call the fake.
    pub fn answer_invocations(
        &self,
        handler: impl FnMut(&Invoked) -> http::Response<Vec<u8>> + Send + 'static,
    ) {
        self.lock().invoke_handler = Some(Box::new(handler));
    }

    /// Every service invocation received so far, in order.
    pub fn invoked(&self) -> Vec<Invoked> {
        self.lock().invoked.clone()
    }

    /// The job `name` as scheduled (its POST body), if it is scheduled.
    pub fn job(&self, name: &str) -> Option<Value> {
        self.lock().jobs.get(name).cloned()
    }

    /// Every Jobs API call (schedule, get, delete), in order.
    pub fn job_calls(&self) -> Vec<Recorded> {
        self.lock().job_calls.clone()
    }

    /// Every output-binding call that succeeded, in order.
    pub fn bindings(&self) -> Vec<Recorded> {
        self.lock().bindings.clone()
    }

    /// The next `n` output-binding calls answer 500 `ERR_INVOKE_OUTPUT_BINDING`.
    pub fn fail_bindings(&self, n: usize) {
        self.lock().failing_bindings = n;
    }

    /// While down, state calls answer 500 (the store is unreachable) while
    /// the rest of the sidecar works.
    pub fn set_state_down(&self, down: bool) {
        self.lock().state_down = down;
    }

    pub fn published(&self) -> Vec<Published> {
        self.lock().published.clone()
    }

    pub fn published_on(&self, topic: &str) -> Vec<Published> {
        self.published()
            .into_iter()
            .filter(|p| p.topic == topic)
            .collect()
    }

    pub fn get(&self, store: &str, key: &str) -> Option<Entry> {
        self.lock()
            .state
            .get(&(store.to_string(), key.to_string()))
            .cloned()
    }

    pub fn put(&self, store: &str, key: &str, value: Value) {
        self.lock().put(store, key, value, None);
    }

    pub fn keys(&self, store: &str) -> Vec<String> {
        self.lock()
            .state
            .keys()
            .filter(|(s, _)| s == store)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Every call received so far, as `(METHOD, path-and-query)`.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.lock().calls.clone()
    }

    /// Every state key read so far (single and bulk gets), in order.
    pub fn reads(&self) -> Vec<String> {
        self.lock().reads.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
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
    fn answer_web(
        &mut self,
        method: String,
        request: &http::Request<Vec<u8>>,
    ) -> http::Response<Vec<u8>> {
        let url = request.uri().to_string();
        self.web_calls.push(WebCall {
            method,
            url: url.clone(),
            headers: request.headers().clone(),
        });
        let Some(answer) = self.web.get(&url) else {
            return plain(404, "not served by the test");
        };
        let mut response = http::Response::builder().status(answer.status);
        for (name, value) in &answer.headers {
            response = response.header(name, value);
        }
        response
            .body(answer.body.clone())
            .expect("a valid test answer")
    }

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
            ("GET", ["v1.0", "secrets", store, name]) => {
                match self.secrets.get(&(store.to_string(), decode(name))) {
                    Some(secret) => json_response(200, &json!(secret)),
                    None => error(
                        500,
                        "ERR_SECRET_GET",
                        &format!("failed getting secret with key {name} from secret store {store}"),
                    ),
                }
            }
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

    fn invoke(
        &mut self,
        method: &str,
        app_id: &str,
        rest: &str,
        request: &http::Request<Vec<u8>>,
    ) -> http::Response<Vec<u8>> {
        let mut path = rest.trim_start_matches("method/").to_string();
        if let Some(query) = request.uri().query() {
            path = format!("{path}?{query}");
        }
        let invoked = Invoked {
            app_id: decode(app_id),
            method: method.to_string(),
            path,
            headers: request.headers().clone(),
            body: request.body().clone(),
        };
        let response = match self.invoke_handler.as_mut() {
            Some(handler) => handler(&invoked),
            None => empty(204),
        };
        self.invoked.push(invoked);
        response
    }

    /// The Jobs API as daprd answers it.
    fn job_call(&mut self, method: &str, name: &str, body: &[u8]) -> http::Response<Vec<u8>> {
        let body = serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
        self.job_calls.push(Recorded {
            method: method.to_string(),
            name: name.to_string(),
            body: body.clone(),
        });
        match method {
            "POST" if self.jobs.contains_key(name) && body["overwrite"] != true => error(
                409,
                "DAPR_SCHEDULER_SCHEDULE_JOB",
                &format!("job already exists: {name}"),
            ),
            "POST" => {
                self.jobs.insert(name.to_string(), body);
                empty(204)
            }
            "GET" => match self.jobs.get(name) {
                Some(job) => json_response(200, job),
                None => error(
                    500,
                    "DAPR_SCHEDULER_GET_JOB",
                    &format!("failed to get job due to: rpc error: code = NotFound desc = job not found: {name}"),
                ),
            },
            "DELETE" => {
                self.jobs.remove(name);
                empty(204)
            }
            _ => error(405, "ERR_METHOD_NOT_ALLOWED", "method not allowed"),
        }
    }

    /// An output binding: recorded when it succeeds, 500 while failing.
    fn binding(&mut self, name: &str, body: &[u8]) -> http::Response<Vec<u8>> {
        if self.failing_bindings > 0 {
            self.failing_bindings -= 1;
            return error(
                500,
                "ERR_INVOKE_OUTPUT_BINDING",
                &format!("error invoking output binding {name}: connection refused"),
            );
        }
        self.bindings.push(Recorded {
            method: "POST".to_string(),
            name: name.to_string(),
            body: serde_json::from_slice(body).unwrap_or(Value::Null),
        });
        empty(204)
    }

    fn put(&mut self, store: &str, key: &str, value: Value, ttl_seconds: Option<u64>) {
        self.next_etag += 1;
        self.state.insert(
            (store.to_string(), key.to_string()),
            Entry {
                value,
                etag: self.next_etag,
                ttl_seconds,
            },
        );
    }

    fn get_one(&self, store: &str, key: &str) -> http::Response<Vec<u8>> {
        match self.state.get(&(store.to_string(), key.to_string())) {
            None => empty(204),
            Some(entry) => {
                let mut response = json_response(200, &entry.value);
                response
                    .headers_mut()
                    .insert("etag", entry.etag.to_string().parse().expect("digits"));
                response
            }
        }
    }

    fn bulk(&self, store: &str, body: &[u8]) -> http::Response<Vec<u8>> {
        let Ok(request) = serde_json::from_slice::<Value>(body) else {
            return error(400, "ERR_MALFORMED_REQUEST", "bad bulk body");
        };
        let items: Vec<Value> = request["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(
                |key| match self.state.get(&(store.to_string(), key.to_string())) {
                    Some(entry) => {
                        json!({ "key": key, "data": entry.value, "etag": entry.etag.to_string() })
                    }
                    None => json!({ "key": key }),
                },
            )
            .collect();
        json_response(200, &Value::Array(items))
    }

    /// Checks one upsert against the current state (Dapr + PostgreSQL v2 rules).
    fn check_upsert(&self, store: &str, item: &Value) -> Result<(), String> {
        let key = item["key"].as_str().ok_or("missing key")?;
        let current = self.state.get(&(store.to_string(), key.to_string()));
        match item["etag"].as_str() {
            Some(etag) => match current {
                Some(entry) if entry.etag.to_string() == etag => Ok(()),
                _ => Err(format!("possible etag mismatch for key {key}")),
            },
            None if item["options"]["concurrency"] == "first-write" && current.is_some() => {
                Err(format!("key {key} already exists (first-write)"))
            }
            None => Ok(()),
        }
    }

    fn apply_upsert(&mut self, store: &str, item: &Value) {
        let ttl = item["metadata"]["ttlInSeconds"]
            .as_str()
            .and_then(|t| t.parse().ok());
        self.put(
            store,
            item["key"].as_str().unwrap_or_default(),
            item["value"].clone(),
            ttl,
        );
    }

    fn save(&mut self, store: &str, body: &[u8]) -> http::Response<Vec<u8>> {
        let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) else {
            return error(400, "ERR_MALFORMED_REQUEST", "bad save body");
        };
        if let Some(race) = self.race_save.take() {
            race(&mut StateView { inner: self });
        }
        for item in &items {
            if let Err(msg) = self.check_upsert(store, item) {
                let lost_first_write =
                    item.get("etag").is_none() && item["options"]["concurrency"] == "first-write";
                return match self.lost_first_write {
                    LostFirstWrite::PostgresV2 if lost_first_write => error(
                        500,
                        "ERR_STATE_SAVE",
                        &format!("failed saving state in state store {store}: no item was updated"),
                    ),
                    _ => error(409, "ERR_STATE_SAVE", &msg),
                };
            }
            self.apply_upsert(store, item);
        }
        empty(204)
    }

    fn delete(&mut self, store: &str, key: &str, etag: Option<&str>) -> Result<(), String> {
        let id = (store.to_string(), key.to_string());
        if let Some(etag) = etag {
            match self.state.get(&id) {
                Some(entry) if entry.etag.to_string() == etag => {}
                _ => return Err(format!("possible etag mismatch for key {key}")),
            }
        }
        self.state.remove(&id);
        Ok(())
    }

    fn transaction(&mut self, store: &str, body: &[u8]) -> http::Response<Vec<u8>> {
        if let Some(race) = self.race.take() {
            race(&mut StateView { inner: self });
        }
        let Ok(request) = serde_json::from_slice::<Value>(body) else {
            return error(400, "ERR_MALFORMED_REQUEST", "bad transaction body");
        };
        let operations = request["operations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // All or nothing: check everything first, then apply.
        for op in &operations {
            let req = &op["request"];
            let check = match op["operation"].as_str() {
                Some("upsert") => self.check_upsert(store, req),
                Some("delete") => {
                    let key = req["key"].as_str().unwrap_or_default();
                    match (
                        req["etag"].as_str(),
                        self.state.get(&(store.to_string(), key.to_string())),
                    ) {
                        (Some(etag), Some(entry)) if entry.etag.to_string() == etag => Ok(()),
                        (Some(_), _) => Err(format!("possible etag mismatch for key {key}")),
                        (None, _) => Ok(()),
                    }
                }
                other => Err(format!("unsupported operation {other:?}")),
            };
            if let Err(msg) = check {
                return error(
                    500,
                    "ERR_STATE_TRANSACTION",
                    &format!("error while executing state transaction: {msg}"),
                );
            }
        }
        for op in &operations {
            let req = &op["request"];
            if op["operation"] == "upsert" {
                self.apply_upsert(store, req);
            } else {
                let key = req["key"].as_str().unwrap_or_default().to_string();
                self.state.remove(&(store.to_string(), key));
            }
        }
        empty(204)
    }

    fn publish(
        &mut self,
        pubsub: &str,
        topic: &str,
        request: &http::Request<Vec<u8>>,
    ) -> http::Response<Vec<u8>> {
        if self.failing_publishes > 0 {
            self.failing_publishes -= 1;
            return error(
                500,
                "ERR_PUBSUB_PUBLISH_MESSAGE",
                "error when publish to topic: broker down",
            );
        }
        let query = request.uri().query().unwrap_or("");
        let partition_key = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "metadata.partitionKey")
            .map(|(_, v)| v.into_owned());
        let content_type = request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let event = serde_json::from_slice(request.body()).unwrap_or(Value::Null);
        self.published.push(Published {
            pubsub: pubsub.to_string(),
            topic: decode(topic),
            content_type,
            partition_key,
            event,
        });
        empty(204)
    }
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

fn empty(status: u16) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .body(Vec::new())
        .expect("valid")
}

fn plain(status: u16, text: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .body(text.as_bytes().to_vec())
        .expect("valid")
}

fn json_response(status: u16, value: &Value) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(value).expect("json"))
        .expect("valid")
}

fn error(status: u16, code: &str, message: &str) -> http::Response<Vec<u8>> {
    json_response(status, &json!({ "errorCode": code, "message": message }))
}
