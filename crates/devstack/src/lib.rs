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
//! - [`manifest`] reads `spin.toml`; [`config`] the Dapr resources (`k8s/dapr`
//!   and the devstack overlay); [`multiapp`] the `dapr.yaml` app plan;
//! - [`host`] runs the `.wasm` components as Spin does; [`gateway`] is the
//!   public listener over the hosted apps, [`proxy`] the same over apps served
//!   elsewhere (`spin up`);
//! - [`sidecar`] is daprd's HTTP API per app-id, one file per building block;
//! - [`store`] is the one SQLite store behind all of it; [`delivery`] delivers
//!   pub/sub messages, [`scheduler`] fires jobs and cron bindings,
//!   [`log_retention`] compacts the pub/sub log;
//! - [`secrets`] makes and keeps the local secrets (JWT key, app token).

pub mod config;
pub mod delivery;
pub mod gateway;
pub mod host;
pub mod log_retention;
pub mod manifest;
pub mod multiapp;
pub mod proxy;
pub mod scheduler;
pub mod secrets;
pub mod sidecar;
pub mod stack;
pub mod store;
