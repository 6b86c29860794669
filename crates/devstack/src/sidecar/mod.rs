//! One Dapr sidecar per app-id: the subset of daprd's HTTP API the Todo
//! components use, with daprd's paths, status codes, headers and bodies
//! (upstream dapr/dapr `pkg/api/http/*.go`; docs/architecture.md).
//!
//! Like daprd, a sidecar is more than its API: [`start`] also runs, for its
//! app, the subscription deliveries ([`crate::delivery`]), the job triggers
//! and the cron input bindings ([`crate::scheduler`]). All sidecars share one
//! [`Store`], as the pods of a cluster share Kafka, PostgreSQL and the Dapr
//! Scheduler.
//!
//! One file per building block: [`state`], [`pubsub`], [`jobs`], [`secrets`],
//! [`invoke`], [`bindings`], [`metadata`] (metadata and health); [`app`] is
//! the "app channel" every sidecar-to-app call goes through.
//!
//! API token: with `api_token` set, every request except `GET /v1.0/healthz`
//! and `GET /v1.0/healthz/outbound` needs a matching `dapr-api-token` header,
//! else 401 with the plain-text body `invalid api token` (daprd's
//! `APITokenAuthMiddleware`); the header is removed before routing, so it is
//! never forwarded by service invocation.

pub mod app;
pub mod bindings;
pub mod invoke;
pub mod jobs;
pub mod metadata;
pub mod pubsub;
pub mod resilient;
pub mod secrets;
pub mod state;

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Resources;
use crate::store::Store;
use crate::traces;

pub use app::{AppChannel, AppTarget};

/// Largest request body accepted (daprd's default `--max-body-size` is 4 MiB).
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// The runtime version reported by `/v1.0/metadata`.
pub const RUNTIME_VERSION: &str = "1.18.3-devstack";

/// Another app reachable through service invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Where the app itself listens (its "pod").
    pub addr: SocketAddr,
    /// The app token its sidecar presents to it (`APP_API_TOKEN`).
    pub app_token: Option<String>,
}

/// Everything a sidecar needs.
pub struct SidecarOptions {
    pub app_id: String,
    /// The sidecar's HTTP port (bind `127.0.0.1:0` in tests).
    pub listener: TcpListener,
    /// Where the app listens.
    pub app_addr: SocketAddr,
    pub store: Store,
    pub resources: Arc<Resources>,
    /// `DAPR_API_TOKEN`: required from the app on API calls.
    pub api_token: Option<String>,
    /// `APP_API_TOKEN`: sent to the app as `dapr-api-token` on every call the
    /// sidecar makes to it (deliveries, job callbacks, cron, invocation).
    pub app_token: Option<String>,
    /// app-id → app, for `/v1.0/invoke/{app-id}/…`. The sidecar's own app is
    /// always reachable, listed or not.
    pub peers: HashMap<String, Peer>,
    /// Becomes `true` to stop: the listener closes, open requests finish
    /// (up to 5 s), background workers stop. If the sender is dropped the
    /// sidecar keeps running.
    pub shutdown: watch::Receiver<bool>,
}

/// Shared per-sidecar state for handlers.
pub(crate) struct Ctx {
    pub app_id: String,
    pub app_addr: SocketAddr,
    pub store: Store,
    pub resources: Arc<Resources>,
    pub api_token: Option<String>,
    pub app_token: Option<String>,
    pub peers: HashMap<String, Peer>,
    pub channel: AppChannel,
    pub listen_port: u16,
    /// The circuit breakers of this sidecar's components (outbound calls
    /// and deliveries).
    pub breakers: Arc<resilient::Breakers>,
    /// The outbound policy of each component the app can see, resolved once
    /// (the Resiliency resources do not change while devstack runs).
    pub outbound_policies: HashMap<String, crate::config::ComponentPolicy>,
}

impl Ctx {
    /// Runs `attempt` — a call of this app to its `component` (a state
    /// store, a pubsub) — under that component's outbound Resiliency policy
    /// ([`resilient::run`]).
    pub(crate) async fn outbound<T, E, F, Fut>(
        &self,
        component: &str,
        permanent: impl Fn(&E) -> bool,
        error: impl Fn(&str) -> E,
        attempt: F,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        // A component the app cannot see has no entry; its calls fail
        // before reaching the store, but resolve its policy all the same.
        let policy = match self.outbound_policies.get(component) {
            Some(policy) => Cow::Borrowed(policy),
            None => Cow::Owned(self.resources.outbound_policy(&self.app_id, component)),
        };
        let breaker = policy
            .breaker
            .as_ref()
            .map(|p| self.breakers.get(component, p));
        resilient::run(&policy, breaker, permanent, error, attempt).await
    }
}

/// Starts the sidecar: the HTTP API on `listener`, plus the delivery
/// workers, job scheduler and cron bindings of `app_id`. The handle
/// completes after shutdown, once everything has stopped.
pub fn start(opts: SidecarOptions) -> JoinHandle<()> {
    let listen_port = opts.listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let channel = AppChannel::new();
    let target = AppTarget {
        app_id: opts.app_id.clone(),
        addr: opts.app_addr,
        app_token: opts.app_token.clone(),
    };
    let breakers = Arc::new(resilient::Breakers::default());
    let delivery = crate::delivery::start(
        opts.store.clone(),
        opts.resources.clone(),
        breakers.clone(),
        target.clone(),
        opts.shutdown.clone(),
    );
    let scheduler = crate::scheduler::start(
        opts.store.clone(),
        opts.resources.clone(),
        target,
        opts.shutdown.clone(),
    );
    let outbound_policies = opts
        .resources
        .components
        .iter()
        .filter(|c| c.in_scope(&opts.app_id))
        .map(|c| {
            let policy = opts.resources.outbound_policy(&opts.app_id, &c.name);
            (c.name.clone(), policy)
        })
        .collect();
    let ctx = Arc::new(Ctx {
        app_id: opts.app_id,
        app_addr: opts.app_addr,
        store: opts.store,
        resources: opts.resources,
        api_token: opts.api_token.filter(|t| !t.is_empty()),
        app_token: opts.app_token.filter(|t| !t.is_empty()),
        peers: opts.peers,
        channel,
        listen_port,
        breakers,
        outbound_policies,
    });
    let listener = opts.listener;
    let shutdown = opts.shutdown;
    tokio::spawn(async move {
        tracing::info!(app_id = %ctx.app_id, port = listen_port, app = %ctx.app_addr, "sidecar listening");
        serve(listener, ctx, shutdown).await;
        let _ = delivery.await;
        let _ = scheduler.await;
    })
}

async fn serve(listener: TcpListener, ctx: Arc<Ctx>, mut shutdown: watch::Receiver<bool>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "sidecar accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let ctx = ctx.clone();
                let service = service_fn(move |req| handle(ctx.clone(), req));
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = wait_shutdown(&mut shutdown) => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
}

/// Resolves when `shutdown` is (or becomes) `true`; never, if its sender is gone.
pub(crate) async fn wait_shutdown(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The building block a sidecar path addresses (`/v1.0/state/…` → `state`).
fn api_of(path: &str) -> &str {
    path.trim_start_matches('/')
        .split('/')
        .nth(1)
        .filter(|s| !s.is_empty())
        .unwrap_or("api")
}

/// A buffered request as handlers see it.
pub(crate) struct Req {
    pub method: Method,
    /// The raw (still percent-encoded) path.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    /// `metadata.<key>=<value>` query parameters (first value wins, as in daprd).
    pub fn metadata(&self) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        if let Some(q) = &self.query {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                if let Some(key) = k.strip_prefix("metadata.") {
                    out.entry(key.to_string()).or_insert_with(|| v.into_owned());
                }
            }
        }
        out
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(crate) type Resp = Response<Full<Bytes>>;

async fn handle(ctx: Arc<Ctx>, req: http::Request<Incoming>) -> Result<Resp, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            return Ok(if too_large {
                api_error(
                    413,
                    "ERR_BODY_TOO_LARGE",
                    format!("request body exceeds {MAX_BODY_BYTES} bytes"),
                )
            } else {
                api_error(400, "ERR_BODY_READ", format!("failed to read body: {e}"))
            });
        }
    };
    let mut req = Req {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
    };
    if let Some(token) = &ctx.api_token {
        let presented = req.header("dapr-api-token");
        if presented != Some(token.as_str()) && !token_exempt(&req) {
            return Ok(invalid_token());
        }
    }
    req.headers.remove("dapr-api-token");
    // daprd's span for the API call, under the app's context; what the call
    // causes (a published envelope, an invocation) continues from it.
    let api = api_of(&req.path).to_string();
    let mut span = traces::tracer().start(
        format!("dapr {} {api}", req.method),
        traces::Kind::Server,
        &ctx.app_id,
        req.header("traceparent"),
    );
    span.set("http.path", &req.path);
    if let Ok(v) = HeaderValue::from_str(&span.traceparent()) {
        req.headers.insert("traceparent", v);
    }
    let method = req.method.clone();
    let response = route(&ctx, req).await;
    span.set("http.status", response.status().as_u16());
    span.end();
    crate::metrics::metrics().sidecar_request(&ctx.app_id, method.as_str(), &api);
    Ok(response)
}

fn token_exempt(req: &Req) -> bool {
    req.method == Method::GET
        && matches!(
            req.path.trim_matches('/'),
            "v1.0/healthz" | "v1.0/healthz/outbound"
        )
}

/// Go's `http.Error(w, "invalid api token", 401)`.
fn invalid_token() -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from_static(b"invalid api token\n")));
    *resp.status_mut() = StatusCode::UNAUTHORIZED;
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}

async fn route(ctx: &Ctx, req: Req) -> Resp {
    let path = req.path.clone();
    // daprd cleans `//` and a trailing `/` before routing.
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let m = req.method.clone();
    let is = |methods: &[Method]| methods.contains(&m);
    match segs.as_slice() {
        ["v1.0", "healthz"] | ["v1.0", "healthz", "outbound"] if m == Method::GET => {
            metadata::healthz()
        }
        ["v1.0", "metadata"] if m == Method::GET => metadata::get(ctx),
        ["v1.0", "state", store, "bulk"] if is(&[Method::POST, Method::PUT]) => {
            state::bulk_get(ctx, &decode(store), &req).await
        }
        ["v1.0", "state", store, "transaction"] if is(&[Method::POST, Method::PUT]) => {
            state::transaction(ctx, &decode(store), &req).await
        }
        ["v1.0", "state", store] if is(&[Method::POST, Method::PUT]) => {
            state::save(ctx, &decode(store), &req).await
        }
        ["v1.0", "state", store, key] if m == Method::GET => {
            state::get(ctx, &decode(store), &decode(key), &req).await
        }
        ["v1.0", "state", store, key] if m == Method::DELETE => {
            state::delete(ctx, &decode(store), &decode(key), &req).await
        }
        ["v1.0", "publish", pubsub, topic @ ..] if is(&[Method::POST, Method::PUT]) => {
            let topic = topic
                .iter()
                .map(|s| decode(s))
                .collect::<Vec<_>>()
                .join("/");
            pubsub::publish(ctx, &decode(pubsub), &topic, &req).await
        }
        ["v1.0-alpha1" | "v1.0", "jobs", name] => match m {
            Method::POST => jobs::schedule(ctx, &decode(name), &req).await,
            Method::GET => jobs::get(ctx, &decode(name)).await,
            Method::DELETE => jobs::delete(ctx, &decode(name)).await,
            _ => method_not_allowed(),
        },
        ["v1.0", "secrets", store, "bulk"] if m == Method::GET => {
            secrets::bulk(ctx, &decode(store))
        }
        ["v1.0", "secrets", store, name] if m == Method::GET => {
            secrets::get(ctx, &decode(store), &decode(name))
        }
        ["v1.0", "bindings", name] if is(&[Method::POST, Method::PUT]) => {
            bindings::invoke(ctx, &decode(name), &req).await
        }
        ["v1.0", "invoke", target, "method", ..] => {
            // The method path is forwarded as written (still escaped).
            let marker = format!("/{target}/method/");
            let method_path = match path.find(&marker) {
                Some(i) => path[i + marker.len()..].to_string(),
                None => String::new(),
            };
            invoke::invoke(ctx, &decode(target), &method_path, req).await
        }
        [first, ..] if !first.starts_with("v1.0") && req.headers.contains_key("dapr-app-id") => {
            let target = req.header("dapr-app-id").unwrap_or_default().to_string();
            let method_path = path.trim_start_matches('/').to_string();
            invoke::invoke(ctx, &target, &method_path, req).await
        }
        _ => api_error(
            404,
            "ERR_NOT_FOUND",
            format!("method {:?} is not found", req.path),
        ),
    }
}

fn method_not_allowed() -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    resp
}

/// Percent-decodes one path segment (daprd unescapes route parameters).
pub(crate) fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

// ---------------------------------------------------------------------------
// Responses

/// An empty response (204 for daprd's `respondWithEmpty`).
pub(crate) fn empty(status: u16) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT);
    resp
}

/// A JSON body (`Content-Type: application/json`).
pub(crate) fn json_response(status: u16, body: &serde_json::Value) -> Resp {
    data_response(status, serde_json::to_vec(body).unwrap_or_default())
}

/// Raw bytes with `Content-Type: application/json` (daprd's `respondWithData`).
pub(crate) fn data_response(status: u16, body: Vec<u8>) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A legacy daprd error (`messages.APIError`): `{"errorCode","message"}`.
pub(crate) fn api_error(status: u16, code: &str, message: impl Into<String>) -> Resp {
    json_response(
        status,
        &json!({ "errorCode": code, "message": message.into() }),
    )
}

/// A richer daprd error (`dapr/kit/errors`): the same two fields plus a
/// `google.rpc.ErrorInfo` detail carrying `reason` and `metadata`.
pub(crate) fn kit_error(
    status: u16,
    code: &str,
    reason: &str,
    message: impl Into<String>,
    metadata: serde_json::Value,
) -> Resp {
    let mut info = json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "dapr.io",
    });
    if metadata.as_object().is_some_and(|m| !m.is_empty()) {
        info["metadata"] = metadata;
    }
    json_response(
        status,
        &json!({ "errorCode": code, "message": message.into(), "details": [info] }),
    )
}
