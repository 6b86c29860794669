//! devstack: the Todo system on one machine with nothing installed but Rust.
//!
//! It hosts the same `.wasm` components Spin runs (Wasmtime, WASI p2, one
//! instance per request) and stands in for their Dapr sidecars with a durable
//! SQLite store, reading the same `spin.toml` and `k8s/dapr` files production
//! uses. It is a development and test tool that must behave like Spin and
//! Dapr wherever a component can tell (DESIGN §6), not a production runtime.
//!
//! The Wasm host and the sidecars only talk over HTTP, exactly like a
//! component and daprd in a pod, so either half can be swapped for the real
//! thing (`spin up` against `devstack sidecars`).

pub mod config;
pub mod delivery;
pub mod gateway;
pub mod host;
pub mod manifest;
pub mod multiapp;
pub mod proxy;
pub mod scheduler;
pub mod secrets;
pub mod sidecar;
pub mod stack;
pub mod store;
