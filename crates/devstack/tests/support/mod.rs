//! The one harness of devstack's integration tests: every `tests/*.rs`
//! declares `mod support;` and takes what it needs from here, so there is
//! one recording app, one HTTP answer type and one way to wait.
//!
//! - `repo`: the repository, its built `.wasm` and `spin.toml`, scratch
//!   directories;
//! - `client`: the HTTP client and its [`Answer`];
//! - `recording`: the recording (and scriptable) app that stands in for a
//!   subscriber, a service, a webhook receiver;
//! - `wait`: polling with a deadline, and the waits several tests share
//!   (a dead letter, an idle consumer group, a finished job);
//! - `sidecar`: one devstack sidecar on its own, over given resources;
//! - `stack`: a whole devstack (gateway, hosted components, sidecars) with
//!   the recording app as the external app-id `test-subscriber`;
//! - `store`: what a test reads from, or breaks in, a stack's store file;
//! - `smtp`: an SMTP listener for the `email` binding;
//! - `values`: unique users, task ids, RFC 3339 times.
//!
//! Waiting is done by polling for something devstack or the components do,
//! with a deadline, never by sleeping for a fixed time.

// Each test binary uses a part of the harness.
#![allow(dead_code, unused_imports)]

mod client;
mod recording;
mod repo;
mod sidecar;
mod smtp;
mod stack;
mod store;
mod values;
mod wait;

pub use client::*;
pub use recording::*;
pub use repo::*;
pub use sidecar::*;
pub use smtp::*;
pub use stack::*;
pub use store::*;
pub use values::*;
pub use wait::*;
