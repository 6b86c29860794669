//! Sends devstack's spans to an OpenTelemetry collector over OTLP/HTTP
//! when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL) or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL; `/v1/traces` is appended) is
//! set, as the OpenTelemetry SDK environment specification names them.
//!
//! Why not the `opentelemetry-otlp` crate: its HTTP exporter needs an HTTP
//! client crate of its own (reqwest, which brings a second TLS stack whose
//! C build dominates devstack's compile time on two cores) and the protobuf
//! stack, while devstack already speaks HTTP with hyper and JSON with serde,
//! and OTLP/HTTP's JSON encoding is a stable part of the protocol
//! (<https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding>:
//! trace and span ids as hex strings, 64-bit integers as decimal strings,
//! enums as numbers). What is written here is that encoding and a batcher.
//!
//! Spans are batched (up to [`BATCH`] or every [`FLUSH_EVERY`]), one
//! `resourceSpans` per app with `service.name` = the app-id; a failed export
//! is logged and dropped (the in-memory spans stay for inspection).

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{Kind, Span};

/// Most spans in one export request.
pub const BATCH: usize = 512;
/// Longest a finished span waits to be exported.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

static SENDER: OnceLock<mpsc::UnboundedSender<Span>> = OnceLock::new();

/// The traces URL the environment configures, if any.
pub fn endpoint_from_env() -> Option<String> {
    let non_empty = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    non_empty("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
        non_empty("OTEL_EXPORTER_OTLP_ENDPOINT")
            .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
    })
}

/// Starts exporting every span that ends from now on to `url` (once per
/// process; later calls change nothing). Needs a tokio runtime.
pub fn start(url: String) {
    let (tx, rx) = mpsc::unbounded_channel();
    if SENDER.set(tx).is_ok() {
        tracing::info!(%url, "exporting spans over OTLP/HTTP");
        tokio::spawn(export_loop(url, rx));
    }
}

/// Hands a finished span to the exporter, if one runs.
pub(super) fn offer(span: &Span) {
    if let Some(tx) = SENDER.get() {
        let _ = tx.send(span.clone());
    }
}

async fn export_loop(url: String, mut rx: mpsc::UnboundedReceiver<Span>) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let mut batch = Vec::new();
    loop {
        let deadline = tokio::time::sleep(FLUSH_EVERY);
        tokio::pin!(deadline);
        let open = loop {
            tokio::select! {
                span = rx.recv() => match span {
                    Some(span) => {
                        batch.push(span);
                        if batch.len() >= BATCH { break true; }
                    }
                    None => break false,
                },
                () = &mut deadline => break true,
            }
        };
        if !batch.is_empty() {
            let body = encode(&std::mem::take(&mut batch)).to_string();
            let request = http::Request::post(&url)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body)));
            match request {
                Ok(request) => match client.request(request).await {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => tracing::warn!(%url, status = %r.status(), "OTLP export refused"),
                    Err(e) => tracing::warn!(%url, error = %e, "OTLP export failed"),
                },
                Err(e) => tracing::warn!(%url, error = %e, "OTLP export request invalid"),
            }
        }
        if !open {
            return;
        }
    }
}

/// An `ExportTraceServiceRequest` in OTLP's JSON encoding.
pub fn encode(spans: &[Span]) -> Value {
    let mut by_app: BTreeMap<&str, Vec<&Span>> = BTreeMap::new();
    for span in spans {
        by_app.entry(&span.app).or_default().push(span);
    }
    let resource_spans: Vec<Value> = by_app
        .into_iter()
        .map(|(app, spans)| {
            json!({
                "resource": { "attributes": [ attribute("service.name", app) ] },
                "scopeSpans": [{
                    "scope": { "name": "devstack", "version": env!("CARGO_PKG_VERSION") },
                    "spans": spans.iter().map(|s| span_json(s)).collect::<Vec<_>>(),
                }],
            })
        })
        .collect();
    json!({ "resourceSpans": resource_spans })
}

fn span_json(span: &Span) -> Value {
    let mut out = json!({
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        // SPAN_KIND_SERVER = 2, SPAN_KIND_CLIENT = 3.
        "kind": match span.kind { Kind::Server => 2, Kind::Client => 3 },
        "startTimeUnixNano": span.start_unix_nanos.to_string(),
        "endTimeUnixNano": span.end_unix_nanos.to_string(),
        "attributes": span
            .attributes
            .iter()
            .map(|(k, v)| attribute(k, v))
            .collect::<Vec<_>>(),
    });
    if let Some(parent) = &span.parent_id {
        out["parentSpanId"] = json!(parent);
    }
    out
}

fn attribute(key: &str, value: &str) -> Value {
    json!({ "key": key, "value": { "stringValue": value } })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use http_body_util::BodyExt;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    use super::*;
    use crate::traces::tracer;

    #[test]
    fn spans_are_encoded_as_otlp_json_one_resource_per_app() {
        let root = tracer().start("POST /api/tasks", Kind::Server, "task-api", None);
        let mut child = tracer().start(
            "dapr POST publish",
            Kind::Server,
            "task-api",
            Some(&root.traceparent()),
        );
        child.set("http.status", 204);
        let other = tracer().start(
            "deliver task-events",
            Kind::Client,
            "audit",
            Some(&root.traceparent()),
        );
        let spans: Vec<Span> = [root.span.clone(), child.span.clone(), other.span.clone()].into();
        let body = encode(&spans);
        let resources = body["resourceSpans"].as_array().unwrap();
        assert_eq!(resources.len(), 2);
        assert_eq!(
            resources[0]["resource"]["attributes"][0],
            json!({"key": "service.name", "value": {"stringValue": "audit"}})
        );
        let task_api = &resources[1]["scopeSpans"][0]["spans"];
        assert_eq!(task_api[0]["traceId"].as_str().unwrap().len(), 32);
        assert_eq!(task_api[0]["kind"], 2);
        assert!(task_api[0].get("parentSpanId").is_none());
        assert_eq!(task_api[1]["parentSpanId"], json!(root.span.span_id));
        assert!(task_api[1]["startTimeUnixNano"].is_string());
        assert_eq!(
            task_api[1]["attributes"][0],
            json!({"key": "http.status", "value": {"stringValue": "204"}})
        );
        assert_eq!(resources[0]["scopeSpans"][0]["spans"][0]["kind"], 3);
    }

    /// With an endpoint, ended spans reach a collector as OTLP/HTTP JSON.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ended_spans_are_posted_to_the_collector() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let sink = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sink = sink.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let sink = sink.clone();
                        async move {
                            let path = req.uri().path().to_string();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            sink.lock().unwrap().push((path, json));
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::new())))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        start(format!("http://{addr}/v1/traces"));
        let span = tracer().start("exported", Kind::Server, "otlp-test", None);
        let trace_id = span.trace_id().to_string();
        span.end();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = received.lock().unwrap().clone();
            let found = got.iter().any(|(path, body)| {
                path == "/v1/traces"
                    && body["resourceSpans"].as_array().is_some_and(|rs| {
                        rs.iter().any(|r| {
                            r["scopeSpans"][0]["spans"].as_array().is_some_and(|s| {
                                s.iter().any(|s| s["traceId"] == trace_id.as_str())
                            })
                        })
                    })
            });
            if found {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no export arrived: {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
