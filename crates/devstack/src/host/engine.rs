//! The Wasmtime engine, compiled components and per-instance state.
//!
//! Configured like Spin's (`spinframework/spin`: `crates/core/src/lib.rs`):
//! the component model, async calls, the pooling instance allocator (with a
//! fallback to on-demand allocation where the address space is too small),
//! epoch interruption with a 10 ms ticker so a busy guest yields to the
//! tokio runtime, and Wasmtime's compilation cache so a restart does not
//! recompile unchanged components.
//!
//! Each component is compiled once and pre-instantiated into a
//! [`ProxyPre`]; serving a request only creates a fresh [`Store`] and
//! instance from it, the cheap path Spin takes (one instance per request).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::outbound::{AllowedHosts, OutboundHooks};
use super::InstantiationStats;

/// How often the epoch advances; a running guest yields at most this long
/// after it started running (Spin's `DEFAULT_EPOCH_TICK_INTERVAL`).
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Maximum live instances (concurrent requests) across all components;
    /// sizes the pooling allocator. Spin defaults to 1000; a development
    /// stack needs far fewer, and each slot reserves ~4 GiB of address space.
    pub max_instances: u32,
    /// Use Wasmtime's on-disk compilation cache.
    pub cache: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            max_instances: std::env::var("DEVSTACK_MAX_INSTANCES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(256),
            cache: std::env::var("DEVSTACK_WASM_CACHE")
                .map(|v| v != "0")
                .unwrap_or(true),
        }
    }
}

/// Builds the engine (pooling allocator when possible) and starts the epoch
/// ticker thread, which stops when the engine is dropped.
pub(crate) fn build_engine(opts: &EngineOptions) -> Result<Engine> {
    let mut config = base_config(opts);
    let n = opts.max_instances.max(1);
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_component_instances(n)
        .total_memories(n)
        .total_tables(2 * n)
        .total_stacks(n)
        .total_core_instances(4 * n)
        .table_elements(100_000)
        .max_component_instance_size(10 << 20)
        .max_core_instance_size(10 << 20)
        .max_core_instances_per_component(200)
        .max_tables_per_component(64)
        .max_memories_per_component(32)
        .max_tables_per_module(2)
        .max_memories_per_module(2)
        .max_memory_size(4 << 30)
        // Memory (measured: RSS after `scripts/bench`): a freed slot keeps up
        // to 2 MiB of its linear memory resident so the next instance does
        // not page-fault it in again. Without `pagemap_scan` Wasmtime keeps
        // (and memsets on every reset) the *lowest* 2 MiB, which for a Rust
        // guest is its whole 1 MiB shadow stack plus data and heap, touched
        // or not: ~1.3 MiB per slot, and a load run with every app warms
        // 100+ slots (deliveries run 16 at a time per subscription), ~130 MB.
        // With `PAGEMAP_SCAN` (Linux ≥ 6.7; elsewhere the old behaviour)
        // only the pages an instance really dirtied are reset and kept:
        // ~0.2 MiB per slot, and resets no longer memset untouched stack.
        .linear_memory_keep_resident(2 << 20)
        .pagemap_scan(Enabled::Auto)
        .table_keep_resident(1 << 19);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    let engine = match Engine::new(&config) {
        Ok(engine) => engine,
        Err(e) => {
            tracing::warn!("pooling allocator unavailable ({e:#}); using on-demand allocation");
            let mut config = base_config(opts);
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            Engine::new(&config)?
        }
    };
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("devstack-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })
        .context("cannot start the epoch ticker thread")?;
    Ok(engine)
}

fn base_config(opts: &EngineOptions) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    if opts.cache {
        match wasmtime::Cache::from_file(None) {
            Ok(cache) => {
                config.cache(Some(cache));
            }
            Err(e) => tracing::debug!("wasmtime compilation cache disabled: {e:#}"),
        }
    }
    config
}

/// Compiles a component and pre-instantiates it against the WASI + wasi:http
/// linker. Errors name the file.
pub(crate) fn prepare(engine: &Engine, path: &Path) -> Result<ProxyPre<InstanceState>> {
    let component = Component::from_file(engine, path)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot compile component {}", path.display()))?;
    let mut linker = Linker::<InstanceState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(anyhow::Error::from)
        .with_context(|| {
            format!(
                "component {} imports something neither WASI nor wasi:http provides",
                path.display()
            )
        })?;
    ProxyPre::new(pre).map_err(|e| {
        anyhow!(
            "component {} does not export wasi:http/incoming-handler: {e:#}",
            path.display()
        )
    })
}

/// Gives the heap memory freed since start-up back to the OS. Cranelift
/// compiles on several threads, and glibc keeps what each thread's arena
/// freed: without a compilation-cache hit (the first start after a
/// component was rebuilt) that is ~35 MB of RSS for the seven components,
/// held for the whole session. Called once, after every component is
/// compiled; elsewhere than glibc it does nothing.
pub(crate) fn release_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: glibc's `malloc_trim` only returns free heap pages to the
        // OS; it takes the arenas' locks and may be called from any thread.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Everything one instance (one request) owns.
pub(crate) struct InstanceState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    _live: LiveInstance,
}

/// Counts an instance as live from store creation until the store is
/// dropped (request finished, or aborted because the client left).
struct LiveInstance(Arc<InstantiationStats>);

impl LiveInstance {
    fn new(stats: Arc<InstantiationStats>) -> LiveInstance {
        stats.live_add(1);
        LiveInstance(stats)
    }
}

impl Drop for LiveInstance {
    fn drop(&mut self) {
        self.0.live_add(-1);
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// What a component instance is given, resolved once per served component.
#[derive(Debug, Clone)]
pub(crate) struct InstanceConfig {
    pub(crate) component: Arc<str>,
    /// WASI environment (manifest `environment` overlaid with the caller's).
    pub(crate) env: Vec<(String, String)>,
    pub(crate) allowed: Arc<AllowedHosts>,
}

impl InstanceConfig {
    pub(crate) fn new(
        component: &str,
        manifest_env: &BTreeMap<String, String>,
        extra_env: &BTreeMap<String, String>,
        allowed: AllowedHosts,
    ) -> InstanceConfig {
        let mut env = manifest_env.clone();
        env.extend(extra_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        InstanceConfig {
            component: component.into(),
            env: env.into_iter().collect(),
            allowed: Arc::new(allowed),
        }
    }

    /// A fresh store for one request. `self_origin` is the listener's
    /// address (for relative outbound URLs).
    pub(crate) fn new_store(
        &self,
        engine: &Engine,
        self_origin: Option<SocketAddr>,
        stats: &Arc<InstantiationStats>,
    ) -> Store<InstanceState> {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout().inherit_stderr().envs(&self.env);
        let allowed = self.allowed.clone();
        wasi.allow_tcp(true)
            .allow_udp(true)
            .allow_ip_name_lookup(true)
            .socket_addr_check(move |addr, use_| {
                let allowed = allowed.clone();
                Box::pin(async move {
                    match use_ {
                        SocketAddrUse::TcpConnect => allowed.allows_socket("tcp", &addr),
                        SocketAddrUse::UdpSend => allowed.allows_socket("udp", &addr),
                        // Implicit binds (to the wildcard address) made by a
                        // connect or send; explicit binds and listening are
                        // not allowed, as in Spin.
                        SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => {
                            addr.ip().is_unspecified() && addr.port() == 0
                        }
                        SocketAddrUse::UdpReceive => true,
                        _ => false,
                    }
                })
            });
        let state = InstanceState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks {
                component: self.component.clone(),
                allowed: self.allowed.clone(),
                self_origin,
            },
            _live: LiveInstance::new(stats.clone()),
        };
        let mut store = Store::new(engine, state);
        // Yield back to tokio on every epoch tick instead of trapping, so a
        // long-running guest shares the runtime (Spin does the same).
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        store
    }
}
