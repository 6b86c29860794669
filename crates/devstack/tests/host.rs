//! The Wasm host against real components: a small fixture
//! (`tests/fixtures/echo`, built here for wasm32-wasip2) that echoes what it
//! is given, streams, and makes outbound requests; and the real task-api.
//!
//! What is checked is what a component can observe under `spin up`:
//! routing, the `spin-*` headers, WASI env, streaming, one instance per
//! request, `allowed_outbound_hosts`.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use devstack::gateway::hosted::{self, GatewayOptions};
use devstack::host::{ComponentSettings, Host, ServeOptions};
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use support::*;
use tokio::net::TcpListener;

fn fixture_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/echo");
        let target = target_dir().join("devstack-fixtures");
        build_wasm(&dir.join("Cargo.toml"), None, &target);
        target.join("wasm32-wasip2/release/devstack_echo_fixture.wasm")
    })
}

const FIXTURE_MANIFEST: &str = r#"
spin_manifest_version = 2

[application]
name = "host-test"
version = "1.2.3"

[variables]
target_port = { required = true }

[[trigger.http]]
route = "/exact"
component = "exact"

[[trigger.http]]
route = "/wild/..."
component = "wild"

[[trigger.http]]
route = "/wild/deeper/..."
component = "deeper"

[[trigger.http]]
route = "/wild/deeper/exact"
component = "exact"

[[trigger.http]]
route = "/users/:id/..."
component = "wild"

[[trigger.http]]
route = { private = true }
component = "hidden"

[[trigger.http]]
route = "/stream"
component = "wild"

[[trigger.http]]
route = "/out"
component = "outbound"

[component.exact]
source = "SOURCE"
environment = { WHO = "exact", SHARED = "manifest" }

[component.wild]
source = "SOURCE"
environment = { WHO = "wild" }

[component.deeper]
source = "SOURCE"
environment = { WHO = "deeper" }

[component.hidden]
source = "SOURCE"

[component.outbound]
source = "SOURCE"
allowed_outbound_hosts = ["http://127.0.0.1:{{ target_port }}"]

[component.unbuilt]
source = "does/not/exist.wasm"
[component.unbuilt.build]
command = "cargo build --target wasm32-wasip2 --release -p unbuilt"
"#;

/// One host for the fixture app, shared by every test (compiled once).
fn fixture_host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let wasm = fixture_wasm();
        let dir = scratch_dir("fixture");
        let manifest = dir.join("spin.toml");
        std::fs::write(
            &manifest,
            FIXTURE_MANIFEST.replace("SOURCE", &wasm.display().to_string()),
        )
        .unwrap();
        let vars = BTreeMap::from([("target_port".to_string(), "1".to_string())]);
        Host::load(&manifest, &vars).expect("load fixture app")
    })
}

async fn listen() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

async fn serve(opts: ServeOptions) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let (l, addr) = listen().await;
    let task = fixture_host().serve_with(l, opts).unwrap();
    (addr, task)
}

/// `GET path` on `addr` with the harness's client.
async fn get(addr: SocketAddr, path: &str) -> (StatusCode, HeaderMap, String) {
    let answer = support::get(&format!("http://{addr}{path}")).await;
    let status = StatusCode::from_u16(answer.status).unwrap();
    (status, answer.headers.clone(), answer.text())
}

async fn echo(addr: SocketAddr, path: &str) -> Value {
    let (status, _, body) = get(addr, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_like_spin() {
    let (addr, task) = serve(ServeOptions::default()).await;

    let who = |v: &Value| v["env"]["WHO"].as_str().unwrap().to_string();
    assert_eq!(who(&echo(addr, "/exact").await), "exact");
    // A trailing wildcard also serves the bare prefix.
    let bare = echo(addr, "/wild").await;
    assert_eq!(who(&bare), "wild");
    assert_eq!(bare["headers"]["spin-path-info"], "");
    assert_eq!(who(&echo(addr, "/wild/a/b").await), "wild");
    // The longest prefix wins, and an exact route beats every wildcard.
    assert_eq!(who(&echo(addr, "/wild/deeper/x").await), "deeper");
    assert_eq!(who(&echo(addr, "/wild/deeper").await), "deeper");
    assert_eq!(who(&echo(addr, "/wild/deeper/exact").await), "exact");
    // Named segments are captured.
    let user = echo(addr, "/users/42/profile").await;
    assert_eq!(user["headers"]["spin-path-match-id"], "42");
    assert_eq!(user["headers"]["spin-path-info"], "/profile");

    // Nothing matches: 404 with an empty body; an exact route is not a prefix.
    for path in ["/", "/nothing", "/exact/more", "/exactly"] {
        let (status, _, body) = get(addr, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body, "", "{path}");
    }

    // Spin's own endpoints.
    let (status, _, body) = get(addr, "/.well-known/spin/health").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "OK"));
    let (_, _, body) = get(addr, "/.well-known/spin/info").await;
    let info: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["name"], "host-test");
    assert_eq!(info["version"], "1.2.3");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_serves_only_its_components() {
    let (addr, task) = serve(ServeOptions {
        components: Some(vec!["exact".into()]),
        ..Default::default()
    })
    .await;
    assert_eq!(echo(addr, "/exact").await["env"]["WHO"], "exact");
    assert_eq!(
        echo(addr, "/wild/deeper/exact").await["env"]["WHO"],
        "exact"
    );
    assert_eq!(get(addr, "/wild/x").await.0, StatusCode::NOT_FOUND);
    task.abort();

    // A private route is never served.
    let (addr, task) = serve(ServeOptions {
        components: Some(vec!["hidden".into()]),
        ..Default::default()
    })
    .await;
    for path in ["/", "/hidden", "/anything/else"] {
        assert_eq!(get(addr, path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sets_the_spin_headers() {
    let (addr, task) = serve(ServeOptions::default()).await;
    let v = echo(addr, "/wild/a/b?x=1&y=2").await;
    let h = &v["headers"];
    assert_eq!(
        h["spin-full-url"],
        format!("http://{addr}/wild/a/b?x=1&y=2")
    );
    assert_eq!(h["spin-path-info"], "/a/b");
    assert_eq!(h["spin-matched-route"], "/wild/...");
    assert_eq!(h["spin-base-path"], "/");
    assert_eq!(h["spin-raw-component-route"], "/wild/...");
    assert_eq!(h["spin-component-route"], "/wild");
    let client = h["spin-client-addr"].as_str().unwrap();
    assert!(client.starts_with("127.0.0.1:"), "{client}");
    assert_ne!(client, addr.to_string());
    assert_eq!(v["path_with_query"], "/wild/a/b?x=1&y=2");

    let v = echo(addr, "/exact").await;
    assert_eq!(v["headers"]["spin-matched-route"], "/exact");
    assert_eq!(v["headers"]["spin-component-route"], "/exact");
    assert_eq!(v["headers"]["spin-path-info"], "");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injects_env_with_caller_values_overriding_the_manifest() {
    let (addr, task) = serve(ServeOptions {
        env: BTreeMap::from([
            ("DAPR_HTTP_PORT".to_string(), "3999".to_string()),
            ("SHARED".to_string(), "caller".to_string()),
        ]),
        per_component: BTreeMap::from([(
            "wild".to_string(),
            ComponentSettings {
                env: BTreeMap::from([("DAPR_HTTP_PORT".to_string(), "4001".to_string())]),
                ..Default::default()
            },
        )]),
        ..Default::default()
    })
    .await;
    let env = echo(addr, "/exact").await["env"].clone();
    assert_eq!(env["WHO"], "exact");
    assert_eq!(env["SHARED"], "caller");
    assert_eq!(env["DAPR_HTTP_PORT"], "3999");
    let env = echo(addr, "/wild/x").await["env"].clone();
    assert_eq!(env["WHO"], "wild");
    assert_eq!(env["DAPR_HTTP_PORT"], "4001");
    // Nothing from the host process leaks in.
    assert!(
        env.get("PATH").is_none() && env.get("HOME").is_none(),
        "{env}"
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_gets_a_fresh_instance() {
    let (addr, task) = serve(ServeOptions::default()).await;
    let before = fixture_host().instantiation_stats().summary().count;
    for _ in 0..5 {
        assert_eq!(echo(addr, "/exact").await["counter"], 1);
    }
    let after = fixture_host().instantiation_stats().summary();
    assert!(after.count >= before + 5, "{after:?}");
    assert!(
        after.max >= after.p50 && after.p50 > Duration::ZERO,
        "{after:?}"
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_the_response_as_the_guest_writes_it() {
    let (addr, task) = serve(ServeOptions::default()).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let started = Instant::now();
    let resp = client
        .get(
            format!("http://{addr}/stream?mode=stream&chunks=3&delay_ms=700")
                .parse()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body();
    let mut arrivals = Vec::new();
    let mut text = String::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
            arrivals.push(started.elapsed());
        }
    }
    assert_eq!(text, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
    let first = arrivals[0];
    let last = *arrivals.last().unwrap();
    // The guest sleeps 700 ms after each chunk: the first arrives long
    // before the stream ends (≥ 2.1 s), i.e. nothing was buffered.
    assert!(
        first + Duration::from_millis(1000) < last,
        "first chunk at {first:?}, last at {last:?}"
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_stream_stops_when_the_client_leaves() {
    // Its own host, so the live-instance count is this test's alone.
    let dir = scratch_dir("endless");
    let manifest = dir.join("spin.toml");
    std::fs::write(
        &manifest,
        FIXTURE_MANIFEST.replace("SOURCE", &fixture_wasm().display().to_string()),
    )
    .unwrap();
    let vars = BTreeMap::from([("target_port".to_string(), "1".to_string())]);
    let host = Host::load(&manifest, &vars).unwrap();
    let (l, addr) = listen().await;
    let task = host.serve(l, None, BTreeMap::new()).unwrap();

    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let resp = client
        .get(
            format!("http://{addr}/stream?mode=stream&chunks=0&delay_ms=20")
                .parse()
                .unwrap(),
        )
        .await
        .unwrap();
    let mut body = resp.into_body();
    let mut seen = 0;
    while seen < 5 {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("a chunk within 5 s")
            .unwrap()
            .unwrap();
        if frame.is_data() {
            seen += 1;
        }
    }
    assert_eq!(host.instantiation_stats().live_instances(), 1);
    drop(body);
    drop(client);

    // The guest is stopped and its instance dropped.
    eventually_within(
        "the streaming instance to be dropped",
        Duration::from_secs(5),
        || async { (host.instantiation_stats().live_instances() == 0).then_some(()) },
    )
    .await;
    // The listener keeps serving.
    assert_eq!(echo(addr, "/exact").await["counter"], 1);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_the_request_body_into_the_guest() {
    use futures::SinkExt;
    use http_body_util::StreamBody;
    use hyper::body::Frame;

    let (addr, task) = serve(ServeOptions::default()).await;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let (mut tx, rx) =
        futures::channel::mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(1);
    let req = hyper::Request::post(format!("http://{addr}/stream?mode=duplex"))
        .header("host", addr.to_string())
        .body(StreamBody::new(rx))
        .unwrap();
    tx.send(Ok(Frame::data(Bytes::from_static(b"one"))))
        .await
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(5), sender.send_request(req))
        .await
        .expect("response head before the request body ended")
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    // Each request chunk is answered while the request is still open.
    assert_eq!(next_data(&mut body).await.as_deref(), Some("got one\n"));
    tx.send(Ok(Frame::data(Bytes::from_static(b"two"))))
        .await
        .unwrap();
    assert_eq!(next_data(&mut body).await.as_deref(), Some("got two\n"));
    drop(tx);
    assert_eq!(next_data(&mut body).await, None);
    task.abort();
}

/// The next data frame of a body as text (`None` at the end), waiting at
/// most 5 s.
async fn next_data(body: &mut hyper::body::Incoming) -> Option<String> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("a response chunk within 5 s")?;
        if let Ok(data) = frame.unwrap().into_data() {
            return Some(String::from_utf8_lossy(&data).into_owned());
        }
    }
}

/// A local HTTP server answering `hi` to everything.
async fn target_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let (addr, task, _) = counting_target_server().await;
    (addr, task)
}

/// A server answering `hi` to everything, and how many connections it accepted.
async fn counting_target_server() -> (
    SocketAddr,
    tokio::task::JoinHandle<()>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let (l, addr) = listen().await;
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = l.accept().await.unwrap();
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                        http_body_util::Full::new(Bytes::from_static(b"hi")),
                    ))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, task, accepted)
}

/// Everything logged by this test binary (a global subscriber, installed
/// on first use).
fn captured_logs() -> String {
    static LOGS: OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> = OnceLock::new();
    let logs = LOGS.get_or_init(|| {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buf
    });
    String::from_utf8_lossy(&logs.lock().unwrap()).into_owned()
}

struct LogWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_requests_only_reach_allowed_hosts() {
    captured_logs();
    let (target, target_task) = target_server().await;
    let port = target.port().to_string();
    // The allowed host is a template resolved from this listener's variables.
    let (addr, task) = serve(ServeOptions {
        variables: BTreeMap::from([("target_port".to_string(), port.clone())]),
        ..Default::default()
    })
    .await;

    let (status, _, body) = get(
        addr,
        &format!("/out?mode=outbound&url=http://127.0.0.1:{port}/hello"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, "status=200 body=hi");

    // Same server, but `localhost` is not `127.0.0.1`; another port is not
    // allowed either; and another component has no outbound permission.
    for path in [
        format!("/out?mode=outbound&url=http://localhost:{port}/hello"),
        format!(
            "/out?mode=outbound&url=http://127.0.0.1:{}/hello",
            target.port() + 1
        ),
        format!("/out?mode=outbound&url=https://127.0.0.1:{port}/hello"),
        format!("/exact?mode=outbound&url=http://127.0.0.1:{port}/hello"),
    ] {
        let (status, _, body) = get(addr, &path).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{path}: {body}");
        assert!(body.contains("HttpRequestDenied"), "{path}: {body}");
    }
    // Reported like `spin up` does.
    let logs = captured_logs();
    let expected = format!(
        "A component tried to make an outbound network connection to disallowed destination 'http://localhost:{port}'"
    );
    assert!(logs.contains(&expected), "{logs}");
    task.abort();
    target_task.abort();
}

/// Spin keeps outbound plain-HTTP connections in a pool shared by every
/// instance (spinframework/spin#3229, #3240), and so does devstack: ten
/// requests, each from a fresh instance, do not open ten connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_connections_are_reused_across_instances() {
    let (target, target_task, accepted) = counting_target_server().await;
    let port = target.port().to_string();
    let (addr, task) = serve(ServeOptions {
        variables: BTreeMap::from([("target_port".to_string(), port.clone())]),
        ..Default::default()
    })
    .await;
    const REQUESTS: usize = 10;
    for _ in 0..REQUESTS {
        let (status, _, body) = get(
            addr,
            &format!("/out?mode=outbound&url=http://127.0.0.1:{port}/hello"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, "status=200 body=hi");
    }
    let connections = accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        connections < REQUESTS,
        "{REQUESTS} outbound requests opened {connections} connections"
    );
    task.abort();
    target_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_routes_every_component_with_its_own_settings() {
    let (l, addr) = listen().await;
    let task = hosted::serve(
        fixture_host(),
        l,
        GatewayOptions {
            per_component: BTreeMap::from([
                (
                    "exact".to_string(),
                    ComponentSettings {
                        env: BTreeMap::from([("DAPR_HTTP_PORT".into(), "3501".into())]),
                        ..Default::default()
                    },
                ),
                (
                    "wild".to_string(),
                    ComponentSettings {
                        env: BTreeMap::from([("DAPR_HTTP_PORT".into(), "3502".into())]),
                        ..Default::default()
                    },
                ),
            ]),
            expose_prefixes: None,
        },
    )
    .unwrap();
    assert_eq!(echo(addr, "/exact").await["env"]["DAPR_HTTP_PORT"], "3501");
    assert_eq!(echo(addr, "/wild/x").await["env"]["DAPR_HTTP_PORT"], "3502");
    assert_eq!(echo(addr, "/wild/deeper/y").await["env"]["WHO"], "deeper");
    task.abort();

    let (l, addr) = listen().await;
    let task = hosted::serve(
        fixture_host(),
        l,
        GatewayOptions {
            per_component: BTreeMap::new(),
            expose_prefixes: Some(vec!["/wild/".into()]),
        },
    )
    .unwrap();
    assert_eq!(echo(addr, "/wild/x").await["env"]["WHO"], "wild");
    assert_eq!(get(addr, "/exact").await.0, StatusCode::NOT_FOUND);
    task.abort();
}

#[tokio::test]
async fn serving_an_unbuilt_component_names_the_file_and_the_build_command() {
    let host = fixture_host();
    assert!(host.unavailable().contains_key("unbuilt"));
    let (l, _) = listen().await;
    let err = host
        .serve(l, Some(vec!["unbuilt".into()]), BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("does/not/exist.wasm"), "{err}");
    assert!(
        err.contains("cargo build --target wasm32-wasip2 --release -p unbuilt"),
        "{err}"
    );

    let (l, _) = listen().await;
    let err = host
        .serve(l, Some(vec!["nope".into()]), BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"nope\""), "{err}");

    // A required variable with no value is refused up front.
    let dir = scratch_dir("required");
    let manifest = dir.join("spin.toml");
    std::fs::write(
        &manifest,
        FIXTURE_MANIFEST.replace("SOURCE", &fixture_wasm().display().to_string()),
    )
    .unwrap();
    let host = Host::load(&manifest, &BTreeMap::new()).unwrap();
    let (l, _) = listen().await;
    let err = host
        .serve(l, Some(vec!["exact".into()]), BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("target_port"), "{err}");
}

/// A copy of `spin.toml` whose task-api source is [`task_api_wasm`] (the
/// other components' relative sources lead nowhere from the copy, so this
/// host loads task-api alone).
fn task_api_manifest() -> PathBuf {
    let spin_toml = std::fs::read_to_string(repo_root().join("spin.toml")).unwrap();
    let manifest = scratch_dir("task-api").join("spin.toml");
    std::fs::write(
        &manifest,
        spin_toml.replace(TASK_API_SOURCE, &task_api_wasm().display().to_string()),
    )
    .unwrap();
    manifest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_real_task_api_openapi_document() {
    let manifest = tokio::task::spawn_blocking(task_api_manifest)
        .await
        .unwrap();
    let host = Host::load(&manifest, &BTreeMap::new()).unwrap();
    let (l, addr) = listen().await;
    let task = host
        .serve(
            l,
            Some(vec!["task-api".into()]),
            BTreeMap::from([("DAPR_HTTP_PORT".to_string(), "3500".to_string())]),
        )
        .unwrap();
    let (status, headers, body) = get(addr, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .contains("application/json"),
        "{headers:?}"
    );
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    assert!(doc["paths"]["/api/tasks"].is_object(), "{doc}");
    // Routes task-api does not own stay 404 on its listener.
    assert_eq!(get(addr, "/api/audit").await.0, StatusCode::NOT_FOUND);

    host.instantiation_stats().reset();
    for _ in 0..20 {
        assert_eq!(get(addr, "/api/openapi.json").await.0, StatusCode::OK);
    }
    let s = host.instantiation_stats().summary();
    assert_eq!(s.count, 20);
    eprintln!(
        "task-api instantiation: p50 {:?}, p99 {:?}, max {:?}",
        s.p50, s.p99, s.max
    );
    task.abort();
}
