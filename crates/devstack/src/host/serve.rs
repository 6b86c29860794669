//! The HTTP listener: route, instantiate, call, stream back.
//!
//! This mirrors Spin's HTTP trigger (`spinframework/spin`:
//! `crates/trigger-http/src/server.rs` and `wasi.rs`):
//! - `/.well-known/spin/health` answers `OK` and `/.well-known/spin/info`
//!   the app's name and version; other paths go through the [`Router`];
//!   no match is a `404` with an empty body;
//! - the request URI gets the server's scheme and the `Host` authority, the
//!   `spin-*` headers are appended, and a **fresh instance** handles it;
//! - the response is streamed as the guest writes it (nothing is buffered,
//!   so an endless SSE stream works), and when the client goes away the
//!   guest task is aborted, dropping its instance and any outbound requests;
//! - a guest that fails before responding yields a `500` with an empty body.
//!
//! Every request runs in a `request` span carrying the component and
//! `instantiate_us` (store creation + instantiation), which is also added to
//! [`InstantiationStats`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::{AbortHandle, JoinSet};
use tracing::{field::Empty as EmptyField, Instrument};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

use super::engine::InstanceConfig;
use super::routes::{add_spin_headers, Router, WELL_KNOWN_PREFIX};
use super::Host;

/// One listener's routing table and per-component instance settings.
pub(crate) struct Server {
    pub(crate) host: Host,
    pub(crate) router: Router,
    pub(crate) configs: HashMap<String, Arc<InstanceConfig>>,
    pub(crate) local_addr: SocketAddr,
    /// When set, only these paths are routed ([`crate::gateway::is_exposed`]).
    pub(crate) expose_prefixes: Option<Vec<String>>,
    /// The gateway's store, for `GET /metrics`.
    pub(crate) metrics_store: Option<crate::store::Store>,
}

impl Server {
    /// Accepts connections until the task is aborted; aborting it also ends
    /// every open connection and the guests serving them.
    pub(crate) async fn run(self: Arc<Self>, listener: TcpListener) {
        let mut connections = JoinSet::new();
        loop {
            while connections.try_join_next().is_some() {}
            let (stream, client_addr) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(addr = %self.local_addr, "accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let server = self.clone();
            connections.spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.handle(req, client_addr).await) }
                });
                if let Err(e) = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!("error serving HTTP connection from {client_addr}: {e:?}");
                }
            });
        }
    }

    async fn handle(
        self: Arc<Self>,
        mut req: Request<Incoming>,
        client_addr: SocketAddr,
    ) -> Response<HyperOutgoingBody> {
        // Spin drops a `Host` naming a service-chaining target.
        if let Some(h) = req.headers().get(http::header::HOST) {
            if h.to_str().map(is_service_chaining_host).unwrap_or(false) {
                req.headers_mut().remove(http::header::HOST);
            }
        }
        let path = req.uri().path().to_string();

        if let Some(well_known) = path.strip_prefix(WELL_KNOWN_PREFIX) {
            return match well_known {
                "health" => text(StatusCode::OK, "OK"),
                "info" => {
                    let app = &self.host.inner.manifest.application;
                    let mut info = serde_json::json!({ "name": app.name });
                    if !app.version.is_empty() {
                        info["version"] = app.version.clone().into();
                    }
                    let mut resp = text(StatusCode::OK, &info.to_string());
                    resp.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/json"),
                    );
                    resp
                }
                _ => empty(StatusCode::NOT_FOUND),
            };
        }

        if let Some(store) = self.metrics_store.as_ref().filter(|_| path == "/metrics") {
            let mut resp = text(
                StatusCode::OK,
                &crate::metrics::metrics().render(store).await,
            );
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
            );
            return resp;
        }
        if let Some(prefixes) = &self.expose_prefixes {
            if !crate::gateway::is_exposed(&path, prefixes) {
                return empty(StatusCode::NOT_FOUND);
            }
        }

        let Some(route) = self.router.route(&path) else {
            // The gateway stands for the ingress: an unknown API path gets the
            // API's 404. An app's own listener answers as Spin does.
            if self.expose_prefixes.is_some() {
                if let Some(body) = crate::gateway::api_not_found(&path) {
                    let mut resp = text(StatusCode::NOT_FOUND, &body);
                    resp.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static(crate::gateway::PROBLEM_JSON),
                    );
                    return resp;
                }
            }
            tracing::debug!(addr = %self.local_addr, "Request to {path} matched no pattern, and received a generic 404 response");
            return empty(StatusCode::NOT_FOUND);
        };
        let Some(config) = self.configs.get(&route.component_id).cloned() else {
            tracing::error!(component = %route.component_id, "routed to a component this listener does not serve");
            return empty(StatusCode::INTERNAL_SERVER_ERROR);
        };

        let span = tracing::info_span!(
            "request",
            component = %route.component_id,
            method = %req.method(),
            path = %path,
            instantiate_us = EmptyField,
            status = EmptyField,
        );
        async move {
            if let Err(e) = set_req_uri(&mut req) {
                tracing::warn!("bad request: {e:#}");
                return empty(StatusCode::BAD_REQUEST);
            }
            let uri = req.uri().clone();
            add_spin_headers(req.headers_mut(), &uri, &route, client_addr);
            // Spin's span for the request, under the caller's context (a
            // public request starts a trace); the instance sees its own.
            let parent = req
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let started = Instant::now();
            let mut trace_span = crate::traces::tracer().start(
                format!("{} {}", req.method(), route.based_route),
                crate::traces::Kind::Server,
                &route.component_id,
                parent.as_deref(),
            );
            if let Ok(v) = http::HeaderValue::from_str(&trace_span.traceparent()) {
                req.headers_mut().insert("traceparent", v);
            }

            let resp = match self.execute(req, &config).await {
                Ok(resp) => resp,
                Err(e) => {
                    tracing::error!("Error processing request: {e:#}");
                    empty(StatusCode::INTERNAL_SERVER_ERROR)
                }
            };
            tracing::Span::current().record("status", resp.status().as_u16());
            trace_span.set("http.status", resp.status().as_u16());
            trace_span.end();
            crate::metrics::metrics().request(
                &route.component_id,
                &route.based_route,
                resp.status().as_u16(),
                started.elapsed(),
            );
            resp
        }
        .instrument(span)
        .await
    }

    /// Runs one request on a fresh instance.
    async fn execute(
        &self,
        req: Request<Incoming>,
        config: &InstanceConfig,
    ) -> anyhow::Result<Response<HyperOutgoingBody>> {
        let prepared = self.host.prepared(&config.component)?;
        let engine = &self.host.inner.engine;

        let started = Instant::now();
        let mut store = config.new_store(engine, Some(self.local_addr), &self.host.inner.stats);
        let proxy = prepared.pre.instantiate_async(&mut store).await?;
        let elapsed = started.elapsed();
        self.host.inner.stats.record(elapsed);
        tracing::Span::current().record("instantiate_us", elapsed.as_micros() as u64);
        tracing::debug!(
            instantiate_us = elapsed.as_micros() as u64,
            "instantiated a fresh instance"
        );

        let request = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let out = store.data_mut().http().new_response_outparam(tx)?;

        let task = tokio::spawn(
            async move {
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, request, out)
                    .await
            }
            .in_current_span(),
        );
        // Until the response body owns it, dropping this request (client
        // gone) must stop the guest.
        let guard = AbortGuard(Some(task.abort_handle()));

        match rx.await {
            Ok(Ok(resp)) => {
                let abort = guard.disarm();
                tokio::spawn(
                    async move {
                        match task.await {
                            Err(e) if e.is_cancelled() => {}
                            Err(e) => tracing::error!("guest invocation panicked: {e}"),
                            Ok(Err(e)) => tracing::error!(
                                "Component error after response started. The response may not be fully sent: {e:?}"
                            ),
                            Ok(Ok(())) => {}
                        }
                    }
                    .in_current_span(),
                );
                Ok(resp.map(|body| {
                    AbortOnDropBody {
                        body,
                        abort: Some(abort),
                    }
                    .boxed_unsync()
                }))
            }
            Ok(Err(code)) => {
                anyhow::bail!("guest failed to produce a response: {code:?}")
            }
            Err(_) => {
                guard.disarm();
                match task.await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        return Err(anyhow::Error::from(e).context("guest invocation failed"))
                    }
                    Err(e) => return Err(anyhow::anyhow!("guest invocation panicked: {e}")),
                }
                anyhow::bail!("guest failed to produce a response prior to returning")
            }
        }
    }
}

/// Gives the request URI the server's scheme and the authority from the
/// `Host` header (or the URI), refusing a mismatch, as Spin's `set_req_uri`.
fn set_req_uri(req: &mut Request<Incoming>) -> anyhow::Result<()> {
    let header_authority = req
        .headers()
        .get(http::header::HOST)
        .map(|h| -> anyhow::Result<http::uri::Authority> {
            let s = h
                .to_str()
                .map_err(|_| anyhow::anyhow!("'Host' header is not valid UTF-8"))?;
            s.parse()
                .map_err(|_| anyhow::anyhow!("'Host' header contains an invalid authority"))
        })
        .transpose()?;
    let mut parts = req.uri().clone().into_parts();
    let authority = match (header_authority, parts.authority.take()) {
        (None, None) => anyhow::bail!("no 'Host' header present in request"),
        (None, Some(a)) | (Some(a), None) => a,
        (Some(a1), Some(a2)) => {
            if a1 != a2 {
                anyhow::bail!("authority in 'Host' header does not match authority in URI");
            }
            a1
        }
    };
    parts.scheme = Some(http::uri::Scheme::HTTP);
    parts.authority = Some(authority);
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    *req.uri_mut() = http::Uri::from_parts(parts)?;
    Ok(())
}

fn is_service_chaining_host(host: &str) -> bool {
    let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    matches!(host.split_once('.'), Some((_, "spin.internal")))
}

fn empty(status: StatusCode) -> Response<HyperOutgoingBody> {
    let mut resp = Response::new(
        Empty::<Bytes>::new()
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *resp.status_mut() = status;
    resp
}

fn text(status: StatusCode, body: &str) -> Response<HyperOutgoingBody> {
    let mut resp = Response::new(
        Full::new(Bytes::copy_from_slice(body.as_bytes()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *resp.status_mut() = status;
    resp
}

/// Aborts the guest task when dropped, unless disarmed.
struct AbortGuard(Option<AbortHandle>);

impl AbortGuard {
    fn disarm(mut self) -> AbortHandle {
        self.0.take().expect("armed")
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.abort();
        }
    }
}

/// A response body that aborts the guest task when hyper drops it (the
/// client disconnected or the listener stopped); this drops the `Store`
/// and with it any pending outbound requests, as Spin does.
struct AbortOnDropBody<B> {
    body: B,
    abort: Option<AbortHandle>,
}

impl<B> Drop for AbortOnDropBody<B> {
    fn drop(&mut self) {
        if let Some(h) = self.abort.take() {
            h.abort();
        }
    }
}

impl<B: Body + Unpin> Body for AbortOnDropBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
