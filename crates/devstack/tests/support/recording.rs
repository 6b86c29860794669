//! The one recording app: a tiny HTTP server that keeps every request it
//! gets and answers as scripted (by default 200 `{"status":"SUCCESS"}`, a
//! successful delivery). It stands in for whatever a sidecar or a component
//! calls: a subscriber (the stack's external app-id `test-subscriber`), an
//! app behind a sidecar, a service to invoke, a webhook receiver.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{eventually, eventually_explained, WAIT};

/// One request the app received.
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
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body of {} is not JSON ({e}): {:?}",
                self.path,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }
}

/// A scripted reply.
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
    /// How long each of the next requests (to any path) waits before its
    /// reply (a slow app).
    stalls: VecDeque<Duration>,
}

/// The recording app; clones share the server and what it recorded.
#[derive(Clone)]
pub struct RecordingApp {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Mutex<Script>>,
    server: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl RecordingApp {
    /// Starts it on a free port of 127.0.0.1.
    pub async fn start() -> RecordingApp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = RecordingApp {
            addr: listener.local_addr().unwrap(),
            requests: Arc::default(),
            script: Arc::default(),
            server: Arc::default(),
        };
        let server = app.clone();
        let accept = tokio::spawn(async move {
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
        *app.server.lock().unwrap() = Some(accept);
        app
    }

    /// Stops accepting connections.
    pub fn stop(&self) {
        if let Some(accept) = self.server.lock().unwrap().take() {
            accept.abort();
        }
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
        let (reply, stall) = {
            let mut script = self.script.lock().unwrap();
            let path = rec.path_only().to_string();
            let responder = script.responder.clone();
            let reply = responder
                .and_then(|r| r(&rec))
                .or_else(|| script.queued.get_mut(&path).and_then(|q| q.pop_front()))
                .or_else(|| script.defaults.get(&path).cloned())
                .unwrap_or(Reply {
                    status: 200,
                    body: r#"{"status":"SUCCESS"}"#.into(),
                    content_type: "application/json",
                });
            (reply, script.stalls.pop_front())
        };
        self.requests.lock().unwrap().push(rec);
        if let Some(stall) = stall {
            // The app under test is slow: that is what `stall_next` asks for.
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

    /// Waits until at least `n` requests went to `path`; returns them all.
    pub async fn wait_for(&self, path: &str, n: usize) -> Vec<Recorded> {
        let seen = || {
            let seen: Vec<(Method, String)> = self
                .requests()
                .iter()
                .map(|r| (r.method.clone(), r.path.clone()))
                .collect();
            format!("; got {seen:#?}")
        };
        eventually_explained(&format!("{n} requests to {path}"), WAIT, seen, || {
            let got = self.requests_to(path);
            async move { (got.len() >= n).then_some(got) }
        })
        .await
    }

    /// Deliveries to `route` whose CloudEvent `data.userId` is `user`, in
    /// arrival order.
    pub fn events_for(&self, route: &str, user: &str) -> Vec<Recorded> {
        self.requests_to(route)
            .into_iter()
            .filter(|r| {
                serde_json::from_slice::<Value>(&r.body)
                    .ok()
                    .is_some_and(|v| v["data"]["userId"] == user)
            })
            .collect()
    }

    /// Waits until `user` has at least `n` deliveries on `route`.
    pub async fn wait_events(&self, route: &str, user: &str, n: usize) -> Vec<Recorded> {
        eventually(&format!("{n} deliveries to {route} for {user}"), || {
            let got = self.events_for(route, user);
            async move { (got.len() >= n).then_some(got) }
        })
        .await
    }

    /// The CloudEvent `type`s `user` received on `route`, in arrival order.
    pub fn types_for(&self, route: &str, user: &str) -> Vec<String> {
        self.events_for(route, user)
            .iter()
            .map(|r| r.json()["type"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}
