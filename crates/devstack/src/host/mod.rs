//! Hosts the Spin components with Wasmtime, the way `spin up` does.
//!
//! [`Host::load`] reads `spin.toml`, compiles every component whose `.wasm`
//! exists exactly once (one shared engine; a `.wasm` used by several
//! components is compiled once) and pre-instantiates it. Serving is then
//! cheap and can happen on any number of listeners at once:
//!
//! - one listener per app-id (what a pod is): `serve_with(listener,
//!   ServeOptions { components: Some(vec!["task-api"]), env: {DAPR_HTTP_PORT},
//!   variables: {dapr_http_port}, .. })` — like `spin up -c task-api -e
//!   DAPR_HTTP_PORT=… --variable dapr_http_port=…`;
//! - the gateway (see [`crate::gateway`]): every component on one listener,
//!   each with its own env and variables through
//!   [`ServeOptions::per_component`].
//!
//! Variables are resolved per listener (and per component), so the same
//! compiled component can run with different `allowed_outbound_hosts` on
//! different listeners — each app-id talks to its own sidecar port.
//!
//! Each request gets a fresh instance (see [`serve`]); the time that takes
//! is recorded in the request span (`instantiate_us`) and in
//! [`Host::instantiation_stats`].
//!
//! Submodules: [`engine`] (Wasmtime config, compilation, instance state),
//! [`routes`] (routing and `spin-*` headers), [`outbound`]
//! (`allowed_outbound_hosts`), [`serve`] (the listener).

pub mod engine;
pub mod outbound;
pub mod routes;
pub mod serve;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use wasmtime::Engine;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::manifest::{Manifest, Route};
pub use engine::EngineOptions;
use engine::{InstanceConfig, InstanceState};
pub use outbound::AllowedHosts;
pub use routes::{RouteMatch, Router};

/// The compiled application: cheap to clone, shareable across listeners.
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

struct HostInner {
    engine: Engine,
    manifest: Manifest,
    /// Variable values given to [`Host::load`] (`spin up --variable`).
    variables: BTreeMap<String, String>,
    /// Component id → its pre-instantiated component.
    prepared: BTreeMap<String, Arc<Prepared>>,
    /// Component id → why it could not be prepared (missing `.wasm`, …).
    unavailable: BTreeMap<String, String>,
    stats: Arc<InstantiationStats>,
}

pub(crate) struct Prepared {
    pub(crate) pre: ProxyPre<InstanceState>,
    pub(crate) source: PathBuf,
}

/// What one listener serves. `Default` serves every component with only
/// the manifest's settings.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// The components whose routes this listener serves (`spin up -c`);
    /// `None` = all.
    pub components: Option<Vec<String>>,
    /// WASI environment for every served component, overriding the
    /// manifest's `environment` (`spin up -e KEY=VALUE`).
    pub env: BTreeMap<String, String>,
    /// Variable values for every served component, overriding those given
    /// to [`Host::load`] (`spin up --variable k=v`).
    pub variables: BTreeMap<String, String>,
    /// Per-component env and variables, applied on top of the two above.
    pub per_component: BTreeMap<String, ComponentSettings>,
    /// When set, only request paths starting with one of these prefixes are
    /// routed (others get 404), like an ingress exposing only `/api/`.
    pub expose_prefixes: Option<Vec<String>>,
    /// When set (the gateway), `GET /metrics` answers devstack's metrics
    /// ([`crate::metrics`]), with queue depths and size from this store.
    pub metrics_store: Option<crate::store::Store>,
}

/// Env and variables for one component.
#[derive(Debug, Clone, Default)]
pub struct ComponentSettings {
    /// WASI environment entries (override the manifest's).
    pub env: BTreeMap<String, String>,
    /// Variable values (override the listener's and the host's).
    pub variables: BTreeMap<String, String>,
}

impl Host {
    /// Loads `spin.toml`, compiles every component whose `.wasm` exists and
    /// pre-instantiates it. `variables` are the values given like `spin up
    /// --variable` (listeners may override them). A component whose `.wasm`
    /// is missing is reported when a listener tries to serve it.
    pub fn load(manifest_path: &Path, variables: &BTreeMap<String, String>) -> Result<Host> {
        Self::load_with(manifest_path, variables, &EngineOptions::default())
    }

    /// [`Host::load`] with explicit engine settings.
    pub fn load_with(
        manifest_path: &Path,
        variables: &BTreeMap<String, String>,
        options: &EngineOptions,
    ) -> Result<Host> {
        // Variables are resolved per listener (`serve_with`), where the
        // values a listener adds are known; parsing already checked that
        // every template names a declared variable.
        let manifest = crate::manifest::load(manifest_path)?;

        let engine = engine::build_engine(options)?;
        let mut prepared = BTreeMap::new();
        let mut unavailable = BTreeMap::new();
        let mut by_source: HashMap<PathBuf, Arc<Prepared>> = HashMap::new();
        for (id, component) in &manifest.components {
            let Some(source) = component.source_path(&manifest.base_dir) else {
                unavailable.insert(
                    id.clone(),
                    format!("component {id:?}: remote sources are not supported by devstack; use a local `source` path"),
                );
                continue;
            };
            if !source.is_file() {
                let hint = match crate::manifest::build_hint(component) {
                    Some(cmd) => format!(" — build it with `{cmd}` (or `spin build`)"),
                    None => String::new(),
                };
                unavailable.insert(
                    id.clone(),
                    format!(
                        "component {id:?}: {} does not exist{hint}",
                        source.display()
                    ),
                );
                continue;
            }
            let key = source.canonicalize().unwrap_or_else(|_| source.clone());
            if let Some(p) = by_source.get(&key) {
                prepared.insert(id.clone(), p.clone());
                continue;
            }
            let started = std::time::Instant::now();
            let pre = engine::prepare(&engine, &source)
                .map_err(|e| anyhow!("{}: component {id:?}: {e:#}", manifest.path.display()))?;
            tracing::info!(component = %id, source = %source.display(), ms = started.elapsed().as_millis() as u64, "compiled component");
            let p = Arc::new(Prepared { pre, source });
            by_source.insert(key, p.clone());
            prepared.insert(id.clone(), p);
        }

        engine::release_freed_heap();
        Ok(Host {
            inner: Arc::new(HostInner {
                engine,
                manifest,
                variables: variables.clone(),
                prepared,
                unavailable,
                stats: Arc::new(InstantiationStats::default()),
            }),
        })
    }

    /// The parsed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// The Wasmtime engine (shared by every component).
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Components that are compiled and ready.
    pub fn components(&self) -> Vec<String> {
        self.inner.prepared.keys().cloned().collect()
    }

    /// Components that could not be prepared, with the reason (e.g. the
    /// missing `.wasm` and the command that builds it).
    pub fn unavailable(&self) -> &BTreeMap<String, String> {
        &self.inner.unavailable
    }

    /// The `.wasm` file a prepared component was compiled from.
    pub fn source(&self, component: &str) -> Option<&Path> {
        self.inner
            .prepared
            .get(component)
            .map(|p| p.source.as_path())
    }

    /// Per-request instantiation timings and live-instance count across all
    /// listeners.
    pub fn instantiation_stats(&self) -> &InstantiationStats {
        &self.inner.stats
    }

    /// Serves the routes of `components` (all when `None`) on `listener`,
    /// with `extra_env` added to every component's WASI environment (like
    /// `spin up -e`). See [`Host::serve_with`].
    pub fn serve(
        &self,
        listener: TcpListener,
        components: Option<Vec<String>>,
        extra_env: BTreeMap<String, String>,
    ) -> Result<JoinHandle<()>> {
        self.serve_with(
            listener,
            ServeOptions {
                components,
                env: extra_env,
                ..ServeOptions::default()
            },
        )
    }

    /// Serves on `listener` until the returned task is aborted (which also
    /// closes open connections and stops their guests). Everything that can
    /// be checked is checked before serving starts: unknown or unbuilt
    /// components, missing required variables, invalid
    /// `allowed_outbound_hosts`. Must be called inside a tokio runtime.
    pub fn serve_with(&self, listener: TcpListener, opts: ServeOptions) -> Result<JoinHandle<()>> {
        let manifest = &self.inner.manifest;
        let selected: Vec<String> = match &opts.components {
            Some(list) => {
                for id in list {
                    manifest.component(id)?;
                }
                list.clone()
            }
            None => {
                let mut ids: Vec<String> = manifest
                    .http_triggers
                    .iter()
                    .map(|t| t.component.clone())
                    .collect();
                ids.sort();
                ids.dedup();
                ids
            }
        };
        for id in opts.per_component.keys() {
            if !selected.contains(id) {
                bail!("per-component settings for {id:?}, which this listener does not serve");
            }
        }

        let mut configs = HashMap::new();
        for id in &selected {
            if let Some(why) = self.inner.unavailable.get(id) {
                bail!("{}: {why}", manifest.path.display());
            }
            let component = manifest.component(id)?;
            let unsupported = crate::manifest::unsupported_features(component);
            if !unsupported.is_empty() {
                tracing::warn!(component = %id, "devstack does not provide: {}", unsupported.join(", "));
            }
            let own = opts.per_component.get(id).cloned().unwrap_or_default();
            let mut values = self.inner.variables.clone();
            values.extend(opts.variables.clone());
            values.extend(own.variables);
            let resolved = crate::manifest::resolve_variables(manifest, &values)?;
            let hosts = crate::manifest::resolved_allowed_outbound_hosts(manifest, id, &resolved)?;
            let allowed = outbound::allowed_hosts_for(id, &hosts)?;
            let mut env = opts.env.clone();
            env.extend(own.env);
            configs.insert(
                id.clone(),
                Arc::new(InstanceConfig::new(
                    id,
                    &component.environment,
                    &env,
                    allowed,
                )),
            );
        }

        // A gateway restricted to public paths leaves Dapr-only routes out.
        let triggers =
            manifest
                .http_triggers
                .iter()
                .filter(|t| match (&opts.expose_prefixes, &t.route) {
                    (Some(entries), crate::manifest::Route::Path(raw)) => {
                        crate::gateway::may_expose(raw, entries)
                    }
                    _ => true,
                });
        let router = Router::build(triggers, Some(&selected))?;
        let local_addr = listener.local_addr()?;
        if router.is_empty() {
            tracing::warn!(addr = %local_addr, "no public routes to serve for {selected:?}");
        }
        tracing::info!("Serving http://{local_addr}");
        for (route, component) in router.routes() {
            let shown = match route.strip_suffix("/...") {
                Some(prefix) => format!("{prefix} (wildcard)"),
                None => route.clone(),
            };
            tracing::info!("  {component}: http://{local_addr}{shown}");
        }
        for t in &manifest.http_triggers {
            if t.route == Route::Private && selected.contains(&t.component) {
                tracing::debug!(component = %t.component, "private route (service chaining only) not exposed");
            }
        }

        let server = Arc::new(serve::Server {
            host: self.clone(),
            router,
            configs,
            local_addr,
            expose_prefixes: opts.expose_prefixes,
            metrics_store: opts.metrics_store,
        });
        Ok(tokio::spawn(server.run(listener)))
    }

    pub(crate) fn prepared(&self, component: &str) -> Result<Arc<Prepared>> {
        self.inner
            .prepared
            .get(component)
            .cloned()
            .ok_or_else(|| anyhow!("component {component:?} is not prepared"))
    }
}

/// Per-request instantiation times (store creation + `instantiate_async`),
/// for benchmarks and diagnostics. Keeps every sample up to a bound, then a
/// running summary only.
#[derive(Debug, Default)]
pub struct InstantiationStats {
    inner: Mutex<StatsInner>,
    live: std::sync::atomic::AtomicI64,
}

#[derive(Debug, Default)]
struct StatsInner {
    count: u64,
    total: Duration,
    max: Duration,
    samples: Vec<Duration>,
}

const MAX_SAMPLES: usize = 100_000;

/// A summary of [`InstantiationStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstantiationSummary {
    /// Instances created.
    pub count: u64,
    /// Mean time.
    pub mean: Duration,
    /// Median of the kept samples.
    pub p50: Duration,
    /// 99th percentile of the kept samples.
    pub p99: Duration,
    /// Slowest.
    pub max: Duration,
}

impl InstantiationStats {
    pub(crate) fn record(&self, d: Duration) {
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        s.count += 1;
        s.total += d;
        s.max = s.max.max(d);
        if s.samples.len() < MAX_SAMPLES {
            s.samples.push(d);
        }
    }

    /// Count, mean, p50, p99 and max so far.
    pub fn summary(&self) -> InstantiationSummary {
        let s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if s.count == 0 {
            return InstantiationSummary::default();
        }
        let mut sorted = s.samples.clone();
        sorted.sort();
        let pct = |p: f64| {
            let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
            sorted.get(i).copied().unwrap_or_default()
        };
        InstantiationSummary {
            count: s.count,
            mean: Duration::from_nanos((s.total.as_nanos() / u128::from(s.count)) as u64),
            p50: pct(0.50),
            p99: pct(0.99),
            max: s.max,
        }
    }

    /// Instances alive right now (requests in flight, including streams).
    pub fn live_instances(&self) -> u64 {
        self.live.load(std::sync::atomic::Ordering::SeqCst).max(0) as u64
    }

    pub(crate) fn live_add(&self, n: i64) {
        self.live.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Forgets all samples (e.g. after a warm-up).
    pub fn reset(&self) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = StatsInner::default();
    }
}
