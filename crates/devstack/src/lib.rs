//! devstack: the Todo system on one machine with nothing installed but Rust.
//!
//! It hosts the same `.wasm` components Spin runs (Wasmtime, WASI p2, one
//! instance per request) and stands in for their Dapr sidecars with a durable
//! SQLite store, reading the same `spin.toml` and `k8s/dapr` files production
//! uses. It is a development and test tool that must behave like Spin and
//! Dapr wherever a component can tell (docs/architecture.md, "devstack"),
//! not a production runtime.
//!
//! The Wasm host and the sidecars only talk over HTTP, exactly like a
//! component and daprd in a pod, so either half can be swapped for the real
//! thing (`spin up` against `devstack sidecars`).
//!
//! Modules:
//! - [`stack`] wires one system together: per app-id a listener and a sidecar,
//!   plus the gateway, the way a cluster runs pods behind an ingress;
//! - [`manifest`] reads `spin.toml` (parsed by `app_files`, shared with
//!   k8s-check) and resolves its variables; [`config`] the Dapr resources
//!   (`k8s/dapr` and the devstack overlay, plus each SpinApp's
//!   `dapr.io/config` from `k8s/apps`, whose Configuration's secret scopes
//!   and invocation access control the sidecars enforce), with [`cel`] for
//!   subscriptions' routing rules; [`multiapp`] the `dapr.yaml` app plan;
//!   [`durations`] parses the duration texts they and the APIs use (Go,
//!   ISO 8601, protobuf JSON);
//! - [`host`] runs the `.wasm` components as Spin does; [`gateway`] is the
//!   public listener: over the hosted apps ([`gateway::hosted`]) or over apps
//!   served elsewhere by `spin up` ([`gateway::proxy`]);
//! - [`sidecar`] is daprd's HTTP API per app-id, one file per building block;
//! - [`store`] is the one SQLite store behind all of it, one file per group
//!   of tables;
//! - what each sidecar runs in the background: [`delivery`] delivers pub/sub
//!   messages, in order per Kafka partition ([`kafka_partition`]), and
//!   [`scheduler`] fires jobs and cron bindings, both on one
//!   worker loop (`worker`), with [`schedule`] computing, without I/O, when
//!   things fire; [`log_retention`] compacts the pub/sub log;
//! - [`traces`] records the spans of requests, sidecar calls, deliveries
//!   and job firings, parented by W3C trace context; [`metrics`] counts
//!   them for the gateway's `GET /metrics`;
//! - [`local_secrets`] makes and keeps the local secrets (JWT key, app
//!   token) that the `secretstores.local.file` component serves through the
//!   sidecars' secrets API ([`sidecar::secrets`]).

pub mod cel;
pub mod config;
pub mod delivery;
pub mod durations;
pub mod gateway;
pub mod host;
pub mod kafka_partition;
pub mod local_secrets;
pub mod log_retention;
pub mod manifest;
pub mod metrics;
pub mod multiapp;
pub mod schedule;
pub mod scheduler;
pub mod sidecar;
pub mod stack;
pub mod store;
pub mod traces;
pub(crate) mod worker;
