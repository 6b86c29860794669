//! Shared harness for the sidecar conformance tests: a scripted test app
//! that records every request, a sidecar on 127.0.0.1:0 with an in-memory
//! (or file) store, and a small HTTP client. Waiting is done by polling with
//! a deadline, never by fixed sleeps.

#![allow(dead_code)]

#[path = "../poll/mod.rs"]
mod poll;
pub use poll::eventually_within;

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use devstack::config::{self, Resources};
use devstack::sidecar::{self, Peer, SidecarOptions};
use devstack::store::Store;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub const WAIT: Duration = Duration::from_secs(10);

/// One request the test app received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// Path and query.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Wall clock at arrival (ms since the epoch).
    pub at_ms: i64,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("body is JSON")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }
}

#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub content_type: &'static str,
}

type Responder = Arc<dyn Fn(&Recorded) -> Option<Reply> + Send + Sync>;

#[derive(Default)]
struct Script {
    /// path → replies consumed in order.
    queued: HashMap<String, VecDeque<Reply>>,
    /// path → reply used when the queue is empty.
    defaults: HashMap<String, Reply>,
    responder: Option<Responder>,
    /// How many of the next requests (to any path) wait how long before
    /// their reply (a slow app).
    stalls: VecDeque<Duration>,
}

/// A tiny HTTP app that records requests and answers as scripted
/// (default: 200 `{"status":"SUCCESS"}`).
#[derive(Clone)]
pub struct TestApp {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Mutex<Script>>,
}

impl TestApp {
    pub async fn start() -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener)
    }

    pub async fn start_on(addr: SocketAddr) -> TestApp {
        let listener = TcpListener::bind(addr).await.unwrap();
        Self::serve(listener)
    }

    fn serve(listener: TcpListener) -> TestApp {
        let addr = listener.local_addr().unwrap();
        let app = TestApp {
            addr,
            requests: Arc::default(),
            script: Arc::default(),
        };
        let server = app.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let app = server.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let app = app.clone();
                        async move { Ok::<_, Infallible>(app.answer(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        app
    }

    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let rec = Recorded {
            method: parts.method,
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            headers: parts.headers,
            body,
            at_ms: chrono::Utc::now().timestamp_millis(),
        };
        let reply = {
            let mut script = self.script.lock().unwrap();
            let path = rec.path_only().to_string();
            let responder = script.responder.clone();
            responder
                .and_then(|r| r(&rec))
                .or_else(|| script.queued.get_mut(&path).and_then(|q| q.pop_front()))
                .or_else(|| script.defaults.get(&path).cloned())
                .unwrap_or(Reply {
                    status: 200,
                    body: r#"{"status":"SUCCESS"}"#.into(),
                    content_type: "application/json",
                })
        };
        self.requests.lock().unwrap().push(rec);
        let stall = self.script.lock().unwrap().stalls.pop_front();
        if let Some(stall) = stall {
            tokio::time::sleep(stall).await;
        }
        let mut resp = Response::new(Full::new(Bytes::from(reply.body)));
        *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap();
        resp.headers_mut()
            .insert("content-type", reply.content_type.parse().unwrap());
        resp
    }

    /// Queues one reply for `path` (used before the default).
    pub fn reply(&self, path: &str, status: u16, body: &str) {
        self.script
            .lock()
            .unwrap()
            .queued
            .entry(path.to_string())
            .or_default()
            .push_back(Reply {
                status,
                body: body.to_string(),
                content_type: "application/json",
            });
    }

    /// The reply for `path` whenever nothing is queued.
    pub fn default_reply(&self, path: &str, status: u16, body: &str) {
        self.script.lock().unwrap().defaults.insert(
            path.to_string(),
            Reply {
                status,
                body: body.to_string(),
                content_type: "application/json",
            },
        );
    }

    /// The next request (to any path) is answered only after `stall`.
    pub fn stall_next(&self, stall: Duration) {
        self.script.lock().unwrap().stalls.push_back(stall);
    }

    /// A function deciding replies (checked first; `None` falls through).
    pub fn responder(&self, f: impl Fn(&Recorded) -> Option<Reply> + Send + Sync + 'static) {
        self.script.lock().unwrap().responder = Some(Arc::new(f));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path_only() == path)
            .collect()
    }

    /// Waits until at least `n` requests went to `path`.
    pub async fn wait_for(&self, path: &str, n: usize) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = self.requests_to(path);
            if got.len() >= n {
                return got;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "expected {n} requests to {path}, got {}: {:#?}",
                    got.len(),
                    self.requests()
                        .iter()
                        .map(|r| (r.method.clone(), r.path.clone()))
                        .collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Polls `f` until it returns `Some`, or panics after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(what, WAIT, f).await
}

/// A running sidecar.
pub struct Sidecar {
    pub addr: SocketAddr,
    pub store: Store,
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Sidecar {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops it and waits until its workers have finished.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        tokio::time::timeout(Duration::from_secs(20), self.handle)
            .await
            .expect("sidecar stops")
            .unwrap();
    }
}

#[derive(Default)]
pub struct SidecarConfig {
    pub api_token: Option<String>,
    pub app_token: Option<String>,
    pub peers: HashMap<String, Peer>,
    pub store: Option<Store>,
}

pub async fn start_sidecar(
    app_id: &str,
    app_addr: SocketAddr,
    resources: Resources,
    cfg: SidecarConfig,
) -> Sidecar {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let store = cfg
        .store
        .unwrap_or_else(|| Store::open(None).expect("in-memory store"));
    let (tx, rx) = watch::channel(false);
    let handle = sidecar::start(SidecarOptions {
        app_id: app_id.to_string(),
        listener,
        app_addr,
        store: store.clone(),
        resources: Arc::new(resources),
        api_token: cfg.api_token,
        app_token: cfg.app_token,
        peers: cfg.peers,
        shutdown: rx,
    });
    Sidecar {
        addr,
        store,
        shutdown: tx,
        handle,
    }
}

/// Resources from YAML text.
pub fn resources(yaml: &str) -> Resources {
    config::parse_str(yaml, Path::new("test.yaml")).expect("valid resources")
}

/// A pubsub, a state store, and whatever else is given.
pub const BASE: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: pubsub }
spec: { type: pubsub.devstack, version: v1, metadata: [] }
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: statestore }
spec: { type: state.devstack, version: v1, metadata: [] }
"#;

/// A fast constant retry policy for the `pubsub` component's deliveries.
pub fn fast_retries(max_retries: i64) -> String {
    format!(
        r#"
---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {{ name: fast }}
spec:
  policies:
    retries:
      quick: {{ policy: constant, duration: 50ms, maxRetries: {max_retries} }}
  targets:
    components:
      pubsub:
        inbound: {{ retry: quick }}
"#
    )
}

/// An HTTP response, read fully.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error_code(&self) -> String {
        self.json()["errorCode"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

pub async fn call(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let mut req = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::copy_from_slice(body))).unwrap();
    let resp = tokio::time::timeout(WAIT, client.request(req))
        .await
        .expect("response in time")
        .expect("request succeeds");
    let (parts, body) = resp.into_parts();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

pub async fn post_json(url: &str, body: &serde_json::Value) -> Answer {
    call(
        "POST",
        url,
        &[("content-type", "application/json")],
        &serde_json::to_vec(body).unwrap(),
    )
    .await
}

pub async fn get(url: &str) -> Answer {
    call("GET", url, &[], b"").await
}

/// An address nothing listens on (bound, then released).
pub async fn unused_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}
