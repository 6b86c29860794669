//! devstack's Prometheus metrics, served as `GET /metrics` on the gateway
//! (OpenMetrics text, `prometheus-client`): what an operator alerts on in
//! production, measured the same way locally (architecture §9).
//!
//! - `devstack_requests_total{app,route,status}` and
//!   `devstack_request_duration_seconds{app,route}`: every Wasm request;
//! - `devstack_sidecar_requests_total{app,method,api}`: every call of an app
//!   to its sidecar's API (`api`: `state`, `publish`, `jobs`, …), as daprd's
//!   `dapr_http_server_request_count` counts them;
//! - `devstack_deliveries_total{subscription,outcome}` (`success`, `retry`,
//!   `drop`, `dead_letter`) and `devstack_dead_letters_total{subscription}`:
//!   every delivery attempt's outcome, per consumer group;
//! - `devstack_pending_deliveries{subscription,topic}`: the queue a consumer
//!   group still has to work through on a topic (read from the store at each
//!   scrape);
//! - `devstack_job_triggers_total{app,outcome}` and
//!   `devstack_job_lateness_seconds`: job callbacks and how late each was
//!   sent after its scheduled time;
//! - `devstack_store_bytes`: the SQLite store's size.
//!
//! One registry per process, like the span recorder ([`crate::traces`]).

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::Store;

type Labels = Vec<(&'static str, String)>;

/// The metrics devstack keeps.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    request_seconds: Family<Labels, Histogram>,
    sidecar_requests: Family<Labels, Counter>,
    deliveries: Family<Labels, Counter>,
    dead_letters: Family<Labels, Counter>,
    pending: Family<Labels, Gauge>,
    job_triggers: Family<Labels, Counter>,
    job_lateness: Histogram,
    store_bytes: Gauge,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

fn latency_buckets() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("devstack");
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "requests",
            "Requests served by a Wasm component",
            requests.clone(),
        );
        let request_seconds =
            Family::<Labels, Histogram>::new_with_constructor(latency_buckets as fn() -> Histogram);
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its response head",
            request_seconds.clone(),
        );
        let sidecar_requests = Family::<Labels, Counter>::default();
        registry.register(
            "sidecar_requests",
            "Calls of an app to its sidecar's API, by method and API",
            sidecar_requests.clone(),
        );
        let deliveries = Family::<Labels, Counter>::default();
        registry.register(
            "deliveries",
            "Pub/sub delivery attempts by outcome (success, retry, drop, dead_letter)",
            deliveries.clone(),
        );
        let dead_letters = Family::<Labels, Counter>::default();
        registry.register(
            "dead_letters",
            "Messages a subscription gave up on",
            dead_letters.clone(),
        );
        let pending = Family::<Labels, Gauge>::default();
        registry.register(
            "pending_deliveries",
            "Messages a consumer group has yet to finish",
            pending.clone(),
        );
        let job_triggers = Family::<Labels, Counter>::default();
        registry.register(
            "job_triggers",
            "Job callbacks by outcome (delivered, failed)",
            job_triggers.clone(),
        );
        let job_lateness = latency_buckets();
        registry.register(
            "job_lateness_seconds",
            "How long after its scheduled time a job callback was sent",
            job_lateness.clone(),
        );
        let store_bytes = Gauge::default();
        registry.register(
            "store_bytes",
            "Size of the SQLite store",
            store_bytes.clone(),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            sidecar_requests,
            deliveries,
            dead_letters,
            pending,
            job_triggers,
            job_lateness,
            store_bytes,
        }
    }

    pub fn request(&self, app: &str, route: &str, status: u16, took: Duration) {
        let labels = vec![
            ("app", app.to_string()),
            ("route", route.to_string()),
            ("status", status.to_string()),
        ];
        self.requests.get_or_create(&labels).inc();
        self.request_seconds
            .get_or_create(&vec![
                ("app", app.to_string()),
                ("route", route.to_string()),
            ])
            .observe(took.as_secs_f64());
    }

    /// `app` called its sidecar's `api` (`state`, `publish`, …) with `method`.
    pub fn sidecar_request(&self, app: &str, method: &str, api: &str) {
        self.sidecar_requests
            .get_or_create(&vec![
                ("app", app.to_string()),
                ("method", method.to_string()),
                ("api", api.to_string()),
            ])
            .inc();
    }

    /// One delivery attempt of `subscription` (a consumer group) ended in `outcome`.
    pub fn delivery(&self, subscription: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&vec![
                ("subscription", subscription.to_string()),
                ("outcome", outcome.to_string()),
            ])
            .inc();
        if outcome == "dead_letter" {
            self.dead_letters
                .get_or_create(&vec![("subscription", subscription.to_string())])
                .inc();
        }
    }

    /// A job callback of `app` was sent `late` after its scheduled time.
    pub fn job_trigger(&self, app: &str, delivered: bool, late: Duration) {
        let outcome = if delivered { "delivered" } else { "failed" };
        self.job_triggers
            .get_or_create(&vec![
                ("app", app.to_string()),
                ("outcome", outcome.to_string()),
            ])
            .inc();
        self.job_lateness.observe(late.as_secs_f64());
    }

    /// The OpenMetrics text, with the store's queue depths and size read now.
    pub async fn render(&self, store: &Store) -> String {
        if let Ok(depths) = store.pending_by_group().await {
            for (group, topic, depth) in depths {
                self.pending
                    .get_or_create(&vec![("subscription", group), ("topic", topic)])
                    .set(i64::try_from(depth).unwrap_or(i64::MAX));
            }
        }
        if let Ok((bytes, _free)) = store.footprint().await {
            self.store_bytes
                .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
