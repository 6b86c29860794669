//! A gateway for apps devstack does not host (`devstack sidecars`, where
//! `spin up` serves each component): routes every public request by the
//! `spin.toml` routes — with the host's Spin-compatible [`Router`] — to the
//! listener of the component that owns it, streaming both bodies (SSE works).
//! Like `spin up` (and devstack's hosted gateway) it answers
//! `/.well-known/spin/health` itself, so tools that wait for a Spin listener
//! (scripts, `loadgen`) can wait for this one. `GET /metrics` answers
//! devstack's metrics ([`crate::metrics`]).
//!
//! Each client connection gets its own kept-alive connection to each
//! component listener it uses ([`Upstreams`]) rather than a pool shared by
//! all: measured alternating on two cores, 0.84× of direct throughput
//! against 0.77× through hyper-util's pooled client (docs/benchmarks.md).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Result;
use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::host::routes::Router;
use crate::manifest::Manifest;
use crate::store::Store;

type Body = BoxBody<Bytes, hyper::Error>;

struct Proxy {
    router: Router,
    /// component id → where it listens.
    upstreams: BTreeMap<String, SocketAddr>,
    expose_prefixes: Vec<String>,
    /// The sidecars' store, for `GET /metrics`.
    metrics_store: Option<Store>,
}

/// Serves the gateway on `listener`: paths under `expose_prefixes` are routed
/// like `spin up` and forwarded to the owning component's address; anything
/// else, or a component without an address, answers 404 (502 if it is down).
pub fn serve(
    manifest: &Manifest,
    listener: TcpListener,
    upstreams: BTreeMap<String, SocketAddr>,
    expose_prefixes: Vec<String>,
    metrics_store: Option<Store>,
) -> Result<JoinHandle<()>> {
    let triggers = manifest.http_triggers.iter().filter(|t| match &t.route {
        crate::manifest::Route::Path(raw) => super::may_expose(raw, &expose_prefixes),
        _ => true,
    });
    let router = Router::build(triggers, None)?;
    let proxy = Arc::new(Proxy {
        router,
        upstreams,
        expose_prefixes,
        metrics_store,
    });
    // The proxy runs on a thread of its own with a single-threaded runtime:
    // a forwarded request then wakes only tasks on that thread (server
    // connection, upstream connection) instead of bouncing between the
    // worker threads it would share with the sidecars; measured, that
    // cross-thread wake-up (futex, context switches) was most of the hop's
    // cost. Aborting the returned task stops the thread's runtime.
    let listener = listener.into_std()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("gateway-proxy".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    tracing::error!(error = %err, "gateway: no runtime for the proxy");
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(err) => {
                        tracing::error!(error = %err, "gateway: listener unusable");
                        return;
                    }
                };
                tokio::select! {
                    () = accept(listener, proxy) => {}
                    _ = stopped => {}
                }
            });
        })?;
    Ok(tokio::spawn(async move {
        let _stop_on_abort = stop;
        std::future::pending::<()>().await
    }))
}

async fn accept(listener: TcpListener, proxy: Arc<Proxy>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Small request/response pairs on kept-alive connections: without
        // TCP_NODELAY, Nagle holding the last segment meets the peer's
        // delayed ACK and every answer waits ~40 ms (what made this
        // gateway 10x slower than `spin up` answering directly).
        let _ = stream.set_nodelay(true);
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let upstreams = Arc::new(Upstreams::default());
            let service = service_fn(move |request| {
                let proxy = proxy.clone();
                let upstreams = upstreams.clone();
                async move { Ok::<_, Infallible>(proxy.forward(request, &upstreams).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl Proxy {
    async fn forward(
        &self,
        mut request: Request<Incoming>,
        upstreams: &Upstreams,
    ) -> Response<Body> {
        let path = request.uri().path().to_string();
        if path == "/.well-known/spin/health" {
            let mut response = Response::new(
                Full::new(Bytes::from_static(b"OK"))
                    .map_err(|never| match never {})
                    .boxed(),
            );
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain"),
            );
            return response;
        }
        if let Some(store) = self.metrics_store.as_ref().filter(|_| path == "/metrics") {
            let text = crate::metrics::metrics().render(store).await;
            let mut response = Response::new(
                Full::new(Bytes::from(text))
                    .map_err(|never| match never {})
                    .boxed(),
            );
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
            );
            return response;
        }
        let exposed = super::is_exposed(&path, &self.expose_prefixes);
        let upstream = exposed
            .then(|| self.router.route(&path))
            .flatten()
            .and_then(|m| self.upstreams.get(&m.component_id).copied());
        let Some(upstream) = upstream else {
            // The API's own 404 for an API path, as the ingress would give.
            if let Some(body) = exposed.then(|| super::api_not_found(&path)).flatten() {
                let mut response = Response::new(
                    Full::new(Bytes::from(body))
                        .map_err(|never| match never {})
                        .boxed(),
                );
                *response.status_mut() = StatusCode::NOT_FOUND;
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(super::PROBLEM_JSON),
                );
                return response;
            }
            return status(StatusCode::NOT_FOUND);
        };
        // Origin form, as a client connection sends it.
        let path_and_query = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        *request.uri_mut() = Uri::from(path_and_query);
        if !request.headers().contains_key(http::header::HOST) {
            if let Ok(host) = http::HeaderValue::from_str(&upstream.to_string()) {
                request.headers_mut().insert(http::header::HOST, host);
            }
        }
        match upstreams.send(upstream, request).await {
            Ok(response) => response.map(|body| body.boxed()),
            Err(err) => {
                tracing::warn!(%upstream, error = %err, "gateway: component unreachable");
                status(StatusCode::BAD_GATEWAY)
            }
        }
    }
}

/// The upstream connections of one client connection, one per component
/// listener, kept alive with it. HTTP/1 serves one request at a time on a
/// connection, so each upstream connection carries at most one request at a
/// time too, and no pool is shared between client connections.
#[derive(Default)]
struct Upstreams(std::sync::Mutex<BTreeMap<SocketAddr, SendRequest<Incoming>>>);

impl Upstreams {
    async fn send(
        &self,
        upstream: SocketAddr,
        request: Request<Incoming>,
    ) -> Result<Response<Incoming>> {
        let mut request = request;
        let kept = self.0.lock().unwrap().remove(&upstream);
        if let Some(mut sender) = kept.filter(|s| !s.is_closed()) {
            if sender.ready().await.is_ok() {
                match sender.try_send_request(request).await {
                    Ok(response) => {
                        self.0.lock().unwrap().insert(upstream, sender);
                        return Ok(response);
                    }
                    Err(mut failed) => match failed.take_message() {
                        Some(unsent) => request = unsent,
                        None => return Err(failed.into_error().into()),
                    },
                }
            }
            // The listener had just closed this kept-alive connection,
            // before the request went out: it goes on a new one, as
            // hyper-util's pool does (`retry_canceled_requests`).
        }
        let mut sender = connect(upstream).await?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        self.0.lock().unwrap().insert(upstream, sender);
        Ok(response)
    }
}

/// A new connection to `upstream`, with TCP_NODELAY for the same reason as
/// the accepted side (see [`accept`]).
async fn connect(upstream: SocketAddr) -> Result<SendRequest<Incoming>> {
    let stream = TcpStream::connect(upstream).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(Empty::new().map_err(|never| match never {}).boxed());
    *response.status_mut() = code;
    response
}
