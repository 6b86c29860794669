//! Wires a whole system together, the way a cluster does: per app-id one
//! "pod" (a listener serving that component, on its own port) with its own
//! sidecar, all sidecars sharing one store (Kafka + PostgreSQL + Scheduler in
//! production), and a gateway in front (the ingress).
//!
//! Every port is bound before anything starts, so each component is told its
//! sidecar's port (`DAPR_HTTP_PORT`, and `dapr_http_port` for
//! `allowed_outbound_hosts`) exactly as `spin up -e … --variable …` would.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{self, Resources};
use crate::gateway;
use crate::host::{ComponentSettings, Host, ServeOptions};
use crate::local_secrets::DevSecrets;
use crate::log_retention;
use crate::sidecar::{self, Peer, SidecarOptions};
use crate::store::Store;

/// Paths the gateway routes, like the production Ingress (plus health
/// checks, handy locally): an allow-list of prefixes, and exact paths
/// written `=<path>` (see [`gateway::is_exposed`]). The web UI needs exactly
/// `/` and the prefix `/assets/`; a bare `/` prefix would expose everything.
/// `/internal/…`, `/events/…` and `/job/…` stay reachable only through Dapr.
pub const PUBLIC_PREFIXES: &[&str] = &["/api/", "/healthz/", "/assets/", "=/"];

/// What to run and where.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// `spin.toml`.
    pub manifest: PathBuf,
    /// Directories of Dapr resources, later ones overriding earlier ones by
    /// name (`k8s/dapr`, then the `devstack/components` overlay).
    pub resource_dirs: Vec<PathBuf>,
    /// The SQLite file; `None` keeps everything in memory.
    pub store: Option<PathBuf>,
    /// Secrets served by every `secretstores.local.file` component.
    pub secrets: DevSecrets,
    /// The gateway address (port 0: any free port).
    pub gateway: SocketAddr,
    /// Where app and sidecar listeners bind (ports are picked freely).
    pub bind_ip: IpAddr,
    /// The app-ids hosted here (each is the component of the same name);
    /// `None`: every component in the manifest.
    pub apps: Option<Vec<String>>,
    /// Apps served elsewhere that still get a sidecar here (app-id → where
    /// the app listens): `spin up` processes, or a test's subscriber.
    pub external_apps: BTreeMap<String, SocketAddr>,
    /// Fixed sidecar ports by app-id (where `spin up -e DAPR_HTTP_PORT=…`
    /// points); other sidecars get a free port.
    pub sidecar_ports: BTreeMap<String, u16>,
    /// `DAPR_API_TOKEN`: sidecars require it, components are given it.
    pub api_token: Option<String>,
    /// Overrides the `email` binding's SMTP port.
    pub smtp_port: Option<u16>,
}

impl StackOptions {
    /// Defaults relative to the repository root `root`: its `spin.toml`,
    /// `k8s/dapr`, `k8s/kafka`, `k8s/apps` (for each app's `dapr.io/config`) +
    /// `devstack/components`, an in-memory store, the gateway on
    /// 127.0.0.1:3000.
    pub fn for_repo(root: &std::path::Path, secrets: DevSecrets) -> StackOptions {
        StackOptions {
            manifest: root.join("spin.toml"),
            resource_dirs: vec![
                root.join("k8s/dapr"),
                root.join("k8s/kafka"),
                root.join("k8s/apps"),
                root.join("devstack/components"),
            ],
            store: None,
            secrets,
            gateway: SocketAddr::from(([127, 0, 0, 1], 3000)),
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            apps: None,
            external_apps: BTreeMap::new(),
            sidecar_ports: BTreeMap::new(),
            api_token: None,
            smtp_port: None,
        }
    }
}

/// Where one app-id's pair of listeners is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppEndpoints {
    /// The app itself (what its sidecar calls).
    pub app: SocketAddr,
    /// Its Dapr sidecar (what the app calls).
    pub sidecar: SocketAddr,
}

/// A running system.
pub struct Stack {
    pub gateway: Option<SocketAddr>,
    pub apps: BTreeMap<String, AppEndpoints>,
    pub store: Store,
    pub host: Option<Host>,
    shutdown: watch::Sender<bool>,
    background: Vec<JoinHandle<()>>,
    listeners: Vec<JoinHandle<()>>,
}

impl Stack {
    /// Starts everything; returns once every listener accepts connections.
    pub async fn start(options: StackOptions) -> Result<Stack> {
        if let Some(url) = crate::traces::otlp::endpoint_from_env() {
            crate::traces::otlp::start(url);
        }
        let resources = Arc::new(load_resources(&options)?);
        let store = Store::open(options.store.as_deref())?;
        let host = if options.apps.as_ref().is_some_and(|apps| apps.is_empty()) {
            None
        } else {
            Some(Host::load(&options.manifest, &BTreeMap::new())?)
        };
        let hosted: Vec<String> = match (&options.apps, &host) {
            (Some(apps), _) => apps.clone(),
            (None, Some(host)) => host.manifest().components.keys().cloned().collect(),
            (None, None) => Vec::new(),
        };
        if let Some(clash) = hosted
            .iter()
            .find(|a| options.external_apps.contains_key(*a))
        {
            bail!("app-id {clash} is both hosted here and external");
        }

        // Bind everything first: every port must be known before anything runs.
        let mut sidecar_listeners = BTreeMap::new();
        let mut app_listeners = BTreeMap::new();
        let mut apps = BTreeMap::new();
        for app_id in hosted.iter().chain(options.external_apps.keys()) {
            let sidecar_port = options.sidecar_ports.get(app_id).copied().unwrap_or(0);
            let sidecar = bind(options.bind_ip, sidecar_port).await?;
            let app_addr = match options.external_apps.get(app_id) {
                Some(addr) => *addr,
                None => {
                    let listener = bind(options.bind_ip, 0).await?;
                    let addr = listener.local_addr()?;
                    app_listeners.insert(app_id.clone(), listener);
                    addr
                }
            };
            apps.insert(
                app_id.clone(),
                AppEndpoints {
                    app: app_addr,
                    sidecar: sidecar.local_addr()?,
                },
            );
            sidecar_listeners.insert(app_id.clone(), sidecar);
        }

        let (shutdown, shutdown_rx) = watch::channel(false);
        let app_token = Some(options.secrets.app_token.clone());
        let peers: HashMap<String, Peer> = apps
            .iter()
            .map(|(id, ep)| {
                let peer = Peer {
                    addr: ep.app,
                    app_token: app_token.clone(),
                };
                (id.clone(), peer)
            })
            .collect();
        let mut background = vec![log_retention::start(
            store.clone(),
            log_retention::retention(options.store.is_some()),
            shutdown_rx.clone(),
        )];
        for (app_id, listener) in sidecar_listeners {
            background.push(sidecar::start(SidecarOptions {
                app_id: app_id.clone(),
                listener,
                app_addr: apps[&app_id].app,
                store: store.clone(),
                resources: resources.clone(),
                api_token: options.api_token.clone(),
                app_token: app_token.clone(),
                peers: peers.clone(),
                shutdown: shutdown_rx.clone(),
            }));
        }

        let mut listeners = Vec::new();
        let mut gateway_addr = None;
        if let Some(host) = &host {
            let settings: BTreeMap<String, ComponentSettings> = hosted
                .iter()
                .map(|id| (id.clone(), component_settings(apps[id].sidecar, &options)))
                .collect();
            for (app_id, listener) in app_listeners {
                let serve = ServeOptions {
                    components: Some(vec![app_id.clone()]),
                    // Only this app's settings: the host refuses settings
                    // for components a listener does not serve.
                    per_component: settings
                        .iter()
                        .filter(|(id, _)| **id == app_id)
                        .map(|(id, s)| (id.clone(), s.clone()))
                        .collect(),
                    ..ServeOptions::default()
                };
                listeners.push(
                    host.serve_with(listener, serve)
                        .with_context(|| format!("cannot serve app {app_id}"))?,
                );
            }
            let listener = gateway::bind(options.gateway).await?;
            gateway_addr = Some(listener.local_addr()?);
            // Only the hosted apps' routes, like an ingress in front of the
            // pods that exist: with `--app`, other components need not be built.
            listeners.push(host.serve_with(
                listener,
                ServeOptions {
                    components: Some(hosted.clone()),
                    per_component: settings,
                    expose_prefixes: Some(public_prefixes()),
                    metrics_store: Some(store.clone()),
                    ..ServeOptions::default()
                },
            )?);
        } else if options.manifest.exists() && !options.external_apps.is_empty() {
            // Sidecars-only: the apps run elsewhere (`spin up`); the gateway
            // forwards to them by the same routes.
            let manifest = crate::manifest::load(&options.manifest)?;
            let listener = gateway::bind(options.gateway).await?;
            gateway_addr = Some(listener.local_addr()?);
            listeners.push(gateway::proxy::serve(
                &manifest,
                listener,
                options.external_apps.clone(),
                public_prefixes(),
                Some(store.clone()),
            )?);
        }

        Ok(Stack {
            gateway: gateway_addr,
            apps,
            store,
            host,
            shutdown,
            background,
            listeners,
        })
    }

    /// Stops accepting, lets in-flight deliveries and jobs record their
    /// outcome, then returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for listener in &self.listeners {
            listener.abort();
        }
        for task in self.background {
            let _ = task.await;
        }
        if let Ok((bytes, free)) = self.store.footprint().await {
            tracing::info!(
                store_mib = %format!("{:.1}", bytes as f64 / 1048576.0),
                free_mib = %format!("{:.1}", free as f64 / 1048576.0),
                "store size at shutdown"
            );
        }
    }
}

/// The env and variables one component gets: its sidecar's port (both as
/// `DAPR_HTTP_PORT` and as the `dapr_http_port` variable that
/// `allowed_outbound_hosts` is templated with) and the API token.
fn component_settings(sidecar: SocketAddr, options: &StackOptions) -> ComponentSettings {
    let port = sidecar.port().to_string();
    let mut env = BTreeMap::from([("DAPR_HTTP_PORT".to_string(), port.clone())]);
    if let Some(token) = &options.api_token {
        env.insert("DAPR_API_TOKEN".into(), token.clone());
    }
    ComponentSettings {
        env,
        variables: BTreeMap::from([("dapr_http_port".to_string(), port)]),
    }
}

fn load_resources(options: &StackOptions) -> Result<Resources> {
    let mut resources = config::load(&options.resource_dirs)?;
    resources.check_app_configs()?;
    let secret_stores: Vec<String> = resources
        .components
        .iter()
        .filter(|c| c.kind == "secretstores.local.file")
        .map(|c| c.name.clone())
        .collect();
    let secrets_file = options.secrets.path.display().to_string();
    for name in secret_stores {
        resources.set_component_metadata(&name, "secretsFile", &secrets_file);
    }
    if let Some(port) = options.smtp_port {
        resources.set_component_metadata("email", "port", &port.to_string());
    }
    Ok(resources)
}

async fn bind(ip: IpAddr, port: u16) -> Result<TcpListener> {
    TcpListener::bind(SocketAddr::new(ip, port))
        .await
        .with_context(|| format!("cannot listen on {ip}:{port}"))
}

fn public_prefixes() -> Vec<String> {
    PUBLIC_PREFIXES.iter().map(|p| p.to_string()).collect()
}
