//! Shared harness for the end-to-end tests: the real task-api `.wasm` behind
//! a real devstack [`Stack`] (gateway, per-app listener, sidecars, in-memory
//! store), plus a **test subscriber** — a tiny HTTP app registered as the
//! external app-id `test-subscriber` that records every request Dapr makes to
//! it and answers `{"status":"SUCCESS"}`. Its declarative Subscriptions (to
//! `task-events`, `reminders`, `task-updates`) live in a resource directory
//! written per test, layered after `k8s/dapr` and `devstack/components`.
//!
//! Waiting is done by polling with a deadline, never by fixed sleeps.

#![allow(dead_code)]

#[path = "../poll/mod.rs"]
mod poll;
pub use poll::eventually_within;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use devstack::local_secrets::DevSecrets;
use devstack::stack::{AppEndpoints, Stack, StackOptions};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;

/// How long any poll waits before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// The app-id of the recording subscriber.
pub const SUBSCRIBER: &str = "test-subscriber";
/// The pub/sub component task-api publishes to.
pub const PUBSUB: &str = "kafka-pubsub";
/// Where the test subscriber receives each topic.
pub const ROUTE_TASK_EVENTS: &str = "/events/test/task-events";
pub const ROUTE_REMINDERS: &str = "/events/test/reminders";
pub const ROUTE_TASK_UPDATES: &str = "/events/test/task-updates";

// ---------------------------------------------------------------------------
// Paths and the task-api component

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// `$CARGO_TARGET_DIR` (relative to the repo root) or `<repo>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => repo_root().join(dir),
        None => repo_root().join("target"),
    }
}

/// What `spin.toml` names as task-api's source.
pub const TASK_API_SOURCE: &str = "target/wasm32-wasip2/release/task_api.wasm";

/// task-api's `.wasm`: the one `spin.toml` names if it exists, else built
/// once (per test binary) into a separate target directory, so the build
/// never waits on the lock `cargo test` holds.
pub fn task_api_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let root = repo_root();
        let spin_toml = std::fs::read_to_string(root.join("spin.toml")).unwrap();
        assert!(
            spin_toml.contains(TASK_API_SOURCE),
            "spin.toml no longer names {TASK_API_SOURCE}"
        );
        let wasm = target_dir().join("wasm32-wasip2/release/task_api.wasm");
        if wasm.is_file() {
            return wasm;
        }
        let target = target_dir().join("devstack-fixtures");
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "-p",
                "task-api",
                "--manifest-path",
            ])
            .arg(root.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("run cargo");
        assert!(
            status.success(),
            "building task-api for wasm32-wasip2 failed"
        );
        target.join("wasm32-wasip2/release/task_api.wasm")
    })
}

/// A copy of `spin.toml` in `dir` whose task-api source is the absolute path
/// of [`task_api_wasm`] (other components' relative sources still point into
/// the repository).
pub fn manifest_in(dir: &Path) -> PathBuf {
    let root = repo_root();
    let spin_toml = std::fs::read_to_string(root.join("spin.toml")).unwrap();
    let text = spin_toml
        .replace(TASK_API_SOURCE, &task_api_wasm().display().to_string())
        .replace(
            "source = \"target/",
            &format!("source = \"{}/target/", root.display()),
        );
    let manifest = dir.join("spin.toml");
    std::fs::write(&manifest, text).unwrap();
    manifest
}

/// Applies [`Hosting::task_api_env`] and [`Hosting::task_api_outbound`] to
/// the manifest copy (comments are not kept: nobody reads that copy).
fn edit_task_api(manifest: &Path, hosting: &Hosting) {
    if hosting.task_api_env.is_empty() && hosting.task_api_outbound.is_empty() {
        return;
    }
    let text = std::fs::read_to_string(manifest).unwrap();
    let mut doc: toml::Table = text.parse().unwrap();
    let component = doc
        .get_mut("component")
        .and_then(|c| c.get_mut("task-api"))
        .and_then(|t| t.as_table_mut())
        .expect("spin.toml has task-api");
    let env = component
        .entry("environment")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .unwrap();
    for (name, value) in &hosting.task_api_env {
        env.insert(name.clone(), toml::Value::String(value.clone()));
    }
    let hosts = component
        .entry("allowed_outbound_hosts")
        .or_insert_with(|| toml::Value::Array(Vec::new()))
        .as_array_mut()
        .unwrap();
    hosts.extend(
        hosting
            .task_api_outbound
            .iter()
            .map(|h| toml::Value::String(h.clone())),
    );
    std::fs::write(manifest, toml::to_string(&doc).unwrap()).unwrap();
}

/// A scratch directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "devstack-e2e-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------
// The test subscriber's Dapr resources

/// What the extra resource directory declares besides the subscriptions.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    /// Overrides the `outbox-sweep` cron binding's schedule (e.g. `@every 1s`).
    pub sweep_schedule: Option<String>,
}

/// What runs besides task-api and the test subscriber, and where state lives.
#[derive(Debug, Clone, Default)]
pub struct Hosting {
    /// App-ids hosted besides task-api (their `.wasm` must be built).
    pub more_apps: Vec<String>,
    /// Keeps the store in a SQLite file in the test's directory instead of
    /// memory (`stack.store.path()`), so a test can open it too.
    pub file_store: bool,
    /// Where the `email` binding sends mail (`StackOptions::smtp_port`).
    pub smtp_port: Option<u16>,
    /// Run devstack as `devstack sidecars` does (no Wasm host in the stack):
    /// the apps are served by a separate [`Host`] on ports announced up
    /// front, each told its fixed sidecar port — the wiring `spin up -e
    /// DAPR_HTTP_PORT=… --variable dapr_http_port=…` gets.
    pub sidecars_only: bool,
    /// Added to task-api's `environment` in the test's copy of `spin.toml`.
    pub task_api_env: BTreeMap<String, String>,
    /// Added to task-api's `allowed_outbound_hosts` in that copy.
    pub task_api_outbound: Vec<String>,
}

/// Serves `apps` from a Wasm host of their own, each on a port of its own and
/// told a fixed sidecar port, and registers them with `options` as external
/// apps with those sidecar ports — what `scripts/dev --spin` does with
/// `spin up` processes and `devstack sidecars`.
async fn serve_apps_separately(
    manifest: &Path,
    apps: &[String],
    options: &mut StackOptions,
) -> devstack::host::Host {
    use devstack::host::{ComponentSettings, Host, ServeOptions};
    let host = Host::load(manifest, &BTreeMap::new()).expect("the app host loads");
    for app in apps {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sidecar_port = free_port().await;
        let port = sidecar_port.to_string();
        let settings = ComponentSettings {
            env: BTreeMap::from([("DAPR_HTTP_PORT".to_string(), port.clone())]),
            variables: BTreeMap::from([("dapr_http_port".to_string(), port)]),
        };
        options
            .external_apps
            .insert(app.clone(), listener.local_addr().unwrap());
        options.sidecar_ports.insert(app.clone(), sidecar_port);
        host.serve_with(
            listener,
            ServeOptions {
                components: Some(vec![app.clone()]),
                per_component: BTreeMap::from([(app.clone(), settings)]),
                ..ServeOptions::default()
            },
        )
        .expect("the app is served");
    }
    host
}

/// A port that was free a moment ago (the sidecar binds it right after).
async fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    probe.local_addr().unwrap().port()
}

/// Writes the test subscriber's resources into `dir` and returns it:
/// - `kafka-pubsub`: the devstack overlay's component, with `test-subscriber`
///   added to its scopes (a later directory replaces a component by name);
/// - one `dapr.io/v2alpha1` Subscription per topic, scoped to
///   `test-subscriber`;
/// - a Resiliency for `test-subscriber` retrying deliveries every 200 ms
///   without limit (a subscriber that is down gets everything later);
/// - optionally `outbox-sweep` (the k8s component) with another schedule.
pub fn write_subscriber_resources(dir: &Path, overlay: &Overlay) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let root = repo_root();

    let mut pubsub = read_yaml(&root.join("devstack/components/kafka-pubsub.yaml"));
    let scopes = pubsub
        .get_mut("scopes")
        .and_then(|s| s.as_sequence_mut())
        .expect("the kafka-pubsub overlay has scopes");
    scopes.push(serde_yaml::Value::String(SUBSCRIBER.into()));
    write_yaml(&dir.join("kafka-pubsub.yaml"), &pubsub);

    let mut subs = String::new();
    for (topic, route) in [
        ("task-events", ROUTE_TASK_EVENTS),
        ("reminders", ROUTE_REMINDERS),
        ("task-updates", ROUTE_TASK_UPDATES),
    ] {
        subs.push_str(&format!(
            "---\napiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: test-subscriber-{topic}\nspec:\n  pubsubname: {PUBSUB}\n  topic: {topic}\n  routes:\n    default: {route}\nscopes:\n  - {SUBSCRIBER}\n"
        ));
    }
    subs.push_str(&format!(
        "---\napiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: test-subscriber-resiliency\nspec:\n  policies:\n    retries:\n      quick:\n        policy: constant\n        duration: 200ms\n        maxRetries: -1\n  targets:\n    components:\n      {PUBSUB}:\n        inbound:\n          retry: quick\nscopes:\n  - {SUBSCRIBER}\n"
    ));
    std::fs::write(dir.join("test-subscriber.yaml"), subs).unwrap();

    if let Some(schedule) = &overlay.sweep_schedule {
        let mut sweep = read_yaml(&root.join("k8s/dapr/components/outbox-sweep.yaml"));
        let items = sweep["spec"]["metadata"]
            .as_sequence_mut()
            .expect("outbox-sweep has metadata");
        let item = items
            .iter_mut()
            .find(|m| m["name"].as_str() == Some("schedule"))
            .expect("outbox-sweep has a schedule");
        item["value"] = serde_yaml::Value::String(schedule.clone());
        write_yaml(&dir.join("outbox-sweep.yaml"), &sweep);
    }
    dir.to_path_buf()
}

fn read_yaml(path: &Path) -> serde_yaml::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write_yaml(path: &Path, value: &serde_yaml::Value) {
    std::fs::write(path, serde_yaml::to_string(value).unwrap()).unwrap();
}

// ---------------------------------------------------------------------------
// The recording subscriber

/// One request the subscriber received.
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

/// A tiny HTTP app that records every request and answers 200
/// `{"status":"SUCCESS"}`.
#[derive(Clone)]
pub struct Subscriber {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    server: Arc<tokio::task::JoinHandle<()>>,
}

impl Subscriber {
    pub async fn start() -> Subscriber {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let recorded = requests.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let recorded = recorded.clone();
                        async move { Ok::<_, Infallible>(answer(&recorded, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Subscriber {
            addr,
            requests,
            server: Arc::new(server),
        }
    }

    /// Stops accepting connections.
    pub fn stop(&self) {
        self.server.abort();
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

async fn answer(requests: &Mutex<Vec<Recorded>>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    requests.lock().unwrap().push(Recorded {
        method: parts.method,
        path: parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        headers: parts.headers,
        body,
        at_ms: chrono::Utc::now().timestamp_millis(),
    });
    let mut resp = Response::new(Full::new(Bytes::from_static(br#"{"status":"SUCCESS"}"#)));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    resp
}

/// Polls `f` until it returns `Some`, or panics after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(what, WAIT, f).await
}

// ---------------------------------------------------------------------------
// The stack

/// A running system: task-api (hosted), the test subscriber (external), their
/// sidecars, the gateway.
pub struct Env {
    pub stack: Stack,
    pub gateway: SocketAddr,
    pub secrets: DevSecrets,
    pub subscriber: Subscriber,
    /// task-api's own listener and sidecar.
    pub task_api: AppEndpoints,
    /// The test subscriber's sidecar (and address).
    pub subscriber_endpoints: AppEndpoints,
    /// The separate app host in [`Hosting::sidecars_only`] mode.
    _apps_host: Option<devstack::host::Host>,
    _dir: TempDir,
}

impl Env {
    pub async fn start() -> Env {
        Self::start_with(Overlay::default()).await
    }

    pub async fn start_with(overlay: Overlay) -> Env {
        Self::start_hosting(overlay, Hosting::default()).await
    }

    pub async fn start_hosting(overlay: Overlay, hosting: Hosting) -> Env {
        let dir = TempDir::new("stack");
        let secrets = DevSecrets::load_or_create(&dir.path().join("secrets.json")).unwrap();
        let manifest = {
            let dir = dir.path().to_path_buf();
            tokio::task::spawn_blocking(move || manifest_in(&dir))
                .await
                .unwrap()
        };
        edit_task_api(&manifest, &hosting);
        let resources = write_subscriber_resources(&dir.path().join("resources"), &overlay);
        let subscriber = Subscriber::start().await;

        let root = repo_root();
        let mut options = StackOptions::for_repo(&root, secrets.clone());
        options.manifest = manifest;
        options.resource_dirs.push(resources);
        options.store = hosting.file_store.then(|| dir.path().join("devstack.db"));
        options.smtp_port = hosting.smtp_port;
        options.gateway = SocketAddr::from(([127, 0, 0, 1], 0));
        let more_apps = hosting.more_apps.iter().cloned();
        let hosted: Vec<String> = std::iter::once("task-api".to_string())
            .chain(more_apps)
            .collect();
        options.external_apps = BTreeMap::from([(SUBSCRIBER.to_string(), subscriber.addr)]);
        let mut apps_host = None;
        if hosting.sidecars_only {
            options.apps = Some(Vec::new());
            let manifest = options.manifest.clone();
            apps_host = Some(serve_apps_separately(&manifest, &hosted, &mut options).await);
        } else {
            options.apps = Some(hosted);
        }
        // The first start compiles task-api (then Wasmtime's cache has it):
        // let one test do that while the others wait, instead of all
        // compiling it at once on two cores.
        static COMPILED: tokio::sync::Mutex<bool> = tokio::sync::Mutex::const_new(false);
        let mut compiled = COMPILED.lock().await;
        let stack = if *compiled {
            drop(compiled);
            Stack::start(options).await
        } else {
            let stack = Stack::start(options).await;
            *compiled = stack.is_ok();
            stack
        }
        .expect("the stack starts");
        let gateway = stack.gateway.expect("a gateway");
        let task_api = stack.apps["task-api"];
        let subscriber_endpoints = stack.apps[SUBSCRIBER];
        assert_eq!(subscriber_endpoints.app, subscriber.addr);
        Env {
            stack,
            gateway,
            secrets,
            subscriber,
            task_api,
            subscriber_endpoints,
            _apps_host: apps_host,
            _dir: dir,
        }
    }

    /// A client of the public API (through the gateway) as `user`.
    pub fn api(&self, user: &str) -> Api {
        Api::new(self.gateway, Some(self.secrets.token_for(user, 3600)))
    }

    /// A client of the public API without a token.
    pub fn anonymous(&self) -> Api {
        Api::new(self.gateway, None)
    }

    /// A raw client of `addr` (e.g. task-api's own listener or a sidecar).
    pub fn raw(&self, addr: SocketAddr) -> Api {
        Api::new(addr, None)
    }

    pub async fn shutdown(self) {
        self.subscriber.stop();
        tokio::time::timeout(Duration::from_secs(30), self.stack.shutdown())
            .await
            .expect("the stack stops");
    }
}

/// A unique user id (so tests never see each other's data).
pub fn unique_user(name: &str) -> String {
    format!(
        "{name}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

// ---------------------------------------------------------------------------
// HTTP client

/// An HTTP response, read fully.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} answer is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with `status` and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{:?}",
            self.headers
        );
        let p = self.json();
        assert_eq!(p["status"], status, "{p}");
        assert!(p["type"].is_string() && p["title"].is_string(), "{p}");
        p
    }
}

/// A small HTTP/1.1 client for one base address, optionally presenting a
/// bearer token.
#[derive(Clone)]
pub struct Api {
    pub addr: SocketAddr,
    pub token: Option<String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Api {
    pub fn new(addr: SocketAddr, token: Option<String>) -> Api {
        Api {
            addr,
            token,
            client: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
        }
    }

    /// The same client with another token (`None`: no Authorization).
    pub fn with_token(&self, token: Option<String>) -> Api {
        Api {
            token,
            ..self.clone()
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("http://{}{}", self.addr, path));
        if let Some(token) = &self.token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::copy_from_slice(body))).unwrap();
        let resp = tokio::time::timeout(WAIT, self.client.request(req))
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no answer within {WAIT:?}"))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let (parts, body) = resp.into_parts();
        Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, &[], b"").await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call("DELETE", path, &[], b"").await
    }

    /// `method path` with a JSON body and extra headers.
    pub async fn send_json(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.call(method, path, &all, &serde_json::to_vec(body).unwrap())
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send_json("POST", path, body, &[]).await
    }

    /// A JSON Merge Patch.
    pub async fn patch(&self, path: &str, body: &Value) -> Answer {
        self.call(
            "PATCH",
            path,
            &[("content-type", "application/merge-patch+json")],
            &serde_json::to_vec(body).unwrap(),
        )
        .await
    }

    /// Creates a task; asserts 201 and returns it.
    pub async fn create(&self, body: Value) -> Value {
        let r = self.post("/api/tasks", &body).await;
        assert_eq!(r.status, 201, "create {body}: {}", r.text());
        r.json()
    }
}

/// `id` of a task JSON.
pub fn id_of(task: &Value) -> String {
    task["id"].as_str().expect("task id").to_string()
}

/// RFC 3339 (seconds, `Z`) of now + `secs`.
pub fn in_secs(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn parse_time(value: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("{value}")))
        .unwrap_or_else(|e| panic!("{value}: {e}"))
        .with_timezone(&chrono::Utc)
}
