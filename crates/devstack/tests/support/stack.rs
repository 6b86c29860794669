//! A whole devstack in the test process ([`Env`]): the gateway, the hosted
//! components (task-api, plus whichever a test asks for), their sidecars
//! and the store, with the [`RecordingApp`] registered as the external
//! app-id `test-subscriber`. Its declarative Subscriptions (to
//! `task-events`, `reminders`, `task-updates`) live in a resource directory
//! written per test, layered after `k8s/dapr` and `devstack/components`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use devstack::local_secrets::DevSecrets;
use devstack::stack::{AppEndpoints, Stack, StackOptions};
use devstack::store::Store;
use serde_json::Value;
use tokio::net::TcpListener;

use super::{component_wasm, manifest_in, repo_root, Api, RecordingApp, TempDir};

/// The app-id of the recording subscriber.
pub const SUBSCRIBER: &str = "test-subscriber";
/// The pub/sub component task-api publishes to.
pub const PUBSUB: &str = "kafka-pubsub";
/// Where the test subscriber receives each topic.
pub const ROUTE_TASK_EVENTS: &str = "/events/test/task-events";
pub const ROUTE_REMINDERS: &str = "/events/test/reminders";
pub const ROUTE_TASK_UPDATES: &str = "/events/test/task-updates";

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
    /// the apps are served by a separate host on ports announced up
    /// front, each told its fixed sidecar port — the wiring `spin up -e
    /// DAPR_HTTP_PORT=… --variable dapr_http_port=…` gets.
    pub sidecars_only: bool,
    /// Added to task-api's `environment` in the test's copy of `spin.toml`.
    pub task_api_env: BTreeMap<String, String>,
    /// Added to task-api's `allowed_outbound_hosts` in that copy.
    pub task_api_outbound: Vec<String>,
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

/// A running system: task-api (hosted), the test subscriber (external), their
/// sidecars, the gateway.
pub struct Env {
    pub stack: Stack,
    pub gateway: SocketAddr,
    pub secrets: DevSecrets,
    /// The recording app behind the app-id `test-subscriber`.
    pub subscriber: RecordingApp,
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
        for app in &hosting.more_apps {
            component_wasm(app);
        }
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
        let subscriber = RecordingApp::start().await;

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

    /// The stack's store.
    pub fn store(&self) -> &Store {
        &self.stack.store
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

    /// A raw client of the sidecar of `app_id`.
    pub fn sidecar(&self, app_id: &str) -> Api {
        self.raw(self.stack.apps[app_id].sidecar)
    }

    pub async fn shutdown(self) {
        self.subscriber.stop();
        tokio::time::timeout(Duration::from_secs(30), self.stack.shutdown())
            .await
            .expect("the stack stops");
    }
}

/// A stack hosting task-api and the event consumers `apps` (audit,
/// recurrence, notify, sync-relay…) besides the test subscriber, with the
/// store in a file (see [`attempts`](super::attempts),
/// [`StoreOutage`](super::StoreOutage)). The `apps`' `.wasm` must be built.
pub async fn start(apps: &[&str]) -> Env {
    start_consumers(apps, None).await
}

/// [`start`], with the `email` SMTP binding sending to `smtp_port`.
pub async fn start_with_smtp(apps: &[&str], smtp_port: u16) -> Env {
    start_consumers(apps, Some(smtp_port)).await
}

async fn start_consumers(apps: &[&str], smtp_port: Option<u16>) -> Env {
    Env::start_hosting(
        Overlay::default(),
        Hosting {
            more_apps: apps.iter().map(|a| a.to_string()).collect(),
            file_store: true,
            smtp_port,
            ..Hosting::default()
        },
    )
    .await
}

/// Publishes `body` to `task-events` through the test subscriber's sidecar,
/// with `user` as partition key (so it is ordered with that user's events).
/// `raw`: `metadata.rawPayload=true`, the bytes reach consumers untouched;
/// otherwise the body is sent as a CloudEvent (`id` kept).
pub async fn publish(env: &Env, user: &str, body: &[u8], raw: bool) {
    publish_to(env, "task-events", user, body, raw).await
}

/// [`publish`] to any `topic`.
pub async fn publish_to(env: &Env, topic: &str, user: &str, body: &[u8], raw: bool) {
    let mut path = format!("/v1.0/publish/{PUBSUB}/{topic}?metadata.partitionKey={user}");
    let content_type = if raw {
        path.push_str("&metadata.rawPayload=true");
        "application/octet-stream"
    } else {
        "application/cloudevents+json"
    };
    let r = env
        .raw(env.subscriber_endpoints.sidecar)
        .call("POST", &path, &[("content-type", content_type)], body)
        .await;
    assert_eq!(r.status, 204, "publish: {}", r.text());
}

/// The task events task-api published for `user`, as delivered (envelopes).
pub async fn task_events_of(env: &Env, user: &str, n: usize) -> Vec<Value> {
    env.subscriber
        .wait_events(ROUTE_TASK_EVENTS, user, n)
        .await
        .iter()
        .map(|r| r.json())
        .collect()
}
